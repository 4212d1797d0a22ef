#!/usr/bin/env bash
# Builds everything and classifies a few texts with a model directory
# (default: the tiny golden checkpoint in ../shared; its weights are random,
# so the scores only show the machinery working).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
MODEL="${1:-../shared/golden/deberta_first_simple_pf}"
./build/gliclass classify --model "$MODEL" --labels "sports,politics,technology" --all-scores \
  "The team won the championship after a dramatic final." \
  "The new phone ships with a faster chip and a better camera."
