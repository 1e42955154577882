#!/usr/bin/env bash
# Runs the stock commands of build/astro under valgrind memcheck against the sandbox API (the
# way scripts/demo.sh starts it) and prints, per command, valgrind's ERROR SUMMARY and its
# "definitely lost" figure. Exits non-zero when valgrind reports an error (a definite leak
# counts as one) or a command fails. Not part of scripts/test.sh (about 20 s more, and the
# AddressSanitizer suite there covers the same code on every spec).
#   scripts/valgrind.sh [path/to/astro]      (default build/astro, built when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
astro=${1:-build/astro}
. scripts/lib.sh
[ -x "$astro" ] || ensure_built
command -v valgrind >/dev/null || { echo "valgrind is not installed (scripts/install-deps.sh)" >&2; exit 1; }
start_sandbox
unset ASTRO_API_TOKEN ASTRO_DOMAIN ASTRO_DEBUG ASTRO_LUA_DIR
printf 'email,role\nbulk.one@acme.io,ORGANIZATION_MEMBER\nbulk.two@acme.io,ORGANIZATION_BILLING_ADMIN\nbulk.three@acme.io\n' \
  >"$work/invite.csv"
printf 'email,role\nbulk.one@acme.io,ORGANIZATION_BILLING_ADMIN\nbulk.two@acme.io,ORGANIZATION_MEMBER\n' \
  >"$work/update.csv"

status=0
n=0
run() {
  n=$((n + 1))
  local log="$work/valgrind.$n.log" rc=0
  valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite \
    --error-exitcode=99 --log-file="$log" "$astro" "$@" >"$work/out.$n" 2>&1 </dev/null || rc=$?
  local errors lost
  errors=$(grep -o 'ERROR SUMMARY: [0-9,]* errors' "$log" | tail -n 1 || true)
  lost=$(grep -o 'definitely lost: .*' "$log" | tail -n 1 || true)
  if [ -z "$lost" ] && grep -q 'All heap blocks were freed' "$log"; then
    lost="definitely lost: 0 bytes in 0 blocks (all heap blocks freed)"
  fi
  printf '$ astro %s\n    %s; %s; exit %d\n' "$*" "${errors:-ERROR SUMMARY: missing}" \
    "${lost:-definitely lost: missing}" "$rc"
  if [ "$rc" -ne 0 ]; then
    status=1
    sed 's/^/    /' "$work/out.$n"
    [ "$rc" -eq 99 ] && sed 's/^/    /' "$log"
  fi
}

run organization list
run organization list --json
run organization switch Globex
run organization switch "Acme Data Platform"
run organization user list
run organization user list --json
run organization user invite new.hire@acme.io --role ORGANIZATION_BILLING_ADMIN
run organization user update new.hire@acme.io --role ORGANIZATION_MEMBER
run organization user invite --file "$work/invite.csv"     # 3 rows
run organization user update --file "$work/update.csv"     # 2 rows
if [ "$status" -eq 0 ]; then
  echo "valgrind: $n commands, 0 errors"
else
  echo "valgrind: FAILED (see above)"
fi
exit "$status"
