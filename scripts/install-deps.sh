#!/usr/bin/env bash
# Installs every build, test and reference dependency of partq on a fresh Debian bookworm machine.
# Safe to run repeatedly: it installs only what is missing.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"

debs=(build-essential cmake ninja-build pkg-config clang-format
  libdnnl-dev libonnx-dev libprotobuf-dev protobuf-compiler libopencv-dev
  nlohmann-json3-dev libcli11-dev libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev
  libonnx-testdata chromium libtorch-dev)
# Node.js drives ONNX Runtime; a machine that already has node and npm keeps its own.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || debs+=(nodejs npm)

missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ONNX Runtime (reference runtime for parity tests and benchmarks). Its postinstall script downloads from
# outside the registry, so it is skipped: the package already ships libonnxruntime for linux-x64.
if [ ! -d "$here/tools/ort/node_modules/onnxruntime-node" ]; then
  echo "install-deps: installing onnxruntime-node (npm)" >&2
  (cd "$here/tools/ort" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
fi
