#!/usr/bin/env bash
# The GPU check: builds theanine on a machine with an NVIDIA GPU, runs the CUDA
# tests (C++ and Python, the op tests on the device), trains the examples on the
# device next to their CPU accuracy, and runs the GPU benchmarks (bench/gpu.py).
#
# On a lent device machine (see the device tool's README; 10 minutes a call,
# files back from $OUT only, at most 8):
#   1. here, once per checkout:   scripts/gpu_check.sh --pack
#      .gpu_carry/ (git-ignored, about 35 MB) gets GoogleTest and zlib for device
#      images that lack them, Fashion-MNIST, and the CPU accuracy of the example
#      runs below measured here (the device image may lack LLVM and OpenBLAS, so
#      its CPU path would be the slow interpreter).
#   2. two calls of the device tool, one right after the other:
#      run(command="scripts/gpu_check.sh --stage build,test", carry=[".gpu_carry"], timeout_s=600)
#      run(command="scripts/gpu_check.sh --stage bench", carry=[".gpu_carry"], timeout_s=600)
#      The second call reuses build-gpu/ when the machine is still warm (it stays
#      so for about 30 s after a call) and builds again when it is not: both fit.
#      One call, `scripts/gpu_check.sh` (--stage all), runs in this order what
#      fits in its budget: build, C++ CUDA suites, Python device tests,
#      bench/gpu.py, the examples, cuda_bench, the op tests, the NVRTC check.
#   The summary is the last lines of the output and $OUT/summary.txt; a call
#   writes at most these 7 files to $OUT: summary.txt, build.log, cpp_tests.log,
#   python_tests.log, bench.log (the examples' output, bench/gpu.py's progress,
#   cuda_bench), gpu_bench.md (the benchmark table), gpu_bench.json (every sample).
#
# Stages and their time on a 16-core machine (estimates; the script keeps to
# its budget, THEANINE_GPU_CHECK_SECONDS (default 570): each step has a cap and
# is skipped with a note when too little time is left):
#   build  configure build-gpu/ (tests, examples, the Python module when the
#          interpreter's headers are there; LLVM and OpenBLAS used when found,
#          else the CPU runs the interpreter and naive GEMM loops) and build:
#          2-4 min cold, seconds warm.
#   test   C++ CUDA suites with THEANINE_REQUIRE_CUDA=1 (~1 min); the Python
#          device tests tests/python/test_cuda_device.py (~30 s); the op tests
#          with THEANINE_TEST_DEVICE=cuda, one file at a time, each with an
#          equal share of a 4-minute budget (2.5 with --quick or in one call
#          with the bench), pass/fail counts per file; then, if 2 minutes are
#          left, the whole C++ suite with every kernel it generates compiled by
#          NVRTC for this GPU and for sm_90.
#   bench  the examples with --device cuda (Python MLP 2 epochs and CNN 1 epoch
#          on Fashion-MNIST, C++ MLP 1 epoch on 10000 images; ~1-2 min), each
#          Python one beside the CPU accuracy of the same run (a difference over
#          2 points fails); bench/gpu.py (~1.5 min); cuda_bench (~20 s).
# A step that fails sets the exit status; one cut short by its budget is listed
# as incomplete and does not.
#
# Options: --pack (see above), --stage build|test|bench|all or a comma list
# (default all), --quick (smaller budgets, bench/gpu.py --quick, examples on
# 10000 images, no whole-suite NVRTC check), --jobs N.
# Environment: THEANINE_GPU_CHECK_BUILD (build folder, default build-gpu),
# THEANINE_GPU_CHECK_CMAKE_ARGS (more cmake arguments), THEANINE_GPU_CHECK_SECONDS,
# PYTHON (default python3), THEANINE_CUDA_EMULATOR (the software CUDA device of
# tests/cuda_emu, to shake out this script without a GPU). Exit status 0 when
# every step that ran passed. Idempotent: a second run rebuilds nothing that is
# built and writes the same files.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
PY=${PYTHON:-python3}
carry=.gpu_carry

# The example runs, the same here (CPU baseline, --pack) and there (--device cuda).
MLP_FLAGS=(--epochs 2)
CNN_FLAGS=(--epochs 1)
CC_MLP_FLAGS=(--epochs 1 --limit 10000)
QUICK_LIMIT=(--limit 10000)
OP_TESTS=(test_elemwise.py test_reduce.py test_blas.py test_nnet.py test_conv.py test_pool.py
          test_random.py test_subtensor.py test_shape_ops.py test_updates.py)

# ---- --pack: what must travel ----------------------------------------------------------

# The CPU test accuracy of an example run here, one line per run in the baseline
# file: "<name> <flags...>|<accuracy>|<s/epoch>".
baseline_line() {
  local name=$1; shift
  local out
  out=$(cd "$tmp" && "$PY" "$root/examples/$name" --device cpu --data "$root/$carry/fashion-mnist" \
        --save "$tmp/p.npz" --plot "$tmp/p.png" --overwrite "$@" 2>/dev/null) || return 1
  local acc sec
  acc=$(grep -oP '^test accuracy: \K[\d.]+' <<< "$out")
  sec=$(grep -oP ', \K[\d.]+(?= s/epoch)' <<< "$out" | tail -1)
  echo "$name $*|$acc|$sec"
}

if [[ "${1:-}" == "--pack" ]]; then
  rm -rf "${carry:?}/usr" && mkdir -p "$carry/usr/include" "$carry/usr/lib/x86_64-linux-gnu/cmake"
  gtest_cmake=$(ls -d /usr/lib/x86_64-linux-gnu/cmake/GTest 2>/dev/null || true)
  if [[ -z "$gtest_cmake" ]]; then
    echo "gpu_check --pack: no GoogleTest here (apt-get install libgtest-dev)" >&2
    exit 2
  fi
  cp -r /usr/include/gtest /usr/include/gmock "$carry/usr/include/"
  cp -r "$gtest_cmake" "$carry/usr/lib/x86_64-linux-gnu/cmake/"
  cp /usr/lib/x86_64-linux-gnu/libgtest*.a /usr/lib/x86_64-linux-gnu/libgmock*.a \
    "$carry/usr/lib/x86_64-linux-gnu/"
  cp /usr/include/zlib.h /usr/include/zconf.h "$carry/usr/include/"
  cp /usr/lib/x86_64-linux-gnu/libz.a "$carry/usr/lib/x86_64-linux-gnu/"
  # Fashion-MNIST (Debian's dataset-fashion-mnist, 30 MB gzipped), all of it.
  data=/usr/share/datasets/fashion-mnist
  if [[ -f $data/train-images-idx3-ubyte.gz ]]; then
    mkdir -p "$carry/fashion-mnist" && cp "$data"/*-ubyte.gz "$carry/fashion-mnist/"
  else
    echo "gpu_check --pack: no $data (apt-get install dataset-fashion-mnist); the" \
         "device machine trains on synthetic data instead" >&2
    rm -rf "$carry/fashion-mnist"
  fi
  # The CPU accuracy of the example runs, with the theanine module this checkout
  # uses (THEANINE_CORE_PATH, else python/theanine/).
  rm -f "$carry/cpu_baseline.txt"
  if [[ -d $carry/fashion-mnist ]] &&
     PYTHONPATH="$root/python" "$PY" -c "import theanine" 2>/dev/null; then
    tmp=$(mktemp -d)
    export PYTHONPATH="$root/python"
    {
      baseline_line mnist_mlp.py "${MLP_FLAGS[@]}"
      baseline_line mnist_cnn.py "${CNN_FLAGS[@]}"
      baseline_line mnist_mlp.py "${MLP_FLAGS[@]}" "${QUICK_LIMIT[@]}"
      baseline_line mnist_cnn.py "${CNN_FLAGS[@]}" "${QUICK_LIMIT[@]}"
    } > "$carry/cpu_baseline.txt" || echo "gpu_check --pack: a CPU baseline run failed" >&2
    rm -rf "$tmp"
    echo "gpu_check --pack: CPU baselines:"; sed 's/^/  /' "$carry/cpu_baseline.txt"
  else
    echo "gpu_check --pack: no theanine module here (build it, or set THEANINE_CORE_PATH):" \
         "no CPU baselines; the device machine runs them itself" >&2
  fi
  exclude=$(git rev-parse --git-path info/exclude 2>/dev/null || echo .git/info/exclude)
  mkdir -p "$(dirname "$exclude")"
  grep -qx "/$carry/" "$exclude" 2>/dev/null || echo "/$carry/" >> "$exclude"
  # What travels: the tracked and untracked-not-ignored files, and the carry.
  tree=$( (git ls-files -z; git ls-files -z --others --exclude-standard) |
          xargs -0 -r stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}')
  carried=$(du -sb "$carry" | cut -f1)
  total=$(( (tree + carried) / 1048576 ))
  echo "gpu_check --pack: $(du -sh "$carry" | cut -f1) in $carry; with the working tree" \
       "about $total MiB travel (the limit is 64 MiB)"
  (( total < 64 )) || { echo "gpu_check --pack: over the 64 MiB limit" >&2; exit 1; }
  exit 0
fi

# ---- options ---------------------------------------------------------------------------

stages=all
quick=0
jobs=$(nproc 2>/dev/null || echo 4)
while [[ $# -gt 0 ]]; do
  case "$1" in
    --stage) stages="$2"; shift ;;
    --stage=*) stages="${1#--stage=}" ;;
    --quick) quick=1 ;;
    --jobs) jobs="$2"; shift ;;
    *) echo "usage: gpu_check.sh --pack | [--stage build|test|bench|all[,...]] [--quick]" \
            "[--jobs N]" >&2; exit 2 ;;
  esac
  shift
done
[[ $stages == all ]] && stages=build,test,bench
for s in ${stages//,/ }; do
  [[ $s =~ ^(build|test|bench)$ ]] || { echo "gpu_check: unknown stage '$s'" >&2; exit 2; }
done
want() { [[ ",$stages," == *",$1,"* ]]; }
# One call doing both test and bench: the figures come before the long tests
# (see the end), which share what is left.
both=0; want test && want bench && both=1

start=$(date +%s)
deadline=$(( start + ${THEANINE_GPU_CHECK_SECONDS:-570} ))
remaining() { echo $(( deadline - $(date +%s) )); }
# The seconds a step may take: its cap, or what is left less a reserve for the
# summary.
budget() { local left=$(( $(remaining) - 15 )); (( left < $1 )) && echo "$left" || echo "$1"; }

out=${OUT:-$root/build-gpu-out}
mkdir -p "$out"
build=${THEANINE_GPU_CHECK_BUILD:-build-gpu}
summary="$out/summary.txt"
# This run's files only (a local $OUT persists between runs).
rm -f "$out"/{summary.txt,build.log,cpp_tests.log,python_tests.log,bench.log,gpu_bench.md,gpu_bench.json}
: > "$summary"
status=0
note() { echo "$*" | tee -a "$summary"; }
fail() { note "FAIL: $*"; status=1; }
skip() { note "SKIP: $* ($(remaining) s left)"; }
since() { echo "$(( $(date +%s) - $1 )) s"; }

note "gpu_check --stage $stages$([[ $quick == 1 ]] && echo " --quick") on $(hostname) at $(date -u +%FT%TZ)"
if command -v nvidia-smi >/dev/null; then
  note "gpu: $(nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader 2>&1 | head -1)"
else
  note "gpu: nvidia-smi not found"
fi
[[ -n ${THEANINE_CUDA_EMULATOR:-} ]] && note "emulator: THEANINE_CUDA_EMULATOR=$THEANINE_CUDA_EMULATOR (figures mean nothing)"
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
export THEANINE_CACHE_DIR="$root/$build/kernel-cache"
export PYTHONPATH="$root/python${PYTHONPATH:+:$PYTHONPATH}"
export THEANINE_CORE_PATH="$root/$build/pkg"
export PYTHONUNBUFFERED=1

# ---- build -----------------------------------------------------------------------------

have_python=0
have_examples=0
do_build() {
  local t0 cmake_args targets have_gtest d
  t0=$(date +%s)
  cmake_args=(-DCMAKE_BUILD_TYPE=Release -DTHEANINE_BUILD_EXAMPLES=ON
              -DTHEANINE_PYTHON_OUT_DIR="$root/$build/pkg")
  # The Python module needs the interpreter's headers (python3.x-dev) and pybind11.
  if "$PY" - <<'EOF' 2>/dev/null
import os, sysconfig, pybind11  # noqa: F401
raise SystemExit(0 if os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")) else 1)
EOF
  then
    cmake_args+=(-DTHEANINE_BUILD_PYTHON=ON -DPython3_EXECUTABLE="$(command -v "$PY")")
    have_python=1
  else
    cmake_args+=(-DTHEANINE_BUILD_PYTHON=OFF)
    note "python: no Python.h or pybind11 for $("$PY" -c 'import sys; print(sys.executable, sys.version.split()[0])' 2>&1):" \
         "the Python module is not built (install python3-dev there); the Python steps are skipped"
  fi
  have_gtest=0
  for d in /usr/lib/x86_64-linux-gnu/cmake/GTest /usr/lib/cmake/GTest /usr/local/lib/cmake/GTest \
           /usr/lib64/cmake/GTest /usr/local/lib64/cmake/GTest; do
    [[ -f $d/GTestConfig.cmake ]] && have_gtest=1
  done
  if [[ $have_gtest == 0 ]]; then
    if [[ -d $carry/usr ]]; then
      cmake_args+=(-DGTest_DIR="$root/$carry/usr/lib/x86_64-linux-gnu/cmake/GTest")
      note "gtest: carried ($carry)"
    else
      fail "no GoogleTest on this machine and no $carry: run scripts/gpu_check.sh --pack here and carry $carry"
      return 1
    fi
  fi
  if [[ ! -f /usr/include/zlib.h && -f $carry/usr/include/zlib.h ]]; then
    cmake_args+=(-DZLIB_INCLUDE_DIR="$root/$carry/usr/include"
                 -DZLIB_LIBRARY="$root/$carry/usr/lib/x86_64-linux-gnu/libz.a")
    note "zlib: carried ($carry)"
  fi
  command -v ninja >/dev/null && cmake_args+=(-G Ninja)
  # shellcheck disable=SC2206
  cmake_args+=(${THEANINE_GPU_CHECK_CMAKE_ARGS:-})
  if ! cmake -S . -B "$build" "${cmake_args[@]}" > "$out/build.log" 2>&1; then
    tail -30 "$out/build.log"
    fail "configure (see build.log)"
    return 1
  fi
  grep -E "^-- theanine:" "$out/build.log" | tee -a "$summary"
  targets=(theanine_tests nvrtc_check cuda_bench mnist_mlp mnist_cnn)
  [[ $have_python == 1 ]] && targets+=(_core)
  if ! timeout -k 10 "$(budget 540)" cmake --build "$build" -j "$jobs" --target "${targets[@]}" \
       >> "$out/build.log" 2>&1; then
    grep -E "error|Error" "$out/build.log" | head -30
    fail "build (see build.log)"
    return 1
  fi
  have_examples=1
  note "build: $(since "$t0")"
}

# ---- test ------------------------------------------------------------------------------

# "P F E S": the passed, failed, errors and skipped of a pytest -v log (also
# of a run that was cut short).
pytest_counts() {
  local lines
  lines=$(grep -E " (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)" "$1" || true)
  if [[ -z $lines ]]; then echo "0 0 0 0"; return; fi
  echo "$(grep -c " PASSED" <<< "$lines") $(grep -c " FAILED" <<< "$lines")" \
       "$(grep -c " ERROR" <<< "$lines") $(grep -cE " (SKIPPED|XFAIL)" <<< "$lines")"
}
counts_text() { echo "$1 passed, $2 failed, $3 errors, $4 skipped"; }

pytest_args=(-v -p no:cacheprovider -o console_output_style=classic)
"$PY" -c "import pytest_timeout" 2>/dev/null && pytest_args+=(--timeout=300)

test_cpp_cuda() {
  local t0=$(date +%s) b rc
  b=$(budget 150)
  (( b < 30 )) && { skip "C++ CUDA suites"; return; }
  THEANINE_REQUIRE_CUDA=1 THEANINE_CUDA_SYNC=1 timeout -k 10 "$b" \
    "./$build/theanine_tests" --gtest_filter='Cuda*' > "$out/cpp_tests.log" 2>&1
  rc=$?
  grep -E "^\[ (device|nvrtc) " "$out/cpp_tests.log" | tee -a "$summary"
  grep -E "^\[  (PASSED|FAILED|SKIPPED) +\]|tests? from .* ran" "$out/cpp_tests.log" | tee -a "$summary"
  if [[ $rc == 124 || $rc == 137 ]]; then
    fail "C++ CUDA suites: out of time after $b s (see cpp_tests.log)"
  elif [[ $rc != 0 ]]; then
    grep -B2 -A6 "Failure" "$out/cpp_tests.log" | head -24
    fail "C++ CUDA suites (see cpp_tests.log)"
  fi
  note "c++ cuda suites: $(since "$t0")"
}

# The whole C++ suite with every kernel it generates written out, then compiled by
# NVRTC for this GPU's arch and for sm_90.
test_cpp_nvrtc() {
  local t0=$(date +%s) b rc kernels arch a
  b=$(budget 200)
  (( b < 120 )) && { skip "whole C++ suite + NVRTC check of its kernels"; return; }
  kernels="$root/$build/cuda-kernels"
  rm -rf "$kernels"
  echo "==== whole C++ suite (THEANINE_CUDA_CHECK_DIR) ====" >> "$out/cpp_tests.log"
  THEANINE_CUDA_CHECK_DIR="$kernels" timeout -k 10 "$(( b * 2 / 3 ))" \
    "./$build/theanine_tests" --gtest_filter='-Cuda*' --gtest_brief=1 >> "$out/cpp_tests.log" 2>&1
  rc=$?
  if [[ $rc == 124 || $rc == 137 ]]; then
    note "c++ suite: cut at $(( b * 2 / 3 )) s (its kernels so far are checked)"
  elif [[ $rc != 0 ]]; then
    fail "whole C++ suite (see cpp_tests.log)"
  fi
  arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '.')
  if [[ -d "$kernels" ]]; then
    echo "==== nvrtc_check ====" >> "$out/cpp_tests.log"
    for a in $(echo "${arch:-90} 90" | tr ' ' '\n' | sort -u); do
      timeout -k 5 "$(budget 60)" "./$build/nvrtc_check" "$kernels" --arch "$a" --jobs "$jobs" \
        >> "$out/cpp_tests.log" 2>&1 || fail "nvrtc_check sm_$a (see cpp_tests.log)"
    done
    grep "^nvrtc_check:" "$out/cpp_tests.log" | tee -a "$summary"
  else
    note "nvrtc_check: no kernels collected"
  fi
  note "c++ suite + nvrtc check: $(since "$t0")"
}

# Runs pytest within `b` seconds (with the environment given before "--"),
# appends its log to python_tests.log, notes the counts and sets `counted` to
# them. A run cut short by its budget is noted as incomplete, not failed.
incomplete=()
run_pytest() {
  local label=$1 b=$2; shift 2
  local envs=() t0=$(date +%s) rc tmp
  while [[ $1 != -- ]]; do envs+=("$1"); shift; done
  shift
  tmp=$(mktemp)
  env "${envs[@]}" timeout -k 10 "$b" "$PY" -m pytest "${pytest_args[@]}" "$@" > "$tmp" 2>&1
  rc=$?
  { echo "==== $label: ${envs[*]} pytest $*, budget $b s, status $rc ===="; cat "$tmp"; } \
    >> "$out/python_tests.log"
  read -r -a counted <<< "$(pytest_counts "$tmp")"
  case $rc in
    0) note "$label: $(counts_text "${counted[@]}") ($(since "$t0"))" ;;
    124|137) note "$label: $(counts_text "${counted[@]}") before its $b s budget ran out"
       incomplete+=("${label//[[:space:]]/}") ;;
    1) note "$label: $(counts_text "${counted[@]}") ($(since "$t0"))"
       grep -E "^(FAILED|ERROR) " "$tmp" | head -20 | tee -a "$summary"
       fail "$label (see python_tests.log)" ;;
    *) grep -m 8 -E "Error|error" "$tmp" | tee -a "$summary"
       fail "$label: pytest could not run it (status $rc, see python_tests.log)" ;;
  esac
  rm -f "$tmp"
  return $rc
}

test_python_device() {
  [[ $have_python == 1 ]] || { skip "Python device tests: no Python module"; return; }
  local b
  b=$(budget 120)
  (( b < 20 )) && { skip "Python device tests"; return; }
  run_pytest "python device tests" "$b" THEANINE_REQUIRE_CUDA=1 THEANINE_CUDA_SYNC=1 -- \
    tests/python/test_cuda_device.py
}

# The op tests with every function on the device, against the same NumPy
# references: one file at a time, each with an equal share of what is left of
# the budget (so every file runs, if only in part), in parallel processes where
# pytest-xdist is there (NVRTC compiles on the CPU).
test_python_ops() {
  [[ $have_python == 1 ]] || { skip "op tests on the device: no Python module"; return; }
  local b xdist=() files=() f cap t0=$(date +%s) end left n total=(0 0 0 0) i
  cap=$([[ $quick == 1 || $both == 1 ]] && echo 150 || echo 240)
  b=$(budget "$cap")
  (( b < 30 )) && { skip "op tests on the device"; return; }
  files=("${OP_TESTS[@]/#/tests/python/}")
  for f in tests/python/test_grad_*.py; do files+=("$f"); done
  "$PY" -c "import xdist" 2>/dev/null && xdist=(-n "$(( jobs < 8 ? jobs : 8 ))")
  note "op tests on the device (THEANINE_TEST_DEVICE=cuda), budget $b s:"
  end=$(( t0 + b ))
  n=${#files[@]}
  for f in "${files[@]}"; do
    left=$(( (end - $(date +%s)) / n ))
    n=$(( n - 1 ))
    if (( left < 5 )); then
      note "  $(basename "$f"): not run (budget spent)"; incomplete+=("$(basename "$f")"); continue
    fi
    run_pytest "  $(basename "$f")" "$left" THEANINE_TEST_DEVICE=cuda THEANINE_CUDA_SYNC=1 -- \
      "${xdist[@]}" "$f"
    for i in 0 1 2 3; do total[i]=$(( total[i] + counted[i] )); done
  done
  note "op tests on the device: $(counts_text "${total[@]}") ($(since "$t0"))"
}

# ---- bench -----------------------------------------------------------------------------

# Fashion-MNIST from the carry or the machine, else a synthetic MNIST-format
# folder (each class a bar at its own height, so a few steps learn it).
data_dir() {
  if [[ -f $carry/fashion-mnist/train-images-idx3-ubyte.gz ]]; then
    echo "$root/$carry/fashion-mnist"
  elif [[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]]; then
    echo /usr/share/datasets/fashion-mnist
  else
    local d="$root/$build/synthetic-mnist"
    "$PY" - "$d" <<'EOF'
import os, struct, sys
import numpy as np
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
rng = np.random.default_rng(0)
for prefix, n in (("train", 60000), ("t10k", 10000)):
    y = rng.integers(0, 10, n).astype(np.uint8)
    x = (rng.random((n, 28, 28)) * 120).astype(np.uint8)
    for k in range(10):
        x[y == k, 2 * k:2 * k + 5, 3:25] = 250
    for name, a in (("images-idx3", x), ("labels-idx1", y)):
        with open(os.path.join(d, f"{prefix}-{name}-ubyte"), "wb") as f:
            f.write(bytes([0, 0, 8, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape) + a.tobytes())
EOF
    echo "$d"
  fi
}

# Runs an example; prints "<accuracy>|<s/epoch>" (empty on failure).
run_example() {
  local log=$1 cap=$2; shift 2
  local b rc o
  b=$(budget "$cap")
  (( b < 20 )) && return 1
  o=$(mktemp)
  echo "==== $* ====" >> "$log"
  (cd "$ex_tmp" && timeout -k 10 "$b" "$@" --save "$ex_tmp/p.npz" --plot "$ex_tmp/p.png" \
     --overwrite > "$o" 2>&1)
  rc=$?
  cat "$o" >> "$log"
  if [[ $rc == 0 ]]; then
    echo "$(grep -oP '^test accuracy: \K[\d.]+' "$o")|$(grep -oP ', \K[\d.]+(?= s/epoch)' "$o" | tail -1)"
  fi
  rm -f "$o"
  return $rc
}

# The CPU accuracy of the same run: the baseline carried by --pack, else run here.
cpu_result() {
  local key="$1 ${*:2}" line
  line=$(grep -F "$key|" "$carry/cpu_baseline.txt" 2>/dev/null | head -1)
  if [[ -n $line && $data == "$root/$carry/fashion-mnist" ]]; then
    echo "${line#*|}|measured here by --pack"
  else
    local r
    r=$(run_example "$out/bench.log" 240 "$PY" "$root/examples/$1" --device cpu --data "$data" "${@:2}") &&
      echo "$r|on this machine"
  fi
}

bench_examples() {
  [[ $have_examples == 1 ]] || { skip "examples: not built"; return; }
  local t0=$(date +%s) log="$out/bench.log" limit=() r c name flags acc cacc csec cwhere
  data=$(data_dir)
  ex_tmp=$(mktemp -d)
  [[ $quick == 1 ]] && limit=("${QUICK_LIMIT[@]}")
  note "examples on $data"
  for name in mnist_mlp.py mnist_cnn.py; do
    [[ $have_python == 1 ]] || break
    if [[ $name == mnist_mlp.py ]]; then flags=("${MLP_FLAGS[@]}" "${limit[@]}"); else flags=("${CNN_FLAGS[@]}" "${limit[@]}"); fi
    if r=$(run_example "$log" 240 "$PY" "$root/examples/$name" --device cuda --data "$data" "${flags[@]}"); then
      acc=${r%|*}
      c=$(cpu_result "$name" "${flags[@]}")
      IFS='|' read -r cacc csec cwhere <<< "$c"
      note "  $name ${flags[*]}: cuda ${acc}% (${r#*|} s/epoch); cpu ${cacc:-?}%" \
           "(${csec:-?} s/epoch, ${cwhere:-the CPU run failed})"
      if [[ -n $cacc ]] && ! awk -v a="$acc" -v b="$cacc" 'BEGIN {d = a - b; exit !(d <= 2 && d >= -2)}'; then
        fail "$name: the CUDA accuracy ${acc}% is more than 2 points from the CPU's ${cacc}%"
      fi
    else
      fail "$name --device cuda (see bench.log)"
    fi
  done
  if r=$(run_example "$log" 120 "$root/$build/mnist_mlp" --device cuda --data "$data" "${CC_MLP_FLAGS[@]}"); then
    note "  C++ mnist_mlp ${CC_MLP_FLAGS[*]}: cuda ${r%|*}% (${r#*|} s/epoch)"
  else
    fail "C++ mnist_mlp --device cuda (see bench.log)"
  fi
  rm -rf "$ex_tmp"
  note "examples: $(since "$t0")"
}

bench_gpu() {
  [[ $have_python == 1 ]] || { skip "bench/gpu.py: no Python module"; return; }
  local t0=$(date +%s) b rc mode=()
  [[ $quick == 1 ]] && mode=(--quick)
  [[ -n ${THEANINE_CUDA_EMULATOR:-} ]] && mode=(--tiny)
  b=$(budget 300)
  (( b < 60 )) && { skip "bench/gpu.py"; return; }
  echo "==== bench/gpu.py ${mode[*]} ====" >> "$out/bench.log"
  timeout -k 10 "$b" "$PY" bench/gpu.py "${mode[@]}" --require --out "$out/gpu_bench.md" \
    --json "$out/gpu_bench.json" >> "$out/bench.log" 2>&1
  rc=$?
  [[ -f $out/gpu_bench.md ]] && grep -E "^\|" "$out/gpu_bench.md" | tee -a "$summary"
  case $rc in
    0) ;;
    124|137) fail "bench/gpu.py: out of time after $b s (see bench.log)" ;;
    *) fail "bench/gpu.py exited with $rc (see bench.log)" ;;
  esac
  note "bench/gpu.py: $(since "$t0")"
}

bench_cuda_tool() {
  local b
  b=$(budget 60)
  (( b < 15 )) && { skip "cuda_bench"; return; }
  local o
  o=$(mktemp)
  echo "==== cuda_bench ====" >> "$out/bench.log"
  local args=()
  [[ -n ${THEANINE_CUDA_EMULATOR:-} ]] && args=(--mib 1)
  timeout -k 5 "$b" "./$build/cuda_bench" "${args[@]}" > "$o" 2>&1 ||
    note "cuda_bench failed or ran out of its $b s (see bench.log)"
  tee -a "$summary" < "$o" >> "$out/bench.log"
  rm -f "$o"
}

# ---- the run ---------------------------------------------------------------------------

do_build || { note "gpu_check: FAILED (build)"; exit 1; }
if [[ $both == 1 ]]; then
  # One call for everything: the core tests, the figures, then the rest while
  # time lasts.
  test_cpp_cuda
  test_python_device
  bench_gpu
  bench_examples
  bench_cuda_tool
  test_python_ops
  [[ $quick == 0 ]] && test_cpp_nvrtc
elif want test; then
  test_cpp_cuda
  test_python_device
  test_python_ops
  [[ $quick == 0 ]] && test_cpp_nvrtc
elif want bench; then
  bench_examples
  bench_gpu
  bench_cuda_tool
fi

n=$(find "$out" -maxdepth 2 -type f | wc -l)
(( n <= 8 )) || note "warning: $n files in \$OUT; only 8 come back"
note "gpu_check: $(since "$start") in all; $(ls "$out" | tr '\n' ' ')"
(( ${#incomplete[@]} )) && note "incomplete (out of time): ${incomplete[*]}"
if [[ $status == 0 ]]; then note "gpu_check: PASSED"; else note "gpu_check: FAILED"; fi
exit $status
