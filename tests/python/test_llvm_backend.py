"""The LLVM backend against the reference interpreter.

Every scalar op of the table in every dtype its type rule accepts, over
contiguous, broadcast, transposed and strided operands, and every reduction
kind over every axis set: the compiled kernel must agree with mode='REFERENCE'
(exactly for integers and bools, within a few ulp for floats).
"""
import itertools

import numpy as np
import pytest

import theanine
import theanine.tensor as T
from theanine import _core

pytestmark = pytest.mark.skipif(not _core.llvm_backend_available(),
                                reason="this build has no LLVM backend")

DTYPES = ["float32", "float64", "int8", "uint8", "int16", "int32", "int64", "bool"]
SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.5, np.nan, np.inf, -np.inf, 1e30, -1e30, 88.0,
           -88.0, 710.0, 1e-30]


def sample(dtype, shape, rng, special=True):
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype.startswith("float"):
        v = rng.standard_normal(shape) * 3
        if special:
            flat = v.reshape(-1)
            flat[: min(len(SPECIAL), flat.size)] = SPECIAL[: flat.size]
        return v.astype(dtype)
    info = np.iinfo(dtype)
    lo, hi = max(info.min, -100), min(info.max, 100)
    v = rng.integers(lo, hi + 1, size=shape).astype(dtype)
    if special and v.size > 3:
        v.reshape(-1)[:3] = [0, 1, lo]
    return v


def arity(name):
    if name == "cast":
        return 1
    for x in (T.dscalar(), T.lscalar()):
        for n in (1, 2, 3):
            try:
                _core.elemwise(name, [x] * n)
                return n
            except Exception:
                continue
    raise AssertionError(f"no arity for {name}")


def ulp_close(got, want, dtype, ulps=4):
    got = np.asarray(got)
    want = np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    if not np.issubdtype(want.dtype, np.floating):
        np.testing.assert_array_equal(got, want)
        return
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    eps = np.finfo(want.dtype).eps
    tol = ulps * eps * np.maximum(np.abs(want), np.finfo(want.dtype).tiny)
    with np.errstate(invalid="ignore"):
        close = np.abs(got.astype(np.float64) - want.astype(np.float64)) <= tol
    bad = ~(same | close)
    assert not bad.any(), (f"{bad.sum()} elements differ, e.g. got {got[bad][:5]} "
                           f"want {want[bad][:5]}")


def compile_both(inputs, outputs):
    fast = theanine.function(inputs, outputs)
    ref = theanine.function(inputs, outputs, mode="REFERENCE")
    return fast, ref


OPS = [n for n in _core.scalar_op_names()]


@pytest.mark.parametrize("name", OPS)
def test_scalar_op_matches_reference_in_every_dtype(name):
    n = arity(name)
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    checked = 0
    for dtype in DTYPES:
        xs = [T.tensor(dtype, (False, False), name=f"x{i}") for i in range(n)]
        try:
            if name == "cast":
                outs = [T.cast(xs[0], d) for d in DTYPES]
            else:
                outs = [_core.elemwise(name, xs)]
        except Exception:
            continue  # the type rule rejects this dtype
        if name == "pow" and dtype not in ("float32", "float64"):
            continue  # integer pow raises for negative exponents: reference path
        fast, ref = compile_both(xs, outs)
        vals = [sample(dtype, (7, 9), rng) for _ in range(n)]
        if name in ("pow",):
            vals[1] = np.abs(vals[1]) % 4
        with np.errstate(all="ignore"):
            for got, want in zip(fast(*vals), ref(*vals)):
                ulp_close(got, want, dtype, ulps=8 if dtype == "float32" else 4)
        checked += 1
    assert checked > 0


LAYOUTS = {
    "contiguous": lambda a: a,
    "transposed": lambda a: a.T.copy().T,
    "strided": lambda a: np.repeat(a, 2, axis=1)[:, ::2],
    "reversed": lambda a: a[::-1].copy()[::-1],
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
def test_fused_expression_over_views_and_broadcasts(layout, dtype):
    x = T.tensor(dtype, (False, False), "x")
    row = T.tensor(dtype, (True, False), "row")
    col = T.tensor(dtype, (False, True), "col")
    s = T.tensor(dtype, (), "s")
    e = T.maximum(x * row + col, s) - x * x
    if dtype.startswith("float"):
        e = T.tanh(e) + T.exp(-abs(x))
    fast, ref = compile_both([x, row, col, s], [e])
    rng = np.random.default_rng(1)
    for shape in [(1, 1), (3, 5), (64, 33), (300, 257)]:
        xv = LAYOUTS[layout](sample(dtype, shape, rng, special=False))
        rv = sample(dtype, (1, shape[1]), rng, special=False)
        cv = sample(dtype, (shape[0], 1), rng, special=False)
        sv = sample(dtype, (), rng, special=False)
        got, want = fast(xv, rv, cv, sv)[0], ref(xv, rv, cv, sv)[0]
        if dtype == "int32":
            np.testing.assert_array_equal(got, want)
        else:  # a chain of roundings with cancellation: relative to the inputs' scale
            tol = 1e-5 if dtype == "float32" else 1e-13
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 10)


def test_runtime_broadcast_of_an_unknown_dim():
    x = T.fmatrix("x")
    y = T.fmatrix("y")
    fast, ref = compile_both([x, y], [x * y + 1])
    a = np.ones((4, 5), "float32") * 2
    b = np.arange(5, dtype="float32").reshape(1, 5)
    ulp_close(fast(a, b)[0], ref(a, b)[0], "float32")


@pytest.mark.parametrize("kind", ["sum", "prod", "max", "min", "mean", "all", "any",
                                  "argmax", "argmin"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "uint8", "bool"])
def test_reductions_match_reference(kind, dtype):
    if kind in ("argmax", "argmin", "prod", "sum", "mean", "max", "min") and dtype == "bool" \
            and kind not in ("sum", "max", "min"):
        pytest.skip("not defined for bool here")
    x = T.tensor(dtype, (False, False, False), "x")
    rng = np.random.default_rng(2)
    axes_list = [None, 0, 1, 2, (0, 1), (1, 2), (0, 2)] if not kind.startswith("arg") \
        else [None, 0, 1, 2]
    outs = []
    for axes in axes_list:
        for keepdims in (False, True):
            try:
                outs.append(getattr(T, kind)(x, axis=axes, keepdims=keepdims))
            except Exception as e:  # pragma: no cover - a builder that rejects it
                pytest.fail(f"{kind}(axis={axes}) failed to build: {e}")
    fast, ref = compile_both([x], outs)
    for shape in [(2, 3, 4), (5, 1, 7), (31, 17, 9)]:
        v = sample(dtype, shape, rng, special=False)
        if kind == "prod" and dtype.startswith("float"):
            v = (v / 8 + 1).astype(dtype)
        with np.errstate(all="ignore"):
            for got, want in zip(fast(v), ref(v)):
                ulp_close(got, want, dtype, ulps=64 if kind in ("sum", "mean", "prod")
                          else 0)


def test_reduction_nan_and_ties_follow_numpy():
    x = T.dmatrix("x")
    f = theanine.function([x], [T.max(x, axis=1), T.argmax(x, axis=1), T.argmin(x, axis=0)])
    v = np.array([[1, np.nan, 3], [2, 2, 1], [-np.inf, -np.inf, -np.inf]])
    mx, amax, amin = f(v)
    np.testing.assert_array_equal(mx, np.max(v, axis=1))
    np.testing.assert_array_equal(amax, np.argmax(v, axis=1))
    np.testing.assert_array_equal(amin, np.argmin(v, axis=0))


def test_large_arrays_split_across_threads_agree():
    x = T.fvector("x")
    m = T.fmatrix("m")
    f = theanine.function([x, m], [T.tanh(x * 2 + 1), x.sum(), m.sum(axis=0), m.max(axis=1),
                                   T.argmax(x)])
    rng = np.random.default_rng(3)
    xv = rng.standard_normal(1 << 20).astype("float32")
    mv = rng.standard_normal((2048, 300)).astype("float32")
    t, s, cs, rm, am = f(xv, mv)
    ulp_close(t, np.tanh(xv * 2 + 1).astype("float32"), "float32", ulps=8)
    np.testing.assert_allclose(s, xv.astype(np.float64).sum(), rtol=1e-5)
    np.testing.assert_allclose(cs, mv.astype(np.float64).sum(axis=0), rtol=1e-4, atol=1e-3)
    np.testing.assert_array_equal(rm, mv.max(axis=1))
    assert am == np.argmax(xv)


def test_inplace_update_kernels_write_the_right_values():
    w = theanine.shared(np.ones((50, 40), "float32"), "w")
    v = theanine.shared(np.zeros((50, 40), "float32"), "v")
    g = T.fmatrix("g")
    new_v = 0.9 * v - 0.1 * g
    f = theanine.function([g], [], updates=[(v, new_v), (w, w + new_v)])
    gv = np.full((50, 40), 2.0, "float32")
    wv, vv = np.ones((50, 40)), np.zeros((50, 40))
    for _ in range(3):
        f(gv)
        vv = 0.9 * vv - 0.1 * 2.0
        wv = wv + vv
    np.testing.assert_allclose(w.get_value(), wv, rtol=1e-6)
    np.testing.assert_allclose(v.get_value(), vv, rtol=1e-6)


def test_same_graph_twice_reuses_kernels():
    x = T.fmatrix("x")
    e = T.nnet.sigmoid(x * 3 - 1).sum(axis=1)
    f1 = theanine.function([x], e)
    f2 = theanine.function([x], e)
    assert f1.kernel_stats["kernels"] >= 1
    assert f2.kernel_stats["compiled"] == 0


def test_shape_error_before_any_write():
    x = T.fmatrix("x")
    y = T.fmatrix("y")
    f = theanine.function([x, y], x + y)
    with pytest.raises(theanine.ShapeError):
        f(np.ones((2, 3), "float32"), np.ones((3, 2), "float32"))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_family_kernels_match_reference(dtype):
    x = T.tensor(dtype, (False, False), "x")
    dy = T.tensor(dtype, (False, False), "dy")
    sm = T.nnet.softmax(x)
    ls = T.nnet.log_softmax(x)
    outs = [sm, ls, T.grad((sm * dy).sum(), x), T.grad((ls * dy).sum(), x),
            T.nnet.softmax(x, axis=0)]
    fast, ref = compile_both([x, dy], outs)
    rng = np.random.default_rng(4)
    for shape in [(1, 1), (3, 7), (65, 1000)]:
        xv = (rng.standard_normal(shape) * 5).astype(dtype)
        xv.reshape(-1)[0] = 1000.0  # stable at extreme logits
        dv = rng.standard_normal(shape).astype(dtype)
        tol = 1e-5 if dtype == "float32" else 1e-12
        for got, want in zip(fast(xv, dv), ref(xv, dv)):
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def _ulps(got32, exact64):
    """Distance in float32 ulps between float32 results and exact values."""
    want = exact64.astype(np.float32)
    spacing = np.spacing(np.abs(want)).astype(np.float64)
    spacing[spacing == 0] = np.finfo(np.float32).smallest_subnormal
    return np.abs(got32.astype(np.float64) - exact64) / spacing


@pytest.mark.parametrize("name,lo,hi,exact", [
    ("exp", -87.0, 88.0, np.exp),
    ("log", 1e-30, 1e30, np.log),
    ("tanh", -12.0, 12.0, np.tanh),
    ("sigmoid", -80.0, 80.0, lambda v: 1 / (1 + np.exp(-v))),
    ("softplus", -80.0, 80.0, lambda v: np.logaddexp(0, v)),
])
def test_float32_transcendentals_are_within_a_few_ulp(name, lo, hi, exact):
    x = T.fvector("x")
    f = theanine.function([x], getattr(T.nnet if name in ("sigmoid", "softplus") else T, name)(x))
    if name == "log":
        v = np.geomspace(lo, hi, 200001).astype(np.float32)
    else:
        v = np.linspace(lo, hi, 200001).astype(np.float32)
    got = f(v)
    err = _ulps(got, exact(v.astype(np.float64)))
    assert err.max() <= 4, f"{name}: {err.max():.1f} ulp at x={v[np.argmax(err)]!r}"
