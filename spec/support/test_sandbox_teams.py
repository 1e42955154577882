#!/usr/bin/python3
"""Self-test of spec/support/sandbox_teams.py (teams and team members).

Run:  /usr/bin/python3 spec/support/test_sandbox_teams.py
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_sandbox import ACME, GLOBEX, RAJ, CUID, SharedServerTest, fixture, tearDownModule  # noqa: E402,F401

TEAMS = "/v1/organizations/%s/teams" % ACME
DATA_ENG = "clmteamde00101f1sxbrxz86t"
OKTA = "clmteamsso020nl13is44cceh"
ANALYSTS = "clmteamana030a8v2k4q6w1zx"
JANE = "clrjane00000109s3nj4egnyn"
MEI = "clrmei00000030v4ds06npq50"


class TestTeams(SharedServerTest):

    def test_demo_teams_and_paging(self):
        status, body, _ = self.srv.api("GET", TEAMS + "?limit=100&offset=0")
        self.assertEqual(status, 200)
        self.assertEqual(body["totalCount"], 3)
        self.assertEqual([t["name"] for t in body["teams"]], ["Data Engineering", "okta-platform-admins", "Analysts"])
        self.assertEqual([t["isIdpManaged"] for t in body["teams"]], [False, True, False])
        listed = fixture("teams-list.json")["teams"][0]
        mine = body["teams"][0]
        for key in ("id", "name", "description", "organizationRole", "workspaceRoles", "deploymentRoles", "createdAt"):
            self.assertEqual(mine[key], listed[key], key)
        status, body, _ = self.srv.api("GET", TEAMS + "?limit=2&offset=2")
        self.assertEqual((body["limit"], body["offset"], body["totalCount"]), (2, 2, 3))
        self.assertEqual([t["id"] for t in body["teams"]], [ANALYSTS])
        status, body, _ = self.srv.api("GET", TEAMS)
        self.assertEqual(body["limit"], 20)
        status, body, resp = self.srv.api("GET", TEAMS + "?limit=1001")
        self.assertError(status, body, resp, 400, "Invalid request: limit must be 1000 or less")
        status, body, _ = self.srv.api("GET", "/v1/organizations/%s/teams" % GLOBEX)
        self.assertEqual([t["name"] for t in body["teams"]], ["Operations"])

    def test_max_page_size_fault_applies(self):
        self.srv.control("POST", "/faults", {"max_page_size": 1})
        status, body, _ = self.srv.api("GET", TEAMS + "?limit=100&offset=0")
        self.assertEqual((status, len(body["teams"]), body["totalCount"]), (200, 1, 3))

    def test_get_and_404(self):
        status, body, _ = self.srv.api("GET", TEAMS + "/" + OKTA)
        self.assertEqual((status, body["name"], body["isIdpManaged"]), (200, "okta-platform-admins", True))
        status, body, resp = self.srv.api("GET", TEAMS + "/cnope")
        self.assertError(status, body, resp, 404, "Team not found")
        status, body, resp = self.srv.api("GET", "/v1/organizations/cnoorg/teams")
        self.assertError(status, body, resp, 404, "Organization not found")

    def test_create_validates_then_creates(self):
        status, body, resp = self.srv.api("POST", TEAMS, {"name": "X", "organizationRole": "ADMIN", "extra": 1})
        self.assertError(status, body, resp, 400)
        fields = sorted(e["field"] for e in body["fieldErrors"])
        self.assertEqual(fields, ["extra", "organizationRole"])
        status, body, resp = self.srv.api("POST", TEAMS, {"name": " ", "organizationRole": "ORGANIZATION_MEMBER"})
        self.assertError(status, body, resp, 400)
        status, body, resp = self.srv.api("POST", TEAMS, {"name": "analysts", "organizationRole": "ORGANIZATION_MEMBER"})
        self.assertError(status, body, resp, 400,
                         "A team with the name analysts already exists in this organization.")
        status, body, _ = self.srv.api("POST", TEAMS, {"description": "", "name": "Platform",
                                                       "organizationRole": "ORGANIZATION_OWNER"})
        self.assertEqual(status, 200)
        self.assertRegex(body["id"], CUID)
        self.assertEqual((body["name"], body["organizationRole"], body["isIdpManaged"]),
                         ("Platform", "ORGANIZATION_OWNER", False))
        self.assertNotIn("description", body)
        status, listed, _ = self.srv.api("GET", TEAMS)
        self.assertEqual(listed["totalCount"], 4)
        self.assertIn(body["id"], [t["id"] for t in self.srv.control("GET", "/state")[1]["teams"][ACME]])

    def test_update_and_roles(self):
        status, body, _ = self.srv.api("POST", TEAMS + "/" + ANALYSTS, {"name": "BI", "description": "new"})
        self.assertEqual((status, body["name"], body["description"]), (200, "BI", "new"))
        status, body, resp = self.srv.api("POST", TEAMS + "/" + ANALYSTS, {"description": "x"})
        self.assertError(status, body, resp, 400)
        status, body, resp = self.srv.api("POST", TEAMS + "/" + ANALYSTS, {"name": "Data Engineering"})
        self.assertError(status, body, resp, 400)
        status, body, _ = self.srv.api("POST", TEAMS + "/" + DATA_ENG + "/roles",
                                       {"organizationRole": "ORGANIZATION_OWNER",
                                        "workspaceRoles": [{"role": "WORKSPACE_OPERATOR",
                                                            "workspaceId": "clwanly000010uxapiyuxv50n"}]})
        self.assertEqual(status, 200)
        self.assertEqual(body["organizationRole"], "ORGANIZATION_OWNER")
        self.assertNotIn("deploymentRoles", body)
        status, team, _ = self.srv.api("GET", TEAMS + "/" + DATA_ENG)
        self.assertEqual((team["organizationRole"], team["rolesCount"]), ("ORGANIZATION_OWNER", 1))
        status, body, resp = self.srv.api("POST", TEAMS + "/" + DATA_ENG + "/roles", {"organizationRole": "BAD"})
        self.assertError(status, body, resp, 400)
        status, body, resp = self.srv.api("POST", TEAMS + "/cnope/roles", {"organizationRole": "ORGANIZATION_MEMBER"})
        self.assertError(status, body, resp, 404, "Team not found")

    def test_delete(self):
        status, _, _ = self.srv.request("DELETE", TEAMS + "/" + ANALYSTS, headers={"Authorization": "Bearer test-token"})
        self.assertEqual(status, 204)
        status, body, resp = self.srv.api("DELETE", TEAMS + "/" + ANALYSTS)
        self.assertError(status, body, resp, 404, "Team not found")

    def test_members(self):
        status, body, _ = self.srv.api("GET", TEAMS + "/" + DATA_ENG + "/members?limit=100&offset=0")
        self.assertEqual(status, 200)
        self.assertEqual(body["totalCount"], 2)
        self.assertEqual([m["userId"] for m in body["teamMembers"]], [JANE, RAJ])
        self.assertEqual(body["teamMembers"][1]["username"], "raj.patel@acme.io")
        auth = {"Authorization": "Bearer test-token"}
        status, _, data = self.srv.request("POST", TEAMS + "/" + ANALYSTS + "/members", {"memberIds": [MEI, JANE]}, auth)
        self.assertEqual((status, data), (204, b""))
        status, body, _ = self.srv.api("GET", TEAMS + "/" + ANALYSTS + "/members?limit=1&offset=1")
        self.assertEqual((body["totalCount"], [m["userId"] for m in body["teamMembers"]]), (2, [JANE]))
        status, body, resp = self.srv.api("POST", TEAMS + "/" + ANALYSTS + "/members", {"memberIds": [MEI]})
        self.assertError(status, body, resp, 400)
        status, body, resp = self.srv.api("POST", TEAMS + "/" + ANALYSTS + "/members", {"memberIds": []})
        self.assertError(status, body, resp, 400)
        self.assertEqual(body["fieldErrors"][0]["field"], "memberIds")
        status, body, resp = self.srv.api("POST", TEAMS + "/" + ANALYSTS + "/members", {"memberIds": ["cnobody"]})
        self.assertError(status, body, resp, 404, "User not found")
        status, _, _ = self.srv.request("DELETE", TEAMS + "/" + ANALYSTS + "/members/" + MEI, headers=auth)
        self.assertEqual(status, 204)
        status, body, resp = self.srv.api("DELETE", TEAMS + "/" + ANALYSTS + "/members/" + MEI)
        self.assertError(status, body, resp, 404, "Team member not found")

    def test_seeded_teams_replace_the_demo(self):
        seed = {"organizations": [{"id": ACME, "name": "Acme"}],
                "users": {ACME: [{"id": JANE, "username": "jane.doe@acme.io", "fullName": "Jane"}]},
                "teams": {ACME: [{"id": "cteam1", "name": "Only"}]},
                "teamMembers": {"cteam1": [JANE]}}
        self.assertEqual(self.srv.control("POST", "/seed", seed)[0], 200)
        status, body, _ = self.srv.api("GET", TEAMS)
        self.assertEqual([t["name"] for t in body["teams"]], ["Only"])
        status, body, _ = self.srv.api("GET", TEAMS + "/cteam1/members")
        self.assertEqual([(m["userId"], m["username"]) for m in body["teamMembers"]], [(JANE, "jane.doe@acme.io")])
        state = self.srv.control("GET", "/state")[1]
        self.assertEqual(list(state["teamMembers"]), ["cteam1"])

    def test_faults_apply(self):
        self.srv.control("POST", "/faults", {"fail_next": 1, "fail_status": 503})
        status, body, resp = self.srv.api("GET", TEAMS)
        self.assertError(status, body, resp, 503)
        status, body, _ = self.srv.api("GET", TEAMS)
        self.assertEqual(status, 200)


if __name__ == "__main__":
    unittest.main()
