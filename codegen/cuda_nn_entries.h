#pragma once
// The device op entries of each codegen/cuda_nn_*.cc file, which
// cuda_nn_ops() (codegen/cuda_nn_ops.cc) lists, and the CUDA C modules they
// launch, for the NVRTC check of every module.
#include <cstdint>
#include <vector>

#include "codegen/cuda_op_table.h"
#include "codegen/cuda_source_kernels.h"

namespace theanine::cuda_nn {

// Conv2d, Conv2dGradInputs, Conv2dGradWeights: im2col/col2im + cuBLAS GEMM.
std::vector<CudaOpEntry> conv_entries();
std::vector<const CudaSourceModule*> conv_modules();
// Caps a chunk's patch matrix at `elements` (0: the default, 2^25), so that
// tests can cut a small batch into several chunks.
void set_conv_chunk_elements(int64_t elements);

// Pool, MaxPoolGrad, MaxPoolGradGrad, AveragePoolGrad.
std::vector<CudaOpEntry> pool_entries();
std::vector<const CudaSourceModule*> pool_modules();

// SoftmaxOp, SoftmaxGradOp, CrossentropySoftmaxOp, CrossentropySoftmaxGradOp.
std::vector<CudaOpEntry> softmax_entries();
std::vector<const CudaSourceModule*> softmax_modules();

// RandomOp: uniform, normal, truncated normal, binomial, integers.
std::vector<CudaOpEntry> random_entries();
std::vector<const CudaSourceModule*> random_modules();

// AdvancedSubtensorOp and IncSubtensorOp (inc) with leading index arrays, OneHot.
std::vector<CudaOpEntry> index_entries();
std::vector<const CudaSourceModule*> index_modules();

// Every module above and the copy kernel's (codegen/cuda_nn_common.h).
std::vector<const CudaSourceModule*> all_modules();

}  // namespace theanine::cuda_nn
