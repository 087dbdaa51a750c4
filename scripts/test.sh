#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (unit, conformance, parity, end-to-end).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/build.sh"
build="${PARTQ_BUILD:-$root/build}"
cd "$build"
ctest --output-on-failure -j "${PARTQ_TEST_JOBS:-2}" "$@"
