"""Gradients of the products: dot (every mix of ranks, numpy.dot semantics),
batched_dot and outer, checked by verify_grad in float64 and against
hand-computed NumPy formulas."""
import numpy as np
import pytest

import theanine
import theanine.tensor as T
from theanine.gradient import verify_grad

rng = np.random.default_rng(77)


def rand(*shape):
    return rng.standard_normal(shape)


def check(fun, *points, **kw):
    verify_grad(fun, [np.asarray(p, dtype="float64") for p in points], rng=np.random.default_rng(3),
                **kw)


def grads(cost_of, *points, dtypes=None):
    """The values of T.grad(cost_of(*xs), xs) at `points`."""
    dtypes = dtypes or ["float64"] * len(points)
    xs = [T.tensor(d, shape=(None,) * np.ndim(p), name=f"x{i}")
          for i, (d, p) in enumerate(zip(dtypes, points))]
    f = theanine.function(xs, T.grad(cost_of(*xs), xs))
    return f(*[np.asarray(p, dtype=d) for p, d in zip(points, dtypes)])


# ---- dot: every mix of ranks ---------------------------------------------------

DOT_SHAPES = [
    ((), ()), ((), (3,)), ((3,), ()), ((), (2, 3)), ((2, 3, 2), ()),
    ((4,), (4,)),                     # vec . vec
    ((3, 4), (4,)),                   # mat . vec
    ((4,), (4, 3)),                   # vec . mat
    ((3, 4), (4, 2)),                 # mat . mat
    ((2, 3, 4), (4,)),                # 3-d . vec
    ((4,), (2, 4, 3)),                # vec . 3-d
    ((2, 3, 4), (4, 2)),              # 3-d . mat
    ((3, 4), (2, 4, 3)),              # mat . 3-d
    ((2, 3, 4), (2, 4, 3)),           # 3-d . 3-d
    ((2, 1, 2, 3), (2, 3, 2)),        # 4-d . 3-d
    ((2, 3), (2, 1, 3, 2)),           # mat . 4-d
    ((3, 1), (1, 4)),                 # a contraction of length 1
    ((1, 3), (3, 1)),                 # dims of 1 in the result
    ((1,), (1, 3)),
]


@pytest.mark.parametrize("sa,sb", DOT_SHAPES, ids=[f"{a}.{b}" for a, b in DOT_SHAPES])
def test_verify_grad_dot(sa, sb):
    check(T.dot, rand(*sa), rand(*sb))


@pytest.mark.parametrize("sa,sb", DOT_SHAPES, ids=[f"{a}.{b}" for a, b in DOT_SHAPES])
def test_dot_gradient_values_match_einsum(sa, sb):
    a, b = rand(*sa), rand(*sb)
    z = np.dot(a, b)
    w = rand(*z.shape)
    ga, gb = grads(lambda x, y: T.sum(T.dot(x, y) * w), a, b)
    # z = einsum(a, b) with the contraction written out, so its gradients are
    # einsums with gz in the output's place.
    if a.ndim == 0 or b.ndim == 0:
        ea, eb = (np.sum(w * b), w * a) if a.ndim == 0 else (w * b, np.sum(w * a))
    else:
        la = "abcd"[:a.ndim - 1] + "k"
        lb = "efgh"[:max(b.ndim - 2, 0)] + ("k" + "n" if b.ndim >= 2 else "k")
        lz = la[:-1] + lb.replace("k", "")
        assert np.allclose(np.einsum(f"{la},{lb}->{lz}", a, b), z)
        ea = np.einsum(f"{lz},{lb}->{la}", w, b)
        eb = np.einsum(f"{la},{lz}->{lb}", a, w)
    np.testing.assert_allclose(ga, ea, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gb, eb, rtol=1e-12, atol=1e-12)


def test_dot_gradients_by_hand():
    a, b = rand(3, 4), rand(4, 2)
    ga, gb = grads(lambda x, y: T.sum(T.dot(x, y)), a, b)
    np.testing.assert_allclose(ga, np.ones((3, 2)) @ b.T, rtol=1e-12)
    np.testing.assert_allclose(gb, a.T @ np.ones((3, 2)), rtol=1e-12)
    u, v = rand(5), rand(5)
    gu, gv = grads(lambda x, y: T.dot(x, y) * 3.0, u, v)
    np.testing.assert_allclose(gu, 3 * v, rtol=1e-12)
    np.testing.assert_allclose(gv, 3 * u, rtol=1e-12)
    m, x = rand(3, 5), rand(5)
    w = rand(3)
    gm, gx = grads(lambda p, q: T.sum(T.dot(p, q) * w), m, x)
    np.testing.assert_allclose(gm, np.outer(w, x), rtol=1e-12)
    np.testing.assert_allclose(gx, m.T @ w, rtol=1e-12)


def test_dot_gradient_with_empty_contraction_and_empty_result():
    # k = 0: the gradients are empty; n = 0: they are zeros.
    ga, gb = grads(lambda x, y: T.sum(T.dot(x, y)), np.zeros((2, 0)), np.zeros((0, 3)))
    assert ga.shape == (2, 0) and gb.shape == (0, 3)
    ga, gb = grads(lambda x, y: T.sum(T.dot(x, y)), rand(2, 3), np.zeros((3, 0)))
    np.testing.assert_array_equal(ga, np.zeros((2, 3)))
    assert gb.shape == (3, 0)


def test_verify_grad_dot_of_broadcast_and_transposed_operands():
    # An operand built by broadcasting (a row added to a matrix) and a
    # transposed one.
    check(lambda x, r, w: T.dot(x + r, w.T), rand(3, 4), rand(1, 4), rand(2, 4))
    check(lambda x, v, w: T.dot(T.tanh(x * v), w), rand(2, 3, 4), rand(4), rand(4, 2))
    check(lambda x: T.dot(x, x), rand(3, 3))


def test_dot_gradient_dtypes_and_static_shapes():
    for da, db in [("float32", "float32"), ("float32", "float64"), ("float64", "float32")]:
        a = T.tensor(da, shape=(3, None), name="a")
        b = T.tensor(db, shape=(None, 5), name="b")
        ga, gb = T.grad(T.sum(T.dot(a, b)), [a, b])
        assert (ga.dtype, gb.dtype) == (da, db)
        assert ga.static_shape == (3, None) and gb.static_shape == (None, 5)
        va, vb = grads(lambda x, y: T.sum(T.dot(x, y)), rand(3, 4), rand(4, 5),
                       dtypes=[da, db])
        assert va.dtype == np.dtype(da) and vb.dtype == np.dtype(db)
    a = T.dtensor3("a")
    b = T.tensor("float64", shape=(2, 4, 3), name="b")
    ga, gb = T.grad(T.sum(T.dot(a, b)), [a, b])
    assert ga.static_shape == (None, None, None) and gb.static_shape == (2, 4, 3)


def test_dot_with_an_integer_operand():
    # Only the float operand gets a gradient; the integer one counts as
    # constant (its gradient is zeros, as in Theano).
    a = T.imatrix("a")
    b = T.dmatrix("b")
    gb = theanine.function([a, b], T.grad(T.sum(T.dot(a, b)), b))(
        np.array([[1, 2], [3, 4]], dtype="int32"), rand(2, 3))
    np.testing.assert_array_equal(gb, np.array([[4.0] * 3, [6.0] * 3]))


# ---- batched_dot ---------------------------------------------------------------

BATCHED_SHAPES = [
    ((3, 2, 4), (3, 4, 5)),           # matrices
    ((3, 2, 4), (3, 4)),              # matrix . vector
    ((3, 4), (3, 4, 5)),              # vector . matrix
    ((3, 4), (3, 4)),                 # vector . vector
    ((1, 2, 3), (1, 3, 1)),           # batch of 1, dims of 1
]


@pytest.mark.parametrize("sa,sb", BATCHED_SHAPES, ids=[f"{a}.{b}" for a, b in BATCHED_SHAPES])
def test_verify_grad_batched_dot(sa, sb):
    check(T.batched_dot, rand(*sa), rand(*sb))


@pytest.mark.parametrize("sa,sb", BATCHED_SHAPES, ids=[f"{a}.{b}" for a, b in BATCHED_SHAPES])
def test_batched_dot_gradient_values(sa, sb):
    a, b = rand(*sa), rand(*sb)
    la = "bik" if a.ndim == 3 else "bk"
    lb = "bkj" if b.ndim == 3 else "bk"
    lz = "b" + ("i" if a.ndim == 3 else "") + ("j" if b.ndim == 3 else "")
    w = rand(*np.einsum(f"{la},{lb}->{lz}", a, b).shape)
    ga, gb = grads(lambda x, y: T.sum(T.batched_dot(x, y) * w), a, b)
    np.testing.assert_allclose(ga, np.einsum(f"{lz},{lb}->{la}", w, b), rtol=1e-12)
    np.testing.assert_allclose(gb, np.einsum(f"{la},{lz}->{lb}", a, w), rtol=1e-12)


def test_batched_dot_gradient_dtype_and_static_shape():
    a = T.tensor("float32", shape=(3, 2, 4), name="a")
    b = T.tensor("float32", shape=(3, None), name="b")
    ga, gb = T.grad(T.sum(T.batched_dot(a, b)), [a, b])
    assert (ga.dtype, gb.dtype) == ("float32", "float32")
    assert ga.static_shape == (3, 2, 4) and gb.static_shape == (3, None)


# ---- outer ----------------------------------------------------------------------

OUTER_SHAPES = [((3,), (4,)), ((2, 3), (4,)), ((), (3,)), ((3,), ()), ((2, 1, 2), (3, 2)),
                ((1,), (1,))]


@pytest.mark.parametrize("sa,sb", OUTER_SHAPES, ids=[f"{a}x{b}" for a, b in OUTER_SHAPES])
def test_verify_grad_outer(sa, sb):
    check(T.outer, rand(*sa), rand(*sb))


@pytest.mark.parametrize("sa,sb", OUTER_SHAPES, ids=[f"{a}x{b}" for a, b in OUTER_SHAPES])
def test_outer_gradient_values(sa, sb):
    a, b = rand(*sa), rand(*sb)
    w = rand(a.size, b.size)
    ga, gb = grads(lambda x, y: T.sum(T.outer(x, y) * w), a, b)
    np.testing.assert_allclose(ga, (w @ b.ravel()).reshape(sa), rtol=1e-12)
    np.testing.assert_allclose(gb, (w.T @ a.ravel()).reshape(sb), rtol=1e-12)


def test_outer_gradient_static_shape():
    a = T.tensor("float64", shape=(2, 3), name="a")
    b = T.dvector("b")
    ga, gb = T.grad(T.sum(T.outer(a, b)), [a, b])
    assert ga.static_shape == (2, 3) and gb.static_shape == (None,)


# ---- second derivatives ----------------------------------------------------------

def test_hessian_of_sum_of_squares_of_dot():
    # f(x) = sum((x A)^2) = x A A^T x^T: the hessian is 2 A A^T.
    A = rand(4, 3)
    x = T.dvector("x")
    h = theanine.function([x], T.hessian(T.sum(T.dot(x, T.constant(A)) ** 2), x))(rand(4))
    np.testing.assert_allclose(h, 2 * A @ A.T, rtol=1e-12)
    # f(x) = sum((A^T x)^2) with A^T as the left operand: the same hessian.
    h2 = theanine.function([x], T.hessian(T.sum(T.dot(T.constant(A.T), x) ** 2), x))(rand(4))
    np.testing.assert_allclose(h2, 2 * A @ A.T, rtol=1e-12)


def test_hessian_of_a_quadratic_form():
    # f(x) = x^T M x: the hessian is M + M^T.
    M = rand(3, 3)
    x = T.dvector("x")
    h = theanine.function([x], T.hessian(T.dot(x, T.dot(T.constant(M), x)), x))(rand(3))
    np.testing.assert_allclose(h, M + M.T, rtol=1e-12)


@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 2)), ((2, 3, 4), (4, 2)), ((4,), (2, 4, 3))],
                         ids=str)
def test_verify_grad_of_the_dot_gradient(sa, sb):
    w = rand(*sa)
    check(lambda a, b: T.grad(T.sum(T.dot(a, b) ** 2), a) * w, rand(*sa), rand(*sb))
    v = rand(*sb)
    check(lambda a, b: T.grad(T.sum(T.tanh(T.dot(a, b))), b) * v, rand(*sa), rand(*sb))


def test_verify_grad_of_the_batched_dot_and_outer_gradients():
    w = rand(3, 2, 4)
    check(lambda a, b: T.grad(T.sum(T.batched_dot(a, b) ** 2), a) * w,
          rand(3, 2, 4), rand(3, 4))
    v = rand(4)
    check(lambda a, b: T.grad(T.sum(T.outer(a, b) ** 2), b) * v, rand(2, 3), rand(4))
