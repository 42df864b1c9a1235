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
# BENCH_NO_BUILD=1 neither sets up nor builds: it measures the build/ that is there
# (the Python module in python/theanine/, bench/cpp's programs in build/).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
  bash scripts/setup.sh
  bash scripts/build.sh  # also builds bench/cpp/*.cc (the C++ call overhead) into build/
fi

if [ "${BENCH_NO_INSTALL:-0}" != 1 ]; then
  # One at a time, so that one failure (torch's wheel is large) skips one peer only.
  for pkg in matplotlib jax pytensor torch; do
    if ! "$PY" -c "import ${pkg}" 2>/dev/null; then
      echo "bench: installing ${pkg} from PyPI"
      "$PY" -m pip install -q "${pkg}" || echo "bench: could not install ${pkg}; its peer is skipped"
    fi
  done
fi

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
