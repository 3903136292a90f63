#!/usr/bin/python3
"""Draw the model's LV masks on frames of a real cine (DICOM read with pydicom) -> a PNG grid.

  /usr/bin/python3 models/draw_on_real.py --dicom ../shared/data/dicom/examples_ybr_color.dcm \
      --model models/lv_seg_int8.pt --out docs/model_on_real.png

The sector is found from the cine itself (pixels that change over the loop, largest region, convex hull),
then every frame goes through the model input contract (echo_data.model_input) and the mask is mapped back
to the original pixels through the same crop box. Each tile shows the frame, the LV contour (green) and the
view probabilities.
"""
import argparse
import json
import os
import sys

import cv2
import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from echo_data import VIEW_LABELS, model_input, square_crop_box  # noqa: E402


def read_luma(path: str) -> np.ndarray:
    import pydicom
    ds = pydicom.dcmread(path)
    pixels = ds.pixel_array
    if pixels.ndim == 2:
        pixels = pixels[None]
    if pixels.ndim == 4:  # colour: luma of YBR as stored, else Rec.601 from RGB
        if str(ds.PhotometricInterpretation).startswith("YBR"):
            pixels = pixels[..., 0]
        else:
            pixels = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in pixels])
    elif pixels.ndim == 3 and int(getattr(ds, "SamplesPerPixel", 1)) == 3:  # one colour frame
        pixels = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)[None]
    return pixels.astype(np.uint8)


def sector_from_cine(frames: np.ndarray, threshold: int = 6) -> np.ndarray:
    change = frames.max(axis=0).astype(np.int16) - frames.min(axis=0)
    moving = (change > threshold).astype(np.uint8)
    moving = cv2.morphologyEx(moving, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(moving)
    if count <= 1:
        return np.full(frames.shape[1:], 255, np.uint8)
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    points = cv2.findNonZero((labels == largest).astype(np.uint8))
    mask = np.zeros(frames.shape[1:], np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(points), 255)
    return mask


def mask_to_original(mask: np.ndarray, box, shape) -> np.ndarray:
    x0, y0, side = box
    big = cv2.resize(mask.astype(np.float32), (side, side), interpolation=cv2.INTER_LINEAR) >= 0.5
    out = np.zeros(shape, np.uint8)
    h, w = shape
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x0 + side, w), min(y0 + side, h)
    out[sy0:sy1, sx0:sx1] = big[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] * 255
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dicom", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--tiles", type=int, default=6)
    parser.add_argument("--columns", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(2)
    with open(os.path.splitext(args.model)[0] + ".json") as f:
        manifest = json.load(f)
    if manifest.get("quantized_engine"):
        torch.backends.quantized.engine = manifest["quantized_engine"]
    model = torch.jit.load(args.model).eval()
    frames = read_luma(args.dicom)
    sector = sector_from_cine(frames)
    box = square_crop_box(sector)
    size, mean, std = manifest["input_size"], manifest["input_mean"], manifest["input_std"]
    x = np.stack([model_input(f, sector, box, size, mean, std) for f in frames])[:, None].astype(np.float32)
    with torch.no_grad():
        seg, view = model(torch.from_numpy(x))
    masks = (seg[:, 0] > 0).numpy()
    probs = torch.softmax(view, 1).numpy()
    picks = np.linspace(0, len(frames) - 1, args.tiles).round().astype(int)
    tiles = []
    for i in picks:
        tile = cv2.cvtColor(frames[i], cv2.COLOR_GRAY2BGR)
        contours, _ = cv2.findContours((sector > 0).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(tile, contours, -1, (90, 90, 200), 1)
        lv = mask_to_original(masks[i], box, frames.shape[1:])
        contours, _ = cv2.findContours((lv > 0).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(tile, contours, -1, (0, 255, 0), 1)
        label = " ".join(f"{name} {p:.2f}" for name, p in zip(VIEW_LABELS, probs[i]))
        cv2.putText(tile, f"frame {i}: {label}", (4, tile.shape[0] - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.33,
                    (0, 255, 255), 1, cv2.LINE_AA)
        tiles.append(tile)
    rows = [np.concatenate(tiles[r:r + args.columns], axis=1) for r in range(0, len(tiles), args.columns)]
    cv2.imwrite(args.out, np.concatenate(rows, axis=0))
    areas = masks.reshape(len(masks), -1).sum(1)
    print(json.dumps({"frames": int(len(frames)), "crop_box": [int(v) for v in box],
                      "lv_area_model_px_min_max": [int(areas.min()), int(areas.max())],
                      "frames_without_lv": int((areas == 0).sum()),
                      "mean_view_probabilities": dict(zip(VIEW_LABELS, [round(float(p), 3) for p in probs.mean(0)]))}))


if __name__ == "__main__":
    main()
