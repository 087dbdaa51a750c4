#!/usr/bin/env bash
# partq FP32 vs ONNX Runtime FP32 latency, same models, batches and thread count, measured interleaved
# (partq, ORT, partq, ORT, ...) so that machine noise hits both alike. See bench/README.md.
#
#   bench/compare_ort.sh [--threads T] [--warmup W] [--runs N] [--rounds R] [--batches "1 8"]
#                        [--models "yolov5n yolox_nano"] [--out DIR]
#
# Environment: PARTQ (the partq binary; default ${PARTQ_BUILD:-<repo>/build}/src/cli/partq), PARTQ_SHARED (the
# shared/ folder with models/; default ../shared next to the repository).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

threads="$(nproc)"
warmup=5
runs=20
rounds=1
batches="1 8"
models="yolov5n yolox_nano"
build="${PARTQ_BUILD:-$root/build}"
out="$build/bench-compare-ort"

usage() { sed -n '5,6p' "$root/bench/compare_ort.sh" | sed 's/^# //' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --batches) batches="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) usage ;;
    *) echo "compare_ort: unknown argument '$1'" >&2; usage ;;
  esac
done
for v in "$threads" "$warmup" "$runs" "$rounds"; do
  [[ "$v" =~ ^[0-9]+$ ]] || { echo "compare_ort: '$v' is not a non-negative integer" >&2; exit 2; }
done

partq="${PARTQ:-$build/src/cli/partq}"
shared="${PARTQ_SHARED:-$root/../shared}"
ort_js="$root/tools/ort/ort.js"
if [ ! -x "$partq" ]; then
  echo "compare_ort: partq binary not found at '$partq'; run scripts/install-deps.sh and scripts/build.sh" \
    "(or set PARTQ / PARTQ_BUILD)" >&2
  exit 1
fi
if [ ! -d "$root/tools/ort/node_modules/onnxruntime-node" ] || ! command -v node >/dev/null; then
  echo "compare_ort: node or tools/ort/node_modules/onnxruntime-node is missing; run scripts/install-deps.sh" >&2
  exit 1
fi
for m in $models; do
  [ -f "$shared/models/$m.onnx" ] || { echo "compare_ort: $shared/models/$m.onnx not found (set PARTQ_SHARED)" >&2; exit 1; }
done

mkdir -p "$out/models" "$out/runs"
echo "compare_ort: threads=$threads warmup=$warmup runs=$runs rounds=$rounds batches=[$batches] -> $out" >&2

# ORT gets a batch-B copy of each model, made by partq itself (ORT cannot change a fixed batch).
for m in $models; do
  for b in $batches; do
    copy="$out/models/$m.b$b.onnx"
    "$partq" convert "$shared/models/$m.onnx" --batch "$b" -o "$copy" >&2 ||
      { echo "compare_ort: 'partq convert $m --batch $b' failed" >&2; exit 1; }
  done
done

run_one() {  # runtime model batch round
  local runtime="$1" m="$2" b="$3" r="$4"
  local json="$out/runs/$m.b$b.$runtime.r$r.json"
  if [ "$runtime" = partq ]; then
    "$partq" bench "$shared/models/$m.onnx" --batch "$b" --threads "$threads" --warmup "$warmup" \
      --runs "$runs" --json "$json" >&2
  else
    node "$ort_js" bench "$out/models/$m.b$b.onnx" --batch "$b" --threads "$threads" --warmup "$warmup" \
      --runs "$runs" --json "$json" >&2
  fi || { echo "compare_ort: $runtime bench of $m at batch $b failed" >&2; exit 1; }
}

for r in $(seq 1 "$rounds"); do
  for m in $models; do
    for b in $batches; do
      run_one partq "$m" "$b" "$r"
      run_one ort "$m" "$b" "$r"
    done
  done
done

node "$root/bench/compare_summary.js" --runs-dir "$out/runs" --threads "$threads" --json "$out/compare_ort.json" \
  --models "$models" --batches "$batches" --rounds "$rounds"
