#!/usr/bin/env bash
# Pacing benchmark: the bulk commands against several server models side by side, one sandbox
# (fresh data) per row, started with the row's flags. The tool assumes one model (a token
# bucket per method, GET 25/s, POST 10/s); the others limit differently: sliding windows, one
# limit over all methods, lower or higher limits than assumed, limits that change while the
# command runs, jittery latency, rate-limit headers.
#
# Write rows (`organization user invite --file` of ROWS new addresses, `organization user
# update --file` of ROWS existing users given a new role): time, the floor the binding write
# limit sets (ROWS / min(POST, ALL) limit; integrated over time for a schedule), ratio,
# 429 answers, rows lost (rows not in the wanted state on the server afterwards), duplicates
# (changes the server accepted more than once for the same row).
#
# List rows (`organization user list --json` over USERS users, 20 ms latency): time, floor
# (pages of 1000 / 25 per s), ratio, 429s, users missing and duplicated in the output, peak RSS;
# and memory-flatness rows, one per size in SIZES, under both models.
#
#   bench/pacing.sh                      everything (ROWS=200, USERS=100000, SIZES=10000,100000,300000)
#   MODEL=3 bench/pacing.sh              one model (several: MODEL=3,5)
#   COMMAND=update bench/pacing.sh       one command (invite, update or list)
#   EXTRA_MODELS='13|...' MODEL=13 ...   a model of your own (see MODELS below)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-200}
USERS=${USERS:-100000}
SIZES=${SIZES:-10000,100000,300000}
LATENCY=${LATENCY:-20}
MODEL=${MODEL:-}
COMMAND=${COMMAND:-}
. scripts/lib.sh
ensure_built

# The models: number | name | commands | sandbox flags | flags given to the tool.
# The floor is worked out from the sandbox flags (--rate-limit, --rate-schedule).
MODELS=(
  "1|per method, bucket (assumed)|invite update|--rate-limit GET=25,POST=10|"
  "2|per method, sliding|invite update|--rate-limit GET=25,POST=10 --rate-window sliding|"
  "3|ALL=10 sliding|invite update|--rate-limit ALL=10 --rate-window sliding|"
  "4|POST=5 sliding (lower)|invite update|--rate-limit GET=25,POST=5 --rate-window sliding|"
  "5|POST=20 sliding, tool told|invite update|--rate-limit GET=25,POST=20 --rate-window sliding|--rate-limit POST=20"
  "6|schedule POST 10>5@5s>10@15s|invite update|--rate-window sliding --rate-schedule 0:GET=25,POST=10;5:GET=25,POST=5;15:GET=25,POST=10|"
  "7|sliding, 20+0..20 ms latency|invite update|--rate-limit GET=25,POST=10 --rate-window sliding --latency-ms 20 --jitter-ms 20|"
  "8|POST=5 sliding, IETF headers|invite update|--rate-limit GET=25,POST=5 --rate-window sliding --rate-headers ietf|"
  "9|list, per method GET=25|list|--rate-limit GET=25,POST=10 --latency-ms $LATENCY|"
  "10|list, ALL=25 sliding|list|--rate-limit ALL=25 --rate-window sliding --latency-ms $LATENCY|"
  "11|list memory, GET=25|memory|--rate-limit GET=25,POST=10 --latency-ms $LATENCY|"
  "12|list memory, ALL=25 sliding|memory|--rate-limit ALL=25 --rate-window sliding --latency-ms $LATENCY|"
)

# More models without editing the script: EXTRA_MODELS, one entry a line, in the same form, e.g.
#   EXTRA_MODELS='13|fixed window|invite|--rate-limit GET=25,POST=10 --rate-window fixed|' MODEL=13 bench/pacing.sh
while IFS= read -r entry; do
  [ -n "$entry" ] && MODELS+=("$entry")
done <<<"${EXTRA_MODELS:-}"

selected() {  # selected LIST ITEM: ITEM is in the comma-separated LIST (or LIST is empty)
  [ -z "$1" ] && return 0
  case ",$1," in *",$2,"*) return 0 ;; esac
  return 1
}

# Peak RSS: GNU time when present, else VmHWM read from /proc while the command runs.
if /usr/bin/time -f %M true >/dev/null 2>&1; then RSS_HOW="GNU time"; else RSS_HOW="VmHWM"; fi

# timed OUT ERR CMD...: runs CMD (stdout to OUT, stderr to ERR); sets run_ms, run_rc, run_kb.
timed() {
  local out=$1 err=$2 t0 t1 hwm
  shift 2
  run_rc=0
  t0=$(date +%s%N)
  if [ "$RSS_HOW" = "GNU time" ]; then
    /usr/bin/time -f %M -o "$work/rss" "$@" >"$out" 2>"$err" || run_rc=$?
    run_kb=$(tail -n 1 "$work/rss")
  else
    "$@" >"$out" 2>"$err" &
    local pid=$! peak=0
    while kill -0 "$pid" 2>/dev/null; do
      hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
      [ -n "$hwm" ] && [ "$hwm" -gt "$peak" ] && peak=$hwm
      sleep 0.05
    done
    wait "$pid" || run_rc=$?
    run_kb=$peak
  fi
  t1=$(date +%s%N)
  run_ms=$(( (t1 - t0) / 1000000 ))
}

# floor ROWS SANDBOX-FLAGS...: seconds the binding write limit (min of POST and ALL) needs for ROWS.
floor_of() {
  /usr/bin/python3 - "$@" <<'PY'
import sys
sys.path.insert(0, "spec/support")
import sandbox
rows, flags = int(sys.argv[1]), sys.argv[2:]
opts = sandbox.build_parser().parse_args(flags)
def rate(limits):
    r = [limits[k] for k in ("POST", "ALL") if k in limits]
    return min(r) if r else float("inf")
segments = [(0.0, rate(opts.rate_limit))]
for at, limits in opts.rate_schedule:
    segments = [s for s in segments if s[0] < at] + [(float(at), rate(limits))]
t, left = 0.0, float(rows)
for i, (start, r) in enumerate(segments):
    end = segments[i + 1][0] if i + 1 < len(segments) else float("inf")
    if r == float("inf"):
        t = start
        left = 0
        break
    if left <= r * (end - start):
        t = start + left / r
        left = 0
        break
    left -= r * (end - start)
print("%.2f" % t)
PY
}

# tally KIND ROWS FILE: counts from the sandbox: "429s lost duplicates".
tally() {
  curl -s "$sandbox_url/_sandbox/state" >"$work/state.json"
  curl -s "$sandbox_url/_sandbox/requests" >"$work/requests.json"
  /usr/bin/python3 - "$work/state.json" "$work/requests.json" "$@" <<'PY'
import collections, csv, json, re, sys
state, reqs = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
kind, rows, path = sys.argv[3], int(sys.argv[4]), sys.argv[5]
org = state["organizations"][0]["id"]
users = {u["username"].lower(): u for u in state["users"][org]}
want = {r["email"].lower(): r["role"] for r in csv.DictReader(open(path))}
lost = sum(1 for email, role in want.items()
           if email not in users or users[email].get("organizationRole") != role)
accepted = collections.Counter()
for r in reqs:
    if r["method"] != "POST" or r["processed_status"] != 200:
        continue
    if kind == "invite" and r["path"].endswith("/invites"):
        accepted[json.loads(r["body"])["inviteeEmail"].lower()] += 1
    elif kind == "update" and re.search(r"/users/[^/]+/roles$", r["path"]):
        accepted[r["path"]] += 1
dups = sum(n - 1 for n in accepted.values() if n > 1)
n429 = sum(1 for r in reqs if r["status"] == 429)
print(n429, lost, dups)
PY
}

row() {  # row MODEL COMMAND ROWS TIME_S FLOOR_S 429S LOST DUPS RC [EXTRA]
  awk -v m="$1" -v c="$2" -v n="$3" -v t="$4" -v f="$5" -v r429="$6" -v lost="$7" -v dups="$8" \
      -v rc="$9" -v extra="${10:-}" 'BEGIN {
    ratio = (f > 0) ? sprintf("%.2f", t / f) : "-"
    printf "%-32s %-7s %7s %8.2f %8.2f %6s %6s %6s %5s %3s %s\n", m, c, n, t, f, ratio, r429, lost, dups, rc, extra }'
}

# write_row NUM NAME COMMAND SANDBOX-FLAGS TOOL-FLAGS: one sandbox, one bulk command, one row.
write_row() (
  local num=$1 name=$2 cmd=$3 sflags=$4 tflags=$5
  local -a sargs targs
  read -r -a sargs <<<"$sflags"
  read -r -a targs <<<"$tflags"
  if [ "$cmd" = invite ]; then
    start_sandbox "${sargs[@]}"
    { echo "email,role"
      for i in $(seq 1 "$ROWS"); do printf 'pace%05d@example.com,ORGANIZATION_MEMBER\n' "$i"; done
    } >"$work/rows.csv"
  else
    start_sandbox --users "$ROWS" "${sargs[@]}"
    curl -s "$sandbox_url/_sandbox/state" | /usr/bin/python3 -c '
import json, sys
state = json.load(sys.stdin)
org = state["organizations"][0]["id"]
print("email,role")
for u in state["users"][org]:
    if u["username"].startswith("user"):
        new = "ORGANIZATION_MEMBER" if u["organizationRole"] == "ORGANIZATION_BILLING_ADMIN" else "ORGANIZATION_BILLING_ADMIN"
        print("%s,%s" % (u["username"], new))' >"$work/rows.csv"
  fi
  timed "$work/out" "$work/err" build/astro organization user "$cmd" --file "$work/rows.csv" "${targs[@]}"
  local counts floor
  counts=$(tally "$cmd" "$ROWS" "$work/rows.csv")
  floor=$(floor_of "$ROWS" "${sargs[@]}")
  read -r n429 lost dups <<<"$counts"
  row "$num $name" "$cmd" "$ROWS" "$(awk -v ms="$run_ms" 'BEGIN { print ms / 1000 }')" "$floor" \
      "$n429" "$lost" "$dups" "$run_rc"
  [ "$run_rc" = 0 ] || sed -n '$p' "$work/err" | sed 's/^/      stderr: /' >&2
)

# list_row NUM NAME USERS SANDBOX-FLAGS: one sandbox of USERS generated users, one listing.
list_row() (
  local num=$1 name=$2 users=$3 sflags=$4
  local -a sargs
  read -r -a sargs <<<"$sflags"
  local g0 g1
  g0=$(date +%s%N)
  start_sandbox --users "$users" "${sargs[@]}"
  g1=$(date +%s%N)
  timed "$work/out.json" "$work/err" build/astro organization user list --json
  local total=$((users + 3)) counts
  counts=$(/usr/bin/python3 - "$work/out.json" "$total" <<'PY'
import json, sys
try:
    listed = [u["id"] for u in json.load(open(sys.argv[1]))["users"]]
except (ValueError, KeyError):
    listed = []
total = int(sys.argv[2])
print(len(listed), total - len(set(listed)), len(listed) - len(set(listed)))
PY
)
  local n429 printed lost dups
  n429=$(curl -s "$sandbox_url/_sandbox/requests" | /usr/bin/python3 -c '
import json, sys; print(sum(1 for r in json.load(sys.stdin) if r["status"] == 429))')
  read -r printed lost dups <<<"$counts"
  local pages=$(( (total + 999) / 1000 ))
  row "$num $name" list "$total" "$(awk -v ms="$run_ms" 'BEGIN { print ms / 1000 }')" \
      "$(awk -v p="$pages" 'BEGIN { printf "%.2f", p / 25 }')" "$n429" "$lost" "$dups" "$run_rc" \
      "$(awk -v kb="$run_kb" -v g="$(( (g1 - g0) / 1000000 ))" \
          'BEGIN { printf "RSS %.1f MB (sandbox up in %.1f s)", kb / 1024, g / 1000 }')"
)

echo "ROWS=$ROWS USERS=$USERS SIZES=$SIZES; peak RSS by $RSS_HOW; $(date -u +%Y-%m-%dT%H:%M:%SZ)"
printf "%-32s %-7s %7s %8s %8s %6s %6s %6s %6s %3s %s\n" model command rows time_s floor_s ratio 429s lost dups rc ""
for entry in "${MODELS[@]}"; do
  IFS='|' read -r num name commands sflags tflags <<<"$entry"
  selected "$MODEL" "$num" || continue
  for cmd in $commands; do
    case $cmd in
      invite|update)
        selected "$COMMAND" "$cmd" || continue
        write_row "$num" "$name" "$cmd" "$sflags" "$tflags" ;;
      list)
        selected "$COMMAND" list || continue
        list_row "$num" "$name" "$USERS" "$sflags" ;;
      memory)
        selected "$COMMAND" list || continue
        for size in ${SIZES//,/ }; do list_row "$num" "$name" "$size" "$sflags"; done ;;
    esac
  done
done
