#!/usr/bin/python3
"""Light fine-tuning of the reference model on a site's own labelled studies (about 200 are enough).

  /usr/bin/python3 models/finetune_lv.py --checkpoint models/work/run1/lv.pth \
      --data echonet:/data/site_echonet --mode lora --rank 4 --steps 400 \
      --out models/work/site --export models/site

  # from the shipped model itself (no training checkpoint needed) and a site dataset written by
  # `echoa review export` (docs/review.md): its Sectors/<name>.png are the sector masks the SDK found
  /usr/bin/python3 models/finetune_lv.py --base models/lv_seg_fp32.pt --data echonet:SITE_DATASET \
      --out work/site --export work/site_model

Modes:
  frozen-encoder  train only the decoder, the segmentation head and the view head (encoder weights and its
                  BatchNorm statistics stay as shipped): few parameters, little risk of forgetting.
  lora            every 3x3 convolution gets a low-rank adapter W + B.A (A: rank r 3x3 conv, B: 1x1 conv
                  initialised to zero, so training starts exactly at the shipped model); only the adapters
                  and the heads train, BatchNorm statistics are frozen. The adapters are MERGED back into
                  plain convolution weights before export, so the exported network has the same structure,
                  speed and INT8 path as the shipped one.
  full            everything trains (use a small learning rate).

The result is exported like the reference model (export_lv.py): FP32 and INT8 with manifests whose
training_data names the site data; INT8 is calibrated on the site's own frames.
"""
import argparse
import copy
import json
import os
import sys

import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_lv  # noqa: E402
import cv2  # noqa: E402
from echo_data import read_dataset  # noqa: E402
from export_lv import export, load_checkpoint  # noqa: E402
from lv_model import ARCHITECTURES, ConvBnRelu, build_model  # noqa: E402


def load_shipped(pt_path: str):
    """The eager network and manifest metadata of a shipped TorchScript model (FP32): the architecture is
    the one whose parameter names and shapes take the file's weights exactly, the width that of its
    segmentation head. Works with whatever lv_seg_fp32.pt is shipped, without its training checkpoint."""
    scripted = torch.jit.load(pt_path, map_location="cpu")
    state = scripted.state_dict()
    width = int(state["seg_head.weight"].shape[1])
    for architecture in sorted(ARCHITECTURES):
        model = build_model(architecture, width)
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError:
            continue
        with open(os.path.splitext(pt_path)[0] + ".json") as f:
            manifest = json.load(f)
        if manifest.get("precision", "fp32") != "fp32":
            raise SystemExit(f"{pt_path}: fine-tune from the FP32 model (this one is {manifest['precision']})")
        keys = ("name", "version", "description", "training_data", "input_size", "input_mean", "input_std", "training")
        meta = {k: manifest[k] for k in keys if k in manifest}
        return model.eval(), meta, {"width": width, "architecture": architecture}
    raise SystemExit(f"{pt_path}: no known architecture ({sorted(ARCHITECTURES)}) takes these weights")


def with_site_sectors(spec: str, studies):
    """An `echoa review export` dataset stores the sector mask the SDK found (Sectors/<name>.png); use it
    instead of the reader's guess from moving pixels, so that the crop is the one the SDK makes."""
    kind, _, rest = spec.partition(":")
    root = rest.partition(":")[0]
    for study in studies:
        path = os.path.join(root, "Sectors", study.name + ".png")
        if kind == "echonet" and os.path.exists(path):
            sector = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
            if sector is not None and sector.shape == study.frames.shape[1:]:
                study.sector_mask = sector
        yield study


def build_site_pool(specs, frames_per_study: int, seed: int):
    rng = np.random.default_rng(seed)
    pool = train_lv.FramePool()
    for spec in specs:
        for study in with_site_sectors(spec, read_dataset(spec)):
            pool.add_study(study, frames_per_study, rng)
    if len(pool) == 0:
        raise SystemExit(f"no labelled frames found in {specs}")
    return pool


class LoraConv2d(nn.Module):
    """conv(x) + B(A(x)) * scale; B starts at zero."""

    def __init__(self, conv: nn.Conv2d, rank: int, alpha: float = 1.0):
        super().__init__()
        self.conv = conv
        self.lora_a = nn.Conv2d(conv.in_channels, rank, conv.kernel_size, conv.stride, conv.padding, bias=False)
        self.lora_b = nn.Conv2d(rank, conv.out_channels, 1, bias=False)
        nn.init.kaiming_uniform_(self.lora_a.weight, a=5 ** 0.5)
        nn.init.zeros_(self.lora_b.weight)
        self.scale = alpha / rank
        for p in self.conv.parameters():
            p.requires_grad_(False)

    def forward(self, x):
        return self.conv(x) + self.lora_b(self.lora_a(x)) * self.scale

    def merged(self) -> nn.Conv2d:
        """A plain convolution with the adapter folded in: W + scale * B . A."""
        merged = copy.deepcopy(self.conv)
        b = self.lora_b.weight[:, :, 0, 0]                      # out x r
        a = self.lora_a.weight.reshape(self.lora_a.out_channels, -1)  # r x (in*kh*kw)
        delta = (b @ a).reshape_as(merged.weight) * self.scale
        with torch.no_grad():
            merged.weight.add_(delta)
        for p in merged.parameters():
            p.requires_grad_(True)
        return merged


def add_lora(model: nn.Module, rank: int) -> list:
    """Wraps the 3x3 conv of every ConvBnRelu; returns the trainable adapter parameters."""
    params = []
    for module in model.modules():
        if isinstance(module, ConvBnRelu) and isinstance(module[0], nn.Conv2d):
            module[0] = LoraConv2d(module[0], rank)
            params += [module[0].lora_a.weight, module[0].lora_b.weight]
    return params


def merge_lora(model: nn.Module) -> nn.Module:
    for module in model.modules():
        if isinstance(module, ConvBnRelu) and isinstance(module[0], LoraConv2d):
            module[0] = module[0].merged()
    return model


def freeze_batchnorm(model: nn.Module) -> None:
    """Keep the shipped BatchNorm statistics (small site batches would shift them)."""
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.eval()
            for p in module.parameters():
                p.requires_grad_(False)


def heads(model: nn.Module) -> list:
    return list(model.seg_head.parameters()) + list(model.view_head.parameters())


def trainable_parameters(model: nn.Module, mode: str, rank: int) -> list:
    if mode == "full":
        return list(model.parameters())
    if mode == "frozen-encoder":
        for module in model.encoder_modules():
            for p in module.parameters():
                p.requires_grad_(False)
        encoder = {id(p) for m in model.encoder_modules() for p in m.parameters()}
        return [p for p in model.parameters() if id(p) not in encoder]
    if mode == "lora":
        for p in model.parameters():
            p.requires_grad_(False)
        adapters = add_lora(model, rank)
        for p in heads(model):
            p.requires_grad_(True)
        return adapters + heads(model)
    raise ValueError(f"unknown mode {mode}")


def finetune(model: nn.Module, pool, mode: str, rank: int, steps: int, batch: int, lr: float, seed: int,
             other_fraction: float, log=None) -> dict:
    params = trainable_parameters(model, mode, rank)
    original_train = model.train

    def train_keep_bn(flag: bool = True):
        original_train(flag)
        if flag and mode != "full":
            freeze_batchnorm(model)
        return model

    model.train = train_keep_bn  # train_lv.train() calls model.train()
    record = train_lv.train(model, pool, steps, batch, lr, seed, other_fraction, parameters=params, log=log)
    model.train = original_train
    if mode == "lora":
        merge_lora(model)
    record["mode"] = mode
    record["trainable_parameters"] = int(sum(p.numel() for p in params))
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", help="the reference training's lv.pth")
    parser.add_argument("--base", help="or the shipped FP32 TorchScript model (default models/lv_seg_fp32.pt)")
    parser.add_argument("--data", action="append", required=True)
    parser.add_argument("--mode", default="lora", choices=["frozen-encoder", "lora", "full"])
    parser.add_argument("--rank", type=int, default=4)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--frames-per-study", type=int, default=2)
    parser.add_argument("--other-fraction", type=float, default=0.15)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", required=True)
    parser.add_argument("--export")
    parser.add_argument("--engine", default="onednn", choices=["onednn", "qnnpack"])
    parser.add_argument("--name", default="echo-lv-site")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    if args.checkpoint:
        model, meta = load_checkpoint(args.checkpoint)
        source = torch.load(args.checkpoint, map_location="cpu")
    else:
        base = args.base or os.path.join(os.path.dirname(os.path.abspath(__file__)), "lv_seg_fp32.pt")
        model, meta, source = load_shipped(base)
        meta["training_data"] = meta.get("training_data", "") + " | base: " + os.path.basename(base)
    pool = build_site_pool(args.data, args.frames_per_study, args.seed)
    record = finetune(model, pool, args.mode, args.rank, args.steps, args.batch, args.lr, args.seed,
                      args.other_fraction)
    meta = dict(meta)
    meta["name"] = args.name
    meta["training_data"] = (meta.get("training_data", "") + " | fine-tuned (%s) on %s: %d frames of %d studies" %
                             (args.mode, "; ".join(args.data), len(pool), len(set(pool.studies))))
    meta["validated_on_real_patients"] = False  # the site decides after its own validation
    meta.setdefault("training", {})["finetune"] = {k: v for k, v in record.items() if k != "history"}
    checkpoint = os.path.join(args.out, "lv.pth")
    torch.save({"state_dict": model.state_dict(), "width": source["width"],
                "architecture": source.get("architecture", "unet112"), "meta": meta}, checkpoint)
    calibration = train_lv.calibration_frames(pool, 256, args.seed)
    np.save(os.path.join(args.out, "calibration.npy"), calibration)
    print(json.dumps({"checkpoint": checkpoint, **{k: v for k, v in record.items() if k != "history"}}))
    if args.export:
        print(json.dumps(export(model, calibration, args.export, meta, args.engine)))


if __name__ == "__main__":
    main()
