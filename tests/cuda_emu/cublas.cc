// cuBLAS: GEMM (plain and strided batched) and GEMV in float and double, column
// major as cuBLAS defines them, with plain loops accumulating in double: the
// point is an independent, obviously right result, not speed. The work goes on
// the handle's stream (so a capture records it); alpha and beta are read when
// the call is made (host pointer mode). Under CUBLAS_TF32_TENSOR_OP_MATH the
// float inputs are rounded to TF32 (10 mantissa bits) first, as tensor cores do.
// A matrix or vector reaching outside the device block it starts in fails the
// call with CUBLAS_STATUS_EXECUTION_FAILED (a real GPU would fault).
#include <bit>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "tests/cuda_emu/emu.h"

struct cublasContext {
  theanine::cuda_emu::CUstream stream = nullptr;
  int math_mode = 0;
  size_t workspace_bytes = 0;
};

namespace theanine::cuda_emu {

namespace {

using cublasStatus_t = int;
using cublasHandle_t = cublasContext*;

enum : cublasStatus_t {
  kBlasSuccess = 0,
  kBlasNotInitialized = 1,
  kBlasInvalidValue = 7,
  kBlasExecutionFailed = 13,
};

constexpr int kOpN = 0, kOpT = 1, kOpC = 2;
constexpr int kTf32Math = 3;

std::mutex g_handles_mu;
std::set<cublasHandle_t>& handles() {
  static auto* h = new std::set<cublasHandle_t>();
  return *h;
}

bool valid(cublasHandle_t h) {
  std::lock_guard<std::mutex> lock(g_handles_mu);
  return handles().count(h) > 0;
}

float tf32(float v) {
  uint32_t b = std::bit_cast<uint32_t>(v);
  if ((b & 0x7f800000u) == 0x7f800000u) return v;  // inf, NaN
  b += 0xfffu + ((b >> 13) & 1);                   // round to nearest even at bit 13
  return std::bit_cast<float>(b & ~0x1fffu);
}

// An m x n column-major matrix with leading dimension ld, or a vector of n
// elements `inc` apart, lies in one device block.
bool matrix_on_device(const void* p, int64_t rows, int64_t cols, int64_t ld,
                      size_t elem) {
  if (rows == 0 || cols == 0) return true;
  const uint64_t last = uint64_t((cols - 1) * ld + rows) * elem;
  return is_device_range(reinterpret_cast<uint64_t>(p), last);
}
bool vector_on_device(const void* p, int64_t n, int64_t inc, size_t elem) {
  if (n == 0) return true;
  const int64_t step = inc < 0 ? -inc : inc;
  return is_device_range(reinterpret_cast<uint64_t>(p),
                         uint64_t((n - 1) * step + 1) * elem);
}

cublasStatus_t out_of_bounds(const char* call) {
  std::fprintf(stderr,
               "theanine CUDA emulator: %s reads or writes outside device memory "
               "(a GPU would fault)\n",
               call);
  return kBlasExecutionFailed;
}

// Runs `work` on the handle's stream; its failure is a cuBLAS execution failure.
cublasStatus_t enqueue(cublasHandle_t h, std::function<void()> work) {
  const CUresult r = submit(h->stream, [work = std::move(work)] {
    work();
    return CUresult(kSuccess);
  });
  return r == kSuccess ? kBlasSuccess : kBlasExecutionFailed;
}

template <class T>
struct Gemm {
  bool ta, tb;
  int m, n, k;
  T alpha, beta;
  const T* a;
  int lda;
  const T* b;
  int ldb;
  T* c;
  int ldc;
  bool round_tf32;

  T load(const T* p) const {
    if constexpr (std::is_same_v<T, float>)
      return round_tf32 ? tf32(*p) : *p;
    else
      return *p;
  }
  T at_a(int i, int p) const {
    return load(ta ? a + p + int64_t(i) * lda : a + i + int64_t(p) * lda);
  }
  T at_b(int p, int j) const {
    return load(tb ? b + j + int64_t(p) * ldb : b + p + int64_t(j) * ldb);
  }

  void operator()() const {
    std::vector<double> acc(m);
    for (int j = 0; j < n; ++j) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int p = 0; p < k; ++p) {
        const double bv = at_b(p, j);
        for (int i = 0; i < m; ++i) acc[i] += double(at_a(i, p)) * bv;
      }
      T* col = c + int64_t(j) * ldc;
      for (int i = 0; i < m; ++i)  // beta == 0: C is not read (it may hold NaN)
        col[i] = beta == T(0) ? T(double(alpha) * acc[i])
                              : T(double(alpha) * acc[i] + double(beta) * double(col[i]));
    }
  }
};

template <class T>
cublasStatus_t gemm(const char* call, cublasHandle_t h, int opa, int opb, int m, int n,
                    int k, const T* alpha, const T* a, int lda, long long stride_a,
                    const T* b, int ldb, long long stride_b, const T* beta, T* c, int ldc,
                    long long stride_c, int batch) {
  if (!valid(h)) return kBlasNotInitialized;
  const bool ta = opa != kOpN, tb = opb != kOpN;
  if ((opa != kOpN && opa != kOpT && opa != kOpC) ||
      (opb != kOpN && opb != kOpT && opb != kOpC))
    return kBlasInvalidValue;
  if (m < 0 || n < 0 || k < 0 || batch < 0 || !alpha || !beta) return kBlasInvalidValue;
  if (lda < std::max(1, ta ? k : m) || ldb < std::max(1, tb ? n : k) ||
      ldc < std::max(1, m))
    return kBlasInvalidValue;
  if (m == 0 || n == 0 || batch == 0) return kBlasSuccess;
  for (int i = 0; i < batch; ++i) {
    const bool ok =
        (k == 0 ||
         (matrix_on_device(a + i * stride_a, ta ? k : m, ta ? m : k, lda, sizeof(T)) &&
          matrix_on_device(b + i * stride_b, tb ? n : k, tb ? k : n, ldb, sizeof(T)))) &&
        matrix_on_device(c + i * stride_c, m, n, ldc, sizeof(T));
    if (!ok) return out_of_bounds(call);
  }
  const bool round = std::is_same_v<T, float> && (h->math_mode & 0xf) == kTf32Math;
  const T al = *alpha, be = *beta;
  return enqueue(h, [=] {
    for (int i = 0; i < batch; ++i)
      Gemm<T>{ta,  tb,
              m,   n,
              k,   al,
              be,  a + i * stride_a,
              lda, b + i * stride_b,
              ldb, c + i * stride_c,
              ldc, round}();
  });
}

template <class T>
cublasStatus_t gemv(const char* call, cublasHandle_t h, int op, int m, int n,
                    const T* alpha, const T* a, int lda, const T* x, int incx,
                    const T* beta, T* y, int incy) {
  if (!valid(h)) return kBlasNotInitialized;
  if ((op != kOpN && op != kOpT && op != kOpC) || m < 0 || n < 0 ||
      lda < std::max(1, m) || incx == 0 || incy == 0 || !alpha || !beta)
    return kBlasInvalidValue;
  if (m == 0 || n == 0) return kBlasSuccess;
  const bool t = op != kOpN;
  const int xs = t ? m : n, ys = t ? n : m;
  if (!matrix_on_device(a, m, n, lda, sizeof(T)) ||
      !vector_on_device(x, xs, incx, sizeof(T)) ||
      !vector_on_device(y, ys, incy, sizeof(T)))
    return out_of_bounds(call);
  const T al = *alpha, be = *beta;
  return enqueue(h, [=] {
    // BLAS order: a negative increment walks the vector from its far end.
    auto xi = [&](int i) {
      return x[int64_t(incx > 0 ? i : xs - 1 - i) * (incx > 0 ? incx : -incx)];
    };
    auto yi = [&](int i) -> T& {
      return y[int64_t(incy > 0 ? i : ys - 1 - i) * (incy > 0 ? incy : -incy)];
    };
    for (int i = 0; i < ys; ++i) {
      double acc = 0;
      for (int p = 0; p < xs; ++p)
        acc +=
            double(t ? a[p + int64_t(i) * lda] : a[i + int64_t(p) * lda]) * double(xi(p));
      T& out = yi(i);
      out = be == T(0) ? T(double(al) * acc)
                       : T(double(al) * acc + double(be) * double(out));
    }
  });
}

}  // namespace

TH_EMU_EXPORT cublasStatus_t cublasCreate_v2(cublasHandle_t* handle) {
  if (!handle) return kBlasInvalidValue;
  if (require_context() != kSuccess) return kBlasNotInitialized;
  auto* h = new cublasContext;
  std::lock_guard<std::mutex> lock(g_handles_mu);
  handles().insert(h);
  *handle = h;
  return kBlasSuccess;
}

TH_EMU_EXPORT cublasStatus_t cublasDestroy_v2(cublasHandle_t handle) {
  std::lock_guard<std::mutex> lock(g_handles_mu);
  if (!handles().erase(handle)) return kBlasNotInitialized;
  delete handle;
  return kBlasSuccess;
}

TH_EMU_EXPORT cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, CUstream stream) {
  if (!valid(handle)) return kBlasNotInitialized;
  handle->stream = stream;
  return kBlasSuccess;
}

// The emulated GEMMs need no workspace; the call is checked as cuBLAS checks it.
TH_EMU_EXPORT cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t handle, void* workspace,
                                                   size_t bytes) {
  if (!valid(handle)) return kBlasNotInitialized;
  if (bytes > 0 && !workspace) return kBlasInvalidValue;
  handle->workspace_bytes = bytes;
  return kBlasSuccess;
}

TH_EMU_EXPORT cublasStatus_t cublasGetStream_v2(cublasHandle_t handle, CUstream* stream) {
  if (!valid(handle)) return kBlasNotInitialized;
  if (!stream) return kBlasInvalidValue;
  *stream = handle->stream;
  return kBlasSuccess;
}

TH_EMU_EXPORT cublasStatus_t cublasSetMathMode(cublasHandle_t handle, int mode) {
  if (!valid(handle)) return kBlasNotInitialized;
  if ((mode & 0xf) > kTf32Math || (mode & ~0x1f)) return kBlasInvalidValue;
  handle->math_mode = mode;
  return kBlasSuccess;
}

TH_EMU_EXPORT cublasStatus_t cublasGetMathMode(cublasHandle_t handle, int* mode) {
  if (!valid(handle)) return kBlasNotInitialized;
  if (!mode) return kBlasInvalidValue;
  *mode = handle->math_mode;
  return kBlasSuccess;
}

TH_EMU_EXPORT const char* cublasGetStatusName(cublasStatus_t s) {
  switch (s) {
    case 0:
      return "CUBLAS_STATUS_SUCCESS";
    case 1:
      return "CUBLAS_STATUS_NOT_INITIALIZED";
    case 3:
      return "CUBLAS_STATUS_ALLOC_FAILED";
    case 7:
      return "CUBLAS_STATUS_INVALID_VALUE";
    case 8:
      return "CUBLAS_STATUS_ARCH_MISMATCH";
    case 11:
      return "CUBLAS_STATUS_MAPPING_ERROR";
    case 13:
      return "CUBLAS_STATUS_EXECUTION_FAILED";
    case 14:
      return "CUBLAS_STATUS_INTERNAL_ERROR";
    case 15:
      return "CUBLAS_STATUS_NOT_SUPPORTED";
    default:
      return "CUBLAS_STATUS_UNKNOWN";
  }
}

TH_EMU_EXPORT const char* cublasGetStatusString(cublasStatus_t s) {
  switch (s) {
    case 0:
      return "the operation completed successfully";
    case 1:
      return "the library was not initialized";
    case 3:
      return "the resource allocation failed";
    case 7:
      return "an invalid numeric value was used as an argument";
    case 13:
      return "the GPU program failed to execute";
    case 14:
      return "an internal operation failed";
    case 15:
      return "the functionality requested is not supported";
    default:
      return "unknown error";
  }
}

TH_EMU_EXPORT cublasStatus_t cublasSgemm_v2(cublasHandle_t h, int opa, int opb, int m,
                                            int n, int k, const float* alpha,
                                            const float* a, int lda, const float* b,
                                            int ldb, const float* beta, float* c,
                                            int ldc) {
  return gemm("cublasSgemm", h, opa, opb, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c,
              ldc, 0, 1);
}

TH_EMU_EXPORT cublasStatus_t cublasDgemm_v2(cublasHandle_t h, int opa, int opb, int m,
                                            int n, int k, const double* alpha,
                                            const double* a, int lda, const double* b,
                                            int ldb, const double* beta, double* c,
                                            int ldc) {
  return gemm("cublasDgemm", h, opa, opb, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c,
              ldc, 0, 1);
}

TH_EMU_EXPORT cublasStatus_t
cublasSgemmStridedBatched(cublasHandle_t h, int opa, int opb, int m, int n, int k,
                          const float* alpha, const float* a, int lda, long long stride_a,
                          const float* b, int ldb, long long stride_b, const float* beta,
                          float* c, int ldc, long long stride_c, int batch) {
  return gemm("cublasSgemmStridedBatched", h, opa, opb, m, n, k, alpha, a, lda, stride_a,
              b, ldb, stride_b, beta, c, ldc, stride_c, batch);
}

TH_EMU_EXPORT cublasStatus_t cublasDgemmStridedBatched(
    cublasHandle_t h, int opa, int opb, int m, int n, int k, const double* alpha,
    const double* a, int lda, long long stride_a, const double* b, int ldb,
    long long stride_b, const double* beta, double* c, int ldc, long long stride_c,
    int batch) {
  return gemm("cublasDgemmStridedBatched", h, opa, opb, m, n, k, alpha, a, lda, stride_a,
              b, ldb, stride_b, beta, c, ldc, stride_c, batch);
}

TH_EMU_EXPORT cublasStatus_t cublasSgemv_v2(cublasHandle_t h, int op, int m, int n,
                                            const float* alpha, const float* a, int lda,
                                            const float* x, int incx, const float* beta,
                                            float* y, int incy) {
  return gemv("cublasSgemv", h, op, m, n, alpha, a, lda, x, incx, beta, y, incy);
}

TH_EMU_EXPORT cublasStatus_t cublasDgemv_v2(cublasHandle_t h, int op, int m, int n,
                                            const double* alpha, const double* a, int lda,
                                            const double* x, int incx, const double* beta,
                                            double* y, int incy) {
  return gemv("cublasDgemv", h, op, m, n, alpha, a, lda, x, incx, beta, y, incy);
}

}  // namespace theanine::cuda_emu
