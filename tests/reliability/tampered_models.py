#!/usr/bin/env python3
"""Tampered models (docs/reliability.md): random single-byte flips of the shipped segmentation model files
(the TorchScript archives and their JSON manifests) loaded through the C ABI's echo_model_load_from_memory
must be refused with ECHO_MODEL_INVALID every time. Prints where each flip landed and the outcome.

usage: tampered_models.py [FLIPS] (ECHOANALYZER_LIBRARY, PYTHONPATH for the bindings; default 1000 flips)
"""
import ctypes
import os
import random
import sys
from pathlib import Path

from echoanalyzer import _native as native

MODEL_INVALID = -7
MODELS = Path(os.environ.get("ECHO_MODELS_DIR", Path(__file__).resolve().parents[2] / "models"))


def load(model: bytes, manifest: bytes) -> int:
    options = native.ModelOptions()
    native.lib.echo_model_options_init(ctypes.byref(options), ctypes.sizeof(options))
    options.threads = 1
    handle = ctypes.c_void_p()
    status = native.lib.echo_model_load_from_memory(model, len(model), manifest, len(manifest),
                                                    ctypes.byref(options), ctypes.byref(handle))
    if status == 0:
        native.lib.echo_model_destroy(handle)
    return status


def main():
    flips = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    pairs = [(MODELS / f"lv_seg_{p}.pt", MODELS / f"lv_seg_{p}.json") for p in ("int8", "fp32")]
    files = {path: path.read_bytes() for pair in pairs for path in pair}
    for weights, manifest in pairs:  # the intact pair must load, or the test proves nothing
        assert load(files[weights], files[manifest]) == 0, f"intact {weights.name} does not load"
    rng = random.Random(20261128)
    outcomes = {}
    accepted = []
    for i in range(flips):
        weights, manifest = pairs[i % len(pairs)]
        target = weights if rng.random() < 0.5 else manifest
        data = bytearray(files[target])
        at = rng.randrange(len(data))
        data[at] ^= rng.randrange(1, 256)
        model = bytes(data) if target == weights else files[weights]
        text = bytes(data) if target == manifest else files[manifest]
        status = load(model, text)
        outcomes[(target.suffix, status)] = outcomes.get((target.suffix, status), 0) + 1
        if status != MODEL_INVALID:
            accepted.append(f"{target.name} byte {at}: status {status} "
                            f"({native.lib.echo_last_error().decode(errors='replace')[:100] if status else 'loaded'})")
    for (kind, status), count in sorted(outcomes.items()):
        print(f"{kind} flips -> {native.lib.echo_status_str(status).decode()}: {count}")
    for line in accepted[:20]:
        print("NOT REFUSED:", line)
    print(f"tampered models: {flips} flips, {flips - len(accepted)} refused with ECHO_MODEL_INVALID, "
          f"{len(accepted)} not")
    return 1 if accepted else 0


if __name__ == "__main__":
    sys.exit(main())
