"""The examples run end to end (on small data where they need data)."""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_example(name, *args):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python"))
    return subprocess.run([sys.executable, str(ROOT / "examples" / name), *args], env=env,
                          capture_output=True, text=True, check=True, timeout=120).stdout


def test_minimize_converges_to_the_minimum():
    out = run_example("minimize.py")
    m = re.search(r"minimum at x = ([-\d.]+) .* cost ([-\d.]+)", out)
    assert m, out
    assert abs(float(m.group(1)) - 3.0) < 1e-3
    assert abs(float(m.group(2)) - 1.0) < 1e-5
