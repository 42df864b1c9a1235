"""The stabilize rules seen through theanine.function: each rule fires
(f.rewrite_stats) and leaves the graph it promises (f.debugprint()); on ordinary
inputs, broadcast dims included, the default mode computes what NO_OPTIMIZATION
computes; where the naive graph overflows, underflows or rounds (logits near
+-1000, log(1 + 1e-20)) the default mode is finite and accurate, gradients
included."""
import numpy as np
import pytest

import theanine
import theanine.tensor as T
import theanine.tensor.nnet as nnet
from helpers import (assert_same, check_rewrites, compile_both, np_log_softmax, np_softmax,
                     random_values, tensor)

BIG = np.array([[1000.0, 0.0, -1000.0], [-1000.0, 1000.0, 999.0]])

# The tolerances of the comparisons here (assert_same's tols): float32, wider floats.
TOLS = (1e-5, 1e-11)


def check(inputs, outputs, values, fired=(), absent=(), present=()):
    """check_rewrites with this file's tolerances."""
    return check_rewrites(inputs, outputs, values, fired, absent, present, tols=TOLS)


def softmax_by_hand(x, keepdims=True):
    if keepdims:
        e = T.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    e = T.exp(x - x.max(axis=1).dimshuffle(0, "x"))
    return e / e.sum(axis=1).dimshuffle(0, "x")


# ---- log of softmax ---------------------------------------------------------------------

SOFTMAXES = [
    ("op", nnet.softmax, ["log_softmax"]),
    ("by-hand", softmax_by_hand, ["softmax_by_hand", "log_softmax"]),
    ("by-hand-dimshuffle", lambda x: softmax_by_hand(x, False),
     ["softmax_by_hand", "log_softmax"]),
]


@pytest.mark.parametrize("name,sm,rules", SOFTMAXES, ids=[s[0] for s in SOFTMAXES])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(3, 4), (1, 4), (3, 1)])
def test_log_of_softmax_is_log_softmax(name, sm, rules, dtype, shape):
    rng = np.random.default_rng(1)
    x = tensor(dtype, 2, shape=(1 if shape[0] == 1 else None, None))
    check([x], T.log(sm(x)), [random_values(rng, shape, dtype)], fired=rules,
          absent=["Elemwise{log}", "Elemwise{exp}"], present=["LogSoftmax{axis=1}"])


@pytest.mark.parametrize("name,sm,rules", SOFTMAXES, ids=[s[0] for s in SOFTMAXES])
def test_log_of_softmax_is_finite_at_a_thousand(name, sm, rules):
    x = T.dmatrix("x")
    f, g = compile_both([x], T.log(sm(x)))
    assert not np.all(np.isfinite(g(BIG)))
    np.testing.assert_allclose(f(BIG), np_log_softmax(BIG), rtol=1e-15)
    np.testing.assert_array_equal(f(BIG)[0], [0, -1000, -2000])


def test_softmax_by_hand_is_finite_where_exp_overflows():
    x = T.dmatrix("x")
    e = T.exp(x)
    f, g = compile_both([x], e / e.sum(axis=1, keepdims=True))
    assert f.rewrite_stats["softmax_by_hand"] == 1
    assert np.isnan(g(BIG)).any()
    np.testing.assert_allclose(f(BIG), np_softmax(BIG), rtol=1e-15)


def test_log_softmax_by_hand_is_the_op():
    rng = np.random.default_rng(2)
    x = T.fmatrix("x")
    s = x - T.max(x, axis=1, keepdims=True)
    lp = s - T.log(T.sum(T.exp(s), axis=1, keepdims=True))
    check([x], lp, [random_values(rng, (4, 5), "float32")], fired=["log_softmax_by_hand"],
          absent=["Elemwise{exp}", "Max"], present=["LogSoftmax{axis=1}"])


def test_log_softmax_gradient_is_finite_at_a_thousand():
    x = T.dmatrix("x")
    w = np.array([1.0, 2.0, 3.0])
    gx = T.grad(T.sum(T.log(nnet.softmax(x)) * w), x)
    rng = np.random.default_rng(3)
    f = check([x], gx, [random_values(rng, (2, 3))], fired=["log_softmax_grad"],
              absent=["SoftmaxGrad{"])
    g = theanine.function([x], gx, mode="NO_OPTIMIZATION")
    assert np.isnan(g(BIG)).any()
    np.testing.assert_allclose(f(BIG), w - w.sum() * np_softmax(BIG), rtol=1e-15)


def test_log_softmax_gradient_with_a_broadcast_output_gradient():
    # The output gradient of one column broadcasts over the classes.
    rng = np.random.default_rng(4)
    x = T.dmatrix("x")
    v = tensor("float64", 2, "v", shape=(None, 1))
    gx = T.grad(T.sum(T.log(nnet.softmax(x)) * v), x)
    check([x, v], gx, [random_values(rng, (3, 4)), random_values(rng, (3, 1))],
          fired=["log_softmax_grad"])


# ---- crossentropy of a softmax --------------------------------------------------------------

def ce_log_softmax_form(x, y):
    return -T.mean(T.log(nnet.softmax(x))[T.arange(y.shape[0]), y])


CROSSENTROPIES = [
    ("log-softmax-arange-y", ce_log_softmax_form),
    ("log_softmax-arange-x", lambda x, y: -T.mean(nnet.log_softmax(x)[T.arange(x.shape[0]), y])),
    ("categorical", lambda x, y: T.mean(nnet.categorical_crossentropy(nnet.softmax(x), y))),
    ("by-hand", lambda x, y: -T.mean(T.log(softmax_by_hand(x))[T.arange(y.shape[0]), y])),
]


@pytest.mark.parametrize("name,cost", CROSSENTROPIES, ids=[c[0] for c in CROSSENTROPIES])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_crossentropy_of_softmax_is_one_op(name, cost, dtype):
    rng = np.random.default_rng(5)
    x, y = tensor(dtype, 2), T.ivector("y")
    c = cost(x, y)
    xv, yv = random_values(rng, (5, 4), dtype), np.array([0, 3, 1, -1, 2], dtype="int32")
    check([x, y], c, [xv, yv], fired=["crossentropy_softmax"],
          absent=["AdvancedSubtensor", "LogSoftmax"], present=["CrossentropySoftmax"])
    if name != "by-hand":  # the gradient of a softmax by hand is elementwise
        rule = "crossentropy_" + ("log_softmax_grad" if "log_softmax-" in name
                                  else "softmax_grad")
        check([x, y], T.grad(c, x), [xv, yv], fired=[rule],
              absent=["SoftmaxGrad{", "AdvancedIncSubtensor"],
              present=["CrossentropySoftmaxGrad"])


@pytest.mark.parametrize("name,cost", CROSSENTROPIES[:3], ids=[c[0] for c in CROSSENTROPIES[:3]])
def test_crossentropy_and_its_gradient_are_finite_at_a_thousand(name, cost):
    x, y = T.dmatrix("x"), T.ivector("y")
    c = cost(x, y)
    f, g = compile_both([x, y], [c, T.grad(c, x)])
    yv = np.array([2, 1], dtype="int32")
    naive_c, naive_g = g(BIG, yv)
    if name != "log_softmax-arange-x":  # the log_softmax op is stable on its own
        assert not np.isfinite(naive_c) and np.isnan(naive_g).any()
    got_c, got_g = f(BIG, yv)
    want = -np_log_softmax(BIG)[[0, 1], yv]
    np.testing.assert_allclose(got_c, want.mean(), rtol=1e-15)
    onehot = np.eye(3)[yv]
    np.testing.assert_allclose(got_g, (np_softmax(BIG) - onehot) / 2, rtol=1e-15, atol=1e-300)


def test_crossentropy_keeps_index_errors():
    x, y = T.dmatrix("x"), T.ivector("y")
    f, g = compile_both([x, y], ce_log_softmax_form(x, y))
    xv = np.zeros((3, 4))
    for fun in (f, g):
        with pytest.raises(IndexError):
            fun(xv, np.array([0, 4, 1], dtype="int32"))
        with pytest.raises(IndexError):  # more labels than rows
            fun(xv, np.array([0, 1, 1, 1], dtype="int32"))
    # Fewer labels than rows: both use the first rows.
    assert_same(f(xv, np.array([1, 2], dtype="int32")), g(xv, np.array([1, 2], dtype="int32")),
                tols=TOLS)


def test_crossentropy_of_a_one_hot_matrix_is_log_softmax():
    x, t = T.dmatrix("x"), T.dmatrix("t")
    c = T.mean(nnet.categorical_crossentropy(nnet.softmax(x), t))
    f, g = compile_both([x, t], [c, T.grad(c, x)])
    assert f.rewrite_stats["log_softmax"] >= 1 and f.rewrite_stats["log_softmax_grad"] >= 1
    tv = np.array([[0, 0, 1.0], [0.5, 0.5, 0]])
    got_c, got_g = f(BIG, tv)
    assert np.isfinite(got_c) and np.all(np.isfinite(got_g))
    np.testing.assert_allclose(got_c, -(tv * np_log_softmax(BIG)).sum(axis=1).mean(),
                               rtol=1e-15)
    np.testing.assert_allclose(got_g, (np_softmax(BIG) - tv) / 2, rtol=1e-15, atol=1e-300)


def test_training_step_with_shared_parameters():
    # A logistic regression step: the gradients of W and b go through the
    # fused crossentropy gradient, and agree with the unoptimized graph.
    rng = np.random.default_rng(6)
    W = theanine.shared(rng.standard_normal((4, 3)), name="W")
    b = theanine.shared(np.zeros(3), name="b")
    x, y = T.dmatrix("x"), T.ivector("y")
    cost = ce_log_softmax_form(T.dot(x, W) + b, y)
    gW, gb = T.grad(cost, [W, b])
    xv, yv = rng.standard_normal((6, 4)), rng.integers(0, 3, 6).astype("int32")
    f = check([x, y], [cost, gW, gb], [xv, yv],
              fired=["crossentropy_softmax", "crossentropy_softmax_grad"],
              present=["CrossentropySoftmaxGrad"])
    assert "AdvancedIncSubtensor" not in f.debugprint()


# ---- sigmoid ------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(5,), (1,)])
def test_log_sigmoid_is_minus_softplus(dtype, shape):
    rng = np.random.default_rng(7)
    x = tensor(dtype, 1, shape=shape if shape == (1,) else None)
    check([x], [T.log(nnet.sigmoid(x)), T.log(1 - nnet.sigmoid(x))],
          [random_values(rng, shape, dtype)], fired=["log_sigmoid", "one_minus_sigmoid"],
          absent=["log(", "Elemwise{log}", "sigmoid"], present=["softplus"])


def test_log_sigmoid_and_its_gradient_are_finite_at_a_thousand():
    x = T.dvector("x")
    a, b = T.log(nnet.sigmoid(x)), T.log(1 - nnet.sigmoid(x))
    outs = [a, b, T.grad(T.sum(a), x), T.grad(T.sum(b), x)]
    f, g = compile_both([x], outs)
    assert f.rewrite_stats["cancel_division"] == 2
    xv = np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0])
    naive = g(xv)
    assert not all(np.all(np.isfinite(v)) for v in naive)
    la, lb, ga, gb = f(xv)
    sig = lambda v: np.exp(-np.logaddexp(0, -v))  # noqa: E731
    np.testing.assert_allclose(la, -np.logaddexp(0, -xv), rtol=1e-15)
    np.testing.assert_allclose(lb, -np.logaddexp(0, xv), rtol=1e-15)
    np.testing.assert_allclose(ga, sig(-xv), rtol=1e-15)
    np.testing.assert_allclose(gb, -sig(xv), rtol=1e-15)


def test_binary_crossentropy_of_a_sigmoid_is_finite_at_a_thousand():
    z, t = T.dvector("z"), T.dvector("t")
    c = T.sum(nnet.binary_crossentropy(nnet.sigmoid(z), t))
    f, g = compile_both([z, t], [c, T.grad(c, z)])
    zv, tv = np.array([-1000.0, 1000.0, 3.0]), np.array([1.0, 0.0, 0.25])
    got_c, got_g = f(zv, tv)
    want = np.sum(tv * np.logaddexp(0, -zv) + (1 - tv) * np.logaddexp(0, zv))
    np.testing.assert_allclose(got_c, want, rtol=1e-15)
    np.testing.assert_allclose(got_g, np.exp(-np.logaddexp(0, -zv)) - tv, rtol=1e-14)
    rng = np.random.default_rng(8)
    check([z, t], [c, T.grad(c, z)], [random_values(rng, (4,)), rng.random(4)])


# ---- log1p and expm1 ------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_log_of_one_plus_is_log1p(dtype):
    rng = np.random.default_rng(9)
    x = tensor(dtype, 2, shape=(1, None))
    outs = [T.log(1 + x), T.log(x + 1), T.log(1 - x)]
    f = check([x], outs, [rng.random((1, 4)).astype(dtype) * 0.5], fired=["log1p"],
              absent=["Elemwise{log}"], present=["log1p"])
    assert f.rewrite_stats["log1p"] == 3
    tiny = np.array([[1e-20, -1e-20, 1e-10, 0.0]], dtype=dtype)
    raw = theanine.function([x], outs, mode="NO_OPTIMIZATION")(tiny)
    assert raw[0][0, 0] == 0  # the naive graph rounds 1 + 1e-20 to 1
    got = f(tiny)
    np.testing.assert_allclose(got[0], np.log1p(tiny), rtol=1e-6)
    np.testing.assert_allclose(got[1], np.log1p(tiny), rtol=1e-6)
    np.testing.assert_allclose(got[2], np.log1p(-tiny), rtol=1e-6)
    assert got[0][0, 0] != 0


def test_log_of_one_plus_a_broadcast_constant_keeps_the_shape():
    x = T.dvector("x")
    ones = np.ones((2, 3))
    rng = np.random.default_rng(10)
    check([x], T.log(T.constant(ones) + x), [rng.random(3)], fired=["log1p"])


def test_log_of_one_plus_integers_is_left_alone():
    i = T.bvector("i")
    f = check([i], T.log(1 + i), [np.array([127, 3, -1], dtype="int8")])
    assert "log1p" not in f.rewrite_stats


def test_exp_minus_one_is_expm1():
    rng = np.random.default_rng(11)
    x = T.fvector("x")
    f = check([x], [T.exp(x) - 1, T.exp(x) + (-1)], [random_values(rng, (5,), "float32")],
              fired=["expm1"], absent=["Elemwise{exp}"], present=["expm1"])
    out = f(np.array([1e-20, -1e-10], dtype="float32"))
    np.testing.assert_allclose(out[0], [1e-20, -1e-10], rtol=1e-6)


def test_log_of_one_plus_a_tiny_constant_is_not_zero():
    import theanine

    f = theanine.function([], T.log(1 + T.constant(1e-20, dtype="float64")))
    assert f() == pytest.approx(1e-20, rel=1e-12)
