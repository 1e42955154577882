#!/usr/bin/env bash
# `astro api --paginate --jq '.users[].username'` over USERS (100,000) users of the sandbox,
# which enforces the API's GET limit (RATE, 25 a second, as bench/list.sh), against the paging
# floor: the same page requests (1,000 users each) made by one curl process over one
# connection at that rate (curl --rate), the bodies thrown away; and against curl + jq doing
# the whole job sequentially (one curl and one jq per page, as a shell loop would). ROUNDS (3)
# rounds, each running the three in turn (1.2 s apart, so the server's bucket refills); the
# medians are printed, with the ratio to the floor and the peak RSS of astro (GNU time); the
# same listing with --slurp (one JSON array of every user) is timed beside them.
# astro is given the same rate (--rate-limit GET=$RATE). LATENCY (0) adds server latency in ms
# to every request.
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${USERS:-100000}
ROUNDS=${ROUNDS:-3}
LATENCY=${LATENCY:-0}
RATE=${RATE:-25}
. scripts/lib.sh
ensure_built
start_sandbox --users "$USERS" --latency-ms "$LATENCY" --rate-limit "GET=$RATE"

org=$(curl -s -H 'Authorization: Bearer test-token' "$sandbox_url/v1/organizations?limit=1" |
  /usr/bin/jq -r '.organizations[0].id')
total=$((USERS + 3))
pages=$(( (total + 999) / 1000 ))
base="$sandbox_url/v1/organizations/$org/users"
urls=()
for ((p = 0; p < pages; p++)); do urls+=("$base?limit=1000&offset=$((p * 1000))"); done

now() { date +%s.%N; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

floor_t=() astro_t=() curljq_t=() astro_kb=() slurp_t=() slurp_kb=()
for ((r = 1; r <= ROUNDS; r++)); do
  # The floor: every page once, sequentially, over one connection, at the API's rate, nothing
  # parsed; a 429 would make it fail.
  sleep 1.2
  t0=$(now)
  curl -sf --rate "$RATE/s" -H 'Authorization: Bearer test-token' "${urls[@]}" >/dev/null
  floor_t+=("$(echo "$(now) - $t0" | bc -l)")
  sleep 1.2

  /usr/bin/time -f "%e %M" -o "$work/astro.time" \
    build/astro api --rate-limit "GET=$RATE" --paginate --jq '.users[].username' '/organizations/{organizationId}/users' \
    >"$work/astro.out"
  read -r s kb <"$work/astro.time"
  astro_t+=("$s") astro_kb+=("$kb")
  astro_n=$(wc -l <"$work/astro.out")

  # The same listing as one JSON array of every user (--slurp, spooled to stdout).
  sleep 1.2
  /usr/bin/time -f "%e %M" -o "$work/slurp.time" \
    build/astro api --rate-limit "GET=$RATE" --paginate --slurp '/organizations/{organizationId}/users' >"$work/slurp.out"
  read -r s kb <"$work/slurp.time"
  slurp_t+=("$s") slurp_kb+=("$kb")
  slurp_n=$(/usr/bin/jq length "$work/slurp.out")

  sleep 1.2
  t0=$(now)
  for u in "${urls[@]}"; do
    curl -sf -H 'Authorization: Bearer test-token' "$u" | /usr/bin/jq -r '.users[].username'
  done >"$work/curljq.out"
  curljq_t+=("$(echo "$(now) - $t0" | bc -l)")
  curljq_n=$(wc -l <"$work/curljq.out")
  cmp -s "$work/astro.out" "$work/curljq.out" || { echo "astro and curl + jq printed different names" >&2; exit 1; }
done

f=$(median "${floor_t[@]}") a=$(median "${astro_t[@]}") c=$(median "${curljq_t[@]}") kb=$(median "${astro_kb[@]}")
sl=$(median "${slurp_t[@]}") slkb=$(median "${slurp_kb[@]}")
printf 'USERS=%s pages=%s GET limit %s/s LATENCY=%s ms ROUNDS=%s; %s\n' "$USERS" "$pages" "$RATE" "$LATENCY" "$ROUNDS" \
  "$(date -u +%FT%TZ)"
printf '%-44s %8s %8s\n' "" "median_s" "/floor"
printf '%-44s %8.2f %8.2f\n' "floor: curl --rate $RATE/s, the $pages pages" "$f" 1
printf '%-44s %8.2f %8.2f   %s names, peak RSS %.1f MB\n' "astro api --paginate --jq" "$a" \
  "$(echo "$a / $f" | bc -l)" "$astro_n" "$(echo "$kb / 1024" | bc -l)"
printf '%-44s %8.2f %8.2f   %s users, peak RSS %.1f MB\n' "astro api --paginate --slurp" "$sl" \
  "$(echo "$sl / $f" | bc -l)" "$slurp_n" "$(echo "$slkb / 1024" | bc -l)"
printf '%-44s %8.2f %8.2f   %s names\n' "curl + jq, page by page" "$c" "$(echo "$c / $f" | bc -l)" "$curljq_n"
printf 'rounds: floor %s; astro %s; slurp %s; curl+jq %s\n' "${floor_t[*]}" "${astro_t[*]}" "${slurp_t[*]}" \
  "${curljq_t[*]}"
