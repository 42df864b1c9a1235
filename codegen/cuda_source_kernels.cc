#include "codegen/cuda_source_kernels.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unordered_set>

#include "codegen/cuda_check.h"
#include "codegen/cuda_nvrtc.h"
#include "codegen/disk_cache.h"
#include "runtime/error.h"

namespace theanine {

namespace {

// Loaded modules by the SHA-256 of their source, so that two module objects
// with one source (or a module asked for from several threads) load once.
struct LoadedModules {
  std::mutex mu;
  std::unordered_map<std::string, cuda::CUmodule> by_hash;
};
LoadedModules& loaded() {
  static LoadedModules* m = new LoadedModules();  // outlives static destructors
  return *m;
}

cuda::CUmodule load_module(const CudaSourceModule& m) {
  const std::string hash = sha256_hex(m.source());
  LoadedModules& l = loaded();
  std::lock_guard<std::mutex> lock(l.mu);
  auto it = l.by_hash.find(hash);
  if (it != l.by_hash.end()) return it->second;
  record_source_module_for_cuda_check(m);
  const std::string what = "module " + m.name();
  CudaImage image = compile_cuda(m.source(), what);
  cuda::CUmodule module = nullptr;
  cuda::check(cuda::driver().cuModuleLoadData(&module, image.bytes.data()),
              "cuModuleLoadData", "loading " + what);
  // Modules stay loaded for the process, as the functions taken from them.
  l.by_hash.emplace(hash, module);
  return module;
}

}  // namespace

cuda::CUfunction CudaSourceModule::function(const std::string& symbol) const {
  if (!cuda_available())
    throw Error("CUDA is not available: " + cuda_unavailable_reason());
  std::lock_guard<std::mutex> lock(mu_);
  auto it = functions_.find(symbol);
  if (it != functions_.end()) return it->second;
  if (!module_) module_ = load_module(*this);
  cuda::CUfunction fn = nullptr;
  cuda::check(cuda::driver().cuModuleGetFunction(&fn, module_, symbol.c_str()),
              "cuModuleGetFunction", "looking up " + symbol + " in module " + name_);
  functions_.emplace(symbol, fn);
  return fn;
}

void launch_cuda_source_kernel(const CudaSourceModule& module, const std::string& symbol,
                               const CudaLaunchShape& shape, void** params) {
  if (shape.grid == 0) return;
  cuda::CUfunction fn = module.function(symbol);
  cuda::launch_kernel(fn, shape.grid, shape.block, shape.shared_bytes, params, [&] {
    return symbol + " of module " + module.name() + " (" + std::to_string(shape.grid) +
           " blocks of " + std::to_string(shape.block) + ")";
  });
}

unsigned cuda_grid_for(int64_t n, unsigned block) {
  if (n <= 0) return 0;
  // Several waves of blocks on every multiprocessor; the loops stride over the rest.
  static const int64_t cap = [] {
    const int sms = cuda_available() ? cuda::device_info().multiprocessors : 0;
    return sms > 0 ? int64_t(sms) * 32 : int64_t(65535);
  }();
  return static_cast<unsigned>(std::min<int64_t>((n + block - 1) / block, cap));
}

void record_source_module_for_cuda_check(const CudaSourceModule& module) noexcept {
  record_cuda_source_for_check(module.name() + ".cu", module.source());
}

}  // namespace theanine
