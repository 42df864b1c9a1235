"""Per-call overhead of a tiny theanine function against NumPy: the suite's
"overhead" benchmark (Python) and "overhead_cpp" (the C++ API, bench/cpp/) alone
(bench/run.py does the work).

    PYTHONPATH=python python3 bench/call_overhead.py [more bench/run.py options]
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # noqa: E402

if __name__ == "__main__":
    sys.exit(run.main(["--quick", "--only", "overhead,overhead_cpp", "--peers", "theanine,numpy"] + sys.argv[1:]))
