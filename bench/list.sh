#!/usr/bin/env bash
# Listing benchmark: `astro organization user list --json` over 100,000 users with 20 ms added
# server latency and the API's GET limit (25/s) enforced by the sandbox, against sequential
# paging 100 at a time (the astro CLI's way, bench/sequential_list.lua) under the same limit.
# Prints times, the floor the GET limit sets at the largest page size, ratios, peak memory.
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${USERS:-100000}
LATENCY=${LATENCY:-20}
. scripts/lib.sh
start_sandbox --users "$USERS" --latency-ms "$LATENCY" --rate-limit GET=25,POST=10,DELETE=5
sleep 1.2   # let the sandbox's GET bucket fill after start-up

/usr/bin/time -f "%e %M" -o "$work/astro.time" build/astro organization user list --json >"$work/out.json"
read -r astro_s astro_kb <"$work/astro.time"
astro_n=$(/usr/bin/python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["users"]))' "$work/out.json")
sleep 1.2
/usr/bin/time -f "%e %M" -o "$work/seq.time" build/astro --lua bench/sequential_list.lua >"$work/seq.out"
read -r seq_s seq_kb <"$work/seq.time"
seq_n=$(cat "$work/seq.out")

total=$((USERS + 3))
pages=$(( (total + 999) / 1000 ))
/usr/bin/python3 - "$astro_s" "$seq_s" "$pages" "$astro_kb" "$seq_kb" "$astro_n" "$seq_n" <<'PY'
import sys
a, s, pages, akb, skb, an, sn = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], sys.argv[7]
floor = pages / 25.0
print(f"astro user list --json      {a:7.2f} s  users {an}  peak RSS {akb/1024:.1f} MB")
print(f"sequential, 100 per page    {s:7.2f} s  users {sn}  peak RSS {skb/1024:.1f} MB")
print(f"floor ({pages} pages at 25 GET/s) {floor:.2f} s")
print(f"astro / floor: {a/floor:.3f}    sequential / astro: {s/a:.1f}x")
PY
