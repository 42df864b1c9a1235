"""theanine.function: compile a graph into a callable, as Theano's."""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional, Sequence, Union

from theanine import _core
from theanine.configparser import config

Variable = _core.Variable


class In:
    """A function input with an optional name (for keyword calls) and default."""

    def __init__(self, variable: Variable, name: Optional[str] = None, value: Any = None,
                 mutable: bool = False, borrow: bool = False) -> None:
        if not isinstance(variable, Variable):
            raise TypeError(f"In() expects a Variable, got {type(variable).__name__}")
        self.variable = variable
        self.name = name if name is not None else (variable.name or "")
        self.value = value
        self.mutable = mutable
        self.borrow = borrow


class Out:
    """A function output; with borrow=True the result may share memory with the function."""

    def __init__(self, variable: Variable, borrow: bool = False) -> None:
        if not isinstance(variable, Variable):
            raise TypeError(f"Out() expects a Variable, got {type(variable).__name__}")
        self.variable = variable
        self.borrow = borrow


class Function:
    """The callable that theanine.function returns."""

    def __init__(self, core: Any, names: Sequence[str], single: bool) -> None:
        self._core = core
        self._names = list(names)
        self._single = single

    @property
    def name(self) -> str:
        return self._core.name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not kwargs:
            return self._core.call_positional(args, self._single)
        n = len(self._names)
        if len(args) > n:
            raise TypeError(
                f"{self._what()} takes {n} argument{'s' if n != 1 else ''}, got {len(args)}")
        values = list(args) + [None] * (n - len(args))
        for key, value in kwargs.items():
            if key not in self._names or not key:
                raise TypeError(f"{self._what()} has no input named {key!r} "
                                f"(inputs: {[k for k in self._names if k]})")
            i = self._names.index(key)
            if i < len(args):
                raise TypeError(f"{self._what()} got input {key!r} both by position and by name")
            values[i] = value
        for i, v in enumerate(args):
            if v is None:
                raise TypeError(f"{self._what()}: argument {i} is None")
        results = self._core.call(values)
        return results[0] if self._single else results

    def _what(self) -> str:
        return f"function {self.name!r}" if self.name else "function"

    @property
    def device(self) -> str:
        """Where the function runs: 'cpu' or 'cuda'."""
        return self._core.device

    def debugprint(self) -> str:
        return self._core.debugprint()

    @property
    def rewrite_stats(self) -> dict:
        """How many times each rewrite rule fired while compiling."""
        return dict(self._core.rewrite_stats)

    def profile(self) -> list:
        """With function(..., profile=True): one (seconds, calls, node) row per
        node of the compiled program, the slowest first."""
        rows = [(sec, calls, label) for label, calls, sec in self._core.profile()]
        return sorted(rows, reverse=True)

    @property
    def cuda_graph_info(self) -> dict:
        """A CUDA function's graph replays: whether graphs are on for it, how many
        calls ran as one graph launch, why it runs without one ('' when it may use
        one), and the device bytes the graph keeps."""
        return dict(self._core.cuda_graph_info)

    @property
    def kernel_stats(self) -> dict:
        """Compiled kernels: how many the function uses, how many were compiled for
        it (not already in this process), whether the disk cache served them, and
        the milliseconds it took."""
        return dict(self._core.kernel_stats)


def _pairs(x: Union[None, Mapping, Iterable], what: str) -> list:
    if x is None:
        return []
    items = list(x.items()) if isinstance(x, Mapping) else list(x)
    out = []
    for item in items:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise TypeError(f"{what} must be a dict or a list of (variable, value) pairs")
        key, value = item
        if not isinstance(key, Variable):
            raise TypeError(f"{what}: key {key!r} is not a Variable")
        out.append((key, _core.as_variable(value)))
    return out


class Mode:
    """Theano's Mode: `Mode(optimizer=None)` compiles the graph as written,
    `optimizer="fast_compile"` runs merge and constant folding only."""

    def __init__(self, linker: Optional[str] = None, optimizer: Optional[str] = "fast_run") -> None:
        self.linker = linker
        self.optimizer = optimizer

    @property
    def name(self) -> str:
        if self.optimizer is None or self.optimizer == "None":
            return "NO_OPTIMIZATION"
        if self.optimizer == "fast_compile":
            return "FAST_COMPILE"
        if self.optimizer == "fast_run":
            return "FAST_RUN"
        raise ValueError(f"Mode: unknown optimizer {self.optimizer!r}")


def _mode_name(mode: Any) -> str:
    if mode is None:
        return config.mode
    if isinstance(mode, Mode):
        return mode.name
    if isinstance(mode, str):
        return mode
    raise TypeError(f"mode must be a string or a Mode, got {type(mode).__name__}")


def function(inputs: Sequence[Any], outputs: Any = None, mode: Optional[str] = None,
             updates: Union[None, Mapping, Iterable] = None,
             givens: Union[None, Mapping, Iterable] = None, no_default_updates: bool = False,
             accept_inplace: bool = False, name: Optional[str] = None,
             rebuild_strict: bool = True, allow_input_downcast: Optional[bool] = None,
             profile: Any = None, on_unused_input: Optional[str] = None,
             device: Optional[str] = None, outputs_on_device: bool = False,
             cuda_graphs: Optional[bool] = None) -> Function:
    """Compiles `outputs` as a function of `inputs`, applying `updates` after each call.

    Mirrors theano.function: `outputs` may be a Variable (the call returns one
    array), a list (returns a list) or None; `updates` and `givens` are dicts or
    lists of pairs; `inputs` may hold Variables or In instances.

    `device` ('cpu' or 'cuda') says where it runs; by default on the CUDA
    device when ``config.device`` is 'cuda' or a shared variable it reads lives
    there. A CUDA function takes NumPy arrays or DeviceArrays and returns NumPy
    arrays, or DeviceArrays with `outputs_on_device=True`. Called again with the
    same shapes, a CUDA function replays its step as one CUDA graph launch;
    `cuda_graphs=False` (or THEANINE_CUDA_GRAPHS=0) launches each kernel instead.
    """
    if not isinstance(inputs, (list, tuple)):
        raise TypeError("function(): inputs must be a list of Variables or In instances, "
                        f"got {type(inputs).__name__}")
    ins = []
    for i, x in enumerate(inputs):
        if isinstance(x, Variable):
            x = In(x)
        if not isinstance(x, In):
            raise TypeError(f"function(): input {i} is a {type(x).__name__}, "
                            "not a Variable or In")
        ins.append((x.variable, x.name, x.value))
    single = not isinstance(outputs, (list, tuple))
    outs_list = [] if outputs is None else ([outputs] if single else list(outputs))
    if outputs is None:
        single = False
    outs = []
    for i, o in enumerate(outs_list):
        if isinstance(o, Out):
            outs.append((o.variable, o.borrow))
        elif isinstance(o, Variable):
            outs.append((o, False))
        else:
            raise TypeError(f"function(): output {i} is a {type(o).__name__}, not a Variable")
    core = _core.function(ins, outs, _pairs(updates, "updates"), _pairs(givens, "givens"),
                          allow_input_downcast, on_unused_input or "raise", name or "",
                          _mode_name(mode), bool(no_default_updates), device or "",
                          bool(outputs_on_device), cuda_graphs)
    if profile:
        core.set_profile(True)
    return Function(core, [n for _, n, _ in ins], single)
