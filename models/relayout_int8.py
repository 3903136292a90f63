"""Re-export a shipped INT8 TorchScript model with the current graph of lv_model.py, keeping its weights.

The packed INT8 weights and every quantisation parameter (scales, zero points) are copied from the given file
into a freshly built eager model of the same architecture, which is then scripted with today's forward (e.g. the
channels-last body, see lv_model.py). No training, no calibration: the new file must give bit-identical outputs
to the old one, which is checked on varied inputs before anything is written. The manifest is the old one with
the new file's SHA-256, the new version, and a sentence on what changed.

    /usr/bin/python3 models/relayout_int8.py --model models/lv_seg_int8.pt --version 1.1.1 --out models
"""
import argparse
import json
import os

import torch

import lv_model
from export_lv import sha256_file

# TorchScript class name -> architecture key of lv_model.ARCHITECTURES
ARCHITECTURE_OF = {cls.__name__: key for key, cls in lv_model.ARCHITECTURES.items()}


def copy_quantized_parameters(eager: torch.nn.Module, scripted: torch.jit.ScriptModule) -> int:
    """Every quantised module of `eager` takes the packed weights and qparams of its namesake in `scripted`."""
    source = dict(scripted.named_modules())
    copied = 0
    for name, module in eager.named_modules():
        kind = type(module).__name__
        if kind not in ("ConvReLU2d", "Conv2d", "Linear", "QFunctional", "Quantize"):
            continue
        if name not in source or source[name].original_name != kind:
            raise SystemExit(f"relayout: module '{name}' ({kind}) has no counterpart in the scripted model")
        theirs = source[name]._c
        if kind == "Quantize":
            module.scale.copy_(theirs.getattr("scale"))
            module.zero_point.copy_(theirs.getattr("zero_point"))
        else:
            if kind == "Linear":
                module._packed_params._packed_params = source[name]._packed_params._c.getattr("_packed_params")
            elif kind != "QFunctional":
                module._packed_params = theirs.getattr("_packed_params")
            module.scale = theirs.getattr("scale")
            module.zero_point = theirs.getattr("zero_point")
        copied += 1
    return copied


def check_inputs(size: int) -> list:
    """Inputs of several batch sizes and kinds: a sector-like fan of speckle, flat levels, zeros."""
    generator = torch.Generator().manual_seed(0)
    rows = torch.arange(size).view(-1, 1).float()
    columns = torch.arange(size).view(1, -1).float()
    fan = ((columns - size / 2).abs() < rows * 0.8).float()
    batches = []
    for count in (1, 5, 16, 33):
        speckle = torch.rand(count, 1, size, size, generator=generator)
        batches.append(speckle * fan)
    batches.append(torch.zeros(3, 1, size, size))
    batches.append(torch.full((2, 1, size, size), 0.5) * fan)
    return batches


def identical(a: torch.nn.Module, b: torch.nn.Module, batches: list) -> bool:
    with torch.no_grad():
        for x in batches:
            for left, right in zip(a(x), b(x)):
                if not torch.equal(left.contiguous(), right.contiguous()):
                    return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="INT8 TorchScript file with its .json manifest beside it")
    parser.add_argument("--version", required=True, help="version of the re-laid-out model")
    parser.add_argument("--out", required=True, help="folder for the new .pt and .json (same file names)")
    parser.add_argument("--width", type=int, default=16, help="network width of the model (default 16)")
    args = parser.parse_args()

    manifest_path = os.path.splitext(args.model)[0] + ".json"
    with open(manifest_path) as f:
        manifest = json.load(f)
    if manifest.get("precision") != "int8":
        raise SystemExit(f"relayout: {manifest_path} is not an INT8 model's manifest")
    torch.backends.quantized.engine = manifest["quantized_engine"]
    old = torch.jit.load(args.model).eval()
    architecture = ARCHITECTURE_OF.get(old.original_name)
    if architecture is None:
        raise SystemExit(f"relayout: unknown network class {old.original_name} in {args.model}")

    size = manifest["input_size"]
    eager = lv_model.build_model(architecture, args.width).eval()
    eager = lv_model.quantize_int8(eager, [torch.rand(2, 1, size, size)], manifest["quantized_engine"])
    copied = copy_quantized_parameters(eager, old)
    new = torch.jit.script(eager)
    batches = check_inputs(size)
    if not identical(old, new, batches):
        raise SystemExit("relayout: the re-laid-out model's outputs differ from the original's; nothing written")

    os.makedirs(args.out, exist_ok=True)
    pt_path = os.path.join(args.out, os.path.basename(args.model))
    new.save(pt_path)
    if not identical(old, torch.jit.load(pt_path).eval(), batches):
        os.remove(pt_path)
        raise SystemExit("relayout: the saved file's outputs differ from the original's; removed")
    was = manifest["version"]
    manifest["version"] = args.version
    manifest["weights_sha256"] = sha256_file(pt_path)
    manifest["description"] += (f" Version {args.version} is {was}'s weights and quantisation in the current graph"
                                " (channels-last body, models/relayout_int8.py): outputs bit-identical.")
    with open(os.path.join(args.out, os.path.basename(manifest_path)), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"{pt_path}: {copied} quantised modules copied, outputs identical on {len(batches)} batches, "
          f"sha256 {manifest['weights_sha256']}")


if __name__ == "__main__":
    main()
