"""theanine.updates: optimizer update rules, modelled on Lasagne's lasagne.updates.

Each rule takes ``loss_or_grads`` (a scalar cost, differentiated with theanine.grad,
or a list with one gradient per parameter), ``params`` (shared variables) and the
rule's hyperparameters, and returns an OrderedDict {shared variable: new value}
to pass as ``theanine.function(..., updates=...)``::

    updates = theanine.updates.adam(cost, [W, b], learning_rate=0.001)
    train = theanine.function([x, y], cost, updates=updates)

Rules with state (velocities, accumulators, Adam's moments and step count) create
it as shared variables of zeros of each parameter's shape, dtype and
broadcastable pattern; they appear as keys of the returned dict. Learning rates
may be Python numbers or symbolic scalars (e.g. a shared variable, to anneal it).
``weight_decay`` adds an L2 penalty's gradient: each gradient g becomes
``g + weight_decay * param``. New values are cast to their target's dtype.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Sequence

from theanine import _core

Variable = _core.Variable

__all__ = ["sgd", "momentum", "nesterov_momentum", "adagrad", "rmsprop", "adam"]


def _ordered(pairs: list) -> "OrderedDict[Variable, Variable]":
    return OrderedDict(pairs)


def sgd(loss_or_grads: Any, params: Sequence[Variable], learning_rate: Any,
        weight_decay: float = 0.0) -> "OrderedDict[Variable, Variable]":
    """param := param - learning_rate * grad."""
    return _ordered(_core.updates_sgd(loss_or_grads, params, learning_rate,
                                      weight_decay=weight_decay))


def momentum(loss_or_grads: Any, params: Sequence[Variable], learning_rate: Any,
             momentum: float = 0.9, weight_decay: float = 0.0) -> "OrderedDict[Variable, Variable]":
    """velocity := momentum * velocity - learning_rate * grad; param := param + velocity."""
    return _ordered(_core.updates_momentum(loss_or_grads, params, learning_rate,
                                           momentum=momentum, weight_decay=weight_decay))


def nesterov_momentum(loss_or_grads: Any, params: Sequence[Variable], learning_rate: Any,
                      momentum: float = 0.9,
                      weight_decay: float = 0.0) -> "OrderedDict[Variable, Variable]":
    """velocity := momentum * velocity - learning_rate * grad;
    param := param + momentum * velocity - learning_rate * grad (Lasagne's form)."""
    return _ordered(_core.updates_nesterov_momentum(loss_or_grads, params, learning_rate,
                                                    momentum=momentum,
                                                    weight_decay=weight_decay))


def adagrad(loss_or_grads: Any, params: Sequence[Variable], learning_rate: Any = 1.0,
            epsilon: float = 1e-6, weight_decay: float = 0.0) -> "OrderedDict[Variable, Variable]":
    """accu := accu + grad**2; param := param - learning_rate * grad / sqrt(accu + epsilon)."""
    return _ordered(_core.updates_adagrad(loss_or_grads, params, learning_rate,
                                          epsilon=epsilon, weight_decay=weight_decay))


def rmsprop(loss_or_grads: Any, params: Sequence[Variable], learning_rate: Any = 1.0,
            rho: float = 0.9, epsilon: float = 1e-6,
            weight_decay: float = 0.0) -> "OrderedDict[Variable, Variable]":
    """accu := rho * accu + (1 - rho) * grad**2;
    param := param - learning_rate * grad / sqrt(accu + epsilon)."""
    return _ordered(_core.updates_rmsprop(loss_or_grads, params, learning_rate, rho=rho,
                                          epsilon=epsilon, weight_decay=weight_decay))


def adam(loss_or_grads: Any, params: Sequence[Variable], learning_rate: Any = 0.001,
         beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8,
         weight_decay: float = 0.0) -> "OrderedDict[Variable, Variable]":
    """Adam (Kingma and Ba, 2014) as Lasagne writes it: with t counting steps,
    a = learning_rate * sqrt(1 - beta2**t) / (1 - beta1**t),
    m := beta1 * m + (1 - beta1) * grad, v := beta2 * v + (1 - beta2) * grad**2,
    param := param - a * m / (sqrt(v) + epsilon)."""
    return _ordered(_core.updates_adam(loss_or_grads, params, learning_rate, beta1=beta1,
                                       beta2=beta2, epsilon=epsilon,
                                       weight_decay=weight_decay))
