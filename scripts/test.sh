#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (unit, conformance, parity, end-to-end).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/build.sh"
build="${PARTQ_BUILD:-$root/build}"
cd "$build"
# ctest runs two test programs at once on two cores: libgomp's default spin-waiting then makes every
# parallel region 30x slower. Passive waiting keeps the tests fast on a busy machine.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
ctest --output-on-failure -j "${PARTQ_TEST_JOBS:-2}" "$@"
