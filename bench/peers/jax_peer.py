"""JAX on the CPU: every task a jax.jit function, outputs waited for.

BENCH_CACHE_DIR (the fresh-process builds) turns on JAX's persistent compilation
cache in that folder, for every compile however short: the cold build writes it,
the disk-cache build reads what an earlier process wrote.
"""
from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from peers import Ctx, Task
from peers.common import (copy_reference, elem_inputs, gemm_inputs, overhead_input,
                          softmax_input, sum_input, training_tasks)
from workloads import BATCH, CNN_POOLS, LR, MOMENTUM, WEIGHT_DECAY, batches, mlp_init

jax.config.update("jax_platforms", "cpu")
if os.environ.get("BENCH_CACHE_DIR"):
    jax.config.update("jax_compilation_cache_dir",
                      os.path.join(os.environ["BENCH_CACHE_DIR"], "jax"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
jnp.zeros(1).block_until_ready()  # the backend starts here, not in the first task


def info() -> dict:
    import jaxlib

    return {"versions": {"jax": jax.__version__, "jaxlib": jaxlib.__version__},
            "devices": [str(d) for d in jax.devices()],
            "blas_api": "XLA:CPU's own GEMM/conv kernels (Eigen, oneDNN where enabled)"}


def mlp_forward(p, x):
    h = jnp.tanh(x @ p[0] + p[1])
    h = jnp.tanh(h @ p[2] + p[3])
    return h @ p[4] + p[5]


def cnn_forward(p, x):
    h = x
    for K, c, k in ((p[0], p[1], CNN_POOLS[0]), (p[2], p[3], CNN_POOLS[1])):
        a = lax.conv_general_dilated(h, K, (1, 1), "VALID",
                                     dimension_numbers=("NCHW", "OIHW", "NCHW"))
        a = lax.reduce_window(a, -jnp.inf, lax.max, (1, 1, k, k), (1, 1, k, k), "VALID")
        h = jnp.tanh(a + c[:, None, None])
    h = jnp.tanh(h.reshape(h.shape[0], -1) @ p[4] + p[5])
    return h @ p[6] + p[7]


def make_step(forward):
    """A new jitted SGD-momentum step with weight decay (a new function each time:
    no jit cache hit)."""
    def loss(params, x, y):
        return -jnp.mean(jax.nn.log_softmax(forward(params, x))[jnp.arange(y.shape[0]), y])

    def step(params, vel, x, y):
        g = jax.grad(loss)(params, x, y)
        vel = [MOMENTUM * v - LR * (gi + WEIGHT_DECAY * p) for v, gi, p in zip(vel, g, params)]
        return [p + v for p, v in zip(params, vel)], vel
    return jax.jit(step, donate_argnums=(0, 1))


class Model:
    def __init__(self, forward, init, tx, ty):
        self.forward, self.step_fn = forward, make_step(forward)
        self.params = [jnp.asarray(p) for p in init]
        self.vel = [jnp.zeros_like(p) for p in self.params]
        self.xb = [jnp.asarray(tx[s]) for s in batches(len(tx))]
        self.yb = [jnp.asarray(ty[s]) for s in batches(len(tx))]
        self.predict_fn = jax.jit(lambda p, x: jnp.argmax(forward(p, x), axis=1))

    def step(self, k: int) -> None:
        self.params, self.vel = self.step_fn(self.params, self.vel, self.xb[k], self.yb[k])

    def sync(self) -> None:
        jax.block_until_ready(self.params)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.concatenate([np.asarray(self.predict_fn(self.params, x[i:i + BATCH]))
                               for i in range(0, len(x), BATCH)])


def _jit_task(f, *args, reference=None) -> Task:
    f = jax.jit(f)
    args = [jnp.asarray(a) for a in args]
    return Task(run=lambda: f(*args).block_until_ready(), reference=reference)


def overhead(ctx: Ctx) -> Task:
    return _jit_task(lambda x: x * 2 + 1, overhead_input())


def elemwise(ctx: Ctx) -> Task:
    a, x, b = elem_inputs(ctx)
    return _jit_task(lambda a, x, b: jnp.tanh(a * x + b), a, x, b, reference=copy_reference(x))


def gemm(ctx: Ctx) -> Task:
    return _jit_task(jnp.dot, *gemm_inputs(ctx))


def softmax(ctx: Ctx) -> Task:
    x = softmax_input(ctx)
    return _jit_task(lambda x: jax.nn.softmax(x, axis=1), x, reference=copy_reference(x))


def sum_task(ctx: Ctx) -> Task:
    x = sum_input(ctx)
    return _jit_task(jnp.sum, x, reference=copy_reference(x))


def mlp_compile(ctx: Ctx) -> Task:
    """Tracing, lowering and compiling the training step (AOT, no call)."""
    init = mlp_init()
    params = [jnp.asarray(p) for p in init]
    x = jnp.zeros((BATCH, init[0].shape[0]), jnp.float32)
    y = jnp.zeros(BATCH, jnp.int32)
    return Task(run=lambda: make_step(mlp_forward).lower(params, params, x, y).compile(),
                repeat=False)


TASKS = {"overhead": overhead, "elemwise": elemwise, "gemm": gemm, "softmax": softmax,
         "sum": sum_task, "mlp_compile": mlp_compile,
         **training_tasks("mlp", lambda i, tx, ty: Model(mlp_forward, i, tx, ty)),
         **training_tasks("cnn", lambda i, tx, ty: Model(cnn_forward, i, tx, ty))}
