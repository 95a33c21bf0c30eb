#!/usr/bin/env python3
"""Train tiny REAL byte-level language models on local text, distil students from them, and write an
Imprint fixture (reference files, a suspect table, probes, and a ground-truth manifest).

Install (local wheel mirror only; the venv lives outside the repository):

    python3 -m venv /tmp/realnet-venv && /tmp/realnet-venv/bin/pip install \
        --index-url file:///opt/pypi-more/simple --extra-index-url file:///opt/pypi/simple \
        torch==2.13.0+cpu numpy pyarrow

Run (from the repository root):

    /tmp/realnet-venv/bin/python scripts/realnet/make_fixture.py            # full fixture (~20 min, 1 core)
    /tmp/realnet-venv/bin/python scripts/realnet/make_fixture.py --quick --out /tmp/realnet-quick
    /tmp/realnet-venv/bin/python scripts/realnet/make_fixture.py --check    # re-read fixture, CRC + baseline

Model: bytes 0..127 -> Embedding(128, 32) -> GRU(32 -> 96, 1 layer) -> Linear(96 -> 128), trained on
33-byte windows (32 inputs) from a zero state.  A fingerprint row is softmax(logits) after the probe prompt
(12..32 bytes, so every prompt fits the training context).

Everything is seeded (--seed); with torch.set_num_threads(1) the output is deterministic for a given seed,
text on disk and torch build.  imprint.created_unix_ms is a fixed constant (--created-ms) for the same reason.
"""
import argparse
import glob
import gzip
import json
import os
import re
import struct
import sys
import time
import unicodedata
import zlib

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import torch
import torch.nn as nn
import torch.nn.functional as F

D = 128
EPS = 1e-6
CTX = 32                      # training window: CTX inputs, CTX targets
BATCH = 128
HIDDEN = 96
EMB = 32
DEFAULT_OUT = "src/test/resources/dev/imprint/realnet"
PROBE_SETS = (("realnet-a", 96), ("realnet-b", 64))

# ----------------------------------------------------------------------------------------------- CRC32C
_CRC_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC_TABLE.append(_c)


def crc32c_update(crc, data):
    tbl = _CRC_TABLE
    for b in data:
        crc = tbl[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


def crc32c(data):
    return crc32c_update(0xFFFFFFFF, data) ^ 0xFFFFFFFF


def imprint_checksum(metadata, values):
    crc = 0xFFFFFFFF
    for k in sorted((k for k in metadata if k != "imprint.checksum"), key=lambda s: s.encode("utf-8")):
        kb, vb = k.encode("utf-8"), metadata[k].encode("utf-8")
        crc = crc32c_update(crc, struct.pack("<I", len(kb)) + kb + struct.pack("<I", len(vb)) + vb)
    crc = crc32c_update(crc, np.ascontiguousarray(values, dtype="<f4").tobytes())
    return "crc32c:%08x" % (crc ^ 0xFFFFFFFF)


# ----------------------------------------------------------------------------------------------- text
def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def to_ascii(raw):
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    s = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode("ascii")
    s = s.replace("\r\n", "\n").replace("\r", "\n")
    s = re.sub(r"[^\n\t\x20-\x7e]", "", s)
    s = re.sub(r"\n{3,}", "\n\n", s)
    return s


def read_any(path, cap=40000):
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                data = f.read(cap * 2)
        else:
            with open(path, "rb") as f:
                data = f.read(cap * 2)
    except Exception:
        return ""
    if b"\x00" in data[:4096]:
        return ""
    return to_ascii(data)[:cap]


_ROFF_ESC = re.compile(r"\\f[BIRP]|\\f\(..|\\\(..|\\\*.|\\[-e&|^%]|\\s[-+]?\d")


def strip_roff(t):
    out = []
    for line in t.split("\n"):
        if line.startswith(('.\\"', "'\\\"", '.\\\\"')):
            continue
        if line.startswith((".", "'")):
            parts = line.split(None, 1)
            line = parts[1].replace('"', "") if len(parts) > 1 else ""
            if not line:
                continue
        out.append(_ROFF_ESC.sub("", line).replace("\\", ""))
    return "\n".join(out)


def docstrings_of(path):
    import ast
    try:
        tree = ast.parse(open(path, encoding="utf-8", errors="replace").read())
    except Exception:
        return ""
    parts = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            d = ast.get_docstring(node)
            if d:
                parts.append(d)
    return to_ascii("\n\n".join(parts))


def pick(paths, n, seed):
    paths = sorted(set(paths))
    rng = np.random.default_rng(seed)
    if len(paths) > n:
        idx = np.sort(rng.choice(len(paths), n, replace=False))
        paths = [paths[i] for i in idx]
    return paths


def load_sources(scale, seed):
    """source name -> list of (doc name, text); file counts scale with `scale` (quick mode)."""
    n = lambda k: max(8, int(k * scale))
    src = {}

    def files(name, paths, fn=read_any, cap=40000):
        docs = []
        for p in paths:
            t = fn(p) if fn is not read_any else read_any(p, cap)
            if len(t) > 200:
                docs.append((p, t[:cap]))
        src[name] = docs

    lic = sorted(glob.glob("/usr/share/common-licenses/*"))
    files("licenses", lic + pick(glob.glob("/usr/share/doc/*/copyright"), n(350), seed + 1))
    py = [p for p in glob.glob("/usr/lib/python3.11/**/*.py", recursive=True) if "/test" not in p]
    files("pysrc", pick(py, n(300), seed + 2))
    # dpkg descriptions, one doc per package
    docs = []
    try:
        status = to_ascii(open("/var/lib/dpkg/status", "rb").read())
    except Exception:
        status = ""
    for stanza in status.split("\n\n"):
        m = re.search(r"^Package: (\S+)", stanza, re.M)
        d = re.search(r"^Description: (.*(?:\n .*)*)", stanza, re.M)
        if m and d:
            text = re.sub(r"\n \.?", "\n", d.group(1))
            docs.append((m.group(1), m.group(1) + ": " + text + "\n"))
    src["pkgdesc"] = docs[: n(2000)]
    files("changelog", pick(glob.glob("/usr/share/doc/*/changelog*.gz"), n(350), seed + 3), cap=20000)
    files("man1", pick(glob.glob("/usr/share/man/man1/*.gz"), n(350), seed + 4), lambda p: strip_roff(read_any(p)))
    files("man3", pick(glob.glob("/usr/share/man/man3/*.gz"), n(350), seed + 5), lambda p: strip_roff(read_any(p)))
    files("man58", pick(glob.glob("/usr/share/man/man5/*.gz") + glob.glob("/usr/share/man/man8/*.gz"),
                        n(350), seed + 6), lambda p: strip_roff(read_any(p)))
    stdlib = [p for p in glob.glob("/usr/lib/python3.11/**/*.py", recursive=True) if "/test" not in p]
    files("docstrings", pick(stdlib, n(400), seed + 7), docstrings_of)
    files("cheaders", pick(glob.glob("/usr/include/**/*.h", recursive=True), n(350), seed + 8))
    files("perl", pick(glob.glob("/usr/share/perl*/**/*.pm", recursive=True), n(300), seed + 9))
    files("readme", pick(glob.glob("/usr/share/doc/*/README*"), n(300), seed + 10))
    files("distpy", pick(glob.glob("/usr/lib/python3/dist-packages/**/*.py", recursive=True), n(300), seed + 11))
    etc = [p for p in glob.glob("/etc/**/*", recursive=True) if os.path.isfile(p) and os.access(p, os.R_OK)]
    files("etc", pick(etc, n(400), seed + 12), cap=10000)
    files("info", pick(glob.glob("/usr/share/info/*.gz"), n(40), seed + 13), cap=60000)
    files("html", pick(glob.glob("/usr/share/doc/**/*.html", recursive=True), n(250), seed + 14))
    sh = []
    for p in sorted(glob.glob("/usr/bin/*") + glob.glob("/usr/sbin/*")):
        try:
            with open(p, "rb") as f:
                head = f.read(64)
            if head.startswith(b"#!") and (b"sh" in head.split(b"\n")[0]):
                sh.append(p)
        except Exception:
            pass
    files("shell", pick(sh, n(200), seed + 15))
    return {k: v for k, v in src.items() if v}


def partition(sources):
    """Split each doc into 1 KiB blocks: 1/20 probe-a, 1/20 probe-b, 2/20 distill, rest train (by CRC)."""
    part = {}
    for name, docs in sources.items():
        train, distill, probe_a, probe_b = [], [], [], []
        for doc, text in docs:
            keep = []
            for bi in range(0, len(text), 1024):
                blk = text[bi:bi + 1024]
                h = zlib.crc32(("%s|%s|%d" % (name, doc, bi)).encode()) % 20
                if h == 0:
                    probe_a.append(blk)
                elif h == 1:
                    probe_b.append(blk)
                elif h in (2, 3):
                    distill.append(blk)
                else:
                    keep.append(blk)
            if keep:
                train.append((doc, "".join(keep)))
        part[name] = dict(train=train, distill=distill, probe={"realnet-a": probe_a, "realnet-b": probe_b})
    return part


def arr(text):
    return np.frombuffer(text.encode("ascii"), dtype=np.uint8).copy()


# ----------------------------------------------------------------------------------------------- model
class ByteGRU(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(D, EMB)
        self.rnn = nn.GRU(EMB, HIDDEN, batch_first=True)
        self.out = nn.Linear(HIDDEN, D)

    def forward(self, x, h=None):
        y, h = self.rnn(self.emb(x), h)
        return self.out(y), h


def new_model(seed):
    torch.manual_seed(seed)
    return ByteGRU()


def clone(model):
    m = ByteGRU()
    m.load_state_dict({k: v.clone() for k, v in model.state_dict().items()})
    return m


class Corpus:
    """A weighted mixture of byte arrays; samples (B, CTX+1) windows and a target mask."""

    def __init__(self, parts):
        self.parts = [(a, w) for a, w in parts if len(a) > CTX + 2]
        w = np.array([w for _, w in self.parts], dtype=np.float64)
        self.p = w / w.sum()

    def batch(self, rng, rows):
        comp = rng.choice(len(self.parts), rows, p=self.p)
        x = np.empty((rows, CTX + 1), dtype=np.int64)
        for r, c in enumerate(comp):
            a = self.parts[c][0]
            o = rng.integers(0, len(a) - CTX - 1)
            x[r] = a[o:o + CTX + 1]
        return x, np.ones((rows, CTX), dtype=bool)

    def size(self):
        return int(sum(len(a) for a, _ in self.parts))


class Sampled:
    """Teacher-sampled segments (n, PRIME+GEN); loss only on sampled targets."""

    def __init__(self, segs, prime):
        self.segs, self.prime = segs, prime

    def batch(self, rng, rows):
        n, L = self.segs.shape
        r = rng.integers(0, n, rows)
        o = rng.integers(0, L - CTX, rows)
        idx = o[:, None] + np.arange(CTX + 1)[None, :]
        x = self.segs[r[:, None], idx].astype(np.int64)
        mask = (idx[:, 1:] >= self.prime)
        return x, mask


class Mix:
    def __init__(self, a, b, frac_b):
        self.a, self.b, self.f = a, b, frac_b

    def batch(self, rng, rows):
        nb = int(round(rows * self.f))
        xa, ma = self.a.batch(rng, rows - nb)
        xb, mb = self.b.batch(rng, nb)
        return np.concatenate([xa, xb]), np.concatenate([ma, mb])


STEP_COUNT = [0]


def train(model, data, steps, lr, seed, teacher=None):
    """CE on data (teacher=None) or soft-label KD: mean over positions of KL(teacher || student)."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    loss_v = float("nan")
    for t in range(steps):
        for g in opt.param_groups:
            g["lr"] = lr * (1.0 - 0.9 * t / max(1, steps))
        x, m = data.batch(rng, BATCH)
        x = torch.from_numpy(x)
        m = torch.from_numpy(m).reshape(-1)
        logits, _ = model(x[:, :-1])
        logits = logits.reshape(-1, D)
        if teacher is None:
            loss = F.cross_entropy(logits[m], x[:, 1:].reshape(-1)[m])
        else:
            with torch.no_grad():
                tl, _ = teacher(x[:, :-1])
                tlp = F.log_softmax(tl.reshape(-1, D), -1)
            loss = F.kl_div(F.log_softmax(logits, -1), tlp, log_target=True, reduction="batchmean")
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        loss_v = float(loss.detach())
    STEP_COUNT[0] += steps
    model.eval()
    return loss_v


@torch.no_grad()
def sample_text(teacher, primes_corpus, n_bytes, seed, prime=8, gen=40, streams=256):
    """Temperature-1 samples: each segment = `prime` bytes of distillation text + `gen` sampled bytes."""
    rng = np.random.default_rng(seed)
    g = torch.Generator().manual_seed(seed)
    nseg = max(streams, int(np.ceil(n_bytes / gen / streams)) * streams)
    out = []
    for s0 in range(0, nseg, streams):
        x, _ = primes_corpus.batch(rng, streams)
        seg = torch.from_numpy(x[:, :prime])
        logits, h = teacher(seg)
        last = logits[:, -1]
        gen_bytes = []
        for _ in range(gen):
            nxt = torch.multinomial(F.softmax(last, -1), 1, generator=g)
            gen_bytes.append(nxt)
            logits, h = teacher(nxt, h)
            last = logits[:, -1]
        out.append(torch.cat([seg] + gen_bytes, 1).numpy().astype(np.uint8))
    return Sampled(np.concatenate(out), prime)


@torch.no_grad()
def fingerprint(model, prompts):
    rows = np.empty((len(prompts), D), dtype=np.float32)
    for i, p in enumerate(prompts):
        x = torch.tensor([list(p.encode("ascii"))], dtype=torch.long)
        logits, _ = model(x)
        pr = F.softmax(logits[0, -1].double(), -1).numpy()
        pr = pr / pr.sum()
        rows[i] = pr.astype(np.float32)
    return rows


# ----------------------------------------------------------------------------------------------- probes
def make_probes(part, set_id, count, train_blob, seed):
    rng = np.random.default_rng(seed)
    names = sorted(n for n in part if part[n]["probe"][set_id])
    prompts, seen = [], set()
    tries = 0
    while len(prompts) < count and tries < 200000:
        tries += 1
        src = names[len(prompts) % len(names)]
        blocks = part[src]["probe"][set_id]
        blk = blocks[rng.integers(len(blocks))]
        L = int(rng.integers(12, CTX + 1))
        if len(blk) < L + 2:
            continue
        end = int(rng.integers(L, len(blk)))
        mode = rng.random()
        if mode < 0.35:   # end just after a space
            j = blk.rfind(" ", L, end)
            end = j + 1 if j > 0 else end
        elif mode < 0.5:  # end just after a newline
            j = blk.rfind("\n", L, end)
            end = j + 1 if j > 0 else end
        p = blk[end - L:end]
        if len(p) != L or not p.strip() or p in seen:
            continue
        if p.encode("ascii") in train_blob:   # must be unseen by every model (train + distill text)
            continue
        seen.add(p)
        prompts.append(p)
    if len(prompts) < count:
        raise SystemExit("could not find %d unseen probes for %s" % (count, set_id))
    return prompts


# ----------------------------------------------------------------------------------------------- arrow
def values_type():
    return pa.list_(pa.field("item", pa.float32(), nullable=False), D)


def values_array(rows):
    flat = pa.array(np.ascontiguousarray(rows, dtype=np.float32).reshape(-1), type=pa.float32())
    return pa.FixedSizeListArray.from_arrays(flat, type=values_type())


def probe_set_description(set_id):
    # Imprint treats imprint.description as the PROBE SET's description: it must be identical in every file of a set.
    return "realnet %s: next-byte distributions of tiny byte-level GRU language models" % set_id


def write_reference(path, set_id, model_id, rows, labels, role, description, created_ms):
    P = rows.shape[0]
    md = {
        "imprint.format": "imprint-reference",
        "imprint.format_version": "1",
        "imprint.probe_set_id": set_id,
        "imprint.kind": "DISTRIBUTION",
        "imprint.num_probes": str(P),
        "imprint.dim": str(D),
        "imprint.smoothing_epsilon": "1.0E-6",
        "imprint.description": description,
        "imprint.model_id": model_id,
        "imprint.created_unix_ms": str(created_ms),
        "imprint.role": role,
    }
    for k, v in labels.items():
        md["imprint.label." + k] = v
    md["imprint.checksum"] = imprint_checksum(md, rows)
    schema = pa.schema([pa.field("probe", pa.int32(), nullable=False),
                        pa.field("values", values_type(), nullable=False)], metadata=md)
    batch = pa.record_batch([pa.array(np.arange(P, dtype=np.int32)), values_array(rows)], schema=schema)
    with pa.OSFile(path, "wb") as f, ipc.new_file(f, schema) as w:
        w.write_batch(batch)


def write_suspects(path, set_id, items):
    md = {"imprint.format": "imprint-suspects", "imprint.format_version": "1", "imprint.probe_set_id": set_id}
    schema = pa.schema([pa.field("model_id", pa.utf8(), nullable=False),
                        pa.field("probe", pa.int32(), nullable=False),
                        pa.field("values", values_type(), nullable=False)], metadata=md)
    ids, probes, rows = [], [], []
    for mid, r in items:
        ids += [mid] * r.shape[0]
        probes.append(np.arange(r.shape[0], dtype=np.int32))
        rows.append(r)
    batch = pa.record_batch([pa.array(ids, pa.utf8()), pa.array(np.concatenate(probes)),
                             values_array(np.concatenate(rows))], schema=schema)
    with pa.OSFile(path, "wb") as f, ipc.new_file(f, schema) as w:
        w.write_batch(batch)


def read_table(path):
    with pa.memory_map(path) as src:
        t = ipc.open_file(src).read_all()
    md = {k.decode(): v.decode() for k, v in (t.schema.metadata or {}).items()}
    vals = t.column("values").combine_chunks()
    rows = vals.flatten().to_numpy(zero_copy_only=False).reshape(-1, D).astype(np.float32)
    return t, md, rows


# ----------------------------------------------------------------------------------------------- check
def smooth(x):
    return (x.astype(np.float64) + EPS) / (1.0 + D * EPS)


def mean_kl(p, q):
    p, q = smooth(p), smooth(q)
    return float(np.mean(np.sum(p * (np.log(p) - np.log(q)), axis=1)))


def check(out):
    assert crc32c(b"123456789") == 0xE3069283, "CRC32C test vector failed"
    print("crc32c(b'123456789') = 0x%08X (expected 0xE3069283): OK" % crc32c(b"123456789"))
    man = json.load(open(os.path.join(out, "manifest.json")))
    refs = {r["model_id"]: r for r in man["references"]}
    sus = {s["suspect_id"]: s for s in man["suspects"]}
    report = {}
    for set_id in man["settings"]["probe_sets"]:
        d = os.path.join(out, set_id)
        P = man["settings"]["probe_sets"][set_id]
        R = {}
        for f in sorted(glob.glob(os.path.join(d, "references", "*.arrow"))):
            t, md, rows = read_table(f)
            assert t.column("probe").to_pylist() == list(range(P))
            assert md["imprint.checksum"] == imprint_checksum(md, rows), f
            assert md["imprint.num_probes"] == str(P) and md["imprint.probe_set_id"] == set_id
            R[md["imprint.model_id"]] = rows
        assert set(R) == set(refs), "reference files != manifest"
        t, md, rows = read_table(os.path.join(d, "suspects.arrow"))
        assert md["imprint.format"] == "imprint-suspects"
        ids = t.column("model_id").to_pylist()
        S = {}
        for i in range(0, len(ids), P):
            assert len(set(ids[i:i + P])) == 1 and t.column("probe").to_pylist()[i:i + P] == list(range(P))
            S[ids[i]] = rows[i:i + P]
        assert set(S) == set(sus), "suspects != manifest"
        allrows = np.concatenate([rows] + list(R.values()))
        assert np.all(np.isfinite(allrows)) and allrows.min() >= 0
        assert np.abs(allrows.sum(1) - 1).max() < 1e-3
        print("[%s] %d reference files: checksums recomputed OK; %d suspects x %d probes; rows sum to 1 (max err %.1e)"
              % (set_id, len(R), len(S), P, np.abs(allrows.sum(1) - 1).max()))
        prot = sorted(m for m in R if refs[m]["role"] == "protected")
        hits, hits_ms, by = [], [], {}
        st_kl = []
        for sid, s in sus.items():
            if s["kind"] != "student":
                continue
            kls = {m: mean_kl(R[m], S[sid]) for m in prot}
            best = min(kls, key=kls.get)
            ok = best == s["teacher"]
            fam_ok = refs[best]["family"] == s["teacher_family"]
            hits.append(ok)
            if s["strength"] in ("medium", "strong"):
                hits_ms.append(ok)
            by.setdefault((s["method"], s["strength"]), []).append((ok, fam_ok))
            st_kl.append(kls[s["teacher"]])
        neg_kl = {}
        for sid, s in sus.items():
            if s["kind"] == "negative":
                neg_kl.setdefault(s["negative_type"], []).append(min(mean_kl(R[m], S[sid]) for m in prot))
        shared = neg_kl.get("family_base", []) + neg_kl.get("extra_finetune", [])
        sib = []
        for a in prot:
            for b in prot:
                if a != b and refs[a]["family"] == refs[b]["family"]:
                    sib.append(mean_kl(R[a], R[b]))
        print("[%s] raw-KL baseline: teacher = argmin_ref KL(ref~||student~) for %d/%d students (%.0f%%); "
              "medium+strong %d/%d (%.0f%%)" % (set_id, sum(hits), len(hits), 100 * np.mean(hits),
                                                sum(hits_ms), len(hits_ms), 100 * np.mean(hits_ms)))
        for k in sorted(by):
            v = by[k]
            print("    %-12s %-7s teacher %d/%d  family %d/%d" % (k[0], k[1], sum(a for a, _ in v), len(v),
                                                                 sum(b for _, b in v), len(v)))
        print("[%s] median KL student->its teacher %.4f; median KL family_base/extra_finetune negative->closest "
              "ref %.4f; median sibling-sibling KL %.4f" % (set_id, np.median(st_kl), np.median(shared),
                                                            np.median(sib)))
        for k, v in sorted(neg_kl.items()):
            print("    negatives %-24s n=%2d median closest-ref KL %.4f" % (k, len(v), np.median(v)))
        report[set_id] = dict(top1=float(np.mean(hits)), top1_medium_strong=float(np.mean(hits_ms)),
                              median_student_teacher_kl=float(np.median(st_kl)),
                              median_shared_base_negative_kl=float(np.median(shared)))
    return report


# ----------------------------------------------------------------------------------------------- plan
REF_FAMILIES = {  # family -> (sources with weights, number of panel siblings, number of held-out extras)
    "famA": ({"licenses": 1.0}, 4, 2),
    "famB": ({"pysrc": 1.0}, 4, 1),
    "famC": ({"pkgdesc": 1.0}, 4, 1),
    "famD": ({"changelog": 1.0}, 3, 2),
    "famE": ({"man1": 0.4, "pysrc": 0.2, "licenses": 0.2, "pkgdesc": 0.2}, 3, 1),
}
BACKGROUND = {"cheaders": {"cheaders": 1.0}, "perl": {"perl": 1.0}, "info": {"info": 1.0}, "etc": {"etc": 1.0}}
STUDENT_BASES = {"sb-docstrings": {"docstrings": 1.0}, "sb-readme": {"readme": 1.0}, "sb-man3": {"man3": 1.0},
                 "sb-shell": {"shell": 1.0}, "sb-distpy": {"distpy": 1.0}}
UNSEEN_NEG = {"un-html": {"html": 1.0}, "un-man58": {"man58": 1.0},
              "un-mix": {"changelog": 0.5, "readme": 0.5}}
SOFT_STEPS = {"weak": 25, "medium": 80, "strong": 220}
SEQ = {"weak": (24 * 1024, 50), "medium": (96 * 1024, 110), "strong": (384 * 1024, 220)}  # bytes, steps
MIX = {"weak": 0.10, "medium": 0.30, "strong": 0.60}
MIX_STEPS, MIX_SAMPLE = 120, 128 * 1024
PRE_REF, PRE_OTHER, FT_STEPS = 200, 160, 80
LR_PRE, LR_FT, LR_KD = 3e-3, 2e-3, 2e-3


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--seed", type=int, default=20260)
    ap.add_argument("--quick", action="store_true", help="tiny smoke run: ~5%% of the steps, fewer files")
    ap.add_argument("--check", action="store_true", help="only re-read --out: CRCs, sums, raw-KL baseline")
    ap.add_argument("--created-ms", type=int, default=1767225600000)
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.check:
        check(args.out)
        return
    assert crc32c(b"123456789") == 0xE3069283
    t0 = time.time()
    seed = args.seed
    sc = 0.05 if args.quick else 1.0
    S = lambda n: max(3, int(round(n * sc)))
    sd = lambda name: zlib.crc32(("%d:%s" % (seed, name)).encode()) & 0x7FFFFFFF

    log("loading text ...")
    sources = load_sources(0.15 if args.quick else 1.0, seed)
    part = partition(sources)
    for k in sorted(part):
        log("  source %-11s docs %4d train %8d B distill %7d B" % (
            k, len(part[k]["train"]), sum(len(t) for _, t in part[k]["train"]),
            sum(len(b) for b in part[k]["distill"])))
    train_arr = {k: arr("\n\n".join(t for _, t in v["train"])) for k, v in part.items()}
    distill = Corpus([(arr("\n".join(v["distill"])), 1.0) for v in part.values()])
    train_blob = b"\x00".join(a.tobytes() for a in train_arr.values()) + b"\x00" + b"".join(
        a.tobytes() for a, _ in distill.parts)
    probes = {sid: make_probes(part, sid, n, train_blob, sd("probes:" + sid)) for sid, n in PROBE_SETS}

    def corpus(mix):
        return Corpus([(train_arr[k], w) for k, w in mix.items() if k in train_arr])

    def sub_corpora(mix, k):
        """k sub-corpora: each source's train docs (sorted by name) cut into k contiguous groups."""
        groups = [[] for _ in range(k)]
        for srcname, w in mix.items():
            docs = sorted(part[srcname]["train"])
            for i in range(k):
                chunk = docs[i * len(docs) // k:(i + 1) * len(docs) // k]
                if chunk:
                    groups[i].append((arr("\n\n".join(t for _, t in chunk)), w))
        return [Corpus(g) for g in groups]

    models, fam_of = {}, {}       # internal name -> model; internal name -> family
    refs, suspects = [], []       # (internal name, role/manifest entry)

    def pretrain(name, family, mix, steps):
        m = new_model(sd("init:" + name))
        loss = train(m, corpus(mix), S(steps), LR_PRE, sd("train:" + name))
        models[name], fam_of[name] = m, family
        log("pretrained %-16s steps %4d loss %.3f  (t=%.0fs)" % (name, S(steps), loss, time.time() - t0))
        return m

    # 1. reference families: base + panel siblings + held-out extra fine-tunes
    for fam, (mix, nsib, nextra) in REF_FAMILIES.items():
        base = pretrain(fam + "-base", fam, mix, PRE_REF)
        subs = sub_corpora(mix, nsib + nextra)
        for i in range(nsib + nextra):
            name = "%s-%d" % (fam, i + 1) if i < nsib else "%s-x%d" % (fam, i - nsib + 1)
            m = clone(base)
            steps = S(FT_STEPS + int(np.random.default_rng(sd("ftsteps:" + name)).integers(-12, 13)))
            loss = train(m, subs[i], steps, LR_FT, sd("train:" + name))
            models[name], fam_of[name] = m, fam
            log("fine-tuned %-16s steps %4d loss %.3f on sub-corpus %d (%d B)" % (name, steps, loss, i,
                                                                                   subs[i].size()))
            if i < nsib:
                refs.append(dict(name=name, model_id=name, family=fam, role="protected",
                                 detail="fine-tune of %s-base, %d steps on sub-corpus %d of %s" % (
                                     fam, steps, i, "+".join(mix))))
            else:
                suspects.append(dict(name=name, kind="negative", method=None, strength=None, teacher=None,
                                     teacher_family=None, own_family=fam, negative_type="extra_finetune",
                                     detail="held-out sibling: fine-tune of %s-base, %d steps on sub-corpus %d "
                                            "(not in the panel)" % (fam, steps, i)))
        suspects.append(dict(name=fam + "-base", kind="negative", method=None, strength=None, teacher=None,
                             teacher_family=None, own_family=fam, negative_type="family_base",
                             detail="the pretrained base of %s (%d steps), parent of its siblings" % (fam, S(PRE_REF))))
    # 2. background
    for fam, mix in BACKGROUND.items():
        pretrain("bg-" + fam, fam, mix, PRE_OTHER)
        refs.append(dict(name="bg-" + fam, model_id="bg-" + fam, family=fam, role="background",
                         detail="independent model pretrained %d steps on %s" % (S(PRE_OTHER), "+".join(mix))))
    # 3. student bases and unseen-family negatives
    for fam, mix in STUDENT_BASES.items():
        pretrain(fam, fam, mix, PRE_OTHER)
    for fam, mix in UNSEEN_NEG.items():
        pretrain(fam, fam, mix, PRE_OTHER)
        suspects.append(dict(name=fam, kind="negative", method=None, strength=None, teacher=None, teacher_family=None,
                             own_family=fam, negative_type="unseen_family",
                             detail="independently pretrained %d steps on %s" % (S(PRE_OTHER), "+".join(mix))))
    for fam, mix in STUDENT_BASES.items():
        name = fam + "-ft"
        m = clone(models[fam])
        loss = train(m, corpus(mix), S(FT_STEPS), LR_FT, sd("train:" + name))
        models[name], fam_of[name] = m, fam
        log("fine-tuned %-16s steps %4d loss %.3f (no teacher)" % (name, S(FT_STEPS), loss))
        suspects.append(dict(name=name, kind="negative", method=None, strength=None, teacher=None, teacher_family=None,
                             own_family=fam, negative_type="unseen_family",
                             detail="student-base family %s fine-tuned %d more steps on its own data, no teacher "
                                    "(same starting point as its students)" % (fam, S(FT_STEPS))))

    # 4. students
    rng = np.random.default_rng(sd("plan"))
    panel = [r["name"] for r in refs if r["role"] == "protected"]
    ref_fams = list(REF_FAMILIES)
    sb = list(STUDENT_BASES)
    plan = []
    for method, owns in (("soft_kd", {"weak": ["sb", "sb", "sb", "random"], "medium": ["sb", "sb", "sb", "ref", "random"],
                                      "strong": ["sb", "sb", "sb", "sb", "ref"]}),
                         ("sequence_kd", {"weak": ["sb", "sb", "sb", "random"], "medium": ["sb", "sb", "ref", "random"],
                                          "strong": ["sb", "sb", "sb", "ref"]}),
                         ("mixed_data", {"weak": ["sb", "sb", "sb", "ref"], "medium": ["sb", "sb", "sb", "ref"],
                                         "strong": ["sb", "sb", "sb", "sb"]})):
        for strength, kinds in owns.items():
            for kind in kinds:
                plan.append((method, strength, kind))
    teacher_cycle = list(rng.permutation(panel)) + list(rng.permutation(panel)) + list(rng.permutation(panel))
    sb_cycle = list(rng.permutation(sb * 8))
    for si, (method, strength, kind) in enumerate(plan):
        teacher = teacher_cycle.pop(0)
        if kind == "sb":
            own = sb_cycle.pop(0)
        elif kind == "ref":
            own = str(rng.choice([f for f in ref_fams if f != fam_of[teacher]]))
        else:
            own = "random"
        name = "student-%02d" % si
        if own == "random":
            m = new_model(sd("init:" + name))
            start = "fresh random init"
        else:
            base_name = own + "-base" if own in REF_FAMILIES else own
            m = clone(models[base_name])
            start = "base " + base_name
        tm = models[teacher]
        if method == "soft_kd":
            steps = S(SOFT_STEPS[strength])
            loss = train(m, distill, steps, LR_KD, sd("train:" + name), teacher=tm)
            detail = "soft-label KD from %s: %d steps x %d x %d distillation contexts (%d teacher distributions), " \
                     "start %s" % (teacher, steps, BATCH, CTX, steps * BATCH * CTX, start)
        elif method == "sequence_kd":
            nbytes, steps = SEQ[strength]
            nbytes, steps = int(nbytes * sc), S(steps)
            data = sample_text(tm, distill, nbytes, sd("sample:" + name))
            loss = train(m, data, steps, LR_KD, sd("train:" + name))
            detail = "sequence-level KD from %s: %d teacher-sampled bytes (T=1, 40-byte continuations of 8-byte " \
                     "distillation primes), %d steps, start %s" % (teacher, data.segs.shape[0] * 40, steps, start)
        else:
            frac = MIX[strength]
            data = sample_text(tm, distill, int(MIX_SAMPLE * sc), sd("sample:" + name))
            own_mix = REF_FAMILIES[own][0] if own in REF_FAMILIES else STUDENT_BASES[own]
            loss = train(m, Mix(corpus(own_mix), data, frac), S(MIX_STEPS), LR_KD, sd("train:" + name))
            detail = "mixed data: own %s data + %d%% teacher-sampled text from %s (%d sampled bytes), %d steps, " \
                     "start %s" % (own, int(frac * 100), teacher, data.segs.shape[0] * 40, S(MIX_STEPS), start)
        models[name] = m
        log("student %-11s %-12s %-7s teacher %-8s own %-14s loss %.3f (t=%.0fs)" % (
            name, method, strength, teacher, own, loss, time.time() - t0))
        suspects.append(dict(name=name, kind="student", method=method, strength=strength, teacher=teacher,
                             teacher_family=fam_of[teacher], own_family=own, negative_type=None, detail=detail))

    # 5. students of non-reference teachers
    nonref_teachers = ["famA-x1", "famB-x1", "famD-x1", "famE-x1", "un-html", "un-man58", "un-mix"]
    for i, teacher in enumerate(nonref_teachers):
        name = "nrstudent-%02d" % i
        own = sb_cycle.pop(0) if sb_cycle else sb[i % len(sb)]
        m = clone(models[own])
        steps = S(SOFT_STEPS["strong"])
        loss = train(m, distill, steps, LR_KD, sd("train:" + name), teacher=models[teacher])
        models[name] = m
        log("nr-student %-11s teacher %-8s own %-14s loss %.3f" % (name, teacher, own, loss))
        suspects.append(dict(name=name, kind="negative", method=None, strength=None, teacher=None, teacher_family=None,
                             own_family=own, negative_type="student_of_nonreference",
                             detail="soft-label KD (strong, %d steps) from NON-reference teacher {%s} (family %s), "
                                    "start base %s" % (steps, teacher, fam_of[teacher], own)))
    log("training done: %d optimizer steps, %.0fs" % (STEP_COUNT[0], time.time() - t0))

    # ids: suspects get opaque, shuffled ids
    order = np.random.default_rng(sd("ids")).permutation(len(suspects))
    sid_of = {}
    for rank, i in enumerate(order):
        sid_of[suspects[i]["name"]] = "sus-%02d" % rank
    for s in suspects:
        s["suspect_id"] = sid_of[s["name"]]
        s["detail"] = re.sub(r"\{([^}]*)\}", lambda mm: sid_of.get(mm.group(1), mm.group(1)), s["detail"])
        if s["negative_type"] == "student_of_nonreference":
            pass
    suspects.sort(key=lambda s: s["suspect_id"])

    os.makedirs(args.out, exist_ok=True)
    for set_id, n in PROBE_SETS:
        d = os.path.join(args.out, set_id)
        os.makedirs(os.path.join(d, "references"), exist_ok=True)
        for f in glob.glob(os.path.join(d, "references", "*.arrow")):
            os.remove(f)
        with open(os.path.join(d, "probes.jsonl"), "w") as f:
            for i, p in enumerate(probes[set_id]):
                f.write(json.dumps({"probe": i, "prompt": p}) + "\n")
        for r in refs:
            rows = fingerprint(models[r["name"]], probes[set_id])
            write_reference(os.path.join(d, "references", r["model_id"] + ".arrow"), set_id, r["model_id"], rows,
                            {"family": r["family"]}, r["role"],
                            probe_set_description(set_id), args.created_ms)
        write_suspects(os.path.join(d, "suspects.arrow"), set_id,
                       [(s["suspect_id"], fingerprint(models[s["name"]], probes[set_id])) for s in suspects])
        log("wrote %s: %d references, %d suspects, %d probes" % (d, len(refs), len(suspects), n))
    keys = ["suspect_id", "kind", "method", "strength", "teacher", "teacher_family", "own_family", "negative_type",
            "detail"]
    manifest = {
        "generator": "scripts/realnet/make_fixture.py",
        "seed": seed,
        "settings": {
            "quick": bool(args.quick), "probe_sets": {k: v for k, v in PROBE_SETS}, "dim": D,
            "model": "Embedding(128,%d) -> GRU(%d->%d) -> Linear(%d->128), byte-level, trained on %d-byte windows"
                     % (EMB, EMB, HIDDEN, HIDDEN, CTX),
            "batch": "%d windows x %d targets" % (BATCH, CTX), "optimizer": "Adam, lr linearly decayed to 10%, clip 1.0",
            "pretrain_steps": {"reference_base": S(PRE_REF), "other": S(PRE_OTHER)}, "finetune_steps": S(FT_STEPS),
            "lr": {"pretrain": LR_PRE, "finetune": LR_FT, "student": LR_KD},
            "reference_families": {k: {"sources": v[0], "panel_siblings": v[1], "held_out_extra_finetunes": v[2]}
                                   for k, v in REF_FAMILIES.items()},
            "background_families": BACKGROUND, "student_base_families": STUDENT_BASES,
            "unseen_negative_families": UNSEEN_NEG,
            "strength_definition": {
                "soft_kd": {k: "%d KD steps (%d teacher next-byte distributions)" % (S(v), S(v) * BATCH * CTX)
                            for k, v in SOFT_STEPS.items()},
                "sequence_kd": {k: "%d teacher-sampled bytes, %d steps" % (int(v[0] * sc), S(v[1]))
                                for k, v in SEQ.items()},
                "mixed_data": {k: "%d%% of training windows from teacher-sampled text, %d steps" % (v * 100, S(MIX_STEPS))
                               for k, v in MIX.items()}},
            "data_split": "every source cut into 1 KiB blocks; by CRC32 of (source, file, offset) 1/20 -> realnet-a "
                          "probes, 1/20 -> realnet-b probes, 2/20 -> distillation/sampling-prime corpus, rest -> "
                          "training; a probe prompt is rejected if it occurs verbatim in any training or "
                          "distillation text",
            "created_unix_ms": args.created_ms,
        },
        "references": [{"model_id": r["model_id"], "family": r["family"], "role": r["role"], "detail": r["detail"]}
                       for r in refs],
        "suspects": [{k: s[k] for k in keys} for s in suspects],
    }
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    log("wrote manifest; total %.0fs" % (time.time() - t0))
    check(args.out)


if __name__ == "__main__":
    main()
