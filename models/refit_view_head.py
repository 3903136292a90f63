"""Refit only the view head of the shipped LV model on label-map phantoms; the segmentation stays bit-identical.

The view head is one Linear layer on the globally pooled bottleneck. Trained with the segmentation network on
rendered phantoms only, it called most real apical 4-chamber loops `a2c`. Here it is refitted, with the encoder
frozen, on samples that include the SynthSeg-style redraw from chamber label maps, clutter/haze/dropout and the
EchoNet-like window (`augment.make_sample`), so that it leans on the chambers' layout rather than on the
renderer's look. Everything else in both shipped files is kept: the FP32 file gets the new weight and bias, the
INT8 file its view head re-quantized in place (per-channel int8 weights, output scale from a histogram observer
on phantom logits), so every other weight and quantization parameter, and so every LV mask, is unchanged.

  build/src/inference/echo_phantom_dataset W/views 160 13 15 80 45 140 1 labels
  /usr/bin/python3 models/refit_view_head.py --data phantom:W/views --out W/refit --export models \
      --data-description "models/phantom_dataset.cpp draw v2 with chamber label maps, seed 13: ..."

No real image is used: the samples, the fit and the output scale come from phantoms alone.
"""
import argparse
import collections
import hashlib
import json
import multiprocessing
import os
import sys
from typing import Dict, Tuple

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_lv  # noqa: E402
from echo_data import VIEW_LABELS  # noqa: E402
from finetune_lv import load_shipped  # noqa: E402

MODELS = os.path.dirname(os.path.abspath(__file__))
_POOL = None  # the frame pool, inherited by the sample-making worker processes


def _samples(job: Tuple[int, int, int, float, float]):
    """One batch of samples with the study of each (train_lv's batches do not say which study a sample is of,
    and the record holds out whole studies)."""
    step, seed, batch, other_fraction, label_fraction = job
    rng = np.random.default_rng((seed, step))
    indices = rng.integers(0, len(_POOL), batch)
    x, _, views = train_lv.make_batch(_POOL, indices, rng, other_fraction, label_fraction=label_fraction)
    studies = np.array([_POOL.studies[i] for i in indices])
    return x.numpy(), views.numpy(), studies


def make_samples(pool, batches: int, batch: int, seed: int, other_fraction: float, label_fraction: float,
                 workers: int):
    global _POOL
    _POOL = pool
    jobs = [(step, seed, batch, other_fraction, label_fraction) for step in range(batches)]
    if workers > 1:
        with multiprocessing.get_context("fork").Pool(workers) as processes:
            parts = processes.map(_samples, jobs)
    else:
        parts = [_samples(job) for job in jobs]
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(3))


def pooled_features(model: nn.Module, inputs: np.ndarray, chunk: int = 256) -> torch.Tensor:
    """The view head's input: the globally pooled bottleneck of the eager FP32 network."""
    out = []
    with torch.no_grad():
        for i in range(0, len(inputs), chunk):
            x = torch.from_numpy(np.ascontiguousarray(inputs[i:i + chunk]))
            for stage in model.encoder_modules():  # any architecture: the encoder ends at the bottleneck
                x = stage(x)
            out.append(torch.flatten(model.pool(x), 1))
    return torch.cat(out)


def fit_head(initial: nn.Linear, features: torch.Tensor, views: torch.Tensor, iterations: int, lr: float,
             weight_decay: float) -> nn.Linear:
    """Full-batch cross-entropy from the shipped head's weights."""
    head = nn.Linear(initial.in_features, initial.out_features)
    head.load_state_dict(initial.state_dict())
    optimiser = torch.optim.Adam(head.parameters(), lr=lr, weight_decay=weight_decay)
    for _ in range(iterations):
        optimiser.zero_grad()
        nn.functional.cross_entropy(head(features), views).backward()
        optimiser.step()
    return head.eval()


def accuracy(head: nn.Linear, features: torch.Tensor, views: torch.Tensor) -> Dict:
    with torch.no_grad():
        predicted = head(features).argmax(1)
    confusion = collections.Counter(zip(views.tolist(), predicted.tolist()))
    return {"per_frame": round(float((predicted == views).float().mean()), 4),
            "confusion": {f"{VIEW_LABELS[t]}->{VIEW_LABELS[p]}": n for (t, p), n in sorted(confusion.items())}}


def replace_fp32_head(scripted: torch.jit.ScriptModule, head: nn.Linear) -> None:
    with torch.no_grad():
        scripted.view_head.weight.copy_(head.weight)
        scripted.view_head.bias.copy_(head.bias)


def replace_int8_head(scripted: torch.jit.ScriptModule, head: nn.Linear, logits: torch.Tensor, engine: str) -> None:
    """Re-quantize the INT8 file's view head as the export's qconfig would: per-channel symmetric int8 weights,
    output scale and zero point from a histogram observer over the head's outputs on phantom samples."""
    torch.backends.quantized.engine = engine
    qconfig = torch.ao.quantization.get_default_qconfig(engine)
    weight_observer = qconfig.weight()
    weight_observer(head.weight.detach())
    scales, zero_points = weight_observer.calculate_qparams()
    qweight = torch.quantize_per_channel(head.weight.detach(), scales.double(), zero_points.long(), 0, torch.qint8)
    output_observer = qconfig.activation()
    output_observer(logits)
    scale, zero_point = output_observer.calculate_qparams()
    view_head = scripted.view_head
    view_head._packed_params._packed_params = torch.ops.quantized.linear_prepack(qweight, head.bias.detach())
    view_head.scale = float(scale)
    view_head.zero_point = int(zero_point)


def write_model(scripted, manifest_path: str, out_dir: str, version: str, note: str, record: Dict) -> str:
    with open(manifest_path) as f:
        manifest = json.load(f)
    weights = os.path.join(out_dir, manifest["weights_file"])
    torch.jit.save(scripted, weights)
    with open(weights, "rb") as f:
        manifest["weights_sha256"] = hashlib.sha256(f.read()).hexdigest()
    manifest["version"] = version
    manifest["training_data"] = manifest["training_data"] + " " + note
    manifest.setdefault("training", {})["view_head_refit"] = record
    with open(os.path.join(out_dir, os.path.basename(manifest_path)), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    return weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", action="append", required=True, help="phantom:DIR written with chamber labels")
    parser.add_argument("--data-description", help="how the data was made, for the manifests (default: --data)")
    parser.add_argument("--base", default=MODELS, help="folder with lv_seg_fp32/int8.pt and their manifests")
    parser.add_argument("--out", required=True, help="work folder: the fit's record")
    parser.add_argument("--export", help="write the two refitted models and manifests here")
    parser.add_argument("--version", default="1.1.1")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batches", type=int, default=160, help="sample batches of 64 (augmented on the fly)")
    parser.add_argument("--frames-per-study", type=int, default=8)
    parser.add_argument("--label-fraction", type=float, default=0.8)
    parser.add_argument("--other-fraction", type=float, default=0.25)
    parser.add_argument("--iterations", type=int, default=600)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--engine", default="onednn", choices=["onednn", "qnnpack"])
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    model, _, _ = load_shipped(os.path.join(args.base, "lv_seg_fp32.pt"))
    pool = train_lv.build_pool(args.data, args.frames_per_study, args.seed)
    inputs, views, studies = make_samples(pool, args.batches, 64, args.seed, args.other_fraction,
                                          args.label_fraction, args.workers)
    features = pooled_features(model, inputs)
    views = torch.from_numpy(views).long()
    names = sorted(set(studies.tolist()))
    held_out = torch.from_numpy(np.isin(studies, names[::5]))  # every fifth study, for the record only
    head = fit_head(model.view_head, features[~held_out], views[~held_out], args.iterations, args.lr,
                    args.weight_decay)
    record = {"samples": int(len(inputs)), "studies": len(names), "label_fraction": args.label_fraction,
              "other_fraction": args.other_fraction, "iterations": args.iterations, "seed": args.seed,
              "held_out_before": accuracy(model.view_head, features[held_out], views[held_out]),
              "held_out_after": accuracy(head, features[held_out], views[held_out]),
              "recipe": "models/refit_view_head.py",
              "data": [args.data_description] if args.data_description else args.data}
    head = fit_head(model.view_head, features, views, args.iterations, args.lr, args.weight_decay)  # all samples
    with open(os.path.join(args.out, "refit.json"), "w") as f:
        json.dump(record, f, indent=2)
    print(json.dumps(record))
    if not args.export:
        return
    os.makedirs(args.export, exist_ok=True)
    note = (f"View head refitted alone (models/refit_view_head.py, model {args.version}) on "
            f"{len(inputs)} augmented samples of {len(names)} phantom cines with chamber label maps "
            f"({args.label_fraction:.0%} redrawn from the labels alone); the segmentation weights are those of "
            f"the previous version.")
    fp32 = torch.jit.load(os.path.join(args.base, "lv_seg_fp32.pt"), map_location="cpu")
    replace_fp32_head(fp32, head)
    write_model(fp32, os.path.join(args.base, "lv_seg_fp32.json"), args.export, args.version, note, record)
    int8 = torch.jit.load(os.path.join(args.base, "lv_seg_int8.pt"), map_location="cpu")
    with torch.no_grad():
        logits = head(features)
    replace_int8_head(int8, head, logits, args.engine)
    write_model(int8, os.path.join(args.base, "lv_seg_int8.json"), args.export, args.version, note, record)


if __name__ == "__main__":
    main()
