#pragma once
// Hand-written CUDA C kernels (the device ops of codegen/cuda_nn_ops.cc), as
// opposed to the kernels emitted from kernel IR (codegen/cuda_launch.h). A
// module is a complete translation unit with a name; its functions are found
// by symbol. Each distinct source is compiled once per process through NVRTC
// and the disk cache (codegen/cuda_nvrtc.h) and loaded once, when a function
// of it is first asked for. Launches go on cuda::stream() with the status
// checked; errors name the module and the kernel.
//
// When THEANINE_CUDA_CHECK_DIR is set, a module's source is written there as
// <name>.cu the first time it is used (or recorded), so that CI's NVRTC pass
// (tests/cpp_tools/nvrtc_check.cc) compiles it with the emitted kernels.
#include <mutex>
#include <string>
#include <unordered_map>

#include "runtime/cuda_driver.h"

namespace theanine {

class CudaSourceModule {
 public:
  // `name` is a file name stem ("nn_softmax"): unique among modules.
  CudaSourceModule(std::string name, std::string source)
      : name_(std::move(name)), source_(std::move(source)) {}
  CudaSourceModule(const CudaSourceModule&) = delete;
  CudaSourceModule& operator=(const CudaSourceModule&) = delete;

  const std::string& name() const { return name_; }
  const std::string& source() const { return source_; }

  // The loaded function `symbol`: compiles and loads the module on first use.
  // Error when CUDA is unavailable, NVRTC fails (its log names the module) or
  // the module has no such function.
  cuda::CUfunction function(const std::string& symbol) const;

 private:
  std::string name_, source_;
  mutable std::mutex mu_;
  mutable cuda::CUmodule module_ = nullptr;
  mutable std::unordered_map<std::string, cuda::CUfunction> functions_;
};

// A 1-d launch: `grid` blocks of `block` threads and `shared_bytes` of
// dynamic shared memory. A grid of 0 launches nothing.
struct CudaLaunchShape {
  unsigned grid = 1;
  unsigned block = 128;
  unsigned shared_bytes = 0;
};

// Queues `symbol` of `module` on cuda::stream(); `params` points at each
// argument (cuLaunchKernel's convention). With THEANINE_CUDA_SYNC set, waits
// for the kernel so that a fault is reported as this kernel's.
void launch_cuda_source_kernel(const CudaSourceModule& module, const std::string& symbol,
                               const CudaLaunchShape& shape, void** params);

// The same with the arguments by value; each must have the type (and so the
// size and alignment) of the kernel's parameter.
template <class... Args>
void launch_cuda_source(const CudaSourceModule& module, const std::string& symbol,
                        const CudaLaunchShape& shape, const Args&... args) {
  void* params[] = {const_cast<void*>(static_cast<const void*>(&args))..., nullptr};
  launch_cuda_source_kernel(module, symbol, shape, params);
}

// Blocks of `block` threads for `n` threads' worth of work in a grid-stride
// loop: enough to fill the device several times, never more than needed.
unsigned cuda_grid_for(int64_t n, unsigned block);

// Writes the module's source to $THEANINE_CUDA_CHECK_DIR/<name>.cu when the
// variable is set (once per process and module). Never throws: I/O errors
// warn once on stderr.
void record_source_module_for_cuda_check(const CudaSourceModule& module) noexcept;

}  // namespace theanine
