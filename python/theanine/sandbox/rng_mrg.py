"""theanine.sandbox.rng_mrg: Theano's MRG_RandomStreams.

Same implementation as theanine.tensor.shared_randomstreams.RandomStreams: the
generator underneath is Philox4x32-10 (counter based), not Theano's MRG31k3p, so
the numbers differ from Theano's for the same seed, but every draw is
reproducible from the seed on every backend. `nstreams` is accepted and ignored
(a counter-based generator needs no stream count).
"""
from __future__ import annotations

from typing import Any, Optional

from theanine import _core
from theanine.configparser import config
from theanine.tensor.shared_randomstreams import RandomStreams, _dtype_name

Variable = _core.Variable

__all__ = ["MRG_RandomStreams"]


class MRG_RandomStreams(RandomStreams):  # noqa: N801 (Theano's name)
    """Theano's MRG_RandomStreams API over the Philox generator (see the module doc)."""

    def __init__(self, seed: Optional[int] = 12345) -> None:
        super().__init__(seed)

    def uniform(self, size: Any = None, low: Any = 0.0, high: Any = 1.0,
                ndim: Optional[int] = None, dtype: Any = None, nstreams: Any = None) -> Variable:
        return super().uniform(size, low, high, ndim, dtype)

    def normal(self, size: Any = None, avg: Any = 0.0, std: Any = 1.0,
               ndim: Optional[int] = None, dtype: Any = None, nstreams: Any = None,
               truncate: bool = False) -> Variable:
        """Normal of mean avg and standard deviation std; with truncate, values
        more than 2 std from avg are redrawn."""
        return self._normal(size, avg, std, ndim, _dtype_name(dtype), config.floatX,
                            bool(truncate))

    def binomial(self, size: Any = None, n: Any = 1, p: Any = 0.5, ndim: Optional[int] = None,
                 dtype: Any = "int64", nstreams: Any = None) -> Variable:
        return super().binomial(size, n, p, ndim, dtype)

    def choice(self, size: Any = 1, a: Any = 2, replace: bool = True, p: Any = None,
               ndim: Optional[int] = None, dtype: Any = None, nstreams: Any = None) -> Variable:
        return super().choice(size, a, replace, p, ndim, dtype)

