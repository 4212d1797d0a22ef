#!/usr/bin/env bash
# PPO against more supervised training in a data-sparse setting, on
# ../shared/data/debtags. A model initialised at random (the bundled model's
# recipe and tokenizer) is trained supervised on a 256-example slice of train
# (the warm start); from there, per seed, (a) more supervised epochs on the
# slice and (b) PPO with the F1 reward on the slice, with the same number of
# example passes. Dev micro-F1 on the first DEV_N dev examples; one JSON line
# per run appended to docs/ppo-debtags.jsonl, then the mean and spread.
# Usage: experiments/ppo-debtags.sh [WORK_DIR]   (BUILD=dir for another build;
# SEEDS="1 2 3" and RUNS="supervised ppo" choose what to (re)run)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${BUILD:-build}"
DATA=../shared/data/debtags
WORK="${1:-/tmp/gliclass-ppo-debtags}"
SLICE=256 DEV_N="${DEV_N:-400}" EPOCHS=4 SEEDS="${SEEDS:-1 2 3}" RUNS="${RUNS:-supervised ppo}"
mkdir -p "$WORK" docs
export OPENBLAS_NUM_THREADS=2
G="$BUILD/gliclass"

python3 - "$DATA" "$WORK" "$SLICE" "$DEV_N" <<'PY'
import json, random, sys
data, work, n, dev_n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
train = open(f"{data}/train.jsonl").read().splitlines()
random.Random(0).shuffle(train)
open(f"{work}/slice.jsonl", "w").write("\n".join(train[:n]) + "\n")
dev = open(f"{data}/dev.jsonl").read().splitlines()[:dev_n]
open(f"{work}/dev.jsonl", "w").write("\n".join(dev) + "\n")
PY

common=(--max-length 256 --threads 1 --quiet)
if [ ! -f "$WORK/warm/last/model.safetensors" ]; then
  "$G" init --config models/recipes/gliclass-debtags-tiny.config.json --tokenizer models/gliclass-debtags-tiny \
    --out "$WORK/init" --seed 42 > /dev/null
  "$G" train --model "$WORK/init" --data "$WORK/slice.jsonl" --out "$WORK/warm" --epochs 10 --batch-size 16 \
    --encoder-lr 5e-4 --others-lr 5e-4 --aug-examples 0 --aug-add-text 0 --save-steps 0 --seed 42 "${common[@]}" > /dev/null
fi
warm_f1=$("$G" eval --model "$WORK/warm/last" --data "$WORK/dev.jsonl" --json --quiet --threads 1 | tail -1 |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["micro_f1"])')
echo "{\"run\": \"warm start\", \"dev_micro_f1\": $warm_f1, \"dev_examples\": $DEV_N}" | tee -a docs/ppo-debtags.jsonl

steps=$(( (SLICE + 15) / 16 * EPOCHS ))
for seed in $SEEDS; do
  [[ " $RUNS " == *" supervised "* ]] && "$G" train --model "$WORK/warm/last" --data "$WORK/slice.jsonl" --dev "$WORK/dev.jsonl" --out "$WORK/sup-$seed" \
    --max-steps "$steps" --batch-size 16 --encoder-lr 5e-4 --others-lr 5e-4 --aug-examples 0 --aug-add-text 0 \
    --save-steps 0 --seed "$seed" "${common[@]}" | tail -1 |
    python3 -c "import json,sys; r=json.load(sys.stdin); print(json.dumps({'run': 'supervised', 'seed': $seed, 'dev_micro_f1': r['dev_micro_f1']}))" |
    tee -a docs/ppo-debtags.jsonl
  [[ " $RUNS " == *" ppo "* ]] && "$G" train-rl --model "$WORK/warm/last" --data "$WORK/slice.jsonl" --dev "$WORK/dev.jsonl" --out "$WORK/ppo-$seed" \
    --max-steps "$steps" --batch-size 16 --encoder-lr 5e-4 --others-lr 5e-4 --rewards f1 --num-rl-iters 2 \
    --kl-beta 0.05 --save-steps 0 --seed "$seed" "${common[@]}" | tail -1 |
    python3 -c "import json,sys; r=json.load(sys.stdin); print(json.dumps({'run': 'ppo', 'seed': $seed, 'dev_micro_f1': r['dev_micro_f1'], 'reward': r['reward']}))" |
    tee -a docs/ppo-debtags.jsonl
done
python3 - <<'PY'
import json, statistics
rows = [json.loads(l) for l in open("docs/ppo-debtags.jsonl")]
for run in ("supervised", "ppo"):
    f = [r["dev_micro_f1"] for r in rows if r["run"] == run][-3:]
    if f:
        print(json.dumps({"run": run, "seeds": len(f), "mean": statistics.mean(f),
                          "spread": (max(f) - min(f)) / 2, "min": min(f), "max": max(f)}))
PY
