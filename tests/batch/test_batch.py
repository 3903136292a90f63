"""Archive batch on Dask (examples/python/archive.py over echoanalyzer.batch) and `echoa analyze --jobs N`.

The 40 phantoms (one in four with an artefact) come from the ctest fixture batch_phantoms (make_phantoms.py).
"""
import csv
import glob
import json
import os
import pty
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import psutil
import pytest

PHANTOMS = os.environ["BATCH_PHANTOM_DIR"]
ECHOA = os.environ["ECHOA"]
ARCHIVE = os.path.join(os.environ["ECHO_EXAMPLES_DIR"], "python", "archive.py")
STUDIES = sorted(glob.glob(os.path.join(PHANTOMS, "*", "*.dcm")))
# Root reads everything: the batch runs without the capabilities that bypass file permissions.
NO_DAC = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
PROGRESS_MARKS = ("\r", "[#", "[.", "ETA ")


def tree_state(root):
    """Every entry under root with its type, mode, size and modification time (nothing is opened)."""
    state = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            state[os.path.relpath(path, root)] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return state


def archive(*args, timeout=600, prefix=()):
    return subprocess.run(list(prefix) + [sys.executable, ARCHIVE] + [str(a) for a in args], capture_output=True,
                          text=True, timeout=timeout)


def table(out_dir, query="SELECT * FROM studies"):
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(out_dir, "results.sqlite"), uri=True, timeout=30)
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute(query)]
    finally:
        db.close()


def by_study(rows):
    return {r["study"]: r for r in rows}


def reject_codes(report):
    return ",".join(r["code"] for r in report["quality"]["reasons"] if r["severity"] == "reject") or None


def echoa_json(*args):
    run = subprocess.run([ECHOA, "analyze", "--json"] + list(args), capture_output=True, text=True, timeout=600)
    assert run.returncode in (0, 1), run.stderr
    return run


@pytest.fixture(scope="module")
def serial():
    """`echoa analyze --json`, one study after another (one inference thread, as each Dask worker has)."""
    run = echoa_json("--threads", "1", os.path.join(PHANTOMS, "site0"), os.path.join(PHANTOMS, "site1"))
    reports = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(reports) == len(STUDIES) == 40
    return {r["file"]: r for r in reports}


def assert_same_answers(rows, serial):
    assert set(rows) == set(serial)
    for study, report in serial.items():
        row = rows[study]
        assert row["status"] == ("ok" if report["ef_percent"] is not None else "refused"), study
        for column, value in (("ef_percent", report["ef_percent"]), ("ef_sd", report["ef_sd"]),
                              ("edv_ml", report["edv_ml"]), ("esv_ml", report["esv_ml"]),
                              ("quality_score", report["quality"]["score"]), ("view", report["view"]),
                              ("view_confidence", report["view_confidence"]),
                              ("heart_rate_bpm", report["heart_rate_bpm"] or None),  # JSON: 0 when unknown
                              ("beats", len(report["beats"])),
                              ("frames", report["frames"]), ("reasons", reject_codes(report)),
                              ("quality_pass", int(report["quality"]["pass"]))):
            assert row[column] == value, (study, column)  # exact: the same library code on the same input


def test_local_cluster_of_two_gives_the_serial_answers(tmp_path, serial):
    before = tree_state(PHANTOMS)
    out = tmp_path / "out"
    run = archive(PHANTOMS, "--out", out, "--workers", 2, "--threads", 1)
    assert run.returncode == 1, run.stdout + run.stderr  # artefacts are refused: exit status 1, no error
    rows = by_study(table(out))
    assert_same_answers(rows, serial)
    statuses = [r["status"] for r in rows.values()]
    assert statuses.count("refused") >= 5 and statuses.count("ok") >= 25
    assert len({r["worker"] for r in rows.values()}) == 2  # both workers took studies
    assert all(r["analysis_ms"] > 0 and r["wall_ms"] >= r["analysis_ms"] * 0.5 for r in rows.values())
    with open(out / "results.csv", newline="") as f:
        exported = {r["study"]: r for r in csv.DictReader(f)}
    assert set(exported) == set(rows)
    for study, row in rows.items():
        ef = exported[study]["ef_percent"]
        assert (float(ef) if ef else None) == row["ef_percent"]
    assert "40 studies:" in run.stdout and "studies/s" in run.stdout and "worker peak memory" in run.stdout
    assert tree_state(PHANTOMS) == before


def dask_worker_processes(client_pid):
    return [p for p in psutil.Process(client_pid).children(recursive=True)
            if "spawn_main" in " ".join(p.cmdline())]


def wait_for_done(out_dir, count, process, timeout_s=300):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, "the batch ended before it could be interrupted"
        try:
            done = table(out_dir, "SELECT COUNT(*) AS n FROM studies WHERE status IN ('ok', 'refused')")[0]["n"]
        except sqlite3.OperationalError:  # not created yet
            done = 0
        if done >= count:
            return done
        time.sleep(0.05)
    raise AssertionError("fewer than %d studies done after %d s" % (count, timeout_s))


def test_killed_worker_then_killed_client_then_rerun_gives_each_study_once(tmp_path, serial):
    before = tree_state(PHANTOMS)
    out = tmp_path / "out"
    client = subprocess.Popen([sys.executable, ARCHIVE, PHANTOMS, "--out", out, "--workers", "2", "--threads", "1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for_done(out, 8, client)
        workers = dask_worker_processes(client.pid)
        assert len(workers) == 2
        workers[0].kill()  # a worker dies mid-batch: its nanny starts another, Dask re-runs its tasks
        wait_for_done(out, 20, client)
        client.kill()      # then the client (and with it the table's only writer)
        client.wait()
    finally:
        try:
            os.killpg(client.pid, signal.SIGKILL)  # what is left of the session: a power cut takes it all
        except ProcessLookupError:
            pass
    after_kill = by_study(table(out))
    running = {s for s, r in after_kill.items() if r["status"] == "running"}
    done_before = {s: r for s, r in after_kill.items() if r["status"] in ("ok", "refused")}
    assert 20 <= len(done_before) < 40 and running  # killed halfway, with studies in flight
    lost = table(out, "SELECT * FROM attempts WHERE status = 'worker_lost'")
    assert lost and all("was lost" in a["error_message"] for a in lost)

    rerun = archive(PHANTOMS, "--out", out, "--workers", 2, "--threads", 1)
    assert rerun.returncode == 1, rerun.stdout + rerun.stderr
    assert "%d interrupted earlier and re-run" % len(running) in rerun.stdout
    assert "%d done earlier (skipped)" % len(done_before) in rerun.stdout
    rows = table(out)
    assert sorted(r["study"] for r in rows) == STUDIES  # every study exactly once
    assert_same_answers(by_study(rows), serial)
    for study, row in done_before.items():  # finished rows were not analysed again
        assert by_study(rows)[study]["finished_at"] == row["finished_at"]
    interrupted = table(out, "SELECT * FROM attempts WHERE status = 'interrupted'")
    assert sorted(a["study"] for a in interrupted) == sorted(running)
    assert all(a["error_message"] for a in interrupted)
    assert all(r["attempts"] == 1 for r in rows)  # an interruption does not use up an attempt
    assert tree_state(PHANTOMS) == before


def make_bad_archive(root):
    """Two good studies and every kind of bad input; returns {path: expected error code (None = good)}."""
    good = os.path.join(root, "good")
    os.makedirs(good)
    expected = {}
    for name in ("0000.dcm", "0003.dcm"):
        shutil.copy(os.path.join(PHANTOMS, "site%d" % (int(name[:4]) % 2), name), os.path.join(good, name))
        expected[os.path.join(good, name)] = None
    with open(os.path.join(root, "corrupt.dcm"), "wb") as f:
        f.write(b"\0" * 128 + b"DICM" + os.urandom(2000))
    expected[os.path.join(root, "corrupt.dcm")] = "malformed"
    os.makedirs(os.path.join(root, "empty"))
    expected[os.path.join(root, "empty")] = "empty_folder"
    os.mkfifo(os.path.join(root, "stuck.dcm"))  # opening it blocks forever: only the time limit ends it
    expected[os.path.join(root, "stuck.dcm")] = "timeout"
    shutil.copy(STUDIES[1], os.path.join(root, "secret.dcm"))
    os.chmod(os.path.join(root, "secret.dcm"), 0)
    expected[os.path.join(root, "secret.dcm")] = "permission_denied"
    os.makedirs(os.path.join(root, "locked"))
    shutil.copy(STUDIES[2], os.path.join(root, "locked", "0002.dcm"))
    os.chmod(os.path.join(root, "locked"), 0)
    expected[os.path.join(root, "locked")] = "permission_denied"
    with open(os.path.join(root, "notes.txt"), "w") as f:
        f.write("not a study\n")
    return expected


def test_bad_inputs_become_rows_and_the_batch_goes_on(tmp_path):
    root = tmp_path / "archive"
    expected = make_bad_archive(str(root))
    before = tree_state(root)
    out = tmp_path / "out"
    run = archive(root, "--out", out, "--workers", 2, "--threads", 1, "--time-limit", 8, prefix=NO_DAC)
    assert tree_state(root) == before  # nothing written, renamed or touched in the input
    os.chmod(root / "locked", 0o755)
    assert run.returncode == 2, run.stdout + run.stderr
    rows = by_study(table(out))
    assert set(rows) == set(expected)
    for study, code in expected.items():
        row = rows[study]
        if code is None:
            assert row["status"] in ("ok", "refused") and row["error_code"] is None, row
        else:
            assert row["status"] == "error" and row["error_code"] == code, row
            assert row["error_message"], row
    assert "8 s" in rows[str(root / "stuck.dcm")]["error_message"]


def test_resume_skips_done_studies_and_retries_failures_up_to_the_limit(tmp_path):
    root = tmp_path / "archive"
    root.mkdir()
    for study in STUDIES[:2]:
        shutil.copy(study, root / os.path.basename(study))
    broken = root / "late.dcm"
    broken.write_bytes(b"not yet copied")
    out = tmp_path / "out"
    first = archive(root, "--out", out, "--workers", 1, "--max-attempts", 2)
    assert first.returncode == 2
    second = archive(root, "--out", out, "--workers", 1, "--max-attempts", 2)
    assert "1 analysed" in second.stdout and "2 done earlier (skipped)" in second.stdout, second.stdout
    assert by_study(table(out))[str(broken)]["attempts"] == 2
    third = archive(root, "--out", out, "--workers", 1, "--max-attempts", 2)  # given up: nothing to run
    assert "0 analysed" in third.stdout and "1 given up" in third.stdout, third.stdout
    shutil.copy(STUDIES[4], broken)  # the file arrives: one more attempt allowed, and it succeeds
    fourth = archive(root, "--out", out, "--workers", 1, "--max-attempts", 3)
    assert fourth.returncode in (0, 1), fourth.stdout + fourth.stderr
    row = by_study(table(out))[str(broken)]
    assert row["status"] in ("ok", "refused") and row["attempts"] == 3 and row["error_code"] is None
    history = [a["status"] for a in table(out, "SELECT * FROM attempts WHERE study = '%s' ORDER BY id" % broken)]
    assert history == ["error", "error", row["status"]]
    assert len(table(out)) == 3


# --- progress ---------------------------------------------------------------------------------------------------
def run_with_terminal_stderr(command):
    """Runs command with stderr on a pseudo-terminal and stdout on a pipe; returns (rc, stdout, terminal)."""
    master, slave = pty.openpty()
    seen = []

    def drain():
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                return
            if not chunk:
                return
            seen.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    stdout, _ = process.communicate(timeout=600)
    reader.join(timeout=10)
    os.close(master)
    return process.returncode, stdout.decode(), b"".join(seen).decode("utf-8", "replace")


def without_timings(line):
    report = json.loads(line)
    report.pop("timings_ms")
    return report


def test_echoa_jobs_keeps_the_input_order_and_draws_progress_only_on_a_terminal():
    folders = [os.path.join(PHANTOMS, "site0"), os.path.join(PHANTOMS, "site1")]
    one = echoa_json("--jobs", "1", "--threads", "1", *folders)
    rc, two, terminal = run_with_terminal_stderr([ECHOA, "analyze", "--json", "--jobs", "2", *folders])
    assert rc == one.returncode
    lines_one, lines_two = one.stdout.splitlines(), two.splitlines()
    assert [json.loads(l)["file"] for l in lines_one] == STUDIES  # input order
    assert [without_timings(l) for l in lines_two] == [without_timings(l) for l in lines_one]
    assert not any(mark in two for mark in PROGRESS_MARKS)
    assert "\r[" in terminal and "40/40" in terminal and "studies/s" in terminal and "ETA" in terminal
    assert "refused 8" in terminal or "refused" in terminal
    assert "echoa analyze: 40 studies in" in terminal and "2 job(s)" in terminal
    # without a terminal: no progress characters anywhere, the summary line on stderr only
    assert not any(mark in one.stdout + one.stderr for mark in PROGRESS_MARKS)
    assert one.stderr.count("\n") == 1 and one.stderr.startswith("echoa analyze: 40 studies in")


def test_archive_progress_on_a_terminal_and_none_without(tmp_path):
    root = tmp_path / "archive"
    root.mkdir()
    for study in STUDIES[:6]:
        shutil.copy(study, root / os.path.basename(study))
    rc, stdout, terminal = run_with_terminal_stderr([sys.executable, ARCHIVE, str(root), "--out",
                                                     str(tmp_path / "tty"), "--workers", "1"])
    assert rc in (0, 1), stdout + terminal
    assert "\r[" in terminal and "6/6" in terminal and "studies/s" in terminal and "ETA" in terminal
    assert not any(mark in stdout for mark in PROGRESS_MARKS)
    plain = archive(root, "--out", tmp_path / "pipe", "--workers", 1)
    assert plain.returncode == rc
    assert not any(mark in plain.stdout + plain.stderr for mark in PROGRESS_MARKS)
    assert "6 studies:" in plain.stdout


def test_a_worker_with_two_stuck_analyses_is_replaced_and_the_batch_goes_on(tmp_path):
    root = tmp_path / "archive"
    root.mkdir()
    for name in ("-a.dcm", "-b.dcm"):  # sorted first: both hang before the good studies start
        os.mkfifo(root / name)
    for study in STUDIES:  # enough work to outlast the restart's few seconds' delay
        os.link(study, root / os.path.basename(study))
    out = tmp_path / "out"
    run = archive(root, "--out", out, "--workers", 1, "--time-limit", 3)
    assert run.returncode == 2, run.stdout + run.stderr
    rows = table(out)
    assert sorted(r["study"] for r in rows) == sorted(str(p) for p in root.iterdir())  # each once
    assert sorted(r["study"] for r in rows if r["error_code"] == "timeout") == [str(root / "-a.dcm"),
                                                                                 str(root / "-b.dcm")]
    good = [r for r in rows if r["status"] in ("ok", "refused")]
    assert len(good) == len(STUDIES)
    stuck_worker = by_study(rows)[str(root / "-b.dcm")]["worker"]
    assert any(r["worker"] != stuck_worker for r in good)  # a fresh worker process took over
