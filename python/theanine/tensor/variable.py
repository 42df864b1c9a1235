"""Python operators and methods on Variables (the NumPy-like face of the graph)."""
from __future__ import annotations

from typing import Any

from theanine import _core
from theanine.tensor.type import _resolve

Variable = _core.Variable


def _binary(name: str, reflected: bool = False):
    def op(self, other):
        fn = getattr(_core, name)
        try:
            other = _core.as_variable(other)
        except TypeError:
            return NotImplemented
        return fn(other, self) if reflected else fn(self, other)

    op.__name__ = name
    return op


def _no_bool(self):
    raise TypeError("a symbolic Variable has no truth value; use T.switch, T.eq, T.lt, ... "
                    "to build a condition into the graph")


def _no_len(self):
    raise TypeError("a symbolic Variable has no len(); use x.shape[0] for a symbolic length")


def _iter(self):
    n = self.static_shape[0] if self.ndim else None
    if n is None:
        raise TypeError("cannot iterate over a Variable whose first dim is not known statically")
    return (self[i] for i in range(n))


_METHODS: dict[str, Any] = {
    "__add__": _binary("add"), "__radd__": _binary("add", True),
    "__sub__": _binary("sub"), "__rsub__": _binary("sub", True),
    "__mul__": _binary("mul"), "__rmul__": _binary("mul", True),
    "__truediv__": _binary("true_div"), "__rtruediv__": _binary("true_div", True),
    "__floordiv__": _binary("int_div"), "__rfloordiv__": _binary("int_div", True),
    "__mod__": _binary("mod"), "__rmod__": _binary("mod", True),
    "__pow__": _binary("pow"), "__rpow__": _binary("pow", True),
    "__lt__": _binary("lt"), "__le__": _binary("le"),
    "__gt__": _binary("gt"), "__ge__": _binary("ge"),
    "__and__": _binary("and_"), "__rand__": _binary("and_", True),
    "__or__": _binary("or_"), "__ror__": _binary("or_", True),
    "__xor__": _binary("xor"), "__rxor__": _binary("xor", True),
    "__matmul__": _binary("dot"), "__rmatmul__": _binary("dot", True),
    "__neg__": lambda self: _core.neg(self),
    "__pos__": lambda self: self,
    "__abs__": lambda self: _core.abs(self),
    "__invert__": lambda self: _core.invert(self),
    "__bool__": _no_bool,
    "__len__": _no_len,
    "__iter__": _iter,
    "__getitem__": lambda self, key: _core.subtensor(self, key),
    "T": property(lambda self: _core.transpose(self)),
    "shape": property(lambda self: _core.shape(self)),
    "size": property(lambda self: _core.prod(_core.shape(self))),
    "transpose": lambda self, *axes: _core.transpose(
        self, list(axes[0]) if len(axes) == 1 and isinstance(axes[0], (list, tuple))
        else (list(axes) if axes else None)),
    "dimshuffle": lambda self, *pattern: _core.dimshuffle(
        self, list(pattern[0]) if len(pattern) == 1 and isinstance(pattern[0], (list, tuple))
        else list(pattern)),
    "reshape": lambda self, shape, ndim=None: _core.reshape(self, shape, ndim),
    "flatten": lambda self, ndim=1: _core.flatten(self, ndim),
    "astype": lambda self, dtype: _core.cast(self, _resolve(dtype)),
    "sum": lambda self, axis=None, keepdims=False, **kw: _core.sum(self, axis, keepdims, **kw),
    "prod": lambda self, axis=None, keepdims=False, **kw: _core.prod(self, axis, keepdims, **kw),
    "mean": lambda self, axis=None, keepdims=False, **kw: _core.mean(self, axis, keepdims, **kw),
    "max": lambda self, axis=None, keepdims=False: _core.max(self, axis, keepdims),
    "min": lambda self, axis=None, keepdims=False: _core.min(self, axis, keepdims),
    "argmax": lambda self, axis=None, keepdims=False: _core.argmax(self, axis, keepdims),
    "argmin": lambda self, axis=None, keepdims=False: _core.argmin(self, axis, keepdims),
    "var": lambda self, axis=None, keepdims=False, ddof=0: _core.var(self, axis, keepdims, ddof),
    "std": lambda self, axis=None, keepdims=False, ddof=0: _core.std(self, axis, keepdims, ddof),
    "all": lambda self, axis=None, keepdims=False: _core.all(self, axis, keepdims),
    "any": lambda self, axis=None, keepdims=False: _core.any(self, axis, keepdims),
    "dot": lambda self, other: _core.dot(self, other),
    "clip": lambda self, a_min, a_max: _core.clip(self, a_min, a_max),
    "round": lambda self: _core.round(self),
    "repeat": lambda self, repeats, axis=None: _core.repeat(self, repeats, axis),
}

for _name, _fn in _METHODS.items():
    setattr(Variable, _name, _fn)

# Variables hash and compare by identity (== stays identity, as in Theano).
Variable.__hash__ = object.__hash__
# NumPy defers to us: `np_array * x` calls x.__rmul__ (a symbolic product)
# instead of NumPy trying to build an object array of Variables.
Variable.__array_ufunc__ = None
