"""theanine.sandbox: Theano's sandbox namespace (rng_mrg.MRG_RandomStreams)."""
from theanine.sandbox import rng_mrg  # noqa: E402,F401
