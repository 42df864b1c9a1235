#!/usr/bin/env python3
"""Softmax regression (784 -> 10) on an MNIST-format folder, trained by minibatch
SGD as in the classic Theano tutorial:

    p    = softmax(X W + b)
    cost = mean_i -log p[i, y_i]
    W, b <- W - lr dcost/dW, b - lr dcost/db   (gradients from T.grad)

    python3 examples/logreg.py [--data DIR] [--epochs 10] [--batch-size 600] [--lr 0.13]
"""
import argparse
import sys
import time

import numpy as np

import theanine
import theanine.tensor as T
from theanine.datasets import DEFAULT_MNIST_DIR, load_mnist

N_CLASSES = 10


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=DEFAULT_MNIST_DIR,
                        help="folder with the four MNIST IDX files (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=600)
    parser.add_argument("--lr", type=float, default=0.13, help="learning rate")
    parser.add_argument("--seed", type=int, default=1234,
                        help="seeds the order of the minibatches in each epoch")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1 or not args.lr > 0:
        parser.error("--epochs, --batch-size and --lr must be positive")
    return args


def build(n_in, train_x, train_y, batch_size, lr):
    """The training and evaluation functions, over shared parameters W and b."""
    floatX = theanine.config.floatX
    W = theanine.shared(np.zeros((n_in, N_CLASSES), dtype=floatX), name="W")
    b = theanine.shared(np.zeros(N_CLASSES, dtype=floatX), name="b")

    X = T.matrix("X")
    y = T.ivector("y")
    index = T.lscalar("index")

    z = T.dot(X, W) + b
    # log softmax computed stably: shifting by max z keeps exp finite, and
    # taking the log before any exp underflows keeps the gradient finite.
    shifted = z - T.max(z, axis=1, keepdims=True)
    log_p = shifted - T.log(T.sum(T.exp(shifted), axis=1, keepdims=True))
    p = T.exp(log_p)
    n = X.shape[0]
    cost = -T.mean(log_p[T.arange(n), y])

    g_W, g_b = T.grad(cost, [W, b])

    errors = T.mean(T.neq(T.argmax(p, axis=1), y))

    batch = slice(index * batch_size, (index + 1) * batch_size)
    train = theanine.function(
        [index], cost,
        updates=[(W, W - lr * g_W), (b, b - lr * g_b)],
        givens={X: train_x[batch], y: train_y[batch]},
        name="train")
    error_rate = theanine.function([X, y], errors, name="errors")
    return train, error_rate


def main(argv=None):
    args = parse_args(argv)
    floatX = theanine.config.floatX
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = load_mnist(args.data)
    train_x, valid_x, test_x = (a.astype(floatX, copy=False) for a in (train_x, valid_x, test_x))
    n_batches = train_x.shape[0] // args.batch_size
    if n_batches == 0:
        sys.exit(f"--batch-size {args.batch_size} is larger than the "
                 f"{train_x.shape[0]} training images")
    print(f"data: {args.data}: {train_x.shape[0]} train, {valid_x.shape[0]} valid, "
          f"{test_x.shape[0]} test images of {train_x.shape[1]} pixels")

    # The training set lives in shared variables; each step slices one minibatch
    # of it through `givens`, as the Theano tutorial does.
    train, error_rate = build(train_x.shape[1], theanine.shared(train_x, name="train_x"),
                              theanine.shared(train_y, name="train_y"), args.batch_size,
                              args.lr)

    rng = np.random.default_rng(args.seed)
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        costs = [float(train(int(i))) for i in rng.permutation(n_batches)]
        valid_error = float(error_rate(valid_x, valid_y))
        seconds = time.perf_counter() - start
        print(f"epoch {epoch}: train cost {np.mean(costs):.4f}, "
              f"validation error {100 * valid_error:.2f}%, {seconds:.2f} s")
    test_error = float(error_rate(test_x, test_y))
    print(f"test accuracy: {100 * (1 - test_error):.2f}%")


if __name__ == "__main__":
    main()
