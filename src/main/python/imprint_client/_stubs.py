"""The gRPC stubs, generated from the repository's proto/ on first import.

They are not committed, so they never drift from the proto: ``grpc_tools.protoc`` (the
grpcio-tools package) writes them into ``_generated/`` beside this file the first time, and
again whenever the proto is newer than them.
"""
import importlib
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_GENERATED = os.path.join(_HERE, "_generated")
_PROTO_ROOT = os.environ.get("IMPRINT_PROTO_DIR",
                             os.path.normpath(os.path.join(_HERE, "..", "..", "..", "..", "proto")))
_PROTO = os.path.join("imprint", "v1", "imprint.proto")


def _stale():
    source = os.path.join(_PROTO_ROOT, _PROTO)
    generated = os.path.join(_GENERATED, "imprint", "v1", "imprint_pb2_grpc.py")
    if not os.path.exists(generated):
        return True
    return os.path.exists(source) and os.path.getmtime(source) > os.path.getmtime(generated)


def _generate():
    source = os.path.join(_PROTO_ROOT, _PROTO)
    if not os.path.exists(source):
        raise ImportError(f"imprint_client: no stubs and no {source} to generate them from; "
                          "set IMPRINT_PROTO_DIR to the repository's proto/ directory")
    try:
        from grpc_tools import protoc
    except ImportError as e:
        raise ImportError("imprint_client generates its gRPC stubs with grpcio-tools: "
                          "pip install grpcio-tools") from e
    os.makedirs(_GENERATED, exist_ok=True)
    code = protoc.main(["grpc_tools.protoc", f"-I{_PROTO_ROOT}", f"--python_out={_GENERATED}",
                        f"--grpc_python_out={_GENERATED}", source])
    if code != 0:
        raise ImportError(f"imprint_client: protoc failed on {source} (exit {code})")


if _stale():
    _generate()
if _GENERATED not in sys.path:
    sys.path.insert(0, _GENERATED)
pb2 = importlib.import_module("imprint.v1.imprint_pb2")
pb2_grpc = importlib.import_module("imprint.v1.imprint_pb2_grpc")
