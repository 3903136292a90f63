#!/usr/bin/env python3
"""`echoa info --json` agrees with ../shared/data/dicom/EXPECTED.tsv.

usage: check_info_json.py ECHOA DATA_DIR
Exit 0 on agreement, 1 on a mismatch, 77 (ctest SKIP) when the data folder is absent outside CI.
"""
import csv
import json
import os
import re
import subprocess
import sys


def main():
    echoa, data_dir = sys.argv[1], sys.argv[2]
    table = os.path.join(data_dir, "EXPECTED.tsv")
    if not os.path.exists(table):
        if os.environ.get("CI") == "true":
            print(f"CI=true but {table} is missing")
            return 1
        print(f"skipped: {table} absent")
        return 77
    with open(table, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    files = [os.path.join(data_dir, r["file"]) for r in rows]
    run = subprocess.run([echoa, "info", "--json", *files], capture_output=True, text=True, timeout=300)
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    failures = []
    if len(lines) != len(rows):
        failures.append(f"{len(lines)} JSON lines for {len(rows)} files; stderr: {run.stderr[-2000:]}")
    any_error = False
    for row, info in zip(rows, lines):
        name = row["file"]

        def check(condition, what):
            if not condition:
                failures.append(f"{name}: {what}: {json.dumps(info)}")

        check(info.get("file", "").endswith(name), "file key")
        for key in ("file", "frames", "rows", "cols", "fps", "mm_per_px_x", "mm_per_px_y", "calibration_trusted", "error"):
            check(key in info, f"missing key {key}")
        if info.get("error") is not None:
            any_error = True
            err = info["error"]
            check(isinstance(err.get("code"), str) and err.get("code") not in ("", "ok", "internal"), "error code")
            check(name in err.get("message", ""), "error message names the file")
        if row["class"] == "malformed":
            if info.get("error") is None:
                check(info["frames"] > 0 and info["rows"] > 0 and info["cols"] > 0, "a read malformed file is consistent")
            continue
        check(info.get("error") is None, "read without error")
        if info.get("error") is not None:
            continue
        check(info["frames"] == int(row["frames"]), "frames")
        check(info["rows"] == int(row["rows"]), "rows")
        check(info["cols"] == int(row["cols"]), "cols")
        check(info["photometric"] == row["photometric"], "photometric")
        check(info["transfer_syntax"].startswith(row["transfer_syntax"]), "transfer syntax")
        cal = row["calibration"]
        scale = re.match(r"([0-9.]+) cm/px", cal)
        if cal.startswith("none"):
            check(info["mm_per_px_x"] is None and info["calibration_trusted"] is False, "no calibration")
        elif cal.startswith("inconsistent") or "not trustworthy" in cal:
            check(info["calibration_trusted"] is False, "calibration flagged untrusted")
        else:
            check(scale is not None, "table gives a scale")
            if scale:
                mm = float(scale.group(1)) * 10
                check(info["calibration_trusted"] is True, "calibration trusted")
                check(info["mm_per_px_x"] is not None and abs(info["mm_per_px_x"] - mm) < 5e-6, "mm_per_px_x")
                check(info["mm_per_px_y"] is not None and abs(info["mm_per_px_y"] - mm) < 5e-6, "mm_per_px_y")
        if "dual view" in cal:
            check("dual view" in info["calibration_note"], "dual view reported")
        frame_time = re.search(r"FrameTime=([0-9.]+)", row["timing"])
        if frame_time:
            check(info["frame_time_ms"] is not None and abs(info["frame_time_ms"] - float(frame_time.group(1))) < 1e-6,
                  "frame time")
    expected_status = 2 if any_error else 0
    if run.returncode != expected_status:
        failures.append(f"exit status {run.returncode}, expected {expected_status}")
    good = [os.path.join(data_dir, r["file"]) for r in rows if r["class"] != "malformed"]
    status_good = subprocess.run([echoa, "info", "--json", *good], capture_output=True, timeout=300).returncode
    if status_good != 0:
        failures.append(f"exit status {status_good} for the readable files alone, expected 0")
    for failure in failures:
        print("MISMATCH", failure)
    print(f"{len(rows)} files, {len(failures)} mismatches")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
