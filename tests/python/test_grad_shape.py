"""Gradients of the shape ops: reshape, flatten, dimshuffle/transpose, join/concatenate,
stack, alloc, fill, zeros_like/ones_like, make_vector, arange, repeat and tile. Each is
checked against finite differences (verify_grad, float64) and, where a convention
matters, against a hand-computed NumPy value; gradients keep the dtype and static shape
of their wrt."""
import numpy as np
import pytest

import theanine
import theanine.tensor as T
from theanine.gradient import DisconnectedInputError, verify_grad  # noqa: F401
from helpers import assert_grad_type, fn
from helpers import check_grad as _check_grad

rng = np.random.default_rng(7)


def check(fun, *points, n_tests=2):
    _check_grad(fun, *points, seed=3, n_tests=n_tests)


def rand(*shape):
    return rng.standard_normal(shape)


def dtensor(*shape, name="x"):
    """A float64 input of static shape `shape` (None: unknown)."""
    return T.tensor("float64", shape=shape, name=name)


# ---- reshape, flatten --------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(6,), (3, 2), (-1,), (2, -1), (1, 3, 2), (3, 1, -1)],
                         ids=str)
def test_reshape(shape):
    check(lambda a: a.reshape(shape) * 3, rand(2, 3))


def test_reshape_to_scalar_and_from_scalar():
    check(lambda a: a.reshape(()) * 2, rand(1, 1))
    check(lambda a: a.reshape((1, 1, 1)) * 2, rand())


def test_reshape_with_symbolic_shape():
    check(lambda a: a.reshape((a.shape[0] * a.shape[1],)) ** 2, rand(2, 3))
    check(lambda a: T.reshape(a, T.shape(a)[::-1], ndim=2) ** 2, rand(2, 3))


@pytest.mark.parametrize("outdim", [1, 2, 3])
def test_flatten(outdim):
    check(lambda a: T.flatten(a, outdim) ** 2, rand(2, 3, 2))


def test_reshape_and_flatten_grads_keep_static_shape():
    x = dtensor(2, 3)
    for y in [x.reshape((3, 2)), x.reshape((-1,)), T.flatten(x, 1)]:
        g = T.grad((y ** 2).sum(), x)
        assert_grad_type(g, x)
    xv = rand(2, 3)
    g = T.grad((x.reshape((-1,)) * np.arange(6.0)).sum(), x)
    np.testing.assert_array_equal(fn([x], g)(xv), np.arange(6.0).reshape(2, 3))
    # unknown dims stay unknown, and the values follow C order
    u = dtensor(None, None)
    gu = T.grad((u.reshape((-1,)) * np.arange(6.0)).sum(), u)
    assert gu.static_shape == (None, None)
    np.testing.assert_array_equal(fn([u], gu)(rand(3, 2)), np.arange(6.0).reshape(3, 2))


# ---- dimshuffle, transpose ---------------------------------------------------------------

@pytest.mark.parametrize("pattern", [(1, 0), (0, 1), ("x", 0, 1), (1, "x", 0),
                                     (0, "x", "x", 1), ("x", 1, "x", 0, "x")], ids=str)
def test_dimshuffle_permute_and_add_dims(pattern):
    check(lambda a: a.dimshuffle(*pattern) * 2, rand(2, 3))


@pytest.mark.parametrize("shape,pattern", [((1, 3), (1,)), ((1, 3), ("x", 1)),
                                           ((1, 3), (1, "x")), ((2, 1, 3), (2, 0)),
                                           ((2, 1, 3), (0, "x", 2)),
                                           ((2, 1, 3), (2, "x", 0))], ids=str)
def test_dimshuffle_drops_broadcastable_dims(shape, pattern):
    # Only dims known to be 1 can be dropped: a reshape to constants makes them so.
    check(lambda a: a.reshape(shape).dimshuffle(*pattern) ** 2, rand(int(np.prod(shape))))


def test_dimshuffle_of_row_gives_row_gradient():
    x = T.drow("x")
    y = x.dimshuffle(1)  # drops the broadcastable dim
    g = T.grad((y * np.arange(3.0)).sum(), x)
    assert_grad_type(g, x)
    assert g.broadcastable == (True, False)
    np.testing.assert_array_equal(fn([x], g)(rand(1, 3)), [[0.0, 1.0, 2.0]])
    z = x.dimshuffle("x", 1, 0)
    g = T.grad((z ** 2).sum(), x)
    assert_grad_type(g, x)
    xv = rand(1, 3)
    np.testing.assert_allclose(fn([x], g)(xv), 2 * xv)


def test_dimshuffle_gradient_without_static_ones():
    # A gradient whose type does not know the added dims are 1 (known_grads with an
    # unknown shape) still goes back through the shuffle.
    x = dtensor(None, None)
    y = x.dimshuffle(1, "x", 0)
    gy = dtensor(None, None, None, name="gy")
    g = theanine.grad(None, x, known_grads={y: gy})
    assert g.ndim == 2
    gv = rand(3, 1, 2)
    np.testing.assert_array_equal(fn([x, gy], g)(rand(2, 3), gv), gv[:, 0, :].T)


@pytest.mark.parametrize("axes", [None, (0, 2, 1), (2, 0, 1), (-1, 0, 1)], ids=str)
def test_transpose(axes):
    check(lambda a: T.transpose(a, axes) * np.arange(24.0).reshape(
        np.transpose(np.zeros((2, 3, 4)), axes).shape), rand(2, 3, 4))


def test_transpose_property():
    check(lambda a: a.T ** 2, rand(2, 3))


def test_transpose_gradient_values():
    x = dtensor(2, 3)
    w = np.arange(6.0).reshape(3, 2)
    g = T.grad((x.T * w).sum(), x)
    assert_grad_type(g, x)
    np.testing.assert_array_equal(fn([x], g)(rand(2, 3)), w.T)


# ---- concatenate / join, stack -----------------------------------------------------------

@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate_matrices(axis):
    shapes = {0: [(2, 3), (1, 3), (3, 3)], 1: [(2, 1), (2, 3), (2, 2)],
              -1: [(2, 1), (2, 3), (2, 2)]}[axis]
    check(lambda a, b, c: T.concatenate([a, b * 2, c], axis=axis) ** 2,
          *[rand(*s) for s in shapes])


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_concatenate_tensor3(axis):
    shapes = [[2, 2, 2], [2, 2, 2]]
    shapes[1][axis] = 3
    check(lambda a, b: T.concatenate([a, b], axis=axis) * 3, *[rand(*s) for s in shapes])


def test_join_spelling_and_one_input_used_twice():
    check(lambda a, b: T.join(0, a, b, a) ** 2, rand(2), rand(3))


def test_concatenate_gradient_values_and_types():
    a, b = dtensor(2, 3, name="a"), dtensor(None, 3, name="b")
    w = np.arange(15.0).reshape(5, 3)
    cost = (T.concatenate([a, b], axis=0) * w).sum()
    ga, gb = T.grad(cost, [a, b])
    # the output's length is unknown, so is that of a's stretch: the engine restores it
    assert_grad_type(ga, a, by_rule=False)
    assert_grad_type(gb, b)
    ra, rb = fn([a, b], [ga, gb])(rand(2, 3), rand(3, 3))
    np.testing.assert_array_equal(ra, w[:2])
    np.testing.assert_array_equal(rb, w[2:])
    # all lengths known: the pieces have static shapes
    c = dtensor(1, 3, name="c")
    ga, gc = T.grad((T.concatenate([a, c, a], axis=0) * w).sum(), [a, c])
    assert_grad_type(ga, a, by_rule=False)  # the sum of a's two pieces
    assert_grad_type(gc, c)
    ra, rc = fn([a, c], [ga, gc])(rand(2, 3), rand(1, 3))
    np.testing.assert_array_equal(ra, w[:2] + w[3:])
    np.testing.assert_array_equal(rc, w[2:3])


def test_concatenate_with_an_integer_input():
    x = T.dvector("x")
    i = T.lvector("i")
    g = T.grad((T.concatenate([i, x]) * np.arange(5.0)).sum(), x)
    assert g.dtype == "float64"
    np.testing.assert_array_equal(fn([x, i], g)(rand(3), np.array([4, 5])), [2.0, 3.0, 4.0])


def test_concatenate_of_float32_and_float64():
    a, b = T.fvector("a"), T.dvector("b")
    y = T.concatenate([a, b])
    assert y.dtype == "float64"
    ga, gb = T.grad((y * np.arange(4.0)).sum(), [a, b])
    assert (ga.dtype, gb.dtype) == ("float32", "float64")
    ra, rb = fn([a, b], [ga, gb])(np.ones(1, "float32"), np.ones(3))
    np.testing.assert_array_equal(ra, [0.0])
    np.testing.assert_array_equal(rb, [1.0, 2.0, 3.0])


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_stack(axis):
    check(lambda a, b, c: T.stack([a, b * 2, c * a], axis=axis) ** 2,
          rand(2, 3), rand(2, 3), rand(2, 3))


def test_stack_of_scalars_and_gradient_values():
    check(lambda a, b: T.stack([a, b, a * b]) ** 2, rand(), rand())
    x, y = dtensor(2, name="x"), dtensor(None, name="y")
    w = np.arange(4.0).reshape(2, 2)
    gx, gy = T.grad((T.stack([x, y], axis=1) * w).sum(), [x, y])
    assert_grad_type(gx, x)
    # y's piece knows its length from x: the engine takes the knowledge away again
    assert_grad_type(gy, y, by_rule=False)
    rx, ry = fn([x, y], [gx, gy])(rand(2), rand(2))
    np.testing.assert_array_equal(rx, w[:, 0])
    np.testing.assert_array_equal(ry, w[:, 1])


# ---- alloc, fill, zeros_like, ones_like --------------------------------------------------

def test_alloc():
    check(lambda v: T.alloc(v, 2, 3) ** 2, rand())
    check(lambda v: T.alloc(v, 4, 3) ** 2, rand(3))
    check(lambda v: T.alloc(v, 2, 4, 3) ** 2, rand(1, 3))
    check(lambda v: T.alloc(v, 2, 3) ** 2, rand(2, 1))
    check(lambda v: T.alloc(v, 2, 3) ** 2, rand(2, 3))


def test_alloc_with_symbolic_shape():
    check(lambda v, m: T.alloc(v, m.shape[0], 3) * m, rand(3), rand(2, 3))


def test_alloc_gradient_values():
    v = T.dscalar("v")
    g = T.grad(T.alloc(v, 2, 3).sum(), v)
    assert_grad_type(g, v, by_rule=False)  # sum_to
    assert fn([v], g)(1.5) == 6.0
    r = T.drow("r")
    w = np.arange(12.0).reshape(4, 3)
    g = T.grad((T.alloc(r, 4, 3) * w).sum(), r)
    assert_grad_type(g, r, by_rule=False)
    np.testing.assert_array_equal(fn([r], g)(rand(1, 3)), w.sum(axis=0, keepdims=True))


def test_fill():
    check(lambda m, v: T.fill(m, v) * m, rand(2, 3), rand())
    check(lambda m, v: T.fill(m, v) * m, rand(2, 3), rand(3))
    check(lambda m, v: T.fill(m, v) ** 2, rand(3), rand(2, 1))


def test_fill_value_gets_the_gradient_model_none():
    m, v = T.dmatrix("m"), T.dscalar("v")
    y = T.fill(m, v)
    g = T.grad((y * np.arange(6.0).reshape(2, 3)).sum(), v)
    assert_grad_type(g, v, by_rule=False)
    assert fn([m, v], g)(rand(2, 3), 0.5) == 15.0
    with pytest.raises(DisconnectedInputError):
        T.grad(y.sum(), m)
    gm = T.grad(y.sum(), m, disconnected_inputs="ignore")
    np.testing.assert_array_equal(fn([m], gm)(rand(2, 3)), np.zeros((2, 3)))


def test_zeros_like_and_ones_like_pass_no_gradient():
    x = T.dmatrix("x")
    with pytest.raises(DisconnectedInputError):
        T.grad(T.zeros_like(x).sum(), x)
    with pytest.raises(DisconnectedInputError):
        T.grad(T.ones_like(x).sum(), x)
    g = T.grad((T.ones_like(x) * 2 + x * 3).sum(), x)
    np.testing.assert_array_equal(fn([x], g)(rand(2, 3)), np.full((2, 3), 3.0))


# ---- make_vector, arange -----------------------------------------------------------------

def test_make_vector():
    check(lambda a, b: T.make_vector([a, b * 2, a * b, a]) ** 2, rand(), rand())
    a, b = T.dscalar("a"), T.fscalar("b")
    v = T.make_vector([a, b], dtype="float64")
    ga, gb = T.grad((v * np.array([3.0, 5.0])).sum(), [a, b])
    assert (ga.dtype, gb.dtype) == ("float64", "float32")
    assert fn([a, b], [ga, gb])(1.0, 2.0) == [3.0, 5.0]


def test_float_arange():
    # start and step: stop only decides the length (the points stay away from the
    # values of start and step where the length jumps).
    check(lambda s, d: T.arange(s, 5.0, d) ** 2, 0.3, 0.7)
    s, d = T.dscalars("s", "d")
    y = T.arange(s, 5.0, d)
    gs, gd = T.grad((y * y).sum(), [s, d])
    ys = 0.3 + 0.7 * np.arange(7)
    np.testing.assert_allclose(fn([s, d], [gs, gd])(0.3, 0.7),
                               [2 * ys.sum(), 2 * (ys * np.arange(7)).sum()])
    e = T.dscalar("e")
    with pytest.raises(DisconnectedInputError):
        T.grad(T.arange(0.0, e, 1.0).sum(), e)


# ---- repeat ------------------------------------------------------------------------------

@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("reps", [0, 1, 3])
def test_repeat_scalar_count(axis, reps):
    check(lambda a: T.repeat(a, reps, axis=axis) * 2 + 1, rand(2, 3))


def test_repeat_axis_none_flattens():
    check(lambda a: T.repeat(a, 2) ** 2, rand(2, 3))
    check(lambda a: T.repeat(a, T.constant(np.array([1, 0, 2, 3, 1, 2]))) ** 2, rand(3, 2))


@pytest.mark.parametrize("axis,reps", [(0, [2, 0, 1]), (1, [1, 3]), (-1, [0, 2]),
                                       (0, [4]), (1, [0, 0])], ids=str)
def test_repeat_vector_counts(axis, reps):
    check(lambda a: T.repeat(a, T.constant(np.array(reps)), axis=axis) ** 2, rand(3, 2))


def test_repeat_gradient_values():
    x = dtensor(3, 2)
    w = rng.standard_normal((6, 2))
    g = T.grad((T.repeat(x, 2, axis=0) * w).sum(), x)
    assert_grad_type(g, x)
    np.testing.assert_allclose(fn([x], g)(rand(3, 2)), w.reshape(3, 2, 2).sum(axis=1))
    # counts given at run time
    r = T.lvector("r")
    y = T.repeat(x, r, axis=0)
    g = T.grad((y * y).sum(), x)
    assert_grad_type(g, x)
    xv = rand(3, 2)
    counts = np.array([2, 0, 3])
    np.testing.assert_allclose(fn([x, r], g)(xv, counts), 2 * xv * counts[:, None])
    # one count given at run time
    n = T.lscalar("n")
    g = T.grad(T.repeat(x, n, axis=1).sum(), x)
    np.testing.assert_array_equal(fn([x, n], g)(xv, 4), np.full((3, 2), 4.0))
    np.testing.assert_array_equal(fn([x, n], g)(xv, 0), np.zeros((3, 2)))


# ---- tile --------------------------------------------------------------------------------

@pytest.mark.parametrize("reps", [(2, 3), (1, 1), (3,), (2, 1, 2), (0, 2), (2, 0, 1)],
                         ids=str)
def test_tile(reps):
    check(lambda a: T.tile(a, reps) ** 2, rand(2, 3))


def test_tile_vector_and_scalar():
    check(lambda a: T.tile(a, 3) ** 2, rand(2))
    check(lambda a: T.tile(a, (2, 2)) ** 2, rand())


def test_tile_gradient_values():
    x = dtensor(2, 3)
    w = rng.standard_normal((2, 4, 6))
    g = T.grad((T.tile(x, (2, 2, 2)) * w).sum(), x)
    assert_grad_type(g, x)
    ref = w.reshape(2, 1, 2, 2, 2, 3).sum(axis=(0, 2, 4))[0]
    np.testing.assert_allclose(fn([x], g)(rand(2, 3)), ref)
    u = dtensor(None, None)
    gu = T.grad((T.tile(u, (3, 1)) ** 2).sum(), u)
    uv = rand(2, 3)
    np.testing.assert_allclose(fn([u], gu)(uv), 6 * uv)


# ---- second derivatives ------------------------------------------------------------------

def test_second_derivative_through_shape_ops():
    def grad_of(a):
        y = T.concatenate([T.tile(a, (2, 1)), T.repeat(a, 2, axis=1).reshape((4, 3))],
                          axis=0)
        return T.grad((y.dimshuffle(1, 0) ** 3).sum(), a)
    check(grad_of, rand(2, 3))


def test_hessian_through_stack_and_repeat():
    x = T.dvector("x")
    y = T.stack([x, T.repeat(x, T.constant(np.array([2, 0, 1])))[:3]])
    h = T.hessian((y ** 3).sum(), x)
    xv = rand(3)
    # y = [x, (x0, x0, x2)]: d2/dx2 = 6 x (1 + multiplicity in the second row)
    np.testing.assert_allclose(fn([x], h)(xv), np.diag(6 * xv * np.array([3, 1, 2])))


@pytest.mark.parametrize("make", [
    lambda a: T.concatenate([a[:2] ** 2, a]),
    lambda a: (a.reshape((2, 3)) ** 2).T.flatten(),
    lambda a: T.repeat(a ** 2, 2),
    lambda a: T.tile(a ** 2, (2,)),
    lambda a: T.stack([a, a ** 2], axis=1).flatten(),
], ids=["concatenate", "reshape-transpose", "repeat", "tile", "stack"])
def test_jacobian_and_rop(make):
    # Both are built from grad of grad (Rop as the Lop of a Lop), so they exercise
    # the rules' own gradients.
    x, v = T.dvector("x"), T.dvector("v")
    y = make(x)
    xv, vv = rand(6), rand(6)
    jac = fn([x], theanine.gradient.jacobian(y, x))(xv)
    eps = 1e-6
    f = fn([x], y)
    numeric = np.stack([(f(xv + eps * e) - f(xv - eps * e)) / (2 * eps) for e in np.eye(6)],
                       axis=1)
    np.testing.assert_allclose(jac, numeric, atol=1e-6)
    rop = fn([x, v], theanine.gradient.Rop(y, x, v))(xv, vv)
    np.testing.assert_allclose(rop, jac @ vv, atol=1e-12)
