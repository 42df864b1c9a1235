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


def check_grad(fun, *points, seed=3, n_tests=2):
    """verify_grad of fun at float64 copies of points."""
    from theanine.gradient import verify_grad

    verify_grad(fun, [np.asarray(p, dtype="float64") for p in points],
                rng=np.random.default_rng(seed), n_tests=n_tests)


def assert_grad_type(g, wrt, by_rule=True):
    """g has wrt's dtype and static shape; with by_rule, the op's rule gave it that shape
    (the engine did not have to append a SumTo to restore it)."""
    assert g.dtype == wrt.dtype
    assert g.static_shape == wrt.static_shape
    if by_rule:
        assert g.op_name != "SumTo"
