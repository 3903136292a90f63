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


class LvViewNet(nn.Module):
    """Encoder 112 -> 56 -> 28 -> 14 -> 7, decoder back to 112; view head on the bottleneck."""

    def __init__(self, width: int = 16, views: int = 3):
        super().__init__()
        w = width
        self.quant = torch.ao.quantization.QuantStub()
        self.enc0 = Block(1, w)              # 112
        self.enc1 = Block(w, 2 * w, 2)       # 56
        self.enc2 = Block(2 * w, 4 * w, 2)   # 28
        self.enc3 = Block(4 * w, 6 * w, 2)   # 14
        self.enc4 = Block(6 * w, 8 * w, 2)   # 7
        self.up3 = UpBlock(8 * w, 6 * w, 4 * w)
        self.up2 = UpBlock(4 * w, 4 * w, 2 * w)
        self.up1 = UpBlock(2 * w, 2 * w, w)
        self.up0 = UpBlock(w, w, w)
        self.seg_head = nn.Conv2d(w, 1, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.view_head = nn.Linear(8 * w, views)
        self.dequant_seg = torch.ao.quantization.DeQuantStub()
        self.dequant_view = torch.ao.quantization.DeQuantStub()

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


def fuse_for_quantization(model: LvViewNet) -> None:
    """Fuse every conv/bn/relu triple in place (the model must be in eval mode)."""
    for name, module in model.named_modules():
        if isinstance(module, ConvBnRelu):
            torch.ao.quantization.fuse_modules(module, [["0", "1", "2"]], inplace=True)


def quantize_int8(fp32_model: LvViewNet, calibration_batches, engine: str = "onednn") -> nn.Module:
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
