"""Runs the benchmark suite: theanine against its peers, side by side.

    python3 bench/run.py [--quick | --full] [--peers theanine,numpy,...] [--only mlp_epoch,...]
                         [--data synthetic|fashion] [--out bench/results] [--publish docs/bench]

Writes results-<mode>.json (every figure, the machine, each side's BLAS and thread
setting), results-<mode>.md (the tables) and ratios-<mode>.png (the chart) to --out;
--publish copies the table and chart to a folder (docs/bench for the README).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

import report  # noqa: E402
from harness import (BENCH, Samples, WorkerError, WorkerProc, ask, interleave,  # noqa: E402
                     pair_ratios, spread)
from peers import BY_KEY, PEERS, Peer  # noqa: E402
from sysinfo import machine  # noqa: E402
from workloads import (BENCHMARKS, BY_ID, MODES, Bench, Mode, copy_bytes, describe,  # noqa: E402
                       display, make_data, traffic_bytes)

REFERENCE = "theanine"


class Suite:
    def __init__(self, mode: Mode, peers: list[Peer], benches: list[Bench], data: Path,
                 logs: Path, scratch: Path):
        self.mode, self.peers, self.benches, self.data, self.logs = mode, peers, benches, data, logs
        self.scratch = scratch  # the fresh processes' disk caches go under it
        self.timeout_s = 120.0 if mode.name == "quick" else 900.0
        self.workers: dict[str, list[WorkerProc]] = {}
        self.skipped: dict[str, str] = {}
        self.info: dict[str, dict] = {}
        self.samples: dict[str, dict[str, Samples]] = {}  # bench -> peer -> chosen setting
        self.tried: dict[str, dict[str, dict]] = {}  # bench -> peer -> setting -> best probe s

    def configs(self, peer: Peer):
        """Full mode: every thread setting. Quick mode: the first (where a benchmark
        lets the peer pick), and the first at each thread count that a benchmark
        pins (Bench.threads) if it is another."""
        if self.mode.tune:
            return peer.configs
        free = any(not b.threads and not b.derived_from for b in self.benches)
        out = list(peer.configs[:1]) if free else []
        for n in sorted({b.threads for b in self.benches if b.threads}):
            if not any(c.threads == n for c in out):
                out += [c for c in peer.configs if c.threads == n][:1]
        return tuple(out)

    def spawn(self, peer: Peer, config, cache_dir: Optional[Path] = None) -> WorkerProc:
        log = self.logs / f"{peer.key}-{config.label.replace(' ', '_').replace(',', '')}.log"
        return WorkerProc(peer, config, self.mode.name, self.data, log, self.timeout_s, cache_dir)

    def new_cache_dir(self, key: str) -> Path:
        """A new, empty folder for one fresh process's compiled code on disk."""
        return Path(tempfile.mkdtemp(prefix=f"cache-{key}-", dir=self.scratch))

    def start(self) -> None:
        for peer in self.peers:
            procs = []
            for cfg in self.configs(peer):
                try:
                    w = self.spawn(peer, cfg)
                except WorkerError as e:
                    self.skipped[peer.key] = str(e)
                    break
                if w.ready["status"] != "ok":
                    self.skipped[peer.key] = w.ready["reason"]
                    w.close()
                    break
                procs.append(w)
            if peer.key in self.skipped:
                for w in procs:
                    w.close()
                continue
            self.workers[peer.key] = procs
            self.collect_info(peer.key)
            print(f"  {peer.name}: {len(procs)} thread setting(s) ready", flush=True)

    def collect_info(self, key: str) -> None:
        """Versions, thread counts and the BLAS libraries loaded so far (asked again
        at the end: some peers load their BLAS with their first compiled function)."""
        for w in self.workers[key]:
            try:
                info = w.request("hello").get("info")
            except WorkerError:
                continue
            if info:
                self.info.setdefault(key, {})[w.config.label] = info

    def stop(self) -> None:
        for procs in self.workers.values():
            for w in procs:
                w.close()

    def run(self) -> None:
        for b in self.benches:
            if b.kind == "time" and not b.fresh_process and not b.derived_from:
                self.timed(b, self.run_timed)
        for b in self.benches:
            if b.kind == "time" and b.fresh_process:
                self.timed(b, self.run_fresh)
        for b in self.benches:
            if b.kind == "value":
                self.timed(b, self.run_value)
        for k in self.workers:
            self.collect_info(k)

    def timed(self, b: Bench, fn) -> None:
        t = time.perf_counter()
        fn(b)
        print(f"  {b.id}: {time.perf_counter() - t:.1f} s", flush=True)

    def run_timed(self, b: Bench) -> None:
        """Full mode: a probe of every thread setting of every peer (interleaved)
        picks each peer's fastest (by its best run, the least disturbed by other
        load); then the chosen settings alone run the repetitions, interleaved.
        With b.threads, only the settings of that many threads take part (a peer
        with one such setting is not probed). Peers outside `b.only` are n/a."""
        workers = {k: [w for w in procs if not b.threads or w.config.threads == b.threads]
                   for k, procs in self.workers.items() if not b.only or k in b.only}
        none_at = [k for k, procs in workers.items() if not procs]
        workers = {k: procs for k, procs in workers.items() if procs}
        chosen = {k: procs[0] for k, procs in workers.items()}
        if self.mode.tune:
            flat = [w for procs in workers.values() if len(procs) > 1 for w in procs]
            probe = dict(zip(flat, interleave(flat, b.task, self.mode.probe_reps,
                                              self.mode.settle_s)))
            for k, procs in workers.items():
                if len(procs) < 2:
                    continue
                self.tried.setdefault(b.id, {})[k] = {
                    w.config.label: min(probe[w].s) if probe[w].status == "ok"
                    else f"{probe[w].status}: {probe[w].reason}" for w in procs}
                ok = [w for w in procs if probe[w].status == "ok"]
                if ok:
                    chosen[k] = min(ok, key=lambda w: min(probe[w].s))
        final = interleave(list(chosen.values()), b.task, self.mode.reps, self.mode.settle_s)
        self.samples[b.id] = dict(zip(chosen, final))
        for k in self.workers.keys() - workers.keys():
            smp = self.samples[b.id][k] = Samples(self.workers[k][0].config.label)
            if k in none_at:
                smp.fail("unsupported", f"not supported: no thread setting of {b.threads} "
                                        "threads for this peer")
            else:
                smp.fail("unsupported", f"n/a: measured for {', '.join(b.only)} only")

    def chosen_worker(self, bench_id: Optional[str], key: str) -> WorkerProc:
        """The worker at the thread setting that bench_id chose for this peer."""
        picked = self.samples.get(bench_id, {}).get(key)
        procs = self.workers[key]
        return next((w for w in procs if picked and w.config.label == picked.config), procs[0])

    def best(self, bench_id: str, peer_key: str) -> Optional[Samples]:
        s = self.samples.get(bench_id, {}).get(peer_key)
        return s if s is not None and s.status == "ok" else None

    def run_fresh(self, b: Bench) -> None:
        """Each repetition in a new process (at the thread setting of the in-process
        variant), the peers interleaved, each process with a new disk cache: empty,
        or (b.disk_cache == "populated") filled by an earlier process that built the
        same thing, untimed. A peer that cannot run the in-process variant is not
        started again."""
        warm = next((x.id for x in BENCHMARKS if x.task == b.task and not x.fresh_process), None)
        res: dict[str, Samples] = {}
        setting = {k: self.chosen_worker(warm, k) for k in self.workers}
        for k, like in setting.items():
            res[k] = Samples(like.config.label)
            prior = self.samples.get(warm, {}).get(k)
            if prior is not None and prior.status == "unsupported":
                res[k].fail(prior.status, prior.reason)
        for _ in range(self.mode.cold_reps):
            for k, smp in res.items():
                if smp.status != "ok":
                    continue
                cache = self.new_cache_dir(k)
                r = {"status": "ok"}
                if b.disk_cache == "populated":
                    r = self.once_in_new_process(setting[k], b.task, cache)
                if r["status"] == "ok":
                    r = self.once_in_new_process(setting[k], b.task, cache)
                if r["status"] != "ok":
                    smp.fail(r["status"], r["reason"])
                else:
                    smp.s.append(r["s"])
                    if "details" in r:
                        smp.runs.append(r["details"])
        self.samples[b.id] = res

    def once_in_new_process(self, like: WorkerProc, task: str, cache: Path,
                            op: str = "once") -> dict:
        """`op` of `task` in a new worker of like's peer and thread setting."""
        try:
            w = self.spawn(like.peer, like.config, cache_dir=cache)
        except WorkerError as e:
            return {"status": "failed", "reason": str(e)}
        r = w.ready if w.ready["status"] != "ok" else ask(w, op, task)
        w.close()
        return r

    def run_value(self, b: Bench) -> None:
        """One run per peer, at the thread setting that `b.like` (else its epoch
        benchmark) chose, the first setting where there is none; with
        fresh_process, in a new worker process at that setting, with an empty disk
        cache. Peers outside `b.only` are n/a."""
        res: dict[str, Samples] = {}
        for k in self.workers:
            w = self.chosen_worker(b.like or b.id.replace("_accuracy", "_epoch"), k)
            smp = res[k] = Samples(w.config.label)
            if b.only and k not in b.only:
                smp.fail("unsupported", f"n/a: measured for {', '.join(b.only)} only")
                continue
            if b.fresh_process:
                r = self.once_in_new_process(w, b.task, self.new_cache_dir(k), op="value")
            else:
                r = ask(w, "value", b.task)
            if r["status"] == "ok":
                smp.s.append(r["value"])
                smp.extra = r.get("extra", {})
            else:
                smp.fail(r["status"], r["reason"])
        self.samples[b.id] = res

    # ------------------------------------------------------------------ results

    def results(self) -> list[dict]:
        out = []
        for b in self.benches:
            per_peer: dict[str, dict] = {}
            ref = self.best(b.id, REFERENCE)
            for peer in PEERS:
                per_peer[peer.key] = self.result(b, peer, ref)
            out.append({"id": b.id, "title": describe(b, self.mode), "unit": b.unit,
                        "kind": b.kind, "higher_is_better": b.higher_is_better,
                        "threads": b.threads,
                        "target": b.target.text if b.target else "", "results": per_peer,
                        "leader": leader(b, per_peer)})
        return out

    def result(self, b: Bench, peer: Peer, ref: Optional[Samples]) -> dict:
        if peer.key not in self.workers:
            return {"status": "skipped", "reason": self.skipped.get(peer.key, "not selected")}
        if b.derived_from:
            return self.derived(b, peer)
        best = self.best(b.id, peer.key)
        if best is None:
            smp = self.samples[b.id][peer.key]
            return {"status": smp.status, "reason": smp.reason, "config": smp.config}
        r: dict = {"status": "ok", "config": best.config, "samples": best.s,
                   "seconds" if b.kind == "time" else "value": spread(best.s),
                   "tried": self.tried.get(b.id, {}).get(peer.key, {})}
        if b.kind == "time":
            med = spread(best.s)["median"]
            vals = sorted(display(b, self.mode, x) for x in (med, min(best.s), max(best.s)))
            r["display"] = {"median": display(b, self.mode, med), "min": vals[0], "max": vals[2]}
            if ref is not None and peer.key != REFERENCE:
                r["ratio"] = {"pairs": pair_ratios(ref.s, best.s), **spread(pair_ratios(ref.s, best.s))}
            r.update(self.against_reference(b, best))
            if b.id == "gemm":
                numpy_best = self.best(b.id, "numpy")
                if numpy_best is not None:
                    r["fraction_of_openblas_via_numpy"] = (spread(numpy_best.s)["median"] / med)
            if b.id == "elemwise" and peer.key == REFERENCE:
                interp = self.best("elemwise_reference", REFERENCE)
                if interp is not None:  # how much the compiled kernel gains
                    r["speedup_over_reference_mode"] = spread(interp.s)["median"] / med
            r.update(best.info)
            for key in sorted({k for run in best.runs for k in run}):
                r[key] = [run.get(key) for run in best.runs]  # one per sample
        else:
            # a value task returns its figure in the benchmark's unit
            r["display"] = {"median": best.s[0], "min": best.s[0], "max": best.s[0]}
            r.update(best.extra)
        if b.target is not None and peer.key == REFERENCE:
            r["target"] = self.judge(b, r)
        return r

    def judge(self, b: Bench, r: dict) -> dict:
        """theanine's figure (in r) against b's target; a ratio to a peer is taken
        here, per pair of runs, from that peer's samples, and, where the peer has
        none, the target has no figure and says why."""
        t = b.target
        why = ""
        if t.peer:
            theirs = self.best(b.id, t.peer)
            if theirs is not None:
                r[t.figure] = spread(pair_ratios(r["samples"], theirs.s))
            else:
                other = self.result(b, BY_KEY[t.peer], None)
                why = f"{BY_KEY[t.peer].name} {other['status']}: {other['reason']}"
        got = (r["display"]["median"] if t.figure == "median"
               else r.get(t.figure, {}).get("median"))
        out = {"text": t.text, "figure": t.figure, "scale": t.scale, "value": got,
               "met": None if got is None else t.met(got)}
        if got is None and why:
            out["why"] = why
        return out

    def derived(self, b: Bench, peer: Peer) -> dict:
        """A benchmark timed beside another one's runs (b.derived_from): its
        samples are the reference that the other's task timed after each run.
        mlp_floor: the MLP epoch's GEMMs through direct cblas_sgemm, the epoch's
        time over them per pair of runs, and the rate of the GEMMs."""
        if b.only and peer.key not in b.only:
            return {"status": "unsupported", "reason": f"n/a: measured for {', '.join(b.only)} "
                                                       "only"}
        src = self.samples.get(b.derived_from, {}).get(peer.key)
        if src is None or src.status != "ok":
            return {"status": src.status if src else "failed",
                    "reason": src.reason if src else f"{b.derived_from} did not run"}
        if not src.ref_s:
            return {"status": "failed", "reason": f"{b.derived_from} timed no reference"}
        med = spread(src.ref_s)["median"]
        flop = src.info["gemm_flop_per_epoch"]
        r: dict = {"status": "ok", "config": src.config, "samples": src.ref_s,
                   "seconds": spread(src.ref_s), "tried": {},
                   "display": {"median": med, "min": min(src.ref_s), "max": max(src.ref_s)},
                   "epoch_samples": src.s,
                   "over_floor": spread(pair_ratios(src.s, src.ref_s)),
                   "floor_GFLOPs": spread([flop / s / 1e9 for s in src.ref_s]),
                   "epoch_GEMM_GFLOPs": spread([flop / s / 1e9 for s in src.s]),
                   **{k: src.info[k] for k in ("gemm_flop_per_epoch", "floor_gemms",
                                               "sgemm_library") if k in src.info}}
        if b.target is not None and peer.key == REFERENCE:
            r["target"] = self.judge(b, r)
        return r

    def against_reference(self, b: Bench, best: Samples) -> dict:
        """The figures against the reference timed beside each run, per pair: for a
        copy, the bandwidth (bytes moved at the least, per second) and its share of
        the copy's; for a direct sgemm, its time over this one's."""
        if not best.ref_s or not b.reference:
            return {}
        pairs = list(zip(best.ref_s, best.s))
        out = {"reference_samples": best.ref_s}
        if b.reference == "copy":
            moved, copied = traffic_bytes(b, self.mode), copy_bytes(b, self.mode)
            return {**out, "bandwidth_GBps": spread([moved / s / 1e9 for _, s in pairs]),
                    "copy_GBps": spread([copied / c / 1e9 for c, _ in pairs]),
                    "fraction_of_copy": spread([(moved / s) / (copied / c) for c, s in pairs]),
                    "bytes_moved": moved, "bytes_copied": copied}
        if b.reference == "mlp_gemms":
            return out  # its figures are mlp_floor's (Suite.derived)
        if b.reference == "sgemm":
            flop = 2 * self.mode.gemm_n ** 3
            return {**out, "openblas_GFLOPs": spread([flop / c / 1e9 for c, _ in pairs]),
                    "fraction_of_openblas": spread([c / s for c, s in pairs])}
        raise ValueError(f"{b.id}: unknown reference {b.reference!r}")


def leader(b: Bench, per_peer: dict[str, dict]) -> Optional[dict]:
    """The best peer; for timings also the runner-up and the median of the per-pair
    ratios runner-up time / leader time; for values the spread between peers."""
    ok = {k: r["display"]["median"] for k, r in per_peer.items() if r["status"] == "ok"}
    if not ok or b.only:  # a figure of one peer alone leads nothing
        return None
    order = sorted(ok, key=lambda k: ok[k], reverse=b.higher_is_better)
    out: dict = {"peer": order[0], "value": ok[order[0]]}
    if b.kind == "value" and len(ok) > 1:
        out["spread"] = max(ok.values()) - min(ok.values())
    elif b.kind == "time" and len(order) > 1:
        out["runner_up"] = order[1]
        out["by"] = spread(pair_ratios(per_peer[order[1]]["samples"],
                                       per_peer[order[0]]["samples"]))["median"]
    return out


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_const", dest="mode", const="quick")
    g.add_argument("--full", action="store_const", dest="mode", const="full")
    ap.add_argument("--peers", default=",".join(p.key for p in PEERS),
                    help="comma-separated: " + ",".join(p.key for p in PEERS))
    ap.add_argument("--only", default="", help="comma-separated benchmark ids")
    ap.add_argument("--data", default="synthetic", choices=["synthetic", "fashion"])
    ap.add_argument("--out", default=str(BENCH / "results"))
    ap.add_argument("--publish", default="", help="copy the table and chart to this folder")
    args = ap.parse_args(argv)
    mode = MODES[args.mode or "full"]
    keys = [k for k in args.peers.split(",") if k]
    unknown = [k for k in keys if k not in {p.key for p in PEERS}]
    only = [x for x in args.only.split(",") if x]
    if unknown or any(x not in BY_ID for x in only):
        ap.error(f"unknown peer or benchmark: {unknown + [x for x in only if x not in BY_ID]}")
    if REFERENCE not in keys:
        ap.error("theanine is the reference of every ratio: keep it in --peers")
    peers = [p for p in PEERS if p.key in keys]
    only += [BY_ID[x].derived_from for x in only if BY_ID[x].derived_from]  # what they need
    benches = [b for b in BENCHMARKS if not only or b.id in only]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    date = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    box = machine()  # before the run: its load average is the load we start under
    print(f"bench: {mode.name} mode, peers {', '.join(p.name for p in peers)}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        data = make_data(mode, args.data, Path(tmp) / "data.npz")
        suite = Suite(mode, peers, benches, data, out / "logs" / mode.name, Path(tmp))
        try:
            suite.start()
            suite.run()
        finally:
            suite.stop()
    doc = {
        "suite": {"date": date, "mode": mode.name, "data": args.data, "command": sys.argv,
                  "reps": mode.reps, "cold_reps": mode.cold_reps, "tuned_threads": mode.tune,
                  "seconds": round(time.perf_counter() - started, 1),
                  "ratio": "theanine time / peer time, per pair of runs of the same round; "
                           ">1: the peer is faster"},
        "machine": {**box, "loadavg_at_end": list(os.getloadavg())},
        "peers": {p.key: {"name": p.name, "note": p.note,
                          "status": "ok" if p.key in suite.workers else "skipped",
                          "reason": suite.skipped.get(p.key, "" if p.key in keys else
                                                      "not selected (--peers)"),
                          "thread_settings": [c.label for c in suite.configs(p)],
                          "info": suite.info.get(p.key, {})} for p in PEERS},
        "benchmarks": suite.results(),
    }
    stem = f"results-{mode.name}"
    (out / f"{stem}.json").write_text(json.dumps(doc, indent=1))
    (out / f"{stem}.md").write_text(report.markdown(doc))
    chart = report.chart(doc, out / f"ratios-{mode.name}.png")
    print(f"bench: wrote {out}/{stem}.json, {stem}.md" + (f", {chart.name}" if chart else "")
          + f" in {doc['suite']['seconds']} s", flush=True)
    if args.publish:
        pub = Path(args.publish)
        pub.mkdir(parents=True, exist_ok=True)
        shutil.copy(out / f"{stem}.md", pub / "results.md")
        if chart:
            shutil.copy(chart, pub / "ratios.png")
        print(f"bench: published to {pub}/", flush=True)
    print(report.main_table(doc))
    targets = report.targets_table(doc)
    if targets:
        print("\ntheanine against its targets:\n" + targets)
    print(f"load average (1, 5, 15 min) at the start: {box['loadavg_at_start']}, "
          f"at the end: {doc['machine']['loadavg_at_end']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
