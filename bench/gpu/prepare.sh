#!/usr/bin/env bash
# Run HERE (no GPU needed): builds what bench/gpu/run.sh needs on the device machine into
# artifacts/gpu/bundle.tar.xz: the CLI published framework-dependent for linux-x64 with only the
# TorchSharp package (no CPU libtorch: the device's own PyTorch libraries are used), and a .NET runtime.
# The publish happens in a copy of the tree so the GPU package set never touches this checkout's obj/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work=/tmp/bitactors-gpu-build
rm -rf "$work" && mkdir -p "$work/stage/dotnet/shared"
tar -C "$root" --exclude=bin --exclude=obj --exclude=artifacts --exclude=.bitactors --exclude=.git -cf - . | tar -C "$work" -xf -
dotnet publish "$work/src/Cli/BitActors.Cli.csproj" -c Release -r linux-x64 --self-contained false \
  -p:BitActorsGpu=true -o "$work/stage/app" -nologo -v quiet
# One librdkafka is enough (KafkaNative loads the centos8 build).
rm -f "$work/stage/app/librdkafka.so" "$work/stage/app/alpine-librdkafka.so"
dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
runtime="$(ls -d "$dotnet_root"/shared/Microsoft.NETCore.App/10.* | sort -V | tail -1)"
cp -a "$dotnet_root/dotnet" "$dotnet_root/host" "$work/stage/dotnet/"
mkdir -p "$work/stage/dotnet/shared/Microsoft.NETCore.App" && cp -a "$runtime" "$work/stage/dotnet/shared/Microsoft.NETCore.App/"
mkdir -p "$root/artifacts/gpu"
tar -C "$work/stage" -cf - dotnet app | xz -T0 -6 > "$root/artifacts/gpu/bundle.tar.xz"
ls -la "$root/artifacts/gpu/bundle.tar.xz"
