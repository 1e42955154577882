#!/usr/bin/python3
"""Self-test of spec/support/sandbox_tokens.py (the API token routes of the sandbox).

Run:  /usr/bin/python3 spec/support/test_sandbox_tokens.py
"""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_sandbox import ACME, GLOBEX, SharedServerTest, tearDownModule  # noqa: E402,F401

TOKENS = "/v1/organizations/%s/tokens" % ACME
CI = "clotokci00010r7u4hqw74ajw"
DEPLOY1 = "clotokdp000200qimtjo8rnbo"
DEPLOY2 = "clotokd2000300x8w1nq5v3rk"
WS = "clotokws000400m3k7v2p9qzd"
ANALYTICS = "clwanly000010uxapiyuxv50n"


class TokenRoutes(SharedServerTest):

    def state(self):
        return self.srv.control("GET", "/state")[1]

    def test_list_only_organization_tokens_paged(self):
        status, body, _ = self.srv.api("GET", TOKENS + "?includeOnlyOrganizationTokens=true&limit=2&offset=0")
        self.assertEqual(status, 200)
        self.assertEqual(body["totalCount"], 3)
        self.assertEqual([t["id"] for t in body["tokens"]], [CI, DEPLOY1])
        status, body, _ = self.srv.api("GET", TOKENS + "?includeOnlyOrganizationTokens=true&limit=2&offset=2")
        self.assertEqual([t["id"] for t in body["tokens"]], [DEPLOY2])
        status, body, _ = self.srv.api("GET", TOKENS + "?limit=100&offset=0")
        self.assertEqual(body["totalCount"], 4)
        self.assertIn(WS, [t["id"] for t in body["tokens"]])
        self.assertTrue(all("token" not in t for t in body["tokens"]))

    def test_list_rules(self):
        status, body, _ = self.srv.api("GET", TOKENS + "?includeOnlyOrganizationTokens=yes")
        self.assertEqual(status, 400)
        self.assertEqual(body["fieldErrors"][0]["field"], "includeOnlyOrganizationTokens")
        status, body, _ = self.srv.api("GET", TOKENS + "?limit=1001")
        self.assertEqual(status, 400)
        self.srv.control("POST", "/faults", {"max_page_size": 1})
        status, body, _ = self.srv.api("GET", TOKENS + "?includeOnlyOrganizationTokens=true&limit=100&offset=0")
        self.assertEqual(len(body["tokens"]), 1)
        self.assertEqual(body["totalCount"], 3)
        status, body, _ = self.srv.api("GET", "/v1/organizations/nope/tokens")
        self.assertEqual(status, 404)
        status, body, _ = self.srv.api("GET", "/v1/organizations/%s/tokens" % GLOBEX)
        self.assertEqual([t["name"] for t in body["tokens"]], ["Globex Ops"])

    def test_create_returns_the_value_once_and_keeps_no_value(self):
        req = {"description": "d", "name": "New", "role": "ORGANIZATION_MEMBER", "scope": "ORGANIZATION",
               "tokenExpiryPeriodInDays": 30}
        status, body, _ = self.srv.api("POST", TOKENS, req)
        self.assertEqual(status, 200)
        self.assertEqual(body["name"], "New")
        self.assertEqual(body["expiryPeriodInDays"], 30)
        self.assertEqual(body["roles"], [{"entityId": ACME, "entityType": "ORGANIZATION", "role": "ORGANIZATION_MEMBER"}])
        value = body["token"]
        self.assertEqual(len(value.split(".")), 3)
        status, got, _ = self.srv.api("GET", TOKENS + "/" + body["id"])
        self.assertEqual(status, 200)
        self.assertNotIn("token", got)
        self.assertNotIn(value, json.dumps(self.state()))
        # The value is not a bearer token of the sandbox.
        status, _, _ = self.srv.request("GET", TOKENS, headers={"Authorization": "Bearer " + value})
        self.assertEqual(status, 401)

    def test_create_validation(self):
        status, body, _ = self.srv.api("POST", TOKENS, {"name": " ", "role": "OWNER", "scope": "WORKSPACE",
                                                        "tokenExpiryPeriodInDays": 4000, "extra": 1})
        self.assertEqual(status, 400)
        fields = sorted(e["field"] for e in body["fieldErrors"])
        self.assertEqual(fields, ["extra", "name", "role", "scope", "tokenExpiryPeriodInDays"])
        self.assertEqual(body["statusCode"], 400)
        status, body, _ = self.srv.api("POST", TOKENS, {"role": "ORGANIZATION_MEMBER", "scope": "ORGANIZATION"})
        self.assertEqual([e["field"] for e in body["fieldErrors"]], ["name"])
        status, _, _ = self.srv.request("POST", TOKENS, body="{", headers={"Authorization": "Bearer test-token"})
        self.assertEqual(status, 400)

    def test_get_update_roles_rotate_delete(self):
        status, body, _ = self.srv.api("GET", TOKENS + "/" + WS)
        self.assertEqual(body["scope"], "WORKSPACE")
        status, body, _ = self.srv.api("GET", TOKENS + "/nope")
        self.assertEqual((status, body["message"]), (404, "API token not found"))
        status, body, _ = self.srv.api("POST", TOKENS + "/" + CI, {"name": "Renamed", "description": "x"})
        self.assertEqual((status, body["name"], body["description"]), (200, "Renamed", "x"))
        status, body, _ = self.srv.api("POST", TOKENS + "/" + CI, {"description": "x", "role": "y"})
        self.assertEqual(status, 400)
        roles = {"roles": [{"entityId": ANALYTICS, "entityType": "WORKSPACE", "role": "WORKSPACE_AUTHOR"},
                           {"entityId": ACME, "entityType": "ORGANIZATION", "role": "ORGANIZATION_OWNER"}]}
        status, body, _ = self.srv.api("POST", TOKENS + "/" + CI + "/roles", roles)
        self.assertEqual(status, 200)
        self.assertEqual(body, {"organizationRole": "ORGANIZATION_OWNER",
                                "workspaceRoles": [{"role": "WORKSPACE_AUTHOR", "workspaceId": ANALYTICS}]})
        status, body, _ = self.srv.api("POST", TOKENS + "/" + CI + "/roles",
                                       {"roles": [{"entityId": GLOBEX, "entityType": "ORGANIZATION", "role": "X"}]})
        self.assertEqual(status, 400)
        status, first, _ = self.srv.api("POST", TOKENS + "/" + CI + "/rotate")
        status, second, _ = self.srv.api("POST", TOKENS + "/" + CI + "/rotate")
        self.assertEqual(status, 200)
        self.assertNotEqual(first["token"], second["token"])
        self.assertIn("lastRotatedAt", second)
        status, _, _ = self.srv.request("DELETE", TOKENS + "/" + CI, headers={"Authorization": "Bearer test-token"})
        self.assertEqual(status, 204)
        status, body, _ = self.srv.api("GET", TOKENS + "/" + CI)
        self.assertEqual(status, 404)
        self.assertEqual(len(self.state()["api_tokens"][ACME]), 3)

    def test_faults_apply(self):
        self.srv.control("POST", "/faults", {"fail_next": 1, "fail_status": 503})
        status, _, _ = self.srv.api("GET", TOKENS)
        self.assertEqual(status, 503)
        status, _, _ = self.srv.api("GET", TOKENS)
        self.assertEqual(status, 200)


if __name__ == "__main__":
    unittest.main()
