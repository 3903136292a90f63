"""The reference network: a compact UNet with a view-classification head.

Contract (docs/model.md, contract "echo.lv_segmentation" v1):
  input  float32 N x 1 x S x S, normalised as (v/255 - mean) / std
  output (lv_logits N x 1 x S x S, view_logits N x 3)  -- views a4c, a2c, other

The network is written for eager post-training quantisation: QuantStub / DeQuantStub around the
quantised body, skip concatenation through FloatFunctional.cat, conv/bn/relu fusable in place.
"""
from typing import List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

VIEW_LABELS = ["a4c", "a2c", "other"]


class ConvBnRelu(nn.Sequential):
    def __init__(self, in_ch: int, out_ch: int, stride: int = 1):
        super().__init__(
            nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=False),
        )


class Block(nn.Sequential):
    """Two 3x3 conv/bn/relu layers (the first may downsample by stride 2)."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1):
        super().__init__(ConvBnRelu(in_ch, out_ch, stride), ConvBnRelu(out_ch, out_ch))


class UpBlock(nn.Module):
    """Nearest upsampling x2, concatenation with the skip, two conv/bn/relu."""

    def __init__(self, in_ch: int, skip_ch: int, out_ch: int):
        super().__init__()
        self.cat = nn.quantized.FloatFunctional()
        self.block = Block(in_ch + skip_ch, out_ch)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        return self.block(self.cat.cat([x, skip], dim=1))


def add_stubs_and_heads(net: nn.Module, width: int, bottleneck_channels: int, views: int) -> None:
    """The parts every architecture shares: quantisation stubs, the 1x1 segmentation head on the last decoder
    level (width channels) and the view head on the pooled bottleneck."""
    net.quant = torch.ao.quantization.QuantStub()
    net.seg_head = nn.Conv2d(width, 1, 1)
    net.pool = nn.AdaptiveAvgPool2d(1)
    net.view_head = nn.Linear(bottleneck_channels, views)
    net.dequant_seg = torch.ao.quantization.DeQuantStub()
    net.dequant_view = torch.ao.quantization.DeQuantStub()


class LvViewNet(nn.Module):
    """Encoder 112 -> 56 -> 28 -> 14 -> 7, decoder back to 112; view head on the bottleneck."""

    def __init__(self, width: int = 16, views: int = 3):
        super().__init__()
        w = width
        self.enc0 = Block(1, w)              # 112
        self.enc1 = Block(w, 2 * w, 2)       # 56
        self.enc2 = Block(2 * w, 4 * w, 2)   # 28
        self.enc3 = Block(4 * w, 6 * w, 2)   # 14
        self.enc4 = Block(6 * w, 8 * w, 2)   # 7
        self.up3 = UpBlock(8 * w, 6 * w, 4 * w)
        self.up2 = UpBlock(4 * w, 4 * w, 2 * w)
        self.up1 = UpBlock(2 * w, 2 * w, w)
        self.up0 = UpBlock(w, w, w)
        add_stubs_and_heads(self, w, 8 * w, views)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        x = self.quant(x)
        e0 = self.enc0(x)
        e1 = self.enc1(e0)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        e4 = self.enc4(e3)
        d = self.up3(e4, e3)
        d = self.up2(d, e2)
        d = self.up1(d, e1)
        d = self.up0(d, e0)
        seg = self.dequant_seg(self.seg_head(d))
        view = self.view_head(torch.flatten(self.pool(e4), 1))
        return seg, self.dequant_view(view)

    def encoder_modules(self) -> List[nn.Module]:
        return [self.enc0, self.enc1, self.enc2, self.enc3, self.enc4]


class LvViewNetHalf(nn.Module):
    """Model 1.1: the same contract at a quarter of the work.

    A stride-2 stem works at 56 -> 28 -> 14 -> 7 and the decoder stops at 56; the logits are upsampled
    bilinearly to 112. The full-resolution layers of LvViewNet were 40 % of its multiply-adds and most of its
    memory traffic, while a cavity outline is smooth at 56 px: measured 4.5x faster per frame in FP32.
    """

    def __init__(self, width: int = 16, views: int = 3):
        super().__init__()
        w = width
        self.enc0 = nn.Sequential(ConvBnRelu(1, w, 2), ConvBnRelu(w, w))  # 56
        self.enc1 = Block(w, 2 * w, 2)       # 28
        self.enc2 = Block(2 * w, 4 * w, 2)   # 14
        self.enc3 = Block(4 * w, 6 * w, 2)   # 7
        self.up2 = UpBlock(6 * w, 4 * w, 4 * w)
        self.up1 = UpBlock(4 * w, 2 * w, 2 * w)
        self.up0 = UpBlock(2 * w, w, w)
        add_stubs_and_heads(self, w, 6 * w, views)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        x = self.quant(x)
        e0 = self.enc0(x)
        e1 = self.enc1(e0)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        d = self.up2(e3, e2)
        d = self.up1(d, e1)
        d = self.up0(d, e0)
        seg = self.dequant_seg(self.seg_head(d))
        seg = F.interpolate(seg, scale_factor=2.0, mode="bilinear", align_corners=False)
        view = self.view_head(torch.flatten(self.pool(e3), 1))
        return seg, self.dequant_view(view)

    def encoder_modules(self) -> List[nn.Module]:
        return [self.enc0, self.enc1, self.enc2, self.enc3]


ARCHITECTURES = {"unet112": LvViewNet, "unet56": LvViewNetHalf}


def build_model(architecture: str = "unet56", width: int = 16) -> nn.Module:
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {architecture!r}; known: {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[architecture](width=width)


def model_from_checkpoint(checkpoint: dict) -> nn.Module:
    """The network a checkpoint was trained with (model 1.0 checkpoints carry no architecture key)."""
    return build_model(checkpoint.get("architecture", "unet112"), checkpoint["width"])


def fuse_for_quantization(model: nn.Module) -> None:
    """Fuse every conv/bn/relu triple in place (the model must be in eval mode)."""
    for name, module in model.named_modules():
        if isinstance(module, ConvBnRelu):
            torch.ao.quantization.fuse_modules(module, [["0", "1", "2"]], inplace=True)


def quantize_int8(fp32_model: nn.Module, calibration_batches, engine: str = "onednn") -> nn.Module:
    """Eager post-training static quantisation: fuse, observe on calibration data, convert."""
    import copy

    torch.backends.quantized.engine = engine
    model = copy.deepcopy(fp32_model).eval()
    fuse_for_quantization(model)
    model.qconfig = torch.ao.quantization.get_default_qconfig(engine)
    torch.ao.quantization.prepare(model, inplace=True)
    with torch.no_grad():
        for batch in calibration_batches:
            model(batch)
    torch.ao.quantization.convert(model, inplace=True)
    return model
