#!/usr/bin/env bash
# Run ON THE DEVICE MACHINE (carry artifacts/gpu): where the pipeline's step time goes beyond the
# synthetic benchmark's. `bench train` at R50x1 128 px, adding one difference of the pipeline at a time:
# 10 classes, 1 input channel, weight decay 1e-4, data fed from managed arrays each step.
set -uo pipefail
out="${OUT:-/tmp/bench-out}"; mkdir -p "$out"; batches="${1:-128 256}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$root/bench/gpu/device-env.sh"
for b in $batches; do
  for extra in "" "--classes 10" "--classes 10 --channels 1" "--classes 10 --channels 1 --weight-decay 1e-4" "--classes 10 --channels 1 --weight-decay 1e-4 --host-data"; do
    app bench train --device cuda --arch R50x1 --resolution 128 --batch "$b" --steps 40 --warmup 10 $extra --json 2>> "$out/decompose-log.txt" | tail -1 | tee -a "$out/decompose.jsonl"
  done
done
