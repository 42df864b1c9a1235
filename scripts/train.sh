#!/usr/bin/env bash
# The main job: installs what is missing, builds, and trains the MNIST-format
# example end to end (Fashion-MNIST from Debian's dataset-fashion-mnist by
# default; pass --data DIR for another MNIST-format folder). Extra arguments go
# to the example.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
PYTHONPATH=python exec python3 examples/logreg.py "$@"
