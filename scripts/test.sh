#!/usr/bin/env bash
# Runs every test: installs missing Debian packages, builds build/astro, runs ctest (all busted
# specs through the host binary, plus the sandbox's own self-test) and ends with ctest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
set +e
ctest --test-dir build --output-on-failure -j"$(nproc)" 2>&1 | tee build/ctest.log
status=${PIPESTATUS[0]}
set -e
grep -E '^[0-9]+% tests passed' build/ctest.log | tail -n 1
exit "$status"
