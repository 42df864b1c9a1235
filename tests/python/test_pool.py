"""theanine.tensor.signal.pool.pool_2d against a NumPy transcription of Theano's
definition (window bounds in the padded input, each mode's divisor), over every
mode, padding, strides and ignore_border both ways; gradients (and gradients of
gradients) with verify_grad on inputs without ties; tie routing; errors."""
import numpy as np
import pytest

import theanine.tensor as T
from theanine.tensor.signal.pool import pool_2d
from helpers import check_grad, fn

rng = np.random.default_rng(7)
MODES = ["max", "sum", "average_inc_pad", "average_exc_pad"]


def out_dim(n, ws, st, pad, ignore_border):
    n += 2 * pad
    if ignore_border:
        return max((n - ws) // st + 1, 0)
    if st >= ws:
        return (n - 1) // st + 1
    return max(0, (n - 1 - ws + st) // st) + 1


def np_pool(x, ws, ignore_border=True, stride=None, pad=(0, 0), mode="max"):
    stride = stride or ws
    h, w = x.shape[-2:]
    oh = out_dim(h, ws[0], stride[0], pad[0], ignore_border)
    ow = out_dim(w, ws[1], stride[1], pad[1], ignore_border)
    out = np.zeros(x.shape[:-2] + (oh, ow), dtype=x.dtype)
    for i in range(oh):
        r0 = i * stride[0]
        r1 = min(r0 + ws[0], h + 2 * pad[0])  # in padded coordinates
        for j in range(ow):
            c0 = j * stride[1]
            c1 = min(c0 + ws[1], w + 2 * pad[1])
            # the cells of the window inside the input, in input coordinates
            rr = slice(max(r0, pad[0]) - pad[0], min(r1, h + pad[0]) - pad[0])
            cc = slice(max(c0, pad[1]) - pad[1], min(c1, w + pad[1]) - pad[1])
            cells = x[..., rr, cc]
            if mode == "max":
                out[..., i, j] = cells.max(axis=(-2, -1))
            elif mode == "sum":
                out[..., i, j] = cells.sum(axis=(-2, -1))
            elif mode == "average_exc_pad":
                out[..., i, j] = cells.mean(axis=(-2, -1))
            else:
                out[..., i, j] = cells.sum(axis=(-2, -1)) / ((r1 - r0) * (c1 - c0))
    return out


def distinct(shape):
    """Values at least 0.1 apart (no ties, so max pooling is differentiable there)."""
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) * 0.1 + rng.uniform(0, 0.01, shape)) - n * 0.05


CASES = [
    # (shape, ws, stride, pad, ignore_border)
    ((2, 3, 7, 8), (2, 2), None, (0, 0), True),
    ((2, 3, 7, 8), (2, 2), None, (0, 0), False),
    ((2, 3, 7, 8), (3, 2), (2, 1), (0, 0), True),
    ((2, 3, 7, 8), (3, 2), (2, 1), (0, 0), False),
    ((2, 3, 7, 8), (2, 3), (3, 4), (0, 0), False),  # stride larger than the window
    ((2, 3, 7, 8), (3, 3), (2, 2), (1, 2), True),
    ((2, 3, 7, 8), (3, 2), None, (2, 1), True),
    ((5, 6), (2, 4), (1, 3), (1, 0), True),  # a matrix
    ((2, 2, 2, 5, 4), (2, 2), (1, 1), (0, 0), False),  # 5-d
    ((1, 1, 1, 1), (2, 2), None, (0, 0), False),
    ((1, 1, 1, 1), (2, 2), None, (0, 0), True),  # no whole window
    ((2, 3, 9, 7), (3, 3), None, (0, 0), True),  # whole 3x3 tiles (the common case)
    ((2, 3, 6, 9), (3, 3), None, (0, 0), False),
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("mode", MODES)
def test_pool_2d_matches_reference(case, mode):
    shape, ws, stride, pad, ignore_border = case
    x = T.tensor(dtype="float64", shape=(None,) * len(shape))
    y = pool_2d(x, ws, ignore_border=ignore_border, stride=stride, pad=pad, mode=mode)
    xv = rng.standard_normal(shape)
    want = np_pool(xv, ws, ignore_border, stride, pad, mode)
    got = fn([x], y)(xv)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_static_shape_dtype_and_defaults(dtype):
    x = T.tensor(dtype=dtype, shape=(128, 28, 24, 24))
    y = pool_2d(x, (3, 3))
    assert y.dtype == dtype and y.static_shape == (128, 28, 8, 8)
    assert pool_2d(x, (5, 5), ignore_border=False).static_shape == (128, 28, 5, 5)
    assert pool_2d(x, (2, 2), stride=(1, 1), pad=(1, 1)).static_shape == (128, 28, 25, 25)
    xv = rng.standard_normal((2, 3, 6, 7)).astype(dtype)
    xt = T.tensor4(dtype=dtype)
    np.testing.assert_array_equal(fn([xt], pool_2d(xt, (2, 2)))(xv), np_pool(xv, (2, 2)))


def test_strided_input_and_nan():
    x = T.dmatrix("x")
    base = rng.standard_normal((8, 10))
    view = base[::2, 1::2]
    np.testing.assert_array_equal(fn([x], pool_2d(x, (2, 2)))(view), np_pool(view, (2, 2)))
    v = np.arange(16.0).reshape(4, 4)
    v[0, 1] = np.nan
    got = fn([x], pool_2d(x, (2, 2), mode="max"))(v)
    assert np.isnan(got[0, 0]) and got[1, 1] == 15


def test_old_argument_names():
    x = T.dmatrix("x")
    xv = rng.standard_normal((6, 6))
    got = fn([x], pool_2d(x, ds=(2, 2), st=(1, 1), padding=(1, 1), mode="sum"))(xv)
    np.testing.assert_allclose(got, np_pool(xv, (2, 2), True, (1, 1), (1, 1), "sum"))
    with pytest.raises(ValueError, match="ws or ds"):
        pool_2d(x, ws=(2, 2), ds=(2, 2))


# ---- gradients ------------------------------------------------------------------------

GRAD_CASES = [
    ((2, 2, 5, 6), (2, 2), None, (0, 0), True),
    ((2, 1, 6, 7), (3, 3), None, (0, 0), True),
    ((1, 2, 5, 6), (3, 2), (2, 1), (0, 0), False),
    ((1, 2, 5, 6), (3, 3), (2, 2), (1, 2), True),
]


@pytest.mark.parametrize("case", GRAD_CASES)
@pytest.mark.parametrize("mode", MODES)
def test_verify_grad_pool(case, mode):
    shape, ws, stride, pad, ignore_border = case
    check_grad(lambda x: pool_2d(x, ws, ignore_border=ignore_border, stride=stride, pad=pad,
                                 mode=mode), distinct(shape), n_tests=1)


@pytest.mark.parametrize("mode", MODES)
def test_verify_grad_of_the_gradient(mode):
    # d/dx of a cost built on the pooling gradient exercises MaxPoolGrad's and
    # AveragePoolGrad's own rules (MaxPoolGradGrad, Pool).
    def f(x):
        y = pool_2d(x, (2, 3), stride=(1, 2), pad=(1, 1), mode=mode)
        g = T.grad((y ** 2).sum(), x)
        return (g * x).sum() + (g ** 2).sum()
    check_grad(f, distinct((2, 5, 6)), n_tests=1)


def test_max_pool_grad_goes_to_the_first_maximum_of_a_tie():
    x = T.dmatrix("x")
    g = fn([x], T.grad(pool_2d(x, (2, 2), stride=(1, 1)).sum(), x))(np.ones((3, 3)))
    # every window's first cell is its top-left one
    np.testing.assert_array_equal(g, [[1, 1, 0], [1, 1, 0], [0, 0, 0]])
    tiles = fn([x], T.grad(pool_2d(x, (3, 3)).sum(), x))(np.ones((3, 7)))
    np.testing.assert_array_equal(tiles[0], [1, 0, 0, 1, 0, 0, 0])
    assert tiles.sum() == 2


def test_average_grad_divisors():
    x = T.dmatrix("x")
    g_inc = fn([x], T.grad(pool_2d(x, (2, 2), pad=(1, 1), mode="average_inc_pad").sum(), x))
    g_exc = fn([x], T.grad(pool_2d(x, (2, 2), pad=(1, 1), mode="average_exc_pad").sum(), x))
    xv = np.ones((2, 2))
    # one window per cell: 4 cells of the padded input, 1 of the input
    np.testing.assert_allclose(g_inc(xv), np.full((2, 2), 0.25))
    np.testing.assert_allclose(g_exc(xv), np.ones((2, 2)))


# ---- errors ---------------------------------------------------------------------------

def test_errors():
    x = T.tensor4("x")
    with pytest.raises(ValueError, match="ws is required"):
        pool_2d(x)
    with pytest.raises(ValueError, match="smaller than the window"):
        pool_2d(x, (2, 2), pad=(2, 0))
    with pytest.raises(ValueError, match="ignore_border=True"):
        pool_2d(x, (3, 3), pad=(1, 1), ignore_border=False)
    with pytest.raises(ValueError, match="mode must be"):
        pool_2d(x, (2, 2), mode="median")
    with pytest.raises(ValueError, match="ws must be positive"):
        pool_2d(x, (0, 2))
    with pytest.raises(TypeError, match="at least 2 dims"):
        pool_2d(T.vector("v"), (2, 2))
    with pytest.raises(TypeError, match="float32 or float64, got int32"):
        pool_2d(T.imatrix("i"), (2, 2))


def test_average_alias():
    x = T.dmatrix("x")
    xv = rng.standard_normal((4, 6))
    got = fn([x], pool_2d(x, (2, 3), mode="average"))(xv)
    np.testing.assert_allclose(got, np_pool(xv, (2, 3), mode="average_inc_pad"))
