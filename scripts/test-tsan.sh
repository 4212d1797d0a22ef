#!/usr/bin/env bash
# The label cache's tests under ThreadSanitizer: a separate build directory
# (build-tsan) that compiles only that test target.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-tsan -DGLICLASS_TSAN_TESTS=ON -DGLICLASS_BUILD_BENCH=OFF >/dev/null
cmake --build build-tsan --target label_cache_tsan_test -j"$(nproc)"
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" build-tsan/label_cache_tsan_test
