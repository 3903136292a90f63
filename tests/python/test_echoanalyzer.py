"""Tests of the Python bindings; they also guard the C ABI (struct layouts, errors, buffers)."""
import ctypes
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import echoanalyzer as ea
from echoanalyzer import _native as N

PHANTOMS = os.environ.get("ECHO_PHANTOM_DIR", "")


def phantom(name):
    return os.path.join(PHANTOMS, name + ".dcm")


@pytest.fixture(scope="module")
def model():
    return ea.Model(threads=2)


# --- no model --------------------------------------------------------------------------------------------------
def test_library_and_versions():
    assert ea.abi_version() == N.ABI_VERSION == 1
    assert ea.version().count(".") == 2
    assert os.path.exists(ea.library_path) or ea.library_path.startswith("libechoanalyzer")
    assert ea.status_name(N.BUFFER_TOO_SMALL) == "buffer_too_small"


def test_ctypes_structs_match_the_v1_layout():
    for struct, size in N.V1_SIZES.items():
        assert ctypes.sizeof(struct) == size, struct.__name__
    # The library accepts exactly these sizes (and refuses one byte less).
    options = N.ModelOptions()
    assert N.lib.echo_model_options_init(ctypes.byref(options), ctypes.sizeof(options)) == N.OK
    assert N.lib.echo_model_options_init(ctypes.byref(options), ctypes.sizeof(options) - 1) == N.INVALID_ARGUMENT
    assert N.Frames.fps.offset == 64 and N.Beat.exclusion_reason.offset == 64 and N.Keyframe.invalid_reason.offset == 112


def test_errors_carry_the_library_message():
    with pytest.raises(ea.EchoError) as caught:
        ea.Cine.load("/nonexistent/folder/study.dcm")
    assert caught.value.status == N.NOT_FOUND
    assert caught.value.status_name == "not_found"
    assert "study.dcm" in caught.value.message


def test_cine_from_numpy_frames():
    rng = np.random.default_rng(3)
    frames16 = rng.integers(0, 4096, size=(5, 7, 9), dtype=np.uint16)
    cine = ea.Cine.from_frames(frames16, fps=40.0, mm_per_px=0.25, gray16_bits_stored=12)
    info = cine.info
    assert (info.frame_count, info.rows, info.cols) == (5, 7, 9)
    assert info.mm_per_px == (0.25, 0.25) and info.source_kind == "raw"
    np.testing.assert_allclose(cine.frame_times_ms, np.arange(5) * 25.0)
    np.testing.assert_array_equal(cine.frames, (frames16 >> 4).astype(np.uint8))
    # A strided view (every other column) and a list of colour frames work too.
    wide = rng.integers(0, 256, size=(3, 6, 10), dtype=np.uint8)
    np.testing.assert_array_equal(ea.Cine.from_frames(wide[:, :, ::2], fps=30).frames, wide[:, :, ::2])
    crop = wide[:, 1:5, 2:9]  # rows and frames strided, rows packed: passed without a copy
    np.testing.assert_array_equal(ea.Cine.from_frames(crop, fps=30).frames, crop)
    rgb = [np.repeat(f[:, :, None], 3, axis=2) for f in wide]
    np.testing.assert_array_equal(ea.Cine.from_frames(rgb, fps=30).frames, wide)


def test_impossible_frames_raise():
    with pytest.raises(ea.EchoError) as caught:
        ea.Cine.from_frames(np.zeros((3, 0, 5), dtype=np.uint8), fps=30)
    assert caught.value.status == N.INVALID_ARGUMENT and "impossible" in caught.value.message
    with pytest.raises(ea.EchoError):
        ea.Cine.from_frames(np.zeros((3, 4, 5), dtype=np.uint8), frame_times_ms=[0, 10, 5])
    with pytest.raises(ValueError):
        ea.Cine.from_frames(np.zeros((3, 4, 5), dtype=np.float32), fps=30)


def test_dicom_cine():
    cine = ea.Cine.load(phantom("a4c_ef55"))
    info = cine.info
    assert info.source_kind == "dicom" and info.frame_count >= 10 and info.calibration_trusted
    with open(phantom("a4c_ef55"), "rb") as f:
        same = ea.Cine.from_bytes(f.read())
    np.testing.assert_array_equal(same.frame(3), cine.frame(3))


# --- with the reference model --------------------------------------------------------------------------------
def test_analysis_as_plain_values(model):
    result = model.analyze_file(phantom("a4c_ef55"))
    assert result.quality_pass and result.is_second_opinion
    assert 10.0 < result.ef_percent < 90.0
    assert result.ef_basis == "beats"
    assert result.view == "a4c"
    assert result.frame_times_ms.shape == (result.frame_count,)
    assert result.lv_volume_ml.dtype == np.float64 and result.lv_volume_ml.shape == (result.frame_count,)
    used = [b.ef_percent for b in result.beats if not b.excluded]
    np.testing.assert_array_equal(result.ef_per_beat, used)
    assert result.ef_percent == pytest.approx(np.mean(used), abs=1e-9)
    report = json.loads(result.json)
    assert report["ef_percent"] == result.ef_percent and report["ef_basis"] == result.ef_basis
    assert "LVEF approximately" in result.text_en and "LVEF约为" in result.text_zh
    # The bundled model learnt from phantoms only: every output that gives a number says so.
    assert result.model.validated_on_real_patients is False and not report["model"]["validated_on_real_patients"]
    assert "not validated on patient images" in result.text_en and "not validated" in report["notice"]
    # Keyframes: contour, discs and mask as numpy arrays in original pixels.
    ed = result.ed
    assert ed.valid and ed.contour_px.shape[1] == 2 and ed.discs_px.shape == (20, 4)
    assert ed.mask.shape == (result.rows, result.cols) and ed.mask.max() == 255
    mm_x, mm_y = ea.Cine.load(phantom("a4c_ef55")).info.mm_per_px
    assert (ed.mask == 255).sum() * mm_x * mm_y == pytest.approx(ed.area_mm2, rel=0.05)
    overlay = result.render("ed")
    assert overlay.shape == (result.rows, result.cols, 3) and overlay.dtype == np.uint8
    assert result.render("volume_curve", 400, 200).shape == (200, 400, 3)
    with pytest.raises(ea.EchoError):
        result.render("volume_curve", 10, 10)


def test_refused_study(model):
    result = model.analyze_file(phantom("a4c_blur"))
    assert not result.quality_pass
    assert result.ef_percent is None and result.ef_withheld_reason
    assert "blurred" in [r.code for r in result.reasons if r.severity == "reject"]
    assert result.text_en.startswith("image not acceptable")


def test_numpy_frames_give_the_same_answer_as_the_same_cine(model):
    cine = ea.Cine.load(phantom("a4c_ef35"))
    info = cine.info
    frames, times = cine.frames, cine.frame_times_ms
    from_frames = model.analyze_frames(frames, frame_times_ms=times, mm_per_px=info.mm_per_px)
    from_cine = model.analyze_cine(ea.Cine.from_frames(frames, frame_times_ms=times, mm_per_px=info.mm_per_px))
    assert from_frames.ef_percent == from_cine.ef_percent
    np.testing.assert_array_equal(from_frames.lv_volume_ml, from_cine.lv_volume_ml)


def test_streaming_session_from_a_loop(model):
    cine = ea.Cine.load(phantom("a4c_ef55"))
    info = cine.info
    called = []
    polled = []
    with model.session(mm_per_px=info.mm_per_px) as polling, \
            model.session(mm_per_px=info.mm_per_px, on_beat=called.append) as calling:
        for frame, time_ms in zip(cine.frames, cine.frame_times_ms):
            out = polling.push(frame, time_ms)
            calling.push(frame, time_ms)
            assert 0.0 <= out.quality_score <= 1.0
            assert out.contour_px.ndim == 2
            polled.extend(polling.poll_beats())
        assert polling.frames_pushed == info.frame_count
    assert len(polled) >= 1
    assert [(e.beat_index, e.beat.ed_frame, e.beat.es_frame, e.beat.ef_percent) for e in polled] == \
           [(e.beat_index, e.beat.ed_frame, e.beat.es_frame, e.beat.ef_percent) for e in called]
    with model.session() as session:
        with pytest.raises(ea.EchoError) as caught:
            session.push(np.zeros((4, 4), dtype=np.uint8), 0.0)
            session.push(np.zeros((8, 8), dtype=np.uint8), 10.0)  # a different size mid-stream
        assert caught.value.status == N.INVALID_ARGUMENT


def test_model_from_bytes(model):
    base = os.path.join(os.environ.get("ECHO_MODEL_DIR") or os.environ["ECHO_MODELS_DIR"], "lv_seg_int8")
    with open(base + ".pt", "rb") as w, open(base + ".json", "rb") as m:
        from_memory = ea.Model.from_bytes(w.read(), m.read(), threads=2)
    assert from_memory.info.weights_sha256 == model.info.weights_sha256
    assert from_memory.analyze_file(phantom("a4c_ef35")).ef_percent == model.analyze_file(phantom("a4c_ef35")).ef_percent


def test_python_example_matches_the_cpp_result_exactly():
    """examples/python/analyze_folder.py (through the C ABI) against `echoa analyze --json` (the C++ API)."""
    example = os.path.join(os.environ["ECHO_EXAMPLES_DIR"], "python", "analyze_folder.py")
    run = subprocess.run([sys.executable, example, PHANTOMS, "--json", "--threads", "2"], capture_output=True,
                         text=True)
    assert run.returncode in (0, 1), run.stderr
    python_efs = {}
    for line in run.stdout.splitlines():
        record = json.loads(line)
        python_efs[record["file"]] = record["ef_percent"]
    assert len(python_efs) >= 4 and sum(v is not None for v in python_efs.values()) >= 3
    for name, ef in sorted(python_efs.items()):
        cpp = subprocess.run([os.environ["ECHOA"], "analyze", "--json", "--threads", "2", os.path.join(PHANTOMS, name)],
                             capture_output=True, text=True)
        assert cpp.returncode in (0, 1), cpp.stderr
        cpp_ef = json.loads(cpp.stdout.splitlines()[0])["ef_percent"]
        assert ef == cpp_ef, name  # bit for bit: same library code, same input
