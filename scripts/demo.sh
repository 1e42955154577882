#!/usr/bin/env bash
# Tries the tool without an Astro account: builds it if needed, starts the sandbox API with demo
# data on a free local port, writes a throw-away config home pointing at it, runs the stock
# commands against it, and stops the sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_built
start_sandbox
unset ASTRO_API_TOKEN ASTRO_DOMAIN
run() { echo "\$ astro $*"; build/astro "$@"; echo; }
run organization list
run organization list --json
run organization user list
run organization user invite new.hire@acme.io --role ORGANIZATION_BILLING_ADMIN
run organization user update new.hire@acme.io --role ORGANIZATION_MEMBER
printf 'email,role\nnew.hire@acme.io,ORGANIZATION_MEMBER\nana.lopez@acme.io,ORGANIZATION_BILLING_ADMIN\nbob@acme.io,\n' >"$work/people.csv"
run organization user invite --file "$work/people.csv"
run organization user list --json
run run examples/role_audit.lua
run organization team list
run organization team create --name "Platform" --description "Runs the platform" --role ORGANIZATION_MEMBER
team_id=$(build/astro organization team list --json | /usr/bin/python3 -c \
  'import json, sys; print([t["id"] for t in json.load(sys.stdin)["teams"] if t["name"] == "Platform"][0])')
printf 'email\njane.doe@acme.io\nraj.patel@acme.io\n' >"$work/members.csv"
run organization team user add --team-id "$team_id" --file "$work/members.csv"
run organization team user list --team-id "$team_id"
run organization token list
run organization token create --name "CI deploys" --role ORGANIZATION_MEMBER --expiration 30 --dry-run
run organization token create --name "CI deploys" --role ORGANIZATION_MEMBER --expiration 30
run organization token rotate --name "CI deploys" --force --clean-output
run organization token delete --name "CI deploys" --force
run organization role list --include-default-roles
run organization audit-logs export --include 7 --output-file "$work/audit.ndjson.gz"
run organization user list --organization Globex
run api --paginate --jq '.users[] | select(.organizationRole == "ORGANIZATION_OWNER") | .username' 'organizations/{organizationId}/users'
run api -X POST 'organizations/{organizationId}/teams' -f name=Ops --dry-run
run organization switch Globex
run organization list
