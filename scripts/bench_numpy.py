#!/usr/bin/env python3
"""The numpy/OpenBLAS float32 baseline for `imprint bench`: the same workloads, metrics and timing.

Reference forms are precomputed when a reference is registered, as a careful numpy user would:
unit rows, smoothed probabilities and their logs, per-row negative entropies, argmax indices. A
query does the heavy part as three matrix products over the flattened fingerprints
((M x P*D) @ (P*D x S)), then the per-probe terms as vector operations, then ranks the references
of each suspect. Prints one line per workload ending in median_s=<seconds per batch of S suspects>.

Usage: bench_numpy.py [--workload W1,W2,W3,W4|all] [--reps 7] [--warmup 2] [--scale 1]
"""
import argparse
import sys
import time

import numpy as np

WORKLOADS = {
    # name: (kind, M, P, D, S)
    "W1": ("DISTRIBUTION", 200, 256, 1024, 1),
    "W2": ("DISTRIBUTION", 200, 256, 1024, 64),
    "W3": ("EMBEDDING", 1000, 128, 768, 1),
    "W4": ("EMBEDDING", 1000, 128, 768, 64),
}
EPS = 1e-6
DEFAULT_METRICS = {
    "DISTRIBUTION": "COSINE,KL_REF_SUSPECT,KL_SUSPECT_REF,TOP1_AGREEMENT",
    "EMBEDDING": "COSINE",
}


def model_rows(kind, p, d, rng):
    """Rows like a model's: gaussian embeddings, or softmax distributions of moderate sharpness."""
    if kind == "EMBEDDING":
        return rng.standard_normal((p, d)).astype(np.float32)
    w = np.exp(2.0 * rng.standard_normal((p, d)))
    return (w / w.sum(axis=1, keepdims=True)).astype(np.float32)


class References:
    """The M references of one probe set in precomputed float32 forms, flattened to M x (P*D)."""

    def __init__(self, kind, m, p, d):
        self.kind, self.p, self.d = kind, p, d
        self.scale = np.float32(1.0 / (1.0 + d * EPS))
        self.unit = np.empty((m, p * d), np.float32)
        if kind == "DISTRIBUTION":
            self.smooth = np.empty((m, p * d), np.float32)
            self.logs = np.empty((m, p * d), np.float32)
            self.neg_entropy = np.empty(m, np.float64)  # sum over probes of sum_k r~ ln r~
            self.argmax = np.empty((m, p), np.int64)

    def put(self, i, rows):
        norms = np.linalg.norm(rows.astype(np.float64), axis=1, keepdims=True)
        self.unit[i] = (rows / norms).astype(np.float32).ravel()
        if self.kind == "DISTRIBUTION":
            sm = (rows.astype(np.float64) + EPS) / (1.0 + self.d * EPS)
            lg = np.log(sm)
            self.smooth[i] = sm.astype(np.float32).ravel()
            self.logs[i] = lg.astype(np.float32).ravel()
            self.neg_entropy[i] = (sm * lg).sum()
            self.argmax[i] = rows.argmax(axis=1)

    def score(self, suspects):
        """suspects: S x P x D float32. Returns {metric: M x S float64 means over probes}."""
        s_count = suspects.shape[0]
        p = self.p
        flat = suspects.reshape(s_count, -1)
        norms = np.linalg.norm(suspects, axis=2, keepdims=True)
        unit_s = (suspects / norms).reshape(s_count, -1)
        out = {"COSINE": (self.unit @ unit_s.T).astype(np.float64) / p}
        if self.kind == "DISTRIBUTION":
            sm = (flat + np.float32(EPS)) * self.scale
            lg = np.log(sm)
            s_neg_entropy = np.einsum("ij,ij->i", sm.astype(np.float64), lg.astype(np.float64))
            out["KL_REF_SUSPECT"] = (self.neg_entropy[:, None] - (self.smooth @ lg.T)) / p
            out["KL_SUSPECT_REF"] = (s_neg_entropy[None, :] - (self.logs @ sm.T)) / p
            s_argmax = suspects.argmax(axis=2)
            out["TOP1_AGREEMENT"] = (self.argmax[:, None, :] == s_argmax[None, :, :]).mean(axis=2)
        return out


def rank(scores, kind):
    """Per suspect, the reference indices best first under the kind's default ordering."""
    if kind == "DISTRIBUTION":
        return np.argsort(scores["KL_REF_SUSPECT"], axis=0, kind="stable")
    return np.argsort(-scores["COSINE"], axis=0, kind="stable")


def run(name, scale, warmup, reps):
    kind, m, p, d, s = WORKLOADS[name]
    m = max(1, round(m * scale))
    rng = np.random.default_rng(20261128 + list(WORKLOADS).index(name))
    refs = References(kind, m, p, d)
    first = None
    for i in range(m):
        rows = model_rows(kind, p, d, rng)
        first = rows if first is None else first
        refs.put(i, rows)
    suspects = np.stack([
        ((1 - w) * first + w * model_rows(kind, p, d, rng)).astype(np.float32)
        for w in (0.1 + 0.8 * j / max(1, s) for j in range(s))])
    for _ in range(warmup):
        rank(refs.score(suspects), kind)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        rank(refs.score(suspects), kind)
        times.append(time.perf_counter() - start)
    print(f"workload={name} backend=numpy kind={kind} M={m} P={p} D={d} S={s} "
          f"metrics={DEFAULT_METRICS[kind]} reps={reps} min_s={min(times):.6f} max_s={max(times):.6f} "
          f"median_s={float(np.median(times)):.6f}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workload", action="append", default=None,
                    help="W1, W2, W3, W4 or all; repeatable or comma-separated (default: all)")
    ap.add_argument("--reps", type=int, default=7, help="timed repetitions, at least 5 (default: 7)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed batches first (default: 2)")
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies M (default: 1)")
    args = ap.parse_args()
    if args.reps < 5:
        ap.error(f"--reps={args.reps}; expected at least 5")
    names = []
    for item in args.workload or ["all"]:
        for w in item.split(","):
            w = w.strip().upper()
            if w == "ALL":
                names.extend(WORKLOADS)
            elif w in WORKLOADS:
                names.append(w)
            else:
                ap.error(f"--workload={w}; expected W1, W2, W3, W4 or all")
    for name in dict.fromkeys(names):
        run(name, args.scale, args.warmup, args.reps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
