#!/usr/bin/env bash
# The benchmark suite in one command: installs what is missing (theanine's build
# dependencies, then the peers from PyPI: matplotlib, JAX, PyTensor, PyTorch), builds
# theanine, and runs bench/run.py. A peer that cannot be installed is reported as
# skipped, with the reason, in the results.
#
#   scripts/bench.sh            the full suite (minutes); publishes the table and
#                               chart to docs/bench/
#   scripts/bench.sh --quick    a few seconds per peer, results in bench/results/ only
#   scripts/bench.sh --full --peers theanine,numpy,torch --data fashion   (run.py's options)
#
# BENCH_NO_INSTALL=1 installs nothing (runs with whichever peers import).
# PyTorch is installed as its CPU wheel (PyTorch's CPU index, else PyPI); where it
# cannot be installed the script says so and the PyTorch rows read "skipped".
# BENCH_NO_BUILD=1 neither sets up nor builds: it measures the build/ that is there
# (the Python module in python/theanine/, bench/cpp's programs in build/).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
  bash scripts/setup.sh
  bash scripts/build.sh  # also builds bench/cpp/*.cc (the C++ call overhead) into build/
fi

# PyTorch's CPU-only wheel (no CUDA libraries): from PyTorch's CPU index, else
# PyPI's torch. BENCH_TORCH_INDEX names another index.
TORCH_INDEX=${BENCH_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}
install() {
  if [ "$1" = torch ]; then
    "$PY" -m pip install -q torch --index-url "$TORCH_INDEX" || "$PY" -m pip install -q torch
  else
    "$PY" -m pip install -q "$1"
  fi
}

if [ "${BENCH_NO_INSTALL:-0}" != 1 ]; then
  # One at a time, so that one failure (torch's wheel is large) skips one peer only.
  for pkg in matplotlib jax pytensor torch; do
    if ! "$PY" -c "import ${pkg}" 2>/dev/null; then
      echo "bench: installing ${pkg}$([ "$pkg" = torch ] && echo " (CPU wheel, $TORCH_INDEX, else PyPI)")"
      install "$pkg" || true
    fi
  done
fi
# Say which peers will run: one that does not import is listed as skipped.
for pkg in torch jax pytensor; do
  if ! "$PY" -c "import ${pkg}" 2>/dev/null; then
    case "$pkg" in
      torch) echo "bench: PyTorch cannot be imported (not installed or installing failed):" \
                  "the comparison with PyTorch is skipped; its rows read 'skipped'" ;;
      *) echo "bench: ${pkg} cannot be imported: its peer is skipped" ;;
    esac
  fi
done

mode=--full
args=()
for a in "$@"; do
  case "$a" in
    --quick|--full) mode=$a ;;
    *) args+=("$a") ;;
  esac
done
publish=()
if [ "$mode" = --full ]; then publish=(--publish docs/bench); fi
exec "$PY" bench/run.py "$mode" "${publish[@]}" "${args[@]}"
