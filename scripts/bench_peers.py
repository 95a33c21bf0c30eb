#!/usr/bin/env python3
"""The peers of `imprint bench` on the CPU: numpy/OpenBLAS, PyTorch and FAISS, float32, on the same
workloads, metrics and timing.

Reference forms are precomputed when a reference is registered, as a careful user would: unit rows,
smoothed probabilities and their logs, per-row negative entropies, argmax indices.
- numpy: a query does the heavy part as three matrix products over the flattened fingerprints
  ((M x P*D) @ (P*D x S)), then the per-probe terms as vector operations, then ranks the
  references of each suspect.
- torch: the same computation on torch tensors (CPU, float32, torch's own thread count).
- faiss: EMBEDDING only (W3, W4): an IndexFlatIP over each reference's per-probe unit rows,
  flattened, so its inner product with a suspect's is P x the mean per-probe cosine; a search for
  all M ranks them.
Prints one line per workload ending in median_s=<seconds per batch of S suspects>.

W5 and W6 are top-k answers as compact rows over each probe's support (D=64), as Imprint's W5/W6
score them in their compact form (`imprint bench --compact-only`).

Usage: bench_peers.py [--peer numpy|torch|faiss] [--workload W1,...,W6|all] [--reps 7] [--warmup 2]
                      [--scale 1] [--paced]
"""
import argparse
import sys

import numpy as np

from bench_pacing import timed_calls

WORKLOADS = {
    # name: (kind, M, P, D, S)
    "W1": ("DISTRIBUTION", 200, 256, 1024, 1),
    "W2": ("DISTRIBUTION", 200, 256, 1024, 64),
    "W3": ("EMBEDDING", 1000, 128, 768, 1),
    "W4": ("EMBEDDING", 1000, 128, 768, 64),
    # Top-k answers as compact rows over each probe's support of 64 keys (Imprint's W5/W6 compact form).
    "W5": ("DISTRIBUTION", 20, 256, 64, 1),
    "W6": ("DISTRIBUTION", 20, 256, 64, 64),
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


class TorchReferences:
    """The numpy forms as torch tensors; a query runs References.score's computation in torch."""

    def __init__(self, refs):
        import torch
        self.torch = torch
        self.kind, self.p = refs.kind, refs.p
        self.scale = float(refs.scale)
        self.unit = torch.from_numpy(refs.unit)
        if refs.kind == "DISTRIBUTION":
            self.smooth = torch.from_numpy(refs.smooth)
            self.logs = torch.from_numpy(refs.logs)
            self.neg_entropy = torch.from_numpy(refs.neg_entropy)
            self.argmax = torch.from_numpy(refs.argmax)

    def score(self, suspects_np):
        torch = self.torch
        suspects = torch.from_numpy(suspects_np)
        s_count, p = suspects.shape[0], self.p
        flat = suspects.reshape(s_count, -1)
        ws = self.workspace(flat.shape)
        # Into buffers kept across queries, as a careful torch user would: a fresh S x P*D tensor a
        # query costs more in page faults here than the products do.
        norms = torch.linalg.vector_norm(suspects, dim=2, keepdim=True)
        unit_s = torch.div(suspects, norms, out=ws["unit"].view_as(suspects)).reshape(s_count, -1)
        out = {"COSINE": (self.unit @ unit_s.T).double() / p}
        if self.kind == "DISTRIBUTION":
            sm = torch.add(flat, EPS, out=ws["smooth"]).mul_(self.scale)
            lg = torch.log(sm, out=ws["log"])
            # torch sums float32 pairwise, close to numpy's float64 here without a float64 copy of both.
            s_neg_entropy = torch.mul(sm, lg, out=ws["unit"]).sum(dim=1).double()
            out["KL_REF_SUSPECT"] = (self.neg_entropy[:, None] - (self.smooth @ lg.T).double()) / p
            out["KL_SUSPECT_REF"] = (s_neg_entropy[None, :] - (self.logs @ sm.T).double()) / p
            s_argmax = suspects.argmax(dim=2)
            out["TOP1_AGREEMENT"] = (self.argmax[:, None, :] == s_argmax[None, :, :]).double().mean(dim=2)
        return out

    def workspace(self, shape):
        """Buffers for a batch of this shape, made on first use."""
        if getattr(self, "buffers", None) is None or self.buffers["unit"].shape != shape:
            self.buffers = {name: self.torch.empty(shape) for name in ("unit", "smooth", "log")}
        return self.buffers


def rank_torch(scores, kind):
    torch = __import__("torch")
    if kind == "DISTRIBUTION":
        return torch.argsort(scores["KL_REF_SUSPECT"], dim=0, stable=True)
    return torch.argsort(-scores["COSINE"], dim=0, stable=True)


class FaissReferences:
    """EMBEDDING references in a FAISS IndexFlatIP over their flattened per-probe unit rows."""

    def __init__(self, refs):
        import faiss
        self.p = refs.p
        self.m = refs.unit.shape[0]
        self.index = faiss.IndexFlatIP(refs.unit.shape[1])
        self.index.add(refs.unit)

    def search(self, suspects):
        """COSINE of every reference, closest first per suspect (S x M), and their indices."""
        s_count = suspects.shape[0]
        unit_s = (suspects / np.linalg.norm(suspects, axis=2, keepdims=True)).reshape(s_count, -1)
        distances, indices = self.index.search(np.ascontiguousarray(unit_s, dtype=np.float32), self.m)
        return distances / self.p, indices


def query(peer, refs, kind):
    """The timed step of {@code peer}: score a batch of suspects and rank the references."""
    if peer == "numpy":
        return lambda suspects: rank(refs.score(suspects), kind)
    if peer == "torch":
        t = TorchReferences(refs)
        return lambda suspects: rank_torch(t.score(suspects), kind)
    f = FaissReferences(refs)
    return f.search


def rank(scores, kind):
    """Per suspect, the reference indices best first under the kind's default ordering."""
    if kind == "DISTRIBUTION":
        return np.argsort(scores["KL_REF_SUSPECT"], axis=0, kind="stable")
    return np.argsort(-scores["COSINE"], axis=0, kind="stable")


def run(peer, name, scale, warmup, reps, paced=False):
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
    step = query(peer, refs, kind)
    for _ in range(warmup):
        step(suspects)
    times = timed_calls(lambda: step(suspects), reps, paced)
    if not times:
        return
    print(f"workload={name} backend={peer} kind={kind} M={m} P={p} D={d} S={s} "
          f"metrics={DEFAULT_METRICS[kind]} reps={len(times)} min_s={min(times):.6f} max_s={max(times):.6f} "
          f"median_s={float(np.median(times)):.6f}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--peer", choices=["numpy", "torch", "faiss"], default="numpy",
                    help="which library scores (default: numpy); faiss runs the EMBEDDING workloads only")
    ap.add_argument("--workload", action="append", default=None,
                    help="W1 to W6 or all (W1 to W4); repeatable or comma-separated (default: all)")
    ap.add_argument("--reps", type=int, default=7, help="timed repetitions, at least 5 (default: 7)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed batches first (default: 2)")
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies M (default: 1)")
    ap.add_argument("--paced", action="store_true",
                    help="one timed call per line of stdin instead of --reps (scripts/bench_pacing.py); one workload")
    args = ap.parse_args()
    if args.reps < 5:
        ap.error(f"--reps={args.reps}; expected at least 5")
    names = []
    for item in args.workload or ["all"]:
        for w in item.split(","):
            w = w.strip().upper()
            if w == "ALL":
                names.extend(["W1", "W2", "W3", "W4"])
            elif w in WORKLOADS:
                names.append(w)
            else:
                ap.error(f"--workload={w}; expected W1 to W6 or all")
    if args.paced and len(dict.fromkeys(names)) != 1:
        ap.error(f"--paced times one workload; --workload names {len(dict.fromkeys(names))}")
    for name in dict.fromkeys(names):
        if args.peer == "faiss" and WORKLOADS[name][0] != "EMBEDDING":
            ap.error(f"--peer faiss scores EMBEDDING workloads only (W3, W4), not {name}")
        run(args.peer, name, args.scale, args.warmup, args.reps, args.paced)
    return 0


if __name__ == "__main__":
    sys.exit(main())
