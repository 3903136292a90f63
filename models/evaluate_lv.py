#!/usr/bin/python3
"""Evaluate the exported models (the same .pt files the C++ engine loads) on a labelled dataset.

  /usr/bin/python3 models/evaluate_lv.py --data phantom:models/work/test \
      --fp32 models/lv_seg_fp32.pt --int8 models/lv_seg_int8.pt [--json out.json]

Reports, for FP32 and INT8:
  * Dice of the LV mask at every end-diastolic and end-systolic frame of every complete beat (model pixels,
    against the ground-truth mask taken through the same contract crop);
  * view accuracy per frame on every frame of every cine, and per cine (mean probabilities);
  * view accuracy on "other" proxies built from the test frames (rotated / flipped / short-axis-like / no LV);
  * Dice under the training augmentations (gain, contrast, speckle, blur, noise, overlays, sector changes);
  * INT8 against FP32 on the same frames: difference of mean Dice, relative LV-area difference, mask agreement.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

# Other jobs share the 2 cores: spinning OpenMP workers waste them (measured 2x slower steps under load).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import augment  # noqa: E402
from echo_data import (VIEW_INDEX, VIEW_LABELS, crop_square, model_input, model_target,  # noqa: E402
                       read_dataset, resize_contract, square_crop_box, visible_lv)


def dice(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > 0, b > 0
    total = a.sum() + b.sum()
    return 1.0 if total == 0 else float(2 * (a & b).sum() / total)


def run(model, frames: np.ndarray, batch: int = 32):
    masks, probs = [], []
    with torch.no_grad():
        for i in range(0, len(frames), batch):
            seg, view = model(torch.from_numpy(np.ascontiguousarray(frames[i:i + batch], dtype=np.float32)))
            masks.append((seg[:, 0] > 0).numpy())
            probs.append(torch.softmax(view, 1).numpy())
    return np.concatenate(masks), np.concatenate(probs)


def load_manifest(path):
    with open(os.path.splitext(path)[0] + ".json") as f:
        return json.load(f)


def collect(spec: str, manifest: dict, seed: int, others_per_study: int, augmented_per_study: int):
    """Model inputs and targets of the test set: keyframes, all frames for views, proxies, augmented frames."""
    size, mean, std = manifest["input_size"], manifest["input_mean"], manifest["input_std"]
    rng = np.random.default_rng(seed)
    key = {"x": [], "y": [], "phase": [], "study": []}
    views = {"x": [], "view": [], "study": []}
    other = {"x": [], "kind": []}
    aug = {"x": [], "y": []}
    for study in read_dataset(spec):
        box = square_crop_box(study.sector_mask)
        for phase in ("ed", "es"):
            for f in study.keyframes.get(phase, []):
                key["x"].append(model_input(study.frames[f], study.sector_mask, box, size, mean, std))
                key["y"].append(model_target(visible_lv(study.lv_masks[f], study.sector_mask), box, size))
                key["phase"].append(phase)
                key["study"].append(study.name)
        for f in range(len(study.frames)):
            views["x"].append(model_input(study.frames[f], study.sector_mask, box, size, mean, std))
            views["view"].append(VIEW_INDEX[study.view])
            views["study"].append(study.name)
        work_sector = resize_contract(crop_square((study.sector_mask > 0).astype(np.float32), *box),
                                      augment.WORK) >= 0.5
        labelled = study.labelled
        for k in range(others_per_study + augmented_per_study):
            f = labelled[int(rng.integers(0, len(labelled)))]
            inside = study.frames[f].astype(np.float32) * (study.sector_mask > 0)
            image = resize_contract(crop_square(inside, *box), augment.WORK)
            visible = visible_lv(study.lv_masks[f], study.sector_mask)
            lv = resize_contract(crop_square(visible.astype(np.float32), *box), augment.WORK) >= 0.5
            sector = work_sector.astype(np.uint8)
            if k < others_per_study:
                kind = ["rotated", "short_axis", "no_lv"][k % 3]
                if kind == "rotated":
                    image, lv2, sector2 = augment.other_from_apical(image, lv.astype(np.uint8), sector, rng)
                elif kind == "short_axis":
                    image, lv2, sector2 = augment.short_axis_like(sector, rng)
                else:
                    image, lv2, sector2 = augment.no_lv(sector, rng)
                x, _ = augment.finish(image, lv2, sector2, size)
                other["x"].append((x - mean) / std)
                other["kind"].append(kind)
            else:
                x, y, _ = augment.make_sample(image, lv, sector, VIEW_INDEX[study.view], rng, other_fraction=0.0)
                aug["x"].append((x[0] - mean) / std)
                aug["y"].append(y[0])
    stack = lambda items: np.stack(items)[:, None].astype(np.float32)  # noqa: E731
    return ({"x": stack(key["x"]), "y": np.stack(key["y"]), "phase": key["phase"], "study": key["study"]},
            {"x": stack(views["x"]), "view": np.array(views["view"]), "study": views["study"]},
            {"x": stack(other["x"]) if other["x"] else None, "kind": other["kind"]},
            {"x": stack(aug["x"]) if aug["x"] else None, "y": np.stack(aug["y"]) if aug["y"] else None})


def evaluate(model, data):
    key, views, other, aug = data
    out = {}
    masks, _ = run(model, key["x"])
    dices = np.array([dice(m, y) for m, y in zip(masks, key["y"])])
    phases = np.array(key["phase"])
    for phase in ("ed", "es"):
        d = dices[phases == phase]
        out[f"dice_{phase}_mean"] = float(d.mean())
        out[f"dice_{phase}_min"] = float(d.min())
        out[f"dice_{phase}_count"] = int(len(d))
    out["keyframe_masks"] = masks
    _, probs = run(model, views["x"])
    predicted = probs.argmax(1)
    out["view_accuracy_frames"] = float((predicted == views["view"]).mean())
    out["view_frames"] = int(len(predicted))
    studies = np.array(views["study"])
    correct = [int(probs[studies == s].mean(0).argmax() == views["view"][studies == s][0]) for s in sorted(set(studies))]
    out["view_accuracy_cines"] = float(np.mean(correct))
    out["view_cines"] = len(correct)
    confusion = np.zeros((3, 3), int)
    for t, p in zip(views["view"], predicted):
        confusion[t, p] += 1
    out["view_confusion_rows_truth"] = confusion.tolist()
    if other["x"] is not None:
        _, probs = run(model, other["x"])
        other_ok = probs.argmax(1) == VIEW_INDEX["other"]
        out["other_accuracy"] = float(other_ok.mean())
        out["other_frames"] = int(len(other_ok))
        kinds = np.array(other["kind"])
        out["other_accuracy_by_kind"] = {k: float(other_ok[kinds == k].mean()) for k in sorted(set(kinds))}
        all_correct = np.concatenate([predicted == views["view"], other_ok])
        out["view_accuracy_all_three"] = float(all_correct.mean())
    if aug["x"] is not None:
        masks_aug, _ = run(model, aug["x"])
        d = np.array([dice(m, y) for m, y in zip(masks_aug, aug["y"]) if y.sum() > 0])
        out["dice_augmented_mean"] = float(d.mean())
        out["dice_augmented_p10"] = float(np.percentile(d, 10))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--fp32", required=True)
    parser.add_argument("--int8")
    parser.add_argument("--seed", type=int, default=99)
    parser.add_argument("--others-per-study", type=int, default=6)
    parser.add_argument("--augmented-per-study", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    manifest = load_manifest(args.fp32)
    started = time.time()
    data = collect(args.data, manifest, args.seed, args.others_per_study, args.augmented_per_study)
    results = {"data": args.data, "keyframes": int(len(data[0]["y"])), "cines": len(set(data[1]["study"]))}
    masks = {}
    for precision, path in (("fp32", args.fp32), ("int8", args.int8)):
        if not path:
            continue
        engine = load_manifest(path).get("quantized_engine") or None
        if engine:
            torch.backends.quantized.engine = engine
        model = torch.jit.load(path).eval()
        r = evaluate(model, data)
        masks[precision] = r.pop("keyframe_masks")
        results[precision] = r
    if "int8" in masks:
        f, q = masks["fp32"], masks["int8"]
        area_f, area_q = f.sum((1, 2)).astype(float), q.sum((1, 2)).astype(float)
        rel = np.abs(area_q - area_f) / np.maximum(area_f, 1)
        results["int8_vs_fp32"] = {
            "dice_ed_difference": results["int8"]["dice_ed_mean"] - results["fp32"]["dice_ed_mean"],
            "dice_es_difference": results["int8"]["dice_es_mean"] - results["fp32"]["dice_es_mean"],
            "mask_dice_int8_vs_fp32_mean": float(np.mean([dice(a, b) for a, b in zip(q, f)])),
            "lv_area_relative_difference_mean": float(rel.mean()),
            "lv_area_relative_difference_max": float(rel.max()),
            "lv_area_total_relative_difference": float(abs(area_q.sum() - area_f.sum()) / area_f.sum()),
        }
    results["seconds"] = round(time.time() - started, 1)
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
