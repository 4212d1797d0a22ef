#!/usr/bin/env bash
# Builds and runs the whole test suite. Parity tests read ../shared/golden
# and skip with a message when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
cd build
ctest --output-on-failure -j"$(nproc)" --timeout 600
