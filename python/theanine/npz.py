"""Saving and loading named arrays in NumPy's .npz format (what numpy.savez and
numpy.savez_compressed write, and numpy.load reads), through the C++ reader and
writer that the C++ API uses too.

    from theanine.npz import save_npz, load_npz
    save_npz("params.npz", {"W": W.get_value(), "b": b.get_value()})
    arrays = load_npz("params.npz")   # {"W": ..., "b": ...}

Saving writes a temporary file beside the destination and renames it over it, so
an existing file is replaced whole or not at all. Errors (a missing, truncated or
corrupt file, an unsupported dtype) raise OSError naming the file and the array.
"""
from __future__ import annotations

import os
from typing import Any, Dict, Mapping, Union

import numpy as np

from theanine import _core

__all__ = ["save_npz", "load_npz", "NpzArrays"]

PathLike = Union[str, "os.PathLike[str]"]


class NpzArrays(Dict[str, np.ndarray]):
    """The arrays of an .npz file by name, in archive order. Looking up a name
    the file lacks raises KeyError naming the file and the names it holds."""

    def __init__(self, path: str, items: Any) -> None:
        super().__init__(items)
        self.path = path

    def __missing__(self, name: str) -> np.ndarray:
        held = ", ".join(repr(k) for k in self) or "no arrays"
        raise KeyError(f"npz file {self.path!r} has no array {name!r} (it holds {held})")


def save_npz(path: PathLike, arrays: Mapping[str, Any] = None, compressed: bool = False,
             **named: Any) -> None:
    """Writes the arrays (a mapping of names to array-likes, or keyword arguments)
    to ``path``; ``compressed=True`` deflates each entry, as savez_compressed."""
    items = list((arrays or {}).items()) + list(named.items())
    _core.save_npz(os.fspath(path), items, compressed)


def load_npz(path: PathLike) -> NpzArrays:
    """The arrays of an .npz file (stored or deflated entries)."""
    path = os.fspath(path)
    return NpzArrays(path, _core.load_npz(path))
