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
run organization switch Globex
run organization list
