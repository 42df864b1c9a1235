#!/usr/bin/env bash
# Installs what theanine needs on a fresh Debian 12 machine. Idempotent: it only
# calls apt-get or pip when something is missing, so repeat runs take a second.
set -euo pipefail

DEBIAN_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  llvm-19-dev libopenblas-dev libgtest-dev zlib1g-dev
  dataset-fashion-mnist
)
PYTHON_PACKAGES=(numpy pybind11 scikit-build-core pytest)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

PY=${PYTHON:-python3}
py_missing=()
for p in "${PYTHON_PACKAGES[@]}"; do
  mod=${p//-/_}
  if ! "$PY" -c "import ${mod}" 2>/dev/null; then py_missing+=("$p"); fi
done
if [ ${#py_missing[@]} -gt 0 ]; then
  echo "setup: installing Python packages: ${py_missing[*]}"
  "$PY" -m pip install -q "${py_missing[@]}"
fi
