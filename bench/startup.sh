#!/usr/bin/env bash
# Start-up benchmark: `astro organization list` against `curl -s` of the same request, both
# against the sandbox on loopback, measured side by side with hyperfine in one run.
# Prints both medians, their ratio, the binary's size and the tool's peak memory.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/astro ] || { echo "build first: scripts/test.sh or cmake --build build" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }
. scripts/lib.sh
start_sandbox
url="$sandbox_url/v1/organizations?limit=1000&offset=0"
runs=${RUNS:-200}
hyperfine -N --warmup 20 --runs "$runs" --export-json "$work/h.json" \
  -n astro "build/astro organization list" \
  -n curl "curl -s -H 'Authorization: Bearer test-token' $url" >"$work/hyperfine.txt"
/usr/bin/python3 - "$work/h.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
a, c = r["astro"], r["curl"]
print(f"astro organization list  median {a['median']*1000:.2f} ms  (mean {a['mean']*1000:.2f} ± {a['stddev']*1000:.2f})")
print(f"curl -s same request     median {c['median']*1000:.2f} ms  (mean {c['mean']*1000:.2f} ± {c['stddev']*1000:.2f})")
print(f"ratio astro/curl (median): {a['median']/c['median']:.3f}")
PY
echo "binary size: $(stat -c %s build/astro) bytes ($(strip -o "$work/astro.stripped" build/astro && stat -c %s "$work/astro.stripped") stripped)"
/usr/bin/time -f "peak RSS astro organization list: %M KiB" build/astro organization list >/dev/null
/usr/bin/time -f "peak RSS curl -s: %M KiB" curl -s -H 'Authorization: Bearer test-token' "$url" >/dev/null
