// The matrix-product kernels: reference loops, and OpenBLAS when the build has it.
#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "ops/gemm_ref.h"
#include "runtime/error.h"

#ifdef THEANINE_HAVE_BLAS
#include <cblas.h>

#include "runtime/thread_pool.h"
#endif

namespace theanine::detail {

#ifdef THEANINE_HAVE_BLAS
// OpenBLAS follows the kernel pool's thread count (runtime/thread_pool.h).
[[maybe_unused]] const bool blas_follows_pool = [] {
  add_thread_count_listener([](int n) { openblas_set_num_threads(n); });
  return true;
}();
#endif

namespace {

void check_gemm_args(const NDArray& a, const NDArray& b, const NDArray& c) {
  if (a.ndim() != 2 || b.ndim() != 2 || c.ndim() != 2 || a.shape(1) != b.shape(0) ||
      c.shape(0) != a.shape(0) || c.shape(1) != b.shape(1) || !c.is_contiguous() ||
      a.dtype() != c.dtype() || b.dtype() != c.dtype())
    throw ValueError("gemm: bad operands a " + a.str() + ", b " + b.str() + ", c " +
                     c.str());
}

// Products accumulate in double for floats and wrap around modulo 2^64 for
// integers (then truncate like NumPy's fixed-width integer arithmetic); for bool
// they are a logical or of ands.
template <class T>
void gemm_ref_typed(const NDArray& a, const NDArray& b, NDArray& c) {
  const int64_t m = a.shape(0), k = a.shape(1), n = b.shape(1);
  const int64_t as0 = a.strides()[0], as1 = a.strides()[1];
  const int64_t bs0 = b.strides()[0], bs1 = b.strides()[1];
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  T* pc = c.data<T>();
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      const T* ra = pa + i * as0;
      const T* cb = pb + j * bs1;
      if constexpr (std::is_same_v<T, bool>) {
        bool acc = false;
        for (int64_t p = 0; p < k && !acc; ++p) acc = ra[p * as1] && cb[p * bs0];
        pc[i * n + j] = acc;
      } else if constexpr (std::is_floating_point_v<T>) {
        double acc = 0;
        for (int64_t p = 0; p < k; ++p)
          acc += static_cast<double>(ra[p * as1]) * static_cast<double>(cb[p * bs0]);
        pc[i * n + j] = static_cast<T>(acc);
      } else {
        uint64_t acc = 0;
        for (int64_t p = 0; p < k; ++p)
          acc += static_cast<uint64_t>(static_cast<int64_t>(ra[p * as1])) *
                 static_cast<uint64_t>(static_cast<int64_t>(cb[p * bs0]));
        pc[i * n + j] = static_cast<T>(static_cast<int64_t>(acc));
      }
    }
  }
}

#ifdef THEANINE_HAVE_BLAS

// The increment BLAS may step a vector with (a positive one: BLAS reads a
// negative increment from the other end); 0 when the vector must be copied.
int64_t blas_inc(int64_t len, int64_t stride) {
  if (len <= 1) return 1;
  return stride > 0 ? stride : 0;
}

template <class T>
void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, const T* a,
               int lda, const T* b, int ldb, T* c, int ldc) {
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
  else
    cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, 1.0, a, lda, b, ldb, 0.0, c, ldc);
}

template <class T>
void blas_gemv(CBLAS_TRANSPOSE t, int rows, int cols, const T* a, int lda, const T* x,
               int incx, T* y) {
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemv(CblasRowMajor, t, rows, cols, 1.0f, a, lda, x, incx, 0.0f, y, 1);
  else
    cblas_dgemv(CblasRowMajor, t, rows, cols, 1.0, a, lda, x, incx, 0.0, y, 1);
}

template <class T>
void gemm_blas_typed(const NDArray& a_in, const NDArray& b_in, NDArray& c) {
  const int64_t m = a_in.shape(0), k = a_in.shape(1), n = b_in.shape(1);
  T* pc = c.data<T>();
  if (n == 1) {
    // c[:, 0] = a · b[:, 0]
    BlasOperand a = blas_operand(a_in);
    NDArray x = b_in;
    int64_t inc = blas_inc(k, x.strides()[0]);
    if (inc == 0) x = x.copy(), inc = 1;
    if (a.trans)
      blas_gemv<T>(CblasTrans, k, m, a.array.data<T>(), a.ld, x.data<T>(), inc, pc);
    else
      blas_gemv<T>(CblasNoTrans, m, k, a.array.data<T>(), a.ld, x.data<T>(), inc, pc);
    return;
  }
  if (m == 1) {
    // c[0, :] = b^T · a[0, :]
    BlasOperand b = blas_operand(b_in);
    NDArray x = a_in;
    int64_t inc = blas_inc(k, x.strides()[1]);
    if (inc == 0) x = x.copy(), inc = 1;
    if (b.trans)
      blas_gemv<T>(CblasNoTrans, n, k, b.array.data<T>(), b.ld, x.data<T>(), inc, pc);
    else
      blas_gemv<T>(CblasTrans, k, n, b.array.data<T>(), b.ld, x.data<T>(), inc, pc);
    return;
  }
  BlasOperand a = blas_operand(a_in), b = blas_operand(b_in);
  blas_gemm<T>(a.trans ? CblasTrans : CblasNoTrans, b.trans ? CblasTrans : CblasNoTrans,
               m, n, k, a.array.data<T>(), a.ld, b.array.data<T>(), b.ld, pc, n);
}

#endif  // THEANINE_HAVE_BLAS

}  // namespace

BlasOperand blas_operand(const NDArray& x) {
  const int64_t rows = x.shape(0), cols = x.shape(1);
  const int64_t s0 = x.strides()[0], s1 = x.strides()[1];
  // The stride of a dim of length 1 never moves the pointer, so it is free.
  if ((cols <= 1 || s1 == 1) && (rows <= 1 || s0 >= std::max<int64_t>(cols, 1)))
    return {x, false, rows <= 1 ? std::max<int64_t>(cols, 1) : s0};
  if ((rows <= 1 || s0 == 1) && (cols <= 1 || s1 >= std::max<int64_t>(rows, 1)))
    return {x, true, cols <= 1 ? std::max<int64_t>(rows, 1) : s1};
  return {x.copy(), false, std::max<int64_t>(cols, 1)};
}

bool fits_int(const NDArray& x) {
  for (int64_t d : x.shape())
    if (d > INT_MAX / 2) return false;
  for (int64_t s : x.strides())
    if (s > INT_MAX / 2 || s < -(INT_MAX / 2)) return false;
  return true;
}

void gemm_ref(const NDArray& a, const NDArray& b, NDArray& c) {
  check_gemm_args(a, b, c);
  dispatch_dtype(c.dtype(), [&](auto t) { gemm_ref_typed<decltype(t)>(a, b, c); });
}

bool gemm_has_blas(DType dtype) {
#ifdef THEANINE_HAVE_BLAS
  return is_float(dtype);
#else
  return false;
#endif
}

void gemm(const NDArray& a, const NDArray& b, NDArray& c) {
  check_gemm_args(a, b, c);
  if (c.size() == 0) return;
  if (a.shape(1) == 0) {
    // An empty sum: zeros, without asking BLAS about zero-sized operands.
    std::memset(c.raw(), 0, c.nbytes());
    return;
  }
#ifdef THEANINE_HAVE_BLAS
  if (gemm_has_blas(c.dtype()) && fits_int(a) && fits_int(b) && fits_int(c)) {
    // BLAS with beta = 0 is meant to ignore c, but some kernels scale it by zero,
    // which keeps NaN from uninitialized memory; start from zeros.
    std::memset(c.raw(), 0, c.nbytes());
    if (c.dtype() == DType::Float32)
      gemm_blas_typed<float>(a, b, c);
    else
      gemm_blas_typed<double>(a, b, c);
    return;
  }
#endif
  gemm_ref(a, b, c);
}

}  // namespace theanine::detail
