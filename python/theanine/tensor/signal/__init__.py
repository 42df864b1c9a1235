"""theanine.tensor.signal: signal processing ops (pooling, in theanine.tensor.signal.pool)."""
