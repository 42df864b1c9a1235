"""theanine.gradient: symbolic differentiation (grad, Lop, Rop, jacobian, hessian)
and verify_grad, which checks a symbolic gradient against finite differences."""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence, Union

import numpy as np

from theanine import _core
from theanine._core import DisconnectedInputError  # noqa: F401
from theanine._core import disconnected_grad, zero_grad  # noqa: F401

Variable = _core.Variable
VarOrList = Union[Variable, Sequence[Variable]]


def _as_list(x: Any, what: str) -> tuple[list, bool]:
    if isinstance(x, Variable):
        return [x], True
    if isinstance(x, (list, tuple)):
        for i, v in enumerate(x):
            if not isinstance(v, Variable):
                raise TypeError(f"{what}[{i}] is a {type(v).__name__}, not a Variable")
        return list(x), False
    raise TypeError(f"{what} must be a Variable or a list of Variables, "
                    f"got {type(x).__name__}")


def grad(cost: Optional[Variable], wrt: VarOrList,
         consider_constant: Optional[Sequence[Variable]] = None,
         disconnected_inputs: str = "raise",
         known_grads: Optional[Mapping[Variable, Any]] = None,
         return_disconnected: str = "zero", add_names: bool = True) -> Any:
    """d cost / d wrt, as Theano's theano.grad.

    `wrt` is a Variable (one gradient back) or a list (a list back); each
    gradient has the dtype and broadcast pattern of its `wrt`.
    """
    wrts, single = _as_list(wrt, "wrt")
    known = []
    if known_grads is not None:
        if not isinstance(known_grads, Mapping):
            raise TypeError("known_grads must be a dict {variable: gradient}")
        for k, g in known_grads.items():
            if not isinstance(k, Variable):
                raise TypeError(f"known_grads key {k!r} is not a Variable")
            known.append((k, _core.as_variable(g)))
    if cost is not None and not isinstance(cost, Variable):
        raise TypeError(f"cost must be a Variable, got {type(cost).__name__}")
    grads = _core.grad(cost, wrts, list(consider_constant or []), disconnected_inputs, known,
                       return_disconnected)
    if add_names and cost is not None and cost.name:
        for g, w in zip(grads, wrts):
            if g is not None and g.name is None and w.name:
                g.name = f"(d{cost.name}/d{w.name})"
    return grads[0] if single else grads


def _jvp_args(f: VarOrList, wrt: VarOrList, eval_points: Any) -> tuple:
    fs, f_single = _as_list(f, "f")
    wrts, wrt_single = _as_list(wrt, "wrt")
    points = eval_points if isinstance(eval_points, (list, tuple)) else [eval_points]
    return fs, wrts, [_core.as_variable(e) for e in points], f_single, wrt_single


def Lop(f: VarOrList, wrt: VarOrList, eval_points: VarOrList) -> Any:  # noqa: N802
    """Vector times Jacobian: eval_points . df/dwrt (one result per wrt)."""
    fs, wrts, evs, _, single = _jvp_args(f, wrt, eval_points)
    r = _core.Lop(fs, wrts, evs)
    return r[0] if single else r


def Rop(f: VarOrList, wrt: VarOrList, eval_points: VarOrList) -> Any:  # noqa: N802
    """Jacobian times vector: df/dwrt . eval_points (one result per f)."""
    fs, wrts, evs, single, _ = _jvp_args(f, wrt, eval_points)
    r = _core.Rop(fs, wrts, evs)
    return r[0] if single else r


def jacobian(expression: Variable, wrt: VarOrList, consider_constant: Any = None,
             disconnected_inputs: str = "raise") -> Any:
    """d expression[i] / d wrt for every element i of expression (flattened)."""
    wrts, single = _as_list(wrt, "wrt")
    r = [_core.jacobian(expression, w) for w in wrts]
    return r[0] if single else r


def hessian(cost: Variable, wrt: VarOrList, consider_constant: Any = None,
            disconnected_inputs: str = "raise") -> Any:
    """The matrix of second derivatives of a scalar cost."""
    wrts, single = _as_list(wrt, "wrt")
    r = [_core.hessian(cost, w) for w in wrts]
    return r[0] if single else r


class GradientError(AssertionError):
    """verify_grad found a symbolic gradient that disagrees with finite differences."""

    def __init__(self, arg: int, index: tuple, analytic: float, numeric: float,
                 abs_err: float, rel_err: float, abs_tol: float, rel_tol: float) -> None:
        self.arg, self.index = arg, index
        self.analytic, self.numeric = analytic, numeric
        self.abs_err, self.rel_err = abs_err, rel_err
        self.abs_tol, self.rel_tol = abs_tol, rel_tol
        super().__init__(
            f"gradient of input {arg} disagrees with finite differences at index {index}: "
            f"symbolic {analytic!r}, numeric {numeric!r} (abs err {abs_err:.3g} > {abs_tol:.3g} "
            f"and rel err {rel_err:.3g} > {rel_tol:.3g})")


_DEFAULT_EPS = {"float64": 1e-7, "float32": 3e-3}
_DEFAULT_TOL = {"float64": 1e-4, "float32": 1e-2}


def verify_grad(fun: Callable[..., Variable], pt: Sequence[Any],
                rng: Optional[Union[np.random.Generator, np.random.RandomState]] = None,
                n_tests: int = 2, eps: Optional[float] = None,
                abs_tol: Optional[float] = None, rel_tol: Optional[float] = None,
                mode: Optional[str] = None, tol: Optional[float] = None) -> None:
    """Checks the symbolic gradient of `fun` at the point `pt` numerically.

    fun takes one symbolic variable per array in `pt` (of the same dtype and
    ndim) and returns a Variable. Its output is projected on a random tensor to
    a scalar; the symbolic gradient of that scalar is compared with central
    finite differences. Raises GradientError naming the worst element.
    """
    from theanine.compile.function import function
    from theanine.tensor.type import tensor

    if rng is None:
        rng = np.random.default_rng(42)

    def uniform(shape: tuple) -> np.ndarray:
        # Generator.random takes a shape; the legacy RandomState.rand takes dims.
        if isinstance(rng, np.random.Generator):
            return rng.random(shape)
        return np.asarray(rng.rand(*shape))
    pt = [np.array(p) for p in pt]
    for i, p in enumerate(pt):
        if p.dtype.kind != "f":
            raise TypeError(f"verify_grad: point {i} has dtype {p.dtype}; use float arrays")
    dtype = "float32" if all(p.dtype == np.float32 for p in pt) else "float64"
    eps = eps if eps is not None else _DEFAULT_EPS[dtype]
    if tol is not None:
        abs_tol = rel_tol = tol
    abs_tol = abs_tol if abs_tol is not None else _DEFAULT_TOL[dtype]
    rel_tol = rel_tol if rel_tol is not None else _DEFAULT_TOL[dtype]

    inputs = [tensor(str(p.dtype), shape=(None,) * p.ndim, name=f"input{i}")
              for i, p in enumerate(pt)]
    out = fun(*inputs)
    if not isinstance(out, Variable):
        raise TypeError(f"verify_grad: fun returned a {type(out).__name__}, not a Variable")
    f_out = function(inputs, out, on_unused_input="ignore", mode=mode)
    out_shape = np.shape(f_out(*pt))
    for _ in range(n_tests):
        proj = np.asarray(uniform(out_shape) + 0.5, dtype=out.dtype)
        cost = (out * _core.constant(proj)).sum()
        grads = grad(cost, inputs, disconnected_inputs="ignore")
        f_cost = function(inputs, cost, on_unused_input="ignore", mode=mode)
        f_grad = function(inputs, grads, on_unused_input="ignore", mode=mode)
        analytic = f_grad(*pt)
        for i, p in enumerate(pt):
            numeric = np.zeros(p.shape, dtype="float64")
            for idx in np.ndindex(*p.shape):
                plus = [q.copy() for q in pt]
                minus = [q.copy() for q in pt]
                plus[i][idx] += eps
                minus[i][idx] -= eps
                numeric[idx] = (float(f_cost(*plus)) - float(f_cost(*minus))) / (2 * eps)
            a = np.asarray(analytic[i], dtype="float64")
            if a.shape != numeric.shape:
                raise GradientError(i, (), float("nan"), float("nan"), float("inf"),
                                    float("inf"), abs_tol, rel_tol)
            abs_err = np.abs(a - numeric)
            rel_err = abs_err / np.maximum(np.abs(a) + np.abs(numeric), 1e-8)
            bad = (abs_err > abs_tol) & (rel_err > rel_tol)
            if bad.any():
                worst = np.unravel_index(np.argmax(np.where(bad, abs_err, -1)), a.shape)
                raise GradientError(i, tuple(int(w) for w in worst), float(a[worst]),
                                    float(numeric[worst]), float(abs_err[worst]),
                                    float(rel_err[worst]), abs_tol, rel_tol)


verify_grad.E_grad = GradientError  # Theano's spelling
