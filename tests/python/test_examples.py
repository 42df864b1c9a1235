"""The examples run end to end (on small data where they need data).

The MNIST examples run on tiny IDX folders written here (600 training and 200
test images, each class a bright bar at its own height, so one or two epochs
learn it), in Python and, when the build tree has them, as the C++ executables.
"""
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
PIXELS = 28 * 28


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


# ---- the MNIST examples ------------------------------------------------------------

def idx_bytes(arr):
    """The IDX encoding of a uint8 array, written independently of the reader."""
    return bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + \
        arr.astype(np.uint8).tobytes()


def write_mnist(folder, n_train=600, n_test=200, side=28, labels=None, seed=0):
    """Four IDX files of images whose class shows as a bright bar at row 2*label."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        y = rng.integers(0, 10, n).astype(np.uint8)
        x = (rng.random((n, side, side)) * 60).astype(np.uint8)
        for k in range(n):
            x[k, 2 * y[k]:2 * y[k] + 5, 3:side - 3] = 250
        if labels is not None and prefix == "train":
            y[:len(labels)] = labels
        (folder / f"{prefix}-images-idx3-ubyte").write_bytes(idx_bytes(x))
        (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(idx_bytes(y))
    return str(folder)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_mnist(tmp_path_factory.mktemp("mnist"))


def cpp_example(name):
    """The C++ executable `name` of the build tree the tests run against (the one
    THEANINE_CORE_PATH points into, else build/), or None."""
    dirs = [Path(os.environ["THEANINE_CORE_PATH"]).parent] \
        if os.environ.get("THEANINE_CORE_PATH") else []
    dirs.append(ROOT / "build")
    for d in dirs:
        if (d / name).is_file() and os.access(d / name, os.X_OK):
            return d / name
    return None


def runner(lang, name):
    """Runs the Python or C++ version of an example in a folder; returns the
    CompletedProcess (check=False: tests look at failures too)."""
    if lang == "py":
        cmd = [sys.executable, str(ROOT / "examples" / f"{name}.py")]
    else:
        exe = cpp_example(name)
        if exe is None:
            pytest.skip(f"no C++ {name} executable in the build tree")
        cmd = [str(exe)]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python"))

    def run(cwd, *args):
        return subprocess.run(cmd + [str(a) for a in args], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=120)
    return run


LANGS = ["py", "cc"]
QUICK = ["--limit", "320", "--batch-size", "32"]


def accuracy_of(out):
    m = re.search(r"^test accuracy: ([\d.]+)%$", out, re.M)
    assert m, out
    return float(m.group(1))


@pytest.mark.parametrize("lang", LANGS)
def test_mlp_trains_saves_and_plots(tmp_path, data, lang):
    run = runner(lang, "mnist_mlp")
    r = run(tmp_path, "--data", data, "--epochs", 2, *QUICK)
    assert r.returncode == 0, r.stderr
    lines = re.findall(r"^epoch (\d)/2: train loss ([\d.]+), validation error ([\d.]+)%, "
                       r"[\d.]+ s/epoch$", r.stdout, re.M)
    assert [int(e) for e, _, _ in lines] == [1, 2], r.stdout
    # The bar (not a terminal here: written once per epoch, when it ends).
    assert re.search(r"^epoch 2/2 \[#{30}\] 10/10$", r.stderr, re.M), r.stderr
    assert accuracy_of(r.stdout) > 90
    assert float(lines[1][1]) < float(lines[0][1])  # the loss falls
    with np.load(tmp_path / "mnist_mlp_params.npz") as f:
        shapes = {k: f[k].shape for k in f}
        np.testing.assert_allclose(f["history.train_loss"], [float(l) for _, l, _ in lines],
                                   rtol=1e-3)
    assert shapes["hidden1.W"] == (784, 392) and shapes["hidden2.W"] == (392, 196)
    assert shapes["output.W"] == (196, 10) and shapes["output.b"] == (10,)
    assert shapes["optimizer.momentum.0"] == (784, 392)
    png = (tmp_path / "mnist_mlp_curve.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("lang", LANGS)
def test_resume_evaluate_and_refuse_to_overwrite(tmp_path, data, lang):
    run = runner(lang, "mnist_mlp")
    assert run(tmp_path, "--data", data, "--epochs", 1, *QUICK).returncode == 0
    saved = (tmp_path / "mnist_mlp_params.npz").read_bytes()

    # A second run would replace the first one's files: refused, nothing changed.
    r = run(tmp_path, "--data", data, "--epochs", 1, *QUICK)
    assert r.returncode == 1
    assert "mnist_mlp_params.npz already exists; pass --overwrite" in r.stderr
    assert (tmp_path / "mnist_mlp_params.npz").read_bytes() == saved

    # Resuming from the same file continues its numbering and history.
    r = run(tmp_path, "--data", data, "--epochs", 1, "--load", "mnist_mlp_params.npz", *QUICK)
    assert r.returncode == 0, r.stderr
    assert "loaded mnist_mlp_params.npz (after 1 epochs; momentum state restored)" in r.stdout
    assert re.search(r"^epoch 2/2: ", r.stdout, re.M), r.stdout
    with np.load(tmp_path / "mnist_mlp_params.npz") as f:
        assert f["history.train_loss"].shape == (2,)
    trained = accuracy_of(r.stdout)

    # --epochs 0 evaluates the saved parameters and writes nothing.
    before = sorted(os.listdir(tmp_path))
    r = run(tmp_path, "--data", data, "--epochs", 0, "--load", "mnist_mlp_params.npz")
    assert r.returncode == 0, r.stderr
    assert accuracy_of(r.stdout) == trained
    assert sorted(os.listdir(tmp_path)) == before

    # --overwrite replaces the files (training is deterministic: another seed).
    r = run(tmp_path, "--data", data, "--epochs", 1, "--overwrite", "--seed", 99, *QUICK)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "mnist_mlp_params.npz").read_bytes() != saved


def test_python_and_cpp_files_are_interchangeable(tmp_path, data):
    py, cc = runner("py", "mnist_mlp"), runner("cc", "mnist_mlp")
    assert py(tmp_path, "--data", data, "--epochs", 1, "--save", "py.npz", *QUICK).returncode == 0
    r = cc(tmp_path, "--data", data, "--epochs", 0, "--load", "py.npz")
    assert r.returncode == 0, r.stderr
    assert accuracy_of(r.stdout) == accuracy_of(
        py(tmp_path, "--data", data, "--epochs", 0, "--load", "py.npz").stdout)


@pytest.mark.parametrize("lang", LANGS)
def test_a_file_of_another_model_names_the_array_and_both_shapes(tmp_path, data, lang):
    run = runner(lang, "mnist_mlp")
    np.savez(tmp_path / "wrong.npz", **{
        "hidden1.W": np.zeros((784, 300), np.float32), "hidden1.b": np.zeros(392, np.float32)})
    r = run(tmp_path, "--data", data, "--epochs", 0, "--load", "wrong.npz")
    assert r.returncode == 1
    assert "wrong.npz: array 'hidden1.W' has shape (784, 300), but the model needs " \
           "(784, 392)" in r.stderr, r.stderr
    np.savez(tmp_path / "other.npz", W=np.zeros(3))
    r = run(tmp_path, "--data", data, "--epochs", 0, "--load", "other.npz")
    assert r.returncode == 1
    assert "other.npz has no array 'hidden1.W'" in r.stderr and "'W'" in r.stderr, r.stderr
    (tmp_path / "junk.npz").write_bytes(b"not a zip file at all" * 3)
    r = run(tmp_path, "--data", data, "--epochs", 0, "--load", "junk.npz")
    assert r.returncode == 1 and "not an .npz file" in r.stderr, r.stderr


@pytest.mark.parametrize("lang", LANGS)
def test_bad_data_is_named(tmp_path, lang):
    run = runner(lang, "mnist_mlp")
    bad_labels = write_mnist(tmp_path / "labels", labels=[3, 12])
    r = run(tmp_path, "--data", bad_labels, "--epochs", 1)
    assert r.returncode == 1
    assert "training label 12 at index 1 is out of range (labels must be 0 to 9" in r.stderr, \
        r.stderr
    big = write_mnist(tmp_path / "big", n_train=60, n_test=20, side=32)
    r = run(tmp_path, "--data", big, "--epochs", 1)
    assert r.returncode == 1
    assert "images have 1024 pixels each; the model needs 28x28 = 784" in r.stderr, r.stderr
    r = run(tmp_path, "--data", str(tmp_path / "nowhere"), "--epochs", 1)
    assert r.returncode == 1 and "nowhere" in r.stderr, r.stderr
    assert not (tmp_path / "mnist_mlp_params.npz").exists()


@pytest.mark.parametrize("lang", LANGS)
def test_bad_flags_are_usage_errors(tmp_path, data, lang):
    run = runner(lang, "mnist_mlp")
    for args in (["--optimizer", "lbfgs"], ["--backend", "gpu"], ["--epochs", "x"],
                 ["--batch-size", "0"]):
        r = run(tmp_path, "--data", data, *args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert args[0] in r.stderr or args[1] in r.stderr, r.stderr


@pytest.mark.parametrize("lang", LANGS)
def test_every_optimizer_and_the_reference_backend_learn(tmp_path, data, lang):
    run = runner(lang, "mnist_mlp")
    for opt in ("sgd", "nesterov", "adagrad", "rmsprop", "adam"):
        r = run(tmp_path, "--data", data, "--epochs", 1, "--optimizer", opt, "--save",
                f"{opt}.npz", "--plot", f"{opt}.png", "--lr", "0.05" if opt == "sgd" else
                "0.01", *QUICK)
        assert r.returncode == 0, (opt, r.stderr)
        assert accuracy_of(r.stdout) > 50, (opt, r.stdout)
    r = run(tmp_path, "--data", data, "--epochs", 1, "--backend", "reference", "--save",
            "ref.npz", "--plot", "ref.png", *QUICK)
    assert r.returncode == 0, r.stderr
    assert "backend reference" in r.stdout


@pytest.mark.parametrize("lang", LANGS)
def test_cnn_trains_and_saves(tmp_path, data, lang):
    run = runner(lang, "mnist_cnn")
    r = run(tmp_path, "--data", data, "--epochs", 2, *QUICK)
    assert r.returncode == 0, r.stderr
    assert accuracy_of(r.stdout) > 60, r.stdout  # chance is 10%
    with np.load(tmp_path / "mnist_cnn_params.npz") as f:
        shapes = {k: f[k].shape for k in f}
    assert shapes["conv1.W"] == (28, 1, 5, 5) and shapes["conv2.W"] == (56, 28, 5, 5)
    assert shapes["hidden.W"] == (224, 200) and shapes["output.W"] == (200, 10)
    # An MLP file is not a CNN file.
    assert runner(lang, "mnist_mlp")(tmp_path, "--data", data, "--epochs", 0, "--load",
                                     "mnist_cnn_params.npz").returncode == 1


# ---- --device cuda ----------------------------------------------------------------------

def cuda_state():
    """(available, why not) of the CUDA device as the examples will see it."""
    from theanine import _core

    return _core.cuda_available(), _core.cuda_unavailable_reason()


@pytest.mark.parametrize("lang", LANGS)
def test_device_cuda_without_a_device_is_a_clear_error(tmp_path, data, lang):
    available, _ = cuda_state()
    if available:
        pytest.skip("a CUDA device is present: the examples train on it (next test)")
    run = runner(lang, "mnist_mlp")
    r = run(tmp_path, "--data", data, "--epochs", 1, "--device", "cuda", *QUICK)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "mnist_mlp: error: --device cuda: no usable CUDA device (" in r.stderr, r.stderr
    assert "run with --device cpu" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "mnist_mlp_params.npz").exists()
    # The CPU is still the default and says so in the header.
    r = run(tmp_path, "--data", data, "--epochs", 1, *QUICK)
    assert r.returncode == 0, r.stderr
    assert re.search(r"^device: cpu$", r.stdout, re.M), r.stdout


@pytest.mark.parametrize("lang", LANGS)
def test_device_flag_values_are_checked(tmp_path, data, lang):
    run = runner(lang, "mnist_mlp")
    r = run(tmp_path, "--data", data, "--device", "tpu")
    assert r.returncode == 2 and "tpu" in r.stderr, r.stderr
    # The reference interpreter is CPU-only: refused before anything runs.
    r = run(tmp_path, "--data", data, "--device", "cuda", "--backend", "reference")
    assert r.returncode == 2, r.stderr
    assert "--backend reference" in r.stderr and "--device cuda" in r.stderr, r.stderr


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", ["mnist_mlp", "mnist_cnn"])
def test_trains_on_the_cuda_device(tmp_path, data, lang, name):
    available, why = cuda_state()
    if not available:
        pytest.skip(f"no CUDA device: {why}")
    run = runner(lang, name)
    r = run(tmp_path, "--data", data, "--epochs", 2, "--device", "cuda", *QUICK)
    assert r.returncode == 0, r.stderr
    assert re.search(r"^device: cuda \(.+, compute capability \d+\.\d+, ", r.stdout, re.M), \
        r.stdout
    lines = re.findall(r"^epoch \d/2: train loss ([\d.]+), ", r.stdout, re.M)
    assert len(lines) == 2 and float(lines[1]) < float(lines[0]), r.stdout
    trained = accuracy_of(r.stdout)
    assert trained > (90 if name == "mnist_mlp" else 60), r.stdout
    # The saved parameters are host arrays: the CPU evaluates them the same (up to
    # a tie or two among the 200 test images).
    with np.load(tmp_path / f"{name}_params.npz") as f:
        assert all(np.isfinite(f[k]).all() for k in f)
    r = run(tmp_path, "--data", data, "--epochs", 0, "--device", "cpu", "--load",
            f"{name}_params.npz")
    assert r.returncode == 0, r.stderr
    assert abs(accuracy_of(r.stdout) - trained) <= 1.0, (trained, r.stdout)
