"""Makes helpers.py importable from the tests under any pytest --import-mode (the
default, prepend, already puts this folder on sys.path)."""
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

# THEANINE_TEST_DEVICE=cuda runs the tests with config.device = 'cuda', so every
# function they compile runs on the CUDA device against the same NumPy
# references (scripts/gpu_check.sh does this with the op tests).
if os.environ.get("THEANINE_TEST_DEVICE"):
    import theanine

    theanine.config.device = os.environ["THEANINE_TEST_DEVICE"]
