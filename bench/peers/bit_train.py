#!/usr/bin/env python3
"""PyTorch peer of `bitactors bench train`: the same BiT ResNet-v2 (bit_resnetv2.py, plain torch, no timm), the
same batch, resolution, classes and optimizer, on the same number of threads.

Same work per step as BitActors' Classifier.Step: zero the gradients, forward, softmax cross-entropy, backward,
SGD with momentum 0.9 (PyTorch's rule, as BitActors' MomentumSgd), read the loss back and count top-1 hits.
Synthetic data made once (--host-data: copied from a NumPy array each step, as BitActors copies its managed
array); warmup steps are not timed. fp32 eager. Prints one JSON object.
Needs python3-torch and python3-numpy (Debian's packages are enough).
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bit_resnetv2 import ARCHS, ResNetV2  # noqa: E402


def positive(text):
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def loaded_blas():
    """The BLAS library this process loaded (Debian's libblas.so.3 alternative: reference BLAS unless OpenBLAS is installed)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "blas" in line.rsplit("/", 1)[-1] and ".so" in line}
        return ", ".join(sorted(os.path.realpath(p) for p in paths)) or None
    except OSError:
        return None


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", default="R50x1", choices=list(ARCHS), help="architecture (default R50x1)")
    p.add_argument("--batch", type=positive, default=64)
    p.add_argument("--resolution", type=positive, default=128)
    p.add_argument("--steps", type=positive, default=20, help="timed steps")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    p.add_argument("--classes", type=positive, default=1000)
    p.add_argument("--channels", type=positive, default=3)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--lr", type=float, default=0.003)
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    p.add_argument("--host-data", action="store_true", help="a copy from a NumPy array into a new tensor each step")
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    if a.warmup < 0:
        p.error("--warmup must be 0 or more")

    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    units, width, base, groups = ARCHS[a.arch]
    model = ResNetV2(units, width, base, groups, a.classes, a.channels).to(dev).train()
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9, weight_decay=a.weight_decay)
    x = torch.randn(a.batch, a.channels, a.resolution, a.resolution, device=dev)
    y = torch.randint(0, a.classes, (a.batch,), device=dev)
    host_x, host_y = (x.cpu().numpy(), y.cpu().numpy()) if a.host_data else (None, None)

    def step():
        images, labels = (torch.tensor(host_x).to(dev), torch.tensor(host_y).to(dev)) if a.host_data else (x, y)
        opt.zero_grad(set_to_none=False)
        logits = model(images)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        value = loss.item()
        (logits.argmax(1) == labels).sum().item()
        opt.step()
        return value

    for _ in range(a.warmup):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    times = []
    start = time.perf_counter()
    for _ in range(a.steps):
        t = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - t)
    seconds = time.perf_counter() - start
    print(json.dumps({
        "bench": "train", "impl": "pytorch", "arch": a.arch, "device": a.device, "batch": a.batch,
        "resolution": a.resolution, "steps": a.steps, "warmup": a.warmup, "classes": a.classes, "channels": a.channels,
        "weight_decay": a.weight_decay, "host_data": a.host_data, "threads": torch.get_num_threads(),
        "images_per_second": a.batch * a.steps / seconds, "mean_step_seconds": seconds / a.steps,
        "median_step_seconds": statistics.median(times), "final_loss": loss,
        "parameters": sum(p.numel() for p in model.parameters()), "torch": torch.__version__,
        "blas": loaded_blas(),
    }), flush=True)


if __name__ == "__main__":
    main()
