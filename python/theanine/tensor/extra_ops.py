"""theanine.tensor.extra_ops: Theano's extra ops (to_one_hot)."""
from __future__ import annotations

from typing import Any, Optional

from theanine import _core
from theanine.tensor.type import _resolve

Variable = _core.Variable

__all__ = ["to_one_hot"]


def to_one_hot(y: Any, nb_class: Any, dtype: Optional[str] = None) -> Variable:
    """A (len(y), nb_class) matrix with a 1 in column y[i] of row i and 0 elsewhere, of
    dtype (floatX by default). Labels outside [0, nb_class) raise IndexError when the
    function runs."""
    return _core.to_one_hot(y, nb_class, _resolve(dtype))
