"""theanine, through the Theano-API tasks it shares with PyTensor."""
from __future__ import annotations

import theanine
import theanine.tensor as T

from peers.theano_api import find, manual_softmax, require, tasks


def info() -> dict:
    return {"versions": {"theanine": theanine.__version__},
            "core": theanine._core.__file__,
            "blas_api": "OpenBLAS cblas_sgemm (system library) for dot; C++ loops elsewhere"}


def _conv_ops() -> tuple:
    return require("not supported yet (conv2d is a later issue)",
                   find("theanine.tensor.nnet", "conv2d"),
                   find("theanine.tensor.signal.pool", "pool_2d"))


_softmax = find("theanine.tensor.nnet", "softmax")

TASKS = tasks(theanine, T, {}, _softmax or manual_softmax(T), _conv_ops)
