"""Shape ops against NumPy: reshape, flatten, dimshuffle/transpose, shape, make_vector,
join/stack, arange, alloc/zeros/ones/fill, repeat and tile, on random data including
size-0 and size-1 dims and non-contiguous inputs."""
import functools

import numpy as np
import pytest

import theanine
import theanine.tensor as T
from theanine import _core
from helpers import fn, random_values, tensor

rng = np.random.default_rng(1234)
data = functools.partial(random_values, rng)


def layouts(a):
    """a itself, plus non-contiguous arrays equal to it (transposed, reversed, strided)."""
    out = [a]
    if a.ndim >= 2:
        out.append(np.ascontiguousarray(a.T).T)
    if a.ndim >= 1 and a.shape[-1] > 0:
        out.append(np.ascontiguousarray(a[..., ::-1])[..., ::-1])
        big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
        big[..., ::2] = a
        out.append(big[..., ::2])
    return out


SHAPES = [(2, 3, 4), (0, 3, 2), (1, 5, 1), (3, 1, 0)]


# ---- reshape / flatten ------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("newshape_fn", [
    lambda s: (int(np.prod(s)),),
    lambda s: (s[0], -1),
    lambda s: (-1, s[2]),
    lambda s: (s[2], s[1], s[0]),
    lambda s: (1, s[0], 1, s[1] * s[2]),
])
def test_reshape_matches_numpy(shape, newshape_fn):
    newshape = newshape_fn(shape)
    x = tensor("float64", 3)
    f = fn([x], T.reshape(x, newshape))
    if -1 in newshape and 0 in newshape:  # ambiguous: NumPy refuses, so do we
        with pytest.raises(ValueError):
            np.zeros(shape).reshape(newshape)
        with pytest.raises(theanine.ShapeError, match="cannot reshape"):
            f(data(shape))
        return
    for a in layouts(data(shape)):
        np.testing.assert_array_equal(f(a), a.reshape(newshape))


def test_reshape_static_shape_and_symbolic_entries():
    x = T.tensor("float64", shape=(2, 6), name="x")
    assert x.reshape((3, -1)).static_shape == (3, 4)
    n = T.lscalar("n")
    y = x.reshape((n, -1))
    assert y.ndim == 2
    a = data((2, 6))
    np.testing.assert_array_equal(fn([x, n], y)(a, 4), a.reshape(4, -1))
    # A symbolic shape vector: x.reshape(other.shape)
    m = tensor("float64", 2, "m")
    z = T.reshape(m, T.shape(T.transpose(m)), ndim=2)
    b = data((3, 5))
    np.testing.assert_array_equal(fn([m], z)(b), b.reshape(5, 3))


def test_reshape_size_mismatch_is_shape_error():
    x = T.tensor("float64", shape=(2, 3), name="x")
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 2\)"):
        x.reshape((4, 2))
    y = tensor("float64", 2)
    f = fn([y], y.reshape((5, -1)))
    with pytest.raises(theanine.ShapeError, match=r"\(2, 3\).*\(5, -1\)"):
        f(data((2, 3)))
    with pytest.raises(ValueError, match="one unknown"):
        y.reshape((-1, -1))


@pytest.mark.parametrize("shape", SHAPES + [(4,), ()])
@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_flatten_matches_numpy(shape, ndim):
    if ndim > max(len(shape), 1):
        with pytest.raises(ValueError, match="outdim"):
            T.flatten(tensor("float64", len(shape)), ndim)
        return
    x = tensor("float64", len(shape))
    f = fn([x], T.flatten(x, ndim))
    for a in layouts(data(shape)):
        expect = a.reshape(a.shape[:ndim - 1] + (int(np.prod(a.shape[ndim - 1:])),))
        np.testing.assert_array_equal(f(a), expect)


# ---- dimshuffle / transpose / shape ------------------------------------------------------


@pytest.mark.parametrize("pattern", [(1, 0), ("x", 0, 1), (1, "x", 0, "x"), (0, 1)])
@pytest.mark.parametrize("shape", [(3, 4), (0, 4), (1, 1)])
def test_dimshuffle_matches_numpy(pattern, shape):
    x = tensor("float64", 2)
    f = fn([x], x.dimshuffle(pattern))
    for a in layouts(data(shape)):
        kept = [p for p in pattern if p != "x"]
        expect = a.transpose(kept)
        for i, p in enumerate(pattern):
            if p == "x":
                expect = np.expand_dims(expect, i)
        np.testing.assert_array_equal(f(a), expect)


def test_dimshuffle_drops_only_broadcastable_dims():
    x = T.tensor("float64", shape=(None, 1, None), name="x")
    a = data((3, 1, 2))
    np.testing.assert_array_equal(fn([x], x.dimshuffle(2, 0))(a), a[:, 0, :].T)
    y = tensor("float64", 3)
    with pytest.raises(TypeError, match="cannot drop dim 1"):
        y.dimshuffle(2, 0)
    with pytest.raises(ValueError, match="more than once"):
        y.dimshuffle(0, 0, 1)


@pytest.mark.parametrize("axes", [None, (1, 2, 0), (-1, 0, 1), (0, 1, 2)])
@pytest.mark.parametrize("shape", SHAPES)
def test_transpose_matches_numpy(axes, shape):
    x = tensor("float64", 3)
    f = fn([x], T.transpose(x, axes))
    for a in layouts(data(shape)):
        np.testing.assert_array_equal(f(a), np.transpose(a, axes))


def test_transpose_errors():
    x = tensor("float64", 2)
    with pytest.raises(ValueError, match="repeated axis"):
        T.transpose(x, (0, 0))
    with pytest.raises(ValueError, match="axes has 3"):
        T.transpose(x, (0, 1, 2))


def test_shape_and_shape_i():
    x = tensor("float32", 3)
    a = data((2, 0, 5), "float32")
    s, s1 = fn([x], [T.shape(x), T.shape_i(x, -1)])(a)
    assert s.dtype == np.int64 and s.tolist() == [2, 0, 5]
    assert s1 == 5 and s1.dtype == np.int64
    assert fn([x], x.shape[1])(a) == 0
    with pytest.raises(IndexError, match="axis 3"):
        T.shape_i(x, 3)


def test_make_vector():
    a, b = T.iscalar("a"), T.lscalar("b")
    v = T.make_vector([a, b, 3])
    assert v.dtype == "int64" and v.static_shape == (3,)
    np.testing.assert_array_equal(fn([a, b], v)(1, 2), [1, 2, 3])
    w = _core.make_vector([a, 2.5])
    assert w.dtype == "float64"
    np.testing.assert_array_equal(fn([a], w)(4), [4.0, 2.5])
    with pytest.raises(TypeError, match="scalar"):
        T.make_vector([tensor("int64", 1)])
    with pytest.raises(TypeError, match="float64"):
        _core.make_vector([2.5], "int32")


# ---- join / stack ---------------------------------------------------------------------


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("shapes", [[(2, 3), (2, 3)], [(0, 3), (2, 3), (1, 3)],
                                    [(3, 0), (2, 0)], [(1, 1)]])
def test_concatenate_matches_numpy(axis, shapes):
    if axis % 2 == 1:  # vary dim 1 instead of dim 0
        shapes = [s[::-1] for s in shapes]
    xs = [tensor("float64", 2, f"x{i}") for i in range(len(shapes))]
    f = fn(xs, T.concatenate(xs, axis=axis))
    vals = [data(s) for s in shapes]
    np.testing.assert_array_equal(f(*vals), np.concatenate(vals, axis=axis))
    # Non-contiguous inputs.
    vals2 = [layouts(v)[-1] for v in vals]
    np.testing.assert_array_equal(f(*vals2), np.concatenate(vals, axis=axis))


def test_join_theano_order_and_promotion():
    a = tensor("int32", 1, "a")
    b = tensor("float32", 1, "b")
    j = T.join(0, a, b)
    assert j.dtype == "float64"  # NumPy: int32 with float32 -> float64
    av, bv = data((2,), "int32"), data((3,), "float32")
    out = fn([a, b], j)(av, bv)
    np.testing.assert_allclose(out, np.concatenate([av, bv]))
    assert out.dtype == np.concatenate([av, bv]).dtype


def test_concatenate_shape_errors():
    a = T.tensor("float64", shape=(2, 3), name="a")
    b = T.tensor("float64", shape=(2, 4), name="b")
    with pytest.raises(ValueError, match=r"\(2, 4\).*\(2, 3\)"):
        T.concatenate([a, b], axis=0)
    x, y = tensor("float64", 2, "x"), tensor("float64", 2, "y")
    f = fn([x, y], T.concatenate([x, y], axis=1))
    with pytest.raises(theanine.ShapeError, match=r"\(3, 1\).*\(2, 2\)"):
        f(data((2, 2)), data((3, 1)))
    with pytest.raises(TypeError, match="same ndim"):
        T.concatenate([x, tensor("float64", 1)])


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_stack_matches_numpy(axis):
    xs = [tensor("float32", 2, f"x{i}") for i in range(3)]
    vals = [data((2, 3), "float32") for _ in range(3)]
    np.testing.assert_array_equal(fn(xs, T.stack(xs, axis=axis))(*vals),
                                  np.stack(vals, axis=axis))
    a = T.tensor("float32", shape=(2, 3), name="a")
    b = T.tensor("float32", shape=(3, 2), name="b")
    with pytest.raises(ValueError, match="same shape"):
        T.stack([a, b])


# ---- arange ----------------------------------------------------------------------------


@pytest.mark.parametrize("args", [(5,), (2, 9), (2, 9, 3), (9, 2, -3), (5, 5), (5, 2),
                                  (-3, 4, 2), (0, -7, -1), (4, 0, 1)])
def test_arange_ints(args):
    r = T.arange(*args)
    expect = np.arange(*args)
    assert r.dtype == "int64" and r.static_shape == expect.shape
    np.testing.assert_array_equal(fn([], r)(), expect)


@pytest.mark.parametrize("args", [(0.0, 1.0, 0.1), (1.0, -1.0, -0.3), (2.5,), (0, 2, 0.25),
                                  (0.5, 3), (1e-3, 1.0, 0.125)])
@pytest.mark.parametrize("dtype", [None, "float32", "float64", "int32"])
def test_arange_floats_and_dtypes(args, dtype):
    r = T.arange(*args, dtype=dtype)
    expect = np.arange(*args, dtype=dtype)
    got = fn([], r)()
    assert got.dtype == expect.dtype and got.shape == expect.shape
    np.testing.assert_allclose(got, expect, rtol=1e-6)


def test_arange_symbolic():
    start, stop, step = T.lscalar("start"), T.lscalar("stop"), T.lscalar("step")
    f = fn([start, stop, step], T.arange(start, stop, step))
    for a in [(0, 10, 3), (10, 0, -3), (3, 3, 1), (-5, 5, 7)]:
        np.testing.assert_array_equal(f(*a), np.arange(*a))
    with pytest.raises(ValueError, match="step cannot be zero"):
        f(0, 5, 0)
    with pytest.raises(ValueError, match="step cannot be zero"):
        T.arange(0, 5, 0)
    g = T.dscalar("g")
    np.testing.assert_allclose(fn([g], T.arange(g))(3.5), np.arange(3.5))


# ---- alloc / zeros / ones / fill -------------------------------------------------------


def test_alloc_broadcasts_value():
    v = tensor("float32", 1, "v")
    n = T.iscalar("n")
    a = T.alloc(v, n, 2, 3)
    assert a.static_shape == (None, 2, 3)
    vv = data((3,), "float32")
    np.testing.assert_array_equal(fn([v, n], a)(vv, 4), np.broadcast_to(vv, (4, 2, 3)))
    np.testing.assert_array_equal(fn([v, n], a)(vv, 0), np.zeros((0, 2, 3), "float32"))
    with pytest.raises(ValueError, match=r"\(2,\).*\(4, 2, 3\)"):
        fn([v, n], a)(data((2,), "float32"), 4)
    with pytest.raises(ValueError, match="negative dimension"):
        fn([v, n], a)(vv, -1)
    s = T.alloc(1.5, 2)
    assert s.dtype == "float64"
    np.testing.assert_array_equal(fn([], s)(), [1.5, 1.5])


@pytest.mark.parametrize("maker, ref", [(T.zeros, np.zeros), (T.ones, np.ones)])
def test_zeros_ones(maker, ref):
    n = T.iscalar("n")
    for dtype in ["float32", "int64", "bool"]:
        z = maker((n, 3), dtype)
        assert z.dtype == dtype and z.static_shape == (None, 3)
        np.testing.assert_array_equal(fn([n], z)(2), ref((2, 3), dtype))
        assert fn([n], z)(2).dtype == np.dtype(dtype)
    np.testing.assert_array_equal(fn([], maker(4, "int32"))(), ref(4, "int32"))
    # A shape vector of known length, e.g. another tensor's shape.
    x = tensor("float32", 2)
    a = data((2, 0), "float32")
    np.testing.assert_array_equal(fn([x], maker(x.shape, "float32"))(a), ref((2, 0), "float32"))
    np.testing.assert_array_equal(fn([x], T.alloc(np.float32(3), *x.shape))(a),
                                  np.full((2, 0), 3, "float32"))
    shp = T.lvector("shp")
    with pytest.raises(TypeError, match="known length"):
        maker(shp, "float32")


@pytest.mark.parametrize("like, ref", [(T.zeros_like, np.zeros_like), (T.ones_like, np.ones_like)])
def test_zeros_ones_like(like, ref):
    x = tensor("float32", 2)
    a = data((3, 0), "float32")
    out = fn([x], like(x))(a)
    assert out.dtype == np.float32 and out.shape == (3, 0)
    b = data((2, 3), "float32").T
    np.testing.assert_array_equal(fn([x], like(x, dtype="int8"))(b), ref(b, dtype="int8"))


def test_fill():
    m = tensor("int32", 2, "m")
    f = T.fill(m, 2.5)
    assert f.dtype == "float64"
    np.testing.assert_array_equal(fn([m], f)(data((2, 3), "int32")), np.full((2, 3), 2.5))
    v = tensor("float32", 1, "v")
    g = T.fill(m, v)
    assert g.dtype == "float64"  # int32 with float32
    mv, vv = data((2, 3), "int32"), data((3,), "float32")
    np.testing.assert_array_equal(fn([m, v], g)(mv, vv), np.broadcast_to(vv, (2, 3)))
    with pytest.raises(ValueError, match="do not broadcast"):
        fn([m, v], g)(mv, data((4,), "float32"))


# ---- repeat / tile ---------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(2, 3), (0, 3), (3, 1), (1, 0)])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("reps", [0, 1, 3])
def test_repeat_scalar_matches_numpy(shape, axis, reps):
    x = tensor("float64", 2)
    f = fn([x], T.repeat(x, reps, axis=axis))
    for a in layouts(data(shape)):
        np.testing.assert_array_equal(f(a), np.repeat(a, reps, axis=axis))


def test_repeat_vector_and_symbolic():
    x = tensor("int64", 2)
    a = data((3, 4), "int64")
    r = T.repeat(x, [2, 0, 1], axis=0)
    np.testing.assert_array_equal(fn([x], r)(a), np.repeat(a, [2, 0, 1], axis=0))
    reps = T.lvector("reps")
    f = fn([x, reps], T.repeat(x, reps, axis=1))
    for rv in [[1, 2, 3, 0], [4], [0, 0, 0, 0]]:
        np.testing.assert_array_equal(f(a, np.array(rv)), np.repeat(a, rv, axis=1))
    with pytest.raises(ValueError, match="3 entries"):
        f(a, np.array([1, 2, 3]))
    with pytest.raises(ValueError, match="negative"):
        f(a, np.array([1, -2, 3, 0]))
    with pytest.raises(TypeError, match="integer"):
        T.repeat(x, 1.5)
    np.testing.assert_array_equal(fn([x], x.repeat(2))(a), np.repeat(a, 2))


@pytest.mark.parametrize("reps", [2, (2, 1), (1, 3), (2, 2, 2), (0, 2), (3,)])
@pytest.mark.parametrize("shape", [(2, 3), (1, 0), (3, 1)])
def test_tile_matches_numpy(reps, shape):
    x = tensor("float32", 2)
    f = fn([x], T.tile(x, reps))
    for a in layouts(data(shape, "float32")):
        np.testing.assert_array_equal(f(a), np.tile(a, reps))


def test_tile_errors():
    x = tensor("float32", 2)
    with pytest.raises(ValueError, match="negative"):
        T.tile(x, (-1, 2))
    with pytest.raises(TypeError, match="reps must be ints"):
        T.tile(x, (T.iscalar(), 2))
