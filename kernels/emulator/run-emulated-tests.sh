#!/usr/bin/env bash
# Runs the CUDA backend's GPU-tagged Java tests on a host without a GPU: builds a fake
# libcuda.so.1 whose kernel launches run kernels/ on the CPU (cuda_emulation.h) and whose streams
# run asynchronously on host threads, and a fake libcublas.so.12 that runs on those streams; checks
# them with stream_selftest.cpp, then runs the tests with them first on the library path. Checks the
# kernels' logic and the backend's use of them end to end, ordering on streams included; says
# nothing about speed or real-GPU behaviour (memory model, PTX, drivers).
#
#   kernels/emulator/run-emulated-tests.sh [-Dtest=CudaBackendTest#method ...]   (default: every Cuda*Test and BackendProviderTest)
#
# IMPRINT_EMULATOR_STREAM_DELAY_US (default 200 here): each operation on a stream first sleeps a
# pseudo-random 0..this many microseconds, so that work the host forgot to wait for shows up.
# IMPRINT_EMULATOR_DEVICES (default 2 here): how many devices the fake driver shows.
# IMPRINT_EMULATOR_FAULT_FILE is set to a file under the build folder: a test that writes a
# kernel's name there makes that kernel fault (sticky CUDA_ERROR_ILLEGAL_ADDRESS) when it runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
g++ -std=c++20 -O2 -g -shared -fPIC -pthread -Wno-unknown-pragmas -Wl,-soname,libcuda.so.1 \
  -I kernels/emulator -I kernels \
  -o "$tmp/libcuda.so.1" kernels/emulator/fake_libcuda.cpp
# Linked against the fake libcuda (DT_NEEDED libcuda.so.1), whose streams it queues its products on.
g++ -std=c++20 -O2 -g -shared -fPIC -Wl,--version-script=kernels/emulator/libcublas.version -Wl,-soname,libcublas.so.12 \
  -o "$tmp/libcublas.so.12" kernels/emulator/fake_libcublas.cpp -L"$tmp" -l:libcuda.so.1
g++ -std=c++20 -O2 -g -pthread -o "$tmp/stream_selftest" kernels/emulator/stream_selftest.cpp \
  -L"$tmp" -l:libcuda.so.1 -l:libcublas.so.12
export IMPRINT_EMULATOR_STREAM_DELAY_US="${IMPRINT_EMULATOR_STREAM_DELAY_US:-200}"
# Two emulated devices, so CudaShardedTest spreads references over both; the other tests use device 0.
export IMPRINT_EMULATOR_DEVICES="${IMPRINT_EMULATOR_DEVICES:-2}"
export LD_LIBRARY_PATH="$tmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# A broken emulator tends to deadlock the self-test rather than fail it, hence the timeout.
IMPRINT_EMULATOR_FAULT_FILE="$tmp/selftest-fault" timeout 120 "$tmp/stream_selftest"
export IMPRINT_EMULATOR_FAULT_FILE="$tmp/fault"
args=("$@")
[ ${#args[@]} -gt 0 ] || args=('-Dtest=Cuda*Test,BackendProviderTest')
mvn -o -q test "${args[@]}"
