"""Learning-curve charts as PNG files, drawn by the C++ core (no plotting library
needed): named series of values per epoch on one pair of axes.

    from theanine.plot import write_learning_curve
    write_learning_curve("curve.png", {"train loss": losses, "validation error": errors},
                         title="mnist_mlp")
"""
from __future__ import annotations

import os
from typing import Mapping, Sequence, Union

from theanine import _core

__all__ = ["learning_curve_png", "write_learning_curve"]


def _series(series: Mapping[str, Sequence[float]]) -> list:
    return [(str(name), [float(v) for v in values]) for name, values in series.items()]


def learning_curve_png(series: Mapping[str, Sequence[float]], title: str = "",
                       xlabel: str = "epoch", ylabel: str = "", width: int = 800,
                       height: int = 500) -> bytes:
    """The PNG bytes of a line chart: each series' i-th value at epoch i + 1,
    NaN and infinities left out; a legend of the series names."""
    return _core.line_chart_png(_series(series), title, xlabel, ylabel, width, height)


def write_learning_curve(path: Union[str, "os.PathLike[str]"],
                         series: Mapping[str, Sequence[float]], title: str = "",
                         xlabel: str = "epoch", ylabel: str = "", width: int = 800,
                         height: int = 500) -> None:
    """Writes learning_curve_png(...) to ``path`` (atomically: a temporary file
    renamed over it)."""
    _core.write_line_chart_png(os.fspath(path), _series(series), title, xlabel, ylabel,
                               width, height)
