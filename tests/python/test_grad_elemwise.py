"""Gradient rules of the elementwise ops (the derivative column of the scalar-op
table): numeric checks in float64 with broadcasting, Theano's conventions at the
kinks, the gradients' dtypes and static shapes, and second derivatives."""
import zlib

import numpy as np
import pytest

import theanine
import theanine.tensor as T
from theanine.gradient import DisconnectedInputError, verify_grad


def check(fun, *pt, seed=0, **kw):
    verify_grad(fun, [np.asarray(p, dtype="float64") for p in pt], rng=np.random.default_rng(seed), **kw)


def fn(inputs, outputs):
    return theanine.function(inputs, outputs, on_unused_input="ignore")


def rng_for(*key):
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def away_from_zero(r, shape, lo=0.3, hi=2.0):
    return r.choice([-1.0, 1.0], size=shape) * r.uniform(lo, hi, size=shape)


def frac_safe(x, y, margin=0.1):
    """True when x / y is at least `margin` away from an integer everywhere, so
    mod and int_div are smooth near the point."""
    q = np.asarray(x) / np.asarray(y)
    f = q - np.floor(q)
    return bool(np.all((f > margin) & (f < 1 - margin)))


# ---- Points inside each op's smooth domain -------------------------------------

UNARY = {
    # name: (builder, point sampler)
    "exp": (T.exp, lambda r, s: r.standard_normal(s)),
    "log": (T.log, lambda r, s: r.uniform(0.5, 2.0, s)),
    "log1p": (T.log1p, lambda r, s: r.uniform(-0.5, 2.0, s)),
    "expm1": (T.expm1, lambda r, s: r.standard_normal(s)),
    "sqrt": (T.sqrt, lambda r, s: r.uniform(0.5, 2.0, s)),
    "sqr": (T.sqr, lambda r, s: r.standard_normal(s)),
    "tanh": (T.tanh, lambda r, s: r.standard_normal(s)),
    "sigmoid": (T.sigmoid, lambda r, s: 2 * r.standard_normal(s)),
    "softplus": (T.softplus, lambda r, s: 2 * r.standard_normal(s)),
    "sin": (T.sin, lambda r, s: 2 * r.standard_normal(s)),
    "cos": (T.cos, lambda r, s: 2 * r.standard_normal(s)),
    "neg": (T.neg, lambda r, s: r.standard_normal(s)),
    "abs": (T.abs, away_from_zero),
    "unary_minus": (lambda x: -x, lambda r, s: r.standard_normal(s)),
}

# Zero gradient everywhere away from their jumps.
STEP = {
    "round": (T.round, lambda r, s: r.integers(-3, 4, s) + r.uniform(0.1, 0.4, s)
              * r.choice([-1, 1], s)),
    "floor": (T.floor, lambda r, s: r.integers(-3, 4, s) + r.uniform(0.1, 0.9, s)),
    "ceil": (T.ceil, lambda r, s: r.integers(-3, 4, s) + r.uniform(0.1, 0.9, s)),
    "sgn": (T.sgn, away_from_zero),
}


def _div_point(r, sx, sy):
    while True:
        x = 3 * r.standard_normal(sx)
        y = away_from_zero(r, sy, 0.5, 2.0)
        if frac_safe(*np.broadcast_arrays(x, y)):
            return x, y


BINARY = {
    # name: (builder, sampler of (x, y) for shapes sx, sy)
    "add": (T.add, lambda r, sx, sy: (r.standard_normal(sx), r.standard_normal(sy))),
    "sub": (T.sub, lambda r, sx, sy: (r.standard_normal(sx), r.standard_normal(sy))),
    "mul": (T.mul, lambda r, sx, sy: (r.standard_normal(sx), r.standard_normal(sy))),
    "true_div": (T.true_div,
                 lambda r, sx, sy: (r.standard_normal(sx), away_from_zero(r, sy, 0.5))),
    "pow": (T.pow, lambda r, sx, sy: (r.uniform(0.5, 2.0, sx), r.uniform(-1.5, 1.5, sy))),
    "mod": (T.mod, _div_point),
    "int_div": (T.int_div, _div_point),
    "maximum": (T.maximum,
                lambda r, sx, sy: (r.standard_normal(sx), r.standard_normal(sy))),
    "minimum": (T.minimum,
                lambda r, sx, sy: (r.standard_normal(sx), r.standard_normal(sy))),
    "operators": (lambda x, y: (x * y - x / (y * y + 1)) ** 2 + x % 1.5,
                  lambda r, sx, sy: (r.standard_normal(sx), r.standard_normal(sy))),
}

# Broadcast pairs: equal, 1-sized dims on either side, fewer dims, 0-d.
SHAPE_PAIRS = [
    ((2, 3), (2, 3)),
    ((2, 3), (1, 3)),
    ((2, 1), (1, 3)),
    ((2, 3), (3,)),
    ((3,), (2, 1)),
    ((2, 3), ()),
    ((), (3,)),
]


NO_GRADIENT = {"eq", "neq", "lt", "le", "gt", "ge", "and_", "or_", "xor", "invert",
               "isnan", "isinf"}


def test_every_table_entry_is_covered():
    covered = set(UNARY) | set(STEP) | set(BINARY) | {"clip", "switch", "cast"} | NO_GRADIENT
    assert set(theanine._core.scalar_op_names()) <= covered


# ---- Numeric checks ----------------------------------------------------------


@pytest.mark.parametrize("shape", [(2, 3), ()])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(name, shape):
    op, sample = UNARY[name]
    check(op, sample(rng_for(name, shape), shape))


@pytest.mark.parametrize("name", sorted(STEP))
def test_piecewise_constant(name):
    op, sample = STEP[name]
    check(op, sample(rng_for(name), (2, 3)))


@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary(name, shapes):
    op, sample = BINARY[name]
    x, y = sample(rng_for(name, shapes), *shapes)
    check(op, x, y)


def test_binary_with_a_literal():
    r = rng_for("literal")
    x = r.uniform(0.5, 2.0, (2, 3))
    check(lambda a: 3.0 * a - a / 2.0 + a ** 2 + 2 ** a + a ** 0.5, x)
    check(lambda a: T.maximum(a, 0.0) + T.minimum(1, a), x - 1.2)


@pytest.mark.parametrize("shapes", [
    ((2, 3), (2, 3), (2, 3)),
    ((2, 3), (), ()),
    ((2, 3), (3,), (2, 1)),
    ((3,), (2, 1), ()),
], ids=str)
def test_clip(shapes):
    r = rng_for("clip", shapes)
    sx, slo, shi = shapes
    while True:
        x = 2 * r.standard_normal(sx)
        lo = r.uniform(-1.0, -0.2, slo)
        hi = r.uniform(0.2, 1.0, shi)
        bx, blo, bhi = np.broadcast_arrays(x, lo, hi)
        # Every region present, no point near an edge.
        if (np.all(np.minimum(np.abs(bx - blo), np.abs(bx - bhi)) > 0.05)
                and np.any(bx < blo) and np.any(bx > bhi)):
            break
    check(T.clip, x, lo, hi)


def test_clip_with_literal_bounds():
    x = np.array([[-1.3, -0.2, 0.4], [0.8, 1.7, -0.9]])
    check(lambda a: T.clip(a, -0.5, 0.5), x)


@pytest.mark.parametrize("shapes", [
    ((2, 3), (2, 3), (2, 3)),
    ((2, 1), (3,), ()),
    ((3,), (2, 3), (2, 1)),
], ids=str)
def test_switch(shapes):
    r = rng_for("switch", shapes)
    sc, sa, sb = shapes
    cond = away_from_zero(r, sc)
    # The condition is an input too: it gets no gradient, and the cost does not
    # move with it away from its sign changes.
    check(lambda c, a, b: T.switch(c > 0, a, b) * a, cond, r.standard_normal(sa),
          r.standard_normal(sb))
    check(lambda c, a, b: T.switch(c, a, b), cond, r.standard_normal(sa),
          r.standard_normal(sb))


def test_switch_with_a_constant_condition():
    c = np.array([[True, False, True]])
    r = rng_for("switch const")
    check(lambda a, b: T.switch(T.constant(c), a, b), r.standard_normal((2, 3)),
          r.standard_normal((2, 1)))
    check(lambda a: T.switch(T.constant(c), a, 0.0), r.standard_normal((2, 3)))


def test_cast_between_floats():
    r = rng_for("cast")
    # Through float32 and back: linear, so a wide step keeps rounding out of it.
    check(lambda a: T.cast(T.cast(a, "float32"), "float64") * a, r.standard_normal((2, 3)),
          eps=1e-2, abs_tol=1e-3, rel_tol=1e-3)
    x = T.fvector("x")
    w = np.array([1.5, -2.0, 0.25])
    g = T.grad(T.sum(T.cast(x, "float64") * w), x)
    assert g.dtype == "float32"
    np.testing.assert_array_equal(fn([x], g)(np.zeros(3, "float32")), w.astype("float32"))


def test_cast_to_int_stops_the_gradient():
    x = T.dvector("x")
    cost = T.sum(T.cast(T.cast(x, "int32"), "float64") + x)
    np.testing.assert_array_equal(fn([x], T.grad(cost, x))(np.array([0.5, 2.7])), [1, 1])
    with pytest.raises(DisconnectedInputError):
        T.grad(T.sum(T.cast(T.cast(x, "int32"), "float64")), x)


def test_integer_inputs_get_no_gradient():
    x = T.dvector("x")
    n = T.ivector("n")
    xv = np.array([0.5, 1.5, 2.0])
    nv = np.array([2, 3, -1], dtype="int32")
    gx = T.grad(T.sum(x ** n + x * n), x)
    np.testing.assert_allclose(fn([x, n], gx)(xv, nv), nv * xv ** (nv - 1.0) + nv)
    with pytest.raises(DisconnectedInputError):
        T.grad(T.sum(x ** n), n)  # an integer wrt: nothing flows
    gn = T.grad(T.sum(x ** n), n, disconnected_inputs="ignore")
    assert gn.dtype == "int32"


# ---- Values against hand-written NumPy formulas --------------------------------


def _grads(cost, wrt, *args, inputs=None):
    """The gradients of cost wrt each of `wrt`, evaluated at args (the values of
    `inputs`, by default the wrt themselves)."""
    return fn(inputs or wrt, T.grad(cost, wrt))(*args)


def test_values_unary():
    x = T.dvector("x")
    xv = np.array([-1.5, -0.2, 0.3, 2.0])
    s = 1 / (1 + np.exp(-xv))
    cases = [
        (T.tanh(x), 1 - np.tanh(xv) ** 2),
        (T.sigmoid(x), s * (1 - s)),
        (T.softplus(x), s),
        (T.exp(x), np.exp(xv)),
        (T.expm1(x), np.exp(xv)),
        (T.sin(x), np.cos(xv)),
        (T.cos(x), -np.sin(xv)),
        (T.sqr(x), 2 * xv),
        (T.abs(x), np.sign(xv)),
        (T.log1p(x), 1 / (1 + xv)),
    ]
    for expr, want in cases:
        (g,) = _grads(T.sum(expr), [x], xv)
        np.testing.assert_allclose(g, want, rtol=1e-12, err_msg=str(expr))
    pv = np.array([0.25, 1.0, 4.0])
    (g,) = _grads(T.sum(T.sqrt(x) + T.log(x)), [x], pv)
    np.testing.assert_allclose(g, 0.5 / np.sqrt(pv) + 1 / pv, rtol=1e-12)


def test_values_binary():
    x, y = T.dvector("x"), T.dvector("y")
    xv = np.array([0.5, 1.5, 2.0])
    yv = np.array([-1.25, 0.5, 3.0])
    gx, gy = _grads(T.sum(x ** y), [x, y], xv, yv)
    np.testing.assert_allclose(gx, yv * xv ** (yv - 1), rtol=1e-12)
    np.testing.assert_allclose(gy, np.log(xv) * xv ** yv, rtol=1e-12)
    gx, gy = _grads(T.sum(x / y), [x, y], xv, yv)
    np.testing.assert_allclose(gx, 1 / yv, rtol=1e-12)
    np.testing.assert_allclose(gy, -xv / yv ** 2, rtol=1e-12)
    xm, ym = np.array([5.5, -5.5, 5.5, -0.7]), np.array([2.0, 2.0, -2.0, 0.3])
    x4, y4 = T.dvector("x4"), T.dvector("y4")
    gx, gy = _grads(T.sum(x4 % y4), [x4, y4], xm, ym)
    np.testing.assert_array_equal(gx, np.ones(4))
    np.testing.assert_allclose(gy, -np.floor(xm / ym), rtol=1e-12)
    gx, gy = _grads(T.sum(T.int_div(x4, y4) + T.round(x4) + T.floor(y4) + T.ceil(x4)
                          + T.sgn(y4)), [x4, y4], xm, ym)
    np.testing.assert_array_equal(gx, np.zeros(4))
    np.testing.assert_array_equal(gy, np.zeros(4))


def test_broadcast_gradient_is_summed():
    x = T.dmatrix("x")
    b = T.TensorType("float64", shape=(1, None))("b")
    v = T.dvector("v")
    s = T.dscalar("s")
    xv = np.arange(6.0).reshape(2, 3)
    bv = np.array([[1.0, 2.0, 3.0]])
    vv = np.array([0.5, -1.0, 2.0])
    sv = np.array(1.5)
    gx, gb, gv, gs = _grads(T.sum(x * b * v * s), [x, b, v, s], xv, bv, vv, sv)
    np.testing.assert_allclose(gx, np.broadcast_to(bv * vv * sv, (2, 3)))
    np.testing.assert_allclose(gb, (xv * vv * sv).sum(0, keepdims=True))
    np.testing.assert_allclose(gv, (xv * bv * sv).sum(0))
    np.testing.assert_allclose(gs, (xv * bv * vv).sum())
    # A dim of unknown size that is 1 at run time broadcasts too.
    m = T.dmatrix("m")
    (gx,) = _grads(T.sum(x * m), [x], np.ones((1, 3)), xv, inputs=[x, m])
    np.testing.assert_allclose(gx, xv.sum(0, keepdims=True))


# ---- Conventions at the kinks ----------------------------------------------------


def test_abs_at_zero_gives_zero():
    x = T.dvector("x")
    (g,) = _grads(T.sum(T.abs(x)), [x], np.array([-1.0, 0.0, 2.0]))
    np.testing.assert_array_equal(g, [-1.0, 0.0, 1.0])


@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_ties_give_the_gradient_to_both(op):
    x, y = T.dvector("x"), T.dvector("y")
    xv = np.array([1.0, 2.0, 3.0])
    yv = np.array([1.0, 0.0, 5.0])
    w = np.array([2.0, 3.0, 4.0])
    gx, gy = _grads(T.sum(getattr(T, op)(x, y) * w), [x, y], xv, yv)
    if op == "maximum":
        np.testing.assert_array_equal(gx, [2.0, 3.0, 0.0])
        np.testing.assert_array_equal(gy, [2.0, 0.0, 4.0])
    else:
        np.testing.assert_array_equal(gx, [2.0, 0.0, 4.0])
        np.testing.assert_array_equal(gy, [2.0, 3.0, 0.0])


def test_relu_at_zero_passes_the_gradient():
    x = T.dvector("x")
    (g,) = _grads(T.sum(T.maximum(x, 0.0)), [x], np.array([-1.0, 0.0, 1.0]))
    np.testing.assert_array_equal(g, [0.0, 1.0, 1.0])


def test_clip_edges():
    x, lo, hi = T.dvector("x"), T.dscalar("lo"), T.dscalar("hi")
    xv = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 3.0])
    w = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    gx, glo, ghi = _grads(T.sum(T.clip(x, lo, hi) * w), [x, lo, hi], xv, np.array(-1.0),
                          np.array(1.0))
    np.testing.assert_array_equal(gx, [0.0, 2.0, 3.0, 4.0, 0.0, 0.0])  # edges included
    assert float(glo) == 1.0  # below lo only, not at it
    assert float(ghi) == 11.0


def test_clip_per_element_bounds():
    x, lo, hi = T.dmatrix("x"), T.dvector("lo"), T.dmatrix("hi")
    xv = np.array([[-2.0, 0.5, 3.0], [0.0, -0.5, 0.9]])
    lov = np.array([-1.0, 0.5, -1.0])
    hiv = np.array([[1.0], [0.5]])
    gx, glo, ghi = _grads(T.sum(T.clip(x, lo, hi)), [x, lo, hi], xv, lov, hiv)
    np.testing.assert_array_equal(gx, [[0, 1, 0], [1, 0, 0]])
    np.testing.assert_array_equal(glo, [1, 1, 0])
    np.testing.assert_array_equal(ghi, [[1], [1]])


def test_switch_routes_the_gradient():
    c, a, b = T.dvector("c"), T.dvector("a"), T.dscalar("b")
    cv = np.array([1.0, 0.0, -2.0, np.nan])  # nonzero (NaN included) is true
    av = np.array([1.0, 2.0, 3.0, 4.0])
    w = np.array([1.0, 2.0, 3.0, 4.0])
    ga, gb = _grads(T.sum(T.switch(c, a, b) * w), [a, b], cv, av, np.array(7.0),
                    inputs=[c, a, b])
    np.testing.assert_array_equal(ga, [1.0, 0.0, 3.0, 4.0])
    assert float(gb) == 2.0
    # The condition gets none.
    with pytest.raises(DisconnectedInputError):
        T.grad(T.sum(T.switch(c, a, b)), c)
    gc = T.grad(T.sum(T.switch(c, a, b)), c, disconnected_inputs="ignore")
    np.testing.assert_array_equal(fn([c], gc)(cv), np.zeros(4))


def test_pow_at_zero_base():
    x, y = T.dvector("x"), T.dvector("y")
    gx, gy = _grads(T.sum(x ** y), [x, y], np.array([0.0, 0.0, 2.0]),
                    np.array([2.0, 3.0, 0.5]))
    np.testing.assert_array_equal(gx, [0.0, 0.0, 0.5 * 2.0 ** -0.5])
    np.testing.assert_array_equal(gy, [0.0, 0.0, np.log(2.0) * 2.0 ** 0.5])


def test_maximum_with_nan_gives_no_gradient():
    x, y = T.dvector("x"), T.dvector("y")
    gx, gy = _grads(T.sum(T.maximum(x, y)), [x, y], np.array([np.nan, 1.0]),
                    np.array([0.0, 2.0]))
    np.testing.assert_array_equal(gx, [0.0, 0.0])
    np.testing.assert_array_equal(gy, [0.0, 1.0])


def test_comparisons_give_no_gradient():
    x = T.dvector("x")
    for cmp in [T.eq, T.neq, T.lt, T.le, T.gt, T.ge]:
        cost = T.sum(T.cast(cmp(x, 0.5), "float64") + x)
        (g,) = _grads(cost, [x], np.array([0.0, 0.5, 1.0]))
        np.testing.assert_array_equal(g, [1.0, 1.0, 1.0])
    cost = T.sum(T.cast(T.isnan(x) | T.isinf(x), "float64") + x)
    (g,) = _grads(cost, [x], np.array([0.0, 0.5]))
    np.testing.assert_array_equal(g, [1.0, 1.0])


# ---- dtypes and static shapes ----------------------------------------------------


def _float64_nodes(v):
    """Computed (non-constant) float64 variables in v's graph."""
    seen, stack, found = set(), [v], []
    while stack:
        u = stack.pop()
        if u.id in seen:
            continue
        seen.add(u.id)
        if u.kind == "output" and u.dtype == "float64":
            found.append(f"{u.op_name} {u.type_str}")
        stack.extend(u.owner_inputs)
    return found


FLOAT32_EXPRS = {
    **{name: (lambda op: lambda x, y: op(x))(op) for name, (op, _) in UNARY.items()},
    **{name: (lambda op: lambda x, y: op(x, y))(op) for name, (op, _) in BINARY.items()},
    **{name: (lambda op: lambda x, y: op(x))(op) for name, (op, _) in STEP.items()},
    "literals": lambda x, y: (2.0 * x + x / 3.0 - 0.5 + x ** 2 + x ** 0.5 + 1.5 ** x
                              + 2 ** y + x % 1.5 + 2.5 % y + 1 / y),
    "clip": lambda x, y: T.clip(x, y, 1.0),
    "clip_literals": lambda x, y: T.clip(x, -0.5, 0.5),
    "switch": lambda x, y: T.switch(x > 0, x, 0.1 * y),
    "relu": lambda x, y: T.maximum(x, 0.0) + T.minimum(y, 0),
    # float64 inside by the user's choice: only the dtypes and shapes are checked.
    "cast": lambda x, y: T.cast(T.cast(x, "float64"), "float32") * y,
}


@pytest.mark.parametrize("name", sorted(FLOAT32_EXPRS))
def test_float32_gradients_stay_float32(name):
    x = T.TensorType("float32", shape=(None, 3))("x")
    y = T.TensorType("float32", shape=(1, None))("y")
    out = FLOAT32_EXPRS[name](x, y)
    gs = T.grad(T.sum(out), [x, y], disconnected_inputs="ignore")
    for g, w in zip(gs, [x, y]):
        assert g.dtype == "float32"
        assert g.static_shape == w.static_shape, (g.type_str, w.type_str)
        if name != "cast":
            assert _float64_nodes(g) == [], _float64_nodes(g)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_static_shapes_follow_the_wrt(name):
    op = BINARY[name][0]
    x = T.TensorType("float64", shape=(2, 3))("x")
    v = T.TensorType("float64", shape=(3,))("v")
    b = T.TensorType("float64", shape=(None, 1))("b")
    s = T.dscalar("s")
    out = op(op(x, v), b) + op(s, x)
    gs = T.grad(T.sum(out), [x, v, b, s])
    for g, w in zip(gs, [x, v, b, s]):
        assert g.dtype == "float64"
        assert g.static_shape == w.static_shape, (name, g.type_str, w.type_str)


def test_mixed_float_dtypes():
    x = T.fvector("x")
    y = T.dvector("y")
    gx, gy = T.grad(T.sum(x * y), [x, y])
    assert (gx.dtype, gy.dtype) == ("float32", "float64")
    xv = np.array([1.0, 2.0], "float32")
    yv = np.array([3.0, 4.0])
    a, b = fn([x, y], [gx, gy])(xv, yv)
    np.testing.assert_array_equal(a, yv.astype("float32"))
    np.testing.assert_array_equal(b, xv.astype("float64"))


# ---- Second derivatives ----------------------------------------------------------


@pytest.mark.parametrize("name", sorted(UNARY))
def test_second_derivative_unary(name):
    op, sample = UNARY[name]
    check(lambda x: T.grad(T.sum(op(x)), x), sample(rng_for("2nd", name), (4,)))


SECOND_BINARY = ["add", "sub", "mul", "true_div", "pow", "mod", "maximum", "minimum",
                 "operators"]


@pytest.mark.parametrize("wrt", [0, 1])
@pytest.mark.parametrize("name", SECOND_BINARY)
def test_second_derivative_binary(name, wrt):
    op, sample = BINARY[name]
    x, y = sample(rng_for("2nd", name), (2, 3), (3,))
    # sin keeps the second derivative of the linear ops from being trivially zero.
    check(lambda a, b: T.grad(T.sum(T.sin(op(a, b))), [a, b])[wrt], x, y)


def test_second_derivative_clip_and_switch():
    r = rng_for("2nd clip")
    x = np.array([[-1.3, -0.2, 0.4], [0.8, 1.7, -0.9]])
    check(lambda a, lo: T.grad(T.sum(T.sqr(T.clip(a, lo, 1.0))), a), x,
          np.array([-0.5, -0.5, -0.5]))
    check(lambda a, b: T.grad(T.sum(T.switch(a > 0, a * b, b) ** 2), b), x,
          r.standard_normal((3,)))


def test_hessian_values():
    x = T.dvector("x")
    xv = np.array([-1.0, 0.5, 2.0])
    h = fn([x], T.hessian(T.sum(x ** 3 + T.sigmoid(x)), x))(xv)
    s = 1 / (1 + np.exp(-xv))
    np.testing.assert_allclose(h, np.diag(6 * xv + s * (1 - s) * (1 - 2 * s)), rtol=1e-12)
    y = T.dvector("y")
    hxy = fn([x, y], T.grad(T.sum(T.grad(T.sum(x * T.tanh(y)), x)), y))(xv, xv)
    np.testing.assert_allclose(hxy, 1 - np.tanh(xv) ** 2, rtol=1e-12)
