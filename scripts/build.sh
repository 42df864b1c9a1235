#!/usr/bin/env bash
# Configures and builds the C++ core, the tests, the examples and the Python
# module into build/ (the module lands in python/theanine/). Reuses the build
# and ccache across runs.
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE="$(command -v python3)" >/dev/null
fi
cmake --build build -j "$(nproc)"
