# Sourced by the device scripts (run.sh, pipeline.sh, decompose.sh) ON THE DEVICE MACHINE: unpacks the
# bundle made by prepare.sh once, points .NET at its runtime and TorchSharp at the machine's PyTorch and
# NVIDIA libraries (DESIGN.md's GPU recipe), and defines `app` to run the CLI. Expects $root.
mkdir -p /tmp/ba
[[ -x /tmp/ba/dotnet/dotnet ]] || xz -dc "$root/artifacts/gpu/bundle.tar.xz" | tar -C /tmp/ba -xf -
export DOTNET_ROOT=/tmp/ba/dotnet DOTNET_CLI_TELEMETRY_OPTOUT=1
torch_lib="$(python3 -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"
nvidia_libs="$(python3 -c 'import nvidia, glob; print(":".join(sorted(glob.glob(nvidia.__path__[0] + "/*/lib"))))')"
export LD_LIBRARY_PATH="$torch_lib:$nvidia_libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
app() { "$DOTNET_ROOT/dotnet" /tmp/ba/app/bitactors.dll "$@"; }
