#!/usr/bin/env bash
# Proves the CUDA backend on a GPU host that has no Java, no Maven and no network.
#
#   scripts/gpu-check.sh prepare   here (JDK 17 + Maven, offline): builds the shaded jar, the test
#                                  classes, the JUnit console launcher and a jlink'd Java runtime
#                                  into .device-bundle/ (git-ignored, under 60 MiB)
#   scripts/gpu-check.sh run       there, from the repository root with .device-bundle/ beside it:
#                                  prints the device, runs the GPU test suite (its bf16 COSINE
#                                  accuracy lines included), then `imprint bench` W1-W4 on the cuda
#                                  and cpu backends, W3-W4 on cuda with --cuda-bf16-cosine, W1-W4
#                                  on cuda with --top-k 10 (ranked on the device), W1 and W3 from
#                                  64 concurrent callers (batched, then not), and the
#                                  same workloads in PyTorch (when `import torch` works), and ends
#                                  with a summary table; each bench also prints a per-stage profile
#                                  of its calls
#
# run's knobs (environment): GPU_CHECK_SCALE (reference-count multiplier, default 4),
# GPU_CHECK_REPS (timed repetitions, default 7), GPU_CHECK_BUDGET_S (whole run, default 450).
# When $OUT is set, the output is also written to $OUT/gpu-check.log and the test reports (JUnit
# XML) to $OUT/junit/.
set -euo pipefail
cd "$(dirname "$0")/.."

BUNDLE=.device-bundle
JUNIT_VERSION=1.14.4
JUNIT_JAR=$HOME/.m2/repository/org/junit/platform/junit-platform-console-standalone/$JUNIT_VERSION/junit-platform-console-standalone-$JUNIT_VERSION.jar
MODULES=java.base,jdk.unsupported,java.logging,java.naming,jdk.crypto.ec,jdk.zipfs,jdk.incubator.vector,java.xml
LIMIT_MIB=60

prepare() {
  local jdk=${JAVA17_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}
  [ -x "$jdk/bin/jlink" ] || { echo "prepare: no jlink under $jdk; set JAVA17_HOME to a JDK 17" >&2; exit 1; }
  if [ ! -f "$JUNIT_JAR" ]; then
    mvn -q dependency:get -Dartifact=org.junit.platform:junit-platform-console-standalone:$JUNIT_VERSION
  fi
  mvn -o -q -DskipTests package
  rm -rf "$BUNDLE"
  mkdir -p "$BUNDLE"
  cp target/imprint-*-all.jar "$BUNDLE/imprint-all.jar"
  "$jdk/bin/jar" --create --file "$BUNDLE/imprint-tests.jar" -C target/test-classes .
  cp "$JUNIT_JAR" "$BUNDLE/junit-console.jar"
  local tmp
  tmp=$(mktemp -d)
  "$jdk/bin/jlink" --add-modules "$MODULES" --strip-debug --no-man-pages --no-header-files --compress=2 \
    --output "$tmp/java-runtime"
  tar -C "$tmp" -czf "$BUNDLE/java-runtime.tar.gz" java-runtime
  rm -rf "$tmp"
  local total
  total=$(du -cb "$BUNDLE"/* | tail -1 | cut -f1)
  du -h "$BUNDLE"/*
  echo "bundle: $((total / 1048576)) MiB in $BUNDLE (limit $LIMIT_MIB MiB)"
  if [ "$total" -gt $((LIMIT_MIB * 1048576)) ]; then
    echo "prepare: the bundle exceeds $LIMIT_MIB MiB" >&2
    exit 1
  fi
}

section() { printf '\n===== %s (%ss elapsed)\n' "$1" "$SECONDS"; }

# Runs a phase under the time left, so the whole run stays within its budget.
bounded() {
  local share=$1
  shift
  local left=$((BUDGET - SECONDS))
  local limit=$((left < share ? left : share))
  if [ "$limit" -le 5 ]; then
    echo "skipped: the ${BUDGET}s budget is spent"
    return 0
  fi
  timeout --kill-after=10 "$limit" "$@" || echo "exit status $? (limit ${limit}s)"
}

run() {
  BUDGET=${GPU_CHECK_BUDGET_S:-450}
  local scale=${GPU_CHECK_SCALE:-4}
  local reps=${GPU_CHECK_REPS:-7}
  [ -f "$BUNDLE/imprint-all.jar" ] || { echo "run: $BUNDLE/ is missing; run 'scripts/gpu-check.sh prepare' first" >&2; exit 1; }
  local rt
  rt=$(mktemp -d)
  tar -C "$rt" -xzf "$BUNDLE/java-runtime.tar.gz"
  local java="$rt/java-runtime/bin/java"
  local cp="$BUNDLE/imprint-all.jar:$BUNDLE/imprint-tests.jar"
  # Arrow needs java.nio opened; the vector module lets netlib's CPU BLAS vectorise where the host
  # has no libblas.so.3 for its native path.
  local opens="--add-opens=java.base/java.nio=ALL-UNNAMED --add-modules=jdk.incubator.vector"
  local results
  results=$(mktemp)
  # The CPU backend runs one worker per core; OpenBLAS threads on top would oversubscribe them.
  export OPENBLAS_NUM_THREADS=1

  section "device"
  nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used,clocks.max.sm,clocks.max.mem --format=csv || echo "nvidia-smi failed"
  "$java" -version 2>&1 | head -1
  ldconfig -p | grep -E 'libcuda\.so\.1|libnvrtc\.so\.12|libcublas\.so\.12' || echo "(no libcuda.so.1 / libnvrtc.so.12 / libcublas.so.12 in ldconfig)"

  section "GPU test suite (CPU-vs-GPU equivalence, bf16 COSINE bound, passes, compaction, budget; selection logic)"
  # The tail may cut the bf16 COSINE accuracy lines (printed early in the tree): print them again after it.
  bounded 150 "$java" $opens -Xmx24g -jar "$BUNDLE/junit-console.jar" execute --class-path "$cp" \
    --select-class dev.imprint.engine.cuda.CudaBackendTest --select-class dev.imprint.engine.cuda.CudaFailuresTest \
    --select-class dev.imprint.engine.cuda.CudaBf16CosineTest --select-class dev.imprint.engine.BackendProviderTest \
    --details=tree --disable-banner --disable-ansi-colors ${OUT:+--reports-dir "$OUT/junit"} 2>&1 | { grep -v -E '^\s*$|^\s+at |^INFO: scoring backend|BackendProvider select|InstanceBuilder' || true; } | tee "$results.suite" | tail -150
  grep '^bf16 COSINE accuracy' "$results.suite" || echo "(no bf16 COSINE accuracy lines)"

  for backend in cuda cpu; do
    section "imprint bench on $backend (scale $scale)"
    # --profile: after the timed reps, as many again with each stage timed (medians, one line each).
    bounded 130 "$java" $opens -Xmx48g -jar "$BUNDLE/imprint-all.jar" bench --backend "$backend" --workload W1,W2,W3,W4 \
      --scale "$scale" --reps "$reps" --profile 2>&1 | { grep -E '^workload=|^profile |scoring backend|^imprint|Exception|rror' || true; } | tee -a "$results"
  done

  section "imprint bench on cuda with --cuda-bf16-cosine, W3-W4 (scale $scale)"
  # Tagged backend=cuda-bf16 so the summary tells it from the fp32 run.
  bounded 70 "$java" $opens -Xmx48g -jar "$BUNDLE/imprint-all.jar" bench --backend cuda --cuda-bf16-cosine \
    --workload W3,W4 --scale "$scale" --reps "$reps" --profile 2>&1 | { grep -E '^workload=|^profile |scoring backend|^imprint|Exception|rror' || true; } \
    | sed 's/ backend=cuda / backend=cuda-bf16 /' | tee -a "$results"

  section "imprint bench on cuda with --top-k 10, W1-W4 (scale $scale)"
  # Tagged backend=cuda-top10: the device ranks and only the kept pairs come back.
  bounded 90 "$java" $opens -Xmx48g -jar "$BUNDLE/imprint-all.jar" bench --backend cuda --top-k 10 \
    --workload W1,W2,W3,W4 --scale "$scale" --reps "$reps" --profile 2>&1 | { grep -E '^workload=|^profile |^imprint|Exception|rror' || true; } \
    | sed 's/ backend=cuda / backend=cuda-top10 /' | tee -a "$results"

  section "concurrent callers on cuda: 64 at once, top_k=10, batched then unbatched, W1 and W3 (scale $scale)"
  # Kept out of the summary's results: these lines report throughput, not median_s.
  bounded 60 "$java" $opens -Xmx48g -jar "$BUNDLE/imprint-all.jar" bench --backend cuda --workload W1,W3 \
    --scale "$scale" --concurrency 64 --reps 5 --warmup 2 --top-k 10 2>&1 | { grep -E '^workload=|^imprint|Exception|rror' || true; }

  section "PyTorch on the GPU (scale $scale)"
  if python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
    bounded 60 python3 scripts/bench_torch.py --scale "$scale" --reps "$reps" 2>&1 | tee -a "$results"
  else
    echo "skipped: python3 cannot import torch with CUDA here"
  fi

  section "summary"
  python3 - "$results" <<'PY' || grep '^workload=' "$results"
import re, sys
rows, stages = {}, {}
for line in open(sys.argv[1]):
    if line.startswith("workload="):
        kv = dict(re.findall(r"(\w+)=(\S+)", line))
        rows[(kv["workload"], kv["backend"])] = kv
    elif line.startswith("profile "):
        kv = dict(re.findall(r"(\w+)=(\S+)", line))
        if "host_ms" in kv:
            stages.setdefault((kv["workload"], kv["backend"]), {})[kv["stage"]] = kv
HBM_GBPS, FP32_TFLOPS = 4300.0, 67.0


def rates(r):
    """Reference bytes a pass reads once (GB/s) and product flops (TFLOP/s) at its median."""
    m, p, d, s, t = int(r["M"]), int(r["P"]), int(r["D"]), int(r["S"]), float(r["median_s"])
    dist = r["kind"] == "DISTRIBUTION"
    if r["backend"] == "cuda-bf16":
        nbytes = m * p * ((d + 7) // 8 * 8) * 2
    else:
        nbytes = m * p * ((d + 3) // 4 * 4) * 4 * (2 if dist else 1)
    flops = 2.0 * m * s * p * d * (3 if dist else 1)
    return nbytes / t / 1e9, flops / t / 1e12


print("%-4s %6s %11s %11s %11s %9s %10s %9s %9s  %s" % ("work", "M", "cuda_s", "cpu_s", "torch_s", "cpu/cuda",
                                                      "torch/cuda", "cuda_GB/s", "cuda_TF/s", "goal"))
for w in ("W1", "W2", "W3", "W4"):
    c, p, t = rows.get((w, "cuda")), rows.get((w, "cpu")), rows.get((w, "torch"))
    sec = lambda r: float(r["median_s"]) if r else float("nan")
    if c:
        gbps, tflops = rates(c)
        goal = ("%.0f%% of HBM copy bandwidth (goal >= 60%%)" % (100 * gbps / HBM_GBPS)) if w in ("W1", "W3") else \
               ("%.0f%% of FP32 peak (goal >= 25%% without cuBLAS)" % (100 * tflops / FP32_TFLOPS))
    else:
        gbps, tflops, goal = float("nan"), float("nan"), "no cuda result"
    print("%-4s %6s %11.6f %11.6f %11.6f %9.1f %10.2f %9.0f %9.2f  %s" % (
        w, (c or p or t or {}).get("M", "-"), sec(c), sec(p), sec(t), sec(p) / sec(c), sec(t) / sec(c), gbps,
        tflops, goal))

# bf16 EMBEDDING rows against fp32 on the same device (the products read half the bytes).
for w in ("W3", "W4"):
    c, b = rows.get((w, "cuda")), rows.get((w, "cuda-bf16"))
    if c and b:
        gbps, tflops = rates(b)
        print("%-4s bf16: cuda_s %.6f vs fp32 %.6f (%.2fx), %.0f GB/s of bf16 rows, %.2f TF/s" % (
            w, float(b["median_s"]), float(c["median_s"]), float(c["median_s"]) / float(b["median_s"]), gbps, tflops))

# top_k=10 (ranked on the device, only kept pairs downloaded) against every pair ranked on the host.
for w in ("W1", "W2", "W3", "W4"):
    c, k, t = rows.get((w, "cuda")), rows.get((w, "cuda-top10")), rows.get((w, "torch"))
    if c and k:
        print("%-4s top_k=10: cuda_s %.6f vs all %.6f (%.2fx)%s" % (
            w, float(k["median_s"]), float(c["median_s"]), float(c["median_s"]) / float(k["median_s"]),
            (", torch/cuda %.2f" % (float(t["median_s"]) / float(k["median_s"]))) if t else ""))

# Where one cuda call's time goes (medians of the profiled calls, ms): the engine outside the
# backend (selection, ranking, results), the rest of the backend, and the products kernel alone
# with the rate it reached (reference GB/s for one suspect, TFLOP/s for a batch).
print()
print("%-4s %10s %12s %11s %12s %11s %12s %11s" % ("work", "total_ms", "engine_ms", "backend_ms", "products_ms",
                                                  "products", "combine_ms", "copies_ms"))
for w, backend in (("W1", "cuda"), ("W2", "cuda"), ("W3", "cuda"), ("W4", "cuda"), ("W3", "cuda-bf16"),
                   ("W4", "cuda-bf16"), ("W1", "cuda-top10"), ("W2", "cuda-top10"), ("W3", "cuda-top10"),
                   ("W4", "cuda-top10")):
    st, c = stages.get((w, backend)), rows.get((w, backend))
    if not st or not c:
        continue
    host = lambda name: float(st[name]["host_ms"]) if name in st else 0.0
    dev = lambda name: float(st[name]["device_ms"]) if name in st and st[name]["device_ms"] != "-" else 0.0
    products = dev("fused_products_kernel") + dev("sgemm_products_kernel") + dev("cublas_products")
    gbps, tflops = rates(c)
    seconds = float(c["median_s"])
    rate = ("%.0f GB/s" % (gbps * seconds * 1e3 / products)) if int(c["S"]) <= 8 else \
           ("%.1f TF/s" % (tflops * seconds * 1e3 / products)) if products > 0 else "-"
    copies = sum(dev(n) for n in ("upload_slots_and_probes", "upload_suspects", "download_scores"))
    print("%-4s %10.3f %12.3f %11.3f %12.3f %11s %12.3f %11.3f" % (
        w + {"cuda": "", "cuda-bf16": "b", "cuda-top10": "t"}[backend], host("engine_score_all_total"), host("engine_outside_backend"), host("backend_score_total"), products,
        rate if products > 0 else "-", dev("combine_kernel"), copies))
PY
  rm -rf "$rt" "$results" "$results.suite"
  echo "gpu-check finished in ${SECONDS}s"
}

case "${1:-}" in
  prepare) prepare ;;
  run)
    if [ -n "${OUT:-}" ]; then
      run 2>&1 | tee "$OUT/gpu-check.log"
    else
      run
    fi
    ;;
  *) echo "usage: scripts/gpu-check.sh prepare|run" >&2; exit 2 ;;
esac
