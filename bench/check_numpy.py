"""Checks the hand-written NumPy backward passes (peers/numpy_peer.py) against
PyTorch's autograd (peers/torch_peer.py): both models start from the shared
initial weights, take the same few SGD steps (momentum, weight decay) on the same
batches, and their weights must then agree.

    python3 bench/check_numpy.py [--steps 3]

Prints the largest difference per model and dtype; exits 1 when one is over the
tolerance (float32: 1e-6 absolute on weights of size ~0.1; float64: 1e-12).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("BENCH_THREADS", "1")

from workloads import BATCH, SEED, cnn_init, mlp_init  # noqa: E402

TOL = {"float32": 1e-6, "float64": 1e-12}


def max_diff(kind: str, dtype: str, steps: int) -> float:
    """max |w_numpy - w_torch| over every parameter after `steps` steps."""
    from peers import numpy_peer, torch_peer

    rng = np.random.default_rng(SEED + 7)
    n = 2 * BATCH
    x = rng.random((n, 1, 28, 28) if kind == "cnn" else (n, 784)).astype(dtype)
    y = rng.integers(0, 10, n).astype(np.int32)
    init = [p.astype(dtype) for p in (cnn_init() if kind == "cnn" else mlp_init())]
    ours = (numpy_peer.CNN if kind == "cnn" else numpy_peer.MLP)(init, x, y)
    theirs = torch_peer.Model(torch_peer.cnn_forward if kind == "cnn" else torch_peer.mlp_forward,
                              init, x, y)
    for k in range(steps):
        ours.step(k % 2)
        theirs.step(k % 2)
    return max(float(np.max(np.abs(a - b.detach().numpy())))
               for a, b in zip(ours.params, theirs.params))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=3)
    args = ap.parse_args()
    ok = True
    for kind in ("mlp", "cnn"):
        for dtype, tol in TOL.items():
            d = max_diff(kind, dtype, args.steps)
            ok &= d <= tol
            print(f"{kind} {dtype}: max |NumPy - PyTorch| over the weights after "
                  f"{args.steps} steps = {d:.2e} (tolerance {tol:.0e})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
