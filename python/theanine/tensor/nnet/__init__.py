"""theanine.tensor.nnet: the neural-network functions of Theano's T.nnet.

softmax, log_softmax and crossentropy_softmax are ops computed stably (shifted by
each row's maximum); the rest are built from elementwise ops. The default
compilation mode rewrites the naive spellings (log(softmax(x)),
-log(softmax(x))[arange(n), y], log(sigmoid(x)), ...) into the stable forms.
"""
from __future__ import annotations

from typing import Any, Tuple

from theanine import _core
import theanine.tensor as T

Variable = _core.Variable

__all__ = [
    "sigmoid", "softplus", "softsign", "hard_sigmoid", "relu", "softmax", "log_softmax",
    "crossentropy_softmax", "crossentropy_softmax_1hot", "categorical_crossentropy",
    "binary_crossentropy", "conv2d", "elu", "bn",
]

sigmoid = _core.sigmoid
softplus = _core.softplus


def softmax(c: Any, axis: int = -1) -> Variable:
    """exp(c - max) / sum(exp(c - max)) along axis (the last by default)."""
    return _core.softmax(c, axis)


def log_softmax(c: Any, axis: int = -1) -> Variable:
    """log(softmax(c)) computed as c - max - log(sum(exp(c - max))): finite for any
    finite c."""
    return _core.log_softmax(c, axis)


def crossentropy_softmax(x: Any, y_idx: Any) -> Variable:
    """-log_softmax(x)[i, y_idx[i]] for each row i of the matrix x; its gradient with
    respect to x is (softmax(x) - onehot(y_idx)) * gz[:, None]."""
    return _core.crossentropy_softmax(x, y_idx)


def crossentropy_softmax_1hot(x: Any, y_idx: Any) -> Tuple[Variable, Variable]:
    """(crossentropy_softmax(x, y_idx), softmax(x)), as Theano's function of that name."""
    return _core.crossentropy_softmax(x, y_idx), _core.softmax(x, -1)


def softsign(x: Any) -> Variable:
    """x / (1 + |x|)."""
    x = T.as_tensor_variable(x)
    return x / (1 + T.abs(x))


def hard_sigmoid(x: Any) -> Variable:
    """Theano's piecewise-linear sigmoid: clip(0.2 * x + 0.5, 0, 1)."""
    x = T.as_tensor_variable(x)
    return T.clip(0.2 * x + 0.5, 0, 1)


def relu(x: Any, alpha: Any = 0) -> Variable:
    """max(x, 0); with alpha, x where x > 0 and alpha * x elsewhere (leaky relu)."""
    x = T.as_tensor_variable(x)
    if isinstance(alpha, (int, float)) and alpha == 0:
        return T.maximum(x, 0)
    return T.switch(x > 0, x, alpha * x)


def categorical_crossentropy(coding_dist: Any, true_dist: Any) -> Variable:
    """The crossentropy between each row of coding_dist (probabilities) and its
    target: -log(coding_dist)[i, true_dist[i]] when true_dist is an integer vector of
    labels, -sum(true_dist * log(coding_dist), axis=-1) when it is a one-hot or
    probability matrix."""
    coding_dist = T.as_tensor_variable(coding_dist)
    true_dist = T.as_tensor_variable(true_dist)
    if true_dist.ndim == coding_dist.ndim:
        return -T.sum(true_dist * T.log(coding_dist), axis=coding_dist.ndim - 1)
    if true_dist.ndim == coding_dist.ndim - 1 == 1:
        if "int" not in str(true_dist.dtype):
            raise TypeError("categorical_crossentropy: integer labels expected, got dtype "
                            f"{true_dist.dtype}")
        return -T.log(coding_dist)[T.arange(coding_dist.shape[0]), true_dist]
    raise TypeError("categorical_crossentropy: true_dist must be a matrix like coding_dist "
                    f"or an integer vector of labels, got ndim {true_dist.ndim} with "
                    f"coding_dist of ndim {coding_dist.ndim}")


def binary_crossentropy(output: Any, target: Any) -> Variable:
    """-(target * log(output) + (1 - target) * log(1 - output)), elementwise."""
    output, target = T.as_tensor_variable(output), T.as_tensor_variable(target)
    return -(target * T.log(output) + (1.0 - target) * T.log(1.0 - output))


def elu(x: Any, alpha: Any = 1) -> Variable:
    """x where x > 0, alpha * (exp(x) - 1) elsewhere (the exponential linear unit)."""
    x = T.as_tensor_variable(x)
    # expm1 of min(x, 0): the unused branch stays finite for large x, so its zero
    # share of the gradient is not inf * 0.
    return T.switch(x > 0, x, alpha * T.expm1(T.minimum(x, 0)))


from theanine.tensor.nnet import bn  # noqa: E402,F401
from theanine.tensor.nnet.conv import conv2d  # noqa: E402,F401
from theanine.tensor.nnet.dropout import dropout  # noqa: E402,F401
