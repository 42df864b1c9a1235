"""Reductions (sum, prod, mean, max, min, all, any, argmax, argmin, var, std) against NumPy."""
import contextlib
import functools
import warnings

import numpy as np
import pytest

import theanine
import theanine.tensor as T
from helpers import random_values

rng = np.random.default_rng(1234)
# Small integers, so that ties (first occurrence) and zeros (all/any) occur.
data = functools.partial(random_values, rng, ints=(-3, 4))

KINDS = {
    "sum": np.sum, "prod": np.prod, "mean": np.mean, "max": np.max, "min": np.min,
    "all": np.all, "any": np.any,
}
DTYPES = ["float32", "float64", "int32", "bool"]
AXES = [None, 0, 1, -1, (0, 2), ()]


def views(a):
    """a itself and non-contiguous views of it with the same ndim."""
    yield "contiguous", a
    yield "transposed", a.transpose(2, 0, 1)
    yield "negative-strides", a[:, ::-2, ::-1]


@contextlib.contextmanager
def quiet():
    """Silences NumPy's warnings about empty slices and ddof >= n."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def symbolic(dtype, ndim):
    return T.tensor(dtype, shape=(None,) * ndim)


def run(x, out, value):
    return np.asarray(theanine.function([x], out)(value))


def expected_dtype(kind, dtype):
    if kind in ("sum", "prod"):
        return dtype if dtype.startswith("float") else "int64"
    if kind == "mean":
        return dtype if dtype.startswith("float") else "float64"
    if kind in ("all", "any"):
        return "bool"
    return dtype


def tolerance(kind, dtype):
    if dtype == "float32":
        return dict(rtol=1e-5, atol=1e-4 if kind in ("sum", "mean") else 1e-6)
    return dict(rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape", [(3, 4, 5), (2, 1, 6), (1, 1, 1), (0, 4, 3), (3, 0, 2)])
def test_reduce_matches_numpy(kind, dtype, axis, keepdims, shape):
    x = symbolic(dtype, 3)
    out = getattr(T, kind)(x, axis=axis, keepdims=keepdims)
    assert out.dtype == expected_dtype(kind, dtype)
    f = theanine.function([x], out)
    for what, value in views(data(shape, dtype)):
        with quiet():
            try:
                want = KINDS[kind](value, axis=axis, keepdims=keepdims)
            except ValueError as e:
                # max/min of a zero-size reduction: NumPy's error, raised at run time.
                assert "zero-size" in str(e)
                with pytest.raises(ValueError, match="zero-size array to reduction operation"):
                    f(value)
                continue
        got = np.asarray(f(value))
        assert got.shape == np.shape(want), what
        assert got.dtype == expected_dtype(kind, dtype), what
        np.testing.assert_allclose(got, want, **tolerance(kind, dtype), err_msg=what)


def test_static_shapes_follow_axes_and_keepdims():
    x = T.tensor("float32", shape=(None, 3, 4))
    assert T.sum(x, axis=1).static_shape == (None, 4)
    assert T.max(x, axis=(0, 2), keepdims=True).static_shape == (1, 3, 1)
    assert T.mean(x).static_shape == ()
    assert T.argmax(x, axis=-1).static_shape == (None, 3)
    assert T.argmax(x, keepdims=True).static_shape == (1, 1, 1)
    assert T.var(x, axis=[2, 0]).static_shape == (3,)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fn", ["argmax", "argmin"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_argmax_argmin_match_numpy(dtype, fn, axis, keepdims):
    x = symbolic(dtype, 3)
    out = getattr(T, fn)(x, axis=axis, keepdims=keepdims)
    assert out.dtype == "int64"
    f = theanine.function([x], out)
    for shape in [(3, 4, 5), (2, 1, 3), (1, 1, 1)]:
        for what, value in views(data(shape, dtype)):
            want = getattr(np, fn)(value, axis=axis, keepdims=keepdims)
            got = np.asarray(f(value))
            assert got.dtype == np.int64
            np.testing.assert_array_equal(got, want, err_msg=f"{what} {shape}")


def test_argmax_of_empty_axis_raises():
    x = T.matrix()
    f = theanine.function([x], T.argmax(x, axis=0))
    with pytest.raises(ValueError, match="attempt to get argmax of an empty sequence"):
        f(np.zeros((0, 3), dtype=x.dtype))
    # An empty array whose reduced axis is not empty is fine.
    g = theanine.function([x], T.argmin(x, axis=1))
    assert np.asarray(g(np.zeros((0, 3), dtype=x.dtype))).shape == (0,)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nan_propagates_like_numpy(dtype):
    v = np.array([[1.0, np.nan, 3.0, np.nan], [4.0, 2.0, 9.0, 9.0], [np.nan, 0.0, -1.0, 5.0]],
                 dtype=dtype)
    x = T.tensor(dtype, shape=(None, None))
    for axis in [None, 0, 1]:
        outs = [T.max(x, axis=axis), T.min(x, axis=axis), T.argmax(x, axis=axis),
                T.argmin(x, axis=axis), T.sum(x, axis=axis), T.any(x, axis=axis)]
        got = theanine.function([x], outs)(v)
        want = [np.max(v, axis=axis), np.min(v, axis=axis), np.argmax(v, axis=axis),
                np.argmin(v, axis=axis), np.sum(v, axis=axis), np.any(v, axis=axis)]
        for g, w in zip(got, want):
            np.testing.assert_array_equal(np.asarray(g), w)


@pytest.mark.parametrize("fn", ["var", "std"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("ddof", [0, 1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_var_std_match_numpy(fn, dtype, axis, ddof, keepdims):
    x = symbolic(dtype, 3)
    out = getattr(T, fn)(x, axis=axis, keepdims=keepdims, ddof=ddof)
    want_dtype = dtype if dtype.startswith("float") else "float64"
    assert out.dtype == want_dtype
    f = theanine.function([x], out)
    for shape in [(3, 4, 5), (2, 1, 3), (0, 2, 3)]:
        for what, value in views(data(shape, dtype)):
            with quiet():
                want = getattr(np, fn)(value, axis=axis, keepdims=keepdims, ddof=ddof)
            got = np.asarray(f(value))
            assert got.dtype == want_dtype
            tol = dict(rtol=1e-4, atol=1e-5) if dtype == "float32" else dict(rtol=1e-10)
            np.testing.assert_allclose(got, want, **tol, err_msg=f"{what} {shape}")


def test_float32_sum_of_many_elements():
    v = rng.random(100_000).astype("float32")
    x = T.fvector()
    got = np.asarray(theanine.function([x], T.sum(x))(v))
    np.testing.assert_allclose(got, np.sum(v.astype("float64")), rtol=1e-6)


def test_integer_results():
    x = T.bvector()  # int8: the sum must not overflow in int8
    v = np.array([100, 100, 100], dtype="int8")
    assert np.asarray(theanine.function([x], T.sum(x))(v)) == 300
    assert np.asarray(theanine.function([x], T.mean(x))(v)).dtype == np.float64


def test_dtype_and_acc_dtype_keywords():
    x = T.ivector()
    v = np.array([1, 2, 3], dtype="int32")
    out = T.sum(x, dtype="float32")
    assert out.dtype == "float32"
    assert np.asarray(theanine.function([x], out)(v)) == np.float32(6)
    assert T.sum(x, acc_dtype="int64").dtype == "int64"  # the accumulator it uses anyway
    with pytest.raises(ValueError, match="acc_dtype=float32 is not supported"):
        T.sum(x, acc_dtype="float32")
    assert T.mean(T.fvector(), acc_dtype="float64").dtype == "float32"


def test_python_numbers_and_numpy_integer_axes():
    assert np.asarray(theanine.function([], T.sum([[1, 2], [3, 4]], axis=np.int64(0)))()).tolist() \
        == [4, 6]
    assert np.asarray(theanine.function([], T.max(3.5))()) == 3.5


def test_bad_axes_raise_naming_axis_and_ndim():
    x = T.matrix()
    with pytest.raises(IndexError, match=r"axis 2 is out of bounds for a tensor of ndim 2"):
        T.sum(x, axis=2)
    with pytest.raises(IndexError, match=r"axis -3 is out of bounds"):
        T.var(x, axis=-3)
    with pytest.raises(ValueError, match="duplicate value in 'axis'"):
        T.max(x, axis=(1, -1))
    with pytest.raises(IndexError, match="axis 2"):
        T.argmax(x, axis=2)
    with pytest.raises(ValueError, match="axis must be None or one int"):
        T.argmax(x, axis=(0, 1))


def test_error_names_the_user_line():
    x = T.matrix()
    with pytest.raises(IndexError, match="test_reduce.py"):
        T.mean(x, axis=5)
