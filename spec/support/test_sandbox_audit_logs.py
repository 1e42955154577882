#!/usr/bin/python3
"""Self-test of spec/support/sandbox_audit_logs.py (GET /organizations/{org}/audit-logs).

Run:  /usr/bin/python3 spec/support/test_sandbox_audit_logs.py
"""
import gzip
import http.client
import json
import os
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_sandbox  # noqa: E402
from test_sandbox import ACME, AUTH, GLOBEX, SharedServerTest  # noqa: E402

INITECH = "clv2init000030es9qjsmo8nu"
NOW = "2026-03-01T12:00:00Z"
LOGS = "/v1/organizations/%s/audit-logs"


def tearDownModule():
    test_sandbox.tearDownModule()


def since(text):
    return "?startDate=" + urllib.parse.quote(text, safe="")


class TestAuditLogs(SharedServerTest):

    args = ("--now", NOW)

    def get(self, org, query):
        return self.srv.request("GET", LOGS % org + query, headers=AUTH)

    def test_gzip_with_content_encoding(self):
        status, resp, data = self.get(ACME, since("2026-02-28T12:00:00.123456789+00:00"))
        self.assertEqual(status, 200)
        self.assertEqual(resp.getheader("Content-Encoding"), "gzip")
        self.assertEqual(resp.getheader("Content-Type"), "application/x-ndjson")
        self.assertEqual(data[:2], b"\x1f\x8b")
        lines = gzip.decompress(data).decode().splitlines()
        self.assertEqual(len(lines), 1)
        event = json.loads(lines[0])
        self.assertEqual((event["action"], event["timestamp"]), ("user.login", "2026-03-01T11:00:00Z"))

    def test_plain_and_file_encodings(self):
        status, resp, data = self.get(GLOBEX, since("2026-02-19T00:00:00+01:00"))
        self.assertEqual(status, 200)
        self.assertIsNone(resp.getheader("Content-Encoding"))
        self.assertEqual([json.loads(l)["action"] for l in data.decode().splitlines()],
                         ["user.login", "organization.user.invite", "deployment.update"])
        status, resp, data = self.get(INITECH, since("2025-01-01T00:00:00Z"))
        self.assertEqual(status, 200)
        self.assertIsNone(resp.getheader("Content-Encoding"))
        self.assertEqual(resp.getheader("Content-Type"), "application/gzip")
        self.assertEqual(len(gzip.decompress(data).decode().splitlines()), 5)

    def test_offsets_and_end_date(self):
        # 10 days and one second ago, written in another zone.
        _, _, data = self.get(GLOBEX, since("2026-02-19T10:59:59-01:00") + "&endDate=2026-02-25T00:00:00Z")
        self.assertEqual([json.loads(l)["action"] for l in data.decode().splitlines()], ["deployment.update"])
        _, _, data = self.get(GLOBEX, since("2030-01-01T00:00:00Z"))
        self.assertEqual(data, b"")

    def test_errors(self):
        for query in ("", since("yesterday"), since("2026-02-30T00:00:00Z")):
            status, body, resp = self.srv.api("GET", LOGS % ACME + query)
            self.assertError(status, body, resp, 400)
            self.assertEqual(body["fieldErrors"][0]["field"], "startDate")
        status, body, resp = self.srv.api("GET", LOGS % "clt0nope000000000000000000" + since(NOW))
        self.assertError(status, body, resp, 404, "Organization not found")
        status, body, resp = self.srv.api("DELETE", LOGS % ACME)
        self.assertError(status, body, resp, 405)
        status, _, _ = self.srv.request("GET", LOGS % ACME + since(NOW))
        self.assertEqual(status, 401)

    def test_faults_apply(self):
        self.srv.control("POST", "/faults", {"fail_next": 1, "fail_status": 403})
        status, _, _ = self.get(ACME, since(NOW))
        self.assertEqual(status, 403)
        self.srv.control("POST", "/faults", {"truncate_next": 1})
        with self.assertRaises(http.client.IncompleteRead):
            self.get(GLOBEX, since("2025-01-01T00:00:00Z"))

    def test_seed_and_state(self):
        seed = {"organizations": [{"id": ACME, "name": "Acme"}],
                "auditLogs": {ACME: [{"timestamp": "2026-02-01T00:00:00Z", "action": "a"}]},
                "auditLogEncoding": {ACME: "identity"}}
        self.assertEqual(self.srv.control("POST", "/seed", seed)[0], 200)
        _, resp, data = self.get(ACME, since("2026-01-01T00:00:00Z"))
        self.assertEqual(data, b'{"timestamp":"2026-02-01T00:00:00Z","action":"a"}\n')
        _, state = self.srv.control("GET", "/state")
        self.assertEqual((state["auditLogs"], state["auditLogEncoding"]),
                         (seed["auditLogs"], seed["auditLogEncoding"]))
        bad = dict(seed, auditLogEncoding={ACME: "brotli"})
        self.assertEqual(self.srv.control("POST", "/seed", bad)[0], 400)
        bad = dict(seed, auditLogs={ACME: [{"action": "no time"}]})
        self.assertEqual(self.srv.control("POST", "/seed", bad)[0], 400)


if __name__ == "__main__":
    unittest.main()
