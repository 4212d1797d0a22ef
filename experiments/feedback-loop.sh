#!/usr/bin/env bash
# The human-feedback loop with a simulated reviewer, on ../shared/data/debtags:
# each round scores NEW_N unseen train texts with the current model
# (`gliclass classify --review`), a reviewer marks the shown labels (accepted
# when true, rejected when not) and adds the true labels it missed, and
# `gliclass train-rl --feedback` trains on those judgements. Dev micro-F1
# after every round goes to docs/feedback-loop.jsonl. Starts from the warm
# start of experiments/ppo-debtags.sh (run that first, same WORK_DIR).
# Usage: experiments/feedback-loop.sh [WORK_DIR] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${BUILD:-build}"
DATA=../shared/data/debtags
WORK="${1:-/tmp/gliclass-ppo-debtags}"
ROUNDS="${2:-3}" NEW_N="${NEW_N:-256}"
export OPENBLAS_NUM_THREADS=2
G="$BUILD/gliclass"
model="$WORK/warm/last"
[ -f "$model/model.safetensors" ] || { echo "run experiments/ppo-debtags.sh $WORK first" >&2; exit 1; }

for round in $(seq 1 "$ROUNDS"); do
  # Unseen texts: after the 256-example slice of ppo-debtags.sh, a new block per round.
  python3 - "$DATA" "$WORK" "$round" "$NEW_N" <<'PY'
import json, random, sys
data, work, rnd, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
train = open(f"{data}/train.jsonl").read().splitlines()
random.Random(0).shuffle(train)
block = [json.loads(l) for l in train[256 + (rnd - 1) * n: 256 + rnd * n]]
with open(f"{work}/round{rnd}-texts.jsonl", "w") as out, open(f"{work}/round{rnd}-truth.jsonl", "w") as truth:
    for i, ex in enumerate(block):
        out.write(json.dumps({"id": i, "text": ex["text"], "labels": ex["all_labels"]}) + "\n")
        truth.write(json.dumps(ex["true_labels"]) + "\n")
PY
  "$G" classify --model "$model" --input "$WORK/round$round-texts.jsonl" --review --quiet --threads 1 \
    > "$WORK/round$round-review.jsonl"
  python3 - "$WORK" "$round" <<'PY'
import json, sys
work, rnd = sys.argv[1], sys.argv[2]
truth = [set(json.loads(l)) for l in open(f"{work}/round{rnd}-truth.jsonl")]
with open(f"{work}/round{rnd}-judged.jsonl", "w") as out:
    for line, true in zip(open(f"{work}/round{rnd}-review.jsonl"), truth):
        r = json.loads(line)
        shown = r["labels"]
        r["accepted"] = [l for l in shown if l in true] + sorted(true - set(shown))
        r["rejected"] = [l for l in shown if l not in true]
        out.write(json.dumps(r) + "\n")
PY
  "$G" train-rl --model "$model" --feedback "$WORK/round$round-judged.jsonl" --dev "$WORK/dev.jsonl" \
    --out "$WORK/loop-$round" --epochs 2 --batch-size 16 --encoder-lr 5e-4 --others-lr 5e-4 --num-rl-iters 2 \
    --kl-beta 0.05 --save-steps 0 --seed "$round" --max-length 256 --threads 1 --quiet | tail -1 |
    python3 -c "import json,sys; r=json.load(sys.stdin); print(json.dumps({'round': $round, 'judged_texts': $NEW_N, 'dev_micro_f1': r['dev_micro_f1'], 'reward': r['reward']}))" |
    tee -a docs/feedback-loop.jsonl
  model="$WORK/loop-$round/last"
done
