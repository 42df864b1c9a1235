"""dot, batched_dot and outer against NumPy."""
import functools

import numpy as np
import pytest

import theanine
import theanine.tensor as T
from helpers import random_values

rng = np.random.default_rng(99)
data = functools.partial(random_values, rng, ints=(-4, 5))


def tol(dtype):
    return dict(rtol=1e-5, atol=1e-5) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)


def variants(a):
    """a, and a non-contiguous array equal to it: the transpose of a contiguous array
    (BLAS's transpose flag), and a negative-stride slice (copied before BLAS)."""
    yield "contiguous", a
    if a.ndim >= 2:
        yield "transposed", np.ascontiguousarray(np.swapaxes(a, -1, -2)).swapaxes(-1, -2)
    if a.ndim >= 1:
        yield "reversed", np.ascontiguousarray(a[..., ::-1])[..., ::-1]


# (shape of a, shape of b): every vector/matrix mix, 0-d, N-d, size 0 and size 1.
DOT_SHAPES = [
    ((5,), (5,)),
    ((3, 5), (5,)),
    ((5,), (5, 4)),
    ((3, 5), (5, 4)),
    ((1, 5), (5, 1)),
    ((3, 1), (1, 4)),
    ((2, 3, 5), (5, 4)),
    ((3, 5), (2, 5, 4)),
    ((2, 3, 5), (4, 5, 2)),
    ((2, 3, 5), (5,)),
    ((), (3, 4)),
    ((3,), ()),
    ((0, 5), (5, 4)),
    ((3, 0), (0, 4)),
    ((3, 5), (5, 0)),
    ((0,), (0,)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "bool"])
@pytest.mark.parametrize("shapes", DOT_SHAPES, ids=str)
def test_dot_matches_numpy(dtype, shapes):
    sa, sb = shapes
    a = T.tensor(dtype, shape=(None,) * len(sa))
    b = T.tensor(dtype, shape=(None,) * len(sb))
    out = T.dot(a, b)
    assert out.dtype == dtype
    f = theanine.function([a, b], out)
    for wa, va in variants(data(sa, dtype)):
        for wb, vb in variants(data(sb, dtype)):
            want = np.dot(va, vb)
            got = np.asarray(f(va, vb))
            assert got.shape == want.shape, (wa, wb)
            assert got.dtype == want.dtype, (wa, wb)
            np.testing.assert_allclose(got, want, **tol(dtype), err_msg=f"{wa} . {wb}")


def test_dot_of_larger_transposed_matrices():
    # Big enough that OpenBLAS runs its blocked kernels.
    for dtype in ["float32", "float64"]:
        a = T.tensor(dtype, shape=(None, None))
        b = T.tensor(dtype, shape=(None, None))
        f = theanine.function([a, b], T.dot(a, b))
        va = data((130, 70), dtype)
        vb = data((90, 70), dtype)
        for x, y in [(va, vb.T), (va.T.copy().T, vb.T), (va[::2], vb[::-1].T)]:
            np.testing.assert_allclose(f(x, y), np.dot(x.astype("float64"), y.astype("float64")),
                                       rtol=1e-4 if dtype == "float32" else 1e-10,
                                       atol=1e-4 if dtype == "float32" else 1e-10)


def test_dot_dtype_promotion_and_python_numbers():
    x = T.fmatrix()
    assert T.dot(x, T.ivector()).dtype == "float64"
    assert T.dot(x, T.fvector()).dtype == "float32"
    assert T.dot(x, 2).dtype == "float32"
    v = data((2, 3), "float32")
    np.testing.assert_allclose(theanine.function([x], T.dot(x, 2))(v), v * 2)
    np.testing.assert_allclose(theanine.function([x], T.dot(x, [1, 2, 3]))(v),
                               np.dot(v, np.array([1, 2, 3], dtype="float32")), rtol=1e-6)


def test_dot_static_shape_mismatch():
    a = T.tensor("float32", shape=(3, 4))
    b = T.tensor("float32", shape=(5, 6))
    with pytest.raises(ValueError,
                       match=r"dot: shapes \(3, 4\) and \(5, 6\) not aligned: "
                             r"4 \(dim 1\) != 5 \(dim 0\)"):
        T.dot(a, b)
    with pytest.raises(ValueError, match="test_blas.py"):  # the user's line
        T.dot(a, b)
    with pytest.raises(ValueError, match=r"4 \(dim 1\) != 3 \(dim 0\)"):
        T.dot(a, T.tensor("float32", shape=(3,)))


def test_dot_runtime_shape_mismatch():
    a, b = T.matrix(), T.matrix()
    f = theanine.function([a, b], T.dot(a, b))
    with pytest.raises(ValueError, match=r"shapes \(3, 4\) and \(5, 6\) not aligned"):
        f(np.zeros((3, 4), a.dtype), np.zeros((5, 6), b.dtype))
    v = T.vector()
    g = theanine.function([a, v], T.dot(a, v))
    with pytest.raises(ValueError, match=r"4 \(dim 1\) != 5 \(dim 0\)"):
        g(np.zeros((3, 4), a.dtype), np.zeros(5, v.dtype))


def test_dot_size_zero_inner_dim_gives_zeros():
    a, b = T.dmatrix(), T.dmatrix()
    got = theanine.function([a, b], T.dot(a, b))(np.zeros((2, 0)), np.zeros((0, 3)))
    np.testing.assert_array_equal(got, np.zeros((2, 3)))


BATCHED_SHAPES = [
    ((4, 2, 3), (4, 3, 5)),
    ((4, 3), (4, 3)),
    ((4, 2, 3), (4, 3)),
    ((4, 3), (4, 3, 5)),
    ((1, 1, 3), (1, 3, 1)),
    ((0, 2, 3), (0, 3, 5)),
    ((4, 2, 0), (4, 0, 5)),
]


def batched_reference(a, b):
    if a.ndim == 2 and b.ndim == 2:
        return np.einsum("bi,bi->b", a, b)
    if a.ndim == 3 and b.ndim == 2:
        return np.einsum("bij,bj->bi", a, b)
    if a.ndim == 2 and b.ndim == 3:
        return np.einsum("bi,bij->bj", a, b)
    return np.einsum("bij,bjk->bik", a, b)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
@pytest.mark.parametrize("shapes", BATCHED_SHAPES, ids=str)
def test_batched_dot_matches_einsum(dtype, shapes):
    sa, sb = shapes
    a = T.tensor(dtype, shape=(None,) * len(sa))
    b = T.tensor(dtype, shape=(None,) * len(sb))
    f = theanine.function([a, b], T.batched_dot(a, b))
    for wa, va in variants(data(sa, dtype)):
        for wb, vb in variants(data(sb, dtype)):
            want = batched_reference(va, vb)
            got = np.asarray(f(va, vb))
            assert got.shape == want.shape
            assert got.dtype == np.dtype(dtype)
            np.testing.assert_allclose(got, want, **tol(dtype), err_msg=f"{wa} . {wb}")


def test_batched_dot_errors():
    with pytest.raises(TypeError, match="b must have 2 or 3 dims"):
        T.batched_dot(T.tensor3(), T.vector())
    with pytest.raises(TypeError, match="a must have 2 or 3 dims"):
        T.batched_dot(T.tensor4(), T.tensor3())
    with pytest.raises(ValueError, match="batch sizes differ"):
        T.batched_dot(T.tensor("float32", shape=(2, 3, 4)), T.tensor("float32", shape=(3, 4, 5)))
    with pytest.raises(ValueError, match=r"4 \(dim 2\) != 5 \(dim 1\)"):
        T.batched_dot(T.tensor("float32", shape=(2, 3, 4)), T.tensor("float32", shape=(2, 5, 5)))
    a, b = T.tensor3(), T.tensor3()
    f = theanine.function([a, b], T.batched_dot(a, b))
    with pytest.raises(ValueError, match="batch sizes differ"):
        f(np.zeros((2, 3, 4), a.dtype), np.zeros((3, 4, 5), b.dtype))
    with pytest.raises(ValueError, match="not aligned"):
        f(np.zeros((2, 3, 4), a.dtype), np.zeros((2, 5, 5), b.dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "bool"])
@pytest.mark.parametrize("shapes", [((3,), (4,)), ((0,), (4,)), ((1,), (1,)), ((2, 3), (4,))],
                         ids=str)
def test_outer_matches_numpy(dtype, shapes):
    sa, sb = shapes
    a = T.tensor(dtype, shape=(None,) * len(sa))
    b = T.tensor(dtype, shape=(None,) * len(sb))
    f = theanine.function([a, b], T.outer(a, b))
    for wa, va in variants(data(sa, dtype)):
        vb = data(sb, dtype)
        want = np.outer(va, vb)
        got = np.asarray(f(va, vb))
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, **tol(dtype), err_msg=wa)


def test_outer_static_shape():
    assert T.outer(T.tensor("float32", shape=(2, 3)), T.vector()).static_shape == (6, None)
