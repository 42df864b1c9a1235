"""theanine.tensor.signal.pool: 2-d pooling as in theano.tensor.signal.pool."""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

from theanine import _core

Variable = _core.Variable

__all__ = ["pool_2d"]

Pair = Union[int, Tuple[int, int]]


def pool_2d(input: Any, ws: Optional[Pair] = None, ignore_border: Optional[bool] = None,
            stride: Optional[Pair] = None, pad: Pair = (0, 0), mode: str = "max",
            ds: Optional[Pair] = None, st: Optional[Pair] = None,
            padding: Optional[Pair] = None) -> Variable:
    """Pools the last two dims of input by windows of ws rows and columns, stride apart
    (default ws), after padding pad rows and columns on each side. mode: 'max', 'sum',
    'average_inc_pad' (padding counts in the divisor) or 'average_exc_pad'.
    ignore_border=True (the default, also for None) keeps only whole windows; False
    also pools the partial windows at the bottom and right edges. ds, st and padding
    are Theano's old names for ws, stride and pad."""
    ws = _one_of("ws", ws, "ds", ds)
    if ws is None:
        raise ValueError("pool_2d: the window size ws is required")
    stride = _one_of("stride", stride, "st", st)
    if padding is not None:
        if pad not in (0, (0, 0), [0, 0]):
            raise ValueError("pool_2d: give pad or padding, not both")
        pad = padding
    return _core.pool_2d(input, ws, stride, pad, True if ignore_border is None else ignore_border,
                         mode)


def _one_of(name: str, value: Any, old_name: str, old_value: Any) -> Any:
    if old_value is None:
        return value
    if value is not None:
        raise ValueError(f"pool_2d: give {name} or {old_name}, not both")
    return old_value
