#!/bin/sh
# One ctest test of a fuzz target (registered by cmake/fuzz.cmake):
#   1. every file of fuzz/regressions/<target>/ and fuzz/corpus/<target>/ runs once;
#   2. a bounded, reproducible fuzzing run (-seed=$ASTRO_FUZZ_SEED, default 1) of RUNS inputs
#      from the seed corpus, new inputs going to WORK_DIR/corpus (the sources stay untouched).
# Usage: run_test.sh FUZZER TARGET SOURCE_DIR WORK_DIR RUNS [libFuzzer flags...]
set -eu
bin=$1 target=$2 src=$3 work=$4 runs=$5
shift 5
seeds="$src/fuzz/corpus/$target"
regressions="$src/fuzz/regressions/$target"
dict="$src/fuzz/dict/$target.dict"
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
set -- -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$work/artifacts/" "$@"
[ -f "$dict" ] && set -- -dict="$dict" "$@"

fail() {
  echo "fuzz/$target FAILED: $1" >&2
  for f in "$work"/artifacts/*; do
    [ -e "$f" ] && echo "  input kept at $f; reproduce with: $bin $f; once fixed, keep it as" \
      "fuzz/regressions/$target/<what-it-tests>" >&2
  done
  exit 1
}

# 1. Regression inputs and seeds, each once.
for d in "$regressions" "$seeds"; do
  [ -d "$d" ] || continue
  files=$(find "$d" -type f ! -name '*.md' | sort)
  [ -n "$files" ] || continue
  count=$(printf '%s\n' "$files" | wc -l)
  # shellcheck disable=SC2086  # file names are ours: no blanks
  "$bin" "$@" $files >"$work/replay.log" 2>&1 || { cat "$work/replay.log"; fail "an input of $d"; }
  echo "fuzz/$target: $count inputs of ${d#"$src"/} pass"
done

# 2. Bounded fuzzing from the seeds.
"$bin" "$@" -seed="${ASTRO_FUZZ_SEED:-1}" -runs="$runs" -print_final_stats=1 \
  "$work/corpus" "$seeds" >"$work/fuzz.log" 2>&1 || { cat "$work/fuzz.log"; fail "fuzzing run"; }
grep -E '^(#[0-9]+.*(INITED|DONE)|Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$work/fuzz.log" || true
echo "fuzz/$target: fuzzing run done, no crash"
