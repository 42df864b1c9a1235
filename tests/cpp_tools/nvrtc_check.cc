// nvrtc_check: compiles every .cu file of a folder with NVRTC (no GPU needed) and
// fails when any does not compile. The folder is typically filled by a test run
// with THEANINE_CUDA_CHECK_DIR set (codegen/cuda_check.h), so that every kernel
// the op tests generate is checked as CUDA C:
//
//   THEANINE_CUDA_CHECK_DIR=/tmp/kernels ./build/theanine_tests
//   THEANINE_CUDA_CHECK_DIR=/tmp/kernels python3 -m pytest tests/python
//   ./build/nvrtc_check /tmp/kernels    # [--arch 90] [--batch 64] [--jobs N] [--ptx]
//
// --ptx stops at PTX (the C++ front end, where emission bugs show, in about
// half the time of building machine code).
//
// Files are compiled many to an NVRTC program (each carries the guarded
// prelude, and kernel names are hashes of their specs), which is far faster
// than one program per kernel; a batch that fails is compiled file by file to
// name the culprits. .err files (kernels the emitter could not write) count as
// failures. Exit status: 0 all compiled, 1 failures, 2 usage or NVRTC missing.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "codegen/cuda_nvrtc.h"
#include "runtime/cuda_driver.h"

namespace fs = std::filesystem;
using namespace theanine;

namespace {

struct File {
  fs::path path;
  std::string text;
  std::vector<std::string> kernels;  // names of its __global__ functions
};

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

// The names of the __global__ functions a source defines (for batching files
// whose kernels would clash, e.g. two versions of one kernel).
std::vector<std::string> kernel_names(const std::string& text) {
  std::vector<std::string> names;
  const std::string mark = "__global__ void ";
  for (size_t at = text.find(mark); at != std::string::npos;
       at = text.find(mark, at + 1)) {
    size_t p = at + mark.size();
    if (text.compare(p, 18, "__launch_bounds__(") == 0) {
      p = text.find(')', p);
      if (p == std::string::npos) break;
      p = text.find_first_not_of(' ', p + 1);
    }
    size_t e = text.find('(', p);
    if (e == std::string::npos) break;
    names.push_back(text.substr(p, e - p));
  }
  return names;
}

struct Failure {
  std::string file;
  std::string log;
};

void usage() {
  std::fprintf(
      stderr,
      "usage: nvrtc_check DIR [--arch N (90)] [--batch N (64)] [--jobs N] [--ptx]\n"
      "Compiles every .cu file of DIR with NVRTC for sm_N; exit 1 on any failure.\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  int arch = 90, batch = 64;
  bool ptx_only = false;
  int jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](int& into) {
      if (i + 1 >= argc || (into = std::atoi(argv[++i])) <= 0) {
        usage();
        std::exit(2);
      }
    };
    if (a == "--arch")
      value(arch);
    else if (a == "--batch")
      value(batch);
    else if (a == "--jobs")
      value(jobs);
    else if (a == "--ptx")
      ptx_only = true;
    else if (a == "-h" || a == "--help")
      return usage(), 0;
    else if (dir.empty() && a[0] != '-')
      dir = a;
    else
      return usage(), 2;
  }
  if (dir.empty()) return usage(), 2;
  if (!nvrtc_available()) {
    std::fprintf(stderr, "nvrtc_check: %s\n", nvrtc_unavailable_reason().c_str());
    return 2;
  }
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    std::fprintf(stderr, "nvrtc_check: %s is not a folder\n", dir.c_str());
    return 2;
  }

  std::vector<File> files;
  std::vector<Failure> failures;
  for (const auto& e : fs::directory_iterator(dir)) {
    const fs::path& p = e.path();
    if (p.extension() == ".err") failures.push_back({p.filename().string(), read_all(p)});
    if (p.extension() != ".cu") continue;
    File f{p, read_all(p), {}};
    f.kernels = kernel_names(f.text);
    files.push_back(std::move(f));
  }
  std::sort(files.begin(), files.end(),
            [](const File& a, const File& b) { return a.path < b.path; });

  // Batches of up to `batch` files with no kernel name twice.
  std::vector<std::vector<const File*>> batches;
  std::vector<std::set<std::string>> names;
  for (const File& f : files) {
    size_t b = 0;
    for (; b < batches.size(); ++b) {
      if (static_cast<int>(batches[b].size()) >= batch) continue;
      bool clash = false;
      for (const std::string& k : f.kernels) clash = clash || names[b].count(k);
      if (!clash) break;
    }
    if (b == batches.size()) {
      batches.emplace_back();
      names.emplace_back();
    }
    batches[b].push_back(&f);
    names[b].insert(f.kernels.begin(), f.kernels.end());
  }

  auto t0 = std::chrono::steady_clock::now();
  std::mutex mu;
  std::atomic<size_t> next{0};
  size_t kernels = 0;
  for (const File& f : files) kernels += f.kernels.size();
  auto worker = [&] {
    for (size_t b; (b = next++) < batches.size();) {
      std::string source;
      for (const File* f : batches[b]) source += f->text + "\n";
      NvrtcCheckResult r =
          nvrtc_check(source, "batch" + std::to_string(b) + ".cu", arch, ptx_only);
      if (r.ok) continue;
      for (const File* f : batches[b]) {  // which of them
        NvrtcCheckResult one =
            nvrtc_check(f->text, f->path.filename().string(), arch, ptx_only);
        if (one.ok) continue;
        std::lock_guard<std::mutex> lock(mu);
        failures.push_back({f->path.filename().string(), one.log});
      }
    }
  };
  std::vector<std::thread> pool;
  const int n = std::min<int>(jobs, static_cast<int>(batches.size()));
  for (int i = 0; i < n; ++i) pool.emplace_back(worker);
  for (std::thread& t : pool) t.join();
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
          .count();

  for (const Failure& f : failures)
    std::printf("FAILED %s\n%s\n\n", f.file.c_str(), f.log.c_str());
  std::printf(
      "nvrtc_check: %zu files, %zu kernels, %zu batches, %s_%d, %d jobs: %.0f ms; %zu "
      "failed\n",
      files.size(), kernels, batches.size(), ptx_only ? "compute" : "sm", arch, n, ms,
      failures.size());
  return failures.empty() ? 0 : 1;
}
