"""What all peers share: the inputs of the small benchmarks, the plain-copy
reference, and the training loop (epoch and accuracy) around a peer's model."""
from __future__ import annotations

from typing import Callable, Protocol

import numpy as np

from peers import Ctx, Task
from workloads import SEED, batches, cnn_init, mlp_init


def rng(offset: int) -> np.random.Generator:
    return np.random.default_rng(SEED + 100 + offset)


def overhead_input() -> np.ndarray:
    return np.ones(16, np.float32)


def elem_inputs(ctx: Ctx) -> tuple[np.float32, np.ndarray, np.float32]:
    """a, x, b of tanh(a*x+b): scalars a, b and ctx.mode.elem_n values of x."""
    x = rng(1).random(ctx.mode.elem_n, dtype=np.float32) * 2 - 1
    return np.float32(0.75), x, np.float32(0.1)


def copy_reference(x: np.ndarray) -> Callable[[], None]:
    """A plain copy of x (read n, write n: the bytes the fused expression moves)."""
    out = np.empty_like(x)
    return lambda: np.copyto(out, x)


def gemm_inputs(ctx: Ctx) -> tuple[np.ndarray, np.ndarray]:
    n = ctx.mode.gemm_n
    r = rng(2)
    return (r.random((n, n), dtype=np.float32), r.random((n, n), dtype=np.float32))


def softmax_input(ctx: Ctx) -> np.ndarray:
    return rng(3).standard_normal(ctx.mode.softmax_shape, dtype=np.float32)


class Model(Protocol):
    """A peer's model, built from the shared initial weights and training set."""

    def step(self, k: int) -> None:
        """One SGD-momentum step on batch k (may run asynchronously)."""

    def sync(self) -> None:
        """Waits until every step has finished."""

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted labels."""


MakeModel = Callable[[list[np.ndarray], np.ndarray, np.ndarray], Model]


def _split(ctx: Ctx, kind: str):
    m = ctx.mode
    if kind == "mlp":
        return ctx.data.split(m.mlp_train, m.mlp_test), mlp_init(), m.mlp_epochs
    return ctx.data.split(m.cnn_train, m.cnn_test, images=True), cnn_init(), m.cnn_epochs


def _epoch(model: Model, n_batches: int) -> None:
    for k in range(n_batches):
        model.step(k)
    model.sync()


def training_tasks(kind: str, make: MakeModel) -> dict[str, Callable[[Ctx], Task]]:
    """The tasks "<kind>_epoch" (one epoch over the training subset, timed) and
    "<kind>_accuracy" (the test accuracy in % after the mode's epochs from the
    shared initial weights)."""

    def epoch(ctx: Ctx) -> Task:
        (tx, ty, _, _), init, _ = _split(ctx, kind)
        model = make(init, tx, ty)
        nb = len(batches(len(tx)))

        def warm() -> None:
            model.step(0)
            model.sync()
        return Task(run=lambda: _epoch(model, nb), warmup=warm, repeat=False)

    def accuracy(ctx: Ctx) -> Task:
        def run() -> float:
            (tx, ty, vx, vy), init, epochs = _split(ctx, kind)
            model = make(init, tx, ty)
            for _ in range(epochs):
                _epoch(model, len(batches(len(tx))))
            return 100.0 * float(np.mean(np.asarray(model.predict(vx)) == vy))
        return Task(run=run, repeat=False)

    return {f"{kind}_epoch": epoch, f"{kind}_accuracy": accuracy}
