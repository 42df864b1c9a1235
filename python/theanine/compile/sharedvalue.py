"""theanine.shared: variables whose value lives between calls."""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from theanine import _core


def shared(
    value: Any,
    name: Optional[str] = None,
    borrow: bool = False,
    broadcastable: Optional[Sequence[bool]] = None,
    shape: Optional[Sequence[Optional[int]]] = None,
    target: Optional[str] = None,
    **kwargs: Any,
) -> _core.Variable:
    """A shared variable holding `value` (copied unless `borrow=True`).

    Python floats become float64 0-d values as in NumPy; pass a NumPy array of
    the dtype you want (e.g. ``np.asarray(0.1, dtype=config.floatX)``).
    `broadcastable` or `shape` fix dims statically (None = unknown).
    `target` ('cpu' or 'cuda') says where the value lives; by default
    ``config.device``. ``get_value()`` always gives a host (NumPy) copy.
    """
    if kwargs:
        raise TypeError(f"shared() got unexpected keyword arguments {sorted(kwargs)}")
    if isinstance(value, _core.Variable):
        raise TypeError("shared() takes a value (NumPy array or number), not a Variable")
    if broadcastable is not None and shape is not None:
        raise TypeError("shared(): give broadcastable or shape, not both")
    static = shape if shape is not None else broadcastable
    if not isinstance(value, np.ndarray):
        value = np.asarray(value)
    var = _core.shared(value, name, borrow, None if static is None else list(static))
    if target is not None:
        _core.move_shared(var, target)
    return var
