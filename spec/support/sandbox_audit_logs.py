"""Sandbox extension: audit logs (API v1 ``GET /organizations/{org}/audit-logs``), NDJSON.

Data lives in ``state.ext["audit_logs"]``: ``{"events": {org id: [event]}, "encoding": {org
id: "gzip"|"identity"|"file"}}``.  Seed keys: ``auditLogs`` (org id -> list of event objects,
each with a ``timestamp`` in RFC 3339) and ``auditLogEncoding`` (org id -> encoding, default
``gzip``).  A seed with neither key gets the demo data below for the demo seed's
organizations: events 1 hour, 2 days, 10 days, 40 days and 100 days old (relative to the
sandbox's clock, ``--now``), Acme answering ``gzip``, Globex ``identity`` and Initech ``file``.

Route (see docs/sandbox.md, "Extensions"):

* ``GET /organizations/{org}/audit-logs``  ``startDate`` (RFC 3339, fractions up to nanoseconds
  and any offset; required) and ``endDate`` (optional): the events with ``startDate <=
  timestamp`` (``< endDate``), one JSON object per line (``application/x-ndjson``).  The
  organization's encoding says how the body goes: ``gzip`` compressed with ``Content-Encoding:
  gzip`` (as production answers), ``identity`` plain, ``file`` compressed as an
  ``application/gzip`` body without ``Content-Encoding`` (a client then gets the gzip bytes
  themselves).  A bad date is a 400 validation error.
"""
import calendar
import copy
import gzip
import json
import re
import time

import sandbox

NAME = "audit_logs"

ACME = "clt0acme000010bhys38c6ryb"
GLOBEX = "clu7glbx000020j7zc6npf32j"
INITECH = "clv2init000030es9qjsmo8nu"
ENCODINGS = ("gzip", "identity", "file")
RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,9})?(Z|z|[+-]\d\d:\d\d)")
DEMO_AGES = ((3600, "user.login", "jane.doe@acme.io"),
             (2 * 86400, "organization.user.invite", "jane.doe@acme.io"),
             (10 * 86400, "deployment.update", "raj.patel@acme.io"),
             (40 * 86400, "workspace.create", "jane.doe@acme.io"),
             (100 * 86400, "organization.update", "jane.doe@acme.io"))


def parse_time(text):
    """Unix time (float) of an RFC 3339 timestamp, or None when it is not one."""
    m = RFC3339.fullmatch(text or "")
    if not m:
        return None
    try:
        base = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None
    frac = float("0" + m.group(2)) if m.group(2) else 0.0
    zone = m.group(3)
    offset = 0
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        offset = sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return base + frac - offset


def demo_events(state, org_id):
    """The demo events of one organization, oldest last, relative to the sandbox's clock."""
    now = int(state.now())
    events = []
    for i, (age, action, actor) in enumerate(DEMO_AGES, 1):
        events.append({"timestamp": sandbox.iso(now - age), "organizationId": org_id, "action": action,
                       "actor": {"type": "USER", "username": actor}, "id": sandbox.make_cuid("al", i),
                       "source": "UI" if i % 2 else "API"})
    return events


def load(state, seed):
    """Events from the seed's ``auditLogs`` / ``auditLogEncoding``, or the demo data."""
    if "auditLogs" not in seed and "auditLogEncoding" not in seed:
        demo = {ACME: "gzip", GLOBEX: "identity", INITECH: "file"}
        events = {org: demo_events(state, org) for org in demo if org in state.org_by_id}
        encoding = {org: enc for org, enc in demo.items() if org in state.org_by_id}
    else:
        events = copy.deepcopy(seed.get("auditLogs") or {})
        encoding = copy.deepcopy(seed.get("auditLogEncoding") or {})
        for org_id in list(events) + list(encoding):
            if org_id not in state.org_by_id:
                raise ValueError("seed: audit logs for unknown organization %s" % org_id)
        for org_id, enc in encoding.items():
            if enc not in ENCODINGS:
                raise ValueError("seed: auditLogEncoding must be one of %s" % ", ".join(ENCODINGS))
        for org_id, items in events.items():
            if not isinstance(items, list) or not all(
                    isinstance(e, dict) and parse_time(e.get("timestamp")) is not None for e in items):
                raise ValueError("seed: every audit log event needs an RFC 3339 timestamp")
    state.ext[NAME] = {"events": events, "encoding": encoding}


def snapshot(state):
    """The events and encodings in seed format."""
    data = state.ext[NAME]
    return {"auditLogs": {k: list(v) for k, v in data["events"].items()},
            "auditLogEncoding": dict(data["encoding"])}


def _date(query, name, required):
    """The Unix time of query parameter ``name``, None when absent and not required; 400 else."""
    values = query.get(name)
    if not values:
        if required:
            raise sandbox.validation_error([("required", name, "%s is required" % name)])
        return None
    value = parse_time(values[0])
    if value is None:
        raise sandbox.validation_error([("datetime", name, "%s must be an RFC 3339 date-time" % name)])
    return value


def route(handler, state, method, parts, query, body):
    """``GET /organizations/{org}/audit-logs``; None for any other path."""
    if len(parts) != 3 or parts[0] != "organizations" or parts[2] != "audit-logs" or not parts[1]:
        return None
    sandbox.allow(method, "GET")
    start = _date(query, "startDate", True)
    end = _date(query, "endDate", False)
    with state.lock:
        state.org(parts[1])
        data = state.ext[NAME]
        events = list(data["events"].get(parts[1], []))
        encoding = data["encoding"].get(parts[1], "gzip")
    chosen = [e for e in events if parse_time(e["timestamp"]) >= start
              and (end is None or parse_time(e["timestamp"]) < end)]
    text = b"".join(json.dumps(e, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogateescape")
                    + b"\n" for e in chosen)
    if encoding == "identity":
        return 200, sandbox.Raw(text, "application/x-ndjson")
    packed = gzip.compress(text, mtime=0)
    if encoding == "file":
        return 200, sandbox.Raw(packed, "application/gzip")
    return 200, sandbox.Raw(packed, "application/x-ndjson", [("Content-Encoding", "gzip")])
