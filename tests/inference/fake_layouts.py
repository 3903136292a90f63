"""Tiny fake datasets in the phantom, EchoNet-Dynamic and CAMUS layouts, built at test time (no real data)."""
import csv
import json
import os

import cv2
import numpy as np


def _fan(h, w, apex, radius, half_angle):
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    r = np.hypot(xs - apex[0], ys - apex[1])
    a = np.arctan2(xs - apex[0], ys - apex[1])
    return (r <= radius) & (np.abs(a) <= half_angle)


def _ellipse(h, w, cx, cy, rx, ry):
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    return ((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2 < 1.0


def make_phantom(directory, cases=2, frames=6, h=120, w=160, seed=0):
    """NNNN.frames.npy / NNNN.lv_masks.npy (uint8 T x H x W) and NNNN.truth.json like echoa synth."""
    os.makedirs(directory, exist_ok=True)
    rng = np.random.default_rng(seed)
    apex, radius, half = (w / 2.0, 4.0), h - 8.0, 0.7
    fan = _fan(h, w, apex, radius, half)
    for c in range(cases):
        view = "a4c" if c % 2 == 0 else "a2c"
        frame_list, mask_list = [], []
        for t in range(frames):
            scale = 1.0 - 0.3 * np.sin(np.pi * t / (frames - 1))
            lv = _ellipse(h, w, w * 0.45, h * 0.45, 14 * scale, 30 * scale)
            image = rng.uniform(60, 140, size=(h, w)) * fan
            image[lv] = rng.uniform(0, 25, size=lv.sum())
            frame_list.append(image.astype(np.uint8))
            mask_list.append((lv * 255).astype(np.uint8))
        stem = os.path.join(directory, f"{c:04d}")
        np.save(stem + ".frames.npy", np.stack(frame_list))
        np.save(stem + ".lv_masks.npy", np.stack(mask_list))
        truth = {"params": {"view": view}, "view": view,
                 "sector": {"apex_px": {"x": apex[0], "y": apex[1]}, "radius_px": radius,
                            "half_angle_rad": half, "start_radius_px": 0.0},
                 "beats": [{"ed_frame": 0, "es_frame": frames // 2}]}
        with open(stem + ".truth.json", "w") as f:
            json.dump(truth, f)
    return directory


def make_echonet(root, videos=2, frames=8, size=112, seed=0):
    """FileList.csv, VolumeTracings.csv (long axis + chords per traced frame), Videos/*.avi."""
    os.makedirs(os.path.join(root, "Videos"), exist_ok=True)
    rng = np.random.default_rng(seed)
    fan = _fan(size, size, (size / 2, 0), size - 2, 0.75)
    with open(os.path.join(root, "FileList.csv"), "w", newline="") as f_list, \
            open(os.path.join(root, "VolumeTracings.csv"), "w", newline="") as f_trace:
        files = csv.writer(f_list)
        files.writerow(["FileName", "EF", "ESV", "EDV", "FrameHeight", "FrameWidth", "FPS", "NumberOfFrames",
                        "Split"])
        traces = csv.writer(f_trace)
        traces.writerow(["FileName", "X1", "Y1", "X2", "Y2", "Frame"])
        for v in range(videos):
            name = f"0X{v:04d}"
            writer = cv2.VideoWriter(os.path.join(root, "Videos", name + ".avi"),
                                     cv2.VideoWriter_fourcc(*"MJPG"), 50, (size, size))
            for t in range(frames):
                ry = 30 if t == 1 else 22 if t == 5 else 26
                lv = _ellipse(size, size, 50, 50, 12, ry)
                image = (rng.uniform(90, 160, size=(size, size)) * fan).astype(np.uint8)
                image[lv] = 10
                writer.write(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
                if t in (1, 5):
                    traces.writerow([name + ".avi", 50, 50 - ry, 50, 50 + ry, t])  # long axis
                    for y in np.linspace(50 - ry + 2, 50 + ry - 2, 12):
                        half = 12 * np.sqrt(max(0.0, 1 - ((y - 50) / ry) ** 2))
                        traces.writerow([name + ".avi", 50 - half, y, 50 + half, y, t])
            writer.release()
            files.writerow([name, 60, 20, 50, size, size, 50, frames, "TRAIN" if v == 0 else "VAL"])
    return root


def _write_mhd(stem, array):
    with open(stem + ".raw", "wb") as f:
        f.write(array.astype(np.uint8).tobytes())
    with open(stem + ".mhd", "w") as f:
        f.write(f"ObjectType = Image\nNDims = 3\nDimSize = {array.shape[1]} {array.shape[0]} 1\n"
                f"ElementType = MET_UCHAR\nElementDataFile = {os.path.basename(stem)}.raw\n")


def make_camus(root, patients=1, h=100, w=80):
    """patientNNNN/patientNNNN_{2CH,4CH}_{ED,ES}.mhd/.raw and *_gt (1 = LV cavity, 2 = myocardium, 3 = LA)."""
    for p in range(1, patients + 1):
        name = f"patient{p:04d}"
        folder = os.path.join(root, name)
        os.makedirs(folder, exist_ok=True)
        fan = _fan(h, w, (w / 2, 0), h - 2, 0.7)
        for chamber in ("2CH", "4CH"):
            for phase, ry in (("ED", 25), ("ES", 18)):
                lv = _ellipse(h, w, 40, 45, 10, ry)
                myo = _ellipse(h, w, 40, 45, 14, ry + 4) & ~lv
                image = (fan * 120).astype(np.uint8)
                image[lv] = 15
                labels = np.zeros((h, w), np.uint8)
                labels[myo] = 2
                labels[lv] = 1
                _write_mhd(os.path.join(folder, f"{name}_{chamber}_{phase}"), image)
                _write_mhd(os.path.join(folder, f"{name}_{chamber}_{phase}_gt"), labels)
    return root
