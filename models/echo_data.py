"""Training data for the LV model: the model input contract, dataset readers, augmentation.

Readers (each yields `Study` records: frames + LV masks + sector mask + view, all in original pixels):
  * phantom      -- `echoa synth --dataset DIR`: NNNN.frames.npy, NNNN.lv_masks.npy, NNNN.truth.json
  * EchoNet-Dynamic -- FileList.csv, VolumeTracings.csv, Videos/<FileName>.avi (traced ED/ES frames)
  * CAMUS        -- patientNNNN/patientNNNN_{2CH,4CH}_{ED,ES}[_gt].{mhd,raw | nii.gz}

The crop implemented here is the one of include/echo/preprocess.hpp preprocess() (the C++ side):
  1. crop box = sector bounding box made square by extending the shorter side symmetrically
     (an odd extra pixel goes to the right / bottom), outside-image area = 0;
  2. pixels outside the sector mask = 0;
  3. cv2.resize of the float crop to S x S, INTER_AREA when shrinking, INTER_LINEAR when enlarging;
  4. value = (v / 255 - mean) / std.
"""
import csv
import glob
import json
import math
import os
import re
import zlib
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np

VIEW_LABELS = ["a4c", "a2c", "other"]
VIEW_INDEX = {name: i for i, name in enumerate(VIEW_LABELS)}
INPUT_SIZE = 112
INPUT_MEAN = 0.0
INPUT_STD = 1.0


@dataclass
class Study:
    """One cine (or a few labelled frames of it) in original pixels."""

    name: str
    frames: np.ndarray                   # uint8 T x H x W
    lv_masks: Optional[np.ndarray]       # uint8 T x H x W (nonzero = LV), None where unlabelled
    labelled: List[int]                  # frame indices whose mask is ground truth
    sector_mask: np.ndarray              # uint8 H x W (nonzero = inside the sector)
    view: str                            # one of VIEW_LABELS
    keyframes: Dict[str, List[int]] = field(default_factory=dict)  # "ed"/"es" -> frame indices
    truth: dict = field(default_factory=dict)
    labels: Optional[np.ndarray] = None  # uint8 T x H x W chamber label maps (phantoms written with labels)


# ----------------------------------------------------------------------------------------------
# The model input contract
# ----------------------------------------------------------------------------------------------

def fan_mask(height: int, width: int, apex_xy: Sequence[float], radius_px: float, half_angle_rad: float,
             start_radius_px: float = 0.0, left_angle_rad: Optional[float] = None,
             right_angle_rad: Optional[float] = None) -> np.ndarray:
    """255 inside the fan (angle measured from straight down, positive towards +x), as echo::render_fan_mask."""
    left = -half_angle_rad if left_angle_rad is None else left_angle_rad
    right = half_angle_rad if right_angle_rad is None else right_angle_rad
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    dx, dy = xs - apex_xy[0], ys - apex_xy[1]
    r = np.hypot(dx, dy)
    angle = np.arctan2(dx, dy)
    inside = (r <= radius_px) & (r >= start_radius_px) & (angle >= left) & (angle <= right)
    return (inside * 255).astype(np.uint8)


def square_crop_box(sector_mask: np.ndarray) -> Tuple[int, int, int]:
    """(x0, y0, side) of the contract's square crop of the sector's bounding box."""
    ys, xs = np.nonzero(sector_mask)
    if len(xs) == 0:
        h, w = sector_mask.shape
        x0, y0, x1, y1 = 0, 0, w - 1, h - 1
    else:
        x0, x1, y0, y1 = int(xs.min()), int(xs.max()), int(ys.min()), int(ys.max())
    w, h = x1 - x0 + 1, y1 - y0 + 1
    side = max(w, h)
    x0 -= (side - w) // 2
    y0 -= (side - h) // 2
    return x0, y0, side


def crop_square(image: np.ndarray, x0: int, y0: int, side: int) -> np.ndarray:
    """The side x side window at (x0, y0) of a 2-D array, zero where it leaves the image (float32)."""
    h, w = image.shape
    out = np.zeros((side, side), np.float32)
    sx0, sy0 = max(x0, 0), max(y0, 0)
    sx1, sy1 = min(x0 + side, w), min(y0 + side, h)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = image[sy0:sy1, sx0:sx1]
    return out


def resize_contract(image: np.ndarray, size: int) -> np.ndarray:
    interpolation = cv2.INTER_AREA if image.shape[0] > size else cv2.INTER_LINEAR
    return cv2.resize(image.astype(np.float32), (size, size), interpolation=interpolation)


def model_input(frame: np.ndarray, sector_mask: np.ndarray, box: Tuple[int, int, int],
                size: int = INPUT_SIZE, mean: float = INPUT_MEAN, std: float = INPUT_STD) -> np.ndarray:
    """One uint8 frame -> the normalised S x S float32 model input."""
    x0, y0, side = box
    masked = frame.astype(np.float32) * (sector_mask > 0)
    resized = resize_contract(crop_square(masked, x0, y0, side), size)
    return (resized / 255.0 - mean) / std


def visible_lv(lv_mask: np.ndarray, sector_mask: np.ndarray) -> np.ndarray:
    """The LV cavity the image shows (bool): pixels outside the fan are zero in the model input, so where the LV
    leaves the fan its outline follows the fan edge (what the quality gate reads as an LV cut off)."""
    return (lv_mask > 0) & (sector_mask > 0)


def model_target(lv_mask: np.ndarray, box: Tuple[int, int, int], size: int = INPUT_SIZE) -> np.ndarray:
    """An LV mask cropped and resized like the frames, thresholded at half coverage (uint8 0/1)."""
    x0, y0, side = box
    resized = resize_contract(crop_square((lv_mask > 0).astype(np.float32), x0, y0, side), size)
    return (resized >= 0.5).astype(np.uint8)


# ----------------------------------------------------------------------------------------------
# Phantom layout (echoa synth --dataset DIR)
# ----------------------------------------------------------------------------------------------

def _truth_sector_mask(truth: dict, height: int, width: int) -> np.ndarray:
    sector = truth["sector"]
    apex = sector["apex_px"]
    apex_xy = (apex[0], apex[1]) if isinstance(apex, (list, tuple)) else (apex["x"], apex["y"])
    return fan_mask(height, width, apex_xy, float(sector["radius_px"]), float(sector["half_angle_rad"]),
                    float(sector.get("start_radius_px", 0.0)))


def _keyframes_from_truth(truth: dict) -> Dict[str, List[int]]:
    keys = {"ed": [], "es": []}
    for beat in truth.get("beats", []):
        for k, name in (("ed", "ed_frame"), ("es", "es_frame")):
            if name in beat:
                keys[k].append(int(beat[name]))
    for k, names in (("ed", ("ed_frames", "ed_frame_indices")), ("es", ("es_frames", "es_frame_indices"))):
        for name in names:
            if name in truth and not keys[k]:
                keys[k] = [int(i) for i in truth[name]]
    return keys


def read_phantom_dataset(directory: str) -> Iterator[Study]:
    for truth_path in sorted(glob.glob(os.path.join(directory, "*.truth.json"))):
        stem = truth_path[: -len(".truth.json")]
        with open(truth_path) as f:
            truth = json.load(f)
        frames = np.load(stem + ".frames.npy", mmap_mode="r")
        masks = np.load(stem + ".lv_masks.npy", mmap_mode="r")
        labels = np.load(stem + ".labels.npy", mmap_mode="r") if os.path.exists(stem + ".labels.npy") else None
        _, h, w = frames.shape
        view = str(truth.get("view", "a4c")).lower()
        yield Study(name=os.path.basename(stem), frames=frames, lv_masks=masks,
                    labelled=list(range(frames.shape[0])), sector_mask=_truth_sector_mask(truth, h, w),
                    view=view if view in VIEW_INDEX else "other", keyframes=_keyframes_from_truth(truth),
                    truth=truth, labels=labels)


# ----------------------------------------------------------------------------------------------
# EchoNet-Dynamic layout
# ----------------------------------------------------------------------------------------------

def _read_video_gray(path: str) -> np.ndarray:
    capture = cv2.VideoCapture(path)
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame)
    capture.release()
    if not frames:
        raise ValueError(f"{path}: no frames could be decoded")
    return np.stack(frames)


def _polygon_from_echonet_lines(lines: List[Tuple[float, float, float, float]]) -> np.ndarray:
    """EchoNet traces: the first row is the long axis, the rest are chords (X1,Y1)-(X2,Y2) across the LV;
    the cavity is the polygon through one end of every chord and back through the other ends."""
    chords = np.array(lines[1:] if len(lines) > 2 else lines, dtype=np.float64)
    left = chords[:, 0:2]
    right = chords[::-1, 2:4]
    return np.concatenate([left, right], axis=0)


def echonet_mask(lines, height: int, width: int) -> np.ndarray:
    polygon = _polygon_from_echonet_lines(lines)
    mask = np.zeros((height, width), np.uint8)
    cv2.fillPoly(mask, [np.round(polygon).astype(np.int32)], 255)
    return mask


def read_echonet_dataset(root: str, split: Optional[str] = None) -> Iterator[Study]:
    """EchoNet-Dynamic: every video is an apical 4-chamber view, 112 x 112, already cropped to the sector
    (so the sector mask is the pixels that vary over the cine)."""
    tracings: Dict[str, Dict[int, List[Tuple[float, float, float, float]]]] = {}
    with open(os.path.join(root, "VolumeTracings.csv"), newline="") as f:
        for row in csv.DictReader(f):
            name = os.path.splitext(row["FileName"])[0]
            frame = int(float(row["Frame"]))
            tracings.setdefault(name, {}).setdefault(frame, []).append(
                (float(row["X1"]), float(row["Y1"]), float(row["X2"]), float(row["Y2"])))
    with open(os.path.join(root, "FileList.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        if split is not None and row.get("Split", "").upper() != split.upper():
            continue
        name = os.path.splitext(row["FileName"])[0]
        video = os.path.join(root, "Videos", name + ".avi")
        if name not in tracings or not os.path.exists(video):
            continue
        frames = _read_video_gray(video)
        t, h, w = frames.shape
        traced = sorted(f for f in tracings[name] if 0 <= f < t)
        if len(traced) < 2:
            continue
        masks = np.zeros_like(frames)
        areas = {}
        for fr in traced:
            masks[fr] = echonet_mask(tracings[name][fr], h, w)
            areas[fr] = int((masks[fr] > 0).sum())
        ed = max(traced, key=lambda fr: areas[fr])
        es = min(traced, key=lambda fr: areas[fr])
        varying = (frames.max(axis=0).astype(np.int16) - frames.min(axis=0)) > 8
        sector = (cv2.morphologyEx(varying.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8)) * 255)
        if sector.sum() == 0:
            sector[:] = 255
        yield Study(name=name, frames=frames, lv_masks=masks, labelled=traced, sector_mask=sector,
                    view="a4c", keyframes={"ed": [ed], "es": [es]}, truth=dict(row))


# ----------------------------------------------------------------------------------------------
# CAMUS layout
# ----------------------------------------------------------------------------------------------

def _read_mhd(path: str) -> np.ndarray:
    header = {}
    with open(path) as f:
        for line in f:
            if "=" in line:
                key, value = line.split("=", 1)
                header[key.strip()] = value.strip()
    dims = [int(v) for v in header["DimSize"].split()]
    dtype = {"MET_UCHAR": np.uint8, "MET_USHORT": np.uint16, "MET_SHORT": np.int16,
             "MET_FLOAT": np.float32}[header.get("ElementType", "MET_UCHAR")]
    raw = os.path.join(os.path.dirname(path), header["ElementDataFile"])
    with open(raw, "rb") as f:
        data = f.read()
    if header.get("CompressedData", "False").lower() == "true":
        data = zlib.decompress(data)
    array = np.frombuffer(data, dtype=dtype)
    return array.reshape(list(reversed(dims))).squeeze()


def _read_camus_image(stem: str) -> Optional[np.ndarray]:
    if os.path.exists(stem + ".mhd"):
        return _read_mhd(stem + ".mhd")
    if os.path.exists(stem + ".nii.gz") or os.path.exists(stem + ".nii"):
        try:
            import nibabel  # optional: the 2023 CAMUS release is NIfTI
        except ImportError as error:
            raise RuntimeError(f"{stem}: NIfTI needs the nibabel package") from error
        path = stem + ".nii.gz" if os.path.exists(stem + ".nii.gz") else stem + ".nii"
        return np.asarray(nibabel.load(path).get_fdata()).T.squeeze()
    return None


def read_camus_dataset(root: str) -> Iterator[Study]:
    """CAMUS: patientNNNN/patientNNNN_{2CH,4CH}_{ED,ES}.mhd with _gt label maps (1 = LV endocardium
    cavity, 2 = myocardium, 3 = left atrium). Yields one two-frame study (ED, ES) per view."""
    for patient_dir in sorted(glob.glob(os.path.join(root, "**", "patient[0-9]*"), recursive=True)):
        if not os.path.isdir(patient_dir):
            continue
        patient = os.path.basename(patient_dir)
        for chamber, view in (("4CH", "a4c"), ("2CH", "a2c")):
            frames, masks = [], []
            for phase in ("ED", "ES"):
                stem = os.path.join(patient_dir, f"{patient}_{chamber}_{phase}")
                image, label = _read_camus_image(stem), _read_camus_image(stem + "_gt")
                if image is None or label is None:
                    break
                frames.append(np.clip(image, 0, 255).astype(np.uint8))
                masks.append(((label == 1) * 255).astype(np.uint8))
            if len(frames) != 2 or frames[0].shape != frames[1].shape:
                continue
            frames_arr = np.stack(frames)
            # CAMUS images are the sector on black: the sector mask is the non-black region (closed).
            nonzero = (frames_arr.max(axis=0) > 0).astype(np.uint8)
            sector = cv2.morphologyEx(nonzero, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8)) * 255
            yield Study(name=f"{patient}_{chamber}", frames=frames_arr, lv_masks=np.stack(masks),
                        labelled=[0, 1], sector_mask=sector, view=view,
                        keyframes={"ed": [0], "es": [1]})


def read_dataset(spec: str) -> Iterator[Study]:
    """'phantom:DIR', 'echonet:DIR[:SPLIT]' or 'camus:DIR'."""
    kind, _, rest = spec.partition(":")
    if kind == "phantom":
        return read_phantom_dataset(rest)
    if kind == "echonet":
        root, _, split = rest.partition(":")
        return read_echonet_dataset(root, split or None)
    if kind == "camus":
        return read_camus_dataset(rest)
    raise ValueError(f"unknown dataset kind in '{spec}' (phantom:, echonet:, camus:)")
