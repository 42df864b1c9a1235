"""Helpers shared by the Python tests (conftest.py puts this folder on sys.path)."""
import numpy as np

import theanine
import theanine.tensor as T


def fn(inputs, outputs, mode=None):
    """theanine.function, with inputs the outputs do not use allowed."""
    return theanine.function(inputs, outputs, mode=mode, on_unused_input="ignore")


def compile_both(inputs, outputs, **kwargs):
    """outputs compiled with every rewrite (the default mode) and as written
    (NO_OPTIMIZATION); inputs the outputs do not use are allowed unless kwargs say."""
    kwargs.setdefault("on_unused_input", "ignore")
    fast = theanine.function(inputs, outputs, **kwargs)
    slow = theanine.function(inputs, outputs, mode="NO_OPTIMIZATION", **kwargs)
    return fast, slow


def assert_same(got, want, rtol=None, atol=None, tols=(1e-5, 1e-12)):
    """got has want's dtype and shape and its values: exactly for non-float dtypes; for
    floats to within rtol and atol (NaN matching NaN), each tols[0] for float32 and
    tols[1] for wider floats unless given."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype
    assert got.shape == want.shape
    if want.dtype.kind == "f":
        tol = tols[0] if want.dtype == np.float32 else tols[1]
        np.testing.assert_allclose(got, want, rtol=tol if rtol is None else rtol,
                                   atol=tol if atol is None else atol, equal_nan=True)
    else:
        np.testing.assert_array_equal(got, want)


def assert_agree(fast, slow, *args, **tols):
    """fast(*args) and slow(*args) give the same outputs (assert_same, with tols).
    Returns fast's outputs, as a list."""
    got, want = fast(*args), slow(*args)
    if not isinstance(got, (list, tuple)):
        got, want = [got], [want]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert_same(g, w, **tols)
    return list(got)


def check_rewrites(inputs, outputs, values, fired=(), absent=(), present=(), **tols):
    """Compiles outputs both ways (compile_both), compares them on values (assert_agree,
    with tols), and checks that each rule in `fired` fired and the optimized graph has
    no op named in `absent` and every one in `present`. Returns the optimized function."""
    f, g = compile_both(inputs, outputs)
    assert_agree(f, g, *values, **tols)
    for rule in fired:
        assert f.rewrite_stats.get(rule, 0) >= 1, (rule, f.rewrite_stats)
    graph = f.debugprint()
    for op in absent:
        assert op not in graph, graph
    for op in present:
        assert op in graph, graph
    return f


def np_log_softmax(x, axis=-1):
    """NumPy log-softmax of x along axis, shifted by the max so large logits stay finite."""
    if x.size == 0:
        return x.copy()
    m = np.max(x, axis=axis, keepdims=True)
    s = x - m
    return s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))


def np_softmax(x, axis=-1):
    """NumPy softmax of x along axis."""
    return np.exp(np_log_softmax(x, axis))


def tensor(dtype, ndim, name="x", shape=None):
    """A symbolic input; every dim unknown unless shape is given."""
    return T.tensor(dtype, shape=shape or (None,) * ndim, name=name)


def random_values(rng, shape, dtype="float64", ints=(-5, 6)):
    """An array drawn from rng: coin flips for bool, integers in [ints[0], ints[1]) for
    integer dtypes, standard normal values otherwise."""
    if dtype == "bool":
        return rng.random(shape) > 0.5
    if np.dtype(dtype).kind in "iu":
        return rng.integers(*ints, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def check_grad(fun, *points, seed=3, n_tests=2):
    """verify_grad of fun at float64 copies of points."""
    from theanine.gradient import verify_grad

    verify_grad(fun, [np.asarray(p, dtype="float64") for p in points],
                rng=np.random.default_rng(seed), n_tests=n_tests)


def assert_grad_type(g, wrt, by_rule=True):
    """g has wrt's dtype and static shape; with by_rule, the op's rule gave it that shape
    (the engine did not have to append a SumTo to restore it)."""
    assert g.dtype == wrt.dtype
    assert g.static_shape == wrt.static_shape
    if by_rule:
        assert g.op_name != "SumTo"
