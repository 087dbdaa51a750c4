#!/usr/bin/env bash
# Installs what is missing, then configures and builds partq in ./build (Release).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/install-deps.sh"
build="${PARTQ_BUILD:-$root/build}"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
jobs="${PARTQ_JOBS:-$(nproc)}"
ninja -C "$build" -j "$jobs"
