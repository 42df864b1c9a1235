"""theanine.tensor: symbolic tensors and the operations on them (Theano's T)."""
from __future__ import annotations

from typing import Any, Optional, Sequence

from theanine import _core
from theanine.configparser import config
from theanine.tensor import variable as _variable  # noqa: F401 (installs operators)
from theanine.tensor.type import *  # noqa: F401,F403
from theanine.tensor.type import TensorType, _resolve, tensor  # noqa: F401

Variable = _core.Variable
TensorVariable = _core.Variable

# Functions implemented in C++ and exported under Theano's names.
_CORE_NAMES = [
    # elementwise
    "add", "sub", "mul", "true_div", "int_div", "mod", "pow", "neg", "abs", "sgn", "exp",
    "log", "log1p", "expm1", "sqrt", "sqr", "tanh", "sigmoid", "softplus", "sin", "cos",
    "maximum", "minimum", "clip", "round", "floor", "ceil", "eq", "neq", "lt", "le", "gt",
    "ge", "and_", "or_", "xor", "invert", "switch", "where", "isnan", "isinf",
    # reductions and products
    "sum", "prod", "mean", "max", "min", "argmax", "argmin", "var", "std", "all", "any",
    "dot", "batched_dot", "outer",
    # shapes
    "flatten", "dimshuffle", "transpose", "shape", "shape_i", "make_vector", "concatenate",
    "join", "stack", "fill", "repeat", "tile",
    # indexing
    "set_subtensor", "inc_subtensor",
]
for _n in _CORE_NAMES:
    globals()[_n] = getattr(_core, _n)

from theanine.gradient import Lop, Rop, grad, hessian, jacobian  # noqa: E402,F401

abs_ = _core.abs
not_ = _core.invert
bitwise_not = not_


def as_tensor_variable(x: Any, name: Optional[str] = None, ndim: Optional[int] = None) -> Variable:
    """A Variable for x (a Variable is returned as it is; arrays become constants)."""
    v = _core.as_variable(x)
    if ndim is not None and v.ndim != ndim:
        raise TypeError(f"as_tensor_variable: expected ndim {ndim}, got {v.ndim}")
    if name is not None and v.name is None:
        v.name = name
    return v


def constant(x: Any, name: Optional[str] = None, dtype: Optional[str] = None) -> Variable:
    """A constant tensor; Python floats default to floatX as in Theano."""
    import numpy as np

    if dtype is None and isinstance(x, float):
        dtype = config.floatX
    return _core.constant(np.asarray(x), name, None if dtype is None else _resolve(dtype))


def cast(x: Any, dtype: str) -> Variable:
    """x converted to dtype ('floatX' means config.floatX)."""
    return _core.cast(x, _resolve(dtype))


def reshape(x: Any, newshape: Any, ndim: Optional[int] = None) -> Variable:
    return _core.reshape(x, newshape, ndim)


def arange(start: Any, stop: Any = None, step: Any = 1, dtype: Optional[str] = None) -> Variable:
    return _core.arange(start, stop, step, None if dtype is None else _resolve(dtype))


def alloc(value: Any, *shape: Any) -> Variable:
    return _core.alloc(value, *shape)


def zeros(shape: Any, dtype: Optional[str] = None) -> Variable:
    return _core.zeros(shape, _resolve(dtype))


def ones(shape: Any, dtype: Optional[str] = None) -> Variable:
    return _core.ones(shape, _resolve(dtype))


def zeros_like(x: Any, dtype: Optional[str] = None) -> Variable:
    return _core.zeros_like(x, None if dtype is None else _resolve(dtype))


def ones_like(x: Any, dtype: Optional[str] = None) -> Variable:
    return _core.ones_like(x, None if dtype is None else _resolve(dtype))

from theanine.tensor import nnet  # noqa: E402,F401
from theanine.tensor import shared_randomstreams  # noqa: E402,F401
from theanine.tensor import extra_ops  # noqa: E402,F401
