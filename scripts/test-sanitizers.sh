#!/usr/bin/env bash
# The test suite under sanitizers, each in its own build directory (-O1, every
# target instrumented; any report fails the test that caused it):
#   build-asan  AddressSanitizer (with LeakSanitizer) + UndefinedBehaviorSanitizer:
#               every test except the few long ones that repeat, at scale,
#               paths the others cover (ASAN_EXCLUDE);
#   build-tsan  ThreadSanitizer: the tests that drive the library, its label
#               cache and the server from many threads at once (TSAN_TESTS).
# Usage: scripts/test-sanitizers.sh [asan|tsan|all]
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-all}
jobs=$(nproc)
supp="$PWD/tests/sanitizers"

ASAN_EXCLUDE='^(Chunking\.AHugeTextAgainstThousandsOfLabelsCompletes|Cli\.InfoDescribesEveryArchitecture|RuntimeLinear\.Bf16ClassifierStaysNearFp32OnEveryGoldenCase|ClassifierBatch\.ScoresDoNotDependOnBatchCompany|UniEncoderParity\.PaddedBatchEqualsEachInputAlone)$'
TSAN_TESTS='^(ClassifierThreads|LabelCache|ServerBatching|ServerShutdown)\.'

build() {  # build DIR SANITIZERS
  cmake -S . -B "$1" -DGLICLASS_SANITIZE="$2" -DGLICLASS_BUILD_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-O1 >/dev/null
  cmake --build "$1" -j"$jobs"
}

if [ "$which" = asan ] || [ "$which" = all ]; then
  build build-asan address,undefined
  (cd build-asan &&
    ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0" \
    LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0" \
    UBSAN_OPTIONS="print_stacktrace=1" \
    ctest --output-on-failure -j"$jobs" --timeout 900 -E "$ASAN_EXCLUDE")
fi
if [ "$which" = tsan ] || [ "$which" = all ]; then
  build build-tsan thread
  (cd build-tsan &&
    TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$supp/tsan.supp" \
    ctest --output-on-failure -j"$jobs" --timeout 900 -R "$TSAN_TESTS")
fi
