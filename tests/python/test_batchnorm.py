"""theanine.tensor.nnet.bn against NumPy: batch_normalization_train (with and
without running averages, every spelling of the axes, both forms of the
parameters, static and unknown shapes), batch_normalization_test and
batch_normalization; gradients with verify_grad; the graph fuses; errors."""
import numpy as np
import pytest

import theanine.tensor as T
from theanine.tensor.nnet import bn
from helpers import check_grad, fn

rng = np.random.default_rng(11)


def np_axes(axes, ndim):
    if axes == "per-activation":
        return (0,)
    if axes == "spatial":
        return (0,) + tuple(range(2, ndim))
    return tuple(sorted(axes))


def param_shape(shape, axes, full):
    if full:
        return tuple(1 if d in axes else n for d, n in enumerate(shape))
    return tuple(n for d, n in enumerate(shape) if d not in axes)


def expand(p, shape, axes):
    """A parameter of either form, broadcastable against the input."""
    if p.ndim == len(shape):
        return p
    return np.expand_dims(p, axes)


def np_train(x, gamma, beta, axes, eps, factor=None, rm=None, rv=None):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    invstd = 1 / np.sqrt(var + eps)
    g, b = expand(gamma, x.shape, axes), expand(beta, x.shape, axes)
    out = (x - mean) * g * invstd + b
    shrink = (lambda s: s) if gamma.ndim == x.ndim else (lambda s: np.squeeze(s, axes))
    res = [out, shrink(mean), shrink(invstd)]
    if rm is not None:
        m = np.prod([x.shape[a] for a in axes])
        res.append(rm * (1 - factor) + shrink(mean) * factor)
        res.append(rv * (1 - factor) + shrink(var) * (m / (m - 1)) * factor)
    return res


CASES = [
    # (shape, axes, full-form parameters)
    ((6, 4), "per-activation", False),
    ((6, 4), "per-activation", True),
    ((5, 3, 4, 2), "spatial", False),
    ((5, 3, 4, 2), "spatial", True),
    ((5, 3, 4), (0, 2), False),
    ((4, 3, 5), (1,), True),
    ((4, 3, 2, 2), [0, 1, 2, 3], False),
]


@pytest.mark.parametrize("static", [False, True])
@pytest.mark.parametrize("running", [False, True])
@pytest.mark.parametrize("shape,axes,full", CASES)
def test_batch_normalization_train_matches_numpy(shape, axes, full, running, static):
    ax = np_axes(axes, len(shape))
    ps = param_shape(shape, ax, full)
    x = T.tensor(dtype="float64", shape=shape if static else (None,) * len(shape), name="x")
    g, b, rm, rv = (T.tensor(dtype="float64", shape=(None,) * len(ps)) for _ in range(4))
    xv = rng.standard_normal(shape) * 3 + 1
    gv, bv, rmv = (rng.standard_normal(ps) for _ in range(3))
    rvv = rng.uniform(0.5, 2, ps)
    if running:
        outs = bn.batch_normalization_train(x, g, b, axes, 1e-3, 0.3, rm, rv)
        want = np_train(xv, gv, bv, ax, 1e-3, 0.3, rmv, rvv)
    else:
        outs = bn.batch_normalization_train(x, g, b, axes, epsilon=1e-3)
        want = np_train(xv, gv, bv, ax, 1e-3)
    assert len(outs) == len(want)
    got = fn([x, g, b, rm, rv], list(outs))(xv, gv, bv, rmv, rvv)
    for o, w in zip(got, want):
        assert o.shape == w.shape
        np.testing.assert_allclose(o, w, rtol=1e-12, atol=1e-12)


def test_float32_and_the_graph_fuses():
    x = T.tensor4("x", dtype="float32")
    g, b = T.vector("g", dtype="float32"), T.vector("b", dtype="float32")
    out, mean, invstd = bn.batch_normalization_train(x, g, b, "spatial")
    assert out.dtype == mean.dtype == invstd.dtype == "float32"
    f = fn([x, g, b], out)
    xv = rng.standard_normal((8, 3, 5, 5)).astype("float32")
    gv, bv = np.ones(3, "float32"), np.zeros(3, "float32")
    np.testing.assert_allclose(f(xv, gv, bv), np_train(xv, gv, bv, (0, 2, 3), 1e-4)[0],
                               rtol=1e-4, atol=1e-4)
    graph = f.debugprint()
    assert "Fused" in graph, graph


@pytest.mark.parametrize("shape,axes,full", CASES[:5])
def test_batch_normalization_test_matches_numpy(shape, axes, full):
    ax = np_axes(axes, len(shape))
    ps = param_shape(shape, ax, full)
    x = T.tensor(dtype="float64", shape=(None,) * len(shape))
    g, b, m, v = (T.tensor(dtype="float64", shape=(None,) * len(ps)) for _ in range(4))
    xv = rng.standard_normal(shape)
    gv, bv, mv = (rng.standard_normal(ps) for _ in range(3))
    vv = rng.uniform(0.5, 2, ps)
    got = fn([x, g, b, m, v], bn.batch_normalization_test(x, g, b, m, v, axes, 1e-2))(
        xv, gv, bv, mv, vv)
    e = lambda p: expand(p, shape, ax)  # noqa: E731
    want = (xv - e(mv)) * e(gv) / np.sqrt(e(vv) + 1e-2) + e(bv)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_elementwise_batch_normalization():
    x, g, b, m, s = T.dmatrix(), T.dvector(), T.dvector(), T.dvector(), T.dvector()
    vals = [rng.standard_normal((3, 4))] + [rng.uniform(0.5, 2, 4) for _ in range(4)]
    got = fn([x, g, b, m, s], bn.batch_normalization(x, g, b, m, s))(*vals)
    xv, gv, bv, mv, sv = vals
    np.testing.assert_allclose(got, (xv - mv) * (gv / sv) + bv, rtol=1e-13)


@pytest.mark.parametrize("axes,full", [("per-activation", False), ("spatial", True),
                                       ((0, 2), False)])
def test_verify_grad_batch_normalization_train(axes, full):
    shape = (4, 2, 3)
    ax = np_axes(axes, 3)
    ps = param_shape(shape, ax, full)

    def f(x, g, b):
        out, mean, invstd = bn.batch_normalization_train(x, g, b, axes)
        return out.sum(axis=0) + 2 * mean.sum() + 3 * invstd.sum()
    check_grad(f, rng.standard_normal(shape), rng.standard_normal(ps),
               rng.standard_normal(ps), n_tests=1)


def test_verify_grad_batch_normalization_test():
    def f(x, g, b, m, v):
        return bn.batch_normalization_test(x, g, b, m, v, "spatial")
    check_grad(f, rng.standard_normal((3, 2, 2, 2)), *(rng.standard_normal(2) for _ in range(3)),
               rng.uniform(0.5, 1.5, 2), n_tests=1)


def test_errors():
    x, g, b = T.tensor4("x"), T.vector("g"), T.vector("b")
    with pytest.raises(ValueError, match="epsilon must be at least 1e-5"):
        bn.batch_normalization_train(x, g, b, "spatial", epsilon=1e-6)
    with pytest.raises(ValueError, match="'per-activation', 'spatial' or a tuple"):
        bn.batch_normalization_train(x, g, b, "channels")
    with pytest.raises(ValueError, match=r"axes must be in \[0, 4\)"):
        bn.batch_normalization_train(x, g, b, (0, 4))
    with pytest.raises(ValueError, match="at least one normalization axis"):
        bn.batch_normalization_train(x, g, b, ())
    with pytest.raises(ValueError, match="gamma .* has ndim 1; it must have the input's ndim 4 "
                                         "or the 3 of the axes not normalized"):
        bn.batch_normalization_train(x, g, b, "per-activation")
    with pytest.raises(ValueError, match="given together"):
        bn.batch_normalization_train(x, g, b, "spatial", running_mean=T.vector())
    full = T.tensor(dtype="float32", shape=(1, 3, 2, 1), name="wide")
    with pytest.raises(ValueError, match=r"'wide'.*must have 1 along the normalized axes \(0, 2, 3\)"):
        bn.batch_normalization_train(x, full, full, "spatial")
    with pytest.raises(ValueError, match="beta .* has ndim 2 but gamma has ndim 1"):
        bn.batch_normalization_test(x, g, T.matrix(), g, g, "spatial")
