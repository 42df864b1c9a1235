#pragma once
// Device implementations of graph ops for functions compiled for CUDA: one
// entry per op kind. A CUDA function runs each node through the first entry
// that matches it, else through the node's kernel IR (elementwise work and
// reductions, codegen/cuda_emit.h), else on the host (inputs copied over, the
// reference perform, outputs copied back) so that every op works on the device
// before it has a device entry. Adding a device op is adding an entry to one of
// the lists below.
#include <optional>
#include <vector>

#include "graph/variable.h"
#include "runtime/ndarray.h"

namespace theanine {

struct CudaOpEntry {
  const char* name;  // for profiles and errors
  // True when this entry runs `node` (op kind, and parameters it supports).
  bool (*matches)(const Apply& node);
  // Runs the node on device arrays (on the device, any strides). Returns the
  // outputs on the device, of the types the node declares, or nullopt to have
  // the node run on the host instead (a case the entry does not cover, found
  // from the values: a dtype, a layout). Errors for bad input name the problem
  // as the reference perform does.
  std::optional<std::vector<NDArray>> (*run)(const Apply& node,
                                             const std::vector<NDArray>& inputs);
  // True for ops that read only shapes or make views (Shape_i, DimShuffle,
  // Reshape, Alloc...): `run` then gets the inputs where they are (host or
  // device; NDArray's element access works on both) and runs whatever they
  // are, and its outputs may be host arrays (shapes).
  bool inputs_anywhere = false;
};

// GEMM/GEMV/dot through cuBLAS, allocation, views and shapes (codegen/cuda_core_ops.cc).
std::vector<CudaOpEntry> cuda_core_ops();
// Convolution, pooling, the softmax family as fused row kernels, random
// numbers, indexing and one-hot (codegen/cuda_nn_ops.cc).
std::vector<CudaOpEntry> cuda_nn_ops();

// Every entry, core first; built once.
const std::vector<CudaOpEntry>& cuda_op_table();
// The entry that runs `node`, or null.
const CudaOpEntry* find_cuda_op(const Apply& node);

}  // namespace theanine
