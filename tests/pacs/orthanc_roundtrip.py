#!/usr/bin/env python3
"""A real Orthanc with the EchoAnalyzer plug-in (examples/orthanc), on free ports with a temporary storage
folder that is removed at the end.

  orthanc_roundtrip.py --plugin libecho_orthanc.so            round trip: a phantom study in through C-STORE
      (storescu), its SR read back through the REST API and its EF compared with `echoa analyze --json`; a
      malformed file and a non-echo image keep Orthanc up and get nothing stored; no patient data in the logs.
  orthanc_roundtrip.py --plugin libecho_orthanc.so --load 50  load: 50 studies sent at once, each analysed
      exactly once, C-ECHO answered within 1 s throughout.

Needs Orthanc (Debian `orthanc`), DCMTK's storescu/echoscu, pydicom, and ECHOA (the echoa binary).
"""
import argparse
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import pydicom
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pacs_util import (COMPREHENSIVE_SR, EDV, EF, ESV, analyze, ds_text, measurement_groups, num, synth,  # noqa: E402
                       texts)

CANARY_NAME, CANARY_ID = "CANARY^ORTHANC", "CANARY-0815"
ECHO_LIMIT_S = 1.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def uid(seed: str) -> str:
    return pydicom.uid.generate_uid(entropy_srcs=[seed])


class Orthanc:
    """Orthanc in a temporary folder: config, storage, index and log; the folder goes at stop()."""

    def __init__(self, plugin: str, parent: str):
        self.folder = tempfile.mkdtemp(prefix="echo-orthanc-", dir=parent)
        self.http_port, self.dicom_port = free_port(), free_port()
        self.log_path = os.path.join(self.folder, "orthanc.log")
        config = {"Name": "EchoAnalyzerTest", "StorageDirectory": os.path.join(self.folder, "storage"),
                  "IndexDirectory": os.path.join(self.folder, "index"), "HttpPort": self.http_port,
                  "DicomPort": self.dicom_port, "DicomAet": "ORTHANC", "RemoteAccessAllowed": False,
                  "AuthenticationEnabled": False, "DicomCheckCalledAet": False, "Plugins": [plugin],
                  "HttpServerEnabled": True, "DicomServerEnabled": True, "StorageCompression": False}
        self.config_path = os.path.join(self.folder, "orthanc.json")
        with open(self.config_path, "w") as f:
            json.dump(config, f, indent=2)
        env = dict(os.environ, ECHO_ORTHANC_THREADS="1", OMP_WAIT_POLICY="PASSIVE")
        self.log = open(self.log_path, "w")
        binary = shutil.which("Orthanc") or "/usr/sbin/Orthanc"  # /usr/sbin is not on every user's PATH
        self.process = subprocess.Popen([binary, "--verbose", self.config_path], stdout=self.log,
                                        stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("Orthanc exited at start (%s):\n%s" % (self.process.returncode, self.log_text()))
            try:
                self.get("/system")
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        raise RuntimeError("Orthanc did not answer on port %d within 60 s" % self.http_port)

    def url(self, path: str) -> str:
        return "http://127.0.0.1:%d%s" % (self.http_port, path)

    def get(self, path: str):
        with urllib.request.urlopen(self.url(path), timeout=30) as r:
            body = r.read()
        return json.loads(body) if body[:1] in (b"{", b"[") else body

    def post(self, path: str, data: bytes):
        request = urllib.request.Request(self.url(path), data=data, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                return r.status
        except urllib.error.HTTPError as error:
            return error.code

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_text(self) -> str:
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def plugin_lines(self):
        return [l for l in self.log_text().splitlines() if "EchoAnalyzer:" in l]

    def stop(self) -> int:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode

    def cleanup(self):
        shutil.rmtree(self.folder, ignore_errors=True)

    # --- what is stored -----------------------------------------------------------------------------------
    def instance_id(self, sop_instance_uid: str):
        found = self.post_json("/tools/lookup", sop_instance_uid.encode())
        return next((f["ID"] for f in found if f["Type"] == "Instance"), None)

    def post_json(self, path: str, data: bytes):
        request = urllib.request.Request(self.url(path), data=data, method="POST")
        with urllib.request.urlopen(request, timeout=30) as r:
            return json.loads(r.read())

    def study_objects(self, study_instance_uid: str):
        """{SOP Class UID: [pydicom datasets]} of every instance in the study (empty when the study is absent)."""
        found = self.post_json("/tools/lookup", study_instance_uid.encode())
        study = next((f["ID"] for f in found if f["Type"] == "Study"), None)
        objects = {}
        if study is None:
            return objects
        for instance in self.get("/studies/%s/instances" % study):
            ds = pydicom.dcmread(io.BytesIO(self.get("/instances/%s/file" % instance["ID"])))
            objects.setdefault(ds.SOPClassUID, []).append(ds)
        return objects


def echo_seconds(port: int) -> float:
    start = time.monotonic()
    run = subprocess.run(["echoscu", "-to", "5", "127.0.0.1", str(port)], capture_output=True)
    elapsed = time.monotonic() - start
    return elapsed if run.returncode == 0 else float("inf")


def store(port: int, paths) -> None:
    run = subprocess.run(["storescu", "-xy", "-aec", "ORTHANC", "127.0.0.1", str(port), *paths], capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError("storescu failed: %s" % run.stderr)


def wait_for(what: str, predicate, timeout_s: float):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1.0)
    raise AssertionError("timed out after %.0f s waiting for %s" % (timeout_s, what))


def check(condition: bool, message: str):
    if not condition:
        raise AssertionError(message)
    print("ok:", message)


def edited(source: str, target: str, **attributes) -> str:
    ds = pydicom.dcmread(source)
    for name, value in attributes.items():
        setattr(ds, name, value)
    if "SOPInstanceUID" in attributes:
        ds.file_meta.MediaStorageSOPInstanceUID = attributes["SOPInstanceUID"]
    ds.save_as(target)
    return target


def ct_image(path: str) -> str:
    """A small CT image: a stored instance that is not an echo cine."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    meta.MediaStorageSOPInstanceUID = uid("ct-instance")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(path, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = uid("ct-study"), uid("ct-series")
    ds.PatientName, ds.PatientID, ds.Modality = "CT^TEST", "CT-1", "CT"
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = 64, 64, 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleIntercept, ds.RescaleSlope, ds.ImagePositionPatient = -1024, 1, [0, 0, 0]
    ds.PixelData = bytes(64 * 64 * 2)
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.save_as(path)
    return path


def sr_of(objects):
    srs = objects.get(COMPREHENSIVE_SR, [])
    return srs[0] if len(srs) == 1 else None


def roundtrip(orthanc: Orthanc, work: str):
    phantom = synth(os.path.join(work, "rt_a4c.dcm"), "--view", "a4c", "--ef", "45", "--hr", "75", "--seed", "41")
    study = edited(phantom, os.path.join(work, "rt_study.dcm"), PatientName=CANARY_NAME, PatientID=CANARY_ID)
    source = pydicom.dcmread(study)
    expected, status, _, _ = analyze(study)
    check(status == 0 and expected["ef_percent"] is not None, "echoa analyze measures the phantom")

    check(echo_seconds(orthanc.dicom_port) < ECHO_LIMIT_S, "C-ECHO answers")
    store(orthanc.dicom_port, [study])
    objects = wait_for("the SR of the phantom study", lambda: (lambda o: o if sr_of(o) else None)(
        orthanc.study_objects(source.StudyInstanceUID)), 300)
    sr = sr_of(objects)
    mean = measurement_groups(sr)[0]
    check(num(mean, EF)[0] == ds_text(expected["ef_percent"]),
          "the stored SR's EF (%s) is echoa analyze's (%s)" % (num(mean, EF)[0], ds_text(expected["ef_percent"])))
    check(num(mean, EDV)[0] == ds_text(expected["edv_ml"]) and num(mean, ESV)[0] == ds_text(expected["esv_ml"]),
          "EDV and ESV too")
    check(sr.StudyInstanceUID == source.StudyInstanceUID and sr.SeriesInstanceUID != source.SeriesInstanceUID,
          "the SR is in the source's study, in a new series")
    check(str(sr.PatientName) == CANARY_NAME and sr.PatientID == CANARY_ID, "the patient module is copied")
    overlays = objects.get("1.2.840.10008.5.1.4.1.1.7", [])
    check(len(overlays) == 3 and all(o.SeriesInstanceUID == sr.SeriesInstanceUID for o in overlays),
          "3 overlay images in the SR's series")

    # A malformed cine (pixel data cut short), a non-DICOM upload and a CT image: Orthanc stays up, nothing stored.
    raw = synth(os.path.join(work, "rt_raw.dcm"), "--view", "a4c", "--seed", "43", "--format", "dicom-raw")
    broken = pydicom.dcmread(raw)
    broken.PixelData = broken.PixelData[:4096]
    broken.StudyInstanceUID, broken.SOPInstanceUID = uid("broken-study"), uid("broken-instance")
    broken.file_meta.MediaStorageSOPInstanceUID = broken.SOPInstanceUID
    broken_path = os.path.join(work, "rt_broken.dcm")
    broken.save_as(broken_path)
    store(orthanc.dicom_port, [broken_path])
    check(orthanc.post("/instances", b"this is not a DICOM file" * 40) == 400, "a non-DICOM upload is refused (400)")
    ct = pydicom.dcmread(ct_image(os.path.join(work, "rt_ct.dcm")))
    store(orthanc.dicom_port, [ct.filename])
    blur = pydicom.dcmread(synth(os.path.join(work, "rt_blur.dcm"), "--view", "a4c", "--seed", "13", "--artifact", "blur"))
    store(orthanc.dicom_port, [blur.filename])
    # The queue is first in, first out: once a later study has its SR, the two before it were handled.
    sentinel = edited(phantom, os.path.join(work, "rt_sentinel.dcm"), StudyInstanceUID=uid("sentinel-study"),
                      SOPInstanceUID=uid("sentinel-instance"))
    store(orthanc.dicom_port, [sentinel])
    wait_for("the sentinel study's SR", lambda: sr_of(orthanc.study_objects(uid("sentinel-study"))), 300)
    broken_id = orthanc.instance_id(broken.SOPInstanceUID)
    check(any(broken_id in l and "not analysed" in l for l in orthanc.plugin_lines()),
          "the malformed cine is logged as not analysed")
    check(list(orthanc.study_objects(broken.StudyInstanceUID)) == ["1.2.840.10008.5.1.4.1.1.3.1"],
          "nothing stored for the malformed cine")
    check(list(orthanc.study_objects(ct.StudyInstanceUID)) == ["1.2.840.10008.5.1.4.1.1.2"],
          "nothing stored for the CT image")
    refusal = sr_of(orthanc.study_objects(blur.StudyInstanceUID))
    value, item = num(measurement_groups(refusal)[0], EF) if refusal else (None, None)
    check(refusal is not None and value is None and item.NumericValueQualifierCodeSequence[0].CodeValue == "114006"
          and any(t.startswith("blurred:") for t in texts(refusal)),
          "the blurred cine gets an SR without EF whose quality findings say why")
    check(orthanc.alive() and orthanc.get("/system")["Name"] == "EchoAnalyzerTest", "Orthanc is still up")
    check(echo_seconds(orthanc.dicom_port) < ECHO_LIMIT_S, "and answers C-ECHO")
    plugin_log = "\n".join(orthanc.plugin_lines())
    check(CANARY_NAME.split("^")[0] not in plugin_log and CANARY_ID not in plugin_log,
          "no patient name or ID in the plug-in's log lines")
    whole = orthanc.log_text()
    check(CANARY_NAME.split("^")[0] not in whole and CANARY_ID not in whole,
          "nor anywhere in Orthanc's verbose log")


def load(orthanc: Orthanc, work: str, count: int):
    phantom = synth(os.path.join(work, "load_a4c.dcm"), "--view", "a4c", "--ef", "50", "--hr", "70", "--seed", "51")
    studies = []
    for i in range(count):
        studies.append(edited(phantom, os.path.join(work, "load_%02d.dcm" % i), StudyInstanceUID=uid("load-study-%d" % i),
                              SeriesInstanceUID=uid("load-series-%d" % i), SOPInstanceUID=uid("load-instance-%d" % i),
                              PatientID="LOAD-%02d" % i))
    latencies, stop = [], threading.Event()

    def probe():
        while not stop.is_set():
            latencies.append(echo_seconds(orthanc.dicom_port))
            stop.wait(0.5)

    prober = threading.Thread(target=probe)
    prober.start()
    start = time.monotonic()
    senders = [threading.Thread(target=store, args=(orthanc.dicom_port, studies[i::5])) for i in range(5)]
    for s in senders:
        s.start()
    for s in senders:
        s.join()
    stored_s = time.monotonic() - start

    def analysed():
        lines = [l for l in orthanc.plugin_lines() if " analysed: " in l]
        return lines if len(lines) >= count else None

    try:
        wait_for("%d analyses" % count, analysed, 900)
    finally:
        stop.set()
        prober.join()
    total_s = time.monotonic() - start
    time.sleep(2)  # anything analysed twice would show up by now
    lines = [l for l in orthanc.plugin_lines() if " analysed: " in l]
    ids = [l.split("instance ")[1].split(" ")[0] for l in lines]
    check(len(ids) == count and len(set(ids)) == count, "%d studies analysed, each exactly once" % count)
    for i in range(count):
        objects = orthanc.study_objects(uid("load-study-%d" % i))
        sr = sr_of(objects)
        check(sr is not None and len(objects.get("1.2.840.10008.5.1.4.1.1.7", [])) == 3 and
              sr.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0].ReferencedSOPSequence[0]
              .ReferencedSOPInstanceUID == uid("load-instance-%d" % i),
              "study %d: one SR that references its cine, and 3 overlays" % i)
    check(max(latencies) < ECHO_LIMIT_S, "C-ECHO during the load: %d probes, slowest %.3f s (limit %.1f s)"
          % (len(latencies), max(latencies), ECHO_LIMIT_S))
    print("C-ECHO probes over 0.5 s: %s" % ", ".join("%.3f" % t for t in latencies if t > 0.5))
    print("load: %d studies stored in %.1f s, all analysed after %.1f s; C-ECHO median %.3f s, max %.3f s"
          % (count, stored_s, total_s, sorted(latencies)[len(latencies) // 2], max(latencies)))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plugin", required=True)
    parser.add_argument("--work", default=tempfile.gettempdir())
    parser.add_argument("--load", type=int, default=0, help="send this many studies at once instead")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    work = tempfile.mkdtemp(prefix="echo-pacs-", dir=args.work)
    orthanc = Orthanc(os.path.abspath(args.plugin), work)
    try:
        if args.load:
            load(orthanc, work, args.load)
        else:
            roundtrip(orthanc, work)
        code = orthanc.stop()
        check(code == 0, "Orthanc stops cleanly with the plug-in (exit %s)" % code)
    except BaseException:
        orthanc.stop()
        print("---- Orthanc log (tail) ----\n" + "\n".join(orthanc.log_text().splitlines()[-60:]))
        raise
    finally:
        orthanc.cleanup()
        shutil.rmtree(work, ignore_errors=True)
    print("PASS")


if __name__ == "__main__":
    main()
