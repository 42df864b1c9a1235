"""Indexing against NumPy: basic slicing (constant and symbolic bounds), integer and
newaxis/ellipsis keys, advanced integer-array indexing, set_subtensor/inc_subtensor,
and the errors."""
import functools
import itertools

import numpy as np
import pytest

import theanine
import theanine.tensor as T
from helpers import fn, random_values, tensor

rng = np.random.default_rng(99)
data = functools.partial(random_values, rng)


def noncontig(a):
    """An array equal to a whose last dim has stride -2 elements."""
    if a.ndim == 0 or a.shape[-1] == 0:
        return a
    big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
    big[..., ::-2] = a[..., ::-1]
    out = big[..., ::-2][..., ::-1]
    assert not out.flags.c_contiguous or a.shape[-1] == 1
    np.testing.assert_array_equal(out, a)
    return out


# ---- basic slicing -------------------------------------------------------------------------

BOUNDS = [None, 0, 2, -2, 10, -10]
STEPS = [None, 1, 2, -1, -3]
SLICES = [slice(a, b, s) for a, b, s in itertools.product(BOUNDS, BOUNDS, STEPS)]


@pytest.mark.parametrize("sl", SLICES, ids=str)
def test_slice_sweep_1d_constant_bounds(sl):
    x = tensor("float64", 1, shape=(7,))
    y = x[sl]
    a = data(7)
    expect = a[sl]
    assert y.static_shape == expect.shape
    np.testing.assert_array_equal(fn([x], y)(a), expect)


@pytest.mark.parametrize("sl", SLICES, ids=str)
def test_slice_sweep_2d_symbolic_bounds(sl):
    """The same slices with every present bound a symbolic int scalar, on dim 1 of a
    non-contiguous 2-d array, plus a reversed dim 0."""
    x = tensor("float64", 2)
    syms = [T.iscalar(n) if v is not None else None
            for n, v in zip(("start", "stop", "step"), (sl.start, sl.stop, sl.step))]
    key = slice(*syms)
    y = x[::-1, key]
    inputs = [x] + [s for s in syms if s is not None]
    values = [v for v in (sl.start, sl.stop, sl.step) if v is not None]
    a = data((3, 7))
    np.testing.assert_array_equal(fn(inputs, y)(noncontig(a), *values), a[::-1, sl])


def test_symbolic_minibatch_slice():
    x = tensor("float32", 2)
    i = T.iscalar("i")
    bs = 2
    f = fn([x, i], x[i * bs:(i + 1) * bs])
    a = data((5, 3), "float32")
    for k in range(4):
        np.testing.assert_array_equal(f(a, k), a[k * bs:(k + 1) * bs])


@pytest.mark.parametrize("key", [
    0, -1, (1, 2), (slice(None), -3), (Ellipsis, 0), (None, 1), (1, None, slice(1, None)),
    (Ellipsis, None), (None, Ellipsis, None), (slice(None, None, -2), None, 0),
    (np.int64(2),), (), Ellipsis,
], ids=str)
def test_int_newaxis_ellipsis_keys(key):
    x = tensor("float64", 3)
    a = data((4, 5, 6))
    y = x[key]
    assert y.ndim == a[key].ndim
    np.testing.assert_array_equal(fn([x], y)(noncontig(a)), a[key])


def test_symbolic_integer_index_and_size_zero():
    x = tensor("int32", 2)
    i = T.lscalar("i")
    a = np.arange(12, dtype="int32").reshape(3, 4)
    f = fn([x, i], x[i, i - 1:])
    for k in range(-3, 3):
        np.testing.assert_array_equal(f(a, k), a[k, k - 1:])
    z = np.zeros((0, 4), "int32")
    np.testing.assert_array_equal(fn([x], x[1:, ::-1])(z), z[1:, ::-1])


def test_basic_index_errors():
    x = tensor("float64", 2)
    a = data((3, 4))
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 0 with size 3"):
        fn([x], x[3])(a)
    with pytest.raises(IndexError, match="index -5 is out of bounds for axis 1 with size 4"):
        fn([x], x[:, -5])(a)
    i = T.iscalar("i")
    with pytest.raises(IndexError, match="index 7"):
        fn([x, i], x[i])(a, 7)
    s = tensor("float64", 2, shape=(3, 4))
    with pytest.raises(IndexError, match="index 4 .*size 3"):
        s[4]
    with pytest.raises(IndexError, match="too many indices.*ndim 2"):
        x[0, 0, 0]
    with pytest.raises(IndexError, match="single ellipsis"):
        x[..., ...]
    with pytest.raises(ValueError, match="step cannot be zero"):
        x[::0]
    with pytest.raises(ValueError, match="step cannot be zero"):
        fn([x, i], x[::i])(a, 0)


def test_bad_index_types():
    x = tensor("float64", 2)
    with pytest.raises(TypeError, match="boolean mask indexing is not supported"):
        x[np.array([True, False, True])]
    with pytest.raises(TypeError, match="boolean mask indexing is not supported"):
        x[True]
    with pytest.raises(TypeError, match="boolean mask indexing is not supported"):
        x[T.vector("m", dtype="bool")]
    with pytest.raises(TypeError, match="float"):
        x[1.0]
    with pytest.raises(TypeError, match="integers"):
        x[T.dscalar("f")]
    with pytest.raises(TypeError, match="integers"):
        x[[0.5, 1.5]]
    with pytest.raises(TypeError, match="slice"):
        x[1.5:]
    with pytest.raises(TypeError):
        x["a"]


def test_basic_index_is_a_view_op():
    x = tensor("float64", 2)
    assert x[1:].op_name.startswith("Subtensor")
    assert x[[1]].op_name.startswith("AdvancedSubtensor")


# ---- advanced indexing ----------------------------------------------------------------------

ADV_KEYS = [
    [0, 2, 0],
    ([0, 2, 0],),
    (slice(None), [3, 0, 3, -1]),
    ([1, 0], [2, 3]),
    ([[0], [2]], [1, 3, 4]),
    ([0, 1], slice(None), [1, 2]),
    (0, slice(None), [1, 2, 3]),
    (slice(1, None), [0, 2], 1),
    (None, [0, 1], None, 1),
    ([0, 1], None, [1, 2]),
    (Ellipsis, [4, 0]),
    ([], slice(None)),
    (np.array([[1, 0], [0, 1]]),),
    (slice(None, None, -1), [0, 0], slice(None, None, 2)),
    ([-1, -3], 2, slice(1, 3)),
]


@pytest.mark.parametrize("key", ADV_KEYS, ids=str)
def test_advanced_indexing_matches_numpy(key):
    x = tensor("float64", 3)
    a = data((3, 5, 6))
    y = x[key]
    expect = a[key]
    assert y.ndim == expect.ndim
    np.testing.assert_array_equal(fn([x], y)(a), expect)
    np.testing.assert_array_equal(fn([x], y)(noncontig(a)), expect)


def test_pick_one_per_row():
    p = T.dmatrix("p")
    y = T.ivector("y")
    f = fn([p, y], p[T.arange(p.shape[0]), y])
    pv = data((5, 4))
    yv = rng.integers(0, 4, 5).astype("int32")
    np.testing.assert_array_equal(f(pv, yv), pv[np.arange(5), yv])
    np.testing.assert_array_equal(f(pv[:0], yv[:0]), pv[:0][np.arange(0), yv[:0]])
    with pytest.raises(IndexError, match="index 4 is out of bounds for axis 1 with size 4"):
        f(pv, np.array([0, 1, 4, 0, 0], "int32"))
    with pytest.raises(IndexError, match=r"could not be broadcast.*\(5,\).*\(3,\)"):
        f(pv, np.array([0, 1, 2], "int32"))


def test_symbolic_index_vector_and_errors():
    x = tensor("float32", 2)
    idx = T.lvector("idx")
    f = fn([x, idx], x[idx])
    a = data((4, 3), "float32")
    for iv in [[3, 0, 3], [], [-4, -1]]:
        np.testing.assert_array_equal(f(a, np.array(iv, "int64")), a[np.array(iv, "int64")])
    with pytest.raises(IndexError, match="index -5 is out of bounds for axis 0 with size 4"):
        f(a, np.array([0, -5]))
    s = tensor("float32", 2, shape=(4, 3))
    with pytest.raises(IndexError, match="index 9 is out of bounds for axis 1 with size 3"):
        s[:, [0, 9]]


# ---- set_subtensor / inc_subtensor ----------------------------------------------------------

WRITE_KEYS = [
    (1,),
    (slice(1, None), 0),
    (slice(None, None, -2),),
    (Ellipsis, slice(0, 2)),
    (None, 2),
    ([0, 2, 0],),
    (slice(None), [1, 1, 3]),
    ([2, 2, 0], [1, 1, 1]),
    ([[0], [1]], [0, 3]),
    (0, [2, -2]),
]


def _reference(a, key, y, inc):
    out = a.copy()
    if inc:
        np.add.at(out, key, y)
    else:
        # A Python loop over the broadcast region: the last write wins.
        region = np.broadcast_to(y, out[key].shape)
        idx_grid = np.arange(out.size).reshape(out.shape)[key]
        flat = out.reshape(-1)
        for pos, v in zip(idx_grid.reshape(-1), region.reshape(-1)):
            flat[pos] = v
    return out


@pytest.mark.parametrize("inc", [False, True], ids=["set", "inc"])
@pytest.mark.parametrize("key", WRITE_KEYS, ids=str)
@pytest.mark.parametrize("y_kind", ["full", "scalar", "row"])
def test_set_inc_subtensor_match_numpy(key, inc, y_kind):
    a = data((3, 4))
    region_shape = a[key].shape
    if y_kind == "full":
        yv = data(region_shape)
    elif y_kind == "scalar":
        yv = np.array(2.5)
    else:
        if len(region_shape) == 0:
            pytest.skip("no row for a 0-d region")
        yv = data(region_shape[-1:])
    x = tensor("float64", 2)
    y = tensor("float64", yv.ndim, "y")
    build = T.inc_subtensor if inc else T.set_subtensor
    out = build(x[key], y)
    assert out.ndim == 2 and out.dtype == "float64"
    f = fn([x, y], out)
    arg = noncontig(a)
    before = arg.copy()
    np.testing.assert_allclose(f(arg, yv), _reference(a, key, yv, inc), rtol=1e-12)
    np.testing.assert_array_equal(arg, before)  # x is not mutated


def test_inc_subtensor_accumulates_duplicates_and_set_takes_last():
    x = T.dvector("x")
    y = T.dvector("y")
    idx = T.lvector("idx")
    fi = fn([x, y, idx], T.inc_subtensor(x[idx], y))
    fs = fn([x, y, idx], T.set_subtensor(x[idx], y))
    xv = np.zeros(5)
    yv = np.array([1.0, 2.0, 4.0, 8.0])
    iv = np.array([1, 3, 1, -4])
    np.testing.assert_array_equal(fi(xv, yv, iv), [0, 13, 0, 2, 0])
    np.testing.assert_array_equal(fs(xv, yv, iv), [0, 8, 0, 2, 0])


def test_set_subtensor_symbolic_minibatch_and_cast():
    x = T.imatrix("x")
    i = T.iscalar("i")
    out = T.set_subtensor(x[i * 2:(i + 1) * 2, 1:], 7)
    a = np.arange(12, dtype="int32").reshape(4, 3)
    got = fn([x, i], out)(a, 1)
    expect = a.copy()
    expect[2:4, 1:] = 7
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, expect)
    # y of a narrower int dtype is cast to x's.
    f = T.fmatrix("f")
    b = T.bvector("b")
    g = fn([f, b], T.inc_subtensor(f[0], b))
    fv = np.zeros((2, 3), "float32")
    np.testing.assert_array_equal(g(fv, np.array([1, 2, 3], "int8")), [[1, 2, 3], [0, 0, 0]])


def test_set_inc_subtensor_errors():
    x = T.dmatrix("x")
    with pytest.raises(TypeError, match="result of indexing"):
        T.set_subtensor(x, 1.0)
    with pytest.raises(TypeError, match="result of indexing"):
        T.inc_subtensor(x.T, 1.0)
    ix = T.imatrix("ix")
    with pytest.raises(TypeError, match="float64.*int32"):
        T.set_subtensor(ix[0], T.dscalar())
    s = T.tensor("float64", shape=(3, 4), name="s")
    with pytest.raises(ValueError, match=r"\(3,\).*\(4,\)"):
        T.inc_subtensor(s[0], T.tensor("float64", shape=(3,)))
    y = T.dvector("y")
    f = fn([x, y], T.set_subtensor(x[:, [0, 1]], y))
    with pytest.raises(ValueError, match=r"\(3,\).*\(2, 2\)"):
        f(data((2, 4)), data(3))
    g = fn([x, y], T.inc_subtensor(x[1:], y))
    with pytest.raises(ValueError, match=r"\(5,\).*\(1, 4\)"):
        g(data((2, 4)), data(5))
    with pytest.raises(IndexError, match="index 6 is out of bounds for axis 1 with size 4"):
        fn([x], T.set_subtensor(x[0, [6]], 1.0))(data((2, 4)))
