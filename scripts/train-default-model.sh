#!/usr/bin/env bash
# Reproduces the bundled default model, models/gliclass-debtags-tiny, from
# scratch on ../shared/data/debtags (see its model card): a SentencePiece
# tokenizer and random weights (gliclass init), then gliclass train with dev
# selection, then the dev report. Needs a build (scripts/build.sh).
# Usage: scripts/train-default-model.sh [WORK_DIR]   (default /tmp/gliclass-debtags-tiny)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=../shared/data/debtags
WORK="${1:-/tmp/gliclass-debtags-tiny}"
OUT=models/gliclass-debtags-tiny
mkdir -p "$WORK"

build/gliclass init --config models/recipes/gliclass-debtags-tiny.config.json --out "$WORK/init" \
  --train-tokenizer "$DATA/train.jsonl" --vocab-size 8000 --seed 42

# One torch thread, OpenBLAS's pool on both cores: measured faster than
# torch and OpenBLAS each running 2 threads, which fight for the cores.
OPENBLAS_NUM_THREADS=2 build/gliclass train --model "$WORK/init" \
  --data "$DATA/train.jsonl" --dev "$DATA/dev.jsonl" --out "$WORK/run" \
  --epochs 2 --batch-size 16 --max-length 256 --encoder-lr 5e-4 --others-lr 5e-4 \
  --aug-examples 0 --aug-add-text 0 --eval-steps 720 --save-steps 200 --log-steps 20 \
  --threads 1 --seed 42

rm -rf "$OUT" && mkdir -p "$OUT"
cp "$WORK/run/best/"* "$OUT/"
build/gliclass eval --model "$OUT" --data "$DATA/dev.jsonl" --heldout "$DATA/labels.json" --json
