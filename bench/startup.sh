#!/usr/bin/env bash
# Start-up benchmark: `astro organization list` against `curl -s` of the same request, both
# against the sandbox on loopback, measured side by side with hyperfine in one run.
# Prints both medians, their ratio, the instruction counts (callgrind, when valgrind is
# there), the binary's size and the tool's peak memory.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/astro ] || { echo "build first: scripts/test.sh or cmake --build build" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }
. scripts/lib.sh
start_sandbox
url="$sandbox_url/v1/organizations?limit=1000&offset=0"
# Paired rounds: each round times both commands back to back (order alternating), and the
# ratio is the median of the rounds' ratios, so a machine that slows down or speeds up during
# the run moves both sides of a round together.
rounds=${ROUNDS:-10} runs=${RUNS:-40}
for r in $(seq 1 "$rounds"); do
  a=(-n astro "build/astro organization list") c=(-n curl "curl -s -H 'Authorization: Bearer test-token' $url")
  if [ $((r % 2)) -eq 0 ]; then order=("${c[@]}" "${a[@]}"); else order=("${a[@]}" "${c[@]}"); fi
  hyperfine -N --warmup 10 --runs "$runs" --export-json "$work/h$r.json" "${order[@]}" >/dev/null 2>&1
done
/usr/bin/python3 - "$work" "$rounds" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
am, cm, ratios = [], [], []
for r in range(1, rounds + 1):
    res = {x["command"]: x for x in json.load(open(f"{work}/h{r}.json"))["results"]}
    a, c = res["astro"]["median"], res["curl"]["median"]
    am.append(a); cm.append(c); ratios.append(a / c)
print(f"astro organization list  median {statistics.median(am)*1000:.2f} ms over {rounds} rounds")
print(f"curl -s same request     median {statistics.median(cm)*1000:.2f} ms")
print(f"ratio astro/curl: median of rounds {statistics.median(ratios):.3f} "
      f"(rounds {min(ratios):.3f}-{max(ratios):.3f})")
PY
if command -v valgrind >/dev/null; then
  count() { valgrind --tool=callgrind --callgrind-out-file="$work/cg" "$@" 2>&1 >/dev/null |
            awk '/I *refs/ {gsub(",", "", $4); print $4}'; }
  ia=$(count build/astro organization list)
  ic=$(count curl -s -H 'Authorization: Bearer test-token' "$url")
  /usr/bin/python3 -c "import sys; a, c = int(sys.argv[1]), int(sys.argv[2]); \
print(f'instructions (callgrind): astro {a/1e6:.2f} M, curl {c/1e6:.2f} M, ratio {a/c:.3f}')" "$ia" "$ic"
fi
echo "binary size: $(stat -c %s build/astro) bytes ($(strip -o "$work/astro.stripped" build/astro && stat -c %s "$work/astro.stripped") stripped)"
/usr/bin/time -f "peak RSS astro organization list: %M KiB" build/astro organization list >/dev/null
/usr/bin/time -f "peak RSS curl -s: %M KiB" curl -s -H 'Authorization: Bearer test-token' "$url" >/dev/null
