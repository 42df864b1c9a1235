#!/usr/bin/env bash
# The one-call GPU check: builds theanine on a machine with an NVIDIA GPU and runs
# the CUDA tests there, the GPU ones included (they skip elsewhere).
#
# On a lent device machine (see DEVELOPERS.md and the device tool's README):
#   1. here, once per checkout:  scripts/gpu_check.sh --pack
#      (copies GoogleTest and zlib development files into .gpu_carry/, which git
#      ignores, for device images that lack them: they travel with `carry`)
#   2. one call of the device tool:
#      run(command="scripts/gpu_check.sh", carry=[".gpu_carry"], timeout_s=600)
#   The summary is the last lines of the output; logs and the gtest XML land in
#   $OUT (summary.txt, build.log, cuda_tests.log, cuda_tests.xml, all_tests.log,
#   nvrtc_check.log, bench.txt).
#
# Steps: configure build-gpu/ without the Python module and examples (LLVM and
# OpenBLAS are used when found, left out otherwise), build theanine_tests and
# nvrtc_check, run the CUDA suites with THEANINE_REQUIRE_CUDA=1 (a GPU test that
# would skip fails instead), run the whole C++ suite with THEANINE_CUDA_CHECK_DIR
# set and compile every kernel it generated with NVRTC for the device's arch and
# for sm_90, then print the figures of tests/cpp_tools/cuda_bench.cc. Exit status
# 0 when the tests and checks passed.
#
# Options: --pack (see above), --quick (CUDA suites only), --jobs N.
# Environment: THEANINE_GPU_CHECK_BUILD (build folder, default build-gpu),
# THEANINE_GPU_CHECK_CMAKE_ARGS (more cmake arguments).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if [[ "${1:-}" == "--pack" ]]; then
  carry=.gpu_carry/usr
  rm -rf .gpu_carry && mkdir -p "$carry/include" "$carry/lib/x86_64-linux-gnu"
  gtest_cmake=$(ls -d /usr/lib/x86_64-linux-gnu/cmake/GTest 2>/dev/null || true)
  if [[ -z "$gtest_cmake" ]]; then
    echo "gpu_check --pack: no GoogleTest here (apt-get install libgtest-dev)" >&2
    exit 2
  fi
  cp -r /usr/include/gtest /usr/include/gmock "$carry/include/" 2>/dev/null
  mkdir -p "$carry/lib/x86_64-linux-gnu/cmake"
  cp -r "$gtest_cmake" "$carry/lib/x86_64-linux-gnu/cmake/"
  cp /usr/lib/x86_64-linux-gnu/libgtest*.a /usr/lib/x86_64-linux-gnu/libgmock*.a \
    "$carry/lib/x86_64-linux-gnu/"
  cp /usr/include/zlib.h /usr/include/zconf.h "$carry/include/"
  cp /usr/lib/x86_64-linux-gnu/libz.a "$carry/lib/x86_64-linux-gnu/"
  exclude=$(git rev-parse --git-path info/exclude 2>/dev/null || echo .git/info/exclude)
  mkdir -p "$(dirname "$exclude")"
  grep -qx '/.gpu_carry/' "$exclude" 2>/dev/null || echo '/.gpu_carry/' >> "$exclude"
  echo "gpu_check --pack: $(du -sh .gpu_carry | cut -f1) in .gpu_carry (carry it with the run)"
  exit 0
fi

quick=0
jobs=$(nproc 2>/dev/null || echo 4)
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=1 ;;
    --jobs) jobs="$2"; shift ;;
    *) echo "usage: gpu_check.sh [--pack | --quick] [--jobs N]" >&2; exit 2 ;;
  esac
  shift
done

out=${OUT:-$root/build-gpu-out}
mkdir -p "$out"
build=${THEANINE_GPU_CHECK_BUILD:-build-gpu}
summary="$out/summary.txt"
: > "$summary"
status=0
note() { echo "$*" | tee -a "$summary"; }
fail() { note "FAIL: $*"; status=1; }

note "gpu_check on $(hostname) at $(date -u +%FT%TZ)"
if command -v nvidia-smi >/dev/null; then
  note "gpu: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -1)"
else
  note "gpu: nvidia-smi not found"
fi
export PATH="/usr/local/cuda/bin:$PATH"
for d in /usr/local/nvidia/lib64 /usr/local/cuda/lib64; do
  [[ -d $d ]] && export LD_LIBRARY_PATH="$d:${LD_LIBRARY_PATH:-}"
done
# NVRTC and cuBLAS may come from Python wheels (nvidia-*) rather than a toolkit.
for lib in libnvrtc.so libcublas.so; do
  if ! ls /usr/local/cuda/lib64/$lib.1[23]* >/dev/null 2>&1 && ! ldconfig -p 2>/dev/null | grep -q "$lib.1[23]"; then
    found=$(find /usr/local /opt /usr/lib -name "$lib.1[23]*" 2>/dev/null | head -1)
    if [[ -n "$found" ]]; then
      export LD_LIBRARY_PATH="$(dirname "$found"):${LD_LIBRARY_PATH:-}"
      note "$lib: $found"
    else
      note "$lib: not found"
    fi
  fi
done

# GoogleTest and zlib from the carried folder when the image has none.
cmake_args=(-DCMAKE_BUILD_TYPE=Release -DTHEANINE_BUILD_PYTHON=OFF -DTHEANINE_BUILD_EXAMPLES=OFF)
have_gtest=0
for d in /usr/lib/x86_64-linux-gnu/cmake/GTest /usr/lib/cmake/GTest /usr/local/lib/cmake/GTest \
         /usr/lib64/cmake/GTest /usr/local/lib64/cmake/GTest; do
  [[ -f $d/GTestConfig.cmake ]] && have_gtest=1
done
if [[ $have_gtest == 0 ]]; then
  if [[ -d .gpu_carry/usr ]]; then
    cmake_args+=(-DGTest_DIR="$root/.gpu_carry/usr/lib/x86_64-linux-gnu/cmake/GTest")
    note "gtest: carried (.gpu_carry)"
  else
    fail "no GoogleTest on this machine and no .gpu_carry: run scripts/gpu_check.sh --pack here and carry .gpu_carry"
    exit 1
  fi
fi
if [[ ! -f /usr/include/zlib.h && -f .gpu_carry/usr/include/zlib.h ]]; then
  cmake_args+=(-DZLIB_INCLUDE_DIR="$root/.gpu_carry/usr/include"
               -DZLIB_LIBRARY="$root/.gpu_carry/usr/lib/x86_64-linux-gnu/libz.a")
  note "zlib: carried (.gpu_carry)"
fi
if command -v ninja >/dev/null; then cmake_args+=(-G Ninja); fi
# shellcheck disable=SC2206
cmake_args+=(${THEANINE_GPU_CHECK_CMAKE_ARGS:-})

t0=$(date +%s)
if ! cmake -S . -B "$build" "${cmake_args[@]}" > "$out/build.log" 2>&1; then
  tail -30 "$out/build.log"
  fail "configure (see build.log)"
  exit 1
fi
grep -E "^-- theanine:" "$out/build.log" | tee -a "$summary"
if ! cmake --build "$build" -j "$jobs" --target theanine_tests nvrtc_check cuda_bench >> "$out/build.log" 2>&1; then
  grep -E "error|Error" "$out/build.log" | head -30
  fail "build (see build.log)"
  exit 1
fi
note "build: $(( $(date +%s) - t0 )) s"

# 1. The CUDA suites; on this machine nothing of them may skip.
export THEANINE_REQUIRE_CUDA=1
export THEANINE_CUDA_SYNC=1  # a kernel fault is reported by the kernel that made it
export THEANINE_CACHE_DIR="$root/$build/kernel-cache"
t0=$(date +%s)
"./$build/theanine_tests" --gtest_filter='Cuda*' --gtest_output="xml:$out/cuda_tests.xml" \
  > "$out/cuda_tests.log" 2>&1
rc=$?
grep -E "^\[ (device|nvrtc) " "$out/cuda_tests.log" | tee -a "$summary"
grep -E "^\[  (PASSED|FAILED|SKIPPED) +\]|tests? from .* ran" "$out/cuda_tests.log" | tee -a "$summary"
[[ $rc == 0 ]] || { grep -B2 -A12 "Failure" "$out/cuda_tests.log" | head -80; fail "CUDA tests (see cuda_tests.log)"; }
note "cuda tests: $(( $(date +%s) - t0 )) s"

# 2. Every kernel the whole suite generates, compiled for this GPU and for sm_90.
if [[ $quick == 0 ]]; then
  kernels="$root/$build/cuda-kernels"
  rm -rf "$kernels"
  t0=$(date +%s)
  THEANINE_CUDA_CHECK_DIR="$kernels" "./$build/theanine_tests" --gtest_filter='-Cuda*' \
    > "$out/all_tests.log" 2>&1
  rc=$?
  grep -E "^\[  (PASSED|FAILED) +\]" "$out/all_tests.log" | tee -a "$summary"
  [[ $rc == 0 ]] || fail "C++ suite (see all_tests.log)"
  note "c++ suite: $(( $(date +%s) - t0 )) s"
  arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '.')
  : > "$out/nvrtc_check.log"
  if [[ -d "$kernels" ]]; then
    for a in $(echo "${arch:-90} 90" | tr ' ' '\n' | sort -u); do
      "./$build/nvrtc_check" "$kernels" --arch "$a" >> "$out/nvrtc_check.log" 2>&1 ||
        fail "nvrtc_check sm_$a (see nvrtc_check.log)"
    done
    grep "^nvrtc_check:" "$out/nvrtc_check.log" | tee -a "$summary"
  else
    note "nvrtc_check: no kernels collected (no backend calls record_kernel_for_cuda_check yet)"
  fi
fi

# 3. First figures (not pass/fail): copy bandwidth, emitted kernels, NVRTC times.
env -u THEANINE_CUDA_SYNC "./$build/cuda_bench" > "$out/bench.txt" 2>&1 || note "cuda_bench failed (see bench.txt)"
cat "$out/bench.txt" | tee -a "$summary"

if [[ $status == 0 ]]; then note "gpu_check: PASSED"; else note "gpu_check: FAILED"; fi
exit $status
