"""Smoke test of the benchmark suite (bench/): its quick mode with theanine and
NumPy only (and the training epochs against PyTorch where it imports), checked
for the structure of its JSON and Markdown and for figures that agree with their
own samples, so that the suite cannot rot. The same for the GPU benchmarks
(bench/gpu.py): without a device it says so; its --cpu --tiny run checks the
script's logic everywhere, and a --tiny run on the device where there is one."""
import importlib.util
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

from peers import BY_KEY, PEERS, Unsupported  # noqa: E402
from workloads import BENCHMARKS, BY_ID, EPOCH_THREADS, MODES, batches  # noqa: E402

QUICK = MODES["quick"]


def theanine_has_conv() -> bool:
    """Whether theanine has conv2d and pool_2d yet (the NN-ops issue brings them):
    the CNN benchmarks run for theanine from then on."""
    from peers import theanine_peer

    try:
        theanine_peer._conv_ops()
        return True
    except Unsupported:
        return False


def quick_run(out: Path, *args: str):
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "run.py"), "--quick",
                           "--out", str(out), *args], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads((out / "results-quick.json").read_text())
    return doc, (out / "results-quick.md").read_text(), out


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return quick_run(tmp_path_factory.mktemp("bench"), "--peers", "theanine,numpy")


@pytest.fixture(scope="module")
def torch_run(tmp_path_factory):
    """The training epochs against PyTorch (and their floor), where torch imports."""
    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed: the PyTorch comparison is skipped")
    return quick_run(tmp_path_factory.mktemp("bench-torch"), "--peers", "theanine,torch",
                     "--only", "mlp_floor,cnn_epoch")


def by_id(doc):
    return {b["id"]: b for b in doc["benchmarks"]}


def test_describes_the_run_and_the_machine(run):
    doc, _, _ = run
    assert doc["suite"]["mode"] == "quick" and doc["suite"]["reps"] == QUICK.reps
    assert doc["suite"]["seconds"] < 120
    m = doc["machine"]
    assert m["cpu"] and m["cores"] >= 1 and "OPENBLAS_CORETYPE" in m
    assert [b["id"] for b in doc["benchmarks"]] == [b.id for b in BENCHMARKS]


def test_peers_are_run_or_skipped_with_a_reason(run):
    doc, _, _ = run
    assert set(doc["peers"]) == {p.key for p in PEERS}
    for key, p in doc["peers"].items():
        if key in ("theanine", "numpy"):
            assert p["status"] == "ok", p
            info = next(iter(p["info"].values()))
            assert info["versions"] and info["blas"], info  # each side's BLAS is recorded
        else:
            assert p["status"] == "skipped" and p["reason"], p
            for b in doc["benchmarks"]:
                assert b["results"][key]["status"] == "skipped"
    # theanine calls the system OpenBLAS: its kernel type is named
    libs = next(iter(doc["peers"]["theanine"]["info"].values()))["blas"]
    assert any(lib.get("corename") for lib in libs), libs


def cpp_binary() -> Path:
    from peers import theanine_peer

    return theanine_peer.cpp_binary()


def test_every_benchmark_has_a_theanine_figure(run):
    doc, _, _ = run
    unsupported = set() if theanine_has_conv() else {"cnn_epoch", "cnn_accuracy"}
    if not cpp_binary().is_file():
        unsupported.add("overhead_cpp")
    for b in doc["benchmarks"]:
        r = b["results"]["theanine"]
        if b["id"] in unsupported:
            assert r["status"] == "unsupported" and r["reason"], r
            continue
        assert r["status"] == "ok", (b["id"], r)
        if b["id"] != "mlp_optimize":  # a difference of two medians, checked below
            assert r["display"]["median"] > 0
        fresh = b["kind"] == "time" and BY_ID[b["id"]].fresh_process
        assert len(r["samples"]) == (QUICK.cold_reps if fresh else
                                     1 if b["kind"] == "value" else QUICK.reps)


def test_numpy_runs_everything_but_compiling(run):
    doc, _, _ = run
    theanine_only = {"mlp_optimize", "elemwise_reference", "overhead_cpp", "mlp_floor"}
    for b in doc["benchmarks"]:
        r = b["results"]["numpy"]
        if b["id"].startswith("mlp_compile") or b["id"] in theanine_only:
            assert r["status"] == "unsupported" and r["reason"].startswith("n/a"), r
        else:
            assert r["status"] == "ok", (b["id"], r)


def test_cold_build_starts_empty_and_disk_build_reads_the_cache(run):
    doc, _, _ = run
    b = by_id(doc)
    info = next(iter(doc["peers"]["theanine"]["info"].values()))
    cold, disk, warm = (b[k]["results"]["theanine"]
                        for k in ("mlp_compile_cold", "mlp_compile_disk", "mlp_compile_warm"))
    for r in (cold, disk, warm):  # one record of the compiled kernels per timed build
        assert len(r["kernel_stats"]) == len(r["samples"]), r
    if not info["llvm_backend"]:
        pytest.skip("this build has no LLVM backend: no kernels to cache")
    for ks in cold["kernel_stats"]:
        assert not ks["disk_hit"] and ks["compiled"] == ks["kernels"] > 0, ks
    for ks in disk["kernel_stats"]:
        assert ks["disk_hit"] and ks["kernels"] > 0, ks
    for ks in warm["kernel_stats"]:  # in-process: nothing left to compile
        assert ks["compiled"] == 0 and ks["kernels"] > 0, ks


def test_targets_are_judged_on_their_figures(run):
    doc, md, _ = run
    judged = 0
    for b in doc["benchmarks"]:
        bench = BY_ID[b["id"]]
        r = b["results"]["theanine"]
        if bench.target is None:
            assert not b["target"] and "target" not in r
            continue
        assert b["target"] == bench.target.text
        if r["status"] != "ok":
            continue
        t = r["target"]
        row = next(line for line in md.splitlines() if line.startswith(f"| {b['id']} |"))
        if bench.target.peer:  # PyTorch did not run: no ratio to judge, and why
            assert t["value"] is None and t["met"] is None and "PyTorch skipped" in t["why"]
            assert row.rstrip(" |").endswith(f"no figure ({t['why']})"), row
            continue
        want = (r["display"]["median"] if bench.target.figure == "median"
                else r[bench.target.figure]["median"])
        assert t["value"] == pytest.approx(want)
        assert t["met"] is bench.target.met(want)
        assert row.rstrip(" |").endswith("not met" if not t["met"] else "| met"), row
        judged += 1
    assert judged >= 7  # compile cold/disk, optimize, overhead, elemwise, gemm, mlp_floor
    assert "## theanine against its targets" in md


def config_threads(doc: dict, bench_id: str, key: str) -> int:
    label = by_id(doc)[bench_id]["results"][key]["config"]
    return next(c.threads for c in BY_KEY[key].configs if c.label == label)


def test_epochs_run_every_peer_at_the_same_thread_count(run):
    doc, _, _ = run
    for bench_id in ("mlp_epoch", "cnn_epoch", "mlp_accuracy"):
        for key in ("theanine", "numpy"):
            assert config_threads(doc, bench_id, key) == EPOCH_THREADS
    assert config_threads(doc, "overhead", "theanine") == BY_KEY["theanine"].configs[0].threads


# One MLP step's GEMM FLOPs, counted by hand: batch 128, 784-392-196-10.
# Forward: X@W1, H1@W2, H2@W3; backward: the three weight gradients H^T@dZ (the
# same FLOPs as the forward ones) and dZ3@W3^T, dZ2@W2^T (none for the input).
STEP_FLOP = (2 * 128 * (784 * 392 + 392 * 196 + 196 * 10) * 2
             + 2 * 128 * (196 * 10 + 392 * 196))


def test_mlp_floor_is_the_epoch_over_its_gemms_timed_beside_it(run):
    doc, md, _ = run
    b = by_id(doc)
    floor, epoch = b["mlp_floor"]["results"]["theanine"], b["mlp_epoch"]["results"]["theanine"]
    assert STEP_FLOP == 217_864_192
    assert floor["gemm_flop_per_epoch"] == len(batches(QUICK.mlp_train)) * STEP_FLOP
    assert len(floor["floor_gemms"]) == 8
    assert sum(g["flop"] for g in floor["floor_gemms"]) == STEP_FLOP
    assert floor["samples"] == epoch["reference_samples"]
    assert floor["epoch_samples"] == epoch["samples"] and floor["config"] == epoch["config"]
    pairs = [e / f for e, f in zip(epoch["samples"], floor["samples"])]
    assert floor["over_floor"]["median"] == pytest.approx(statistics.median(pairs))
    assert floor["floor_GFLOPs"]["median"] == pytest.approx(
        floor["gemm_flop_per_epoch"] / statistics.median(floor["samples"]) / 1e9)
    assert floor["target"]["value"] == floor["over_floor"]["median"]
    assert floor["target"]["met"] is (floor["over_floor"]["median"] <= 1.5)
    lib = floor["sgemm_library"]  # the same system OpenBLAS as the gemm row's
    assert lib == b["gemm"]["results"]["theanine"]["sgemm_library"]
    assert b["mlp_floor"]["results"]["numpy"]["status"] == "unsupported"
    assert "| mlp_floor |" in md


def test_epochs_against_pytorch_at_the_same_thread_count(torch_run):
    doc, md, _ = torch_run
    b = by_id(doc)
    assert set(b) == {"mlp_epoch", "mlp_floor", "cnn_epoch"}  # mlp_floor needs mlp_epoch
    for bench_id, bound in (("mlp_epoch", 0.7), ("cnn_epoch", 1.0)):
        ours, theirs = b[bench_id]["results"]["theanine"], b[bench_id]["results"]["torch"]
        assert ours["status"] == theirs["status"] == "ok", (ours, theirs)
        for key in ("theanine", "torch"):
            assert config_threads(doc, bench_id, key) == EPOCH_THREADS
        pairs = [a / c for a, c in zip(ours["samples"], theirs["samples"])]
        t = ours["target"]
        assert t["value"] == pytest.approx(statistics.median(pairs))
        assert t["value"] == pytest.approx(theirs["ratio"]["median"])
        assert t["met"] is (t["value"] <= bound)
        row = next(line for line in md.splitlines() if line.startswith(f"| {bench_id} |"))
        assert f"| {t['value']:.2f}× | ≤ {bound:g}× PyTorch | " in row, row
        assert row.rstrip(" |").endswith("not met" if not t["met"] else "| met"), row


def test_optimize_time_is_the_difference_of_the_build_medians(run):
    doc, md, _ = run
    b = by_id(doc)["mlp_optimize"]
    assert b["unit"] == "ms" and b["target"] == "< 50 ms" and b["leader"] is None
    r = b["results"]["theanine"]
    builds = r["build_ms"]
    for k in ("default", "no_optimization"):
        assert len(builds[k]["samples"]) == QUICK.opt_pairs
        assert builds[k]["median"] == pytest.approx(statistics.median(builds[k]["samples"]))
        assert 0 < builds[k]["min"] <= builds[k]["median"] <= builds[k]["max"]
    assert r["display"]["median"] == pytest.approx(
        builds["default"]["median"] - builds["no_optimization"]["median"], abs=1e-3)
    assert r["default_mode"] != "NO_OPTIMIZATION"
    assert isinstance(r["rewrites"], int) and r["rewrites"] == sum(r["rewrite_stats"].values())
    assert set(r["cpu_ms"]) == {"default", "no_optimization", "difference"}
    row = next(line for line in md.splitlines() if line.startswith(f"| {b['title']} |"))
    assert "target < 50 ms" in row and f"{r['rewrites']} rewrites" in row


def test_ratios_are_per_pair_of_runs(run):
    doc, _, _ = run
    checked = 0
    for b in doc["benchmarks"]:
        ours, theirs = b["results"]["theanine"], b["results"]["numpy"]
        if b["kind"] != "time" or "ok" != ours["status"] or "ok" != theirs["status"]:
            continue
        pairs = [a / c for a, c in zip(ours["samples"], theirs["samples"])]
        assert theirs["ratio"]["pairs"] == pytest.approx(pairs, rel=1e-12)
        assert theirs["ratio"]["median"] == pytest.approx(statistics.median(pairs), rel=1e-12)
        assert (theirs["ratio"]["min"], theirs["ratio"]["max"]) == (min(pairs), max(pairs))
        assert theirs["seconds"]["median"] == statistics.median(theirs["samples"])
        lead = b["leader"]
        first, second = lead["peer"], lead["runner_up"]
        assert {first, second} == {"theanine", "numpy"}
        runner, leader = b["results"][second]["samples"], b["results"][first]["samples"]
        assert lead["by"] == pytest.approx(statistics.median(
            [r / t for r, t in zip(runner, leader)]), rel=1e-12)
        checked += 1
    assert checked >= 4  # overhead, elemwise, gemm, softmax at least


def test_throughputs_follow_from_the_times(run):
    doc, _, _ = run
    b = by_id(doc)
    n_sum = QUICK.sum_shape[0] * QUICK.sum_shape[1]
    n_softmax = QUICK.softmax_shape[0] * QUICK.softmax_shape[1]
    for key in ("theanine", "numpy"):
        g = b["gemm"]["results"][key]
        assert g["display"]["median"] == pytest.approx(
            2 * QUICK.gemm_n ** 3 / g["seconds"]["median"] / 1e9)
        # bytes moved at the least, per second; the copy beside it read and wrote the input
        for bench, moved, copied in (("elemwise", 8 * QUICK.elem_n, 8 * QUICK.elem_n),
                                     ("sum", 4 * n_sum, 8 * n_sum),
                                     ("softmax", 8 * n_softmax, 8 * n_softmax)):
            r = b[bench]["results"][key]
            if b[bench]["unit"] == "GB/s":
                assert r["display"]["median"] == pytest.approx(
                    moved / r["seconds"]["median"] / 1e9)
            assert (r["bytes_moved"], r["bytes_copied"]) == (moved, copied)
            fractions = [(moved / s) / (copied / c)
                         for s, c in zip(r["samples"], r["reference_samples"])]
            assert r["fraction_of_copy"]["median"] == pytest.approx(statistics.median(fractions))
            assert 0 < r["fraction_of_copy"]["median"] < 3
    assert b["gemm"]["results"]["numpy"]["fraction_of_openblas_via_numpy"] == pytest.approx(1.0)


def test_gemm_against_the_system_openblas_called_directly(run):
    doc, _, _ = run
    r = by_id(doc)["gemm"]["results"]["theanine"]
    lib = r["sgemm_library"]
    assert "libopenblas" in lib and "numpy" not in lib and "scipy" not in lib, lib
    # the library theanine's process has loaded (one OpenBLAS instance, its threads)
    loaded = next(iter(doc["peers"]["theanine"]["info"].values()))["blas"]
    assert lib in [x["path"] for x in loaded], loaded
    ratios = [c / s for s, c in zip(r["samples"], r["reference_samples"])]
    assert r["fraction_of_openblas"]["median"] == pytest.approx(statistics.median(ratios))
    assert 0.2 < r["fraction_of_openblas"]["median"] < 5


def test_compiled_elemwise_against_the_interpreter(run):
    doc, _, _ = run
    b = by_id(doc)
    compiled = b["elemwise"]["results"]["theanine"]
    interp = b["elemwise_reference"]["results"]["theanine"]
    assert compiled["speedup_over_reference_mode"] == pytest.approx(
        interp["seconds"]["median"] / compiled["seconds"]["median"])


def test_same_math_same_accuracy(run):
    doc, _, _ = run
    acc = by_id(doc)["mlp_accuracy"]["results"]
    assert acc["theanine"]["status"] == acc["numpy"]["status"] == "ok", acc
    a, c = acc["theanine"]["display"]["median"], acc["numpy"]["display"]["median"]
    assert 0 <= c <= 100 and abs(a - c) <= 1.0, (a, c)


def test_markdown_table_and_chart(run):
    doc, md, out = run
    header = next(line for line in md.splitlines() if line.startswith("| benchmark | unit"))
    assert [c.strip() for c in header.strip("|").split("|")][2:] == \
        [p.name for p in PEERS] + ["leads"]
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    for b in doc["benchmarks"]:
        row = next(r for r in rows if r.startswith(f"| {b['title']} |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert len(cells) == len(PEERS) + 3
        assert cells[4:7] == ["skipped"] * 3  # PyTorch, JAX, PyTensor not selected
    assert "## Notes" in md and "not selected" in md
    png = out / "ratios-quick.png"
    if importlib.util.find_spec("matplotlib"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert not png.exists()


# ---- bench/gpu.py: theanine on the CUDA device against PyTorch on the same GPU -------------

GPU_ROWS = ["mlp_step", "mlp_step_resident", "cnn_step", "cnn_step_resident", "copy",
            "elemwise", "compile_cold", "compile_disk"]


def gpu_bench(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    path = os.pathsep.join(filter(None, [str(REPO / "python"), os.environ.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, str(REPO / "bench" / "gpu.py"), *args],
                          capture_output=True, text=True, timeout=600, cwd=tmp,
                          env=dict(os.environ, PYTHONPATH=path))


def cuda_available() -> bool:
    from theanine import _core

    return _core.cuda_available()


def test_gpu_bench_without_a_device_says_so(tmp_path):
    if cuda_available():
        pytest.skip("a CUDA device is present")
    proc = gpu_bench(tmp_path, "--quick", "--out", str(tmp_path / "t.md"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("bench/gpu.py: no CUDA device (") and \
        "nothing measured" in proc.stdout, proc.stdout
    assert (tmp_path / "t.md").read_text() == proc.stdout
    proc = gpu_bench(tmp_path, "--quick", "--require")
    assert proc.returncode == 2, proc.stdout + proc.stderr


@pytest.fixture(scope="module", params=["cpu", "cuda"])
def gpu_run(request, tmp_path_factory):
    """bench/gpu.py --tiny: with --cpu everywhere (the script's logic, its table
    and JSON), on the device where there is one."""
    if request.param == "cuda" and not cuda_available():
        pytest.skip("no CUDA device")
    tmp = tmp_path_factory.mktemp(f"gpu-bench-{request.param}")
    args = ["--tiny", "--out", str(tmp / "t.md"), "--json", str(tmp / "t.json")]
    proc = gpu_bench(tmp, *args, *(["--cpu"] if request.param == "cpu" else []))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    md = (tmp / "t.md").read_text()
    assert md == proc.stdout
    return request.param, json.loads((tmp / "t.json").read_text()), md


def test_gpu_bench_table_has_every_row_and_column(gpu_run):
    on, doc, md = gpu_run
    assert doc["environment"]["on"] == on and doc["environment"]["sizes"] == "tiny"
    assert [r["id"] for r in doc["rows"]] == GPU_ROWS
    assert not any(r["failed"] for r in doc["rows"])
    lines = [line for line in md.splitlines() if line.startswith("| ")]
    assert lines[0] == "| figure | theanine | PyTorch | ratio | target | met |"
    assert lines[1] == "| --- | --- | --- | --- | --- | --- |"
    body = lines[2:]
    assert len(body) == len(GPU_ROWS)
    for line, r in zip(body, doc["rows"]):
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells == [r[k] for k in ("figure", "theanine", "torch", "ratio", "target",
                                        "met")], (cells, r)
    assert "the figures mean nothing" in md  # --tiny says so


def test_gpu_bench_steps_compare_the_same_model(gpu_run):
    on, doc, _ = gpu_run
    torch_ran = doc["environment"]["torch"].get("version") and \
        "status" not in doc["environment"]["torch"]
    for r in doc["rows"][:4]:
        d = r["data"]
        assert len(d["samples_s"]["theanine"]) == 2  # --tiny: 2 repetitions
        assert d["resident_output"] == ("DeviceArray" if on == "cuda" else "ndarray")
        assert r["target"] == f"≤ {0.5 if r['id'].startswith('mlp') else 1:g}× PyTorch"
        if not torch_ran:
            assert r["torch"].startswith("n/a: ") and r["met"] == "no figure"
            continue
        # Both sides ran the example's network from the same weights: the same losses.
        lc = d["loss_check"]
        assert len(lc["theanine"]) == len(lc["torch"]) == 3
        assert lc["agree"] and lc["worst_rel"] < 1e-3, lc
        ratios = [a / b for a, b in zip(d["samples_s"]["theanine"], d["samples_s"]["torch"])]
        assert d["ratios"] == pytest.approx(ratios)
        bound = 0.5 if r["id"].startswith("mlp") else 1.0
        assert r["ratio"].startswith(f"{statistics.median(ratios):.2f}×")
        assert r["met"] == ("yes" if statistics.median(ratios) <= bound else "no")


def test_gpu_bench_elemwise_is_right_and_a_share_of_the_copy(gpu_run):
    _, doc, _ = gpu_run
    copy, elem = doc["rows"][4]["data"], doc["rows"][5]
    d = elem["data"]
    assert d["correct"] and d["max_abs_error"] <= 1e-5 and copy["negate_correct"]
    ref = "torch_copy" if d["copy_reference"].startswith("torch") else "negate"
    fractions = [c / e for c, e in zip(copy["samples_s"][ref], d["samples_s"]["elemwise"])]
    assert d["fraction_of_copy"] == pytest.approx(fractions)
    assert f"= {100 * statistics.median(fractions):.0f}% of " in elem["theanine"]
    assert elem["met"] == ("yes" if statistics.median(fractions) >= 0.7 else "no")


def test_gpu_bench_compiles_cold_then_from_the_disk_cache(gpu_run):
    on, doc, _ = gpu_run
    cold, disk = doc["rows"][6], doc["rows"][7]
    for r, hit in ((cold, False), (disk, True)):
        runs = r["data"]["runs"]
        assert len(runs) == 1 and runs[0]["device"] == on
        ks = runs[0]["kernel_stats"]
        if on == "cpu" and not ks["kernels"]:
            continue  # a build without LLVM compiles no kernels on the CPU
        assert ks["kernels"] > 0 and bool(ks["disk_hit"]) is hit, ks
        if not hit:
            assert ks["compiled"] == ks["kernels"], ks
        # A second build in the same process compiles nothing.
        assert runs[0]["again_kernel_stats"]["compiled"] == 0, runs[0]
        bound = 1500 if r is cold else 50
        assert r["met"] == ("yes" if statistics.median(
            x["function_s"] for x in runs) * 1e3 <= bound else "no")
