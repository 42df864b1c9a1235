"""The public surface mirrors Theano's layout, so Theano code ports by renaming the
import (the names later issues add — conv2d, pool_2d, RandomStreams, scan — are
checked by their own tests when they land)."""
import numpy as np
import pytest

import theanine
import theanine.tensor as T

TOP = ["function", "shared", "In", "Out", "Mode", "config", "grad", "gradient", "printing",
       "tensor"]
TENSOR = ["matrix", "fmatrix", "dmatrix", "imatrix", "vector", "ivector", "lvector", "scalar",
          "lscalar", "iscalar", "row", "col", "tensor3", "tensor4", "TensorType", "dot", "tanh",
          "exp", "log", "mean", "sum", "max", "argmax", "neq", "eq", "cast", "arange",
          "set_subtensor", "inc_subtensor", "grad", "Lop", "Rop", "jacobian", "hessian",
          "switch", "where", "concatenate", "stack", "zeros", "ones", "zeros_like", "ones_like",
          "alloc", "reshape", "flatten", "dimshuffle", "transpose", "outer", "batched_dot",
          "as_tensor_variable", "constant", "nnet"]
NNET = ["sigmoid", "softmax", "log_softmax", "relu", "softplus", "categorical_crossentropy",
        "binary_crossentropy"]


@pytest.mark.parametrize("name", TOP)
def test_top_level_names(name):
    assert hasattr(theanine, name)


@pytest.mark.parametrize("name", TENSOR)
def test_tensor_names(name):
    assert callable(getattr(T, name)) or name == "nnet"


@pytest.mark.parametrize("name", NNET)
def test_nnet_names(name):
    assert callable(getattr(T.nnet, name))


def test_theano_tutorial_snippet_runs_unchanged():
    # The classic logistic-regression lines, with `theano` renamed.
    rng = np.random.default_rng(0)
    x = T.matrix("x")
    y = T.ivector("y")
    W = theanine.shared(np.zeros((4, 3), dtype=theanine.config.floatX), name="W")
    b = theanine.shared(np.zeros((3,), dtype=theanine.config.floatX), name="b")
    p_y_given_x = T.nnet.softmax(T.dot(x, W) + b)
    y_pred = T.argmax(p_y_given_x, axis=1)
    cost = -T.mean(T.log(p_y_given_x)[T.arange(y.shape[0]), y])
    g_W, g_b = T.grad(cost=cost, wrt=[W, b])
    train = theanine.function(inputs=[x, y], outputs=cost,
                              updates=[(W, W - 0.1 * g_W), (b, b - 0.1 * g_b)])
    errors = theanine.function([x, y], T.mean(T.neq(y_pred, y)))
    xv = rng.standard_normal((20, 4)).astype(theanine.config.floatX)
    yv = (xv[:, 0] > 0).astype("int32") + (xv[:, 1] > 1).astype("int32")
    first = float(train(xv, yv))
    for _ in range(50):
        last = float(train(xv, yv))
    assert first == pytest.approx(np.log(3), rel=1e-5)
    assert last < 0.6 * first
    assert float(errors(xv, yv)) < 0.3


def test_numpy_array_on_the_left_of_an_operator_builds_a_graph():
    x = T.dvector("x")
    e = np.array([1.0, 2.0]) * x + np.float64(3) - np.ones(2)
    assert isinstance(e, theanine.tensor.Variable)
    np.testing.assert_array_equal(theanine.function([x], e)(np.array([1.0, 1.0])), [3.0, 4.0])


def test_theano_namespaces_for_random_streams_updates_and_nnet():
    from theanine.sandbox.rng_mrg import MRG_RandomStreams
    from theanine.tensor.shared_randomstreams import RandomStreams
    from theanine.tensor.signal import pool  # imported explicitly, as in Theano
    assert callable(theanine.updates.momentum) and callable(T.nnet.dropout)
    assert callable(T.nnet.conv2d) and callable(pool.pool_2d)
    a = theanine.function([], RandomStreams(7).uniform((3,)))()
    b = theanine.function([], MRG_RandomStreams(7).uniform((3,)))()
    np.testing.assert_array_equal(a, b)  # one generator underneath
