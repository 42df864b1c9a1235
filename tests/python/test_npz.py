"""theanine.npz (the C++ .npz reader and writer) against NumPy's own: files
numpy.savez and numpy.savez_compressed wrote load here, files written here load
with numpy.load, and damaged files raise errors that name the problem."""
import io
import os
import struct
import zipfile

import numpy as np
import pytest

from theanine import _core
from theanine.npz import load_npz, save_npz

DTYPES = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.float32, np.float64]
SHAPES = [(), (5,), (0, 3), (2, 3, 4)]


def sample(rng, dtype, shape):
    if dtype is np.bool_:
        return rng.integers(0, 2, size=shape).astype(bool)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)
    return rng.standard_normal(shape).astype(dtype)


def arrays(seed=0):
    rng = np.random.default_rng(seed)
    return {f"{np.dtype(d).name}_{i}": sample(rng, d, s)
            for d in DTYPES for i, s in enumerate(SHAPES)}


def assert_same(got, want):
    assert set(got) == set(want)
    for k in want:
        assert got[k].dtype == want[k].dtype, k
        assert got[k].shape == want[k].shape, k
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)


@pytest.mark.parametrize("numpy_save", [np.savez, np.savez_compressed])
def test_reads_what_numpy_wrote(tmp_path, numpy_save):
    want = arrays(1)
    want["fortran"] = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    want["big_endian"] = np.arange(6, dtype=">i4").reshape(2, 3)
    numpy_save(tmp_path / "n.npz", **want)
    got = load_npz(tmp_path / "n.npz")
    assert list(got) == list(want)  # archive order
    want["big_endian"] = want["big_endian"].astype("<i4")
    assert_same(got, want)
    assert all(a.flags["C_CONTIGUOUS"] for a in got.values())


@pytest.mark.parametrize("compressed", [False, True])
def test_numpy_reads_what_theanine_wrote(tmp_path, compressed):
    want = arrays(2)
    want["strided"] = np.arange(24, dtype=np.float32).reshape(4, 6).T[::2]
    save_npz(tmp_path / "t.npz", want, compressed=compressed)
    with np.load(tmp_path / "t.npz") as f:
        assert list(f.keys()) == list(want)
        assert_same({k: f[k] for k in f}, want)
    with zipfile.ZipFile(tmp_path / "t.npz") as z:
        assert z.testzip() is None  # every CRC checks
        methods = {i.compress_type for i in z.infolist()}
    assert methods == {zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED}


def test_keyword_arrays_and_round_trip(tmp_path):
    save_npz(tmp_path / "k.npz", W=np.eye(3, dtype=np.float32), step=np.int64(7))
    got = load_npz(tmp_path / "k.npz")
    np.testing.assert_array_equal(got["W"], np.eye(3))
    assert got["step"].shape == () and got["step"] == 7


def test_output_is_deterministic_and_compression_helps():
    a = [("z", np.zeros(10000, np.float64))]
    assert _core.npz_bytes(a) == _core.npz_bytes(a)
    assert len(_core.npz_bytes(a, True)) < len(_core.npz_bytes(a)) / 20


def test_saving_replaces_a_file_whole_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "p.npz"
    target.write_bytes(b"old")
    save_npz(target, x=np.arange(3))
    np.testing.assert_array_equal(np.load(target)["x"], np.arange(3))
    assert os.listdir(tmp_path) == ["p.npz"]


def test_saving_into_a_missing_folder_names_the_path(tmp_path):
    target = tmp_path / "missing" / "p.npz"
    with pytest.raises(OSError, match="missing/p.npz"):
        save_npz(target, x=np.arange(3))
    assert os.listdir(tmp_path) == []


def test_bad_names_and_dtypes_on_save(tmp_path):
    with pytest.raises(ValueError, match="empty name"):
        save_npz(tmp_path / "e.npz", {"": np.zeros(1)})
    with pytest.raises(TypeError):
        save_npz(tmp_path / "c.npz", c=np.zeros(2, np.complex64))
    assert not (tmp_path / "c.npz").exists()


def test_missing_file(tmp_path):
    with pytest.raises(OSError, match="absent.npz.*No such file"):
        load_npz(tmp_path / "absent.npz")


def test_missing_array_lists_what_the_file_holds(tmp_path):
    np.savez(tmp_path / "h.npz", a=np.zeros(1), b=np.ones(2))
    got = load_npz(tmp_path / "h.npz")
    with pytest.raises(KeyError, match=r"no array 'W' \(it holds 'a', 'b'\)"):
        got["W"]


def test_unsupported_dtype_names_the_array_and_the_dtype(tmp_path):
    np.savez(tmp_path / "c.npz", ok=np.zeros(1), z=np.zeros(2, np.complex128))
    with pytest.raises(OSError, match=r"array 'z'.*unsupported dtype '<c16'"):
        load_npz(tmp_path / "c.npz")
    np.savez(tmp_path / "o.npz", o=np.array([{}, 1], dtype=object))
    with pytest.raises(OSError, match=r"array 'o'.*unsupported dtype '\|O'"):
        load_npz(tmp_path / "o.npz")


def numpy_npz_bytes(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_truncated_files(tmp_path):
    data = numpy_npz_bytes(a=np.arange(100, dtype=np.int32))
    for n in (0, 10, len(data) // 2, len(data) - 1):
        (tmp_path / "t.npz").write_bytes(data[:n])
        with pytest.raises(OSError, match="t.npz"):
            load_npz(tmp_path / "t.npz")
    (tmp_path / "t.npz").write_bytes(data[:len(data) // 2])
    with pytest.raises(OSError, match="truncated"):
        load_npz(tmp_path / "t.npz")


def test_corrupt_data_fails_the_crc(tmp_path):
    data = bytearray(numpy_npz_bytes(a=np.arange(100, dtype=np.int32)))
    at = data.index(b"\x93NUMPY") + 200  # inside the array's elements
    data[at] ^= 0xFF
    (tmp_path / "bad.npz").write_bytes(bytes(data))
    with pytest.raises(OSError, match="corrupt.*CRC"):
        load_npz(tmp_path / "bad.npz")


def test_files_that_are_not_npz(tmp_path):
    (tmp_path / "text.npz").write_text("hello, world\n" * 10)
    with pytest.raises(OSError, match="not an .npz file"):
        load_npz(tmp_path / "text.npz")
    np.save(tmp_path / "single.npy", np.zeros(3))
    with pytest.raises(OSError, match=r"\.npy file"):
        load_npz(tmp_path / "single.npy")


def as_zip64(data: bytes) -> bytes:
    """The same archive with ZIP64 records, as large archives have them: each
    directory entry's local-header offset moved into a ZIP64 extra field, and the
    end record's counts, size and offset into a ZIP64 end record."""
    end = len(data) - 22
    sig, _, _, _, count, cd_size, cd_offset, _ = struct.unpack("<IHHHHIIH", data[end:])
    assert sig == 0x06054B50
    entries, p = [], cd_offset
    for _ in range(count):
        fixed = bytearray(data[p:p + 46])
        name_len, extra_len, comment_len = struct.unpack("<HHH", fixed[28:34])
        (offset,) = struct.unpack("<I", fixed[42:46])
        rest = data[p + 46:p + 46 + name_len + extra_len + comment_len]
        extra = struct.pack("<HHQ", 1, 8, offset)
        fixed[30:32] = struct.pack("<H", extra_len + len(extra))
        fixed[42:46] = b"\xff\xff\xff\xff"
        name, old_extra, comment = (rest[:name_len], rest[name_len:name_len + extra_len],
                                    rest[name_len + extra_len:])
        entries.append(bytes(fixed) + name + old_extra + extra + comment)
        p += 46 + name_len + extra_len + comment_len
    directory = b"".join(entries)
    z64_offset = cd_offset + len(directory)
    z64_end = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count,
                          len(directory), cd_offset)
    locator = struct.pack("<IIQI", 0x07064B50, 0, z64_offset, 1)
    end_record = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF,
                             0xFFFFFFFF, 0)
    return data[:cd_offset] + directory + z64_end + locator + end_record


def test_reads_zip64_records(tmp_path):
    want = {"a": np.arange(5, dtype=np.int16), "b": np.ones((2, 2), np.float32)}
    data = as_zip64(numpy_npz_bytes(**want))
    with zipfile.ZipFile(io.BytesIO(data)) as z:  # the conversion is a valid zip
        assert z.testzip() is None
    (tmp_path / "z64.npz").write_bytes(data)
    assert_same(load_npz(tmp_path / "z64.npz"), want)
