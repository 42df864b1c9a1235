#include "runtime/idx.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "runtime/error.h"
#include "tests/cpp/test_util.h"

namespace theanine {
namespace {

namespace fs = std::filesystem;
using namespace testing;
using Bytes = std::string;

// An IDX header: 00 00, the type code, ndim, then big-endian int32 dims.
Bytes idx_header(unsigned char code, const std::vector<uint32_t>& dims) {
  Bytes b{'\0', '\0', static_cast<char>(code), static_cast<char>(dims.size())};
  for (uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8)
      b.push_back(static_cast<char>(d >> shift));
  return b;
}

// The big-endian bytes of each value, as IDX stores data.
template <class T>
Bytes big_endian(const std::vector<T>& values) {
  Bytes b;
  for (T v : values) {
    unsigned char raw[sizeof(T)];
    std::memcpy(raw, &v, sizeof(T));
    // The tests run on little-endian hosts (x86, arm64).
    for (int i = sizeof(T) - 1; i >= 0; --i) b.push_back(static_cast<char>(raw[i]));
  }
  return b;
}

Bytes gzip(const Bytes& data) {
  z_stream s{};
  EXPECT_EQ(deflateInit2(&s, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  Bytes out(deflateBound(&s, data.size()), '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  s.avail_in = data.size();
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = out.size();
  EXPECT_EQ(deflate(&s, Z_FINISH), Z_STREAM_END);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

class Idx : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("idx_test_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const Bytes& bytes) {
    const std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }

  // Expects read_idx(path) to throw IOError whose message names the file and
  // contains every fragment.
  void expect_io_error(const std::string& path, std::vector<std::string> fragments) {
    SCOPED_TRACE(path);
    fragments.insert(fragments.begin(), path);
    expect_error<IOError>([&] { read_idx(path); }, fragments);
  }

  fs::path dir_;
};

TEST_F(Idx, ReadsUInt8Matrix) {
  const std::string p =
      write("m", idx_header(0x08, {2, 3}) + Bytes{0, 1, 2, 3, 127, '\xff'});
  NDArray a = read_idx(p);
  EXPECT_EQ(a.dtype(), DType::UInt8);
  EXPECT_EQ(a.shape(), (Shape{2, 3}));
  EXPECT_TRUE(a.is_contiguous());
  const std::vector<double> want{0, 1, 2, 3, 127, 255};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(a.item_double(i), want[i]) << i;
}

TEST_F(Idx, ReadsEveryDTypeBigEndian) {
  {
    NDArray a = read_idx(write("i8", idx_header(0x09, {3}) + Bytes{'\x80', '\xff', 5}));
    EXPECT_EQ(a.dtype(), DType::Int8);
    EXPECT_EQ(a.item_int(0), -128);
    EXPECT_EQ(a.item_int(1), -1);
    EXPECT_EQ(a.item_int(2), 5);
  }
  {
    NDArray a = read_idx(
        write("i16", idx_header(0x0B, {1, 3}) + big_endian<int16_t>({-2, 258, 32767})));
    EXPECT_EQ(a.dtype(), DType::Int16);
    EXPECT_EQ(a.shape(), (Shape{1, 3}));
    EXPECT_EQ(a.item_int(0), -2);
    EXPECT_EQ(a.item_int(1), 258);
    EXPECT_EQ(a.item_int(2), 32767);
  }
  {
    // 0x01020304 = 16909060 shows the byte order is honoured.
    NDArray a = read_idx(write(
        "i32", idx_header(0x0C, {2, 1, 2}) + big_endian<int32_t>({16909060, -7, 0, 1})));
    EXPECT_EQ(a.dtype(), DType::Int32);
    EXPECT_EQ(a.shape(), (Shape{2, 1, 2}));
    EXPECT_EQ(a.item_int(0), 16909060);
    EXPECT_EQ(a.item_int(1), -7);
    EXPECT_EQ(a.item_int(3), 1);
  }
  {
    NDArray a =
        read_idx(write("f32", idx_header(0x0D, {2}) + big_endian<float>({1.5f, -0.25f})));
    EXPECT_EQ(a.dtype(), DType::Float32);
    EXPECT_EQ(a.item_double(0), 1.5);
    EXPECT_EQ(a.item_double(1), -0.25);
  }
  {
    NDArray a = read_idx(write(
        "f64", idx_header(0x0E, {2, 2}) + big_endian<double>({3.25, -1e300, 0.1, 7})));
    EXPECT_EQ(a.dtype(), DType::Float64);
    EXPECT_EQ(a.item_double(0), 3.25);
    EXPECT_EQ(a.item_double(1), -1e300);
    EXPECT_EQ(a.item_double(2), 0.1);
    EXPECT_EQ(a.item_double(3), 7.0);
  }
}

TEST_F(Idx, SizeZeroDimAndZeroDims) {
  NDArray empty = read_idx(write("e", idx_header(0x0D, {0, 5})));
  EXPECT_EQ(empty.shape(), (Shape{0, 5}));
  EXPECT_EQ(empty.size(), 0);
  NDArray scalar = read_idx(write("s", idx_header(0x0C, {}) + big_endian<int32_t>({-9})));
  EXPECT_EQ(scalar.ndim(), 0);
  EXPECT_EQ(scalar.item_int(), -9);
}

TEST_F(Idx, GzipIsDetectedByContentNotName) {
  const Bytes raw = idx_header(0x0B, {2, 2}) + big_endian<int16_t>({1, -2, 300, -400});
  // A gzipped file without .gz, and a raw file named .gz.
  NDArray a = read_idx(write("data", gzip(raw)));
  NDArray b = read_idx(write("data.gz", raw));
  for (const NDArray& x : {a, b}) {
    EXPECT_EQ(x.dtype(), DType::Int16);
    EXPECT_EQ(x.shape(), (Shape{2, 2}));
    EXPECT_EQ(x.item_int(0), 1);
    EXPECT_EQ(x.item_int(1), -2);
    EXPECT_EQ(x.item_int(2), 300);
    EXPECT_EQ(x.item_int(3), -400);
  }
}

TEST_F(Idx, GzipLargerThanOneBuffer) {
  // Several inflate buffers' worth, so the streaming path loops.
  std::vector<int32_t> values(200000);
  for (size_t i = 0; i < values.size(); ++i) values[i] = int32_t(i * 2654435761u);
  NDArray a = read_idx(
      write("big.gz", gzip(idx_header(0x0C, {400, 500}) + big_endian<int32_t>(values))));
  ASSERT_EQ(a.shape(), (Shape{400, 500}));
  const int32_t* p = a.data<int32_t>();
  for (size_t i = 0; i < values.size(); ++i) ASSERT_EQ(p[i], values[i]) << i;
}

TEST_F(Idx, ConcatenatedGzipMembersAreOneStream) {
  const Bytes raw = idx_header(0x08, {4}) + Bytes{9, 8, 7, 6};
  NDArray a = read_idx(write("cat.gz", gzip(raw.substr(0, 6)) + gzip(raw.substr(6))));
  ASSERT_EQ(a.shape(), (Shape{4}));
  EXPECT_EQ(a.item_int(0), 9);
  EXPECT_EQ(a.item_int(3), 6);
}

TEST_F(Idx, MissingFile) {
  const std::string p = (dir_ / "nope-idx3-ubyte").string();
  expect_io_error(p, {"does not exist"});
}

TEST_F(Idx, FolderIsNotAFile) { expect_io_error(dir_.string(), {"folder"}); }

TEST_F(Idx, EmptyFileIsTruncated) {
  expect_io_error(write("empty", ""), {"truncated", "found 0"});
}

TEST_F(Idx, BadMagicSaysWhatWasFound) {
  expect_io_error(write("zip", Bytes("PK\x03\x04rest", 8)),
                  {"not an IDX file", "50 4b 03 04"});
  // Only the first byte wrong.
  expect_io_error(write("one", Bytes("\x00\x01\x08\x01", 4)),
                  {"not an IDX file", "00 01"});
  // Even a gzipped non-IDX file.
  expect_io_error(write("text.gz", gzip("hello world")),
                  {"not an IDX file", "68 65 6c 6c"});
}

TEST_F(Idx, UnknownTypeCode) {
  expect_io_error(write("t", idx_header(0x0A, {1}) + Bytes{1}),
                  {"unknown type code 0x0a"});
}

TEST_F(Idx, TruncatedHeader) {
  expect_io_error(write("h2", Bytes("\x00\x00", 2)), {"truncated", "found 2"});
  const Bytes h = idx_header(0x08, {60000, 28, 28});
  expect_io_error(write("h", h.substr(0, 9)), {"truncated", "12 bytes", "found 5"});
}

TEST_F(Idx, TruncatedData) {
  const Bytes full = idx_header(0x0C, {3}) + big_endian<int32_t>({1, 2, 3});
  expect_io_error(write("d", full.substr(0, full.size() - 7)),
                  {"truncated", "expected 12 data bytes", "int32 (3,)", "found 5"});
  expect_io_error(write("d.gz", gzip(full.substr(0, full.size() - 7))),
                  {"truncated", "expected 12 data bytes", "found 5", "gzipped"});
}

TEST_F(Idx, HugeDeclaredShapeIsTruncatedNotAllocated) {
  // 2^31-1 cubed float64s: caught from the sizes, before any allocation.
  const Bytes h = idx_header(0x0E, {0x7fffffff, 0x7fffffff, 0x7fffffff}) + Bytes{1, 2};
  expect_io_error(write("huge", h), {"too large"});
  const Bytes h2 = idx_header(0x0E, {100000, 100000}) + Bytes{1, 2};
  expect_io_error(write("huge2", h2), {"truncated", "expected 80000000000", "found 2"});
  expect_io_error(write("huge2.gz", gzip(h2)),
                  {"truncated", "expected 80000000000", "found 2"});
}

TEST_F(Idx, NegativeDimension) {
  expect_io_error(write("neg", idx_header(0x08, {0xffffffffu}) + Bytes{1}),
                  {"dimension 0", "negative"});
}

TEST_F(Idx, TrailingBytes) {
  const Bytes full = idx_header(0x08, {2}) + Bytes{1, 2};
  expect_io_error(write("x", full + "abc"), {"3 unexpected bytes"});
  expect_io_error(write("x.gz", gzip(full + "abc")), {"3 unexpected bytes", "gzipped"});
  // Garbage after the gzip stream itself.
  expect_io_error(write("y.gz", gzip(full) + "junk"), {"not gzip", "6a 75 6e 6b"});
}

TEST_F(Idx, CorruptGzip) {
  Bytes z = gzip(idx_header(0x08, {256}) + Bytes(256, 'a'));
  // Flip the deflate data right after the 10-byte gzip header.
  for (size_t i = 10; i < z.size() - 8; ++i) z[i] = static_cast<char>(z[i] ^ 0x5a);
  expect_io_error(write("bad.gz", z), {"corrupt gzip"});
  // A wrong CRC in the trailer.
  Bytes c = gzip(idx_header(0x08, {3}) + Bytes{1, 2, 3});
  c[c.size() - 8] = static_cast<char>(c[c.size() - 8] ^ 1);
  expect_io_error(write("crc.gz", c), {"corrupt gzip"});
}

TEST_F(Idx, TruncatedGzip) {
  std::vector<uint8_t> values(5000);
  for (size_t i = 0; i < values.size(); ++i) values[i] = uint8_t(i * 31 + i / 7);
  const Bytes z = gzip(idx_header(0x08, {5000}) + big_endian<uint8_t>(values));
  expect_io_error(write("cut.gz", z.substr(0, z.size() / 2)), {"truncated"});
  // Only the CRC/length trailer missing.
  expect_io_error(write("cut2.gz", z.substr(0, z.size() - 4)), {"truncated"});
}

TEST_F(Idx, FindIdxFileSpellings) {
  write("train-images.idx3-ubyte", "x");
  write("t10k-images-idx3-ubyte.gz", "x");
  write("train-labels-idx1-ubyte", "x");
  write("train-labels-idx1-ubyte.gz", "x");
  EXPECT_EQ(find_idx_file(dir_.string(), "train-images-idx3-ubyte"),
            (dir_ / "train-images.idx3-ubyte").string());
  EXPECT_EQ(find_idx_file(dir_.string(), "t10k-images.idx3-ubyte"),
            (dir_ / "t10k-images-idx3-ubyte.gz").string());
  // The exact name wins over the .gz.
  EXPECT_EQ(find_idx_file(dir_.string(), "train-labels-idx1-ubyte"),
            (dir_ / "train-labels-idx1-ubyte").string());
  expect_error<IOError>(
      [&] { find_idx_file(dir_.string(), "t10k-labels-idx1-ubyte"); },
      {"t10k-labels-idx1-ubyte, t10k-labels-idx1-ubyte.gz",
       "t10k-labels.idx1-ubyte, t10k-labels.idx1-ubyte.gz", dir_.string()});
  expect_error<IOError>(
      [&] { find_idx_file((dir_ / "missing").string(), "t10k-labels-idx1-ubyte"); },
      {"does not exist"});
}

class FakeMnist : public Idx {
 protected:
  // n images whose pixel (i, j) is (i + j) % 256, labels i % 10.
  void write_set(const std::string& prefix, uint32_t n, bool gz, bool dotted) {
    Bytes pix, lab;
    for (uint32_t i = 0; i < n; ++i) {
      for (int j = 0; j < 784; ++j) pix.push_back(static_cast<char>((i + j) % 256));
      lab.push_back(static_cast<char>(i % 10));
    }
    const Bytes images = idx_header(0x08, {n, 28, 28}) + pix;
    const Bytes labels = idx_header(0x08, {n}) + lab;
    const std::string sep = dotted ? "." : "-";
    write(prefix + "-images" + sep + "idx3-ubyte" + (gz ? ".gz" : ""),
          gz ? gzip(images) : images);
    write(prefix + "-labels" + sep + "idx1-ubyte" + (gz ? ".gz" : ""),
          gz ? gzip(labels) : labels);
  }

  void expect_split(const MnistSplit& s, int64_t n, int64_t first) {
    ASSERT_EQ(s.x.dtype(), DType::Float32);
    ASSERT_EQ(s.y.dtype(), DType::Int32);
    ASSERT_EQ(s.x.shape(), (Shape{n, 784}));
    ASSERT_EQ(s.y.shape(), (Shape{n}));
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_EQ(s.y.item_int(i), (first + i) % 10);
      for (int64_t j : {0, 1, 300, 783})
        EXPECT_EQ(s.x.item_double(i * 784 + j), float((first + i + j) % 256) / 255.0f);
    }
  }
};

TEST_F(FakeMnist, SplitsAndScales) {
  write_set("train", 60, /*gz=*/true, /*dotted=*/false);
  write_set("t10k", 12, /*gz=*/false, /*dotted=*/true);
  MnistData d = load_mnist(dir_.string());
  expect_split(d.train, 50, 0);
  expect_split(d.valid, 10, 50);
  expect_split(d.test, 12, 0);
  // Pixel 255 scales to exactly 1 and 0 to 0.
  EXPECT_EQ(d.train.x.item_double(255), 1.0);
  EXPECT_EQ(d.train.x.item_double(0), 0.0);
}

TEST_F(FakeMnist, MissingTestFilesNamed) {
  write_set("train", 6, false, false);
  expect_error<IOError>([&] { load_mnist(dir_.string()); }, {"t10k-images-idx3-ubyte"});
}

TEST_F(FakeMnist, LabelCountMismatch) {
  write_set("train", 6, false, false);
  write_set("t10k", 3, false, false);
  write("t10k-labels-idx1-ubyte", idx_header(0x08, {2}) + Bytes{1, 2});
  expect_error<IOError>([&] { load_mnist(dir_.string()); }, {"3 images", "2 labels"});
}

TEST_F(FakeMnist, WrongImageDType) {
  write_set("train", 6, false, false);
  write_set("t10k", 3, false, false);
  write("t10k-images-idx3-ubyte",
        idx_header(0x0D, {1, 2, 2}) + big_endian<float>({1, 2, 3, 4}));
  expect_error<IOError>([&] { load_mnist(dir_.string()); },
                        {"does not hold MNIST images", "float32 (1, 2, 2)"});
}

TEST(IdxFashionMnist, DefaultFolderLoads) {
  if (!fs::exists(kDefaultMnistDir)) GTEST_SKIP() << kDefaultMnistDir << " not installed";
  MnistData d = load_mnist();
  EXPECT_EQ(d.train.x.shape(), (Shape{50000, 784}));
  EXPECT_EQ(d.valid.x.shape(), (Shape{10000, 784}));
  EXPECT_EQ(d.test.x.shape(), (Shape{10000, 784}));
  EXPECT_EQ(d.test.y.shape(), (Shape{10000}));
  int64_t counts[10] = {};
  for (int64_t i = 0; i < 10000; ++i) {
    const int64_t y = d.test.y.item_int(i);
    ASSERT_GE(y, 0);
    ASSERT_LT(y, 10);
    ++counts[y];
  }
  // Fashion-MNIST's test set is balanced: 1000 of each class.
  for (int64_t c : counts) EXPECT_EQ(c, 1000);
  float lo = 1, hi = 0;
  const float* x = d.train.x.data<float>();
  for (int64_t i = 0; i < d.train.x.size(); ++i)
    lo = std::min(lo, x[i]), hi = std::max(hi, x[i]);
  EXPECT_EQ(lo, 0.0f);
  EXPECT_EQ(hi, 1.0f);
}

}  // namespace
}  // namespace theanine
