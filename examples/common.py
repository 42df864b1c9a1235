"""What mnist_mlp.py and mnist_cnn.py share: the command line, the data checks,
weight initialization, the device (--device cpu|cuda), saving and resuming
(.npz), the progress bar, the training loop and the learning-curve PNG. A model
is a Network: named shared parameters, its training-step cost and its
prediction, built by the example script.

Saving policy: an existing --save or --plot file is never replaced unless
--overwrite is given, or --save names the file --load resumes from (then both
the parameters and the plot of that run are brought up to date). Files are
written atomically (a temporary file renamed over the old one), after every
epoch, so an interrupted run keeps its last finished epoch.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

import theanine
import theanine.tensor as T
import theanine.updates
from theanine.datasets import DEFAULT_MNIST_DIR, load_mnist
from theanine.npz import load_npz, save_npz
from theanine.plot import write_learning_curve

N_CLASSES = 10
IMAGE_SIDE = 28
EVAL_BATCH = 1000

#: --optimizer choice -> (theanine.updates rule, its keyword arguments besides the
#: learning rate). Weight decay applies to every rule.
MOMENTUM = 0.9
WEIGHT_DECAY = 5e-4
OPTIMIZERS = {
    "sgd": (theanine.updates.sgd, {}),
    "momentum": (theanine.updates.momentum, {"momentum": MOMENTUM}),
    "nesterov": (theanine.updates.nesterov_momentum, {"momentum": MOMENTUM}),
    "adagrad": (theanine.updates.adagrad, {}),
    "rmsprop": (theanine.updates.rmsprop, {}),
    "adam": (theanine.updates.adam, {}),
}
#: The learning rate when --lr is not given: 0.01 (the issue's SGD rate), less for
#: the rules that divide by a running gradient scale.
DEFAULT_LR = {"rmsprop": 0.001, "adam": 0.001}
BACKEND_MODES = {"llvm": "FAST_RUN", "reference": "REFERENCE"}
DEVICES = ("cpu", "cuda")


class UsageError(Exception):
    """A problem with the user's input: printed without a traceback."""


# ---- the command line ---------------------------------------------------------

def parse_args(prog: str, description: str, argv: Optional[Sequence[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("--data", default=DEFAULT_MNIST_DIR,
                   help="folder with the four MNIST-format IDX files (default: %(default)s)")
    p.add_argument("--epochs", type=int, default=10,
                   help="epochs to train (default 10; 0 with --load only evaluates)")
    p.add_argument("--optimizer", choices=list(OPTIMIZERS), default="momentum",
                   help="update rule (default momentum 0.9; all with weight decay 5e-4)")
    p.add_argument("--lr", type=float, default=None,
                   help="learning rate (default 0.01; 0.001 for rmsprop and adam)")
    p.add_argument("--seed", type=int, default=1234,
                   help="seeds the initial weights and the order of the examples")
    p.add_argument("--backend", choices=list(BACKEND_MODES), default="llvm",
                   help="llvm: compiled (the default mode); reference: the reference "
                        "interpreter (mode='REFERENCE')")
    p.add_argument("--device", choices=list(DEVICES), default=None,
                   help="where the parameters live and the training runs: cpu, or cuda "
                        "(the GPU; default: theanine.config.device, i.e. cpu unless "
                        "THEANINE_FLAGS=device=cuda)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--save", default=f"{prog}_params.npz",
                   help="where to save the parameters after each epoch (default %(default)s)")
    p.add_argument("--load", default=None,
                   help="parameters (.npz) to start from: resumes training, or with "
                        "--epochs 0 evaluates them")
    p.add_argument("--plot", default=f"{prog}_curve.png",
                   help="learning-curve PNG written after each epoch (default %(default)s)")
    p.add_argument("--limit", type=int, default=None,
                   help="train on the first N training images only (quick runs)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace existing --save and --plot files")
    args = p.parse_args(argv)
    if args.epochs < 0:
        p.error("--epochs must be 0 or more")
    if args.batch_size < 1:
        p.error("--batch-size must be positive")
    if args.limit is not None and args.limit < 1:
        p.error("--limit must be positive")
    if args.lr is None:
        args.lr = DEFAULT_LR.get(args.optimizer, 0.01)
    if not args.lr > 0:
        p.error("--lr must be positive")
    if args.device is None:
        args.device = theanine.config.device
    if args.device == "cuda" and args.backend == "reference":
        p.error("--backend reference is the CPU interpreter; it does not run on "
                "--device cuda")
    return args


def same_file(a: Optional[str], b: Optional[str]) -> bool:
    if a is None or b is None:
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def check_outputs(args: argparse.Namespace) -> None:
    """Refuses, before any work, to replace files the user has (see the module
    docstring for the policy)."""
    if args.epochs == 0:
        return  # nothing will be written
    resuming_in_place = same_file(args.save, args.load)
    for flag, path in (("--save", args.save), ("--plot", args.plot)):
        if os.path.exists(path) and not args.overwrite and not resuming_in_place:
            raise UsageError(
                f"{flag} {path} already exists; pass --overwrite to replace it, "
                f"--load {args.save} to continue training from it, or {flag} with "
                f"another path (nothing was changed)")


# ---- the device -----------------------------------------------------------------

class DeviceUnavailable(Exception):
    """--device cuda on a machine without a usable CUDA device (exit status 2)."""


def use_device(device: str) -> str:
    """Makes `device` where new shared variables live and functions run (it must
    be set before the network is built) and returns how the run header names it."""
    if device == "cuda":
        core = theanine._core
        if not core.cuda_available():
            raise DeviceUnavailable(f"--device cuda: no usable CUDA device "
                                    f"({core.cuda_unavailable_reason()}); run with "
                                    f"--device cpu")
        theanine.config.device = "cuda"
        info = core.cuda_device_info()
        major, minor = info["compute_capability"]
        return (f"cuda ({info['name']}, compute capability {major}.{minor}, "
                f"{info['total_memory'] / 2**30:.0f} GiB)")
    theanine.config.device = "cpu"
    return "cpu"


# ---- data ---------------------------------------------------------------------

@dataclass
class Data:
    train_x: np.ndarray
    train_y: np.ndarray
    valid_x: np.ndarray
    valid_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray


def check_split(x: np.ndarray, y: np.ndarray, split: str, folder: str) -> None:
    pixels = IMAGE_SIDE * IMAGE_SIDE
    if x.ndim != 2 or x.shape[1] != pixels:
        raise UsageError(f"{folder}: the {split} images have {x.shape[1]} pixels each; "
                         f"the model needs {IMAGE_SIDE}x{IMAGE_SIDE} = {pixels}")
    if len(x) != len(y):
        raise UsageError(f"{folder}: {len(x)} {split} images but {len(y)} labels")
    bad = np.flatnonzero((y < 0) | (y >= N_CLASSES))
    if bad.size:
        raise UsageError(f"{folder}: {split} label {int(y[bad[0]])} at index {int(bad[0])} is "
                         f"out of range (labels must be 0 to {N_CLASSES - 1}; "
                         f"{bad.size} such labels)")


def load_data(args: argparse.Namespace, input_shape: Tuple[int, ...]) -> Data:
    (tx, ty), (vx, vy), (sx, sy) = load_mnist(args.data)
    for x, y, split in ((tx, ty, "training"), (vx, vy, "validation"), (sx, sy, "test")):
        check_split(x, y, split, args.data)
    if args.limit is not None:
        tx, ty = tx[:args.limit], ty[:args.limit]
    shape = (-1,) + tuple(input_shape)
    return Data(tx.reshape(shape), ty, vx.reshape(shape), vy, sx.reshape(shape), sy)


# ---- the model ----------------------------------------------------------------

def uniform_init(rng: np.random.Generator, shape: Tuple[int, ...], fan_in: float,
                 fan_out: float) -> np.ndarray:
    """Uniform in +-sqrt(6 / (fan_in + fan_out)) (Glorot and Bengio, as the Theano
    tutorials initialize tanh layers)."""
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=shape).astype(np.float32)


@dataclass
class Network:
    """What an example script builds: parameters (name -> shared variable, in the
    order they are saved), the symbolic input batch x, the labels y, and the
    class scores (logits) z of x."""
    params: List[Tuple[str, object]]
    x: object
    y: object
    z: object


@dataclass
class History:
    train_loss: List[float] = field(default_factory=list)
    valid_error: List[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.train_loss)


class Trainer:
    """The compiled training step and prediction of a Network, its optimizer state,
    and saving/loading all of it."""

    def __init__(self, net: Network, args: argparse.Namespace) -> None:
        self.net = net
        self.optimizer = args.optimizer
        mode = BACKEND_MODES[args.backend]
        shared = [p for _, p in net.params]
        # The mean crossentropy of the softmax of the logits, as one stabilized op.
        cost = T.mean(T.nnet.crossentropy_softmax(net.z, net.y))
        rule, kwargs = OPTIMIZERS[args.optimizer]
        updates = rule(cost, shared, args.lr, weight_decay=WEIGHT_DECAY, **kwargs)
        # The rule's own state (velocities, moments, step count): every updated
        # shared variable that is not a parameter, saved to resume exactly.
        self.state = [v for v in updates if all(v is not p for p in shared)]
        self.train_step = theanine.function([net.x, net.y], cost, updates=updates,
                                            mode=mode, name="train")
        self.predict = theanine.function([net.x], T.argmax(net.z, axis=1), mode=mode,
                                         name="predict")

    def error_rate(self, x: np.ndarray, y: np.ndarray) -> float:
        wrong = 0
        for i in range(0, len(x), EVAL_BATCH):
            wrong += int(np.count_nonzero(self.predict(x[i:i + EVAL_BATCH]) != y[i:i + EVAL_BATCH]))
        return wrong / max(1, len(x))

    def save(self, path: str, history: History) -> None:
        arrays = {name: p.get_value() for name, p in self.net.params}
        for k, s in enumerate(self.state):
            arrays[f"optimizer.{self.optimizer}.{k}"] = s.get_value()
        arrays["history.train_loss"] = np.asarray(history.train_loss, np.float64)
        arrays["history.valid_error"] = np.asarray(history.valid_error, np.float64)
        save_npz(path, arrays)

    def load(self, path: str) -> Tuple[History, str]:
        """Sets the parameters (and the optimizer state when the file has it for
        this optimizer) from `path`; returns the saved history and a note on the
        optimizer state."""
        arrays = load_npz(path)
        for name, p in self.net.params:
            want = p.get_value().shape
            if name not in arrays:
                held = ", ".join(repr(k) for k in arrays) or "no arrays"
                raise UsageError(f"{path} has no array {name!r} that this model needs "
                                 f"(it holds {held}): was it saved by another model?")
            a = arrays[name]
            if a.shape != want:
                raise UsageError(f"{path}: array {name!r} has shape {a.shape}, but the "
                                 f"model needs {want}")
            if a.dtype.kind != "f":
                raise UsageError(f"{path}: array {name!r} has dtype {a.dtype}; the model "
                                 f"needs floating point values")
            p.set_value(a.astype(np.float32))
        prefix = f"optimizer.{self.optimizer}."
        saved = [k for k in arrays if k.startswith(prefix)]
        if len(saved) == len(self.state) and all(
                arrays[f"{prefix}{k}"].shape == s.get_value().shape
                for k, s in enumerate(self.state)):
            for k, s in enumerate(self.state):
                s.set_value(arrays[f"{prefix}{k}"].astype(s.get_value().dtype))
            note = f"{self.optimizer} state restored" if self.state else ""
        else:
            note = f"no {self.optimizer} state in the file: it starts from zero"
        history = History(
            [float(v) for v in arrays.get("history.train_loss", [])],
            [float(v) for v in arrays.get("history.valid_error", [])])
        return history, note


# ---- progress -----------------------------------------------------------------

class ProgressBar:
    """`epoch 3/10 [#########.......] 240/390` on stderr, redrawn in place (at most
    ten times a second) on a terminal; elsewhere (logs, pipes) written once, when
    the epoch ends."""

    WIDTH = 30

    def __init__(self, epoch: int, epochs: int, total: int, stream=sys.stderr) -> None:
        self.label = f"epoch {epoch}/{epochs}"
        self.total = total
        self.stream = stream
        self.tty = stream.isatty()
        self.last_draw = 0.0

    def text(self, done: int) -> str:
        filled = self.WIDTH * done // max(1, self.total)
        return (f"{self.label} [{'#' * filled}{'.' * (self.WIDTH - filled)}] "
                f"{done}/{self.total}")

    def update(self, done: int) -> None:
        if not self.tty:
            return
        now = time.perf_counter()
        if now - self.last_draw >= 0.1 or done == self.total:
            self.stream.write("\r" + self.text(done))
            self.stream.flush()
            self.last_draw = now

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\r\033[K")  # clear the bar: the epoch line replaces it
        else:
            self.stream.write(self.text(self.total) + "\n")
        self.stream.flush()


# ---- the whole run --------------------------------------------------------------

def run(prog: str, args: argparse.Namespace, input_shape: Tuple[int, ...],
        build: Callable[[np.random.Generator], Network], describe: str) -> None:
    """Checks the outputs, loads the data, builds and compiles the model, resumes
    from --load, trains --epochs epochs (saving after each) and reports the test
    accuracy."""
    check_outputs(args)
    device = use_device(args.device)
    data = load_data(args, input_shape)
    n_batches = len(data.train_x) // args.batch_size
    if args.epochs > 0 and n_batches == 0:
        raise UsageError(f"--batch-size {args.batch_size} is larger than the "
                         f"{len(data.train_x)} training images")
    print(f"data: {args.data}: {len(data.train_x)} train, {len(data.valid_x)} valid, "
          f"{len(data.test_x)} test images")
    print(f"model: {describe}; {args.optimizer} (lr {args.lr:g}, weight decay "
          f"{WEIGHT_DECAY:g}), batch {args.batch_size}, backend {args.backend}")
    print(f"device: {device}")

    start = time.perf_counter()
    trainer = Trainer(build(np.random.default_rng(args.seed)), args)
    print(f"compiled in {time.perf_counter() - start:.2f} s")
    history = History()
    if args.load:
        history, note = trainer.load(args.load)
        print(f"loaded {args.load} (after {history.epochs} epochs" +
              (f"; {note})" if note else ")"))

    first, last = history.epochs + 1, history.epochs + args.epochs
    for epoch in range(first, last + 1):
        start = time.perf_counter()
        # A new order of all the training examples each epoch, reproducible from
        # the seed and the epoch number (also when resuming).
        order = np.random.default_rng([args.seed, epoch]).permutation(len(data.train_x))
        bar = ProgressBar(epoch, last, n_batches)
        total = 0.0
        for b in range(n_batches):
            batch = order[b * args.batch_size:(b + 1) * args.batch_size]
            total += float(trainer.train_step(data.train_x[batch], data.train_y[batch]))
            bar.update(b + 1)
        bar.finish()
        history.train_loss.append(total / n_batches)
        history.valid_error.append(trainer.error_rate(data.valid_x, data.valid_y))
        seconds = time.perf_counter() - start
        print(f"epoch {epoch}/{last}: train loss {history.train_loss[-1]:.4f}, validation "
              f"error {100 * history.valid_error[-1]:.2f}%, {seconds:.2f} s/epoch", flush=True)
        trainer.save(args.save, history)
        write_learning_curve(args.plot, {"train loss": history.train_loss,
                                         "validation error": history.valid_error},
                             title=f"{prog}: {os.path.basename(os.path.normpath(args.data))}",
                             ylabel="loss / error rate")
    if args.epochs > 0:
        print(f"saved parameters to {args.save}, learning curve to {args.plot}")
    else:
        print(f"validation error {100 * trainer.error_rate(data.valid_x, data.valid_y):.2f}%")
    test_error = trainer.error_rate(data.test_x, data.test_y)
    print(f"test accuracy: {100 * (1 - test_error):.2f}%")


def main(prog: str, description: str, argv: Optional[Sequence[str]],
         input_shape: Tuple[int, ...], build: Callable[[np.random.Generator], Network],
         describe: str) -> None:
    args = parse_args(prog, description, argv)
    try:
        run(prog, args, input_shape, build, describe)
    except UsageError as e:
        sys.exit(f"{prog}: error: {e}")
    except DeviceUnavailable as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        sys.exit(2)
    except OSError as e:  # a missing, truncated or corrupt data or parameter file
        sys.exit(f"{prog}: error: {e}")
    except KeyboardInterrupt:
        sys.exit(f"\n{prog}: interrupted")
