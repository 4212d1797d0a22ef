#!/usr/bin/env bash
# Peak resident memory of `gliclass serve` under a fixed mix of requests, against
# issue 11's bound (1.2 x the weight files + 200 MB). Starts the server, sends
# REQUESTS requests one after another (1-8 texts of 20-200 words, 2-16 labels;
# the same mix every run), reads the server's VmHWM and prints one JSON line.
#
#   bash scripts/serving-memory.sh MODEL_DIR [REQUESTS=20] [BUILD_DIR=build] [-- serve flags...]
#
# A random-weight model of a published shape:
#   build/gliclass init --config ../shared/bench-models/small/config.json --out /tmp/small
set -euo pipefail
cd "$(dirname "$0")/.."
positional=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do positional+=("$1") && shift; done
[ $# -gt 0 ] && shift  # the "--": what follows goes to gliclass serve
model=${positional[0]:?usage: serving-memory.sh MODEL_DIR [REQUESTS] [BUILD_DIR] [-- serve flags]}
requests=${positional[1]:-20}
build=${positional[2]:-build}
command -v jq > /dev/null || bash scripts/install-deps.sh jq
command -v curl > /dev/null || bash scripts/install-deps.sh curl

port=$((20000 + RANDOM % 20000))
log=$(mktemp)
"$build/gliclass" serve --model "$model" --port "$port" "$@" 2> "$log" &
pid=$!
trap 'kill $pid 2> /dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 600); do
  curl -sf "localhost:$port/health" > /dev/null && break
  kill -0 $pid 2> /dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.2
done
kib() { awk -v k="$1" '$1 == k":" { print $2 }' "/proc/$pid/status"; }
after_load=$(kib VmRSS)

# The requests, one per line: texts, labels, body (awk's seeded generator: the same
# requests every run).
bodies=$(awk -v n="$requests" 'BEGIN {
  srand(11)
  nw = split("the market team won lost policy new phone battery rain storm doctor hospital " \
    "vaccine court judge ruling election vote price rose fell sharply after before during season " \
    "final goal stadium crowd engine software update bug release movie actor award festival " \
    "music album tour bank rates", w, " ")
  split("sports politics technology health finance weather law entertainment education science " \
    "travel food music business crime environment religion fashion gaming automotive", l, " ")
  for (r = 1; r <= n; r++) {
    texts = 1 + int(rand() * 8); body = "{\"texts\": ["
    for (t = 1; t <= texts; t++) {
      words = 20 + int(rand() * 181); s = ""
      for (i = 1; i <= words; i++) s = s (i > 1 ? " " : "") w[1 + int(rand() * nw)]
      body = body (t > 1 ? ", " : "") "\"" s "\""
    }
    first = int(rand() * 5); labels = 2 + int(rand() * 15); body = body "], \"labels\": ["
    for (j = 0; j < labels; j++) body = body (j ? ", " : "") "\"" l[1 + first + j] "\""
    print texts "\t" labels "\t" body "]}"
  }
}')
start=$EPOCHREALTIME
i=0
while IFS=$'\t' read -r texts labels body; do
  curl -sf "localhost:$port/v1/classify" -d "$body" > /dev/null
  echo "request $((i += 1))/$requests: $texts texts, $labels labels, RSS $(($(kib VmRSS) / 1024)) MiB, peak $(($(kib VmHWM) / 1024)) MiB" >&2
done <<< "$bodies"
seconds=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')

weights=$(find "$model" -maxdepth 1 \( -name '*.safetensors' -o -name '*.bin' \) -printf '%s\n' | awk '{ s += $1 } END { print s }')
jq -cn --arg model "$model" --argjson weights "$weights" --argjson after "$after_load" \
  --argjson peak "$(kib VmHWM)" --argjson requests "$requests" --argjson seconds "$seconds" \
  --arg flags "$*" '{model: $model, serve_flags: $flags, requests: $requests, seconds: $seconds,
    weights_mib: ($weights / 1048576), rss_after_load_mib: ($after / 1024),
    peak_rss_mib: ($peak / 1024), bound_mib: ((1.2 * $weights + 200e6) / 1048576)}
    | .within_bound = (.peak_rss_mib <= .bound_mib)'
