#!/usr/bin/env bash
# LoRA against full fine-tuning on ../shared/data/debtags, both from the
# bundled model with the same data, steps, batch and seed; prints one JSON
# line per run (trainable parameters, seconds, dev micro-F1) and appends them
# to docs/lora-debtags.jsonl. Needs a build (scripts/build.sh or BUILD=dir).
# Usage: experiments/lora-debtags.sh [STEPS] [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${BUILD:-build}"
DATA=../shared/data/debtags
MODEL=models/gliclass-debtags-tiny
STEPS="${1:-300}"
WORK="${2:-/tmp/gliclass-lora-debtags}"
mkdir -p "$WORK" docs

common=(--model "$MODEL" --data "$DATA/train.jsonl" --dev "$DATA/dev.jsonl" --max-steps "$STEPS"
        --batch-size 16 --max-length 256 --aug-examples 0 --aug-add-text 0 --eval-steps 0
        --save-steps 0 --log-steps 50 --threads 1 --seed 7 --warmup-ratio 0.1)

run() {  # name, extra flags...
  local name="$1"; shift
  local start end
  start=$(date +%s)
  OPENBLAS_NUM_THREADS=2 "$BUILD/gliclass" train "${common[@]}" --out "$WORK/$name" "$@" \
    2> "$WORK/$name.log" | tail -1 > "$WORK/$name.json"
  end=$(date +%s)
  local trainable
  trainable=$(grep -o '[0-9]* of [0-9]* parameters trainable' "$WORK/$name.log" | head -1 || true)
  python3 - "$name" "$WORK/$name.json" "$((end - start))" "$trainable" "$STEPS" <<'PY' | tee -a docs/lora-debtags.jsonl
import json, sys
name, summary, secs, trainable, steps = sys.argv[1:6]
s = json.load(open(summary))
row = {"run": name, "steps": int(steps), "seconds": int(secs),
       "dev_micro_f1": s.get("dev_micro_f1"), "dev_macro_f1": s.get("dev_macro_f1")}
if trainable:
    t, _, total, _ = trainable.split(" ", 3)
    row["trainable_parameters"], row["parameters"] = int(t), int(total)
print(json.dumps(row))
PY
}

# Baseline: the bundled model as it is.
OPENBLAS_NUM_THREADS=2 "$BUILD/gliclass" eval --model "$MODEL" --data "$DATA/dev.jsonl" --threads 1 --json --quiet \
  | tail -1 | python3 -c 'import json,sys; r=json.load(sys.stdin); print(json.dumps({"run": "bundled model", "dev_micro_f1": r.get("micro_f1")}))' \
  | tee -a docs/lora-debtags.jsonl
run full --encoder-lr 5e-5 --others-lr 5e-5
run lora --lora r=16,alpha=32,targets=query_proj,key_proj,value_proj,dense --encoder-lr 1e-3 --others-lr 5e-5
