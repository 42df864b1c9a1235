"""A worker process: one peer at one thread setting, driven by the harness over
JSON lines on stdin/stdout, so that each thread setting's environment variables
are in place before the peer's libraries load.

    python3 bench/worker.py PEER_KEY MODE DATA_PATH     (BENCH_THREADS in the environment)

Requests: {"op": "hello"} | {"op": "setup", "task": T} | {"op": "rep", "task": T}
| {"op": "value", "task": T} | {"op": "once", "task": T} | {"op": "drop", "task": T}
| {"op": "quit"}. Each gets one JSON line back.
"""
from __future__ import annotations

import gc
import importlib
import json
import math
import os
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers import Ctx, Task, Unsupported  # noqa: E402
from sysinfo import loaded_blas, thread_env  # noqa: E402
from workloads import MODES, Data  # noqa: E402


def _reason(e: BaseException) -> str:
    msg = " ".join(str(e).split())
    return f"{type(e).__name__}: {msg}"[:400]


class Worker:
    def __init__(self, key: str, mode: str, data: str):
        self.mod = importlib.import_module(f"peers.{key}_peer")
        self.ctx = Ctx(MODES[mode], Data(data), int(os.environ.get("BENCH_THREADS", "1")))
        self.tasks: dict[str, tuple[Task, int]] = {}

    def _build(self, name: str) -> Task:
        factory = self.mod.TASKS.get(name)
        if factory is None:
            raise Unsupported(f"no {name} implementation for this peer")
        return factory(self.ctx)

    def _timed(self, fn, n: int) -> float:
        gc.collect()
        gc.disable()
        try:
            t = time.perf_counter()
            for _ in range(n):
                fn()
            return (time.perf_counter() - t) / n
        finally:
            gc.enable()

    def hello(self, req: dict) -> dict:
        return {"info": {**self.mod.info(), "blas": loaded_blas(), "env": thread_env()}}

    def setup(self, req: dict) -> dict:
        task = self._build(req["task"])
        (task.warmup or task.run)()
        n = 1
        if task.repeat:
            once = self._timed(task.run, 1)
            n = max(1, min(100000, math.ceil(self.ctx.mode.target_s / max(once, 1e-9))))
        self.tasks[req["task"]] = (task, n)
        return {"n": n, "info": task.info}

    def rep(self, req: dict) -> dict:
        task, n = self.tasks[req["task"]]
        out = {"s": self._timed(task.run, n)}
        if task.reference is not None:
            out["ref_s"] = self._timed(task.reference, n)
        if task.details is not None:
            out["details"] = task.details()
        return out

    def value(self, req: dict) -> dict:
        """The task's figure; a task may return a dict: its "value" and the rest,
        reported beside it in the results."""
        out = self._build(req["task"]).run()
        if isinstance(out, dict):
            return {"value": float(out["value"]),
                    "extra": {k: v for k, v in out.items() if k != "value"}}
        return {"value": float(out)}

    def once(self, req: dict) -> dict:
        """The first call in this process, untouched by any warm-up (cold compile)."""
        task = self._build(req["task"])
        out = {"s": self._timed(task.run, 1)}
        if task.details is not None:
            out["details"] = task.details()
        return out

    def drop(self, req: dict) -> dict:
        self.tasks.pop(req["task"], None)
        gc.collect()
        return {}


def main() -> None:
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever the libraries print goes to stderr, not into the protocol
    try:
        w = Worker(*sys.argv[1:4])
    except BaseException as e:  # import failures: the harness lists the peer as skipped
        proto.write(json.dumps({"status": "failed", "reason": _reason(e)}) + "\n")
        traceback.print_exc()
        return
    proto.write(json.dumps({"status": "ok"}) + "\n")
    for line in sys.stdin:
        req = json.loads(line)
        if req["op"] == "quit":
            break
        try:
            res = {"status": "ok", **getattr(w, req["op"])(req)}
        except Unsupported as e:
            res = {"status": "unsupported", "reason": str(e)}
        except Exception as e:
            traceback.print_exc()
            res = {"status": "failed", "reason": _reason(e)}
        proto.write(json.dumps(res) + "\n")


if __name__ == "__main__":
    main()
