#!/usr/bin/python3
"""Train the reference LV segmentation + view model, reproducibly from a seed, on 2 CPU cores.

  /usr/bin/python3 models/train_lv.py --data phantom:models/work/train --seed 1 \
      --out models/work/run1 --export models

Data specs (repeatable --data): phantom:DIR (echoa synth --dataset DIR), echonet:DIR[:SPLIT] (EchoNet-Dynamic:
FileList.csv, VolumeTracings.csv, Videos/*.avi), camus:DIR (CAMUS patientNNNN folders). See docs/model.md.

Each study contributes a few labelled frames (its ED and ES frames first), stored as the contract crop at
twice the model size; every training step draws a batch and augments it (augment.py) with a numpy
Generator seeded from --seed, so the same command gives the same weights on the same machine.
"""
import argparse
import itertools
import json
import math
import os
import sys
import time
from typing import Dict, List, Optional

import cv2
import numpy as np

# Other jobs share the 2 cores: spinning OpenMP workers waste them (measured 2x slower steps under load).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import augment  # noqa: E402
from echo_data import (INPUT_MEAN, INPUT_SIZE, INPUT_STD, VIEW_INDEX, VIEW_LABELS, Study,  # noqa: E402
                       crop_square, read_dataset, resize_contract, square_crop_box, visible_lv)
from lv_model import ARCHITECTURES, build_model  # noqa: E402


class FramePool:
    """Working-size crops (image, LV mask, sector) of the chosen frames of every study, with their view."""

    def __init__(self):
        self.images: List[np.ndarray] = []
        self.lvs: List[np.ndarray] = []
        self.sectors: List[np.ndarray] = []
        self.views: List[int] = []
        self.studies: List[str] = []
        self.labels: List[Optional[np.ndarray]] = []  # chamber label maps (None where the data has none)

    def __len__(self):
        return len(self.images)

    def add_study(self, study: Study, frames_per_study: int, rng: np.random.Generator) -> None:
        box = square_crop_box(study.sector_mask)
        sector = resize_contract(crop_square((study.sector_mask > 0).astype(np.float32), *box),
                                 augment.WORK) >= 0.5
        keyframes = [f for k in ("ed", "es") for f in study.keyframes.get(k, []) if f in study.labelled]
        others = [f for f in study.labelled if f not in keyframes]
        rng.shuffle(others)
        chosen = sorted(set(keyframes[:frames_per_study] + others[:max(0, frames_per_study - len(keyframes))]))
        for f in chosen:
            inside = study.frames[f].astype(np.float32) * (study.sector_mask > 0)
            self.images.append(np.clip(np.round(resize_contract(crop_square(inside, *box), augment.WORK)),
                                       0, 255).astype(np.uint8))
            visible = visible_lv(study.lv_masks[f], study.sector_mask)
            lv = resize_contract(crop_square(visible.astype(np.float32), *box), augment.WORK)
            self.lvs.append((lv >= 0.5).astype(np.uint8))
            self.sectors.append(sector.astype(np.uint8))
            self.labels.append(None if study.labels is None else cv2.resize(
                crop_square(np.asarray(study.labels[f], np.float32), *box), (augment.WORK, augment.WORK),
                interpolation=cv2.INTER_NEAREST).astype(np.uint8))
            self.views.append(VIEW_INDEX[study.view])
            self.studies.append(study.name)


def build_pool(specs: List[str], frames_per_study: int, seed: int, max_studies: Optional[int] = None) -> FramePool:
    rng = np.random.default_rng(seed)
    pool = FramePool()
    for spec in specs:
        for i, study in enumerate(read_dataset(spec)):
            if max_studies is not None and i >= max_studies:
                break
            pool.add_study(study, frames_per_study, rng)
    if len(pool) == 0:
        raise SystemExit(f"no labelled frames found in {specs}")
    return pool


def load_or_build_pool(specs: List[str], frames_per_study: int, seed: int, cache: Optional[str]) -> FramePool:
    """The pool from `cache` (an .npz written by an earlier run) when it exists, else built from the data
    and saved there: a pool is small enough to carry to another machine, the cines are not."""
    if cache and os.path.exists(cache):
        with np.load(cache, allow_pickle=False) as stored:  # each key read (and decompressed) once
            arrays = {key: stored[key] for key in stored.files}
        pool = FramePool()
        pool.images, pool.lvs, pool.sectors = list(arrays["images"]), list(arrays["lvs"]), list(arrays["sectors"])
        pool.views, pool.studies = [int(v) for v in arrays["views"]], [str(n) for n in arrays["studies"]]
        pool.labels = [labels if has else None for labels, has in zip(arrays["labels"], arrays["has_labels"])]
        return pool
    pool = build_pool(specs, frames_per_study, seed)
    if cache:
        zeros = np.zeros((augment.WORK, augment.WORK), np.uint8)
        np.savez_compressed(cache, images=np.stack(pool.images), lvs=np.stack(pool.lvs),
                            sectors=np.stack(pool.sectors), views=np.array(pool.views),
                            studies=np.array(pool.studies),
                            labels=np.stack([zeros if l is None else l for l in pool.labels]),
                            has_labels=np.array([l is not None for l in pool.labels]))
    return pool


def make_batch(pool: FramePool, indices, rng, other_fraction: float, augment_on: bool = True,
               label_fraction: float = 0.5):
    xs, ys, vs = [], [], []
    for i in indices:
        labels = pool.labels[i] if i < len(pool.labels) else None
        x, y, v = augment.make_sample(pool.images[i], pool.lvs[i], pool.sectors[i], pool.views[i], rng,
                                      other_fraction=other_fraction, augment=augment_on, labels=labels,
                                      label_fraction=label_fraction)
        xs.append(x)
        ys.append(y)
        vs.append(v)
    x = (np.stack(xs) - INPUT_MEAN) / INPUT_STD
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(np.stack(ys)), torch.tensor(vs)


def loss_fn(seg_logits, view_logits, target, views, view_weight=0.5):
    bce = F.binary_cross_entropy_with_logits(seg_logits, target)
    p = torch.sigmoid(seg_logits)
    inter = (p * target).sum(dim=(1, 2, 3))
    union = p.sum(dim=(1, 2, 3)) + target.sum(dim=(1, 2, 3))
    has_lv = target.sum(dim=(1, 2, 3)) > 0
    dice = 1 - (2 * inter + 1) / (union + 1)
    dice = dice[has_lv].mean() if has_lv.any() else seg_logits.sum() * 0
    ce = F.cross_entropy(view_logits, views)
    return bce + dice + view_weight * ce, {"bce": float(bce), "dice_loss": float(dice), "view_ce": float(ce)}


_WORKER_POOL: Optional[FramePool] = None  # the pool seen by batch worker processes (inherited by fork)


def _batch_for_step(job):
    """The batch of one training step, from a generator seeded by (seed, step) alone: the same batches come
    out whether they are made here or in worker processes, in any number."""
    step, seed, batch_size, other_fraction, label_fraction = job
    rng = np.random.default_rng([seed + 1000, step])
    indices = rng.integers(0, len(_WORKER_POOL), size=batch_size)
    return make_batch(_WORKER_POOL, indices, rng, other_fraction, label_fraction=label_fraction)


def _batches(pool: FramePool, steps: int, seed: int, batch_size: int, other_fraction: float,
             label_fraction: float, workers: int):
    global _WORKER_POOL
    _WORKER_POOL = pool
    jobs = [(step, seed, batch_size, other_fraction, label_fraction) for step in range(steps)]
    if workers <= 0:
        yield from map(_batch_for_step, jobs)
        return
    import multiprocessing
    cv2.setNumThreads(1)
    with multiprocessing.get_context("fork").Pool(workers) as processes:
        yield from processes.imap(_batch_for_step, jobs, chunksize=1)


def train(model: torch.nn.Module, pool: FramePool, steps: int, batch_size: int, lr: float, seed: int,
          other_fraction: float = 0.25, parameters=None, log_every: int = 50, log=None, device: str = "cpu",
          workers: int = 0, label_fraction: float = 0.5, max_seconds: float = 0) -> Dict:
    """Fixed-step AdamW with warm-up and cosine decay; returns a small training record. Batches are made on
    the CPU (in `workers` processes when > 0) and the steps run on `device`."""
    torch.manual_seed(seed)
    batches = _batches(pool, steps, seed, batch_size, other_fraction, label_fraction, workers)
    first = next(batches)  # the batch workers fork before this process initialises CUDA
    model.to(device)
    params = list(parameters) if parameters is not None else list(model.parameters())
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    warmup = max(1, min(100, steps // 10))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps))))
    model.train()
    started = time.time()
    history = []
    for step, (x, y, v) in enumerate(itertools.chain([first], batches)):
        if max_seconds and time.time() - started > max_seconds:
            (log or print)(json.dumps({"stopped_at_step": step, "max_seconds": max_seconds}))
            break
        seg, view = model(x.to(device))
        loss, parts = loss_fn(seg, view, y.to(device), v.to(device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if (step + 1) % log_every == 0 or step == steps - 1:
            record = {"step": step + 1, "loss": round(float(loss), 4), **{k: round(x_, 4) for k, x_ in parts.items()},
                      "elapsed_s": round(time.time() - started, 1)}
            history.append(record)
            (log or (lambda text: print(text, flush=True)))(json.dumps(record))
    model.to("cpu")
    model.eval()
    return {"steps": steps, "batch_size": batch_size, "lr": lr, "seconds": round(time.time() - started, 1),
            "device": device, "workers": workers, "label_fraction": label_fraction, "history": history}


def calibration_frames(pool: FramePool, count: int, seed: int) -> np.ndarray:
    """Frames for INT8 calibration: half plain, half augmented (the range real input will have)."""
    rng = np.random.default_rng(seed + 2000)
    plain = make_batch(pool, rng.integers(0, len(pool), size=count // 2), rng, 0.0, augment_on=False)[0]
    augmented = make_batch(pool, rng.integers(0, len(pool), size=count - count // 2), rng, 0.25)[0]
    return torch.cat([plain, augmented]).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", action="append", required=True, help="phantom:DIR, echonet:DIR[:SPLIT], camus:DIR")
    parser.add_argument("--out", required=True, help="work folder: checkpoint, calibration frames, log")
    parser.add_argument("--export", help="also write lv_seg_fp32/int8.pt + manifests here")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--architecture", default="unet56", choices=sorted(ARCHITECTURES))
    parser.add_argument("--frames-per-study", type=int, default=12)
    parser.add_argument("--other-fraction", type=float, default=0.25)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--engine", default="onednn", choices=["onednn", "qnnpack"])
    parser.add_argument("--training-data", default="", help="text for the manifest's training_data")
    parser.add_argument("--label-fraction", type=float, default=0.5,
                        help="share of apical samples whose appearance is drawn from the chamber label map")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (batches are always made on the CPU)")
    parser.add_argument("--workers", type=int, default=0, help="processes making batches (0 = in this one)")
    parser.add_argument("--max-seconds", type=float, default=0, help="stop training after this long (0 = never)")
    parser.add_argument("--pool-cache", help="load the frame pool from this .npz if it exists, else build and save it")
    parser.add_argument("--version", default="1.2.0", help="model version written into the manifests")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    started = time.time()
    pool = load_or_build_pool(args.data, args.frames_per_study, args.seed, args.pool_cache)
    views = {label: int(np.sum(np.array(pool.views) == i)) for i, label in enumerate(VIEW_LABELS)}
    print(json.dumps({"frames": len(pool), "studies": len(set(pool.studies)), "views": views,
                      "pool_seconds": round(time.time() - started, 1)}), flush=True)

    model = build_model(args.architecture, args.width)
    record = train(model, pool, args.steps, args.batch, args.lr, args.seed, args.other_fraction,
                   device=args.device, workers=args.workers, label_fraction=args.label_fraction,
                   max_seconds=args.max_seconds)
    meta = {
        "name": "echo-lv-reference",
        "version": args.version,
        "description": ("Compact UNet (%s, width %d, %d parameters) segmenting the LV cavity on every frame, "
                        "with a view head (a4c / a2c / other) on the bottleneck." %
                        (args.architecture, args.width, sum(p.numel() for p in model.parameters()))),
        "training_data": args.training_data or ("; ".join(args.data) + ": %d frames of %d studies" %
                                                (len(pool), len(set(pool.studies)))),
        "validated_on_real_patients": False,
        "input_size": INPUT_SIZE, "input_mean": INPUT_MEAN, "input_std": INPUT_STD,
        "training": {"seed": args.seed, "steps": args.steps, "batch": args.batch, "lr": args.lr,
                     "frames": len(pool), "other_fraction": args.other_fraction,
                     "label_fraction": args.label_fraction, "device": args.device,
                     "seconds": round(time.time() - started, 1), "threads": args.threads,
                     "recipe": "models/train_lv.py"},
    }
    checkpoint = os.path.join(args.out, "lv.pth")
    torch.save({"state_dict": model.state_dict(), "width": args.width, "architecture": args.architecture,
                "meta": meta}, checkpoint)
    calibration = calibration_frames(pool, 256, args.seed)
    np.save(os.path.join(args.out, "calibration.npy"), calibration)
    with open(os.path.join(args.out, "training.json"), "w") as f:
        json.dump({"meta": meta, "record": record}, f, indent=2)
    print(json.dumps({"checkpoint": checkpoint, "seconds": round(time.time() - started, 1)}), flush=True)
    if args.export:
        from export_lv import export
        paths = export(model, calibration, args.export, meta, args.engine)
        print(json.dumps(paths), flush=True)


if __name__ == "__main__":
    main()
