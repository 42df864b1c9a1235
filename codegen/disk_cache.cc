#include "codegen/disk_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <thread>
#include <utility>

namespace theanine {
namespace {

// ---- SHA-256, written from FIPS 180-4 -------------------------------------------

constexpr uint32_t kRoundConstants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

constexpr uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

void sha256_block(uint32_t h[8], const uint8_t* p) {
  uint32_t w[64];
  for (int i = 0; i < 16; ++i) {
    w[i] = uint32_t(p[4 * i]) << 24 | uint32_t(p[4 * i + 1]) << 16 |
           uint32_t(p[4 * i + 2]) << 8 | uint32_t(p[4 * i + 3]);
  }
  for (int i = 16; i < 64; ++i) {
    uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
  for (int i = 0; i < 64; ++i) {
    uint32_t t1 = k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) +
                  kRoundConstants[i] + w[i];
    uint32_t t2 =
        (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    k = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
  h[5] += f;
  h[6] += g;
  h[7] += k;
}

std::string to_hex(const uint8_t* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = digits[p[i] >> 4];
    s[2 * i + 1] = digits[p[i] & 15];
  }
  return s;
}

// ---- the entry file ---------------------------------------------------------------

constexpr char kMagic[8] = {'T', 'H', 'N', 'C', 'A', 'C', 'H', 'E'};
constexpr size_t kHeaderSize = 8 + 4 + 32 + 8 + 32;

void put_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(char((v >> (8 * i)) & 0xff));
}

uint64_t get_le(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t(uint8_t(p[i])) << (8 * i);
  return v;
}

std::atomic<bool> g_enabled{true};
std::atomic<bool> g_warned{false};
std::atomic<uint64_t> g_tmp_counter{0};

// The one warning per process about a cache folder that does not take writes.
void warn_unwritable(const std::string& dir, const std::string& why) {
  if (g_warned.exchange(true)) return;
  std::fprintf(stderr,
               "theanine: warning: cannot write the compile cache in '%s' (%s); "
               "compiled code is kept in memory only. Set THEANINE_CACHE_DIR to a "
               "writable folder, or to \"\" to turn the disk cache off.\n",
               dir.c_str(), why.c_str());
}

bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t k = ::write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    p += k;
    n -= size_t(k);
  }
  return true;
}

std::optional<std::string> read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat st;
  std::optional<std::string> out;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    std::string buf(size_t(st.st_size), '\0');
    size_t got = 0;
    while (got < buf.size()) {
      ssize_t k = ::read(fd, buf.data() + got, buf.size() - got);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) break;
      got += size_t(k);
    }
    buf.resize(got);
    out = std::move(buf);
  }
  ::close(fd);
  return out;
}

// The payload of a whole, valid entry for key_hash, or nullopt.
std::optional<std::string> parse_entry(const std::string& file,
                                       const std::array<uint8_t, 32>& key_hash) {
  if (file.size() < kHeaderSize) return std::nullopt;
  const char* p = file.data();
  if (std::memcmp(p, kMagic, 8) != 0) return std::nullopt;
  if (get_le(p + 8, 4) != DiskCache::kFormatVersion) return std::nullopt;
  if (std::memcmp(p + 12, key_hash.data(), 32) != 0) return std::nullopt;
  uint64_t length = get_le(p + 44, 8);
  if (length != file.size() - kHeaderSize) return std::nullopt;
  std::string_view payload(file.data() + kHeaderSize, length);
  if (std::memcmp(sha256(payload).data(), p + 52, 32) != 0) return std::nullopt;
  return std::string(payload);
}

}  // namespace

std::array<uint8_t, 32> sha256(std::string_view bytes) {
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  size_t n = bytes.size();
  size_t full = n / 64 * 64;
  for (size_t i = 0; i < full; i += 64) sha256_block(h, p + i);
  // The tail, the 0x80 marker, zeros, and the bit length: one or two more blocks.
  uint8_t tail[128] = {};
  size_t rest = n - full;
  std::memcpy(tail, p + full, rest);
  tail[rest] = 0x80;
  size_t tail_len = rest + 1 + 8 <= 64 ? 64 : 128;
  uint64_t bits = uint64_t(n) * 8;
  for (int i = 0; i < 8; ++i) tail[tail_len - 1 - i] = uint8_t(bits >> (8 * i));
  for (size_t i = 0; i < tail_len; i += 64) sha256_block(h, tail + i);
  std::array<uint8_t, 32> out;
  for (int i = 0; i < 8; ++i) {
    for (int j = 0; j < 4; ++j) out[4 * i + j] = uint8_t(h[i] >> (24 - 8 * j));
  }
  return out;
}

std::string sha256_hex(std::string_view bytes) {
  auto d = sha256(bytes);
  return to_hex(d.data(), d.size());
}

DiskCache::DiskCache(std::string ns) : ns_(std::move(ns)) {}

void DiskCache::set_enabled(bool on) { g_enabled = on; }
bool DiskCache::enabled() { return g_enabled; }
void DiskCache::rearm_warning() { g_warned = false; }

std::string DiskCache::dir() const {
  if (!enabled()) return "";
  std::string base;
  if (const char* env = std::getenv("THEANINE_CACHE_DIR")) {
    if (!*env) return "";
    base = env;
  } else if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    base = std::string(xdg) + "/theanine";
  } else if (const char* home = std::getenv("HOME"); home && *home) {
    base = std::string(home) + "/.cache/theanine";
  } else {
    return "";
  }
  return base + "/" + ns_;
}

std::string DiskCache::path_for(const std::string& key) const {
  std::string d = dir();
  return d.empty() ? d : d + "/" + sha256_hex(key);
}

std::optional<std::string> DiskCache::load(const std::string& key) {
  try {
    std::string path = path_for(key);
    if (path.empty()) return std::nullopt;
    std::optional<std::string> file = read_file(path);
    if (!file) return std::nullopt;
    std::optional<std::string> payload = parse_entry(*file, sha256(key));
    // A bad entry would fail again on every run: remove it so the next store
    // replaces it (a racing writer's rename makes this at worst one extra compile).
    if (!payload) ::unlink(path.c_str());
    return payload;
  } catch (...) {
    return std::nullopt;
  }
}

void DiskCache::store(const std::string& key, const std::string& bytes) {
  std::string d;
  std::string tmp;
  try {
    d = dir();
    if (d.empty()) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (d == failed_dir_) return;
    }
    auto fail = [&](const std::string& why) {
      if (!tmp.empty()) ::unlink(tmp.c_str());
      {
        std::lock_guard<std::mutex> lock(mu_);
        failed_dir_ = d;
      }
      warn_unwritable(d, why);
    };
    std::error_code ec;
    std::filesystem::create_directories(d, ec);
    if (ec) return fail(ec.message());

    std::string entry;
    entry.reserve(kHeaderSize + bytes.size());
    entry.append(kMagic, 8);
    put_le(entry, kFormatVersion, 4);
    auto key_hash = sha256(key);
    entry.append(reinterpret_cast<const char*>(key_hash.data()), 32);
    put_le(entry, bytes.size(), 8);
    auto payload_hash = sha256(bytes);
    entry.append(reinterpret_cast<const char*>(payload_hash.data()), 32);
    entry.append(bytes);

    // Unique among processes (pid), threads (thread id) and calls (counter, time).
    uint64_t salt =
        uint64_t(std::chrono::steady_clock::now().time_since_epoch().count()) ^
        (g_tmp_counter.fetch_add(1) << 48);
    tmp = d + "/.tmp-" + std::to_string(::getpid()) + "-" +
          std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id())) + "-" +
          std::to_string(salt);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
      std::string why = std::strerror(errno);
      tmp.clear();
      return fail(why);
    }
    bool ok = write_all(fd, entry.data(), entry.size());
    std::string why = ok ? "" : std::strerror(errno ? errno : EIO);
    if (::close(fd) != 0 && ok) {
      ok = false;
      why = std::strerror(errno);
    }
    if (!ok) return fail(why);
    std::string path = d + "/" + to_hex(key_hash.data(), key_hash.size());
    if (::rename(tmp.c_str(), path.c_str()) != 0) return fail(std::strerror(errno));
  } catch (...) {
    if (!tmp.empty()) ::unlink(tmp.c_str());
  }
}

}  // namespace theanine
