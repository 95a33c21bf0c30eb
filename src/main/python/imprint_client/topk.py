"""Top-k answers as ``imprint topk build`` reads them, straight from OpenAI-compatible responses.

    import json
    from imprint_client.topk import answer_line
    with open("refs.jsonl", "w") as out:
        for probe, response in enumerate(responses):      # each the parsed JSON of one call
            out.write(json.dumps(answer_line("model-a", probe, response, labels={"family": "a"})) + "\\n")
"""
import json
from typing import Dict, List, NamedTuple, Optional, Union


def top_logprobs(response: dict) -> List[dict]:
    """The first generated token's top-k entries, [{"token", "logprob"}], from a chat completion
    (``choices[0].logprobs.content[0].top_logprobs``) or a legacy completion
    (``choices[0].logprobs.top_logprobs[0]``, a token -> logprob map). Raises ValueError, naming
    what is missing, for a response without them (an endpoint that ignored ``top_logprobs``)."""
    try:
        logprobs = response["choices"][0]["logprobs"]
    except (KeyError, IndexError, TypeError):
        raise ValueError("the response has no choices[0].logprobs: ask for logprobs (and top_logprobs)") from None
    if logprobs is None:
        raise ValueError("choices[0].logprobs is null: the endpoint did not return logprobs")
    if "content" in logprobs:
        content = logprobs["content"] or []
        if not content or not content[0].get("top_logprobs"):
            raise ValueError("choices[0].logprobs.content[0].top_logprobs is empty: the endpoint ignored top_logprobs")
        return [{"token": e["token"], "logprob": e.get("logprob")} for e in content[0]["top_logprobs"]]
    tops = logprobs.get("top_logprobs") or []
    if not tops or not tops[0]:
        raise ValueError("choices[0].logprobs.top_logprobs is empty: the endpoint ignored logprobs=k")
    return [{"token": token, "logprob": logprob} for token, logprob in tops[0].items()]


def answer_line(model_id: str, probe: int, response: dict, labels: Optional[Dict[str, str]] = None,
                role: Optional[str] = None) -> dict:
    """One line of a top-k answers file for ``model_id``'s answer to ``probe``."""
    line = {"model_id": model_id, "probe": int(probe), "top_logprobs": top_logprobs(response)}
    if labels:
        line["labels"] = dict(labels)
    if role:
        line["role"] = role
    return line


def entries(answer: Union[dict, List[dict]]) -> List[dict]:
    """An answer's top-k entries, [{"token", "logprob"}]: from an OpenAI-compatible response dict
    (as ``top_logprobs`` reads it) or a list of {"token", "logprob"} dicts, taken as they are
    (other keys, such as ``bytes``, dropped; a missing or None logprob stays None, which the server
    refuses naming the probe)."""
    if isinstance(answer, dict):
        return top_logprobs(answer)
    out = []
    for e in answer:
        if not isinstance(e, dict) or not isinstance(e.get("token"), str):
            raise ValueError(f"a top-k entry must be a dict with a string token, not {e!r}")
        out.append({"token": e["token"], "logprob": e.get("logprob")})
    return out


class ModelAnswers(NamedTuple):
    """One model's lines of a top-k answers file: its answers by probe, its labels and its role."""
    answers: Dict[int, List[dict]]
    labels: Dict[str, str]
    role: Optional[str]


def read_answers(path: str) -> Dict[str, ModelAnswers]:
    """The models of a top-k answers file (as ``imprint capture`` writes it), by model id, in order of
    first appearance, ready for ``Client.put_reference_topk`` or ``Client.score_topk``. Raises
    ValueError naming the line for one that is not JSON or lacks model_id, probe or top_logprobs."""
    models: Dict[str, ModelAnswers] = {}
    with open(path, encoding="utf-8") as f:
        for number, text in enumerate(f, 1):
            if not text.strip():
                continue
            try:
                line = json.loads(text)
                model = models.setdefault(line["model_id"], ModelAnswers({}, dict(line.get("labels") or {}),
                                                                         line.get("role")))
                model.answers[int(line["probe"])] = entries(line["top_logprobs"])
            except (ValueError, KeyError, TypeError) as e:
                raise ValueError(f"{path} line {number}: not a top-k answer line ({e})") from None
    return models
