"""PyTorch on the CPU, eager mode, at the intra-op thread count of its setting."""
from __future__ import annotations

import os

import numpy as np
import torch
import torch.nn.functional as F

from peers import Ctx, Task, Unsupported
from peers.common import (copy_reference, elem_inputs, gemm_inputs, overhead_input,
                          softmax_input, sum_input, training_tasks)
from workloads import BATCH, CNN_POOLS, LR, MOMENTUM, WEIGHT_DECAY, batches

torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "1")))


def info() -> dict:
    return {"versions": {"torch": torch.__version__},
            "intra_op_threads": torch.get_num_threads(),
            "blas_api": "MKL (statically linked), oneDNN for convolutions"
            if torch.backends.mkl.is_available() else "see torch.__config__.show()",
            "parallel": torch.__config__.parallel_info().splitlines()[:8]}


class Model:
    def __init__(self, forward, init, tx, ty):
        self.forward = forward
        self.params = [torch.tensor(p, requires_grad=True) for p in init]
        self.opt = torch.optim.SGD(self.params, lr=LR, momentum=MOMENTUM,
                                   weight_decay=WEIGHT_DECAY)
        self.tx, self.ty = torch.from_numpy(tx), torch.from_numpy(ty).long()
        self.batches = batches(len(tx))

    def step(self, k: int) -> None:
        s = self.batches[k]
        self.opt.zero_grad(set_to_none=True)
        F.cross_entropy(self.forward(self.params, self.tx[s]), self.ty[s]).backward()
        self.opt.step()

    def sync(self) -> None:
        pass

    def predict(self, x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return np.concatenate([self.forward(self.params, torch.from_numpy(x[i:i + BATCH]))
                                   .argmax(1).numpy() for i in range(0, len(x), BATCH)])


def mlp_forward(p, x):
    h = torch.tanh(x @ p[0] + p[1])
    h = torch.tanh(h @ p[2] + p[3])
    return h @ p[4] + p[5]


def cnn_forward(p, x):
    h = x
    for K, c, k in ((p[0], p[1], CNN_POOLS[0]), (p[2], p[3], CNN_POOLS[1])):
        h = torch.tanh(F.max_pool2d(F.conv2d(h, K), k, stride=k) + c[:, None, None])
    h = torch.tanh(h.flatten(1) @ p[4] + p[5])
    return h @ p[6] + p[7]


def overhead(ctx: Ctx) -> Task:
    a = torch.from_numpy(overhead_input())
    return Task(run=lambda: a * 2 + 1)


def elemwise(ctx: Ctx) -> Task:
    av, xv, bv = elem_inputs(ctx)
    a, x, b = float(av), torch.from_numpy(xv), float(bv)
    out = torch.empty_like(x)

    def run() -> None:
        torch.mul(x, a, out=out)
        out.add_(b)
        out.tanh_()
    return Task(run=run, reference=copy_reference(xv))


def gemm(ctx: Ctx) -> Task:
    A, B = (torch.from_numpy(m) for m in gemm_inputs(ctx))
    C = torch.empty_like(A)
    return Task(run=lambda: torch.matmul(A, B, out=C))


def softmax(ctx: Ctx) -> Task:
    xv = softmax_input(ctx)
    x = torch.from_numpy(xv)
    return Task(run=lambda: torch.softmax(x, dim=1), reference=copy_reference(xv))


def sum_task(ctx: Ctx) -> Task:
    xv = sum_input(ctx)
    x = torch.from_numpy(xv)
    return Task(run=lambda: x.sum(), reference=copy_reference(xv))


def mlp_compile(ctx: Ctx) -> Task:
    raise Unsupported("n/a: eager, nothing to compile")


TASKS = {"overhead": overhead, "elemwise": elemwise, "gemm": gemm, "softmax": softmax,
         "sum": sum_task, "mlp_compile": mlp_compile,
         **training_tasks("mlp", lambda i, tx, ty: Model(mlp_forward, i, tx, ty)),
         **training_tasks("cnn", lambda i, tx, ty: Model(cnn_forward, i, tx, ty))}
