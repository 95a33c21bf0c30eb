"""The client: numpy arrays in, plain dataclasses (or a pyarrow table) out."""
from __future__ import annotations

import collections
import dataclasses
import math
import json
import time
from typing import Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import grpc
import numpy as np

from ._stubs import pb2, pb2_grpc
from .topk import entries

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
    """A connection to one Imprint server: plaintext, as ``imprint serve`` listens by default on
    loopback, or TLS.

    ``token`` (from ``imprint token create``; None sends none) goes with every call as
    ``authorization: Bearer <token>``, what a server that enforces tokens asks for; read it from
    the environment (e.g. ``os.environ["IMPRINT_TOKEN"]``) rather than write it in code. A server
    refuses a missing or revoked token with ImprintError("UNAUTHENTICATED", ...) at construction,
    a role that may not make a call with ImprintError("PERMISSION_DENIED", ...).

    ``timeout`` bounds every single call in seconds (None: no deadline); ``connect_timeout``
    bounds the wait for the server at construction, which raises ImprintError("UNAVAILABLE",
    "cannot reach ...") rather than let the first call hang on a port that never answers.

    TLS, as the CLI's flags: ``tls=True`` trusts the system's CAs; ``tls_ca`` (a PEM file) trusts
    that CA instead; ``tls_cert`` and ``tls_key`` (PEM certificate chain and its key) present a
    client certificate to a server that requires one (mutual TLS); ``tls_server_name`` checks the
    server's certificate against that name instead of the target's host. Any of them means TLS.
    A TLS failure (an untrusted certificate, a refused client certificate, a server that does not
    speak TLS) raises at once rather than after ``connect_timeout``.
    """

    def __init__(self, target: str, token: Optional[str] = None, timeout: Optional[float] = 120.0,
                 connect_timeout: float = 10.0, max_message_bytes: int = 256 << 20, tls_ca: Optional[str] = None,
                 tls_cert: Optional[str] = None, tls_key: Optional[str] = None, tls: bool = False,
                 tls_server_name: Optional[str] = None):
        self.target = target
        self.timeout = timeout
        if token is not None and not token.strip():
            raise ValueError("token is blank; expected one from 'imprint token create'")
        options = [("grpc.max_receive_message_length", max_message_bytes)]
        use_tls = bool(tls or tls_ca or tls_cert or tls_key or tls_server_name)
        if use_tls:
            if (tls_cert is None) != (tls_key is None):
                raise ValueError(f"tls_cert={tls_cert!r}, tls_key={tls_key!r}; expected both or neither")
            credentials = grpc.ssl_channel_credentials(root_certificates=_pem(tls_ca, "tls_ca"),
                                                       private_key=_pem(tls_key, "tls_key"),
                                                       certificate_chain=_pem(tls_cert, "tls_cert"))
            if tls_server_name:
                options.append(("grpc.ssl_target_name_override", tls_server_name))
            self._channel = grpc.secure_channel(target, credentials, options=options)
        else:
            self._channel = grpc.insecure_channel(target, options=options)
        if token is not None:
            self._channel = grpc.intercept_channel(self._channel, _BearerToken(token.strip()))
        self._stub = pb2_grpc.ImprintStub(self._channel)
        try:
            info = self._await_server(connect_timeout, use_tls)
        except BaseException:
            self._channel.close()
            raise
        # Uploads stay well under the server's message limit.
        self._chunk_bytes = max(4, min(1 << 20, info.max_inbound_message_bytes // 2))

    def _await_server(self, connect_timeout: float, use_tls: bool):
        """The server's info once it answers, waiting at most connect_timeout for it to come up."""
        if not use_tls:
            try:
                grpc.channel_ready_future(self._channel).result(timeout=connect_timeout)
            except grpc.FutureTimeoutError:
                raise ImprintError("UNAVAILABLE", f"cannot reach {self.target}: no gRPC server answered within "
                                                  f"{connect_timeout:g} s") from None
            return self._call(self._stub.GetServerInfo, pb2.GetServerInfoRequest())
        # A TLS channel that fails its handshake never becomes ready, so ask (failing fast) until it
        # answers: a handshake failure is reported at once, a server still starting is waited for.
        deadline = time.monotonic() + connect_timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ImprintError("UNAVAILABLE", f"cannot reach {self.target}: no gRPC server answered within "
                                                  f"{connect_timeout:g} s")
            try:
                return self._stub.GetServerInfo(pb2.GetServerInfoRequest(), timeout=left)
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.UNAVAILABLE:
                    raise ImprintError(e.code().name, e.details() or "") from None
                why = _tls_failure(e.details() or "")
                if why is not None:
                    raise ImprintError("UNAVAILABLE", f"cannot reach {self.target}: {why}") from None
                time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- probe sets and references --------------------------------------------------------

    def create_probe_set(self, probe_set_id: str, num_probes: Optional[int] = None, dim: Optional[int] = None,
                         kind: str = "DISTRIBUTION", smoothing_epsilon: float = 0.0, description: str = "",
                         supports: Union[None, str, dict] = None):
        """Creates a probe set; an identical existing one is returned as is. ``supports``: the
        per-probe supports top-k answers are mapped onto, as the supports.json ``imprint topk build``
        writes (its path, or its parsed dict); num_probes and dim then default to the file's."""
        request = pb2.CreateProbeSetRequest(probe_set_id=probe_set_id, kind=pb2.ProbeSetKind.Value(kind),
                                            smoothing_epsilon=smoothing_epsilon, description=description)
        if supports is not None:
            if isinstance(supports, str):
                with open(supports, encoding="utf-8") as f:
                    supports = json.load(f)
            request.supports.vocabulary = pb2.VocabularyMode.Value(supports["vocabulary"])
            for keys in supports["supports"]:
                request.supports.probes.add(keys=keys)
            num_probes = len(supports["supports"]) if num_probes is None else num_probes
            dim = supports["dim"] if dim is None else dim
            if not description and supports.get("description"):
                request.description = supports["description"]
        if num_probes is None or dim is None:
            raise ValueError("num_probes and dim are needed unless supports gives them")
        request.num_probes = num_probes
        request.dim = dim
        return self._call(self._stub.CreateProbeSet, request)

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

    def put_reference_topk(self, probe_set_id: str, model_id: str, answers: Mapping[int, object],
                           labels: Optional[Dict[str, str]] = None, role: Optional[str] = None,
                           replace: bool = False) -> Reference:
        """Uploads a reference as top-k answers, which the server maps onto the probe set's supports
        (FAILED_PRECONDITION if it has none). ``answers`` maps every probe index to an OpenAI-compatible
        response dict or a list of {"token", "logprob"} dicts. Returns once it is durable."""
        header = pb2.PutReferenceRequest(header=pb2.ReferenceHeader(
            probe_set_id=probe_set_id, model_id=model_id, labels=labels or {}, replace=replace,
            role=pb2.ReferenceRole.Value((role or "protected").upper())))
        rows = pb2.PutReferenceRequest(top_k=_top_k_rows(answers))
        return _reference(self._call(self._stub.PutReference, iter([header, rows])))

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

    def score_topk(self, probe_set_id: str, answers: Mapping[int, object], top_k: int = 10,
                   metrics: Optional[Sequence[str]] = None, order_by: Optional[str] = None,
                   attribution: bool = True, alpha: float = 0.01) -> ScoreResult:
        """Scores one suspect given as top-k answers, ``answers`` mapping each probe it answered to an
        OpenAI-compatible response dict or a list of {"token", "logprob"} dicts; the server maps them
        onto the probe set's supports and scores the rows as any suspect."""
        request = _score_request(probe_set_id, None, None, top_k, metrics, order_by, attribution, alpha, "")
        request.suspect_top_k.CopyFrom(_top_k_rows(answers))
        return _result(self._call(self._stub.Score, request))

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


class _CallDetails(collections.namedtuple(
        "_CallDetails", ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")),
        grpc.ClientCallDetails):
    pass


class _BearerToken(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
                   grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Adds ``authorization: Bearer <token>`` to every call; its repr never shows the token."""

    def __init__(self, token: str):
        self._header = ("authorization", "Bearer " + token)

    def __repr__(self):
        return "_BearerToken(redacted)"

    def _details(self, details):
        metadata = list(details.metadata or []) + [self._header]
        return _CallDetails(details.method, details.timeout, metadata, details.credentials,
                            getattr(details, "wait_for_ready", None), getattr(details, "compression", None))

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation, details, request_iterator):
        return continuation(self._details(details), request_iterator)

    def intercept_stream_stream(self, continuation, details, request_iterator):
        return continuation(self._details(details), request_iterator)


def _top_k_rows(answers: Mapping[int, object]):
    """Top-k answers by probe index as the TopKRows message, in the mapping's order."""
    rows = pb2.TopKRows()
    for probe, answer in answers.items():
        row = rows.rows.add(probe=int(probe))
        for e in entries(answer):
            token = row.tokens.add(token=e["token"])
            if e["logprob"] is not None:
                token.logprob = float(e["logprob"])
    return rows


def _score_request(probe_set_id, rows, probe_indices, top_k, metrics, order_by, attribution, alpha, request_id):
    """A score request; rows None leaves the suspect for the caller to set (top-k answers)."""
    request = pb2.ScoreRequest(
        probe_set_id=probe_set_id, request_id=request_id, top_k=top_k, attribution=attribution,
        alpha=alpha if attribution else 0.0,
        probe_indices=[int(i) for i in probe_indices] if probe_indices is not None else [],
        metrics=[pb2.Metric.Value(m.upper()) for m in metrics or []])
    if rows is not None:
        matrix = np.ascontiguousarray(rows, dtype="<f4")
        if matrix.ndim != 2:
            raise ValueError(f"rows has shape {matrix.shape}; expected (probes, dim)")
        request.suspect.CopyFrom(pb2.Matrix(rows=matrix.shape[0], cols=matrix.shape[1], data=matrix.tobytes()))
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


def _pem(path: Optional[str], name: str) -> Optional[bytes]:
    """The bytes of a PEM file given as ``name``, or None; a missing or non-PEM file is named."""
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ValueError(f"{name}={path!r} cannot be read: {e.strerror}") from None
    if b"-----BEGIN " not in data:
        raise ValueError(f"{name}={path!r} is not a PEM file (no -----BEGIN line)")
    return data


def _tls_failure(details: str) -> Optional[str]:
    """What a failed TLS connection's details say, in words; None when they say nothing about TLS."""
    text = details.upper()
    if "WRONG_VERSION_NUMBER" in text or "HTTP_REQUEST" in text or "PACKET_LENGTH_TOO_LONG" in text:
        return "the server does not speak TLS (it answered in plaintext); connect without TLS, or start it " \
               "with --tls-cert and --tls-key"
    if "CERTIFICATE_REQUIRED" in text or "ALERT_HANDSHAKE_FAILURE" in text:
        return "the server requires a client certificate signed by a CA it trusts, and none was presented " \
               "(give tls_cert and tls_key)"
    if "TSI_DATA_CORRUPTED" in text or "UNWRAP FAILED" in text:
        # TLS 1.3: the handshake completes on the client before the server checks the client's
        # certificate; the server's refusal then arrives as a record the client cannot unwrap.
        return "the server dropped the connection right after the TLS handshake, as one that requires client " \
               "certificates does when none it trusts is presented (give tls_cert and tls_key, signed by its CA)"
    for alert in ("UNKNOWN_CA", "BAD_CERTIFICATE", "CERTIFICATE_UNKNOWN", "DECRYPT_ERROR"):
        if alert in text:
            return f"the server refused the client certificate ({alert.lower().replace('_', ' ')})"
    if "CERTIFICATE_VERIFY_FAILED" in text or "PEER DID NOT RETURN A CERTIFICATE" in text:
        return "the server's certificate is not signed by a CA this client trusts (give the CA that signed it " \
               "as tls_ca), or is not for the name dialled (see tls_server_name)"
    if "SSL" in text or "HANDSHAKE" in text:
        return f"the TLS handshake failed ({details})"
    return None
