"""The inplace pass and the executor's buffer reuse: results as without rewrites, the
caller's arrays and shared values never overwritten behind the user's back."""
import numpy as np
import pytest

import theanine
import theanine.tensor as T
from theanine import function, shared
from helpers import assert_agree, compile_both


def compare(inputs, outputs, args, updates=None):
    """Default-mode results equal NO_OPTIMIZATION's; the arguments stay unchanged."""
    fast, slow = compile_both(inputs, outputs)
    before = [np.array(a, copy=True) for a in args]
    assert_agree(fast, slow, *args, rtol=1e-12, atol=1e-12)
    for a, b in zip(args, before):
        np.testing.assert_array_equal(a, b)
    return fast


@pytest.mark.parametrize("shape_x, shape_b", [((4, 3), (3,)), ((4, 3), (1, 3)),
                                               ((1, 3), (4, 3)), ((4, 1), (4, 3))])
def test_results_match_and_inputs_untouched_with_broadcasting(shape_x, shape_b):
    rng = np.random.default_rng(0)
    x = T.matrix("x", dtype="float64")
    b = T.tensor("float64", shape=(None,) * len(shape_b), name="b")
    h = T.tanh(x + b)
    y = T.exp(-h) * h + T.sqr(x)
    z = T.dot(y, y.T)  # a non-elementwise reader of y
    outs = [y.sum(axis=0), z + 1, T.sin(z) * 2]
    compare([x, b], outs, [rng.standard_normal(shape_x), rng.standard_normal(shape_b)])


def test_deep_chain_matches_and_reports_inplace():
    rng = np.random.default_rng(1)
    x = T.vector("x", dtype="float64")
    s = T.dot(x, x)
    y = x * s  # not fusable with what follows the dot
    for _ in range(6):
        y = T.cos(y) + T.dot(y, y)
    f = compare([x], [y], [rng.standard_normal(9)])
    assert f.rewrite_stats.get("inplace", 0) >= 1
    assert "(inplace" in f.debugprint()


def test_shared_updates_keep_values_right():
    rng = np.random.default_rng(2)
    w0 = rng.standard_normal((5, 3))
    w = shared(w0.copy(), name="w")
    x = T.matrix("x", dtype="float64")
    cost = T.sum(T.dot(x, w) ** 2)
    g = T.grad(cost, w)
    f = function([x], cost, updates=[(w, w - 0.01 * g)])
    assert f.rewrite_stats.get("inplace_update", 0) == 0  # updates stay atomic
    want = w0.copy()
    for i in range(4):
        xv = rng.standard_normal((2, 5))
        c = f(xv)
        assert c == pytest.approx(np.sum((xv @ want) ** 2))
        want = want - 0.01 * (2 * xv.T @ (xv @ want))
        np.testing.assert_allclose(w.get_value(), want, rtol=1e-12)


def test_updates_reading_each_others_old_values():
    a = shared(np.array([1.0, 2.0, 3.0]), name="a")
    b = shared(np.array([4.0, 5.0, 6.0]), name="b")
    f = function([], [], updates=[(a, a + b), (b, b * a)])
    va, vb = a.get_value(), b.get_value()
    for _ in range(3):
        f()
        va, vb = va + vb, vb * va
        np.testing.assert_array_equal(a.get_value(), va)
        np.testing.assert_array_equal(b.get_value(), vb)


def test_swap_updates_are_atomic():
    a = shared(np.arange(4.0), name="a")
    b = shared(np.arange(4.0) + 10, name="b")
    f = function([], [], updates=[(a, b * 1.0), (b, a * 1.0)])
    f()
    np.testing.assert_array_equal(a.get_value(), np.arange(4.0) + 10)
    np.testing.assert_array_equal(b.get_value(), np.arange(4.0))


def test_returned_update_value_is_not_the_shared_buffer():
    w = shared(np.ones(6), name="w")
    w_new = w * T.sum(w)
    f = function([], w_new, updates=[(w, w_new)])
    first = f()
    snapshot = first.copy()
    f()
    np.testing.assert_array_equal(first, snapshot)
    np.testing.assert_array_equal(w.get_value(), snapshot * snapshot.sum())


def test_borrowed_views_of_a_shared_value_are_not_overwritten():
    w = shared(np.full(6, 2.0), name="w")
    f = function([], [], updates=[(w, w * T.sum(w))])
    held = w.get_value(borrow=True)
    f()
    np.testing.assert_array_equal(held, np.full(6, 2.0))
    np.testing.assert_array_equal(w.get_value(), np.full(6, 24.0))


def test_array_given_with_borrow_is_not_overwritten():
    user = np.full(6, 2.0)
    w = shared(user, name="w", borrow=True)
    f = function([], [], updates=[(w, w * T.sum(w))])
    f()
    np.testing.assert_array_equal(user, np.full(6, 2.0))
    np.testing.assert_array_equal(w.get_value(), np.full(6, 24.0))


def test_input_array_and_its_views_are_not_overwritten():
    rng = np.random.default_rng(3)
    x = T.matrix("x", dtype="float64")
    outs = [T.exp(x.T) + 1, T.tanh(x[1:]) * 2, T.exp(x) - x]
    xv = rng.standard_normal((3, 3))
    compare([x], outs, [xv])
    compare([x], outs, [np.asfortranarray(xv)])


def test_debugprint_marks_inplace_nodes():
    w = shared(np.ones(4), name="w")
    x = T.vector("x", dtype="float64")
    # The outer product is an intermediate the cosine may overwrite.
    f = function([x], T.cos(T.outer(x, x)), updates=[(w, w * T.sum(x))])
    text = theanine.printing.debugprint(f)
    assert "(inplace 0)" in text
    plain = function([x], T.cos(T.outer(x, x)), updates=[(w, w * T.sum(x))],
                     mode="NO_OPTIMIZATION")
    assert "(inplace" not in plain.debugprint()


def random_graph(rng, x, y, v, s, t):
    """A random graph over matrices (3, 4), their transposes (4, 3) and vectors (4,),
    mixing elementwise ops (with broadcasting), views and reductions."""
    pool = {"A": [x, y, s, T.tanh(x)], "B": [v, t], "C": [x.T]}
    unary = [T.tanh, T.sin, lambda a: T.exp(-abs(a)), lambda a: a * 0.5, T.sqr]
    m = theanine.shared(rng.standard_normal((4, 4)) * 0.5, name="m")
    for _ in range(rng.integers(4, 20)):
        kind = rng.integers(0, 7)
        if kind == 0:
            fam = rng.choice(list(pool))
            a = pool[fam][rng.integers(len(pool[fam]))]
            pool[fam].append(unary[rng.integers(len(unary))](a))
        elif kind == 1:
            fam = rng.choice(list(pool))
            a, b = (pool[fam][rng.integers(len(pool[fam]))] for _ in range(2))
            pool[fam].append([T.add, T.mul, T.sub][rng.integers(3)](a, b))
        elif kind == 2:  # a matrix and a broadcast vector
            a, b = pool["A"][rng.integers(len(pool["A"]))], pool["B"][rng.integers(len(pool["B"]))]
            pool["A"].append(a * b if rng.integers(2) else b - a)
        elif kind == 3:  # views
            a = pool["A"][rng.integers(len(pool["A"]))]
            c = pool["C"][rng.integers(len(pool["C"]))]
            choice = rng.integers(3)
            if choice == 0:
                pool["C"].append(a.T)
            elif choice == 1:
                pool["A"].append(c.T)
            else:
                pool["C"].append(a.reshape((4, 3)))
        elif kind == 4:
            a = pool["A"][rng.integers(len(pool["A"]))]
            pool["B"].append(a.sum(axis=0))
        elif kind == 5:
            a = pool["A"][rng.integers(len(pool["A"]))]
            pool["A"].append(a[:, ::1] + 0.0 if rng.integers(2) else a[:, ::1])
        else:  # a product ends fusion groups
            a = pool["A"][rng.integers(len(pool["A"]))]
            pool["A"].append(T.dot(a, m))
    every = [w for fam in pool.values() for w in fam[1:]]
    k = rng.integers(1, 4)
    outs = [every[i] for i in rng.choice(len(every), size=min(k, len(every)), replace=False)]
    updates = []
    if rng.integers(3):
        updates.append((s, pool["A"][rng.integers(len(pool["A"]))]))
    if rng.integers(3):
        updates.append((t, pool["B"][rng.integers(len(pool["B"]))]))
    return outs, updates


@pytest.mark.parametrize("seed", range(60))
def test_random_graphs_match_no_optimization(seed):
    rng = np.random.default_rng(seed)
    x = T.matrix("x", dtype="float64")
    y = T.matrix("y", dtype="float64")
    v = T.vector("v", dtype="float64")
    s = shared(rng.standard_normal((3, 4)), name="s")
    t = shared(rng.standard_normal(4), name="t")
    outs, updates = random_graph(rng, x, y, v, s, t)
    fast = function([x, y, v], outs, updates=updates, on_unused_input="ignore")
    slow = function([x, y, v], outs, updates=updates, on_unused_input="ignore",
                    mode="NO_OPTIMIZATION")
    for _ in range(3):
        args = [rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.standard_normal(4)]
        before = [a.copy() for a in args]
        state = [s.get_value(), t.get_value()]
        want = slow(*args)
        want_state = [s.get_value(), t.get_value()]
        s.set_value(state[0])
        t.set_value(state[1])
        got = fast(*args)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(s.get_value(), want_state[0], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(t.get_value(), want_state[1], rtol=1e-10, atol=1e-12)
        for a, b in zip(args, before):
            np.testing.assert_array_equal(a, b)


def test_training_step_reuses_buffers_after_the_first_calls():
    rng = np.random.default_rng(3)
    w = shared(rng.standard_normal((20, 10)), name="w")
    x = T.matrix("x", dtype="float64")
    cost = T.sum(T.tanh(T.dot(x, w)) ** 2)
    f = function([x], cost, updates=[(w, w - 0.01 * T.grad(cost, w))])
    xv = rng.standard_normal((8, 20))
    f(xv)
    f(xv)
    before = theanine._core.allocator_stats()["fresh"]
    for _ in range(5):
        f(xv)
    assert theanine._core.allocator_stats()["fresh"] == before
