#include "codegen/cuda_nvrtc.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <sstream>

#include "codegen/disk_cache.h"
#include "runtime/cuda_driver.h"
#include "runtime/error.h"

namespace theanine {

namespace {

using cuda::check_nvrtc;
using cuda::nvrtcProgram;

// Owns a program; destroyed on every path out.
class Program {
 public:
  Program(const std::string& source, const std::string& name) : api_(cuda::nvrtc()) {
    check_nvrtc(api_.nvrtcCreateProgram(&prog_, source.c_str(), name.c_str(), 0, nullptr,
                                        nullptr),
                "nvrtcCreateProgram", "creating " + name);
  }
  ~Program() {
    if (prog_) api_.nvrtcDestroyProgram(&prog_);
  }
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;

  // True when it compiled; the log either way.
  bool compile(const std::vector<std::string>& options, std::string& log) {
    std::vector<const char*> opts;
    for (const std::string& o : options) opts.push_back(o.c_str());
    cuda::nvrtcResult r =
        api_.nvrtcCompileProgram(prog_, static_cast<int>(opts.size()), opts.data());
    size_t n = 0;
    if (api_.nvrtcGetProgramLogSize(prog_, &n) == cuda::NVRTC_SUCCESS && n > 1) {
      std::string s(n, '\0');
      if (api_.nvrtcGetProgramLog(prog_, s.data()) == cuda::NVRTC_SUCCESS) {
        s.resize(n - 1);
        log = s;
      }
    }
    const int kCompilationError = 6;  // NVRTC_ERROR_COMPILATION
    if (r == kCompilationError) return false;
    check_nvrtc(r, "nvrtcCompileProgram");
    return true;
  }

  std::string cubin() {
    size_t n = 0;
    check_nvrtc(api_.nvrtcGetCUBINSize(prog_, &n), "nvrtcGetCUBINSize");
    std::string s(n, '\0');
    check_nvrtc(api_.nvrtcGetCUBIN(prog_, s.data()), "nvrtcGetCUBIN");
    return s;
  }
  std::string ptx() {
    size_t n = 0;
    check_nvrtc(api_.nvrtcGetPTXSize(prog_, &n), "nvrtcGetPTXSize");
    std::string s(n, '\0');
    check_nvrtc(api_.nvrtcGetPTX(prog_, s.data()), "nvrtcGetPTX");
    return s;  // NUL-terminated, as cuModuleLoadData wants PTX
  }

 private:
  const cuda::NvrtcApi& api_;
  nvrtcProgram prog_ = nullptr;
};

std::vector<int> supported_archs() {
  static const std::vector<int> archs = [] {
    const cuda::NvrtcApi& api = cuda::nvrtc();
    int n = 0;
    std::vector<int> v;
    if (api.nvrtcGetNumSupportedArchs(&n) == cuda::NVRTC_SUCCESS && n > 0) {
      v.resize(n);
      if (api.nvrtcGetSupportedArchs(v.data()) != cuda::NVRTC_SUCCESS) v.clear();
    }
    std::sort(v.begin(), v.end());
    return v;
  }();
  return archs;
}

std::string nvrtc_version() {
  int major = 0, minor = 0;
  cuda::nvrtc().nvrtcVersion(&major, &minor);
  return std::to_string(major) + "." + std::to_string(minor);
}

// The log with the source lines it names ("name(12): error ...") quoted, so an
// emission bug can be read off the message alone.
std::string explain(const std::string& log, const std::string& source) {
  std::vector<std::string> lines;
  std::istringstream in(source);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::string out = log;
  std::istringstream logs(log);
  int shown = 0;
  for (std::string l; std::getline(logs, l) && shown < 8;) {
    size_t open = l.find('('), close = l.find(')');
    if (open == std::string::npos || close == std::string::npos || close < open) continue;
    int n = std::atoi(l.substr(open + 1, close - open - 1).c_str());
    if (n < 1 || n > static_cast<int>(lines.size())) continue;
    out += "\n  line " + std::to_string(n) + ": " + lines[n - 1];
    ++shown;
  }
  return out;
}

}  // namespace

int cuda_target_arch() {
  if (cuda_available()) return cuda::device_info().arch();
  return 90;
}

std::vector<std::string> nvrtc_options(int arch) {
  return {"--gpu-architecture=sm_" + std::to_string(arch), "--std=c++17", "--fmad=false"};
}

CudaImage compile_cuda(const std::string& source, const std::string& what, int arch) {
  if (arch <= 0) arch = cuda_target_arch();
  const cuda::NvrtcApi& api = cuda::nvrtc();
  // Machine code when this NVRTC knows the arch; else PTX for the newest arch
  // it knows below it, which the driver compiles on load.
  std::vector<int> archs = supported_archs();
  const bool known = std::find(archs.begin(), archs.end(), arch) != archs.end();
  const bool cubin = known && api.nvrtcGetCUBIN != nullptr;
  std::vector<std::string> options = nvrtc_options(arch);
  if (!cubin) {
    int ptx_arch = arch;
    for (int a : archs)
      if (a <= arch) ptx_arch = a;
    options[0] = "--gpu-architecture=compute_" + std::to_string(ptx_arch);
  }
  std::string key = "nvrtc " + nvrtc_version() + "\n";
  for (const std::string& o : options) key += o + "\n";
  key += source;
  DiskCache disk("cuda-sm" + std::to_string(arch));
  CudaImage image;
  image.is_cubin = cubin;
  if (std::optional<std::string> hit = disk.load(key)) {
    image.bytes = std::move(*hit);
    image.disk_hit = true;
    return image;
  }
  Program prog(source, what);
  if (!prog.compile(options, image.log))
    throw Error("NVRTC could not compile " + what + " for sm_" + std::to_string(arch) +
                ":\n" + explain(image.log, source));
  image.bytes = cubin ? prog.cubin() : prog.ptx();
  disk.store(key, image.bytes);
  return image;
}

NvrtcCheckResult nvrtc_check(const std::string& source, const std::string& name, int arch,
                             bool ptx_only) {
  auto t0 = std::chrono::steady_clock::now();
  NvrtcCheckResult r;
  Program prog(source, name);
  std::vector<std::string> options = nvrtc_options(arch);
  if (ptx_only) options[0] = "--gpu-architecture=compute_" + std::to_string(arch);
  r.ok = prog.compile(options, r.log);
  if (!r.ok) r.log = explain(r.log, source);
  r.milliseconds =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
          .count();
  return r;
}

}  // namespace theanine
