#include "codegen/cuda_launch.h"

#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "codegen/cuda_emit.h"
#include "codegen/cuda_nvrtc.h"
#include "runtime/cuda_memory.h"
#include "runtime/error.h"

namespace theanine {

namespace {

struct KernelTable {
  std::mutex mutex;
  // Node-based: pointers handed out stay valid as the table grows.
  std::unordered_map<std::string, std::unique_ptr<CudaKernel>> by_key;
};
KernelTable& table() {
  static KernelTable* t = new KernelTable();  // outlives static destructors
  return *t;
}

// Compiles and loads the specs missing from the table; the caller holds the lock.
void load_missing(const std::vector<KernelSpec>& specs, CudaCompileStats* stats) {
  KernelTable& t = table();
  std::vector<std::pair<std::string, KernelSpec>> todo;
  std::vector<std::string> keys;
  std::unordered_set<std::string> seen;
  for (const KernelSpec& s : specs) {
    std::string key = s.key();
    if (!seen.insert(key).second) continue;
    if (stats) ++stats->kernels;
    if (t.by_key.count(key)) continue;
    todo.push_back({cuda_kernel_symbol(s), s});
    keys.push_back(std::move(key));
  }
  if (todo.empty()) return;
  const std::string source = emit_cuda_module(todo);
  std::string what = todo.size() == 1 ? "kernel " + todo[0].first
                                      : std::to_string(todo.size()) + " kernels (" +
                                            todo[0].first + ", ...)";
  CudaImage image = compile_cuda(source, what);
  const cuda::DriverApi& d = cuda::driver();
  cuda::CUmodule module = nullptr;
  cuda::check(d.cuModuleLoadData(&module, image.bytes.data()), "cuModuleLoadData",
              "loading " + what);
  // Modules stay loaded for the process, as the kernels they hold.
  for (size_t i = 0; i < todo.size(); ++i) {
    auto k = std::make_unique<CudaKernel>();
    k->spec = todo[i].second;
    k->symbol = todo[i].first;
    cuda::check(d.cuModuleGetFunction(&k->fn, module, k->symbol.c_str()),
                "cuModuleGetFunction", "looking up " + k->symbol);
    t.by_key[keys[i]] = std::move(k);
  }
  if (stats) {
    stats->compiled += static_cast<int>(todo.size());
    stats->disk_hit = stats->disk_hit || image.disk_hit;
  }
}

}  // namespace

std::vector<const CudaKernel*> cuda_kernels(const std::vector<KernelSpec>& specs,
                                            CudaCompileStats* stats) {
  if (!cuda_available())
    throw Error("CUDA is not available: " + cuda_unavailable_reason());
  auto t0 = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(table().mutex);
  load_missing(specs, stats);
  std::vector<const CudaKernel*> out;
  for (const KernelSpec& s : specs) out.push_back(table().by_key.at(s.key()).get());
  if (stats)
    stats->milliseconds +=
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
            .count();
  return out;
}

void launch_cuda_kernel(const CudaKernel& kernel, const LoopNest& nest) {
  if (nest.size() == 0) return;
  std::vector<uint64_t> ptrs;
  for (void* p : nest.ptrs) ptrs.push_back(reinterpret_cast<uint64_t>(p));
  std::vector<uint64_t> words = cuda_kernel_params(kernel.spec, nest, ptrs);
  const cuda::DeviceInfo& dev = cuda::device_info();
  CudaLaunchDims dims = cuda_launch_dims(kernel.spec, nest.shape, dev.multiprocessors);
  void* params[] = {words.data()};
  cuda::launch_kernel(kernel.fn, dims.grid, dims.block, 0, params, [&kernel] {
    return kernel.symbol + " (" + kernel.spec.key() + ")";
  });
}

void run_cuda_kernel_on_host(const KernelSpec& spec, const std::vector<int64_t>& domain,
                             const std::vector<NDArray>& operands,
                             uint32_t reduced_axes) {
  const int nin = spec.ir.num_inputs();
  LoopNest nest = make_loop_nest(domain, operands, reduced_axes, nin);
  if (!(nest.layout == spec.layout))
    throw ValueError("run_cuda_kernel_on_host: the arrays give layout " +
                     nest.layout.key() + ", the kernel was built for " +
                     spec.layout.key());
  const CudaKernel* kernel = cuda_kernels({spec}).at(0);
  // One device block per distinct host buffer, the same offsets inside it.
  std::map<const void*, std::shared_ptr<void>> blocks;
  for (const NDArray& a : operands) {
    const Buffer& b = *a.buffer();
    if (blocks.count(b.data)) continue;
    std::shared_ptr<void> block = allocate_device(b.nbytes);
    cuda::copy_to_device(device_address(block), b.data, b.nbytes);
    blocks[b.data] = block;
  }
  for (size_t k = 0; k < operands.size(); ++k) {
    const Buffer& b = *operands[k].buffer();
    const char* host = static_cast<const char*>(nest.ptrs[k]);
    nest.ptrs[k] = reinterpret_cast<void*>(device_address(blocks.at(b.data)) +
                                           (host - static_cast<const char*>(b.data)));
  }
  launch_cuda_kernel(*kernel, nest);
  std::unordered_set<const void*> copied;
  for (size_t k = nin; k < operands.size(); ++k) {
    const Buffer& b = *operands[k].buffer();
    if (!copied.insert(b.data).second) continue;
    cuda::copy_to_host(b.data, device_address(blocks.at(b.data)), b.nbytes);
  }
  cuda::synchronize();
}

}  // namespace theanine
