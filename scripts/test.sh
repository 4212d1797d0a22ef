#!/usr/bin/env bash
# Builds and runs the whole test suite, then installs the build and builds the
# example consumer against it. Parity tests read ../shared/golden and skip
# with a message when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
(cd build && ctest --output-on-failure -j"$(nproc)" --timeout 600)
bash scripts/test-sanitizers.sh
bash scripts/test-install.sh build
