#!/usr/bin/env bash
# Run ON THE DEVICE MACHINE (carry artifacts/gpu: bench/gpu/prepare.sh and bench/gpu/prepare-fashion.py):
#   bash bench/gpu/pipeline.sh "128 256"
# For each batch: the whole upstream pipeline (`bitactors bench upstream --device cuda`: embedded broker →
# decode → augment → shuffle → batch → trainer actor) on Fashion-MNIST at 128 px, then the trainer alone
# on synthetic data at the same batch and resolution (`bench train`; SKIP_TRAIN=1 leaves it out), so the
# two rates can be compared.
set -uo pipefail
batches="${1:-128 256}"; steps="${STEPS:-300}"; warmup="${WARMUP:-50}"
out="${OUT:-/tmp/bench-out}"; mkdir -p "$out"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$root/bench/gpu/device-env.sh"
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; nproc; date -u; } | tee "$out/pipeline-environment.txt"
for b in $batches; do
  app bench upstream --device cuda --arch R50x1 --resolution 128 --batch "$b" --steps "$steps" --warmup "$warmup" \
    --source "$root/artifacts/gpu/fashion" --output "$out/pipeline-$b" --json 2>> "$out/pipeline-log.txt" | tail -1 | tee -a "$out/pipeline.jsonl"
  [[ -n "${SKIP_TRAIN:-}" ]] || app bench train --device cuda --arch R50x1 --resolution 128 --batch "$b" --steps 30 --warmup 8 --json 2>> "$out/pipeline-log.txt" | tail -1 | tee -a "$out/pipeline.jsonl"
done
rm -f "$out"/pipeline-*/checkpoints/*.bin
