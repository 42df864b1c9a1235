"""The harness: worker processes (one per peer and thread setting), interleaved
repetitions, and the statistics (medians, min/max, per-pair ratios)."""
from __future__ import annotations

import json
import os
import select
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from peers import Config, Peer

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
# Reset for every worker, then set by its thread setting: all peers see the same
# BLAS environment apart from the thread counts being tried.
_RESET = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "GOTO_NUM_THREADS",
          "THEANINE_NUM_THREADS", "XLA_FLAGS", "PYTENSOR_FLAGS", "BENCH_THREADS",
          "BENCH_CACHE_DIR")


class WorkerError(RuntimeError):
    pass


class WorkerProc:
    """A worker process for one peer at one thread setting (see worker.py).

    `cache_dir`: the folder where the peer keeps its compiled code on disk
    (BENCH_CACHE_DIR; the peer module makes its own subfolder), for the
    fresh-process benchmarks; None: the peer's default place."""

    def __init__(self, peer: Peer, config: Config, mode: str, data: Path, log: Path,
                 timeout_s: float, cache_dir: Optional[Path] = None):
        self.peer, self.config, self.timeout_s, self.log = peer, config, timeout_s, log
        env = {k: v for k, v in os.environ.items() if k not in _RESET}
        env.update(config.env)
        env["BENCH_THREADS"] = str(config.threads)
        if cache_dir is not None:
            env["BENCH_CACHE_DIR"] = str(cache_dir)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(REPO / "python")] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log, "a")
        self.proc = subprocess.Popen(
            [sys.executable, str(BENCH / "worker.py"), peer.key, mode, str(data)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, env=env, text=True,
            bufsize=1)
        self.ready = self._read()

    def _read(self) -> dict:
        ready, _, _ = select.select([self.proc.stdout], [], [], self.timeout_s)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self.close()
            why = "timed out" if not ready else f"exited with {self.proc.returncode}"
            raise WorkerError(f"worker {why}; last log line: {self.last_log_line()}")
        return json.loads(line)

    def last_log_line(self) -> str:
        try:
            lines = [ln for ln in self.log.read_text().splitlines() if ln.strip()]
            return lines[-1][:300] if lines else ""
        except OSError:
            return ""

    def request(self, op: str, task: Optional[str] = None) -> dict:
        try:
            self.proc.stdin.write(json.dumps({"op": op, "task": task}) + "\n")
        except (BrokenPipeError, OSError) as e:
            raise WorkerError(f"worker gone ({e}); last log line: {self.last_log_line()}")
        return self._read()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self._log.close()


@dataclass
class Samples:
    """What one contender (peer at one thread setting) gave for one benchmark."""
    config: str
    status: str = "ok"              # ok | unsupported | failed
    reason: str = ""
    s: list[float] = field(default_factory=list)      # seconds per call, or the values
    ref_s: list[float] = field(default_factory=list)  # the reference timed beside it
    extra: dict = field(default_factory=dict)  # what a value task reports beside its figure
    info: dict = field(default_factory=dict)   # what the task says of itself at setup
    runs: list[dict] = field(default_factory=list)  # per sample: what the task reports of it

    def fail(self, status: str, reason: str) -> None:
        self.status, self.reason = status, reason


def interleave(workers: list[WorkerProc], task: str, reps: int, settle_s: float,
               ) -> list[Samples]:
    """Sets the task up in every worker, then runs repetitions A B C A B C ...;
    a contender that fails drops out with its reason."""
    out = [Samples(w.config.label) for w in workers]
    for w, smp in zip(workers, out):
        r = ask(w, "setup", task)
        if r["status"] != "ok":
            smp.fail(r["status"], r["reason"])
        else:
            smp.info = r.get("info", {})
    for _ in range(reps):
        for w, smp in zip(workers, out):
            if smp.status != "ok":
                continue
            r = ask(w, "rep", task)
            if r["status"] != "ok":
                smp.fail(r["status"], r["reason"])
                continue
            smp.s.append(r["s"])
            if "ref_s" in r:
                smp.ref_s.append(r["ref_s"])
            if "details" in r:
                smp.runs.append(r["details"])
            time.sleep(settle_s)
    for w in workers:
        ask(w, "drop", task)
    return out


def ask(w: WorkerProc, op: str, task: str) -> dict:
    try:
        return w.request(op, task)
    except WorkerError as e:
        return {"status": "failed", "reason": str(e)}


def spread(xs: list[float]) -> dict:
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def pair_ratios(ours: list[float], theirs: list[float]) -> list[float]:
    """ours[i] / theirs[i] for the runs of the same round (adjacent in time)."""
    return [a / b for a, b in zip(ours, theirs)]
