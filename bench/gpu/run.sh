#!/usr/bin/env bash
# Run ON THE DEVICE MACHINE (carry artifacts/gpu, made by bench/gpu/prepare.sh):
#   bash bench/gpu/run.sh "128 224" "64 256"
# REPEATS=N runs the whole matrix N times; the table gives medians.
# For each resolution × batch: BitActors (`bitactors bench train --device cuda`) and the timm peer, each in
# its own process, with the card's memory sampled by nvidia-smi; then a comparison table.
set -uo pipefail
resolutions="${1:-128 224}"; batches="${2:-64 256}"; steps="${STEPS:-20}"; warmup="${WARMUP:-5}"; repeats="${REPEATS:-1}"
out="${OUT:-/tmp/bench-out}"; mkdir -p "$out"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$root/bench/gpu/device-env.sh"
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; python3 -c 'import torch, timm; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(), "timm", timm.__version__)'; date -u; } | tee "$out/environment.txt"
idle="$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits | head -1)"

measure() { # name, command...: appends the JSON line with peak card memory (MiB above idle) added
  local name="$1"; shift
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 > "$out/mem.tmp" & local sampler=$!
  "$@" > "$out/line.tmp" 2>> "$out/log.txt"; local rc=$?
  kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null
  local peak; peak="$(sort -n "$out/mem.tmp" | tail -1)"
  if [[ $rc -ne 0 ]]; then echo "{\"impl\":\"$name\",\"error\":$rc}" >> "$out/results.jsonl"; echo "$name failed ($rc)"; return; fi
  python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); d["card_memory_mib"]=int(sys.argv[2])-int(sys.argv[3]); print(json.dumps(d))' \
    "$out/line.tmp" "${peak:-0}" "$idle" | tee -a "$out/results.jsonl"
}

# Repeats alternate the two implementations (A/B/A/B) so that drift on the card hits both alike.
for rep in $(seq 1 "$repeats"); do
for r in $resolutions; do
  for b in $batches; do
    measure bitactors app bench train --device cuda --batch "$b" --resolution "$r" --steps "$steps" --warmup "$warmup" --json
    measure pytorch-timm python3 "$root/bench/peers/timm_train.py" --batch "$b" --resolution "$r" --steps "$steps" --warmup "$warmup"
  done
done
done
python3 "$root/bench/gpu/compare.py" "$out/results.jsonl" | tee "$out/table.md"
