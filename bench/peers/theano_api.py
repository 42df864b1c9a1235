"""The tasks written once against Theano's API, run by theanine and by PyTensor:
`tasks(lib, T, ...)` with `lib` the package (theanine or pytensor) and `T` its
tensor module."""
from __future__ import annotations

import gc
import statistics
import time
from types import ModuleType
from typing import Any, Callable, Optional

import numpy as np

from peers import Ctx, Task, Unsupported
from peers.common import (copy_reference, elem_inputs, gemm_inputs, overhead_input,
                          sgemm_reference, softmax_input, sum_input, training_tasks)
from workloads import (BATCH, CNN_POOLS, LR, MOMENTUM, WEIGHT_DECAY, batches, mlp_init)


def tasks(lib: ModuleType, T: ModuleType, fn_kwargs: dict,
          softmax: Callable[[Any], Any], conv_ops: Callable[[], tuple],
          no_optimization: Optional[Any] = None, reference_mode: Optional[Any] = None,
          ) -> dict[str, Callable[[Ctx], Task]]:
    """`softmax(X)`: the library's best row softmax; `conv_ops()`: (conv2d, pool_2d)
    in Theano's signatures, or raises Unsupported; `no_optimization`: the `mode`
    argument of `lib.function` that skips the graph rewrites (then the task
    "mlp_optimize" times the rewriting of the default mode); `reference_mode`: the
    `mode` that runs every node on the interpreter (then "elemwise_reference" times
    the elementwise benchmark there)."""

    def function(inputs, outputs, updates=None, **kw):
        return lib.function(inputs, outputs, updates=updates, **{**fn_kwargs, **kw})

    def sgd(cost, params):
        """SGD with momentum and weight decay as updates:
        v = mu*v - lr*(g + wd*w); w = w + v."""
        updates = []
        for p, g in zip(params, T.grad(cost, params)):
            v = lib.shared(np.zeros_like(p.get_value()), name=f"v_{p.name}")
            v_new = MOMENTUM * v - LR * (g + WEIGHT_DECAY * p)
            updates += [(v, v_new), (p, p + v_new)]
        return updates

    def crossentropy(z, y):
        """The manual softmax exp(z - max)/sum and -mean(log(p)[arange(n), y])."""
        e = T.exp(z - z.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        return -T.mean(T.log(p)[T.arange(y.shape[0]), y])

    def shared_params(init: list[np.ndarray]) -> list:
        return [lib.shared(p.copy(), name=f"p{i}") for i, p in enumerate(init)]

    def mlp_graph(init: list[np.ndarray]):
        """(x, y, z, cost, updates) of the MLP's training step."""
        x, y = T.fmatrix("x"), T.ivector("y")
        params = shared_params(init)
        h = x
        for i in range(0, len(params), 2):
            z = T.dot(h, params[i]) + params[i + 1]
            h = T.tanh(z) if i + 2 < len(params) else z
        cost = crossentropy(z, y)
        return x, y, z, cost, sgd(cost, params)

    def build_mlp(init: list[np.ndarray]):
        x, y, z, cost, updates = mlp_graph(init)
        return (function([x, y], cost, updates=updates),
                function([x], T.argmax(z, axis=1)))

    def build_cnn(init: list[np.ndarray]):
        conv2d, pool_2d = conv_ops()
        x, y = T.ftensor4("x"), T.ivector("y")
        params = shared_params(init)
        K1, c1, K2, c2, W3, b3, W4, b4 = params
        h = x
        for K, c, p in ((K1, c1, CNN_POOLS[0]), (K2, c2, CNN_POOLS[1])):
            a = conv2d(h, K, filter_flip=False)  # valid, stride 1
            pooled = pool_2d(a, ws=(p, p), stride=(p, p), ignore_border=True)  # max
            h = T.tanh(pooled + c.dimshuffle("x", 0, "x", "x"))
        h = T.tanh(T.dot(h.flatten(2), W3) + b3)
        z = T.dot(h, W4) + b4
        cost = crossentropy(z, y)
        return (function([x, y], cost, updates=sgd(cost, params)),
                function([x], T.argmax(z, axis=1)))

    class Model:
        def __init__(self, build, init, tx, ty):
            self.train, self.predict_fn = build(init)
            self.tx, self.ty, self.batches = tx, ty, batches(len(tx))

        def step(self, k: int) -> None:
            s = self.batches[k]
            self.train(self.tx[s], self.ty[s])

        def sync(self) -> None:
            pass

        def predict(self, x: np.ndarray) -> np.ndarray:
            return np.concatenate([self.predict_fn(x[i:i + BATCH])
                                   for i in range(0, len(x), BATCH)])

    def overhead(ctx: Ctx) -> Task:
        x = T.fvector("x")
        f = function([x], x * 2 + 1)
        a = overhead_input()
        return Task(run=lambda: f(a))

    def elemwise(ctx: Ctx, **kw) -> Task:
        a, x, b = T.fscalar("a"), T.fvector("x"), T.fscalar("b")
        f = function([a, x, b], T.tanh(a * x + b), **kw)
        av, xv, bv = elem_inputs(ctx)
        return Task(run=lambda: f(av, xv, bv), reference=copy_reference(xv))

    def gemm(ctx: Ctx) -> Task:
        A, B = T.fmatrix("A"), T.fmatrix("B")
        f = function([A, B], T.dot(A, B))
        av, bv = gemm_inputs(ctx)
        direct, library = sgemm_reference(av, bv)
        return Task(run=lambda: f(av, bv), reference=direct, info={"sgemm_library": library})

    def softmax_task(ctx: Ctx) -> Task:
        X = T.fmatrix("X")
        f = function([X], softmax(X))
        xv = softmax_input(ctx)
        return Task(run=lambda: f(xv), reference=copy_reference(xv))

    def sum_task(ctx: Ctx) -> Task:
        X = T.fmatrix("X")
        f = function([X], X.sum())
        xv = sum_input(ctx)
        return Task(run=lambda: f(xv), reference=copy_reference(xv))

    def mlp_compile(ctx: Ctx) -> Task:
        """The training function's build (graph, gradient, compile); what compiling
        its kernels took is reported where the library says (theanine's
        `kernel_stats`)."""
        init = mlp_init()
        built: list = []

        def run() -> None:
            x, y, _, cost, updates = mlp_graph(init)
            built[:] = [function([x, y], cost, updates=updates)]

        def details() -> dict:
            stats = getattr(built[0], "kernel_stats", None) if built else None
            return {"kernel_stats": dict(stats)} if stats is not None else {}
        return Task(run=run, repeat=False, details=details)

    def mlp_optimize(ctx: Ctx) -> Task:
        """The time `function` spends rewriting the MLP's training graph: the median
        build time in the default mode minus the median in `no_optimization`,
        from ctx.mode.opt_pairs builds of each, interleaved (the order alternating
        per pair) after one untimed build of each. Each build gets a new graph
        (made untimed: the timed part is the `function` call alone)."""
        init = mlp_init()
        default = fn_kwargs.get("mode")

        def build(mode) -> tuple[float, float, Any]:
            """(wall s, this thread's CPU s, the function) of one `function` call."""
            x, y, _, cost, updates = mlp_graph(init)
            gc.collect()
            gc.disable()
            try:
                t, c = time.perf_counter(), time.thread_time()
                f = function([x, y], cost, updates=updates, mode=mode)
                return time.perf_counter() - t, time.thread_time() - c, f
            finally:
                gc.enable()

        def run() -> dict:
            build(default)
            build(no_optimization)
            modes = {"default": default, "no_optimization": no_optimization}
            wall: dict[str, list[float]] = {k: [] for k in modes}
            cpu: dict[str, list[float]] = {k: [] for k in modes}
            stats: dict = {}
            for i in range(ctx.mode.opt_pairs):
                for which in list(modes)[::1 if i % 2 == 0 else -1]:
                    s, c, f = build(modes[which])
                    wall[which].append(s)
                    cpu[which].append(c)
                    if which == "default":
                        stats = dict(f.rewrite_stats)
            med = {k: statistics.median(v) for k, v in wall.items()}
            cpu_med = {k: statistics.median(v) for k, v in cpu.items()}
            ms = lambda v: round(v * 1e3, 4)  # noqa: E731
            return {"value": (med["default"] - med["no_optimization"]) * 1e3,  # ms
                    "rewrites": int(sum(stats.values())),
                    "rewrite_stats": stats,
                    "default_mode": str(getattr(getattr(lib, "config", None), "mode", default)),
                    "build_ms": {k: {"median": ms(med[k]), "min": ms(min(v)), "max": ms(max(v)),
                                     "samples": [ms(x) for x in v]} for k, v in wall.items()},
                    # the same difference in CPU time: what preemption on a busy machine
                    # cannot inflate
                    "cpu_ms": {**{k: ms(v) for k, v in cpu_med.items()},
                               "difference": ms(cpu_med["default"] - cpu_med["no_optimization"])}}
        return Task(run=run, repeat=False)

    out = {"mlp_optimize": mlp_optimize} if no_optimization is not None else {}
    if reference_mode is not None:
        out["elemwise_reference"] = lambda ctx: elemwise(ctx, mode=reference_mode)
    return {"overhead": overhead, "elemwise": elemwise, "gemm": gemm, "softmax": softmax_task,
            "sum": sum_task,
            "mlp_compile": mlp_compile, **out,
            **training_tasks("mlp", lambda init, tx, ty: Model(build_mlp, init, tx, ty)),
            **training_tasks("cnn", lambda init, tx, ty: Model(build_cnn, init, tx, ty))}


def manual_softmax(T: ModuleType) -> Callable[[Any], Any]:
    def f(X):
        e = T.exp(X - X.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    return f


def find(module_path: str, name: str) -> Optional[Any]:
    """module_path.name if it imports, else None."""
    import importlib

    try:
        return getattr(importlib.import_module(module_path), name, None)
    except ImportError:
        return None


def require(reason: str, *ops: Optional[Any]) -> tuple:
    if any(op is None for op in ops):
        raise Unsupported(reason)
    return ops
