"""theanine.updates against NumPy re-implementations of each rule over a few steps on a
small quadratic, in float32 and float64; state variables, symbolic learning rates,
weight decay, and argument errors."""
from collections import OrderedDict

import numpy as np
import pytest

import theanine
import theanine.tensor as T
import theanine.updates as U

P0 = np.array([[0.5, -1.0, 2.0], [0.25, -0.75, 1.5]])
TARGET = np.array([[1.0, 2.0, -1.0], [0.0, 0.5, 3.0]])
C = np.array([[1.0, 2.0, 0.5], [3.0, 1.5, 0.25]])


def np_rules(lr):
    """name -> (rule kwargs, step(p, g, state, t) updating p and state in place)."""

    def sgd(p, g, s, t):
        p -= lr * g

    def momentum(p, g, s, t, mu=0.8):
        s[0] = mu * s[0] - lr * g
        p += s[0]

    def nesterov(p, g, s, t, mu=0.8):
        s[0] = mu * s[0] - lr * g
        p += mu * s[0] - lr * g

    def adagrad(p, g, s, t, eps=1e-6):
        s[0] = s[0] + g * g
        p -= lr * g / np.sqrt(s[0] + eps)

    def rmsprop(p, g, s, t, rho=0.7, eps=1e-6):
        s[0] = rho * s[0] + (1 - rho) * g * g
        p -= lr * g / np.sqrt(s[0] + eps)

    def adam(p, g, s, t, b1=0.8, b2=0.99, eps=1e-8):
        a = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        s[0] = b1 * s[0] + (1 - b1) * g
        s[1] = b2 * s[1] + (1 - b2) * g * g
        p -= a * s[0] / (np.sqrt(s[1]) + eps)

    return {
        "sgd": ({}, sgd),
        "momentum": ({"momentum": 0.8}, momentum),
        "nesterov_momentum": ({"momentum": 0.8}, nesterov),
        "adagrad": ({"epsilon": 1e-6}, adagrad),
        "rmsprop": ({"rho": 0.7, "epsilon": 1e-6}, rmsprop),
        "adam": ({"beta1": 0.8, "beta2": 0.99, "epsilon": 1e-8}, adam),
    }


RULES = list(np_rules(0.1))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_rule_matches_numpy(rule, dtype, weight_decay):
    lr = 0.1
    kwargs, step = np_rules(lr)[rule]
    p = theanine.shared(P0.astype(dtype), name="p")
    cost = 0.5 * T.sum(T.constant(C.astype(dtype)) * (p - T.constant(TARGET.astype(dtype))) ** 2)
    updates = getattr(U, rule)(cost, [p], lr, weight_decay=weight_decay, **kwargs)
    assert isinstance(updates, OrderedDict)
    f = theanine.function([], cost, updates=updates)
    want = P0.astype(dtype).copy()
    state = [np.zeros_like(want), np.zeros_like(want)]
    tol = 2e-5 if dtype == "float32" else 1e-12
    for t in range(1, 5):
        f()
        g = C * (want - TARGET) + weight_decay * want
        step(want, g.astype(dtype), state, t)
        got = p.get_value()
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("rule", RULES)
def test_gradient_list_and_symbolic_learning_rate(rule):
    kwargs, step = np_rules(0.05)[rule]
    w = theanine.shared(np.array([1.0, -2.0, 3.0]), name="w")
    g = T.vector("g", dtype="float64")
    lr = theanine.shared(np.float64(0.05), name="lr")
    updates = getattr(U, rule)([g], [w], lr, **kwargs)
    f = theanine.function([g], [], updates=updates)
    want = np.array([1.0, -2.0, 3.0])
    state = [np.zeros(3), np.zeros(3)]
    for t, gv in enumerate([np.array([1.0, 2.0, -1.0]), np.array([0.5, -3.0, 2.0])], 1):
        f(gv)
        step(want, gv, state, t)
        np.testing.assert_allclose(w.get_value(), want, rtol=1e-12)


def test_state_variables_keep_the_params_broadcastable_pattern_and_start_at_zero():
    b = theanine.shared(np.ones((1, 4), dtype="float32"), name="b", broadcastable=(True, False))
    updates = U.adam(T.sum(b ** 2), [b])
    keys = list(updates)
    assert keys[0] is b
    assert len(keys) == 4  # b, m, v, t
    for state in keys[1:3]:
        assert state.broadcastable == (True, False)
        assert state.dtype == "float32"
        np.testing.assert_array_equal(state.get_value(), np.zeros((1, 4), dtype="float32"))
    for key, value in updates.items():
        assert value.dtype == key.dtype


def test_errors_name_the_problem():
    x = T.vector("x")
    w = theanine.shared(np.zeros(3, dtype="float32"), name="w")
    with pytest.raises(TypeError, match="params\\[0\\].*not a shared variable"):
        U.sgd([x], [x], 0.1)
    with pytest.raises(TypeError, match="2 gradients for 1 parameters"):
        U.momentum([x, x], [w], 0.1)
    with pytest.raises(TypeError, match="learning rate"):
        U.rmsprop([x], [w], T.vector("lr"))
    with pytest.raises(TypeError, match="params must be a list"):
        U.sgd(T.sum(w), w, 0.1)
    with pytest.raises(TypeError, match="cost must be a scalar"):
        U.sgd(w * 2, [w], 0.1)
