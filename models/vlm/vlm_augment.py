"""Appearance augmentation of VLM keyframe samples: the range of looks a clean apical loop has on real scanners,
drawn without changing what defines each artefact (train_vlm.py --appearance).

A clean phantom has one narrow look (gain within 2.5 dB, a thin grainy wall, the whole fan in view), so a VLM
trained on it calls every other look an artefact: on real loops it declined nine in ten for "blurred", "probe
motion", "over-gain" and "low contrast" while the quality gate, which measures those physically, passed them
(docs/model.md, "On real echoes"). Each transform below is applied to all K keyframes of a sample alike, and only
to samples whose answer it cannot change:

- zoom about the apex (1-1.35x; "wide" ranges 1-1.6x, up to 1.3x more across the beam): the heart fills more of the square and the fan's sides leave it, as in loops
  cropped to a square inside the fan; not for "LV cut off" or "foreshortened", which the fan edge and the apex
  define;
- display gain as a multiplication (x1-1.8, "wide" x1-2.5, clipped): walls and pericardium bright over blood that stays black.
  Over-gain adds to every pixel, blood included (+24 dB in the generator lifts the pools to grey), so a
  multiplication cannot imitate it; and a gamma of 0.8-1.25. Neither for the gain and contrast artefacts;
- a softer image (Gaussian, sigma 0.3-0.9 px at 112): speckle averaged into mottle by a smaller acquisition
  matrix or persistence; far from the generator's blur (a point-spread function 3x wider and 5x longer), kept
  for every answer;
- near-field clutter: a smooth haze over the apex that fades with depth, the same on every keyframe (it sits
  in the chest wall); not for the gain and contrast artefacts (low contrast fills the whole fan with clutter), nor
  for probe motion, which would move it with the rest of the image.
- ("wide" only) speckle decorrelation: each keyframe multiplied by its own fine noise field, as the speckle of a
  real loop changes everywhere between ED and ES; for every answer (probe motion moves the image, it does not
  only renew its texture);
- ("wide" only) speckle reduction: a 3 x 3 median, smooth tissue with sharp borders as real loops show at 112
  (the blur artefact widens the point-spread function: borders go soft too); for every answer.
With label maps (make_dataset.py --labels), a share of the clean samples is first drawn anew from the chamber
label map alone (the segmentation recipe's SynthSeg-style redraw), so that "clean" spans wall thickness, tissue
levels and texture far beyond the renderer's one look.
Frames are model input with mean 0 and std 1, i.e. v/255 in [0, 1] inside the sector and 0 outside.
"""
import math
import os
import sys

import cv2
import numpy as np
import torch
import torch.nn.functional as F

import vlm_text

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import augment  # noqa: E402  (models/augment.py: the segmentation recipe's label-map redraw)

_CODE = {c: i for i, c in enumerate(vlm_text.REJECTION_ORDER)}
GEOMETRY_DEFINED = ("lv_cut_off", "foreshortened")
LEVEL_DEFINED = ("overgain", "undergain", "low_contrast")


def _has_any(codes_row, names):
    return any(codes_row[_CODE[n]] > 0.5 for n in names)


def _uniform(generator, low, high):
    return low + (high - low) * float(torch.rand((), generator=generator))


def _chance(generator, p):
    return float(torch.rand((), generator=generator)) < p


def zoom_about_apex(frames, scale, lateral_scale=None):
    """[K,S,S] magnified by `scale` (across the beam by `lateral_scale`, default the same) about the top centre,
    where the sector's apex sits in the crop."""
    k, s, _ = frames.shape
    lateral = scale if lateral_scale is None else lateral_scale
    # affine_grid maps output coords in [-1,1] to input coords; the apex is (0, -1).
    theta = torch.tensor([[1.0 / lateral, 0.0, 0.0], [0.0, 1.0 / scale, -1.0 + 1.0 / scale]]).expand(k, 2, 3)
    grid = F.affine_grid(theta, (k, 1, s, s), align_corners=False)
    return F.grid_sample(frames.unsqueeze(1), grid, mode="bilinear", padding_mode="zeros",
                         align_corners=False).squeeze(1)


def gaussian_soften(frames, sigma):
    radius = max(1, int(math.ceil(3 * sigma)))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    kernel = kernel / kernel.sum()
    f = frames.unsqueeze(1)
    f = F.conv2d(F.pad(f, (radius, radius, 0, 0), mode="replicate"), kernel.view(1, 1, 1, -1))
    f = F.conv2d(F.pad(f, (0, 0, radius, radius), mode="replicate"), kernel.view(1, 1, -1, 1))
    return f.squeeze(1)


def near_field_clutter(frames, generator, amplitude, depth_px):
    k, s, _ = frames.shape
    inside = (frames > 0).any(dim=0).float()
    rows = torch.arange(s, dtype=torch.float32).view(s, 1)
    columns = torch.arange(s, dtype=torch.float32).view(1, s)
    phase = _uniform(generator, 0, 2 * math.pi)
    lateral = 0.6 + 0.4 * torch.cos(2 * math.pi * columns / _uniform(generator, 25, 60) + phase)
    haze = amplitude * torch.exp(-rows / depth_px) * lateral * inside
    return frames + haze.unsqueeze(0)


# (zoom, extra lateral zoom, gain) upper bounds. "wide": the heart filling the square as in EchoNet's crops (the
# fan wider than the square, the four chambers across most of its width) and walls driven into saturation.
RANGES = {"narrow": (1.35, 1.0, 1.8), "wide": (1.6, 1.3, 2.5)}


def redraw_from_labels(frames, label_maps, seed):
    """The K keyframes of a clean sample drawn anew from their chamber label maps alone (SynthSeg-style: a random
    level per label, thick walls, tissue texture and blobs outside the heart; augment.appearance_from_labels),
    with one draw of levels and fields for all K so that only the anatomy changes from frame to frame. Pixels
    outside the sector stay 0. frames [K,S,S] float, label_maps [K,S,S] uint8 -> [K,S,S] float in [0,1]."""
    k, s, _ = frames.shape
    inside = F.max_pool2d((frames > 0).any(dim=0).float()[None, None], 5, 1, 2)[0, 0].numpy() > 0
    out = np.empty((k, s, s), np.float32)
    for i in range(k):
        labels = cv2.resize(np.asarray(label_maps[i]), (augment.WORK, augment.WORK), interpolation=cv2.INTER_NEAREST)
        image = augment.appearance_from_labels(labels, labels == augment.LV_CAVITY, None, np.random.default_rng(seed))
        out[i] = cv2.resize(image / 255.0, (s, s), interpolation=cv2.INTER_AREA) * inside
    return torch.from_numpy(out).clamp(0.0, 1.0)


def speckle_reduction(frames, size):
    """A median over size x size pixels: the grain of the speckle goes, edges stay sharp, as with a scanner's
    speckle-reduction filter or a fine acquisition matrix averaged down to the model's 112 pixels (real loops at
    112 show smooth tissue with sharp borders; a phantom rendered for 112 keeps a grain of 1-2 pixels)."""
    k, s, _ = frames.shape
    pad = size // 2
    padded = F.pad(frames.unsqueeze(1), (pad, pad, pad, pad), mode="replicate")
    patches = F.unfold(padded, size)  # [K, size*size, S*S]
    return patches.median(dim=1).values.view(k, s, s)


def speckle_decorrelation(frames, generator, strength):
    """Multiplies each keyframe by its own fine-grained noise field: on real loops the speckle of the whole
    image decorrelates between ED and ES (out-of-plane and tissue motion), while the phantom's speckle is fixed
    to the tissue, so that only its probe-motion artefact changed the texture everywhere."""
    k, s, _ = frames.shape
    noise = torch.randn((k, s, s), generator=generator)
    noise = gaussian_soften(noise, 0.7)
    noise = noise / noise.std().clamp(min=1e-6)
    return frames * (1.0 + strength * noise).clamp(min=0.0)


def appearance_augment(frames, codes, generator, probability=0.5, ranges="narrow", label_maps=None,
                       label_fraction=0.0):
    """frames [B,K,S,S] float in [0,1], codes [B,C] multi-hot -> augmented copy (same shape). With label_maps
    ([B,K,S,S] uint8, all zero where a sample has none), label_fraction of the clean samples are first redrawn
    from their label maps (redraw_from_labels)."""
    max_zoom, max_lateral, max_gain = RANGES[ranges]
    out = frames.clone()
    for i in range(frames.shape[0]):
        x = out[i]
        row = codes[i]
        if (label_maps is not None and label_fraction > 0 and float(row.sum()) == 0 and bool(label_maps[i].any())
                and _chance(generator, label_fraction)):
            x = redraw_from_labels(x, label_maps[i].numpy(), int(torch.randint(0, 2**31 - 1, (), generator=generator)))
        if _chance(generator, probability) and not _has_any(row, GEOMETRY_DEFINED):
            scale = _uniform(generator, 1.0, max_zoom)
            x = zoom_about_apex(x, scale, scale * _uniform(generator, 1.0, max_lateral))
        if not _has_any(row, LEVEL_DEFINED):
            if _chance(generator, probability):
                x = (x * _uniform(generator, 1.0, max_gain)).clamp(0.0, 1.0)
            if _chance(generator, probability):
                x = x.clamp(min=0.0) ** _uniform(generator, 0.8, 1.25)
            if _chance(generator, 0.3) and not _has_any(row, ("probe_motion",)):
                x = near_field_clutter(x, generator, _uniform(generator, 0.05, 0.25), _uniform(generator, 8, 20))
        if _chance(generator, probability):
            x = gaussian_soften(x, _uniform(generator, 0.3, 0.9))
        if ranges == "wide" and _chance(generator, probability):
            x = speckle_decorrelation(x, generator, _uniform(generator, 0.1, 0.4))
        if ranges == "wide" and _chance(generator, probability):
            x = speckle_reduction(x, 3)
        out[i] = x.clamp(0.0, 1.0)
    return out
