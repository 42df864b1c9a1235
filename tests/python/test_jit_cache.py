"""The LLVM JIT's disk cache across processes: processes compiling one module at once
all succeed and leave one valid entry, a later process loads it instead of compiling,
a corrupt entry is rebuilt, and a folder that takes no writes only warns. Compiled
code is called through ctypes and checked against NumPy."""
import ctypes
import json
import os
import subprocess
import sys
import uuid

import numpy as np
import pytest

from theanine import _core

pytestmark = pytest.mark.skipif(not _core.jit_cache_info()["available"],
                                reason="built without LLVM")

# out[i] = tanhf(2 * a[i] + 1)
IR = """
declare float @tanhf(float)

define void @tanh_2x1(ptr noalias %out, ptr noalias %a, i64 %n) {
entry:
  %any = icmp sgt i64 %n, 0
  br i1 %any, label %loop, label %exit
loop:
  %i = phi i64 [ 0, %entry ], [ %next, %loop ]
  %pa = getelementptr inbounds float, ptr %a, i64 %i
  %va = load float, ptr %pa
  %m = fmul float %va, 2.0
  %s = fadd float %m, 1.0
  %t = call float @tanhf(float %s)
  %po = getelementptr inbounds float, ptr %out, i64 %i
  store float %t, ptr %po
  %next = add nsw i64 %i, 1
  %done = icmp eq i64 %next, %n
  br i1 %done, label %exit, label %loop
exit:
  ret void
}
"""

# Compiles the module in argv[1], runs it, prints its stats and outputs as JSON.
WORKER = r"""
import ctypes, json, sys
import numpy as np
from theanine import _core
addresses, stats = _core.jit_compile(open(sys.argv[1]).read(), ["tanh_2x1"])
fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)(addresses[0])
a = np.linspace(-4, 4, 1003).astype(np.float32)
out = np.empty_like(a)
fn(out.ctypes.data, a.ctypes.data, a.size)
print(json.dumps({"stats": stats, "out": out.tolist()}))
"""


def _inputs():
    return np.linspace(-4, 4, 1003).astype(np.float32)


def _check_output(out):
    a = _inputs()
    np.testing.assert_allclose(np.asarray(out, dtype=np.float32), np.tanh(2 * a + 1),
                               rtol=2e-6, atol=1e-7)


@pytest.fixture
def module_file(tmp_path):
    """A module text no other test or run compiled (a comment changes its key)."""
    path = tmp_path / "module.ll"
    path.write_text(f"; {uuid.uuid4()}\n{IR}")
    return path


def _spawn(module_file, cache_dir):
    env = dict(os.environ, THEANINE_CACHE_DIR=str(cache_dir))
    return subprocess.Popen([sys.executable, "-c", WORKER, str(module_file)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc):
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    result = json.loads(out)
    _check_output(result["out"])
    return result["stats"], err


def _entries(cache_dir):
    folders = [p for p in cache_dir.iterdir() if p.is_dir()]
    assert len(folders) == 1, folders  # the namespace, e.g. llvm-x86_64
    return sorted(folders[0].iterdir())


def test_processes_compiling_at_once_leave_one_valid_entry(module_file, tmp_path):
    cache = tmp_path / "cache"
    procs = [_spawn(module_file, cache) for _ in range(4)]
    stats = [_finish(p)[0] for p in procs]
    assert not all(s["disk_hit"] for s in stats)  # someone compiled
    entries = _entries(cache)
    assert len(entries) == 1, entries  # no temporary files left behind
    assert not entries[0].name.startswith(".")
    later, _ = _finish(_spawn(module_file, cache))
    assert later["disk_hit"] and not later["memory_hit"]
    assert later["parts"] == 0  # nothing compiled


def test_a_corrupt_entry_is_rebuilt_not_loaded(module_file, tmp_path):
    cache = tmp_path / "cache"
    _finish(_spawn(module_file, cache))
    (entry,) = _entries(cache)
    data = bytearray(entry.read_bytes())
    data[len(data) // 2] ^= 0xFF
    entry.write_bytes(bytes(data))
    rebuilt, _ = _finish(_spawn(module_file, cache))
    assert not rebuilt["disk_hit"]
    entry.write_bytes(entry.read_bytes()[:100])
    rebuilt, _ = _finish(_spawn(module_file, cache))
    assert not rebuilt["disk_hit"]
    loaded, _ = _finish(_spawn(module_file, cache))
    assert loaded["disk_hit"]


def test_an_unwritable_cache_folder_warns_once_and_works(module_file, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")  # tests run as root: a folder under a file cannot exist
    stats, err = _finish(_spawn(module_file, blocker / "sub"))
    assert not stats["disk_hit"]
    assert err.count("warning: cannot write the compile cache") == 1, err


def test_in_process_cache_hits_and_errors(module_file, tmp_path, monkeypatch):
    monkeypatch.setenv("THEANINE_CACHE_DIR", str(tmp_path / "cache"))
    ir = module_file.read_text()
    before = _core.jit_cache_info()
    (addr,), cold = _core.jit_compile(ir, ["tanh_2x1"])
    (again,), warm = _core.jit_compile(ir, ["tanh_2x1"])
    assert again == addr and warm["memory_hit"] and not cold["memory_hit"]
    _core.jit_cache_clear_memory()
    (_,), disk = _core.jit_compile(ir, ["tanh_2x1"])
    assert disk["disk_hit"]
    info = _core.jit_cache_info()
    assert info["compiles"] == before["compiles"] + 1
    assert info["disk_hits"] == before["disk_hits"] + 1
    assert info["disk_dir"].startswith(str(tmp_path / "cache"))
    assert info["preferred_vector_bits"] in (128, 256, 512)

    fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)(addr)
    a = _inputs()
    out = np.empty_like(a)
    fn(out.ctypes.data, a.ctypes.data, a.size)
    _check_output(out)

    bad = ir.replace("fadd float %m, 1.0", "fadd float %m, %nope")
    with pytest.raises(RuntimeError, match=r"line \d+"):
        _core.jit_compile(bad, ["tanh_2x1"])
    with pytest.raises(RuntimeError, match="no function 'missing'"):
        _core.jit_compile(ir + "\n; other\n", ["missing"])
