"""Elementwise ops against NumPy: every op, dtype and memory layout.

The reference is NumPy applied to the inputs converted to the dtype our type rule
computes in (NumPy would use float16 where we use float32), so values and result
dtypes are both checked.
"""
import zlib

import numpy as np
import pytest

import theanine
import theanine.tensor as T
from theanine import _core

FLOATS = ["float32", "float64"]
INTS = ["int32", "int8", "uint8"]
ALL = FLOATS + INTS + ["bool"]
NO_BOOL = FLOATS + INTS
INT_BOOL = INTS + ["bool"]

FLOAT_RULE = {"true_div", "exp", "log", "log1p", "expm1", "sqrt", "tanh", "sigmoid",
              "softplus", "sin", "cos"}
BOOL_AS_INT8 = {"int_div", "mod", "pow", "sqr"}
BOOL_RESULT = {"eq", "neq", "lt", "le", "gt", "ge", "isnan", "isinf"}


def _sigmoid(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x.astype("float64")))


def _softplus(x):
    return np.logaddexp(0.0, x.astype("float64"))


# name: (NumPy reference, accepted dtypes, value kind of each input)
OPS = {
    "add": (np.add, ALL, ["any", "any"]),
    "sub": (np.subtract, NO_BOOL, ["any", "any"]),
    "mul": (np.multiply, ALL, ["any", "any"]),
    "true_div": (np.true_divide, NO_BOOL, ["any", "divisor"]),
    "int_div": (np.floor_divide, ALL, ["any", "divisor"]),
    "mod": (np.remainder, ALL, ["any", "divisor"]),
    "pow": (np.power, ALL, ["base", "exponent"]),
    "neg": (np.negative, NO_BOOL, ["any"]),
    "abs": (np.abs, ALL, ["any"]),
    "sgn": (np.sign, NO_BOOL, ["any"]),
    "exp": (np.exp, ALL, ["any"]),
    "log": (np.log, NO_BOOL, ["pos"]),
    "log1p": (np.log1p, NO_BOOL, ["pos"]),
    "expm1": (np.expm1, ALL, ["any"]),
    "sqrt": (np.sqrt, NO_BOOL, ["pos"]),
    "sqr": (np.square, ALL, ["any"]),
    "tanh": (np.tanh, ALL, ["any"]),
    "sigmoid": (_sigmoid, ALL, ["any"]),
    "softplus": (_softplus, ALL, ["any"]),
    "sin": (np.sin, ALL, ["any"]),
    "cos": (np.cos, ALL, ["any"]),
    "maximum": (np.maximum, ALL, ["any", "any"]),
    "minimum": (np.minimum, ALL, ["any", "any"]),
    "clip": (np.clip, ALL, ["any", "any", "any"]),
    "round": (np.round, ALL, ["halves"]),
    "floor": (np.floor, ALL, ["any"]),
    "ceil": (np.ceil, ALL, ["any"]),
    "eq": (np.equal, ALL, ["few", "few"]),
    "neq": (np.not_equal, ALL, ["few", "few"]),
    "lt": (np.less, ALL, ["few", "few"]),
    "le": (np.less_equal, ALL, ["few", "few"]),
    "gt": (np.greater, ALL, ["few", "few"]),
    "ge": (np.greater_equal, ALL, ["few", "few"]),
    "and_": (np.bitwise_and, INT_BOOL, ["any", "any"]),
    "or_": (np.bitwise_or, INT_BOOL, ["any", "any"]),
    "xor": (np.bitwise_xor, INT_BOOL, ["any", "any"]),
    "invert": (np.invert, INT_BOOL, ["any"]),
    "switch": (lambda c, a, b: np.where(c.astype(bool), a, b), ALL, ["few", "any", "any"]),
    "isnan": (np.isnan, ALL, ["special"]),
    "isinf": (np.isinf, ALL, ["special"]),
}

LAYOUTS = ["contiguous", "broadcast", "empty", "transposed", "negative_stride", "scalar"]


def values(rng, dtype, shape, kind):
    dt = np.dtype(dtype)
    if dt == np.bool_:
        return np.asarray(rng.random(shape) < 0.5)
    if dt.kind == "f":
        x = rng.standard_normal(shape) * 3
        if kind == "pos" or kind == "base":
            x = np.abs(x) + 0.1
        elif kind == "divisor":
            x = np.copysign(np.abs(x) + 0.5, x)
        elif kind == "exponent":
            x = x / 3
        elif kind == "halves":  # ties for round-half-to-even
            x = np.round(x * 2) / 2
        elif kind == "few":  # repeats, so that equality happens
            x = rng.integers(-2, 3, shape).astype(dt)
        elif kind == "special":
            x = rng.choice(np.array([0.0, 1.5, -np.inf, np.inf, np.nan]), shape)
        return np.asarray(x.astype(dt))
    lo, hi = (0, 40) if dt == np.uint8 else (-30, 30)
    if kind == "pos":
        lo, hi = 1, 30
    elif kind == "base":
        lo, hi = (0, 6) if dt == np.uint8 else (-5, 6)
    elif kind == "exponent":
        lo, hi = 0, 5
    elif kind == "few":
        lo, hi = (0, 3) if dt == np.uint8 else (-2, 3)
    return np.asarray(rng.integers(lo, hi, shape).astype(dt))


def layout_inputs(rng, layout, dtypes, kinds):
    """Arrays for one op call in the given memory layout."""
    out = []
    for i, (dt, kind) in enumerate(zip(dtypes, kinds)):
        if layout == "contiguous":
            a = values(rng, dt, (3, 4), kind)
        elif layout == "broadcast":
            a = values(rng, dt, [(3, 1), (4,), (1, 4)][i % 3] if len(dtypes) > 1 else (1, 4),
                       kind)
        elif layout == "empty":
            a = values(rng, dt, [(0, 4), (4,), (1, 4)][i % 3], kind)
        elif layout == "transposed":
            a = values(rng, dt, (4, 3), kind).T
        elif layout == "negative_stride":
            a = values(rng, dt, (3, 8), kind)[:, ::-2]
        else:  # scalar: a 0-d input meeting a 2-d one
            a = values(rng, dt, () if i == 0 else (2, 3), kind)
        out.append(a)
    return out


def symbolic(a):
    """An input for array a: dims of size 1 known (broadcastable), others unknown."""
    return T.tensor(str(a.dtype), shape=tuple(1 if d == 1 else None for d in a.shape))


def common_dtype(name, dtypes):
    return np.result_type(*(dtypes[1:] if name == "switch" else dtypes))


def expected_dtype(name, dtypes):
    c = common_dtype(name, dtypes)
    if name in BOOL_RESULT:
        return np.dtype(bool)
    if name in FLOAT_RULE:
        if c.kind == "f":
            return c
        return np.dtype("float32" if c in (np.bool_, np.int8, np.uint8, np.int16) else "float64")
    if name in BOOL_AS_INT8 and c == np.bool_:
        return np.dtype("int8")
    return c


def reference(name, arrays):
    dtypes = [a.dtype for a in arrays]
    operand = common_dtype(name, dtypes) if name in BOOL_RESULT else expected_dtype(name, dtypes)
    fn = OPS[name][0]
    with np.errstate(all="ignore"):
        if name == "switch":
            return fn(arrays[0], arrays[1].astype(operand), arrays[2].astype(operand))
        return np.asarray(fn(*[a.astype(operand) for a in arrays]))


def assert_matches(res, ref, dtype):
    dtype = np.dtype(dtype)
    assert res.dtype == dtype, (res.dtype, dtype)
    assert res.shape == ref.shape, (res.shape, ref.shape)
    with np.errstate(all="ignore"):
        ref = ref.astype(dtype)
    if dtype.kind == "f":
        tol = 2e-6 if dtype == np.float32 else 1e-13
        np.testing.assert_allclose(res, ref, rtol=tol, atol=tol)
    else:
        np.testing.assert_array_equal(res, ref)


def run(inputs, outputs, *args):
    return theanine.function(inputs, outputs)(*args)


CASES = [(name, dt) for name, (_, dts, _) in OPS.items() for dt in dts]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name,dtype", CASES)
def test_op_matches_numpy(name, dtype, layout):
    rng = np.random.default_rng(zlib.crc32(f"{name}/{dtype}/{layout}".encode()))
    kinds = OPS[name][2]
    dtypes = [dtype] * len(kinds)
    if name == "switch":
        dtypes[0] = "bool" if dtype == "float64" else dtype
    arrays = layout_inputs(rng, layout, dtypes, kinds)
    syms = [symbolic(a) for a in arrays]
    res = run(syms, getattr(T, name)(*syms), *arrays)
    assert_matches(res, reference(name, arrays), expected_dtype(name, dtypes))


MIXED = [("int8", "uint8"), ("int8", "int16"), ("bool", "int8"), ("int32", "float32"),
         ("float32", "float64"), ("uint8", "float32"), ("bool", "float64")]


@pytest.mark.parametrize("name", ["add", "mul", "maximum", "true_div", "lt", "pow", "mod"])
@pytest.mark.parametrize("da,db", MIXED)
def test_mixed_dtypes_promote_like_numpy(name, da, db):
    rng = np.random.default_rng(7)
    kinds = OPS[name][2]
    a = values(rng, da, (2, 3), kinds[0])
    b = values(rng, db, (3,), kinds[1])[::-1]
    x, y = symbolic(a), symbolic(b)
    res = run([x, y], getattr(T, name)(x, y), a, b)
    want = expected_dtype(name, [a.dtype, b.dtype])
    if name not in FLOAT_RULE | BOOL_AS_INT8:
        assert want == np.result_type(a, b) or name in BOOL_RESULT
    assert_matches(res, reference(name, [a, b]), want)


CASTS = [(s, d) for s in ALL for d in ALL + ["int16", "int64"] if s != d]


@pytest.mark.parametrize("src,dst", CASTS)
def test_cast_matches_astype(src, dst):
    rng = np.random.default_rng(3)
    a = values(rng, src, (4, 5), "any")
    if np.dtype(dst) == np.uint8:
        a = np.abs(a)
    a = a.T  # non-contiguous
    x = symbolic(a)
    y = T.cast(x, dst)
    assert y.dtype == dst
    res = run([x], y, a)
    assert res.dtype == np.dtype(dst)
    np.testing.assert_array_equal(res, a.astype(dst))
    assert _core.cast(x, np.dtype(dst)).dtype == dst


def test_cast_to_same_dtype_is_identity():
    x = T.matrix(dtype="float32")
    assert T.cast(x, "float32") is x


@pytest.mark.parametrize("dtype", FLOATS)
def test_sigmoid_softplus_stable_at_extremes(dtype):
    a = np.array([-1000, -100, -30, -1e-8, 0, 1e-8, 30, 100, 1000], dtype=dtype)
    x = T.vector(dtype=dtype)
    s, p = run([x], [T.sigmoid(x), T.softplus(x)], a)
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(p))
    assert s[0] == 0 and s[-1] == 1 and p[0] == 0 and p[-1] == 1000
    tol = 2e-6 if dtype == "float32" else 1e-14
    np.testing.assert_allclose(s, _sigmoid(a).astype(dtype), rtol=tol, atol=0)
    np.testing.assert_allclose(p, _softplus(a).astype(dtype), rtol=tol, atol=0)
    assert p[2] == pytest.approx(9.357622968840175e-14, rel=tol)  # log1p(exp(-30))


@pytest.mark.parametrize("dtype", ["int32", "int8", "uint8", "int64"])
def test_integer_division_and_mod_by_zero_give_zero(dtype):
    a = np.array([7, 0, 5, 100], dtype=dtype)
    b = np.array([0, 0, 2, 0], dtype=dtype)
    x, y = T.vector(dtype=dtype), T.vector(dtype=dtype)
    q, r = run([x, y], [x // y, x % y], a, b)
    np.testing.assert_array_equal(q, [0, 0, 2, 0])
    np.testing.assert_array_equal(r, [0, 0, 1, 0])
    assert q.dtype == dtype and r.dtype == dtype


def test_signed_floor_division_and_mod_follow_python():
    a = np.array([7, -7, 7, -7, -128], dtype="int8")
    b = np.array([2, 2, -2, -2, -1], dtype="int8")
    x, y = T.bvector(), T.bvector()
    q, r = run([x, y], [x // y, x % y], a, b)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(q, a // b)
        np.testing.assert_array_equal(r, a % b)


def test_float_division_by_zero_matches_numpy():
    a = np.array([1.0, -1.0, 0.0, 2.5], dtype="float64")
    b = np.zeros(4)
    x, y = T.dvector(), T.dvector()
    outs = run([x, y], [x / y, x // y, x % y], a, b)
    with np.errstate(all="ignore"):
        for got, want in zip(outs, [a / b, a // b, a % b]):
            np.testing.assert_array_equal(got, want)


def test_integer_pow_negative_exponent_raises_at_call_time():
    x, y = T.ivector(), T.ivector()
    f = theanine.function([x, y], x ** y)  # fine at build time: values unknown
    np.testing.assert_array_equal(f(np.array([2, 3], "int32"), np.array([3, 0], "int32")),
                                  [8, 1])
    with pytest.raises(ValueError, match="Integers to negative integer powers"):
        f(np.array([2, 3], "int32"), np.array([1, -1], "int32"))


def test_integer_overflow_wraps_like_numpy():
    a = np.array([127, -128, 100], dtype="int8")
    x = T.bvector()
    outs = run([x], [x + x, -x, abs(x), x * x, T.sqr(x)], a)
    with np.errstate(all="ignore"):
        for got, want in zip(outs, [a + a, -a, np.abs(a), a * a, np.square(a)]):
            assert got.dtype == np.int8
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("op", ["and_", "or_", "xor"])
@pytest.mark.parametrize("dtype", FLOATS)
def test_bitwise_on_floats_is_type_error(op, dtype):
    x = T.vector(dtype=dtype)
    with pytest.raises(TypeError, match=f"{op}.*{dtype}"):
        getattr(T, op)(x, x)
    with pytest.raises(TypeError, match="integer or bool"):
        getattr(T, op)(T.ivector(), 1.5)  # the float literal makes it float64


def test_bitwise_operators_on_floats_are_type_errors():
    x = T.fvector()
    for build in (lambda: x & x, lambda: x | x, lambda: x ^ x, lambda: ~x):
        with pytest.raises(TypeError, match="float32"):
            build()


def test_bool_subtract_and_negate_are_type_errors():
    b = T.tensor("bool", shape=(None,))
    with pytest.raises(TypeError, match="bool"):
        b - b
    with pytest.raises(TypeError, match="bool"):
        -b
    with pytest.raises(TypeError, match="bool"):
        T.sgn(b)


def test_weak_python_literals_follow_nep50():
    xf, xi, xb = T.fvector(), T.ivector(), T.tensor("bool", shape=(None,))
    assert (xf * 2.0).dtype == "float32"
    assert (2.0 * xf).dtype == "float32"
    assert (xi * 2.0).dtype == "float64"
    assert (xi + 1).dtype == "int32"
    assert (xb + 1).dtype == "int64"
    assert (xb + True).dtype == "bool"
    assert (xf < 1).dtype == "bool"
    a = np.array([1.5, -2.25, 3.0], dtype="float32")
    res = run([xf], [xf * 0.1, 1 - xf, xf ** 2], a)
    for got, want in zip(res, [a * 0.1, 1 - a, a ** 2]):
        assert got.dtype == want.dtype == np.float32
        np.testing.assert_array_equal(got, want)  # NumPy computes in float32 too


def test_out_of_range_integer_literal_is_value_error():
    x = T.bvector()
    with pytest.raises(ValueError, match="1000.*int8"):
        x + 1000
    with pytest.raises(ValueError, match="uint8"):
        T.vector(dtype="uint8") * -1
    assert (x < 1000).dtype == "bool"  # comparisons see the exact value
    np.testing.assert_array_equal(run([x], x < 1000, np.array([1, -5], "int8")), [True, True])


def test_static_shape_mismatch_is_shape_error_naming_the_line():
    x = T.matrix("x", shape=(3, 4))
    y = T.vector("y", shape=(5,))
    with pytest.raises(ValueError) as info:
        x + y
    msg = str(info.value)
    assert isinstance(info.value, theanine.ShapeError)
    for part in ("Elemwise{add}", "(3, 4)", "(5,)", "'x'", "'y'", "test_elemwise.py"):
        assert part in msg, msg


def test_runtime_shape_mismatch_is_shape_error():
    x, y = T.dmatrix("x"), T.dvector("y")
    f = theanine.function([x, y], x * y)
    assert f(np.ones((3, 4)), np.ones(1)).shape == (3, 4)
    with pytest.raises(theanine.ShapeError) as info:
        f(np.ones((3, 4)), np.ones(5))
    msg = str(info.value)
    for part in ("Elemwise{mul}", "(3, 4)", "(5,)", "'y'"):
        assert part in msg, msg


def test_nan_propagates_through_maximum_minimum_and_clip():
    a = np.array([np.nan, 1.0, 5.0, -np.inf])
    b = np.array([0.0, np.nan, 2.0, 0.0])
    x, y = T.dvector(), T.dvector()
    outs = run([x, y], [T.maximum(x, y), T.minimum(x, y), T.clip(x, 0.0, 3.0),
                        T.isnan(x), T.isinf(x)], a, b)
    wants = [np.maximum(a, b), np.minimum(a, b), np.clip(a, 0.0, 3.0), np.isnan(a),
             np.isinf(a)]
    for got, want in zip(outs, wants):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", FLOATS)
def test_round_is_half_to_even(dtype):
    a = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999, 3.5], dtype=dtype)
    x = T.vector(dtype=dtype)
    np.testing.assert_array_equal(run([x], T.round(x), a), np.round(a))


def test_switch_where_and_broadcast_condition():
    c = np.array([[True], [False]])
    a = np.arange(6, dtype="int32").reshape(2, 3)
    b = np.float32(-1.0)
    xc, xa = T.tensor("bool", shape=(None, 1)), T.imatrix()
    xb = T.fscalar()
    for fn in (T.switch, T.where):
        res = run([xc, xa, xb], fn(xc, xa, xb), c, a, np.asarray(b))
        want = np.where(c, a, b)
        assert res.dtype == want.dtype == np.float64
        np.testing.assert_array_equal(res, want)
    # A float condition reads as bool: 0.5 is true, NaN is true.
    fc = T.dvector()
    res = run([fc], T.switch(fc, 1, 0), np.array([0.5, 0.0, np.nan]))
    np.testing.assert_array_equal(res, [1, 0, 1])


def test_python_operators_match_numpy():
    a = values(np.random.default_rng(1), "int32", (3, 4), "any")
    b = values(np.random.default_rng(2), "int32", (4,), "divisor")
    x, y = T.imatrix(), T.ivector()
    exprs = [x + y, x - y, x * y, x / y, x // y, x % y, x ** 2, -x, abs(x), x < y, x <= y,
             x > y, x >= y, x & y, x | y, x ^ y, ~x, 3 - x, 2 * x, 7 // y, 7 % y]
    with np.errstate(all="ignore"):
        wants = [a + b, a - b, a * b, a / b, a // b, a % b, a ** 2, -a, abs(a), a < b,
                 a <= b, a > b, a >= b, a & b, a | b, a ^ b, ~a, 3 - a, 2 * a, 7 // b, 7 % b]
    for got, want in zip(run([x, y], exprs, a, b), wants):
        assert got.dtype == want.dtype
        if want.dtype.kind == "f":
            np.testing.assert_allclose(got, want, rtol=1e-15)
        else:
            np.testing.assert_array_equal(got, want)


def test_generic_elemwise_by_name():
    x = T.dvector()
    a = np.array([0.25, -1.0])
    np.testing.assert_allclose(run([x], _core.elemwise("tanh", [x]), a), np.tanh(a))
    np.testing.assert_allclose(run([x], _core.elemwise("clip", [x, 0, 0.1]), a),
                               np.clip(a, 0, 0.1))
    with pytest.raises(ValueError, match="tanhh"):
        _core.elemwise("tanhh", [x])
    with pytest.raises(ValueError, match="2 inputs, got 1"):
        _core.elemwise("add", [x])
    with pytest.raises(ValueError, match="dtype"):
        _core.elemwise("cast", [x])
    assert "softplus" in _core.scalar_op_names()


def test_node_records_user_line_and_op_name():
    x = T.dvector()
    y = T.exp(x) + 1
    line = __import__("inspect").currentframe().f_lineno - 1
    assert y.op_name == "Elemwise{add}"
    assert y.location.endswith(f"test_elemwise.py:{line}")
    assert T.cast(x, "int8").op_name == "Elemwise{cast{int8}}"
