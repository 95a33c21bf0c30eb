#!/usr/bin/env python3
"""The workloads W1-W4 of BackendBench written in PyTorch on the GPU, for scripts/gpu-check.sh.

Same metrics, shapes and precomputation as the CUDA backend (fp32 storage and products, TF32 off,
reference forms precomputed once; per pass: suspect upload and preprocessing, the products, the
per-probe combination and means; only the scores come back to the host). Prints one line per
workload in `imprint bench`'s format:
  workload=W backend=torch kind=K M=M P=P D=D S=S reps=R median_s=T
Usage: bench_torch.py [--scale X] [--reps N] [--workloads W1,W3]
"""
import argparse
import time

import torch

EPS = 1e-6


def workloads(scale):
    dist = ("COSINE", "KL_REF_SUSPECT", "KL_SUSPECT_REF", "TOP1_AGREEMENT")
    return [
        ("W1", "DISTRIBUTION", round(200 * scale), 256, 1024, 1, dist),
        ("W2", "DISTRIBUTION", round(200 * scale), 256, 1024, 64, dist),
        ("W3", "EMBEDDING", round(1000 * scale), 128, 768, 1, ("COSINE",)),
        ("W4", "EMBEDDING", round(1000 * scale), 128, 768, 64, ("COSINE",)),
    ]


def rows(kind, n, p, d, gen):
    if kind == "EMBEDDING":
        return torch.randn(n, p, d, generator=gen, device="cuda") + torch.randn(n, p, 1, generator=gen, device="cuda")
    return torch.softmax(torch.randn(n, p, d, generator=gen, device="cuda") * 2.0, dim=-1)


def prepare_references(kind, refs, d):
    """Probe-major [P, M, ...] forms, contiguous so each product is one strided-batched SGEMM:
    unit rows, norms and argmax; for DISTRIBUTION the smoothed logs and negative entropies."""
    refs = refs.transpose(0, 1).contiguous()  # [P, M, D]
    norm = refs.norm(dim=-1, keepdim=True)
    out = {"unit": refs / norm, "norm": norm.squeeze(-1), "argmax": refs.argmax(dim=-1)}
    if kind == "DISTRIBUTION":
        scale = 1.0 / (1.0 + d * EPS)
        smooth = (refs + EPS) * scale
        logs = smooth.log()
        out["logs"] = logs
        out["neg_entropy"] = (smooth * logs).sum(dim=-1)
    return out


def score(kind, ref, suspects, metrics, d):
    """Means over probes of each metric, [S, M] per metric; suspects is [S, P, D]."""
    scale = 1.0 / (1.0 + d * EPS)
    s_t = suspects.transpose(0, 1)  # [P, S, D]
    s_norm = suspects.norm(dim=-1)  # [S, P]
    out = {}
    if "COSINE" in metrics:
        dots = torch.bmm(ref["unit"], s_t.transpose(1, 2))  # [P, M, S]
        out["COSINE"] = (dots / s_norm.t().unsqueeze(1)).mean(dim=0).t()
    if kind == "DISTRIBUTION":
        smooth = (s_t + EPS) * scale  # [P, S, D]
        logs = smooth.log()
        s_neg_h = (smooth * logs).sum(dim=-1)  # [P, S]
        s_log_sum = logs.sum(dim=-1)
        if "KL_REF_SUSPECT" in metrics:
            g = torch.bmm(ref["unit"], logs.transpose(1, 2))  # [P, M, S]
            cross = (ref["norm"].unsqueeze(-1) * g + EPS * s_log_sum.unsqueeze(1)) * scale
            out["KL_REF_SUSPECT"] = (ref["neg_entropy"].unsqueeze(-1) - cross).mean(dim=0).t()
        if "KL_SUSPECT_REF" in metrics:
            h = torch.bmm(ref["logs"], smooth.transpose(1, 2))  # [P, M, S]
            out["KL_SUSPECT_REF"] = (s_neg_h.unsqueeze(1) - h).mean(dim=0).t()
        if "TOP1_AGREEMENT" in metrics:
            agree = ref["argmax"].t().unsqueeze(0) == suspects.argmax(dim=-1).unsqueeze(1)  # [S, M, P]
            out["TOP1_AGREEMENT"] = agree.float().mean(dim=-1)
    return {k: v.double().cpu() for k, v in out.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--workloads", default="W1,W2,W3,W4")
    args = parser.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    print("device torch %s on %s" % (torch.__version__, torch.cuda.get_device_name(0)), flush=True)
    for name, kind, m, p, d, s, metrics in workloads(args.scale):
        if name not in args.workloads.split(","):
            continue
        gen = torch.Generator(device="cuda").manual_seed(7)
        pool = rows(kind, 8, p, d, gen)
        refs = pool.repeat((m + 7) // 8, 1, 1)[:m].contiguous()
        ref = prepare_references(kind, refs, d)
        del refs, pool
        suspects_host = rows(kind, s, p, d, gen).cpu()
        times = []
        for i in range(2 + max(5, args.reps)):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            score(kind, ref, suspects_host.cuda(non_blocking=False), metrics, d)
            torch.cuda.synchronize()
            if i >= 2:
                times.append(time.perf_counter() - t0)
        times.sort()
        median = times[len(times) // 2]
        print("workload=%s backend=torch kind=%s M=%d P=%d D=%d S=%d reps=%d median_s=%.6f"
              % (name, kind, m, p, d, s, len(times), median), flush=True)
        del ref
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
