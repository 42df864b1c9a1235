#include "runtime/cuda_blas.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#include "runtime/cuda_driver.h"
#include "runtime/cuda_memory.h"
#include "runtime/error.h"

namespace theanine {

namespace {

std::atomic<bool> g_tf32{[] {
  const char* v = std::getenv("THEANINE_CUDA_TF32");
  return v && std::strcmp(v, "1") == 0;
}()};

// One handle for the process, bound to theanine's stream; calls are serialized
// (a handle must not be used by two threads at once).
struct Handle {
  std::mutex mu;
  cuda::cublasHandle_t h = nullptr;
  int math_mode = -1;
  std::shared_ptr<void> workspace;
};
constexpr size_t kWorkspaceBytes = size_t(32) << 20;
Handle& handle() {
  static Handle* h = new Handle();  // outlives static destructors
  return *h;
}

int checked_int(int64_t v, const char* what) {
  if (v < 0 || v > INT_MAX)
    throw ValueError(std::string("cuda_gemm: ") + what + " = " + std::to_string(v) +
                     " is outside cuBLAS's 32-bit range");
  return static_cast<int>(v);
}

}  // namespace

void set_cuda_gemm_tf32(bool on) { g_tf32 = on; }
bool cuda_gemm_tf32() { return g_tf32; }

void cuda_gemm(DType dtype, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
               double alpha, uint64_t a, int64_t lda, uint64_t b, int64_t ldb,
               double beta, uint64_t c, int64_t ldc) {
  if (dtype != DType::Float32 && dtype != DType::Float64)
    throw TypeError(std::string("cuda_gemm: cuBLAS GEMM takes float32 or float64, got ") +
                    dtype_name(dtype));
  const int M = checked_int(m, "m"), N = checked_int(n, "n"), K = checked_int(k, "k");
  const int LDA = checked_int(lda, "lda"), LDB = checked_int(ldb, "ldb"),
            LDC = checked_int(ldc, "ldc");
  // Row strides must cover a stored row: op(A) is m x k, so A as stored is
  // k x m when transposed.
  auto need = [](int64_t ld, int64_t cols, const char* name) {
    if (ld < std::max<int64_t>(1, cols))
      throw ValueError(std::string("cuda_gemm: ") + name + " = " + std::to_string(ld) +
                       " is shorter than a stored row of " + std::to_string(cols));
  };
  need(lda, trans_a ? m : k, "lda");
  need(ldb, trans_b ? k : n, "ldb");
  need(ldc, n, "ldc");
  if (m == 0 || n == 0) return;
  const cuda::CublasApi& api = cuda::cublas();
  cuda::CUstream stream = cuda::stream();
  Handle& hd = handle();
  std::lock_guard<std::mutex> lock(hd.mu);
  if (!hd.h) {
    cuda::check_cublas(api.cublasCreate(&hd.h), "cublasCreate");
    cuda::check_cublas(api.cublasSetStream(hd.h, stream), "cublasSetStream");
    if (api.cublasSetWorkspace) {
      // Owned here so that a GEMM recorded by a graph capture allocates nothing;
      // 32 MiB is what cuBLAS asks for on Hopper.
      hd.workspace = allocate_device(kWorkspaceBytes);
      cuda::check_cublas(
          api.cublasSetWorkspace(hd.h, hd.workspace.get(), kWorkspaceBytes),
          "cublasSetWorkspace");
    }
  }
  const int mode = g_tf32 ? cuda::CUBLAS_TF32_TENSOR_OP_MATH : cuda::CUBLAS_DEFAULT_MATH;
  if (mode != hd.math_mode) {
    cuda::check_cublas(api.cublasSetMathMode(hd.h, mode), "cublasSetMathMode");
    hd.math_mode = mode;
  }
  // cuBLAS is column-major: a row-major C is C^T there, and C^T = op(B)^T op(A)^T,
  // so the operands swap places and keep their transpose flags.
  const int op_a = trans_a ? cuda::CUBLAS_OP_T : cuda::CUBLAS_OP_N;
  const int op_b = trans_b ? cuda::CUBLAS_OP_T : cuda::CUBLAS_OP_N;
  cuda::count_work(cuda::Work::BlasCall);
  cuda::cublasStatus_t status;
  if (dtype == DType::Float32) {
    const float al = static_cast<float>(alpha), be = static_cast<float>(beta);
    status = api.cublasSgemm(
        hd.h, op_b, op_a, N, M, K, &al, reinterpret_cast<const float*>(b), LDB,
        reinterpret_cast<const float*>(a), LDA, &be, reinterpret_cast<float*>(c), LDC);
  } else {
    status = api.cublasDgemm(hd.h, op_b, op_a, N, M, K, &alpha,
                             reinterpret_cast<const double*>(b), LDB,
                             reinterpret_cast<const double*>(a), LDA, &beta,
                             reinterpret_cast<double*>(c), LDC);
  }
  if (status != cuda::CUBLAS_STATUS_SUCCESS)
    cuda::check_cublas(status, dtype == DType::Float32 ? "cublasSgemm" : "cublasDgemm",
                       std::to_string(m) + "x" + std::to_string(k) + " @ " +
                           std::to_string(k) + "x" + std::to_string(n));
}

}  // namespace theanine
