#pragma once
// How a node of a function compiled for CUDA runs (codegen/function.cc builds
// the instructions). Arrays in the slots live on the device or on the host: a
// node whose inputs include a device array runs on the device — through its
// entry in the op table (codegen/cuda_op_table.h), else its kernel IR emitted
// as CUDA C (codegen/cuda_emit.h), else on the host with the device inputs
// copied over (the reference perform, outputs left on the host for whoever
// reads them next). Nodes over host arrays only (shape arithmetic) run on the
// host. Every device step is queued on the one stream (runtime/cuda_driver.h);
// nothing waits until a result is copied back.
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "codegen/kernel_lowering.h"
#include "codegen/llvm_backend.h"
#include "graph/variable.h"

namespace theanine {

// The device target of run_kernels_on: device arrays, CUDA launches of the
// kernels (compiled on first use of a layout), means and casts as kernels.
// Registers the device copy kernel with runtime/cuda_array.h on first use.
const KernelTarget& cuda_kernel_target();

// Compiles the kernels of `specs` as one NVRTC module (through the disk
// cache) ahead of the first call, adding what it took to `stats`.
void prepare_cuda_kernels(const std::vector<KernelSpec>& specs,
                          KernelCompileStats* stats);

// The body of one node's instruction: inputs as the slots hold them; `offered`
// as for run_kernels (device arrays the outputs may overwrite).
using CudaNodeRunner = std::function<std::vector<NDArray>(
    const std::vector<NDArray>& inputs, const std::vector<NDArray>& offered)>;
CudaNodeRunner cuda_node_runner(std::shared_ptr<Apply> node,
                                std::optional<std::vector<KernelStep>> kernel);

}  // namespace theanine
