"""Gradients of indexing: basic subtensor (slices with negative steps, symbolic bounds,
integers, newaxis, ellipsis), advanced subtensor (integer arrays, duplicates accumulate,
the crossentropy pattern p[arange(n), y]), and set_subtensor / inc_subtensor with
respect to both x and y (broadcast y, duplicate advanced indices: set keeps the last
write, so only the last written element of y gets a gradient)."""
import numpy as np
import pytest

import theanine
import theanine.tensor as T
from theanine import _core
from theanine.gradient import DisconnectedInputError, verify_grad  # noqa: F401
from helpers import assert_grad_type, fn
from helpers import check_grad as _check_grad

rng = np.random.default_rng(11)


def check(fun, *points, n_tests=2):
    _check_grad(fun, *points, seed=5, n_tests=n_tests)


def rand(*shape):
    return rng.standard_normal(shape)


def dtensor(*shape, name="x"):
    return T.tensor("float64", shape=shape, name=name)


def numpy_scatter(shape, key, g):
    """The gradient of x[key] for output gradient g, in NumPy (np.add.at accumulates)."""
    r = np.zeros(shape)
    np.add.at(r, key, g)
    return r


# ---- basic indexing ----------------------------------------------------------------------

BASIC_KEYS = [
    (slice(1, None),), (slice(None, -1),), (slice(None, None, -1),),
    (slice(None, None, 2),), (slice(3, 0, -2),), (slice(-1, None, -3),),
    (slice(10, -10, -1),), (1,), (-1,), (slice(None), 2), (1, slice(None, None, -1)),
    (Ellipsis, 0), (None, slice(1, 3)), (slice(None), None, -2), (0, 0),
    (slice(2, 2),),
]


@pytest.mark.parametrize("key", BASIC_KEYS, ids=str)
def test_basic_subtensor(key):
    check(lambda a: a[key] * 3, rand(4, 3))


def test_basic_subtensor_3d_and_scalar_result():
    check(lambda a: a[1, ::-1, 1:] ** 2, rand(2, 3, 4))
    check(lambda a: a[..., ::-2, None] ** 2, rand(2, 3, 4))
    check(lambda a: a[1, 2, 3] ** 2, rand(2, 3, 4))


def test_symbolic_slice_bounds():
    def half(a):
        return T.cast(T.shape(a)[0] // 2, "int64")
    check(lambda a: a[half(a):] ** 2, rand(5, 2))
    check(lambda a: a[:half(a), ::-1] ** 2, rand(5, 2))
    check(lambda a: a[half(a)::-1] ** 2, rand(5))
    check(lambda a: a[half(a)] ** 2, rand(5, 2))


def test_symbolic_bounds_given_at_run_time():
    x = T.dvector("x")
    start, stop, step = T.lscalars("start", "stop", "step")
    y = x[start:stop:step]
    w = T.dvector("w")
    g = T.grad((y * w).sum(), x)
    assert g.dtype == "float64" and g.ndim == 1
    f = fn([x, start, stop, step, w], g)
    for a, b, s in [(1, 5, 2), (-1, 0, -1), (5, -8, -2), (0, 6, 1)]:
        ref = np.zeros(6)
        n = len(ref[a:b:s])
        wv = np.arange(1.0, n + 1)
        ref[a:b:s] = wv
        np.testing.assert_array_equal(f(rand(6), a, b, s, wv), ref)
    # and an integer index given at run time
    i = T.lscalar("i")
    g = T.grad(x[i] * 3, x)
    np.testing.assert_array_equal(fn([x, i], g)(rand(4), -2), [0, 0, 3, 0])


def test_basic_subtensor_gradient_values_and_types():
    x = dtensor(4, 3)
    g = T.grad((x[1:, ::-1] * np.arange(9.0).reshape(3, 3)).sum(), x)
    assert_grad_type(g, x)
    ref = np.zeros((4, 3))
    ref[1:, ::-1] = np.arange(9.0).reshape(3, 3)
    np.testing.assert_array_equal(fn([x], g)(rand(4, 3)), ref)
    u = T.dmatrix("u")
    gu = T.grad(u[0, 1], u)
    assert_grad_type(gu, u)
    np.testing.assert_array_equal(fn([u], gu)(rand(2, 2)), [[0, 1], [0, 0]])


def test_integer_index_gets_no_gradient():
    x = T.dvector("x")
    i = T.lscalar("i")
    with pytest.raises(DisconnectedInputError):
        T.grad(x[i] * 2, [x, i])
    gx, gi = T.grad(x[i] * 2, [x, i], disconnected_inputs="ignore")
    assert gi.dtype == "int64"
    np.testing.assert_array_equal(fn([x, i], gi)(rand(3), 1), 0)


# ---- advanced indexing -------------------------------------------------------------------

ADVANCED_KEYS = [
    ([0, 2, 0],), ([0, 0, 1],), ([[1, 0], [1, 1]],), ([-1, 0, -1],),
    (slice(None), [2, 0, 2]), ([1, 0], [2, 2]), ([[0], [3]], [0, 2]),
    ([0, 3], slice(None, None, -1)), (None, [1, 1]), (1, [0, 2, 0]),
]


@pytest.mark.parametrize("key", ADVANCED_KEYS, ids=str)
def test_advanced_subtensor(key):
    check(lambda a: a[key] * 3, rand(4, 3))


@pytest.mark.parametrize("key", [([0, 1], slice(None), [1, 1]),
                                 (slice(None), [1, 0, 1], slice(1, None)),
                                 (1, slice(None), [0, 3, 3]), (Ellipsis, [2, -1])], ids=str)
def test_advanced_subtensor_3d(key):
    # Non-adjacent index arrays move their dims first (NumPy's rule).
    check(lambda a: a[key] ** 2, rand(2, 3, 4))


def test_duplicate_indices_accumulate():
    x = dtensor(3, 2)
    y = x[[0, 0, 1]]
    w = np.arange(6.0).reshape(3, 2)
    g = T.grad((y * w).sum(), x)
    assert_grad_type(g, x)
    np.testing.assert_array_equal(fn([x], g)(rand(3, 2)), [[2, 4], [4, 5], [0, 0]])
    key = (np.array([0, 2, 0, 0]),)
    v = T.dvector("v")
    gv = T.grad((v[[0, 2, 0, 0]] ** 2).sum(), v)
    vv = rand(3)
    np.testing.assert_allclose(fn([v], gv)(vv), numpy_scatter(3, key, 2 * vv[key]))


def test_advanced_index_given_at_run_time():
    x = T.dmatrix("x")
    i = T.lvector("i")
    w = rng.standard_normal((5, 3))
    g = T.grad((x[i] * w).sum(), x)
    idx = np.array([2, 0, 2, -1, 2])
    np.testing.assert_allclose(fn([x, i], g)(rand(4, 3), idx),
                               numpy_scatter((4, 3), (idx,), w))


def test_crossentropy_pattern():
    def nll(p):
        n = p.shape[0]
        return -T.log(p)[T.arange(n), T.constant(np.array([2, 0, 1, 2]))].mean()
    check(nll, rng.random((4, 3)) + 0.5)

    p = T.dmatrix("p")
    y = T.lvector("y")
    cost = -T.log(p)[T.arange(p.shape[0]), y].mean()
    g = T.grad(cost, p)
    assert_grad_type(g, p, by_rule=False)  # log's rule comes last
    pv = rng.random((4, 3)) + 0.5
    yv = np.array([2, 0, 0, 1])
    ref = np.zeros((4, 3))
    ref[np.arange(4), yv] = -1.0 / (4 * pv[np.arange(4), yv])
    np.testing.assert_allclose(fn([p, y], g)(pv, yv), ref)


# ---- set_subtensor, inc_subtensor --------------------------------------------------------

WRITE_CASES = [
    # (x shape, key, y shape)
    ((4, 3), (slice(1, 3),), (2, 3)),
    ((4, 3), (slice(1, 3),), (3,)),          # y broadcast over the rows
    ((4, 3), (slice(1, 3),), (2, 1)),        # y broadcast over the columns
    ((4, 3), (slice(None, None, -2), 1), ()),  # a scalar y
    ((4, 3), (2,), (3,)),
    ((4, 3), (slice(None), slice(None, None, -1)), (1, 3)),
    ((4, 3), ([0, 2],), (2, 3)),             # advanced, distinct rows
    ((4, 3), ([3, 1],), (1, 3)),
    ((4, 3), (slice(None), [2, 0]), (4, 1)),
    ((4, 3), ([0, 3], [1, 1]), (2,)),
    ((2, 3, 4), (1, slice(None), [0, 2]), (2, 3)),  # dims of the arrays first
]


@pytest.mark.parametrize("xs,key,ys", WRITE_CASES, ids=str)
@pytest.mark.parametrize("mode", ["set", "inc"])
def test_write_subtensor(xs, key, ys, mode):
    write = T.set_subtensor if mode == "set" else T.inc_subtensor
    check(lambda a, b: write(a[key], b * 2) ** 2, rand(*xs), rand(*ys))


@pytest.mark.parametrize("mode", ["set", "inc"])
def test_write_subtensor_duplicates(mode):
    write = T.set_subtensor if mode == "set" else T.inc_subtensor
    check(lambda a, b: write(a[[0, 2, 0]], b) ** 2, rand(3, 2), rand(3, 2))
    check(lambda a, b: write(a[[1, -3, 1]], b) ** 2, rand(3, 2), rand(2))
    check(lambda a, b: write(a[:, [1, 1]], b) ** 2, rand(3, 2), rand())


def test_set_subtensor_gradient_values():
    x, y = dtensor(4, 3, name="x"), dtensor(3, name="y")
    w = np.arange(12.0).reshape(4, 3)
    out = T.set_subtensor(x[1:3], y)
    gx, gy = T.grad((out * w).sum(), [x, y])
    assert_grad_type(gx, x)
    assert_grad_type(gy, y, by_rule=False)  # y's gradient is summed to its shape
    rx, ry = fn([x, y], [gx, gy])(rand(4, 3), rand(3))
    ref = w.copy()
    ref[1:3] = 0
    np.testing.assert_array_equal(rx, ref)
    np.testing.assert_array_equal(ry, w[1:3].sum(axis=0))


def test_inc_subtensor_gradient_values():
    x, y = dtensor(4, 3, name="x"), dtensor(name="y")
    w = np.arange(12.0).reshape(4, 3)
    out = T.inc_subtensor(x[::-2, 0], y)
    gx, gy = T.grad((out * w).sum(), [x, y])
    assert_grad_type(gx, x)
    assert_grad_type(gy, y, by_rule=False)  # y's gradient is summed to its shape
    rx, ry = fn([x, y], [gx, gy])(rand(4, 3), 0.5)
    np.testing.assert_array_equal(rx, w)
    assert ry == w[::-2, 0].sum()


def test_set_subtensor_duplicates_only_the_last_write_gets_a_gradient():
    # perform() writes in C order, so of y's rows aimed at row 0 the last one stays.
    x, y = T.dmatrix("x"), T.dmatrix("y")
    w = np.arange(6.0).reshape(3, 2) + 1
    out = T.set_subtensor(x[[0, 2, 0]], y)
    gx, gy = T.grad((out * w).sum(), [x, y])
    xv, yv = rand(3, 2), rand(3, 2)
    np.testing.assert_array_equal(fn([x, y], out)(xv, yv), [yv[2], xv[1], yv[1]])
    rx, ry = fn([x, y], [gx, gy])(xv, yv)
    np.testing.assert_array_equal(rx, [[0, 0], [3, 4], [0, 0]])
    np.testing.assert_array_equal(ry, [[0, 0], w[2], w[0]])
    # the same with the indices given at run time
    i = T.lvector("i")
    out = T.set_subtensor(x[i], y)
    gx, gy = T.grad((out * w).sum(), [x, y])
    rx, ry = fn([x, y, i], [gx, gy])(xv, yv, np.array([0, 2, -3]))
    np.testing.assert_array_equal(rx, [[0, 0], [3, 4], [0, 0]])
    np.testing.assert_array_equal(ry, [[0, 0], w[2], w[0]])
    rx, ry = fn([x, y, i], [gx, gy])(xv, yv, np.array([1, 2, 0]))
    np.testing.assert_array_equal(rx, np.zeros((3, 2)))
    np.testing.assert_array_equal(ry, w[[1, 2, 0]])
    # a broadcast y gets the gradient of the elements it last wrote
    s = T.dscalar("s")
    gs = T.grad((T.set_subtensor(x[[1, 1, 0], 0], s) * w).sum(), s)
    assert fn([x, s], gs)(xv, 2.0) == w[1, 0] + w[0, 0]


def test_set_subtensor_constant_indices():
    # Constant indices that provably name distinct elements need no last-write mask;
    # a negative index is a duplicate when it wraps onto another one.
    x, y = dtensor(3, 2, name="x"), dtensor(2, 2, name="y")
    w = np.arange(6.0).reshape(3, 2) + 1
    xv, yv = rand(3, 2), rand(2, 2)
    gy = T.grad((T.set_subtensor(x[[0, -1]], y) * w).sum(), y)
    assert "eq" not in _core.debugprint([gy])
    np.testing.assert_array_equal(fn([x, y], gy)(xv, yv), w[[0, 2]])
    gy = T.grad((T.set_subtensor(x[[0, -3]], y) * w).sum(), y)
    assert "eq" in _core.debugprint([gy])
    np.testing.assert_array_equal(fn([x, y], gy)(xv, yv), [[0, 0], w[0]])
    u = T.dmatrix("u")  # dims unknown: -1 may name the same row as 2
    gy = T.grad((T.set_subtensor(u[[2, -1]], y) * w).sum(), y)
    np.testing.assert_array_equal(fn([u, y], gy)(xv, yv), [[0, 0], w[2]])


def test_inc_subtensor_duplicates_accumulate():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    w = np.arange(6.0).reshape(3, 2) + 1
    out = T.inc_subtensor(x[[0, 2, 0]], y)
    gx, gy = T.grad((out * w).sum(), [x, y])
    xv, yv = rand(3, 2), rand(3, 2)
    ref_out = xv.copy()
    np.add.at(ref_out, [0, 2, 0], yv)
    np.testing.assert_allclose(fn([x, y], out)(xv, yv), ref_out)
    rx, ry = fn([x, y], [gx, gy])(xv, yv)
    np.testing.assert_array_equal(rx, w)
    np.testing.assert_array_equal(ry, w[[0, 2, 0]])


def test_write_with_an_integer_y():
    x = T.dvector("x")
    y = T.lvector("y")
    g = T.grad((T.set_subtensor(x[1:], y) * np.arange(3.0)).sum(), x)
    np.testing.assert_array_equal(fn([x, y], g)(rand(3), np.array([1, 2])), [0, 0, 0])


# ---- second derivatives ------------------------------------------------------------------

def test_second_derivative_through_subtensor():
    check(lambda a: T.grad((a[1:, ::-1] ** 3).sum() + (a[[0, 0]] ** 3).sum(), a), rand(3, 2))
    check(lambda a, b: T.grad((T.set_subtensor(a[[0, 2]], b * a[1]) ** 3).sum(), b),
          rand(3, 2), rand(2, 2))
    check(lambda a, b: T.grad((T.inc_subtensor(a[1:], b) ** 3).sum(), a), rand(3, 2),
          rand(2))
    # through the last-write mask of duplicate indices
    check(lambda a, b: T.grad((T.set_subtensor(a[[0, 2, 0]], b * a[1]) ** 3).sum(), b),
          rand(3, 2), rand(3, 2))
    check(lambda a, b: T.grad((T.set_subtensor(a[[0, 2, 0]], b * a[1]) ** 3).sum(), a),
          rand(3, 2), rand(3, 2))


def test_hessian_through_subtensor():
    x = T.dvector("x")
    h = T.hessian((x[::-1][:2] ** 3).sum() + (x[[0, 0]] ** 2).sum(), x)
    xv = rand(3)
    # d2/dx2: x2 and x1 are cubed (6x); x0 appears twice squared (2 * 2)
    np.testing.assert_allclose(fn([x], h)(xv), np.diag([4.0, 6 * xv[1], 6 * xv[2]]))
