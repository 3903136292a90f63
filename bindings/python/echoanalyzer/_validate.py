"""echoanalyzer.validate: site acceptance over the C ABI's echo_validate (the same run as `echoa validate`)."""
from __future__ import annotations

import ctypes
import json
import math
import os
from ctypes import CFUNCTYPE, POINTER, Structure, byref, c_char_p, c_double, c_int32, c_size_t, c_uint32, c_void_p
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional

from . import _native as N
from ._api import EchoError, Model, PathLike, _check

REASON_SLOTS = 32
# The quality codes by echo_quality_code number (echo.h); a refusal without a gate reason is "ef_withheld".
QUALITY_CODES = ["blurred", "overgain", "undergain", "low_contrast", "noisy", "too_few_frames", "low_frame_rate",
                 "no_full_beat", "probe_motion", "color_doppler", "non_apical_view", "lv_cut_off", "foreshortened",
                 "no_sector"]

ValidateProgress = CFUNCTYPE(c_int32, c_int32, c_int32, c_char_p, c_void_p)


class ValidateOptions(Structure):
    _fields_ = [("struct_size", c_uint32), ("only_present", c_int32), ("progress", ValidateProgress),
                ("user_data", c_void_p)]


class ValidationSummaryStruct(Structure):
    _fields_ = ([("struct_size", c_uint32)]
                + [(name, c_int32) for name in ("rows", "skipped_not_present", "missing", "duplicates", "unreadable",
                                                "analysed", "answered", "refused", "bad_reference")]
                + [("refused_by_reason", c_int32 * REASON_SLOTS), ("refused_without_gate_reason", c_int32),
                   ("ef_pairs", c_int32)]
                + [(name, c_double) for name in ("answered_share", "ef_mae", "ef_rmse", "ef_bias", "ef_sd",
                                                 "ef_loa_low", "ef_loa_high", "ef_pearson_r", "sensitivity_below_40",
                                                 "specificity_below_40", "sensitivity_below_50",
                                                 "specificity_below_50")]
                + [("ed_offset_clips", c_int32), ("es_offset_clips", c_int32)]
                + [(name, c_double) for name in ("ed_median_abs_offset_frames", "ed_share_within_3",
                                                 "ed_share_within_1", "es_median_abs_offset_frames",
                                                 "es_share_within_3", "es_share_within_1")]
                + [("vlm_ran", c_int32), ("vlm_answered", c_int32), ("vlm_answered_share", c_double),
                   ("vlm_ef_mae", c_double), ("vlm_ef_bias", c_double), ("vlm_ef_pairs", c_int32),
                   ("reserved0", c_int32)])


V1_SIZES = {ValidateOptions: 24, ValidationSummaryStruct: 368}

N.lib.echo_validate_options_init.restype = c_int32
N.lib.echo_validate_options_init.argtypes = [POINTER(ValidateOptions), c_size_t]
N.lib.echo_validate.restype = c_int32
N.lib.echo_validate.argtypes = [c_void_p, c_char_p, c_char_p, c_char_p, POINTER(ValidateOptions),
                                POINTER(ValidationSummaryStruct)]


@dataclass(frozen=True)
class ValidationSummary:
    """The figures of one run (None where a figure cannot be computed). Differences are ours - reference.
    `details` is out_dir/summary.json as a dict (also the EDV/ESV agreement and the clips with reference EF < 30);
    the per-clip table is out_dir/per_clip.csv."""

    rows: int
    skipped_not_present: int
    missing: int
    duplicates: int
    unreadable: int
    analysed: int
    answered: int
    refused: int
    bad_reference: int
    refusals_by_reason: Dict[str, int]
    answered_share: Optional[float]
    ef_pairs: int
    ef_mae: Optional[float]
    ef_rmse: Optional[float]
    ef_bias: Optional[float]
    ef_sd: Optional[float]
    ef_loa_low: Optional[float]
    ef_loa_high: Optional[float]
    ef_pearson_r: Optional[float]
    sensitivity_below_40: Optional[float]
    specificity_below_40: Optional[float]
    sensitivity_below_50: Optional[float]
    specificity_below_50: Optional[float]
    ed_offset_clips: int
    ed_median_abs_offset_frames: Optional[float]
    ed_share_within_3: Optional[float]
    ed_share_within_1: Optional[float]
    es_offset_clips: int
    es_median_abs_offset_frames: Optional[float]
    es_share_within_3: Optional[float]
    es_share_within_1: Optional[float]
    vlm_ran: int
    vlm_answered: int
    vlm_answered_share: Optional[float]
    vlm_ef_mae: Optional[float]
    vlm_ef_bias: Optional[float]
    vlm_ef_pairs: int
    out_dir: str
    details: dict = field(repr=False)

    @property
    def per_clip_csv(self) -> str:
        return os.path.join(self.out_dir, "per_clip.csv")


def _value(raw):
    return None if isinstance(raw, float) and math.isnan(raw) else raw


def _summary(c: ValidationSummaryStruct, out_dir: str) -> ValidationSummary:
    reasons = {QUALITY_CODES[i] if i < len(QUALITY_CODES) else "code_%d" % i: n
               for i, n in enumerate(c.refused_by_reason) if n}
    if c.refused_without_gate_reason:
        reasons["ef_withheld"] = c.refused_without_gate_reason
    values = {name: _value(getattr(c, name)) for name, _ in c._fields_
              if name not in ("struct_size", "refused_by_reason", "refused_without_gate_reason", "reserved0")}
    with open(os.path.join(out_dir, "summary.json"), encoding="utf-8") as f:
        details = json.load(f)
    return ValidationSummary(refusals_by_reason=reasons, out_dir=out_dir, details=details, **values)


def validate(model: Optional[Model], folder: PathLike, table: PathLike, out_dir: PathLike = "validate_out",
             only_present: bool = False, progress: Optional[Callable[[int, int, str], bool]] = None
             ) -> ValidationSummary:
    """Site acceptance: analyses every loop the reference table lists (found in `folder`) with `model` (None: the
    installed reference model with default options) and its options, and compares with the reference (docs/validation.md). Writes out_dir/per_clip.csv, summary.json,
    bland_altman.png and scatter.png; out_dir must not lie inside `folder`. progress(done, total, file_name) is
    called after each clip; returning False stops the run (EchoError, status CANCELLED)."""
    model = model if model is not None else Model()
    options = ValidateOptions()
    _check(N.lib.echo_validate_options_init(byref(options), ctypes.sizeof(options)))
    options.only_present = 1 if only_present else 0
    errors = []

    def trampoline(done, total, name, _user_data):
        try:
            return 0 if progress(done, total, name.decode("utf-8", "replace")) is not False else 1
        except BaseException as error:  # an exception may not cross the C frames: stop, then raise it here
            errors.append(error)
            return 1

    callback = ValidateProgress(trampoline) if progress is not None else ValidateProgress()
    options.progress = callback
    summary = ValidationSummaryStruct()
    summary.struct_size = ctypes.sizeof(summary)
    status = N.lib.echo_validate(model._handle.pointer, os.fsencode(folder), os.fsencode(table), os.fsencode(out_dir),
                                 byref(options), byref(summary))
    if errors:
        raise errors[0]
    _check(status)
    return _summary(summary, os.fsdecode(out_dir))


__all__ = ["ValidationSummary", "validate", "EchoError"]
