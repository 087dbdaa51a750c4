#!/usr/bin/env bash
# The main job, from a fresh machine: installs what is missing, builds, then runs `partq auto` on yolov5n --
# calibrate on the shared train images, find the sensitive layers, keep the fewest float that hold 0.3 mAP,
# export the Q/DQ model and TensorRT cache, evaluate and benchmark FP32 / INT8 / partial INT8 on the val
# images and write report.html. Output: ./out/demo (or PARTQ_DEMO_OUT). Extra flags go to `partq auto`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/build.sh"
shared="${PARTQ_SHARED:-$root/../shared}"
exec "${PARTQ_BUILD:-$root/build}/src/cli/partq" auto "$shared/models/yolov5n.onnx" \
  --images "$shared/data/coco/images/val2017" \
  --annotations "$shared/data/coco/annotations/instances_val2017_subset.json" \
  --calib-images "$shared/data/coco/images/train2017" \
  -o "${PARTQ_DEMO_OUT:-$root/out/demo}" "$@"
