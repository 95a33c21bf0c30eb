"""The client: numpy arrays in, plain dataclasses (or a pyarrow table) out."""
from __future__ import annotations

import dataclasses
import math
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import grpc
import numpy as np

from ._stubs import pb2, pb2_grpc

_METRICS = ("cosine", "kl_ref_suspect", "kl_suspect_ref", "js", "top1_agreement")


class ImprintError(Exception):
    """A call the server refused or could not answer: ``code`` is the gRPC status name
    (INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, UNAVAILABLE, ...), the message the server's."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclasses.dataclass(frozen=True)
class Reference:
    probe_set_id: str
    model_id: str
    labels: Dict[str, str]
    num_probes: int
    dim: int
    created_unix_ms: int
    role: str


@dataclasses.dataclass(frozen=True)
class Match:
    rank: int
    model_id: str
    labels: Dict[str, str]
    values: Dict[str, float]
    p_value: Optional[float]


@dataclasses.dataclass(frozen=True)
class Evidence:
    model_id: str
    control_id: str
    probes: List[int]
    contributions: List[float]
    p_value: float


@dataclasses.dataclass(frozen=True)
class Attribution:
    verdict: str
    model_id: str
    family: str
    p_value: float
    alpha: float
    reason: str
    effect_size: float
    probes_used: int
    statistic: str
    evidence: List[Evidence]


@dataclasses.dataclass(frozen=True)
class ScoreResult:
    request_id: str
    probe_set_id: str
    matches: List[Match]
    probes_used: int
    references_scored: int
    backend: str
    order_by: str
    attribution: Optional[Attribution]

    def to_arrow(self):
        """The matches as a pyarrow table: one row per match, a column per metric."""
        import pyarrow as pa
        columns = {"rank": [m.rank for m in self.matches], "model_id": [m.model_id for m in self.matches],
                   "p_value": [m.p_value for m in self.matches]}
        for metric in _METRICS:
            if any(metric in m.values for m in self.matches):
                columns[metric] = [m.values.get(metric) for m in self.matches]
        return pa.table(columns)


class Client:
    """A connection to one Imprint server, plaintext, as ``imprint serve`` listens by default.

    ``timeout`` bounds every single call in seconds (None: no deadline); ``connect_timeout``
    bounds the wait for the server at construction, which raises ImprintError("UNAVAILABLE",
    "cannot reach ...") rather than let the first call hang on a port that never answers.
    """

    def __init__(self, target: str, timeout: Optional[float] = 120.0, connect_timeout: float = 10.0,
                 max_message_bytes: int = 256 << 20):
        self.target = target
        self.timeout = timeout
        self._channel = grpc.insecure_channel(target, options=[
            ("grpc.max_receive_message_length", max_message_bytes)])
        try:
            grpc.channel_ready_future(self._channel).result(timeout=connect_timeout)
        except grpc.FutureTimeoutError:
            self._channel.close()
            raise ImprintError("UNAVAILABLE", f"cannot reach {target}: no gRPC server answered within "
                                              f"{connect_timeout:g} s") from None
        self._stub = pb2_grpc.ImprintStub(self._channel)
        info = self._call(self._stub.GetServerInfo, pb2.GetServerInfoRequest())
        # Uploads stay well under the server's message limit.
        self._chunk_bytes = max(4, min(1 << 20, info.max_inbound_message_bytes // 2))

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- probe sets and references --------------------------------------------------------

    def create_probe_set(self, probe_set_id: str, num_probes: int, dim: int, kind: str = "DISTRIBUTION",
                         smoothing_epsilon: float = 0.0, description: str = ""):
        """Creates a probe set; an identical existing one is returned as is."""
        return self._call(self._stub.CreateProbeSet, pb2.CreateProbeSetRequest(
            probe_set_id=probe_set_id, num_probes=num_probes, dim=dim, kind=pb2.ProbeSetKind.Value(kind),
            smoothing_epsilon=smoothing_epsilon, description=description))

    def put_reference(self, probe_set_id: str, model_id: str, rows, labels: Optional[Dict[str, str]] = None,
                      role: str = "protected", replace: bool = False) -> Reference:
        """Uploads a num_probes x dim reference (any float array; sent as little-endian float32
        bytes) and returns once the server made it durable."""
        matrix = np.ascontiguousarray(rows, dtype="<f4")
        if matrix.ndim != 2:
            raise ValueError(f"rows has shape {matrix.shape}; expected (num_probes, dim)")
        header = pb2.PutReferenceRequest(header=pb2.ReferenceHeader(
            probe_set_id=probe_set_id, model_id=model_id, labels=labels or {}, replace=replace,
            role=pb2.ReferenceRole.Value(role.upper())))
        per_chunk = max(1, self._chunk_bytes // max(1, matrix.shape[1] * 4))

        def messages():
            yield header
            for first in range(0, matrix.shape[0], per_chunk):
                yield pb2.PutReferenceRequest(rows=pb2.RowChunk(
                    first_row=first, data=matrix[first:first + per_chunk].tobytes()))

        return _reference(self._call(self._stub.PutReference, messages()))

    def list_references(self, probe_set_id: str, labels: Optional[Dict[str, str]] = None,
                        role: Optional[str] = None) -> List[Reference]:
        request = pb2.ListReferencesRequest(probe_set_id=probe_set_id, label_selector=labels or {})
        if role is not None:
            request.role = pb2.ReferenceRole.Value(role.upper())
        return [_reference(r) for r in self._call(self._stub.ListReferences, request).references]

    def delete_reference(self, probe_set_id: str, model_id: str):
        self._call(self._stub.DeleteReference, pb2.DeleteReferenceRequest(probe_set_id=probe_set_id,
                                                                          model_id=model_id))

    def server_info(self):
        return self._call(self._stub.GetServerInfo, pb2.GetServerInfoRequest())

    # ---- scoring -------------------------------------------------------------------------

    def score(self, probe_set_id: str, rows, probe_indices: Optional[Sequence[int]] = None, top_k: int = 10,
              metrics: Optional[Sequence[str]] = None, order_by: Optional[str] = None,
              attribution: bool = True, alpha: float = 0.01) -> ScoreResult:
        """Scores one suspect: rows is num_probes x dim, or len(probe_indices) x dim for a subset."""
        return _result(self._call(self._stub.Score, _score_request(
            probe_set_id, rows, probe_indices, top_k, metrics, order_by, attribution, alpha, "")))

    def score_many(self, probe_set_id: str, suspects: Iterable[Tuple[str, object, Optional[Sequence[int]]]],
                   top_k: int = 10, metrics: Optional[Sequence[str]] = None, order_by: Optional[str] = None,
                   attribution: bool = True, alpha: float = 0.01) -> Iterator[Tuple[str, ScoreResult]]:
        """Scores many suspects over one stream (the server batches them), lazily: yields
        (suspect id, result) in input order as the server answers."""
        requests = (_score_request(probe_set_id, rows, indices, top_k, metrics, order_by, attribution, alpha,
                                   suspect_id) for suspect_id, rows, indices in suspects)
        try:
            for response in self._stub.ScoreStream(requests):
                yield response.request_id, _result(response)
        except grpc.RpcError as e:
            raise ImprintError(e.code().name, e.details() or "") from None

    def _call(self, method, request):
        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as e:
            raise ImprintError(e.code().name, e.details() or "") from None


def _score_request(probe_set_id, rows, probe_indices, top_k, metrics, order_by, attribution, alpha, request_id):
    matrix = np.ascontiguousarray(rows, dtype="<f4")
    if matrix.ndim != 2:
        raise ValueError(f"rows has shape {matrix.shape}; expected (probes, dim)")
    request = pb2.ScoreRequest(
        probe_set_id=probe_set_id, request_id=request_id, top_k=top_k, attribution=attribution,
        alpha=alpha if attribution else 0.0,
        suspect=pb2.Matrix(rows=matrix.shape[0], cols=matrix.shape[1], data=matrix.tobytes()),
        probe_indices=[int(i) for i in probe_indices] if probe_indices is not None else [],
        metrics=[pb2.Metric.Value(m.upper()) for m in metrics or []])
    if order_by:
        request.order_by = pb2.Metric.Value(order_by.upper())
    return request


def _reference(r) -> Reference:
    return Reference(r.probe_set_id, r.model_id, dict(r.labels), r.num_probes, r.dim, r.created_unix_ms,
                     pb2.ReferenceRole.Name(r.role).lower())


def _result(r) -> ScoreResult:
    matches = [Match(m.rank, m.model_id, dict(m.labels),
                     {k: getattr(m, k) for k in _METRICS if m.HasField(k)},
                     m.p_value if m.HasField("p_value") and not math.isnan(m.p_value) else None)
               for m in r.matches]
    attribution = None
    if r.HasField("attribution"):
        a = r.attribution
        attribution = Attribution(
            pb2.Verdict.Name(a.verdict), a.model_id, a.family, a.p_value, a.alpha, a.reason, a.effect_size,
            a.probes_used, a.statistic,
            [Evidence(e.model_id, e.control_id, list(e.probes), list(e.contributions), e.p_value)
             for e in a.evidence])
    return ScoreResult(r.request_id, r.probe_set_id, matches, r.probes_used, r.references_scored, r.backend,
                       pb2.Metric.Name(r.order_by).lower(), attribution)
