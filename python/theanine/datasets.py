"""Reading IDX files (the MNIST format) and loading MNIST-style data sets.

    from theanine.datasets import load_mnist
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = load_mnist()

Nothing is downloaded: the files must already be in the folder. Errors (a
missing, truncated or corrupt file) raise OSError subclasses that name the file.
"""
import os

from theanine import _core

#: Where Debian's dataset-fashion-mnist package installs Fashion-MNIST.
DEFAULT_MNIST_DIR = _core.DEFAULT_MNIST_DIR

__all__ = ["DEFAULT_MNIST_DIR", "read_idx", "find_idx_file", "load_mnist"]


def read_idx(path):
    """Reads an IDX file, plain or gzipped, into a NumPy array of the file's
    dtype (uint8 images stay uint8)."""
    return _core.read_idx(os.fspath(path))


def find_idx_file(folder, stem):
    """The path of ``stem`` or ``stem.gz`` in ``folder``, accepting both the
    "-idx3-ubyte" and ".idx3-ubyte" spellings of MNIST mirrors."""
    return _core.find_idx_file(os.fspath(folder), stem)


def load_mnist(path=None):
    """Loads the four MNIST files from ``path`` (default DEFAULT_MNIST_DIR).

    Returns ``((train_x, train_y), (valid_x, valid_y), (test_x, test_y))`` like the
    Theano tutorial's ``load_data``: float32 images of shape (N, 784) scaled to
    [0, 1] and int32 labels. The 60,000 training images are split into 50,000 for
    training and the last 10,000 for validation (the last sixth when a folder
    holds fewer); the 10,000 t10k images are the test set.
    """
    return _core.load_mnist(DEFAULT_MNIST_DIR if path is None else os.fspath(path))
