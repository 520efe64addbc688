#!/usr/bin/env bash
# Run ON THE DEVICE MACHINE (carry artifacts/gpu): where the pipeline's step time goes beyond the
# synthetic benchmark's. `bench train` at R50x1 128 px, adding one difference of the pipeline at a time:
# 10 classes, 1 input channel, weight decay 1e-4, data fed from managed arrays each step.
set -uo pipefail
out="${OUT:-/tmp/bench-out}"; mkdir -p "$out"; batches="${1:-128 256}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mkdir -p /tmp/ba && [[ -x /tmp/ba/dotnet/dotnet ]] || xz -dc "$root/artifacts/gpu/bundle.tar.xz" | tar -C /tmp/ba -xf -
export DOTNET_ROOT=/tmp/ba/dotnet DOTNET_CLI_TELEMETRY_OPTOUT=1
torch_lib="$(python3 -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"
nvidia_libs="$(python3 -c 'import nvidia, glob; print(":".join(sorted(glob.glob(nvidia.__path__[0] + "/*/lib"))))')"
export LD_LIBRARY_PATH="$torch_lib:$nvidia_libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
for b in $batches; do
  for extra in "" "--classes 10" "--classes 10 --channels 1" "--classes 10 --channels 1 --weight-decay 1e-4" "--classes 10 --channels 1 --weight-decay 1e-4 --host-data"; do
    "$DOTNET_ROOT/dotnet" /tmp/ba/app/bitactors.dll bench train --device cuda --arch R50x1 --resolution 128 --batch "$b" --steps 40 --warmup 10 $extra --json 2>> "$out/decompose-log.txt" | tail -1 | tee -a "$out/decompose.jsonl"
  done
done
