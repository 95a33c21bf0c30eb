"""The Python client over TLS: IMPRINT_TLS_SERVER names a server requiring client certificates,
IMPRINT_TLS_CERTS the directory of its test certificates (ca.pem, client.pem and client.key, and
other-ca.pem, a CA that signed nothing of the server's), and IMPRINT_SERVER a plaintext server.
PythonClientTest generates the certificates, starts both servers and sets all three.
"""
import os
import time
import unittest
import uuid

import numpy as np

from imprint_client import Client, ImprintError

TLS_SERVER = os.environ.get("IMPRINT_TLS_SERVER")
CERTS = os.environ.get("IMPRINT_TLS_CERTS")
PLAIN_SERVER = os.environ.get("IMPRINT_SERVER")
# Refusals come in milliseconds on loopback; this only bounds a regression that would wait instead.
CONNECT_TIMEOUT = 20.0


def cert(name):
    return os.path.join(CERTS, name)


@unittest.skipUnless(TLS_SERVER and CERTS and PLAIN_SERVER,
                     "IMPRINT_TLS_SERVER, IMPRINT_TLS_CERTS or IMPRINT_SERVER is not set; PythonClientTest sets them")
class TlsTest(unittest.TestCase):
    def refusal(self, target, **kwargs):
        start = time.monotonic()
        with self.assertRaises(ImprintError) as refused:
            Client(target, connect_timeout=CONNECT_TIMEOUT, **kwargs)
        self.assertLess(time.monotonic() - start, CONNECT_TIMEOUT / 2, refused.exception.message)
        self.assertEqual(refused.exception.code, "UNAVAILABLE")
        self.assertTrue(refused.exception.message.startswith(f"cannot reach {target}: "), refused.exception.message)
        self.assertNotIn("\n", refused.exception.message)
        return refused.exception.message

    def test_scores_over_mutual_tls_with_a_client_certificate(self):
        set_id = "tls-" + uuid.uuid4().hex[:8]
        rng = np.random.default_rng(5)
        with Client(TLS_SERVER, tls_ca=cert("ca.pem"), tls_cert=cert("client.pem"), tls_key=cert("client.key"),
                    connect_timeout=CONNECT_TIMEOUT) as imprint:
            imprint.create_probe_set(set_id, num_probes=4, dim=8, kind="EMBEDDING")
            rows = rng.normal(size=(4, 8))
            imprint.put_reference(set_id, "teacher", rows)
            imprint.put_reference(set_id, "other", rng.normal(size=(4, 8)))
            result = imprint.score(set_id, rows, top_k=2, attribution=False)
            self.assertEqual(result.matches[0].model_id, "teacher")

    def test_a_server_requiring_client_certificates_refuses_a_client_without_one(self):
        message = self.refusal(TLS_SERVER, tls_ca=cert("ca.pem"))
        self.assertIn("client certificate", message)

    def test_a_server_certificate_from_a_ca_not_trusted_is_refused(self):
        message = self.refusal(TLS_SERVER, tls_ca=cert("other-ca.pem"), tls_cert=cert("client.pem"),
                               tls_key=cert("client.key"))
        self.assertIn("not signed by a CA this client trusts", message)

    def test_a_tls_client_of_a_plaintext_server_is_told_it_does_not_speak_tls(self):
        message = self.refusal(PLAIN_SERVER, tls_ca=cert("ca.pem"))
        self.assertIn("does not speak TLS", message)

    def test_a_missing_ca_file_is_named(self):
        with self.assertRaises(ValueError) as missing:
            Client(TLS_SERVER, tls_ca=cert("missing.pem"))
        self.assertIn("missing.pem", str(missing.exception))


if __name__ == "__main__":
    unittest.main()
