#!/usr/bin/env python3
"""The plain gradient-descent pattern: a shared scalar, a cost, an update
x <- x - lr * d cost / dx, and a loop of calls that converges to the minimum.

    python3 examples/minimize.py

minimizes (x - 3)^2 + 1 starting from x = -5 and prints the path.
"""
import numpy as np

import theanine
import theanine.tensor as T


def main() -> None:
    x = theanine.shared(np.asarray(-5.0, dtype=theanine.config.floatX), name="x")
    cost = (x - 3) ** 2 + 1
    lr = 0.1
    step = theanine.function([], cost, updates=[(x, x - lr * T.grad(cost, x))], name="step")
    for i in range(60):
        c = step()
        if i % 10 == 0:
            print(f"step {i:2d}: cost {float(c):.6f}, x {float(x.get_value()):.6f}")
    print(f"minimum at x = {float(x.get_value()):.4f} (exact: 3), cost {float(step()):.6f} "
          "(exact: 1)")


if __name__ == "__main__":
    main()
