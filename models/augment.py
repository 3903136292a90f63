"""Augmentation toward what real scanners produce, and the proxies of the "other" view class.

Samples live in a working square of WORK x WORK pixels (the contract crop at twice the model size). Every
transform keeps three aligned arrays -- image (float 0..255), LV mask (0/1), sector mask (0/1) -- and the
sample is finished by the model input contract: sector bounding box squared, pixels outside the sector = 0,
INTER_AREA down to the model size. Every draw comes from the numpy Generator passed in (reproducible).
"""
import math
from typing import Tuple

import cv2
import numpy as np

from echo_data import INPUT_SIZE, VIEW_INDEX, crop_square, resize_contract, square_crop_box, visible_lv

WORK = 2 * INPUT_SIZE


# ----------------------------------------------------------------------------------------------
# geometry
# ----------------------------------------------------------------------------------------------

def _warp(arrays, matrix, size, interpolations):
    return [cv2.warpAffine(a, matrix, (size, size), flags=interp, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            for a, interp in zip(arrays, interpolations)]


def _sector_apex(sector: np.ndarray) -> Tuple[float, float]:
    """Top centre of the sector's bounding box: the apex of a fan whose tip is in the image."""
    ys, xs = np.nonzero(sector)
    if len(xs) == 0:
        return sector.shape[1] / 2.0, 0.0
    return (xs.min() + xs.max()) / 2.0, float(ys.min())


def geometric(image, lv, sector, rng):
    # left-right flip: some vendors / sites show the A4C mirrored
    if rng.random() < 0.5:
        image, lv, sector = image[:, ::-1].copy(), lv[:, ::-1].copy(), sector[:, ::-1].copy()
    # small rotation about the apex, scale, shift (probe angulation, different hearts)
    ax, ay = _sector_apex(sector)
    angle = rng.uniform(-12, 12)
    scale = rng.uniform(0.75, 1.2)  # the detected fan of a real scanner may be wider than the image
    matrix = cv2.getRotationMatrix2D((ax, ay), angle, scale)
    matrix[:, 2] += rng.uniform(-8, 8, size=2)
    image, lv, sector = _warp([image, lv, sector], matrix, WORK, [cv2.INTER_LINEAR, cv2.INTER_NEAREST,
                                                                  cv2.INTER_NEAREST])
    return image, lv, sector


def depth_and_width(image, lv, sector, rng):
    """Shallower or deeper imaging depth and a narrower fan: the LV takes another share of the crop."""
    ax, ay = _sector_apex(sector)
    ys, xs = np.mgrid[0:WORK, 0:WORK]
    radius = np.hypot(xs - ax, ys - ay)
    max_radius = radius[sector > 0].max() if sector.any() else WORK
    choice = rng.random()
    if choice < 0.45:
        # deeper: shrink the content towards the apex and continue the fan with tissue-like speckle (real
        # scanners often image a small heart in a deep fan: down to about half the phantom's share)
        factor = rng.uniform(0.55, 0.95)
        matrix = cv2.getRotationMatrix2D((ax, ay), 0.0, factor)
        image, lv, shrunk = _warp([image, lv, sector], matrix, WORK, [cv2.INTER_AREA, cv2.INTER_NEAREST,
                                                                       cv2.INTER_NEAREST])
        fill = speckle_texture(rng, WORK, mean=rng.uniform(5, 70))
        outer = (sector > 0) & (shrunk == 0)
        image = np.where(outer, fill, image)
    elif choice < 0.65:
        # shallower: cut the fan (never above the LV's lowest point + a margin)
        lv_radius = radius[lv > 0].max() if lv.any() else 0.0
        low = max(lv_radius + 6, 0.7 * max_radius)
        if low < max_radius:
            sector = sector * (radius <= rng.uniform(low, max_radius))
    if rng.random() < 0.3:
        # narrower fan
        angle = np.arctan2(xs - ax, ys - ay)
        half = rng.uniform(0.45, 0.75)
        sector = sector * (np.abs(angle) <= half)
    return image, lv, sector.astype(np.uint8)


def dark_surroundings(image, lv, rng):
    """Only the heart echoes: on real scans lung, liver and the far field are often near-black, so the heart
    sits in a dark fan (the phantom fills its fan with tissue). A soft ellipse around where the heart is
    (the LV with the atria below it and the other ventricle beside it) keeps its brightness; outside it the
    image fades to a floor of 0-35 %."""
    ys, xs = np.nonzero(lv)
    if len(xs) > 0:
        cx, top = xs.mean(), ys.min()
        lv_w, lv_h = max(8.0, float(xs.max() - xs.min())), max(8.0, float(ys.max() - ys.min()))
        cy = top + lv_h * rng.uniform(0.7, 1.1)
    else:
        cx, cy = rng.uniform(0.3, 0.7) * WORK, rng.uniform(0.35, 0.65) * WORK
        lv_w, lv_h = 0.2 * WORK, 0.35 * WORK
    a, b = lv_w * rng.uniform(1.3, 2.3), lv_h * rng.uniform(0.9, 1.4)
    grid_y, grid_x = np.mgrid[0:WORK, 0:WORK].astype(np.float32)
    inside = (((grid_x - cx) / a) ** 2 + ((grid_y - cy) / b) ** 2 <= 1.0).astype(np.float32)
    soft = cv2.GaussianBlur(inside, (0, 0), rng.uniform(6, 20))
    floor = rng.uniform(0.0, 0.35)
    return image * (floor + (1 - floor) * soft)


# ----------------------------------------------------------------------------------------------
# intensity
# ----------------------------------------------------------------------------------------------

def speckle_texture(rng, size, mean=50.0, grain=None):
    grain = grain or rng.uniform(1.0, 4.0)
    small = max(4, int(size / grain))
    noise = rng.rayleigh(1.0, size=(small, small)).astype(np.float32)
    noise = cv2.resize(noise, (size, size), interpolation=cv2.INTER_LINEAR)
    return noise / noise.mean() * mean


def intensity(image, sector, rng):
    x = image.astype(np.float32) / 255.0
    # multiplicative speckle of a random grain size (different transducers / frequencies)
    if rng.random() < 0.7:
        grain = rng.uniform(1.0, 5.0)
        small = max(8, int(WORK / grain))
        speckle = rng.rayleigh(1.0, size=(small, small)).astype(np.float32)
        speckle = cv2.resize(speckle, (WORK, WORK), interpolation=cv2.INTER_LINEAR) / 1.2533
        strength = rng.uniform(0.1, 0.6)
        x = x * ((1 - strength) + strength * speckle)
    # blur (poor focus, smoothing filters)
    if rng.random() < 0.4:
        sigma = rng.uniform(0.5, 2.5)
        x = cv2.GaussianBlur(x, (0, 0), sigma)
    # depth-dependent attenuation / time-gain compensation mismatch
    if rng.random() < 0.4:
        ramp = np.linspace(rng.uniform(0.7, 1.3), rng.uniform(0.5, 1.4), WORK, dtype=np.float32)[:, None]
        x = x * ramp
    # gain, gamma / contrast curve, haze (clutter in the cavity)
    x = x * rng.uniform(0.5, 1.8)
    x = np.clip(x, 0, 1) ** rng.uniform(0.5, 1.8)
    if rng.random() < 0.3:
        k = rng.uniform(4, 10)
        x = 1 / (1 + np.exp(-k * (x - rng.uniform(0.3, 0.6))))
        x = (x - x.min()) / max(1e-6, x.max() - x.min())
    if rng.random() < 0.4:
        haze = rng.uniform(0.02, 0.2)
        x = haze + (1 - haze) * x
    # electronic noise
    if rng.random() < 0.5:
        x = x + rng.normal(0, rng.uniform(0.01, 0.06), size=x.shape).astype(np.float32)
    x = np.clip(x, 0, 1) * 255.0
    # quantisation to 8 bits as a scanner stores it, sometimes JPEG-like block loss
    x = np.round(x)
    if rng.random() < 0.2:
        quality = int(rng.uniform(30, 90))
        ok, encoded = cv2.imencode(".jpg", x.astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            x = cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE).astype(np.float32)
    return x


def overlays(image, sector, rng):
    """Burned-in marks that reach into the sector: focus markers, depth ticks, ECG trace, text, calipers."""
    image = image.copy()
    for _ in range(rng.integers(0, 4)):
        kind = rng.random()
        value = float(rng.uniform(150, 255))
        mark = np.zeros((WORK, WORK), np.uint8)  # drawn in 8 bits: OpenCV 5 draws text on 8-bit images only
        if kind < 0.35:  # text-like block
            x, y = int(rng.uniform(0, WORK - 30)), int(rng.uniform(0, WORK - 10))
            cv2.putText(mark, str(int(rng.uniform(0, 999))), (x, y + 8), cv2.FONT_HERSHEY_SIMPLEX,
                        rng.uniform(0.25, 0.45), 255, 1)
        elif kind < 0.6:  # ECG-like trace across the lower part
            y0 = rng.uniform(0.7, 0.95) * WORK
            xs = np.arange(0, WORK, 2)
            ys = y0 + 6 * np.sin(xs / rng.uniform(5, 15)) * (rng.random(len(xs)) > 0.8)
            points = np.stack([xs, ys], axis=1).astype(np.int32)
            cv2.polylines(mark, [points], False, 255, 1)
        elif kind < 0.8:  # caliper crosses / focus marker
            x, y = int(rng.uniform(10, WORK - 10)), int(rng.uniform(10, WORK - 10))
            cv2.drawMarker(mark, (x, y), 255, cv2.MARKER_CROSS, int(rng.uniform(4, 10)), 1)
        else:  # depth ticks on the fan edge
            x = int(rng.uniform(0, WORK))
            for y in range(0, WORK, int(rng.uniform(10, 25))):
                cv2.line(mark, (x, y), (x + 3, y), 255, 1)
        image[mark > 0] = value
    return image


# ----------------------------------------------------------------------------------------------
# realism from the label maps (model 1.2): what real apical loops show and the phantom renderer does not
# ----------------------------------------------------------------------------------------------

# echo::ChamberLabel values in NNNN.labels.npy
BACKGROUND, LV_CAVITY, LV_WALL, LA, RV, RA, OTHER_WALL, PERICARDIUM = range(8)
BLOOD = (LV_CAVITY, LA, RV, RA)


def _smooth_field(rng, size, cells, sigma=1.0):
    """A smooth random field of unit spread (a few cells across the square), for slow variations."""
    small = rng.normal(0, sigma, size=(cells, cells)).astype(np.float32)
    return cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)


def _apex_distance(sector):
    ax, ay = _sector_apex(sector)
    ys, xs = np.mgrid[0:WORK, 0:WORK].astype(np.float32)
    return np.hypot(xs - ax, ys - ay), np.arctan2(xs - ax, ys - ay)


def _grow_walls(labels, rng):
    """Real septum, lateral wall and pericardium are thick and smooth: grow the wall labels into the
    surrounding tissue by a random radius (never into a cavity)."""
    for wall in (LV_WALL, OTHER_WALL, PERICARDIUM):
        radius = int(rng.integers(0, 7))
        if radius == 0:
            continue
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        grown = cv2.dilate((labels == wall).astype(np.uint8), kernel) > 0
        labels = np.where(grown & (labels == BACKGROUND), wall, labels)
    return labels


def _label_means(rng):
    """Mean echo level (0..1) of each label. Mostly physical (blood darker than muscle, pericardium
    brightest) with wide, overlapping ranges; sometimes fully random (SynthSeg: shape, not grey level,
    must define the cavity)."""
    if rng.random() < 0.1:
        return rng.uniform(0, 1, size=8).astype(np.float32)
    means = np.empty(8, np.float32)
    means[BACKGROUND] = rng.uniform(0.05, 0.5)
    for label in BLOOD:
        means[label] = rng.uniform(0.0, 0.25)
    means[LV_WALL] = rng.uniform(0.3, 0.9)
    means[OTHER_WALL] = rng.uniform(0.5, 1.0)  # valve leaflets and annulus stay visible: the LV ends there
    means[PERICARDIUM] = max(means[LV_WALL], rng.uniform(0.55, 1.0))
    return means


def appearance_from_labels(labels, lv, sector, rng):
    """A new image drawn from the chamber label map alone (SynthSeg-style domain randomisation): random
    level per label, thickened walls, multiplicative speckle of random grain, tissue texture and blobs
    outside the heart, partial-volume blur wider across the beam than along it. Returns float 0..255."""
    labels = labels.astype(np.int32).copy()
    labels[lv > 0] = LV_CAVITY  # image and target agree at the annulus line
    if rng.random() < 0.8:
        labels = _grow_walls(labels, rng)
    x = _label_means(rng)[labels]
    # slow variation of each tissue's level (and liver / lung patches outside the heart)
    x = x * np.exp(0.35 * _smooth_field(rng, WORK, int(rng.integers(3, 9))))
    for _ in range(rng.integers(0, 4)):
        centre = (int(rng.uniform(0, WORK)), int(rng.uniform(0, WORK)))
        axes = (int(rng.uniform(8, 50)), int(rng.uniform(5, 30)))
        blob = np.zeros((WORK, WORK), np.uint8)
        cv2.ellipse(blob, centre, axes, rng.uniform(0, 180), 0, 360, 1, -1)
        x = np.where((blob > 0) & (labels == BACKGROUND), rng.uniform(0, 0.8), x)
    grain = rng.uniform(1.0, 4.0)
    strength = rng.uniform(0.3, 0.9)
    x = x * ((1 - strength) + strength * speckle_texture(rng, WORK, mean=1.0, grain=grain))
    sigma_lateral, sigma_axial = rng.uniform(0.5, 3.0), rng.uniform(0.3, 1.5)
    x = cv2.GaussianBlur(x.astype(np.float32), (0, 0), sigmaX=sigma_lateral, sigmaY=sigma_axial)
    return np.clip(x, 0, 1.2) * 255.0 / 1.2


def clutter_haze_dropout(image, labels, sector, rng):
    """Near-field clutter over the apex, haze in the blood pools (worst near the apex), and lateral-wall
    dropout: the three things REALDATA.md names first in real loops that the renderer lacks."""
    x = image.astype(np.float32)
    radius, angle = _apex_distance(sector)
    depth = max(1.0, float(radius[sector > 0].max()) if sector.any() else WORK)
    texture = speckle_texture(rng, WORK, mean=1.0, grain=rng.uniform(1.5, 4.0))
    if rng.random() < 0.6:  # reverberation / near-field clutter band
        reach = rng.uniform(0.08, 0.35) * depth
        level = rng.uniform(20, 140)
        x = x + level * np.exp(-(radius / reach) ** 2) * texture
    if labels is not None and rng.random() < 0.5:  # haze in the cavities
        blood = np.isin(labels, BLOOD)
        level = rng.uniform(5, 45) * (0.5 + np.exp(-radius / (0.4 * depth)))
        field = np.clip(1 + 0.5 * _smooth_field(rng, WORK, int(rng.integers(3, 8))), 0, None)
        x = np.where(blood, x + level * field * texture, x)
    if rng.random() < 0.4:  # dropout of a lateral wall (beam parallel to the wall)
        centre = rng.choice([-1, 1]) * rng.uniform(0.15, 0.6)
        width = rng.uniform(0.08, 0.3)
        x = x * (1 - rng.uniform(0.4, 0.9) * np.exp(-((angle - centre) / width) ** 2))
    return np.clip(x, 0, 255)


def echonet_window(image, lv, sector, rng):
    """A square window just below the fan apex, narrower than the fan (EchoNet-Dynamic's centred square
    with 10 % trimmed off every border): the heart fills a large share of the image, the fan's sides are
    cut off, the LV stays inside the window."""
    ax, ay = _sector_apex(sector)
    ys, xs = np.nonzero(lv)
    side = rng.uniform(0.5, 0.85) * WORK
    y0 = ay + rng.uniform(-0.05, 0.1) * side
    if len(ys):
        side = max(side, (ys.max() - y0) / 0.85, (xs.max() - xs.min()) / 0.8)
    x0 = ax - side / 2 + rng.uniform(-0.08, 0.08) * side
    if len(xs):
        x0 = min(max(x0, xs.max() - 0.92 * side), xs.min() - 0.08 * side)
    scale = WORK / side
    matrix = np.float32([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]])
    return _warp([image, lv, sector], matrix, WORK, [cv2.INTER_LINEAR, cv2.INTER_NEAREST, cv2.INTER_NEAREST])


# ----------------------------------------------------------------------------------------------
# "other" view proxies (the phantom has only A4C / A2C)
# ----------------------------------------------------------------------------------------------

def other_from_apical(image, lv, sector, rng):
    """Parasternal-like orientation: the apical content rotated by about 90 degrees or flipped upside down,
    inside the same fan. The LV mask follows the content (it is still the LV)."""
    ax, ay = _sector_apex(sector)
    centre = (WORK / 2.0, WORK / 2.0 + 0.1 * WORK)
    choice = rng.random()
    if choice < 0.7:
        angle = rng.choice([-1, 1]) * rng.uniform(65, 115)
    else:
        angle = 180 + rng.uniform(-20, 20)
    matrix = cv2.getRotationMatrix2D(centre, angle, rng.uniform(0.9, 1.3))
    image, lv = _warp([image, lv], matrix, WORK, [cv2.INTER_LINEAR, cv2.INTER_NEAREST])
    fill = speckle_texture(rng, WORK, mean=rng.uniform(20, 60))
    rotated_support = _warp([np.ones((WORK, WORK), np.uint8)], matrix, WORK, [cv2.INTER_NEAREST])[0]
    image = np.where(rotated_support > 0, image, fill)
    return image, lv * (sector > 0), sector


def short_axis_like(sector, rng):
    """A round cavity ringed by brighter myocardium in a fan (short-axis-like): cavity labelled LV."""
    ax, ay = _sector_apex(sector)
    image = speckle_texture(rng, WORK, mean=rng.uniform(25, 60))
    cx = ax + rng.uniform(-0.1, 0.1) * WORK
    cy = ay + rng.uniform(0.35, 0.6) * WORK
    r = rng.uniform(0.08, 0.18) * WORK
    ys, xs = np.mgrid[0:WORK, 0:WORK]
    d = np.hypot((xs - cx) / rng.uniform(0.85, 1.15), ys - cy)
    wall = (d >= r) & (d < r * rng.uniform(1.3, 1.7))
    image = np.where(wall, image * rng.uniform(2.0, 3.5), image)
    cavity = d < r
    image = np.where(cavity, image * rng.uniform(0.05, 0.3), image)
    if rng.random() < 0.5:  # right ventricle crescent
        rv = (np.hypot(xs - (cx - 1.6 * r), ys - cy) < 1.2 * r) & ~wall & ~cavity
        image = np.where(rv, image * 0.2, image)
    return np.clip(image, 0, 255), cavity.astype(np.uint8), sector


def no_lv(sector, rng):
    """A fan of tissue texture with bright and dark structures but no LV cavity (e.g. the probe off the heart,
    liver or lung windows)."""
    image = speckle_texture(rng, WORK, mean=rng.uniform(20, 90))
    for _ in range(rng.integers(0, 5)):
        centre = (int(rng.uniform(0, WORK)), int(rng.uniform(0, WORK)))
        axes = (int(rng.uniform(5, 40)), int(rng.uniform(3, 20)))
        blob = np.zeros((WORK, WORK), np.uint8)
        cv2.ellipse(blob, centre, axes, rng.uniform(0, 180), 0, 360, 1, -1)
        image[blob > 0] = float(rng.uniform(0, 200))
    return cv2.GaussianBlur(image, (0, 0), rng.uniform(0.5, 2.0)), np.zeros((WORK, WORK), np.uint8), sector


# ----------------------------------------------------------------------------------------------
# the contract finish and the full pipeline
# ----------------------------------------------------------------------------------------------

def finish(image, lv, sector, size=INPUT_SIZE):
    """Contract crop of the (augmented) sector and resize to the model size: (input float, target 0/1)."""
    box = square_crop_box(sector)
    inside = image * (sector > 0)
    x = resize_contract(crop_square(inside.astype(np.float32), *box), size)
    y = resize_contract(crop_square(visible_lv(lv, sector).astype(np.float32), *box), size) >= 0.5
    return x / 255.0, y.astype(np.float32)


def make_sample(image, lv, sector, view_index, rng, other_fraction=0.25, augment=True, labels=None,
                label_fraction=0.5):
    """One training sample from a stored working-size crop: (input 1xSxS, target 1xSxS, view index). With a
    label map, `label_fraction` of the apical samples get their appearance drawn from the labels alone."""
    image = image.astype(np.float32)
    lv = (lv > 0).astype(np.uint8)
    sector = (sector > 0).astype(np.uint8)
    if augment and labels is not None:
        if rng.random() < label_fraction:
            image = appearance_from_labels(labels, lv, sector, rng)
        image = clutter_haze_dropout(image, labels, sector, rng)
    if augment and rng.random() < other_fraction:
        choice = rng.random()
        if choice < 0.5:
            image, lv, sector = other_from_apical(image, lv, sector, rng)
        elif choice < 0.8:
            image, lv, sector = short_axis_like(sector, rng)
        else:
            image, lv, sector = no_lv(sector, rng)
        view_index = VIEW_INDEX["other"]
    if augment:
        image, lv, sector = geometric(image, lv, sector, rng)
        if labels is not None and view_index != VIEW_INDEX["other"] and rng.random() < 0.4:
            image, lv, sector = echonet_window(image, lv, sector, rng)
        else:
            image, lv, sector = depth_and_width(image, lv, sector, rng)
        if rng.random() < 0.4:
            image = dark_surroundings(image, lv, rng)
        image = intensity(image, sector, rng)
        if rng.random() < 0.4:
            image = overlays(image, sector, rng)
    x, y = finish(image, lv, sector)
    return x[None].astype(np.float32), y[None].astype(np.float32), int(view_index)
