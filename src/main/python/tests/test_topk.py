"""answer_line on the two response shapes OpenAI-compatible endpoints return, and their failures."""
import math
import unittest

import json
import os
import tempfile

from imprint_client.topk import answer_line, entries, read_answers

CHAT = {"choices": [{"logprobs": {"content": [{"token": " Paris", "logprob": -0.1, "top_logprobs": [
    {"token": " Paris", "logprob": -0.1, "bytes": [32, 80]}, {"token": " Lyon", "logprob": -2.5, "bytes": None}]}]}}]}
LEGACY = {"choices": [{"logprobs": {"tokens": [" Paris"], "top_logprobs": [{" Paris": -0.1, " Lyon": -2.5}]}}]}


class AnswerLineTest(unittest.TestCase):
    def test_chat_and_legacy_completions_give_the_same_line(self):
        want = {"model_id": "m", "probe": 3, "top_logprobs": [{"token": " Paris", "logprob": -0.1},
                                                              {"token": " Lyon", "logprob": -2.5}],
                "labels": {"family": "f"}, "role": "background"}
        self.assertEqual(answer_line("m", 3, CHAT, labels={"family": "f"}, role="background"), want)
        legacy = answer_line("m", 3, LEGACY, labels={"family": "f"}, role="background")
        self.assertEqual(legacy, want)
        self.assertLess(sum(math.exp(e["logprob"]) for e in legacy["top_logprobs"]), 1)

    def test_a_response_without_top_logprobs_says_what_is_missing(self):
        for response, message in [({"choices": []}, "no choices[0].logprobs"),
                                   ({"choices": [{"logprobs": None}]}, "did not return logprobs"),
                                   ({"choices": [{"logprobs": {"content": [{"token": "a", "logprob": -1,
                                                                            "top_logprobs": []}]}}]},
                                    "ignored top_logprobs"),
                                   ({"choices": [{"logprobs": {"top_logprobs": []}}]}, "ignored logprobs=k")]:
            with self.assertRaises(ValueError) as e:
                answer_line("m", 0, response)
            self.assertIn(message, str(e.exception))


class EntriesTest(unittest.TestCase):
    def test_a_response_and_a_list_of_entries_give_the_same_entries(self):
        want = [{"token": " Paris", "logprob": -0.1}, {"token": " Lyon", "logprob": -2.5}]
        self.assertEqual(entries(CHAT), want)
        self.assertEqual(entries([{"token": " Paris", "logprob": -0.1, "bytes": [32]},
                                  {"token": " Lyon", "logprob": -2.5}]), want)
        self.assertEqual(entries([{"token": "x"}]), [{"token": "x", "logprob": None}])
        with self.assertRaises(ValueError):
            entries([{"logprob": -1}])


if __name__ == "__main__":
    unittest.main()


class ReadAnswersTest(unittest.TestCase):
    def test_reads_what_capture_writes_by_model_and_names_a_bad_line(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "a.jsonl")
            with open(path, "w", encoding="utf-8") as out:
                out.write(json.dumps(answer_line("m", 1, CHAT, labels={"family": "f"}, role="protected")) + "\n\n")
                out.write(json.dumps(answer_line("m", 0, LEGACY, labels={"family": "f"}, role="protected")) + "\n")
                out.write(json.dumps(answer_line("n", 0, CHAT)) + "\n")
            models = read_answers(path)
            self.assertEqual(list(models), ["m", "n"])
            self.assertEqual(sorted(models["m"].answers), [0, 1])
            self.assertEqual(models["m"].labels, {"family": "f"})
            self.assertEqual(models["m"].role, "protected")
            self.assertEqual(models["n"].answers[0], [{"token": " Paris", "logprob": -0.1},
                                                      {"token": " Lyon", "logprob": -2.5}])
            with open(path, "a", encoding="utf-8") as out:
                out.write('{"model_id": "m", "probe": 2}\n')
            with self.assertRaises(ValueError) as e:
                read_answers(path)
            self.assertIn("line 5", str(e.exception))
