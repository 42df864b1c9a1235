"""theanine.tensor.shared_randomstreams: Theano's RandomStreams.

    srng = RandomStreams(seed=234)
    rv_u = srng.uniform((2, 2))
    f = theanine.function([], rv_u)      # new numbers on every call
    g = theanine.function([], rv_u, no_default_updates=True)   # the same numbers

Each random variable has its own state, a shared variable seeded from the stream's
seed and the variable's creation index, whose default update advances it; so two
streams with the same seed give the same numbers. The generator is Philox4x32-10
(counter based): element i of a draw depends only on the seed, how many numbers
the variable drew before and i, and is the same on every backend.

`size` may be None (the broadcast shape of the parameters), an int, a tuple of
ints and symbolic integer scalars (``(x.shape[0], 10)``), or a symbolic integer
vector (``x.shape``); sizes known only at run time work.
"""
from __future__ import annotations

from typing import Any, List, Optional, Tuple

import numpy as np

from theanine import _core
from theanine.configparser import config

Variable = _core.Variable

__all__ = ["RandomStreams"]


def _dtype_name(dtype: Any) -> Optional[str]:
    if dtype is None:
        return None
    if dtype == "floatX":
        return config.floatX
    return np.dtype(dtype).name


class RandomStreams(_core.RandomStreams):
    """A factory of random variables (Theano's shared_randomstreams.RandomStreams)."""

    def __init__(self, seed: Optional[int] = None) -> None:
        super().__init__(seed)
        self.default_instance_seed = self._seed_value

    def seed(self, seed: Optional[int] = None) -> None:
        """Re-initialises every random variable's state from `seed` (the stream's
        seed when None): the variables then repeat the numbers they drew first."""
        self._seed(self.default_instance_seed if seed is None else seed)

    def updates(self) -> List[Tuple[Variable, Variable]]:
        """The (state, new state) pairs of every random variable made so far."""
        return list(self.state_updates)

    def uniform(self, size: Any = None, low: Any = 0.0, high: Any = 1.0,
                ndim: Optional[int] = None, dtype: Any = None) -> Variable:
        """Uniform in [low, high). dtype: config.floatX promoted with the dtypes of
        low and high when they are tensors."""
        return self._uniform(size, low, high, ndim, _dtype_name(dtype), config.floatX)

    def normal(self, size: Any = None, avg: Any = 0.0, std: Any = 1.0,
               ndim: Optional[int] = None, dtype: Any = None) -> Variable:
        """Normal of mean avg and standard deviation std (Box-Muller)."""
        return self._normal(size, avg, std, ndim, _dtype_name(dtype), config.floatX, False)

    def binomial(self, size: Any = None, n: Any = 1, p: Any = 0.5, ndim: Optional[int] = None,
                 dtype: Any = "int64") -> Variable:
        """Successes in n trials of probability p."""
        return self._binomial(size, n, p, ndim, _dtype_name(dtype))

    def random_integers(self, size: Any = None, low: Any = 0, high: Any = 1,
                        ndim: Optional[int] = None, dtype: Any = "int64") -> Variable:
        """Integers uniform in [low, high], both ends included (as Theano's)."""
        return self._random_integers(size, low, high, ndim, _dtype_name(dtype), True)

    def integers(self, size: Any = None, low: Any = 0, high: Any = 2,
                 ndim: Optional[int] = None, dtype: Any = "int64") -> Variable:
        """Integers uniform in [low, high): NumPy's Generator.integers."""
        return self._random_integers(size, low, high, ndim, _dtype_name(dtype), False)

    def choice(self, size: Any = None, a: Any = 2, replace: bool = True, p: Any = None,
               ndim: Optional[int] = None, dtype: Any = None) -> Variable:
        """Elements of `a` (a vector), or of arange(a) (an integer), with or without
        replacement, uniformly or with probabilities p. dtype: int64 for an integer
        a, a's dtype for a vector, unless given."""
        return self._choice(size, a, bool(replace), p, ndim, _dtype_name(dtype))

    def permutation(self, size: Any = None, n: Any = 1, ndim: Optional[int] = None,
                    dtype: Any = "int64") -> Variable:
        """Random permutations of arange(n), one per element of size: the result has
        shape size + (n,)."""
        return self._permutation(size, n, ndim, _dtype_name(dtype))
