#!/usr/bin/python3
"""Self-test of spec/support/sandbox_roles.py (GET /organizations/{org}/roles).

Run:  /usr/bin/python3 spec/support/test_sandbox_roles.py
"""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_sandbox  # noqa: E402
from test_sandbox import ACME, GLOBEX, SharedServerTest, fixture  # noqa: E402

INITECH = "clv2init000030es9qjsmo8nu"
ROLES = "/v1/organizations/%s/roles"


def tearDownModule():
    test_sandbox.tearDownModule()


class TestRoles(SharedServerTest):

    def test_first_page_with_default_roles_matches_the_fixture(self):
        status, body, resp = self.srv.api("GET", ROLES % ACME + "?includeDefaultRoles=true&limit=100&offset=0")
        self.assertEqual(status, 200)
        self.assertEqual(resp.getheader("Content-Type"), "application/json")
        want = fixture("roles-list.json")
        self.assertEqual(body["defaultRoles"][:3], want["defaultRoles"])
        self.assertEqual(body["roles"][0], want["roles"][0])
        self.assertEqual((body["limit"], body["offset"], body["totalCount"]), (100, 0, 2))
        self.assertEqual([r["name"] for r in body["roles"]], ["DAG Operator", "Workspace Auditor"])

    def test_default_roles_only_when_asked_and_only_on_the_first_page(self):
        _, body, _ = self.srv.api("GET", ROLES % ACME + "?includeDefaultRoles=false&limit=100&offset=0")
        self.assertNotIn("defaultRoles", body)
        _, body, _ = self.srv.api("GET", ROLES % ACME + "?limit=100&offset=0")
        self.assertNotIn("defaultRoles", body)
        _, body, _ = self.srv.api("GET", ROLES % ACME + "?includeDefaultRoles=true&limit=1&offset=1")
        self.assertNotIn("defaultRoles", body)
        self.assertEqual([r["name"] for r in body["roles"]], ["Workspace Auditor"])
        _, body, _ = self.srv.api("GET", ROLES % ACME + "?includeDefaultRoles=true&limit=100&offset=100")
        self.assertEqual((body["roles"], body["totalCount"]), ([], 2))

    def test_each_organization_has_its_own_custom_roles(self):
        _, body, _ = self.srv.api("GET", ROLES % GLOBEX + "?includeDefaultRoles=true")
        self.assertEqual([r["name"] for r in body["roles"]], ["Billing Viewer"])
        self.assertNotIn("description", body["roles"][0])
        self.assertEqual(body["limit"], 20)
        _, body, _ = self.srv.api("GET", ROLES % INITECH)
        self.assertEqual((body["roles"], body["totalCount"]), ([], 0))

    def test_max_page_size_and_count_claim_apply(self):
        self.srv.control("POST", "/faults", {"max_page_size": 1, "total_count_claim": 5})
        _, body, _ = self.srv.api("GET", ROLES % ACME + "?includeDefaultRoles=true&limit=1000&offset=0")
        self.assertEqual((len(body["roles"]), body["limit"], body["totalCount"]), (1, 1, 5))
        self.assertIn("defaultRoles", body)

    def test_errors(self):
        status, body, resp = self.srv.api("GET", ROLES % ACME + "?includeDefaultRoles=yes")
        self.assertError(status, body, resp, 400)
        self.assertEqual(body["fieldErrors"][0]["field"], "includeDefaultRoles")
        status, body, resp = self.srv.api("GET", ROLES % ACME + "?limit=1001")
        self.assertError(status, body, resp, 400)
        status, body, resp = self.srv.api("GET", ROLES % "clt0nope000000000000000000")
        self.assertError(status, body, resp, 404, "Organization not found")
        status, body, resp = self.srv.api("POST", ROLES % ACME, {})
        self.assertError(status, body, resp, 405)
        status, _, _ = self.srv.request("GET", ROLES % ACME)
        self.assertEqual(status, 401)

    def test_faults_apply(self):
        self.srv.control("POST", "/faults", {"fail_next": 1, "fail_status": 503})
        status, _, _ = self.srv.api("GET", ROLES % ACME)
        self.assertEqual(status, 503)
        status, _, _ = self.srv.api("GET", ROLES % ACME)
        self.assertEqual(status, 200)

    def test_seed_and_state(self):
        seed = {"organizations": [{"id": ACME, "name": "Acme"}],
                "roles": {ACME: [{"id": "clqrole0000900aaaaaaaaaaaa", "name": "Only"}]}}
        self.assertEqual(self.srv.control("POST", "/seed", seed)[0], 200)
        _, body, _ = self.srv.api("GET", ROLES % ACME + "?includeDefaultRoles=true")
        self.assertEqual((body["defaultRoles"], [r["name"] for r in body["roles"]]), ([], ["Only"]))
        _, state = self.srv.control("GET", "/state")
        self.assertEqual(state["roles"], seed["roles"])
        status, body = self.srv.control("POST", "/seed", {"organizations": [], "roles": {ACME: []}})
        self.assertEqual(status, 400)
        self.assertIn("unknown organization", body["message"])
        _, state = self.srv.control("GET", "/state")  # the demo data again after a reset
        self.srv.control("POST", "/reset")
        _, state = self.srv.control("GET", "/state")
        self.assertEqual(len(state["defaultRoles"]), 9)
        self.assertEqual(sorted(state["roles"]), sorted([ACME, GLOBEX]))


if __name__ == "__main__":
    unittest.main()
