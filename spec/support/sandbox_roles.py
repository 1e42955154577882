"""Sandbox extension: default and custom roles (API v1 ``GET /organizations/{org}/roles``).

Data lives in ``state.ext["roles"]``: ``{"default": [DefaultRole], "custom": {org id: [Role]}}``.
Seed keys: ``defaultRoles`` (a list of DefaultRole objects, the same for every organization)
and ``roles`` (org id -> list of Role objects).  A seed with neither key gets the demo data
below: the default roles of the API, and custom roles for the demo seed's organizations that
exist (Acme two, Globex one, Initech none).  A seed with only one of the keys gets the other
empty.

Route (see docs/sandbox.md, "Extensions"):

* ``GET /organizations/{org}/roles``   ``includeDefaultRoles`` (``true``/``false``, default
  false), ``limit``/``offset`` (as every list: default 20, at most 1000, capped by the
  ``max_page_size`` fault), ``totalCount`` (the custom roles; ``total_count_claim`` applies);
  ``defaultRoles`` only on the page at offset 0, and only with ``includeDefaultRoles=true``.
"""
import copy

import sandbox

NAME = "roles"

ACME = "clt0acme000010bhys38c6ryb"
GLOBEX = "clu7glbx000020j7zc6npf32j"
JANE = {"id": "clrjane00000109s3nj4egnyn", "subjectType": "USER", "username": "jane.doe@acme.io",
        "fullName": "Jane Doe", "avatarUrl": "https://avatars.example.com/jane.png"}
HANK = {"id": "clrhank0000502p7c1d9e4wgs", "subjectType": "USER", "username": "hank.scorpio@globex.io",
        "fullName": "Hank Scorpio", "avatarUrl": ""}

DAG_OPERATOR = "clqrole0000100p1s8wuvk3mg"   # as in fixtures/roles-list.json
AUDITOR = "clqrole0000200k4d7s9wq2xbe"
BILLING_VIEWER = "clqrole0000300m6f8t0yr3zcn"


def _default(name, description, scope, permissions):
    return {"description": description, "name": name, "permissions": permissions, "scopeType": scope}


def demo_default_roles():
    """The API's built-in roles: the three of fixtures/roles-list.json first, then more."""
    return [
        _default("ORGANIZATION_OWNER", "Full access to the Organization", "ORGANIZATION",
                 ["organization.get", "organization.update"]),
        _default("ORGANIZATION_BILLING_ADMIN", "Manage billing for the Organization", "ORGANIZATION",
                 ["organization.billing.get"]),
        _default("ORGANIZATION_MEMBER", "View the Organization", "ORGANIZATION", ["organization.get"]),
        _default("WORKSPACE_OWNER", "Full access to a Workspace", "WORKSPACE",
                 ["workspace.get", "workspace.update", "workspace.delete"]),
        _default("WORKSPACE_OPERATOR", "Deploy and operate Deployments of a Workspace", "WORKSPACE",
                 ["workspace.get", "deployment.update"]),
        _default("WORKSPACE_AUTHOR", "Deploy code to a Workspace's Deployments", "WORKSPACE",
                 ["workspace.get", "deployment.deploy"]),
        _default("WORKSPACE_ACCESSOR", "View a Workspace and trigger DAG runs", "WORKSPACE",
                 ["workspace.get", "dag.run"]),
        _default("WORKSPACE_MEMBER", "View a Workspace", "WORKSPACE", ["workspace.get"]),
        _default("DEPLOYMENT_ADMIN", "Full access to a Deployment", "DEPLOYMENT",
                 ["deployment.get", "deployment.update"]),
    ]


def _custom(role_id, name, description, scope, created, by):
    role = {"createdAt": created, "createdBy": by, "id": role_id, "name": name,
            "restrictedWorkspaceIds": [], "scopeType": scope, "updatedAt": created, "updatedBy": by}
    if description is not None:
        role["description"] = description
    return role


def demo_custom_roles():
    """Custom roles of the demo organizations (the first one as in fixtures/roles-list.json)."""
    return {
        ACME: [
            _custom(DAG_OPERATOR, "DAG Operator", "Can trigger and clear DAG runs only", "DEPLOYMENT",
                    "2025-04-04T04:04:04Z", JANE),
            _custom(AUDITOR, "Workspace Auditor", "Read-only view of Workspace settings", "WORKSPACE",
                    "2025-05-05T05:05:05Z", JANE),
        ],
        GLOBEX: [_custom(BILLING_VIEWER, "Billing Viewer", None, "ORGANIZATION", "2024-08-08T08:08:08Z", HANK)],
    }


def load(state, seed):
    """Roles from the seed's ``defaultRoles`` / ``roles``, or the demo data when it has neither."""
    if "defaultRoles" not in seed and "roles" not in seed:
        default = demo_default_roles()
        custom = {org: roles for org, roles in demo_custom_roles().items() if org in state.org_by_id}
    else:
        default = copy.deepcopy(seed.get("defaultRoles") or [])
        custom = copy.deepcopy(seed.get("roles") or {})
        if not isinstance(default, list) or not all(isinstance(r, dict) and r.get("name") for r in default):
            raise ValueError("seed: defaultRoles must be a list of objects with a name")
        if not isinstance(custom, dict):
            raise ValueError("seed: roles must map organization ids to lists of roles")
        for org_id, roles in custom.items():
            if org_id not in state.org_by_id:
                raise ValueError("seed: roles for unknown organization %s" % org_id)
            if not isinstance(roles, list) or not all(isinstance(r, dict) and r.get("id") for r in roles):
                raise ValueError("seed: every role needs an id")
    state.ext[NAME] = {"default": default, "custom": custom}


def snapshot(state):
    """The roles in seed format."""
    data = state.ext[NAME]
    return {"defaultRoles": list(data["default"]), "roles": {k: list(v) for k, v in data["custom"].items()}}


def _include_default(query):
    """The ``includeDefaultRoles`` parameter (default false), or a 400 validation error."""
    values = query.get("includeDefaultRoles")
    if not values:
        return False
    if values[0] not in ("true", "false"):
        raise sandbox.validation_error([("boolean", "includeDefaultRoles",
                                         "includeDefaultRoles must be true or false")])
    return values[0] == "true"


def route(handler, state, method, parts, query, body):
    """``GET /organizations/{org}/roles``; None for any other path."""
    if len(parts) != 3 or parts[0] != "organizations" or parts[2] != "roles" or not parts[1]:
        return None
    sandbox.allow(method, "GET")
    include = _include_default(query)
    limit, offset = handler.page_params(query)
    faults = handler.server.faults
    with state.lock:
        state.org(parts[1])
        data = state.ext[NAME]
        roles = data["custom"].get(parts[1], [])
        answer = {"limit": limit, "offset": offset, "roles": roles[offset:offset + limit],
                  "totalCount": faults.claimed_total(len(roles))}
        if include and offset == 0:
            answer["defaultRoles"] = list(data["default"])
    return 200, answer
