#include "runtime/idx.h"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>
#include <utility>

#include "runtime/error.h"

namespace theanine {
namespace {

namespace fs = std::filesystem;

std::string in_quotes(const std::string& s) { return "'" + s + "'"; }

std::string hex_bytes(const unsigned char* p, size_t n) {
  std::ostringstream os;
  for (size_t i = 0; i < n; ++i) {
    static const char* digits = "0123456789abcdef";
    if (i) os << ' ';
    os << digits[p[i] >> 4] << digits[p[i] & 15];
  }
  return os.str();
}

// The bytes of the file, or of its inflated gzip stream: read_idx parses both the
// same way, so the checks for truncation and trailing bytes hold for both.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to n bytes; fewer only at the end of the data.
  virtual size_t read(void* dst, size_t n) = 0;

  // Counts (and discards) whatever is left, for error messages.
  uint64_t drain() {
    std::vector<char> scratch(1 << 16);
    uint64_t total = 0;
    while (size_t got = read(scratch.data(), scratch.size())) total += got;
    return total;
  }
};

class FileSource : public ByteSource {
 public:
  FileSource(std::ifstream& in, const std::string& path) : in_(in), path_(path) {}
  size_t read(void* dst, size_t n) override {
    in_.read(static_cast<char*>(dst), static_cast<std::streamsize>(n));
    if (in_.bad()) throw IOError("error reading IDX file " + in_quotes(path_));
    return static_cast<size_t>(in_.gcount());
  }

 private:
  std::ifstream& in_;
  std::string path_;
};

class GzipSource : public ByteSource {
 public:
  GzipSource(std::ifstream& in, const std::string& path)
      : in_(in), path_(path), buf_(1 << 16) {
    // 16 + MAX_WBITS: expect a gzip header and check the CRC and length trailer.
    if (inflateInit2(&strm_, 16 + MAX_WBITS) != Z_OK)
      throw IOError("cannot start gzip decompression of " + in_quotes(path_));
  }
  ~GzipSource() override { inflateEnd(&strm_); }

  size_t read(void* dst, size_t n) override {
    auto* out = static_cast<unsigned char*>(dst);
    size_t done = 0;
    while (done < n && !ended_) {
      if (strm_.avail_in == 0 && refill() == 0)
        throw IOError("gzip stream of " + in_quotes(path_) +
                      " ends early: the compressed file is truncated");
      // zlib counts in 32 bits; large reads go in slices.
      const uInt slice = static_cast<uInt>(std::min<size_t>(n - done, 1u << 30));
      strm_.next_out = out + done;
      strm_.avail_out = slice;
      int ret = inflate(&strm_, Z_NO_FLUSH);
      done += slice - strm_.avail_out;
      if (ret == Z_STREAM_END) {
        next_member();
      } else if (ret == Z_DATA_ERROR || ret == Z_NEED_DICT) {
        throw IOError("corrupt gzip stream in " + in_quotes(path_) + ": " +
                      (strm_.msg ? strm_.msg : "invalid compressed data"));
      } else if (ret == Z_MEM_ERROR) {
        throw IOError("out of memory decompressing " + in_quotes(path_));
      }
      // Z_OK and Z_BUF_ERROR (no progress until more input) loop on.
    }
    return done;
  }

 private:
  // Moves unread input to the front and reads more after it; returns the bytes
  // read from the file.
  size_t refill() {
    size_t keep = strm_.avail_in;
    if (keep) std::memmove(buf_.data(), strm_.next_in, keep);
    in_.read(reinterpret_cast<char*>(buf_.data()) + keep,
             static_cast<std::streamsize>(buf_.size() - keep));
    if (in_.bad()) throw IOError("error reading " + in_quotes(path_));
    size_t got = static_cast<size_t>(in_.gcount());
    strm_.next_in = buf_.data();
    strm_.avail_in = static_cast<uInt>(keep + got);
    return got;
  }

  // After one gzip member: another may follow (`cat a.gz b.gz` is valid gzip);
  // anything else is garbage that would otherwise pass unnoticed.
  void next_member() {
    while (strm_.avail_in < 2 && refill() > 0) {
    }
    if (strm_.avail_in == 0) {
      ended_ = true;
      return;
    }
    if (strm_.avail_in >= 2 && strm_.next_in[0] == 0x1f && strm_.next_in[1] == 0x8b) {
      inflateReset(&strm_);
      return;
    }
    throw IOError("gzip stream in " + in_quotes(path_) +
                  " is followed by bytes that are not gzip (starting " +
                  hex_bytes(strm_.next_in, std::min<size_t>(strm_.avail_in, 4)) + ")");
  }

  std::ifstream& in_;
  std::string path_;
  std::vector<unsigned char> buf_;
  z_stream strm_{};
  bool ended_ = false;
};

size_t read_full(ByteSource& src, void* dst, size_t n) {
  auto* p = static_cast<char*>(dst);
  size_t done = 0;
  while (done < n) {
    size_t got = src.read(p + done, n - done);
    if (got == 0) break;
    done += got;
  }
  return done;
}

bool dtype_of_code(unsigned char code, DType* out) {
  static constexpr std::pair<unsigned char, DType> kCodes[] = {
      {0x08, DType::UInt8}, {0x09, DType::Int8},    {0x0B, DType::Int16},
      {0x0C, DType::Int32}, {0x0D, DType::Float32}, {0x0E, DType::Float64}};
  for (const auto& [c, d] : kCodes)
    if (c == code) return *out = d, true;
  return false;
}

// IDX data is big-endian.
void to_host_order(void* data, size_t count, size_t width) {
  if constexpr (std::endian::native == std::endian::big) return;
  auto* p = static_cast<unsigned char*>(data);
  for (size_t i = 0; i < count; ++i, p += width) std::reverse(p, p + width);
}

std::string type_desc(DType dtype, const Shape& shape) {
  return std::string(dtype_name(dtype)) + " " + shape_str(shape);
}

}  // namespace

NDArray read_idx(const std::string& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) throw IOError("IDX file " + in_quotes(path) + " does not exist");
  if (fs::is_directory(st))
    throw IOError(in_quotes(path) + " is a folder, not an IDX file");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw IOError("cannot open IDX file " + in_quotes(path) + ": " +
                  std::strerror(errno));

  // The gzip magic, not the file name, decides.
  unsigned char magic[2] = {0, 0};
  in.read(reinterpret_cast<char*>(magic), 2);
  const bool gzipped = in.gcount() == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  in.clear();
  in.seekg(0);
  std::unique_ptr<ByteSource> src;
  if (gzipped)
    src = std::make_unique<GzipSource>(in, path);
  else
    src = std::make_unique<FileSource>(in, path);
  const std::string what = "IDX file " + in_quotes(path) + (gzipped ? " (gzipped)" : "");

  unsigned char head[4] = {0, 0, 0, 0};
  const size_t got_head = read_full(*src, head, 4);
  if ((got_head >= 1 && head[0] != 0) || (got_head >= 2 && head[1] != 0))
    throw IOError(in_quotes(path) + " is not an IDX file: it starts with bytes " +
                  hex_bytes(head, got_head) +
                  ", where IDX has 00 00, a type code and the number of dimensions");
  if (got_head < 4)
    throw IOError(what + " is truncated: expected a 4-byte magic number, found " +
                  std::to_string(got_head) + " bytes");
  DType dtype;
  if (!dtype_of_code(head[2], &dtype))
    throw IOError(what + " has unknown type code 0x" + hex_bytes(&head[2], 1) +
                  " (known: 0x08 uint8, 0x09 int8, 0x0b int16, 0x0c int32, 0x0d float32, "
                  "0x0e float64)");

  const int ndim = head[3];
  std::vector<unsigned char> dim_bytes(4 * ndim);
  const size_t got_dims = read_full(*src, dim_bytes.data(), dim_bytes.size());
  if (got_dims < dim_bytes.size())
    throw IOError(what + " is truncated in its header: " + std::to_string(ndim) +
                  " dimensions need " + std::to_string(dim_bytes.size()) +
                  " bytes after the magic number, found " + std::to_string(got_dims));
  Shape shape(ndim);
  for (int i = 0; i < ndim; ++i) {
    const unsigned char* b = &dim_bytes[4 * i];
    uint32_t d =
        (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | b[3];
    if (d > uint32_t(std::numeric_limits<int32_t>::max()))
      throw IOError(what + " has a corrupt header: dimension " + std::to_string(i) +
                    " is " + std::to_string(d) +
                    ", which is negative as a 32-bit integer");
    shape[i] = d;
  }
  const uint64_t width = itemsize(dtype);
  uint64_t count = 1;
  for (int64_t d : shape) {
    if (d != 0 && count > std::numeric_limits<uint64_t>::max() / 16 / uint64_t(d))
      throw IOError(what + " has a corrupt header: shape " + shape_str(shape) +
                    " is too large");
    count *= uint64_t(d);
  }
  const uint64_t expected = count * width;
  const uint64_t header = 4 + dim_bytes.size();
  auto truncated = [&](uint64_t found) {
    return IOError(what + " is truncated: expected " + std::to_string(expected) +
                   " data bytes for " + type_desc(dtype, shape) + " after the " +
                   std::to_string(header) + "-byte header, found " +
                   std::to_string(found));
  };
  auto trailing = [&](uint64_t extra) {
    return IOError(what + " has " + std::to_string(extra) +
                   " unexpected bytes after its data (" + std::to_string(expected) +
                   " data bytes for " + type_desc(dtype, shape) + ")");
  };

  // Check the size before allocating, so a corrupt header cannot ask for
  // terabytes. Deflate expands by at most 1032:1.
  const uint64_t file_size = fs::file_size(path, ec);
  if (!ec) {
    if (!gzipped) {
      const uint64_t found = file_size - header;
      if (found < expected) throw truncated(found);
      if (found > expected) throw trailing(found - expected);
    } else if (expected > file_size * 1032 + 4096) {
      throw truncated(src->drain());
    }
  }

  NDArray out = NDArray::empty(dtype, shape);
  const uint64_t got = read_full(*src, out.raw(), expected);
  if (got < expected) throw truncated(got);
  char extra;
  if (src->read(&extra, 1) > 0) throw trailing(1 + src->drain());
  if (width > 1) to_host_order(out.raw(), count, width);
  return out;
}

std::string find_idx_file(const std::string& dir, const std::string& stem) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw IOError("data folder " + in_quotes(dir) + " does not exist (looking for " +
                  in_quotes(stem) + ")");
  // MNIST mirrors spell the suffix "-idx3-ubyte" or ".idx3-ubyte".
  std::vector<std::string> spellings{stem};
  for (const char* from : {"-idx", ".idx"}) {
    const size_t pos = stem.rfind(from);
    if (pos != std::string::npos) {
      std::string alt = stem;
      alt[pos] = from[0] == '-' ? '.' : '-';
      spellings.push_back(alt);
      break;
    }
  }
  std::string tried;
  for (const std::string& s : spellings) {
    for (const std::string& name : {s, s + ".gz"}) {
      const fs::path p = fs::path(dir) / name;
      if (fs::is_regular_file(p, ec)) return p.string();
      tried += (tried.empty() ? "" : ", ") + name;
    }
  }
  throw IOError("no IDX file for " + in_quotes(stem) + " in " + in_quotes(dir) +
                ": looked for " + tried);
}

namespace {

struct RawMnist {
  NDArray images, labels;
};

RawMnist read_mnist_pair(const std::string& dir, const std::string& images_stem,
                         const std::string& labels_stem) {
  const std::string ipath = find_idx_file(dir, images_stem);
  const std::string lpath = find_idx_file(dir, labels_stem);
  RawMnist r{read_idx(ipath), read_idx(lpath)};
  if (r.images.dtype() != DType::UInt8 || r.images.ndim() != 3)
    throw IOError(in_quotes(ipath) + " does not hold MNIST images: expected uint8 " +
                  "(N, rows, cols), found " +
                  type_desc(r.images.dtype(), r.images.shape()));
  if (r.labels.dtype() != DType::UInt8 || r.labels.ndim() != 1)
    throw IOError(in_quotes(lpath) +
                  " does not hold MNIST labels: expected uint8 (N,), found " +
                  type_desc(r.labels.dtype(), r.labels.shape()));
  if (r.images.shape(0) != r.labels.shape(0))
    throw IOError(in_quotes(ipath) + " holds " + std::to_string(r.images.shape(0)) +
                  " images but " + in_quotes(lpath) + " holds " +
                  std::to_string(r.labels.shape(0)) + " labels");
  return r;
}

// Rows [begin, end) as float32 pixels in [0, 1] and int32 labels.
MnistSplit make_split(const RawMnist& r, int64_t begin, int64_t end) {
  const int64_t pixels = r.images.shape(1) * r.images.shape(2);
  MnistSplit s{NDArray::empty(DType::Float32, {end - begin, pixels}),
               NDArray::empty(DType::Int32, {end - begin})};
  const uint8_t* src = r.images.data<uint8_t>() + begin * pixels;
  float* x = s.x.data<float>();
  for (int64_t i = 0; i < (end - begin) * pixels; ++i) x[i] = src[i] / 255.0f;
  const uint8_t* lab = r.labels.data<uint8_t>() + begin;
  int32_t* y = s.y.data<int32_t>();
  for (int64_t i = 0; i < end - begin; ++i) y[i] = lab[i];
  return s;
}

}  // namespace

MnistData load_mnist(const std::string& dir) {
  const RawMnist train =
      read_mnist_pair(dir, "train-images-idx3-ubyte", "train-labels-idx1-ubyte");
  const RawMnist test =
      read_mnist_pair(dir, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");
  if (train.images.shape(1) != test.images.shape(1) ||
      train.images.shape(2) != test.images.shape(2))
    throw IOError("MNIST images in " + in_quotes(dir) +
                  " differ in size: training images are " +
                  shape_str(train.images.shape()) + ", test images " +
                  shape_str(test.images.shape()));
  const int64_t n = train.images.shape(0);
  const int64_t n_valid = std::min<int64_t>(10000, n / 6);
  MnistData d;
  d.train = make_split(train, 0, n - n_valid);
  d.valid = make_split(train, n - n_valid, n);
  d.test = make_split(test, 0, test.images.shape(0));
  return d;
}

}  // namespace theanine
