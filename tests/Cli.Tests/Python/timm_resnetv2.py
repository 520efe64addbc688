#!/usr/bin/env python3
"""BiT ResNet-v2 in plain PyTorch under timm's resnetv2 parameter names: a peer that loads a BitActors
.safetensors model (strict=True) and prints its logits for a preprocessed input.

usage: timm_resnetv2.py --weights MODEL.safetensors --input X.npy
                        [--arch NAME | --units 3,4,6,3 --width 1 --base 64 --groups 32] [--classes K] [--channels C]

X.npy: float32, N x C x H x W (or C x H x W), already scaled to [-1, 1] (x / 127.5 - 1).
The architecture, classes and input channels come from the file's __metadata__ (bitactors.arch,
bitactors.classes, bitactors.in_channels, bitactors.norm) where it has them; the options fill in or override.
Prints one JSON object: {"arch": ..., "classes": K, "logits": [[...], ...]} (a row per image).
Needs python3-torch and python3-numpy only (no timm, no safetensors package).
"""
import argparse
import json
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# name: (units per stage, width factor, base width, GroupNorm groups)
ARCHS = {
    "R50x1": ([3, 4, 6, 3], 1, 64, 32),
    "R50x3": ([3, 4, 6, 3], 3, 64, 32),
    "R101x1": ([3, 4, 23, 3], 1, 64, 32),
    "R101x3": ([3, 4, 23, 3], 3, 64, 32),
    "R152x2": ([3, 8, 36, 3], 2, 64, 32),
    "R152x4": ([3, 8, 36, 3], 4, 64, 32),
    "Tiny": ([1, 1, 1, 1], 1, 16, 8),
    "Small": ([2, 2, 2, 2], 1, 32, 16),
}

# Weight standardisation eps as BiT uses it (timm's StdConv2d uses 1e-8; the difference is far below 1e-4 here).
WS_EPS = 1e-10
GN_EPS = 1e-5


def read_safetensors(path):
    """The tensors and the __metadata__ of a .safetensors file: u64 LE header size, JSON header, raw data."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise SystemExit(f"{path}: too short for a safetensors file")
    (size,) = struct.unpack("<Q", blob[:8])
    if size > len(blob) - 8:
        raise SystemExit(f"{path}: header size {size} runs past the end of the file")
    header = json.loads(blob[8:8 + size].decode("utf-8"))
    metadata = header.pop("__metadata__", None) or {}
    dtypes = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8", "I32": "<i4"}
    tensors = {}
    for name, entry in header.items():
        start, end = entry["data_offsets"]
        raw = blob[8 + size + start:8 + size + end]
        if entry["dtype"] == "BF16":
            array = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        elif entry["dtype"] in dtypes:
            array = np.frombuffer(raw, dtype=dtypes[entry["dtype"]])
        else:
            raise SystemExit(f"{path}: {name} has dtype {entry['dtype']}, not one this reader knows")
        tensors[name] = torch.from_numpy(array.astype(np.float32).reshape(entry["shape"]).copy())
    return tensors, metadata


class StdConv2d(nn.Conv2d):
    """Bias-free conv whose kernel is standardised per output channel: (w - mean) / sqrt(biased var + eps)."""

    def __init__(self, cin, cout, kernel, stride=1, padding=0, standardize=True):
        super().__init__(cin, cout, kernel, stride=stride, padding=padding, bias=False)
        self.standardize = standardize

    def forward(self, x):
        w = self.weight
        if self.standardize:
            var, mean = torch.var_mean(w, dim=(1, 2, 3), unbiased=False, keepdim=True)
            w = (w - mean) / torch.sqrt(var + WS_EPS)
        return F.conv2d(x, w, None, self.stride, self.padding)


class Downsample(nn.Module):
    def __init__(self, cin, cout, stride, ws):
        super().__init__()
        self.conv = StdConv2d(cin, cout, 1, stride=stride, standardize=ws)

    def forward(self, x):
        return self.conv(x)


class Bottleneck(nn.Module):
    """Pre-activation bottleneck: norm -> relu -> conv three times, stride on the 3x3, projection of the pre-activation."""

    def __init__(self, cin, cout, mid, stride, groups, ws):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=GN_EPS)
        self.conv1 = StdConv2d(cin, mid, 1, standardize=ws)
        self.norm2 = nn.GroupNorm(groups, mid, eps=GN_EPS)
        self.conv2 = StdConv2d(mid, mid, 3, stride=stride, padding=1, standardize=ws)
        self.norm3 = nn.GroupNorm(groups, mid, eps=GN_EPS)
        self.conv3 = StdConv2d(mid, cout, 1, standardize=ws)
        self.downsample = Downsample(cin, cout, stride, ws) if stride != 1 or cin != cout else None

    def forward(self, x):
        pre = F.relu(self.norm1(x))
        shortcut = x if self.downsample is None else self.downsample(pre)
        y = self.conv1(pre)
        y = self.conv2(F.relu(self.norm2(y)))
        y = self.conv3(F.relu(self.norm3(y)))
        return y + shortcut


class Stage(nn.Module):
    def __init__(self, blocks):
        super().__init__()
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x):
        return self.blocks(x)


class Stem(nn.Module):
    """7x7/2 conv (pad 3), zero pad 1, 3x3/2 max-pool without padding."""

    def __init__(self, cin, cout, ws):
        super().__init__()
        self.conv = StdConv2d(cin, cout, 7, stride=2, padding=3, standardize=ws)

    def forward(self, x):
        x = F.pad(self.conv(x), (1, 1, 1, 1), value=0.0)
        return F.max_pool2d(x, kernel_size=3, stride=2)


class Head(nn.Module):
    def __init__(self, cin, classes):
        super().__init__()
        self.fc = nn.Conv2d(cin, classes, 1, bias=True)

    def forward(self, x):
        return self.fc(x).flatten(1)


class ResNetV2(nn.Module):
    def __init__(self, units, width, base, groups, classes, channels, ws=True):
        super().__init__()
        self.stem = Stem(channels, base * width, ws)
        stages, cin = [], base * width
        for s, n in enumerate(units):
            mid = base * width * 2 ** s
            blocks = []
            for u in range(n):
                blocks.append(Bottleneck(cin, 4 * mid, mid, 2 if s > 0 and u == 0 else 1, groups, ws))
                cin = 4 * mid
            stages.append(Stage(blocks))
        self.stages = nn.Sequential(*stages)
        self.norm = nn.GroupNorm(groups, cin, eps=GN_EPS)
        self.head = Head(cin, classes)

    def forward(self, x):
        x = self.stages(self.stem(x))
        x = F.relu(self.norm(x)).mean(dim=(2, 3), keepdim=True)
        return self.head(x)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     usage="%(prog)s --weights MODEL.safetensors --input X.npy [--arch NAME | --units U --width W --base B --groups G] [--classes K] [--channels C]")
    parser.add_argument("--weights", required=True, help="the .safetensors file (timm's resnetv2 names)")
    parser.add_argument("--input", required=True, help=".npy float32 array, N x C x H x W or C x H x W, in [-1, 1]")
    parser.add_argument("--arch", help=f"one of {', '.join(ARCHS)} (default: the file's bitactors.arch)")
    parser.add_argument("--units", help="units per stage, e.g. 3,4,6,3 (instead of --arch)")
    parser.add_argument("--width", type=int, help="width factor")
    parser.add_argument("--base", type=int, help="base width (64 for BiT)")
    parser.add_argument("--groups", type=int, help="GroupNorm groups (32 for BiT)")
    parser.add_argument("--classes", type=int, help="head size (default: the file's bitactors.classes, else head.fc.bias)")
    parser.add_argument("--channels", type=int, help="input channels (default: the file's bitactors.in_channels, else stem.conv.weight)")
    args = parser.parse_args()

    tensors, meta = read_safetensors(args.weights)
    norm = meta.get("bitactors.norm", "GN+WS")
    if norm not in ("GN+WS", "GN"):
        raise SystemExit(f"{args.weights}: norm {norm}: this peer builds GroupNorm models only (GN+WS or GN)")
    arch = args.arch or meta.get("bitactors.arch")
    if arch is not None and arch not in ARCHS and not args.units:
        raise SystemExit(f"unknown architecture '{arch}': one of {', '.join(ARCHS)}, or give --units --width --base --groups")
    units, width, base, groups = ARCHS[arch] if arch in ARCHS else (None, None, None, None)
    units = [int(u) for u in args.units.split(",")] if args.units else units
    width, base, groups = args.width or width, args.base or base, args.groups or groups
    if units is None or width is None or base is None or groups is None:
        raise SystemExit("no architecture: the file names none (bitactors.arch); give --arch, or --units --width --base --groups")
    if "head.fc.bias" not in tensors or "stem.conv.weight" not in tensors:
        raise SystemExit(f"{args.weights}: no head.fc.bias or stem.conv.weight: not a timm resnetv2 layout")
    classes = args.classes or int(meta.get("bitactors.classes", tensors["head.fc.bias"].shape[0]))
    channels = args.channels or int(meta.get("bitactors.in_channels", tensors["stem.conv.weight"].shape[1]))

    model = ResNetV2(units, width, base, groups, classes, channels, ws=norm == "GN+WS")
    model.load_state_dict(tensors, strict=True)
    model.eval()

    x = np.load(args.input)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[1] != channels:
        raise SystemExit(f"{args.input}: shape {x.shape}, expected N x {channels} x H x W")
    with torch.no_grad():
        logits = model(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))
    json.dump({"arch": arch or f"units {units} width {width} base {base} groups {groups}", "classes": classes,
               "logits": logits.tolist()}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
