#!/usr/bin/env bash
# Installs a built tree into a temporary prefix, then builds examples/classify
# against the installed package twice (CMake's find_package(gliclass) and
# pkg-config) and runs both, and the installed CLI, on the bundled model.
#   bash scripts/test-install.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$BUILD" --prefix "$prefix" > /dev/null
model="$prefix/share/gliclass/models/gliclass-debtags-tiny"
text="A command line tool to convert audio files between formats"
labels=("Works with: Audio" "Implemented in: Java" "User Interface: Command Line")

cmake -S examples/classify -B "$prefix/example-cmake" -DCMAKE_PREFIX_PATH="$prefix" > /dev/null
cmake --build "$prefix/example-cmake" > /dev/null
"$prefix/example-cmake/classify_example" "$model" "$text" "${labels[@]}" > "$prefix/cmake.out"

pc_dir=$(dirname "$(find "$prefix" -name gliclass.pc)")
# shellcheck disable=SC2046
c++ -O1 examples/classify/main.cpp -o "$prefix/classify_pkgconfig" $(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs gliclass)
"$prefix/classify_pkgconfig" "$model" "$text" "${labels[@]}" > "$prefix/pkgconfig.out"
cmp "$prefix/cmake.out" "$prefix/pkgconfig.out"

"$prefix/bin/gliclass" classify --labels "$(IFS=,; echo "${labels[*]}")" --all-scores --quiet "$text" > "$prefix/cli.out"
cat "$prefix/cmake.out"
echo "test-install: the installed package builds a consumer (CMake and pkg-config) and the installed CLI runs"
