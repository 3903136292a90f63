"""echoanalyzer.review.apply over the C ABI: the same final result as `echoa review apply`, errors name the field."""
import json
import os
import subprocess

import pytest

from echoanalyzer import EchoError, review


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    work = tmp_path_factory.mktemp("review")
    echoa = os.environ["ECHOA"]
    loop = str(work / "loop.dcm")
    subprocess.run([echoa, "synth", "--out", loop, "--ef", "55", "--seed", "4", "--beats", "2", "--size", "320x240"],
                   check=True, capture_output=True)
    subprocess.run([echoa, "analyze", "--html", str(work / "pages"), loop], capture_output=True)
    study_dir = work / "pages" / "loop"
    with open(study_dir / "result.json") as f:
        result = json.load(f)
    return work, study_dir, result


def corrections(result, es_offset=0):
    contours = result["review"]["frame_contours_px"]
    ed, es = result["ed"]["frame"], result["es"]["frame"] + es_offset
    return {"schema": "echoanalyzer.corrections/1", "study_sha256": result["review"]["study_sha256"],
            "reviewer_role": "sonographer", "reviewed_at": "2026-11-28T08:00:00Z", "decision": "correct",
            "ed": {"frame": ed, "contour_px": contours[ed]}, "es": {"frame": es, "contour_px": contours[es]}}


def test_apply_matches_the_command_line(study):
    work, study_dir, result = study
    path = work / "c.json"
    path.write_text(json.dumps(corrections(result, 1)))
    final, audit = review.apply(str(study_dir / "result.json"), str(path), str(work / "py"))
    subprocess.run([os.environ["ECHOA"], "review", "apply", str(study_dir / "result.json"), str(path), "--out", str(work / "cli")],
                   check=True, capture_output=True)
    assert (work / "py" / "final.json").read_bytes() == (work / "cli" / "final.json").read_bytes()
    assert final["clinician_review"]["status"] == "corrected"
    assert [c["field"] for c in audit["changes"]] == ["es.frame"]


def test_bad_frame_names_the_field_and_writes_nothing(study):
    work, study_dir, result = study
    bad = corrections(result)
    bad["es"]["frame"] = result["frames"] + 3
    path = work / "bad.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(EchoError) as error:
        review.apply(str(study_dir / "result.json"), str(path), str(work / "bad_out"))
    assert "corrections.es.frame" in error.value.message
    assert error.value.status_name == "ECHO_INVALID_ARGUMENT" or error.value.status < 0
    assert not (work / "bad_out").exists()
