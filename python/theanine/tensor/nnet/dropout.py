"""theanine.tensor.nnet.dropout: dropout with a random stream's binomial mask."""
from __future__ import annotations

from typing import Any

from theanine import _core

Variable = _core.Variable

__all__ = ["dropout"]


def dropout(x: Any, p: Any, rng: _core.RandomStreams, rescale: bool = True) -> Variable:
    """x with each element kept with probability 1 - p and zeroed otherwise.

    With `rescale` (the default, "inverted dropout") kept elements are divided by
    1 - p, so the expectation is x and nothing changes at test time. `p` is a
    number in [0, 1) or a symbolic scalar; `rng` a RandomStreams or
    MRG_RandomStreams, whose state advances on every call of the compiled
    function. The mask has x's dtype and shape and is a constant of x, so the
    gradient with respect to x is the output gradient times the (rescaled) mask.
    """
    if not isinstance(rng, _core.RandomStreams):
        raise TypeError("dropout: rng must be a RandomStreams or MRG_RandomStreams, got "
                        f"{type(rng).__name__}")
    return _core.dropout(x, p, rng, bool(rescale))


# T.nnet re-exports the function under the module's own name, which hides this
# module behind it as an attribute of T.nnet; the alias keeps the spelling
# theanine.tensor.nnet.dropout.dropout(...) working either way.
dropout.dropout = dropout  # type: ignore[attr-defined]
