"""The suite's report: Markdown tables and a PNG chart of the ratios, both made
from the JSON document alone (so old results can be re-rendered)."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

from peers import PEERS

NAMES = {p.key: p.name for p in PEERS}
OTHERS = [p.key for p in PEERS if p.key != "theanine"]


def num(v: float) -> str:
    if v >= 1000:
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:.0f}"
    return f"{v:.3g}"


def ratio(v: float, sign: str = "×") -> str:
    return sign + (f"{v:.1f}" if v >= 10 else f"{v:.2f}" if v >= 0.1 else f"{v:.2g}")


def cell(b: dict, key: str) -> str:
    r = b["results"][key]
    if r["status"] == "skipped":
        return "skipped"
    if r["status"] == "unsupported":
        return "n/a" if r["reason"].startswith("n/a") else "not supported"
    if r["status"] != "ok":
        return "failed"
    s = num(r["display"]["median"])
    if "ratio" in r and key != "theanine":
        s += f" {ratio(r['ratio']['median'])}"
    extra = []
    if "fraction_of_copy" in r:
        bw = f"{num(r['bandwidth_GBps']['median'])} GB/s, " if b["unit"] != "GB/s" else ""
        extra.append(f"{bw}{r['fraction_of_copy']['median']:.0%} of copy")
    if "fraction_of_openblas" in r:
        extra.append(f"{r['fraction_of_openblas']['median']:.0%} of direct cblas_sgemm")
    if "speedup_over_reference_mode" in r:
        extra.append(f"×{r['speedup_over_reference_mode']:.1f} over REFERENCE mode")
    if "over_floor" in r:
        extra.append(f"{num(r['floor_GFLOPs']['median'])} GFLOP/s; theanine's epoch "
                     f"{r['over_floor']['median']:.2f}× this")
    if "target" in r:
        t = r["target"]
        shown = (f"{figure(t, b['unit'])}, " if t["figure"].startswith("ratio_to_")
                 and t["value"] is not None else "")
        extra.append(f"{shown}target {t['text']}: {met(t)}")
    if "rewrites" in r:
        extra.append(f"{r['rewrites']} rewrites")
    if extra:
        s += f" ({'; '.join(extra)})"
    return s


def met(t: dict) -> str:
    if t["met"] is None:
        return f"no figure ({t['why']})" if t.get("why") else "no figure"
    return "met" if t["met"] else "not met"


def figure(t: dict, unit: str) -> str:
    """A target's figure as the target reads: a share in %, a ratio with ×,
    else in the unit."""
    if t["value"] is None:
        return "—"
    scale = t.get("scale") or ("value" if t["figure"] == "median" else "share")
    if scale == "share":
        return f"{t['value']:.0%}"
    if scale == "ratio":
        return f"{t['value']:.2f}×"
    return f"{num(t['value'])} {'µs' if unit == 'us' else unit}"


def targets_table(doc: dict) -> str:
    """theanine's figure beside its target, per benchmark that has one."""
    rows = ["| benchmark | theanine | target | met |", "| --- | ---: | --- | --- |"]
    for b in doc["benchmarks"]:
        r = b["results"]["theanine"]
        if not b.get("target"):
            continue
        if "target" in r:
            rows.append(f"| {b['id']} | {figure(r['target'], b['unit'])} | {b['target']} | "
                        f"{met(r['target'])} |")
        else:
            rows.append(f"| {b['id']} | {r['status']} | {b['target']} | no figure |")
    return "\n".join(rows) if len(rows) > 2 else ""


def lead(b: dict) -> str:
    ld = b.get("leader")
    if not ld:
        return "—"
    name = NAMES[ld["peer"]]
    if "spread" in ld:
        return f"{name}; max − min {ld['spread']:.2f} points"
    if "by" not in ld:
        return name
    return f"{name}, {ld['by']:.2f}× ahead of {NAMES[ld['runner_up']]}"


def main_table(doc: dict) -> str:
    keys = ["theanine"] + OTHERS
    rows = ["| benchmark | unit | " + " | ".join(NAMES[k] for k in keys) + " | leads |",
            "| --- | --- | " + " | ".join("---:" for _ in keys) + " | --- |"]
    for b in doc["benchmarks"]:
        rows.append(f"| {b['title']} | {b['unit']} | "
                    + " | ".join(cell(b, k) for k in keys) + f" | {lead(b)} |")
    return "\n".join(rows)


def notes(doc: dict) -> list[str]:
    out = [f"- {p['name']}: skipped: {p['reason']}" for p in doc["peers"].values()
           if p["status"] == "skipped"]
    for b in doc["benchmarks"]:
        for k, r in b["results"].items():
            if r["status"] in ("unsupported", "failed"):
                out.append(f"- {b['title']}, {NAMES[k]}: {r['status']}: {r['reason']}")
    return out


def details(doc: dict) -> str:
    rows = ["| benchmark | peer | thread setting used | median [min–max] | ratio [min–max] | "
            "settings probed (best run, s) |", "| --- | --- | --- | --- | --- | --- |"]
    for b in doc["benchmarks"]:
        for k, r in b["results"].items():
            if r["status"] != "ok":
                continue
            d = r["display"]
            q = r.get("ratio", {})
            rat = (f"{ratio(q['median'])} [{ratio(q['min'], '')}–{ratio(q['max'], '')}]"
                   if "ratio" in r and k != "theanine" else "")
            tried = ", ".join(f"{c}: {v:.3g}" if isinstance(v, float) else f"{c}: {v}"
                              for c, v in r["tried"].items()) or "—"
            rows.append(f"| {b['id']} | {NAMES[k]} | {r['config']} | {num(d['median'])} "
                        f"[{num(d['min'])}–{num(d['max'])}] {b['unit']} | {rat} | {tried} |")
    return "\n".join(rows)


def libraries(doc: dict) -> str:
    rows = ["| peer | versions | BLAS | BLAS / OpenMP libraries loaded in its process (first thread setting) |",
            "| --- | --- | --- | --- |"]
    for k, p in doc["peers"].items():
        if p["status"] != "ok":
            continue
        infos = list(p["info"].values())
        first = infos[0] or {}
        versions = ", ".join(f"{n} {v}" for n, v in first.get("versions", {}).items())
        libs = []
        for lib in first.get("blas", []):
            s = Path(lib["path"]).name
            if lib.get("corename"):
                s += f" (core {lib['corename']}, {lib.get('threads')} threads)"
            libs.append(s)
        rows.append(f"| {p['name']} | {versions} | {first.get('blas_api', '')} | "
                    f"{'; '.join(libs) or '—'} |")
    return "\n".join(rows)


def pinned(doc: dict) -> str:
    """Which benchmarks ran every peer at one thread count (Bench.threads)."""
    by_n: dict[int, list[str]] = {}
    for b in doc["benchmarks"]:
        if b.get("threads"):
            by_n.setdefault(b["threads"], []).append(b["id"])
    return "".join(f"; {', '.join(ids)}: every peer at {n} threads" for n, ids in by_n.items())


def markdown(doc: dict) -> str:
    s, m = doc["suite"], doc["machine"]
    head = (f"# theanine benchmarks\n\n{s['date']}, {s['mode']} mode ({s['seconds']} s): "
            f"{m['cpu']}, {m['cores']} cores ({', '.join(m['simd'])}), {m['memory']}, "
            f"load average {m['loadavg_at_start'][0]:.1f} at the start"
            + (f", {m['loadavg_at_end'][0]:.1f} at the end" if "loadavg_at_end" in m else "")
            + f"; {s['data']} data; "
            f"{s['reps']} interleaved repetitions per thread setting"
            + (", each peer at its fastest thread setting" if s["tuned_threads"] else
               ", first thread setting only") + pinned(doc) + ".\n\n"
            f"Each cell: the median; ×r = {s['ratio']}, the median of the per-pair ratios. "
            f"OPENBLAS_CORETYPE: {m['OPENBLAS_CORETYPE']}.\n")
    parts = [head, main_table(doc)]
    t = targets_table(doc)
    if t:
        parts += ["\n## theanine against its targets\n", t]
    n = notes(doc)
    if n:
        parts += ["\n## Notes\n", "\n".join(n)]
    parts += ["\n## Spread and thread settings\n", details(doc),
              "\n## Libraries\n", libraries(doc), ""]
    return "\n".join(parts)


def chart(doc: dict, path: Path) -> Optional[Path]:
    """A bar chart of each peer's ratio per timed benchmark (log scale), or None
    when matplotlib is missing or there is no ratio."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    benches = [b for b in doc["benchmarks"] if b["kind"] == "time"
               and any("ratio" in b["results"][k] for k in OTHERS)]
    peers = [k for k in OTHERS if any("ratio" in b["results"][k] for b in benches)]
    if not benches or not peers:
        return None
    fig, ax = plt.subplots(figsize=(max(8, 1.3 * len(benches)), 4.8))
    width = 0.8 / len(peers)
    for i, k in enumerate(peers):
        xs, ys, lo, hi = [], [], [], []
        for j, b in enumerate(benches):
            r = b["results"][k].get("ratio")
            if r:
                xs.append(j - 0.4 + width * (i + 0.5))
                ys.append(r["median"])
                lo.append(r["median"] - r["min"])
                hi.append(r["max"] - r["median"])
        # bars start at 1 (parity), so a peer slower than theanine points down
        ax.bar(xs, [y - 1 for y in ys], width, bottom=1, yerr=[lo, hi], capsize=2,
               label=NAMES[k])
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xticks(range(len(benches)))
    ax.set_xticklabels([b["id"] for b in benches], rotation=20, ha="right")
    ax.set_ylabel("theanine time / peer time  (>1: peer faster)")
    m = doc["machine"]
    ax.set_title(f"theanine vs peers, {doc['suite']['date'][:10]}, {m['cpu']}, {m['cores']} cores",
                 fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


if __name__ == "__main__":  # re-render: python3 bench/report.py results-full.json [chart.png]
    d = json.loads(Path(sys.argv[1]).read_text())
    print(markdown(d))
    if len(sys.argv) > 2:
        chart(d, Path(sys.argv[2]))
