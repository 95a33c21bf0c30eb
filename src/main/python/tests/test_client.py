"""The Python client against a real server: IMPRINT_SERVER names it (PythonClientTest starts one).

Each test works in its own probe set, so the tests share one server without meeting.
"""
import os
import socket
import threading
import time
import unittest
import uuid

import numpy as np

from imprint_client import Client, ImprintError

SERVER = os.environ.get("IMPRINT_SERVER")
# PythonClientTest's server enforces tokens and hands an admin one here.
TOKEN = os.environ.get("IMPRINT_TOKEN")
P, D = 96, 32


def softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def kl(r, s, eps):
    """KL(r~ || s~) per probe in float64, with the probe set's smoothing, averaged: README's definition."""
    d = r.shape[1]
    r = (r + eps) / (1 + d * eps)
    s = (s + eps) / (1 + d * eps)
    return float(np.mean(np.sum(r * (np.log(r) - np.log(s)), axis=1)))


@unittest.skipUnless(SERVER, "IMPRINT_SERVER is not set; PythonClientTest starts a server and sets it")
class ClientTest(unittest.TestCase):
    def setUp(self):
        self.client = Client(SERVER, token=TOKEN, timeout=60)
        self.set_id = "py-" + uuid.uuid4().hex[:8]
        self.rng = np.random.default_rng(11)

    def tearDown(self):
        self.client.close()

    def test_a_reference_put_from_float64_numpy_scores_as_numpy_computes_it(self):
        self.client.create_probe_set(self.set_id, P, D)
        refs = {f"m{i}": softmax(self.rng.normal(size=(P, D))) for i in range(3)}
        for model_id, rows in refs.items():
            stored = self.client.put_reference(self.set_id, model_id, rows, labels={"family": model_id})
            self.assertEqual((stored.num_probes, stored.dim, stored.role), (P, D, "protected"))
        suspect = softmax(self.rng.normal(size=(P, D)))
        result = self.client.score(self.set_id, suspect, top_k=0, attribution=False)
        self.assertEqual(result.references_scored, 3)
        self.assertIsNone(result.attribution)
        eps = 1e-6
        want = sorted((kl(r.astype(np.float32).astype(np.float64), suspect.astype(np.float32).astype(np.float64),
                          eps), m) for m, r in refs.items())
        self.assertEqual([m for _, m in want], [m.model_id for m in result.matches])
        for (value, _), match in zip(want, result.matches):
            self.assertAlmostEqual(value, match.values["kl_ref_suspect"], delta=1e-4 + 1e-3 * value)
        table = result.to_arrow()
        self.assertEqual(table.column("model_id").to_pylist(), [m for _, m in want])

    def test_a_student_gets_a_verdict_naming_its_teacher_and_a_subset_of_probes_scores(self):
        self.client.create_probe_set(self.set_id, P, D)
        consensus = self.rng.normal(scale=2.0, size=(P, D))
        families = [self.rng.normal(size=(P, D)) for _ in range(3)]
        logits = {}
        for f, offset in enumerate(families):
            for i in range(3):
                logits[f"f{f}-{i}"] = consensus + offset + self.rng.normal(scale=0.5, size=(P, D))
                self.client.put_reference(self.set_id, f"f{f}-{i}", softmax(logits[f"f{f}-{i}"]),
                                          labels={"family": f"f{f}"})
        for b in range(2):
            self.client.put_reference(self.set_id, f"bg{b}", softmax(consensus + self.rng.normal(size=(P, D))),
                                      role="background")
        own = consensus + self.rng.normal(size=(P, D)) + self.rng.normal(scale=0.5, size=(P, D))
        student = softmax(0.5 * logits["f1-2"] + 0.5 * own)
        result = self.client.score(self.set_id, student, top_k=5)
        self.assertEqual(result.attribution.verdict, "DISTILLED_FROM", result.attribution.reason)
        self.assertEqual(result.attribution.model_id, "f1-2")
        self.assertLessEqual(result.attribution.p_value, 0.01)
        self.assertTrue(result.attribution.evidence)
        self.assertEqual([r.model_id for r in self.client.list_references(self.set_id, role="background")],
                         ["bg0", "bg1"])
        subset = [5, 0, 17]
        partial = self.client.score(self.set_id, student[subset], probe_indices=subset, attribution=False)
        self.assertEqual(partial.probes_used, 3)

    def test_score_many_streams_results_in_input_order(self):
        self.client.create_probe_set(self.set_id, P, D)
        for i in range(4):
            self.client.put_reference(self.set_id, f"m{i}", softmax(self.rng.normal(size=(P, D))))
        suspects = [(f"s{i}", softmax(self.rng.normal(size=(P, D))), None) for i in range(25)]
        out = list(self.client.score_many(self.set_id, iter(suspects), top_k=2, attribution=False))
        self.assertEqual([s for s, _ in out], [s for s, _, _ in suspects])
        one = self.client.score(self.set_id, suspects[7][1], top_k=2, attribution=False)
        self.assertEqual([m.model_id for m in out[7][1].matches], [m.model_id for m in one.matches])

    def test_errors_carry_the_servers_code_and_message_and_change_nothing(self):
        self.client.create_probe_set(self.set_id, P, D)
        with self.assertRaises(ImprintError) as missing:
            self.client.score("no-such-set", np.full((P, D), 1 / D))
        self.assertEqual(missing.exception.code, "NOT_FOUND")
        with self.assertRaises(ImprintError) as bad_alpha:
            self.client.score(self.set_id, np.full((P, D), 1 / D), alpha=0.7)
        self.assertEqual(bad_alpha.exception.code, "INVALID_ARGUMENT")
        self.assertIn("alpha", bad_alpha.exception.message)
        with self.assertRaises(ImprintError) as not_a_distribution:
            self.client.put_reference(self.set_id, "bad", np.ones((P, D)))
        self.assertEqual(not_a_distribution.exception.code, "INVALID_ARGUMENT")
        self.assertEqual(self.client.list_references(self.set_id), [])
        with self.assertRaises(ValueError):
            self.client.put_reference(self.set_id, "flat", np.ones(P * D))

    def _topk_answers(self, tokens, k=5):
        """One model's top-k answer to each of 8 probes, as lists of {"token", "logprob"}."""
        answers = {}
        for p in range(8):
            probs = softmax(self.rng.normal(size=(1, len(tokens))) * 2)[0]
            top = np.argsort(-probs)[:k]
            answers[p] = [{"token": tokens[t], "logprob": float(np.log(probs[t]))} for t in top]
        return answers

    def test_top_k_answers_map_onto_the_sets_supports_on_the_server(self):
        tokens = [" Paris", " Lima", " London", " Rome", " Oslo", " Bern", " Kyiv", " Cairo"]
        supports = {"probe_set_id": "ignored", "dim": len(tokens) + 1, "vocabulary": "EXACT",
                    "supports": [tokens + ["<other>"]] * 8}
        created = self.client.create_probe_set(self.set_id, supports=supports)
        self.assertEqual((created.num_probes, created.dim, created.has_supports), (8, 9, True))
        refs = {f"m{i}": self._topk_answers(tokens) for i in range(3)}
        for model_id, answers in refs.items():
            stored = self.client.put_reference_topk(self.set_id, model_id, answers, labels={"family": model_id})
            self.assertEqual((stored.num_probes, stored.dim), (8, 9))
        # A suspect answering as m1 on some probes, given as chat-completion responses.
        responses = {p: {"choices": [{"logprobs": {"content": [{"token": refs["m1"][p][0]["token"],
                                                                  "logprob": refs["m1"][p][0]["logprob"],
                                                                  "top_logprobs": refs["m1"][p]}]}}]}
                     for p in (5, 2, 7)}
        result = self.client.score_topk(self.set_id, responses, top_k=0, attribution=False)
        self.assertEqual(result.probes_used, 3)
        self.assertEqual(result.matches[0].model_id, "m1")
        self.assertAlmostEqual(result.matches[0].values["kl_ref_suspect"], 0.0, delta=1e-6)

    def test_top_k_answers_are_refused_naming_the_probe(self):
        tokens = [" a", " b", " c"]
        self.client.create_probe_set(self.set_id, supports={"dim": 4, "vocabulary": "EXACT",
                                                            "supports": [tokens + ["<other>"]] * 2})
        with self.assertRaises(ImprintError) as e:
            self.client.score_topk(self.set_id, {1: [{"token": " a", "logprob": None}]})
        self.assertEqual(e.exception.code, "INVALID_ARGUMENT")
        self.assertIn("suspect_top_k probe 1: token ' a' has no logprob", e.exception.message)
        with self.assertRaises(ImprintError) as e:
            self.client.put_reference_topk(self.set_id, "m", {0: [{"token": " a", "logprob": -0.1}]})
        self.assertIn("top_k answers 1 of the 2 probes (missing probe [1])", e.exception.message)
        self.assertEqual(self.client.list_references(self.set_id), [])
        bare = self.set_id + "-bare"
        self.client.create_probe_set(bare, 2, 4)
        with self.assertRaises(ImprintError) as e:
            self.client.score_topk(bare, {0: [{"token": " a", "logprob": -0.1}]})
        self.assertEqual(e.exception.code, "FAILED_PRECONDITION")
        self.assertIn("create it with supports (imprint probe-set create --supports FILE)", e.exception.message)

    def test_a_port_that_never_answers_fails_within_the_connect_timeout(self):
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        held = []
        threading.Thread(target=lambda: held.append(silent.accept()), daemon=True).start()
        start = time.monotonic()
        with self.assertRaises(ImprintError) as unreachable:
            Client(f"127.0.0.1:{silent.getsockname()[1]}", connect_timeout=0.7)
        self.assertLess(time.monotonic() - start, 10)
        self.assertEqual(unreachable.exception.code, "UNAVAILABLE")
        self.assertIn("cannot reach", unreachable.exception.message)
        silent.close()


if __name__ == "__main__":
    unittest.main()
