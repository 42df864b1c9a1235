"""theanine, through the Theano-API tasks it shares with PyTensor, plus its C++
API's call overhead (bench/cpp/call_overhead.cc, built into build/).

BENCH_CACHE_DIR (the fresh-process benchmarks) becomes THEANINE_CACHE_DIR, so
those processes find the disk cache of compiled kernels empty, or filled by the
earlier process the harness ran with the same folder.
"""
from __future__ import annotations

import importlib
import json
import os
import subprocess
from pathlib import Path

if os.environ.get("BENCH_CACHE_DIR"):
    os.environ["THEANINE_CACHE_DIR"] = os.path.join(os.environ["BENCH_CACHE_DIR"], "theanine")

import theanine  # noqa: E402
import theanine.tensor as T  # noqa: E402

from peers import Ctx, Task, Unsupported  # noqa: E402
from peers.common import mlp_gemm_floor, system_openblas  # noqa: E402
from peers.theano_api import find, manual_softmax, tasks  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
if os.environ.get("BENCH_THREADS"):  # a worker: kernels and OpenBLAS at its setting's count
    theanine._core.set_num_threads(int(os.environ["BENCH_THREADS"]))


def info() -> dict:
    core = theanine._core
    return {"versions": {"theanine": theanine.__version__},
            "core": core.__file__,
            "llvm_backend": bool(core.llvm_backend_available()),
            "threads": core.num_threads(),
            "cache_dir": os.environ.get("THEANINE_CACHE_DIR", "default (~/.cache/theanine)"),
            "system_openblas": system_openblas(),
            "blas_api": "OpenBLAS cblas_sgemm (system library) for dot; elementwise groups "
                        "and reductions JIT-compiled by LLVM (FAST_RUN)"
                        if core.llvm_backend_available() else
                        "OpenBLAS cblas_sgemm (system library) for dot; C++ loops elsewhere "
                        "(this build has no LLVM)"}


def _nnet():
    """theanine.tensor.nnet, or None while it does not exist (a module that exists
    but fails to import is an error, reported as the benchmark failing)."""
    try:
        return importlib.import_module("theanine.tensor.nnet")
    except ModuleNotFoundError as e:
        if e.name not in ("theanine.tensor.nnet", "theanine.tensor"):
            raise
        return getattr(T, "nnet", None)


def _conv_ops() -> tuple:
    """(conv2d, pool_2d), looked up at run time, so the CNN benchmarks start to run
    by themselves once the NN-ops issue lands: conv2d from theanine.tensor.nnet,
    pool_2d from theanine.tensor.signal.pool (Theano's place) or theanine.tensor.nnet."""
    nnet = _nnet()
    if nnet is None or not hasattr(nnet, "conv2d"):
        raise Unsupported("not supported yet: theanine.tensor.nnet has no conv2d "
                          "(the NN-ops issue brings it)")
    pool_2d = find("theanine.tensor.signal.pool", "pool_2d") or getattr(nnet, "pool_2d", None)
    if pool_2d is None:
        raise Unsupported("not supported yet: no pool_2d in theanine.tensor.signal.pool "
                          "or theanine.tensor.nnet")
    return nnet.conv2d, pool_2d


def cpp_binary() -> Path:
    """bench/cpp/call_overhead.cc's executable: in BENCH_CPP_BUILD (a CMake build
    folder), by default build/."""
    return Path(os.environ.get("BENCH_CPP_BUILD", REPO / "build")) / "call_overhead"


def overhead_cpp(ctx: Ctx) -> Task:
    """The C++ program's median ns per call, in µs, with everything it printed."""
    exe = cpp_binary()
    if not exe.is_file():
        raise Unsupported(f"not built: no {exe} (build/ with THEANINE_BUILD_EXAMPLES=ON builds "
                          "it; BENCH_CPP_BUILD names another build folder)")

    def run() -> dict:
        proc = subprocess.run([str(exe), "--reps", str(ctx.mode.reps),
                               "--seconds", str(ctx.mode.target_s)],
                              capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"{exe} exited with {proc.returncode}: {proc.stderr[-300:]}")
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        return {"value": out["ns_per_call"] / 1e3, "binary": str(exe), "program_output": out}
    return Task(run=run, repeat=False)


def with_gemm_floor(epoch_task):
    """The MLP epoch task, with the epoch's GEMMs alone through direct cblas_sgemm
    (mlp_gemm_floor) as its reference: timed right after each epoch, in this
    process at its thread count (workloads' mlp_floor)."""
    def make(ctx: Ctx) -> Task:
        task = epoch_task(ctx)
        tx = ctx.data.split(ctx.mode.mlp_train, ctx.mode.mlp_test)[0]
        task.reference, floor_info = mlp_gemm_floor(tx)
        task.info.update(floor_info)
        return task
    return make


_softmax = find("theanine.tensor.nnet", "softmax")

TASKS = {**tasks(theanine, T, {}, _softmax or manual_softmax(T), _conv_ops,
                 no_optimization="NO_OPTIMIZATION", reference_mode="REFERENCE"),
         "overhead_cpp": overhead_cpp}
TASKS["mlp_epoch"] = with_gemm_floor(TASKS["mlp_epoch"])
