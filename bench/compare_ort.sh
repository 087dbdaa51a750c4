#!/usr/bin/env bash
# partq vs ONNX Runtime latency, same models, batches and thread count, measured interleaved (partq, ORT,
# partq, ORT, ...) so that machine noise hits every runtime alike: FP32 in both, and with --qdq / --calib-images
# also partq INT8 and ORT running partq's Q/DQ export of the same model. See bench/README.md.
#
#   bench/compare_ort.sh [--threads T] [--warmup W] [--runs N] [--rounds R] [--batches "1 8"]
#                        [--models "yolov5n yolox_nano"] [--out DIR]
#                        [--qdq [MODEL=]FILE.qdq.onnx]... [--calib-images DIR [--calib-method M]
#                        [--calib-num-images N]] [--ort-qdq-runs N] [--fast-silu]
#
# --fast-silu adds a column: partq INT8 with `bench --fast-silu` (SiLU through an s8 table; approximate, see
# docs/quantization.md), run interleaved with the others.
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
declare -A qdq=()  # model name -> Q/DQ ONNX (given with --qdq, or made from --calib-images)
calib_images=""
calib_method=entropy
calib_num_images=512
ort_qdq_runs=""
fast_silu=0

usage() { sed -n '6,12p' "$root/bench/compare_ort.sh" | sed 's/^# //' >&2; exit 2; }
add_qdq() {  # [MODEL=]FILE; without MODEL=, the model is the file name up to its first '.'
  local arg="$1" name file
  if [[ "$arg" == *=* ]]; then
    name="${arg%%=*}"
    file="${arg#*=}"
  else
    file="$arg"
    name="$(basename "$file")"
    name="${name%%.*}"
  fi
  [ -f "$file" ] || { echo "compare_ort: --qdq $arg: '$file' not found" >&2; exit 1; }
  qdq["$name"]="$file"
}
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --batches) batches="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --qdq) add_qdq "$2"; shift 2 ;;
    --calib-images) calib_images="$2"; shift 2 ;;
    --calib-method) calib_method="$2"; shift 2 ;;
    --calib-num-images) calib_num_images="$2"; shift 2 ;;
    --ort-qdq-runs) ort_qdq_runs="$2"; shift 2 ;;
    --fast-silu) fast_silu=1; shift ;;
    -h|--help) usage ;;
    *) echo "compare_ort: unknown argument '$1'" >&2; usage ;;
  esac
done
ort_qdq_runs="${ort_qdq_runs:-$runs}"
for v in "$threads" "$warmup" "$runs" "$rounds" "$calib_num_images" "$ort_qdq_runs"; do
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
# INT8 columns: on when any Q/DQ model is given or can be made; then every model needs one.
int8=0
if [ ${#qdq[@]} -gt 0 ] || [ -n "$calib_images" ]; then int8=1; fi
for name in "${!qdq[@]}"; do
  [[ " $models " == *" $name "* ]] ||
    { echo "compare_ort: --qdq for '$name', which is not in --models \"$models\" (use --qdq MODEL=FILE)" >&2; exit 2; }
done
if [ -n "$calib_images" ] && [ ! -d "$calib_images" ]; then
  echo "compare_ort: --calib-images '$calib_images' is not a directory" >&2
  exit 1
fi
if [ "$fast_silu" = 1 ] && [ "$int8" = 0 ]; then
  echo "compare_ort: --fast-silu needs INT8 models (--qdq or --calib-images)" >&2
  exit 2
fi
if [ "$int8" = 1 ] && [ -z "$calib_images" ]; then
  for m in $models; do
    [ -n "${qdq[$m]:-}" ] || { echo "compare_ort: no Q/DQ model for '$m' (pass --qdq $m=FILE or --calib-images DIR)" >&2; exit 2; }
  done
fi

mkdir -p "$out/models" "$out/runs"
echo "compare_ort: threads=$threads warmup=$warmup runs=$runs rounds=$rounds batches=[$batches]" \
  "int8=$([ "$int8" = 1 ] && echo "on (ORT Q/DQ runs=$ort_qdq_runs)" || echo off) -> $out" >&2

# Q/DQ models not given with --qdq: partq calibrate + partq quantize into DIR/models.
made=""
if [ "$int8" = 1 ]; then
  for m in $models; do
    [ -z "${qdq[$m]:-}" ] || continue
    calib="$out/models/$m.calib.json"
    echo "compare_ort: calibrating $m on $calib_num_images images of $calib_images ($calib_method)" >&2
    "$partq" calibrate "$shared/models/$m.onnx" --images "$calib_images" -o "$calib" --method "$calib_method" \
      --num-images "$calib_num_images" --threads "$threads" --quiet >&2 ||
      { echo "compare_ort: 'partq calibrate $m' failed" >&2; exit 1; }
    "$partq" quantize "$shared/models/$m.onnx" --calib "$calib" -o "$out/models/$m.qdq.onnx" --quiet >&2 ||
      { echo "compare_ort: 'partq quantize $m' failed" >&2; exit 1; }
    qdq["$m"]="$out/models/$m.qdq.onnx"
    made+="${made:+ }$m"
  done
fi

# ORT gets a batch-B copy of each model, made by partq itself (ORT cannot change a fixed batch).
for m in $models; do
  for b in $batches; do
    copy="$out/models/$m.b$b.onnx"
    "$partq" convert "$shared/models/$m.onnx" --batch "$b" -o "$copy" --quiet >&2 ||
      { echo "compare_ort: 'partq convert $m --batch $b' failed" >&2; exit 1; }
    if [ "$int8" = 1 ]; then
      "$partq" convert "${qdq[$m]}" --batch "$b" -o "$out/models/$m.qdq.b$b.onnx" --quiet >&2 ||
        { echo "compare_ort: 'partq convert ${qdq[$m]} --batch $b' failed" >&2; exit 1; }
    fi
  done
done

run_one() {  # runtime model batch round; runtime: partq | partq-int8 | partq-int8-fast | ort | ort-qdq
  local runtime="$1" m="$2" b="$3" r="$4"
  local json="$out/runs/$m.b$b.$runtime.r$r.json"
  case "$runtime" in
    partq | partq-int8 | partq-int8-fast)
      local model="$shared/models/$m.onnx" extra=()
      [ "$runtime" = partq ] || model="${qdq[$m]}"
      [ "$runtime" != partq-int8-fast ] || extra=(--fast-silu)
      "$partq" bench "$model" --batch "$b" --threads "$threads" --warmup "$warmup" --runs "$runs" \
        "${extra[@]}" --json "$json" --quiet >&2 ;;
    ort | ort-qdq)
      local model="$out/models/$m.b$b.onnx" n="$runs"
      [ "$runtime" = ort ] || { model="$out/models/$m.qdq.b$b.onnx"; n="$ort_qdq_runs"; }
      node "$ort_js" bench "$model" --batch "$b" --threads "$threads" --warmup "$warmup" --runs "$n" \
        --json "$json" >&2 ;;
  esac || { echo "compare_ort: $runtime bench of $m at batch $b failed" >&2; exit 1; }
}

runtimes="partq ort"
if [ "$int8" = 1 ]; then runtimes="partq partq-int8 ort ort-qdq"; fi
if [ "$fast_silu" = 1 ]; then runtimes+=" partq-int8-fast"; fi
for r in $(seq 1 "$rounds"); do
  for m in $models; do
    for b in $batches; do
      for rt in $runtimes; do
        run_one "$rt" "$m" "$b" "$r"
      done
    done
  done
done

qdq_list=""
if [ "$int8" = 1 ]; then
  for m in $models; do qdq_list+="$m=${qdq[$m]}"$'\n'; done
fi
node "$root/bench/compare_summary.js" --runs-dir "$out/runs" --threads "$threads" --json "$out/compare_ort.json" \
  --markdown "$out/compare_ort.md" --models "$models" --batches "$batches" --rounds "$rounds" --int8 "$int8" --fast-silu "$fast_silu" \
  --qdq "$qdq_list" --calib "${made:+$made: partq calibrate --method $calib_method --num-images $calib_num_images on $calib_images}"
