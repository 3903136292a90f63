"""Shared set-up of the archive-batch benchmarks: the source tree's echoanalyzer package for this process and
for the Dask workers it starts (they inherit PYTHONPATH), and passive OpenMP waiting on a shared CPU."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINDINGS = os.path.join(ROOT, "bindings", "python")
sys.path.insert(0, BINDINGS)
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (BINDINGS, os.environ.get("PYTHONPATH")) if p)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
