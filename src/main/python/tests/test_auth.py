"""Tokens against a server that enforces them (PythonClientTest starts one and passes the tokens)."""
import os
import unittest
import uuid

import numpy as np

from imprint_client import Client, ImprintError

SERVER = os.environ.get("IMPRINT_SERVER")
ADMIN_TOKEN = os.environ.get("IMPRINT_TOKEN")
READER_TOKEN = os.environ.get("IMPRINT_READER_TOKEN")


@unittest.skipUnless(SERVER and ADMIN_TOKEN and READER_TOKEN,
                     "IMPRINT_SERVER, IMPRINT_TOKEN and IMPRINT_READER_TOKEN are not set; PythonClientTest sets them")
class AuthTest(unittest.TestCase):
    def test_without_a_token_the_server_says_one_is_required(self):
        with self.assertRaises(ImprintError) as refused:
            Client(SERVER, timeout=30)
        self.assertEqual(refused.exception.code, "UNAUTHENTICATED")
        self.assertIn("a bearer token is required", refused.exception.message)

    def test_a_wrong_token_is_refused_without_being_echoed(self):
        wrong = "imp_" + "x" * 43
        with self.assertRaises(ImprintError) as refused:
            Client(SERVER, token=wrong, timeout=30)
        self.assertEqual(refused.exception.code, "UNAUTHENTICATED")
        self.assertEqual(refused.exception.message, "unknown or revoked token")

    def test_a_reader_reads_but_may_not_delete_what_an_admin_created(self):
        set_id = "auth-" + uuid.uuid4().hex[:8]
        with Client(SERVER, token=ADMIN_TOKEN, timeout=30) as admin:
            admin.create_probe_set(set_id, num_probes=4, dim=8, kind="EMBEDDING")
            admin.put_reference(set_id, "model-a", np.random.default_rng(3).normal(size=(4, 8)))
        with Client(SERVER, token=READER_TOKEN, timeout=30) as reader:
            self.assertEqual([r.model_id for r in reader.list_references(set_id)], ["model-a"])
            with self.assertRaises(ImprintError) as denied:
                reader.delete_reference(set_id, "model-a")
            self.assertEqual(denied.exception.code, "PERMISSION_DENIED")
            self.assertIn("needs role writer or admin; token 'reader' has role reader", denied.exception.message)
            with self.assertRaises(ImprintError) as scoring:
                reader.score(set_id, np.ones((4, 8)))
            self.assertEqual(scoring.exception.code, "PERMISSION_DENIED")

    def test_a_blank_token_is_a_mistake_at_once(self):
        with self.assertRaises(ValueError):
            Client(SERVER, token="  ")


if __name__ == "__main__":
    unittest.main()
