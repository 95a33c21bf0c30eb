"""A Python client of the Imprint gRPC service, for numpy and pyarrow users.

    from imprint_client import Client
    with Client("127.0.0.1:50051") as imprint:
        imprint.create_probe_set("demo", num_probes=256, dim=32000)
        imprint.put_reference("demo", "model-a", rows, labels={"family": "a"})
        result = imprint.score("demo", suspect_rows)
        print(result.attribution.verdict, result.attribution.model_id)

See README "Python client".
"""
from .client import Attribution, Client, Evidence, ImprintError, Match, Reference, ScoreResult

__all__ = ["Attribution", "Client", "Evidence", "ImprintError", "Match", "Reference", "ScoreResult"]
