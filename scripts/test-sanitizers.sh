#!/usr/bin/env bash
# The test suite under sanitizers, each in its own build directory (-O1, every
# target instrumented; any sanitizer report fails the run):
#   build-asan  AddressSanitizer (with LeakSanitizer) + UndefinedBehaviorSanitizer:
#               every test except the few long ones that repeat, at scale,
#               paths the others cover (ASAN_FILTER);
#   build-tsan  ThreadSanitizer: the tests that drive the library, its label
#               cache and the server from many threads at once (TSAN_FILTER).
# Usage: scripts/test-sanitizers.sh [asan|tsan|all]
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-all}
jobs=$(nproc)
supp="$PWD/tests/sanitizers"

# gtest filters. ASan: all but the long scale tests (their paths are covered by
# smaller ones); TSan: the tests that run many threads through one Classifier,
# its label cache, the server's batcher and its shutdown.
ASAN_FILTER='-Chunking.AHugeTextAgainstThousandsOfLabelsCompletes:Cli.InfoDescribesEveryArchitecture:RuntimeLinear/LowPrecisionClassifier.*:ClassifierBatch.ScoresDoNotDependOnBatchCompany:UniEncoderParity.PaddedBatchEqualsEachInputAlone'
TSAN_FILTER='ClassifierThreads.*:LabelCache.*:ServerBatching.*:ServerShutdown.*'

build() {  # build DIR SANITIZERS
  cmake -S . -B "$1" -DGLICLASS_SANITIZE="$2" -DGLICLASS_BUILD_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-O1 >/dev/null
  cmake --build "$1" -j"$jobs"
}

# One process per shard ($jobs shards in parallel): a sanitized LibTorch takes
# seconds to start, so one process per test (ctest) would spend most of the
# time starting. Prints the failing shards' logs; fails if any shard failed.
run_shards() {  # run_shards DIR FILTER [pin]
  local pids=() failed=0
  for ((i = 0; i < jobs; ++i)); do
    local pin=()
    [ "${3:-}" = pin ] && pin=(taskset -c "$i")
    GTEST_TOTAL_SHARDS=$jobs GTEST_SHARD_INDEX=$i "${pin[@]}" "$1/gliclass_tests" --gtest_filter="$2" \
      >"$1/shard-$i.log" 2>&1 &
    pids+=($!)
  done
  for ((i = 0; i < jobs; ++i)); do
    if ! wait "${pids[$i]}"; then
      failed=1
      echo "== $1 shard $i failed:" && tail -n 200 "$1/shard-$i.log"
    fi
  done
  for ((i = 0; i < jobs; ++i)); do grep -E '^\[  (PASSED|FAILED|SKIPPED) ' "$1/shard-$i.log" || true; done
  return $failed
}

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1"
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$supp/tsan.supp"

if [ "$which" = asan ] || [ "$which" = all ]; then
  build build-asan address,undefined
  run_shards build-asan "$ASAN_FILTER"
fi
if [ "$which" = tsan ] || [ "$which" = all ]; then
  build build-tsan thread
  # Each shard pinned to one CPU: the library then runs LibTorch with one
  # intra-op thread (its default is every CPU it may use), so no OpenMP worker
  # threads exist. libgomp is not instrumented, and TSan, blind to its fork and
  # barrier, would report every tensor an OpenMP task writes as a race. The
  # test threads (callers, server workers, batcher) still interleave.
  run_shards build-tsan "$TSAN_FILTER" pin
fi
