#!/usr/bin/env bash
# Runs the three shipped examples against the sandbox holding 1,000 generated users and
# prints, for each, the wall time and the requests the sandbox received.
#   bulk_invite:      1,000 rows (500 people already members, 500 new)
#   role_audit:       all users, table
#   reconcile_roles:  1,000 rows, 100 role changes, with --apply
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
# shellcheck disable=SC2086  # SANDBOX_FLAGS is a list of flags
start_sandbox --users 1000 ${SANDBOX_FLAGS:-}
url=$sandbox_url
{
  echo "email,role"
  for i in $(seq 1 500); do printf 'user%05d@example.com,ORGANIZATION_MEMBER\n' "$i"; done
  for i in $(seq 1 500); do printf 'new%05d@example.com,ORGANIZATION_MEMBER\n' "$i"; done
} >"$work/invite.csv"
{
  echo "email,role"
  for i in $(seq 1 1000); do
    if [ "$i" -le 100 ]; then role=ORGANIZATION_OWNER; else role=KEEP; fi
    printf 'user%05d@example.com,%s\n' "$i" "$role"
  done
} >"$work/reconcile.tmpl"
# Wanted roles for rows 101..1000 are the users' current roles, so only 100 rows change.
curl -s "$url/_sandbox/state" | /usr/bin/python3 -c '
import json, sys
state = json.load(sys.stdin)
org = state["organizations"][0]["id"]
roles = {u["username"]: u.get("organizationRole", "") for u in state["users"][org]}
for line in open(sys.argv[1]):
    email, role = line.rstrip("\n").split(",")
    print(email + "," + (roles.get(email, "") if role == "KEEP" else role))
' "$work/reconcile.tmpl" >"$work/reconcile.csv"

measure() {
  local name=$1; shift
  curl -s -X POST "$url/_sandbox/reset-requests" >/dev/null
  local t0 t1
  t0=$(date +%s%N)
  build/astro "$@" >"$work/out" 2>"$work/err" || true
  t1=$(date +%s%N)
  local counts
  counts=$(curl -s "$url/_sandbox/requests" | /usr/bin/python3 -c '
import json, sys, collections
c = collections.Counter(r["method"] for r in json.load(sys.stdin))
print(", ".join(f"{k} {v}" for k, v in sorted(c.items())) or "none")')
  printf '%-16s %5d ms   requests: %s   (%s)\n' "$name" "$(( (t1 - t0) / 1000000 ))" "$counts" "$(tail -n 1 "$work/err")"
}
measure bulk_invite run examples/bulk_invite.lua "$work/invite.csv"
measure role_audit run examples/role_audit.lua
measure reconcile_roles run examples/reconcile_roles.lua "$work/reconcile.csv" --apply
