#include "runtime/npz.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <limits>
#include <set>
#include <utility>

#include "runtime/atomic_file.h"
#include "runtime/error.h"

namespace theanine {

static_assert(std::endian::native == std::endian::little,
              "the .npy writer stores arrays in the host's byte order as little-endian");

namespace {

// Zip record signatures and the limits of a zip without the ZIP64 extension.
constexpr uint32_t kLocalHeaderSig = 0x04034b50;
constexpr uint32_t kCentralHeaderSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr uint64_t kMax32 = 0xffffffffu;
constexpr uint64_t kMax16 = 0xffffu;
constexpr size_t kEndRecordSize = 22;
constexpr uint16_t kMethodStored = 0;
constexpr uint16_t kMethodDeflate = 8;
// 1980-01-01 00:00, the earliest DOS date: a fixed stamp keeps the output
// deterministic.
constexpr uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;
constexpr char kNpyMagic[] = "\x93NUMPY";
constexpr size_t kNpyMagicSize = 6;

std::string quoted(const std::string& s) { return "'" + s + "'"; }

std::string shape_str(const Shape& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + (shape.size() == 1 ? ",)" : ")");
}

void put16(std::string& out, uint64_t v) {
  for (int i = 0; i < 2; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put32(std::string& out, uint64_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t crc_of(const char* data, size_t n) {
  return static_cast<uint32_t>(
      crc32_z(0L, reinterpret_cast<const Bytef*>(data), static_cast<z_size_t>(n)));
}

// ---- .npy -------------------------------------------------------------------

const char* npy_descr(DType d) {
  switch (d) {
    case DType::Bool:
      return "|b1";
    case DType::Int8:
      return "|i1";
    case DType::Int16:
      return "<i2";
    case DType::Int32:
      return "<i4";
    case DType::Int64:
      return "<i8";
    case DType::UInt8:
      return "|u1";
    case DType::Float32:
      return "<f4";
    case DType::Float64:
      return "<f8";
  }
  throw ValueError("npz: unknown dtype");
}

// The .npy encoding (format version 1.0): magic, version, header length, a
// Python dict literal padded with spaces so that the data starts at a multiple
// of 64 bytes, then the elements in C order.
std::string npy_bytes(const NDArray& a) {
  std::string dict = std::string("{'descr': '") + npy_descr(a.dtype()) +
                     "', 'fortran_order': False, 'shape': " + shape_str(a.shape()) +
                     ", }";
  const size_t unpadded = kNpyMagicSize + 4 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict.push_back('\n');
  if (dict.size() > kMax16) throw ValueError("npz: array header too long");
  std::string out(kNpyMagic, kNpyMagicSize);
  out.push_back('\x01');
  out.push_back('\x00');
  put16(out, dict.size());
  out += dict;
  const NDArray c = a.contiguous();
  out.append(static_cast<const char*>(c.raw()), c.nbytes());
  return out;
}

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  Shape shape;
};

[[noreturn]] void npy_fail(const std::string& what, const std::string& problem) {
  throw IOError(what + ": " + problem);
}

// Parses the header dict numpy writes, e.g.
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
// Errors name `what` (the file and the array).
class NpyHeaderParser {
 public:
  NpyHeaderParser(std::string_view text, const std::string& what)
      : s_(text), what_(what) {}

  NpyHeader parse() {
    NpyHeader h;
    std::set<std::string> seen;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = string_literal();
      expect(':');
      skip_space();
      if (key == "descr") {
        if (peek() != '\'' && peek() != '"')
          fail_("unsupported dtype: a structured (record) array");
        h.descr = string_literal();
      } else if (key == "fortran_order") {
        h.fortran_order = boolean();
      } else if (key == "shape") {
        h.shape = tuple();
      } else {
        fail_("unexpected key " + quoted(key) + " in the .npy header");
      }
      seen.insert(key);
      skip_space();
      if (peek() == ',') ++i_;
    }
    for (const char* key : {"descr", "fortran_order", "shape"})
      if (!seen.count(key)) fail_(std::string("the .npy header lacks '") + key + "'");
    return h;
  }

 private:
  char peek() {
    if (i_ >= s_.size()) fail_("the .npy header ends early");
    return s_[i_];
  }
  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n')) ++i_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) fail_(std::string("bad .npy header: expected '") + c + "'");
    ++i_;
  }
  std::string string_literal() {
    skip_space();
    const char q = peek();
    if (q != '\'' && q != '"') fail_("bad .npy header: expected a quoted key");
    const size_t end = s_.find(q, ++i_);
    if (end == std::string_view::npos) fail_("bad .npy header: unterminated string");
    std::string v(s_.substr(i_, end - i_));
    i_ = end + 1;
    return v;
  }
  bool boolean() {
    for (auto [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      if (s_.substr(i_, std::strlen(word)) == word) {
        i_ += std::strlen(word);
        return value;
      }
    }
    fail_("bad .npy header: fortran_order is not True or False");
  }
  Shape tuple() {
    expect('(');
    Shape shape;
    while (true) {
      skip_space();
      if (peek() == ')') break;
      if (!std::isdigit(static_cast<unsigned char>(peek())))
        fail_("bad .npy header: the shape is not a tuple of integers");
      int64_t d = 0;
      while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) {
        if (d > (std::numeric_limits<int64_t>::max() - 9) / 10)
          fail_("bad .npy header: a dimension is too large");
        d = d * 10 + (s_[i_++] - '0');
      }
      // numpy writes 2-d shapes of long ints as "3L" in Python 2 files.
      if (i_ < s_.size() && s_[i_] == 'L') ++i_;
      shape.push_back(d);
      skip_space();
      if (peek() == ',') ++i_;
    }
    ++i_;
    return shape;
  }

  [[noreturn]] void fail_(const std::string& problem) const { npy_fail(what_, problem); }

  std::string_view s_;
  size_t i_ = 0;
  const std::string& what_;
};

// The theanine dtype of a .npy descr and whether its bytes need swapping.
bool dtype_of_descr(const std::string& descr, DType* dtype, bool* swap) {
  if (descr.size() != 3) return false;
  const char order = descr[0];
  if (order != '<' && order != '>' && order != '|' && order != '=') return false;
  static const std::pair<const char*, DType> kCodes[] = {
      {"b1", DType::Bool},    {"i1", DType::Int8},   {"i2", DType::Int16},
      {"i4", DType::Int32},   {"i8", DType::Int64},  {"u1", DType::UInt8},
      {"f4", DType::Float32}, {"f8", DType::Float64}};
  for (const auto& [code, d] : kCodes) {
    if (descr.compare(1, 2, code) == 0) {
      *dtype = d;
      *swap = order == '>' && itemsize(d) > 1;
      return true;
    }
  }
  return false;
}

NDArray parse_npy(std::string_view bytes, const std::string& what) {
  if (bytes.size() < kNpyMagicSize + 4 ||
      bytes.substr(0, kNpyMagicSize) != std::string_view(kNpyMagic, kNpyMagicSize))
    npy_fail(what, "not a .npy array (no \\x93NUMPY magic)");
  const unsigned major = static_cast<unsigned char>(bytes[6]);
  size_t header_len = 0, header_start = 0;
  auto byte = [&](size_t i) {
    return static_cast<size_t>(static_cast<unsigned char>(bytes[i]));
  };
  if (major == 1) {
    header_len = byte(8) | byte(9) << 8;
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) npy_fail(what, "truncated .npy header");
    header_len = byte(8) | byte(9) << 8 | byte(10) << 16 | byte(11) << 24;
    header_start = 12;
  } else {
    npy_fail(what, "unsupported .npy format version " + std::to_string(major));
  }
  if (bytes.size() - header_start < header_len) npy_fail(what, "truncated .npy header");
  const NpyHeader h =
      NpyHeaderParser(bytes.substr(header_start, header_len), what).parse();
  DType dtype;
  bool swap = false;
  if (!dtype_of_descr(h.descr, &dtype, &swap))
    npy_fail(
        what,
        "unsupported dtype " + quoted(h.descr) +
            " (supported: bool, int8, int16, int32, int64, uint8, float32, float64)");
  const size_t item = itemsize(dtype);
  uint64_t count = 1;
  for (int64_t d : h.shape) {
    if (d != 0 && count > std::numeric_limits<uint64_t>::max() / item / d)
      npy_fail(what, "shape " + shape_str(h.shape) + " is too large");
    count *= static_cast<uint64_t>(d);
  }
  const size_t data_start = header_start + header_len;
  const uint64_t want = count * item, have = bytes.size() - data_start;
  if (have != want)
    npy_fail(what, "shape " + shape_str(h.shape) + " of " + dtype_name(dtype) +
                       " needs " + std::to_string(want) + " data bytes, the entry has " +
                       std::to_string(have) +
                       (have < want ? " (truncated)" : " (extra bytes)"));
  // Fortran order: the bytes are the C-order array of the reversed shape,
  // transposed.
  Shape stored = h.shape;
  if (h.fortran_order) std::reverse(stored.begin(), stored.end());
  NDArray a = NDArray::empty(dtype, stored);
  auto* out = static_cast<unsigned char*>(a.raw());
  if (want) std::memcpy(out, bytes.data() + data_start, want);
  if (swap)
    for (uint64_t i = 0; i < count; ++i)
      std::reverse(out + i * item, out + (i + 1) * item);
  if (dtype == DType::Bool)
    for (uint64_t i = 0; i < count; ++i) out[i] = out[i] != 0;
  if (h.fortran_order && a.ndim() > 1) {
    std::vector<int> perm(a.ndim());
    for (int i = 0; i < a.ndim(); ++i) perm[i] = a.ndim() - 1 - i;
    a = a.transpose(perm).copy();
  }
  return a;
}

// ---- zip reading ------------------------------------------------------------

// Little-endian fields of the archive, with every read bounds-checked.
class ArchiveReader {
 public:
  ArchiveReader(const std::string& bytes, const std::string& path)
      : b_(bytes), path_(path) {}

  [[noreturn]] void fail(const std::string& problem) const {
    throw IOError("npz file " + quoted(path_) + ": " + problem);
  }
  void need(uint64_t offset, uint64_t n, const char* what) const {
    if (offset > b_.size() || n > b_.size() - offset)
      fail(std::string("truncated or corrupt: the ") + what + " at byte " +
           std::to_string(offset) + " runs past the end of the file (" +
           std::to_string(b_.size()) + " bytes)");
  }
  uint64_t u(uint64_t offset, int bytes) const {
    need(offset, bytes, "zip record");
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i)
      v = v << 8 | static_cast<unsigned char>(b_[offset + i]);
    return v;
  }
  uint64_t u16(uint64_t o) const { return u(o, 2); }
  uint64_t u32(uint64_t o) const { return u(o, 4); }
  uint64_t u64(uint64_t o) const { return u(o, 8); }
  std::string_view view(uint64_t offset, uint64_t n, const char* what) const {
    need(offset, n, what);
    return std::string_view(b_).substr(offset, n);
  }
  size_t size() const { return b_.size(); }

 private:
  const std::string& b_;
  const std::string& path_;
};

struct CentralEntry {
  std::string name;
  uint16_t flags = 0, method = 0;
  uint32_t crc = 0;
  uint64_t compressed = 0, uncompressed = 0, local_offset = 0;
};

struct Directory {
  uint64_t entries = 0, size = 0, offset = 0;
};

Directory find_directory(const ArchiveReader& r, const std::string& bytes) {
  if (bytes.size() >= kNpyMagicSize && bytes.compare(0, kNpyMagicSize, kNpyMagic) == 0)
    r.fail("this is a .npy file (one array), not an .npz archive");
  // The end record is the last 22 bytes, unless a comment of up to 64 KiB
  // follows it.
  int64_t end = -1;
  if (bytes.size() >= kEndRecordSize) {
    const int64_t last = static_cast<int64_t>(bytes.size() - kEndRecordSize);
    const int64_t first = std::max<int64_t>(0, last - static_cast<int64_t>(kMax16));
    for (int64_t p = last; p >= first; --p) {
      if (r.u32(p) == kEndSig && r.u16(p + 20) <= bytes.size() - p - kEndRecordSize) {
        end = p;
        break;
      }
    }
  }
  if (end < 0) {
    if (bytes.empty()) r.fail("the file is empty");
    if (bytes.size() >= 4 && r.u32(0) == kLocalHeaderSig)
      r.fail("truncated: the zip archive's directory at its end is missing");
    r.fail("not an .npz file (not a zip archive)");
  }
  Directory d{r.u16(end + 10), r.u32(end + 12), r.u32(end + 16)};
  if (d.entries == kMax16 || d.size == kMax32 || d.offset == kMax32) {
    // ZIP64: a locator just before the end record points at a 64-bit end record.
    if (end < 20 || r.u32(end - 20) != kZip64LocatorSig)
      r.fail("corrupt: the ZIP64 end-of-directory locator is missing");
    const uint64_t z = r.u64(end - 20 + 8);
    if (r.u32(z) != kZip64EndSig) r.fail("corrupt: bad ZIP64 end-of-directory record");
    d = Directory{r.u64(z + 32), r.u64(z + 40), r.u64(z + 48)};
  }
  r.need(d.offset, d.size, "zip directory");
  return d;
}

std::vector<CentralEntry> read_directory(const ArchiveReader& r, const Directory& d) {
  std::vector<CentralEntry> entries;
  uint64_t p = d.offset;
  for (uint64_t i = 0; i < d.entries; ++i) {
    if (r.u32(p) != kCentralHeaderSig)
      r.fail("corrupt: zip directory entry " + std::to_string(i) +
             " has a bad signature");
    CentralEntry e;
    e.flags = r.u16(p + 8);
    e.method = r.u16(p + 10);
    e.crc = r.u32(p + 16);
    e.compressed = r.u32(p + 20);
    e.uncompressed = r.u32(p + 24);
    const uint64_t name_len = r.u16(p + 28), extra_len = r.u16(p + 30),
                   comment_len = r.u16(p + 32);
    e.local_offset = r.u32(p + 42);
    e.name = std::string(r.view(p + 46, name_len, "entry name"));
    // ZIP64 sizes and offset, present only for the fields that overflowed.
    const uint64_t extra = p + 46 + name_len;
    for (uint64_t x = extra; x + 4 <= extra + extra_len;) {
      const uint64_t id = r.u16(x), len = r.u16(x + 2);
      if (id == kZip64ExtraId) {
        uint64_t f = x + 4;
        for (uint64_t* field : {&e.uncompressed, &e.compressed, &e.local_offset}) {
          if (*field == kMax32 && f + 8 <= x + 4 + len) {
            *field = r.u64(f);
            f += 8;
          }
        }
      }
      x += 4 + len;
    }
    entries.push_back(std::move(e));
    p += 46 + name_len + extra_len + comment_len;
  }
  if (p != d.offset + d.size)
    r.fail("corrupt: the zip directory's " + std::to_string(d.entries) +
           " entries do not fill its " + std::to_string(d.size) + " bytes");
  return entries;
}

std::string inflate_entry(std::string_view in, uint64_t size, const ArchiveReader& r,
                          const std::string& entry) {
  std::string out(size, '\0');
  z_stream s{};
  if (inflateInit2(&s, -MAX_WBITS) != Z_OK) r.fail("cannot start decompression");
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  uint64_t in_left = in.size(), out_left = size;
  int ret = Z_OK;
  // zlib counts in 32 bits: large entries go through in slices.
  while (ret == Z_OK) {
    const uInt in_slice = static_cast<uInt>(std::min<uint64_t>(in_left, 1u << 30));
    const uInt out_slice = static_cast<uInt>(std::min<uint64_t>(out_left, 1u << 30));
    s.avail_in = in_slice;
    s.avail_out = out_slice;
    ret = inflate(&s, Z_NO_FLUSH);
    in_left -= in_slice - s.avail_in;
    out_left -= out_slice - s.avail_out;
    if (ret == Z_BUF_ERROR && in_left && out_left) ret = Z_OK;  // no progress yet
  }
  inflateEnd(&s);
  if (ret != Z_STREAM_END || out_left != 0)
    r.fail("corrupt: entry " + quoted(entry) + " does not inflate to its " +
           std::to_string(size) + " bytes" +
           (s.msg ? std::string(" (") + s.msg + ")" : ""));
  return out;
}

std::string read_whole_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw IOError("cannot open npz file " + quoted(path) + ": " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    const int err = S_ISDIR(st.st_mode) ? EISDIR : errno;
    ::close(fd);
    throw IOError("cannot read npz file " + quoted(path) + ": " + std::strerror(err));
  }
  std::string bytes;
  char buf[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      throw IOError("error reading npz file " + quoted(path) + ": " + std::strerror(err));
    }
    bytes.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return bytes;
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(),
                                                suffix.data(), suffix.size()) == 0;
}

}  // namespace

// ---- NpzFile ----------------------------------------------------------------

std::vector<std::string> NpzFile::names() const {
  std::vector<std::string> out;
  for (const auto& a : arrays_) out.push_back(a.name);
  return out;
}

bool NpzFile::contains(const std::string& name) const {
  return std::any_of(arrays_.begin(), arrays_.end(),
                     [&](const NamedArray& a) { return a.name == name; });
}

const NDArray& NpzFile::at(const std::string& name) const {
  for (const auto& a : arrays_)
    if (a.name == name) return a.array;
  std::string held;
  for (const auto& a : arrays_) held += (held.empty() ? "" : ", ") + quoted(a.name);
  throw IOError("npz file " + quoted(path_) + " has no array " + quoted(name) +
                " (it holds " + (held.empty() ? "no arrays" : held) + ")");
}

// ---- writing ----------------------------------------------------------------

std::string npz_bytes(const std::vector<NamedArray>& arrays, NpzCompression compression) {
  struct Written {
    std::string name;
    uint16_t method, flags;
    uint32_t crc;
    uint64_t compressed, uncompressed, offset;
  };
  std::set<std::string> names;
  std::vector<Written> written;
  std::string out;
  for (const NamedArray& a : arrays) {
    if (a.name.empty()) throw ValueError("save_npz: an array has an empty name");
    if (!names.insert(a.name).second)
      throw ValueError("save_npz: two arrays are named " + quoted(a.name));
    if (!a.array.defined())
      throw ValueError("save_npz: array " + quoted(a.name) + " is undefined");
    const std::string entry = a.name + ".npy";
    const std::string npy = npy_bytes(a.array);
    Written w{entry, kMethodStored, 0,         crc_of(npy.data(), npy.size()),
              0,     npy.size(),    out.size()};
    // Names with non-ASCII bytes are UTF-8 (general-purpose flag bit 11).
    if (std::any_of(entry.begin(), entry.end(), [](char c) { return c & 0x80; }))
      w.flags |= 1 << 11;
    std::string deflated;
    if (compression == NpzCompression::kDeflate) {
      w.method = kMethodDeflate;
      z_stream s{};
      if (deflateInit2(&s, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8,
                       Z_DEFAULT_STRATEGY) != Z_OK)
        throw ValueError("save_npz: cannot start compression");
      if (npy.size() >= kMax32) {
        deflateEnd(&s);
        throw ValueError("save_npz: array " + quoted(a.name) +
                         " is 4 GiB or more; this writer makes no ZIP64 archives");
      }
      deflated.resize(deflateBound(&s, static_cast<uLong>(npy.size())));
      s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(npy.data()));
      s.avail_in = static_cast<uInt>(npy.size());
      s.next_out = reinterpret_cast<Bytef*>(deflated.data());
      s.avail_out = static_cast<uInt>(deflated.size());
      const int ret = deflate(&s, Z_FINISH);
      deflated.resize(s.total_out);
      deflateEnd(&s);
      if (ret != Z_STREAM_END) throw ValueError("save_npz: compression failed");
    }
    const std::string& data = compression == NpzCompression::kDeflate ? deflated : npy;
    w.compressed = data.size();
    if (w.uncompressed >= kMax32 ||
        out.size() + data.size() + 30 + entry.size() >= kMax32)
      throw ValueError("save_npz: the archive would be 4 GiB or more (array " +
                       quoted(a.name) + "); this writer makes no ZIP64 archives");
    put32(out, kLocalHeaderSig);
    put16(out, 20);  // version needed: 2.0 (deflate)
    put16(out, w.flags);
    put16(out, w.method);
    put16(out, 0);  // time
    put16(out, kDosDate);
    put32(out, w.crc);
    put32(out, w.compressed);
    put32(out, w.uncompressed);
    put16(out, entry.size());
    put16(out, 0);  // extra field length
    out += entry;
    out += data;
    written.push_back(std::move(w));
  }
  if (written.size() >= kMax16)
    throw ValueError("save_npz: too many arrays for a zip without ZIP64");
  const uint64_t directory_offset = out.size();
  for (const Written& w : written) {
    put32(out, kCentralHeaderSig);
    put16(out, (3 << 8) | 20);  // made by: Unix, zip 2.0
    put16(out, 20);
    put16(out, w.flags);
    put16(out, w.method);
    put16(out, 0);
    put16(out, kDosDate);
    put32(out, w.crc);
    put32(out, w.compressed);
    put32(out, w.uncompressed);
    put16(out, w.name.size());
    put16(out, 0);            // extra
    put16(out, 0);            // comment
    put16(out, 0);            // disk
    put16(out, 0);            // internal attributes
    put32(out, 0644u << 16);  // external attributes: a regular file, rw-r--r--
    put32(out, w.offset);
    out += w.name;
  }
  const uint64_t directory_size = out.size() - directory_offset;
  if (out.size() >= kMax32)
    throw ValueError(
        "save_npz: the archive would be 4 GiB or more; this writer makes "
        "no ZIP64 archives");
  put32(out, kEndSig);
  put16(out, 0);
  put16(out, 0);
  put16(out, written.size());
  put16(out, written.size());
  put32(out, directory_size);
  put32(out, directory_offset);
  put16(out, 0);  // comment length
  return out;
}

void save_npz(const std::string& path, const std::vector<NamedArray>& arrays,
              NpzCompression compression) {
  write_file_atomically(path, npz_bytes(arrays, compression));
}

// ---- reading ----------------------------------------------------------------

NpzFile parse_npz(const std::string& bytes, const std::string& path) {
  const ArchiveReader r(bytes, path);
  const Directory dir = find_directory(r, bytes);
  std::vector<NamedArray> arrays;
  std::set<std::string> seen;
  for (const CentralEntry& e : read_directory(r, dir)) {
    if (r.u32(e.local_offset) != kLocalHeaderSig)
      r.fail("corrupt: entry " + quoted(e.name) + " has a bad local header");
    const uint64_t local_name_len = r.u16(e.local_offset + 26);
    if (r.view(e.local_offset + 30, local_name_len, "entry name") != e.name)
      r.fail("corrupt: entry " + quoted(e.name) +
             " has another name in its local header");
    if (!ends_with(e.name, ".npy")) continue;
    const std::string name = e.name.substr(0, e.name.size() - 4);
    const std::string what = "npz file " + quoted(path) + ", array " + quoted(name);
    if (!seen.insert(name).second)
      r.fail("corrupt: two entries are named " + quoted(e.name));
    if (e.flags & 1) r.fail("entry " + quoted(e.name) + " is encrypted");
    const uint64_t data_start =
        e.local_offset + 30 + local_name_len + r.u16(e.local_offset + 28);
    const std::string_view raw = r.view(data_start, e.compressed, "entry data");
    std::string inflated;
    std::string_view npy;
    if (e.method == kMethodStored) {
      if (e.compressed != e.uncompressed)
        r.fail("corrupt: stored entry " + quoted(e.name) + " has two different sizes");
      npy = raw;
    } else if (e.method == kMethodDeflate) {
      // Deflate expands at most about 1032:1; a larger claimed size is a corrupt
      // field, not a reason to allocate gigabytes.
      if (e.uncompressed > e.compressed * 1032 + 1024)
        r.fail("corrupt: entry " + quoted(e.name) + " claims " +
               std::to_string(e.uncompressed) + " bytes from " +
               std::to_string(e.compressed) + " compressed");
      inflated = inflate_entry(raw, e.uncompressed, r, e.name);
      npy = inflated;
    } else {
      r.fail("entry " + quoted(e.name) + " uses compression method " +
             std::to_string(e.method) + " (supported: stored, deflate)");
    }
    if (crc_of(npy.data(), npy.size()) != e.crc)
      r.fail("corrupt: the CRC of entry " + quoted(e.name) + " does not match its data");
    arrays.push_back(NamedArray{name, parse_npy(npy, what)});
  }
  return NpzFile(path, std::move(arrays));
}

NpzFile load_npz(const std::string& path) {
  return parse_npz(read_whole_file(path), path);
}

}  // namespace theanine
