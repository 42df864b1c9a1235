"""theanine.tensor.nnet: the softmax-family ops against NumPy (strided, size-0 and
broadcast inputs, logits near +-1000, index errors), their gradients with
verify_grad in float64, and the functions built from elementwise ops, each
compiled both in the default mode and with NO_OPTIMIZATION."""
import numpy as np
import pytest

import theanine
import theanine.tensor as T
import theanine.tensor.nnet as nnet
from helpers import check_grad, fn, np_log_softmax, np_softmax, tensor

rng = np.random.default_rng(20240901)
MODES = [None, "NO_OPTIMIZATION"]


def tol(dtype):
    return 1e-6 if np.dtype(dtype) == np.float32 else 1e-13


# ---- softmax and log_softmax ---------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,axis", [((3, 4), -1), ((3, 4), 0), ((2, 3, 4), 1), ((5,), 0),
                                        ((0, 4), 1), ((3, 0), 1), ((1, 4), 0), ((3, 1), 1)])
def test_softmax_and_log_softmax_match_numpy(mode, dtype, shape, axis):
    x = tensor(dtype, len(shape))
    f = fn([x], [nnet.softmax(x, axis), nnet.log_softmax(x, axis)], mode)
    xv = (rng.standard_normal(shape) * 3).astype(dtype)
    sm, lsm = f(xv)
    assert sm.dtype == dtype and lsm.dtype == dtype and sm.shape == shape
    np.testing.assert_allclose(sm, np_softmax(xv.astype("float64"), axis), rtol=tol(dtype),
                               atol=tol(dtype))
    np.testing.assert_allclose(lsm, np_log_softmax(xv.astype("float64"), axis),
                               rtol=tol(dtype), atol=tol(dtype))


@pytest.mark.parametrize("mode", MODES)
def test_softmax_of_strided_and_transposed_inputs(mode):
    x = T.dmatrix("x")
    f = fn([x], [nnet.softmax(x), nnet.log_softmax(x.T)], mode)
    base = rng.standard_normal((6, 8))
    xv = base[::2, 1::3]  # a strided view
    sm, lsm_t = f(xv)
    np.testing.assert_allclose(sm, np_softmax(xv), rtol=1e-13)
    np.testing.assert_allclose(lsm_t, np_log_softmax(xv.T), rtol=1e-13)


def test_softmax_of_integers_is_float():
    i = T.imatrix("i")
    b = T.bmatrix("b")
    assert nnet.softmax(i).dtype == "float64"
    assert nnet.log_softmax(b).dtype == "float32"
    out = fn([i], nnet.softmax(i))(np.array([[0, 0], [1, 1]], dtype="int32"))
    np.testing.assert_array_equal(out, np.full((2, 2), 0.5))


@pytest.mark.parametrize("mode", MODES)
def test_logits_near_a_thousand_stay_finite(mode):
    x = T.dmatrix("x")
    f = fn([x], [nnet.softmax(x), nnet.log_softmax(x)], mode)
    sm, lsm = f(np.array([[1000.0, 0.0, -1000.0], [-1000.0, -1000.0, -1000.0]]))
    np.testing.assert_array_equal(sm[0], [1, 0, 0])
    np.testing.assert_allclose(sm[1], [1 / 3] * 3, rtol=1e-15)
    np.testing.assert_array_equal(lsm[0], [0, -1000, -2000])
    np.testing.assert_allclose(lsm[1], [-np.log(3)] * 3, rtol=1e-15)


def test_softmax_errors():
    with pytest.raises(TypeError, match="at least one dim"):
        nnet.softmax(T.dscalar("s"))
    with pytest.raises(IndexError, match="axis 2"):
        nnet.log_softmax(T.dmatrix("m"), axis=2)


# ---- crossentropy_softmax ---------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_crossentropy_softmax_matches_numpy(mode, dtype):
    x, y = tensor(dtype, 2), T.ivector("y")
    ce, sm = nnet.crossentropy_softmax_1hot(x, y)
    f = fn([x, y], [ce, sm], mode)
    xv = (rng.standard_normal((5, 4)) * 3).astype(dtype)
    yv = np.array([0, 3, 1, -1, 2], dtype="int32")
    got_ce, got_sm = f(xv, yv)
    want = -np_log_softmax(xv.astype("float64"))[np.arange(5), yv]
    assert got_ce.dtype == dtype and got_ce.shape == (5,)
    np.testing.assert_allclose(got_ce, want, rtol=tol(dtype))
    np.testing.assert_allclose(got_sm, np_softmax(xv.astype("float64")), rtol=tol(dtype))


@pytest.mark.parametrize("mode", MODES)
def test_crossentropy_softmax_errors(mode):
    x, y = T.dmatrix("x"), T.ivector("y")
    f = fn([x, y], [nnet.crossentropy_softmax(x, y)], mode)
    xv = rng.standard_normal((2, 3))
    with pytest.raises(IndexError, match="label 3 .*3 classes"):
        f(xv, np.array([0, 3], dtype="int32"))
    with pytest.raises(IndexError, match="label -4"):
        f(xv, np.array([-4, 0], dtype="int32"))
    with pytest.raises(ValueError, match="3 labels for the 2 rows"):
        f(xv, np.array([0, 1, 2], dtype="int32"))
    with pytest.raises(TypeError, match="integer vector"):
        nnet.crossentropy_softmax(x, T.dvector("yf"))
    with pytest.raises(TypeError, match="matrix"):
        nnet.crossentropy_softmax(T.dvector("v"), y)


@pytest.mark.parametrize("mode", MODES)
def test_crossentropy_softmax_with_rows(mode):
    x, y, r = T.dmatrix("x"), T.lvector("y"), T.lvector("r")
    f = fn([x, y, r], theanine._core.crossentropy_softmax(x, y, r), mode)
    xv = rng.standard_normal((3, 4))
    yv, rv = np.array([0, 3, 1]), np.array([2])
    np.testing.assert_allclose(f(xv, yv, rv), -np_log_softmax(xv)[rv, yv], rtol=1e-13)
    with pytest.raises(IndexError, match="broadcast"):
        f(xv, yv, np.array([0, 1]))


def test_crossentropy_gradient_is_softmax_minus_onehot_at_a_thousand():
    x, y = T.dmatrix("x"), T.ivector("y")
    cost = T.sum(nnet.crossentropy_softmax(x, y))
    f = fn([x, y], [cost, T.grad(cost, x)])
    c, g = f(np.array([[1000.0, 0, -1000], [-1000, 1000, 0]]), np.array([2, 1], dtype="int32"))
    assert c == 2000
    np.testing.assert_array_equal(g, [[1, 0, -1], [0, 0, 0]])


# ---- gradients --------------------------------------------------------------------------

@pytest.mark.parametrize("axis", [0, 1, -1])
def test_verify_grad_softmax(axis):
    pt = rng.standard_normal((3, 4))
    check_grad(lambda x: nnet.softmax(x, axis), pt)
    check_grad(lambda x: nnet.log_softmax(x, axis), pt)


def test_verify_grad_softmax_3d_and_vector():
    check_grad(lambda x: nnet.softmax(x, 1), rng.standard_normal((2, 3, 2)))
    check_grad(lambda x: nnet.log_softmax(x), rng.standard_normal(5))


def test_verify_grad_crossentropy_softmax():
    y = np.array([2, 0, 1, 1])
    check_grad(lambda x: nnet.crossentropy_softmax(x, y), rng.standard_normal((4, 3)))
    rows = np.array([3, 0, 3, -1])
    check_grad(lambda x: theanine._core.crossentropy_softmax(x, y, rows),
               rng.standard_normal((4, 3)))


def test_verify_grad_of_the_gradient_ops():
    y, rows = np.array([2, 0, 1, 1]), np.array([1, 1, 0, 3])
    check_grad(lambda dy, sm: theanine._core.softmax_grad(dy, sm, 1),
               rng.standard_normal((3, 4)), rng.standard_normal((3, 4)))
    check_grad(lambda dy, l: theanine._core.log_softmax_grad(dy, l, 0),
               rng.standard_normal((3, 4)), rng.standard_normal((3, 4)))
    check_grad(lambda gz, sm: theanine._core.crossentropy_softmax_grad(gz, sm, y),
               rng.standard_normal(4), rng.standard_normal((4, 3)))
    check_grad(lambda gz, sm: theanine._core.crossentropy_softmax_grad(gz, sm, y, rows),
               rng.standard_normal(4), rng.standard_normal((4, 3)))


def test_second_derivative_of_log_softmax():
    x = T.dvector("x")
    h = T.hessian(T.sum(nnet.log_softmax(x) * np.array([1.0, 2.0, 3.0])), x)
    xv = rng.standard_normal(3)
    p = np_softmax(xv)
    # d/dx (w - sum(w) p) = -sum(w) (diag(p) - p p^T).
    want = -6 * (np.diag(p) - np.outer(p, p))
    np.testing.assert_allclose(fn([x], h)(xv), want, rtol=1e-12, atol=1e-14)


# ---- the elementwise helpers ------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_relu_sigmoid_softplus_softsign_hard_sigmoid(mode):
    x = T.dvector("x")
    xv = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
    f = fn([x], [nnet.relu(x), nnet.relu(x, 0.1), nnet.sigmoid(x), nnet.softplus(x),
                 nnet.softsign(x), nnet.hard_sigmoid(x)], mode)
    relu, leaky, sig, sp, ss, hs = f(xv)
    np.testing.assert_array_equal(relu, np.maximum(xv, 0))
    np.testing.assert_allclose(leaky, np.where(xv > 0, xv, 0.1 * xv))
    np.testing.assert_allclose(sig, 1 / (1 + np.exp(-xv)), rtol=1e-15)
    np.testing.assert_allclose(sp, np.log1p(np.exp(xv)), rtol=1e-15)
    np.testing.assert_allclose(ss, xv / (1 + np.abs(xv)), rtol=1e-15)
    np.testing.assert_allclose(hs, np.clip(0.2 * xv + 0.5, 0, 1), rtol=1e-15)


def test_relu_keeps_dtype_and_takes_a_symbolic_alpha():
    x = T.fmatrix("x")
    a = T.fscalar("a")
    assert nnet.relu(x).dtype == "float32"
    f = fn([x, a], nnet.relu(x, a))
    xv = np.array([[-1.0, 2.0]], dtype="float32")
    np.testing.assert_allclose(f(xv, np.float32(0.5)), [[-0.5, 2.0]])
    assert nnet.sigmoid is T.sigmoid


@pytest.mark.parametrize("mode", MODES)
def test_categorical_crossentropy_labels_and_one_hot(mode):
    p, y, t = T.dmatrix("p"), T.ivector("y"), T.dmatrix("t")
    f = fn([p, y, t], [nnet.categorical_crossentropy(p, y),
                       nnet.categorical_crossentropy(p, t)], mode)
    pv = np_softmax(rng.standard_normal((4, 3)))
    yv = np.array([0, 2, 1, 1], dtype="int32")
    tv = np.eye(3)[yv]
    by_label, by_matrix = f(pv, yv, tv)
    want = -np.log(pv)[np.arange(4), yv]
    np.testing.assert_allclose(by_label, want, rtol=1e-13)
    np.testing.assert_allclose(by_matrix, want, rtol=1e-13)
    with pytest.raises(TypeError, match="integer labels"):
        nnet.categorical_crossentropy(p, T.dvector("v"))
    with pytest.raises(TypeError, match="true_dist"):
        nnet.categorical_crossentropy(p, T.dtensor3("d"))


@pytest.mark.parametrize("mode", MODES)
def test_binary_crossentropy(mode):
    o, t = T.fvector("o"), T.fvector("t")
    f = fn([o, t], nnet.binary_crossentropy(o, t), mode)
    ov = np.array([0.1, 0.5, 0.9], dtype="float32")
    tv = np.array([0.0, 1.0, 1.0], dtype="float32")
    got = f(ov, tv)
    assert got.dtype == "float32"
    np.testing.assert_allclose(got, -(tv * np.log(ov) + (1 - tv) * np.log(1 - ov)), rtol=1e-6)


def test_verify_grad_of_the_crossentropies():
    y = np.array([0, 2, 1])
    check_grad(lambda z: nnet.categorical_crossentropy(nnet.softmax(z), y),
               rng.standard_normal((3, 3)))
    t = np.eye(3)[y]
    check_grad(lambda z: nnet.categorical_crossentropy(nnet.softmax(z), t),
               rng.standard_normal((3, 3)))
    check_grad(lambda z: nnet.binary_crossentropy(nnet.sigmoid(z), np.array([0.0, 1.0, 0.3])),
               rng.standard_normal(3))
