"""Phantom loops converted the way EchoNet-Dynamic converted its DICOMs, to tell a conversion gap from an anatomy gap.

EchoNet's published conversion (../shared/REALDATA.md): a centred square, 10 % trimmed off every border, a cubic
resize to 112 x 112, everything outside a 90-degree wedge from the apex set to zero, one channel, MJPEG AVI.
Applied to a phantom dataset (`echoa synth --dataset DIR`), it writes DIR_OUT/NNNN.avi and DIR_OUT/reference.csv
(FileName, EF) for `echoa validate`. If the model measures these as well as the phantoms' own DICOMs, the
conversion is not what separates phantoms from real EchoNet loops.

    /usr/bin/python3 models/echonet_style.py PHANTOM_DIR OUT_DIR
"""
import argparse
import csv
import json
import os

import cv2
import numpy as np

SIZE = 112


def echonet_box(height: int, width: int):
    """(top, left, side) of the centred square with 10 % trimmed off each border (before the resize)."""
    side = min(height, width)
    trim = int(0.1 * side)
    return (height - side) // 2 + trim, (width - side) // 2 + trim, side - 2 * trim


def wedge_mask(apex_column: float, size: int = SIZE) -> np.ndarray:
    """True inside the 90-degree wedge whose apex is (apex_column, 0), pointing down."""
    rows, columns = np.mgrid[0:size, 0:size]
    return np.abs(np.arctan2(columns - apex_column, rows + 1e-6)) <= np.pi / 4


def convert_case(frames: np.ndarray, truth: dict, out_path: str) -> None:
    top, left, side = echonet_box(frames.shape[1], frames.shape[2])
    square = frames[:, top:top + side, left:left + side]
    apex_column = (truth["sector"]["apex_px"][0] - left) / side * SIZE
    inside = wedge_mask(apex_column)
    writer = cv2.VideoWriter(out_path, cv2.VideoWriter_fourcc(*"MJPG"), float(truth["params"]["fps"]), (SIZE, SIZE),
                             False)
    if not writer.isOpened():
        raise SystemExit(f"echonet_style: cannot write {out_path}")
    for frame in square:
        image = cv2.resize(frame, (SIZE, SIZE), interpolation=cv2.INTER_CUBIC)
        image[~inside] = 0
        writer.write(image)
    writer.release()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("phantoms", help="folder written by `echoa synth --dataset`")
    parser.add_argument("out", help="output folder (AVIs and reference.csv)")
    args = parser.parse_args()
    names = sorted(f[:-len(".frames.npy")] for f in os.listdir(args.phantoms) if f.endswith(".frames.npy"))
    if not names:
        raise SystemExit(f"echonet_style: no NNNN.frames.npy in {args.phantoms}")
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for name in names:
        with open(os.path.join(args.phantoms, name + ".truth.json")) as f:
            truth = json.load(f)
        convert_case(np.load(os.path.join(args.phantoms, name + ".frames.npy")), truth,
                     os.path.join(args.out, name + ".avi"))
        rows.append({"FileName": name, "EF": f"{truth['ef_percent']:.2f}"})
    with open(os.path.join(args.out, "reference.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["FileName", "EF"])
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} loops written to {args.out}")


if __name__ == "__main__":
    main()
