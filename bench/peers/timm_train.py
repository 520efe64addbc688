#!/usr/bin/env python3
"""PyTorch peer of `bitactors bench train`: timm's resnetv2_50x1_bit, same batch, resolution and optimizer.

Same work per step as BitActors' Classifier.Step: zero the gradients, forward, softmax cross-entropy,
backward, SGD with momentum 0.9 (no weight decay, as in fine-tuning), read the loss back (a sync) and
count top-1 hits. Synthetic data already on the device; warmup steps are not timed. fp32 eager (cuDNN's
default TF32 for convolutions, as libtorch's default in BitActors). One JSON object per line.
"""
import argparse
import json
import statistics
import time

import timm
import torch
import torch.nn.functional as F


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--resolution", type=int, default=128)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--device", default="cuda")
    a = p.parse_args()

    torch.manual_seed(0)
    dev = torch.device(a.device)
    model = timm.create_model("resnetv2_50x1_bit", num_classes=a.classes).to(dev).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.003, momentum=0.9, weight_decay=0.0)
    x = torch.randn(a.batch, 3, a.resolution, a.resolution, device=dev)
    y = torch.randint(0, a.classes, (a.batch,), device=dev)

    def step():
        opt.zero_grad(set_to_none=False)
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        opt.step()
        value = loss.item()
        (logits.argmax(1) == y).sum().item()
        return value

    for _ in range(a.warmup):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = []
    start = time.perf_counter()
    for _ in range(a.steps):
        t = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - t)
    seconds = time.perf_counter() - start
    print(json.dumps({
        "bench": "train", "impl": "pytorch-timm", "arch": "R50x1", "device": a.device, "batch": a.batch,
        "resolution": a.resolution, "steps": a.steps, "warmup": a.warmup,
        "images_per_second": a.batch * a.steps / seconds, "mean_step_seconds": seconds / a.steps,
        "median_step_seconds": statistics.median(times), "final_loss": loss,
        "parameters": sum(p.numel() for p in model.parameters()),
        "max_memory_allocated": torch.cuda.max_memory_allocated() if dev.type == "cuda" else None,
        "torch": torch.__version__, "timm": timm.__version__,
    }), flush=True)


if __name__ == "__main__":
    main()
