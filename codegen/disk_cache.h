#pragma once
// A cache of compiled code on disk, shared by every process of the user and
// backend-neutral: the LLVM backend stores object files through it, the CUDA backend
// PTX or cubin. It never depends on LLVM.
//
// Where: $THEANINE_CACHE_DIR if set (set but empty disables the cache), else
// $XDG_CACHE_HOME/theanine, else ~/.cache/theanine; then one subfolder per namespace
// ("llvm-x86_64", "cuda-sm90"). The directory is looked up on every call, so a test
// may point the environment variable elsewhere at run time.
//
// Each entry is one file named by the SHA-256 of its key. It holds a header (magic,
// format version, the key's SHA-256, the payload's length and SHA-256) and the
// payload; load() checks all of it, so a truncated, corrupt or foreign file is
// dropped (and deleted), never returned. store() writes a unique temporary file
// in the same folder and renames it over the entry, so readers see a whole entry
// or none, and two processes storing the same key at once both succeed.
//
// A cache folder that cannot be created or written prints one warning per process
// to stderr; the caller goes on without the disk cache. Nothing here throws.
#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace theanine {

// SHA-256 (FIPS 180-4) of bytes: the digest, and as 64 lowercase hex digits.
std::array<uint8_t, 32> sha256(std::string_view bytes);
std::string sha256_hex(std::string_view bytes);

class DiskCache {
 public:
  explicit DiskCache(std::string ns);

  // The payload stored under key, if a whole and valid entry is there.
  std::optional<std::string> load(const std::string& key);
  // Stores payload under key (replacing any entry). Never throws; failures warn once.
  void store(const std::string& key, const std::string& bytes);
  // The folder that holds this namespace's entries; "" when the disk cache is off.
  std::string dir() const;
  // The file that holds (or would hold) key's entry; "" when the disk cache is off.
  std::string path_for(const std::string& key) const;
  const std::string& ns() const { return ns_; }

  // Turns every DiskCache of the process off (or back on), e.g. to time cold compiles.
  static void set_enabled(bool on);
  static bool enabled();
  // For tests: the next failing store warns again, as in a fresh process.
  static void rearm_warning();

  // Entries are files of this layout (little-endian):
  //   "THNCACHE" | u32 format version | key SHA-256 (32) | u64 payload length |
  //   payload SHA-256 (32) | payload
  static constexpr uint32_t kFormatVersion = 1;

 private:
  std::string ns_;
  // The folders where a store failed: later stores there are skipped quietly.
  mutable std::mutex mu_;
  std::string failed_dir_;
};

}  // namespace theanine
