"""theanine.grad and friends: the engine, Lop/Rop/jacobian/hessian, verify_grad."""
import numpy as np
import pytest

import theanine
import theanine.tensor as T
from theanine import _core, function
from theanine.gradient import (DisconnectedInputError, GradientError, Lop, Rop,
                               disconnected_grad, hessian, jacobian, verify_grad,
                               zero_grad)

rng = np.random.default_rng(0)


def test_grad_of_a_quadratic():
    x = T.dvector("x")
    g = T.grad((x ** 2).sum(), x)
    assert g.dtype == "float64" and g.ndim == 1
    v = rng.standard_normal(4)
    np.testing.assert_allclose(function([x], g)(v), 2 * v)


def test_grad_returns_list_for_list_and_keeps_wrt_types():
    x = T.fmatrix("x")
    b = theanine.shared(np.zeros((1, 3), dtype="float32"), broadcastable=(True, False))
    cost = T.tanh(x + b).sum()
    gx, gb = T.grad(cost, [x, b])
    assert (gx.dtype, gx.broadcastable) == ("float32", (False, False))
    assert (gb.dtype, gb.broadcastable) == ("float32", (True, False))
    xv = rng.standard_normal((2, 3)).astype("float32")
    ref_gb = (1 - np.tanh(xv) ** 2).sum(axis=0, keepdims=True)
    np.testing.assert_allclose(function([x], gb)(xv), ref_gb, rtol=1e-5)


def test_cost_must_be_scalar():
    x = T.dvector("x")
    with pytest.raises(TypeError, match="scalar") as e:
        T.grad(x * 2, x)
    assert "test_gradient.py" in str(e.value)


def test_disconnected_inputs():
    x, y = T.dvector("x"), T.dvector("y")
    cost = (x ** 2).sum()
    with pytest.raises(DisconnectedInputError, match="'y'"):
        T.grad(cost, y)
    assert isinstance(DisconnectedInputError("m"), ValueError)
    gy = T.grad(cost, y, disconnected_inputs="ignore")
    np.testing.assert_array_equal(function([y], gy)(np.ones(3)), np.zeros(3))
    assert T.grad(cost, [x, y], disconnected_inputs="ignore", return_disconnected="None")[1] \
        is None
    with pytest.raises(ValueError):
        T.grad(cost, y, disconnected_inputs="bogus")


def test_consider_constant_and_zero_grad():
    x = T.dscalar("x")
    y = x ** 2
    cost = y * x  # x^3
    g_const = T.grad(cost, x, consider_constant=[y])  # treats y as constant: y
    g_zero = T.grad(zero_grad(y) * x, x)
    g_disc = T.grad(disconnected_grad(y) * x, x)
    f = function([x], [T.grad(cost, x), g_const, g_zero, g_disc])
    full, const, zero, disc = f(3.0)
    assert full == pytest.approx(27.0)
    assert const == zero == disc == pytest.approx(9.0)


def test_known_grads():
    x = T.dvector("x")
    h = T.tanh(x)
    gh = T.dvector("gh")
    gx = T.grad(None, x, known_grads={h: gh})
    xv, ghv = rng.standard_normal(3), rng.standard_normal(3)
    np.testing.assert_allclose(function([x, gh], gx)(xv, ghv), ghv * (1 - np.tanh(xv) ** 2))
    with pytest.raises(TypeError, match="known_grads"):
        T.grad(None, x, known_grads={h: T.dmatrix()})
    with pytest.raises(TypeError, match="known_grads"):
        T.grad(None, x, known_grads={h: T.ivector()})


def test_integer_inputs_are_disconnected():
    x = T.dvector("x")
    i = T.ivector("i")
    cost = (x * T.cast(i, "float64")).sum()
    gi = T.grad(cost, i, disconnected_inputs="ignore")
    assert gi.dtype == "int32"


def test_non_differentiable_op_names_op_and_line():
    x = T.dvector("x")
    J = jacobian(T.tanh(x), x)  # the Map op that computes it has no gradient rule
    with pytest.raises(TypeError, match="Map.*not differentiable") as e:
        T.grad(J.sum(), x)
    assert "test_gradient.py" in str(e.value)


def mlp_grad_nodes(depth, width=5):
    x = T.dmatrix("x")
    y = T.ivector("y")
    h = x
    params = []
    for k in range(depth):
        W = theanine.shared(np.zeros((width, width)), name=f"W{k}")
        b = theanine.shared(np.zeros(width), name=f"b{k}")
        params += [W, b]
        h = T.tanh(T.dot(h, W) + b)
    e = T.exp(h - h.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    cost = -T.mean(T.log(p)[T.arange(y.shape[0]), y])
    return len(_core.toposort_op_names(T.grad(cost, params)))


def test_gradient_graph_of_mlp_grows_linearly_with_depth():
    n3, n6, n12 = mlp_grad_nodes(3), mlp_grad_nodes(6), mlp_grad_nodes(12)
    per_layer = (n6 - n3) / 3
    assert per_layer > 0
    assert n12 - n6 == pytest.approx(6 * per_layer)


def numeric_jacobian(f, x, eps=1e-6):
    y0 = np.asarray(f(x))
    J = np.zeros(y0.shape + x.shape)
    for idx in np.ndindex(*x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        J[(Ellipsis,) + idx] = (np.asarray(f(xp)) - np.asarray(f(xm))) / (2 * eps)
    return J


def test_jacobian_and_hessian_against_finite_differences():
    x = T.dvector("x")
    A = rng.standard_normal((3, 4))
    y = T.tanh(T.dot(_core.constant(A), x))
    xv = rng.standard_normal(4)
    J = function([x], jacobian(y, x))(xv)
    np.testing.assert_allclose(J, numeric_jacobian(function([x], y), xv), rtol=1e-6, atol=1e-8)
    cost = (x ** 3).sum() + (x[0] * x[1])
    H = function([x], hessian(cost, x))(xv)
    ref = np.diag(6 * xv)
    ref[0, 1] = ref[1, 0] = 1.0
    np.testing.assert_allclose(H, ref, atol=1e-10)


def test_jacobian_of_matrix_expression_flattens_it():
    x = T.dvector("x")
    y = T.outer(x, x)
    xv = rng.standard_normal(3)
    J = function([x], jacobian(y, x))(xv)
    assert J.shape == (9, 3)
    np.testing.assert_allclose(J, numeric_jacobian(lambda v: np.outer(v, v).ravel(), xv),
                               atol=1e-8)


def test_lop_and_rop_match_the_jacobian():
    x = T.dvector("x")
    A = rng.standard_normal((3, 4))
    y = T.sin(T.dot(_core.constant(A), x)) * x.sum()
    u, v = T.dvector("u"), T.dvector("v")
    xv, uv, vv = rng.standard_normal(4), rng.standard_normal(3), rng.standard_normal(4)
    J = function([x], jacobian(y, x))(xv)
    np.testing.assert_allclose(function([x, u], Lop(y, x, u))(xv, uv), uv @ J, rtol=1e-10)
    np.testing.assert_allclose(function([x, v], Rop(y, x, v))(xv, vv), J @ vv, rtol=1e-10)


def test_grad_of_grad():
    x = T.dscalar("x")
    g = T.grad(T.exp(2 * x) * T.sin(x), x)
    gg = T.grad(g, x)
    xv = 0.7
    ref = 4 * np.exp(2 * xv) * np.sin(xv) + 4 * np.exp(2 * xv) * np.cos(xv) \
        - np.exp(2 * xv) * np.sin(xv)
    assert function([x], gg)(xv) == pytest.approx(ref, rel=1e-10)


def test_verify_grad_passes_on_a_correct_gradient():
    verify_grad(lambda a, b: T.tanh(T.dot(a, b)), [rng.standard_normal((2, 3)),
                                                    rng.standard_normal((3, 2))], rng=rng)


def test_verify_grad_catches_a_wrong_gradient():
    # zero_grad hides part of the derivative from the symbolic gradient only.
    with pytest.raises(GradientError, match="input 0") as e:
        verify_grad(lambda a: a * zero_grad(a), [rng.standard_normal(3) + 2], rng=rng)
    assert e.value.abs_err > 0.1
    assert verify_grad.E_grad is GradientError


def test_verify_grad_rejects_integer_points():
    with pytest.raises(TypeError, match="float"):
        verify_grad(lambda a: a * 2, [np.arange(3)])


def test_t_grad_and_theanine_grad_are_the_same_function():
    assert T.grad is theanine.grad
