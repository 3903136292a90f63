"""Clinician review (docs/review.md): apply a clinician's corrections through the C ABI.

    from echoanalyzer import review
    final, audit = review.apply("pages/study/result.json", "corrections.json")   # writes final.json, audit.json

`apply` calls echo_review_apply: volumes and EF are recomputed by the library's own geometry from the
corrected ED/ES frames and contours; on any failure nothing is written and EchoError names the field.
"""
import ctypes
import json
import os
from typing import Optional, Tuple

from . import _native as N
from ._api import _check

N.lib.echo_review_apply.restype = ctypes.c_int32
N.lib.echo_review_apply.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p]


def apply(result_path: str, corrections_path: str, out_dir: Optional[str] = None) -> Tuple[dict, dict]:
    """Writes out_dir/final.json and out_dir/audit.json (out_dir: the result's folder by default) and
    returns them parsed: (final result, audit record)."""
    out_dir = out_dir if out_dir is not None else (os.path.dirname(os.path.abspath(result_path)))
    _check(N.lib.echo_review_apply(os.fsencode(result_path), os.fsencode(corrections_path), os.fsencode(out_dir)))
    with open(os.path.join(out_dir, "final.json")) as f:
        final = json.load(f)
    with open(os.path.join(out_dir, "audit.json")) as f:
        audit = json.load(f)
    return final, audit
