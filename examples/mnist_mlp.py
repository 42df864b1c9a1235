#!/usr/bin/env python3
"""A multilayer perceptron on Fashion-MNIST (or any MNIST-format folder):
784 -> 392 tanh -> 196 tanh -> 10 softmax, trained by minibatch SGD with
momentum 0.9 and weight decay 5e-4 (learning rate 0.01, batch 128).

    python3 examples/mnist_mlp.py [--epochs 10] [--optimizer momentum] [--lr 0.01]
        [--batch-size 128] [--seed 1234] [--data DIR] [--backend llvm|reference]
        [--device cpu|cuda]
        [--save mnist_mlp_params.npz] [--load PATH.npz] [--plot mnist_mlp_curve.png]
        [--limit N] [--overwrite]

Prints a progress bar per epoch (stderr), then the train loss, validation error
and seconds per epoch, and the final test accuracy. Saves the parameters (.npz,
loadable with numpy.load) and a learning-curve PNG after every epoch; --load
resumes training from a saved file, or with --epochs 0 only evaluates it.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import theanine  # noqa: E402
import theanine.tensor as T  # noqa: E402

from common import IMAGE_SIDE, N_CLASSES, Network, main, uniform_init  # noqa: E402

LAYERS = [IMAGE_SIDE * IMAGE_SIDE, 392, 196, N_CLASSES]
NAMES = ["hidden1", "hidden2", "output"]


def build(rng: np.random.Generator) -> Network:
    """tanh hidden layers, linear output (the softmax is in the cost)."""
    x, y = T.fmatrix("x"), T.ivector("y")
    params, h = [], x
    for i, (name, n_in, n_out) in enumerate(zip(NAMES, LAYERS[:-1], LAYERS[1:])):
        W = theanine.shared(uniform_init(rng, (n_in, n_out), n_in, n_out), name=f"{name}.W")
        b = theanine.shared(np.zeros(n_out, np.float32), name=f"{name}.b")
        params += [(W.name, W), (b.name, b)]
        z = T.dot(h, W) + b
        h = T.tanh(z) if i + 2 < len(LAYERS) else z
    return Network(params, x, y, z)


if __name__ == "__main__":
    main("mnist_mlp", __doc__.split("\n\n")[0], None, (IMAGE_SIDE * IMAGE_SIDE,), build,
         "-".join(map(str, LAYERS)) + " (tanh, softmax)")
