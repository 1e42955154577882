"""Sandbox extension: teams and team members (API v1 ``/organizations/{org}/teams...``).

Data lives in ``state.ext["teams"]``: ``{"teams": {org id: [Team]}, "members": {team id: [TeamMember]}}``.
Seed keys: ``teams`` (org id -> list of Team objects) and ``teamMembers`` (team id -> list of
TeamMember objects, or of user ids of the team's organization).  A seed with neither key gets
the demo teams below for the demo seed's organizations that exist.

Routes (see docs/sandbox.md, "Extensions"):

* ``GET    /organizations/{org}/teams``                        paged (limit/offset/totalCount)
* ``POST   /organizations/{org}/teams``                        CreateTeamRequest -> Team
* ``GET    /organizations/{org}/teams/{team}``                 Team or 404
* ``POST   /organizations/{org}/teams/{team}``                 UpdateTeamRequest -> Team
* ``DELETE /organizations/{org}/teams/{team}``                 204
* ``POST   /organizations/{org}/teams/{team}/roles``           UpdateTeamRolesRequest -> SubjectRoles
* ``GET    /organizations/{org}/teams/{team}/members``         paged
* ``POST   /organizations/{org}/teams/{team}/members``         AddTeamMembersRequest -> 204
* ``DELETE /organizations/{org}/teams/{team}/members/{user}``  204
"""
import copy

import sandbox

NAME = "teams"

ACME = "clt0acme000010bhys38c6ryb"
GLOBEX = "clu7glbx000020j7zc6npf32j"
INITECH = "clv2init000030es9qjsmo8nu"
JANE = "clrjane00000109s3nj4egnyn"
RAJ = "clrraj0000002019nj9w0ji6b"
HANK = "clrhank0000502p7c1d9e4wgs"
PETER = "clrpeter000080z4x6c8v0b3n"

DATA_ENG = "clmteamde00101f1sxbrxz86t"
OKTA = "clmteamsso020nl13is44cceh"
ANALYSTS = "clmteamana030a8v2k4q6w1zx"
OPS = "clmteamops040b3n5m7p9r2tu"
TPS_TEAM = "clmteamtps050c6v8b0n2m4kq"

ROLE_LISTS = ("workspaceRoles", "deploymentRoles", "dagRoles")


def _team(org_id, team_id, name, role, created, description=None, idp=False, roles=None):
    team = {
        "createdAt": created, "id": team_id, "isIdpManaged": idp, "name": name,
        "organizationId": org_id, "organizationRole": role, "rolesCount": 0, "updatedAt": created,
    }
    if description is not None:
        team["description"] = description
    for key, value in (roles or {}).items():
        team[key] = value
    team["rolesCount"] = sum(len(team.get(k) or []) for k in ROLE_LISTS)
    return team


def demo_teams():
    """The demo teams: Acme has three (one IDP-managed, one empty), Globex and Initech one each."""
    return {
        ACME: [
            _team(ACME, DATA_ENG, "Data Engineering", "ORGANIZATION_MEMBER", "2024-01-10T10:00:00Z",
                  "Data engineering team", roles={
                      "workspaceRoles": [{"role": "WORKSPACE_OPERATOR", "workspaceId": "clwanly000010uxapiyuxv50n"}],
                      "deploymentRoles": [{"deploymentId": "cldetl00000101up5fg3ta5ub", "role": "DEPLOYMENT_ADMIN"}],
                  }),
            _team(ACME, OKTA, "okta-platform-admins", "ORGANIZATION_OWNER", "2024-06-01T00:00:00Z", idp=True),
            _team(ACME, ANALYSTS, "Analysts", "ORGANIZATION_MEMBER", "2025-02-03T09:15:00Z", "Reporting and BI"),
        ],
        GLOBEX: [_team(GLOBEX, OPS, "Operations", "ORGANIZATION_BILLING_ADMIN", "2024-03-04T05:06:07Z")],
        INITECH: [_team(INITECH, TPS_TEAM, "TPS Reports", "ORGANIZATION_MEMBER", "2024-09-09T09:09:09Z",
                        "Cover sheets")],
    }


DEMO_MEMBERS = {DATA_ENG: [JANE, RAJ], OKTA: [JANE], OPS: [HANK], TPS_TEAM: [PETER]}


def _member_of(user, created):
    member = {"userId": user["id"], "username": user["username"], "createdAt": created}
    if user.get("fullName"):
        member["fullName"] = user["fullName"]
    if user.get("avatarUrl"):
        member["avatarUrl"] = user["avatarUrl"]
    return member


def load(state, seed):
    """Teams and members from the seed's ``teams``/``teamMembers``, else the demo data."""
    data = {"teams": {}, "members": {}, "org_of": {}}
    state.ext[NAME] = data
    if "teams" in seed or "teamMembers" in seed:
        teams = seed.get("teams") or {}
        members = seed.get("teamMembers") or {}
    else:
        teams = {k: v for k, v in demo_teams().items() if k in state.org_by_id}
        members = DEMO_MEMBERS
    for org_id, items in teams.items():
        if org_id not in state.org_by_id:
            raise ValueError("seed: teams for unknown organization %s" % org_id)
        data["teams"][org_id] = []
        for team in items:
            if not isinstance(team, dict) or not team.get("id") or "name" not in team:
                raise ValueError("seed: every team needs an id and a name")
            if team["id"] in data["org_of"]:
                raise ValueError("seed: duplicate team id %s" % team["id"])
            team = copy.deepcopy(team)
            team.setdefault("organizationId", org_id)
            team.setdefault("isIdpManaged", False)
            data["teams"][org_id].append(team)
            data["org_of"][team["id"]] = org_id
            data["members"][team["id"]] = []
    for team_id, items in members.items():
        org_id = data["org_of"].get(team_id)
        if org_id is None:
            if team_id in DEMO_MEMBERS and members is DEMO_MEMBERS:
                continue
            raise ValueError("seed: teamMembers for unknown team %s" % team_id)
        team = _find(data, org_id, team_id)
        for item in items:
            if isinstance(item, str):
                pos = state.user_pos[org_id].get(item)
                if pos is None:
                    continue
                item = _member_of(state.users[org_id][pos], team.get("createdAt", "2024-01-01T00:00:00Z"))
            elif not isinstance(item, dict) or not item.get("userId"):
                raise ValueError("seed: every team member needs a userId")
            data["members"][team_id].append(copy.deepcopy(item))


def snapshot(state):
    """Teams and members in seed format (called by State.snapshot, under state.lock)."""
    data = state.ext[NAME]
    return {"teams": {k: list(v) for k, v in data["teams"].items()},
            "teamMembers": {k: list(v) for k, v in data["members"].items()}}


def _find(data, org_id, team_id):
    for team in data["teams"].get(org_id, []):
        if team["id"] == team_id:
            return team
    return None


def _team_or_404(data, org_id, team_id):
    team = _find(data, org_id, team_id)
    if team is None:
        raise sandbox.ApiError(404, "Team not found")
    return team


def _check_name(doc, errors, data, org_id, own_id=None):
    name = doc.get("name")
    if "name" not in doc:
        errors.append(("required", "name", "name is required"))
    elif not isinstance(name, str) or not name.strip():
        errors.append(("required", "name", "name must be a non-empty string"))
    elif len(name) > 255:
        errors.append(("max", "name", "name must be at most 255 characters"))
    else:
        for team in data["teams"].get(org_id, []):
            if team["id"] != own_id and team["name"].casefold() == name.casefold():
                raise sandbox.ApiError(400, "A team with the name %s already exists in this organization." % name)
    description = doc.get("description")
    if description is not None and not isinstance(description, str):
        errors.append(("type", "description", "description must be a string"))


def _check_lists(doc, errors):
    for key in ROLE_LISTS:
        if key in doc and not (isinstance(doc[key], list) and all(isinstance(x, dict) for x in doc[key])):
            errors.append(("type", key, "%s must be an array of objects" % key))


def _check_member_ids(doc, errors, required):
    ids = doc.get("memberIds")
    if "memberIds" not in doc:
        if required:
            errors.append(("required", "memberIds", "memberIds is required"))
        return []
    if not isinstance(ids, list) or not all(isinstance(x, str) and x for x in ids):
        errors.append(("type", "memberIds", "memberIds must be an array of user ids"))
        return []
    if required and not ids:
        errors.append(("min", "memberIds", "memberIds must hold at least 1 item"))
    return ids


def _users_of(state, org_id, ids):
    """The org users with these ids (in order, once each), or 404 ``User not found``."""
    out, seen = [], set()
    for user_id in ids:
        pos = state.user_pos[org_id].get(user_id)
        if pos is None:
            raise sandbox.ApiError(404, "User not found")
        if user_id not in seen:
            seen.add(user_id)
            out.append(state.users[org_id][pos])
    return out


def _page(handler, query, items):
    limit, offset = handler.page_params(query)
    return limit, offset, items[offset:offset + limit], len(items)


def route(handler, state, method, parts, query, body):
    if len(parts) < 3 or parts[0] != "organizations" or parts[2] != "teams" or not all(parts):
        return None
    data = state.ext[NAME]
    org_id = parts[1]
    n = len(parts)
    faults = handler.server.faults

    if n == 3:
        sandbox.allow(method, "GET", "POST")
        if method == "GET":
            with state.lock:
                state.org(org_id)
                limit, offset, page, total = _page(handler, query, data["teams"].get(org_id, []))
            return 200, {"limit": limit, "offset": offset, "teams": page,
                         "totalCount": faults.claimed_total(total)}
        doc = sandbox.parse_json(body)
        errors = sandbox.check_object(doc, ("description", "memberIds", "name", "organizationRole"))
        with state.lock:
            state.org(org_id)
            _check_name(doc, errors, data, org_id)
            if "organizationRole" in doc:
                sandbox.check_role(doc, "organizationRole", errors)
            ids = _check_member_ids(doc, errors, False)
            if errors:
                raise sandbox.validation_error(errors)
            users = _users_of(state, org_id, ids)
            stamp = sandbox.iso(state.now())
            team = {"createdAt": stamp, "createdBy": state.self_profile(), "id": state.next_id("tm"),
                    "isIdpManaged": False, "name": doc["name"], "organizationId": org_id,
                    "organizationRole": doc.get("organizationRole", "ORGANIZATION_MEMBER"),
                    "rolesCount": 0, "updatedAt": stamp, "updatedBy": state.self_profile()}
            if doc.get("description"):
                team["description"] = doc["description"]
            data["teams"].setdefault(org_id, []).append(team)
            data["org_of"][team["id"]] = org_id
            data["members"][team["id"]] = [_member_of(u, stamp) for u in users]
            return 200, team
    team_id = parts[3]
    if n == 4:
        sandbox.allow(method, "GET", "POST", "DELETE")
        with state.lock:
            state.org(org_id)
            team = _team_or_404(data, org_id, team_id)
            if method == "GET":
                return 200, team
            if method == "DELETE":
                data["teams"][org_id] = [t for t in data["teams"][org_id] if t["id"] != team_id]
                data["members"].pop(team_id, None)
                data["org_of"].pop(team_id, None)
                return 204, None
        doc = sandbox.parse_json(body)
        errors = sandbox.check_object(doc, ("description", "name"))
        with state.lock:
            team = _team_or_404(data, org_id, team_id)
            _check_name(doc, errors, data, org_id, own_id=team_id)
            if errors:
                raise sandbox.validation_error(errors)
            team = dict(team)
            team["name"] = doc["name"]
            if doc.get("description"):
                team["description"] = doc["description"]
            elif "description" in doc:
                team.pop("description", None)
            team["updatedAt"] = sandbox.iso(state.now())
            team["updatedBy"] = state.self_profile()
            _replace(data, org_id, team)
            return 200, team
    if n == 5 and parts[4] == "roles":
        sandbox.allow(method, "POST")
        doc = sandbox.parse_json(body)
        errors = sandbox.check_object(doc, ("organizationRole",) + ROLE_LISTS)
        sandbox.check_role(doc, "organizationRole", errors)
        _check_lists(doc, errors)
        with state.lock:
            state.org(org_id)
            team = dict(_team_or_404(data, org_id, team_id))
            if errors:
                raise sandbox.validation_error(errors)
            team["organizationRole"] = doc["organizationRole"]
            for key in ROLE_LISTS:
                if doc.get(key):
                    team[key] = doc[key]
                else:
                    team.pop(key, None)
            team["rolesCount"] = sum(len(team.get(k) or []) for k in ROLE_LISTS)
            team["updatedAt"] = sandbox.iso(state.now())
            _replace(data, org_id, team)
            answer = {"organizationRole": team["organizationRole"]}
            for key in ROLE_LISTS:
                if team.get(key):
                    answer[key] = team[key]
            return 200, answer
    if n == 5 and parts[4] == "members":
        sandbox.allow(method, "GET", "POST")
        if method == "GET":
            with state.lock:
                state.org(org_id)
                _team_or_404(data, org_id, team_id)
                limit, offset, page, total = _page(handler, query, data["members"].get(team_id, []))
            return 200, {"limit": limit, "offset": offset, "teamMembers": page,
                         "totalCount": faults.claimed_total(total)}
        doc = sandbox.parse_json(body)
        errors = sandbox.check_object(doc, ("memberIds",))
        ids = _check_member_ids(doc, errors, True)
        with state.lock:
            state.org(org_id)
            _team_or_404(data, org_id, team_id)
            if errors:
                raise sandbox.validation_error(errors)
            users = _users_of(state, org_id, ids)
            members = data["members"].setdefault(team_id, [])
            have = {m["userId"] for m in members}
            for user in users:
                if user["id"] in have:
                    raise sandbox.ApiError(400, "User %s is already a member of this team." % user["id"])
            stamp = sandbox.iso(state.now())
            data["members"][team_id] = members + [_member_of(u, stamp) for u in users]
            return 204, None
    if n == 6 and parts[4] == "members":
        sandbox.allow(method, "DELETE")
        with state.lock:
            state.org(org_id)
            _team_or_404(data, org_id, team_id)
            members = data["members"].get(team_id, [])
            kept = [m for m in members if m["userId"] != parts[5]]
            if len(kept) == len(members):
                raise sandbox.ApiError(404, "Team member not found")
            data["members"][team_id] = kept
            return 204, None
    return None


def _replace(data, org_id, team):
    data["teams"][org_id] = [team if t["id"] == team["id"] else t for t in data["teams"][org_id]]
