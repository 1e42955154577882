#!/usr/bin/env bash
# Tries the tool without an Astro account: builds it if needed, starts the sandbox API with demo
# data on a free local port, writes a throw-away config home pointing at it, runs the stock
# commands against it, and stops the sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x build/astro ]; then
  scripts/install-deps.sh
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j"$(nproc)" >/dev/null
fi
work=$(mktemp -d /tmp/astro-demo.XXXXXX)
python=/usr/bin/python3
[ -x "$python" ] || python=python3
"$python" spec/support/sandbox.py --port 0 --port-file "$work/port" --write-config "$work" \
  >"$work/sandbox.log" 2>&1 &
sandbox=$!
trap 'kill "$sandbox" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 200); do [ -s "$work/port" ] && break; sleep 0.05; done
[ -s "$work/port" ] || { cat "$work/sandbox.log" >&2; exit 1; }
export ASTRO_HOME="$work"
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
