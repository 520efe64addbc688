#!/usr/bin/env bash
# Container entrypoint: the `bitactors` CLI.
# - BITACTORS_PUBLIC_HOSTNAME (the address other nodes reach this one at) defaults to the container's IP, so
#   scaled replicas each advertise their own address (`bitactors node` reads it).
# - BITACTORS_TORCH_LIBS=auto (the CUDA image): put PyTorch's torch/lib and the NVIDIA wheels' lib folders on
#   LD_LIBRARY_PATH, where TorchSharp finds the CUDA libtorch.
set -euo pipefail
export BITACTORS_PUBLIC_HOSTNAME="${BITACTORS_PUBLIC_HOSTNAME:-$(hostname -i | awk '{print $1}')}"
if [[ "${BITACTORS_TORCH_LIBS:-}" == auto ]]; then
  torch_lib="$(python3 -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"
  nvidia_libs="$(python3 -c 'import glob, os, site; print(":".join(sorted(glob.glob(os.path.join(site.getsitepackages()[0], "nvidia", "*", "lib")))))')"
  export LD_LIBRARY_PATH="$torch_lib${nvidia_libs:+:$nvidia_libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
exec dotnet /app/bitactors.dll "$@"
