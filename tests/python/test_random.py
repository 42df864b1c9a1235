"""Random streams, random ops and dropout: a pure-Python Philox4x32-10 (checked on the
published known-answer vectors) reproducing the streams' numbers, determinism and
default updates, moments and frequencies against exact values, sizes known only at
run time, dtype rules, errors, and dropout's mask and gradient."""
import math

import numpy as np
import pytest

import theanine
import theanine.tensor as T
from theanine.sandbox.rng_mrg import MRG_RandomStreams
from theanine.tensor.nnet.dropout import dropout
from theanine.tensor.shared_randomstreams import RandomStreams

N = 100_000
M32 = 0xFFFFFFFF


def philox4x32_10(ctr, key):
    """Philox4x32-10 written from the paper (Salmon et al., SC11), for reference."""
    c0, c1, c2, c3 = ctr
    k0, k1 = key
    for r in range(10):
        if r:
            k0, k1 = (k0 + 0x9E3779B9) & M32, (k1 + 0xBB67AE85) & M32
        p0, p1 = 0xD2511F53 * c0, 0xCD9E8D57 * c2
        c0, c1, c2, c3 = (p1 >> 32) ^ c1 ^ k0, p1 & M32, (p0 >> 32) ^ c3 ^ k1, p0 & M32
    return c0, c1, c2, c3


def test_reference_philox_matches_the_known_answer_vectors():
    assert philox4x32_10((0, 0, 0, 0), (0, 0)) == (0x6627E8D5, 0xE169C58D, 0xBC57AC4C,
                                                    0x9B00DBD8)
    assert philox4x32_10((M32,) * 4, (M32,) * 2) == (0x408F276D, 0x41C83B0E, 0xA20BC7C6,
                                                      0x6D5451FD)
    assert philox4x32_10((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
                         (0xA4093822, 0x299F31D0)) == (0xD16CFE09, 0x94FDCCEB, 0x5001E420,
                                                       0x24126EA1)


def reference_uniform(seed, index, counter, n, dtype):
    """Element i of a draw: block 0 of element counter (counter + i) under the key of
    stream `index` of `seed`; float32 from the top 24 bits of word 0, float64 from 53
    bits of words 0 and 1."""
    key = int(theanine._core.random_state(seed, index)[0]) & (2 ** 64 - 1)
    out = []
    for i in range(n):
        e = counter + i
        w = philox4x32_10((0, 0, e & M32, e >> 32), (key & M32, key >> 32))
        if dtype == "float32":
            out.append((w[0] >> 8) / 2 ** 24)
        else:
            out.append(((w[0] << 21) | (w[1] >> 11)) / 2 ** 53)
    return np.array(out, dtype=dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_streams_give_the_reference_generators_numbers(dtype):
    srng = RandomStreams(seed=42)
    srng.normal((3,))  # variable 0; the uniform below is variable 1
    u = srng.uniform((2, 3), dtype=dtype)
    f = theanine.function([], u)
    np.testing.assert_array_equal(f().ravel(), reference_uniform(42, 1, 0, 6, dtype))
    np.testing.assert_array_equal(f().ravel(), reference_uniform(42, 1, 6, 6, dtype))


def test_same_seed_same_numbers_different_seed_different_numbers():
    a, b, c = RandomStreams(7), RandomStreams(7), RandomStreams(8)
    fa, fb, fc = (theanine.function([], s.normal((5,))) for s in (a, b, c))
    x1, y1, z1 = fa(), fb(), fc()
    np.testing.assert_array_equal(x1, y1)
    assert not np.array_equal(x1, z1)
    x2 = fa()
    assert not np.array_equal(x1, x2)
    np.testing.assert_array_equal(x2, fb())
    # MRG_RandomStreams is the same generator under Theano's other name.
    np.testing.assert_array_equal(theanine.function([], MRG_RandomStreams(7).normal((5,)))(), x1)


def test_no_default_updates_repeats_and_seed_restarts():
    srng = RandomStreams(3)
    u = srng.uniform((4,))
    g = theanine.function([], u, no_default_updates=True)
    first = g()
    np.testing.assert_array_equal(g(), first)
    f = theanine.function([], u)
    np.testing.assert_array_equal(f(), first)
    assert not np.array_equal(f(), first)
    srng.seed(3)
    np.testing.assert_array_equal(f(), first)
    srng.seed(4)
    assert not np.array_equal(f(), first)
    srng.seed()  # back to the stream's own seed
    np.testing.assert_array_equal(f(), first)
    (state, new_state), = srng.state_updates
    assert state.kind == "shared" and state.default_update is not None
    assert srng.updates() == srng.state_updates
    # An explicit update of the state wins over the default one.
    h = theanine.function([], u, updates=[(state, state)])
    np.testing.assert_array_equal(h(), h())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform_and_normal_moments(dtype):
    srng = RandomStreams(11)
    u = theanine.function([], srng.uniform((N,), low=-1.0, high=3.0, dtype=dtype))()
    assert u.dtype == dtype and u.min() >= -1.0 and u.max() < 3.0
    assert abs(u.mean() - 1.0) < 0.02 and abs(u.var() - 16 / 12) < 0.02
    z = theanine.function([], srng.normal((N // 2, 2), avg=[-2.0, 5.0], std=[0.5, 3.0],
                                          dtype=dtype))()
    assert z.dtype == dtype and z.shape == (N // 2, 2)
    np.testing.assert_allclose(z.mean(axis=0), [-2, 5], atol=0.05)
    np.testing.assert_allclose(z.std(axis=0), [0.5, 3], rtol=0.02)
    t = theanine.function([], MRG_RandomStreams(2).normal((N,), truncate=True, dtype=dtype))()
    assert np.abs(t).max() <= 2.0
    assert abs(t.var() - 0.7737) < 0.015  # the variance of N(0, 1) truncated at +-2


@pytest.mark.parametrize("n,p", [(1, 0.3), (20, 0.3), (1000, 0.4), (50, 0.85)])
def test_binomial_frequencies(n, p):
    b = theanine.function([], RandomStreams(13).binomial((N,), n=n, p=p))()
    assert b.dtype == np.int64 and b.min() >= 0 and b.max() <= n
    assert abs(b.mean() - n * p) < 4 * math.sqrt(n * p * (1 - p) / N)
    counts = np.bincount(b, minlength=n + 1)
    k = np.arange(n + 1)
    log_pmf = (np.vectorize(math.lgamma)(n + 1.0) - np.vectorize(math.lgamma)(k + 1.0)
               - np.vectorize(math.lgamma)(n - k + 1.0) + k * np.log(p) + (n - k) * np.log1p(-p))
    want = N * np.exp(log_pmf)
    big = want >= 50
    assert np.all(np.abs(counts[big] - want[big]) <= 5 * np.sqrt(want[big]))


def test_integers_choice_and_permutation():
    srng = RandomStreams(14)
    r = theanine.function([], srng.random_integers((N,), low=-2, high=3))()
    counts = np.bincount(r + 2)
    assert len(counts) == 6 and np.all(np.abs(counts - N / 6) < 5 * math.sqrt(N / 6))
    i = theanine.function([], srng.integers((1000,), 0, 2))()
    assert set(np.unique(i)) == {0, 1}
    c = theanine.function([], srng.choice((N,), a=4, p=[0.1, 0.0, 0.6, 0.3]))()
    freq = np.bincount(c, minlength=4) / N
    np.testing.assert_allclose(freq, [0.1, 0.0, 0.6, 0.3], atol=0.01)
    a = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    w = theanine.function([], srng.choice((2, 2), a=a, replace=False))()
    assert w.dtype == np.float64 and len(set(w.ravel())) == 4 and set(w.ravel()) <= set(a)
    perms = theanine.function([], srng.permutation((3000,), n=4))()
    assert perms.shape == (3000, 4)
    assert np.all(np.sort(perms, axis=1) == np.arange(4))
    first = np.bincount(perms[:, 0]) / 3000
    np.testing.assert_allclose(first, 0.25, atol=0.04)


def test_sizes_known_only_at_run_time():
    srng = RandomStreams(16)
    x = T.matrix("x")
    u = srng.uniform((x.shape[0], 2))
    z = srng.normal(x.shape)
    b = srng.binomial(size=x.shape[1], p=0.5)
    assert u.static_shape == (None, 2) and z.ndim == 2 and b.ndim == 1
    f = theanine.function([x], [u, z, b])
    for shape in [(4, 3), (0, 5), (1, 1)]:
        ru, rz, rb = f(np.zeros(shape, dtype="float32"))
        assert ru.shape == (shape[0], 2) and rz.shape == shape and rb.shape == (shape[1],)
    # No size: the broadcast shape of the parameters.
    lo = T.vector("lo", dtype="float64")
    v = srng.uniform(low=lo, high=10.0)
    out = theanine.function([lo], v)(np.array([1.0, 5.0, 9.0]))
    assert out.shape == (3,) and np.all(out >= [1, 5, 9]) and np.all(out < 10)
    # An int size is a vector's length; ndim checks the size.
    assert srng.uniform(5).static_shape == (5,)
    with pytest.raises(ValueError, match="ndim"):
        srng.uniform((2, 3), ndim=3)
    with pytest.raises(TypeError, match="pass ndim"):
        srng.uniform(T.lvector("s"))
    s = T.lvector("s")
    f = theanine.function([s], srng.uniform(s, ndim=2))
    assert f(np.array([2, 3])).shape == (2, 3)


def test_dtype_rules():
    srng = RandomStreams(17)
    assert srng.uniform((2,)).dtype == theanine.config.floatX
    assert srng.normal((2,), dtype="float64").dtype == "float64"
    assert srng.uniform((2,), low=T.dscalar("lo")).dtype == "float64"
    assert srng.uniform((2,), dtype="floatX").dtype == theanine.config.floatX
    assert srng.binomial((2,)).dtype == "int64"
    assert srng.binomial((2,), p=0.5, dtype=np.float32).dtype == "float32"
    assert srng.choice((2,), a=5).dtype == "int64"
    assert srng.permutation((2,), n=3).static_shape == (2, 3)
    with pytest.raises(TypeError, match="float32 or float64"):
        srng.uniform((2,), dtype="int32")


def test_errors_name_the_problem():
    srng = RandomStreams(18)
    with pytest.raises(ValueError, match="does not broadcast"):
        srng.normal((2, 2), avg=np.zeros(3))
    with pytest.raises(ValueError, match="negative dimension"):
        srng.uniform((-1,))
    k = T.lscalar("k")
    f = theanine.function([k], srng.uniform((k,)))
    with pytest.raises(ValueError, match="negative dimension -2"):
        f(-2)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        theanine.function([], srng.binomial((2,), p=1.5))()
    with pytest.raises(TypeError, match="size entries must be integers"):
        srng.uniform((2.5,))
    with pytest.raises(ValueError, match="without replacement"):
        theanine.function([], srng.choice((4,), a=3, replace=False))()
    lo = T.dscalar("lo")
    with pytest.raises(TypeError, match="not differentiable"):
        T.grad(srng.uniform((3,), low=lo).sum(), lo)


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout_mask_scale_and_gradient(p):
    srng = MRG_RandomStreams(19)
    x = T.matrix("x")
    w = T.matrix("w")
    y = dropout(x, p, srng)
    assert y.dtype == x.dtype
    f = theanine.function([x, w], [y, T.grad(T.sum(y * w), x)])
    xv = np.random.RandomState(0).uniform(1, 2, size=(200, 500)).astype("float32")
    wv = np.random.RandomState(1).uniform(-1, 1, size=(200, 500)).astype("float32")
    yv, gv = f(xv, wv)
    kept = yv != 0
    assert abs(kept.mean() - (1 - p)) < 0.01
    np.testing.assert_allclose(yv[kept], xv[kept] / (1 - p), rtol=1e-6)
    np.testing.assert_allclose(gv, wv * kept / (1 - p), rtol=1e-6)
    y2, _ = f(xv, wv)
    assert not np.array_equal(y2 != 0, kept)  # a new mask on each call
    # rescale=False keeps x itself; a symbolic p works.
    ps = T.scalar("p")
    z = theanine.function([x, ps], dropout(x, ps, srng, rescale=False))(xv, np.float32(p))
    assert np.all((z == 0) | (z == xv))
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        dropout(x, 1.0, srng)
    with pytest.raises(TypeError, match="RandomStreams"):
        dropout(x, 0.5, np.random.RandomState(0))


def test_every_rewrite_mode_draws_the_same_numbers():
    from helpers import assert_agree, compile_both

    srng = RandomStreams(20)
    x = T.matrix("x")
    outs = [srng.uniform(x.shape) * x, srng.normal((x.shape[0],), avg=1.0, std=2.0),
            srng.binomial((3, x.shape[1]), n=5, p=0.25), srng.choice((4,), a=7),
            srng.permutation((2,), n=x.shape[1]), dropout(x, 0.5, srng)]
    fast, slow = compile_both([x], outs, no_default_updates=True)
    assert_agree(fast, slow, np.ones((3, 4), dtype="float32"))
