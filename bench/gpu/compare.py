#!/usr/bin/env python3
"""Pairs BitActors and timm results (same batch and resolution) into a markdown table of ratios.

With repeated runs, each figure is the median over the repeats and the runs' img/s are listed."""
import json
import statistics
import sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ok = [r for r in rows if "error" not in r]


def pick(impl, key):
    return [x for x in ok if x["impl"] == impl and (x["resolution"], x["batch"]) == key]


print("| px | batch | BitActors img/s | timm img/s | speed ratio | BitActors MiB | timm MiB | memory ratio | runs (ours / timm img/s) |")
print("|---|---|---|---|---|---|---|---|---|")
for key in sorted({(r["resolution"], r["batch"]) for r in ok}):
    ours, peer = pick("bitactors", key), pick("pytorch-timm", key)
    if not ours or not peer:
        print(f"| {key[0]} | {key[1]} | {len(ours)} runs | {len(peer)} runs | - | | | | |")
        continue
    o = statistics.median(x["images_per_second"] for x in ours)
    p = statistics.median(x["images_per_second"] for x in peer)
    om = statistics.median(x["card_memory_mib"] for x in ours)
    pm = statistics.median(x["card_memory_mib"] for x in peer)
    runs = ", ".join(f"{a['images_per_second']:.0f}/{b['images_per_second']:.0f}" for a, b in zip(ours, peer))
    print(f"| {key[0]} | {key[1]} | {o:.0f} | {p:.0f} | {o / p:.3f} | {om:.0f} | {pm:.0f} | {om / max(1, pm):.2f} | {runs} |")
for r in rows:
    if "error" in r:
        print(f"\n{r['impl']} failed with exit code {r['error']}")
