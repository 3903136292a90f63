"""Archive-scale analysis on a Dask cluster: resumable, one result row per study, progress and a summary.

    from echoanalyzer import batch
    summary = batch.run(["/archive/2024"], "/data/ef-2024", workers=4)     # LocalCluster of 4 workers
    summary = batch.run(["/archive"], "/data/ef", scheduler="tcp://head:8786")  # a running cluster

Each Dask worker process loads the model once (with an inference thread count that fits the analyses running
at once on its host) and analyses one study per task through the C ABI. Only the client writes the table
(`results.sqlite` in the output folder, one row per study, keyed by the study's absolute path); a row is
committed as soon as its result arrives, so a killed client or worker loses at most the studies in flight,
and the next run skips what is done, retries failures up to `max_attempts`, and re-runs what was
interrupted. The input folders are only read. See docs/batch.md.
"""
from __future__ import annotations

import csv
import hashlib
import os
import queue
import resource
import socket
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

STUDY_SUFFIXES = (".dcm", ".dicom", ".avi", ".mp4")
DONE = ("ok", "refused")            # a study with one of these statuses is never analysed again
TABLE = "results.sqlite"
CSV_NAME = "results.csv"

# Columns of the `studies` table (and of the CSV), after `study`, `status` and `attempts`.
RESULT_COLUMNS = (
    ("ef_percent", "REAL"), ("ef_sd", "REAL"), ("edv_ml", "REAL"), ("esv_ml", "REAL"), ("category", "TEXT"),
    ("ef_basis", "TEXT"), ("ef_withheld_reason", "TEXT"), ("volumes_note", "TEXT"), ("quality_pass", "INTEGER"),
    ("quality_score", "REAL"), ("reasons", "TEXT"), ("reason_text", "TEXT"), ("view", "TEXT"),
    ("view_confidence", "REAL"), ("heart_rate_bpm", "REAL"), ("beats", "INTEGER"), ("frames", "INTEGER"),
    ("error_code", "TEXT"), ("error_message", "TEXT"), ("decode_ms", "REAL"), ("inference_ms", "REAL"),
    ("analysis_ms", "REAL"), ("wall_ms", "REAL"), ("worker", "TEXT"), ("worker_peak_rss_mb", "REAL"),
    ("model", "TEXT"), ("sdk_version", "TEXT"), ("finished_at", "TEXT"))
COLUMNS = ("study", "status", "attempts") + tuple(name for name, _ in RESULT_COLUMNS)


@dataclass(frozen=True)
class Options:
    """What every worker needs to analyse a study (sent with each task; small and picklable)."""

    model_path: Optional[str] = None
    device: str = "auto"
    precision: str = "auto"
    threads: int = 0                 # inference threads per worker; 0 = the host's cores / analyses at once
    time_limit_s: float = 300.0      # per study; 0 = none
    host_slots: Tuple[Tuple[str, int], ...] = ()   # (host, analyses at once on it), from the scheduler
    stuck_restart: int = 2           # a worker with this many timed-out analyses still running restarts


# --- the worker side ------------------------------------------------------------------------------------------
class StudyTimeout(Exception):
    pass


class ModelLoadError(RuntimeError):
    """The model could not be loaded on the workers: nothing was analysed."""


class _WorkerState:
    """One model per worker process, loaded on the first task (under a lock: a worker may run tasks in
    several threads) and shared by them (analyses on one model are thread-safe)."""

    lock = threading.Lock()
    model = None
    model_key = None
    stuck = 0                        # analyses past their time limit that are still running
    restarting = False


def _analyses_on_this_host(options: Options) -> int:
    try:
        from distributed import get_worker
        worker = get_worker()
    except (ImportError, ValueError):
        return 1
    slots = dict(options.host_slots)
    return max(1, slots.get(worker.ip, 0) or worker.state.nthreads)


def _inference_threads(options: Options) -> int:
    """LibTorch's thread count is process-wide: give each analysis running at once on this host its share."""
    if options.threads > 0:
        return options.threads
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // _analyses_on_this_host(options))


def _model(options: Options):
    from . import Model
    threads = _inference_threads(options)
    key = (options.model_path, options.device, options.precision, threads)
    with _WorkerState.lock:
        if _WorkerState.model is None or _WorkerState.model_key != key:
            _WorkerState.model = Model(options.model_path, device=options.device, precision=options.precision,
                                       threads=threads, decode_threads=threads)
            _WorkerState.model_key = key
        return _WorkerState.model


def preload(options: Options) -> int:
    """Loads the model on this worker now (client.run on every worker before the batch starts, so that a model
    that cannot load fails the run at once instead of every study); returns its inference thread count."""
    _model(options)
    return _inference_threads(options)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _open_check(path: str) -> None:
    """Says 'permission denied' plainly instead of the reader's generic 'cannot open'."""
    with open(path, "rb") as f:
        f.read(1)


def _run_limited(function, limit_s: float):
    """Runs function() in a daemon thread and waits at most limit_s. A native call cannot be interrupted:
    past the limit the thread is left to finish on its own (its result is dropped) and StudyTimeout raised."""
    box = {}

    def target():
        try:
            box["value"] = function()
        except BaseException as error:  # handed to the waiting thread
            box["error"] = error
        finally:
            if box.get("late"):
                with _WorkerState.lock:
                    _WorkerState.stuck -= 1

    thread = threading.Thread(target=target, name="echoanalyzer-study", daemon=True)
    thread.start()
    thread.join(limit_s if limit_s and limit_s > 0 else None)
    if thread.is_alive():
        with _WorkerState.lock:
            box["late"] = True
            _WorkerState.stuck += 1
        raise StudyTimeout()
    if "error" in box:
        raise box["error"]
    return box["value"]


def _restart_if_stuck(options: Options) -> None:
    """Too many stuck analyses (hung reads, runaway inputs) hold threads and maybe cores: ask the nanny for a
    fresh worker process. Graceful: the scheduler first moves this worker's finished results elsewhere."""
    if options.stuck_restart <= 0 or _WorkerState.stuck < options.stuck_restart:
        return
    try:
        from distributed import get_worker
        worker = get_worker()
    except (ImportError, ValueError):
        return
    if worker.nanny is None or _WorkerState.restarting:
        return
    _WorkerState.restarting = True
    # A few seconds' delay lets the client fetch the result this task is about to return.
    worker.loop.call_later(5.0, worker.close_gracefully, restart=True, reason="echoanalyzer: stuck analyses")


def _error_row(study: str, code: str, message: str) -> Dict:
    return {"study": study, "status": "error", "error_code": code, "error_message": message}


def _result_row(study: str, result) -> Dict:
    rejects = [r for r in result.reasons if r.severity == "reject"]
    timings = result.timings_ms
    return {
        "study": study, "status": "ok" if result.ef_percent is not None else "refused",
        "ef_percent": result.ef_percent, "ef_sd": result.ef_sd, "edv_ml": result.edv_ml, "esv_ml": result.esv_ml,
        "category": result.classification.category if result.classification else None,
        "ef_basis": result.ef_basis or None, "ef_withheld_reason": result.ef_withheld_reason or None,
        "volumes_note": result.volumes_unavailable_reason or None, "quality_pass": int(result.quality_pass),
        "quality_score": result.quality_score, "reasons": ",".join(r.code for r in rejects) or None,
        "reason_text": "; ".join(r.message_en for r in rejects) or None, "view": result.view,
        "view_confidence": result.view_confidence, "heart_rate_bpm": result.heart_rate_bpm,
        "beats": len(result.beats), "frames": result.frame_count, "decode_ms": timings.get("decode"),
        "inference_ms": timings.get("inference"), "analysis_ms": timings.get("total"),
        "model": "%s %s %s" % (result.model.name, result.model.version, result.model.precision),
        "sdk_version": result.sdk_version}


def analyze_study(study: str, options: Options) -> Dict:
    """One study, on a worker: a row for the table. Never raises for a bad study: its row carries the error."""
    from . import EchoError
    start = time.perf_counter()

    def work():
        _open_check(study)
        return model.analyze_file(study)

    try:
        model = _model(options)  # loaded once per worker process, outside the study's time limit
        row = _result_row(study, _run_limited(work, options.time_limit_s))
    except StudyTimeout:
        row = _error_row(study, "timeout", "no result within the time limit of %g s" % options.time_limit_s)
    except EchoError as error:
        row = _error_row(study, error.status_name, error.message)
    except PermissionError as error:
        row = _error_row(study, "permission_denied", "cannot read '%s': %s" % (study, error.strerror))
    except IsADirectoryError:
        row = _error_row(study, "not_a_file", "'%s' is a folder" % study)
    except OSError as error:
        row = _error_row(study, "io_failed", "cannot read '%s': %s" % (study, error.strerror or error))
    except Exception as error:  # a bug, reported as the study's error instead of losing the batch
        row = _error_row(study, "internal", "%s: %s" % (type(error).__name__, error))
    row["wall_ms"] = (time.perf_counter() - start) * 1000.0
    row["worker"] = "%s:%d" % (socket.gethostname(), os.getpid())
    row["worker_peak_rss_mb"] = _peak_rss_mb()
    row["finished_at"] = _now()
    _restart_if_stuck(options)
    return row


# --- finding the studies --------------------------------------------------------------------------------------
def _is_dicom_without_suffix(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            f.seek(128)
            return f.read(4) == b"DICM"
    except OSError:
        return True  # unreadable: listed, so that its row says why


def _is_study(path: str, name: str) -> bool:
    if name.startswith("."):
        return False
    if name.lower().endswith(STUDY_SUFFIXES):
        return True  # also FIFOs and unreadable files: their rows say what went wrong
    return "." not in name and os.path.isfile(path) and _is_dicom_without_suffix(path)


def find_studies(inputs: Iterable[str], list_file: Optional[str] = None) -> Tuple[List[str], List[Dict]]:
    """The studies under `inputs` (files, or folders walked recursively; studies are .dcm/.dicom/.avi/.mp4
    files and extension-less DICOM files) and those listed one per line in `list_file`, as sorted absolute
    paths; and an error row for each input that cannot be used (missing, unreadable folder, empty folder)."""
    studies, problems = set(), []
    paths = list(inputs)
    if list_file:
        with open(list_file, encoding="utf-8") as f:
            paths += [line.strip() for line in f if line.strip() and not line.lstrip().startswith("#")]
    for given in paths:
        root = os.path.abspath(given)
        if not os.path.lexists(root):
            problems.append(_error_row(root, "not_found", "'%s' does not exist" % root))
        elif not os.path.isdir(root):
            studies.add(root)
        else:
            found = _walk(root, problems)
            studies.update(found)
            if not found and not any(p["study"] == root for p in problems):
                problems.append(_error_row(root, "empty_folder", "no study in folder '%s'" % root))
    return sorted(studies), problems


def _walk(root: str, problems: List[Dict]) -> List[str]:
    def on_error(error: OSError):
        code = "permission_denied" if isinstance(error, PermissionError) else "io_failed"
        problems.append(_error_row(os.path.abspath(error.filename or root), code,
                                   "cannot list folder '%s': %s" % (error.filename, error.strerror)))

    found = []
    for folder, dirs, files in os.walk(root, onerror=on_error):
        dirs.sort()
        if folder != root and not dirs and not files:
            problems.append(_error_row(folder, "empty_folder", "no study in folder '%s'" % folder))
        found += [os.path.join(folder, n) for n in files if _is_study(os.path.join(folder, n), n)]
    return found


# --- the table ------------------------------------------------------------------------------------------------
class ResultTable:
    """results.sqlite: `studies` (one row per study, the latest outcome), `attempts` (every outcome, failures
    with their reasons), `runs` (one row per batch run). Written only by the client, one commit per result."""

    def __init__(self, path: str):
        self.path = path
        self.db = sqlite3.connect(path, timeout=60, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        columns = ", ".join("%s %s" % c for c in RESULT_COLUMNS)
        self.db.executescript(
            "CREATE TABLE IF NOT EXISTS studies (study TEXT PRIMARY KEY, status TEXT NOT NULL,"
            " attempts INTEGER NOT NULL DEFAULT 0, %s);"
            "CREATE TABLE IF NOT EXISTS attempts (id INTEGER PRIMARY KEY AUTOINCREMENT, study TEXT NOT NULL,"
            " attempt INTEGER NOT NULL, status TEXT NOT NULL, error_code TEXT, error_message TEXT, worker TEXT,"
            " wall_ms REAL, at TEXT NOT NULL);"
            "CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY AUTOINCREMENT, started_at TEXT,"
            " finished_at TEXT, cluster TEXT, workers INTEGER, submitted INTEGER, ok INTEGER, refused INTEGER,"
            " errors INTEGER, skipped INTEGER, wall_s REAL, studies_per_s REAL);" % columns)

    def close(self):
        self.db.close()

    def status_counts(self, studies: Sequence[str]) -> Dict[str, int]:
        known = self.rows()
        counts: Dict[str, int] = {}
        for study in studies:
            status = known.get(study, ("missing", 0))[0]
            counts[status] = counts.get(status, 0) + 1
        return counts

    def rows(self) -> Dict[str, Tuple[str, int]]:
        return {s: (st, a) for s, st, a in self.db.execute("SELECT study, status, attempts FROM studies")}

    def recover_interrupted(self) -> int:
        """Studies left 'running' by a client that was killed: logged as interrupted, analysed again (an
        interruption is not the study's failure, so it does not use up an attempt)."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            stale = [s for (s,) in self.db.execute("SELECT study FROM studies WHERE status = 'running'")]
            for study in stale:
                self.db.execute(
                    "INSERT INTO attempts (study, attempt, status, error_code, error_message, at)"
                    " SELECT study, attempts, 'interrupted', 'interrupted', ?, ? FROM studies WHERE study = ?",
                    ("the batch stopped before this study's result came back", _now(), study))
                self.db.execute("UPDATE studies SET status = 'pending', attempts = attempts - 1,"
                                " error_code = 'interrupted' WHERE study = ?", (study,))
        return len(stale)

    def mark_running(self, studies: Sequence[str]) -> Dict[str, int]:
        """Before submitting: the studies' rows say 'running', with the attempt number they are on."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            for study in studies:
                self.db.execute("INSERT INTO studies (study, status, attempts) VALUES (?, 'running', 1)"
                                " ON CONFLICT(study) DO UPDATE SET status = 'running', attempts = attempts + 1",
                                (study,))
            return {s: self._attempts(s) for s in studies}

    def _attempts(self, study: str) -> int:
        return self.db.execute("SELECT attempts FROM studies WHERE study = ?", (study,)).fetchone()[0]

    def record(self, row: Dict, count_attempt: bool = False) -> None:
        """The study's outcome replaces its row (all result columns, so a success clears an old error)."""
        names = [n for n, _ in RESULT_COLUMNS]
        values = [row.get(n) for n in names]
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            if count_attempt:  # outcomes found without a task (walk errors)
                self.db.execute("INSERT INTO studies (study, status, attempts) VALUES (?, 'running', 1)"
                                " ON CONFLICT(study) DO UPDATE SET attempts = attempts + 1", (row["study"],))
            self.db.execute("UPDATE studies SET status = ?, %s WHERE study = ?"
                            % ", ".join("%s = ?" % n for n in names), [row["status"]] + values + [row["study"]])
            self.db.execute("INSERT INTO attempts (study, attempt, status, error_code, error_message, worker,"
                            " wall_ms, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            (row["study"], self._attempts(row["study"]), row["status"], row.get("error_code"),
                             row.get("error_message"), row.get("worker"), row.get("wall_ms"), _now()))

    def log(self, study: str, status: str, code: str, message: str, worker: Optional[str] = None) -> None:
        """An event in a study's history that is not its outcome (its worker was lost and Dask re-ran it)."""
        with self.db:
            self.db.execute("INSERT INTO attempts (study, attempt, status, error_code, error_message, worker, at)"
                            " SELECT study, attempts, ?, ?, ?, ?, ? FROM studies WHERE study = ?",
                            (status, code, message, worker, _now(), study))

    def add_run(self, run: Dict) -> None:
        names = sorted(run)
        with self.db:
            self.db.execute("INSERT INTO runs (%s) VALUES (%s)" % (", ".join(names), ", ".join("?" * len(names))),
                            [run[n] for n in names])

    def export_csv(self, path: str) -> None:
        """The `studies` table as CSV (sorted by study), written beside and renamed into place."""
        partial = path + ".partial"
        with open(partial, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(COLUMNS)
            writer.writerows(self.db.execute("SELECT %s FROM studies ORDER BY study" % ", ".join(COLUMNS)))
        os.replace(partial, path)


# --- progress -------------------------------------------------------------------------------------------------
class Progress:
    """A one-line progress bar on a terminal (stderr by default); nothing at all when it is not a terminal."""

    def __init__(self, total: int, stream=None, enabled: Optional[bool] = None, width: int = 30):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.total, self.width = total, width
        self.done = self.refused = self.errors = 0
        self.start = time.monotonic()
        self.last_draw = 0.0

    def update(self, status: str) -> None:
        self.done += 1
        self.refused += status == "refused"
        self.errors += status == "error"
        now = time.monotonic()
        if self.done == self.total or now - self.last_draw >= 0.2:
            self.last_draw = now
            self.draw(now)

    def draw(self, now: Optional[float] = None) -> None:
        if not self.enabled or self.total == 0:
            return
        elapsed = (now or time.monotonic()) - self.start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else float("nan")
        filled = self.width * self.done // self.total
        self.stream.write("\r[%s%s] %d/%d  %.2f studies/s  ETA %s  refused %d  errors %d " % (
            "#" * filled, "." * (self.width - filled), self.done, self.total, rate, _duration(eta), self.refused,
            self.errors))
        if self.done == self.total:
            self.stream.write("\n")
        self.stream.flush()


def _duration(seconds: float) -> str:
    if seconds != seconds:
        return "--"
    seconds = int(round(seconds))
    return "%d:%02d:%02d" % (seconds // 3600, seconds // 60 % 60, seconds % 60) if seconds >= 3600 \
        else "%d:%02d" % (seconds // 60, seconds % 60)


# --- the client -----------------------------------------------------------------------------------------------
@dataclass
class Summary:
    found: int = 0                   # studies found (plus unusable inputs)
    skipped: int = 0                 # already done in an earlier run
    given_up: int = 0                # failed max_attempts times: not retried
    interrupted: int = 0             # left running by an earlier, killed client: analysed again
    submitted: int = 0
    ok: int = 0
    refused: int = 0
    errors: int = 0
    wall_s: float = 0.0
    workers: int = 0
    totals: Dict[str, int] = field(default_factory=dict)   # status -> studies, over everything found
    inference_threads: Dict[str, int] = field(default_factory=dict)  # worker -> its model's threads
    worker_peak_rss_mb: Dict[str, float] = field(default_factory=dict)
    table: str = ""
    csv: str = ""

    @property
    def studies_per_s(self) -> float:
        return self.submitted / self.wall_s if self.wall_s > 0 else 0.0

    def lines(self) -> List[str]:
        t = self.totals
        out = ["%d studies: %d with an EF, %d refused by the quality gate, %d errors"
               % (self.found, t.get("ok", 0), t.get("refused", 0), self.found - t.get("ok", 0) - t.get("refused", 0)),
               "this run: %d analysed (%d with an EF, %d refused, %d errors) in %.1f s on %d workers: %.2f studies/s;"
               " %d done earlier (skipped), %d given up after repeated failures, %d interrupted earlier and re-run"
               % (self.submitted, self.ok, self.refused, self.errors, self.wall_s, self.workers, self.studies_per_s,
                  self.skipped, self.given_up, self.interrupted)]
        if self.worker_peak_rss_mb:
            out.append("worker peak memory: %.0f MB (highest of %d workers)"
                       % (max(self.worker_peak_rss_mb.values()), len(self.worker_peak_rss_mb)))
        out.append("table %s, CSV %s" % (self.table, self.csv))
        return out


def _inside(path: str, folder: str) -> bool:
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _task_key(study: str, attempt: int) -> str:
    return "echoa-study-%s-%d" % (hashlib.sha1(study.encode("utf-8", "surrogateescape")).hexdigest(), attempt)


def _host_slots(client) -> Tuple[Tuple[str, int], ...]:
    slots: Dict[str, int] = {}
    for info in client.scheduler_info()["workers"].values():
        slots[info["host"]] = slots.get(info["host"], 0) + info["nthreads"]
    return tuple(sorted(slots.items()))


def _task_failure_row(study: str, error: BaseException) -> Dict:
    name = type(error).__name__
    if name == "KilledWorker":  # the study took its worker down every time it ran (crash, memory limit)
        return _error_row(study, "worker_crashed", "the worker analysing it died repeatedly: %s" % error)
    return _error_row(study, "task_failed", "%s: %s" % (name, error))


def _note_lost_tasks(event, lost) -> None:
    """Scheduler event handler (runs on the client's event loop): the tasks a removed worker was holding."""
    _, message = event
    if isinstance(message, dict) and message.get("action") == "remove-worker":
        for key in message.get("processing-tasks", ()):
            lost.put((str(message.get("worker", "?")), key))


def _connect(scheduler: Optional[str], workers: Optional[int], memory_limit):
    from distributed import Client, LocalCluster
    if scheduler:
        return Client(scheduler), None
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle OpenMP threads must not spin (inherited)
    cluster = LocalCluster(n_workers=workers or (os.cpu_count() or 1), threads_per_worker=1, processes=True,
                           dashboard_address=None, memory_limit=memory_limit)
    return Client(cluster), cluster


def run(inputs: Sequence[str], out_dir: str, *, list_file: Optional[str] = None, scheduler: Optional[str] = None,
        workers: Optional[int] = None, memory_limit="auto", options: Options = Options(), max_attempts: int = 3,
        progress: Optional[bool] = None, progress_stream=None, client=None) -> Summary:
    """Analyses every study under `inputs` that is not done yet; results go to out_dir/results.sqlite and
    out_dir/results.csv. `scheduler`: a Dask scheduler address, else a LocalCluster of `workers` processes
    (default: one per core, one thread each). `client`: an existing distributed.Client instead of either."""
    roots = [os.path.abspath(p) for p in inputs]
    if any(_inside(out_dir, r) for r in roots if os.path.isdir(r)):
        raise ValueError("the output folder '%s' lies inside an input folder: inputs are never written to"
                         % out_dir)
    os.makedirs(out_dir, exist_ok=True)
    table = ResultTable(os.path.join(out_dir, TABLE))
    summary = Summary(table=table.path, csv=os.path.join(out_dir, CSV_NAME))
    started_at = _now()
    try:
        summary.interrupted = table.recover_interrupted()
        studies, problems = find_studies(inputs, list_file)
        summary.found = len(studies) + len(problems)
        for row in problems:
            table.record(row, count_attempt=True)
        summary.errors += len(problems)
        todo = _plan(table, studies, max_attempts, summary)
        if todo:
            _analyse(todo, table, summary, scheduler, workers, memory_limit, options, progress, progress_stream,
                     client)
        summary.totals = table.status_counts(studies + [p["study"] for p in problems])
        table.add_run({"started_at": started_at, "finished_at": _now(), "cluster": scheduler or "local",
                       "workers": summary.workers, "submitted": summary.submitted, "ok": summary.ok,
                       "refused": summary.refused, "errors": summary.errors, "skipped": summary.skipped,
                       "wall_s": summary.wall_s, "studies_per_s": summary.studies_per_s})
        table.export_csv(summary.csv)
    finally:
        table.close()
    return summary


def _plan(table: ResultTable, studies: List[str], max_attempts: int, summary: Summary) -> List[str]:
    known = table.rows()
    todo = []
    for study in studies:
        status, attempts = known.get(study, ("new", 0))
        if status in DONE:
            summary.skipped += 1
        elif status == "error" and attempts >= max_attempts:
            summary.given_up += 1
        else:
            todo.append(study)
    return todo


def _analyse(todo, table, summary, scheduler, workers, memory_limit, options, progress, progress_stream, client):
    from distributed import as_completed
    own_client = client is None
    cluster = None
    if own_client:
        client, cluster = _connect(scheduler, workers, memory_limit)
    try:
        client.wait_for_workers(1)
        info = client.scheduler_info()["workers"]
        summary.workers = len(info)
        options = Options(**{**options.__dict__, "host_slots": _host_slots(client)})
        window = max(2, 2 * sum(w["nthreads"] for w in info.values()))  # bounded: memory stays flat
        try:  # workers that join later load the model on their first study
            summary.inference_threads = client.run(preload, options)
        except Exception as error:
            raise ModelLoadError("the model did not load on the workers: %s" % error) from error
        bar = Progress(len(todo), progress_stream, progress)
        start = time.monotonic()
        pending = iter(todo)
        running = as_completed()
        futures = {}
        lost: "queue.SimpleQueue[Tuple[str, str]]" = queue.SimpleQueue()
        client.subscribe_topic("all", lambda event: _note_lost_tasks(event, lost))
        in_flight = {}  # task key -> study

        def log_lost():
            while not lost.empty():
                worker, key = lost.get()
                if key in in_flight:
                    table.log(in_flight[key], "worker_lost", "worker_lost",
                              "the worker holding it (%s) was lost; Dask runs it again elsewhere" % worker, worker)

        def top_up():
            batch = [s for _, s in zip(range(window - len(futures)), pending)]
            for study, attempt in table.mark_running(batch).items():
                future = client.submit(analyze_study, study, options, key=_task_key(study, attempt), retries=0)
                futures[future] = study
                in_flight[future.key] = study
                running.add(future)

        top_up()
        for future in running:
            study = futures.pop(future)
            try:
                row = future.result()
            except Exception as error:  # KilledWorker, a cancelled task, a lost scheduler
                row = _task_failure_row(study, error)
            log_lost()
            in_flight.pop(future.key, None)
            future.release()
            table.record(row)
            summary.submitted += 1
            counter = row["status"] if row["status"] in DONE else "errors"
            setattr(summary, counter, getattr(summary, counter) + 1)
            bar.update(row["status"])
            top_up()
        summary.wall_s = time.monotonic() - start
        client.unsubscribe_topic("all")  # before closing: the scheduler would send the client's own removal
        try:
            summary.worker_peak_rss_mb = client.run(_peak_rss_mb)
        except Exception:  # a worker went away at the very end: the rows still carry their peaks
            pass
    finally:
        if own_client:
            client.close()
            if cluster is not None:
                cluster.close()
