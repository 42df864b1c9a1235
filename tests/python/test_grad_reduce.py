"""Gradients of the reductions: sum, prod, mean, max, min, var, std.

verify_grad (central finite differences) checks every reduction over every axis
choice, with and without keepdims, in float64; hand-computed values pin the
conventions finite differences cannot see (zeros in prod, ties in max/min).
"""
import numpy as np
import pytest

import theanine
import theanine.tensor as T
from theanine.gradient import verify_grad
from helpers import tensor

rng = np.random.default_rng(20240611)


def check(fun, *points, **kw):
    verify_grad(fun, [np.asarray(p, dtype="float64") for p in points], rng=np.random.default_rng(7),
                **kw)


def distinct(shape):
    """Values at least 0.1 apart (no ties, so max/min are differentiable), in
    random order, with random signs."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 + 0.3 + rng.random(n) * 0.05).reshape(shape) \
        * rng.choice([-1, 1], size=shape)


def nonzero(shape):
    """Values of magnitude in [0.5, 1.5] with random signs: no zeros for prod."""
    return (0.5 + rng.random(shape)) * rng.choice([-1, 1], size=shape)


def grad_fn(cost_of, *xs):
    """The compiled gradients of cost_of(*xs) with respect to each of xs."""
    return theanine.function(list(xs), T.grad(cost_of(*xs), list(xs)))


AXES = [None, 0, 1, -1, (0, 2), ()]
KEEPDIMS = [False, True]


def reductions():
    yield "sum", lambda x, a, k: T.sum(x, axis=a, keepdims=k), nonzero
    yield "mean", lambda x, a, k: T.mean(x, axis=a, keepdims=k), nonzero
    yield "prod", lambda x, a, k: T.prod(x, axis=a, keepdims=k), nonzero
    yield "max", lambda x, a, k: T.max(x, axis=a, keepdims=k), distinct
    yield "min", lambda x, a, k: T.min(x, axis=a, keepdims=k), distinct
    for ddof in (0, 1):
        yield f"var-ddof{ddof}", \
            lambda x, a, k, d=ddof: T.var(x, axis=a, keepdims=k, ddof=d), nonzero
        yield f"std-ddof{ddof}", \
            lambda x, a, k, d=ddof: T.std(x, axis=a, keepdims=k, ddof=d), nonzero


REDUCTIONS = list(reductions())


# ---- every reduction x axes x keepdims on 3-d points -------------------------

@pytest.mark.parametrize("keepdims", KEEPDIMS)
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("name,op,point", REDUCTIONS, ids=[r[0] for r in REDUCTIONS])
def test_verify_grad_3d(name, op, point, axis, keepdims):
    if axis == () and name in ("var-ddof1", "std-ddof0", "std-ddof1"):
        pytest.skip("over no axes var is 0 (nan with ddof=1) and std is sqrt(0): "
                    "no derivative to check")
    check(lambda x: op(x, axis, keepdims), point((2, 3, 4)))


@pytest.mark.parametrize("name,op,point", REDUCTIONS, ids=[r[0] for r in REDUCTIONS])
def test_verify_grad_over_a_dim_of_one(name, op, point):
    # A reduced dim of size 1, and one that is kept.
    check(lambda x: op(x, 1, False), point((3, 1, 2)))
    check(lambda x: op(x, (0, 2), True), point((3, 1, 2)))


@pytest.mark.parametrize("name,op,point", REDUCTIONS, ids=[r[0] for r in REDUCTIONS])
def test_verify_grad_vector_and_matrix(name, op, point):
    check(lambda x: op(x, None, False), point((5,)))
    check(lambda x: op(x, 0, True), point((5,)))
    check(lambda x: op(x, -1, False), point((3, 4)))
    check(lambda x: op(x, 0, True), point((3, 4)))


@pytest.mark.parametrize("name", ["sum", "mean", "prod", "max", "min"])
def test_verify_grad_of_a_0d_input(name):
    # Reducing a scalar (over all of its no axes) is the identity.
    op = getattr(T, name)
    check(lambda x: op(x) * 3.0, np.array(0.7))


@pytest.mark.parametrize("name,op,point", REDUCTIONS, ids=[r[0] for r in REDUCTIONS])
def test_verify_grad_through_broadcasting(name, op, point):
    # The reduced tensor broadcasts a row, a column and a fewer-ndim input, so
    # the reduction's gradient must flow back through the broadcast correctly.
    check(lambda x, r, c, v: op(x * r + c * v, 1, False),
          point((3, 4)) * 0.2, nonzero((1, 4)), nonzero((3, 1)), nonzero((4,)))
    check(lambda x, v: op(x + v, (0, 2), True), point((2, 3, 4)), nonzero((4,)) * 0.01)


def test_verify_grad_reductions_composed():
    check(lambda x: T.max(T.sum(x, axis=0), axis=-1) * T.mean(T.prod(x, axis=2)),
          nonzero((2, 3, 4)))
    check(lambda x: T.std(x, axis=0) / T.var(x, axis=0, ddof=1), nonzero((4, 3)))


# ---- values against hand-computed NumPy formulas ------------------------------

def test_sum_and_mean_gradient_values():
    x = T.dtensor3("x")
    a = nonzero((2, 3, 4))
    w = nonzero((2, 4))
    gs, gm = grad_fn(lambda x: T.sum(T.sum(x, axis=1) * w), x)(a)[0], \
        grad_fn(lambda x: T.sum(T.mean(x, axis=1) * w), x)(a)[0]
    np.testing.assert_allclose(gs, np.broadcast_to(w[:, None, :], a.shape))
    np.testing.assert_allclose(gm, np.broadcast_to(w[:, None, :] / 3, a.shape))
    g_all = grad_fn(lambda x: T.mean(x) * 2.0, x)(a)[0]
    np.testing.assert_allclose(g_all, np.full(a.shape, 2.0 / 24))


def test_prod_gradient_without_zeros_is_prod_over_x():
    x = T.dmatrix("x")
    a = nonzero((3, 4))
    g = grad_fn(lambda x: T.sum(T.prod(x, axis=1)), x)(a)[0]
    np.testing.assert_allclose(g, np.prod(a, axis=1, keepdims=True) / a, rtol=1e-12)


def others_product(row):
    """d prod(row) / d row[i], computed as the product of the other elements."""
    return np.array([np.prod(np.delete(row, i)) for i in range(len(row))])


def test_prod_gradient_with_zeros():
    x = T.dmatrix("x")
    a = np.array([[2.0, 0.0, 3.0, -1.5],    # one zero: it alone gets 2 * 3 * -1.5
                  [0.0, 4.0, 0.0, 5.0],     # two zeros: every derivative is 0
                  [1.5, -2.0, 0.5, 3.0],    # no zero: prod / x
                  [0.0, 0.0, 0.0, 0.0]])    # all zeros
    g = grad_fn(lambda x: T.sum(T.prod(x, axis=1)), x)(a)[0]
    expected = np.stack([others_product(r) for r in a])
    np.testing.assert_allclose(g, expected, rtol=1e-12)
    np.testing.assert_array_equal(g[0], [0.0, -9.0, 0.0, 0.0])
    np.testing.assert_array_equal(g[1], 0.0)
    assert np.all(np.isfinite(g))
    # Along the other axis, with keepdims and an output gradient that is not 1.
    w = np.array([[1.0, 2.0, -1.0, 0.5]])
    g0 = grad_fn(lambda x: T.sum(T.prod(x, axis=0, keepdims=True) * w), x)(a)[0]
    expected0 = np.stack([others_product(c) for c in a.T]).T * w
    np.testing.assert_allclose(g0, expected0, rtol=1e-12)


def test_prod_gradient_with_one_zero_over_all_axes():
    x = T.dtensor3("x")
    a = nonzero((2, 2, 3))
    a[1, 0, 2] = 0.0
    g = grad_fn(lambda x: T.prod(x), x)(a)[0]
    expected = np.zeros_like(a)
    expected[1, 0, 2] = np.prod(np.delete(a.ravel(), np.ravel_multi_index((1, 0, 2), a.shape)))
    np.testing.assert_allclose(g, expected, rtol=1e-12)


def test_second_derivative_of_prod_with_a_zero():
    # prod(x) = x0 x1 x2 with x1 = 0: d2/dx0 dx2 is x1 = 0, d2/dx0 dx1 is x2.
    x = T.dvector("x")
    a = np.array([2.0, 0.0, 3.0])
    h = theanine.function([x], T.hessian(T.prod(x), x))(a)
    expected = np.array([[0.0, 3.0, 0.0], [3.0, 0.0, 2.0], [0.0, 2.0, 0.0]])
    np.testing.assert_allclose(h, expected, rtol=1e-12)


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_ties_each_get_the_gradient(name):
    x = T.dmatrix("x")
    op = getattr(T, name)
    s = 1.0 if name == "max" else -1.0
    a = s * np.array([[1.0, 3.0, 3.0, 2.0],
                      [5.0, 5.0, 5.0, 5.0],
                      [0.0, -1.0, 4.0, 4.0]])
    w = np.array([2.0, -1.0, 0.5])
    g = grad_fn(lambda x: T.sum(op(x, axis=1) * w), x)(a)[0]
    expected = np.array([[0.0, 2.0, 2.0, 0.0],
                         [-1.0, -1.0, -1.0, -1.0],
                         [0.0, 0.0, 0.5, 0.5]])
    np.testing.assert_array_equal(g, expected)
    # Over every axis: all elements equal to the result share in it.
    g_all = grad_fn(lambda x: op(x) * 3.0, x)(a)[0]
    np.testing.assert_array_equal(g_all, 3.0 * (a == (a.max() if s > 0 else a.min())))


def test_max_gradient_over_axis_0_with_keepdims():
    x = T.dtensor3("x")
    a = distinct((3, 2, 2))
    g = grad_fn(lambda x: T.sum(T.max(x, axis=0, keepdims=True) * 2.0), x)(a)[0]
    np.testing.assert_array_equal(g, 2.0 * (a == a.max(axis=0, keepdims=True)))


@pytest.mark.parametrize("ddof", [0, 1, 2])
@pytest.mark.parametrize("axis", [None, 1, (0, 2)], ids=str)
def test_var_and_std_gradient_values(axis, ddof):
    x = T.dtensor3("x")
    a = nonzero((2, 3, 4))
    w = nonzero(np.var(a, axis=axis, keepdims=True).shape)
    n = a.size // w.size
    centered = a - a.mean(axis=axis, keepdims=True)
    gv = grad_fn(lambda x: T.sum(T.var(x, axis=axis, keepdims=True, ddof=ddof) * w), x)(a)[0]
    np.testing.assert_allclose(gv, w * 2 * centered / (n - ddof), rtol=1e-10)
    std = np.std(a, axis=axis, keepdims=True, ddof=ddof)
    gs = grad_fn(lambda x: T.sum(T.std(x, axis=axis, keepdims=True, ddof=ddof) * w), x)(a)[0]
    np.testing.assert_allclose(gs, w * centered / ((n - ddof) * std), rtol=1e-10)


# ---- dtypes and static shapes ------------------------------------------------

@pytest.mark.parametrize("name,op,point", REDUCTIONS, ids=[r[0] for r in REDUCTIONS])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gradient_has_the_dtype_and_static_shape_of_wrt(name, op, point, dtype):
    x = T.tensor(dtype, shape=(2, None, 4), name="x")
    for axis, keepdims in [(None, False), (1, False), ((0, 2), True)]:
        g = T.grad(T.sum(op(x, axis, keepdims)), x)
        assert g.dtype == dtype
        assert g.static_shape == (2, None, 4)
        a = point((2, 3, 4)).astype(dtype)
        assert theanine.function([x], g)(a).shape == (2, 3, 4)


def test_float32_gradient_values_close_to_float64():
    a = nonzero((3, 4))
    for op in (lambda x: T.prod(x, axis=0), lambda x: T.std(x, axis=1),
               lambda x: T.mean(x, axis=1, keepdims=True)):
        gs = []
        for dtype in ("float32", "float64"):
            x = tensor(dtype, 2)
            gs.append(theanine.function([x], T.grad(T.sum(op(x) ** 2), x))(a.astype(dtype)))
        assert gs[0].dtype == np.float32
        np.testing.assert_allclose(gs[0], gs[1], rtol=1e-4, atol=1e-5)


def test_sum_with_a_wider_output_dtype():
    x = T.fmatrix("x")
    y = T.sum(x, axis=0, dtype="float64")
    assert y.dtype == "float64"
    g = T.grad(T.sum(y * 2.0), x)
    assert g.dtype == "float32"
    np.testing.assert_array_equal(theanine.function([x], g)(np.ones((2, 3), "float32")),
                                  np.full((2, 3), 2.0, "float32"))


def test_gradient_of_a_reduction_of_an_empty_tensor():
    x = T.dmatrix("x")
    for op in (T.sum, T.mean, T.prod):
        g = theanine.function([x], T.grad(T.sum(op(x, axis=0)), x))(np.zeros((0, 3)))
        assert g.shape == (0, 3)


def test_integer_outputs_block_the_gradient():
    # argmax/argmin/all/any have integer or bool outputs: no gradient flows.
    x = T.dvector("x")
    c = T.sum(x) + T.cast(T.argmax(x), "float64") + T.cast(T.any(x > 0), "float64")
    g = theanine.function([x], T.grad(c, x))(np.array([1.0, -2.0, 3.0]))
    np.testing.assert_array_equal(g, [1.0, 1.0, 1.0])


# ---- second derivatives -------------------------------------------------------

def test_hessian_of_var_is_the_centering_matrix():
    x = T.dvector("x")
    a = nonzero((5,))
    for ddof in (0, 1):
        h = theanine.function([x], T.hessian(T.var(x, ddof=ddof), x))(a)
        n = len(a)
        expected = 2.0 / (n - ddof) * (np.eye(n) - np.full((n, n), 1.0 / n))
        np.testing.assert_allclose(h, expected, rtol=1e-10, atol=1e-12)


def test_hessian_of_sum_of_squares_of_mean():
    # f = sum_i (mean_j x_ij)^2: d2f / dx_ij dx_kl = 2 / n^2 when i == k, else 0.
    x = T.dmatrix("x")
    a = nonzero((2, 3))
    h = theanine.function([x], T.hessian(T.sum(T.mean(x, axis=1) ** 2), x))(a)
    # The hessian wrt a matrix is the jacobian of its flattened (2, 3) gradient.
    expected = np.zeros((2, 3, 2, 3))
    for i in range(2):
        expected[i, :, i, :] = 2.0 / 9
    np.testing.assert_allclose(h.reshape(2, 3, 2, 3), expected, atol=1e-12)


@pytest.mark.parametrize("name,op,point", REDUCTIONS, ids=[r[0] for r in REDUCTIONS])
def test_verify_grad_of_the_gradient(name, op, point):
    # d/dx of <grad(sum(op(x)^2)), w> checks the rules' own gradients.
    w = nonzero((3, 4))
    check(lambda x: T.grad(T.sum(op(x, 1, False) ** 2), x) * w, point((3, 4)))
    check(lambda x: T.grad(T.sum(op(x, None, True) ** 2), x) * w, point((3, 4)))
