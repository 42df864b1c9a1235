"""The machine's description and, inside a worker, the BLAS libraries that the
process has loaded (with OpenBLAS's kernel type and thread count)."""
from __future__ import annotations

import ctypes
import os
import platform
import re
import subprocess
from typing import Any

_BLAS_RE = re.compile(r"(openblas|mkl_|libmkl|blis|libblas|libgomp|libiomp|libomp)", re.I)
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_CORETYPE",
               "XLA_FLAGS", "PYTENSOR_FLAGS", "GOTO_NUM_THREADS", "OMP_WAIT_POLICY")


def _openblas_call(lib: ctypes.CDLL, name: str, restype: Any) -> Any:
    # numpy's wheels bundle scipy-openblas, whose symbols carry a prefix and suffix.
    for prefix in ("", "scipy_"):
        for suffix in ("", "64_", "_64_"):
            fn = getattr(lib, f"{prefix}{name}{suffix}", None)
            if fn is not None:
                fn.restype = restype
                v = fn()
                return v.decode() if isinstance(v, bytes) else v
    return None


def loaded_blas() -> list[dict]:
    """The BLAS / OpenMP libraries mapped into this process, each with what it
    says of itself (OpenBLAS: corename, config, thread count)."""
    with open("/proc/self/maps") as f:
        paths = sorted({line.split()[-1] for line in f
                        if "/" in line and _BLAS_RE.search(line.rsplit("/", 1)[-1])})
    out = []
    for p in paths:
        entry: dict[str, Any] = {"path": p}
        if "openblas" in p.lower():
            try:
                lib = ctypes.CDLL(p)
                entry["corename"] = _openblas_call(lib, "openblas_get_corename", ctypes.c_char_p)
                entry["config"] = _openblas_call(lib, "openblas_get_config", ctypes.c_char_p)
                entry["threads"] = _openblas_call(lib, "openblas_get_num_threads", ctypes.c_int)
            except OSError as e:
                entry["error"] = str(e)
        out.append(entry)
    return out


def thread_env() -> dict:
    return {k: os.environ[k] for k in THREAD_VARS if k in os.environ}


def machine() -> dict:
    """CPU model, cores, memory, OS, Python, load at the start of the run."""
    cpu, flags = platform.machine(), ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                if line.startswith("flags") and not flags:
                    flags = line
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = f"{int(f.readline().split()[1]) / 2**20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    simd = [s for s in ("avx2", "fma", "avx512f", "avx512_bf16") if f" {s}" in flags]
    try:
        gcc = subprocess.run(["cc", "--version"], capture_output=True, text=True,
                             timeout=10).stdout.splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        gcc = "none"
    return {
        "cpu": cpu, "cores": os.cpu_count(), "simd": simd, "memory": mem,
        "os": platform.platform(), "python": platform.python_version(),
        "c_compiler": gcc, "loadavg_at_start": list(os.getloadavg()),
        "env": thread_env(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "unset (OpenBLAS detects the CPU)"),
    }
