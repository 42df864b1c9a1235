"""Helpers shared by the Python tests (conftest.py puts this folder on sys.path)."""
import numpy as np

import theanine
import theanine.tensor as T


def fn(inputs, outputs):
    """theanine.function, with inputs the outputs do not use allowed."""
    return theanine.function(inputs, outputs, on_unused_input="ignore")


def tensor(dtype, ndim, name="x", shape=None):
    """A symbolic input; every dim unknown unless shape is given."""
    return T.tensor(dtype, shape=shape or (None,) * ndim, name=name)


def random_values(rng, shape, dtype="float64", ints=(-5, 6)):
    """An array drawn from rng: coin flips for bool, integers in [ints[0], ints[1]) for
    integer dtypes, standard normal values otherwise."""
    if dtype == "bool":
        return rng.random(shape) > 0.5
    if np.dtype(dtype).kind in "iu":
        return rng.integers(*ints, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)
