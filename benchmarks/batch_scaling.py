#!/usr/bin/env python3
"""Throughput of archive batches: Dask LocalCluster 1 -> 2 workers (one thread each) and echoa analyze
--jobs 1 -> --jobs 2 (one inference thread each), on the same phantoms. Figures: benchmarks/RESULTS.md.

    batch_scaling.py --build BUILD_DIR [--phantoms DIR] [--repeat 3]

Each configuration runs --repeat times; the best run counts (a shared machine only ever slows a run down).
Throughput excludes start-up: the cluster's start and every model load (echoa and each Dask worker).
The load average is printed with the figures: on a busy machine they are not worth much.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

from batch_env import ROOT  # noqa: E402 (sets up the paths the workers need)


def make_phantoms(echoa, folder, count):
    script = os.path.join(ROOT, "tests", "batch", "make_phantoms.py")
    subprocess.run([sys.executable, script, echoa, folder, str(count)], check=True)


def dask_rate(phantoms, workers):
    from echoanalyzer import batch
    with tempfile.TemporaryDirectory() as out:
        summary = batch.run([phantoms], out, workers=workers, options=batch.Options(threads=1), progress=False)
    return summary.studies_per_s


def echoa_rate(echoa, phantoms, jobs):
    folders = sorted(os.path.join(phantoms, d) for d in os.listdir(phantoms) if not d.startswith("."))
    run = subprocess.run([echoa, "analyze", "--json", "--jobs", str(jobs), "--threads", "1"] + folders,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    match = re.search(r"\(([\d.]+) studies/s", run.stderr)
    if not match:
        raise RuntimeError("no summary line from echoa: %s" % run.stderr)
    return float(match.group(1))


def best(function, repeat):
    rates = [function() for _ in range(repeat)]
    return max(rates), rates


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", required=True, help="build tree with tools/echoa/echoa and capi/libechoanalyzer.so")
    parser.add_argument("--phantoms", default=os.path.join(tempfile.gettempdir(), "echo-batch-scaling"))
    parser.add_argument("--count", type=int, default=40, help="studies (120 for the archive-scale figure)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    echoa = os.path.join(args.build, "tools", "echoa", "echoa")
    os.environ.setdefault("ECHOANALYZER_LIBRARY", os.path.join(args.build, "capi", "libechoanalyzer.so"))
    make_phantoms(echoa, args.phantoms, args.count)

    print("cores %d, load average before %.2f %.2f %.2f" % ((os.cpu_count(),) + os.getloadavg()))
    started = time.time()
    results = {}
    for name, function in (("dask 1 worker", lambda: dask_rate(args.phantoms, 1)),
                           ("dask 2 workers", lambda: dask_rate(args.phantoms, 2)),
                           ("echoa --jobs 1", lambda: echoa_rate(echoa, args.phantoms, 1)),
                           ("echoa --jobs 2", lambda: echoa_rate(echoa, args.phantoms, 2))):
        results[name] = best(function, args.repeat)
        print("%-16s best %.2f studies/s   runs %s   (load %.2f)" % (
            name, results[name][0], " ".join("%.2f" % r for r in results[name][1]), os.getloadavg()[0]))
    print("scaling: dask 1->2 workers %.2fx, echoa --jobs 1->2 %.2fx" % (
        results["dask 2 workers"][0] / results["dask 1 worker"][0],
        results["echoa --jobs 2"][0] / results["echoa --jobs 1"][0]))
    print("load average after %.2f %.2f %.2f; %.0f s" % (os.getloadavg() + (time.time() - started,)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
