"""theanine, through the Theano-API tasks it shares with PyTensor."""
from __future__ import annotations

import importlib

import theanine
import theanine.tensor as T

from peers import Unsupported
from peers.theano_api import find, manual_softmax, tasks


def info() -> dict:
    return {"versions": {"theanine": theanine.__version__},
            "core": theanine._core.__file__,
            "blas_api": "OpenBLAS cblas_sgemm (system library) for dot; C++ loops elsewhere"}


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


_softmax = find("theanine.tensor.nnet", "softmax")

TASKS = tasks(theanine, T, {}, _softmax or manual_softmax(T), _conv_ops,
              no_optimization="NO_OPTIMIZATION")
