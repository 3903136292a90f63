"""Keyframe crops and answers from cases in the phantom layout (NNNN.frames.npy + NNNN.truth.json).

A case folder in that layout is also how a site brings its own labelled studies: frames as uint8 N x H x W,
and a truth.json with ef_percent, beats [{ed_frame, es_frame}], artifacts (names of ARTIFACT_TO_CODE) and
sector {apex_px, radius_px, half_angle_rad}.

The crop follows the model-input contract of include/echo/preprocess.hpp: the sector's bounding box made
square (shorter side extended symmetrically, the odd pixel to the right/bottom, outside the image 0),
pixels outside the sector 0, resized as float (INTER_AREA shrinking, INTER_LINEAR enlarging), then
(v/255 - mean)/std.
"""
import glob
import json
import math
import os

import cv2
import numpy as np

import vlm_text


def sector_mask(height, width, sector):
    apex = sector["apex_px"]
    ax, ay = (apex["x"], apex["y"]) if isinstance(apex, dict) else (apex[0], apex[1])
    radius = float(sector["radius_px"])
    half_angle = float(sector["half_angle_rad"])
    start_radius = float(sector.get("start_radius_px", 0.0))
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    dx, dy = xs - ax, ys - ay
    r = np.hypot(dx, dy)
    angle = np.arctan2(dx, dy)
    return (r <= radius) & (r >= start_radius) & (np.abs(angle) <= half_angle)


def square_crop_box(mask):
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return 0, 0, max(mask.shape)
    x0, x1, y0, y1 = xs.min(), xs.max(), ys.min(), ys.max()
    w, h = x1 - x0 + 1, y1 - y0 + 1
    side = max(w, h)
    x0 -= (side - w) // 2
    y0 -= (side - h) // 2
    return int(x0), int(y0), int(side)


def _square_canvas(image, mask, box, dtype):
    """The box's square of `image` (pixels outside the sector 0, outside the image 0)."""
    x0, y0, side = box
    h, w = image.shape
    canvas = np.zeros((side, side), dtype)
    sx0, sy0 = max(x0, 0), max(y0, 0)
    sx1, sy1 = min(x0 + side, w), min(y0 + side, h)
    masked = np.where(mask, image, 0).astype(dtype)
    canvas[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = masked[sy0:sy1, sx0:sx1]
    return canvas


def crop_frame(frame, mask, box, size):
    canvas = _square_canvas(frame, mask, box, np.float32)
    interpolation = cv2.INTER_AREA if box[2] > size else cv2.INTER_LINEAR
    return cv2.resize(canvas, (size, size), interpolation=interpolation)


def keyframe_indices(ed, es, count):
    """Same rule as echo::vlm_keyframe_indices (lround, half away from zero)."""
    if count == 1:
        return [ed]
    return [int(math.floor(ed + i / (count - 1) * (es - ed) + 0.5)) for i in range(count)]


def timing_features(indices, frame_count):
    """Where the keyframes sit in their loop (same numbers as echo::vlm_timing_features): [1 (timing known),
    index / (N - 1) of each keyframe in the order given, |last - first| / (N - 1)]. The pixels of four
    keyframes cannot show that a loop is shorter than one beat; these can (ED and ES then sit near the
    loop's ends and ED->ES spans most of it). Computed in double, stored as float32."""
    denominator = float(max(frame_count - 1, 1))
    values = [1.0] + [i / denominator for i in indices] + [abs(indices[-1] - indices[0]) / denominator]
    return np.array(values, np.float32)


def timing_feature_count(keyframes):
    return keyframes + 2


def fallback_keyframes(areas):
    """The analyzer's keyframes when no complete beat was measured (src/analyzer display_keyframes with
    std::minmax_element): ED = the LAST largest LV, ES = the FIRST smallest, in whatever order they fall
    (ES may come before ED; the keyframes then run backwards in time)."""
    areas = np.asarray(areas)
    ed = len(areas) - 1 - int(np.argmax(areas[::-1]))
    es = int(np.argmin(areas))
    return ed, es


def lv_areas(lv_masks_path, frame_count):
    return np.load(lv_masks_path, mmap_mode="r").reshape(frame_count, -1).astype(bool).sum(axis=1)


def case_beats(truth, frame_count, lv_masks_path, fallback_only=False):
    if fallback_only:  # as if the analyzer had measured no beat (its cardiac step failed on this loop)
        return [(*fallback_keyframes(lv_areas(lv_masks_path, frame_count)), None)]
    beats = [(int(b["ed_frame"]), int(b["es_frame"]), b.get("ef_percent")) for b in truth.get("beats", [])
             if 0 <= int(b["ed_frame"]) < frame_count and 0 <= int(b["es_frame"]) < frame_count]
    if beats:
        return beats
    # No complete beat (e.g. a clip shorter than one beat): what the analyzer gives the VLM then, the largest
    # and the smallest LV of the loop (from the LV areas; the analyzer uses its segmentation's).
    if os.path.exists(lv_masks_path):
        ed, es = fallback_keyframes(lv_areas(lv_masks_path, frame_count))
        return [(ed, es, None)]
    return [(0, frame_count - 1, None)]


def answer_codes(truth):
    codes = set()
    for name in truth.get("artifacts", []):
        name = name["name"] if isinstance(name, dict) else name
        code = vlm_text.ARTIFACT_TO_CODE.get(str(name).lower())
        if code is None:
            raise ValueError("unknown artefact name %r in truth.json" % name)
        codes.add(code)
    view = str(truth.get("view", "a4c")).lower()
    if view not in ("a4c", "a2c"):
        codes.add("non_apical_view")
    return codes


def crop_labels(labels, mask, box, size):
    """A chamber label map cropped like crop_frame, with nearest-neighbour resizing (labels are classes)."""
    return cv2.resize(_square_canvas(labels, mask, box, np.uint8), (size, size), interpolation=cv2.INTER_NEAREST)


def load_case(stem, size, keyframes, mean, std, all_beats=True, fallback_only=False, with_labels=False):
    """-> list of samples (frames float32 [K,S,S], ef, codes, timing float32 [K+2], keyframe indices, loop frame
    count, chamber label maps uint8 [K,S,S] or None) for the beats of one case. The label maps (NNNN.labels.npy,
    echoa synth --labels) are read only with `with_labels`."""
    with open(stem + ".truth.json", encoding="utf-8") as f:
        truth = json.load(f)
    frames = np.load(stem + ".frames.npy", mmap_mode="r")
    if frames.ndim == 4:  # N x H x W x C: take luma as the readers do
        frames = np.asarray(frames[..., :3], np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    n, h, w = frames.shape[:3]
    mask = sector_mask(h, w, truth["sector"])
    box = square_crop_box(mask)
    codes = answer_codes(truth)
    samples = []
    beats = case_beats(truth, n, stem + ".lv_masks.npy", fallback_only)
    label_maps = np.load(stem + ".labels.npy", mmap_mode="r") if with_labels and os.path.exists(
        stem + ".labels.npy") else None
    for ed, es, beat_ef in (beats if all_beats else beats[:1]):
        indices = keyframe_indices(ed, es, keyframes)
        crops = np.stack([crop_frame(np.asarray(frames[i]), mask, box, size) for i in indices])
        crops = (crops / 255.0 - mean) / std
        # no EF for a clip without a complete beat (its answer is a rejection; 0 is never used as a label)
        ef = beat_ef if beat_ef is not None else truth.get("ef_percent")
        ef = float(ef) if ef is not None else 0.0
        labels = None if label_maps is None else np.stack(
            [crop_labels(np.asarray(label_maps[i]), mask, box, size) for i in indices])
        samples.append((crops.astype(np.float32), ef, sorted(codes), timing_features(indices, n), indices, n, labels))
    return samples, truth


def case_stems(folder):
    return sorted(p[:-len(".truth.json")] for p in glob.glob(os.path.join(folder, "*.truth.json")))


def codes_to_multi_hot(codes):
    vector = np.zeros(len(vlm_text.REJECTION_ORDER), np.uint8)
    for c in codes:
        vector[vlm_text.REJECTION_ORDER.index(c)] = 1
    return vector
