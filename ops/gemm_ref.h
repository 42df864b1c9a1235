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

// How BLAS reads a (rows, cols) view: row-major as it is, or as the transpose
// of a row-major (cols, rows) matrix; `ld` is the leading dimension.
struct BlasOperand {
  NDArray array;  // the view, or a contiguous copy when its strides do not fit
  bool trans = false;
  int64_t ld = 1;
};

// The BlasOperand of a 2-d view x (a contiguous copy when its strides fit
// neither reading). The stride of a dim of length 1 is free.
BlasOperand blas_operand(const NDArray& x);

// True when every dim and stride of x fits BLAS's int arguments with room to
// spare (below INT_MAX / 2 in magnitude).
bool fits_int(const NDArray& x);

}  // namespace theanine::detail
