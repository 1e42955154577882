#!/usr/bin/python3
"""Local sandbox of the Astro API v1 subset used by `astro organization`.

A stateful fake server for integration tests and demos.  Python 3 standard library only.

Serves (see docs/sandbox.md for the full contract):

* ``/v1/...``                 organizations, users, invites, role updates, workspaces, self user
* ``/private/v1alpha1/cli/auth-config``, ``/oauth/token``, ``/userinfo``   (token refresh)
* ``/_sandbox/...``           control endpoints (request log, faults, tokens, state, shutdown)

Extensions: a module ``sandbox_<name>.py`` beside this file that the list ``EXTENSION_NAMES``
names serves more of the API (teams, tokens, roles, audit logs) with data of its own; see
``load_extensions``.

Structure: ``State`` holds the data, ``Faults`` the injected failures and rate limits,
``Recorder`` the request log, ``Handler`` the HTTP side, ``main()`` the command line.

Server models (keys of ``/_sandbox/faults``, each also a command-line flag; see ``Faults``):

* rate limits: ``rate_limits`` (``--rate-limit GET=25,POST=10``; key ``ALL`` counts every
  method), ``rate_window`` (``--rate-window bucket|sliding|fixed``), ``rate_schedule``
  (``--rate-schedule '0:POST=10;5:POST=5'``), ``rate_headers`` (``--rate-headers
  none|ietf|x``), ``retry_after`` (``--no-retry-after``), ``retry_after_seconds``
  (``--retry-after N``);
* latency: ``latency_ms`` (``--latency-ms``), ``jitter_ms`` (``--jitter-ms``), ``random_seed``
  (``--random-seed``);
* paging: ``max_page_size`` (``--max-page-size``), ``total_count_claim``
  (``--total-count-claim``), ``grow_per_page`` / ``grow_limit`` (``--grow-per-page``,
  ``--grow-limit``);
* queued faults: ``fail_next`` … ``hang_after_next`` (``--fail-first`` …), filtered by
  ``fault_methods`` / ``fault_path_prefix``.
"""

import argparse
import base64
import calendar
import copy
import hashlib
import http
import json
import math
import os
import random
import re
import select
import signal
import socket
import importlib
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SEED = os.path.join(HERE, "seed", "demo.json")
DEFAULT_TOKEN = "test-token"
DEFAULT_REFRESH_TOKEN = "sandbox-refresh-token"
CLIENT_ID = "sandbox-client"
AUDIENCE = "astronomer-ee"

ORG_ROLES = [
    "ORGANIZATION_OWNER",
    "ORGANIZATION_OBSERVE_ADMIN",
    "ORGANIZATION_OBSERVE_MEMBER",
    "ORGANIZATION_BILLING_ADMIN",
    "ORGANIZATION_MEMBER",
]
ROLE_ONEOF = "[" + " ".join(ORG_ROLES) + "]"
DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
INVITE_TTL = 7 * 86400
EMAIL_RE = re.compile(r"[^\s@]+@[^\s@.]+(\.[^\s@.]+)+")
INT_RE = re.compile(r"-?[0-9]+")
B64URL_RE = re.compile(r"[A-Za-z0-9_-]+={0,2}")
SORTABLE = {
    "organizations": ("name", "createdAt", "updatedAt"),
    "users": ("username", "fullName", "createdAt", "updatedAt", "organizationRole"),
    "workspaces": ("name", "createdAt", "updatedAt"),
}
# Queued faults, in the order in which they are consumed (one per matching request).
# fail, drop, malformed, html and hang answer (or not) without processing the request;
# drop_after, truncate and hang_after process it first (state changes happen), then withhold
# or spoil the answer.
FAULT_KINDS = ("fail", "drop", "drop_after", "malformed", "truncate", "html", "hang", "hang_after")
MALFORMED_BODY = b'{"limit":100,"offset":0,"totalCount":3,"items":[{"id":"clt0acme0000'
HTML_BODY = (b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head>\n"
             b"<body><h1>Sign in to continue</h1><p>This network requires you to sign in.</p></body></html>\n")


def iso(ts):
    """Format a Unix timestamp as RFC 3339 UTC with whole seconds (``2024-01-01T00:00:00Z``)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def parse_iso(text):
    """Parse ``YYYY-MM-DDTHH:MM:SSZ`` into a Unix timestamp (used for ``--now``)."""
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def base36(n, width):
    """Non-negative integer in lower-case base 36, zero-padded to ``width``."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out.rjust(width, "0")


def make_cuid(kind, n):
    """Deterministic CUID-like id: ``c`` + 2-letter kind + base36 counter + 16 hex chars (25 chars).

    Always matches ``^c[0-9a-z]{24}$`` (the CLI's CUID test) and is unique per (kind, n).
    """
    digest = hashlib.blake2b(("%s:%d" % (kind, n)).encode(), digest_size=8).hexdigest()
    return "c" + kind + base36(n, 6) + digest


def b64url(data):
    """Base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(claims):
    """Unsigned JWT-shaped string: header ``{"alg":"none","typ":"JWT"}``, signature ``sandbox``."""
    header = b64url(b'{"alg":"none","typ":"JWT"}')
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    return header + "." + payload + ".sandbox"


def jwt_claims(token):
    """Claims of a JWT-shaped token (three base64url segments, JSON object payload), else None."""
    parts = token.split(".")
    if len(parts) != 3 or not all(B64URL_RE.fullmatch(p) for p in parts):
        return None
    seg = parts[1].rstrip("=")
    try:
        claims = json.loads(base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4)))
    except ValueError:
        return None
    return claims if isinstance(claims, dict) else None


class Raw:
    """A response body that is not JSON (an extension's route may return it as its object):
    bytes, their Content-Type, and extra headers."""

    def __init__(self, body, content_type, headers=()):
        self.body = body
        self.content_type = content_type
        self.headers = list(headers)


# Extension modules, in the order their routes are tried. Each module (imported as
# ``sandbox_<name>``; it may ``import sandbox`` for ApiError, Raw, allow, parse_page, make_cuid, ...)
# defines:
#   load(state, seed)          called at the end of State.__init__ (and so at every reset and
#                              seed): keeps its data in state.ext["<name>"], from its own keys of
#                              the seed document, or demo data of its own for the demo seed's
#                              organizations when the seed has none of its keys;
#   snapshot(state) -> dict    its data in seed format, merged into GET /_sandbox/state;
#   route(handler, state, method, parts, query, body) -> (status, obj) or None
#                              an API v1 route (parts: the path after /v1, split and unquoted;
#                              query: parse_qs of the query string; body: bytes); None when the
#                              path is not its own. Called after rate limits, auth and faults,
#                              under no lock (take state.lock); may raise ApiError; obj may be
#                              a Raw body.
EXTENSION_NAMES = ("teams", "tokens", "roles", "audit_logs")
EXTENSIONS = []


def load_extensions():
    """Imports the extension modules that exist beside this file (a missing one is skipped)."""
    sys.modules.setdefault("sandbox", sys.modules[__name__])  # one module, run or imported
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)
    for name in EXTENSION_NAMES:
        module = "sandbox_" + name
        if not os.path.exists(os.path.join(here, module + ".py")):
            continue
        EXTENSIONS.append(importlib.import_module(module))


def dumps(obj):
    """Compact UTF-8 JSON encoding used for every response body."""
    # surrogateescape: a lone surrogate U+DC80-U+DCFF in seed text (JSON "\udc9b") goes out
    # as that one raw byte (0x9b), so a seed can hold bytes that are not UTF-8.
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogateescape")


class ApiError(Exception):
    """An error answer in the API v1 ``Error`` shape (``fieldErrors`` only for validation)."""

    def __init__(self, status, message, field_errors=None, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field_errors = field_errors
        self.headers = headers or []


def allow(method, *methods):
    """Raise a 405 naming the allowed methods unless ``method`` is one of them."""
    if method not in methods:
        raise ApiError(405, "Method Not Allowed", headers=[("Allow", ", ".join(methods))])


def validation_error(errors):
    """400 validation error from ``[(code, field, message), ...]`` (like error-400-validation.json)."""
    return ApiError(
        400,
        "Invalid request: " + "; ".join(e[2] for e in errors),
        [{"code": c, "field": f, "message": m} for c, f, m in errors],
    )


def parse_page(query):
    """Validate ``limit``/``offset`` of a list request; return ``(limit, offset)`` or raise 400."""
    errors = []
    out = {}
    for name, default, upper in (("limit", DEFAULT_LIMIT, MAX_LIMIT), ("offset", 0, None)):
        values = query.get(name)
        if not values:
            out[name] = default
            continue
        raw = values[0]
        if not INT_RE.fullmatch(raw):
            errors.append(("number", name, "%s must be an integer" % name))
            continue
        value = int(raw)
        if value < 0:
            errors.append(("min", name, "%s must be 0 or greater" % name))
        elif upper is not None and value > upper:
            errors.append(("max", name, "%s must be %d or less" % (name, upper)))
        out[name] = value
    if errors:
        raise validation_error(errors)
    return out["limit"], out["offset"]


def parse_sorts(query, resource):
    """Validate repeated ``sorts=field:asc|desc`` parameters; return ``[(field, descending)]``."""
    allowed = SORTABLE[resource]
    result = []
    for raw in query.get("sorts", []):
        field, _, direction = raw.partition(":")
        if field not in allowed or direction not in ("asc", "desc"):
            raise validation_error([(
                "oneof", "sorts",
                "sorts must be <field>:asc or <field>:desc with field one of [%s]" % " ".join(allowed),
            )])
        result.append((field, direction == "desc"))
    return result


def apply_sorts(items, sorts):
    """Stable multi-key sort (case-insensitive strings); returns a new list."""
    items = list(items)
    for field, desc in reversed(sorts):
        items.sort(key=lambda x: (str(x.get(field) or "").casefold(), str(x.get(field) or "")), reverse=desc)
    return items


# --------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------

class State:
    """All API data: organizations, per-org users and workspaces, the self user, invites.

    Lists are kept in insertion order with id/username indexes so pages are plain slices.
    Mutation happens under ``self.lock``; user dicts are replaced (copy-on-write), never edited
    in place, so a page slice taken under the lock can be serialised outside it.
    """

    def __init__(self, seed, gen_users=0, gen_users_org=None, gen_orgs=0, now=None):
        self.lock = threading.Lock()
        self.fixed_now = now
        self.counter = 0
        self.grown = 0
        self.self_user = copy.deepcopy(seed.get("self") or {
            "avatarUrl": "", "createdAt": "2024-01-01T00:00:00Z", "fullName": "Sandbox User",
            "id": make_cuid("su", 1), "status": "ACTIVE", "updatedAt": "2024-01-01T00:00:00Z",
            "username": "sandbox.user@example.com",
        })
        self.orgs = []
        self.org_by_id = {}
        self.users = {}       # org id -> [user dict]
        self.user_pos = {}    # org id -> {user id: index}
        self.user_name = {}   # org id -> {lower-case username: index}
        self.workspaces = {}  # org id -> [workspace dict]
        self.invites = {}     # org id -> [invite dict]
        for org in seed.get("organizations", []):
            if not isinstance(org, dict) or not org.get("id") or "name" not in org:
                raise ValueError("seed: every organization needs an id and a name")
            self._add_org(copy.deepcopy(org))
        for key in ("users", "workspaces"):
            for org_id in (seed.get(key) or {}):
                if org_id not in self.org_by_id:
                    raise ValueError("seed: %s for unknown organization %s" % (key, org_id))
        for org_id, users in (seed.get("users") or {}).items():
            for user in users:
                if not user.get("id") or not user.get("username"):
                    raise ValueError("seed: every user needs an id and a username")
                if user["id"] in self.user_pos[org_id]:
                    raise ValueError("seed: duplicate user id %s" % user["id"])
                self._append_user(org_id, copy.deepcopy(user))
        for org_id, workspaces in (seed.get("workspaces") or {}).items():
            self.workspaces[org_id] = copy.deepcopy(workspaces)
        for org_id, invites in (seed.get("invites") or {}).items():
            if org_id in self.invites:
                self.invites[org_id] = copy.deepcopy(invites)
        gen = seed.get("generate") or {}
        gen_orgs = gen_orgs or gen.get("orgs", 0)
        gen_users = gen_users or gen.get("users", 0)
        gen_users_org = gen_users_org or gen.get("users_org")
        if gen_orgs:
            self._generate_orgs(gen_orgs)
        if gen_users:
            org_id = gen_users_org or (self.orgs[0]["id"] if self.orgs else None)
            if org_id not in self.org_by_id:
                raise ValueError("--users-org: unknown organization %s" % org_id)
            self._generate_users(org_id, gen_users)
        self.ext = {}  # extension name -> its data (see EXTENSIONS)
        for ext in EXTENSIONS:
            ext.load(self, seed)

    # -- construction helpers -------------------------------------------------------------

    def _add_org(self, org):
        if org["id"] in self.org_by_id:
            raise ValueError("seed: duplicate organization id %s" % org["id"])
        self.orgs.append(org)
        self.org_by_id[org["id"]] = org
        self.users[org["id"]] = []
        self.user_pos[org["id"]] = {}
        self.user_name[org["id"]] = {}
        self.workspaces[org["id"]] = []
        self.invites[org["id"]] = []

    def _append_user(self, org_id, user):
        users = self.users[org_id]
        self.user_pos[org_id][user["id"]] = len(users)
        self.user_name[org_id][user["username"].lower()] = len(users)
        users.append(user)

    def self_profile(self):
        """BasicSubjectProfile of the self user (used as creator / inviter)."""
        u = self.self_user
        return {"id": u.get("id", ""), "subjectType": "USER", "username": u.get("username", ""),
                "fullName": u.get("fullName", ""), "avatarUrl": u.get("avatarUrl", "")}

    def _generate_orgs(self, count):
        """Append ``count`` organizations ``Sandbox Org 0001``…; the self user is their owner."""
        width = 4  # "Sandbox Org 0001" …
        base = calendar.timegm((2025, 1, 1, 0, 0, 0))
        prof = self.self_profile()
        for i in range(1, count + 1):
            oid = make_cuid("go", i)
            stamp = iso(base + i * 3600)
            self._add_org({
                "allowEnhancedSupportAccess": False,
                "billingEmail": "billing@org%s.example.com" % str(i).zfill(width),
                "createdAt": stamp, "createdBy": prof,
                "hasAllowedIpAddressRanges": False, "id": oid,
                "isBlockedEnableAiFeatures": False, "isScimEnabled": False,
                "name": "Sandbox Org %s" % str(i).zfill(width),
                "paymentMethod": "CREDIT_CARD",
                "product": "HOSTED" if i % 2 else "HYBRID",
                "productPlans": [{"astronomerProduct": "ASTRO", "organizationId": oid,
                                  "productPlanId": make_cuid("gp", i), "productPlanName": "TEAM"}],
                "shouldEnforceDedicatedClusters": False, "status": "ACTIVE",
                "updatedAt": stamp, "updatedBy": prof,
            })
            if prof["id"] and prof["username"]:
                self._append_user(oid, {
                    "avatarUrl": prof["avatarUrl"], "createdAt": stamp, "fullName": prof["fullName"],
                    "id": prof["id"], "organizationRole": "ORGANIZATION_OWNER", "status": "ACTIVE",
                    "updatedAt": stamp, "username": prof["username"]})

    def _generate_users(self, org_id, count):
        """Append ``count`` users ``User 00001`` / ``user00001@example.com`` with increasing createdAt.

        Roles: every 100th (i % 100 == 50) ORGANIZATION_BILLING_ADMIN, every 1000th
        (i % 1000 == 500) ORGANIZATION_OWNER, the rest ORGANIZATION_MEMBER.
        """
        width = 5  # "User 00001" … "User 99999", then "User 100000"
        base = calendar.timegm((2024, 1, 1, 0, 0, 0))
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        strftime, gmtime = time.strftime, time.gmtime
        users = self.users[org_id]
        pos = self.user_pos[org_id]
        names = self.user_name[org_id]
        for i in range(1, count + 1):
            num = str(i).zfill(width)
            stamp = strftime(fmt, gmtime(base + i * 60))
            if i % 1000 == 500:
                role = "ORGANIZATION_OWNER"
            elif i % 100 == 50:
                role = "ORGANIZATION_BILLING_ADMIN"
            else:
                role = "ORGANIZATION_MEMBER"
            uid = make_cuid("gu", i)
            email = "user%s@example.com" % num
            pos[uid] = len(users)
            names[email] = len(users)
            users.append({"avatarUrl": "", "createdAt": stamp, "fullName": "User " + num, "id": uid,
                          "organizationRole": role, "status": "ACTIVE", "updatedAt": stamp,
                          "username": email})

    def grow_users(self, org_id, count):
        """Append ``count`` more users ``Grown 000001`` / ``grown000001@example.com`` (numbered
        on across calls; ORGANIZATION_MEMBER, ACTIVE, createdAt = now): a list that grows."""
        with self.lock:
            self.org(org_id)
            stamp = iso(self.now())
            for _ in range(count):
                self.grown += 1
                num = str(self.grown).zfill(6)
                self._append_user(org_id, {
                    "avatarUrl": "", "createdAt": stamp, "fullName": "Grown " + num,
                    "id": make_cuid("gw", self.grown), "organizationRole": "ORGANIZATION_MEMBER",
                    "status": "ACTIVE", "updatedAt": stamp,
                    "username": "grown%s@example.com" % num})

    # -- clock and ids --------------------------------------------------------------------

    def now(self):
        """Current time for created data (``--now`` freezes it)."""
        return self.fixed_now if self.fixed_now is not None else time.time()

    def next_id(self, kind):
        """Deterministic new id (per-run counter), e.g. for invited users and invites."""
        self.counter += 1
        return make_cuid(kind, self.counter)

    # -- queries --------------------------------------------------------------------------

    def org(self, org_id):
        """Organization dict or 404 ``Organization not found``."""
        org = self.org_by_id.get(org_id)
        if org is None:
            raise ApiError(404, "Organization not found")
        return org

    def list_orgs(self, limit, offset, sorts):
        with self.lock:
            items = apply_sorts(self.orgs, sorts) if sorts else self.orgs
            return items[offset:offset + limit], len(items)

    def list_users(self, org_id, limit, offset, sorts):
        with self.lock:
            self.org(org_id)
            items = self.users[org_id]
            if sorts:
                items = apply_sorts(items, sorts)
            return items[offset:offset + limit], len(items)

    def get_user(self, org_id, user_id):
        with self.lock:
            self.org(org_id)
            pos = self.user_pos[org_id].get(user_id)
            if pos is None:
                raise ApiError(404, "User not found")
            return self.users[org_id][pos]

    def list_workspaces(self, org_id, limit, offset, sorts):
        with self.lock:
            self.org(org_id)
            items = self.workspaces[org_id]
            if sorts:
                items = apply_sorts(items, sorts)
            return items[offset:offset + limit], len(items)

    def get_workspace(self, org_id, workspace_id):
        with self.lock:
            self.org(org_id)
            for w in self.workspaces[org_id]:
                if w["id"] == workspace_id:
                    return w
            raise ApiError(404, "Workspace not found")

    # -- mutations ------------------------------------------------------------------------

    def update_roles(self, org_id, user_id, body):
        """Apply a validated UpdateUserRolesRequest; return the SubjectRoles answer."""
        with self.lock:
            self.org(org_id)
            pos = self.user_pos[org_id].get(user_id)
            if pos is None:
                raise ApiError(404, "User not found")
            user = dict(self.users[org_id][pos])
            user["organizationRole"] = body["organizationRole"]
            for key in ("workspaceRoles", "deploymentRoles", "dagRoles"):
                if key in body:
                    if body[key]:
                        user[key] = body[key]
                    else:
                        user.pop(key, None)
            user["updatedAt"] = iso(self.now())
            self.users[org_id][pos] = user
        answer = {"organizationRole": user["organizationRole"]}
        for key in ("workspaceRoles", "deploymentRoles", "dagRoles"):
            if user.get(key):
                answer[key] = user[key]
        return answer

    def invite(self, org_id, email, role):
        """Create a PENDING user and an Invite; 400 if the address is already a member/invited."""
        with self.lock:
            org = self.org(org_id)
            pos = self.user_name[org_id].get(email.lower())
            if pos is not None:
                if self.users[org_id][pos].get("status") == "PENDING":
                    raise ApiError(400, "User has already been invited to this organization.")
                raise ApiError(400, "User is already a member of this organization.")
            now = self.now()
            stamp = iso(now)
            user = {"avatarUrl": "", "createdAt": stamp, "fullName": "", "id": self.next_id("iu"),
                    "organizationRole": role, "status": "PENDING", "updatedAt": stamp,
                    "username": email}
            self._append_user(org_id, user)
            invite = {
                "expiresAt": iso(now + INVITE_TTL),
                "inviteId": self.next_id("in"),
                "invitee": {"id": user["id"], "subjectType": "USER", "username": email},
                "inviter": self.self_profile(),
                "organizationId": org_id,
                "organizationName": org.get("name", ""),
                "userId": user["id"],
            }
            self.invites[org_id].append(invite)
            return invite

    def snapshot(self):
        """Full data in seed format (``GET /_sandbox/state``)."""
        with self.lock:
            doc = {
                "self": self.self_user,
                "organizations": list(self.orgs),
                "users": {k: list(v) for k, v in self.users.items()},
                "workspaces": {k: list(v) for k, v in self.workspaces.items()},
                "invites": {k: list(v) for k, v in self.invites.items()},
            }
            for ext in EXTENSIONS:
                doc.update(ext.snapshot(self))
            return doc


# --------------------------------------------------------------------------------------------
# Faults and rate limits
# --------------------------------------------------------------------------------------------

class Faults:
    """Injected latency, queued faults (``FAULT_KINDS``), rate limits and paging models.

    Queued faults are consumed one per matching request, in the order of ``FAULT_KINDS``:
    with ``fail_next=1, drop_next=1`` the first matching request fails and the second is dropped.
    A request matches when its method is in ``fault_methods`` (empty = any) and its path starts
    with ``fault_path_prefix``.

    Rate limits (``rate_limits``: method → requests per second) are counted per Authorization
    token over ``/v1`` requests. The key ``ALL`` is one more limit counted over every request
    whatever its method, in addition to the request's own method's limit: a request is refused
    (429) when any limit that applies to it is exhausted, and a refused request consumes nothing.
    ``rate_window`` says how a limit of N/s is counted:

    * ``"bucket"`` (default): a token bucket per (token, key), capacity N, refilled continuously
      at N per second, so a client spacing requests 1/N seconds apart is never refused;
    * ``"sliding"``: at most N accepted requests in any 1-second window (a log of accepted times);
    * ``"fixed"``: at most N accepted requests per whole second, seconds counted from when the
      limits (or the window) were last set.

    Setting ``rate_limits`` or ``rate_window`` empties every bucket/log (full quota again).

    ``rate_schedule`` (``[[seconds, {METHOD: N, ...}], ...]`` in increasing order of seconds;
    ``[]`` = off) changes the limits over time: each entry replaces ``rate_limits`` wholesale
    from that many seconds after the first rate-checked ``/v1`` request following the setting
    (or a ``/_sandbox/reset``, which rebuilds the faults from the command line and so restarts
    the schedule). Buckets and logs are kept across the switches (a server changing its quota
    does not forget its recent traffic); a bucket is clamped to its new capacity.

    ``rate_headers`` adds headers to every rate-checked ``/v1`` answer (429 included) describing
    the tightest limit that applied (least remaining, then lowest limit): ``"ietf"``
    (``RateLimit-Limit``, ``RateLimit-Remaining``, ``RateLimit-Reset`` = whole seconds until the
    quota is whole again, ``RateLimit-Policy: N;w=1``), ``"x"`` (``X-RateLimit-Limit``,
    ``X-RateLimit-Remaining``, ``X-RateLimit-Reset`` = that moment as Unix epoch seconds) or
    ``"none"`` (default). A 429 carries ``Retry-After`` (seconds until the request would be
    accepted, at least 1) unless ``retry_after`` is false; ``retry_after_seconds`` (int >= 0 or
    null) replaces that value on every 429, the fail_status 429 of ``fail_next`` included.

    ``jitter_ms`` adds a uniform random delay in [0, jitter_ms] ms to every API/auth request (on
    top of ``latency_ms``) from a ``random.Random(random_seed)``: runs are repeatable; setting
    ``random_seed`` restarts the sequence.

    Paging models, for every list answer with limit/offset/totalCount (organizations, users,
    workspaces): ``max_page_size`` (0 = off) answers at most N items per page and says so in the
    answer's ``limit``; ``total_count_claim`` (null = off) reports that ``totalCount`` instead of
    the real one (pages past the real end are empty); ``grow_per_page`` adds N generated users at
    the end of the organization's user list before answering each page of it, at most
    ``grow_limit`` in all (0 = no cap; setting either restarts the count).
    """

    KEYS = ("latency_ms", "rate_limits", "retry_after", "fail_next", "fail_status", "fail_message",
            "drop_next",
            "drop_after_next", "malformed_next", "truncate_next", "html_next", "hang_next",
            "hang_after_next", "fault_methods", "fault_path_prefix",
            "rate_window", "rate_schedule", "rate_headers", "retry_after_seconds",
            "jitter_ms", "random_seed", "max_page_size", "total_count_claim",
            "grow_per_page", "grow_limit", "auth_domain_url", "token_answer", "echo_token",
            "answer_next", "answer_skip", "answer_body")
    WINDOWS = ("bucket", "sliding", "fixed")
    HEADER_FAMILIES = ("none", "ietf", "x")

    def __init__(self):
        self.lock = threading.Lock()
        self.latency_ms = 0
        self.rate_limits = {}
        self.retry_after = True
        self.fail_next = 0
        self.fail_status = 503
        self.fail_message = None    # the message of a fail answer (None: the reason phrase)
        self.drop_next = 0
        self.drop_after_next = 0
        self.malformed_next = 0
        self.truncate_next = 0
        self.html_next = 0
        self.hang_next = 0
        self.hang_after_next = 0
        self.fault_methods = []
        self.fault_path_prefix = "/v1"
        self.rate_window = "bucket"
        self.rate_schedule = []
        self.rate_headers = "none"
        self.retry_after_seconds = None
        self.jitter_ms = 0
        self.random_seed = 1
        self.max_page_size = 0
        self.total_count_claim = None
        self.grow_per_page = 0
        self.grow_limit = 0
        self.auth_domain_url = None  # domainUrl the auth-config answers (None: this server)
        self.token_answer = None     # JSON object /oauth/token answers 200 instead of a token
        self.echo_token = False      # error messages and a header repeat the request's Authorization value
        self.answer_next = 0        # "answer" fault: 200 with answer_body, after answer_skip
        self.answer_skip = 0        # matching requests are served as usual
        self.answer_body = ""
        self.buckets = {}           # (token, key) -> (level, last) | [accepted times] | (window, count)
        self.window_start = time.monotonic()
        self.schedule_start = None  # monotonic time of the first rate-checked request
        self.schedule_pos = -1      # index of the schedule entry in force
        self.grown = 0
        self.rng = random.Random(self.random_seed)

    def settings(self):
        """Current settings as a JSON-able dict."""
        with self.lock:
            return {k: copy.deepcopy(getattr(self, k)) for k in self.KEYS}

    @staticmethod
    def check_limits(value, what):
        """A method → positive number dict (methods upper-cased), else ValueError naming ``what``."""
        if value == []:
            value = {}
        if not isinstance(value, dict) or not all(
                isinstance(m, str) and m.strip() and isinstance(v, (int, float))
                and not isinstance(v, bool) and v > 0 and math.isfinite(v)
                for m, v in value.items()):
            raise ValueError("faults: %s must map methods to positive numbers" % what)
        return {m.strip().upper(): v for m, v in value.items()}

    @staticmethod
    def non_negative_int(key, value):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError("faults: %s must be a non-negative integer" % key)
        return value

    def update(self, changes):
        """Apply a dict of settings; raise ValueError (nothing applied) on a bad key or value."""
        if not isinstance(changes, dict):
            raise ValueError("faults: body must be a JSON object")
        new = {}
        for key, value in changes.items():
            if key not in self.KEYS:
                raise ValueError("faults: unknown key %r" % key)
            if value in ([], {}) and key in ("rate_limits", "fault_methods", "rate_schedule"):
                value = type(getattr(self, key))()  # JSON encoders may not tell [] from {}
            if key == "rate_limits":
                value = self.check_limits(value, "rate_limits")
            elif key == "retry_after":
                if not isinstance(value, bool):
                    raise ValueError("faults: retry_after must be a boolean")
            elif key == "fault_methods":
                if not isinstance(value, list) or not all(isinstance(m, str) for m in value):
                    raise ValueError("faults: fault_methods must be a list of strings")
                value = [m.upper() for m in value]
            elif key == "fail_message":
                if value is not None and not isinstance(value, str):
                    raise ValueError("faults: fail_message must be a string or null")
            elif key == "fault_path_prefix":
                if not isinstance(value, str):
                    raise ValueError("faults: fault_path_prefix must be a string")
            elif key == "rate_window":
                if value not in self.WINDOWS:
                    raise ValueError("faults: rate_window must be one of %s" % ", ".join(self.WINDOWS))
            elif key == "rate_headers":
                if value not in self.HEADER_FAMILIES:
                    raise ValueError("faults: rate_headers must be one of %s"
                                     % ", ".join(self.HEADER_FAMILIES))
            elif key == "rate_schedule":
                value = self.check_schedule(value)
            elif key == "answer_body":
                if not isinstance(value, str):
                    raise ValueError("faults: answer_body must be a string")
            elif key in ("retry_after_seconds", "total_count_claim"):
                if value is not None:
                    self.non_negative_int(key, value)
            elif key == "auth_domain_url":
                if value is not None and not isinstance(value, str):
                    raise ValueError("faults: auth_domain_url must be a string or null")
            elif key == "token_answer":
                if value is not None and not isinstance(value, dict):
                    raise ValueError("faults: token_answer must be a JSON object or null")
            elif key == "echo_token":
                if not isinstance(value, bool):
                    raise ValueError("faults: echo_token must be a boolean")
            elif key == "random_seed":
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValueError("faults: random_seed must be an integer")
            else:
                self.non_negative_int(key, value)
                if key == "fail_status" and not 200 <= value <= 599:
                    raise ValueError("faults: fail_status must be an HTTP status")
            new[key] = value
        with self.lock:
            for key, value in new.items():
                setattr(self, key, value)
            if "rate_limits" in new or "rate_window" in new:
                self.buckets = {}
                self.window_start = time.monotonic()
            if "rate_schedule" in new:
                self.schedule_start = None
                self.schedule_pos = -1
            if "random_seed" in new:
                self.rng = random.Random(self.random_seed)
            if "grow_per_page" in new or "grow_limit" in new:
                self.grown = 0
        return self.settings()

    @classmethod
    def check_schedule(cls, value):
        """``[[seconds, limits], ...]`` with seconds >= 0 in increasing order, else ValueError."""
        message = ("faults: rate_schedule must be a list of [seconds, {METHOD: N}] "
                   "with seconds >= 0 in increasing order")
        if not isinstance(value, list):
            raise ValueError(message)
        out = []
        last = None
        for entry in value:
            if not isinstance(entry, (list, tuple)) or len(entry) != 2:
                raise ValueError(message)
            at, limits = entry
            if (isinstance(at, bool) or not isinstance(at, (int, float)) or not math.isfinite(at)
                    or at < 0 or (last is not None and at <= last)):
                raise ValueError(message)
            out.append([at, cls.check_limits(limits, "rate_schedule limits")])
            last = at
        return out

    def take(self, method, path):
        """Consume and return the next queued fault kind for this request, or None."""
        with self.lock:
            if self.fault_methods and method not in self.fault_methods:
                return None
            if not path.startswith(self.fault_path_prefix):
                return None
            for kind in FAULT_KINDS:
                attr = kind + "_next"
                if getattr(self, attr) > 0:
                    setattr(self, attr, getattr(self, attr) - 1)
                    return kind
            if self.answer_next > 0:
                if self.answer_skip > 0:
                    self.answer_skip -= 1
                    return None
                self.answer_next -= 1
                return "answer"
        return None

    def delay(self):
        """Seconds to wait before answering an API/auth request: latency_ms plus jitter."""
        with self.lock:
            ms = self.latency_ms
            if self.jitter_ms:
                ms += self.rng.uniform(0, self.jitter_ms)
        return ms / 1000.0

    def retry_after_value(self, wait):
        """The Retry-After header of a 429 (``wait`` seconds computed), or None for none."""
        if not self.retry_after:
            return None
        if self.retry_after_seconds is not None:
            return str(self.retry_after_seconds)
        return str(max(1, math.ceil(wait)))

    def _advance_schedule(self, now):
        """Put the schedule entry in force at ``now`` into ``rate_limits`` (lock held)."""
        if not self.rate_schedule:
            return
        if self.schedule_start is None:
            self.schedule_start = now
        elapsed = now - self.schedule_start
        pos = self.schedule_pos
        while pos + 1 < len(self.rate_schedule) and self.rate_schedule[pos + 1][0] <= elapsed:
            pos += 1
        if pos != self.schedule_pos:
            self.schedule_pos = pos
            self.rate_limits = dict(self.rate_schedule[pos][1])

    def _probe(self, token, key, rate, now):
        """State of one limit: ``(allowed, remaining_after, reset_s, wait_s, commit)``.

        ``remaining_after`` counts the request if it is accepted; ``reset_s`` is the time until
        the quota is whole again (after it); ``wait_s`` the time until a refused request would be
        accepted; ``commit()`` records the acceptance.
        """
        slot = (token, key)
        limit = float(rate)
        if self.rate_window == "sliding":
            log = self.buckets.get(slot)
            if not isinstance(log, list):
                log = self.buckets[slot] = []
            while log and log[0] <= now - 1.0:
                log.pop(0)
            capacity = max(1, int(math.floor(limit + 1e-9)))
            if len(log) < capacity:
                return True, capacity - len(log) - 1, 1.0, 0.0, lambda: log.append(now)
            return False, 0, log[-1] + 1.0 - now, log[0] + 1.0 - now, None
        if self.rate_window == "fixed":
            window = int((now - self.window_start) // 1.0)
            state = self.buckets.get(slot)
            count = state[1] if isinstance(state, tuple) and state[0] == window else 0
            capacity = max(1, int(math.floor(limit + 1e-9)))
            left = self.window_start + window + 1.0 - now
            if count < capacity:
                def commit():
                    self.buckets[slot] = (window, count + 1)
                return True, capacity - count - 1, left, 0.0, commit
            return False, 0, left, left, None
        capacity = max(1.0, limit)
        state = self.buckets.get(slot)
        level, last = state if isinstance(state, tuple) and isinstance(state[0], float) else (capacity, now)
        level = min(capacity, level + (now - last) * limit)
        if level >= 1.0 - 1e-9:
            def commit():
                self.buckets[slot] = (level - 1.0, now)
            after = max(0.0, level - 1.0)
            return True, int(math.floor(after + 1e-9)), (capacity - after) / limit, 0.0, commit
        self.buckets[slot] = (level, now)
        return False, 0, (capacity - level) / limit, (1.0 - level) / limit, None

    def check_rate(self, token, method):
        """Check and consume the limits that apply to a /v1 request.

        Returns ``(wait, info)``: ``wait`` None when allowed, else seconds until allowed;
        ``info`` None when no limit applied, else ``(limit, remaining, reset_seconds)`` of the
        tightest one.
        """
        with self.lock:
            now = time.monotonic()
            self._advance_schedule(now)
            probes = []
            for key in (method, "ALL"):
                rate = self.rate_limits.get(key)
                if rate:
                    probes.append((rate,) + self._probe(token, key, rate, now))
            if not probes:
                return None, None
            refused = [p for p in probes if not p[1]]
            if refused:
                wait = max(p[4] for p in refused)
                tight = min(refused, key=lambda p: p[0])
                return wait, (tight[0], 0, tight[3])
            for p in probes:
                p[5]()
            tight = min(probes, key=lambda p: (p[2], p[0]))
            return None, (tight[0], tight[2], tight[3])

    def rate_header_list(self, info):
        """Headers describing ``info`` = ``(limit, remaining, reset_seconds)`` per ``rate_headers``."""
        family = self.rate_headers
        if info is None or family == "none":
            return []
        limit, remaining, reset = info
        shown = str(int(limit)) if float(limit) == int(limit) else str(limit)
        if family == "ietf":
            return [("RateLimit-Limit", shown), ("RateLimit-Remaining", str(max(0, remaining))),
                    ("RateLimit-Reset", str(max(0, math.ceil(reset - 1e-9)))),
                    ("RateLimit-Policy", "%s;w=1" % shown)]
        return [("X-RateLimit-Limit", shown), ("X-RateLimit-Remaining", str(max(0, remaining))),
                ("X-RateLimit-Reset", str(math.ceil(time.time() + max(0.0, reset))))]

    # -- paging models ----------------------------------------------------------------------

    def page_limit(self, limit):
        """The page size the server answers with for a requested ``limit``."""
        cap = self.max_page_size
        return min(limit, cap) if cap else limit

    def claimed_total(self, total):
        """The totalCount the server reports for a real ``total``."""
        claim = self.total_count_claim
        return total if claim is None else claim

    def take_growth(self):
        """How many users to add before answering this page of the users list (counted)."""
        with self.lock:
            n = self.grow_per_page
            if not n:
                return 0
            if self.grow_limit:
                n = max(0, min(n, self.grow_limit - self.grown))
            self.grown += n
            return n


# --------------------------------------------------------------------------------------------
# Request log
# --------------------------------------------------------------------------------------------

class Recorder:
    """Arrival-ordered log of API and auth requests (``GET /_sandbox/requests``)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.entries = []

    def add(self, method, path, query, headers, body):
        entry = {"method": method, "path": path, "query": query, "headers": headers,
                 "body": body, "status": None, "time": round(time.time(), 6),
                 "fault": None, "processed_status": None}
        with self.lock:
            self.entries.append(entry)
        return entry

    def dump(self):
        with self.lock:
            return dumps(self.entries)

    def clear(self):
        with self.lock:
            self.entries = []


# --------------------------------------------------------------------------------------------
# Server and handler
# --------------------------------------------------------------------------------------------

class Sandbox(ThreadingHTTPServer):
    """The HTTP server plus everything the handler needs (state, faults, tokens, log)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, opts, seed):
        super().__init__(("127.0.0.1", opts.port), Handler)
        self.opts = opts
        self.seed = seed
        self.verbose = opts.verbose
        self.port = self.server_address[1]
        self.stopping = threading.Event()
        self.recorder = Recorder()
        self.tokens_lock = threading.Lock()
        self.reset()

    def reset(self):
        """(Re)build data, faults, tokens and the log from the command line and seed."""
        opts = self.opts
        state = State(self.seed, opts.users, opts.users_org, opts.orgs, opts.now)
        faults = Faults()
        faults.update(opts.initial_faults)
        with self.tokens_lock:
            self.tokens = set(opts.token or [DEFAULT_TOKEN])
            self.refresh_tokens = set(opts.refresh_token or [DEFAULT_REFRESH_TOKEN])
        self.state, self.faults = state, faults
        self.recorder.clear()

    def token_lists(self):
        with self.tokens_lock:
            return {"tokens": sorted(self.tokens), "refresh_tokens": sorted(self.refresh_tokens)}

    def stop_async(self):
        """Stop serve_forever from any thread (signal handler, control endpoint)."""
        if not self.stopping.is_set():
            self.stopping.set()
            threading.Thread(target=self.shutdown, daemon=True).start()

    def handle_error(self, request, client_address):
        """Stay quiet about clients that went away; report anything else."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    """One instance per connection; HTTP/1.1 keep-alive, TCP_NODELAY, always Content-Length."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "astro-sandbox/1.0"
    sys_version = ""
    request_id = None

    # -- dispatch -------------------------------------------------------------------------

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def dispatch(self):
        """Entry point for every request."""
        self.request_id = str(uuid.uuid4())
        split = urllib.parse.urlsplit(self.path)
        path, query = split.path, split.query
        try:
            body = self.read_body()
        except ValueError as exc:
            self.close_connection = True
            self.send_error_json(ApiError(400, "Invalid request: %s" % exc))
            return
        if path == "/_sandbox" or path.startswith("/_sandbox/"):
            self.handle_control(path, body)
            return
        headers = {}
        for name, value in self.headers.items():
            headers[name] = headers[name] + ", " + value if name in headers else value
        entry = self.server.recorder.add(self.command, path, query, headers,
                                         body.decode("utf-8", "replace"))
        try:
            self.handle_api(path, query, body, entry)
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def read_body(self):
        """Read the request body (Content-Length or chunked); b"" if none."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise ValueError("bad chunked encoding")
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        if not length.strip().isdigit():
            raise ValueError("bad Content-Length")
        return self.rfile.read(int(length))

    # -- API and auth requests ------------------------------------------------------------

    def handle_api(self, path, query, body, entry):
        """Latency, faults, rate limit, auth, then the route.

        Records in ``entry``, before anything is written (so that a client that has its answer
        finds it in the log): the status sent (``status``, None when none is), the fault taken
        (``fault``) and, when the request was processed, the status its processing produced
        (``processed_status``, even if that answer is never sent).
        """
        srv = self.server
        faults = srv.faults
        delay = faults.delay()
        if delay:
            time.sleep(delay)
        kind = faults.take(self.command, path)
        entry["fault"] = kind
        if kind == "drop":
            self.close_connection = True
            return
        if kind == "hang":
            self.hang()
            return
        if kind == "malformed":
            entry["status"] = 200
            self.send_body(200, MALFORMED_BODY)
            return
        if kind == "answer":
            entry["status"] = 200
            self.send_body(200, faults.answer_body.encode("utf-8"))
            return
        if kind == "html":
            entry["status"] = 200
            self.send_body(200, HTML_BODY, content_type="text/html; charset=utf-8")
            return
        if kind == "fail":
            status = faults.fail_status
            retry = faults.retry_after_value(1) if status == 429 else None
            extra = [("Retry-After", retry)] if retry is not None else []
            entry["status"] = status
            message = faults.fail_message if faults.fail_message is not None else http_phrase(status)
            self.send_error_json(ApiError(status, message, headers=extra))
            return
        status, data, headers = self.process(path, query, body)
        entry["processed_status"] = status
        if kind == "drop_after":
            self.close_connection = True
            return
        if kind == "hang_after":
            self.hang()
            return
        entry["status"] = status
        if kind == "truncate":
            self.send_truncated(status, data, headers)
        else:
            self.send_body(status, data, headers)

    def process(self, path, query, body):
        """Rate limit, auth and route, without sending: returns ``(status, body bytes, headers)``."""
        faults = self.server.faults
        rate_headers = []
        try:
            if path == "/v1" or path.startswith("/v1/"):
                wait, info = faults.check_rate(self.bearer() or "", self.command)
                rate_headers = faults.rate_header_list(info)
                if wait is not None:
                    extra = list(rate_headers)
                    retry = faults.retry_after_value(wait)
                    if retry is not None:
                        extra.append(("Retry-After", retry))
                    raise ApiError(429, "Too Many Requests", headers=extra)
                self.authenticate()
                status, obj = self.route_v1(path, query, body)
            else:
                status, obj = self.route_auth(path, body)
        except ApiError as err:
            headers = err.headers if err.status == 429 else err.headers + rate_headers
            return err.status, self.error_bytes(err), headers
        except Exception as exc:  # a bug in the sandbox: answer 500 and report it on stderr
            traceback.print_exc()
            err = ApiError(500, "Internal Server Error: %s" % exc)
            return err.status, self.error_bytes(err), err.headers + rate_headers
        if isinstance(obj, Raw):
            return status, obj, rate_headers + obj.headers
        return status, dumps(obj), rate_headers

    def send_truncated(self, status, body, headers=()):
        """Status line, JSON type and the full Content-Length, then only part of the body
        (at most half of it, and always at least one byte short), then the connection is closed."""
        self.close_connection = True
        content_type = "application/json"
        if isinstance(body, Raw):
            body, content_type = body.body, body.content_type
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(max(len(body), 1)))
        self.send_header("X-Request-Id", self.request_id or str(uuid.uuid4()))
        for name, value in headers:
            self.send_header(name, value)
        self._headers_buffer.append(b"\r\n")
        self._headers_buffer.append(body[:len(body) // 2])
        self.flush_headers()
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)  # the FIN follows the partial body at once
        except OSError:
            pass

    def hang(self):
        """Never answer: hold the connection until the client leaves or the server stops."""
        self.close_connection = True
        sock = self.connection
        while not self.server.stopping.is_set():
            try:
                ready, _, _ = select.select([sock], [], [], 0.1)
                if ready and not sock.recv(65536):
                    return  # client closed
            except (OSError, ValueError):
                return

    def bearer(self):
        """The bearer token of the Authorization header, or None."""
        value = self.headers.get("Authorization", "").strip()
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return token.strip()

    def authenticate(self):
        """401 unless the bearer token is accepted and, if JWT-shaped, not expired."""
        token = self.bearer()
        if token is None:
            raise ApiError(401, "Unauthorized")
        claims = jwt_claims(token)
        if claims is not None:
            exp = claims.get("exp")
            if isinstance(exp, (int, float)) and not isinstance(exp, bool) and exp < time.time():
                raise ApiError(401, "Unauthorized: token is expired")
        if self.server.opts.accept_any_token:
            return token
        with self.server.tokens_lock:
            if token not in self.server.tokens:
                raise ApiError(401, "Unauthorized")
        return token

    def route_v1(self, path, query_string, body):
        """Match an API v1 route; return ``(status, object)`` or raise ApiError."""
        state = self.server.state
        faults = self.server.faults
        query = urllib.parse.parse_qs(query_string, keep_blank_values=True)
        parts = [urllib.parse.unquote(p) for p in path.split("/")[2:]]
        method = self.command
        n = len(parts)

        if n >= 1 and parts[0] == "organizations" and all(parts):
            if n == 1:
                allow(method, "GET")
                limit, offset = self.page_params(query)
                page, total = state.list_orgs(limit, offset, parse_sorts(query, "organizations"))
                return 200, {"limit": limit, "offset": offset, "organizations": page,
                             "totalCount": faults.claimed_total(total)}
            org_id = parts[1]
            if n == 2:
                allow(method, "GET")
                with state.lock:
                    return 200, state.org(org_id)
            if n == 3 and parts[2] == "users":
                allow(method, "GET")
                state.org(org_id)
                limit, offset = self.page_params(query)
                sorts = parse_sorts(query, "users")
                grow = faults.take_growth()
                if grow:
                    state.grow_users(org_id, grow)
                page, total = state.list_users(org_id, limit, offset, sorts)
                return 200, {"limit": limit, "offset": offset,
                             "totalCount": faults.claimed_total(total), "users": page}
            if n == 4 and parts[2] == "users":
                allow(method, "GET")
                return 200, state.get_user(org_id, parts[3])
            if n == 5 and parts[2] == "users" and parts[4] == "roles":
                allow(method, "POST")
                state.get_user(org_id, parts[3])
                return 200, state.update_roles(org_id, parts[3], validate_roles(parse_json(body)))
            if n == 3 and parts[2] == "invites":
                allow(method, "POST")
                state.org(org_id)
                email, role = validate_invite(parse_json(body))
                return 200, state.invite(org_id, email, role)
            if n == 3 and parts[2] == "workspaces":
                allow(method, "GET")
                state.org(org_id)
                limit, offset = self.page_params(query)
                sorts = parse_sorts(query, "workspaces")
                page, total = state.list_workspaces(org_id, limit, offset, sorts)
                return 200, {"limit": limit, "offset": offset,
                             "totalCount": faults.claimed_total(total), "workspaces": page}
            if n == 4 and parts[2] == "workspaces":
                allow(method, "GET")
                return 200, state.get_workspace(org_id, parts[3])
        if parts == ["users", "self"]:
            allow(method, "GET")
            with state.lock:
                return 200, state.self_user
        for ext in EXTENSIONS:
            answer = ext.route(self, state, method, parts, query, body)
            if answer is not None:
                return answer
        raise ApiError(404, "Not Found")

    def page_params(self, query):
        """``(limit, offset)`` of a list request, the limit capped by ``max_page_size``."""
        limit, offset = parse_page(query)
        return self.server.faults.page_limit(limit), offset

    def route_auth(self, path, body):
        """Auth endpoints outside /v1 (auth-config, oauth/token, userinfo)."""
        srv = self.server
        if path == "/private/v1alpha1/cli/auth-config":
            allow(self.command, "GET")
            return 200, {"clientId": CLIENT_ID, "audience": AUDIENCE,
                         "domainUrl": srv.faults.auth_domain_url or "http://127.0.0.1:%d/" % srv.port}
        if path == "/oauth/token":
            allow(self.command, "POST")
            if srv.faults.token_answer is not None:
                return 200, copy.deepcopy(srv.faults.token_answer)
            return self.oauth_token(body)
        if path == "/userinfo":
            allow(self.command, "GET")
            self.authenticate()
            u = srv.state.self_user
            return 200, {"sub": u.get("id", ""), "email": u.get("username", ""),
                         "name": u.get("fullName", ""), "picture": u.get("avatarUrl", "")}
        raise ApiError(404, "Not Found")

    def oauth_token(self, body):
        """Refresh-token grant: mint a new accepted JWT-shaped access token."""
        srv = self.server
        ctype = self.headers.get("Content-Type", "")
        text = body.decode("utf-8", "replace")
        if "json" in ctype:
            try:
                form = json.loads(text)
            except ValueError:
                form = None
            if not isinstance(form, dict):
                return 400, {"error": "invalid_request", "error_description": "Malformed body."}
            form = {k: str(v) for k, v in form.items()}
        else:
            form = {k: v[0] for k, v in urllib.parse.parse_qs(text, keep_blank_values=True).items()}
        if form.get("client_id") != CLIENT_ID:
            return 401, {"error": "invalid_client", "error_description": "Unknown client."}
        if form.get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type",
                         "error_description": "Grant type '%s' not allowed for the client."
                         % form.get("grant_type", "")}
        with srv.tokens_lock:
            known = form.get("refresh_token") in srv.refresh_tokens
        if not known:
            return 403, {"error": "invalid_grant",
                         "error_description": "Unknown or invalid refresh token."}
        now = int(time.time())
        ttl = srv.opts.access_token_ttl
        user = srv.state.self_user
        access = make_jwt({"iss": "http://127.0.0.1:%d/" % srv.port, "sub": user.get("id", ""),
                           "aud": AUDIENCE, "iat": now, "exp": now + ttl,
                           "jti": uuid.uuid4().hex})
        id_token = make_jwt({"iss": "http://127.0.0.1:%d/" % srv.port, "sub": user.get("id", ""),
                             "aud": CLIENT_ID, "iat": now, "exp": now + ttl,
                             "email": user.get("username", ""), "name": user.get("fullName", "")})
        with srv.tokens_lock:
            srv.tokens.add(access)
        return 200, {"access_token": access, "id_token": id_token,
                     "scope": "openid profile email offline_access",
                     "expires_in": ttl, "token_type": "Bearer"}

    # -- control endpoints ----------------------------------------------------------------

    def handle_control(self, path, body):
        """``/_sandbox/*``: not recorded, no auth, no faults."""
        srv = self.server
        route = (self.command, path[len("/_sandbox"):])
        try:
            if route == ("GET", "/requests"):
                self.send_body(200, srv.recorder.dump())
                return
            if route == ("POST", "/reset-requests"):
                srv.recorder.clear()
                obj = {"ok": True}
            elif route == ("GET", "/faults"):
                obj = srv.faults.settings()
            elif route == ("POST", "/faults"):
                try:
                    obj = srv.faults.update(parse_json(body))
                except ValueError as exc:
                    raise ApiError(400, str(exc))
            elif route == ("GET", "/tokens"):
                obj = srv.token_lists()
            elif route == ("POST", "/tokens"):
                obj = self.control_tokens(parse_json(body))
            elif route == ("GET", "/state"):
                obj = srv.state.snapshot()
                obj.update(srv.token_lists())
            elif route == ("POST", "/reset"):
                srv.reset()
                obj = {"ok": True}
            elif route == ("POST", "/seed"):
                doc = parse_json(body)
                if not isinstance(doc, dict):
                    raise ApiError(400, "seed must be a JSON object")
                try:
                    state = State(doc, now=srv.opts.now)
                except (ValueError, TypeError, KeyError, AttributeError) as exc:
                    raise ApiError(400, "bad seed: %s" % exc)
                srv.state = state
                obj = {"ok": True, "organizations": len(state.orgs)}
            elif route == ("GET", "/health"):
                obj = {"ok": True, "port": srv.port}
            elif route == ("POST", "/shutdown"):
                self.close_connection = True
                self.send_body(200, dumps({"ok": True}))
                srv.stop_async()
                return
            else:
                raise ApiError(404, "Not Found")
        except ApiError as err:
            self.send_error_json(err)
            return
        self.send_body(200, dumps(obj))

    def control_tokens(self, doc):
        """Add/revoke access or refresh tokens: keys token, refresh_token, revoke_token, revoke_refresh_token."""
        srv = self.server
        keys = ("token", "refresh_token", "revoke_token", "revoke_refresh_token")
        if not isinstance(doc, dict) or not doc or any(
                k not in keys or not isinstance(v, str) or not v for k, v in doc.items()):
            raise ApiError(400, "tokens: body must be an object with non-empty string values for "
                                "any of: " + ", ".join(keys))
        with srv.tokens_lock:
            if "token" in doc:
                srv.tokens.add(doc["token"])
            if "refresh_token" in doc:
                srv.refresh_tokens.add(doc["refresh_token"])
            if "revoke_token" in doc:
                srv.tokens.discard(doc["revoke_token"])
            if "revoke_refresh_token" in doc:
                srv.refresh_tokens.discard(doc["revoke_refresh_token"])
        return srv.token_lists()

    # -- response writing -----------------------------------------------------------------

    def send_body(self, status, body, headers=(), content_type="application/json"):
        """Write one complete response (single write): JSON type (or a Raw body's own),
        Content-Length, X-Request-Id."""
        if isinstance(body, Raw):
            body, content_type = body.body, body.content_type
        if status in (204, 304):  # no body allowed (a --fail-status 204 "success" without data)
            body = b""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if status not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Request-Id", self.request_id or str(uuid.uuid4()))
        echoed = getattr(self, "headers", None) and self.headers.get("Authorization")
        if self.server.faults.echo_token and echoed:
            self.send_header("X-Echo-Authorization", echoed)
        for name, value in headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self._headers_buffer.append(b"\r\n")
        if getattr(self, "command", None) != "HEAD":
            self._headers_buffer.append(body)
        self.flush_headers()

    def error_bytes(self, err):
        """The body of an ApiError in the Error shape (``requestId`` = this answer's X-Request-Id)."""
        if self.request_id is None:
            self.request_id = str(uuid.uuid4())
        message = err.message
        if self.server.faults.echo_token:
            message += " (token: %s)" % self.headers.get("Authorization", "")
        obj = {"message": message, "requestId": self.request_id, "statusCode": err.status}
        if err.field_errors:
            obj["fieldErrors"] = err.field_errors
        return dumps(obj)

    def send_error_json(self, err):
        """Send an ApiError in the Error shape; return its status."""
        self.send_body(err.status, self.error_bytes(err), err.headers)
        return err.status

    def send_error(self, code, message=None, explain=None):
        """Protocol-level errors of BaseHTTPRequestHandler (bad request line, 501…) as JSON."""
        self.close_connection = True
        self.request_id = str(uuid.uuid4())
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = "HTTP/1.0"  # unparseable request line: still answer with headers
        self.send_error_json(ApiError(code, message or http_phrase(code)))

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("sandbox: %s %s\n" % (self.address_string(), fmt % args))


def http_phrase(status):
    """Reason phrase of an HTTP status (``Service Unavailable`` …)."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


# --------------------------------------------------------------------------------------------
# Request validation
# --------------------------------------------------------------------------------------------

def parse_json(body):
    """Decode a JSON request body or raise 400 ``Invalid request: malformed JSON``."""
    try:
        return json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "Invalid request: malformed JSON")


def check_object(doc, known):
    """Field errors for a body that is not an object or has keys outside ``known``."""
    if not isinstance(doc, dict):
        raise validation_error([("type", "body", "request body must be a JSON object")])
    return [("unknown", k, "%s is not a known field" % k) for k in doc if k not in known]


def check_role(doc, field, errors):
    """Append a field error unless ``doc[field]`` is one of the organization roles."""
    if field not in doc:
        errors.append(("required", field, "%s is required" % field))
    elif doc[field] not in ORG_ROLES:
        errors.append(("oneof", field, "%s must be one of %s" % (field, ROLE_ONEOF)))


def validate_invite(doc):
    """CreateUserInviteRequest: exactly ``inviteeEmail`` + ``role``. Returns (email, role)."""
    errors = check_object(doc, ("inviteeEmail", "role"))
    email = doc.get("inviteeEmail")
    if "inviteeEmail" not in doc:
        errors.append(("required", "inviteeEmail", "inviteeEmail is required"))
    elif not isinstance(email, str) or not EMAIL_RE.fullmatch(email):
        errors.append(("email", "inviteeEmail", "inviteeEmail must be a valid email address"))
    check_role(doc, "role", errors)
    if errors:
        raise validation_error(errors)
    return email, doc["role"]


def validate_roles(doc):
    """UpdateUserRolesRequest: ``organizationRole`` required; role lists must be arrays of objects."""
    lists = ("workspaceRoles", "deploymentRoles", "dagRoles")
    errors = check_object(doc, ("organizationRole",) + lists)
    check_role(doc, "organizationRole", errors)
    for key in lists:
        if key in doc and not (isinstance(doc[key], list)
                               and all(isinstance(x, dict) for x in doc[key])):
            errors.append(("type", key, "%s must be an array of objects" % key))
    if errors:
        raise validation_error(errors)
    return doc


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------

def yaml_scalar(value):
    """A YAML scalar: plain when unambiguous, else a JSON-style double-quoted string."""
    plain = re.fullmatch(r"[A-Za-z_./@+-][A-Za-z0-9_./@+:= -]*", value)  # digits first: quote (timestamps)
    if (plain and not value.endswith((" ", ":")) and ": " not in value
            and value.lower() not in ("true", "false", "yes", "no", "on", "off", "null", "~")
            and not re.fullmatch(r"[-+]?[0-9._]+([eE][-+]?[0-9]+)?", value)):
        return value
    return json.dumps(value)


def write_config(directory, server):
    """Write ``<directory>/.astro/config.yaml`` with a current ``localhost`` context."""
    opts, state = server.opts, server.state
    first_org = state.orgs[0] if state.orgs else {}
    values = [
        ("domain", "localhost"),
        ("expiresin", "2099-01-01T00:00:00Z"),
        ("last_used_workspace", ""),
        ("organization", first_org.get("id", "")),
        ("organization_product", first_org.get("product") or "HYBRID"),
        ("refreshtoken", (opts.refresh_token or [DEFAULT_REFRESH_TOKEN])[0]),
        ("token", "Bearer " + (opts.token or [DEFAULT_TOKEN])[0]),
        ("user_email", state.self_user.get("username", "")),
        ("workspace", ""),
    ]
    lines = ["# Written by spec/support/sandbox.py --write-config (sandbox on port %d)." % server.port,
             "context: localhost", "contexts:", "  localhost:"]
    lines += ["    %s: %s" % (k, yaml_scalar(v)) for k, v in values]
    lines += ["local:", "  core: http://127.0.0.1:%d" % server.port, "  platform: cloud",
              "telemetry:", '  enabled: "false"', 'upgrade_message: "false"', "verbosity: warning", ""]
    astro = os.path.join(directory, ".astro")
    os.makedirs(astro, mode=0o700, exist_ok=True)
    os.chmod(astro, 0o700)
    write_atomic(os.path.join(astro, "config.yaml"), "\n".join(lines), 0o600)


def write_atomic(path, text, mode=0o644):
    """Write ``text`` to ``path`` via a temporary file in the same directory and rename."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def parse_rate_limits(text):
    """``GET=25,POST=10`` → ``{"GET": 25, "POST": 10}``."""
    limits = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        method, sep, value = item.partition("=")
        try:
            rate = float(value)
        except ValueError:
            rate = 0
        if not sep or not method.strip() or rate <= 0:
            raise argparse.ArgumentTypeError("expected METHOD=N[,METHOD=N…], got %r" % item)
        limits[method.strip().upper()] = int(rate) if rate == int(rate) else rate
    return limits


def parse_rate_schedule(text):
    """``0:POST=10;5:POST=5`` → ``[[0, {"POST": 10}], [5, {"POST": 5}]]`` (increasing seconds)."""
    schedule = []
    for item in filter(None, (s.strip() for s in text.split(";"))):
        at, sep, limits = item.partition(":")
        try:
            seconds = float(at)
        except ValueError:
            seconds = -1
        if not sep or not math.isfinite(seconds) or seconds < 0 or (schedule and seconds <= schedule[-1][0]):
            raise argparse.ArgumentTypeError(
                "expected SECONDS:METHOD=N[,METHOD=N…][;SECONDS:…] with increasing seconds, got %r" % item)
        schedule.append([int(seconds) if seconds == int(seconds) else seconds, parse_rate_limits(limits)])
    return schedule


def parse_methods(text):
    return [m.strip().upper() for m in text.split(",") if m.strip()]


def non_negative(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def build_parser():
    p = argparse.ArgumentParser(
        prog="sandbox.py",
        description="Local stateful fake of the Astro API v1 subset used by `astro organization`.")
    p.add_argument("--port", type=non_negative, default=0, help="port on 127.0.0.1 (0 = any free port)")
    p.add_argument("--port-file", metavar="PATH", help="also write the bound port number to PATH")
    p.add_argument("--seed", metavar="FILE", default=DEFAULT_SEED, help="seed data (JSON)")
    p.add_argument("--users", type=non_negative, default=0, metavar="N",
                   help="add N generated users to the first (or --users-org) organization")
    p.add_argument("--users-org", metavar="ID", help="organization that receives --users")
    p.add_argument("--orgs", type=non_negative, default=0, metavar="N", help="add N generated organizations")
    p.add_argument("--token", action="append", metavar="TOKEN",
                   help="accepted bearer token (repeatable; default test-token)")
    p.add_argument("--accept-any-token", action="store_true",
                   help="accept any non-empty bearer token (expired JWTs are still refused)")
    p.add_argument("--refresh-token", action="append", metavar="TOKEN",
                   help="accepted refresh token (repeatable; default sandbox-refresh-token)")
    p.add_argument("--access-token-ttl", type=non_negative, default=86400, metavar="SECONDS",
                   help="expires_in of access tokens minted by /oauth/token (default 86400)")
    p.add_argument("--now", type=parse_iso, metavar="YYYY-MM-DDTHH:MM:SSZ",
                   help="freeze the clock used for createdAt/updatedAt/expiresAt of new data")
    p.add_argument("--write-config", metavar="DIR", help="write DIR/.astro/config.yaml for this server")
    p.add_argument("--latency-ms", type=non_negative, default=0, metavar="N", help="delay every API/auth request")
    p.add_argument("--rate-limit", type=parse_rate_limits, default={}, metavar="GET=25,POST=10",
                   help="per-token, per-method requests per second (429 beyond); ALL=N is one "
                        "more limit counted over every request whatever its method")
    p.add_argument("--rate-window", choices=Faults.WINDOWS, default="bucket",
                   help="how a limit of N/s is counted: bucket (token bucket, capacity N, refilled "
                        "N/s; default), sliding (at most N in any 1 s window), fixed (at most N per "
                        "whole second from when the limits were set)")
    p.add_argument("--rate-schedule", type=parse_rate_schedule, default=[],
                   metavar="'0:POST=10;5:POST=5;15:POST=10'",
                   help="limits in force from that many seconds after the first rate-checked "
                        "request, each entry replacing --rate-limit wholesale")
    p.add_argument("--rate-headers", choices=Faults.HEADER_FAMILIES, default="none",
                   help="rate-limit headers on every rate-checked /v1 answer: ietf (RateLimit-*, "
                        "reset as delta seconds), x (X-RateLimit-*, reset as epoch seconds), none")
    p.add_argument("--no-retry-after", action="store_true", help="send 429 without Retry-After")
    p.add_argument("--retry-after", type=non_negative, default=None, metavar="SECONDS",
                   help="every 429 says Retry-After: SECONDS instead of the computed value")
    p.add_argument("--jitter-ms", type=non_negative, default=0, metavar="N",
                   help="add a uniform random delay in [0, N] ms to every API/auth request")
    p.add_argument("--random-seed", type=int, default=1, metavar="N",
                   help="seed of the --jitter-ms random numbers (default 1: repeatable runs)")
    p.add_argument("--max-page-size", type=non_negative, default=0, metavar="N",
                   help="answer at most N items per list page whatever the limit asked (0 = off)")
    p.add_argument("--total-count-claim", type=non_negative, default=None, metavar="N",
                   help="every list page reports totalCount N (pages past the real end are empty)")
    p.add_argument("--grow-per-page", type=non_negative, default=0, metavar="N",
                   help="add N generated users at the end of the user list before each page of it")
    p.add_argument("--grow-limit", type=non_negative, default=0, metavar="N",
                   help="stop --grow-per-page after N users added in all (0 = no cap)")
    p.add_argument("--fail-first", type=non_negative, default=0, metavar="N",
                   help="answer the first N matching requests with --fail-status")
    p.add_argument("--fail-status", type=int, default=503, metavar="S", help="status for --fail-first (503)")
    p.add_argument("--drop-first", type=non_negative, default=0, metavar="N",
                   help="close the connection without answering the first N matching requests")
    p.add_argument("--malformed-first", type=non_negative, default=0, metavar="N",
                   help="answer 200 with truncated JSON to the first N matching requests")
    p.add_argument("--hang-first", type=non_negative, default=0, metavar="N",
                   help="never answer the first N matching requests")
    p.add_argument("--drop-after-first", type=non_negative, default=0, metavar="N",
                   help="process the first N matching requests, then close the connection without answering")
    p.add_argument("--truncate-first", type=non_negative, default=0, metavar="N",
                   help="process the first N matching requests, then send only part of the answer's body")
    p.add_argument("--html-first", type=non_negative, default=0, metavar="N",
                   help="answer 200 with an HTML page (text/html) to the first N matching requests")
    p.add_argument("--hang-after-first", type=non_negative, default=0, metavar="N",
                   help="process the first N matching requests, then never answer")
    p.add_argument("--fault-methods", type=parse_methods, default=[], metavar="GET,POST",
                   help="counted faults apply only to these methods (default all)")
    p.add_argument("--fault-path-prefix", default="/v1", metavar="PREFIX",
                   help="counted faults apply only to paths with this prefix (default /v1)")
    p.add_argument("--verbose", action="store_true", help="log each request to stderr")
    return p


def main(argv=None):
    """Parse options, load the seed, bind, announce the URL, serve until told to stop."""
    def exit_early(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, exit_early)  # until the server is up (e.g. while generating)
    signal.signal(signal.SIGINT, exit_early)
    parser = build_parser()
    opts = parser.parse_args(argv)
    if not 200 <= opts.fail_status <= 599:
        parser.error("--fail-status must be an HTTP status (200-599)")
    opts.initial_faults = {
        "latency_ms": opts.latency_ms, "rate_limits": opts.rate_limit,
        "retry_after": not opts.no_retry_after, "fail_next": opts.fail_first,
        "fail_status": opts.fail_status, "drop_next": opts.drop_first,
        "malformed_next": opts.malformed_first, "hang_next": opts.hang_first,
        "drop_after_next": opts.drop_after_first, "truncate_next": opts.truncate_first,
        "html_next": opts.html_first, "hang_after_next": opts.hang_after_first,
        "fault_methods": opts.fault_methods, "fault_path_prefix": opts.fault_path_prefix,
        "rate_window": opts.rate_window, "rate_schedule": opts.rate_schedule,
        "rate_headers": opts.rate_headers, "retry_after_seconds": opts.retry_after,
        "jitter_ms": opts.jitter_ms, "random_seed": opts.random_seed,
        "max_page_size": opts.max_page_size, "total_count_claim": opts.total_count_claim,
        "grow_per_page": opts.grow_per_page, "grow_limit": opts.grow_limit,
    }
    try:
        with open(opts.seed, encoding="utf-8") as fh:
            seed = json.load(fh)
        server = Sandbox(opts, seed)
    except (OSError, ValueError) as exc:
        sys.stderr.write("sandbox: %s\n" % exc)
        return 2
    if opts.write_config:
        write_config(opts.write_config, server)
    if opts.port_file:
        write_atomic(opts.port_file, "%d\n" % server.port)

    def on_signal(signum, frame):
        server.stop_async()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sys.stdout.write("http://127.0.0.1:%d\n" % server.port)
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.02)
    finally:
        server.stopping.set()  # releases hung requests
        server.server_close()
    return 0


load_extensions()

if __name__ == "__main__":
    sys.exit(main())
