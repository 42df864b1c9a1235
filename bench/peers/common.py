"""What all peers share: the inputs of the small benchmarks, the references
timed beside them (a plain copy; cblas_sgemm of the system OpenBLAS), and the
training loop (epoch and accuracy) around a peer's model."""
from __future__ import annotations

import ctypes
import ctypes.util
import importlib.util
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Callable, Optional, Protocol

import numpy as np

from peers import Ctx, Task
from workloads import (SEED, batches, cnn_init, mlp_init, mlp_step_gemms,
                       mlp_step_operands)


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


def sum_input(ctx: Ctx) -> np.ndarray:
    return rng(4).random(ctx.mode.sum_shape, dtype=np.float32)


def theanine_core() -> Optional[Path]:
    """theanine's extension module, found without importing theanine (the PyTensor
    worker asks too): THEANINE_CORE_PATH first, as theanine itself does."""
    spec = importlib.util.find_spec("theanine")
    dirs = [os.environ["THEANINE_CORE_PATH"]] if os.environ.get("THEANINE_CORE_PATH") else []
    dirs += list(spec.submodule_search_locations or []) if spec else []
    for d in dirs:
        found = sorted(Path(d).glob("_core*.so"))
        if found:
            return found[0]
    return None


def system_openblas() -> str:
    """The system libopenblas that theanine links (from `ldd` of its extension
    module), else the one the dynamic linker finds by name. NumPy's own bundled
    OpenBLAS (scipy-openblas) is another library and is not what this returns."""
    core = theanine_core()
    if core is not None:
        try:
            ldd = subprocess.run(["ldd", str(core)], capture_output=True, text=True,
                                 timeout=30).stdout
        except (OSError, subprocess.TimeoutExpired):
            ldd = ""
        m = re.search(r"libopenblas\S*\s+=>\s+(\S+)", ldd)
        if m:
            return os.path.realpath(m.group(1))
    name = ctypes.util.find_library("openblas")
    if name is None:
        raise OSError("no system libopenblas: neither theanine's _core links one nor does "
                      "the dynamic linker find libopenblas")
    return name


_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def _cblas_sgemm() -> tuple[Callable, str]:
    """(cblas_sgemm of the system OpenBLAS with its argument types declared, the
    library's path). Called in the calling process, so at its OpenBLAS thread
    count: in theanine's worker the very library (and threads) its dot uses."""
    path = system_openblas()
    fn = ctypes.CDLL(path).cblas_sgemm
    fp = ctypes.POINTER(ctypes.c_float)
    fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                   ctypes.c_int, ctypes.c_float, fp, ctypes.c_int, fp, ctypes.c_int,
                   ctypes.c_float, fp, ctypes.c_int]
    fn.restype = None
    return fn, os.path.realpath(path) if os.path.isabs(path) else path


def _sgemm_call(fn: Callable, a: np.ndarray, b: np.ndarray, c: np.ndarray,
                trans_a: bool = False, trans_b: bool = False,
                check: bool = True) -> Callable[[], None]:
    """A call computing c = op(a) @ op(b) (op: transposed where asked) in place;
    `check`: run once against NumPy, so that a mis-declared call fails here."""
    fp = ctypes.POINTER(ctypes.c_float)
    m, k = a.shape[::-1] if trans_a else a.shape
    n = b.shape[0] if trans_b else b.shape[1]
    if c.shape != (m, n) or (b.shape[1] if trans_b else b.shape[0]) != k:
        raise ValueError(f"sgemm: op(a) {m}x{k}, op(b) of {b.shape}, c {c.shape} do not fit")
    ta, tb = (_TRANS if t else _NO_TRANS for t in (trans_a, trans_b))
    lda, ldb, ldc = a.shape[1], b.shape[1], n
    pa, pb, pc = (x.ctypes.data_as(fp) for x in (a, b, c))

    def call(_keep=(a, b, c)) -> None:  # the arrays live as long as the call
        fn(_ROW_MAJOR, ta, tb, m, n, k, 1.0, pa, lda, pb, ldb, 0.0, pc, ldc)
    if not check:
        return call
    call()
    want = (a.T if trans_a else a) @ (b.T if trans_b else b)
    if not np.allclose(c, want, rtol=1e-3, atol=1e-3 * k):
        raise RuntimeError(f"cblas_sgemm disagrees with numpy.matmul ({m}x{n}x{k}, "
                           f"trans {trans_a}, {trans_b})")
    return call


def sgemm_reference(a: np.ndarray, b: np.ndarray) -> tuple[Callable[[], None], str]:
    """(a call of cblas_sgemm computing a @ b into a preallocated output, the
    library's path)."""
    fn, path = _cblas_sgemm()
    a, b = np.ascontiguousarray(a, np.float32), np.ascontiguousarray(b, np.float32)
    return _sgemm_call(fn, a, b, np.empty((a.shape[0], b.shape[1]), np.float32)), path


def mlp_gemm_floor(tx: np.ndarray) -> tuple[Callable[[], None], dict]:
    """(a call of the GEMMs of one MLP epoch over the training images tx: every
    step's mlp_step_gemms() through cblas_sgemm of the system OpenBLAS; and what
    it is: the library, each GEMM with its time and rate alone, the FLOPs per
    epoch). H0 is the step's own batch of tx; the other operands are arrays of
    their shapes and each GEMM has one output, the same in every step (as a
    training step reuses its weights and gradient buffers)."""
    fn, path = _cblas_sgemm()
    r = rng(5)
    gemms = mlp_step_gemms()
    used = {g[x] for g in gemms for x in ("a", "b")} - {"H0"}
    fixed = {name: r.uniform(-1, 1, shape).astype(np.float32)
             for name, shape in mlp_step_operands().items() if name in used}
    outs = [np.zeros((g["m"], g["n"]), np.float32) for g in gemms]
    steps = []  # per step, its GEMMs in order (the first step's checked against NumPy)
    for s in batches(len(tx)):
        ops = {**fixed, "H0": np.ascontiguousarray(tx[s], np.float32)}
        steps.append([_sgemm_call(fn, ops[g["a"]], ops[g["b"]], c, g["trans_a"], g["trans_b"],
                                  check=not steps) for g, c in zip(gemms, outs)])
    if not steps:
        raise ValueError(f"mlp_gemm_floor: {len(tx)} training images make no batch")

    def epoch() -> None:
        for step in steps:
            for call in step:
                call()

    epoch()  # warm: OpenBLAS's threads and buffers, the batches in memory
    alone = []
    for i, g in enumerate(gemms):  # each GEMM over the epoch's steps, for the breakdown
        t = time.perf_counter()
        for step in steps:
            step[i]()
        dt = (time.perf_counter() - t) / len(steps)
        alone.append({**g, "s": dt, "GFLOPs": g["flop"] / dt / 1e9})
    return epoch, {"sgemm_library": path, "floor_gemms": alone,
                   "gemm_flop_per_epoch": len(steps) * sum(g["flop"] for g in gemms)}


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
