"""Makes helpers.py importable from the tests under any pytest --import-mode (the
default, prepend, already puts this folder on sys.path)."""
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
