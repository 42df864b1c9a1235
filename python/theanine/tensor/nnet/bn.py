"""theanine.tensor.nnet.bn: batch normalization as in theano.tensor.nnet.bn.

The graphs are built from elementwise and reduction ops, so they fuse and
differentiate like any other. gamma and beta (and the means and variances) have
the input's ndim with 1 along the normalized axes, or leave those axes out; the
statistics returned take gamma's form.
"""
from __future__ import annotations

from typing import Any, Sequence, Tuple, Union

from theanine import _core

Variable = _core.Variable

__all__ = ["batch_normalization_train", "batch_normalization_test", "batch_normalization"]

Axes = Union[str, Sequence[int]]


def batch_normalization_train(inputs: Any, gamma: Any, beta: Any, axes: Axes = "per-activation",
                              epsilon: float = 1e-4, running_average_factor: float = 0.1,
                              running_mean: Any = None,
                              running_var: Any = None) -> Tuple[Variable, ...]:
    """(out, mean, invstd) of normalizing inputs over axes ('per-activation' = (0,),
    'spatial' = (0, 2, 3, ...), or a tuple) by this batch's statistics; with
    running_mean and running_var also (new_running_mean, new_running_var), the
    variance's running average unbiased (times m / (m - 1))."""
    return _core.batch_normalization_train(inputs, gamma, beta, axes, epsilon,
                                           running_average_factor, running_mean, running_var)


def batch_normalization_test(inputs: Any, gamma: Any, beta: Any, mean: Any, var: Any,
                             axes: Axes = "per-activation", epsilon: float = 1e-4) -> Variable:
    """(inputs - mean) * gamma / sqrt(var + epsilon) + beta, with given statistics."""
    return _core.batch_normalization_test(inputs, gamma, beta, mean, var, axes, epsilon)


def batch_normalization(inputs: Any, gamma: Any, beta: Any, mean: Any, std: Any,
                        mode: str = "low_mem") -> Variable:
    """(inputs - mean) * (gamma / std) + beta, elementwise (Theano's older function;
    mode is accepted for compatibility, both of Theano's modes compute the same)."""
    if mode not in ("low_mem", "high_mem"):
        raise ValueError(f"batch_normalization: mode must be 'low_mem' or 'high_mem', got {mode!r}")
    return _core.batch_normalization(inputs, gamma, beta, mean, std)
