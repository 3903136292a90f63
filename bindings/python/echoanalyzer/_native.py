"""ctypes declarations of the C ABI v1 (echo/echo.h): structs, constants, and function prototypes.

Nothing here is compiled: the structs mirror the header field by field (tests/python checks their sizes and
offsets against the C layout), and the library is found at import time.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_double, c_int32, c_int64, c_size_t, c_uint8,
                    c_uint32, c_uint64, c_void_p)

ABI_VERSION = 1

# --- status codes and enumerations (the header's numbers; never renumbered) ------------------------------
OK = 0
INVALID_ARGUMENT = -1
NOT_FOUND = -2
IO_FAILED = -3
UNSUPPORTED = -4
MALFORMED = -5
TOO_LARGE = -6
MODEL_INVALID = -7
OUT_OF_MEMORY = -8
INTERNAL = -9
BUFFER_TOO_SMALL = -10
CANCELLED = -11
NO_RESULT = -12

DEVICES = {"auto": 0, "cpu": 1, "cuda": 2}
PRECISIONS = {"auto": 0, "fp32": 1, "int8": 2, "fp16": 3}
SEXES = {None: 0, "unknown": 0, "male": 1, "female": 2}
LANGUAGES = {"en": 0, "zh": 1}
PIXEL_GRAY8, PIXEL_GRAY16, PIXEL_RGB8, PIXEL_BGR8, PIXEL_RGBA8 = 0, 1, 2, 3, 4
CURVE_FRAME_TIME_MS, CURVE_LV_AREA_MM2, CURVE_LV_VOLUME_ML, CURVE_EF_PER_BEAT = 0, 1, 2, 3
KEYFRAMES = {"ed": 0, "es": 1}
IMAGE_ED_OVERLAY, IMAGE_ES_OVERLAY, IMAGE_VOLUME_CURVE = 0, 1, 2
SEVERITIES = {0: "info", 1: "warning", 2: "reject"}
VLM_KINDS = {0: "unreadable", 1: "ef", 2: "rejection"}


# --- structs ----------------------------------------------------------------------------------------------
class ModelOptions(Structure):
    _fields_ = [("struct_size", c_uint32), ("device", c_int32), ("precision", c_int32), ("threads", c_int32),
                ("batch_size", c_int32), ("sex", c_int32), ("model_path", c_char_p), ("enable_vlm", c_int32),
                ("vlm_language", c_int32), ("vlm_model_path", c_char_p), ("vlm_tolerance_points", c_double),
                ("lead_with_vlm", c_int32), ("decode_threads", c_int32), ("max_total_pixels", c_uint64)]


class ModelInfo(Structure):
    _fields_ = [("struct_size", c_uint32), ("vlm_loaded", c_int32), ("name", c_char_p), ("version", c_char_p),
                ("weights_sha256", c_char_p), ("precision", c_char_p), ("device", c_char_p),
                ("validated_on_real_patients", c_int32), ("reserved0", c_int32)]


class Frame(Structure):
    _fields_ = [("struct_size", c_uint32), ("format", c_int32), ("width", c_int32), ("height", c_int32),
                ("row_stride_bytes", c_size_t), ("data", c_void_p)]


class Frames(Structure):
    _fields_ = [("struct_size", c_uint32), ("format", c_int32), ("width", c_int32), ("height", c_int32),
                ("frame_count", c_int32), ("gray16_bits_stored", c_int32), ("row_stride_bytes", c_size_t),
                ("frame_stride_bytes", c_size_t), ("data", c_void_p), ("frame_data", POINTER(c_void_p)),
                ("frame_times_ms", POINTER(c_double)), ("fps", c_double), ("mm_per_px_x", c_double),
                ("mm_per_px_y", c_double), ("calibration_trusted", c_int32), ("reserved0", c_int32)]


class ReadOptions(Structure):
    _fields_ = [("struct_size", c_uint32), ("decode_threads", c_int32), ("max_total_pixels", c_uint64),
                ("max_color_frames", c_int32), ("reserved0", c_int32)]


class CineInfo(Structure):
    _fields_ = [("struct_size", c_uint32), ("rows", c_int32), ("cols", c_int32), ("frame_count", c_int32),
                ("fps", c_double), ("duration_ms", c_double), ("mm_per_px_x", c_double), ("mm_per_px_y", c_double),
                ("calibration_trusted", c_int32), ("calibration_source", c_int32), ("heart_rate_bpm", c_double),
                ("bits_stored", c_int32), ("color_frame_count", c_int32), ("source_kind", c_char_p),
                ("transfer_syntax", c_char_p), ("photometric", c_char_p), ("manufacturer", c_char_p),
                ("model_name", c_char_p), ("timing_source", c_char_p), ("view_hint", c_char_p)]


class QualityReason(Structure):
    _fields_ = [("struct_size", c_uint32), ("code_id", c_int32), ("severity", c_int32), ("reserved0", c_int32),
                ("code", c_char_p), ("message_en", c_char_p), ("message_zh", c_char_p), ("value", c_double),
                ("threshold", c_double)]


class EfClassification(Structure):
    _fields_ = [("struct_size", c_uint32), ("category_id", c_int32), ("category", c_char_p),
                ("heart_failure_class", c_char_p), ("label_en", c_char_p), ("label_zh", c_char_p),
                ("basis", c_char_p)]


class Beat(Structure):
    _fields_ = [("struct_size", c_uint32), ("ed_frame", c_int32), ("es_frame", c_int32), ("has_volumes", c_int32),
                ("ed_time_ms", c_double), ("es_time_ms", c_double), ("edv_ml", c_double), ("esv_ml", c_double),
                ("ef_percent", c_double), ("excluded", c_int32), ("reserved0", c_int32),
                ("exclusion_reason", c_char_p)]


class Keyframe(Structure):
    _fields_ = [("struct_size", c_uint32), ("frame", c_int32), ("valid", c_int32), ("volumes_in_ml", c_int32),
                ("area_mm2", c_double), ("volume_ml", c_double), ("volume_area_length_ml", c_double),
                ("long_axis_mm", c_double), ("apex_x", c_double), ("apex_y", c_double), ("annulus_left_x", c_double),
                ("annulus_left_y", c_double), ("annulus_right_x", c_double), ("annulus_right_y", c_double),
                ("contour_point_count", c_uint64), ("disc_count", c_uint64), ("invalid_reason", c_char_p)]


class Timings(Structure):
    _fields_ = [("struct_size", c_uint32), ("reserved0", c_int32), ("decode_ms", c_double),
                ("preprocess_ms", c_double), ("quality_ms", c_double), ("inference_ms", c_double),
                ("geometry_ms", c_double), ("cardiac_ms", c_double), ("vlm_ms", c_double), ("total_ms", c_double)]


class VlmAnswer(Structure):
    _fields_ = [("struct_size", c_uint32), ("kind", c_int32), ("text", c_char_p), ("has_ef", c_int32),
                ("compared", c_int32), ("ef_percent", c_double), ("difference_points", c_double),
                ("disagrees", c_int32), ("rejection_code_count", c_int32), ("rejection_codes", c_char_p),
                ("decode_ms", c_double), ("new_tokens", c_int32), ("hit_token_limit", c_int32)]


class RenderOptions(Structure):
    _fields_ = [("struct_size", c_uint32), ("kind", c_int32), ("width", c_int32), ("height", c_int32)]


class ImageInfo(Structure):
    _fields_ = [("struct_size", c_uint32), ("width", c_int32), ("height", c_int32), ("channels", c_int32),
                ("row_stride_bytes", c_size_t), ("size_bytes", c_size_t)]


class SessionOptions(Structure):
    _fields_ = [("struct_size", c_uint32), ("window_frames", c_int32), ("mm_per_px_x", c_double),
                ("mm_per_px_y", c_double), ("calibration_trusted", c_int32), ("gray16_bits_stored", c_int32),
                ("max_queued_beats", c_uint32), ("reserved0", c_int32)]


class FrameResult(Structure):
    _fields_ = [("struct_size", c_uint32), ("frame_index", c_int32), ("time_ms", c_double),
                ("lv_area_mm2", c_double), ("quality_score", c_double), ("beat_completed", c_int32),
                ("reserved0", c_int32), ("contour_point_count", c_uint64)]


class BeatEvent(Structure):
    _fields_ = [("struct_size", c_uint32), ("beat_index", c_int32), ("running_ef_mean", c_double),
                ("closing_frame_index", c_int64)]


class DicomOptions(Structure):
    _fields_ = [("struct_size", c_uint32), ("overlays", c_int32), ("series_number", c_int32), ("reserved0", c_int32),
                ("source_data", c_void_p), ("source_size", c_size_t), ("second_source_data", c_void_p),
                ("second_source_size", c_size_t)]


class DicomObject(Structure):
    _fields_ = [("struct_size", c_uint32), ("reserved0", c_int32), ("kind", c_char_p), ("sop_class_uid", c_char_p),
                ("sop_instance_uid", c_char_p), ("data", POINTER(c_uint8)), ("size", c_size_t)]


BeatCallback = CFUNCTYPE(None, POINTER(BeatEvent), POINTER(Beat), c_void_p)

# Every public struct with its size on LP64 platforms (the C test abi_layout.c freezes the same numbers); only
# ModelInfo has grown past its v1 size (48: validated_on_real_patients appended).
V1_SIZES = {ModelOptions: 72, ModelInfo: 56, Frame: 32, Frames: 96, ReadOptions: 24, CineInfo: 128,
            QualityReason: 56, EfClassification: 48, Beat: 72, Keyframe: 120, Timings: 72, VlmAnswer: 72,
            RenderOptions: 16, ImageInfo: 32, SessionOptions: 40, FrameResult: 48, BeatEvent: 24}
V1_SIZES.update({DicomOptions: 48, DicomObject: 48})


def sized(struct_type):
    """A zeroed struct with struct_size set (for output structs the library fills)."""
    value = struct_type()
    value.struct_size = ctypes.sizeof(struct_type)
    return value


# --- finding the library -------------------------------------------------------------------------------------
def _candidates():
    env = os.environ.get("ECHOANALYZER_LIBRARY")
    if env:
        yield env
        return
    here = os.path.dirname(os.path.abspath(__file__))
    # Next to the package (a wheel or a copy), or <prefix>/lib when installed as <prefix>/lib/python3/...
    for folder in (here, os.path.normpath(os.path.join(here, "..", "..")),
                   os.path.normpath(os.path.join(here, "..", "..", ".."))):
        yield from sorted(glob.glob(os.path.join(folder, "libechoanalyzer.so*")))
    # The source tree's build folders (bindings/python/echoanalyzer -> repository root).
    root = os.path.normpath(os.path.join(here, "..", "..", ".."))
    # `build` (the README's folder) first, then the most recently built of the others: a stale tree such as
    # `build-old` must not win by sorting before `build/`.
    builds = glob.glob(os.path.join(root, "build*", "capi", "libechoanalyzer.so.%d" % ABI_VERSION))
    builds.sort(key=lambda path: (os.path.basename(os.path.dirname(os.path.dirname(path))) != "build",
                                  -os.path.getmtime(path), path))
    yield from builds
    found = ctypes.util.find_library("echoanalyzer")
    if found:
        yield found
    yield "libechoanalyzer.so.%d" % ABI_VERSION


def _load():
    tried = []
    for candidate in _candidates():
        try:
            return ctypes.CDLL(candidate), candidate
        except OSError as error:
            tried.append("%s (%s)" % (candidate, error))
    raise ImportError("echoanalyzer: cannot load libechoanalyzer.so (set ECHOANALYZER_LIBRARY to its path); tried: "
                      + "; ".join(tried))


lib, library_path = _load()

_status = c_int32
_prototypes = {
    "echo_version": (c_char_p, []),
    "echo_abi_version": (c_int32, []),
    "echo_status_str": (c_char_p, [c_int32]),
    "echo_last_error": (c_char_p, []),
    "echo_model_options_init": (_status, [POINTER(ModelOptions), c_size_t]),
    "echo_model_load": (_status, [POINTER(ModelOptions), POINTER(c_void_p)]),
    "echo_model_load_from_memory": (_status, [c_void_p, c_size_t, c_void_p, c_size_t, POINTER(ModelOptions),
                                              POINTER(c_void_p)]),
    "echo_model_destroy": (None, [c_void_p]),
    "echo_model_get_info": (_status, [c_void_p, POINTER(ModelInfo)]),
    "echo_frame_init": (_status, [POINTER(Frame), c_size_t]),
    "echo_frames_init": (_status, [POINTER(Frames), c_size_t]),
    "echo_read_options_init": (_status, [POINTER(ReadOptions), c_size_t]),
    "echo_cine_load_file": (_status, [c_char_p, POINTER(ReadOptions), POINTER(c_void_p)]),
    "echo_cine_load_buffer": (_status, [c_void_p, c_size_t, POINTER(ReadOptions), POINTER(c_void_p)]),
    "echo_cine_from_frames": (_status, [POINTER(Frames), POINTER(c_void_p)]),
    "echo_cine_destroy": (None, [c_void_p]),
    "echo_cine_get_info": (_status, [c_void_p, POINTER(CineInfo)]),
    "echo_cine_frame_times": (_status, [c_void_p, POINTER(c_double), c_size_t, POINTER(c_size_t)]),
    "echo_cine_frame_gray8": (_status, [c_void_p, c_int32, POINTER(c_uint8), c_size_t, POINTER(c_size_t)]),
    "echo_analyze_file": (_status, [c_void_p, c_char_p, POINTER(c_void_p)]),
    "echo_analyze_buffer": (_status, [c_void_p, c_void_p, c_size_t, POINTER(c_void_p)]),
    "echo_analyze_frames": (_status, [c_void_p, POINTER(Frames), POINTER(c_void_p)]),
    "echo_analyze_cine": (_status, [c_void_p, c_void_p, POINTER(c_void_p)]),
    "echo_analyze_biplane": (_status, [c_void_p, c_void_p, c_void_p, POINTER(c_void_p)]),
    "echo_result_destroy": (None, [c_void_p]),
    "echo_result_quality_pass": (_status, [c_void_p, POINTER(c_int32)]),
    "echo_result_quality_score": (_status, [c_void_p, POINTER(c_double)]),
    "echo_result_reason_count": (_status, [c_void_p, POINTER(c_size_t)]),
    "echo_result_reason": (_status, [c_void_p, c_size_t, POINTER(QualityReason)]),
    "echo_result_ef_percent": (_status, [c_void_p, POINTER(c_double)]),
    "echo_result_ef_sd": (_status, [c_void_p, POINTER(c_double)]),
    "echo_result_ef_median": (_status, [c_void_p, POINTER(c_double)]),
    "echo_result_ef_withheld_reason": (_status, [c_void_p, POINTER(c_char_p)]),
    "echo_result_ef_source": (_status, [c_void_p, POINTER(c_char_p)]),
    "echo_result_ef_basis": (_status, [c_void_p, POINTER(c_char_p)]),
    "echo_result_ef_classification": (_status, [c_void_p, POINTER(EfClassification)]),
    "echo_result_edv_ml": (_status, [c_void_p, POINTER(c_double)]),
    "echo_result_esv_ml": (_status, [c_void_p, POINTER(c_double)]),
    "echo_result_volumes_unavailable_reason": (_status, [c_void_p, POINTER(c_char_p)]),
    "echo_result_view": (_status, [c_void_p, POINTER(c_char_p)]),
    "echo_result_view_confidence": (_status, [c_void_p, POINTER(c_double)]),
    "echo_result_is_biplane": (_status, [c_void_p, POINTER(c_int32)]),
    "echo_result_heart_rate_bpm": (_status, [c_void_p, POINTER(c_double)]),
    "echo_result_heart_rate_source": (_status, [c_void_p, POINTER(c_char_p)]),
    "echo_result_dimensions": (_status, [c_void_p, POINTER(c_int32), POINTER(c_int32), POINTER(c_int32)]),
    "echo_result_is_second_opinion": (_status, [c_void_p, POINTER(c_int32)]),
    "echo_result_sdk_version": (_status, [c_void_p, POINTER(c_char_p)]),
    "echo_result_model_info": (_status, [c_void_p, POINTER(ModelInfo)]),
    "echo_result_beat_count": (_status, [c_void_p, POINTER(c_size_t)]),
    "echo_result_beat": (_status, [c_void_p, c_size_t, POINTER(Beat)]),
    "echo_result_curve": (_status, [c_void_p, c_int32, POINTER(c_double), c_size_t, POINTER(c_size_t)]),
    "echo_result_keyframe": (_status, [c_void_p, c_int32, POINTER(Keyframe)]),
    "echo_result_contour": (_status, [c_void_p, c_int32, POINTER(c_double), c_size_t, POINTER(c_size_t)]),
    "echo_result_discs": (_status, [c_void_p, c_int32, POINTER(c_double), c_size_t, POINTER(c_size_t)]),
    "echo_result_mask": (_status, [c_void_p, c_int32, POINTER(c_uint8), c_size_t, POINTER(c_size_t)]),
    "echo_result_timings": (_status, [c_void_p, POINTER(Timings)]),
    "echo_result_vlm_answer": (_status, [c_void_p, POINTER(VlmAnswer)]),
    "echo_result_json": (_status, [c_void_p, c_int32, c_char_p, c_size_t, POINTER(c_size_t)]),
    "echo_result_text": (_status, [c_void_p, c_int32, c_char_p, c_size_t, POINTER(c_size_t)]),
    "echo_render_options_init": (_status, [POINTER(RenderOptions), c_size_t]),
    "echo_result_render": (_status, [c_void_p, POINTER(RenderOptions), POINTER(c_uint8), c_size_t,
                                     POINTER(ImageInfo)]),
    "echo_session_options_init": (_status, [POINTER(SessionOptions), c_size_t]),
    "echo_session_create": (_status, [c_void_p, POINTER(SessionOptions), POINTER(c_void_p)]),
    "echo_session_destroy": (None, [c_void_p]),
    "echo_session_set_beat_callback": (_status, [c_void_p, BeatCallback, c_void_p]),
    "echo_session_push_frame": (_status, [c_void_p, POINTER(Frame), c_double, POINTER(FrameResult)]),
    "echo_session_poll_beat": (_status, [c_void_p, POINTER(BeatEvent), POINTER(Beat)]),
    "echo_session_last_contour": (_status, [c_void_p, POINTER(c_double), c_size_t, POINTER(c_size_t)]),
    "echo_session_frames_pushed": (_status, [c_void_p, POINTER(c_int64)]),
    "echo_session_dropped_beats": (_status, [c_void_p, POINTER(c_uint64)]),
    "echo_dicom_options_init": (_status, [POINTER(DicomOptions), c_size_t]),
    "echo_result_dicom_report": (_status, [c_void_p, POINTER(DicomOptions), POINTER(c_void_p)]),
    "echo_dicom_report_destroy": (None, [c_void_p]),
    "echo_dicom_report_count": (_status, [c_void_p, POINTER(c_size_t)]),
    "echo_dicom_report_object": (_status, [c_void_p, c_size_t, POINTER(DicomObject)]),
    "echo_dicom_report_write": (_status, [c_void_p, c_char_p]),
}
for _name, (_restype, _argtypes) in _prototypes.items():
    _function = getattr(lib, _name)
    _function.restype = _restype
    _function.argtypes = _argtypes

if lib.echo_abi_version() != ABI_VERSION:
    raise ImportError("echoanalyzer: %s has C ABI %d, these bindings speak ABI %d"
                      % (library_path, lib.echo_abi_version(), ABI_VERSION))
