#!/usr/bin/python3
"""Export a trained checkpoint to the SDK's model files: FP32 and INT8 TorchScript, each with its manifest.

  /usr/bin/python3 models/export_lv.py --checkpoint models/work/lv.pth --out models
      [--engine onednn|qnnpack] [--calibration models/work/calibration.npy]

Writes lv_seg_fp32.pt/.json and lv_seg_int8.pt/.json. The manifest (contract "echo.lv_segmentation" v1)
carries the SHA-256 of the .pt: the C++ engine refuses a file whose hash differs. INT8 is eager post-training
static quantisation (fused conv/bn/relu, per-channel weights, histogram activation observers) calibrated on
frames of the training data; quantised weights are packed for the engine named in the manifest (onednn on
x86, qnnpack on ARM), and the engine must be selected before the file is loaded.
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np

# Other jobs share the 2 cores: spinning OpenMP workers waste them (measured 2x slower steps under load).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lv_model import VIEW_LABELS, model_from_checkpoint, quantize_int8  # noqa: E402

CONTRACT = "echo.lv_segmentation"
CONTRACT_VERSION = 1


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(pt_path: str, meta: dict, precision: str, engine: str) -> dict:
    manifest = {
        "contract": CONTRACT,
        "contract_version": CONTRACT_VERSION,
        "name": meta.get("name", "echo-lv-reference"),
        "version": meta.get("version", "1.0.0"),
        "description": meta.get("description", ""),
        "training_data": meta.get("training_data", ""),
        "validated_on_real_patients": bool(meta.get("validated_on_real_patients", False)),
        "input_size": int(meta["input_size"]),
        "input_channels": 1,
        "input_mean": float(meta["input_mean"]),
        "input_std": float(meta["input_std"]),
        "input_preprocess": ("square crop of the sector bounding box (shorter side extended symmetrically, "
                             "outside image = 0), pixels outside the sector = 0, resize to input_size "
                             "(INTER_AREA shrinking / INTER_LINEAR enlarging, float), (v/255 - mean)/std"),
        "outputs": [
            {"name": "lv_logits", "shape": ["N", 1, meta["input_size"], meta["input_size"]],
             "meaning": "LV cavity logit per pixel; cavity where > 0"},
            {"name": "view_logits", "shape": ["N", len(VIEW_LABELS)],
             "meaning": "view logits in the order of view_labels; softmax gives probabilities"},
        ],
        "view_labels": list(VIEW_LABELS),
        "precision": precision,
        "quantized_engine": engine if precision == "int8" else "",
        "weights_file": os.path.basename(pt_path),
        "weights_sha256": sha256_file(pt_path),
        "training": meta.get("training", {}),
    }
    with open(os.path.splitext(pt_path)[0] + ".json", "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    return manifest


def export(model: torch.nn.Module, calibration: np.ndarray, out_dir: str, meta: dict, engine: str = "onednn",
           stem: str = "lv_seg") -> dict:
    """Writes <stem>_fp32.pt/.json and <stem>_int8.pt/.json; returns {"fp32": path, "int8": path}."""
    os.makedirs(out_dir, exist_ok=True)
    model = model.eval()
    fp32_path = os.path.join(out_dir, f"{stem}_fp32.pt")
    torch.jit.script(model).save(fp32_path)
    write_manifest(fp32_path, meta, "fp32", "")

    batches = [torch.from_numpy(np.ascontiguousarray(calibration[i:i + 32], dtype=np.float32))
               for i in range(0, len(calibration), 32)]
    quantized = quantize_int8(model, batches, engine)
    int8_path = os.path.join(out_dir, f"{stem}_int8.pt")
    torch.jit.script(quantized).save(int8_path)
    write_manifest(int8_path, meta, "int8", engine)
    return {"fp32": fp32_path, "int8": int8_path}


def load_checkpoint(path: str):
    checkpoint = torch.load(path, map_location="cpu")
    model = model_from_checkpoint(checkpoint)
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval(), checkpoint["meta"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--calibration", help="N x 1 x S x S float32 .npy (default: beside the checkpoint)")
    parser.add_argument("--engine", default="onednn", choices=["onednn", "qnnpack"])
    parser.add_argument("--stem", default="lv_seg")
    args = parser.parse_args()
    torch.set_num_threads(2)
    model, meta = load_checkpoint(args.checkpoint)
    calibration_path = args.calibration or os.path.join(os.path.dirname(args.checkpoint), "calibration.npy")
    paths = export(model, np.load(calibration_path), args.out, meta, args.engine, args.stem)
    for precision, path in paths.items():
        print(f"{precision}: {path} ({os.path.getsize(path)} bytes, sha256 {sha256_file(path)})")


if __name__ == "__main__":
    main()
