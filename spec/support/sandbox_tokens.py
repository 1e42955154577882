"""Sandbox extension: API tokens (``/v1/organizations/{org}/tokens...``).

Data: ``state.ext["tokens"]`` = {organization id: [ApiToken dict, ...]} in creation order,
from the seed's ``api_tokens`` key (same shape), or for the demo seed's organizations a demo set:
organization-scoped tokens (two of them named ``Deploy Token``, for the duplicates menu) and
a workspace-scoped one. The stored dicts never hold a token value: ``token`` appears only in
the answers of create and rotate, once, and the values minted are not accepted as bearer
tokens by the sandbox (they are API tokens of the fake organization, not of the sandbox).

Routes (see docs/sandbox.md, "Extensions"):

* ``GET    /organizations/{org}/tokens``            paged (``limit``/``offset``, ``max_page_size``),
  ``includeOnlyOrganizationTokens=true|false``
* ``POST   /organizations/{org}/tokens``            CreateApiTokenRequest -> ApiToken with ``token``
* ``GET    /organizations/{org}/tokens/{id}``       ApiToken
* ``POST   /organizations/{org}/tokens/{id}``       UpdateApiTokenRequest -> ApiToken
* ``POST   /organizations/{org}/tokens/{id}/roles`` UpdateApiTokenRolesRequest -> SubjectRoles
* ``POST   /organizations/{org}/tokens/{id}/rotate`` no body -> ApiToken with a new ``token``
* ``DELETE /organizations/{org}/tokens/{id}``       204
"""

import copy
import secrets as _secrets

import sandbox

NAME = "tokens"

ACME = "clt0acme000010bhys38c6ryb"
GLOBEX = "clu7glbx000020j7zc6npf32j"
ANALYTICS = "clwanly000010uxapiyuxv50n"

JANE = {"id": "clrjane00000109s3nj4egnyn", "subjectType": "USER", "username": "jane.doe@acme.io",
        "fullName": "Jane Doe", "avatarUrl": "https://avatars.example.com/jane.png"}
BOOTSTRAP = {"id": "clotokbs00030uzvcp0hnun86", "subjectType": "SERVICEKEY", "apiTokenName": "bootstrap-token"}

SCOPES = ("ORGANIZATION", "WORKSPACE", "DEPLOYMENT")
ENTITY_TYPES = ("ORGANIZATION", "WORKSPACE", "DEPLOYMENT", "DAG", "DAG_TAG")
WORKSPACE_ROLES = ("WORKSPACE_OWNER", "WORKSPACE_OPERATOR", "WORKSPACE_AUTHOR", "WORKSPACE_MEMBER",
                   "WORKSPACE_ACCESSOR")
MAX_EXPIRY_DAYS = 3650
MAX_NAME = 256
MAX_DESCRIPTION = 500


def _token(tid, name, description, roles, created, by, scope="ORGANIZATION", expiry=None, short="Q2m9"):
    tok = {"createdAt": created, "createdBy": by, "description": description, "id": tid,
           "kind": "STANDARD", "name": name, "roles": roles, "scope": scope, "shortToken": short,
           "startAt": created, "updatedAt": created, "updatedBy": by}
    if expiry:
        tok["expiryPeriodInDays"] = expiry
    return tok


def _org_role(org, role):
    return {"entityId": org, "entityType": "ORGANIZATION", "role": role}


def _demo(state):
    """Demo tokens for the demo seed's organizations that exist in this state."""
    data = {}
    if ACME in state.org_by_id:
        data[ACME] = [
            _token("clotokci00010r7u4hqw74ajw", "CI/CD Token", "GitHub Actions deploys",
                   [_org_role(ACME, "ORGANIZATION_MEMBER"),
                    {"entityId": ANALYTICS, "entityType": "WORKSPACE", "role": "WORKSPACE_AUTHOR"}],
                   "2026-08-01T10:00:00Z", JANE, expiry=365, short="7Yq3"),
            _token("clotokdp000200qimtjo8rnbo", "Deploy Token", "", [_org_role(ACME, "ORGANIZATION_OWNER")],
                   "2025-11-15T08:00:00Z", BOOTSTRAP),
            _token("clotokd2000300x8w1nq5v3rk", "Deploy Token", "Staging deploys",
                   [_org_role(ACME, "ORGANIZATION_MEMBER")], "2026-01-10T09:30:00Z", JANE, expiry=90, short="k3Vx"),
            _token("clotokws000400m3k7v2p9qzd", "Analytics CI", "Workspace token",
                   [{"entityId": ANALYTICS, "entityType": "WORKSPACE", "role": "WORKSPACE_OPERATOR"}],
                   "2026-03-02T12:00:00Z", JANE, scope="WORKSPACE", short="Wz81"),
        ]
        data[ACME][0]["endAt"] = "2027-08-01T10:00:00Z"
        data[ACME][0]["lastUsedAt"] = "2026-08-12T22:10:00Z"
        data[ACME][2]["endAt"] = "2026-04-10T09:30:00Z"
    if GLOBEX in state.org_by_id:
        data[GLOBEX] = [
            _token("clotokgx000500a1b2c3d4e5f", "Globex Ops", "Operations automation",
                   [_org_role(GLOBEX, "ORGANIZATION_MEMBER")], "2026-02-20T16:45:00Z", JANE, short="Gx55"),
        ]
    return data


def load(state, seed):
    """Tokens from the seed's ``api_tokens`` key, else the demo set (only for known organizations)."""
    if "api_tokens" in seed:
        data = {}
        for org_id, tokens in (seed.get("api_tokens") or {}).items():
            if org_id not in state.org_by_id:
                raise ValueError("seed: api_tokens for unknown organization %s" % org_id)
            for tok in tokens:
                if not isinstance(tok, dict) or not tok.get("id") or "name" not in tok:
                    raise ValueError("seed: every token needs an id and a name")
            data[org_id] = [{k: v for k, v in copy.deepcopy(t).items() if k != "token"} for t in tokens]
    else:
        data = _demo(state)
    state.ext[NAME] = data


def snapshot(state):
    """The tokens in seed format (never a token value); called under state.lock."""
    return {"api_tokens": copy.deepcopy(state.ext[NAME])}


# -- validation ---------------------------------------------------------------------------

def _check_text(doc, field, errors, required, limit):
    if field not in doc:
        if required:
            errors.append(("required", field, "%s is required" % field))
        return
    value = doc[field]
    if not isinstance(value, str):
        errors.append(("type", field, "%s must be a string" % field))
    elif required and not value.strip():
        errors.append(("required", field, "%s must not be empty" % field))
    elif len(value) > limit:
        errors.append(("max", field, "%s must be at most %d characters" % (field, limit)))


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def validate_create(doc):
    """CreateApiTokenRequest (only organization-scoped tokens may be made here)."""
    errors = sandbox.check_object(doc, ("description", "entityId", "kind", "name", "role", "scope",
                                        "tokenExpiryPeriodInDays"))
    _check_text(doc, "name", errors, True, MAX_NAME)
    _check_text(doc, "description", errors, False, MAX_DESCRIPTION)
    scope = doc.get("scope")
    if "scope" not in doc:
        errors.append(("required", "scope", "scope is required"))
    elif scope not in SCOPES:
        errors.append(("oneof", "scope", "scope must be one of ORGANIZATION WORKSPACE DEPLOYMENT"))
    elif scope != "ORGANIZATION":
        errors.append(("oneof", "scope", "only ORGANIZATION tokens can be created in this sandbox"))
    sandbox.check_role(doc, "role", errors)
    if "kind" in doc and doc["kind"] not in ("STANDARD", "DIRECT_ACCESS"):
        errors.append(("oneof", "kind", "kind must be one of STANDARD DIRECT_ACCESS"))
    if "tokenExpiryPeriodInDays" in doc:
        days = doc["tokenExpiryPeriodInDays"]
        if not _is_int(days) or not 1 <= days <= MAX_EXPIRY_DAYS:
            errors.append(("range", "tokenExpiryPeriodInDays",
                           "tokenExpiryPeriodInDays must be an integer between 1 and %d" % MAX_EXPIRY_DAYS))
    if errors:
        raise sandbox.validation_error(errors)
    return doc


def validate_update(doc):
    """UpdateApiTokenRequest: ``name`` required, ``description`` optional."""
    errors = sandbox.check_object(doc, ("description", "name"))
    _check_text(doc, "name", errors, True, MAX_NAME)
    _check_text(doc, "description", errors, False, MAX_DESCRIPTION)
    if errors:
        raise sandbox.validation_error(errors)
    return doc


def validate_roles(doc, org_id, token):
    """UpdateApiTokenRolesRequest: a full list of ApiTokenRole; an organization token needs
    exactly one ORGANIZATION entry, for its own organization, with an organization role."""
    errors = sandbox.check_object(doc, ("roles",))
    roles = doc.get("roles")
    if "roles" not in doc:
        errors.append(("required", "roles", "roles is required"))
    elif not isinstance(roles, list) or not all(isinstance(r, dict) for r in roles):
        errors.append(("type", "roles", "roles must be an array of objects"))
    else:
        orgs = 0
        for i, r in enumerate(roles):
            where = "roles[%d]" % i
            for k in r:
                if k not in ("deploymentId", "entityId", "entityType", "role"):
                    errors.append(("unknown", where + "." + k, "%s is not a known field" % k))
            for k in ("entityId", "entityType", "role"):
                if not isinstance(r.get(k), str) or not r.get(k):
                    errors.append(("required", where + "." + k, "%s is required" % k))
            etype = r.get("entityType")
            if isinstance(etype, str) and etype and etype not in ENTITY_TYPES:
                errors.append(("oneof", where + ".entityType",
                               "entityType must be one of " + " ".join(ENTITY_TYPES)))
            if etype == "ORGANIZATION":
                orgs += 1
                if r.get("entityId") != org_id:
                    errors.append(("invalid", where + ".entityId", "entityId must be the token's organization"))
                if r.get("role") not in sandbox.ORG_ROLES:
                    errors.append(("oneof", where + ".role", "role must be an organization role"))
            if etype == "WORKSPACE" and r.get("role") not in WORKSPACE_ROLES:
                errors.append(("oneof", where + ".role", "role must be a workspace role"))
        if token.get("scope") == "ORGANIZATION" and orgs != 1:
            errors.append(("invalid", "roles", "an organization token needs exactly one ORGANIZATION role"))
    if errors:
        raise sandbox.validation_error(errors)
    return roles


# -- state --------------------------------------------------------------------------------

def _tokens(state, org_id):
    state.org(org_id)
    return state.ext[NAME].setdefault(org_id, [])


def _find(state, org_id, token_id):
    for i, tok in enumerate(_tokens(state, org_id)):
        if tok.get("id") == token_id:
            return i, tok
    raise sandbox.ApiError(404, "API token not found")


def _mint(state, org_id, token_id):
    """A new JWT-shaped token value (random, never stored)."""
    return sandbox.make_jwt({"apiTokenId": token_id, "organizationId": org_id,
                             "nonce": _secrets.token_hex(12), "iat": int(state.now())})


def _subject_roles(roles):
    out = {}
    for r in roles:
        if r.get("entityType") == "ORGANIZATION":
            out["organizationRole"] = r.get("role")
        elif r.get("entityType") == "WORKSPACE":
            out.setdefault("workspaceRoles", []).append({"role": r.get("role"), "workspaceId": r.get("entityId")})
        elif r.get("entityType") == "DEPLOYMENT":
            out.setdefault("deploymentRoles", []).append({"deploymentId": r.get("entityId"), "role": r.get("role")})
    return out


def route(handler, state, method, parts, query, body):
    """The token routes; None for any other path."""
    n = len(parts)
    if n < 3 or parts[0] != "organizations" or parts[2] != "tokens" or not all(parts):
        return None
    org_id = parts[1]

    if n == 3:
        sandbox.allow(method, "GET", "POST")
        if method == "GET":
            only = (query.get("includeOnlyOrganizationTokens") or ["false"])[0]
            if only not in ("true", "false"):
                raise sandbox.validation_error([("boolean", "includeOnlyOrganizationTokens",
                                                 "includeOnlyOrganizationTokens must be true or false")])
            limit, offset = handler.page_params(query)
            with state.lock:
                items = _tokens(state, org_id)
                if only == "true":
                    items = [t for t in items if t.get("scope") == "ORGANIZATION"]
                page, total = items[offset:offset + limit], len(items)
            return 200, {"limit": limit, "offset": offset, "tokens": page,
                         "totalCount": handler.server.faults.claimed_total(total)}
        doc = validate_create(sandbox.parse_json(body))
        with state.lock:
            tokens = _tokens(state, org_id)
            stamp = sandbox.iso(state.now())
            tid = state.next_id("tk")
            tok = {"createdAt": stamp, "createdBy": state.self_profile(), "description": doc.get("description", ""),
                   "id": tid, "kind": doc.get("kind", "STANDARD"), "name": doc["name"],
                   "roles": [_org_role(org_id, doc["role"])], "scope": "ORGANIZATION",
                   "shortToken": tid[-4:], "startAt": stamp, "updatedAt": stamp,
                   "updatedBy": state.self_profile()}
            days = doc.get("tokenExpiryPeriodInDays")
            if days:
                tok["expiryPeriodInDays"] = days
                tok["endAt"] = sandbox.iso(state.now() + days * 86400)
            tokens.append(tok)
            answer = copy.deepcopy(tok)
        answer["token"] = _mint(state, org_id, tid)
        return 200, answer
    token_id = parts[3]
    if n == 4:
        sandbox.allow(method, "GET", "POST", "DELETE")
        with state.lock:
            i, tok = _find(state, org_id, token_id)
            if method == "GET":
                return 200, copy.deepcopy(tok)
            if method == "DELETE":
                del state.ext[NAME][org_id][i]
                return 204, sandbox.Raw(b"", "application/json")
        doc = validate_update(sandbox.parse_json(body))
        with state.lock:
            i, tok = _find(state, org_id, token_id)
            tok = copy.deepcopy(tok)
            tok["name"] = doc["name"]
            if "description" in doc:
                tok["description"] = doc["description"]
            tok["updatedAt"] = sandbox.iso(state.now())
            tok["updatedBy"] = state.self_profile()
            state.ext[NAME][org_id][i] = tok
            return 200, copy.deepcopy(tok)
    if n == 5 and parts[4] == "roles":
        sandbox.allow(method, "POST")
        doc = sandbox.parse_json(body)
        with state.lock:
            i, tok = _find(state, org_id, token_id)
            roles = validate_roles(doc, org_id, tok)
            tok = copy.deepcopy(tok)
            tok["roles"] = copy.deepcopy(roles)
            tok["updatedAt"] = sandbox.iso(state.now())
            state.ext[NAME][org_id][i] = tok
            return 200, _subject_roles(roles)
    if n == 5 and parts[4] == "rotate":
        sandbox.allow(method, "POST")
        if body and body.strip() not in (b"", b"{}"):
            raise sandbox.validation_error([("body", "body", "rotate takes no request body")])
        with state.lock:
            i, tok = _find(state, org_id, token_id)
            tok = copy.deepcopy(tok)
            stamp = sandbox.iso(state.now())
            tok["lastRotatedAt"] = stamp
            tok["updatedAt"] = stamp
            state.ext[NAME][org_id][i] = tok
            answer = copy.deepcopy(tok)
        answer["token"] = _mint(state, org_id, token_id)
        return 200, answer
    return None
