#!/usr/bin/env python3
"""Peer benchmark (issue 14): EchoNet-Dynamic's segmentation network beside our whole analysis, in one run.

Runs `bench_analyzer` (our full analysis of the 100-frame 640x480 JPEG DICOM: decode, preprocessing, INT8
segmentation, geometry, beats, quality gate), then torchvision's `deeplabv3_resnet50` (random weights: the
cost does not depend on them; one output class, no auxiliary head, as EchoNet-Dynamic) on the same 100 frames,
cropped to the sector's square and resized to 112x112 (EchoNet-Dynamic's input), with the same number of
threads, and prints both times and their ratio (goal: >= 100x).

    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 benchmarks/peer_deeplabv3.py --bench build/benchmarks/bench_analyzer

Needs python3-torch, python3-torchvision, python3-pydicom, python3-opencv (scripts/setup.sh installs them).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np


def our_analysis_ms(bench: str, min_time: float) -> tuple:
    """Median wall time of bench_analyzer's int8 case and the DICOM file it analysed."""
    out = subprocess.run(
        [bench, "--benchmark_filter=int8", f"--benchmark_min_time={min_time}", "--benchmark_repetitions=3",
         "--benchmark_report_aggregates_only=true", "--benchmark_format=json"],
        check=True, capture_output=True, text=True).stdout
    runs = json.loads(out)["benchmarks"]
    median = next(r for r in runs if r.get("aggregate_name") == "median")
    unit = {"ms": 1.0, "us": 1e-3, "ns": 1e-6, "s": 1e3}[median["time_unit"]]
    return median["real_time"] * unit, median


def model_frames(path: str, size: int = 112) -> np.ndarray:
    """The file's frames as (N, 3, size, size) float32: grey, the fan's square crop, area-resized."""
    import cv2
    import pydicom
    ds = pydicom.dcmread(path)
    frames = ds.pixel_array  # (N, rows, cols[, 3]) after pydicom's JPEG decode
    if frames.ndim == 4:
        frames = frames[..., 0] if ds.PhotometricInterpretation.startswith("YBR") else frames.mean(axis=3)
    changing = frames.max(axis=0).astype(int) - frames.min(axis=0) > 4
    ys, xs = np.nonzero(changing)
    side = max(ys.max() - ys.min(), xs.max() - xs.min()) + 1
    y0, x0 = ys.min(), max(0, (xs.min() + xs.max() - side) // 2)
    out = np.empty((len(frames), 3, size, size), np.float32)
    for i, frame in enumerate(frames):
        crop = np.zeros((side, side), frame.dtype)
        part = frame[y0:y0 + side, x0:x0 + side]
        crop[:part.shape[0], :part.shape[1]] = part
        small = cv2.resize(crop.astype(np.float32) / 255.0, (size, size), interpolation=cv2.INTER_AREA)
        out[i] = small[None]
    return out


def deeplab_ms(frames: np.ndarray, threads: int, batch: int, repeats: int) -> float:
    import torch
    from torchvision.models.segmentation import deeplabv3_resnet50
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = deeplabv3_resnet50(weights=None, weights_backbone=None, num_classes=1, aux_loss=False).eval()
    x = torch.from_numpy(frames)
    best = float("inf")
    with torch.inference_mode():
        model(x[:2])  # warm-up: allocations, kernel selection
        for _ in range(repeats):
            start = time.perf_counter()
            for i in range(0, len(x), batch):
                model(x[i:i + batch])["out"]
            best = min(best, (time.perf_counter() - start) * 1e3)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", required=True, help="path of the bench_analyzer program")
    parser.add_argument("--dicom", default="/tmp/echo_bench_100x640x480.dcm",
                        help="the file bench_analyzer writes and analyses (default: its temporary file)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (default: all cores)")
    parser.add_argument("--batch", type=int, default=20, help="DeepLabV3 batch size (default 20)")
    parser.add_argument("--repeats", type=int, default=2, help="DeepLabV3 passes, the fastest counts (default 2)")
    parser.add_argument("--min-time", type=float, default=2.0, help="bench_analyzer --benchmark_min_time")
    args = parser.parse_args()

    ours_ms, run = our_analysis_ms(args.bench, args.min_time)
    frames = model_frames(args.dicom)
    peer_ms = deeplab_ms(frames, args.threads, args.batch, args.repeats)
    load = os.getloadavg()
    print(f"frames: {len(frames)} of {args.dicom}, {args.threads} threads, load average {load[0]:.1f} {load[1]:.1f}")
    print(f"ours  (bench_analyzer int8, whole analysis, median of 3): {ours_ms:9.1f} ms "
          f"(inference {run.get('inference_ms', float('nan')):.1f} ms, EF {run.get('ef_percent', float('nan')):.1f} %)")
    print(f"peer  (deeplabv3_resnet50 at 112x112, segmentation only): {peer_ms:9.1f} ms "
          f"({peer_ms / len(frames):.1f} ms per frame)")
    ratio = peer_ms / ours_ms
    print(f"ratio peer / ours: {ratio:.0f}x (goal >= 100x): {'met' if ratio >= 100 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
