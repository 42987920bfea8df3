#!/usr/bin/env bash
# Configures, builds and runs the whole test suite through CTest (unit, integration with real
# git, interop with the age CLI and the Node peers). Pass extra CTest arguments, e.g. -R age.
set -euo pipefail
cd "$(dirname "$0")/.."
# The same Release tree install.sh builds, so CI compiles every object once.
BUILD_DIR=${BUILD_DIR:-build/release}
SHARED=${SHARED:-$(cd .. && pwd)/shared}

cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-Release} \
      -DGITSOPS_SHARED="$SHARED" ${CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD_DIR"

# The interop peers install into the build tree (../shared is read-only in CI).
if [ -f "$SHARED/peers/install.sh" ]; then
  bash "$SHARED/peers/install.sh" "$BUILD_DIR/peers" >/dev/null
fi

cd "$BUILD_DIR"
ctest --output-on-failure -j "$(nproc)" "$@"
