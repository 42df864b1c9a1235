"""PyTensor with its C backend (linker "cvm", FAST_RUN rewrites), through the
Theano-API tasks it shares with theanine.

BENCH_CACHE_DIR (the fresh-process builds) becomes its compile directory: empty
for the cold build, so that "cold" includes compiling its C modules as a new user
would; filled by an earlier process for the disk-cache build.
"""
from __future__ import annotations

import os

_flags = [f for f in os.environ.get("PYTENSOR_FLAGS", "").split(",") if f]
_flags.append("floatX=float32")
if os.environ.get("BENCH_CACHE_DIR"):  # the harness removes it after the run
    _flags.append(f"compiledir={os.path.join(os.environ['BENCH_CACHE_DIR'], 'pytensor')}")
os.environ["PYTENSOR_FLAGS"] = ",".join(_flags)

import pytensor  # noqa: E402
import pytensor.tensor as pt  # noqa: E402
from pytensor.compile.mode import Mode  # noqa: E402
from pytensor.tensor.special import softmax  # noqa: E402

from peers.theano_api import find, require, tasks  # noqa: E402


def info() -> dict:
    c = pytensor.config
    return {"versions": {"pytensor": pytensor.__version__},
            "linker": "cvm", "cxx": c.cxx, "openmp": bool(c.openmp),
            "blas_api": f"C backend linked with: {c.blas__ldflags}"}


def _conv_ops() -> tuple:
    # PyTensor 3 dropped Theano's nnet.conv2d and signal.pool (its signal.convolve2d
    # convolves single 2-D signals: no channels summed, no pooling op).
    return require(f"not supported: PyTensor {pytensor.__version__} has no conv2d/pool_2d",
                   find("pytensor.tensor.conv", "conv2d"),
                   find("pytensor.tensor.signal.pool", "pool_2d"))


TASKS = tasks(pytensor, pt, {"mode": Mode(linker="cvm", optimizer="fast_run")},
              lambda X: softmax(X, axis=1), _conv_ops)
