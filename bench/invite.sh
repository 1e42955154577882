#!/usr/bin/env bash
# Bulk invite benchmark: 1,000 people from a CSV file with the sandbox enforcing the API's POST
# limit (10/s), `astro organization user invite --file` against the shell-loop recipe (one
# `astro organization user invite` process per line), once with this tool's single invite
# (which retries a 429) and once with retries off, as the astro CLI behaves. For each: time, rows that ended invited,
# rows lost, duplicate invites (invites of an address that was already invited).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000}
. scripts/lib.sh
start_sandbox --rate-limit GET=25,POST=10,DELETE=5
url=$sandbox_url
{ echo "email,role"; for i in $(seq 1 "$ROWS"); do printf 'bench%05d@example.com,ORGANIZATION_MEMBER\n' "$i"; done; } >"$work/people.csv"

# Counts, from the sandbox: invited rows, POSTs per address beyond the first answered 200.
tally() {
  curl -s "$url/_sandbox/state" >"$work/state.json"
  curl -s "$url/_sandbox/requests" >"$work/requests.json"
  /usr/bin/python3 - "$work/state.json" "$work/requests.json" "$ROWS" <<'PY'
import json, sys, collections
state, reqs, rows = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), int(sys.argv[3])
org = state["organizations"][0]["id"]
invited = {u["username"] for u in state["users"][org] if u["username"].startswith("bench")}
ok = collections.Counter(json.loads(r["body"])["inviteeEmail"] for r in reqs
                         if r["method"] == "POST" and r["status"] == 200)
dups = sum(n - 1 for n in ok.values() if n > 1)
statuses = collections.Counter(r["status"] for r in reqs if r["method"] == "POST")
print(f"invited {len(invited)}  lost {rows - len(invited)}  duplicates {dups}  POST answers {dict(statuses)}")
PY
}

sleep 1.1
t0=$(date +%s%N)
build/astro organization user invite --file "$work/people.csv" >/dev/null 2>"$work/astro.err" || true
t1=$(date +%s%N)
astro_ms=$(( (t1 - t0) / 1000000 ))
astro_tally=$(tally)

# shell_loop CMD...: the recipe, one `CMD organization user invite EMAIL --role ROLE` process per
# line, on fresh sandbox data and a full rate bucket; prints its time in ms and the tally.
shell_loop() {
  curl -s -X POST "$url/_sandbox/reset" >/dev/null
  sleep 1.1
  local t0 t1
  t0=$(date +%s%N)
  tail -n +2 "$work/people.csv" | while IFS=, read -r email role; do
    "$@" organization user invite "$email" --role "$role" >/dev/null 2>&1 || true
  done
  t1=$(date +%s%N)
  echo "$(( (t1 - t0) / 1000000 )) $(tally)"
}

read -r loop_ms loop_tally <<<"$(shell_loop build/astro)"
read -r bare_ms bare_tally <<<"$(shell_loop build/astro --lua bench/no_retry_cli.lua)"

floor=$(( ROWS * 100 ))   # ms: ROWS at 10 POST/s
secs() { awk -v ms="$1" 'BEGIN { printf "%7.1f", ms / 1000 }'; }
echo "astro invite --file   $(secs "$astro_ms") s  $astro_tally"
echo "shell loop            $(secs "$loop_ms") s  $loop_tally"
echo "shell loop, no retry  $(secs "$bare_ms") s  $bare_tally   (as the astro CLI: no 429 retry)"
awk -v a="$astro_ms" -v l="$loop_ms" -v f="$floor" 'BEGIN { printf "floor (%d rows at 10 POST/s) %.1f s; astro / floor: %.3f; shell loop / astro: %.2fx\n", f/100, f/1000, a/f, l/a }'
