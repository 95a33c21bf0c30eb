#!/usr/bin/env python3
"""The numpy peer of Imprint's per-suspect attribution (workload A1): an EMBEDDING probe set, every
reference of the set in the panel (what `imprint score` does by default), every suspect a verdict.

A port of the Java, formula for formula, with its order of decisions, tie-breaks and constants:

Precomputed once per panel and probe list, in setup, NOT timed (Imprint caches the same per
forms snapshot, panel and probe list in AttributionView.modelOf):
- the references' forms: the unit row of each probe, float32 (FormKind.UNIT.formOf); the population
  consensus mu (mean form over every reference of the set), |mu_p|^2 and each reference's r'.mu_p,
  its squared norms (AttributionForms.of / derive);
- the forms as the backend holds them: zero rows replaced by a unit basis row, then re-normalised
  and rounded to float32 (AttributionForms.resident, CpuResidentSet.fill);
- the panel: members in model-id order (ProbeSetState's TreeMap catalog), roles, families from the
  `family` label (Panel), and each candidate's controls (TeacherControls);
- per probe, the residual Gram matrix G_p, with float32 element products summed in double as the
  Java does (AttributionScorer.gram, AttributionForms.residualProduct), the ridge
  lambda_p = 0.1 trace(G_p)/M and (G_p + lambda_p I)^-1 by the same Cholesky with its pivot floor
  (PanelRegression.of / ridge / ridgeInverse); for M > D also the dual's D x D inverses
  (PanelRegression.withDual, AttributionScorer.outer);
- the PanelNull values: each pseudo-suspect (every background member and the 32 protected ones of
  smallest CRC32 id) regressed on the rest by the block-inverse identity, its statistic T
  (PanelNull.pseudoSuspects / candidateStatistics / statistic, PanelRegression.withoutMember,
  AttributionView.nullValues); and, as a pure function of those values, their median and scale
  (the part of PanelNull.pValue that does not depend on the suspect; Java recomputes it per call);
- the exact signed-rank null distributions: built on first use by the same DP (walking each doubled
  rank into the mass, then the upper tail) and cached per n (untied) or per doubled-rank multiset
  (tied), as SignedRankTest does; warmup reps fill the cache.

Timed, per suspect (AttributionScorer.score, PanelRegression.coefficients/dualCoefficients,
Attributor.attribute and what it calls):
- the suspect's unit form and its residual z = P_perp x' (float32, as removeConsensus), norms;
  in the dual, u = K_p z;
- the backend's cosines of the residual with the references' resident forms (the unit residual in
  float32 as CpuResidentSet.prepareSuspect makes it; the dot products of the float32 unit rows are
  summed in float64 here, where the CPU backend sums in float32), turned back into products;
- beta_p = (G_p + lambda_p I)^-1 c_p per probe, divided by the suspect's RMS residual norm;
- Attributor: candidate means, each candidate's lower bound (test against its strongest control),
  the full intersection-union tests (siblings' sum first, then every outsider; worst p, then lowest
  effect), the lower-bound pruning loop for the smallest p (ties to the larger mean), the
  PanelNull p of each candidate's margin (Student-t prediction interval, StudentT's continued
  fraction), the adjusted p max(min(1, m p), p_model) ("Holm" for the smallest p, as Attributor),
  the runner-up and the evidence probes, the verdict, and the family test (only when no teacher is
  named). The signed-rank tests of one suspect run as one batch: one sort of magnitude|sign keys
  (SignedRankTest's own trick) over all rows, untied rows by lookup in the cached exact table, tied
  or empty rows by the exact per-row path; the lower-bound tests are not skipped even though, with
  every member wanted, each repeats one of the full tests (the Java computes them too).
`pValuesFor` is every member, as `score --top-k 0` asks (every match gets its p-value). Each timed
repetition scores every suspect of the file once; the line printed last ends in
median_s=<seconds per batch of S suspects>, as `imprint bench` and scripts/bench_peers.py print.
Not ported: the verdict's reason text, and what only DISTRIBUTION sets use (the LOG_RATIO and
HELLINGER forms, top-k truncation, temperature conditions, truncated nulls).

--check compares verdict, named model, family and p_value of the attribution, and every
reference's adjusted p-value (null/NaN must match null), with Imprint's JSON Lines. Two p-values
agree when |a - b| <= min(1e-6, 1e-4 * max(|a|, |b|)): absolute 1e-6 from p = 0.01 up, relative
1e-4 below, so tiny p-values (2^-128-sized ones from the exact test, Student-t tails of the
model-level null) are compared to four significant digits instead of passing any absolute bound
trivially. Why not relative 1e-6 everywhere: the backend sums its cosines in float32, which moves
the coefficients by ~5e-7 relative; deep in the Student-t tail that is amplified (measured: 1.6e-6
relative at p = 6e-11, 1e-6 at p = 6.5e-6), while a formula or decision difference shows up orders of
magnitude above 1e-4. The summary's "max |p difference|" is the largest absolute difference.

Usage: bench_attribution.py --data DIR [--reps 7] [--warmup 2] [--check IMPRINT.jsonl] [--alpha 0.01] [--paced]
"""
import argparse
import glob
import json
import math
import os
import sys
import zlib

import numpy as np
import pyarrow as pa

from bench_pacing import timed_calls
import pyarrow.ipc as ipc

NEGLIGIBLE = 1e-20          # AttributionScorer.NEGLIGIBLE
RIDGE = 0.1                 # PanelRegression.RIDGE
MIN_REFERENCES = 3          # Attributor.MIN_REFERENCES
EVIDENCE_PROBES = 16        # Attributor.EVIDENCE_PROBES
MIN_VALUES = 5              # PanelNull.MIN_VALUES
MAX_PROTECTED = 32          # PanelNull.MAX_PROTECTED
EXACT_LIMIT = 1024          # SignedRankTest.EXACT_LIMIT
MAX_REGRESSION_ENTRIES = 1 << 24  # ProbeSetState.MAX_REGRESSION_ENTRIES
F32 = np.float32
F64 = np.float64


# ----------------------------------------------------------------------------- data

def read_references(directory):
    """Every reference file: (model_id, family or None, role, P x D float32 rows by probe index)."""
    refs = []
    for path in sorted(glob.glob(os.path.join(directory, "*.arrow"))):
        table = ipc.open_file(path).read_all()
        meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
        p = int(meta["imprint.num_probes"])
        d = int(meta["imprint.dim"])
        probes = table.column("probe").to_numpy()
        values = values_of(table, d)
        rows = np.zeros((p, d), F32)
        rows[probes] = values
        role = meta.get("imprint.role", "protected").lower()
        refs.append((meta["imprint.model_id"], meta.get("imprint.label.family"), role, rows))
    return refs


def values_of(table, d):
    col = table.column("values").combine_chunks()
    return col.flatten().to_numpy(zero_copy_only=False).astype(F32, copy=False).reshape(-1, d)


def read_suspects(path, d):
    """The suspects in file order: (model_id, probe indices in file order, n x D float32)."""
    table = ipc.open_file(path).read_all()
    ids = table.column("model_id").to_pylist()
    probes = table.column("probe").to_numpy().astype(np.int64)
    values = values_of(table, d)
    out = []
    start = 0
    for i in range(1, len(ids) + 1):
        if i == len(ids) or ids[i] != ids[start]:
            out.append((ids[start], probes[start:i].copy(), np.ascontiguousarray(values[start:i])))
            start = i
    return out


# ----------------------------------------------------------------------------- forms

def unit_form(values):
    """FormKind.UNIT.formOf: (float) (v * (1 / sqrt(sum v^2))), the sum in double."""
    v = values.astype(F64)
    inv = 1.0 / np.sqrt(np.einsum("...d,...d->...", v, v))
    return (v * inv[..., None]).astype(F32)


def resident_unit(form):
    """The backend's unit rows of a resident form (AttributionForms.resident, CpuResidentSet.fill)."""
    f = form.copy()
    zero = ~f.any(axis=-1)
    f[zero, 0] = 1.0
    v = f.astype(F64)
    n = np.sqrt(np.einsum("...d,...d->...", v, v))
    return (v / n[..., None]).astype(F32)


class Forms:
    """AttributionForms: every reference's form, the consensus mu and the per-probe scalars."""

    def __init__(self, refs):
        self.ids = [r[0] for r in refs]
        self.index = {mid: i for i, mid in enumerate(self.ids)}
        self.form = np.stack([unit_form(r[3]) for r in refs])          # [R][P][D] float32
        f64 = self.form.astype(F64)
        self.norm2 = np.einsum("rpd,rpd->rp", f64, f64)                  # [R][P]
        self.mu = f64.sum(axis=0) / len(refs)                            # [P][D]
        self.mu_norm2 = np.einsum("pd,pd->p", self.mu, self.mu)           # [P]
        self.dot_mu = np.einsum("rpd,pd->rp", f64, self.mu)              # [R][P]
        self.unit = resident_unit(self.form)                             # [R][P][D] float32


# ----------------------------------------------------------------------------- panel

class Panel:
    """Panel: members in order, families from the family label (unlabelled: a family of one)."""

    def __init__(self, members):
        self.members = list(members)   # (model_id, family or None, role)
        self.size = len(self.members)
        groups = {}
        for i, (mid, fam, _) in enumerate(self.members):
            groups.setdefault(("\0" + mid) if fam is None else fam, []).append(i)
        self.families = []             # (name, member indices, labelled, has candidate)
        self.family_of = np.zeros(self.size, np.int64)
        for key, idx in groups.items():
            labelled = not key.startswith("\0")
            for i in idx:
                self.family_of[i] = len(self.families)
            self.families.append((key if labelled else key[1:], np.array(idx, np.int64), labelled,
                                  any(self.is_candidate(i) for i in idx)))
        self.candidate = np.array([self.is_candidate(i) for i in range(self.size)], bool)
        self.candidates = [i for i in range(self.size) if self.candidate[i]]
        self.candidate_count = len(self.candidates)
        # TeacherControls: siblings (in member order) and outsiders of each member.
        self.siblings = [[s for s in self.families[self.family_of[i]][1] if s != i] for i in range(self.size)]
        self.has_siblings = np.array([len(self.families[self.family_of[i]][1]) >= 2
                                      for i in range(self.size)], bool)
        self.outsiders = [np.array([c for c in range(self.size) if self.family_of[c] != self.family_of[i]],
                                   np.int64) for i in range(self.size)]
        width = max([len(s) for s in self.siblings] + [1])
        self.sib_index = np.zeros((self.size, width), np.int64)
        self.sib_valid = np.zeros((self.size, width), bool)
        for i, s in enumerate(self.siblings):
            self.sib_index[i, :len(s)] = s
            self.sib_valid[i, :len(s)] = True
        fwidth = max(len(f[1]) for f in self.families) if self.families else 1
        self.fam_index = np.zeros((len(self.families), fwidth), np.int64)
        self.fam_valid = np.zeros((len(self.families), fwidth), bool)
        for f, fam in enumerate(self.families):
            self.fam_index[f, :len(fam[1])] = fam[1]
            self.fam_valid[f, :len(fam[1])] = True
        # Every candidate's controls, as rows of [sibling sums (M); beta (M)]: siblings first.
        self.cand_array = np.array(self.candidates, np.int64)
        controls = [([i] if self.has_siblings[i] else []) + [self.size + c for c in self.outsiders[i]]
                    if self.candidate[i] else [] for i in range(self.size)]
        cwidth = max([len(c) for c in controls] + [1])
        self.ctrl_pad = np.zeros((self.size, cwidth), np.int64)
        self.ctrl_valid = np.zeros((self.size, cwidth), bool)
        for i, c in enumerate(controls):
            self.ctrl_pad[i, :len(c)] = c
            self.ctrl_valid[i, :len(c)] = True

    def is_candidate(self, i):
        return self.members[i][2] == "protected"

    def control_name(self, i, row):
        if row < self.size:
            return "+".join(self.members[s][0] for s in self.siblings[i])
        return self.members[row - self.size][0]


def ordered_sums(beta, index, valid):
    """Row sums of beta over index lists, added in list order from 0 as the Java loops do."""
    out = np.zeros((index.shape[0], beta.shape[1]))
    for k in range(index.shape[1]):
        out += np.where(valid[:, k, None], beta[index[:, k]], 0.0)
    return out


def sibling_sums(panel, beta):
    """[M][N]: per member, the sum of its siblings' coefficients (TeacherControls.siblings)."""
    return ordered_sums(beta, panel.sib_index, panel.sib_valid)


def family_sums(panel, beta):
    """[F][N]: AttributionScorer.familySums."""
    return ordered_sums(beta, panel.fam_index, panel.fam_valid)


def strongest(panel, mean):
    """TeacherControls.strongestIndex and strongestMean for every member: (row, mean); the row is
    i for the siblings' sum, M + c for outsider c, -1 for none. Ties as the Java: the siblings'
    sum unless an outsider's mean is strictly larger, then the first outsider of the largest mean."""
    m = panel.size
    sib_mean = ordered_sums(mean[:, None], panel.sib_index, panel.sib_valid)[:, 0]
    has_out = panel.family_of[None, :] != panel.family_of[:, None]
    masked = np.where(has_out, mean[None, :], -np.inf)
    first = np.argmax(masked, axis=1)
    out_mean = masked[np.arange(m), first]
    any_out = has_out.any(axis=1)
    use_sib = panel.has_siblings & (~any_out | (out_mean <= sib_mean))
    rows = np.where(use_sib, np.arange(m), np.where(any_out, m + first, -1))
    best = np.where(use_sib, sib_mean, np.where(any_out, out_mean, -np.inf))
    return rows, best


def means(beta):
    return beta.sum(axis=1) / beta.shape[1] if beta.shape[1] else np.zeros(beta.shape[0])


def candidate_statistics(panel, beta):
    """PanelNull.candidateStatistics: S_A = mean(beta_A) - strongest control's mean; NaN if background."""
    mean = means(beta)
    _, best = strongest(panel, mean)
    return np.where(panel.candidate, mean - best, np.nan)


def statistic(stats):
    """PanelNull.statistic: the largest S_A; NaN for none or an infinite one."""
    best = math.nan
    for s in stats:
        if not math.isnan(s) and not (s <= best):
            best = s
    return math.nan if math.isinf(best) else best


def pseudo_suspects(panel):
    """PanelNull.pseudoSuspects: every background member and the MAX_PROTECTED protected ones of
    smallest CRC32 (then id)."""
    out = [i for i in range(panel.size) if not panel.candidate[i]]
    prot = sorted(panel.candidates, key=lambda i: (zlib.crc32(panel.members[i][0].encode("utf-8")),
                                                   panel.members[i][0]))
    out += prot[:MAX_PROTECTED]
    return sorted(out)


# ----------------------------------------------------------------------------- regression

def ridge(gram, m):
    """PanelRegression.ridge per probe: 0.1 trace/M, 1e-12 for a zero trace. gram [N][m][m]."""
    trace = np.trace(gram, axis1=1, axis2=2)
    return np.where(trace > 0, RIDGE * trace / m, 1e-12)


def ridge_inverse(g, lam):
    """PanelRegression.ridgeInverse, vectorised over probes: (G + lambda I)^-1 by Cholesky, with
    the pivot floored at lambda 1e-12, L inverted, then L^-T L^-1."""
    n, m, _ = g.shape
    l = np.zeros((n, m, m))
    for i in range(m):
        for j in range(i + 1):
            s = g[:, i, j] + (lam if i == j else 0.0)
            if j:
                s = s - np.einsum("nk,nk->n", l[:, i, :j], l[:, j, :j])
            l[:, i, j] = np.sqrt(np.maximum(s, lam * 1e-12)) if i == j else s / l[:, j, j]
    li = np.zeros((n, m, m))
    for i in range(m):
        s = -np.einsum("nk,nkc->nc", l[:, i, :i], li[:, :i, :i + 1]) if i else np.zeros((n, 1))
        s[:, i] += 1.0
        li[:, i, :i + 1] = s / l[:, i, i, None]
    return np.einsum("nki,nkj->nij", li, li)


class Regression:
    """PanelRegression (and AttributionScorer.regression) of one panel on one probe list."""

    def __init__(self, forms, panel, probes):
        members = np.array([forms.index[mid] for mid, _, _ in panel.members], np.int64)
        m = len(members)
        n = len(probes)
        d = forms.form.shape[2]
        self.members = members
        self.m = m
        self.n = n
        gram = np.empty((n, m, m))
        for j, p in enumerate(probes):
            f = forms.form[members, p, :]
            s = (f[:, None, :] * f[None, :, :]).sum(axis=-1, dtype=F64)  # float products, double sum
            mn = forms.mu_norm2[p]
            dm = forms.dot_mu[members, p]
            gram[j] = s - np.outer(dm, dm) / mn if mn > 0 else s
        self.gram = gram
        lam = ridge(gram, m)
        self.inverse = ridge_inverse(gram, lam)
        self.dual = m > d                                           # PanelRegression.solvesInDual
        if self.dual:
            outer = np.empty((n, d, d))
            for j, p in enumerate(probes):
                mn = forms.mu_norm2[p]
                along = forms.dot_mu[members, p] / mn if mn > 0 else np.zeros(m)
                z = forms.form[members, p, :].astype(F64) - along[:, None] * forms.mu[p][None, :]
                outer[j] = z.T @ z
            self.dual_inverse = ridge_inverse(outer, lam)
        # What the backend reads per suspect: the members' resident unit rows on these probes, and
        # the square roots of their squared form norms.
        self.unit = np.ascontiguousarray(forms.unit[members][:, probes, :].transpose(1, 0, 2)).astype(F64)
        self.ref_norm2 = forms.norm2[members][:, probes]            # [M][N]
        self.ref_norm = np.sqrt(self.ref_norm2)
        self.ref_ok = self.ref_norm2 > NEGLIGIBLE

    def without_member(self, k):
        """PanelRegression.withoutMember(k): member k regressed on the rest, [M-1][N]."""
        products = self.gram[:, :, k].T                             # [M][N]
        norm2 = self.gram[:, k, k]
        h = self.inverse
        rest = np.array([t for t in range(self.m) if t != k], np.int64)
        c = products[rest].T                                        # [N][M-1]
        hr = h[:, rest][:, :, rest]                                 # [N][M-1][M-1]
        along = np.einsum("nt,nt->n", h[:, k, rest], c)
        beta = np.einsum("nrt,nt->rn", hr, c) - h[:, rest, k].T * along[None, :] / h[:, k, k][None, :]
        return per_unit(beta, norm2)


def per_unit(beta, norm2):
    """PanelRegression.perUnit: divided by the RMS residual norm over the probes."""
    rms = math.sqrt(float(np.mean(norm2))) if len(norm2) else 0.0
    return beta / rms if rms > 0 else beta


# ----------------------------------------------------------------------------- Student t

def log_gamma(x):
    """StudentT.logGamma (Lanczos, g = 7, 9 terms)."""
    if x < 0.5:
        return math.log(math.pi / abs(math.sin(math.pi * x))) - log_gamma(1 - x)
    g = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
         -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
         1.5056327351493116e-7]
    y = x - 1
    s = g[0]
    for i in range(1, len(g)):
        s += g[i] / (y + i)
    t = y + 7.5
    return 0.5 * math.log(2 * math.pi) + (y + 0.5) * math.log(t) - t + math.log(s)


def continued_fraction(x, a, b):
    """StudentT.continuedFraction (modified Lentz), vectorised; each element stops at its own step."""
    tiny, eps = 1e-300, 1e-15
    c = np.ones_like(x)
    d = 1 - (a + b) * x / (a + 1)
    d = 1 / np.where(np.abs(d) < tiny, tiny, d)
    h = d.copy()
    live = np.ones(x.shape, bool)
    for m in range(1, 10_001):
        m2 = 2 * m
        even = m * (b - m) * x / ((a + m2 - 1) * (a + m2))
        d = 1 + even * d
        d = 1 / np.where(np.abs(d) < tiny, tiny, d)
        c = 1 + even / c
        c = np.where(np.abs(c) < tiny, tiny, c)
        h = np.where(live, h * (d * c), h)
        odd = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1))
        d = 1 + odd * d
        d = 1 / np.where(np.abs(d) < tiny, tiny, d)
        c = 1 + odd / c
        c = np.where(np.abs(c) < tiny, tiny, c)
        step = d * c
        h = np.where(live, h * step, h)
        live &= ~(np.abs(step - 1) < eps)
        if not live.any():
            break
    return h


def t_survival(x, df, log_beta):
    """StudentT.survival for an array x at one df: I_{df/(df+x^2)}(df/2, 1/2) / 2."""
    x = np.asarray(x, F64)
    out = np.empty(x.shape)
    inf = np.isinf(x)
    out[inf] = np.where(x[inf] > 0, 0.0, 1.0)
    fin = ~inf
    if fin.any():
        xf = x[fin]
        z = df / (df + xf * xf)
        a, b = df / 2, 0.5
        beta = np.empty(z.shape)
        beta[z <= 0] = 0.0
        beta[z >= 1] = 1.0
        mid = (z > 0) & (z < 1)
        if mid.any():
            zm = z[mid]
            with np.errstate(divide="ignore"):
                front = np.exp(a * np.log(zm) + b * np.log1p(-zm) - log_beta)
            direct = zm < (a + 1) / (a + b + 2)
            aa = np.where(direct, a, b)
            bb = np.where(direct, b, a)
            cf = continued_fraction(np.where(direct, zm, 1 - zm), aa, bb)
            beta[mid] = np.where(direct, front * cf / a, 1 - front * cf / b)
        tail = 0.5 * beta
        out[fin] = np.where(xf >= 0, tail, 1 - tail)
    return out


class NullFit:
    """PanelNull.pValue's fit of one panel's null values; p() judges observed statistics."""

    def __init__(self, values):
        v = np.sort(np.asarray([x for x in values if math.isfinite(x)], F64))
        n = len(v)
        self.n = n
        if n < MIN_VALUES:
            return
        self.median = v[n // 2] if n % 2 == 1 else (v[n // 2 - 1] + v[n // 2]) / 2
        mean = math.fsum(v) / n                       # DoubleStream.average: compensated sum
        var = math.fsum((v - mean) ** 2) / (n - 1)
        above = v[v > self.median]
        upper = math.sqrt(math.fsum((above - self.median) ** 2) / len(above)) if len(above) else 0.0
        self.scale = max(math.sqrt(var), upper)
        self.df = n - 1
        self.log_beta = log_gamma(self.df / 2) + log_gamma(0.5) - log_gamma(self.df / 2 + 0.5)

    def p(self, observed):
        observed = np.asarray(observed, F64)
        if not (self.scale > 0):
            return np.where(np.isnan(observed), 1.0, np.where(observed > self.median, 0.0, 1.0))
        out = np.ones(observed.shape)
        ok = ~np.isnan(observed)
        if ok.any():
            out[ok] = t_survival((observed[ok] - self.median) / (self.scale * math.sqrt(1 + 1.0 / self.n)),
                                 self.df, self.log_beta)
        return out


# ----------------------------------------------------------------------------- signed ranks

_UNTIED = {}
_TIED = {}


def survival(rank2):
    """SignedRankTest.survival: P(sum of a random subset of rank2 >= w), w = 0..total."""
    total = int(sum(rank2))
    mass = np.zeros(total + 1)
    mass[0] = 1.0
    reach = 0
    for r in rank2:
        h = mass[:reach + 1] * 0.5
        mass[:reach + 1] = h
        mass[r:reach + 1 + r] += h
        reach += r
    return np.cumsum(mass[::-1])[::-1].copy()


def untied_survival(n):
    t = _UNTIED.get(n)
    if t is None:
        t = survival([2 * (i + 1) for i in range(n)])
        _UNTIED[n] = t
    return t


def erfc(x):
    """SignedRankTest.erfc (Numerical Recipes' erfcc)."""
    z = abs(x)
    t = 1 / (1 + 0.5 * z)
    r = t * math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
        + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
        + t * (-0.82215223 + t * 0.17087277)))))))))
    return r if x >= 0 else 2 - r


def signed_rank_one(d):
    """SignedRankTest.greater for one row, the exact general path (ties, large n): (p, effect, n)."""
    nz = d[d != 0]
    n = len(nz)
    if n == 0:
        return 1.0, 0.0, 0
    a = np.abs(nz)
    order = np.argsort(a, kind="stable")
    a = a[order]
    pos = (nz > 0)[order]
    rank2 = np.empty(n, np.int64)
    w2 = 0
    tied = False
    ranked = 0
    while ranked < n:
        k = 1
        while ranked + k < n and a[ranked + k] == a[ranked]:
            k += 1
        r2 = 2 * ranked + k + 1
        rank2[ranked:ranked + k] = r2
        w2 += int(pos[ranked:ranked + k].sum()) * r2
        tied |= k > 1
        ranked += k
    total2 = n * (n + 1)
    effect = (2.0 * w2 - total2) / total2
    if n > EXACT_LIMIT:
        mean = float(np.sum(rank2 / 2.0))
        variance = float(np.sum(rank2.astype(F64) * rank2 / 4.0))
        z = (w2 - 1 - mean) / math.sqrt(variance)
        p = 0.5 * erfc(z / math.sqrt(2))
    elif tied:
        key = tuple(rank2.tolist())
        t = _TIED.get(key)
        if t is None:
            t = survival(key)
            _TIED[key] = t
        p = t[w2]
    else:
        p = untied_survival(n)[w2]
    return min(1.0, p), effect, n


def signed_rank(d):
    """SignedRankTest.greater for every row of d [T][N]: arrays p, effect, n. As the Java, one sort
    of keys that hold each magnitude's bits with its sign in the lowest bit (unsigned, so they keep
    the magnitudes' order; zeros sort first); untied rows (all of them on continuous data) then need
    only a table lookup, the others go row by row through the exact general path."""
    t, width = d.shape
    if not np.isfinite(d).all():
        raise ValueError("a difference is not finite")
    p = np.ones(t)
    effect = np.zeros(t)
    bits = np.abs(d).view(np.uint64)
    key = (bits << np.uint64(1)) | (d > 0).view(np.uint8).astype(np.uint64)
    key.sort(axis=1)
    mag = key >> np.uint64(1)
    spos = (key & np.uint64(1)).astype(np.int64)
    n = np.count_nonzero(bits, axis=1)
    tied = ((mag[:, 1:] == mag[:, :-1]) & (mag[:, 1:] != 0)).any(axis=1)
    # Position k (0-based) of a non-zero magnitude has rank k + 1 - (number of zeros); doubled.
    w2 = spos @ (2 * np.arange(1, width + 1)) - 2 * (width - n) * spos.sum(axis=1)
    simple = ~tied & (n > 0) & (n <= EXACT_LIMIT)
    for k in np.unique(n[simple]):
        rows = simple & (n == k)
        p[rows] = np.minimum(1.0, untied_survival(int(k))[w2[rows]])
        total2 = int(k) * (int(k) + 1)
        effect[rows] = (2.0 * w2[rows] - total2) / total2
    for i in np.nonzero(~simple & (n > 0))[0]:
        p[i], effect[i], _ = signed_rank_one(d[i])
    return p, effect, n


# ----------------------------------------------------------------------------- attribution

def probes_needed(candidates, alpha):
    """Attributor.probesNeeded."""
    return int(math.ceil(math.log(candidates / alpha) / math.log(2) - 1e-12))


class PanelModel:
    """One panel on one probe list: its regression and PanelNull (AttributionView.PanelModel)."""

    def __init__(self, forms, panel, probes):
        self.probes = np.asarray(probes, np.int64)
        self.regression = Regression(forms, panel, self.probes)
        values = []
        for k in pseudo_suspects(panel):
            without = Panel([mb for i, mb in enumerate(panel.members) if i != k])
            if without.candidate_count == 0 or without.size < 2:
                values.append(math.nan)
            else:
                values.append(statistic(candidate_statistics(without, self.regression.without_member(k))))
        self.null_values = np.array(values)
        self.null = NullFit(values)


class Peer:
    """Setup (forms, panel, per-probe-list models) and the per-suspect step."""

    def __init__(self, refs, alpha):
        self.alpha = alpha
        refs = sorted(refs, key=lambda r: r[0])       # the catalog is a TreeMap by model id
        self.forms = Forms(refs)
        self.panel = Panel([(r[0], r[1], r[2]) for r in refs])
        self.models = {}
        self.mu = self.forms.mu
        self.mu_norm2 = self.forms.mu_norm2

    def prepare(self, probes):
        key = tuple(int(p) for p in probes)
        if key not in self.models and not self.too_large(len(key)):
            self.models[key] = PanelModel(self.forms, self.panel, key)

    def too_large(self, n):
        return self.panel.size * self.panel.size * n > MAX_REGRESSION_ENTRIES

    # -- AttributionScorer.score for one suspect
    def coefficients(self, model, rows):
        reg = model.regression
        probes = model.probes
        form = unit_form(rows)                                       # [N][D] float32
        f64 = form.astype(F64)
        mu = self.mu[probes]
        mn = self.mu_norm2[probes]
        along = np.einsum("nd,nd->n", f64, mu)
        b = np.where(mn > NEGLIGIBLE, along / np.where(mn > NEGLIGIBLE, mn, 1.0), 0.0)
        z = (f64 - b[:, None] * mu).astype(F32)                      # removeConsensus
        z64 = z.astype(F64)
        norm = np.sqrt(np.einsum("nd,nd->n", z64, z64))
        ok = norm * norm > NEGLIGIBLE
        sent = norm
        if reg.dual:
            u = np.einsum("nab,nb->na", reg.dual_inverse, z64).astype(F32)
            u64 = u.astype(F64)
            sent = np.where(ok, np.sqrt(np.einsum("nd,nd->n", u64, u64)), norm)
            z = np.where(ok[:, None], u, z)
        if not ok.all():
            z = z.copy()
            z[~ok] = 0
            z[~ok, 0] = 1
        # The backend: the unit residual in float32, its cosines with the resident unit rows.
        zz = z.astype(F64)
        inv = (1.0 / np.sqrt(np.einsum("nd,nd->n", zz, zz))).astype(F32)
        x = (z * inv[:, None]).astype(F64)
        cos = np.matmul(reg.unit, x[:, :, None])[:, :, 0]            # [N][M]
        keep = ok[None, :] & reg.ref_ok
        products = np.where(keep, cos.T * sent[None, :] * reg.ref_norm, 0.0)   # [M][N]
        norm2 = norm * norm
        if reg.dual:
            beta = products
        else:
            beta = np.matmul(reg.inverse, products.T[:, :, None])[:, :, 0].T   # PanelRegression.coefficients
        return per_unit(beta, norm2)

    def score(self, probes, rows, wanted=None):
        """One suspect: its verdict and per-member adjusted p-values (Attributor.attribute)."""
        panel = self.panel
        key = tuple(int(p) for p in probes)
        m = panel.size
        n = len(key)
        member_p = np.full(m, np.nan)
        if self.too_large(n):
            return inconclusive("the panel is too large to regress", n), member_p
        model = self.models.get(key)
        if model is None:
            self.prepare(key)
            model = self.models[key]
        beta = self.coefficients(model, rows)
        return self.attribute(beta, model, n, wanted)

    def attribute(self, beta, model, n, wanted):
        panel = self.panel
        alpha = self.alpha
        m = panel.size
        member_p = np.full(m, np.nan)
        candidates = panel.candidate_count
        if m < MIN_REFERENCES or candidates == 0:
            return inconclusive("too few references or no candidate", n), member_p
        if model.null.n < MIN_VALUES:
            return inconclusive("too few pseudo-suspects", n), member_p
        if n < probes_needed(candidates, alpha):
            return inconclusive("too few probes", n), member_p
        if wanted is None:
            wanted = range(m)

        mean = means(beta)
        sib = sibling_sums(panel, beta)
        series = np.concatenate([sib, beta])                         # control rows
        strong_row, strong_mean = strongest(panel, mean)

        cands = panel.cand_array
        # Lower bounds (one test each) and the full tests of the wanted candidates, in one batch.
        full_for = np.array([i for i in wanted if panel.candidate[i]], np.int64)
        pad = panel.ctrl_pad[full_for]
        valid = panel.ctrl_valid[full_for]
        li = np.concatenate([cands, np.broadcast_to(full_for[:, None], pad.shape)[valid]])
        ri = np.concatenate([strong_row[cands], pad[valid]])
        p, eff, cnt = signed_rank(beta[li] - series[ri])
        lower = np.zeros(m)
        lower[cands] = p[:len(cands)]
        fp = np.full(m, np.nan)           # per candidate: its intersection-union p,
        fe = np.zeros(m)                  # the effect, count and control row of the test that set it
        fn = np.zeros(m, np.int64)
        frow = np.zeros(m, np.int64)
        has = np.zeros(m, bool)
        if len(full_for):
            worst_of(p[len(cands):], eff[len(cands):], cnt[len(cands):], pad, valid, full_for, fp, fe, fn, frow)
            has[full_for] = True

        # The smallest p: exact for every candidate its bound does not rule out.
        by_bound = cands[np.lexsort((-mean[cands], lower[cands]))]
        best = -1
        for i in by_bound:
            if best >= 0 and lower[i] > fp[best]:
                break
            if not has[i]:
                row = panel.ctrl_pad[i:i + 1]
                ok = panel.ctrl_valid[i:i + 1]
                pp, ee, cc = signed_rank(beta[i][None, :] - series[row[ok]])
                worst_of(pp, ee, cc, row, ok, np.array([i]), fp, fe, fn, frow)
                has[i] = True
            if best < 0 or fp[i] < fp[best] or (fp[i] == fp[best] and mean[i] > mean[best]):
                best = int(i)

        model_stat = mean - strong_mean
        member_p[has] = np.maximum(np.minimum(1.0, candidates * fp[has]), model.null.p(model_stat[has]))
        full = {i: (fp[i], fe[i], int(fn[i]), int(frow[i])) for i in (best,)}
        others = np.where(has & (np.arange(m) != best), fp, np.inf)
        second = int(np.argmin(others)) if np.isfinite(others).any() else -1

        top = full[best]
        adjusted = member_p[best]
        teacher = panel.members[best][0]
        tfam = panel.families[panel.family_of[best]]
        family_name = tfam[0] if tfam[2] else ""
        evidence = [self.evidence(beta, series, best, top, model.probes)]
        if second >= 0:
            evidence.append(self.evidence(beta, series, second, (fp[second], fe[second], int(fn[second]),
                                                                 int(frow[second])), model.probes))
        control = panel.control_name(best, top[3])
        result = dict(model_id=teacher, family=family_name, p_value=adjusted, effect=top[1], n=top[2],
                      control=control, evidence=evidence)
        if adjusted <= alpha:
            result["verdict"] = "DISTILLED_FROM" if len(tfam[1]) >= 2 else "INCONCLUSIVE"
            return result, member_p
        fam = self.family_test(beta)
        if fam is not None and fam[1] <= alpha:
            f = panel.families[fam[0]]
            result.update(verdict="SAME_FAMILY", family=f[0], p_value=fam[1], effect=fam[2], n=fam[3])
            return result, member_p
        result["verdict"] = "INDEPENDENT"
        return result, member_p

    def family_test(self, beta):
        """Attributor.familyTest: the testable family with the smallest Holm-adjusted p."""
        panel = self.panel
        fams = panel.families
        testable = [f for f in range(len(fams)) if len(fams[f][1]) >= 2 and fams[f][3]]
        if not testable or len(fams) < 2:
            return None
        sums = family_sums(panel, beta)
        left = np.repeat(np.array(testable), len(fams) - 1)
        right = np.concatenate([[g for g in range(len(fams)) if g != f] for f in testable])
        p, eff, cnt = signed_rank(sums[left] - sums[right])
        best = None
        k = len(fams) - 1
        for t, f in enumerate(testable):
            pp = p[t * k:(t + 1) * k]
            w = int(np.argmax(pp))                                  # first of the largest: strict >
            adjusted = min(1.0, len(testable) * pp[w])
            if best is None or adjusted < best[1]:
                best = (f, adjusted, eff[t * k + w], int(cnt[t * k + w]))
        return best

    def evidence(self, beta, series, candidate, comparison, probes):
        """Attributor.evidence: the probes that most favour the candidate over its hardest control."""
        d = beta[candidate] - series[comparison[3]]
        order = np.lexsort((np.arange(len(d)), -d))[:min(EVIDENCE_PROBES, len(d))]
        return dict(model_id=self.panel.members[candidate][0], probes=probes[order], contributions=d[order],
                    p_value=comparison[0])


def worst_of(p, eff, cnt, pad, valid, who, fp, fe, fn, frow):
    """Attributor.intersectionUnion for the candidates `who`, their tests laid out row-major over
    the valid entries of pad [len(who)][C]: the control with the largest p, then the lowest effect,
    then the first; written into fp, fe, fn, frow."""
    pm = np.full(pad.shape, -np.inf)
    em = np.full(pad.shape, np.inf)
    cm = np.zeros(pad.shape, np.int64)
    pm[valid] = p
    em[valid] = eff
    cm[valid] = cnt
    top = pm.max(axis=1)
    at = pm == top[:, None]
    low = np.where(at, em, np.inf).min(axis=1)
    w = np.argmax(at & (em == low[:, None]), axis=1)
    r = np.arange(len(who))
    fp[who] = pm[r, w]
    fe[who] = em[r, w]
    fn[who] = cm[r, w]
    frow[who] = pad[r, w]


def inconclusive(reason, n):
    return dict(verdict="INCONCLUSIVE", model_id="", family="", p_value=1.0, effect=0.0, n=n,
                control="", reason=reason, evidence=[])


# ----------------------------------------------------------------------------- check and main

def p_agree(a, b):
    if a is None or b is None or math.isnan(a) or math.isnan(b):
        return (a is None or math.isnan(a)) and (b is None or math.isnan(b))
    return abs(a - b) <= min(1e-6, 1e-4 * max(abs(a), abs(b)))


def check(peer, suspects, results, path):
    theirs = {}
    with open(path) as fh:
        for line in fh:
            line = line.strip()
            if line:
                obj = json.loads(line)
                theirs[obj["suspect"]] = obj
    agree = 0
    ok = True
    max_abs = 0.0
    for (sid, _, _), (res, member_p) in zip(suspects, results):
        other = theirs.get(sid)
        if other is None:
            print(f"suspect={sid} missing from {path}")
            ok = False
            continue
        att = other.get("attribution") or {}
        ip = att.get("p_value")
        line = f"suspect={sid} verdict={res['verdict']}/{att.get('verdict')} p={float(res['p_value'])!r}/{ip!r}"
        same = (res["verdict"] == att.get("verdict") and res["model_id"] == att.get("model_id", "")
                and res["family"] == att.get("family", ""))
        if same:
            agree += 1
        else:
            line += f" model={res['model_id']}/{att.get('model_id')} family={res['family']}/{att.get('family')}"
            ok = False
        pairs = [(res["p_value"], ip, "attribution")]
        index = {mb[0]: i for i, mb in enumerate(peer.panel.members)}
        seen = set()
        for mt in other.get("matches", []):
            seen.add(mt["model_id"])
            pairs.append((member_p[index[mt["model_id"]]], mt.get("p_value"), mt["model_id"]))
        if len(seen) != peer.panel.size:
            line += f" (Imprint lists {len(seen)} of {peer.panel.size} references)"
            ok = False
        bad = []
        for a, b, what in pairs:
            if not p_agree(a, b):
                bad.append(f"{what}:{a}/{b}")
            if a is not None and b is not None and not (math.isnan(a) or math.isnan(b)):
                max_abs = max(max_abs, abs(a - b))
        if bad:
            ok = False
            line += " p mismatch " + " ".join(bad[:5]) + (f" (+{len(bad) - 5})" if len(bad) > 5 else "")
        print(line)
    print(f"check: {agree}/{len(suspects)} verdicts agree, max |p difference| = {max_abs:.3g}")
    return ok and agree == len(suspects)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="directory with references/*.arrow and suspects.arrow")
    ap.add_argument("--reps", type=int, default=7, help="timed repetitions (default: 7)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed repetitions first (default: 2)")
    ap.add_argument("--check", help="Imprint's `score --format json --top-k 0` output to compare with")
    ap.add_argument("--alpha", type=float, default=0.01, help="significance level (default: 0.01)")
    ap.add_argument("--paced", action="store_true",
                    help="one timed call per line of stdin instead of --reps (scripts/bench_pacing.py)")
    args = ap.parse_args()
    if args.reps < 1:
        ap.error("--reps must be at least 1")
    if args.paced and args.check:
        ap.error("--paced times calls as another process asks; run --check on its own")

    try:
        refs = read_references(os.path.join(args.data, "references"))
        if not refs:
            ap.error(f"no references under {args.data}/references (expected `imprint synth --out DIR`'s files)")
        p_count, d = refs[0][3].shape
        suspects = read_suspects(os.path.join(args.data, "suspects.arrow"), d)
    except (OSError, KeyError, ValueError, pa.ArrowException) as e:
        # A missing, cut or foreign file: one line naming it, not a traceback.
        print(f"bench_attribution: cannot read {args.data}: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    peer = Peer(refs, args.alpha)
    for _, probes, _ in suspects:
        peer.prepare(probes)

    def step():
        return [peer.score(probes, rows) for _, probes, rows in suspects]

    last = [None]

    def timed():
        last[0] = step()

    for _ in range(args.warmup):
        timed()
    times = timed_calls(timed, args.reps, args.paced)
    if not times:
        return 0
    results = last[0]
    status = 0
    if args.check:
        status = 0 if check(peer, suspects, results, args.check) else 1
    # One batch is the whole suspect file, as `imprint bench --workload A1` times its S suspects.
    print(f"workload=A1 backend=numpy kind=EMBEDDING M={len(refs)} P={p_count} D={d} S={len(suspects)} reps={len(times)} "
          f"min_s={min(times):.6f} max_s={max(times):.6f} median_s={float(np.median(times)):.6f}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
