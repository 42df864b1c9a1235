#!/usr/bin/env bash
# Builds the C++ core and tests with AddressSanitizer and UndefinedBehaviorSanitizer
# into build-asan/ and runs the C++ tests there (the documented memory-safety run
# of issue 5). JIT-compiled kernels are not instrumented; their bounds come from
# the shape checks in codegen/kernel_lowering.cc, which these tests exercise.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
if [ ! -f build-asan/build.ninja ]; then
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DTHEANINE_BUILD_PYTHON=OFF -DTHEANINE_BUILD_EXAMPLES=OFF \
    -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
fi
cmake --build build-asan -j "$(nproc)"
# OpenBLAS and LLVM allocate once per process and keep it: leaks are not errors here.
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j "$(nproc)"
