#!/usr/bin/env bash
# Runs the CUDA backend's GPU-tagged Java tests on a host without a GPU: builds a fake
# libcuda.so.1 whose kernel launches run kernels/ on the CPU (cuda_emulation.h) and a fake
# libcublas.so.12, then runs the tests with them first on the library path. Checks the kernels' logic and the backend's use of
# them end to end; says nothing about speed or real-GPU behaviour (memory model, PTX, drivers).
#
#   kernels/emulator/run-emulated-tests.sh [-Dtest=CudaBackendTest#method ...]   (default: every Cuda*Test and BackendProviderTest)
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
g++ -std=c++20 -O2 -g -shared -fPIC -Wno-unknown-pragmas -Wl,-soname,libcuda.so.1 \
  -I kernels/emulator -I kernels \
  -o "$tmp/libcuda.so.1" kernels/emulator/fake_libcuda.cpp
g++ -O2 -g -shared -fPIC -Wl,--version-script=kernels/emulator/libcublas.version -Wl,-soname,libcublas.so.12 \
  -o "$tmp/libcublas.so.12" kernels/emulator/fake_libcublas.cpp
args=("$@")
[ ${#args[@]} -gt 0 ] || args=('-Dtest=Cuda*Test,BackendProviderTest')
LD_LIBRARY_PATH="$tmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" mvn -o -q test "${args[@]}"
