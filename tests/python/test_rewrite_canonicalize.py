"""The canonicalize rules seen through theanine.function: each rule fires
(f.rewrite_stats), leaves the graph it promises (f.debugprint()), and the default
mode computes what NO_OPTIMIZATION computes, dtype and shape included, on random
inputs with broadcast dims."""
import numpy as np
import pytest

import theanine
import theanine.tensor as T
from helpers import check_rewrites as check
from helpers import compile_both, random_values, tensor


def values_for(rng, inputs, shapes):
    return [random_values(rng, s, v.dtype) for v, s in zip(inputs, shapes)]


# ---- neutral and absorbing elements ---------------------------------------------------

NEUTRAL = [
    ("mul_one", lambda x: x * 1, "Elemwise{mul}"),
    ("mul_one", lambda x: 1 * x, "Elemwise{mul}"),
    ("add_zero", lambda x: x + 0, "Elemwise{add}"),
    ("add_zero", lambda x: 0 + x, "Elemwise{add}"),
    ("sub_zero", lambda x: x - 0, "Elemwise{sub}"),
    ("pow_one", lambda x: x ** 1, "Elemwise{pow}"),
]


@pytest.mark.parametrize("rule,build,op", NEUTRAL)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int8", "int64"])
@pytest.mark.parametrize("shape", [(3, 4), (1, 4), (3, 1)])
def test_neutral_elements(rule, build, op, dtype, shape):
    rng = np.random.default_rng(0)
    x = tensor(dtype, 2)
    f = check([x], build(x), values_for(rng, [x], [shape]), fired=[rule], absent=[op])
    assert f.rewrite_stats[rule] == 1


def test_division_by_one_gives_the_float_of_the_operand():
    rng = np.random.default_rng(1)
    x, i = tensor("float32", 1, "x"), tensor("int32", 1, "i")
    check([x, i], [x / 1, i / 1, i // 1], values_for(rng, [x, i], [(5,), (5,)]),
          fired=["div_one"], absent=["true_div", "int_div"])
    # float // 1 is floor, which stays.
    f = check([x], x // 1, values_for(rng, [x], [(5,)]))
    assert "int_div" in f.debugprint()


def test_neutral_constant_that_adds_dims_keeps_the_broadcast():
    x = tensor("float64", 1)
    f = check([x], x * np.ones((3, 4)), [np.arange(4.0)])
    assert "mul_one" not in f.rewrite_stats
    assert f(np.arange(4.0)).shape == (3, 4)


def test_strong_float64_one_upcasts_float32():
    x = tensor("float32", 1)
    f = check([x], x * T.constant(1.0, dtype="float64"), [np.arange(3, dtype="float32")],
              fired=["mul_one"])
    assert f(np.arange(3, dtype="float32")).dtype == np.float64


@pytest.mark.parametrize("dtype", ["int8", "int32", "int64", "bool"])
def test_mul_by_zero_for_integers(dtype):
    rng = np.random.default_rng(2)
    x = tensor(dtype, 2)
    check([x], [x * 0, 0 * x], values_for(rng, [x], [(3, 1)]), fired=["mul_zero"],
          absent=["Elemwise{mul}"])


def test_mul_by_zero_stays_for_floats():
    x = tensor("float64", 1)
    f = check([x], x * 0, [np.array([1.0, np.inf, np.nan, -2.0])])
    assert "mul_zero" not in f.rewrite_stats
    assert np.isnan(f(np.array([np.inf]))[0])


@pytest.mark.parametrize("dtype", ["float32", "float64", "int16", "bool"])
def test_pow_zero_is_one_even_for_nan(dtype):
    x = tensor(dtype, 2)
    v = np.array([[np.nan, np.inf], [0, -3]]).astype(dtype) if dtype[0] == "f" else \
        random_values(np.random.default_rng(3), (2, 2), dtype)
    f = check([x], x ** 0, [v], fired=["pow_zero"], absent=["Elemwise{pow}"])
    assert (f(v) == 1).all()


def test_sub_self_for_integers_only():
    i, x = tensor("int32", 2, "i"), tensor("float64", 1, "x")
    rng = np.random.default_rng(4)
    check([i], i - i, values_for(rng, [i], [(2, 3)]), fired=["sub_self"], absent=["sub"])
    f = check([x], x - x, [np.array([1.0, np.inf])])
    assert "sub_self" not in f.rewrite_stats


# ---- negations -----------------------------------------------------------------------------

def test_negation_rules():
    rng = np.random.default_rng(5)
    a, b = tensor("float32", 2, "a"), tensor("float32", 1, "b")
    vals = values_for(rng, [a, b], [(3, 1), (4,)])
    check([a, b], -(-a) * b, vals, fired=["neg_neg"], absent=["neg"])
    check([a, b], [a + (-b), (-b) + a], vals, fired=["add_neg"], absent=["neg"])
    check([a, b], a - (-b), vals, fired=["sub_neg"], absent=["neg"])
    check([a], -(3 * a), vals[:1], fired=["neg_mul_constant"], absent=["neg"])
    check([a], a * -1, vals[:1], fired=["mul_neg_one"])


def test_integer_negation_that_wraps_in_a_narrower_dtype_stays():
    i, u = tensor("int16", 1, "i"), tensor("uint8", 1, "u")
    vals = [np.array([1, 2, 3], dtype="int16"), np.array([5, 0, 255], dtype="uint8")]
    f = check([i, u], [i + (-u), i - (-u)], vals)
    assert "add_neg" not in f.rewrite_stats and "sub_neg" not in f.rewrite_stats


def test_negated_product_with_another_use_stays():
    a = tensor("float64", 1)
    p = a * 3
    f = check([a], [-p, p], [np.arange(3.0)])
    assert "neg_mul_constant" not in f.rewrite_stats


# ---- constants ---------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64", "int16", "int64"])
def test_add_and_mul_chains_collect_their_constants(dtype):
    rng = np.random.default_rng(6)
    a = tensor(dtype, 2)
    vals = values_for(rng, [a], [(2, 1)])
    f = check([a], [a + 1 + 2 + 3, ((a * 2) * 3) * 4], vals, fired=["collect_constants"])
    assert f.rewrite_stats["collect_constants"] == 4
    graph = f.debugprint()
    assert "6" in graph and "24" in graph


def test_collected_int8_constants_wrap_like_the_graph():
    a = tensor("int8", 1)
    v = np.array([-128, -1, 0, 27, 127], dtype="int8")
    check([a], (a + 100) + 100, [v], fired=["collect_constants"])


def test_collected_constant_arrays_keep_their_broadcast():
    a = tensor("float64", 2)
    c1, c2 = np.arange(3.0), np.full((2, 1), 10.0)
    f = check([a], (a + c1) + c2, [np.ones((1, 1))], fired=["collect_constants"])
    assert f(np.ones((1, 1))).shape == (2, 3)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "uint8"])
def test_division_by_a_constant_multiplies(dtype):
    rng = np.random.default_rng(7)
    x = tensor(dtype, 2)
    check([x], [x / 4, (x / 2) / 5, x / np.array([1.0, 3.0, -8.0])],
          values_for(rng, [x], [(2, 3)]), fired=["div_to_mul"], absent=["true_div"])


def test_division_by_zero_or_tiny_constants_stays():
    x = tensor("float64", 1)
    v = np.array([0.0, 1.0, -2.0, np.inf])
    f = check([x], [x / 0, x / 1e-310, x / 1e300], [v])
    assert f.rewrite_stats.get("div_to_mul", 0) == 1  # only 1e300 (reciprocal 1e-300)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int8", "bool"])
def test_small_integer_powers_become_multiplications(dtype):
    rng = np.random.default_rng(8)
    x = tensor(dtype, 2)
    check([x], [x ** 2, x ** 3], values_for(rng, [x], [(3, 1)]), fired=["pow_to_mul"],
          absent=["Elemwise{pow}"])


def test_reciprocal_power_for_floats_and_no_sqrt():
    x = tensor("float64", 1)
    v = np.array([0.0, 0.25, 2.0, 9.0, -1.0, -np.inf])
    check([x], [x ** -1], [v], fired=["pow_to_mul"], absent=["Elemwise{pow}"])
    # x ** 0.5 stays a power: at -inf it is inf, where sqrt would give NaN.
    check([x], [x ** 0.5], [v])


def test_integer_powers_wrap_and_keep_errors():
    i = tensor("int32", 1)
    v = np.array([100000, -3, 46341], dtype="int32")
    check([i], [i ** 2, i ** 3, i ** 2.0], [v], fired=["pow_to_mul"])
    f, g = compile_both([i], i ** -1)
    for fn in (f, g):
        with pytest.raises(ValueError, match="negative integer powers"):
            fn(v)


# ---- casts ---------------------------------------------------------------------------

def test_casts_through_a_lossless_dtype_collapse():
    i, x = tensor("int8", 1, "i"), tensor("float64", 1, "x")
    iv = np.array([-128, 5, 127], dtype="int8")
    xv = np.array([1 + 1e-12, 3.5, -2.0])
    f = check([i], i.astype("int32").astype("float64"), [iv], fired=["cast_cast"])
    assert f.debugprint().count("cast") == 1
    f = check([x], x.astype("float32").astype("float64"), [xv])
    assert "cast_cast" not in f.rewrite_stats


# ---- views and shapes -------------------------------------------------------------------

def test_dimshuffle_and_transpose_chains_collapse():
    rng = np.random.default_rng(9)
    x = T.tensor("float32", shape=(None, 1, None), name="x")
    vals = values_for(rng, [x], [(2, 1, 3)])
    check([x], x.T.T + 1, vals, fired=["dimshuffle_dimshuffle"], absent=["DimShuffle"])
    check([x], x.dimshuffle(0, 2).dimshuffle(1, "x", 0) * 2, vals,
          fired=["dimshuffle_dimshuffle"])


def test_reshape_chains_collapse_but_keep_their_errors():
    rng = np.random.default_rng(10)
    x = tensor("float64", 2)
    vals = values_for(rng, [x], [(3, 4)])
    f = check([x], x.reshape((-1,)).reshape((2, -1)) * 2, vals, fired=["reshape_reshape"])
    assert f.debugprint().count("Reshape") == 1
    f, g = compile_both([x], x.reshape((5, -1)).reshape((-1,)))
    for fn in (f, g):
        with pytest.raises(ValueError, match="cannot reshape"):
            fn(vals[0])


def test_reshape_to_the_own_shape_goes():
    rng = np.random.default_rng(11)
    x = T.tensor("float32", shape=(None, 4), name="x")
    vals = values_for(rng, [x], [(3, 4)])
    check([x], [x.reshape(x.shape) * 2, x.reshape((-1, 4)) + 1, x.flatten(2) - 1], vals,
          fired=["useless_reshape"], absent=["Reshape", "Flatten"])


def test_known_shapes_become_constants():
    x = T.tensor("float32", shape=(None, 4), name="x")
    v = np.zeros((3, 4), dtype="float32")
    f = check([x], [x.shape[1] * 2, x.shape[0] + 0, x.shape], [v],
              fired=["shape_known_dims", "subtensor_make_vector"])
    assert f(v)[0] == 8
    y = tensor("float32", 2, "y")
    check([y], y.shape[-1], [v], fired=["shape_subtensor"], absent=["Subtensor"])
    k = T.tensor("float32", shape=(3, 4), name="k")
    check([k], T.shape_i(k, 0) * 2, [v], fired=["shape_i_constant"], absent=["Shape_i"])


def test_useless_subtensors_go():
    x = T.tensor("float64", shape=(3, None), name="x")
    v = np.arange(15.0).reshape(3, 5)
    check([x], [x[:] + 1, x[0:3] * 2, x[::1, :] - 1, x[0:100]], [v],
          fired=["useless_subtensor"], absent=["Subtensor"])
    f = check([x], x[:, 0:4] + 1, [v])
    assert "Subtensor" in f.debugprint()


def test_useless_alloc_goes_but_a_broadcasting_one_stays():
    x = T.tensor("float32", shape=(None, 4), name="x")
    v = T.tensor("float32", shape=(None,), name="v")
    xv = np.ones((2, 4), dtype="float32")
    check([x], T.alloc(x, x.shape[0], 4) * 2, [xv], fired=["useless_alloc"],
          absent=["Alloc"])
    f = check([v], T.alloc(v, 5), [np.ones(1, dtype="float32")])
    assert f(np.ones(1, dtype="float32")).shape == (5,)


def test_fill_of_a_shape_the_operands_have_goes():
    m = T.tensor("float64", shape=(3, 4), name="m")
    y = T.tensor("float64", shape=(3, 4), name="y")
    z = T.tensor("float64", shape=(None, 4), name="z")
    rng = np.random.default_rng(12)
    vals = values_for(rng, [m, y], [(3, 4), (3, 4)])
    check([m, y], [T.fill(m, 2.0) * y, T.fill(m, y) + 1], vals,
          fired=["fill_sink", "useless_fill"], absent=["Fill"])
    # z's first dim is unknown: the fill's 3 checks it, so the fill stays.
    f = check([m, z], T.fill(m, 2.0) * z, vals)
    assert "Fill" in f.debugprint()
    f2, _ = compile_both([m, z], T.fill(m, 2.0) * z)
    with pytest.raises(ValueError):
        f2(vals[0], np.ones((5, 4)))


def test_gradient_allocs_sink_and_useless_sum_tos_go():
    rng = np.random.default_rng(15)
    w = tensor("float32", 2, "w")
    c = tensor("float32", 1, "c")
    vals = values_for(rng, [w, c], [(3, 4), (4,)])
    check([w], T.grad(1e-4 * (w ** 2).sum(), w), vals[:1],
          fired=["alloc_lift", "alloc_sink", "useless_sum_to"],
          absent=["Alloc", "SumTo", "Shape_i"])
    # c may broadcast along w's rows: the alloc of the rows and c's sum stay.
    cost = (T.exp(w) * c).sum()
    f = check([w, c], T.grad(cost, [w, c]), vals)
    assert "Alloc" in f.debugprint() and "SumTo" in f.debugprint()


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "max", "min", "all", "any"])
@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_reductions_over_no_axes(reduce, dtype):
    rng = np.random.default_rng(13)
    x = tensor(dtype, 2)
    out = getattr(T, reduce)(x, axis=())
    check([x], out, values_for(rng, [x], [(2, 3)]), fired=["reduce_no_axes"])


# ---- the phase on a realistic graph -----------------------------------------------

def test_gradient_graph_agrees_after_canonicalize():
    rng = np.random.default_rng(14)
    x = T.matrix("x")
    w = theanine.shared(rng.standard_normal((3, 2)).astype("float32"), name="w")
    cost = ((T.tanh(T.dot(x, w)) - 1) ** 2).sum() / 4 + (w ** 2).sum() * 0.5
    gw = T.grad(cost, w)
    xv = rng.standard_normal((5, 3)).astype("float32")
    f = check([x], [cost, gw], [xv], fired=["pow_to_mul"])
    assert f.rewrite_stats.get("div_to_mul", 0) >= 1
