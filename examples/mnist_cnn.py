#!/usr/bin/env python3
"""A convolutional network on Fashion-MNIST (or any MNIST-format folder), the
Theano LeNet tutorial's design: conv 28 filters 5x5 -> max-pool 3x3 (stride 3)
-> tanh -> conv 56 filters 5x5 -> max-pool 2x2 -> tanh -> 224 -> 200 tanh -> 10
softmax, trained by minibatch SGD with momentum 0.9 and weight decay 5e-4
(learning rate 0.01, batch 128).

    python3 examples/mnist_cnn.py [--epochs 10] [--optimizer momentum] [--lr 0.01]
        [--batch-size 128] [--seed 1234] [--data DIR] [--backend llvm|reference]
        [--device cpu|cuda]
        [--save mnist_cnn_params.npz] [--load PATH.npz] [--plot mnist_cnn_curve.png]
        [--limit N] [--overwrite]

Shapes: 1x28x28 -conv5-> 28x24x24 -pool3-> 28x8x8 -conv5-> 56x4x4 -pool2-> 56x2x2
= 224. Output, saving and resuming as examples/mnist_mlp.py.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import theanine  # noqa: E402
import theanine.tensor as T  # noqa: E402
from theanine.tensor.nnet import conv2d  # noqa: E402
from theanine.tensor.signal.pool import pool_2d  # noqa: E402

from common import IMAGE_SIDE, N_CLASSES, Network, main, uniform_init  # noqa: E402

#: (name, filters, kernel side, pool side) of the two convolutional layers.
CONVS = [("conv1", 28, 5, 3), ("conv2", 56, 5, 2)]
HIDDEN = 200


def build(rng: np.random.Generator) -> Network:
    """Each convolutional layer is tanh(max_pool(conv(x, W)) + b), as in LeNet; then
    a tanh hidden layer and a linear output (the softmax is in the cost)."""
    x, y = T.ftensor4("x"), T.ivector("y")
    params, h = [], x
    channels, side = 1, IMAGE_SIDE
    for name, filters, k, pool in CONVS:
        # Each output unit sees channels*k*k inputs; each input unit feeds
        # filters*k*k outputs, of which pooling keeps one per pool*pool window.
        fan_in, fan_out = channels * k * k, filters * k * k / (pool * pool)
        W = theanine.shared(uniform_init(rng, (filters, channels, k, k), fan_in, fan_out),
                            name=f"{name}.W")
        b = theanine.shared(np.zeros(filters, np.float32), name=f"{name}.b")
        params += [(W.name, W), (b.name, b)]
        conv = conv2d(h, W, input_shape=(None, channels, side, side),
                      filter_shape=(filters, channels, k, k))
        pooled = pool_2d(conv, ws=(pool, pool), ignore_border=True)
        h = T.tanh(pooled + b.dimshuffle("x", 0, "x", "x"))
        channels, side = filters, (side - k + 1) // pool
    n_flat = channels * side * side  # 56 * 2 * 2 = 224
    h = h.flatten(2)
    for name, n_in, n_out in (("hidden", n_flat, HIDDEN), ("output", HIDDEN, N_CLASSES)):
        W = theanine.shared(uniform_init(rng, (n_in, n_out), n_in, n_out), name=f"{name}.W")
        b = theanine.shared(np.zeros(n_out, np.float32), name=f"{name}.b")
        params += [(W.name, W), (b.name, b)]
        z = T.dot(h, W) + b
        h = T.tanh(z) if name == "hidden" else z
    return Network(params, x, y, z)


if __name__ == "__main__":
    main("mnist_cnn", __doc__.split("\n\n")[0], None, (1, IMAGE_SIDE, IMAGE_SIDE), build,
         "conv 28@5x5 - maxpool 3 - tanh - conv 56@5x5 - maxpool 2 - tanh - 224-200-10")
