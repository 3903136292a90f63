"""The Python face of the C ABI: models, cines, results as plain dataclasses, streaming sessions."""
from __future__ import annotations

import ctypes
import os
from ctypes import byref, c_char_p, c_double, c_int32, c_int64, c_size_t, c_uint8, c_uint64, c_void_p
from dataclasses import dataclass, field
from typing import Callable, Iterator, List, Optional, Union

import numpy as np

from . import _native as N

PathLike = Union[str, "os.PathLike[str]"]


# --- errors --------------------------------------------------------------------------------------------------
class EchoError(Exception):
    """A failed library call: `status` (negative echo_status), `status_name` and the library's `message`."""

    def __init__(self, status: int, message: str):
        self.status = status
        self.status_name = N.lib.echo_status_str(status).decode()
        self.message = message
        super().__init__("%s: %s" % (self.status_name, message))


def _check(status: int) -> None:
    if status != N.OK:
        raise EchoError(status, N.lib.echo_last_error().decode("utf-8", "replace"))


def _text(value: Optional[bytes]) -> str:
    return value.decode("utf-8", "replace") if value else ""


def version() -> str:
    """The library's version, "MAJOR.MINOR.PATCH"."""
    return N.lib.echo_version().decode()


def abi_version() -> int:
    """The library's C ABI major (the SONAME suffix)."""
    return int(N.lib.echo_abi_version())


def status_name(status: int) -> str:
    return N.lib.echo_status_str(status).decode()


# --- frames in -------------------------------------------------------------------------------------------------
_FORMATS = {"gray8": N.PIXEL_GRAY8, "gray16": N.PIXEL_GRAY16, "rgb8": N.PIXEL_RGB8, "bgr8": N.PIXEL_BGR8,
            "rgba8": N.PIXEL_RGBA8}


def _pixel_format(frame: np.ndarray, pixel_format: Optional[str]) -> int:
    """The echo_pixel_format of one frame array (H, W) or (H, W, C)."""
    if pixel_format is not None:
        if pixel_format not in _FORMATS:
            raise ValueError("pixel_format must be one of %s" % sorted(_FORMATS))
        return _FORMATS[pixel_format]
    if frame.ndim == 2:
        if frame.dtype == np.uint8:
            return N.PIXEL_GRAY8
        if frame.dtype == np.uint16:
            return N.PIXEL_GRAY16
    elif frame.ndim == 3 and frame.dtype == np.uint8:
        if frame.shape[2] == 3:
            return N.PIXEL_RGB8
        if frame.shape[2] == 4:
            return N.PIXEL_RGBA8
    raise ValueError("frames must be uint8 (H, W), uint16 (H, W), or uint8 (H, W, 3|4); got %s %s"
                     % (frame.dtype, frame.shape))


@dataclass
class _FramesView:
    """An echo_frames struct and the Python objects it points into (kept alive while it is used)."""

    struct: N.Frames
    keep: list


def _frames_struct(frames, frame_times_ms, fps, mm_per_px, calibration_trusted, pixel_format, gray16_bits_stored):
    keep = []
    if isinstance(frames, np.ndarray):
        stack = frames
    else:
        stack = None
    if stack is not None and stack.ndim in (3, 4) and (stack.ndim == 3 or stack.shape[-1] in (3, 4)):
        if stack.ndim == 3 and pixel_format in ("rgb8", "bgr8", "rgba8"):
            raise ValueError("a 3-D array of colour frames needs a channel axis: (N, H, W, C)")
        # Rows and frames may be strided (scanner memory); the pixels of one row must be contiguous.
        pixel_bytes = stack.itemsize * (stack.shape[3] if stack.ndim == 4 else 1)
        rows_packed = stack.strides[2] == pixel_bytes and (stack.ndim == 3 or stack.strides[3] == stack.itemsize)
        if not rows_packed or min(stack.strides) < 0:
            stack = np.ascontiguousarray(stack)
        first = stack[0]
        fmt = _pixel_format(first, pixel_format)
        count, height, width = stack.shape[0], stack.shape[1], stack.shape[2]
        s = N.Frames()
        _check(N.lib.echo_frames_init(byref(s), ctypes.sizeof(s)))
        s.data = stack.ctypes.data
        s.row_stride_bytes = stack.strides[1]
        s.frame_stride_bytes = stack.strides[0]
        keep.append(stack)
    else:
        frame_list = [np.ascontiguousarray(f) for f in frames]
        if not frame_list:
            raise ValueError("no frames")
        first = frame_list[0]
        fmt = _pixel_format(first, pixel_format)
        for f in frame_list:
            if f.shape != first.shape or f.dtype != first.dtype:
                raise ValueError("every frame must have the shape and dtype of the first")
        count, height, width = len(frame_list), first.shape[0], first.shape[1]
        pointers = (c_void_p * count)(*[f.ctypes.data for f in frame_list])
        s = N.Frames()
        _check(N.lib.echo_frames_init(byref(s), ctypes.sizeof(s)))
        s.frame_data = ctypes.cast(pointers, ctypes.POINTER(c_void_p))
        s.row_stride_bytes = first.strides[0]
        keep.extend([frame_list, pointers])
    s.format = fmt
    s.width = width
    s.height = height
    s.frame_count = count
    if gray16_bits_stored:
        s.gray16_bits_stored = gray16_bits_stored
    if frame_times_ms is not None:
        times = np.ascontiguousarray(frame_times_ms, dtype=np.float64)
        if times.shape != (count,):
            raise ValueError("frame_times_ms needs one time per frame (%d), got shape %s" % (count, times.shape))
        s.frame_times_ms = times.ctypes.data_as(ctypes.POINTER(c_double))
        keep.append(times)
    elif fps:
        s.fps = float(fps)
    if mm_per_px is not None:
        mx, my = (mm_per_px, mm_per_px) if np.isscalar(mm_per_px) else mm_per_px
        s.mm_per_px_x, s.mm_per_px_y = float(mx), float(my)
        s.calibration_trusted = 1 if calibration_trusted else 0
    return _FramesView(s, keep)


def _frame_struct(frame: np.ndarray, pixel_format: Optional[str]):
    frame = np.asarray(frame)
    if frame.ndim not in (2, 3) or frame.strides[-1] != frame.itemsize or (
            frame.ndim == 3 and frame.strides[1] != frame.shape[2] * frame.itemsize):
        frame = np.ascontiguousarray(frame)
    s = N.Frame()
    _check(N.lib.echo_frame_init(byref(s), ctypes.sizeof(s)))
    s.format = _pixel_format(frame, pixel_format)
    s.width = frame.shape[1]
    s.height = frame.shape[0]
    s.row_stride_bytes = frame.strides[0]
    s.data = frame.ctypes.data
    return s, frame


# --- plain result values -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QualityReason:
    code: str               # stable: "blurred", "overgain", "non_apical_view", ...
    code_id: int
    severity: str           # "info", "warning", "reject"
    value: float
    threshold: float
    message_en: str
    message_zh: str


@dataclass(frozen=True)
class Beat:
    ed_frame: int
    es_frame: int
    ed_time_ms: float
    es_time_ms: float
    edv_ml: Optional[float]
    esv_ml: Optional[float]
    ef_percent: float
    excluded: bool
    exclusion_reason: str


@dataclass(frozen=True)
class Classification:
    category: str           # "normal", "mildly_reduced", ...
    heart_failure_class: str
    label_en: str
    label_zh: str
    basis: str


@dataclass(frozen=True, eq=False)
class Keyframe:
    frame: int
    valid: bool
    invalid_reason: str
    volumes_in_ml: bool
    area_mm2: float
    volume_ml: float
    volume_area_length_ml: float
    long_axis_mm: float
    apex_px: tuple
    annulus_left_px: tuple
    annulus_right_px: tuple
    contour_px: np.ndarray = field(repr=False)   # (P, 2) float64, x then y, original pixels
    discs_px: np.ndarray = field(repr=False)     # (D, 4) float64: x0, y0, x1, y1 of each disc
    mask: np.ndarray = field(repr=False)         # (rows, cols) uint8, 255 inside the LV


@dataclass(frozen=True)
class VlmAnswer:
    kind: str               # "ef", "rejection", "unreadable"
    text: str
    ef_percent: Optional[float]
    rejection_codes: List[str]
    compared: bool
    difference_points: float
    disagrees: bool
    new_tokens: int
    decode_ms: float


@dataclass(frozen=True)
class ModelInfo:
    name: str
    version: str
    weights_sha256: str
    precision: str
    device: str
    vlm_loaded: bool
    validated_on_real_patients: bool = False  # every bundled model: phantoms only (docs/model.md)


class _Handle:
    """Owns one library handle and frees it exactly once."""

    def __init__(self, pointer: int, destroy):
        self.pointer = pointer
        self._destroy = destroy

    def close(self):
        if self.pointer:
            self._destroy(self.pointer)
            self.pointer = None

    def __del__(self):
        self.close()


@dataclass(frozen=True, eq=False)
class AnalysisResult:
    """One analysis as plain values. A clinician must confirm it (is_second_opinion is always True)."""

    quality_pass: bool
    quality_score: float
    reasons: List[QualityReason]
    ef_percent: Optional[float]          # None when withheld (see ef_withheld_reason)
    ef_sd: Optional[float]
    ef_median: Optional[float]
    ef_withheld_reason: str
    ef_source: str
    ef_basis: str  # "beats", or "loop_extremes" (no complete beat delimited: largest and smallest LV of the loop)
    classification: Optional[Classification]
    edv_ml: Optional[float]
    esv_ml: Optional[float]
    volumes_unavailable_reason: str
    view: str
    view_confidence: float
    biplane: bool
    heart_rate_bpm: Optional[float]
    heart_rate_source: str
    beats: List[Beat]
    ef_per_beat: np.ndarray = field(repr=False)
    frame_times_ms: np.ndarray = field(repr=False)
    lv_area_mm2: np.ndarray = field(repr=False)
    lv_volume_ml: np.ndarray = field(repr=False)
    ed: Optional[Keyframe] = field(repr=False)
    es: Optional[Keyframe] = field(repr=False)
    vlm: Optional[VlmAnswer]
    timings_ms: dict
    model: ModelInfo
    sdk_version: str
    frame_count: int
    rows: int
    cols: int
    is_second_opinion: bool
    json: str = field(repr=False)
    text_en: str = field(repr=False)
    text_zh: str = field(repr=False)
    _handle: _Handle = field(repr=False, compare=False)

    def render(self, image: str = "volume_curve", width: int = 0, height: int = 0) -> np.ndarray:
        """A picture as an (H, W, 3) uint8 RGB array: "ed", "es" (keyframe overlays) or "volume_curve"."""
        kinds = {"ed": N.IMAGE_ED_OVERLAY, "es": N.IMAGE_ES_OVERLAY, "volume_curve": N.IMAGE_VOLUME_CURVE}
        if image not in kinds:
            raise ValueError("image must be one of %s" % sorted(kinds))
        options = N.RenderOptions()
        _check(N.lib.echo_render_options_init(byref(options), ctypes.sizeof(options)))
        options.kind, options.width, options.height = kinds[image], width, height
        info = N.sized(N.ImageInfo)
        _check(N.lib.echo_result_render(self._handle.pointer, byref(options), None, 0, byref(info)))
        pixels = np.empty((info.height, info.width, 3), dtype=np.uint8)
        _check(N.lib.echo_result_render(self._handle.pointer, byref(options),
                                        pixels.ctypes.data_as(ctypes.POINTER(c_uint8)), pixels.nbytes, byref(info)))
        return pixels

    def dicom_report(self, source=None, second_source=None, overlays: bool = True, series_number: int = 0,
                     directory: Optional[PathLike] = None) -> List["DicomObject"]:
        """The DICOM SR (PS3.16 TID 5200) and, with overlays, the ED/ES overlays and the volume curve as Secondary
        Capture, in a new series of the source's study (docs/pacs.md). source / second_source (biplane A2C): the
        analysed DICOM file, as bytes or a path; its patient and study attributes go into these objects only.
        directory: also write DIRECTORY/<kind>.dcm (all or nothing)."""
        return _dicom_report(self._handle.pointer, source, second_source, overlays, series_number, directory)


@dataclass(frozen=True)
class DicomObject:
    """One DICOM object of a result's report: kind "sr", "ed_overlay", "es_overlay" or "volume_curve"."""

    kind: str
    sop_class_uid: str
    sop_instance_uid: str
    data: bytes = field(repr=False)  # a DICOM Part 10 file


def _source_bytes(source) -> Optional[bytes]:
    if source is None or isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source) if source is not None else None
    with open(source, "rb") as f:
        return f.read()


def _dicom_report(result_handle, source, second_source, overlays: bool, series_number: int,
                  directory: Optional[PathLike]) -> List[DicomObject]:
    options = N.DicomOptions()
    _check(N.lib.echo_dicom_options_init(byref(options), ctypes.sizeof(options)))
    data, second = _source_bytes(source), _source_bytes(second_source)
    options.overlays, options.series_number = (1 if overlays else 0), series_number
    if data:
        options.source_data, options.source_size = ctypes.cast(ctypes.c_char_p(data), c_void_p), len(data)
    if second:
        options.second_source_data = ctypes.cast(ctypes.c_char_p(second), c_void_p)
        options.second_source_size = len(second)
    pointer = c_void_p()
    _check(N.lib.echo_result_dicom_report(result_handle, byref(options), byref(pointer)))
    report = _Handle(pointer.value, N.lib.echo_dicom_report_destroy)
    try:
        count = c_size_t()
        _check(N.lib.echo_dicom_report_count(report.pointer, byref(count)))
        objects = []
        for i in range(count.value):
            o = N.sized(N.DicomObject)
            _check(N.lib.echo_dicom_report_object(report.pointer, i, byref(o)))
            objects.append(DicomObject(_text(o.kind), _text(o.sop_class_uid), _text(o.sop_instance_uid),
                                       ctypes.string_at(o.data, o.size)))
        if directory is not None:
            _check(N.lib.echo_dicom_report_write(report.pointer, os.fsencode(directory)))
        return objects
    finally:
        report.close()


def _optional_double(function, handle) -> Optional[float]:
    value = c_double()
    status = function(handle, byref(value))
    if status == N.NO_RESULT:
        return None
    _check(status)
    return value.value


def _string(function, handle) -> str:
    value = c_char_p()
    _check(function(handle, byref(value)))
    return _text(value.value)


def _doubles(function, handle, *args, per_item: int = 1) -> np.ndarray:
    """A copy-out call's values; per_item doubles per counted item (2 for contour points, 4 for discs):
    the capacity counts doubles, the returned count counts items."""
    count = c_size_t()
    _check(function(handle, *args, None, 0, byref(count)))
    values = np.empty(count.value * per_item, dtype=np.float64)
    _check(function(handle, *args, values.ctypes.data_as(ctypes.POINTER(c_double)), values.size, byref(count)))
    return values


def _text_buffer(function, handle, arg) -> str:
    length = c_size_t()
    _check(function(handle, arg, None, 0, byref(length)))
    buffer = ctypes.create_string_buffer(length.value + 1)
    _check(function(handle, arg, buffer, len(buffer), byref(length)))
    return buffer.raw[:length.value].decode("utf-8", "replace")


def _model_info(info: N.ModelInfo) -> ModelInfo:
    return ModelInfo(_text(info.name), _text(info.version), _text(info.weights_sha256), _text(info.precision),
                     _text(info.device), bool(info.vlm_loaded), bool(info.validated_on_real_patients))


def _keyframe(handle, which: str, rows: int, cols: int) -> Optional[Keyframe]:
    k = N.sized(N.Keyframe)
    status = N.lib.echo_result_keyframe(handle, N.KEYFRAMES[which], byref(k))
    if status == N.NO_RESULT:
        return None
    _check(status)
    contour = _doubles(N.lib.echo_result_contour, handle, N.KEYFRAMES[which], per_item=2).reshape(-1, 2)
    discs = _doubles(N.lib.echo_result_discs, handle, N.KEYFRAMES[which], per_item=4).reshape(-1, 4)
    mask = np.zeros((rows, cols), dtype=np.uint8)
    size = c_size_t()
    _check(N.lib.echo_result_mask(handle, N.KEYFRAMES[which], mask.ctypes.data_as(ctypes.POINTER(c_uint8)),
                                  mask.size, byref(size)))
    return Keyframe(k.frame, bool(k.valid), _text(k.invalid_reason), bool(k.volumes_in_ml), k.area_mm2, k.volume_ml,
                    k.volume_area_length_ml, k.long_axis_mm, (k.apex_x, k.apex_y),
                    (k.annulus_left_x, k.annulus_left_y), (k.annulus_right_x, k.annulus_right_y), contour, discs, mask)


def _beat(b: N.Beat) -> Beat:
    return Beat(b.ed_frame, b.es_frame, b.ed_time_ms, b.es_time_ms, b.edv_ml if b.has_volumes else None,
                b.esv_ml if b.has_volumes else None, b.ef_percent, bool(b.excluded), _text(b.exclusion_reason))


def _result_from_handle(pointer: int) -> AnalysisResult:
    owner = _Handle(pointer, N.lib.echo_result_destroy)
    h = owner.pointer
    lib = N.lib
    passed, biplane, second = c_int32(), c_int32(), c_int32()
    _check(lib.echo_result_quality_pass(h, byref(passed)))
    _check(lib.echo_result_is_biplane(h, byref(biplane)))
    _check(lib.echo_result_is_second_opinion(h, byref(second)))
    score, confidence = c_double(), c_double()
    _check(lib.echo_result_quality_score(h, byref(score)))
    _check(lib.echo_result_view_confidence(h, byref(confidence)))
    frames, rows, cols = c_int32(), c_int32(), c_int32()
    _check(lib.echo_result_dimensions(h, byref(frames), byref(rows), byref(cols)))

    count = c_size_t()
    _check(lib.echo_result_reason_count(h, byref(count)))
    reasons = []
    for i in range(count.value):
        r = N.sized(N.QualityReason)
        _check(lib.echo_result_reason(h, i, byref(r)))
        reasons.append(QualityReason(_text(r.code), r.code_id, N.SEVERITIES.get(r.severity, str(r.severity)),
                                     r.value, r.threshold, _text(r.message_en), _text(r.message_zh)))
    _check(lib.echo_result_beat_count(h, byref(count)))
    beats = []
    for i in range(count.value):
        b = N.sized(N.Beat)
        _check(lib.echo_result_beat(h, i, byref(b)))
        beats.append(_beat(b))

    classification = None
    c = N.sized(N.EfClassification)
    status = lib.echo_result_ef_classification(h, byref(c))
    if status != N.NO_RESULT:
        _check(status)
        classification = Classification(_text(c.category), _text(c.heart_failure_class), _text(c.label_en),
                                        _text(c.label_zh), _text(c.basis))
    vlm = None
    v = N.sized(N.VlmAnswer)
    status = lib.echo_result_vlm_answer(h, byref(v))
    if status != N.NO_RESULT:
        _check(status)
        codes = _text(v.rejection_codes)
        vlm = VlmAnswer(N.VLM_KINDS.get(v.kind, str(v.kind)), _text(v.text), v.ef_percent if v.has_ef else None,
                        codes.split(",") if codes else [], bool(v.compared), v.difference_points, bool(v.disagrees),
                        v.new_tokens, v.decode_ms)
    t = N.sized(N.Timings)
    _check(lib.echo_result_timings(h, byref(t)))
    timings = {name: getattr(t, name + "_ms") for name in
               ("decode", "preprocess", "quality", "inference", "geometry", "cardiac", "vlm", "total")}
    info = N.sized(N.ModelInfo)
    _check(lib.echo_result_model_info(h, byref(info)))

    return AnalysisResult(
        quality_pass=bool(passed.value), quality_score=score.value, reasons=reasons,
        ef_percent=_optional_double(lib.echo_result_ef_percent, h),
        ef_sd=_optional_double(lib.echo_result_ef_sd, h),
        ef_median=_optional_double(lib.echo_result_ef_median, h),
        ef_withheld_reason=_string(lib.echo_result_ef_withheld_reason, h),
        ef_source=_string(lib.echo_result_ef_source, h), ef_basis=_string(lib.echo_result_ef_basis, h),
        classification=classification,
        edv_ml=_optional_double(lib.echo_result_edv_ml, h), esv_ml=_optional_double(lib.echo_result_esv_ml, h),
        volumes_unavailable_reason=_string(lib.echo_result_volumes_unavailable_reason, h),
        view=_string(lib.echo_result_view, h), view_confidence=confidence.value, biplane=bool(biplane.value),
        heart_rate_bpm=_optional_double(lib.echo_result_heart_rate_bpm, h),
        heart_rate_source=_string(lib.echo_result_heart_rate_source, h), beats=beats,
        ef_per_beat=_doubles(lib.echo_result_curve, h, N.CURVE_EF_PER_BEAT),
        frame_times_ms=_doubles(lib.echo_result_curve, h, N.CURVE_FRAME_TIME_MS),
        lv_area_mm2=_doubles(lib.echo_result_curve, h, N.CURVE_LV_AREA_MM2),
        lv_volume_ml=_doubles(lib.echo_result_curve, h, N.CURVE_LV_VOLUME_ML),
        ed=_keyframe(h, "ed", rows.value, cols.value), es=_keyframe(h, "es", rows.value, cols.value), vlm=vlm,
        timings_ms=timings, model=_model_info(info), sdk_version=_string(lib.echo_result_sdk_version, h),
        frame_count=frames.value, rows=rows.value, cols=cols.value, is_second_opinion=bool(second.value),
        json=_text_buffer(lib.echo_result_json, h, 2), text_en=_text_buffer(lib.echo_result_text, h, 0),
        text_zh=_text_buffer(lib.echo_result_text, h, 1), _handle=owner)


# --- cines ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CineInfo:
    rows: int
    cols: int
    frame_count: int
    fps: float
    duration_ms: float
    mm_per_px: tuple
    calibration_trusted: bool
    heart_rate_bpm: float
    source_kind: str
    transfer_syntax: str
    photometric: str
    manufacturer: str
    model_name: str
    view_hint: str


class Cine:
    """A loaded cine loop (DICOM, video, image or raw frames): 8-bit luma frames with timing and calibration."""

    def __init__(self, pointer: int):
        self._handle = _Handle(pointer, N.lib.echo_cine_destroy)

    @classmethod
    def load(cls, path: PathLike) -> "Cine":
        pointer = c_void_p()
        _check(N.lib.echo_cine_load_file(os.fsencode(path), None, byref(pointer)))
        return cls(pointer.value)

    @classmethod
    def from_bytes(cls, data: bytes) -> "Cine":
        pointer = c_void_p()
        _check(N.lib.echo_cine_load_buffer(data, len(data), None, byref(pointer)))
        return cls(pointer.value)

    @classmethod
    def from_frames(cls, frames, frame_times_ms=None, fps=None, mm_per_px=None, calibration_trusted=True,
                    pixel_format=None, gray16_bits_stored=0) -> "Cine":
        view = _frames_struct(frames, frame_times_ms, fps, mm_per_px, calibration_trusted, pixel_format,
                              gray16_bits_stored)
        pointer = c_void_p()
        _check(N.lib.echo_cine_from_frames(byref(view.struct), byref(pointer)))
        return cls(pointer.value)

    @property
    def info(self) -> CineInfo:
        i = N.sized(N.CineInfo)
        _check(N.lib.echo_cine_get_info(self._handle.pointer, byref(i)))
        return CineInfo(i.rows, i.cols, i.frame_count, i.fps, i.duration_ms, (i.mm_per_px_x, i.mm_per_px_y),
                        bool(i.calibration_trusted), i.heart_rate_bpm, _text(i.source_kind), _text(i.transfer_syntax),
                        _text(i.photometric), _text(i.manufacturer), _text(i.model_name), _text(i.view_hint))

    @property
    def frame_times_ms(self) -> np.ndarray:
        return _doubles(N.lib.echo_cine_frame_times, self._handle.pointer)

    def frame(self, index: int) -> np.ndarray:
        info = self.info
        pixels = np.empty((info.rows, info.cols), dtype=np.uint8)
        size = c_size_t()
        _check(N.lib.echo_cine_frame_gray8(self._handle.pointer, index, pixels.ctypes.data_as(ctypes.POINTER(c_uint8)),
                                           pixels.size, byref(size)))
        return pixels

    @property
    def frames(self) -> np.ndarray:
        """All frames as an (N, rows, cols) uint8 array."""
        return np.stack([self.frame(i) for i in range(self.info.frame_count)])


# --- streaming sessions ------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class FrameResult:
    frame_index: int
    time_ms: float
    lv_area_mm2: float
    quality_score: float
    beat_completed: bool
    contour_px: np.ndarray = field(repr=False)   # (P, 2), in the pushed frame's pixels


@dataclass(frozen=True)
class BeatEvent:
    beat_index: int
    running_ef_mean: float
    closing_frame_index: int
    beat: Beat


class Session:
    """A live stream: push frames one at a time; completed heartbeats come back as BeatEvents.

    Use from one thread at a time. Beat events are polled (`poll_beats`, also returned by `push` when
    `collect_beats` is true) unless a callback is given."""

    def __init__(self, model: "Model", mm_per_px=None, calibration_trusted=True, window_frames=0,
                 gray16_bits_stored=0, max_queued_beats=64, on_beat: Optional[Callable[[BeatEvent], None]] = None):
        options = N.SessionOptions()
        _check(N.lib.echo_session_options_init(byref(options), ctypes.sizeof(options)))
        if mm_per_px is not None:
            mx, my = (mm_per_px, mm_per_px) if np.isscalar(mm_per_px) else mm_per_px
            options.mm_per_px_x, options.mm_per_px_y = float(mx), float(my)
            options.calibration_trusted = 1 if calibration_trusted else 0
        options.window_frames = window_frames
        options.gray16_bits_stored = gray16_bits_stored
        options.max_queued_beats = max_queued_beats
        pointer = c_void_p()
        _check(N.lib.echo_session_create(model._handle.pointer, byref(options), byref(pointer)))
        self._handle = _Handle(pointer.value, N.lib.echo_session_destroy)
        self._model = model
        self._callback = None
        if on_beat is not None:
            def trampoline(event_ptr, beat_ptr, _user_data):
                event, beat = event_ptr.contents, beat_ptr.contents
                on_beat(BeatEvent(event.beat_index, event.running_ef_mean, event.closing_frame_index, _beat(beat)))
            self._callback = N.BeatCallback(trampoline)  # kept alive as long as the session
            _check(N.lib.echo_session_set_beat_callback(self._handle.pointer, self._callback, None))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._handle.close()

    def push(self, frame: np.ndarray, time_ms: float, pixel_format: Optional[str] = None) -> FrameResult:
        struct, keep = _frame_struct(frame, pixel_format)
        out = N.sized(N.FrameResult)
        _check(N.lib.echo_session_push_frame(self._handle.pointer, byref(struct), float(time_ms), byref(out)))
        del keep
        contour = _doubles(N.lib.echo_session_last_contour, self._handle.pointer, per_item=2).reshape(-1, 2)
        return FrameResult(out.frame_index, out.time_ms, out.lv_area_mm2, out.quality_score, bool(out.beat_completed),
                           contour)

    def poll_beats(self) -> Iterator[BeatEvent]:
        """The queued beat events, oldest first (each is removed from the queue)."""
        while True:
            event, beat = N.sized(N.BeatEvent), N.sized(N.Beat)
            status = N.lib.echo_session_poll_beat(self._handle.pointer, byref(event), byref(beat))
            if status == N.NO_RESULT:
                return
            _check(status)
            yield BeatEvent(event.beat_index, event.running_ef_mean, event.closing_frame_index, _beat(beat))

    @property
    def frames_pushed(self) -> int:
        value = c_int64()
        _check(N.lib.echo_session_frames_pushed(self._handle.pointer, byref(value)))
        return value.value

    @property
    def dropped_beats(self) -> int:
        value = c_uint64()
        _check(N.lib.echo_session_dropped_beats(self._handle.pointer, byref(value)))
        return value.value


# --- the model -------------------------------------------------------------------------------------------------
class Model:
    """A loaded model with its analysis options. Share one Model across threads; analyses release the GIL
    (ctypes does) and may run concurrently."""

    def __init__(self, model_path: Optional[PathLike] = None, device: str = "auto", precision: str = "auto",
                 threads: int = 0, batch_size: int = 0, sex: Optional[str] = None, enable_vlm: bool = False,
                 vlm_language: str = "zh", vlm_model_path: Optional[PathLike] = None,
                 vlm_tolerance_points: float = 10.0, lead_with_vlm: bool = False, decode_threads: int = 0, *,
                 _memory=None):
        options = N.ModelOptions()
        _check(N.lib.echo_model_options_init(byref(options), ctypes.sizeof(options)))
        for name, table, value in (("device", N.DEVICES, device), ("precision", N.PRECISIONS, precision),
                                   ("sex", N.SEXES, sex), ("vlm_language", N.LANGUAGES, vlm_language)):
            if value not in table:
                raise ValueError("%s must be one of %s" % (name, [k for k in table if k is not None]))
            setattr(options, name, table[value])
        self._paths = [os.fsencode(p) if p is not None else None for p in (model_path, vlm_model_path)]
        options.model_path, options.vlm_model_path = self._paths
        options.threads = threads
        options.batch_size = batch_size
        options.enable_vlm = 1 if enable_vlm else 0
        options.vlm_tolerance_points = vlm_tolerance_points
        options.lead_with_vlm = 1 if lead_with_vlm else 0
        options.decode_threads = decode_threads  # threads decoding compressed DICOM frames; 0 = all
        pointer = c_void_p()
        if _memory is None:
            _check(N.lib.echo_model_load(byref(options), byref(pointer)))
        else:
            weights, manifest = _memory
            _check(N.lib.echo_model_load_from_memory(weights, len(weights), manifest, len(manifest), byref(options),
                                                     byref(pointer)))
        self._handle = _Handle(pointer.value, N.lib.echo_model_destroy)

    @classmethod
    def from_bytes(cls, weights: bytes, manifest: bytes, **options) -> "Model":
        """A model from memory: the TorchScript file's bytes and its JSON manifest's bytes."""
        return cls(_memory=(bytes(weights), bytes(manifest)), **options)

    def close(self):
        self._handle.close()

    @property
    def info(self) -> ModelInfo:
        info = N.sized(N.ModelInfo)
        _check(N.lib.echo_model_get_info(self._handle.pointer, byref(info)))
        return _model_info(info)

    def _run(self, function, *args) -> AnalysisResult:
        pointer = c_void_p()
        _check(function(self._handle.pointer, *args, byref(pointer)))
        return _result_from_handle(pointer.value)

    def analyze_file(self, path: PathLike) -> AnalysisResult:
        return self._run(N.lib.echo_analyze_file, os.fsencode(path))

    def analyze_bytes(self, data: bytes) -> AnalysisResult:
        return self._run(N.lib.echo_analyze_buffer, data, len(data))

    def analyze_cine(self, cine: Cine) -> AnalysisResult:
        return self._run(N.lib.echo_analyze_cine, cine._handle.pointer)

    def analyze_frames(self, frames, frame_times_ms=None, fps=None, mm_per_px=None, calibration_trusted=True,
                       pixel_format=None, gray16_bits_stored=0) -> AnalysisResult:
        """frames: an (N, H, W) / (N, H, W, C) array or a sequence of (H, W[, C]) arrays; times in ms or fps;
        mm_per_px: a number or (x, y), None when unknown (volumes are then withheld)."""
        view = _frames_struct(frames, frame_times_ms, fps, mm_per_px, calibration_trusted, pixel_format,
                              gray16_bits_stored)
        return self._run(N.lib.echo_analyze_frames, byref(view.struct))

    def analyze_biplane(self, a4c: Union[Cine, PathLike], a2c: Union[Cine, PathLike]) -> AnalysisResult:
        a4c = a4c if isinstance(a4c, Cine) else Cine.load(a4c)
        a2c = a2c if isinstance(a2c, Cine) else Cine.load(a2c)
        return self._run(N.lib.echo_analyze_biplane, a4c._handle.pointer, a2c._handle.pointer)

    def session(self, **options) -> Session:
        return Session(self, **options)
