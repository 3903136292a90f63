"""The DICOM SR and overlays of `echoa analyze --dicom-out` and of the C ABI (through the Python bindings):
valid for dciodvfy, a TID 5200 tree for dsrdump, the JSON's EF/EDV/ESV when read back with pydicom, on phantoms
with and without calibration, a gate refusal and a biplane study; privacy and bad input (docs/pacs.md)."""
import os
import shutil
import subprocess

import pydicom
import pytest

from pacs_util import (BIPLANE, COMPREHENSIVE_SR, EDV, EF, ESV, KINDS, SECONDARY_CAPTURE, SINGLE_PLANE, analyze,
                       children, dciodvfy_errors, ds_text, method_of, measurement_groups, num, read_objects,
                       referenced_frames, synth, texts)

CANARY_NAME, CANARY_ID = "CANARY^PRIVACY", "CANARY-4711"


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return str(tmp_path_factory.mktemp("pacs_sr"))


def edited_copy(source: str, target: str, edit) -> str:
    ds = pydicom.dcmread(source)
    edit(ds)
    ds.save_as(target)
    return target


def run_case(work: str, name: str, source: str, *extra: str):
    out = os.path.join(work, "out_" + name)
    shutil.rmtree(out, ignore_errors=True)
    report, status, stderr, stdout = analyze(source, out, *extra)
    folder = os.path.join(out, os.path.splitext(os.path.basename(source))[0])
    return report, status, stderr, stdout, folder


def check_valid(folder: str, kinds):
    assert sorted(os.listdir(folder)) == sorted(k + ".dcm" for k in kinds)
    for kind in kinds:
        errors = dciodvfy_errors(os.path.join(folder, kind + ".dcm"))
        assert errors == [], "%s: %s" % (kind, errors)


def check_series(objects, source):
    """One new series in the source's study, patient copied, SR first, the overlays Secondary Capture."""
    series = {ds.SeriesInstanceUID for ds in objects.values()}
    assert len(series) == 1 and source.SeriesInstanceUID not in series
    assert next(iter(series)).startswith("2.25.")
    for ds in objects.values():
        assert ds.StudyInstanceUID == source.StudyInstanceUID
        assert ds.PatientName == source.PatientName and ds.PatientID == source.PatientID
        assert ds.SOPInstanceUID.startswith("2.25.")
    sr = objects["sr"]
    assert sr.SOPClassUID == COMPREHENSIVE_SR
    assert (sr.CompletionFlag, sr.VerificationFlag) == ("PARTIAL", "UNVERIFIED")
    assert sr.ContentTemplateSequence[0].TemplateIdentifier == "5200"
    assert sr.ConceptNameCodeSequence[0].CodeValue == "125200"
    evidence = sr.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0].ReferencedSOPSequence[0]
    assert evidence.ReferencedSOPInstanceUID == source.SOPInstanceUID
    for kind, ds in objects.items():
        if kind != "sr":
            assert ds.SOPClassUID == SECONDARY_CAPTURE and ds.PhotometricInterpretation == "RGB"


def check_device_observer(sr, report):
    context = {child.ConceptNameCodeSequence[0].CodeValue: child for child in sr.ContentSequence
               if child.RelationshipType == "HAS OBS CONTEXT"}
    assert context["121005"].ConceptCodeSequence[0].CodeValue == "121007"  # Observer Type = Device
    assert report["sdk_version"] in context["121013"].TextValue
    assert report["model"]["name"] in context["121015"].TextValue
    mean = measurement_groups(sr)[0]
    parameters = children(mean, "111002", "TEXT")[0].TextValue
    assert report["model"]["sha256"] in parameters


def test_calibrated_phantom(work):
    source_path = synth(os.path.join(work, "a4c.dcm"), "--view", "a4c", "--ef", "45", "--hr", "75", "--seed", "21")
    report, status, _, _, folder = run_case(work, "cal", source_path)
    assert status == 0 and report["ef_percent"] is not None and report["edv_ml"] is not None
    check_valid(folder, KINDS)
    objects = read_objects(folder)
    check_series(objects, pydicom.dcmread(source_path))
    sr = objects["sr"]
    check_device_observer(sr, report)
    groups = measurement_groups(sr)
    mean = groups[0]
    for concept, key in ((EF, "ef_percent"), (EDV, "edv_ml"), (ESV, "esv_ml")):
        value, item = num(mean, concept)
        assert value == ds_text(report[key]), concept
        assert method_of(item) == SINGLE_PLANE
    # One group per beat: its EF, and its ED and ES frames referenced in the source (1-based).
    assert len(groups) == 1 + len(report["beats"])
    for group, beat in zip(groups[1:], report["beats"]):
        value, item = num(group, EF)
        assert value == ds_text(beat["ef_percent"])
        assert referenced_frames(item) == [beat["ed_frame"] + 1, beat["es_frame"] + 1]
        assert referenced_frames(num(group, EDV)[1]) == [beat["ed_frame"] + 1]
        assert referenced_frames(num(group, ESV)[1]) == [beat["es_frame"] + 1]
    assert num(mean, "8867-4")[0] == ds_text(report["heart_rate_bpm"])


def test_dsrdump_shows_the_tid_5200_tree(work):
    source_path = synth(os.path.join(work, "a4c.dcm"), "--view", "a4c", "--ef", "45", "--hr", "75", "--seed", "21")
    _, _, _, _, folder = run_case(work, "dump", source_path)
    run = subprocess.run(["dsrdump", os.path.join(folder, "sr.dcm")], capture_output=True, text=True)
    assert run.returncode == 0 and run.stderr == "", run.stderr
    for line in ('<CONTAINER:(,,"Adult Echocardiography Procedure Report")=SEPARATE>',
                 '<has obs context CODE:(,,"Observer Type")=(121007,DCM,"Device")>',
                 '<has concept mod CODE:(,,"Finding Site")=(87878005,SCT,"Left Ventricle")>',
                 '<contains NUM:(,,"Left Ventricular Ejection Fraction by US")=',
                 '<has concept mod CODE:(,,"Measurement Method")=(125208,DCM,"Method of Disks, Single Plane")>',
                 '<contains NUM:(,,"Left Ventricular End Diastolic Volume")=',
                 '<has concept mod CODE:(,,"Cardiac Cycle Point")=(416190007,SCT,"End Diastole")>',
                 'Completion Flag     : PARTIAL', 'Verification Flag   : UNVERIFIED'):
        assert line in run.stdout, line


def test_phantom_without_calibration_has_no_volumes(work):
    calibrated = synth(os.path.join(work, "a4c.dcm"), "--view", "a4c", "--ef", "45", "--hr", "75", "--seed", "21")
    source_path = edited_copy(calibrated, os.path.join(work, "uncal.dcm"),
                              lambda ds: delattr(ds, "SequenceOfUltrasoundRegions"))
    report, status, _, _, folder = run_case(work, "uncal", source_path)
    assert status == 0 and report["ef_percent"] is not None and report["edv_ml"] is None
    check_valid(folder, KINDS)
    sr = read_objects(folder)["sr"]
    for group in measurement_groups(sr):
        assert num(group, EDV) == (None, None) and num(group, ESV) == (None, None)
    assert num(measurement_groups(sr)[0], EF)[0] == ds_text(report["ef_percent"])
    assert any(t.startswith("Volumes (mL) not reported") for t in texts(sr))


def test_gate_refusal_says_why(work):
    source_path = synth(os.path.join(work, "blur.dcm"), "--view", "a4c", "--seed", "13", "--artifact", "blur")
    report, status, _, _, folder = run_case(work, "blur", source_path)
    assert status == 1 and report["ef_percent"] is None
    check_valid(folder, KINDS)
    sr = read_objects(folder)["sr"]
    groups = measurement_groups(sr)
    assert len(groups) == 1
    value, item = num(groups[0], EF)
    assert value is None and item.NumericValueQualifierCodeSequence[0].CodeValue == "114006"
    findings = [t for t in texts(sr) if any(r["code"] in t for r in report["quality"]["reasons"])]
    assert findings, "the quality findings name the gate's reasons"
    assert any("image not acceptable" in t for t in texts(sr))


def test_biplane_study(work):
    a4c = synth(os.path.join(work, "bi_a4c.dcm"), "--view", "a4c", "--ef", "50", "--hr", "70", "--seed", "31")
    a2c = synth(os.path.join(work, "bi_a2c.dcm"), "--view", "a2c", "--ef", "50", "--hr", "70", "--seed", "31")
    report, status, _, _, folder = run_case(work, "biplane", a4c, "--a2c", a2c)
    assert status == 0 and report["biplane"] and report["ef_percent"] is not None
    check_valid(folder, KINDS)
    sr = read_objects(folder)["sr"]
    mean = measurement_groups(sr)[0]
    value, item = num(mean, EF)
    assert value == ds_text(report["ef_percent"]) and method_of(item) == BIPLANE
    if report["edv_ml"] is not None:
        assert num(mean, EDV)[0] == ds_text(report["edv_ml"]) and num(mean, ESV)[0] == ds_text(report["esv_ml"])
    referenced = {image.ReferencedSOPSequence[0].ReferencedSOPInstanceUID for image in children(item, None, "IMAGE")}
    assert referenced == {pydicom.dcmread(a4c).SOPInstanceUID, pydicom.dcmread(a2c).SOPInstanceUID}


def test_same_input_same_bytes(work):
    """Dates come from the source (here its study date), UIDs from the source's UID and the content: a second
    run writes the same bytes."""
    def date(ds):
        ds.StudyDate, ds.StudyTime = "20260102", "030405"
    phantom = synth(os.path.join(work, "a4c.dcm"), "--view", "a4c", "--ef", "45", "--hr", "75", "--seed", "21")
    source_path = edited_copy(phantom, os.path.join(work, "dated.dcm"), date)
    first = run_case(work, "det1", source_path)[4]
    second = run_case(work, "det2", source_path)[4]
    for kind in KINDS:
        with open(os.path.join(first, kind + ".dcm"), "rb") as a, open(os.path.join(second, kind + ".dcm"), "rb") as b:
            assert a.read() == b.read(), kind
    assert read_objects(first)["sr"].ContentDate == "20260102"


def test_undated_source_differs_only_in_dates(work):
    """A source without any date gets today's (UTC): everything else, UIDs included, is the same."""
    source_path = synth(os.path.join(work, "a4c.dcm"), "--view", "a4c", "--ef", "45", "--hr", "75", "--seed", "21")
    first = read_objects(run_case(work, "undated1", source_path)[4])
    second = read_objects(run_case(work, "undated2", source_path)[4])
    for kind in KINDS:
        for ds in (first[kind], second[kind]):
            for tag in (0x00080021, 0x00080023, 0x00080031, 0x00080033):
                del ds[tag]
        assert first[kind] == second[kind], kind


def test_patient_data_only_in_the_dicom_objects(work):
    def identify(ds):
        ds.PatientName, ds.PatientID, ds.PatientBirthDate = CANARY_NAME, CANARY_ID, "19500101"
    calibrated = synth(os.path.join(work, "a4c.dcm"), "--view", "a4c", "--ef", "45", "--hr", "75", "--seed", "21")
    source_path = edited_copy(calibrated, os.path.join(work, "canary.dcm"), identify)
    report, status, stderr, stdout, folder = run_case(work, "privacy", source_path)
    assert status == 0
    for ds in read_objects(folder).values():
        assert (str(ds.PatientName), ds.PatientID, ds.PatientBirthDate) == (CANARY_NAME, CANARY_ID, "19500101")
    for text in (stdout, stderr):
        assert CANARY_NAME.split("^")[0] not in text and CANARY_ID not in text


def test_source_without_study_uid_gets_a_new_study(work):
    calibrated = synth(os.path.join(work, "a4c.dcm"), "--view", "a4c", "--ef", "45", "--hr", "75", "--seed", "21")
    source_path = edited_copy(calibrated, os.path.join(work, "nostudy.dcm"), lambda ds: delattr(ds, "StudyInstanceUID"))
    _, status, _, _, folder = run_case(work, "nostudy", source_path)
    assert status == 0
    check_valid(folder, KINDS)
    objects = read_objects(folder)
    studies = {ds.StudyInstanceUID for ds in objects.values()}
    assert len(studies) == 1 and next(iter(studies)).startswith("2.25.")
    assert any("no Study Instance UID" in t for t in texts(objects["sr"]))
    assert "CurrentRequestedProcedureEvidenceSequence" not in objects["sr"]


def test_source_that_cannot_be_referenced_is_an_error_and_writes_nothing(work):
    calibrated = synth(os.path.join(work, "a4c.dcm"), "--view", "a4c", "--ef", "45", "--hr", "75", "--seed", "21")
    source_path = edited_copy(calibrated, os.path.join(work, "nosop.dcm"), lambda ds: delattr(ds, "SOPInstanceUID"))
    report, status, _, stdout, folder = run_case(work, "nosop", source_path)
    assert status == 2
    assert "SOP Instance UID" in stdout and "could not reference" in stdout
    assert not os.path.exists(folder) or os.listdir(folder) == []


def test_c_abi_through_python(work):
    import echoanalyzer as ea
    source_path = synth(os.path.join(work, "a4c.dcm"), "--view", "a4c", "--ef", "45", "--hr", "75", "--seed", "21")
    data = open(source_path, "rb").read()
    result = ea.Model(threads=1).analyze_bytes(data)
    out = os.path.join(work, "python_out")
    objects = result.dicom_report(data, directory=out)
    assert [o.kind for o in objects] == KINDS
    assert sorted(os.listdir(out)) == sorted(k + ".dcm" for k in KINDS)
    sr = pydicom.dcmread(os.path.join(out, "sr.dcm"))
    assert sr.SOPInstanceUID == objects[0].sop_instance_uid
    assert num(measurement_groups(sr)[0], EF)[0] == ds_text(result.ef_percent)
    assert [o.kind for o in result.dicom_report(source_path, overlays=False)] == ["sr"]
    with pytest.raises(ea.EchoError) as error:
        result.dicom_report(b"not a DICOM file at all" * 10)
    assert error.value.status_name == "malformed"
