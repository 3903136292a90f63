"""echoanalyzer.validate through the C ABI (echo_validate): a reference table made from our own measurements
minus 3 points must give a bias of exactly +3; bad rows are counted and named; the input folder is untouched."""
import csv
import ctypes
import os

import pytest

import echoanalyzer as ea
from echoanalyzer import _native as N
from echoanalyzer import _validate as V

PHANTOMS = os.environ.get("ECHO_PHANTOM_DIR", "")


def listing(folder):
    return {os.path.join(d, f): os.stat(os.path.join(d, f)).st_mtime_ns
            for d, _, files in os.walk(folder) for f in files}


def test_validate_structs_match_the_v1_layout():
    for struct, size in V.V1_SIZES.items():
        assert ctypes.sizeof(struct) == size, struct.__name__
    assert V.ValidationSummaryStruct.answered_share.offset == 176
    assert V.ValidationSummaryStruct.vlm_ef_pairs.offset == 360
    options = V.ValidateOptions()
    assert N.lib.echo_validate_options_init(ctypes.byref(options), ctypes.sizeof(options)) == N.OK
    assert N.lib.echo_validate_options_init(ctypes.byref(options), 8) == N.INVALID_ARGUMENT


@pytest.mark.skipif(not os.path.isdir(PHANTOMS), reason="ECHO_PHANTOM_DIR (phantoms from echoa synth) not set")
def test_validate_known_offset_gives_known_metrics(tmp_path):
    model = ea.Model(threads=2)
    ours = {name: model.analyze_file(os.path.join(PHANTOMS, name + ".dcm")) for name in ("a4c_ef55", "a4c_ef35")}
    assert all(r.ef_percent is not None for r in ours.values())
    table = tmp_path / "reference.csv"
    with open(table, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["FileName", "EF", "EDFrame", "Split"])
        for name, result in ours.items():  # reference = ours - 3; ED frame = our first beat's ED - 1
            w.writerow([name, repr(result.ef_percent - 3.0), result.beats[0].ed_frame - 1, "TEST"])
        w.writerow(["a4c_blur.dcm", "n/a", "", "TEST"])  # refused by the gate; reference not a number
        w.writerow(["not_in_folder", "50", "", "TEST"])
    before = listing(PHANTOMS)
    calls = []
    summary = ea.validate(model, PHANTOMS, table, tmp_path / "out",
                          progress=lambda done, total, name: calls.append((done, total, name)))
    assert listing(PHANTOMS) == before
    assert calls == [(1, 3, "a4c_ef55"), (2, 3, "a4c_ef35"), (3, 3, "a4c_blur.dcm")]
    assert (summary.rows, summary.analysed, summary.answered, summary.refused) == (4, 3, 2, 1)
    assert (summary.missing, summary.bad_reference, summary.unreadable) == (1, 1, 0)
    assert summary.refusals_by_reason.get("blurred") == 1
    assert summary.answered_share == pytest.approx(2 / 3)
    assert summary.ef_pairs == 2
    assert summary.ef_bias == pytest.approx(3.0, abs=1e-9)
    assert summary.ef_mae == pytest.approx(3.0, abs=1e-9)
    assert summary.ef_sd == pytest.approx(0.0, abs=1e-9)
    assert summary.ed_offset_clips == 2 and summary.ed_median_abs_offset_frames == 1.0
    assert summary.ed_share_within_1 == 1.0 and summary.es_offset_clips == 0 and summary.es_share_within_3 is None
    assert summary.vlm_ran == 0 and summary.vlm_ef_mae is None
    assert summary.details["ef"]["bias"] == pytest.approx(3.0, abs=1e-9)
    for name in ("per_clip.csv", "summary.json", "bland_altman.png", "scatter.png"):
        assert os.path.getsize(tmp_path / "out" / name) > 0
    with open(summary.per_clip_csv, newline="") as f:
        rows = {r["file"]: r for r in csv.DictReader(f)}
    assert rows["not_in_folder"]["status"] == "missing" and "not_in_folder" in rows["not_in_folder"]["message"]
    assert rows["a4c_blur.dcm"]["status"] == "refused" and "n/a" in rows["a4c_blur.dcm"]["message"]
    assert float(rows["a4c_ef55"]["ef"]) == ours["a4c_ef55"].ef_percent
    # A progress callback that raises stops the run after that clip, and its exception reaches the caller.
    def stop(done, total, name):
        raise KeyboardInterrupt("stop at %s" % name)
    with pytest.raises(KeyboardInterrupt, match="a4c_ef55"):
        ea.validate(model, PHANTOMS, table, tmp_path / "out2", progress=stop)
    with open(tmp_path / "out2" / "per_clip.csv") as f:
        assert len(f.read().splitlines()) == 2  # the header and the clip done before the stop


def test_validate_errors(tmp_path):
    model = ea.Model(threads=1)
    table = tmp_path / "t.csv"
    table.write_text("Name,Value\nx,1\n")
    with pytest.raises(ea.EchoError) as caught:
        ea.validate(model, tmp_path, table, tmp_path.parent / (tmp_path.name + "_out"))
    assert caught.value.status == N.MALFORMED and "FileName" in caught.value.message
    table.write_text("FileName,EF\nx,50\n")
    with pytest.raises(ea.EchoError) as caught:
        ea.validate(model, tmp_path, table, tmp_path / "out")
    assert caught.value.status == N.INVALID_ARGUMENT and "inside the input folder" in caught.value.message
    assert not (tmp_path / "out").exists()
