#!/usr/bin/env bash
# The main job: installs what is missing, builds, and trains the MNIST
# multilayer perceptron (examples/mnist_mlp.py) end to end: Fashion-MNIST from
# Debian's dataset-fashion-mnist by default (--data DIR for another MNIST-format
# folder), 10 epochs, then the test accuracy; the parameters go to
# mnist_mlp_params.npz and the learning curve to mnist_mlp_curve.png. Extra
# arguments go to the example (--help lists them; a second run needs
# --overwrite, or --load mnist_mlp_params.npz to continue training).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
PYTHONPATH=python exec python3 examples/mnist_mlp.py "$@"
