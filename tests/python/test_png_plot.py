"""theanine.plot: the learning-curve PNG is a valid PNG (checked here with zlib and
struct, independently of the writer) that shows the data the right way up."""
import os
import struct
import zlib

import numpy as np
import pytest

from theanine.plot import learning_curve_png, write_learning_curve

BLUE = (0, 114, 178)  # the first series' colour
ORANGE = (213, 94, 0)  # the second's


def decode_png(data: bytes):
    """(width, height, pixels as a (h, w, 3) uint8 array), checking the signature,
    each chunk's CRC, the IHDR fields and the scanline layout."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        chunks.append((kind, body))
        pos += 12 + length
    assert pos == len(data)
    kinds = [k for k, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds
    w, h, depth, color, comp, filt, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, color, comp, filt, interlace) == (8, 2, 0, 0, 0)  # 8-bit RGB
    raw = zlib.decompress(b"".join(b for k, b in chunks if k == b"IDAT"))
    assert len(raw) == h * (1 + 3 * w)
    rows = np.frombuffer(raw, np.uint8).reshape(h, 1 + 3 * w)
    assert (rows[:, 0] == 0).all()  # filter type None on every line, as written
    return w, h, rows[:, 1:].reshape(h, w, 3)


def mask(pixels, rgb):
    return (pixels == np.array(rgb, np.uint8)).all(axis=2)


def test_valid_png_of_the_requested_size():
    w, h, px = decode_png(learning_curve_png({"loss": [1.0, 0.5, 0.4]}, width=640,
                                             height=360, title="t"))
    assert (w, h) == (640, 360)
    assert (px[0, 0] == 255).all() and (px[-1, -1] == 255).all()  # white background
    assert (px < 128).all(axis=2).sum() > 200  # black/dark text and axes


def test_each_series_is_drawn_in_its_colour():
    _, _, px = decode_png(learning_curve_png({"train loss": [0.9, 0.6, 0.5],
                                              "validation error": [0.2, 0.15, 0.12]}))
    assert mask(px, BLUE).sum() > 100
    assert mask(px, ORANGE).sum() > 100
    _, _, one = decode_png(learning_curve_png({"train loss": [0.9, 0.6, 0.5]}))
    assert mask(one, ORANGE).sum() == 0


def test_the_data_is_drawn_the_right_way_up():
    """A falling series has its left end high (small row numbers) and its right
    end low; a rising one the reverse. The legend row is above the plot area."""
    def ends(values):
        _, _, px = decode_png(learning_curve_png({"s": values}, width=600, height=400))
        rows, cols = np.nonzero(mask(px, BLUE))
        plot = rows > 80  # below the legend
        rows, cols = rows[plot], cols[plot]
        left, right = cols < cols.min() + 10, cols > cols.max() - 10
        return rows[left].mean(), rows[right].mean()

    left, right = ends([1.0, 0.0])
    assert left < right - 100
    left, right = ends([0.0, 1.0])
    assert left > right + 100


def test_deterministic_and_data_dependent():
    a = learning_curve_png({"s": [3.0, 2.0, 1.0]})
    assert a == learning_curve_png({"s": [3.0, 2.0, 1.0]})
    assert a != learning_curve_png({"s": [3.0, 2.0, 1.5]})


def test_gaps_single_points_and_no_data_still_make_a_picture():
    for series in ({"s": [1.0, float("nan"), 0.5, float("inf")]}, {"s": [0.5]},
                   {"s": []}, {}):
        decode_png(learning_curve_png(series, ylabel="y"))


def test_write_learning_curve_writes_the_same_bytes_atomically(tmp_path):
    target = tmp_path / "curve.png"
    target.write_bytes(b"old")
    write_learning_curve(target, {"loss": [1, 2]}, title="x")
    assert target.read_bytes() == learning_curve_png({"loss": [1, 2]}, title="x")
    assert os.listdir(tmp_path) == ["curve.png"]
    with pytest.raises(OSError, match="nowhere/curve.png"):
        write_learning_curve(tmp_path / "nowhere" / "curve.png", {"loss": [1]})


def test_sizes_out_of_range_are_value_errors():
    with pytest.raises(ValueError, match="out of range"):
        learning_curve_png({"s": [1]}, width=10)
    with pytest.raises(ValueError, match="out of range"):
        learning_curve_png({"s": [1]}, height=100000)
