"""Writes a suspect table and a reference file the way a Python user would: pyarrow from numpy
defaults (int64 probes, float64 values, large_string ids), no checksum or creation time.

usage: write_numpy_files.py OUT_DIR P D
Prints "ok" once both files are written.
"""
import sys

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc

out, p, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(7)


def rows(n):
    x = rng.random((n, d))  # float64, numpy's default
    return x / x.sum(axis=1, keepdims=True)


def values(x):
    return pa.FixedSizeListArray.from_arrays(pa.array(x.ravel()), d)


reference = rows(p)
meta = {
    "imprint.format": "imprint-reference",
    "imprint.format_version": "1",
    "imprint.probe_set_id": "py",
    "imprint.num_probes": str(p),
    "imprint.dim": str(d),
    "imprint.kind": "DISTRIBUTION",
    "imprint.model_id": "from-numpy",
    "imprint.label.family": "py",
}
table = pa.table({"probe": pa.array(np.arange(p)), "values": values(reference)}).replace_schema_metadata(meta)
with ipc.new_file(f"{out}/reference.arrow", table.schema) as w:
    w.write_table(table)
np.save(f"{out}/reference.npy", reference.astype(np.float32))

suspect = rows(p)
ids = pa.array(["s1"] * p, type=pa.large_string())
table = pa.table({"model_id": ids, "probe": pa.array(np.arange(p)), "values": values(suspect)})
with ipc.new_file(f"{out}/suspects.arrow", table.schema) as w:
    w.write_table(table)
np.save(f"{out}/suspect.npy", suspect.astype(np.float32))
print("ok")
