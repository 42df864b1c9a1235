"""T.nnet.elu and theanine.tensor.extra_ops.to_one_hot against NumPy, elu's gradient
(finite for large inputs), one-hot dtypes and label errors, and the Theano-layout
names of the conv/pool/bn functions."""
import numpy as np
import pytest

import theanine
import theanine.tensor as T
import theanine.tensor.nnet as nnet
from theanine.tensor.extra_ops import to_one_hot
from helpers import check_grad, fn

rng = np.random.default_rng(5)


@pytest.mark.parametrize("alpha", [1, 0.5])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_elu_matches_numpy(alpha, dtype):
    x = T.vector(dtype=dtype)
    y = nnet.elu(x, alpha)
    assert y.dtype == dtype
    xv = np.array([-30, -2, -0.5, 0, 0.5, 3, 200], dtype=dtype)
    want = np.where(xv > 0, xv, alpha * np.expm1(np.minimum(xv, 0)))
    np.testing.assert_allclose(fn([x], y)(xv), want.astype(dtype), rtol=1e-6)


def test_elu_gradient():
    check_grad(lambda x: nnet.elu(x, 0.7), rng.standard_normal((3, 4)) + 0.05)
    x = T.fvector()
    g = fn([x], T.grad(nnet.elu(x).sum(), x))(np.array([-1, 1, 100, 1000], dtype="float32"))
    np.testing.assert_allclose(g, [np.exp(-1), 1, 1, 1], rtol=1e-6)


@pytest.mark.parametrize("ydtype", ["int32", "int64", "uint8"])
def test_to_one_hot_matches_numpy(ydtype):
    y = T.vector(dtype=ydtype)
    f = fn([y], to_one_hot(y, 5))
    yv = np.array([0, 4, 2, 2], dtype=ydtype)
    got = f(yv)
    assert got.dtype == theanine.config.floatX
    np.testing.assert_array_equal(got, np.eye(5)[yv])
    assert f(np.zeros(0, dtype=ydtype)).shape == (0, 5)


def test_to_one_hot_dtype_and_symbolic_nb_class():
    y, n = T.ivector("y"), T.iscalar("n")
    out = to_one_hot(y, n, dtype="int8")
    assert out.dtype == "int8" and out.static_shape == (None, None)
    np.testing.assert_array_equal(fn([y, n], out)(np.array([1, 0], "int32"), 3),
                                  [[0, 1, 0], [1, 0, 0]])
    assert to_one_hot(T.ivector(), 7).static_shape == (None, 7)


def test_to_one_hot_errors():
    y = T.ivector("y")
    f = fn([y], to_one_hot(y, 3))
    with pytest.raises(IndexError, match=r"label 3 \(y\[1\]\) is out of range for nb_class=3"):
        f(np.array([0, 3], "int32"))
    with pytest.raises(IndexError, match="label -1"):
        f(np.array([-1], "int32"))
    with pytest.raises(TypeError, match="integer vector"):
        to_one_hot(T.fvector(), 3)
    with pytest.raises(TypeError, match="integer scalar"):
        to_one_hot(y, T.fscalar())


def test_theano_layout():
    from theanine.tensor.nnet import bn, conv
    from theanine.tensor.signal import pool
    assert nnet.conv2d is conv.conv2d
    assert callable(pool.pool_2d) and callable(bn.batch_normalization_train)
    assert nnet.bn is bn
