"""Symbolic input constructors: T.matrix(), T.ivector(), T.TensorType(...)(), ..."""
from __future__ import annotations

from typing import Optional, Sequence

from theanine import _core
from theanine.configparser import config


def _resolve(dtype: Optional[str]) -> str:
    if dtype is None or dtype == "floatX":
        return config.floatX
    return dtype


class TensorType:
    """Theano's TensorType(dtype, broadcastable); calling it makes an input.

    `shape` (ints and None) may be given instead of `broadcastable`.
    """

    def __init__(self, dtype: str, broadcastable: Optional[Sequence[bool]] = None,
                 shape: Optional[Sequence[Optional[int]]] = None) -> None:
        if broadcastable is None and shape is None:
            raise TypeError("TensorType needs broadcastable or shape")
        self.dtype = _resolve(dtype)
        if shape is not None:
            self.shape = tuple(shape)
        else:
            self.shape = tuple(1 if b else None for b in broadcastable)
        self.ndim = len(self.shape)

    @property
    def broadcastable(self) -> tuple:
        return tuple(s == 1 for s in self.shape)

    def __call__(self, name: Optional[str] = None) -> _core.Variable:
        return _core.input(self.dtype, list(self.shape), self.ndim, name)

    def __repr__(self) -> str:
        return f"TensorType({self.dtype}, shape={self.shape})"


def tensor(dtype: Optional[str] = None, shape: Optional[Sequence[Optional[int]]] = None,
           name: Optional[str] = None, broadcastable: Optional[Sequence[bool]] = None,
           ndim: Optional[int] = None) -> _core.Variable:
    """A symbolic input of any ndim: tensor('float32', shape=(None, 3))."""
    if shape is None and broadcastable is None:
        shape = (None,) * (ndim or 0)
    return TensorType(dtype, broadcastable, shape)(name)


def _maker(pattern: tuple, dtype: Optional[str]):
    def make(name: Optional[str] = None, dtype: Optional[str] = dtype,
             shape: Optional[Sequence[Optional[int]]] = None) -> _core.Variable:
        s = shape if shape is not None else tuple(1 if b else None for b in pattern)
        if len(s) != len(pattern):
            raise TypeError(f"shape {tuple(s)} has {len(s)} dims, expected {len(pattern)}")
        return _core.input(_resolve(dtype), list(s), len(s), name)

    return make


_PATTERNS = {
    "scalar": (),
    "vector": (False,),
    "row": (True, False),
    "col": (False, True),
    "matrix": (False, False),
    "tensor3": (False,) * 3,
    "tensor4": (False,) * 4,
    "tensor5": (False,) * 5,
}
_PREFIXES = {"": None, "b": "int8", "w": "int16", "i": "int32", "l": "int64",
             "f": "float32", "d": "float64"}

for _kind, _pattern in _PATTERNS.items():
    for _prefix, _dtype in _PREFIXES.items():
        globals()[_prefix + _kind] = _maker(_pattern, _dtype)



def _plural(kind: str):
    def make(*names: str, dtype: Optional[str] = None) -> list:
        if len(names) == 1 and isinstance(names[0], int):
            names = tuple([None] * names[0])
        make_one = globals()[kind]
        return [make_one(n) if dtype is None else make_one(n, dtype) for n in names]

    return make


_PLURALS = {"scalars": "scalar", "vectors": "vector", "matrices": "matrix", "rows": "row",
            "cols": "col", "tensor3s": "tensor3", "tensor4s": "tensor4"}
for _plural_name, _kind in _PLURALS.items():
    for _prefix in _PREFIXES:
        globals()[_prefix + _plural_name] = _plural(_prefix + _kind)

__all__ = (["TensorType", "tensor"] + [p + k for k in _PATTERNS for p in _PREFIXES] +
           [p + k for k in _PLURALS for p in _PREFIXES])
