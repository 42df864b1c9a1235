"""The peers: what each one is, which module implements its tasks, and the
thread settings tried for it.

A peer module (imported only inside its worker process, after the environment
of its thread setting is in place) defines `TASKS`, a dict from task name (see
workloads.BENCHMARKS) to a factory `f(ctx) -> Task`, and `info() -> dict` (its
versions and BLAS). A factory raises Unsupported for what the peer cannot do.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from workloads import Data, Mode


class Unsupported(Exception):
    """The peer cannot run this benchmark (reported with the reason, not as a failure)."""


@dataclass
class Task:
    run: Callable[[], Any]                 # one call: the unit that is timed
    warmup: Optional[Callable[[], Any]] = None   # default: run() once
    repeat: bool = True                    # fast calls: repeat until a repetition lasts target_s
    # timed beside run(): see workloads.Bench.reference (a copy, a direct sgemm)
    reference: Optional[Callable[[], Any]] = None
    # what the last run() produced that the results should record (e.g. the
    # kernel compile statistics of the function it built)
    details: Optional[Callable[[], dict]] = None
    info: dict = field(default_factory=dict)  # what the task says of itself (e.g. a library)


@dataclass
class Ctx:
    mode: Mode
    data: Data
    threads: int


@dataclass(frozen=True)
class Config:
    """One thread setting: its label, environment variables, and the intra-op
    thread count a peer module applies in-process (torch.set_num_threads)."""
    label: str
    env: dict = field(default_factory=dict)
    threads: int = 1


def _blas(n: int) -> dict:
    # The same variables for every peer: whichever BLAS, OpenMP runtime or thread
    # pool (theanine's) a peer loads reads its own one of these.
    return {"OPENBLAS_NUM_THREADS": str(n), "OMP_NUM_THREADS": str(n), "MKL_NUM_THREADS": str(n),
            "THEANINE_NUM_THREADS": str(n)}


_XLA_1 = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


@dataclass(frozen=True)
class Peer:
    name: str          # as shown in tables
    key: str           # command-line name and module peers/<key>_peer.py
    configs: tuple[Config, ...]
    note: str = ""


PEERS = [
    Peer("theanine", "theanine",
         (Config("BLAS 1 thread", _blas(1), 1), Config("BLAS 2 threads", _blas(2), 2)),
         "FAST_RUN: LLVM-compiled kernels, OpenBLAS for dot"),
    Peer("NumPy", "numpy",
         (Config("BLAS 1 thread", _blas(1), 1), Config("BLAS 2 threads", _blas(2), 2)),
         "hand-written forward and backward passes"),
    Peer("PyTorch", "torch",
         # torch.set_num_threads sets OpenMP and MKL (its BLAS) together.
         (Config("intra-op 1, MKL 1", _blas(1), 1), Config("intra-op 2, MKL 2", _blas(2), 2)),
         "CPU, eager mode"),
    Peer("JAX", "jax",
         (Config("XLA default (2 threads)", {**_blas(2), "XLA_FLAGS": ""}, 2),
          Config("XLA 1 thread", {**_blas(1), "XLA_FLAGS": _XLA_1}, 1)),
         "CPU, jax.jit"),
    Peer("PyTensor", "pytensor",
         (Config("BLAS 1, no OpenMP", {**_blas(1), "PYTENSOR_FLAGS": "openmp=False"}, 1),
          Config("BLAS 2, no OpenMP", {**_blas(2), "PYTENSOR_FLAGS": "openmp=False"}, 2),
          Config("BLAS 2, OpenMP elemwise", {**_blas(2), "PYTENSOR_FLAGS": "openmp=True"}, 2)),
         "C backend (linker=cvm, FAST_RUN rewrites)"),
]
BY_KEY = {p.key: p for p in PEERS}
