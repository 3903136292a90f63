#!/usr/bin/env python3
"""Analyse an echo archive on Dask: resumable, one row per study in OUT/results.sqlite and OUT/results.csv.

    archive.py ARCHIVE_DIR... --out OUT [--workers N | --scheduler tcp://host:8786] [--list FILE]

Walks the folders (or reads a list of studies, one path per line), runs one analysis per study on a Dask
LocalCluster (one worker process per core by default) or on a running cluster, and writes each result as it
arrives. Run it again with the same --out to resume: finished studies are skipped, failed ones retried up to
--max-attempts, interrupted ones re-run. Input folders are only read. A progress bar is drawn on stderr when it
is a terminal; the summary goes to stdout. Exit status: 0 every study gave an EF, 1 at least one was refused by
the quality gate, 2 at least one error, 64 bad command line. Results are second opinions that a clinician
must confirm. See docs/batch.md.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
try:
    from echoanalyzer import batch
except ImportError:  # running from the source tree: workers need the package too (they inherit PYTHONPATH)
    bindings = os.path.normpath(os.path.join(HERE, "..", "..", "bindings", "python"))
    sys.path.insert(0, bindings)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (bindings, os.environ.get("PYTHONPATH")) if p)
    from echoanalyzer import batch


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="*", help="study files or folders (walked recursively)")
    parser.add_argument("--out", required=True, help="output folder: results.sqlite, results.csv")
    parser.add_argument("--list", dest="list_file", help="a file listing studies or folders, one per line")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, help="LocalCluster worker processes (default: one per core)")
    where.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://head:8786")
    parser.add_argument("--threads", type=int, default=0,
                        help="inference threads per worker (default: the host's cores / analyses at once)")
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds per study (0 = none)")
    parser.add_argument("--max-attempts", type=int, default=3, help="tries per study across runs (default 3)")
    parser.add_argument("--memory-limit", default="auto", help="per LocalCluster worker, e.g. 2GB (default auto)")
    parser.add_argument("--model", help="segmentation model (.pt with its .json manifest)")
    parser.add_argument("--precision", default="auto", choices=["auto", "int8", "fp32", "fp16"])
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--progress", choices=["auto", "always", "never"], default="auto",
                        help="progress bar on stderr (auto: when stderr is a terminal)")
    args = parser.parse_args(argv)
    if not args.inputs and not args.list_file:
        parser.error("no input: give folders or files, or --list FILE")
    if args.workers is not None and args.workers < 1:
        parser.error("--workers must be at least 1")
    return args


def main(argv=None):
    try:
        args = parse_args(argv)
    except SystemExit as stop:
        return 64 if stop.code else 0
    options = batch.Options(model_path=args.model, device=args.device, precision=args.precision,
                            threads=args.threads, time_limit_s=args.time_limit)
    progress = {"auto": None, "always": True, "never": False}[args.progress]
    try:
        summary = batch.run(args.inputs, args.out, list_file=args.list_file, scheduler=args.scheduler,
                            workers=args.workers, memory_limit=args.memory_limit, options=options,
                            max_attempts=args.max_attempts, progress=progress)
    except (ValueError, OSError) as error:
        print("archive: %s" % error, file=sys.stderr)
        return 64 if isinstance(error, ValueError) else 2
    except batch.ModelLoadError as error:
        print("archive: %s" % error, file=sys.stderr)
        return 2
    for line in summary.lines():
        print("archive: " + line)
    done = summary.totals.get("ok", 0) + summary.totals.get("refused", 0)
    return 2 if done < summary.found else 1 if summary.totals.get("refused", 0) else 0


if __name__ == "__main__":
    sys.exit(main())
