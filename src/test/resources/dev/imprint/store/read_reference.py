"""Reads an Imprint reference file with pyarrow and checks it against the README's description.

Usage: python3 read_reference.py FILE EXPECTED_VALUES
EXPECTED_VALUES holds the P x D values as float32 little-endian, row-major. Prints
"ok <model_id> <num_probes>x<dim>" when the schema, metadata, values and checksum all match.
"""
import struct
import sys

import pyarrow as pa
import pyarrow.ipc as ipc


def crc32c(data):
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    crc = 0xFFFFFFFF
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def main(path, expected_path):
    with open(path, "rb") as f:
        table = ipc.open_file(f).read_all()
    md = table.schema.metadata
    assert md[b"imprint.format"] == b"imprint-reference", md[b"imprint.format"]
    num_probes, dim = int(md[b"imprint.num_probes"]), int(md[b"imprint.dim"])
    assert table.schema.field("probe").type == pa.int32()
    values_type = table.schema.field("values").type
    assert pa.types.is_fixed_size_list(values_type) and values_type.list_size == dim, values_type
    assert values_type.value_type == pa.float32(), values_type
    assert table.column("probe").to_pylist() == list(range(num_probes))

    raw = b""
    for chunk in table.column("values").chunks:
        flat = chunk.flatten()
        raw += flat.buffers()[1].to_pybytes()[flat.offset * 4:(flat.offset + len(flat)) * 4]
    with open(expected_path, "rb") as f:
        assert raw == f.read(), "values differ"

    canonical = b""
    for key in sorted(k for k in md if k != b"imprint.checksum"):
        canonical += struct.pack("<I", len(key)) + key + struct.pack("<I", len(md[key])) + md[key]
    checksum = "crc32c:%08x" % crc32c(canonical + raw)
    assert md[b"imprint.checksum"].decode() == checksum, (md[b"imprint.checksum"], checksum)
    print("ok %s %dx%d" % (md[b"imprint.model_id"].decode(), num_probes, dim))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
