#!/usr/bin/python3
"""Self-test of spec/support/sandbox.py.

Run:  /usr/bin/python3 -m unittest spec/support/test_sandbox.py
  or  /usr/bin/python3 spec/support/test_sandbox.py

Every test talks to a real sandbox process started on port 0 (standard library only).
"""

import base64
import http.client
import json
import os
import re
import select
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SANDBOX = os.path.join(HERE, "sandbox.py")
FIXTURES = "/work/shared/reference/fixtures"
ACME = "clt0acme000010bhys38c6ryb"
GLOBEX = "clu7glbx000020j7zc6npf32j"
RAJ = "clrraj0000002019nj9w0ji6b"
AUTH = {"Authorization": "Bearer test-token"}
CUID = re.compile(r"c[0-9a-z]{24}")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


class Server:
    """A sandbox subprocess plus small HTTP helpers."""

    def __init__(self, *args, timeout=10):
        self.proc = subprocess.Popen([sys.executable, SANDBOX, *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline().decode() if ready else ""
        if not line.startswith("http://127.0.0.1:"):
            self.proc.kill()
            raise RuntimeError("sandbox did not start: %r %r" % (line, self.proc.stderr.read()))
        self.url = line.strip()
        self.port = int(self.url.rsplit(":", 1)[1])
        self.first_line = line

    def conn(self, timeout=5):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, conn=None):
        """Send one request; return (status, headers, body bytes)."""
        own = conn is None
        conn = conn or self.conn()
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        if own:
            conn.close()
        return resp.status, resp, data

    def api(self, method, path, body=None, headers=None, **kw):
        """Authenticated request; return (status, decoded JSON, response)."""
        h = dict(AUTH)
        h.update(headers or {})
        status, resp, data = self.request(method, path, body, h, **kw)
        return status, json.loads(data), resp

    def control(self, method, path, body=None):
        status, _, data = self.request(method, "/_sandbox" + path, body)
        return status, json.loads(data)

    def stop(self):
        """Ask the server to shut down; the exit is awaited in tearDownModule (saves time)."""
        if self.proc.poll() is None:
            try:
                self.request("POST", "/_sandbox/shutdown")
            except OSError:
                self.proc.terminate()
        STOPPING.append(self.proc)


STOPPING = []


def tearDownModule():
    """Reap every server stopped by the tests; each must exit with status 0."""
    codes = []
    for proc in STOPPING:
        try:
            codes.append(proc.wait(5))
        except subprocess.TimeoutExpired:
            proc.kill()
            codes.append(proc.wait())
        proc.stdout.close()
        proc.stderr.close()
    STOPPING.clear()
    if any(codes):
        raise AssertionError("sandbox exit statuses: %r" % codes)


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as fh:
        return json.load(fh)


def jwt(claims):
    enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    return enc(b'{"alg":"none","typ":"JWT"}') + "." + enc(json.dumps(claims).encode()) + ".sig"


def jwt_payload(token):
    seg = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4)))


class SharedServerTest(unittest.TestCase):
    """Tests against one demo-seeded server, reset before each test."""

    args = ()

    @classmethod
    def setUpClass(cls):
        cls.srv = Server(*cls.args)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def setUp(self):
        self.assertEqual(self.srv.control("POST", "/reset")[0], 200)

    def assertError(self, status, body, resp, code, message=None):
        self.assertEqual(status, code)
        self.assertEqual(body["statusCode"], code)
        self.assertRegex(body["requestId"], UUID)
        self.assertEqual(resp.getheader("X-Request-Id"), body["requestId"])
        self.assertEqual(resp.getheader("Content-Type"), "application/json")
        if message is not None:
            self.assertEqual(body["message"], message)


class TestListsAndPagination(SharedServerTest):

    def test_organizations_match_fixture(self):
        status, body, resp = self.srv.api("GET", "/v1/organizations?limit=100&offset=0")
        self.assertEqual(status, 200)
        self.assertEqual(body, fixture("organizations-list.json"))
        self.assertRegex(resp.getheader("X-Request-Id"), UUID)
        self.assertEqual(int(resp.getheader("Content-Length")), len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()))

    def test_default_limit_and_echo(self):
        status, body, _ = self.srv.api("GET", "/v1/organizations")
        self.assertEqual((status, body["limit"], body["offset"], body["totalCount"]), (200, 20, 0, 3))

    def test_paging_slices_and_past_end(self):
        _, body, _ = self.srv.api("GET", "/v1/organizations?limit=2&offset=1")
        self.assertEqual([o["name"] for o in body["organizations"]], ["Globex", "Initech Sandbox"])
        _, body, _ = self.srv.api("GET", "/v1/organizations?limit=2&offset=50")
        self.assertEqual((body["organizations"], body["totalCount"]), ([], 3))
        _, body, _ = self.srv.api("GET", "/v1/organizations?limit=0&offset=0")
        self.assertEqual((body["organizations"], body["totalCount"], body["limit"]), ([], 3, 0))
        _, body, _ = self.srv.api("GET", "/v1/organizations?limit=1000&offset=0")
        self.assertEqual(len(body["organizations"]), 3)

    def test_limit_and_offset_validation(self):
        for query, fields in (("limit=1001", ["limit"]), ("limit=-1", ["limit"]),
                              ("limit=abc&offset=0", ["limit"]), ("limit=10&offset=-5", ["offset"]),
                              ("limit=x&offset=y", ["limit", "offset"]), ("limit=", ["limit"])):
            for path in ("/v1/organizations", "/v1/organizations/%s/users" % ACME,
                         "/v1/organizations/%s/workspaces" % ACME):
                status, body, resp = self.srv.api("GET", path + "?" + query)
                self.assertError(status, body, resp, 400)
                self.assertEqual([e["field"] for e in body["fieldErrors"]], fields, query)
                self.assertTrue(body["message"].startswith("Invalid request: "))

    def test_users_match_fixture(self):
        status, body, _ = self.srv.api("GET", "/v1/organizations/%s/users?limit=100&offset=0" % ACME)
        self.assertEqual(status, 200)
        self.assertEqual(body, fixture("users-list-page.json"))

    def test_get_user_and_not_found(self):
        status, body, _ = self.srv.api("GET", "/v1/organizations/%s/users/%s" % (ACME, RAJ))
        self.assertEqual((status, body), (200, fixture("user.json")))
        status, body, resp = self.srv.api("GET", "/v1/organizations/%s/users/cnope" % ACME)
        self.assertError(status, body, resp, 404, "User not found")
        status, body, resp = self.srv.api("GET", "/v1/organizations/cnope/users/%s" % RAJ)
        self.assertError(status, body, resp, 404, "Organization not found")

    def test_organization_by_id(self):
        status, body, _ = self.srv.api("GET", "/v1/organizations/%s" % ACME)
        self.assertEqual((status, body), (200, fixture("organization.json")))
        for path in ("/v1/organizations/cxyz", "/v1/organizations/cxyz/users",
                     "/v1/organizations/cxyz/workspaces?limit=1000&offset=0&sorts=name%3Aasc"):
            status, body, resp = self.srv.api("GET", path)
            self.assertError(status, body, resp, 404, "Organization not found")

    def test_workspaces_sorted(self):
        status, body, _ = self.srv.api(
            "GET", "/v1/organizations/%s/workspaces?limit=1000&offset=0&sorts=name%%3Aasc" % ACME)
        self.assertEqual((status, body), (200, fixture("workspaces-list.json")))
        _, body, _ = self.srv.api("GET", "/v1/organizations/%s/workspaces?sorts=name:desc" % ACME)
        self.assertEqual([w["name"] for w in body["workspaces"]], ["ML Ops", "Analytics"])
        status, body, resp = self.srv.api("GET", "/v1/organizations/%s/workspaces?sorts=bogus:asc" % ACME)
        self.assertError(status, body, resp, 400)

    def test_workspace_by_id(self):
        status, body, _ = self.srv.api("GET", "/v1/organizations/%s/workspaces/clwanly000010uxapiyuxv50n" % ACME)
        self.assertEqual((status, body["name"], body["id"]), (200, "Analytics", "clwanly000010uxapiyuxv50n"))
        status, body, resp = self.srv.api("GET", "/v1/organizations/%s/workspaces/cnope" % ACME)
        self.assertError(status, body, resp, 404, "Workspace not found")
        status, body, resp = self.srv.api("DELETE", "/v1/organizations/%s/workspaces/cnope" % ACME)
        self.assertError(status, body, resp, 405)

    def test_self_user(self):
        status, body, _ = self.srv.api("GET", "/v1/users/self?createIfNotExist=true")
        self.assertEqual((status, body), (200, fixture("self-user.json")))

    def test_unknown_route_and_method(self):
        for path in ("/v1/nothing", "/v1/organizations/%s/nothing" % ACME, "/v1/organizations/",
                     "/elsewhere"):
            status, body, resp = self.srv.api("GET", path)
            self.assertError(status, body, resp, 404, "Not Found")
        status, body, resp = self.srv.api("DELETE", "/v1/organizations")
        self.assertError(status, body, resp, 405)
        self.assertEqual(resp.getheader("Allow"), "GET")
        status, body, resp = self.srv.api("GET", "/v1/organizations/%s/invites" % ACME)
        self.assertError(status, body, resp, 405)

    def test_keep_alive_reuses_connection(self):
        conn = self.srv.conn()
        conn.connect()
        sock = conn.sock
        for path in ("/v1/organizations?limit=1", "/v1/users/self", "/v1/organizations/nope"):
            status, resp, _ = self.srv.request("GET", path, headers=AUTH, conn=conn)
            self.assertIsNone(resp.getheader("Connection"))
        self.srv.request("POST", "/v1/organizations/%s/invites" % ACME, body="{bad", headers=AUTH,
                         conn=conn)
        self.assertIs(conn.sock, sock)
        conn.close()


class TestConcurrency(SharedServerTest):

    def test_parallel_reads_and_invites(self):
        import threading
        results = []

        def worker(n):
            conn = self.srv.conn()
            for i in range(25):
                status, _, _ = self.srv.request("GET", "/v1/organizations/%s/users?limit=100&offset=0" % ACME,
                                                headers=AUTH, conn=conn)
                results.append(status)
            status, _, data = self.srv.request(
                "POST", "/v1/organizations/%s/invites" % ACME, headers=AUTH, conn=conn,
                body=json.dumps({"inviteeEmail": "p%d@par.io" % n, "role": "ORGANIZATION_MEMBER"}))
            results.append(status)
            conn.close()

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        self.assertEqual(results, [200] * len(results))
        self.assertEqual(len(results), 8 * 26)
        _, body, _ = self.srv.api("GET", "/v1/organizations/%s/users?limit=100&offset=0" % ACME)
        self.assertEqual(body["totalCount"], 11)
        self.assertEqual(len({u["id"] for u in body["users"]}), 11)


class TestAuth(SharedServerTest):

    def test_missing_unknown_and_wrong_scheme(self):
        for headers in ({}, {"Authorization": ""}, {"Authorization": "Bearer "},
                        {"Authorization": "Bearer nope"}, {"Authorization": "Basic dGVzdC10b2tlbg=="},
                        {"Authorization": "test-token"}):
            status, resp, data = self.srv.request("GET", "/v1/organizations", headers=headers)
            self.assertError(status, json.loads(data), resp, 401, "Unauthorized")

    def test_expired_jwt(self):
        expired = jwt({"sub": "x", "exp": int(time.time()) - 60})
        self.srv.control("POST", "/tokens", {"token": expired})
        status, body, resp = self.srv.api("GET", "/v1/organizations",
                                          headers={"Authorization": "Bearer " + expired})
        self.assertError(status, body, resp, 401, "Unauthorized: token is expired")
        valid = jwt({"sub": "x", "exp": int(time.time()) + 600})
        status, _, _ = self.srv.api("GET", "/v1/organizations", headers={"Authorization": "Bearer " + valid})
        self.assertEqual(status, 401)
        self.srv.control("POST", "/tokens", {"token": valid})
        status, _, _ = self.srv.api("GET", "/v1/organizations", headers={"Authorization": "Bearer " + valid})
        self.assertEqual(status, 200)

    def test_token_control(self):
        status, body = self.srv.control("POST", "/tokens", {"token": "other"})
        self.assertEqual(status, 200)
        self.assertIn("other", body["tokens"])
        self.assertEqual(self.srv.api("GET", "/v1/users/self", headers={"Authorization": "Bearer other"})[0], 200)
        self.srv.control("POST", "/tokens", {"revoke_token": "other"})
        self.assertEqual(self.srv.api("GET", "/v1/users/self", headers={"Authorization": "Bearer other"})[0], 401)
        self.assertEqual(self.srv.control("POST", "/tokens", {"bogus": "x"})[0], 400)

    def test_accept_any_token_and_custom_tokens(self):
        srv = Server("--accept-any-token")
        try:
            self.assertEqual(srv.api("GET", "/v1/users/self", headers={"Authorization": "Bearer whatever"})[0], 200)
            status, body, _ = srv.api("GET", "/v1/users/self", headers={"Authorization": "Bearer " + jwt({"exp": 1})})
            self.assertEqual((status, body["message"]), (401, "Unauthorized: token is expired"))
            self.assertEqual(srv.api("GET", "/v1/users/self", headers={"Authorization": "Bearer "})[0], 401)
        finally:
            srv.stop()
        srv = Server("--token", "a1", "--token", "a2")
        try:
            for tok, code in (("a1", 200), ("a2", 200), ("test-token", 401)):
                self.assertEqual(srv.api("GET", "/v1/users/self", headers={"Authorization": "Bearer " + tok})[0], code)
        finally:
            srv.stop()


class TestInvites(SharedServerTest):

    path = "/v1/organizations/%s/invites" % ACME

    def test_invite_success(self):
        before = time.time()
        status, body, _ = self.srv.api("POST", self.path, {"inviteeEmail": "new.hire@acme.io",
                                                           "role": "ORGANIZATION_BILLING_ADMIN"},
                                       headers={"Content-Type": "application/json"})
        self.assertEqual(status, 200)
        self.assertEqual(sorted(body), sorted(fixture("invite-response.json")))
        self.assertRegex(body["inviteId"], CUID)
        self.assertRegex(body["userId"], CUID)
        self.assertEqual(body["invitee"], {"id": body["userId"], "subjectType": "USER",
                                           "username": "new.hire@acme.io"})
        self.assertEqual(body["inviter"]["username"], "jane.doe@acme.io")
        self.assertEqual((body["organizationId"], body["organizationName"]), (ACME, "Acme Data Platform"))
        expires = time.mktime(time.strptime(body["expiresAt"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
        self.assertAlmostEqual(expires - before, 7 * 86400, delta=5)
        _, users, _ = self.srv.api("GET", "/v1/organizations/%s/users?limit=100&offset=0" % ACME)
        self.assertEqual(users["totalCount"], 4)
        new = users["users"][-1]
        self.assertEqual((new["id"], new["username"], new["status"], new["fullName"], new["organizationRole"]),
                         (body["userId"], "new.hire@acme.io", "PENDING", "", "ORGANIZATION_BILLING_ADMIN"))
        state = self.srv.control("GET", "/state")[1]
        self.assertEqual(state["users"][ACME][-1]["id"], body["userId"])
        self.assertEqual(state["invites"][ACME][-1]["inviteId"], body["inviteId"])

    def test_invite_duplicates(self):
        status, body, resp = self.srv.api("POST", self.path, {"inviteeEmail": "Jane.Doe@ACME.io",
                                                              "role": "ORGANIZATION_MEMBER"})
        self.assertError(status, body, resp, 400, "User is already a member of this organization.")
        self.assertEqual(self.srv.api("POST", self.path, {"inviteeEmail": "x@y.io", "role": "ORGANIZATION_MEMBER"})[0], 200)
        status, body, resp = self.srv.api("POST", self.path, {"inviteeEmail": "X@Y.io", "role": "ORGANIZATION_OWNER"})
        self.assertError(status, body, resp, 400, "User has already been invited to this organization.")
        # Globex has a seeded PENDING user
        status, body, _ = self.srv.api("POST", "/v1/organizations/%s/invites" % GLOBEX,
                                       {"inviteeEmail": "frank.grimes@globex.io", "role": "ORGANIZATION_MEMBER"})
        self.assertEqual((status, body["message"]), (400, "User has already been invited to this organization."))

    def test_invite_validation(self):
        cases = [
            ({"inviteeEmail": "a@b.io", "role": "ORGANIZATION_MEMBER", "extra": 1}, ["extra"]),
            ({"inviteeEmail": "a@b.io"}, ["role"]),
            ({"role": "ORGANIZATION_MEMBER"}, ["inviteeEmail"]),
            ({"inviteeEmail": "not-an-email", "role": "ORGANIZATION_MEMBER"}, ["inviteeEmail"]),
            ({"inviteeEmail": "a b@c.io", "role": "ORGANIZATION_MEMBER"}, ["inviteeEmail"]),
            ({"inviteeEmail": "a@nodot", "role": "ORGANIZATION_MEMBER"}, ["inviteeEmail"]),
            ({"inviteeEmail": 5, "role": "ORGANIZATION_MEMBER"}, ["inviteeEmail"]),
            ({"inviteeEmail": "a@b.io", "role": "WORKSPACE_OWNER"}, ["role"]),
            ([], ["body"]),
        ]
        for doc, fields in cases:
            status, body, resp = self.srv.api("POST", self.path, doc)
            self.assertError(status, body, resp, 400)
            self.assertEqual([e["field"] for e in body["fieldErrors"]], fields, doc)
        status, body, _ = self.srv.api("POST", self.path, {"inviteeEmail": "a@b.io", "role": "NOPE"})
        self.assertEqual(body["fieldErrors"], fixture("error-400-validation.json")["fieldErrors"])
        self.assertEqual(body["message"], fixture("error-400-validation.json")["message"])
        for raw in ("{bad json", "", '{"inviteeEmail": "a@b.io",'):
            status, body, resp = self.srv.api("POST", self.path, raw)
            self.assertError(status, body, resp, 400, "Invalid request: malformed JSON")
        self.assertEqual(self.srv.api("GET", "/v1/organizations/%s/users" % ACME)[1]["totalCount"], 3)

    def test_invite_observe_roles_accepted(self):
        status, _, _ = self.srv.api("POST", self.path, {"inviteeEmail": "o@b.io", "role": "ORGANIZATION_OBSERVE_MEMBER"})
        self.assertEqual(status, 200)


class TestRoles(SharedServerTest):

    path = "/v1/organizations/%s/users/%s/roles" % (ACME, RAJ)

    def test_update_role(self):
        status, body, _ = self.srv.api("POST", self.path, {"organizationRole": "ORGANIZATION_OWNER"})
        self.assertEqual((status, body), (200, fixture("update-user-roles-response.json")))
        _, user, _ = self.srv.api("GET", "/v1/organizations/%s/users/%s" % (ACME, RAJ))
        self.assertEqual(user["organizationRole"], "ORGANIZATION_OWNER")
        self.assertNotEqual(user["updatedAt"], fixture("user.json")["updatedAt"])
        status, body, _ = self.srv.api("POST", "/v1/organizations/%s/users/clrmei00000030v4ds06npq50/roles" % ACME,
                                       {"organizationRole": "ORGANIZATION_MEMBER",
                                        "workspaceRoles": [{"role": "WORKSPACE_MEMBER",
                                                            "workspaceId": "clwanly000010uxapiyuxv50n"}]})
        self.assertEqual(body, {"organizationRole": "ORGANIZATION_MEMBER",
                                "workspaceRoles": [{"role": "WORKSPACE_MEMBER",
                                                    "workspaceId": "clwanly000010uxapiyuxv50n"}]})

    def test_update_role_errors(self):
        for doc, field in (({"organizationRole": "ADMIN"}, "organizationRole"), ({}, "organizationRole"),
                           ({"organizationRole": "ORGANIZATION_MEMBER", "role": "x"}, "role"),
                           ({"organizationRole": "ORGANIZATION_MEMBER", "workspaceRoles": "x"}, "workspaceRoles")):
            status, body, resp = self.srv.api("POST", self.path, doc)
            self.assertError(status, body, resp, 400)
            self.assertIn(field, [e["field"] for e in body["fieldErrors"]])
        status, body, resp = self.srv.api("POST", self.path, "nope")
        self.assertError(status, body, resp, 400, "Invalid request: malformed JSON")
        status, body, resp = self.srv.api("POST", "/v1/organizations/%s/users/cnobody/roles" % ACME,
                                          {"organizationRole": "ORGANIZATION_OWNER"})
        self.assertError(status, body, resp, 404, "User not found")
        _, user, _ = self.srv.api("GET", "/v1/organizations/%s/users/%s" % (ACME, RAJ))
        self.assertEqual(user, fixture("user.json"))


class TestRecording(SharedServerTest):

    def test_records_requests(self):
        self.srv.control("POST", "/reset-requests")
        self.srv.request("GET", "/v1/organizations?limit=100&offset=0",
                         headers={"Authorization": "Bearer test-token", "X-Astro-Client-Identifier": "cli"})
        self.srv.request("POST", "/v1/organizations/%s/invites" % ACME,
                         body='{"inviteeEmail":"r@e.io","role":"ORGANIZATION_MEMBER"}',
                         headers={"Authorization": "Bearer test-token", "Content-Type": "application/json"})
        self.srv.request("GET", "/v1/users/self")
        self.srv.control("GET", "/state")  # control requests are not recorded
        status, log = self.srv.control("GET", "/requests")
        self.assertEqual(status, 200)
        self.assertEqual([(r["method"], r["path"], r["query"], r["status"]) for r in log], [
            ("GET", "/v1/organizations", "limit=100&offset=0", 200),
            ("POST", "/v1/organizations/%s/invites" % ACME, "", 200),
            ("GET", "/v1/users/self", "", 401)])
        self.assertEqual(log[0]["headers"]["X-Astro-Client-Identifier"], "cli")
        self.assertEqual(log[0]["body"], "")
        self.assertEqual(log[1]["headers"]["Content-Type"], "application/json")
        self.assertEqual(json.loads(log[1]["body"]), {"inviteeEmail": "r@e.io", "role": "ORGANIZATION_MEMBER"})
        self.srv.control("POST", "/reset-requests")
        self.assertEqual(self.srv.control("GET", "/requests")[1], [])

    def test_state_and_seed(self):
        _, state = self.srv.control("GET", "/state")
        self.assertEqual(len(state["organizations"]), 3)
        self.assertEqual([u["username"] for u in state["users"][ACME]],
                         ["jane.doe@acme.io", "raj.patel@acme.io", "mei.lin@acme.io"])
        self.assertEqual(len(state["workspaces"][ACME]), 2)
        self.assertIn("test-token", state["tokens"])
        small = {"organizations": [{"id": "cseedorg0000000000000000a", "name": "Solo"}],
                 "users": {"cseedorg0000000000000000a": [{"id": "cseeduser000000000000000a", "username": "s@o.io"}]}}
        self.assertEqual(self.srv.control("POST", "/seed", small)[0], 200)
        _, body, _ = self.srv.api("GET", "/v1/organizations")
        self.assertEqual([o["name"] for o in body["organizations"]], ["Solo"])
        self.assertEqual(self.srv.control("POST", "/seed", {"users": {"cx": []}})[0], 400)
        self.srv.control("POST", "/reset")
        self.assertEqual(self.srv.api("GET", "/v1/organizations")[1]["totalCount"], 3)

    def test_runtime_faults(self):
        status, settings = self.srv.control("GET", "/faults")
        self.assertEqual(settings["fault_path_prefix"], "/v1")
        status, settings = self.srv.control("POST", "/faults", {"fail_next": 1, "fail_status": 500,
                                                               "fault_methods": ["post"]})
        self.assertEqual((status, settings["fail_next"], settings["fault_methods"]), (200, 1, ["POST"]))
        self.assertEqual(self.srv.api("GET", "/v1/users/self")[0], 200)
        status, body, _ = self.srv.api("POST", "/v1/organizations/%s/invites" % ACME, {})
        self.assertEqual((status, body["message"], body["statusCode"]), (500, "Internal Server Error", 500))
        self.assertEqual(self.srv.control("GET", "/faults")[1]["fail_next"], 0)
        self.srv.control("POST", "/faults", {"fail_next": 1, "fault_methods": [],
                                             "fault_path_prefix": "/v1/organizations"})
        self.assertEqual(self.srv.api("GET", "/v1/users/self")[0], 200)
        self.assertEqual(self.srv.api("GET", "/v1/organizations")[0], 500)
        status, settings = self.srv.control("POST", "/faults", {"rate_limits": [], "fault_methods": {}})
        self.assertEqual((status, settings["rate_limits"], settings["fault_methods"]), (200, {}, []))
        for bad in ({"nope": 1}, {"fail_next": -1}, {"rate_limits": {"GET": 0}}, {"retry_after": 1}, []):
            self.assertEqual(self.srv.control("POST", "/faults", bad)[0], 400, bad)

    def test_control_unknown(self):
        self.assertEqual(self.srv.control("GET", "/nothing")[0], 404)
        self.assertEqual(self.srv.control("GET", "/health")[1]["port"], self.srv.port)


class TestFaultFlags(unittest.TestCase):
    """Each fault command-line flag, on its own server."""

    def server(self, *args):
        srv = Server(*args)
        self.addCleanup(srv.stop)
        return srv

    def test_latency(self):
        srv = self.server("--latency-ms", "150")
        t = time.monotonic()
        self.assertEqual(srv.api("GET", "/v1/users/self")[0], 200)
        self.assertGreaterEqual(time.monotonic() - t, 0.15)
        t = time.monotonic()
        srv.control("GET", "/faults")
        self.assertLess(time.monotonic() - t, 0.15)
        srv.control("POST", "/faults", {"latency_ms": 0})
        t = time.monotonic()
        srv.api("GET", "/v1/users/self")
        self.assertLess(time.monotonic() - t, 0.15)

    def test_rate_limit_429_retry_after(self):
        srv = self.server("--rate-limit", "GET=3,POST=1")
        codes = [srv.api("GET", "/v1/users/self")[0] for _ in range(3)]
        status, body, resp = srv.api("GET", "/v1/users/self")
        self.assertEqual(codes, [200, 200, 200])
        self.assertEqual((status, body["message"], body["statusCode"]), (429, "Too Many Requests", 429))
        self.assertRegex(resp.getheader("Retry-After"), r"^[1-9][0-9]*$")
        self.assertEqual(resp.getheader("X-Request-Id"), body["requestId"])
        # other tokens and other methods have their own buckets
        srv.control("POST", "/tokens", {"token": "t2"})
        self.assertEqual(srv.api("GET", "/v1/users/self", headers={"Authorization": "Bearer t2"})[0], 200)
        inv = "/v1/organizations/%s/invites" % ACME
        self.assertEqual(srv.api("POST", inv, {"inviteeEmail": "q@q.io", "role": "ORGANIZATION_MEMBER"})[0], 200)
        self.assertEqual(srv.api("POST", inv, {"inviteeEmail": "q2@q.io", "role": "ORGANIZATION_MEMBER"})[0], 429)
        log = srv.control("GET", "/requests")[1]
        self.assertEqual([r["status"] for r in log].count(429), 2)
        time.sleep(0.4)  # ~1.2 GET tokens refilled
        self.assertEqual(srv.api("GET", "/v1/users/self")[0], 200)
        srv.control("POST", "/faults", {"rate_limits": {}})
        self.assertEqual({srv.api("GET", "/v1/users/self")[0] for _ in range(6)}, {200})

    def test_rate_limit_without_retry_after(self):
        srv = self.server("--rate-limit", "GET=1", "--no-retry-after")
        srv.api("GET", "/v1/users/self")
        status, _, resp = srv.api("GET", "/v1/users/self")
        self.assertEqual((status, resp.getheader("Retry-After")), (429, None))

    def test_rate_limit_paced_client_is_never_refused(self):
        srv = self.server("--rate-limit", "GET=200")
        conn = srv.conn()
        self.addCleanup(conn.close)
        start = time.monotonic()
        codes = []
        for i in range(220):  # 1.1 s at exactly the limit: crosses a one-second window
            delay = start + i / 200.0 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            codes.append(srv.request("GET", "/v1/users/self", headers=AUTH, conn=conn)[0])
        self.assertEqual(set(codes), {200})

    def test_fail_first(self):
        srv = self.server("--fail-first", "2", "--fail-status", "500")
        conn = srv.conn()
        self.addCleanup(conn.close)
        results = [srv.request("GET", "/v1/organizations", headers=AUTH, conn=conn) for _ in range(3)]
        self.assertEqual([r[0] for r in results], [500, 500, 200])
        body = json.loads(results[0][2])
        self.assertEqual((body["message"], body["statusCode"]), ("Internal Server Error", 500))
        self.assertEqual(results[0][1].getheader("Content-Type"), "application/json")
        self.assertEqual([r["status"] for r in srv.control("GET", "/requests")[1]], [500, 500, 200])
        srv = self.server("--fail-first", "1")
        self.assertEqual(srv.request("GET", "/private/v1alpha1/cli/auth-config")[0], 200)  # not /v1
        self.assertEqual(srv.request("GET", "/v1/organizations", headers=AUTH)[0], 503)

    def test_fault_filters(self):
        srv = self.server("--fail-first", "1", "--fault-methods", "POST",
                          "--fault-path-prefix", "/v1/organizations")
        self.assertEqual(srv.api("GET", "/v1/organizations")[0], 200)
        self.assertEqual(srv.api("POST", "/v1/organizations/%s/invites" % ACME, {})[0], 503)
        self.assertEqual(srv.api("POST", "/v1/organizations/%s/invites" % ACME, {})[0], 400)

    def test_fail_status_204_has_no_body(self):
        srv = self.server("--fail-first", "1", "--fail-status", "204")
        status, resp, data = srv.request("GET", "/v1/organizations", headers=AUTH)
        self.assertEqual((status, data, resp.getheader("Content-Length")), (204, b"", None))

    def test_drop_first(self):
        srv = self.server("--drop-first", "1")
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            srv.request("GET", "/v1/organizations", headers=AUTH)
        self.assertEqual(srv.request("GET", "/v1/organizations", headers=AUTH)[0], 200)
        self.assertEqual([r["status"] for r in srv.control("GET", "/requests")[1]], [None, 200])

    def test_malformed_first(self):
        srv = self.server("--malformed-first", "1")
        status, resp, data = srv.request("GET", "/v1/organizations", headers=AUTH)
        self.assertEqual((status, resp.getheader("Content-Type")), (200, "application/json"))
        self.assertEqual(int(resp.getheader("Content-Length")), len(data))
        with self.assertRaises(ValueError):
            json.loads(data)
        self.assertEqual(srv.api("GET", "/v1/organizations")[0], 200)

    def test_answer_fault(self):
        srv = self.server()
        path = "/v1/organizations/%s/users" % ACME
        self.assertEqual(srv.control("POST", "/faults", {"answer_next": 1, "answer_skip": 1,
                                                        "answer_body": '{"users": 5}',
                                                        "fault_path_prefix": path})[0], 200)
        self.assertEqual(srv.api("GET", "/v1/organizations")[0], 200)     # not under the prefix
        self.assertIsInstance(srv.api("GET", path)[1]["users"], list)     # skipped
        status, resp, data = srv.request("GET", path, headers=AUTH)
        self.assertEqual((status, resp.getheader("Content-Type"), data), (200, "application/json", b'{"users": 5}'))
        self.assertEqual(srv.api("GET", path)[0], 200)                    # served as usual again
        self.assertEqual(srv.control("POST", "/faults", {"answer_body": 5})[0], 400)

    def invite(self, srv, email, timeout=5):
        """POST an invite on a fresh connection; return (status, resp, body) or raise."""
        conn = srv.conn(timeout=timeout)
        try:
            return srv.request("POST", "/v1/organizations/%s/invites" % ACME,
                               body={"inviteeEmail": email, "role": "ORGANIZATION_MEMBER"},
                               headers=dict(AUTH, **{"Content-Type": "application/json"}), conn=conn)
        finally:
            conn.close()

    def invitees(self, srv, email):
        users = srv.control("GET", "/state")[1]["users"][ACME]
        return sum(1 for u in users if u["username"] == email)

    def log(self, srv):
        return [(r["method"], r["status"], r["fault"], r["processed_status"])
                for r in srv.control("GET", "/requests")[1]]

    def test_drop_after_first(self):
        srv = self.server("--drop-after-first", "1")
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            self.invite(srv, "lost@acme.io")
        self.assertEqual(self.invitees(srv, "lost@acme.io"), 1)  # processed, answer never sent
        self.assertEqual(self.invite(srv, "lost@acme.io")[0], 400)  # already invited
        self.assertEqual(self.log(srv), [("POST", None, "drop_after", 200), ("POST", 400, None, 400)])

    def test_truncate_first(self):
        srv = self.server("--truncate-first", "2")
        sock = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        self.addCleanup(sock.close)
        sock.sendall(b"GET /v1/organizations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test-token\r\n\r\n")
        raw = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break  # the server closed the connection after part of the body
            raw += chunk
        head, _, body = raw.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200 "))
        self.assertIn(b"Content-Type: application/json", head)
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        self.assertEqual(len(body), length // 2)
        self.assertTrue(body.startswith(b'{"limit":'))
        # a write is processed before its answer is cut
        with self.assertRaises(http.client.IncompleteRead):
            status, resp, data = self.invite(srv, "cut@acme.io")
        self.assertEqual(self.invitees(srv, "cut@acme.io"), 1)
        self.assertEqual(self.log(srv), [("GET", 200, "truncate", 200), ("POST", 200, "truncate", 200)])
        self.assertEqual(srv.api("GET", "/v1/organizations")[0], 200)

    def test_html_first(self):
        srv = self.server("--html-first", "1", "--fault-methods", "POST")
        status, resp, data = self.invite(srv, "portal@acme.io")
        self.assertEqual((status, resp.getheader("Content-Type")), (200, "text/html; charset=utf-8"))
        self.assertEqual(int(resp.getheader("Content-Length")), len(data))
        self.assertTrue(data.startswith(b"<!DOCTYPE html>"))
        self.assertTrue(resp.getheader("X-Request-Id"))
        self.assertEqual(self.invitees(srv, "portal@acme.io"), 0)  # not processed
        self.assertEqual(self.invite(srv, "portal@acme.io")[0], 200)
        self.assertEqual(self.log(srv), [("POST", 200, "html", None), ("POST", 200, None, 200)])

    def test_hang_after_first(self):
        srv = self.server("--hang-after-first", "1")
        t = time.monotonic()
        with self.assertRaises(socket.timeout):
            self.invite(srv, "slow@acme.io", timeout=0.3)
        self.assertLess(time.monotonic() - t, 1)
        self.assertEqual(self.invitees(srv, "slow@acme.io"), 1)  # processed, never answered
        self.assertEqual(self.log(srv), [("POST", None, "hang_after", 200)])

    def test_fault_order_and_runtime_keys(self):
        srv = self.server()
        keys = ("fail_next", "drop_next", "drop_after_next", "malformed_next", "truncate_next",
                "html_next", "hang_next", "hang_after_next")
        status, settings = srv.control("POST", "/faults", dict({k: 1 for k in keys}, fault_methods=["GET"]))
        self.assertEqual(status, 200)
        self.assertEqual({k: settings[k] for k in keys}, {k: 1 for k in keys})
        for k in keys[1:]:
            self.assertEqual(srv.control("POST", "/faults", {k: -1})[0], 400, k)
            self.assertEqual(srv.control("POST", "/faults", {k: True})[0], 400, k)
        self.assertEqual(self.invite(srv, "p@acme.io")[0], 200)  # POST: not a faulted method
        for _ in keys:
            conn = srv.conn(timeout=0.3)
            try:
                conn.request("GET", "/v1/users/self", headers=AUTH)
                resp = conn.getresponse()
                resp.read()
            except (OSError, http.client.HTTPException):
                pass
            conn.close()
        log = srv.control("GET", "/requests")[1]
        self.assertEqual([r["fault"] for r in log],
                         [None, "fail", "drop", "drop_after", "malformed", "truncate", "html", "hang", "hang_after"])
        self.assertEqual([r["status"] for r in log], [200, 503, None, None, 200, 200, 200, None, None])
        self.assertEqual([r["processed_status"] for r in log], [200, None, None, 200, None, 200, None, None, 200])
        self.assertEqual({k: v for k, v in srv.control("GET", "/faults")[1].items() if k in keys},
                         {k: 0 for k in keys})
        self.assertEqual(srv.api("GET", "/v1/users/self")[0], 200)
        srv.control("POST", "/faults", {"truncate_next": 3})
        srv.control("POST", "/reset")
        self.assertEqual(srv.control("GET", "/faults")[1]["truncate_next"], 0)

    def test_hang_first_and_shutdown(self):
        srv = self.server("--hang-first", "1")
        conn = srv.conn(timeout=0.3)
        with self.assertRaises(socket.timeout):
            srv.request("GET", "/v1/organizations", headers=AUTH, conn=conn)
        self.assertEqual(srv.api("GET", "/v1/organizations")[0], 200)
        self.assertEqual([r["status"] for r in srv.control("GET", "/requests")[1]], [None, 200])
        hung = socket.create_connection(("127.0.0.1", srv.port))
        srv.control("POST", "/faults", {"hang_next": 1})
        hung.sendall(b"GET /v1/users/self HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.1)
        t = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        self.assertEqual(srv.proc.wait(3), 0)
        self.assertLess(time.monotonic() - t, 2)
        hung.settimeout(2)
        self.assertEqual(hung.recv(100), b"")  # closed without an answer
        hung.close()
        conn.close()


class TestRefresh(unittest.TestCase):

    def setUp(self):
        self.srv = Server()
        self.addCleanup(self.srv.stop)

    def refresh(self, token="sandbox-refresh-token", client="sandbox-client", grant="refresh_token"):
        form = urllib.parse.urlencode({"client_id": client, "grant_type": grant, "refresh_token": token})
        status, resp, data = self.srv.request("POST", "/oauth/token", form,
                                              {"Content-Type": "application/x-www-form-urlencoded"})
        return status, json.loads(data)

    def test_auth_config(self):
        status, resp, data = self.srv.request("GET", "/private/v1alpha1/cli/auth-config",
                                              headers={"X-Astro-Client-Identifier": "cli"})
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(data), {"clientId": "sandbox-client", "audience": "astronomer-ee",
                                            "domainUrl": "http://127.0.0.1:%d/" % self.srv.port})

    def test_refresh_flow(self):
        status, body = self.refresh()
        self.assertEqual(status, 200)
        self.assertEqual(sorted(body), sorted(fixture("oauth-token-refresh-response.json")))
        self.assertEqual((body["expires_in"], body["token_type"]), (86400, "Bearer"))
        token = body["access_token"]
        head, _, sig = token.split(".")
        self.assertEqual(sig, "sandbox")
        self.assertEqual(json.loads(base64.urlsafe_b64decode(head + "==")), {"alg": "none", "typ": "JWT"})
        claims = jwt_payload(token)
        self.assertAlmostEqual(claims["exp"], time.time() + 86400, delta=5)
        self.assertEqual(claims["sub"], "clrjane00000109s3nj4egnyn")
        status2, body2 = self.refresh()
        self.assertNotEqual(jwt_payload(body2["access_token"])["jti"], claims["jti"])
        status, _, _ = self.srv.api("GET", "/v1/users/self", headers={"Authorization": "Bearer " + token})
        self.assertEqual(status, 200)
        log = self.srv.control("GET", "/requests")[1]
        self.assertEqual(log[0]["path"], "/oauth/token")
        self.assertIn("grant_type=refresh_token", log[0]["body"])

    def test_refresh_errors(self):
        status, body = self.refresh(token="stale")
        self.assertEqual((status, body), (403, fixture("oauth-token-error-response.json")))
        self.assertEqual(self.refresh(client="other")[0], 401)
        status, body = self.refresh(grant="password")
        self.assertEqual((status, body["error"]), (400, "unsupported_grant_type"))
        self.srv.control("POST", "/tokens", {"refresh_token": "fresh"})
        self.assertEqual(self.refresh(token="fresh")[0], 200)

    def test_short_lived_tokens_expire(self):
        srv = Server("--access-token-ttl", "0", "--refresh-token", "r1")
        self.addCleanup(srv.stop)
        self.srv = srv
        self.assertEqual(self.refresh()[0], 403)  # default replaced by --refresh-token
        status, body = self.refresh(token="r1")
        time.sleep(0.05)
        status, err, _ = srv.api("GET", "/v1/users/self", headers={"Authorization": "Bearer " + body["access_token"]})
        self.assertEqual((status, err["message"]), (401, "Unauthorized: token is expired"))


class TestCommandLine(unittest.TestCase):

    def test_port_file_and_stdout(self):
        with tempfile.TemporaryDirectory() as tmp:
            pf = os.path.join(tmp, "port")
            srv = Server("--port-file", pf)
            try:
                with open(pf) as fh:
                    self.assertEqual(int(fh.read()), srv.port)
                self.assertEqual(srv.first_line, "http://127.0.0.1:%d\n" % srv.port)
            finally:
                srv.stop()

    def test_write_config(self):
        with tempfile.TemporaryDirectory() as tmp:
            os.makedirs(os.path.join(tmp, ".astro"))
            with open(os.path.join(tmp, ".astro", "config.yaml"), "w") as fh:
                fh.write("old: content\n")
            srv = Server("--write-config", tmp, "--token", "tok-1")
            try:
                path = os.path.join(tmp, ".astro", "config.yaml")
                self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
                self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode), 0o700)
                with open(path) as fh:
                    text = fh.read()
                self.assertNotIn("old: content", text)
                for line in ("context: localhost", "contexts:", "  localhost:", "    domain: localhost",
                             '    expiresin: "2099-01-01T00:00:00Z"', '    last_used_workspace: ""',
                             "    organization: %s" % ACME, "    organization_product: HOSTED",
                             "    refreshtoken: sandbox-refresh-token", "    token: Bearer tok-1",
                             "    user_email: jane.doe@acme.io", '    workspace: ""', "local:",
                             "  core: http://127.0.0.1:%d" % srv.port, "  platform: cloud"):
                    self.assertIn(line + "\n", text)
            finally:
                srv.stop()

    def test_frozen_clock(self):
        srv = Server("--now", "2026-08-13T16:51:53Z")
        self.addCleanup(srv.stop)
        _, invite, _ = srv.api("POST", "/v1/organizations/%s/invites" % ACME,
                               {"inviteeEmail": "t@c.io", "role": "ORGANIZATION_MEMBER"})
        self.assertEqual(invite["expiresAt"], "2026-08-20T16:51:53Z")
        _, user, _ = srv.api("GET", "/v1/organizations/%s/users/%s" % (ACME, invite["userId"]))
        self.assertEqual((user["createdAt"], user["updatedAt"]), ("2026-08-13T16:51:53Z",) * 2)
        srv.control("POST", "/reset")
        _, again, _ = srv.api("POST", "/v1/organizations/%s/invites" % ACME,
                              {"inviteeEmail": "t@c.io", "role": "ORGANIZATION_MEMBER"})
        self.assertEqual((again["userId"], again["inviteId"]), (invite["userId"], invite["inviteId"]))

    def test_sigint_stops_cleanly(self):
        srv = Server()
        keep = srv.conn()
        keep.request("GET", "/v1/users/self", headers=AUTH)
        keep.getresponse().read()  # an idle keep-alive connection must not block shutdown
        srv.proc.send_signal(signal.SIGINT)
        self.assertEqual(srv.proc.wait(3), 0)
        keep.close()
        srv.stop()

    def test_bad_arguments(self):
        for args in (["--rate-limit", "GET"], ["--users", "-1"], ["--seed", "/nonexistent.json"],
                     ["--users", "1", "--users-org", "cnothere"]):
            proc = subprocess.run([sys.executable, SANDBOX, *args], capture_output=True, timeout=10)
            self.assertEqual(proc.returncode, 2, args)
            self.assertEqual(proc.stdout, b"")


class TestGeneratedData(unittest.TestCase):

    def test_generated_users_and_orgs(self):
        srv = Server("--users", "2500", "--orgs", "150")
        self.addCleanup(srv.stop)
        orgs = []
        offset = 0
        while True:
            _, page, _ = srv.api("GET", "/v1/organizations?limit=100&offset=%d" % offset)
            orgs += page["organizations"]
            offset = len(orgs)
            if not page["organizations"] or len(orgs) >= page["totalCount"]:
                break
        self.assertEqual(len(orgs), 153)
        self.assertEqual(orgs[3]["name"], "Sandbox Org 0001")
        self.assertEqual(len({o["id"] for o in orgs}), 153)
        self.assertTrue(all(CUID.fullmatch(o["id"]) for o in orgs))
        _, page, _ = srv.api("GET", "/v1/organizations/%s/users?limit=1000&offset=0" % ACME)
        self.assertEqual(page["totalCount"], 2503)
        users = page["users"]
        self.assertEqual([u["username"] for u in users[:4]][3], "user00001@example.com")
        self.assertEqual(users[3]["fullName"], "User 00001")
        gen = users[3:]
        self.assertTrue(all(CUID.fullmatch(u["id"]) for u in gen))
        self.assertEqual([u["createdAt"] for u in gen], sorted(u["createdAt"] for u in gen))
        roles = {u["organizationRole"] for u in gen}
        self.assertEqual(roles, {"ORGANIZATION_MEMBER", "ORGANIZATION_BILLING_ADMIN", "ORGANIZATION_OWNER"})
        again = Server("--users", "2500")
        self.addCleanup(again.stop)
        _, page2, _ = again.api("GET", "/v1/organizations/%s/users?limit=1000&offset=0" % ACME)
        self.assertEqual(page2["users"], users)  # deterministic

    def test_users_org_option(self):
        srv = Server("--users", "5", "--users-org", GLOBEX)
        self.addCleanup(srv.stop)
        self.assertEqual(srv.api("GET", "/v1/organizations/%s/users" % GLOBEX)[1]["totalCount"], 8)
        self.assertEqual(srv.api("GET", "/v1/organizations/%s/users" % ACME)[1]["totalCount"], 3)

    def test_hundred_thousand_users(self):
        t = time.monotonic()
        srv = Server("--users", "100000")
        self.addCleanup(srv.stop)
        self.assertLess(time.monotonic() - t, 3.0)
        conn = srv.conn()
        self.addCleanup(conn.close)
        t = time.monotonic()
        for offset in range(0, 100003, 1000):
            status, _, data = srv.request("GET", "/v1/organizations/%s/users?limit=1000&offset=%d"
                                          % (ACME, offset), headers=AUTH, conn=conn)
            self.assertEqual(status, 200)
        self.assertLess(time.monotonic() - t, 3.0)
        page = json.loads(data)
        self.assertEqual((page["totalCount"], len(page["users"])), (100003, 3))
        self.assertEqual(page["users"][-1]["fullName"], "User 100000")


class TestServerModels(SharedServerTest):
    """Rate windows, the ALL limit, schedules, headers, Retry-After and paging models."""

    def faults(self, **changes):
        status, body = self.srv.control("POST", "/faults", changes)
        self.assertEqual(status, 200, body)
        return body

    def get(self, path="/v1/users/self", conn=None):
        return self.srv.api("GET", path, conn=conn)

    def test_echo_token(self):
        self.faults(echo_token=True)
        status, body, resp = self.srv.api("GET", "/v1/organizations/cnope")
        self.assertEqual((status, body["message"]), (404, "Organization not found (token: Bearer test-token)"))
        self.assertEqual(resp.getheader("X-Echo-Authorization"), "Bearer test-token")
        status, _, resp = self.srv.api("GET", "/v1/organizations/%s" % ACME)
        self.assertEqual((status, resp.getheader("X-Echo-Authorization")), (200, "Bearer test-token"))
        self.faults(echo_token=False)
        _, _, resp = self.srv.api("GET", "/v1/organizations/%s" % ACME)
        self.assertIsNone(resp.getheader("X-Echo-Authorization"))

    def post(self, n, conn=None):
        return self.srv.api("POST", "/v1/organizations/%s/invites" % ACME,
                            {"inviteeEmail": "m%d@models.example.com" % n, "role": "ORGANIZATION_MEMBER"},
                            conn=conn)

    def codes(self, n, call=None):
        call = call or self.get
        return [call()[0] for _ in range(n)]

    def test_sliding_window(self):
        self.faults(rate_limits={"GET": 3}, rate_window="sliding")
        self.assertEqual(self.codes(1), [200])
        first = time.monotonic()
        time.sleep(0.3)
        self.assertEqual(self.codes(3), [200, 200, 429])
        time.sleep(max(0, first + 0.6 - time.monotonic()))
        self.assertEqual(self.codes(1), [429])  # a bucket would have refilled 1.8 by now
        time.sleep(max(0, first + 1.05 - time.monotonic()))
        self.assertEqual(self.codes(2), [200, 429])  # only the first left the window
        time.sleep(max(0, first + 1.4 - time.monotonic()))
        self.assertEqual(self.codes(3), [200, 200, 429])

    def test_fixed_window(self):
        t = time.monotonic()
        self.faults(rate_limits={"GET": 3}, rate_window="fixed")  # the seconds start here
        self.assertLess(time.monotonic() - t, 0.5)
        time.sleep(0.8)
        self.assertEqual(self.codes(4), [200, 200, 200, 429])
        time.sleep(max(0, t + 1.05 - time.monotonic()))
        # 3 more at once: a sliding window would refuse them, a fixed one has a new second
        self.assertEqual(self.codes(4), [200, 200, 200, 429])

    def test_all_counts_every_method(self):
        self.faults(rate_limits={"ALL": 3}, rate_window="sliding")
        self.assertEqual([self.get()[0], self.post(1)[0], self.get()[0]], [200, 200, 200])
        self.assertEqual([self.get()[0], self.post(2)[0]], [429, 429])

    def test_all_and_per_method_together(self):
        self.faults(rate_limits={"GET": 1, "ALL": 5}, rate_window="sliding")
        self.assertEqual(self.codes(2), [200, 429])
        self.assertEqual([self.post(i)[0] for i in range(5)], [200, 200, 200, 200, 429])

    def test_refused_request_consumes_nothing(self):
        for window in ("sliding", "fixed", "bucket"):
            self.faults(rate_limits={"GET": 2, "ALL": 3}, rate_window=window)
            self.assertEqual(self.codes(3), [200, 200, 429], window)  # refused by GET
            # the refused GET did not count against ALL: one POST still fits
            self.assertEqual([self.post(i)[0] for i in range(2)], [200, 429], window)
            self.srv.control("POST", "/reset")

    def test_schedule_switches_limits(self):
        self.faults(rate_window="sliding",
                    rate_schedule=[[0, {"GET": 1}], [0.4, {"GET": 50}], [0.8, {"POST": 1}]])
        time.sleep(0.5)  # the schedule starts at the first rate-checked request, not here
        self.assertEqual(self.codes(1), [200])
        start = time.monotonic()
        self.assertEqual(self.codes(1), [429])
        self.assertEqual(self.srv.control("GET", "/faults")[1]["rate_limits"], {"GET": 1})
        time.sleep(max(0, start + 0.45 - time.monotonic()))
        self.assertEqual(set(self.codes(10)), {200})
        self.assertEqual(self.srv.control("GET", "/faults")[1]["rate_limits"], {"GET": 50})
        time.sleep(max(0, start + 0.85 - time.monotonic()))
        self.assertEqual(set(self.codes(5)), {200})  # GET no longer limited
        self.assertEqual([self.post(i)[0] for i in range(2)], [200, 429])
        self.assertEqual(self.srv.control("GET", "/faults")[1]["rate_limits"], {"POST": 1})
        # an empty schedule is off; limits stay as last set
        self.assertEqual(self.faults(rate_schedule=[])["rate_schedule"], [])

    def test_ietf_headers(self):
        self.faults(rate_limits={"GET": 3, "ALL": 10}, rate_window="sliding", rate_headers="ietf")
        answers = [self.get() for _ in range(4)]
        seen = [(s, r.getheader("RateLimit-Limit"), r.getheader("RateLimit-Remaining"))
                for s, _, r in answers]
        self.assertEqual(seen, [(200, "3", "2"), (200, "3", "1"), (200, "3", "0"), (429, "3", "0")])
        for _, _, resp in answers:
            self.assertEqual(resp.getheader("RateLimit-Policy"), "3;w=1")
            self.assertIn(resp.getheader("RateLimit-Reset"), ("0", "1"))
        self.assertIsNotNone(answers[3][2].getheader("Retry-After"))
        # the tightest limit is described: here ALL
        status, _, resp = self.post(1)
        self.assertEqual((status, resp.getheader("RateLimit-Limit"),
                          resp.getheader("RateLimit-Remaining")), (200, "10", "6"))
        # no limit applies, no headers; errors other than 429 carry them too
        self.faults(rate_limits={"POST": 2})
        self.assertIsNone(self.get()[2].getheader("RateLimit-Limit"))
        status, _, resp = self.srv.api("POST", "/v1/organizations/%s/invites" % ACME, {"x": 1})
        self.assertEqual((status, resp.getheader("RateLimit-Remaining")), (400, "1"))
        self.assertIsNone(self.srv.request("GET", "/_sandbox/faults")[1].getheader("RateLimit-Limit"))

    def test_ietf_headers_bucket_and_fixed(self):
        for window in ("bucket", "fixed"):
            self.faults(rate_limits={"GET": 2}, rate_window=window, rate_headers="ietf")
            answers = [self.get()[2] for _ in range(3)]
            self.assertEqual([r.getheader("RateLimit-Remaining") for r in answers], ["1", "0", "0"])
            self.assertEqual(answers[2].status, 429)
            for resp in answers:
                reset = int(resp.getheader("RateLimit-Reset"))
                self.assertTrue(0 <= reset <= 1, (window, reset))

    def test_x_headers(self):
        self.faults(rate_limits={"GET": 2}, rate_window="sliding", rate_headers="x")
        now = time.time()
        answers = [self.get()[2] for _ in range(3)]
        self.assertEqual([(r.status, r.getheader("X-RateLimit-Limit"), r.getheader("X-RateLimit-Remaining"))
                          for r in answers], [(200, "2", "1"), (200, "2", "0"), (429, "2", "0")])
        for resp in answers:
            self.assertIsNone(resp.getheader("RateLimit-Limit"))
            reset = int(resp.getheader("X-RateLimit-Reset"))
            self.assertTrue(now <= reset <= now + 3, (now, reset))

    def test_retry_after_seconds(self):
        self.faults(rate_limits={"GET": 1}, retry_after_seconds=3600)
        self.get()
        status, _, resp = self.get()
        self.assertEqual((status, resp.getheader("Retry-After")), (429, "3600"))
        self.faults(fail_next=1, fail_status=429)
        self.faults(rate_limits={})
        status, _, resp = self.get()
        self.assertEqual((status, resp.getheader("Retry-After")), (429, "3600"))
        self.faults(retry_after=False, fail_next=1, retry_after_seconds=0)
        status, _, resp = self.get()
        self.assertEqual((status, resp.getheader("Retry-After")), (429, None))
        self.faults(retry_after=True, fail_next=1, retry_after_seconds=None)
        self.assertEqual(self.get()[2].getheader("Retry-After"), "1")  # the default again

    def test_max_page_size(self):
        self.faults(max_page_size=2)
        _, page, _ = self.get("/v1/organizations/%s/users?limit=100" % ACME)
        self.assertEqual((page["limit"], len(page["users"]), page["totalCount"]), (2, 2, 3))
        _, page, _ = self.get("/v1/organizations/%s/users?limit=100&offset=2" % ACME)
        self.assertEqual((page["limit"], len(page["users"])), (2, 1))
        _, page, _ = self.get("/v1/organizations/%s/users?limit=1" % ACME)
        self.assertEqual((page["limit"], len(page["users"])), (1, 1))
        _, page, _ = self.get("/v1/organizations?limit=1000")
        self.assertEqual((page["limit"], len(page["organizations"])), (2, 2))
        _, page, _ = self.get("/v1/organizations/%s/workspaces?limit=50" % ACME)
        self.assertEqual(page["limit"], 2)
        self.assertLessEqual(len(page["workspaces"]), 2)
        self.assertEqual(self.get("/v1/organizations?limit=1001")[0], 400)  # validation unchanged

    def test_total_count_claim(self):
        self.faults(total_count_claim=1000000)
        _, page, _ = self.get("/v1/organizations/%s/users?limit=100" % ACME)
        self.assertEqual((page["totalCount"], len(page["users"])), (1000000, 3))
        _, page, _ = self.get("/v1/organizations/%s/users?limit=100&offset=100" % ACME)
        self.assertEqual((page["totalCount"], page["users"]), (1000000, []))
        _, page, _ = self.get("/v1/organizations?offset=500")
        self.assertEqual((page["totalCount"], page["organizations"]), (1000000, []))
        self.faults(total_count_claim=0)
        _, page, _ = self.get("/v1/organizations/%s/users" % ACME)
        self.assertEqual((page["totalCount"], len(page["users"])), (0, 3))

    def test_grow_per_page(self):
        self.faults(grow_per_page=2, grow_limit=3)
        path = "/v1/organizations/%s/users?limit=2&offset=%d"
        _, p1, _ = self.get(path % (ACME, 0))
        _, p2, _ = self.get(path % (ACME, 2))
        _, p3, _ = self.get(path % (ACME, 4))
        self.assertEqual([p["totalCount"] for p in (p1, p2, p3)], [5, 6, 6])
        names = [u["username"] for u in p1["users"] + p2["users"] + p3["users"]]
        self.assertEqual(names[3:], ["grown000001@example.com", "grown000002@example.com",
                                     "grown000003@example.com"])
        self.assertEqual(len(set(names)), 6)
        grown = p3["users"][-1]
        self.assertTrue(CUID.fullmatch(grown["id"]))
        self.assertEqual(self.get("/v1/organizations/%s/users/%s" % (ACME, grown["id"]))[0], 200)
        self.get("/v1/organizations")  # other lists do not grow the users
        self.assertEqual(self.get(path % (ACME, 0))[1]["totalCount"], 6)
        self.faults(grow_limit=0)  # no cap; the count restarts
        self.assertEqual([self.get(path % (ACME, 0))[1]["totalCount"] for _ in range(3)], [8, 10, 12])
        self.srv.control("POST", "/reset")
        self.assertEqual(self.get(path % (ACME, 0))[1]["totalCount"], 3)

    def test_validation(self):
        before = self.srv.control("GET", "/faults")[1]
        bad = [("rate_window", "rolling"), ("rate_window", None), ("rate_headers", "draft"),
               ("rate_limits", {"ALL": 0}), ("rate_limits", {"GET": "5"}),
               ("rate_schedule", [[1, {"GET": 1}], [1, {"GET": 2}]]), ("rate_schedule", [[-1, {}]]),
               ("rate_schedule", [[0, {"GET": -1}]]), ("rate_schedule", {"0": {"GET": 1}}),
               ("rate_schedule", [[0]]), ("jitter_ms", -1), ("jitter_ms", 1.5),
               ("random_seed", "x"), ("retry_after_seconds", -1), ("retry_after_seconds", True),
               ("max_page_size", -2), ("total_count_claim", "many"), ("grow_per_page", -1),
               ("grow_limit", None)]
        for key, value in bad:
            status, body = self.srv.control("POST", "/faults", {"latency_ms": 7, key: value})
            self.assertEqual(status, 400, (key, value))
            self.assertIn(key.split("_limits")[0] if key != "rate_limits" else "rate_limits",
                          body["message"], (key, value))
        self.assertEqual(self.srv.control("GET", "/faults")[1], before)  # nothing applied
        ok = self.faults(rate_schedule=[[0, {"get": 2}], [1.5, {}]], retry_after_seconds=None,
                         total_count_claim=None, random_seed=-3, jitter_ms=0)
        self.assertEqual(ok["rate_schedule"], [[0, {"GET": 2}], [1.5, {}]])
        for key in ("rate_window", "rate_schedule", "rate_headers", "retry_after_seconds", "jitter_ms",
                    "random_seed", "max_page_size", "total_count_claim", "grow_per_page", "grow_limit"):
            self.assertIn(key, before)
        self.assertEqual((before["rate_window"], before["rate_headers"], before["retry_after_seconds"],
                          before["max_page_size"], before["total_count_claim"], before["jitter_ms"]),
                         ("bucket", "none", None, 0, None, 0))


class TestServerModelFlags(unittest.TestCase):
    """The command-line flags of the server models."""

    def test_flags_set_the_models(self):
        srv = Server("--rate-limit", "ALL=10,GET=25", "--rate-window", "sliding",
                     "--rate-schedule", "0:POST=10;5:POST=5;15.5:POST=10,GET=3", "--rate-headers", "x",
                     "--retry-after", "3600", "--jitter-ms", "3", "--random-seed", "9",
                     "--max-page-size", "50", "--total-count-claim", "1000000",
                     "--grow-per-page", "4", "--grow-limit", "40")
        self.addCleanup(srv.stop)
        f = srv.control("GET", "/faults")[1]
        self.assertEqual(f["rate_limits"], {"ALL": 10, "GET": 25})
        self.assertEqual(f["rate_schedule"], [[0, {"POST": 10}], [5, {"POST": 5}],
                                              [15.5, {"POST": 10, "GET": 3}]])
        self.assertEqual((f["rate_window"], f["rate_headers"], f["retry_after_seconds"], f["jitter_ms"],
                          f["random_seed"], f["max_page_size"], f["total_count_claim"],
                          f["grow_per_page"], f["grow_limit"]),
                         ("sliding", "x", 3600, 3, 9, 50, 1000000, 4, 40))
        _, page, resp = srv.api("GET", "/v1/organizations/%s/users?limit=1000" % ACME)
        self.assertEqual((page["limit"], page["totalCount"], len(page["users"])), (50, 1000000, 7))
        # the schedule's first entry replaced the limits wholesale: GET is not limited any more
        self.assertIsNone(resp.getheader("X-RateLimit-Limit"))
        self.assertEqual(srv.control("GET", "/faults")[1]["rate_limits"], {"POST": 10})
        status, _, resp = srv.api("POST", "/v1/organizations/%s/invites" % ACME,
                                  {"inviteeEmail": "f@flags.example.com", "role": "ORGANIZATION_MEMBER"})
        self.assertEqual((status, resp.getheader("X-RateLimit-Limit"),
                          resp.getheader("X-RateLimit-Remaining")), (200, "10", "9"))
        srv.control("POST", "/faults", {"rate_schedule": [], "rate_limits": {"ALL": 5}})
        srv.control("POST", "/reset")  # back to the command line, schedule restarted
        f = srv.control("GET", "/faults")[1]
        self.assertEqual((f["rate_limits"], len(f["rate_schedule"])), ({"ALL": 10, "GET": 25}, 3))

    def test_bad_flags(self):
        for args, name in ((["--rate-window", "rolling"], "--rate-window"),
                           (["--rate-headers", "draft"], "--rate-headers"),
                           (["--rate-schedule", "x"], "--rate-schedule"),
                           (["--rate-schedule", "5:POST=1;3:POST=2"], "--rate-schedule"),
                           (["--rate-schedule", "0:POST"], "--rate-schedule"),
                           (["--rate-limit", "ALL=0"], "--rate-limit"),
                           (["--jitter-ms", "-1"], "--jitter-ms"),
                           (["--random-seed", "x"], "--random-seed"),
                           (["--retry-after", "-1"], "--retry-after"),
                           (["--max-page-size", "x"], "--max-page-size"),
                           (["--total-count-claim", "-5"], "--total-count-claim"),
                           (["--grow-per-page", "1.5"], "--grow-per-page"),
                           (["--grow-limit", "-1"], "--grow-limit")):
            proc = subprocess.run([sys.executable, SANDBOX, *args], capture_output=True, timeout=10)
            self.assertEqual(proc.returncode, 2, args)
            self.assertEqual(proc.stdout, b"")
            self.assertIn(name.encode(), proc.stderr, args)

    def test_jitter_is_seeded(self):
        sys.path.insert(0, HERE)
        try:
            import sandbox
        finally:
            sys.path.remove(HERE)

        def delays(seed, n=20):
            f = sandbox.Faults()
            f.update({"jitter_ms": 100, "latency_ms": 10, "random_seed": seed})
            return [f.delay() for _ in range(n)]

        a, b, c = delays(1), delays(1), delays(2)
        self.assertEqual(a, b)
        self.assertNotEqual(a, c)
        self.assertTrue(all(0.010 <= d <= 0.110 for d in a))
        self.assertGreater(max(a) - min(a), 0.02)
        srv = Server("--jitter-ms", "60", "--latency-ms", "20")
        self.addCleanup(srv.stop)
        conn = srv.conn()
        self.addCleanup(conn.close)
        times = []
        for _ in range(8):
            t = time.monotonic()
            srv.request("GET", "/v1/users/self", headers=AUTH, conn=conn)
            times.append(time.monotonic() - t)
        self.assertGreaterEqual(min(times), 0.019)
        self.assertLess(max(times), 0.5)
        self.assertGreater(max(times) - min(times), 0.005)


if __name__ == "__main__":
    unittest.main()
