#!/usr/bin/env bash
# Reproduces the default model (SegLLM-Shapes tiny): writes the MRSeg-Shapes training data if it is not there yet,
# then trains with configs/shapes-tiny.json, resuming from runs/shapes-tiny/latest.json when a run was interrupted.
# Extra arguments go to `segllm train` (e.g. --until 2000 to stop early and continue later).
set -euo pipefail
cd "$(dirname "$0")/.."
CLI=(npx tsx --conditions=@segllm/source packages/cli/src/main.ts)
if [ ! -f data/shapes/annotations/shapes_train.json ]; then
  "${CLI[@]}" data shapes --n 3000 --seed 1 --out data/shapes
fi
exec "${CLI[@]}" train --config configs/shapes-tiny.json --resume "$@"
