#!/usr/bin/env python3
"""BiT ResNet-v2 in plain PyTorch under timm's resnetv2 parameter names: a peer that loads a BitActors
.safetensors model (strict=True) and prints its logits for a preprocessed input.

usage: timm_resnetv2.py --weights MODEL.safetensors --input X.npy
                        [--arch NAME | --units 3,4,6,3 --width 1 --base 64 --groups 32] [--classes K] [--channels C]

X.npy: float32, N x C x H x W (or C x H x W), already scaled to [-1, 1] (x / 127.5 - 1).
The architecture, classes and input channels come from the file's __metadata__ (bitactors.arch,
bitactors.classes, bitactors.in_channels, bitactors.norm) where it has them; the options fill in or override.
Prints one JSON object: {"arch": ..., "classes": K, "logits": [[...], ...]} (a row per image).
Needs python3-torch and python3-numpy only (no timm, no safetensors package). The model is bench/peers/bit_resnetv2.py
(copied beside this file in the test output).
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import torch

try:
    from bit_resnetv2 import ARCHS, ResNetV2
except ImportError:  # run from the source tree: the model lives in bench/peers
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "bench", "peers"))
    from bit_resnetv2 import ARCHS, ResNetV2


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
