"""Exception classes. Each subclasses the Python builtin of the same meaning
(TypeError, ValueError, IndexError, OSError), so ordinary `except` clauses work."""
from theanine._core import (  # noqa: F401
    MissingInputError,
    ShapeError,
    TheanineError,
    TheanineIndexError,
    TheanineIOError,
    TheanineTypeError,
    TheanineValueError,
    UnusedInputError,
)
