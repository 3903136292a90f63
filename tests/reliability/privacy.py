#!/usr/bin/env python3
"""Privacy (docs/reliability.md): a DICOM whose patient name, ID and birth date are set is analysed with every
output option of `echoa analyze` (text en/zh, --json, --overlay, --html, --dicom-out, --vlm) and through the C
ABI (a good and a damaged copy). None of the three values may appear in stdout, stderr, any file written
(JSON, PNG, HTML) or echo_last_error(). The DICOM objects written for PACS (--dicom-out) are the only place
they may appear: they must carry the patient module.

usage: privacy.py ECHOA WORK_DIR   (ECHOANALYZER_LIBRARY and PYTHONPATH for the bindings, optional)
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pydicom

NAME, PATIENT_ID, BIRTH_DATE = "PRIVATE^PATIENCE^QUIXOTE", "PID-7731-9925", "19460317"
# Every fragment a leak could show: the name's components, the ID, the date in DICOM and ISO form.
NEEDLES = ["PRIVATE", "PATIENCE", "QUIXOTE", "7731-9925", "PID-7731", "19460317", "1946-03-17"]


def leaks(data: bytes):
    text = data.upper()
    return [n for n in NEEDLES if n.encode() in text]


def main():
    echoa, work = sys.argv[1], Path(sys.argv[2])
    shutil.rmtree(work, ignore_errors=True)
    (work / "in").mkdir(parents=True)
    study = work / "in" / "study.dcm"
    subprocess.run([echoa, "synth", "--view", "a4c", "--ef", "50", "--size", "160x120", "--frames", "40",
                    "--fps", "40", "--out", str(study)], check=True, capture_output=True)
    ds = pydicom.dcmread(study)
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = NAME, PATIENT_ID, BIRTH_DATE
    ds.save_as(study)
    assert leaks(study.read_bytes()), "the test file must carry the identifiers"

    failures = []
    out = work / "out"
    runs = [["--json"], ["--lang", "zh"], ["--lang", "en", "--overlay", str(out / "overlay"), "--html",
            str(out / "html"), "--dicom-out", str(out / "dicom")], ["--vlm", "--json"], ["--vlm", "--lang", "zh"]]
    damaged = work / "in" / "damaged.dcm"
    damaged.write_bytes(study.read_bytes()[: len(study.read_bytes()) * 2 // 3])
    runs.append(["--json", str(damaged)])
    for i, args in enumerate(runs):
        files = [] if str(damaged) in args else [str(study)]
        proc = subprocess.run([echoa, "analyze", *args, *files], capture_output=True,
                              env=dict(os.environ, OMP_WAIT_POLICY="PASSIVE"))
        for stream, data in (("stdout", proc.stdout), ("stderr", proc.stderr)):
            if found := leaks(data):
                failures.append(f"echoa analyze {' '.join(args)}: {stream} shows {found}")
        print(f"run {i}: exit {proc.returncode}, {len(proc.stdout)} bytes out, {len(proc.stderr)} bytes err")

    written = [p for p in out.rglob("*") if p.is_file()]
    checked = 0
    for path in written:
        if (out / "dicom") in path.parents and path.suffix.lower() == ".dcm":
            continue  # PACS objects: the patient module belongs there
        checked += 1
        if found := leaks(path.read_bytes()):
            failures.append(f"{path.relative_to(work)} shows {found}")
    print(f"{checked} output files checked ({len(written) - checked} DICOM objects for PACS exempt)")
    if not any(p.suffix == ".png" for p in written):
        failures.append("no overlay was written: the test did not exercise --overlay")

    # The C ABI: results and echo_last_error() after a good and a damaged file.
    if os.environ.get("ECHOANALYZER_LIBRARY"):
        import echoanalyzer
        from echoanalyzer import _native as native
        model = echoanalyzer.Model(threads=1)
        result = model.analyze_file(str(study))
        if found := leaks((result.json + result.text_en + result.text_zh).encode()):
            failures.append(f"C ABI JSON / text shows {found}")
        for bad in (damaged, work / "missing.dcm"):
            try:
                model.analyze_file(str(bad))
                failures.append(f"{bad.name} was not refused")
            except echoanalyzer.EchoError:
                pass
            message = native.lib.echo_last_error() or b""
            if found := leaks(message):
                failures.append(f"echo_last_error() after {bad.name} shows {found}")
            print(f"echo_last_error() after {bad.name}: {message.decode(errors='replace')[:120]}")
    else:
        print("C ABI part skipped: ECHOANALYZER_LIBRARY not set")

    for f in failures:
        print("FAIL:", f)
    print(f"privacy: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
