"""The VLM's appearance augmentation (models/vlm/vlm_augment.py) never changes what defines an artefact."""
import os
import sys

import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "models", "vlm"))
import vlm_augment  # noqa: E402
import vlm_text  # noqa: E402


def keyframes(batch=6, size=112):
    """A sector of grey tissue (0.4) around a black cavity, zeros outside the sector."""
    x = torch.zeros(batch, 4, size, size)
    x[:, :, :, 20:92] = 0.4
    x[:, :, 40:80, 45:67] = 0.0
    return x


def codes_with(*names):
    row = torch.zeros(len(vlm_text.REJECTION_ORDER))
    for name in names:
        row[vlm_text.REJECTION_ORDER.index(name)] = 1.0
    return row


def test_the_same_seed_gives_the_same_samples_and_values_stay_in_range():
    x = keyframes()
    codes = torch.zeros(x.shape[0], len(vlm_text.REJECTION_ORDER))
    for ranges in vlm_augment.RANGES:
        a = vlm_augment.appearance_augment(x, codes, torch.Generator().manual_seed(3), 1.0, ranges)
        b = vlm_augment.appearance_augment(x, codes, torch.Generator().manual_seed(3), 1.0, ranges)
        assert torch.equal(a, b)
        assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0
        assert not torch.equal(a, x), "probability 1 must change a clean sample"
        assert torch.equal(x, keyframes()), "the input batch is not modified"


def test_speckle_decorrelation_renews_each_keyframes_texture_but_not_its_level():
    x = torch.full((4, 112, 112), 0.4)
    out = vlm_augment.speckle_decorrelation(x, torch.Generator().manual_seed(1), 0.3)
    assert abs(float(out.mean()) - 0.4) < 0.01
    assert 0.05 < float((out[0] - out[1]).abs().mean()) < 0.2  # the keyframes' textures differ
    assert float(vlm_augment.speckle_decorrelation(torch.zeros(4, 8, 8), torch.Generator(), 0.3).abs().max()) == 0


def test_level_defined_artefacts_keep_their_levels():
    # Gain, gamma and clutter are not drawn for over-gain, under-gain and low contrast: with the geometric and
    # softening transforms also at probability 1, the sample's mean level moves only by the zoom and the blur.
    for name in ("overgain", "undergain", "low_contrast"):
        x = keyframes(batch=1)
        out = vlm_augment.appearance_augment(x, codes_with(name).unsqueeze(0), torch.Generator().manual_seed(5), 1.0)
        tissue = out[0, :, 10:30, 30:80]
        assert float(tissue.max()) <= 0.4 + 1e-4, name  # never brightened past the tissue level


def test_clean_samples_get_bright_walls_over_blood_that_stays_black():
    # Over-gain lifts the blood pools; the augmentation's gain multiplies, so the cavity stays near black
    # (at most the apical clutter's tail reaches it) while some samples get brighter walls.
    x = keyframes(batch=16)
    codes = torch.zeros(16, len(vlm_text.REJECTION_ORDER))
    out = vlm_augment.appearance_augment(x, codes, torch.Generator().manual_seed(11), 0.5)
    assert float(out[:, :, 55:65, 52:60].max()) < 0.05
    assert float(out[:, :, 30:38, 25:40].amax(dim=(1, 2, 3)).max()) > 0.5


def test_geometry_defined_artefacts_are_not_zoomed():
    x = keyframes(batch=1)
    x[0, :, :, 20:24] = 0.9  # a bright fan edge that a zoom would push out of view
    for name in ("lv_cut_off", "foreshortened"):
        for seed in range(12):  # zoom factors up to 1.35 would move the edge up to 12 px outward
            out = vlm_augment.appearance_augment(x, codes_with(name).unsqueeze(0), torch.Generator().manual_seed(seed),
                                                 1.0)
            # softened and levelled, but the edge columns are still where they were
            assert float(out[0, :, 50:100, 21:23].mean()) > 1.2 * float(out[0, :, 50:100, 30:40].mean()), (name, seed)


def test_zoom_about_the_apex_keeps_the_top_centre_and_magnifies():
    x = torch.zeros(1, 112, 112)
    x[0, 0:8, 52:60] = 1.0  # a block at the apex
    x[0, 100:112, :] = 1.0  # the far field, pushed out of view by the zoom
    out = vlm_augment.zoom_about_apex(x, 1.3)
    assert float(out[0, 2, 56]) > 0.9
    assert float(out[0, 105:112, :].mean()) < 0.05


def test_speckle_reduction_removes_grain_and_keeps_borders():
    x = torch.zeros(4, 112, 112)
    x[:, :, 50:] = 0.5
    x[:, ::7, ::5] += 0.3  # isolated grains
    out = vlm_augment.speckle_reduction(x, 3)
    assert float(out[:, :, :48].max()) == 0.0 and float(out[:, :, 52:].min()) == 0.5
    assert torch.equal(out[:, :, 49], torch.zeros(4, 112)) and torch.equal(out[:, :, 50], torch.full((4, 112), 0.5))


def test_label_redraw_only_for_clean_samples_with_label_maps_and_inside_the_sector():
    x = keyframes(batch=3)
    labels = torch.zeros(3, 4, 112, 112, dtype=torch.uint8)
    labels[:, :, :, 20:92] = 2  # LV wall
    labels[:, :, 40:80, 45:67] = 1  # LV cavity
    codes = torch.zeros(3, len(vlm_text.REJECTION_ORDER))
    codes[1] = codes_with("blurred")
    labels[2] = 0  # a clean sample without label maps
    out = vlm_augment.appearance_augment(x, codes, torch.Generator().manual_seed(2), 0.0, "narrow", labels, 1.0)
    assert not torch.equal(out[0], x[0]), "a clean sample with label maps is redrawn"
    assert torch.equal(out[1], x[1]) and torch.equal(out[2], x[2])
    assert float(out[0, :, :, :14].abs().max()) == 0.0, "outside the sector stays 0"
    # one draw of levels for all keyframes: identical label maps give identical frames
    assert torch.allclose(out[0, 0], out[0, 3])
