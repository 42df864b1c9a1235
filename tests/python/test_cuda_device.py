"""Placement on the CUDA device from Python: config.device, shared(target=),
function(device=, outputs_on_device=), DeviceArray. Each result is compared
with the same function on the CPU. Skipped without a device unless
THEANINE_REQUIRE_CUDA is set; CI runs this file on the software device of
tests/cuda_emu (THEANINE_CUDA_EMULATOR)."""
import os

import numpy as np
import pytest

import theanine
import theanine.tensor as T
from theanine import _core

HAVE_CUDA = _core.cuda_available()
needs_cuda = pytest.mark.skipif(
    not HAVE_CUDA and not os.environ.get("THEANINE_REQUIRE_CUDA"),
    reason="no CUDA device: " + _core.cuda_unavailable_reason(),
)


@pytest.fixture
def restore_device():
    before = theanine.config.device
    yield
    theanine.config.device = before


def both(inputs, outputs, args, **kw):
    cpu = theanine.function(inputs, outputs, device="cpu", **kw)
    gpu = theanine.function(inputs, outputs, device="cuda", **kw)
    assert gpu.device == "cuda"
    return cpu(*args), gpu(*args)


@needs_cuda
def test_elementwise_reduction_and_dot_match_the_cpu():
    rng = np.random.default_rng(0)
    x, w = T.fmatrix("x"), T.fmatrix("w")
    xv = rng.normal(size=(17, 9)).astype(np.float32)
    wv = rng.normal(size=(9, 4)).astype(np.float32)
    outs = [T.tanh(T.dot(x, w)).sum(axis=0), T.nnet.softmax(T.dot(x, w)), (x * x).mean()]
    want, got = both([x, w], outs, [xv, wv])
    for g, c in zip(got, want):
        assert isinstance(g, np.ndarray)
        np.testing.assert_allclose(g, c, rtol=1e-5, atol=1e-6)


@needs_cuda
def test_config_device_places_shared_variables_and_functions(restore_device):
    theanine.config.device = "cuda"
    w = theanine.shared(np.ones((3, 2), np.float32), name="w")
    assert _core.shared_device(w) == "cuda"
    x = T.fmatrix("x")
    f = theanine.function([x], T.dot(x, w), updates=[(w, w * 0.5)])
    assert f.device == "cuda"
    out = f(np.ones((1, 3), np.float32))
    np.testing.assert_allclose(out, [[3, 3]])
    np.testing.assert_allclose(w.get_value(), np.full((3, 2), 0.5))
    assert isinstance(w.get_value(), np.ndarray)
    cpu_w = theanine.shared(np.ones(2, np.float32), target="cpu")
    assert _core.shared_device(cpu_w) == "cpu"


@needs_cuda
def test_training_on_the_device_follows_the_cpu_step_for_step():
    rng = np.random.default_rng(1)
    xv = rng.normal(size=(32, 10)).astype(np.float32)
    yv = rng.integers(0, 3, 32).astype(np.int32)
    w0 = (rng.normal(size=(10, 3)) * 0.1).astype(np.float32)

    def build(target):
        x, y = T.fmatrix("x"), T.ivector("y")
        w = theanine.shared(w0, target=target)
        b = theanine.shared(np.zeros(3, np.float32), target=target)
        cost = T.mean(T.nnet.crossentropy_softmax(T.dot(x, w) + b, y))
        updates = theanine.updates.momentum(cost, [w, b], 0.1, momentum=0.9)
        return theanine.function([x, y], cost, updates=updates), w

    f_cpu, w_cpu = build("cpu")
    f_gpu, w_gpu = build("cuda")
    assert f_gpu.device == "cuda"
    for _ in range(4):
        np.testing.assert_allclose(f_gpu(xv, yv), f_cpu(xv, yv), rtol=1e-5)
    np.testing.assert_allclose(w_gpu.get_value(), w_cpu.get_value(), rtol=1e-5, atol=1e-6)


@needs_cuda
def test_outputs_on_device_are_device_arrays_that_go_back_in():
    x = T.fvector("x")
    f = theanine.function([x], x * 2, device="cuda", outputs_on_device=True)
    r = f(np.arange(4, dtype=np.float32))
    assert isinstance(r, theanine.DeviceArray)
    assert r.shape == (4,) and r.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(r), [0, 2, 4, 6])
    np.testing.assert_array_equal(f(r).get(), [0, 4, 8, 12])
    d = theanine.to_device(np.ones(4, np.float32))
    np.testing.assert_array_equal(f(d).get(), [2, 2, 2, 2])


@needs_cuda
def test_a_shape_error_on_the_device_names_the_shapes():
    x, y = T.fvector("x"), T.fvector("y")
    f = theanine.function([x, y], x + y, device="cuda")
    with pytest.raises(Exception, match=r"\(3,\)"):
        f(np.ones(3, np.float32), np.ones(2, np.float32))


@pytest.mark.skipif(HAVE_CUDA, reason="a device is present")
def test_asking_for_cuda_without_a_device_says_why(restore_device):
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        theanine.config.device = "cuda"
    assert theanine.config.device == "cpu"
    x = T.fvector("x")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        theanine.function([x], x * 2, device="cuda")
    with pytest.raises(ValueError, match="config.device"):
        theanine.config.device = "tpu"


def _conv_step(device, graphs, seed=3):
    """A small CNN training step with dropout noise, built on `device`."""
    from theanine.tensor.nnet import conv2d
    from theanine.tensor.shared_randomstreams import RandomStreams
    from theanine.tensor.signal.pool import pool_2d

    rng = np.random.default_rng(seed)
    x, y = T.tensor4("x"), T.ivector("y")
    w = theanine.shared((rng.normal(size=(4, 1, 3, 3)) * 0.3).astype(np.float32),
                        target=device)
    v = theanine.shared((rng.normal(size=(36, 3)) * 0.3).astype(np.float32), target=device)
    srng = RandomStreams(seed=7)
    h = pool_2d(T.nnet.relu(conv2d(x, w)), ws=(2, 2), ignore_border=True).flatten(2)
    keep = srng.binomial(h.shape, p=0.8, dtype="float32")
    p = T.nnet.softmax(T.dot(h * keep, v))
    cost = T.nnet.categorical_crossentropy(p, y).mean()
    gw, gv = T.grad(cost, [w, v])
    kw = {"cuda_graphs": graphs} if device == "cuda" else {}
    f = theanine.function([x, y], [cost, keep.sum()], updates=[(w, w - 0.1 * gw),
                                                                (v, v - 0.1 * gv)],
                          device=device, **kw)
    return f, [w, v]


@needs_cuda
@pytest.mark.parametrize("graphs", [True, False])
def test_replayed_steps_follow_the_cpu_random_numbers_included(restore_device, graphs):
    rng = np.random.default_rng(0)
    data = [(rng.normal(size=(5, 1, 8, 8)).astype(np.float32),
             rng.integers(0, 3, 5).astype(np.int32)) for _ in range(3)]
    runs = {}
    for device in ["cpu", "cuda"]:
        theanine.config.device = device  # where the random state lives
        f, params = _conv_step(device, graphs)
        out = [tuple(float(o) for o in f(*data[i % 3])) for i in range(6)]
        runs[device] = (out, [p.get_value() for p in params], f)
    np.testing.assert_allclose(runs["cuda"][0], runs["cpu"][0], rtol=1e-4)
    for g, c in zip(runs["cuda"][1], runs["cpu"][1]):
        np.testing.assert_allclose(g, c, rtol=1e-4, atol=1e-5)
    info = runs["cuda"][2].cuda_graph_info
    assert info["enabled"] is graphs
    if graphs:
        # Three batch shapes alike: recorded at the second call, replayed after.
        assert info["replays"] == 5, info


@needs_cuda
def test_work_counts_show_one_launch_per_replayed_step():
    x = T.fvector("x")
    w = theanine.shared(np.ones(4, np.float32), target="cuda")
    f = theanine.function([x], (T.tanh(x * w) ** 2).sum(), updates=[(w, w * 0.5)])
    xv = np.arange(4, dtype=np.float32)
    f(xv), f(xv)
    before = _core.cuda_work_counts()
    got = f(xv)
    after = _core.cuda_work_counts()
    assert after["graph_launches"] - before["graph_launches"] == 1
    assert after["launches"] == before["launches"]
    # No device check in this step: the graph also commits the update itself.
    assert after["copies_on_device"] == before["copies_on_device"]
    np.testing.assert_allclose(got, (np.tanh(xv * 0.25) ** 2).sum(), rtol=1e-6)
    np.testing.assert_allclose(w.get_value(), np.full(4, 0.125))


@needs_cuda
def test_an_output_that_is_an_updated_variable_gives_its_old_value():
    w = theanine.shared(np.ones(3, np.float32), target="cuda")
    f = theanine.function([], [w, w * 2], updates=[(w, w * 0.5)])
    for i in range(5):
        old, twice = f()
        np.testing.assert_allclose(old, np.full(3, 0.5 ** i))
        np.testing.assert_allclose(twice, np.full(3, 2 * 0.5 ** i))
    np.testing.assert_allclose(w.get_value(), np.full(3, 0.5 ** 5))
    assert f.cuda_graph_info["replays"] == 4
