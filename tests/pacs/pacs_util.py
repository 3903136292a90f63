"""Shared helpers of the PACS tests: phantoms from `echoa synth`, `echoa analyze`, and reading the SR back."""
import json
import os
import subprocess
from typing import Dict, List, Optional

import pydicom

ECHOA = os.environ.get("ECHOA", "echoa")
ENV = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")

EF, EDV, ESV = "18043-0", "18026-5", "18148-7"
SINGLE_PLANE, BIPLANE = "125208", "125207"
COMPREHENSIVE_SR, SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.88.33", "1.2.840.10008.5.1.4.1.1.7"
KINDS = ["sr", "ed_overlay", "es_overlay", "volume_curve"]


def synth(path: str, *args: str) -> str:
    """A small phantom (320x240, two beats) unless args say otherwise."""
    if not os.path.exists(path):
        defaults = ["--size", "320x240", "--beats", "2"]
        subprocess.run([ECHOA, "synth", *defaults, *args, "--out", path], check=True, env=ENV,
                       stdout=subprocess.DEVNULL)
    return path


def analyze(path: str, dicom_out: Optional[str] = None, *extra: str):
    """(JSON report or None, exit status, stderr) of `echoa analyze --json`."""
    command = [ECHOA, "analyze", "--json", "--threads", "1", *extra, path]
    if dicom_out:
        command[2:2] = ["--dicom-out", dicom_out]
    run = subprocess.run(command, capture_output=True, text=True, env=ENV)
    lines = [l for l in run.stdout.splitlines() if l.strip()]
    report = json.loads(lines[0]) if lines else None
    return report, run.returncode, run.stderr, run.stdout


def ds_text(value: float) -> str:
    """The Decimal String the SR writer gives a value (at most 16 characters: 10 significant digits)."""
    return "%.10g" % value


def code_value(item) -> str:
    return item.ConceptNameCodeSequence[0].CodeValue if "ConceptNameCodeSequence" in item else ""


def children(item, concept: Optional[str] = None, value_type: Optional[str] = None) -> List:
    found = []
    for child in getattr(item, "ContentSequence", []):
        if (concept is None or code_value(child) == concept) and (value_type is None or child.ValueType == value_type):
            found.append(child)
    return found


def measurement_groups(sr) -> List:
    """The LV section's measurement groups (the first is the mean over beats)."""
    findings = children(sr, "121070", "CONTAINER")
    assert len(findings) == 1, "one Findings section"
    return children(findings[0], "125007", "CONTAINER")


def num(group, concept: str):
    """(numeric text or None, the NUM item) of one measurement in a group; (None, None) when absent."""
    items = children(group, concept, "NUM")
    if not items:
        return None, None
    assert len(items) == 1
    measured = items[0].MeasuredValueSequence
    return (str(measured[0].NumericValue) if len(measured) else None), items[0]


def method_of(item) -> str:
    methods = children(item, "370129005", "CODE")
    assert len(methods) == 1, "one Measurement Method"
    return methods[0].ConceptCodeSequence[0].CodeValue


def referenced_frames(item) -> List[int]:
    frames = []
    for image in children(item, None, "IMAGE"):
        ref = image.ReferencedSOPSequence[0]
        if "ReferencedFrameNumber" in ref:
            value = ref.ReferencedFrameNumber
            frames.extend(int(v) for v in (value if isinstance(value, pydicom.multival.MultiValue) else [value]))
    return frames


def texts(item) -> List[str]:
    """Every TEXT value below an item."""
    out = []
    for child in getattr(item, "ContentSequence", []):
        if child.ValueType == "TEXT":
            out.append(str(child.TextValue))
        out.extend(texts(child))
    return out


def read_objects(directory: str) -> Dict[str, "pydicom.Dataset"]:
    return {name[:-4]: pydicom.dcmread(os.path.join(directory, name)) for name in sorted(os.listdir(directory))
            if name.endswith(".dcm")}


def dciodvfy_errors(path: str) -> List[str]:
    run = subprocess.run(["dciodvfy", path], capture_output=True, text=True)
    return [l for l in (run.stdout + run.stderr).splitlines() if l.startswith("Error")]
