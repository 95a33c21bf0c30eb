#!/usr/bin/env bash
# Builds the CUDA kernels in kernels/ into the fatbin the CUDA backend loads.
#
#   scripts/build-kernels.sh           rebuild src/main/resources/dev/imprint/engine/cuda/*
#   scripts/build-kernels.sh --check   fail (exit 1) if the committed kernels are stale
#   scripts/build-kernels.sh --unity   print the unity source (what nvcc and NVRTC compile)
#
# The families (kernels/*.cu) are concatenated after kernels/common.cuh, their #include lines
# dropped, into one translation unit; CudaKernels.unitySource() builds the same text from the
# sources Maven packs beside it, for NVRTC. The fatbin holds SASS for sm_75, 80, 86, 89, 90, 100
# and 120 plus compute_75 PTX. nvcc output is not byte-reproducible, so staleness is judged by the
# SHA-256 of the unity source, recorded in imprint_kernels.sha256 with the fatbin's own checksum.
# --check also compiles the unity source (when nvcc exists), so a kernel that no longer builds
# fails CI.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT_DIR=src/main/resources/dev/imprint/engine/cuda
FAMILIES=(kernels/prepare.cu kernels/products.cu kernels/combine.cu kernels/select.cu)
ARCHS=(75 80 86 89 90 100 120)
NVCC=${NVCC:-nvcc}

unity_source() {
  cat kernels/common.cuh
  for f in "${FAMILIES[@]}"; do
    grep -v '^#include "common.cuh"$' "$f"
  done
}

compile() { # unity.cu out.fatbin
  local gencode=()
  for a in "${ARCHS[@]}"; do
    gencode+=(-gencode "arch=compute_${a},code=sm_${a}")
  done
  gencode+=(-gencode "arch=compute_75,code=compute_75")
  "$NVCC" -fatbin -O3 -std=c++17 "${gencode[@]}" -o "$2" "$1"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unity_source > "$tmp/imprint_kernels.cu"
source_sum=$(sha256sum "$tmp/imprint_kernels.cu" | cut -d' ' -f1)

if [ "${1:-}" = "--unity" ]; then
  cat "$tmp/imprint_kernels.cu"
  exit 0
fi

if [ "${1:-}" = "--check" ]; then
  status=0
  if [ ! -f "$OUT_DIR/imprint_kernels.sha256" ] || ! grep -q "^$source_sum  imprint_kernels.cu$" "$OUT_DIR/imprint_kernels.sha256"; then
    echo "stale: the fatbin was not built from the current kernels/ sources; run scripts/build-kernels.sh" >&2
    status=1
  elif ! (cd "$OUT_DIR" && grep ' imprint_kernels.fatbin$' imprint_kernels.sha256 | sha256sum -c --quiet -); then
    echo "stale: $OUT_DIR/imprint_kernels.fatbin does not match its recorded checksum" >&2
    status=1
  fi
  if command -v "$NVCC" >/dev/null; then
    compile "$tmp/imprint_kernels.cu" "$tmp/check.fatbin" || status=1
  else
    echo "note: $NVCC not found; checked checksums only" >&2
  fi
  [ $status = 0 ] && echo "kernels up to date ($source_sum)"
  exit $status
fi

mkdir -p "$OUT_DIR"
compile "$tmp/imprint_kernels.cu" "$tmp/imprint_kernels.fatbin"
cp "$tmp/imprint_kernels.fatbin" "$OUT_DIR/"
{
  echo "$source_sum  imprint_kernels.cu"
  (cd "$OUT_DIR" && sha256sum imprint_kernels.fatbin)
} > "$OUT_DIR/imprint_kernels.sha256"
echo "built $OUT_DIR/imprint_kernels.fatbin ($(stat -c %s "$OUT_DIR/imprint_kernels.fatbin") bytes) from $source_sum"
