"""What the suite measures: the benchmark registry, the sizes of each mode, the
models' hyperparameters, the data and the initial weights every peer shares.

Every peer builds its tasks from these definitions, so all sides run the same
shapes, dtypes, data, initial weights, batch order and hyperparameters.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

SEED = 1234
MLP_SIZES = (784, 392, 196, 10)  # tanh hidden layers, softmax output
# The CNN of the NN-ops issue: 1x28x28 -> conv 28@5x5 (valid) -> max-pool 3x3,
# stride 3 -> tanh(pool + b) -> conv 56@5x5 (valid) -> max-pool 2x2 -> tanh(pool + b)
# -> flatten to 56*2*2 = 224 -> dense 224->200 tanh -> 200->10 softmax.
# Convolutions are cross-correlations (no filter flip) on every side; pooling
# windows do not overlap (stride = window) and tile the maps exactly (24 = 8*3,
# 4 = 2*2), so no border handling enters.
CNN_KERNELS = (28, 56)
CNN_KSIZE = 5
CNN_POOLS = (3, 2)   # window = stride of the max-pool after each convolution
CNN_HIDDEN = 200
BATCH = 128
SYNTH_SIGNAL = 0.15  # prototype share of a synthetic image, the rest uniform noise
LR = 0.01
MOMENTUM = 0.9  # v = mu * v - lr * g; w = w + v (the same as torch.optim.SGD's form)
WEIGHT_DECAY = 5e-4  # L2, on every parameter (biases too): g = dcost/dw + wd * w
# The training epochs run every peer at this many threads (the 2 cores of the
# machine the targets are set for), so that their ratios compare like with like.
EPOCH_THREADS = 2


def mlp_step_gemms(batch: int = BATCH) -> list[dict]:
    """The GEMMs of one MLP training step as row-major cblas_sgemm calls
    C(m x n) = op(A)(m x k) @ op(B)(k x n), with the names of A and B (H0 = the
    batch, H1, H2 the hidden activations, W1..W3 the weights, dZ1..dZ3 the
    gradients of the pre-activations, each stored as it is used forward): per
    layer, forward H @ W; backward the weight gradient H^T @ dZ and, except for
    the input layer, the gradient of its input dZ @ W^T. That is 3 + 5 for
    784-392-196-10; the bias gradients and the elementwise work are no GEMMs."""
    layers = list(zip(MLP_SIZES[:-1], MLP_SIZES[1:]))
    out = [dict(name=f"H{i} @ W{i + 1}", a=f"H{i}", b=f"W{i + 1}", m=batch, n=o, k=n_in,
                trans_a=False, trans_b=False) for i, (n_in, o) in enumerate(layers)]
    for i, (n_in, o) in reversed(list(enumerate(layers))):
        out.append(dict(name=f"H{i}^T @ dZ{i + 1}", a=f"H{i}", b=f"dZ{i + 1}", m=n_in, n=o,
                        k=batch, trans_a=True, trans_b=False))
        if i > 0:
            out.append(dict(name=f"dZ{i + 1} @ W{i + 1}^T", a=f"dZ{i + 1}", b=f"W{i + 1}",
                            m=batch, n=n_in, k=o, trans_a=False, trans_b=True))
    for g in out:
        g["flop"] = 2 * g["m"] * g["n"] * g["k"]
    return out


def mlp_step_operands(batch: int = BATCH) -> dict[str, tuple[int, int]]:
    """The stored shape of each operand that mlp_step_gemms names."""
    shapes = {}
    for i, n in enumerate(MLP_SIZES):
        shapes[f"H{i}"] = (batch, n)
        if i > 0:
            shapes[f"W{i}"] = (MLP_SIZES[i - 1], n)
            shapes[f"dZ{i}"] = (batch, n)
    return shapes


def cnn_shapes() -> tuple[int, int]:
    """(side of the second pooled map, flattened size): (2, 224)."""
    side = 28
    for p in CNN_POOLS:
        side = (side - CNN_KSIZE + 1) // p
    return side, CNN_KERNELS[-1] * side * side


@dataclass(frozen=True)
class Mode:
    name: str
    reps: int            # timed repetitions per peer, interleaved
    probe_reps: int      # repetitions per thread setting that pick a peer's setting
    cold_reps: int       # fresh processes for the cold compile time
    target_s: float      # a fast task repeats its call until one repetition lasts this long
    settle_s: float      # pause between two contenders' runs (lets BLAS spin-waits end)
    mlp_train: int
    mlp_test: int
    cnn_train: int
    cnn_test: int
    mlp_epochs: int      # for the accuracy figure
    cnn_epochs: int
    elem_n: int          # elements of the fused elementwise benchmark
    gemm_n: int          # square GEMM size
    softmax_shape: tuple[int, int]
    sum_shape: tuple[int, int]  # the matrix summed in full
    opt_pairs: int       # interleaved build pairs (default mode, NO_OPTIMIZATION) of mlp_optimize
    tune: bool           # probe every thread setting of each peer (else use its first one)


MODES = {
    "quick": Mode("quick", reps=3, probe_reps=0, cold_reps=1, target_s=0.02, settle_s=0.0,
                  mlp_train=512, mlp_test=512, cnn_train=128, cnn_test=128,
                  mlp_epochs=1, cnn_epochs=1, elem_n=1 << 20, gemm_n=256,
                  softmax_shape=(512, 256), sum_shape=(512, 256), opt_pairs=15, tune=False),
    "full": Mode("full", reps=5, probe_reps=2, cold_reps=2, target_s=0.25, settle_s=0.1,
                 mlp_train=10240, mlp_test=2048, cnn_train=1024, cnn_test=1024,
                 mlp_epochs=2, cnn_epochs=4, elem_n=1 << 24, gemm_n=2048,
                 softmax_shape=(8192, 1024), sum_shape=(8192, 1024), opt_pairs=41, tune=True),
}


_OPS = {"<": operator.lt, "≤": operator.le, "≥": operator.ge}


@dataclass(frozen=True)
class Target:
    """A goal for theanine's figure: `figure` (the median in the benchmark's unit;
    "fraction_of_copy" / "fraction_of_openblas", a share of the reference timed
    beside it; "ratio_to_<peer>", theanine's time over that peer's, the median of
    the per-pair ratios; "over_floor", theanine's epoch time over its GEMM floor)
    compared by `op` with `bound`."""
    op: str              # "<" | "≤" | "≥"
    bound: float
    figure: str = "median"
    what: str = ""       # how the bound reads, e.g. "of copy"

    @property
    def scale(self) -> str:
        """How the figure reads: "value" (in the unit), "share" (%), "ratio" (×)."""
        if self.figure == "median":
            return "value"
        return "share" if self.figure.startswith("fraction_") else "ratio"

    @property
    def peer(self) -> str:
        """The peer of a "ratio_to_<peer>" figure, else ""."""
        return self.figure[len("ratio_to_"):] if self.figure.startswith("ratio_to_") else ""

    @property
    def text(self) -> str:
        b = {"value": f"{self.bound:g}", "share": f"{self.bound:.0%}",
             "ratio": f"{self.bound:g}×"}[self.scale]
        return f"{self.op} {b}" + (f" {self.what}" if self.what else "")

    def met(self, value: float) -> bool:
        return bool(_OPS[self.op](value, self.bound))


@dataclass(frozen=True)
class Bench:
    id: str
    title: str
    task: str            # the peer-side task that implements it
    kind: str            # "time": seconds per call, timed; "value": the task returns the figure
    unit: str            # what `display` turns the median into
    fresh_process: bool = False  # in a new process (time: each repetition; value: the run)
    only: tuple[str, ...] = ()   # the peers it applies to (the others: n/a); () = all
    target: Optional[Target] = None  # theanine's goal, printed beside its figure
    # Fresh processes: "empty" gives each one a new, empty disk cache; "populated"
    # one that an earlier process (untimed) filled by building the same thing.
    disk_cache: str = "empty"
    # What the task's `reference` call is, timed beside it: "copy" (np.copyto of
    # the input: read and write it once), "sgemm" (cblas_sgemm of the system
    # OpenBLAS into a preallocated output) or "mlp_gemms" (the GEMMs of an MLP
    # epoch, mlp_step_gemms() per step, through that cblas_sgemm; theanine only).
    reference: str = ""
    like: str = ""       # a value task runs at the thread setting this benchmark chose
    # Every peer at its setting of this many threads (the best of those it has, in
    # full mode), not at its fastest setting: 0 lets each peer pick.
    threads: int = 0
    # Not run by itself: its figures are the reference that this benchmark's
    # theanine task times beside each of its runs (mlp_floor: mlp_epoch's GEMMs).
    derived_from: str = ""

    @property
    def higher_is_better(self) -> bool:
        return self.unit in ("GB/s", "GFLOP/s", "%")


BENCHMARKS = [
    Bench("mlp_epoch", "MLP training epoch", "mlp_epoch", "time", "s", threads=EPOCH_THREADS,
          reference="mlp_gemms", target=Target("≤", 0.7, "ratio_to_torch", "PyTorch")),
    Bench("cnn_epoch", "CNN training epoch", "cnn_epoch", "time", "s", threads=EPOCH_THREADS,
          target=Target("≤", 1.0, "ratio_to_torch", "PyTorch")),
    # The MLP epoch's floor: its GEMMs alone, through cblas_sgemm of the system
    # OpenBLAS called directly, timed in theanine's process right after each epoch.
    Bench("mlp_floor", "MLP epoch's GEMM floor: the step's 8 GEMMs through direct "
          "cblas_sgemm, per epoch", "mlp_epoch", "time", "s", only=("theanine",),
          threads=EPOCH_THREADS, derived_from="mlp_epoch",
          target=Target("≤", 1.5, "over_floor", "floor")),
    Bench("mlp_compile_cold", "MLP train function build, fresh process, empty disk cache",
          "mlp_compile", "time", "ms", fresh_process=True, target=Target("≤", 300, what="ms")),
    Bench("mlp_compile_disk", "MLP train function build, fresh process, disk cache filled "
          "by an earlier process", "mlp_compile", "time", "ms", fresh_process=True,
          disk_cache="populated", target=Target("≤", 30, what="ms")),
    Bench("mlp_compile_warm", "MLP train function build, again in-process", "mlp_compile",
          "time", "ms"),
    # theanine's rewrite pipeline: how much of the build above is graph rewriting
    Bench("mlp_optimize", "MLP train function build, the graph-rewriting part (default "
          "mode minus NO_OPTIMIZATION)", "mlp_optimize", "value", "ms", fresh_process=True,
          only=("theanine",), target=Target("<", 50, what="ms")),
    Bench("overhead", "per-call overhead, x*2+1 on 16 float32", "overhead", "time", "us",
          target=Target("≤", 5, what="µs")),
    Bench("overhead_cpp", "per-call overhead through the C++ API, x*2+1 on 16 float32 "
          "(bench/cpp/call_overhead.cc)", "overhead_cpp", "value", "us", only=("theanine",),
          target=Target("≤", 1, what="µs"), like="overhead"),
    Bench("elemwise", "fused tanh(a*x+b), float32", "elemwise", "time", "GB/s",
          reference="copy", target=Target("≥", 0.70, "fraction_of_copy", "of copy")),
    Bench("elemwise_reference", "fused tanh(a*x+b), float32, theanine's REFERENCE mode "
          "(the interpreter)", "elemwise_reference", "time", "GB/s", only=("theanine",),
          reference="copy"),
    Bench("sum", "sum of a whole matrix, float32", "sum", "time", "GB/s", reference="copy"),
    Bench("gemm", "GEMM float32", "gemm", "time", "GFLOP/s", reference="sgemm",
          target=Target("≥", 0.95, "fraction_of_openblas", "of direct cblas_sgemm")),
    Bench("softmax", "softmax over rows, float32", "softmax", "time", "ms", reference="copy"),
    Bench("mlp_accuracy", "MLP test accuracy, same seed and epochs", "mlp_accuracy", "value",
          "%"),
    Bench("cnn_accuracy", "CNN test accuracy, same seed and epochs", "cnn_accuracy", "value",
          "%"),
]
BY_ID = {b.id: b for b in BENCHMARKS}


def _n(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def describe(b: Bench, m: Mode) -> str:
    """The benchmark's title with this mode's sizes."""
    sizes = {
        "mlp_epoch": f"{m.mlp_train} samples, batch {BATCH}",
        "mlp_floor": f"{len(batches(m.mlp_train))} steps of "
                     f"{sum(g['flop'] for g in mlp_step_gemms()) / 1e6:.1f} MFLOP",
        "cnn_epoch": f"{m.cnn_train} samples, batch {BATCH}",
        "elemwise": f"{m.elem_n:,} elements",
        "elemwise_reference": f"{m.elem_n:,} elements",
        "sum": f"{m.sum_shape[0]}x{m.sum_shape[1]}",
        "overhead_cpp": f"median of {m.reps} loops",
        "gemm": f"{m.gemm_n}x{m.gemm_n}x{m.gemm_n}",
        "softmax": f"{m.softmax_shape[0]}x{m.softmax_shape[1]}",
        "mlp_optimize": f"medians of {m.opt_pairs} interleaved pairs, fresh process",
        "mlp_accuracy": f"{_n(m.mlp_epochs, 'epoch')} of {m.mlp_train}, test {m.mlp_test}",
        "cnn_accuracy": f"{_n(m.cnn_epochs, 'epoch')} of {m.cnn_train}, test {m.cnn_test}",
    }.get(b.id)
    return f"{b.title} ({sizes})" if sizes else b.title


def traffic_bytes(b: Bench, m: Mode) -> int:
    """The bytes a bandwidth-bound benchmark must move at the least: elementwise
    and softmax read their input and write a result as large (8 bytes per
    float32 element), a full sum reads its input only (4)."""
    if b.id.startswith("elemwise"):
        return 8 * m.elem_n
    if b.id == "softmax":
        return 8 * m.softmax_shape[0] * m.softmax_shape[1]
    if b.id == "sum":
        return 4 * m.sum_shape[0] * m.sum_shape[1]
    raise KeyError(f"{b.id} has no traffic figure")


def copy_bytes(b: Bench, m: Mode) -> int:
    """The bytes the plain-copy reference moves: the input read and written once."""
    if b.id == "sum":
        return 8 * m.sum_shape[0] * m.sum_shape[1]
    return traffic_bytes(b, m)  # elementwise, softmax: as many as the benchmark


def display(b: Bench, m: Mode, seconds_or_value: float) -> float:
    """A median in the benchmark's unit (throughputs from seconds per call)."""
    v = seconds_or_value
    if b.unit == "us":
        return v * 1e6
    if b.unit == "ms":
        return v * 1e3
    if b.unit == "GB/s":
        return traffic_bytes(b, m) / v / 1e9
    if b.unit == "GFLOP/s":
        return 2 * m.gemm_n ** 3 / v / 1e9
    return v


# ---------------------------------------------------------------- data and weights

def make_data(m: Mode, source: str, path: Path) -> Path:
    """Writes the data set of this mode to `path` (npz) and returns it.

    "synthetic": noisy images around ten random smooth prototypes, labelled by
    their prototype (learnable, and the same on every machine); "fashion": a subset of
    Fashion-MNIST through theanine.datasets.load_mnist.
    """
    rng = np.random.default_rng(SEED)
    n_train, n_test = max(m.mlp_train, m.cnn_train), max(m.mlp_test, m.cnn_test)
    if source == "synthetic":
        # Ten smooth class prototypes (7x7 noise upsampled to 28x28) under noise.
        protos = np.kron(rng.random((10, 7, 7)), np.ones((4, 4))).reshape(10, 784)
        y = rng.integers(0, 10, n_train + n_test).astype(np.int32)
        x = (SYNTH_SIGNAL * protos[y] + (1 - SYNTH_SIGNAL) * rng.random((len(y), 784)))
        x = x.astype(np.float32)
        train_x, train_y, test_x, test_y = x[:n_train], y[:n_train], x[n_train:], y[n_train:]
    elif source == "fashion":
        from theanine.datasets import load_mnist

        (tx, ty), _, (vx, vy) = load_mnist()
        train_x, train_y, test_x, test_y = tx[:n_train], ty[:n_train], vx[:n_test], vy[:n_test]
    else:
        raise ValueError(f"unknown data source {source!r}")
    np.savez(path, train_x=train_x, train_y=train_y, test_x=test_x, test_y=test_y)
    return path


def glorot(rng: np.random.Generator, n_in: float, n_out: float, shape: tuple) -> np.ndarray:
    bound = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-bound, bound, size=shape).astype(np.float32)


def mlp_init() -> list[np.ndarray]:
    """[W1, b1, W2, b2, W3, b3]; W has shape (in, out)."""
    rng = np.random.default_rng(SEED + 1)
    out: list[np.ndarray] = []
    for a, b in zip(MLP_SIZES[:-1], MLP_SIZES[1:]):
        out += [glorot(rng, a, b, (a, b)), np.zeros(b, np.float32)]
    return out


def cnn_init() -> list[np.ndarray]:
    """[K1 (28,1,5,5), c1 (28,), K2 (56,28,5,5), c2 (56,), W3 (224,200), b3, W4 (200,10), b4].

    Uniform in +-sqrt(6/(n_in+n_out)); for a convolution, as in the Theano tutorial,
    n_in = in_channels*k*k and n_out = filters*k*k / (the pooling window's area).
    """
    rng = np.random.default_rng(SEED + 2)
    k, (f1, f2), (p1, p2) = CNN_KSIZE, CNN_KERNELS, CNN_POOLS
    flat = cnn_shapes()[1]
    return [
        glorot(rng, 1 * k * k, f1 * k * k / (p1 * p1), (f1, 1, k, k)), np.zeros(f1, np.float32),
        glorot(rng, f1 * k * k, f2 * k * k / (p2 * p2), (f2, f1, k, k)), np.zeros(f2, np.float32),
        glorot(rng, flat, CNN_HIDDEN, (flat, CNN_HIDDEN)), np.zeros(CNN_HIDDEN, np.float32),
        glorot(rng, CNN_HIDDEN, 10, (CNN_HIDDEN, 10)), np.zeros(10, np.float32),
    ]


class Data:
    """The data set of a run, loaded lazily in a worker, with the batch slicing
    every peer uses (fixed order, the last partial batch dropped)."""

    def __init__(self, path: Optional[str]):
        self._path = path
        self._arrays: Optional[dict] = None

    def __getitem__(self, key: str) -> np.ndarray:
        if self._arrays is None:
            with np.load(self._path) as f:
                self._arrays = {k: f[k] for k in f.files}
        return self._arrays[key]

    def split(self, n_train: int, n_test: int, images: bool = False):
        """(train_x, train_y, test_x, test_y); images=True gives (N, 1, 28, 28)."""
        tx, ty = self["train_x"][:n_train], self["train_y"][:n_train]
        vx, vy = self["test_x"][:n_test], self["test_y"][:n_test]
        if images:
            tx, vx = tx.reshape(-1, 1, 28, 28), vx.reshape(-1, 1, 28, 28)
        return (np.ascontiguousarray(tx), ty, np.ascontiguousarray(vx), vy)


def batches(n: int) -> list[slice]:
    return [slice(i, i + BATCH) for i in range(0, n - BATCH + 1, BATCH)]
