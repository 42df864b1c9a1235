"""The specialize rules: products become Gemm/Gemv calls with transposes, scales and
additions folded in. Each test compiles with the default mode and with
mode="NO_OPTIMIZATION" and compares results on random inputs."""
import re

import numpy as np
import pytest

import theanine
import theanine.tensor as T
from helpers import assert_agree, compile_both, tensor

_LINE = re.compile(r"^(?P<indent>[ |]*)(?P<name>.*?) \[id (?P<id>\d+)\]")


def compiled_graph(f):
    """The graph f runs, read from f.debugprint(): (roots, {id: (op name, child ids)})."""
    nodes, roots, stack = {}, [], []
    for line in f.debugprint().splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        depth, nid = len(m["indent"]) // 2, int(m["id"])
        first = nid not in nodes
        nodes.setdefault(nid, (m["name"], []))
        del stack[depth:]
        if stack:
            if first or nid not in nodes[stack[-1]][1]:
                nodes[stack[-1]][1].append(nid)
        else:
            roots.append(nid)
        stack.append(nid)
    return roots, nodes


def kind(name):
    return re.match(r"[A-Za-z_]*", name).group(0)


def op_names(f):
    """The op name of every node f runs (inputs and constants left out)."""
    _, nodes = compiled_graph(f)
    return [name for name, children in nodes.values() if children]


def count(f, k):
    return sum(kind(n) == k for n in op_names(f))


def transposes_feeding(f, k="Gemm"):
    """How many DimShuffle{1,0} nodes are inputs of a node of kind k."""
    _, nodes = compiled_graph(f)
    return sum(nodes[c][0].startswith("DimShuffle{1,0}")
               for name, children in nodes.values() if kind(name) == k for c in children)


def rand(rng, shape, dtype="float64"):
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mkn", [(3, 4, 5), (1, 4, 5), (3, 4, 1), (1, 1, 1), (3, 0, 5),
                                 (0, 4, 5), (64, 33, 17)])
def test_dot_of_matrices_is_one_gemm(dtype, mkn):
    m, k, n = mkn
    x, y = tensor(dtype, 2, "x"), tensor(dtype, 2, "y")
    fast, plain = compile_both([x, y], T.dot(x, y))
    assert fast.rewrite_stats.get("dot_to_gemm") == 1
    assert op_names(fast) == ["Gemm{NN, alpha=1, beta=0}"]
    rng = np.random.default_rng(0)
    assert_agree(fast, plain, rand(rng, (m, k), dtype), rand(rng, (k, n), dtype))


def test_transposes_become_flags():
    x, y = T.matrix("x", dtype="float64"), T.matrix("y", dtype="float64")
    outs = [T.dot(x.T, y), T.dot(x, y.T), T.dot(x.T, y.T), x.T.T.dot(y.T.T)]
    fast, plain = compile_both([x, y], outs)
    assert sorted(op_names(fast)) == [
        "Gemm{NN, alpha=1, beta=0}", "Gemm{NT, alpha=1, beta=0}",
        "Gemm{TN, alpha=1, beta=0}", "Gemm{TT, alpha=1, beta=0}"]
    assert count(fast, "DimShuffle") == 0
    rng = np.random.default_rng(1)
    assert_agree(fast, plain, rand(rng, (4, 4)), rand(rng, (4, 4)))


def test_non_contiguous_arguments():
    x, y = T.matrix("x", dtype="float64"), T.matrix("y", dtype="float64")
    c = T.matrix("c", dtype="float64")
    fast, plain = compile_both([x, y, c], [T.dot(x.T, y) + c, T.dot(x, y.T) * 2])
    rng = np.random.default_rng(2)
    big = rand(rng, (10, 12))
    xs, ys = big[::2, ::3], big[1::2, 1::3].T.copy().T  # (5, 4) views of odd strides
    assert_agree(fast, plain, xs, ys, rand(rng, (4, 4))[:, ::-1])
    assert_agree(fast, plain, big[:4, :4].T, big[4:8, 2:6], big[::3, ::3][:4, :4])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matrix_vector_products_are_gemv(dtype):
    a, v, w = tensor(dtype, 2, "a"), tensor(dtype, 1, "v"), tensor(dtype, 1, "w")
    cases = {
        "Gemv{N, alpha=1, beta=0}": T.dot(a, v),
        "Gemv{T, alpha=1, beta=0}": T.dot(w, a),
        "Gemv{T, alpha=2, beta=0}": T.dot(a.T, 2 * w),
        "Gemv{N, alpha=-1, beta=0}": -T.dot(v, a.T),
        "Gemv{N, alpha=3, beta=-1}": 3 * T.dot(a, v) - w,
    }
    rng = np.random.default_rng(3)
    for name, expr in cases.items():
        fast, plain = compile_both([a, v, w], expr, on_unused_input="ignore")
        assert op_names(fast) == [name], fast.debugprint()
        assert_agree(fast, plain, rand(rng, (3, 4), dtype), rand(rng, 4, dtype),
                     rand(rng, 3, dtype))
        assert_agree(fast, plain, rand(rng, (1, 1), dtype), rand(rng, 1, dtype),
                     rand(rng, 1, dtype))


def test_constant_scales_fold_into_alpha():
    x, y = T.matrix("x", dtype="float64"), T.matrix("y", dtype="float64")
    cases = {
        "Gemm{NN, alpha=2, beta=0}": 2 * T.dot(x, y),
        "Gemm{NN, alpha=-1, beta=0}": -T.dot(x, y),
        "Gemm{NN, alpha=0.25, beta=0}": T.dot(x, y) / 4,
        "Gemm{TN, alpha=-0.5, beta=0}": -(0.5 * T.dot(x.T, y)),
        "Gemm{NN, alpha=-6, beta=0}": T.dot(2 * x, -3 * y),
    }
    rng = np.random.default_rng(4)
    for name, expr in cases.items():
        fast, plain = compile_both([x, y], expr)
        assert op_names(fast) == [name], fast.debugprint()
        assert_agree(fast, plain, rand(rng, (3, 3)), rand(rng, (3, 3)))


def test_a_zero_scale_keeps_nan():
    x, y = T.matrix("x", dtype="float64"), T.matrix("y", dtype="float64")
    fast, plain = compile_both([x, y], 0 * T.dot(x, y))
    a = np.array([[np.inf, 1.0], [1.0, 1.0]])
    got, want = fast(a, a), plain(a, a)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    assert np.isnan(got[0, 0])


def test_a_product_read_twice_is_not_scaled():
    x, y = T.matrix("x", dtype="float64"), T.matrix("y", dtype="float64")
    d = T.dot(x, y)
    fast, plain = compile_both([x, y], [d, 2 * d])
    assert count(fast, "Gemm") == 1
    assert "gemm_scale" not in fast.rewrite_stats
    rng = np.random.default_rng(5)
    assert_agree(fast, plain, rand(rng, (2, 3)), rand(rng, (3, 2)))


@pytest.mark.parametrize("form", ["c+d", "d+c", "c-d", "d-c", "bc+ad", "momentum"])
def test_additions_accumulate_into_gemm(form):
    x, y, c = (T.matrix(n, dtype="float32") for n in "xyc")
    d = T.dot(x, y)
    expr = {"c+d": c + d, "d+c": d + c, "c-d": c - d, "d-c": d - c,
            "bc+ad": 0.5 * c + 2 * d, "momentum": 0.9 * c - 0.01 * d}[form]
    fast, plain = compile_both([x, y, c], expr)
    assert count(fast, "Gemm") == 1 and count(fast, "Elemwise") == 0, fast.debugprint()
    assert count(fast, "Fused") == 0
    assert fast.rewrite_stats.get("gemm_accumulate") == 1
    rng = np.random.default_rng(6)
    xs, ys = rand(rng, (5, 3), "float32"), rand(rng, (3, 4), "float32")
    # c's dims are unknown statically: it may broadcast at run time either way.
    for cs in [(5, 4), (1, 4), (5, 1), (1, 1)]:
        assert_agree(fast, plain, xs, ys, rand(rng, cs, "float32"))
    assert_agree(fast, plain, xs[:1], ys, rand(rng, (5, 4), "float32"))
    for f in (fast, plain):
        with pytest.raises(theanine.ShapeError):
            f(xs, ys, rand(rng, (2, 4), "float32"))


def test_broadcast_biases_are_left_to_the_elementwise_epilogue():
    x, w = T.matrix("x", dtype="float64"), T.matrix("w", dtype="float64")
    b = T.vector("b", dtype="float64")
    fast, plain = compile_both([x, w, b], T.tanh(T.dot(x, w) + b))
    assert count(fast, "Gemm") == 1
    assert "gemm_accumulate" not in fast.rewrite_stats
    rng = np.random.default_rng(7)
    assert_agree(fast, plain, rand(rng, (4, 3)), rand(rng, (3, 2)), rand(rng, 2))


def test_sum_of_a_product_of_vectors_is_a_dot():
    x = T.tensor("float64", shape=(6,), name="x")
    y = T.tensor("float64", shape=(6,), name="y")
    u = T.vector("u", dtype="float64")
    fast, plain = compile_both([x, y, u], [T.sum(x * y), (u * u).sum()])
    assert fast.rewrite_stats.get("sum_mul_to_dot") == 2
    assert count(fast, "Dot") == 2 and count(fast, "Sum") == 0
    rng = np.random.default_rng(8)
    assert_agree(fast, plain, rand(rng, 6), rand(rng, 6), rand(rng, 9))
    # Lengths not known to agree: x * v broadcasts where v has one element.
    v = T.vector("v", dtype="float64")
    fast, plain = compile_both([x, v], T.sum(x * v))
    assert "sum_mul_to_dot" not in fast.rewrite_stats
    assert_agree(fast, plain, rand(rng, 6), rand(rng, 1))


# ---- the target of the issue: a training step of a 784-392-196-10 tanh MLP ----------

def _mlp(mode, loss, seed=0):
    rng = np.random.default_rng(seed)
    sizes = [784, 392, 196, 10]
    x = T.matrix("x")
    y = T.ivector("y") if loss == "nnet" else T.matrix("y")
    params, h = [], x
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = theanine.shared((rng.standard_normal((a, b)) * 0.05).astype("float32"), name=f"W{i}")
        bias = theanine.shared((rng.standard_normal(b) * 0.1).astype("float32"), name=f"b{i}")
        params += [w, bias]
        z = T.dot(h, w) + bias
        h = T.tanh(z) if i < 2 else z
    if loss == "nnet":
        nnet = pytest.importorskip("theanine.tensor.nnet")
        cost = T.mean(nnet.categorical_crossentropy(nnet.softmax(h), y))
    else:
        e = T.exp(h - h.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        cost = -T.mean(T.sum(y * T.log(p), axis=1))
    grads = T.grad(cost, params)
    updates = []
    for prm, g in zip(params, grads):
        v = theanine.shared(np.zeros_like(prm.get_value()), name="v_" + prm.name)
        v_new = 0.9 * v - 0.01 * (g + 5e-4 * prm)
        updates += [(v, v_new), (prm, prm + v_new)]
    return theanine.function([x, y], cost, updates=updates, mode=mode), params


@pytest.mark.parametrize("loss", ["by_hand", "nnet"])
def test_mlp_training_step_has_3_forward_and_5_backward_gemms(loss):
    if loss == "nnet":
        pytest.importorskip("theanine.tensor.nnet")
        if not hasattr(theanine._core, "softmax"):
            pytest.skip("no softmax op in this build")
    fast, fast_params = _mlp(None, loss)
    plain, plain_params = _mlp("NO_OPTIMIZATION", loss)
    roots, nodes = compiled_graph(fast)

    def reach(nid, seen):
        if nid not in seen:
            seen.add(nid)
            for c in nodes[nid][1]:
                reach(c, seen)
        return seen

    gemms = {n for n, (name, _) in nodes.items() if kind(name) == "Gemm"}
    forward = gemms & reach(roots[0], set())  # the cost needs only the forward pass
    assert len(forward) == 3, fast.debugprint()
    assert len(gemms - forward) == 5, fast.debugprint()
    assert count(fast, "Dot") == 0
    assert transposes_feeding(fast) == 0

    rng = np.random.default_rng(1)
    xs = rng.standard_normal((32, 784)).astype("float32")
    labels = rng.integers(0, 10, 32)
    ys = labels.astype("int32") if loss == "nnet" else np.eye(10, dtype="float32")[labels]
    for _ in range(3):
        np.testing.assert_allclose(fast(xs, ys), plain(xs, ys), rtol=1e-4)
    for a, b in zip(fast_params, plain_params):
        np.testing.assert_allclose(a.get_value(), b.get_value(), rtol=1e-4, atol=1e-6)
