"""theanine.printing: text renderings of graphs and compiled functions."""
from __future__ import annotations

import sys
from typing import Any, Optional, TextIO

from theanine import _core


def debugprint(obj: Any, file: Optional[TextIO] = None, print_type: bool = True) -> str:
    """Prints (and returns) the graph of a Variable, a list of them, or a Function.

    `file="str"` returns the text without printing, as in Theano.
    """
    from theanine.compile.function import Function

    if isinstance(obj, Function):
        text = obj.debugprint()
    elif isinstance(obj, _core.Variable):
        text = _core.debugprint([obj])
    elif isinstance(obj, (list, tuple)):
        text = _core.debugprint(list(obj))
    else:
        raise TypeError(f"debugprint: cannot print a {type(obj).__name__}")
    if file == "str":
        return text
    (file or sys.stdout).write(text)
    return text


def pp(var: _core.Variable) -> str:
    """A one-line rendering: op(inputs...)."""
    if not isinstance(var, _core.Variable):
        raise TypeError(f"pp: expected a Variable, got {type(var).__name__}")
    if var.op_name is None:
        return str(var)
    return f"{var.op_name}({', '.join(pp(i) for i in var.owner_inputs)})"
