"""Per-call overhead of a tiny theanine function against the same NumPy expression.

Prints microseconds per call for both and their ratio (theanine / NumPy), medians
of interleaved repetitions.
"""
import statistics
import time

import numpy as np

import theanine
import theanine.tensor as T


def per_call_us(fn, n=2000):
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n * 1e6


def main():
    x = T.vector("x")
    f = theanine.function([x], x * 2 + 1)
    a = np.ones(16, dtype="float32")
    ours, numpys = [], []
    for _ in range(7):  # interleaved: A B A B ...
        ours.append(per_call_us(lambda: f(a)))
        numpys.append(per_call_us(lambda: a * 2 + 1))
    o, p = statistics.median(ours), statistics.median(numpys)
    print(f"theanine call: {o:8.2f} us (min {min(ours):.2f}, max {max(ours):.2f})")
    print(f"numpy expr:    {p:8.2f} us (min {min(numpys):.2f}, max {max(numpys):.2f})")
    print(f"ratio theanine/numpy: {o / p:.1f}x")


if __name__ == "__main__":
    main()
