#!/usr/bin/env bash
# The main job: installs what is missing, builds, and evaluates yolov5n on the shared COCO val images.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/build.sh"
shared="${PARTQ_SHARED:-$root/../shared}"
exec "${PARTQ_BUILD:-$root/build}/src/cli/partq" eval "$shared/models/yolov5n.onnx" \
  --images "$shared/data/coco/images/val2017" \
  --annotations "$shared/data/coco/annotations/instances_val2017_subset.json" "$@"
