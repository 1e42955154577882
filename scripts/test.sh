#!/usr/bin/env bash
# Runs every test: installs missing Debian packages, then three ctest suites, each built in a
# directory of its own:
#   build       the host (RelWithDebInfo): every busted spec through build/astro, plus the
#               sandbox's own self-test;
#   build-fuzz  the libFuzzer targets of fuzz/ (clang-14, ASan+UBSan): every regression input
#               and seed, then a bounded reproducible run of each target (fuzz/README.md);
#   build-asan  the host with AddressSanitizer+UBSan (gcc, -DASTRO_SANITIZE=ON): every spec
#               again, LeakSanitizer on, any sanitizer report failing sanitizer/reports.
# Ends with the three ctest summary lines; exits non-zero when any suite fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)
status=0
summaries=()

# suite DIR WHAT: runs ctest in DIR and records its summary line.
suite() {
  local rc
  set +e
  ctest --test-dir "$1" --output-on-failure -j"$jobs" 2>&1 | tee "$1/ctest.log"
  rc=${PIPESTATUS[0]}
  set -e
  [ "$rc" -eq 0 ] || status=1
  summaries+=("$(grep -E '^[0-9]+% tests passed' "$1/ctest.log" | tail -n 1 || true) ($1: $2)")
}

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
suite build "specs"

CC=clang-14 cmake -S . -B build-fuzz -DASTRO_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$jobs"
suite build-fuzz "fuzz targets"

cmake -S . -B build-asan -DASTRO_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-asan -j"$jobs"
suite build-asan "specs under ASan+UBSan"

printf '%s\n' "${summaries[@]}"
exit "$status"
