#!/usr/bin/python3
"""The fine-tuning round on phantoms (docs/review.md), the pieces scripts/review_site_round.sh chains:

  look DATASET        give an `echoa synth --dataset` folder the site's appearance (in place, once): a strong
                      reverberation (mirror) ghost, a copy of the image one fifth of its height lower at 80 %
                      brightness, kept where it is brighter than the image, inside the fan; outside the base
                      model's training draw (base ED/ES Dice 0.97 -> 0.68 on a pilot of 3 phantoms; an
                      inverted grey map was also tried: 0.03, the gate then refuses every loop).
                      Changes the .dcm and frames.npy.
  corrections REVIEWS DATASET
                      the site's clinician: for every review folder REVIEWS/NNNN (echoa analyze --html), a
                      corrections.json whose ED/ES frames and contours are the phantom truth of NNNN.
  dice DATASET PT...  mean Dice at the ED and ES frames of every complete beat (model input contract, as
                      models/evaluate_lv.py), per model
  ef DATASET ECHOA PT...  EF MAE of `echoa analyze --model PT` against the truth, per model
"""
import json
import os
import subprocess
import sys

import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from echo_data import model_input, model_target, read_dataset, square_crop_box, visible_lv, _truth_sector_mask  # noqa: E402


def site_look(frames: np.ndarray, sector: np.ndarray) -> np.ndarray:
    shift = frames.shape[1] // 5
    ghost = np.zeros(frames.shape, np.float32)
    ghost[:, shift:] = 0.8 * frames[:, :-shift]
    out = np.maximum(frames.astype(np.float32), ghost) * (sector > 0)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def cmd_look(dataset: str) -> None:
    import pydicom
    marker = os.path.join(dataset, ".site_look")
    if os.path.exists(marker):
        print(f"{dataset}: already has the site look")
        return
    for name in sorted(os.listdir(dataset)):
        if not name.endswith(".truth.json"):
            continue
        stem = os.path.join(dataset, name[: -len(".truth.json")])
        with open(stem + ".truth.json") as f:
            truth = json.load(f)
        frames = np.load(stem + ".frames.npy")
        sector = _truth_sector_mask(truth, frames.shape[1], frames.shape[2])
        looked = site_look(frames, sector)
        np.save(stem + ".frames.npy", looked)
        ds = pydicom.dcmread(stem + ".dcm")
        if ds.SamplesPerPixel != 1 or ds.BitsAllocated != 8:
            raise SystemExit(f"{stem}.dcm: expected 8-bit grey frames (synthesise with --no-overlays --format dicom-raw)")
        pixels = ds.pixel_array.reshape(looked.shape)
        if not np.array_equal(pixels, frames):
            raise SystemExit(f"{stem}.dcm: its pixels are not the frames.npy pixels")
        ds.PixelData = looked.tobytes()
        ds.save_as(stem + ".dcm")
    open(marker, "w").write("reverberation ghost: +H/5, 80 %\n")
    print(f"{dataset}: site look applied")


def cmd_corrections(reviews: str, dataset: str) -> None:
    written = 0
    for name in sorted(os.listdir(reviews)):
        result_path = os.path.join(reviews, name, "result.json")
        truth_path = os.path.join(dataset, name + ".truth.json")
        if not (os.path.exists(result_path) and os.path.exists(truth_path)):
            continue
        with open(result_path) as f:
            result = json.load(f)
        with open(truth_path) as f:
            truth = json.load(f)
        beat = truth["beats"][0]
        corrections = {"schema": "echoanalyzer.corrections/1", "study_sha256": result["review"]["study_sha256"],
                       "reviewer_role": "phantom truth (site round)", "reviewed_at": "2026-11-28T00:00:00Z",
                       "decision": "correct", "actions": []}
        for key in ("ed", "es"):
            frame = beat[key + "_frame"]
            contour = [[round(p[0], 2), round(p[1], 2)] for p in truth["frames"][frame]["lv_contour_px"]]
            corrections[key] = {"frame": frame, "contour_px": contour}
        with open(os.path.join(reviews, name, "corrections.json"), "w") as f:
            json.dump(corrections, f)
        written += 1
    print(f"{reviews}: {written} corrections from the truth")


def dice(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > 0, b > 0
    total = a.sum() + b.sum()
    return 1.0 if total == 0 else float(2 * (a & b).sum() / total)


def keyframe_samples(dataset: str, size: int):
    xs, ys, phases = [], [], []
    for study in read_dataset("phantom:" + dataset):
        box = square_crop_box(study.sector_mask)
        for phase in ("ed", "es"):
            for f in study.keyframes.get(phase, []):
                xs.append(model_input(study.frames[f], study.sector_mask, box, size))
                ys.append(model_target(visible_lv(study.lv_masks[f], study.sector_mask), box, size))
                phases.append(phase)
    return np.stack(xs)[:, None].astype(np.float32), np.stack(ys), np.array(phases)


def cmd_dice(dataset: str, models) -> dict:
    torch.set_num_threads(2)
    x, y, phases = keyframe_samples(dataset, 112)
    out = {}
    for path in models:
        model = torch.jit.load(path, map_location="cpu").eval()
        with torch.no_grad():
            masks = np.concatenate([(model(torch.from_numpy(x[i:i + 32]))[0][:, 0] > 0).numpy() for i in range(0, len(x), 32)])
        d = np.array([dice(m, t) for m, t in zip(masks, y)])
        out[path] = {"dice_ed_es": float(d.mean()), "dice_ed": float(d[phases == "ed"].mean()),
                     "dice_es": float(d[phases == "es"].mean()), "frames": int(len(d))}
    print(json.dumps({"dataset": dataset, "dice": out}, indent=1))
    return out


def cmd_ef(dataset: str, echoa: str, models) -> dict:
    files = sorted(f for f in os.listdir(dataset) if f.endswith(".dcm"))
    out = {}
    for path in models:
        errors, refused = [], 0
        for name in files:
            with open(os.path.join(dataset, name[:-4] + ".truth.json")) as f:
                truth_ef = json.load(f)["ef_percent"]
            run = subprocess.run([echoa, "analyze", "--json", "--model", path, "--threads", "2", os.path.join(dataset, name)],
                                 capture_output=True, text=True)
            line = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else "{}"
            ef = json.loads(line).get("ef_percent")
            if ef is None:
                refused += 1
            else:
                errors.append(abs(ef - truth_ef))
        out[path] = {"ef_mae": float(np.mean(errors)) if errors else None, "answered": len(errors), "refused": refused}
    print(json.dumps({"dataset": dataset, "ef": out}, indent=1))
    return out


def main() -> None:
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    command, args = sys.argv[1], sys.argv[2:]
    if command == "look":
        cmd_look(args[0])
    elif command == "corrections":
        cmd_corrections(args[0], args[1])
    elif command == "dice":
        cmd_dice(args[0], args[1:])
    elif command == "ef":
        cmd_ef(args[0], args[1], args[2:])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
