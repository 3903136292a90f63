#!/usr/bin/env python3
"""Tampered models (docs/reliability.md): random single-byte flips of the shipped model files must be refused
with ECHO_MODEL_INVALID every time, through the C ABI:
- the segmentation model (TorchScript archives and their JSON manifests), loaded with
  echo_model_load_from_memory: FLIPS flips;
- the VLM (vlm.json with its vocabulary, vlm_int8.pt, vlm_fp32.pt), copied into a folder with one file
  flipped and loaded with enable_vlm and vlm_model_path (int8 or fp32 as the flipped file needs): VLM_FLIPS flips.
Prints where each flip landed and the outcome.

usage: tampered_models.py [FLIPS [VLM_FLIPS]] (ECHOANALYZER_LIBRARY, PYTHONPATH for the bindings; default 1000 each)
"""
import ctypes
import os
import random
import sys
import tempfile
from pathlib import Path

from echoanalyzer import _native as native

MODEL_INVALID = -7
PRECISION_FP32, PRECISION_INT8 = 1, 2
MODELS = Path(os.environ.get("ECHO_MODELS_DIR", Path(__file__).resolve().parents[2] / "models"))


def load(model: bytes, manifest: bytes, precision: int = 0, vlm_manifest: Path = None) -> int:
    options = native.ModelOptions()
    native.lib.echo_model_options_init(ctypes.byref(options), ctypes.sizeof(options))
    options.threads = 1
    options.precision = precision
    if vlm_manifest is not None:
        options.enable_vlm = 1
        options.vlm_model_path = os.fsencode(vlm_manifest)
    handle = ctypes.c_void_p()
    status = native.lib.echo_model_load_from_memory(model, len(model), manifest, len(manifest),
                                                    ctypes.byref(options), ctypes.byref(handle))
    if status == 0:
        native.lib.echo_model_destroy(handle)
    return status


def flip(data: bytes, rng: random.Random):
    """A copy of data with one random byte changed, and where."""
    changed = bytearray(data)
    at = rng.randrange(len(changed))
    changed[at] ^= rng.randrange(1, 256)
    return bytes(changed), at


def report(kind: str, flips: int, outcomes: dict, accepted: list) -> int:
    for (suffix, status), count in sorted(outcomes.items()):
        print(f"{kind} {suffix} flips -> {native.lib.echo_status_str(status).decode()}: {count}")
    for line in accepted[:20]:
        print("NOT REFUSED:", line)
    print(f"tampered {kind}: {flips} flips, {flips - len(accepted)} refused with ECHO_MODEL_INVALID, {len(accepted)} not")
    return len(accepted)


def outcome_line(name: str, at: int, status: int) -> str:
    why = native.lib.echo_last_error().decode(errors="replace")[:100] if status else "loaded"
    return f"{name} byte {at}: status {status} ({why})"


def segmentation_flips(flips: int) -> int:
    pairs = [(MODELS / f"lv_seg_{p}.pt", MODELS / f"lv_seg_{p}.json") for p in ("int8", "fp32")]
    files = {path: path.read_bytes() for pair in pairs for path in pair}
    for weights, manifest in pairs:  # the intact pair must load, or the test proves nothing
        assert load(files[weights], files[manifest]) == 0, f"intact {weights.name} does not load"
    rng = random.Random(20261128)
    outcomes, accepted = {}, []
    for i in range(flips):
        weights, manifest = pairs[i % len(pairs)]
        target = weights if rng.random() < 0.5 else manifest
        data, at = flip(files[target], rng)
        status = load(data if target == weights else files[weights], data if target == manifest else files[manifest])
        outcomes[(target.suffix, status)] = outcomes.get((target.suffix, status), 0) + 1
        if status != MODEL_INVALID:
            accepted.append(outcome_line(target.name, at, status))
    return report("segmentation model", flips, outcomes, accepted)


def vlm_flips(flips: int) -> int:
    """Each flip in a fresh folder holding the three VLM files, one of them changed; the segmentation model is
    the intact shipped one of the precision that makes the VLM read the changed file."""
    names = ["vlm.json", "vlm_int8.pt", "vlm_fp32.pt"]
    files = {name: (MODELS / "vlm" / name).read_bytes() for name in names}
    segmentation = {p: ((MODELS / f"lv_seg_{n}.pt").read_bytes(), (MODELS / f"lv_seg_{n}.json").read_bytes())
                    for p, n in ((PRECISION_INT8, "int8"), (PRECISION_FP32, "fp32"))}
    rng = random.Random(20261129)
    outcomes, accepted = {}, []
    with tempfile.TemporaryDirectory(prefix="tampered-vlm-") as scratch:
        folder = Path(scratch)

        def load_vlm(changed_name, changed, precision):
            for name in names:
                (folder / name).write_bytes(changed if name == changed_name else files[name])
            return load(*segmentation[precision], precision, folder / "vlm.json")

        for precision in (PRECISION_INT8, PRECISION_FP32):  # the intact VLM must load
            assert load_vlm(None, None, precision) == 0, f"the intact VLM does not load: {native.lib.echo_last_error()}"
        for i in range(flips):
            name = names[i % 3]
            precision = PRECISION_FP32 if name == "vlm_fp32.pt" else PRECISION_INT8 if name == "vlm_int8.pt" \
                else rng.choice((PRECISION_INT8, PRECISION_FP32))
            data, at = flip(files[name], rng)
            status = load_vlm(name, data, precision)
            outcomes[(name, status)] = outcomes.get((name, status), 0) + 1
            if status != MODEL_INVALID:
                accepted.append(outcome_line(name, at, status))
    return report("VLM", flips, outcomes, accepted)


def main():
    flips = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    vlm = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    not_refused = segmentation_flips(flips) + vlm_flips(vlm)
    return 1 if not_refused else 0


if __name__ == "__main__":
    sys.exit(main())
