#!/usr/bin/env python3
"""theanine on the CUDA device against PyTorch on the same GPU, in one run.

    python3 bench/gpu.py [--quick | --tiny] [--out FILE.md] [--json FILE.json]
                         [--only mlp,cnn,elemwise,compile] [--require] [--tf32] [--cpu]

Rows (each a median over interleaved repetitions; a ratio is theanine's time over
PyTorch's, the median of the per-repetition ratios, with its min-max):

- mlp_step, mlp_step_resident: one training step of examples/mnist_mlp.py's
  network (784-392-196-10 tanh, batch 128, the mean crossentropy of the
  softmax, momentum 0.9, weight decay 5e-4, lr 0.01) built by the example's own
  build(); PyTorch eager runs the same model (torch.optim.SGD, same initial
  weights). "step": host batches in and the loss back on the host every step,
  as the example trains (PyTorch: .to("cuda") and loss.item()); "resident": the
  batches already on the device (DeviceArray / cuda tensors) and the loss left
  there (outputs_on_device=True), one synchronization per timed loop.
  Target: at most 0.5x PyTorch's time.
- cnn_step, cnn_step_resident: the same for examples/mnist_cnn.py's network
  against PyTorch with cuDNN (torch.backends.cudnn.benchmark on). Target: 1.0x.
- copy, elemwise: tanh(a*x+b) over 16M float32 (DeviceArray inputs,
  outputs_on_device=True: no host copies timed), in GB/s counting 8 bytes per
  element, as a fraction of the device-to-device copy bandwidth measured in the
  same run (torch's y.copy_(x); theanine's own -x where PyTorch has no GPU).
  Target: at least 70% of the copy.
- compile_cold, compile_disk: theanine.function() of the MLP training function
  in a fresh process with an empty THEANINE_CACHE_DIR, then in a second fresh
  process on the same folder; wall time, with f.kernel_stats (kernels, NVRTC
  milliseconds, disk hit). Targets: 1.5 s cold, 50 ms from the disk cache.

Before the steps are timed, both sides run three steps from the same weights on
the same batches and their losses are compared (a figure from models that do
not compute the same thing is flagged, not judged). Float32 throughout:
PyTorch's TF32 is off, as theanine's cuBLAS GEMMs are exact float32, unless
--tf32 turns it on for both (THEANINE_CUDA_TF32=1).

Prints a Markdown table (figure, theanine, PyTorch, ratio, target, met) and
writes it to --out. Without a CUDA device it says so and exits 0 (2 with
--require); it exits 1 when a row failed with an error. --quick takes fewer
repetitions; --tiny shrinks every size (smoke tests, the software CUDA device
of tests/cuda_emu): its figures mean nothing. --cpu runs every row on the CPU
instead (theanine's CPU backend, PyTorch on the CPU), so that the script is
tested where there is no GPU; its figures say nothing about the GPU.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "examples"))
SEED = 1234
CHECK_STEPS = 3    # steps from the same weights whose losses must agree
LOSS_RTOL = 1e-3   # float32, different GEMM/convolution algorithms on each side
ELEM_A, ELEM_B = 0.75, 0.1


@dataclass(frozen=True)
class Sizes:
    name: str
    reps: int          # interleaved timed repetitions per side
    warm_s: float      # warm-up per side before timing (clocks, caches, autotuning)
    mlp_batch: int
    mlp_steps: int     # steps per timed repetition
    cnn_batch: int
    cnn_steps: int
    pool: int          # distinct batches cycled through
    elem_n: int
    elem_calls: int    # calls per timed repetition
    compile_pairs: int  # (cold, disk) fresh-process pairs


SIZES = {
    "full": Sizes("full", reps=7, warm_s=0.5, mlp_batch=128, mlp_steps=200, cnn_batch=128,
                  cnn_steps=100, pool=32, elem_n=1 << 24, elem_calls=200, compile_pairs=3),
    "quick": Sizes("quick", reps=3, warm_s=0.2, mlp_batch=128, mlp_steps=50, cnn_batch=128,
                   cnn_steps=25, pool=8, elem_n=1 << 24, elem_calls=50, compile_pairs=1),
    "tiny": Sizes("tiny", reps=2, warm_s=0.0, mlp_batch=8, mlp_steps=2, cnn_batch=4,
                  cnn_steps=1, pool=4, elem_n=1 << 12, elem_calls=2, compile_pairs=1),
}
ROWS = ("mlp", "cnn", "elemwise", "compile")


@dataclass
class Row:
    id: str
    figure: str
    theanine: str = ""
    torch: str = ""
    ratio: str = ""
    target: str = ""
    met: str = ""
    data: dict = field(default_factory=dict)
    failed: bool = False


# ---- measuring ----------------------------------------------------------------------

def median_spread(v: list[float]) -> tuple[float, float, float]:
    return statistics.median(v), min(v), max(v)


def ms(s: float, unit: bool = True) -> str:
    return (f"{s * 1e3:.3f}" if s < 0.1 else f"{s * 1e3:.1f}") + (" ms" if unit else "")


def timing(v: list[float]) -> str:
    """The median with its min-max, in ms."""
    m, lo, hi = median_spread(v)
    return f"{ms(m)} ({ms(lo, False)}–{ms(hi, False)})"


def ratio_text(r: list[float]) -> str:
    m, lo, hi = median_spread(r)
    return f"{m:.2f}× ({lo:.2f}–{hi:.2f})"


def judge(value: float, op: str, bound: float, ok: bool = True) -> str:
    if not ok:
        return "no figure (check failed)"
    met = value <= bound if op == "≤" else value >= bound
    return "yes" if met else "no"


class Clock:
    """Per-call wall time of a loop between two synchronizations of the device."""

    def __init__(self, sync: Callable[[], None]):
        self.sync = sync

    def loop(self, call: Callable[[int], Any], n: int) -> float:
        self.sync()
        t = time.perf_counter()
        for i in range(n):
            call(i)
        self.sync()
        return (time.perf_counter() - t) / n

    def warm(self, call: Callable[[int], Any], seconds: float, at_least: int = 2) -> None:
        end = time.perf_counter() + seconds
        i = 0
        while i < at_least or time.perf_counter() < end:
            call(i)
            i += 1
        self.sync()


def interleaved(sides: dict[str, tuple[Clock, Callable[[int], Any]]], n: int,
                reps: int) -> dict[str, list[float]]:
    """reps rounds of each side's loop of n calls, A B A B ..., the order
    alternating per round so that neither always runs first."""
    out: dict[str, list[float]] = {k: [] for k in sides}
    keys = list(sides)
    for r in range(reps):
        for k in keys[::1 if r % 2 == 0 else -1]:
            clock, call = sides[k]
            out[k].append(clock.loop(call, n))
    return out


# ---- the two libraries ------------------------------------------------------------------

class Torch:
    """PyTorch on the GPU (or, with --cpu, the CPU), or why not."""

    def __init__(self, tf32: bool, device: str):
        self.reason = ""
        self.device = device
        try:
            import torch
        except ImportError as e:
            self.torch, self.reason = None, f"torch does not import ({e})"
            return
        self.torch = torch
        self.dev = torch.device(device)
        if device == "cpu":
            return
        if not torch.cuda.is_available():
            self.reason = "torch sees no CUDA device"
            return
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        torch.backends.cudnn.benchmark = True  # its fastest convolution algorithms

    @property
    def ok(self) -> bool:
        return not self.reason

    def sync(self) -> None:
        if self.device == "cuda":
            self.torch.cuda.synchronize()

    def info(self) -> dict:
        t = self.torch
        if t is None:
            return {"status": self.reason}
        d = {"version": t.__version__, "cuda": t.version.cuda}
        if self.ok and self.device == "cuda":
            d.update(device=t.cuda.get_device_name(0), cudnn=t.backends.cudnn.version(),
                     tf32=t.backends.cuda.matmul.allow_tf32)
        elif not self.ok:
            d["status"] = self.reason
        return d


class Place:
    """Where theanine runs: "cuda", or "cpu" for --cpu (then arrays stay NumPy
    arrays and outputs come back as they do on the CPU)."""

    def __init__(self, theanine, device: str):
        self.theanine, self.device = theanine, device
        self.sync = self._sync_function() if device == "cuda" else (lambda: None)

    def put(self, a: np.ndarray):
        return self.theanine.to_device(a) if self.device == "cuda" else a

    def function(self, inputs, outputs, resident: bool = False, **kw):
        if self.device == "cuda":
            kw["outputs_on_device"] = resident
        f = self.theanine.function(inputs, outputs, device=self.device, **kw)
        if f.device != self.device:
            raise RuntimeError(f"{kw.get('name', 'a function')} runs on {f.device!r}, "
                               f"not {self.device!r}")
        return f

    def _sync_function(self) -> Callable[[], None]:
        """Waits for theanine's stream: _core.cuda_synchronize where the module
        has it, else a one-element function whose result comes back to the
        host (the copy waits for everything queued before it on the stream)."""
        core = self.theanine._core
        if hasattr(core, "cuda_synchronize"):
            return core.cuda_synchronize
        import theanine.tensor as T

        s = T.fscalar("s")
        f = self.function([s], s + 1, name="bench_sync")
        one = np.float32(1)
        return lambda: f(one)


# ---- the training steps ----------------------------------------------------------------

def example_network(kind: str, theanine):
    """The example's own network, its training cost and updates, as
    examples/common.py's Trainer builds them (momentum rule, its lr, weight
    decay), on config.device."""
    import theanine.tensor as T
    import common
    import mnist_cnn
    import mnist_mlp

    module = mnist_mlp if kind == "mlp" else mnist_cnn
    net = module.build(np.random.default_rng(SEED))
    cost = T.mean(T.nnet.crossentropy_softmax(net.z, net.y))
    rule, kwargs = common.OPTIMIZERS["momentum"]
    shared = [p for _, p in net.params]
    updates = rule(cost, shared, common.DEFAULT_LR.get("momentum", 0.01),
                   weight_decay=common.WEIGHT_DECAY, **kwargs)
    return net, cost, updates


def torch_model(kind: str, torch, init: list[np.ndarray], dev):
    """(forward, parameters, optimizer) of the same network in PyTorch from the
    example's initial weights. theanine's conv2d flips its filters (Theano's
    convolution); torch's is a cross-correlation, so it gets them flipped."""
    import torch.nn.functional as F

    import common
    import mnist_cnn

    if kind == "cnn":
        init = [w[:, :, ::-1, ::-1].copy() if w.ndim == 4 else w for w in init]
    params = [torch.tensor(w, device=dev, requires_grad=True) for w in init]

    def mlp(x):
        h = x
        for i in range(0, len(params), 2):
            z = h @ params[i] + params[i + 1]
            h = torch.tanh(z) if i + 2 < len(params) else z
        return z

    def cnn(x):
        h = x
        for (_, _, _, pool), i in zip(mnist_cnn.CONVS, (0, 2)):
            c = F.max_pool2d(F.conv2d(h, params[i]), pool, stride=pool)
            h = torch.tanh(c + params[i + 1][:, None, None])
        h = torch.tanh(h.flatten(1) @ params[4] + params[5])
        return h @ params[6] + params[7]

    opt = torch.optim.SGD(params, lr=common.DEFAULT_LR.get("momentum", 0.01),
                          momentum=common.MOMENTUM, weight_decay=common.WEIGHT_DECAY)
    return (mlp if kind == "mlp" else cnn), params, opt


def batches(kind: str, n: int, batch: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(SEED + 7)
    shape = (batch, 784) if kind == "mlp" else (batch, 1, 28, 28)
    return [(rng.random(shape, dtype=np.float32), rng.integers(0, 10, batch).astype(np.int32))
            for _ in range(n)]


def bench_training(kind: str, sz: Sizes, place: Place, tch: Torch) -> list[Row]:
    batch = sz.mlp_batch if kind == "mlp" else sz.cnn_batch
    steps = sz.mlp_steps if kind == "mlp" else sz.cnn_steps
    bound = 0.5 if kind == "mlp" else 1.0
    what = ("MLP 784-392-196-10 tanh" if kind == "mlp" else
            "CNN conv28@5x5-pool3-conv56@5x5-pool2-224-200-10") + f", batch {batch}"
    rows = [Row(f"{kind}_step", f"{what}: training step, host batch in, loss to host "
                "(as the example)"),
            Row(f"{kind}_step_resident", f"{what}: training step, batch on the device, "
                "loss left there")]
    for r in rows:
        r.target = f"≤ {bound:g}× PyTorch"
    graphs_row = place.device == "cuda"
    if graphs_row:
        # CUDA graphs are on by default only if they measure faster: this row is
        # the "step" row with each kernel launched from the host.
        rows.append(Row(f"{kind}_step_no_graphs", f"{what}: training step as {kind}_step, "
                        "cuda_graphs=False"))
        rows[-1].target = f"slower than {kind}_step (graphs on by default)"

    net, cost, updates = example_network(kind, place.theanine)
    init = [p.get_value() for _, p in net.params]
    t0 = time.perf_counter()
    f_host = place.function([net.x, net.y], cost, updates=updates, name="train")
    compile_s = time.perf_counter() - t0
    f_dev = place.function([net.x, net.y], cost, updates=updates, name="train_resident",
                           resident=True)
    f_nog = (place.function([net.x, net.y], cost, updates=updates, name="train_no_graphs",
                            cuda_graphs=False) if graphs_row else None)
    data = batches(kind, sz.pool, batch)
    dev_data = [(place.put(x), place.put(y)) for x, y in data]
    info = {"compile_s": compile_s, "kernel_stats": f_host.kernel_stats,
            "resident_kernel_stats": f_dev.kernel_stats,
            "batch": batch, "steps_per_rep": steps, "reps": sz.reps}

    # Both sides from the same weights on the same batches: the losses agree.
    t_losses: list[float] = []
    p_losses: list[float] = []
    for i in range(CHECK_STEPS):
        t_losses.append(float(f_host(*data[i % len(data)])))
    agree = True
    if tch.ok:
        torch = tch.torch
        forward, params, opt = torch_model(kind, torch, init, tch.dev)
        F = torch.nn.functional
        host_y = [y.astype(np.int64) for _, y in data]
        dev_t = [(torch.from_numpy(x).to(tch.dev), torch.from_numpy(y).to(tch.dev))
                 for (x, _), y in zip(data, host_y)]

        def torch_step(x, y):
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(forward(x), y)
            loss.backward()
            opt.step()
            return loss

        def torch_host(i: int) -> float:
            x, _ = data[i % len(data)]
            y = host_y[i % len(data)]
            return torch_step(torch.from_numpy(x).to(tch.dev),
                              torch.from_numpy(y).to(tch.dev)).item()

        def torch_resident(i: int) -> None:
            torch_step(*dev_t[i % len(dev_t)])

        for i in range(CHECK_STEPS):
            p_losses.append(torch_host(i))
        worst = max(abs(a - b) / max(1.0, abs(b)) for a, b in zip(t_losses, p_losses))
        agree = worst <= LOSS_RTOL
        info["loss_check"] = {"theanine": t_losses, "torch": p_losses, "worst_rel": worst,
                              "agree": agree}

    def theanine_host(i: int) -> float:
        return float(f_host(*data[i % len(data)]))

    def theanine_resident(i: int) -> None:
        f_dev(*dev_data[i % len(dev_data)])

    # What the resident step gives back: a DeviceArray on the device (nothing
    # copied to the host), the loss of this step.
    info["resident_output"] = type(f_dev(*dev_data[0])).__name__

    def theanine_no_graphs(i: int) -> float:
        return float(f_nog(*data[i % len(data)]))

    tclock = Clock(place.sync)
    variants = [(theanine_host, torch_host if tch.ok else None),
                (theanine_resident, torch_resident if tch.ok else None)]
    if graphs_row:
        variants.append((theanine_no_graphs, torch_host if tch.ok else None))
    for row, (t_call, p_call) in zip(rows, variants):
        sides = {"theanine": (tclock, t_call)}
        if p_call is not None:
            sides["torch"] = (Clock(tch.sync), p_call)
        for clock, call in sides.values():
            clock.warm(call, sz.warm_s)
        samples = interleaved(sides, steps, sz.reps)
        row.theanine = timing(samples["theanine"])
        row.data = {**info, "samples_s": samples}
        if graphs_row:
            row.data["cuda_graph_info"] = {"step": f_host.cuda_graph_info,
                                           "resident": f_dev.cuda_graph_info}
        if tch.ok:
            row.torch = timing(samples["torch"])
            ratios = [a / b for a, b in zip(samples["theanine"], samples["torch"])]
            row.ratio = ratio_text(ratios)
            row.met = judge(statistics.median(ratios), "≤", bound, agree)
            row.data["ratios"] = ratios
        else:
            row.torch, row.ratio, row.met = f"n/a: {tch.reason}", "", "no figure"
    if graphs_row:
        with_graphs = statistics.median(rows[0].data["samples_s"]["theanine"])
        without = statistics.median(rows[-1].data["samples_s"]["theanine"])
        rows[-1].met = ("yes" if without >= with_graphs else
                        "NO: graphs are slower here, their default should be off")
        rows[-1].data["graphs_speedup"] = without / with_graphs
    return rows


# ---- the fused elementwise kernel against a copy ---------------------------------------

def bench_elemwise(sz: Sizes, place: Place, tch: Torch) -> list[Row]:
    import theanine.tensor as T

    n = sz.elem_n

    def gbs(s: float) -> str:  # read 4 bytes and write 4 per element
        return f"{8 * n / s / 1e9:.4g} GB/s"

    xv = (np.random.default_rng(SEED + 3).random(n, dtype=np.float32) * 2 - 1)
    a, x, b = T.fscalar("a"), T.fvector("x"), T.fscalar("b")
    f = place.function([a, x, b], T.tanh(a * x + b), resident=True, name="elemwise")
    neg = place.function([x], -x, resident=True, name="negate")
    xd = place.put(xv)
    try:  # scalars on the device too, where 0-d DeviceArrays exist
        ad, bd = place.put(np.float32(ELEM_A)), place.put(np.float32(ELEM_B))
        f(ad, xd, bd)
    except Exception:  # noqa: BLE001
        ad, bd = np.float32(ELEM_A), np.float32(ELEM_B)
    want = np.tanh(np.float32(ELEM_A) * xv + np.float32(ELEM_B))
    got = np.asarray(f(ad, xd, bd))
    err = float(np.max(np.abs(got - want)))
    correct = got.shape == want.shape and err <= 1e-5
    neg_ok = bool(np.array_equal(np.asarray(neg(xd)), -xv))

    tclock = Clock(place.sync)
    sides = {"elemwise": (tclock, lambda i: f(ad, xd, bd)),
             "negate": (tclock, lambda i: neg(xd))}
    if tch.ok:
        torch = tch.torch
        xt = torch.from_numpy(xv).to(tch.dev)
        yt = torch.empty_like(xt)
        pclock = Clock(tch.sync)

        def torch_elem(i: int) -> None:
            torch.mul(xt, ELEM_A, out=yt)
            yt.add_(ELEM_B)
            yt.tanh_()
        sides["torch_copy"] = (pclock, lambda i: yt.copy_(xt))
        sides["torch_elemwise"] = (pclock, torch_elem)
    for clock, call in sides.values():
        clock.warm(call, sz.warm_s)
    s = interleaved(sides, sz.elem_calls, sz.reps)
    copy_key = "torch_copy" if tch.ok else "negate"
    copy_name = "torch y.copy_(x)" if tch.ok else "theanine -x"
    fractions = [c / e for c, e in zip(s[copy_key], s["elemwise"])]
    med = lambda k: statistics.median(s[k])  # noqa: E731

    copy_row = Row("copy", f"device-to-device copy, {n:,} float32 (the ceiling)",
                   theanine=f"{gbs(med('negate'))} (-x)",
                   torch=f"{gbs(med('torch_copy'))} (copy_)" if tch.ok
                   else f"n/a: {tch.reason}",
                   data={"samples_s": {k: s[k] for k in s if k in ("negate", "torch_copy")},
                         "negate_correct": neg_ok})
    elem_row = Row("elemwise", f"fused tanh(a*x+b), {n:,} float32, DeviceArray in and out",
                   theanine=f"{gbs(med('elemwise'))} = "
                            f"{100 * statistics.median(fractions):.0f}% of {copy_name}",
                   target="≥ 70% of copy",
                   met=judge(statistics.median(fractions), "≥", 0.70, correct),
                   data={"samples_s": {k: s[k] for k in s if "elemwise" in k},
                         "fraction_of_copy": fractions, "copy_reference": copy_name,
                         "max_abs_error": err, "correct": correct,
                         "scalars_on_device": place.device == "cuda" and
                         not isinstance(ad, np.floating)})
    if tch.ok:
        r = [a / b for a, b in zip(s["elemwise"], s["torch_elemwise"])]
        elem_row.torch = f"{gbs(med('torch_elemwise'))} (eager: 3 kernels)"
        elem_row.ratio = ratio_text(r)
    else:
        elem_row.torch = f"n/a: {tch.reason}"
    return [copy_row, elem_row]


# ---- compiling the MLP training function in fresh processes -----------------------------

def compile_probe(device: str) -> None:
    """In a fresh process (THEANINE_CACHE_DIR set by the caller): builds the MLP
    training graph, times theanine.function() on it, and prints one JSON line."""
    t = time.perf_counter()
    import theanine

    imported = time.perf_counter() - t
    t = time.perf_counter()
    theanine.config.device = device
    if device == "cuda":
        theanine.to_device(np.zeros(1, np.float32))  # the context: not compile time
    device_init = time.perf_counter() - t
    t = time.perf_counter()
    net, cost, updates = example_network("mlp", theanine)
    graph = time.perf_counter() - t
    t = time.perf_counter()
    f = theanine.function([net.x, net.y], cost, updates=updates, name="train")
    wall = time.perf_counter() - t
    stats = dict(f.kernel_stats)
    net2, cost2, updates2 = example_network("mlp", theanine)
    t = time.perf_counter()
    f2 = theanine.function([net2.x, net2.y], cost2, updates=updates2, name="train")
    again = time.perf_counter() - t
    print(json.dumps({"function_s": wall, "kernel_stats": stats, "device": f.device,
                      "again_in_process_s": again, "again_kernel_stats": dict(f2.kernel_stats),
                      "graph_s": graph, "import_s": imported, "device_init_s": device_init}))


def run_probe(device: str, cache: str, timeout: float) -> dict:
    env = dict(os.environ, THEANINE_CACHE_DIR=cache)
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--compile-probe",
                           device],
                          env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"compile probe exited with {proc.returncode}: "
                           f"{proc.stderr.strip()[-800:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_compile(sz: Sizes, device: str, scratch: Path) -> list[Row]:
    cold: list[dict] = []
    disk: list[dict] = []
    timeout = 600.0 if sz.name == "tiny" else 180.0
    for k in range(sz.compile_pairs):
        cache = tempfile.mkdtemp(prefix=f"cache-{k}-", dir=scratch)
        cold.append(run_probe(device, cache, timeout))
        disk.append(run_probe(device, cache, timeout))

    def row(id_: str, title: str, runs: list[dict], bound_ms: float, want_hit: bool) -> Row:
        wall = [r["function_s"] for r in runs]
        m, lo, hi = median_spread(wall)
        ks = runs[len(runs) // 2]["kernel_stats"]
        nvrtc = statistics.median(r["kernel_stats"].get("milliseconds", 0.0) for r in runs)
        hits = [bool(r["kernel_stats"].get("disk_hit")) for r in runs]
        # A cold build served by the cache, or a disk build that compiled, measures
        # something else than its title: not judged.
        consistent = all(h == want_hit for h in hits) and all(r["device"] == device
                                                               for r in runs)
        return Row(id_, title,
                   theanine=f"{m * 1e3:.0f} ms ({lo * 1e3:.0f}–{hi * 1e3:.0f}); "
                            f"{'NVRTC' if device == 'cuda' else 'LLVM'} "
                            f"{nvrtc:.0f} ms, {ks.get('kernels', '?')} kernels, "
                            f"{ks.get('compiled', '?')} compiled, disk hit "
                            f"{'yes' if all(hits) else 'no' if not any(hits) else 'mixed'}",
                   torch="n/a: eager, nothing to compile",
                   target=f"≤ {bound_ms:g} ms",
                   met=judge(m * 1e3, "≤", bound_ms, consistent),
                   data={"runs": runs})

    return [row("compile_cold", "MLP train function: theanine.function(), fresh process, "
                "empty THEANINE_CACHE_DIR", cold, 1500, False),
            row("compile_disk", "MLP train function: theanine.function(), second fresh "
                "process, same THEANINE_CACHE_DIR", disk, 50, True)]


# ---- the report -------------------------------------------------------------------------

def environment(place: Place, tch: Torch, sz: Sizes, tf32: bool) -> dict:
    core = place.theanine._core
    d = {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
         "sizes": sz.name, "host": platform.node(), "python": platform.python_version(),
         "theanine_core": core.__file__, "tf32": tf32, "on": place.device,
         "emulator": os.environ.get("THEANINE_CUDA_EMULATOR", "")}
    if place.device == "cpu":
        d["device"] = {"name": f"the CPU ({platform.processor() or platform.machine()}), "
                               "--cpu"}
        return {**d, "torch": tch.info()}
    try:
        d["device"] = {k: (list(v) if isinstance(v, tuple) else v)
                       for k, v in core.cuda_device_info().items()}
        d["allocator"] = dict(core.cuda_allocator_stats())
    except RuntimeError as e:
        d["device"] = {"error": str(e)}
    d["torch"] = tch.info()
    return d


def markdown(rows: list[Row], env: dict) -> str:
    dev = env.get("device", {})
    where = dev.get("name", dev.get("error", "?"))
    if "compute_capability" in dev:
        where += (f", compute capability {'.'.join(map(str, dev['compute_capability']))}, "
                  f"{dev.get('multiprocessors', '?')} SMs, "
                  f"{dev.get('total_memory', 0) / 2**30:.0f} GiB, driver "
                  f"{dev.get('driver_version', '?')}")
    torch = ", ".join(f"{k} {v}" for k, v in env["torch"].items())
    head = [f"# theanine on CUDA against PyTorch ({env['sizes']} sizes, {env['date']})", "",
            f"Device: {where}. PyTorch: {torch}. Float32 "
            f"{'with TF32 GEMMs on both sides' if env['tf32'] else 'without TF32'}.", ""]
    if env.get("emulator"):
        head += ["**Software CUDA device (THEANINE_CUDA_EMULATOR): the figures mean "
                 "nothing.**", ""]
    if env["on"] == "cpu":
        head += ["**--cpu: both sides on the CPU, to test this script; the figures say "
                 "nothing about the GPU.**", ""]
    if env["sizes"] == "tiny":
        head += ["**--tiny sizes: a smoke test, the figures mean nothing.**", ""]
    lines = ["| figure | theanine | PyTorch | ratio | target | met |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        cells = [r.figure, r.theanine, r.torch, r.ratio, r.target, r.met]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    notes = ["", "Ratio: theanine's time over PyTorch's (median of the per-repetition "
             "ratios, min-max); times are medians per step or call (min-max)."]
    for r in rows:
        lc = r.data.get("loss_check")
        if lc and r.id.endswith("_step"):
            notes.append(f"- {r.id}: losses of the first {CHECK_STEPS} steps from the same "
                         f"weights agree to {lc['worst_rel']:.1e} (relative; bound "
                         f"{LOSS_RTOL:g}): {'yes' if lc['agree'] else 'NO'}")
        if r.id == "elemwise" and "max_abs_error" in r.data:
            notes.append(f"- elemwise: max |error| against NumPy {r.data['max_abs_error']:.1e}; "
                         f"scalars a, b as DeviceArrays: {r.data['scalars_on_device']}")
        if r.failed:
            notes.append(f"- {r.id} failed: {r.data.get('error', '')}")
    return "\n".join(head + lines + notes) + "\n"


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="bench/gpu.py", description=__doc__.split("\n\n")[0])
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="fewer repetitions")
    size.add_argument("--tiny", action="store_true",
                      help="tiny sizes and repetitions (smoke tests; figures mean nothing)")
    p.add_argument("--out", help="also write the Markdown table here")
    p.add_argument("--json", help="write every sample and detail here")
    p.add_argument("--only", default=",".join(ROWS),
                   help=f"comma-separated subset of {','.join(ROWS)}")
    p.add_argument("--require", action="store_true",
                   help="exit 2 when there is no CUDA device (default: say so, exit 0)")
    p.add_argument("--tf32", action="store_true",
                   help="TF32 GEMMs and convolutions on both sides")
    p.add_argument("--cpu", action="store_true",
                   help="run every row on the CPU (tests this script without a GPU)")
    p.add_argument("--compile-probe", choices=["cuda", "cpu"], help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.compile_probe:
        compile_probe(args.compile_probe)
        return 0
    only = [s for s in args.only.split(",") if s]
    unknown = set(only) - set(ROWS)
    if unknown:
        p.error(f"--only: unknown {sorted(unknown)} (choose from {', '.join(ROWS)})")
    if args.tf32:
        os.environ["THEANINE_CUDA_TF32"] = "1"  # read when theanine loads cuBLAS
    sz = SIZES["tiny" if args.tiny else "quick" if args.quick else "full"]

    device = "cpu" if args.cpu else "cuda"
    tch = Torch(args.tf32, device)  # first: its CUDA libraries are then the ones loaded
    import theanine

    def emit(text: str) -> None:
        print(text, end="", flush=True)
        if args.out:
            Path(args.out).write_text(text)

    if device == "cuda" and not theanine._core.cuda_available():
        emit(f"bench/gpu.py: no CUDA device ({theanine._core.cuda_unavailable_reason()}): "
             "nothing measured\n")
        return 2 if args.require else 0

    theanine.config.device = device
    place = Place(theanine, device)
    rows: list[Row] = []
    steps = {"mlp": lambda: bench_training("mlp", sz, place, tch),
             "cnn": lambda: bench_training("cnn", sz, place, tch),
             "elemwise": lambda: bench_elemwise(sz, place, tch)}
    with tempfile.TemporaryDirectory(prefix="gpu-bench-") as scratch:
        steps["compile"] = lambda: bench_compile(sz, device, Path(scratch))
        for key in ROWS:
            if key not in only:
                continue
            t = time.perf_counter()
            print(f"bench/gpu.py: {key} ...", file=sys.stderr, flush=True)
            try:
                rows += steps[key]()
            except Exception as e:  # noqa: BLE001  (a failing row must not hide the others)
                traceback.print_exc()
                rows.append(Row(key, f"{key}: failed", theanine=f"failed: {type(e).__name__}",
                                met="no figure", failed=True,
                                data={"error": f"{type(e).__name__}: {e}"}))
            print(f"bench/gpu.py: {key} took {time.perf_counter() - t:.1f} s", file=sys.stderr,
                  flush=True)
    env = environment(place, tch, sz, args.tf32)
    emit(markdown(rows, env))
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"environment": env, "rows": [r.__dict__ for r in rows]}, indent=1, default=str))
    return 1 if any(r.failed for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
