#!/usr/bin/env python3
"""1 000 small synthetic studies through echoanalyzer.batch on a LocalCluster: each worker's peak memory
must stay flat with the number of studies. Figures: benchmarks/RESULTS.md ("Archive batch").

    batch_memory.py --build BUILD_DIR [--studies 1000] [--distinct 100] [--workers 2]

`--distinct` phantoms (160x120, one beat) are made with `echoa synth --dataset`; each is hard-linked under
several names until there are `--studies` study paths (the batch treats every path as its own study).
Every row of the table records its worker's peak resident memory when the row was made, so the peak after
the first studies and after all of them can be compared, per worker process.
"""
import argparse
import glob
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time

import batch_env  # noqa: F401,E402 (sets up the paths the workers need)


def make_studies(echoa, folder, studies, distinct):
    marker = os.path.join(folder, ".complete-%d-%d" % (studies, distinct))
    if os.path.exists(marker):
        return
    source = os.path.join(folder, "distinct")
    subprocess.run([echoa, "synth", "--dataset", source, "--count", str(distinct), "--size", "160x120", "--beats",
                    "1", "--seed", "1000"], check=True, stdout=subprocess.DEVNULL)
    for side in glob.glob(os.path.join(source, "*.npy")) + glob.glob(os.path.join(source, "*.json")):
        os.remove(side)
    cases = sorted(glob.glob(os.path.join(source, "*.dcm")))
    archive = os.path.join(folder, "archive")
    for index in range(studies):
        copy = os.path.join(archive, "batch%02d" % (index // len(cases)))
        os.makedirs(copy, exist_ok=True)
        os.link(cases[index % len(cases)], os.path.join(copy, "%05d.dcm" % index))
    open(marker, "w").close()


def peaks(table_path, first):
    """Per worker process: its peak RSS on its `first`-th row and on its last row (MB)."""
    db = sqlite3.connect(table_path)
    rows = db.execute("SELECT worker, worker_peak_rss_mb FROM studies ORDER BY finished_at, rowid").fetchall()
    db.close()
    per_worker = {}
    for worker, rss in rows:
        per_worker.setdefault(worker, []).append(rss)
    return {w: (r[min(first, len(r)) - 1], r[-1], len(r)) for w, r in per_worker.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", required=True)
    parser.add_argument("--folder", default=os.path.join(tempfile.gettempdir(), "echo-batch-memory"))
    parser.add_argument("--studies", type=int, default=1000)
    parser.add_argument("--distinct", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="1GB", help="Dask's per-worker limit (the nanny enforces it)")
    args = parser.parse_args()
    echoa = os.path.join(args.build, "tools", "echoa", "echoa")
    os.environ.setdefault("ECHOANALYZER_LIBRARY", os.path.join(args.build, "capi", "libechoanalyzer.so"))
    make_studies(echoa, args.folder, args.studies, args.distinct)

    from echoanalyzer import batch
    out = tempfile.mkdtemp(prefix="echo-batch-memory-out-")
    print("cores %d, load average before %.2f %.2f %.2f" % ((os.cpu_count(),) + os.getloadavg()))
    start = time.time()
    summary = batch.run([os.path.join(args.folder, "archive")], out, workers=args.workers,
                        memory_limit=args.memory_limit, options=batch.Options(threads=1), progress=False)
    print("\n".join(summary.lines()))
    print("%.0f s; load average after %.2f %.2f %.2f" % ((time.time() - start,) + os.getloadavg()))
    for worker, (early, last, count) in sorted(peaks(summary.table, 20).items()):
        print("worker %s: %d studies, peak RSS %.0f MB after its 20th study, %.0f MB after its last"
              % (worker, count, early, last))
    print("client peak RSS %.0f MB" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0))
    done = summary.totals.get("ok", 0) + summary.totals.get("refused", 0)
    return 0 if done == args.studies else 1


if __name__ == "__main__":
    sys.exit(main())
