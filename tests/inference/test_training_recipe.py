"""The training recipe (models/*.py) on tiny fake layouts built here: contract crop, dataset readers,
reproducible training, export with manifests, LoRA merge."""
import hashlib
import json
import os
import sys

import numpy as np
import pytest
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "models"))
sys.path.insert(0, HERE)
import echo_data  # noqa: E402
import fake_layouts  # noqa: E402
import finetune_lv  # noqa: E402
import train_lv  # noqa: E402
from export_lv import export  # noqa: E402
from lv_model import ARCHITECTURES, build_model  # noqa: E402
import augment  # noqa: E402
import echonet_style  # noqa: E402

torch.set_num_threads(1)


def test_square_crop_extends_the_shorter_side_symmetrically():
    sector = np.zeros((20, 30), np.uint8)
    sector[2:7, 3:13] = 255  # 10 wide, 5 tall: 5 extra rows, 2 above and 3 below
    assert echo_data.square_crop_box(sector) == (3, 0, 10)
    sector = np.zeros((20, 30), np.uint8)
    sector[4:10, 10:13] = 255  # 3 wide, 6 tall: 3 extra columns, 1 left and 2 right
    assert echo_data.square_crop_box(sector) == (9, 4, 6)


def test_model_input_is_zero_outside_the_image_and_the_sector():
    frame = np.full((10, 10), 200, np.uint8)
    sector = np.zeros((10, 10), np.uint8)
    sector[0:10, 2:8] = 255
    box = (-2, 0, 10)  # leaves the image on the left
    x = echo_data.model_input(frame, sector, box, size=10, mean=0.0, std=1.0)
    assert x[:, 0:4].max() == 0.0   # outside the image (2 columns) and outside the sector (2 columns)
    assert np.allclose(x[:, 4:10], 200 / 255.0)
    y = echo_data.model_input(frame, sector, box, size=10, mean=0.5, std=0.25)
    assert np.isclose(y[0, 5], (200 / 255.0 - 0.5) / 0.25)


def test_shrinking_uses_inter_area_on_floats():
    image = np.arange(16, dtype=np.float32).reshape(4, 4)
    small = echo_data.resize_contract(image, 2)
    assert np.allclose(small, [[2.5, 4.5], [10.5, 12.5]])  # block means


def test_phantom_reader(tmp_path):
    fake_layouts.make_phantom(str(tmp_path), cases=2, frames=6)
    studies = list(echo_data.read_dataset(f"phantom:{tmp_path}"))
    assert [s.view for s in studies] == ["a4c", "a2c"]
    assert studies[0].keyframes == {"ed": [0], "es": [3]}
    assert (studies[0].lv_masks[0] > 0).sum() > (studies[0].lv_masks[3] > 0).sum()
    assert (studies[0].sector_mask > 0).mean() > 0.3


def test_echonet_reader(tmp_path):
    fake_layouts.make_echonet(str(tmp_path), videos=2)
    studies = list(echo_data.read_dataset(f"echonet:{tmp_path}"))
    assert [s.name for s in studies] == ["0X0000", "0X0001"]
    study = studies[0]
    assert study.view == "a4c" and study.labelled == [1, 5]
    assert study.keyframes == {"ed": [1], "es": [5]}  # ED = larger traced area
    ed_area, es_area = (study.lv_masks[1] > 0).sum(), (study.lv_masks[5] > 0).sum()
    assert abs(ed_area - np.pi * 12 * 30) / (np.pi * 12 * 30) < 0.15
    assert ed_area > es_area
    train_only = list(echo_data.read_dataset(f"echonet:{tmp_path}:TRAIN"))
    assert [s.name for s in train_only] == ["0X0000"]


def test_camus_reader(tmp_path):
    fake_layouts.make_camus(str(tmp_path), patients=1)
    studies = list(echo_data.read_dataset(f"camus:{tmp_path}"))
    assert sorted((s.name, s.view) for s in studies) == [("patient0001_2CH", "a2c"), ("patient0001_4CH", "a4c")]
    study = studies[0]
    assert study.frames.shape == (2, 100, 80)
    assert (study.lv_masks[0] > 0).sum() > (study.lv_masks[1] > 0).sum()  # label 1 only, ED > ES
    assert abs((study.lv_masks[0] > 0).sum() - np.pi * 10 * 25) / (np.pi * 10 * 25) < 0.1


def _train_state(data_dir, seed, steps=2):
    pool = train_lv.build_pool([f"phantom:{data_dir}"], 4, seed)
    torch.manual_seed(seed)
    model = build_model("unet56", 4)
    train_lv.train(model, pool, steps, 4, 1e-3, seed, log=lambda text: None)
    return model, pool


def test_training_is_reproducible_from_the_seed(tmp_path):
    fake_layouts.make_phantom(str(tmp_path), cases=2, frames=4)
    a, _ = _train_state(tmp_path, seed=3)
    b, _ = _train_state(tmp_path, seed=3)
    c, _ = _train_state(tmp_path, seed=4)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def test_export_writes_models_and_manifests_that_match(tmp_path):
    fake_layouts.make_phantom(str(tmp_path / "data"), cases=2, frames=4)
    model, pool = _train_state(tmp_path / "data", seed=1, steps=1)
    calibration = train_lv.calibration_frames(pool, 8, 1)
    meta = {"training_data": "fake", "input_size": 112, "input_mean": 0.0, "input_std": 1.0}
    paths = export(model, calibration, str(tmp_path / "out"), meta)
    for precision, path in paths.items():
        with open(os.path.splitext(path)[0] + ".json") as f:
            manifest = json.load(f)
        with open(path, "rb") as f:
            assert manifest["weights_sha256"] == hashlib.sha256(f.read()).hexdigest()
        assert manifest["contract"] == "echo.lv_segmentation" and manifest["contract_version"] == 1
        assert manifest["precision"] == precision
        assert manifest["view_labels"] == ["a4c", "a2c", "other"]
        assert manifest["validated_on_real_patients"] is False
        torch.backends.quantized.engine = "onednn"
        seg, view = torch.jit.load(path)(torch.zeros(3, 1, 112, 112))
        assert tuple(seg.shape) == (3, 1, 112, 112) and tuple(view.shape) == (3, 3)
    assert json.load(open(paths["int8"][:-3] + ".json"))["quantized_engine"] == "onednn"


def test_echonet_style_conversion_crops_resizes_and_zeroes_outside_the_wedge(tmp_path):
    import cv2
    frames = np.full((5, 480, 640), 200, np.uint8)  # a bright 640x480 loop: only the wedge survives
    truth = {"ef_percent": 41.5, "params": {"fps": 50.0}, "sector": {"apex_px": [320.0, 22.0]}}
    src = tmp_path / "phantoms"
    src.mkdir()
    np.save(src / "0000.frames.npy", frames)
    (src / "0000.truth.json").write_text(json.dumps(truth))
    sys.argv, saved = ["echonet_style.py", str(src), str(tmp_path / "out")], sys.argv
    try:
        echonet_style.main()
    finally:
        sys.argv = saved
    capture = cv2.VideoCapture(str(tmp_path / "out" / "0000.avi"))
    decoded = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        decoded.append(image[:, :, 0])
    assert len(decoded) == 5 and decoded[0].shape == (112, 112)
    inside = echonet_style.wedge_mask(56.0)  # the apex at column 320 is the square's centre
    assert decoded[0][inside].mean() > 180 and decoded[0][~inside].mean() < 10
    assert decoded[0][2, 0] < 10 and decoded[0][100, 56] > 180  # a top corner is cut, the axis kept
    assert (tmp_path / "out" / "reference.csv").read_text().splitlines() == ["FileName,EF", "0000,41.50"]


def test_echonet_style_refuses_a_folder_without_phantoms(tmp_path):
    sys.argv, saved = ["echonet_style.py", str(tmp_path), str(tmp_path / "out")], sys.argv
    try:
        with pytest.raises(SystemExit, match="no NNNN.frames.npy"):
            echonet_style.main()
    finally:
        sys.argv = saved
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_lora_adapters_merge_into_plain_convolutions(architecture):
    torch.manual_seed(0)
    model = build_model(architecture, 4).eval()
    adapters = finetune_lv.add_lora(model, rank=2)
    assert adapters
    for p in adapters:
        torch.nn.init.normal_(p, std=0.05)  # a trained adapter (B no longer zero)
    x = torch.randn(2, 1, 112, 112)
    with torch.no_grad():
        before = model(x)
        finetune_lv.merge_lora(model)
        after = model(x)
    assert not any(isinstance(m, finetune_lv.LoraConv2d) for m in model.modules())
    assert torch.allclose(before[0], after[0], atol=1e-4) and torch.allclose(before[1], after[1], atol=1e-4)


def test_frozen_encoder_mode_leaves_the_encoder_untouched(tmp_path):
    fake_layouts.make_echonet(str(tmp_path), videos=1)
    pool = train_lv.build_pool([f"echonet:{tmp_path}"], 2, 0)
    model = build_model("unet56", 4)
    encoder_before = [p.clone() for m in model.encoder_modules() for p in m.parameters()]
    decoder_before = [p.clone() for p in model.up0.parameters()]
    finetune_lv.finetune(model, pool, "frozen-encoder", 2, 2, 2, 1e-2, 0, 0.0, log=lambda text: None)
    encoder_after = [p for m in model.encoder_modules() for p in m.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(encoder_before, encoder_after))
    assert not all(torch.equal(a, b) for a, b in zip(decoder_before, model.up0.parameters()))


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_every_architecture_keeps_the_contract_shapes(architecture):
    seg, view = build_model(architecture, 4).eval()(torch.zeros(2, 1, 112, 112))
    assert tuple(seg.shape) == (2, 1, 112, 112) and tuple(view.shape) == (2, 3)


def test_training_target_stops_at_the_fan_edge():
    # An LV half outside the fan: the target is only the visible half (the gate reads it as cut off).
    work = augment.WORK
    lv = np.zeros((work, work), np.uint8)
    lv[60:140, 40:120] = 1
    sector = np.zeros((work, work), np.uint8)
    sector[:, 80:] = 1
    image = np.full((work, work), 100.0, np.float32)
    _, target = augment.finish(image, lv, sector)
    visible = augment.finish(image, lv * sector, sector)[1]
    assert target.sum() > 0
    assert np.array_equal(target, visible)


def test_view_head_refit_changes_the_view_alone_in_both_shipped_files(tmp_path):
    """refit_view_head.py swaps the head of the shipped FP32 and INT8 files: every LV logit stays bit-identical,
    the view logits become the new head's (INT8 within its quantization step)."""
    import refit_view_head
    models = os.path.join(HERE, "..", "..", "models")
    eager, _, _ = finetune_lv.load_shipped(os.path.join(models, "lv_seg_fp32.pt"))
    torch.manual_seed(5)
    head = torch.nn.Linear(eager.view_head.in_features, 3)
    with torch.no_grad():
        head.weight.normal_(0.0, 0.5)  # logits of a few units, like a trained head's
    rng = np.random.default_rng(5)
    inputs = np.concatenate([rng.uniform(0, level, (1, 1, 112, 112)) for level in np.linspace(0.05, 1, 24)])
    inputs = inputs.astype(np.float32)  # from dark to bright, so the observer sees a spread of logits
    features = refit_view_head.pooled_features(eager, inputs)
    with torch.no_grad():
        expected = head(features)
    torch.backends.quantized.engine = "onednn"
    x = torch.from_numpy(inputs)
    for precision in ("fp32", "int8"):
        original = torch.jit.load(os.path.join(models, f"lv_seg_{precision}.pt"))
        swapped = torch.jit.load(os.path.join(models, f"lv_seg_{precision}.pt"))
        if precision == "fp32":
            refit_view_head.replace_fp32_head(swapped, head)
        else:
            refit_view_head.replace_int8_head(swapped, head, expected, "onednn")
        path = refit_view_head.write_model(swapped, os.path.join(models, f"lv_seg_{precision}.json"),
                                           str(tmp_path), "9.9.9", "(test)", {"samples": 4})
        manifest = json.load(open(os.path.splitext(path)[0] + ".json"))
        assert manifest["version"] == "9.9.9" and manifest["training"]["view_head_refit"] == {"samples": 4}
        with open(path, "rb") as f:
            assert manifest["weights_sha256"] == hashlib.sha256(f.read()).hexdigest()
        with torch.no_grad():
            seg_before, view_before = original(x)
            seg_after, view_after = torch.jit.load(path)(x)
        assert torch.equal(seg_before, seg_after)
        assert not torch.allclose(view_before, view_after, atol=0.05)
        if precision == "fp32":
            assert torch.allclose(view_after, expected, atol=1e-4)
        else:  # the new head on the INT8 network's own pooled bottleneck, to its quantization steps
            net = torch.jit.load(path)
            with torch.no_grad():
                bottleneck = net.enc3(net.enc2(net.enc1(net.enc0(net.quant(x)))))
                own = head(torch.flatten(net.pool(bottleneck), 1).dequantize())
            step, zero = float(net.view_head.scale), int(net.view_head.zero_point)
            own = own.clamp((0 - zero) * step, (255 - zero) * step)  # quint8 output: the observer's range
            assert float((view_after - own).abs().max()) <= 0.02 * float(own.abs().max()) + 2 * step


def test_view_head_fit_learns_separable_features():
    import refit_view_head
    rng = np.random.default_rng(1)
    centres = rng.normal(0, 1, (3, 16)) * 3
    views = torch.from_numpy(rng.integers(0, 3, 300)).long()
    features = torch.from_numpy((centres[views.numpy()] + rng.normal(0, 1, (300, 16))).astype(np.float32))
    start = torch.nn.Linear(16, 3)
    torch.nn.init.zeros_(start.weight)
    torch.nn.init.zeros_(start.bias)
    assert refit_view_head.accuracy(start, features, views)["per_frame"] < 0.5
    head = refit_view_head.fit_head(start, features, views, iterations=200, lr=0.05, weight_decay=0.0)
    assert refit_view_head.accuracy(head, features, views)["per_frame"] > 0.95
    assert torch.equal(start.weight, torch.zeros(3, 16))  # the shipped head is copied, not changed
