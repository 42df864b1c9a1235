#!/usr/bin/env bash
# The main job: installs what is missing, builds, and trains the MNIST
# multilayer perceptron (examples/mnist_mlp.py) end to end: Fashion-MNIST from
# Debian's dataset-fashion-mnist by default (--data DIR for another MNIST-format
# folder), 10 epochs, then the test accuracy. Unless --save is given, each run
# writes its parameters and learning curve to a new folder runs/mnist_mlp-<time>/
# (so running it again never replaces earlier results). Extra arguments go to
# the example (--help lists them; --load runs/.../params.npz continues training).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
extra=()
if [[ " $* " != *" --save "* && " $* " != *" --save="* ]]; then
  out="runs/mnist_mlp-$(date +%Y%m%d-%H%M%S)"
  mkdir -p "$out"
  extra=(--save "$out/params.npz" --plot "$out/curve.png")
fi
PYTHONPATH=python exec python3 examples/mnist_mlp.py "${extra[@]}" "$@"
