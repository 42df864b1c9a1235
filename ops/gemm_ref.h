#pragma once
// The matrix-product kernels under Dot, BatchedDot and Outer, exposed so tests
// can compare the BLAS path with the reference loops on the same inputs.
#include "runtime/ndarray.h"

namespace theanine::detail {

// c = a · b for a (m, k) and b (k, n) of any strides, c (m, n) contiguous; all
// three of one dtype. Plain loops, for every dtype (bool: logical or of ands;
// integers wrap around).
void gemm_ref(const NDArray& a, const NDArray& b, NDArray& c);

// The same product through OpenBLAS (gemm, or gemv when a or b has one row or
// column) for float32/float64 when the build has it, else gemm_ref. Transposed
// contiguous inputs are passed with BLAS's transpose flags; other strided ones
// are copied. A product with a size-0 dim never reaches BLAS.
void gemm(const NDArray& a, const NDArray& b, NDArray& c);

// True when gemm() would call BLAS for this dtype.
bool gemm_has_blas(DType dtype);

}  // namespace theanine::detail
