"""theanine: a symbolic expression-graph compiler in the line of Theano.

    import theanine
    import theanine.tensor as T

    x = T.matrix("x")
    f = theanine.function([x], T.tanh(x).sum())
"""
import os as _os

# Developers may point at a build tree's extension module (see README).
if _os.environ.get("THEANINE_CORE_PATH"):
    __path__.insert(0, _os.environ["THEANINE_CORE_PATH"])  # noqa: F821

from theanine import _core  # noqa: E402
from theanine.configparser import config  # noqa: E402
from theanine.errors import (  # noqa: E402
    MissingInputError,
    ShapeError,
    TheanineError,
    UnusedInputError,
)
from theanine.compile import Function, In, Mode, Out, function, shared  # noqa: E402
from theanine import gradient  # noqa: E402
from theanine.gradient import grad  # noqa: E402
from theanine import tensor  # noqa: E402
from theanine import updates  # noqa: E402
from theanine import sandbox  # noqa: E402
from theanine import printing  # noqa: E402
from theanine.printing import debugprint, pp  # noqa: E402
from theanine._core import DeviceArray, to_device  # noqa: E402

config._apply_device()  # THEANINE_FLAGS=device=cuda takes effect now that _core is in

__version__ = "0.1.0"

__all__ = [
    "config", "function", "updates", "sandbox", "grad", "gradient", "shared", "In", "Mode", "Out", "Function", "tensor", "printing",
    "debugprint", "pp", "TheanineError", "ShapeError", "MissingInputError",
    "UnusedInputError", "DeviceArray", "to_device",
]
