"""theanine.datasets: the IDX reader and load_mnist, against files written here
with NumPy (nothing is downloaded)."""
import gzip
import os
import struct

import numpy as np
import pytest

from theanine import datasets

TYPE_CODES = {
    np.uint8: 0x08,
    np.int8: 0x09,
    np.int16: 0x0B,
    np.int32: 0x0C,
    np.float32: 0x0D,
    np.float64: 0x0E,
}


def idx_bytes(arr, code=None):
    """The IDX encoding of arr, written independently of the reader."""
    arr = np.asarray(arr)
    code = TYPE_CODES[arr.dtype.type] if code is None else code
    header = bytes([0, 0, code, arr.ndim]) + struct.pack(">%dI" % arr.ndim, *arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write(path, data):
    path.write_bytes(data)
    return str(path)


def random_array(rng, dtype, shape):
    if np.issubdtype(dtype, np.floating):
        return rng.standard_normal(shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)


SHAPES = [(), (7,), (3, 5), (0, 4), (4, 1, 6), (2, 3, 1, 2)]


@pytest.mark.parametrize("dtype", list(TYPE_CODES))
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("compress", [False, True])
def test_round_trip(tmp_path, dtype, shape, compress):
    rng = np.random.default_rng(TYPE_CODES[dtype] * 100 + len(shape) * 10 + sum(shape))
    want = random_array(rng, dtype, shape)
    data = idx_bytes(want)
    got = datasets.read_idx(write(tmp_path / "f", gzip.compress(data) if compress else data))
    assert got.dtype == want.dtype
    assert got.shape == want.shape
    assert got.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(got, want)


def test_non_contiguous_source_array(tmp_path):
    # The writer sees a transposed, reversed view; the file holds C order.
    base = np.arange(24, dtype=np.int32).reshape(4, 6)
    view = base[:, ::-2].T
    got = datasets.read_idx(write(tmp_path / "v", idx_bytes(view)))
    np.testing.assert_array_equal(got, view)


def test_gzip_detected_by_content_and_path_like(tmp_path):
    want = np.arange(12, dtype=np.float64).reshape(3, 4) / 7
    # A gzipped file without .gz and a plain one with it; pathlib paths accepted.
    np.testing.assert_array_equal(
        datasets.read_idx(tmp_path / write(tmp_path / "a", gzip.compress(idx_bytes(want)))),
        want)
    write(tmp_path / "b.gz", idx_bytes(want))
    np.testing.assert_array_equal(datasets.read_idx(tmp_path / "b.gz"), want)


def test_large_gzip_streams(tmp_path):
    want = np.random.default_rng(1).integers(0, 256, size=(300, 28, 28), dtype=np.uint8)
    got = datasets.read_idx(write(tmp_path / "big.gz", gzip.compress(idx_bytes(want))))
    np.testing.assert_array_equal(got, want)


def test_concatenated_gzip_members(tmp_path):
    data = idx_bytes(np.arange(10, dtype=np.int16))
    path = write(tmp_path / "c.gz", gzip.compress(data[:7]) + gzip.compress(data[7:]))
    np.testing.assert_array_equal(datasets.read_idx(path), np.arange(10, dtype=np.int16))


def expect_oserror(path, *fragments):
    with pytest.raises(OSError) as info:
        datasets.read_idx(path)
    msg = str(info.value)
    assert str(path) in msg
    for f in fragments:
        assert f in msg, msg
    return msg


GOOD = idx_bytes(np.arange(6, dtype=np.int32).reshape(2, 3))  # 12-byte header, 24 data


@pytest.mark.parametrize("compress", [False, True])
def test_truncated_header(tmp_path, compress):
    for n, what in [(0, "found 0"), (3, "found 3"), (9, "found 5")]:
        data = GOOD[:n]
        path = write(tmp_path / ("h%d" % n), gzip.compress(data) if compress else data)
        expect_oserror(path, "truncated", what)


@pytest.mark.parametrize("compress", [False, True])
def test_truncated_data(tmp_path, compress):
    data = GOOD[:-5]
    path = write(tmp_path / "d", gzip.compress(data) if compress else data)
    expect_oserror(path, "truncated", "expected 24 data bytes", "int32 (2, 3)", "found 19")


@pytest.mark.parametrize("compress", [False, True])
def test_trailing_bytes(tmp_path, compress):
    data = GOOD + b"\0\0\0"
    path = write(tmp_path / "t", gzip.compress(data) if compress else data)
    expect_oserror(path, "3 unexpected bytes")


def test_garbage_after_gzip_stream(tmp_path):
    path = write(tmp_path / "g.gz", gzip.compress(GOOD) + b"\x00\x01")
    expect_oserror(path, "not gzip", "00 01")


@pytest.mark.parametrize("compress", [False, True])
def test_bad_magic(tmp_path, compress):
    data = b"GIF89a" + bytes(20)
    path = write(tmp_path / "m", gzip.compress(data) if compress else data)
    expect_oserror(path, "not an IDX file", "47 49 46 38")


def test_unknown_type_code(tmp_path):
    path = write(tmp_path / "u", bytes([0, 0, 0x0A, 1, 0, 0, 0, 1, 5]))
    expect_oserror(path, "unknown type code 0x0a")


def test_corrupt_gzip(tmp_path):
    z = bytearray(gzip.compress(idx_bytes(np.zeros(500, np.uint8)) + os.urandom(64)))
    for i in range(10, len(z) - 8):
        z[i] ^= 0xA5
    expect_oserror(write(tmp_path / "z.gz", bytes(z)), "corrupt gzip")


def test_truncated_gzip(tmp_path):
    z = gzip.compress(idx_bytes(np.arange(4000, dtype=np.int32)))
    expect_oserror(write(tmp_path / "z.gz", z[: len(z) // 2]), "truncated")


def test_missing_file(tmp_path):
    expect_oserror(tmp_path / "absent-idx3-ubyte", "does not exist")


def test_find_idx_file_spellings(tmp_path):
    write(tmp_path / "train-images.idx3-ubyte.gz", b"")
    assert datasets.find_idx_file(tmp_path, "train-images-idx3-ubyte") == str(
        tmp_path / "train-images.idx3-ubyte.gz")
    with pytest.raises(OSError, match="t10k-images-idx3-ubyte.gz"):
        datasets.find_idx_file(tmp_path, "t10k-images-idx3-ubyte")


def write_fake_mnist(folder, n_train, n_test, rng):
    sets = {}
    for prefix, n in [("train", n_train), ("t10k", n_test)]:
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        images[0, 0, :2] = [0, 255]  # the scaling ends
        write(folder / ("%s-images-idx3-ubyte.gz" % prefix), gzip.compress(idx_bytes(images)))
        write(folder / ("%s-labels.idx1-ubyte" % prefix), idx_bytes(labels))
        sets[prefix] = images, labels
    return sets


def test_load_mnist_splits_and_scaling(tmp_path):
    sets = write_fake_mnist(tmp_path, 60, 12, np.random.default_rng(0))
    (tx, ty), (vx, vy), (sx, sy) = datasets.load_mnist(tmp_path)
    images, labels = sets["train"]
    flat = images.reshape(60, 784).astype(np.float32) / np.float32(255)
    for x, y, rows in [(tx, ty, slice(0, 50)), (vx, vy, slice(50, 60))]:
        assert x.dtype == np.float32 and y.dtype == np.int32
        np.testing.assert_array_equal(x, flat[rows])
        np.testing.assert_array_equal(y, labels[rows])
    images, labels = sets["t10k"]
    np.testing.assert_array_equal(sx, images.reshape(12, 784).astype(np.float32) / 255)
    np.testing.assert_array_equal(sy, labels)
    assert tx.shape == (50, 784) and vx.shape == (10, 784) and sx.shape == (12, 784)
    assert tx.min() == 0.0 and tx.max() == 1.0


def test_load_mnist_missing_folder(tmp_path):
    with pytest.raises(OSError, match="does not exist"):
        datasets.load_mnist(tmp_path / "nowhere")


def test_load_mnist_label_count_mismatch(tmp_path):
    write_fake_mnist(tmp_path, 12, 6, np.random.default_rng(2))
    write(tmp_path / "train-labels.idx1-ubyte", idx_bytes(np.zeros(11, np.uint8)))
    with pytest.raises(OSError, match="12 images .* 11 labels"):
        datasets.load_mnist(tmp_path)


@pytest.mark.skipif(not os.path.isdir(datasets.DEFAULT_MNIST_DIR),
                    reason="Fashion-MNIST is not installed")
def test_default_fashion_mnist():
    (tx, ty), (vx, vy), (sx, sy) = datasets.load_mnist()
    assert tx.shape == (50000, 784) and vx.shape == (10000, 784) and sx.shape == (10000, 784)
    assert ty.shape == (50000,) and vy.shape == (10000,) and sy.shape == (10000,)
    # Fashion-MNIST's test set holds 1000 images of each class.
    np.testing.assert_array_equal(np.bincount(sy, minlength=10), np.full(10, 1000))
    assert 0.0 <= tx.min() and tx.max() <= 1.0
    raw = datasets.read_idx(
        datasets.find_idx_file(datasets.DEFAULT_MNIST_DIR, "t10k-labels-idx1-ubyte"))
    assert raw.dtype == np.uint8
    np.testing.assert_array_equal(raw, sy)


EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "logreg.py")


def numpy_logreg(train, valid, test, epochs, batch_size, lr, seed):
    """examples/logreg.py's training, step for step in NumPy: the printed costs
    and errors must agree."""
    (tx, ty), (vx, vy), (sx, sy) = train, valid, test
    W = np.zeros((tx.shape[1], 10), np.float32)
    b = np.zeros(10, np.float32)
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(epochs):
        costs = []
        for i in rng.permutation(tx.shape[0] // batch_size):
            X, y = tx[i * batch_size:(i + 1) * batch_size], ty[i * batch_size:(i + 1) * batch_size]
            z = X @ W + b
            e = np.exp(z - z.max(axis=1, keepdims=True))
            p = e / e.sum(axis=1, keepdims=True)
            costs.append(-np.log(p[np.arange(len(y)), y]).mean())
            delta = p - np.eye(10, dtype=np.float32)[y]
            W = W - np.float32(lr) * (X.T @ delta) / np.float32(len(y))
            b = b - np.float32(lr) * delta.mean(axis=0)
        lines.append((np.mean(costs), 100 * np.mean(np.argmax(vx @ W + b, axis=1) != vy)))
    return lines, 100 * np.mean(np.argmax(sx @ W + b, axis=1) == sy)


def test_logreg_example_matches_numpy(tmp_path):
    import re
    import subprocess
    import sys

    rng = np.random.default_rng(5)
    write_fake_mnist(tmp_path, 120, 30, rng)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.dirname(os.path.dirname(datasets.__file__)), env.get("PYTHONPATH", "")])
    out = subprocess.run(
        [sys.executable, EXAMPLE, "--data", str(tmp_path), "--epochs", "3", "--batch-size",
         "25", "--lr", "0.5", "--seed", "9"],
        env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    epochs = re.findall(
        r"epoch (\d+): train cost ([\d.]+), validation error ([\d.]+)%, ([\d.]+) s", out.stdout)
    assert [int(e[0]) for e in epochs] == [1, 2, 3], out.stdout
    accuracy = re.search(r"test accuracy: ([\d.]+)%", out.stdout)
    assert accuracy, out.stdout

    want_lines, want_accuracy = numpy_logreg(*datasets.load_mnist(tmp_path), epochs=3,
                                             batch_size=25, lr=0.5, seed=9)
    for (_, cost, verr, _), (want_cost, want_verr) in zip(epochs, want_lines):
        assert abs(float(cost) - want_cost) < 2e-4, (cost, want_cost)
        assert verr == "%.2f" % want_verr
    assert accuracy.group(1) == "%.2f" % want_accuracy
