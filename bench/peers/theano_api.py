"""The tasks written once against Theano's API, run by theanine and by PyTensor:
`tasks(lib, T, ...)` with `lib` the package (theanine or pytensor) and `T` its
tensor module."""
from __future__ import annotations

from types import ModuleType
from typing import Any, Callable, Optional

import numpy as np

from peers import Ctx, Task, Unsupported
from peers.common import (copy_reference, elem_inputs, gemm_inputs, overhead_input,
                          softmax_input, training_tasks)
from workloads import BATCH, LR, MOMENTUM, batches, mlp_init


def tasks(lib: ModuleType, T: ModuleType, fn_kwargs: dict,
          softmax: Callable[[Any], Any], conv_ops: Callable[[], tuple],
          ) -> dict[str, Callable[[Ctx], Task]]:
    """`softmax(X)`: the library's best row softmax; `conv_ops()`: (conv2d, pool_2d)
    in Theano's signatures, or raises Unsupported."""

    def function(inputs, outputs, updates=None):
        return lib.function(inputs, outputs, updates=updates, **fn_kwargs)

    def sgd(cost, params):
        """SGD with momentum as updates: v = mu*v - lr*g; w = w + v."""
        updates = []
        for p, g in zip(params, T.grad(cost, params)):
            v = lib.shared(np.zeros_like(p.get_value()), name=f"v_{p.name}")
            v_new = MOMENTUM * v - LR * g
            updates += [(v, v_new), (p, p + v_new)]
        return updates

    def crossentropy(z, y):
        """The manual softmax exp(z - max)/sum and -mean(log(p)[arange(n), y])."""
        e = T.exp(z - z.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        return -T.mean(T.log(p)[T.arange(y.shape[0]), y])

    def shared_params(init: list[np.ndarray]) -> list:
        return [lib.shared(p.copy(), name=f"p{i}") for i, p in enumerate(init)]

    def build_mlp(init: list[np.ndarray]):
        x, y = T.fmatrix("x"), T.ivector("y")
        params = shared_params(init)
        h = x
        for i in range(0, len(params), 2):
            z = T.dot(h, params[i]) + params[i + 1]
            h = T.tanh(z) if i + 2 < len(params) else z
        cost = crossentropy(z, y)
        return (function([x, y], cost, updates=sgd(cost, params)),
                function([x], T.argmax(z, axis=1)))

    def build_cnn(init: list[np.ndarray]):
        conv2d, pool_2d = conv_ops()
        x, y = T.ftensor4("x"), T.ivector("y")
        params = shared_params(init)
        K1, c1, K2, c2, W3, b3, W4, b4 = params
        h = x
        for K, c in ((K1, c1), (K2, c2)):
            a = conv2d(h, K, filter_flip=False)
            h = T.tanh(pool_2d(a, ws=(2, 2), ignore_border=True) + c.dimshuffle("x", 0, "x", "x"))
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

    def elemwise(ctx: Ctx) -> Task:
        a, x, b = T.fscalar("a"), T.fvector("x"), T.fscalar("b")
        f = function([a, x, b], T.tanh(a * x + b))
        av, xv, bv = elem_inputs(ctx)
        return Task(run=lambda: f(av, xv, bv), reference=copy_reference(xv))

    def gemm(ctx: Ctx) -> Task:
        A, B = T.fmatrix("A"), T.fmatrix("B")
        f = function([A, B], T.dot(A, B))
        av, bv = gemm_inputs(ctx)
        return Task(run=lambda: f(av, bv))

    def softmax_task(ctx: Ctx) -> Task:
        X = T.fmatrix("X")
        f = function([X], softmax(X))
        xv = softmax_input(ctx)
        return Task(run=lambda: f(xv))

    def mlp_compile(ctx: Ctx) -> Task:
        init = mlp_init()
        return Task(run=lambda: build_mlp(init)[0], repeat=False)

    return {"overhead": overhead, "elemwise": elemwise, "gemm": gemm, "softmax": softmax_task,
            "mlp_compile": mlp_compile,
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
