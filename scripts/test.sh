#!/usr/bin/env bash
# Runs every test: installs what is missing, builds once, then the C++ tests
# (ctest) and the Python tests (pytest) against that one build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"
PYTHONPATH=python python3 -m pytest -q tests/python
