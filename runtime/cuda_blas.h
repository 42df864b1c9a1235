#pragma once
// GEMM on the device through cuBLAS (loaded at run time, runtime/cuda_driver.h),
// on theanine's stream, with NumPy's row-major layout:
//   C (m x n) = alpha * op(A) @ op(B) + beta * C,  op(X) = X or X^T
// where A is m x k after op, B is k x n after op, and lda/ldb/ldc are the row
// strides (in elements) of the arrays as stored. Float32 is computed exactly in
// float32 unless TF32 is turned on (set_cuda_gemm_tf32), which rounds the inputs
// to 10-bit mantissas for the tensor cores.
#include <cstdint>

#include "runtime/dtype.h"

namespace theanine {

void cuda_gemm(DType dtype, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
               double alpha, uint64_t a, int64_t lda, uint64_t b, int64_t ldb,
               double beta, uint64_t c, int64_t ldc);

// TF32 tensor-core math for float32 GEMMs: off by default (exact float32),
// THEANINE_CUDA_TF32=1 turns it on at start.
void set_cuda_gemm_tf32(bool on);
bool cuda_gemm_tf32();

}  // namespace theanine
