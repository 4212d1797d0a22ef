#!/usr/bin/env bash
# Builds everything and classifies two software descriptions with the
# bundled model (models/gliclass-debtags-tiny, trained on Debian's debtags),
# or with the model directory given as the first argument.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
MODEL_ARGS=()
if [ $# -gt 0 ]; then MODEL_ARGS=(--model "$1"); fi
./build/gliclass classify "${MODEL_ARGS[@]}" --all-scores \
  --labels "Games and Amusement: Action and Arcade,Role: Shared Library,Works with: Email" \
  "A fast-paced 3D shooter: fight through levels full of monsters, alone or in network deathmatch." \
  "Shared library for decoding Ogg Vorbis audio files, used by music players."
