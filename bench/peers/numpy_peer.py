"""NumPy, hand-written: forward and backward passes by hand, in-place where it helps."""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from peers import Ctx, Task, Unsupported
from peers.common import (copy_reference, elem_inputs, gemm_inputs, overhead_input,
                          softmax_input, sum_input, training_tasks)
from workloads import BATCH, CNN_POOLS, LR, MOMENTUM, WEIGHT_DECAY, batches


def info() -> dict:
    return {"versions": {"numpy": np.__version__}, "blas_api": "numpy.matmul -> OpenBLAS sgemm"}


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    e /= e.sum(axis=1, keepdims=True)
    return e


class _SGD:
    """Parameters with momentum and weight decay: v = mu*v - lr*(g + wd*w); w += v
    (in place)."""

    def __init__(self, params: list[np.ndarray]):
        self.params = [p.copy() for p in params]
        self.vel = [np.zeros_like(p) for p in params]

    def update(self, grads: list[np.ndarray]) -> None:
        for p, v, g in zip(self.params, self.vel, grads):
            g += WEIGHT_DECAY * p  # g is this step's own array
            v *= MOMENTUM
            v -= LR * g
            p += v


def _dlogits(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """d mean crossentropy(softmax(z), y) / dz."""
    d = _softmax(z)
    d[np.arange(len(y)), y] -= 1
    d /= len(y)
    return d


class MLP(_SGD):
    def __init__(self, params, tx, ty):
        super().__init__(params)
        self.tx, self.ty, self.batches = tx, ty, batches(len(tx))

    def forward(self, x):
        W1, b1, W2, b2, W3, b3 = self.params
        h1 = np.tanh(x @ W1 + b1)
        h2 = np.tanh(h1 @ W2 + b2)
        return h1, h2, h2 @ W3 + b3

    def step(self, k: int) -> None:
        s = self.batches[k]
        x, y = self.tx[s], self.ty[s]
        W1, _, W2, _, W3, _ = self.params
        h1, h2, z = self.forward(x)
        dz = _dlogits(z, y)
        d2 = (dz @ W3.T) * (1 - h2 * h2)
        d1 = (d2 @ W2.T) * (1 - h1 * h1)
        self.update([x.T @ d1, d1.sum(0), h1.T @ d2, d2.sum(0), h2.T @ dz, dz.sum(0)])

    def sync(self) -> None:
        pass

    def predict(self, x):
        return self.forward(x)[2].argmax(axis=1)


def _conv(x: np.ndarray, K: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Valid cross-correlation by im2col: (out (B,F,Ho,Wo), cols (B*Ho*Wo, C*k*k))."""
    B, C, H, W = x.shape
    F, _, k, _ = K.shape
    Ho, Wo = H - k + 1, W - k + 1
    cols = sliding_window_view(x, (k, k), axis=(2, 3)).transpose(0, 2, 3, 1, 4, 5)
    cols = cols.reshape(B * Ho * Wo, C * k * k)
    out = cols @ K.reshape(F, -1).T
    return out.reshape(B, Ho, Wo, F).transpose(0, 3, 1, 2), cols


def _conv_back(d: np.ndarray, cols: np.ndarray, K: np.ndarray, x_shape, need_dx: bool):
    B, F, Ho, Wo = d.shape
    _, C, k, _ = K.shape
    d2 = d.transpose(0, 2, 3, 1).reshape(-1, F)
    dK = (d2.T @ cols).reshape(K.shape)
    if not need_dx:
        return dK, None
    dcols = (d2 @ K.reshape(F, -1)).reshape(B, Ho, Wo, C, k, k)
    dx = np.zeros(x_shape, d.dtype)
    for i in range(k):
        for j in range(k):
            dx[:, :, i:i + Ho, j:j + Wo] += dcols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return dK, dx


def _pool(x: np.ndarray, p: int) -> np.ndarray:
    """Max over non-overlapping p x p windows (stride p; H and W multiples of p)."""
    B, C, H, W = x.shape
    return x.reshape(B, C, H // p, p, W // p, p).max(axis=(3, 5))


def _pool_back(d: np.ndarray, x: np.ndarray, y: np.ndarray, p: int) -> np.ndarray:
    """The gradient to the maximum of each window (to every tied maximum)."""
    B, C, H, W = x.shape
    mask = x.reshape(B, C, H // p, p, W // p, p) == y[:, :, :, None, :, None]
    return (mask * d[:, :, :, None, :, None]).reshape(x.shape)


class CNN(MLP):
    def forward(self, x, keep=False):
        K1, c1, K2, c2, W3, b3, W4, b4 = self.params
        a1, cols1 = _conv(x, K1)
        p1 = _pool(a1, CNN_POOLS[0])
        h1 = np.tanh(p1 + c1[:, None, None])
        a2, cols2 = _conv(h1, K2)
        p2 = _pool(a2, CNN_POOLS[1])
        h2 = np.tanh(p2 + c2[:, None, None]).reshape(len(x), -1)
        h3 = np.tanh(h2 @ W3 + b3)
        z = h3 @ W4 + b4
        return (cols1, a1, p1, h1, cols2, a2, p2, h2, h3, z) if keep else z

    def step(self, k: int) -> None:
        s = self.batches[k]
        x, y = self.tx[s], self.ty[s]
        K1, _, K2, _, W3, _, W4, _ = self.params
        cols1, a1, p1, h1, cols2, a2, p2, h2, h3, z = self.forward(x, keep=True)
        dz = _dlogits(z, y)
        d3 = (dz @ W4.T) * (1 - h3 * h3)
        dh2 = ((d3 @ W3.T) * (1 - h2 * h2)).reshape(p2.shape)
        dK2, dh1 = _conv_back(_pool_back(dh2, a2, p2, CNN_POOLS[1]), cols2, K2, h1.shape, True)
        dp1 = dh1 * (1 - h1 * h1)
        dK1, _ = _conv_back(_pool_back(dp1, a1, p1, CNN_POOLS[0]), cols1, K1, x.shape, False)
        self.update([dK1, dp1.sum((0, 2, 3)), dK2, dh2.sum((0, 2, 3)),
                     h2.T @ d3, d3.sum(0), h3.T @ dz, dz.sum(0)])

    def predict(self, x):
        return np.concatenate([self.forward(x[i:i + BATCH]).argmax(axis=1)
                               for i in range(0, len(x), BATCH)])


def overhead(ctx: Ctx) -> Task:
    a = overhead_input()
    return Task(run=lambda: a * 2 + 1)


def elemwise(ctx: Ctx) -> Task:
    a, x, b = elem_inputs(ctx)
    out = np.empty_like(x)

    def run() -> None:
        np.multiply(x, a, out=out)
        np.add(out, b, out=out)
        np.tanh(out, out=out)
    return Task(run=run, reference=copy_reference(x))


def gemm(ctx: Ctx) -> Task:
    A, B = gemm_inputs(ctx)
    C = np.empty_like(A)
    return Task(run=lambda: np.matmul(A, B, out=C))


def softmax(ctx: Ctx) -> Task:
    x = softmax_input(ctx)
    buf = np.empty_like(x)

    def run() -> None:
        np.subtract(x, x.max(axis=1, keepdims=True), out=buf)
        np.exp(buf, out=buf)
        np.divide(buf, buf.sum(axis=1, keepdims=True), out=buf)
    return Task(run=run, reference=copy_reference(x))


def sum_task(ctx: Ctx) -> Task:
    x = sum_input(ctx)
    return Task(run=lambda: x.sum(), reference=copy_reference(x))


def mlp_compile(ctx: Ctx) -> Task:
    raise Unsupported("n/a: eager, nothing to compile")


TASKS = {"overhead": overhead, "elemwise": elemwise, "gemm": gemm, "softmax": softmax,
         "sum": sum_task, "mlp_compile": mlp_compile, **training_tasks("mlp", MLP), **training_tasks("cnn", CNN)}
