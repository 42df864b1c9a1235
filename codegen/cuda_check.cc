#include "codegen/cuda_check.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <unordered_set>

#include "codegen/cuda_emit.h"
#include "codegen/disk_cache.h"

namespace theanine {

namespace {

std::atomic<bool> g_warned{false};

void warn_once(const std::string& what) {
  if (!g_warned.exchange(true))
    std::fprintf(stderr,
                 "theanine: THEANINE_CUDA_CHECK_DIR: %s (further errors not shown)\n",
                 what.c_str());
}

// Writes through a temporary name and renames, so that a reader (or a second
// process writing the same kernel) never sees half a file.
bool write_file(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::path tmp = path;
  tmp += ".tmp" + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary);
    if (!f || !f.write(text.data(), static_cast<std::streamsize>(text.size())))
      return false;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) std::filesystem::remove(tmp, ec);
  return !ec;
}

}  // namespace

void record_cuda_source_for_check(const std::string& file_name,
                                  const std::string& text) noexcept {
  const char* dir = std::getenv("THEANINE_CUDA_CHECK_DIR");
  if (!dir || !*dir) return;
  try {
    static std::mutex mu;
    static std::unordered_set<std::string> done;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!done.insert(std::string(dir) + "\n" + file_name).second) return;
    }
    std::filesystem::path folder(dir);
    std::error_code ec;
    std::filesystem::create_directories(folder, ec);
    const std::filesystem::path path = folder / file_name;
    if (!write_file(path, text)) warn_once("cannot write " + path.string());
  } catch (const std::exception& e) {
    warn_once(e.what());
  } catch (...) {
    warn_once("unknown error");
  }
}

void record_kernel_for_cuda_check(const KernelSpec& spec) noexcept {
  const char* dir = std::getenv("THEANINE_CUDA_CHECK_DIR");
  if (!dir || !*dir) return;
  try {
    // The same spec is met many times in a run: emit it once per process.
    static std::mutex mu;
    static std::unordered_set<std::string> done;
    const std::string key = spec.key();
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!done.insert(key).second) return;
    }
    std::filesystem::path folder(dir);
    std::error_code ec;
    std::filesystem::create_directories(folder, ec);
    std::string text, ext = ".cu";
    try {
      text = cuda_source(spec);
    } catch (const std::exception& e) {
      text = std::string("emitting CUDA C failed: ") + e.what() + "\nspec: " + key + "\n";
      ext = ".err";
    }
    std::filesystem::path path = folder / (sha256_hex(text) + ext);
    if (std::filesystem::exists(path, ec)) return;
    if (!write_file(path, text)) warn_once("cannot write " + path.string());
  } catch (const std::exception& e) {
    warn_once(e.what());
  } catch (...) {
    warn_once("unknown error");
  }
}

}  // namespace theanine
