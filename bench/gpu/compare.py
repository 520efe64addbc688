#!/usr/bin/env python3
"""Pairs BitActors and timm results (same batch and resolution) into a markdown table of ratios."""
import json
import sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ok = [r for r in rows if "error" not in r]
print("| px | batch | BitActors img/s | timm img/s | speed ratio | BitActors MiB | timm MiB | memory ratio |")
print("|---|---|---|---|---|---|---|---|")
for r in sorted({(r["resolution"], r["batch"]) for r in ok}):
    ours = next((x for x in ok if x["impl"] == "bitactors" and (x["resolution"], x["batch"]) == r), None)
    peer = next((x for x in ok if x["impl"] == "pytorch-timm" and (x["resolution"], x["batch"]) == r), None)
    if not ours or not peer:
        print(f"| {r[0]} | {r[1]} | {'-' if not ours else round(ours['images_per_second'])} | {'-' if not peer else round(peer['images_per_second'])} | - | | | |")
        continue
    print(f"| {r[0]} | {r[1]} | {ours['images_per_second']:.0f} | {peer['images_per_second']:.0f} | "
          f"{ours['images_per_second'] / peer['images_per_second']:.3f} | {ours['card_memory_mib']} | {peer['card_memory_mib']} | "
          f"{ours['card_memory_mib'] / max(1, peer['card_memory_mib']):.2f} |")
for r in rows:
    if "error" in r:
        print(f"\n{r['impl']} failed with exit code {r['error']}")
