#pragma once
// Compiled CUDA kernels on the device: KernelSpecs are emitted
// (codegen/cuda_emit.h) a batch at a time as one module, compiled by NVRTC
// through the disk cache (codegen/cuda_nvrtc.h), loaded, and kept for the process
// keyed by their spec; launches go on the stream of runtime/cuda_driver.h.
#include <vector>

#include "codegen/kernel_ir.h"
#include "runtime/cuda_driver.h"
#include "runtime/ndarray.h"

namespace theanine {

struct CudaKernel {
  KernelSpec spec;
  std::string symbol;
  cuda::CUfunction fn = nullptr;
};

struct CudaCompileStats {
  int kernels = 0;        // distinct specs asked for
  int compiled = 0;       // of which were not yet loaded in this process
  bool disk_hit = false;  // the module came from the disk cache
  double milliseconds = 0;
};

// The loaded kernels of `specs` (one per spec, in order), compiling the missing
// ones as one module. Error when CUDA is unavailable or NVRTC fails.
std::vector<const CudaKernel*> cuda_kernels(const std::vector<KernelSpec>& specs,
                                            CudaCompileStats* stats = nullptr);

// Launches `kernel` over `nest`, whose ptrs are device addresses and whose
// layout is the kernel's (ValueError otherwise). Queued on cuda::stream();
// a size-0 nest launches nothing. With THEANINE_CUDA_SYNC set, waits for the
// kernel, so that a fault is reported as this kernel's.
void launch_cuda_kernel(const CudaKernel& kernel, const LoopNest& nest);

// For tests and the GPU check: runs `spec` on host arrays through the device.
// `operands` are in operand order over `domain` (as make_loop_nest takes them);
// the buffers behind them are copied to the device (once per buffer), the
// kernel runs, and the buffers of the outputs are copied back.
void run_cuda_kernel_on_host(const KernelSpec& spec, const std::vector<int64_t>& domain,
                             const std::vector<NDArray>& operands, uint32_t reduced_axes);

}  // namespace theanine
