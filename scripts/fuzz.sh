#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang++ with ASan + UBSan) in their own
# build directory and runs one, or all in turn, for a time each on a corpus
# seeded from ../shared/golden (copied; ../shared is never written).
#
#   scripts/fuzz.sh TARGET|all [SECONDS=600] [libFuzzer flags...]
#   scripts/fuzz.sh list
#
# Each run stops after SECONDS or 10^6 executions, whichever comes first, and
# ends with a line "fuzz: TARGET seconds=.. execs=.. cov=.. ft=.. result=..".
# Crashing inputs are left in build-fuzz/artifacts/TARGET/. docs/hardening.md
# has the targets and the results.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${GLICLASS_SHARED_DIR:-$ROOT/../shared}
BUILD=${GLICLASS_FUZZ_BUILD:-$ROOT/build-fuzz}
TARGETS=(safetensors config tokenizer_json spm_model tokenizer_encode jsonl_input server_body)
[ -f "$ROOT/fuzz/fuzz_torch_bin.cpp" ] && TARGETS+=(torch_bin)

if [ $# -lt 1 ]; then
  echo "usage: scripts/fuzz.sh TARGET|all|list [SECONDS] [libFuzzer flags...]" >&2
  exit 64
fi
what=$1
seconds=${2:-600}
shift $(( $# >= 2 ? 2 : 1 ))
if [ "$what" = list ]; then printf '%s\n' "${TARGETS[@]}"; exit 0; fi

# clang and the libFuzzer / sanitizer runtimes (libclang_rt.fuzzer-x86_64.a).
bash "$ROOT/scripts/install-deps.sh" clang libclang-rt-14-dev

# The server target needs a whole Classifier: it links the normal build's
# library (built first, under the build lock) when there is one, else a copy
# built here; GLICLASS_FUZZ_LIBRARY=path/libgliclass.so names another.
lib_flag=()
if [ -n "${GLICLASS_FUZZ_LIBRARY:-}" ]; then
  lib_flag=(-DGLICLASS_FUZZ_LIBRARY="$GLICLASS_FUZZ_LIBRARY")
elif [ -f "$ROOT/build/CMakeCache.txt" ]; then
  if [ "$what" = all ] || [ "$what" = server_body ]; then
    flock /tmp/gliclass-build.lock cmake --build "$ROOT/build" --target gliclass -j2 >/dev/null
  fi
  lib_flag=(-DGLICLASS_FUZZ_LIBRARY="$ROOT/build/libgliclass.so")
fi
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGLICLASS_FUZZ=ON \
    -DGLICLASS_BUILD_TESTS=OFF -DGLICLASS_BUILD_BENCH=OFF "${lib_flag[@]}" >/dev/null
fi

# Seeds: files of ../shared/golden (and the bundled model), into CORPUS.
seed() {
  local target=$1 corpus=$2 golden=$SHARED/golden
  mkdir -p "$corpus"
  [ -d "$golden" ] || { echo "fuzz: $golden is absent; $target starts from an empty corpus" >&2; return 0; }
  local n=0
  put() { cp -f "$1" "$corpus/seed-$(sha1sum < "$1" | cut -c1-16)"; }
  case $target in
    safetensors) for f in "$golden"/*/model.safetensors; do put "$f"; done ;;
    config) for f in "$golden"/*/config.json "$ROOT"/models/*/config.json; do put "$f"; done ;;
    tokenizer_json) for f in "$golden"/*/tokenizer.json "$golden"/tokenizers/*/tokenizer.json; do put "$f"; done ;;
    spm_model) for f in "$golden"/*/*.model "$golden"/tokenizers/*/*.model; do put "$f"; done ;;
    tokenizer_encode)
      for f in "$golden"/tokenizers/*/token_goldens.json; do
        jq -r '.strings[].text | @base64' "$f" | while read -r b; do
          n=$((n + 1)); printf '%s' "$b" | base64 -d > "$corpus/seed-text-$n"; put "$corpus/seed-text-$n"
          rm -f "$corpus/seed-text-$n"
        done
      done ;;
    jsonl_input)
      for f in "$golden"/*/cases.json; do
        local d; d=$(basename "$(dirname "$f")")
        jq -c '.inputs[]? | {id, text, labels, prompt, examples}' "$f" > "$corpus/$d.jsonl.tmp" || true
        { echo "id,text,labels"; jq -r '.inputs[]? | [.id, .text, ((.labels // []) | join(","))] | @csv' "$f"; } \
          > "$corpus/$d.csv.tmp" || true
        put "$corpus/$d.jsonl.tmp"; put "$corpus/$d.csv.tmp"; rm -f "$corpus/$d".*.tmp
      done ;;
    server_body)
      for f in "$golden"/*/cases.json; do
        jq -c '.inputs[]? | {texts: [.text], labels, prompt, examples, threshold: 0.5}' "$f" |
          while read -r line; do n=$((n + 1)); printf '%s' "$line" > "$corpus/body.tmp"; put "$corpus/body.tmp"; done
        jq -c '{texts: [.inputs[]?.text], labels: (.inputs[0].labels // ["a"]), all_scores: true}' "$f" > "$corpus/body.tmp"
        put "$corpus/body.tmp"
      done
      rm -f "$corpus/body.tmp" ;;
    torch_bin)
      for f in "$golden"/*/pytorch_model_bin/*.bin "$golden"/*/pytorch_model.bin "$ROOT"/tests/data/torch_bin/*.bin; do
        [ -f "$f" ] && put "$f"
      done ;;
  esac
  true
}

run_one() {
  local target=$1 corpus=$BUILD/corpus/$1 artifacts=$BUILD/artifacts/$1/ log=$BUILD/logs/$1.log
  shift
  cmake --build "$BUILD" --target "fuzz_$target" -j"${GLICLASS_FUZZ_JOBS:-2}"
  seed "$target" "$corpus"
  mkdir -p "$artifacts" "$(dirname "$log")"
  echo "fuzz: running $target for up to ${seconds}s (log $log)" >&2
  local rc=0
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$BUILD/fuzz/fuzz_$target" "$corpus" -max_total_time="$seconds" -runs=1000000 -timeout=10 \
      -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$artifacts" "$@" > "$log" 2>&1 || rc=$?
  local execs cov ft
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -oE '(cov|ft): [0-9]+' "$log" | grep '^cov' | tail -1 | cut -d' ' -f2)
  ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  local secs; secs=$(sed -n 's/.*Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  echo "fuzz: $target seconds=${secs:-?} execs=${execs:-?} cov=${cov:-?} ft=${ft:-?} result=$([ $rc -eq 0 ] && echo ok || echo "FAILED rc=$rc, see $log and $artifacts")"
  return $rc
}

status=0
if [ "$what" = all ]; then
  for t in "${TARGETS[@]}"; do run_one "$t" "$@" || status=1; done
else
  printf '%s\n' "${TARGETS[@]}" | grep -qx "$what" || { echo "fuzz: unknown target '$what' (scripts/fuzz.sh list)" >&2; exit 64; }
  run_one "$what" "$@" || status=1
fi
exit $status
