// The softmax family on the device as fused row kernels: each row's maximum,
// sum of exponentials and normalized output in one kernel, the row held in
// registers where it fits (a warp per row up to 256 elements, a block per row
// up to 8 values a thread), so that the input is read from global memory once.
// Softmax along an axis that is not the last runs a thread per lane, the
// threads of a warp on neighbouring lanes (coalesced). Float32 computes in
// float32 (the reference computes in double and rounds: the two agree to a few
// ulp).
#include <algorithm>
#include <memory>

#include "codegen/cuda_nn_common.h"
#include "codegen/cuda_nn_entries.h"
#include "ops/nnet.h"
#include "runtime/cuda_array.h"
#include "runtime/cuda_driver.h"
#include "runtime/error.h"

namespace theanine::cuda_nn {

namespace {

const char* kSoftmax = R"(
#ifndef THEANINE_NN_SOFTMAX
#define THEANINE_NN_SOFTMAX
#define TH_NN_VALUES 8  // row elements a thread keeps in registers

// ---- softmax and log-softmax ------------------------------------------------

template <class T, bool LOG>
__device__ __forceinline__ void th_nn_softmax_warp(const T* x, T* y, th_i64 rows, int n) {
  const int lane = threadIdx.x & 31;
  const th_i64 first = ((th_i64)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  const th_i64 step = ((th_i64)gridDim.x * blockDim.x) >> 5;
  for (th_i64 r = first; r < rows; r += step) {
    const T* p = x + r * n;
    T* q = y + r * n;
    T v[TH_NN_VALUES];
    T m = th_nn_neg_inf<T>();
#pragma unroll
    for (int k = 0; k < TH_NN_VALUES; ++k) {
      const int j = lane + 32 * k;
      v[k] = j < n ? p[j] : th_nn_neg_inf<T>();
      m = th_nn_nan_max(m, v[k]);
    }
    m = th_nn_warp_max(m);
    T s = T(0);
#pragma unroll
    for (int k = 0; k < TH_NN_VALUES; ++k) {
      if (lane + 32 * k < n) {
        const T e = th_nn_exp(v[k] - m);
        s += e;
        if (!LOG) v[k] = e;
      }
    }
    s = th_nn_warp_sum(s);
    const T ls = LOG ? th_nn_log(s) : T(0);
#pragma unroll
    for (int k = 0; k < TH_NN_VALUES; ++k) {
      const int j = lane + 32 * k;
      if (j < n) q[j] = LOG ? (v[k] - m) - ls : v[k] / s;
    }
  }
}

template <class T, bool LOG>
__device__ __forceinline__ void th_nn_softmax_block(const T* x, T* y, th_i64 rows, int n) {
  __shared__ T scratch[32];
  const int t = threadIdx.x, b = blockDim.x;
  const bool cached = n <= TH_NN_VALUES * b;
  for (th_i64 r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* p = x + r * n;
    T* q = y + r * n;
    T v[TH_NN_VALUES];
    T m = th_nn_neg_inf<T>();
    if (cached) {
#pragma unroll
      for (int k = 0; k < TH_NN_VALUES; ++k) {
        const int j = t + b * k;
        v[k] = j < n ? p[j] : th_nn_neg_inf<T>();
        m = th_nn_nan_max(m, v[k]);
      }
    } else {
      for (int j = t; j < n; j += b) m = th_nn_nan_max(m, p[j]);
    }
    m = th_nn_block_max(m, scratch);
    T s = T(0);
    if (cached) {
#pragma unroll
      for (int k = 0; k < TH_NN_VALUES; ++k) {
        if (t + b * k < n) {
          const T e = th_nn_exp(v[k] - m);
          s += e;
          if (!LOG) v[k] = e;
        }
      }
    } else {
      for (int j = t; j < n; j += b) s += th_nn_exp(p[j] - m);
    }
    s = th_nn_block_sum(s, scratch);
    const T ls = LOG ? th_nn_log(s) : T(0);
    if (cached) {
#pragma unroll
      for (int k = 0; k < TH_NN_VALUES; ++k) {
        const int j = t + b * k;
        if (j < n) q[j] = LOG ? (v[k] - m) - ls : v[k] / s;
      }
    } else {
      for (int j = t; j < n; j += b)
        q[j] = LOG ? (p[j] - m) - ls : th_nn_exp(p[j] - m) / s;
    }
  }
}

// Lane (o, i) holds elements o * n * inner + i + j * inner, j < n.
template <class T, bool LOG>
__device__ __forceinline__ void th_nn_softmax_lanes(const T* x, T* y, th_i64 outer, int n,
                                                    th_i64 inner) {
  const th_i64 lanes = outer * inner;
  for (th_i64 l = (th_i64)blockIdx.x * blockDim.x + threadIdx.x; l < lanes;
       l += (th_i64)gridDim.x * blockDim.x) {
    const th_i64 base = (l / inner) * n * inner + l % inner;
    const T* p = x + base;
    T* q = y + base;
    T m = th_nn_neg_inf<T>();
    for (int j = 0; j < n; ++j) m = th_nn_nan_max(m, p[j * inner]);
    T s = T(0);
    for (int j = 0; j < n; ++j) s += th_nn_exp(p[j * inner] - m);
    const T ls = LOG ? th_nn_log(s) : T(0);
    for (int j = 0; j < n; ++j)
      q[j * inner] = LOG ? (p[j * inner] - m) - ls : th_nn_exp(p[j * inner] - m) / s;
  }
}

// ---- their gradients ------------------------------------------------------------
// softmax: (dy - sum(dy * sm)) * sm; log-softmax (sm holds l): dy - sum(dy) * exp(l).

template <class T, bool LOG>
__device__ __forceinline__ T th_nn_grad_term(T dy, T sm) {
  return LOG ? dy : dy * sm;
}
template <class T, bool LOG>
__device__ __forceinline__ T th_nn_grad_out(T dy, T sm, T dot) {
  return LOG ? dy - dot * th_nn_exp(sm) : (dy - dot) * sm;
}

template <class T, bool LOG>
__device__ __forceinline__ void th_nn_softmax_grad_warp(const T* dy, const T* sm, T* out,
                                                        th_i64 rows, int n) {
  const int lane = threadIdx.x & 31;
  const th_i64 first = ((th_i64)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  const th_i64 step = ((th_i64)gridDim.x * blockDim.x) >> 5;
  for (th_i64 r = first; r < rows; r += step) {
    const th_i64 base = r * n;
    T a[TH_NN_VALUES], c[TH_NN_VALUES];
    T dot = T(0);
#pragma unroll
    for (int k = 0; k < TH_NN_VALUES; ++k) {
      const int j = lane + 32 * k;
      a[k] = j < n ? dy[base + j] : T(0);
      c[k] = j < n ? sm[base + j] : T(0);
      if (j < n) dot += th_nn_grad_term<T, LOG>(a[k], c[k]);
    }
    dot = th_nn_warp_sum(dot);
#pragma unroll
    for (int k = 0; k < TH_NN_VALUES; ++k) {
      const int j = lane + 32 * k;
      if (j < n) out[base + j] = th_nn_grad_out<T, LOG>(a[k], c[k], dot);
    }
  }
}

template <class T, bool LOG>
__device__ __forceinline__ void th_nn_softmax_grad_block(const T* dy, const T* sm, T* out,
                                                         th_i64 rows, int n) {
  __shared__ T scratch[32];
  const int t = threadIdx.x, b = blockDim.x;
  const bool cached = n <= TH_NN_VALUES * b;
  for (th_i64 r = blockIdx.x; r < rows; r += gridDim.x) {
    const th_i64 base = r * n;
    T a[TH_NN_VALUES], c[TH_NN_VALUES];
    T dot = T(0);
    if (cached) {
#pragma unroll
      for (int k = 0; k < TH_NN_VALUES; ++k) {
        const int j = t + b * k;
        a[k] = j < n ? dy[base + j] : T(0);
        c[k] = j < n ? sm[base + j] : T(0);
        if (j < n) dot += th_nn_grad_term<T, LOG>(a[k], c[k]);
      }
    } else {
      for (int j = t; j < n; j += b) dot += th_nn_grad_term<T, LOG>(dy[base + j], sm[base + j]);
    }
    dot = th_nn_block_sum(dot, scratch);
    if (cached) {
#pragma unroll
      for (int k = 0; k < TH_NN_VALUES; ++k) {
        const int j = t + b * k;
        if (j < n) out[base + j] = th_nn_grad_out<T, LOG>(a[k], c[k], dot);
      }
    } else {
      for (int j = t; j < n; j += b)
        out[base + j] = th_nn_grad_out<T, LOG>(dy[base + j], sm[base + j], dot);
    }
  }
}

template <class T, bool LOG>
__device__ __forceinline__ void th_nn_softmax_grad_lanes(const T* dy, const T* sm, T* out,
                                                         th_i64 outer, int n, th_i64 inner) {
  const th_i64 lanes = outer * inner;
  for (th_i64 l = (th_i64)blockIdx.x * blockDim.x + threadIdx.x; l < lanes;
       l += (th_i64)gridDim.x * blockDim.x) {
    const th_i64 base = (l / inner) * n * inner + l % inner;
    T dot = T(0);
    for (int j = 0; j < n; ++j)
      dot += th_nn_grad_term<T, LOG>(dy[base + j * inner], sm[base + j * inner]);
    for (int j = 0; j < n; ++j) {
      const th_i64 e = base + j * inner;
      out[e] = th_nn_grad_out<T, LOG>(dy[e], sm[e], dot);
    }
  }
}

// ---- crossentropy of a softmax ----------------------------------------------------
// Entry i reads row rows[i * rows_step] (i without rows) and label
// y[i * y_step] of x (n_rows x k), both wrapped as NumPy wraps; an index out of
// range sets *flag and leaves the entry NaN.

__device__ __forceinline__ bool th_nn_entry(const th_i64* y, int y_step, const th_i64* rows,
                                            int rows_step, int has_rows, th_i64 i,
                                            int n_rows, int k, th_i64* r, th_i64* l) {
  *r = has_rows ? th_nn_wrap(rows[i * rows_step], n_rows) : i;
  *l = th_nn_wrap(y[i * y_step], k);
  return *r >= 0 && *l >= 0;
}

// One warp per entry.
template <class T>
__device__ __forceinline__ void th_nn_xent_warp(const T* x, const th_i64* y, int y_step,
                                                const th_i64* rows, int rows_step,
                                                int has_rows, th_i64 count, int n_rows,
                                                int k, T* out, int* flag) {
  const int lane = threadIdx.x & 31;
  const th_i64 first = ((th_i64)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  const th_i64 step = ((th_i64)gridDim.x * blockDim.x) >> 5;
  for (th_i64 i = first; i < count; i += step) {
    th_i64 r, l;
    if (!th_nn_entry(y, y_step, rows, rows_step, has_rows, i, n_rows, k, &r, &l)) {
      if (lane == 0) {
        *flag = 1;
        out[i] = th_nn_nan<T>();
      }
      continue;
    }
    const T* p = x + r * k;
    T m = th_nn_neg_inf<T>();
    for (int j = lane; j < k; j += 32) m = th_nn_nan_max(m, p[j]);
    m = th_nn_warp_max(m);
    // In double, as the reference: the loss of a confident row is a small
    // difference of larger terms.
    double s = 0;
    for (int j = lane; j < k; j += 32) s += th_nn_exp((double)p[j] - (double)m);
    s = th_nn_warp_sum(s);
    if (lane == 0) out[i] = (T)(((double)m - (double)p[l]) + th_nn_log(s));
  }
}

// One block per entry, for long rows.
template <class T>
__device__ __forceinline__ void th_nn_xent_block(const T* x, const th_i64* y, int y_step,
                                                 const th_i64* rows, int rows_step,
                                                 int has_rows, th_i64 count, int n_rows,
                                                 int k, T* out, int* flag) {
  __shared__ T scratch[32];
  __shared__ double sums[32];
  for (th_i64 i = blockIdx.x; i < count; i += gridDim.x) {
    th_i64 r, l;
    if (!th_nn_entry(y, y_step, rows, rows_step, has_rows, i, n_rows, k, &r, &l)) {
      if (threadIdx.x == 0) {
        *flag = 1;
        out[i] = th_nn_nan<T>();
      }
      continue;
    }
    const T* p = x + r * k;
    T m = th_nn_neg_inf<T>();
    for (int j = threadIdx.x; j < k; j += blockDim.x) m = th_nn_nan_max(m, p[j]);
    m = th_nn_block_max(m, scratch);
    double s = 0;  // in double, as the warp form
    for (int j = threadIdx.x; j < k; j += blockDim.x)
      s += th_nn_exp((double)p[j] - (double)m);
    s = th_nn_block_sum(s, sums);
    if (threadIdx.x == 0) out[i] = (T)(((double)m - (double)p[l]) + th_nn_log(s));
  }
}

// out (n_rows x k): each entry i adds gz[i * gz_step] * (sm[r] - onehot(l)) to
// its row r. Without rows every row has one entry and is written; with rows
// out starts zeroed and the entries add atomically (several may share a row).
template <class T>
__device__ __forceinline__ void th_nn_xent_grad(const T* gz, int gz_step, const T* sm,
                                                const th_i64* y, int y_step,
                                                const th_i64* rows, int rows_step,
                                                int has_rows, th_i64 count, int n_rows,
                                                int k, T* out, int* flag) {
  const th_i64 total = count * k;
  for (th_i64 e = (th_i64)blockIdx.x * blockDim.x + threadIdx.x; e < total;
       e += (th_i64)gridDim.x * blockDim.x) {
    const th_i64 i = e / k;
    const int j = (int)(e % k);
    th_i64 r, l;
    if (!th_nn_entry(y, y_step, rows, rows_step, has_rows, i, n_rows, k, &r, &l)) {
      *flag = 1;
      continue;
    }
    const th_i64 at = r * k + j;
    const T v = gz[i * gz_step] * (sm[at] - (j == l ? T(1) : T(0)));
    if (has_rows)
      atomicAdd(out + at, v);
    else
      out[at] = v;
  }
}

#define TH_NN_SOFTMAX_KERNELS(T, S, LOG, L)                                                 \
  extern "C" __global__ void th_nn_softmax_warp_##S##L(const T* x, T* y, th_i64 rows,      \
                                                       int n) {                            \
    th_nn_softmax_warp<T, LOG>(x, y, rows, n);                                             \
  }                                                                                        \
  extern "C" __global__ void th_nn_softmax_block_##S##L(const T* x, T* y, th_i64 rows,     \
                                                        int n) {                           \
    th_nn_softmax_block<T, LOG>(x, y, rows, n);                                            \
  }                                                                                        \
  extern "C" __global__ void th_nn_softmax_lanes_##S##L(const T* x, T* y, th_i64 outer,    \
                                                        int n, th_i64 inner) {             \
    th_nn_softmax_lanes<T, LOG>(x, y, outer, n, inner);                                    \
  }

#define TH_NN_SOFTMAX_GRAD_KERNELS(T, S, LOG, L)                                           \
  extern "C" __global__ void th_nn_softmax_grad_warp_##S##L(const T* dy, const T* sm,      \
                                                            T* out, th_i64 rows, int n) {  \
    th_nn_softmax_grad_warp<T, LOG>(dy, sm, out, rows, n);                                 \
  }                                                                                        \
  extern "C" __global__ void th_nn_softmax_grad_block_##S##L(const T* dy, const T* sm,     \
                                                             T* out, th_i64 rows, int n) { \
    th_nn_softmax_grad_block<T, LOG>(dy, sm, out, rows, n);                                \
  }                                                                                        \
  extern "C" __global__ void th_nn_softmax_grad_lanes_##S##L(                              \
      const T* dy, const T* sm, T* out, th_i64 outer, int n, th_i64 inner) {               \
    th_nn_softmax_grad_lanes<T, LOG>(dy, sm, out, outer, n, inner);                        \
  }

#define TH_NN_XENT_KERNELS(T, S)                                                            \
  extern "C" __global__ void th_nn_xent_warp_##S(                                          \
      const T* x, const th_i64* y, int y_step, const th_i64* rows, int rows_step,          \
      int has_rows, th_i64 count, int n_rows, int k, T* out, int* flag) {                  \
    th_nn_xent_warp<T>(x, y, y_step, rows, rows_step, has_rows, count, n_rows, k, out,     \
                       flag);                                                              \
  }                                                                                        \
  extern "C" __global__ void th_nn_xent_block_##S(                                         \
      const T* x, const th_i64* y, int y_step, const th_i64* rows, int rows_step,          \
      int has_rows, th_i64 count, int n_rows, int k, T* out, int* flag) {                  \
    th_nn_xent_block<T>(x, y, y_step, rows, rows_step, has_rows, count, n_rows, k, out,    \
                        flag);                                                             \
  }                                                                                        \
  extern "C" __global__ void th_nn_xent_grad_##S(                                          \
      const T* gz, int gz_step, const T* sm, const th_i64* y, int y_step,                  \
      const th_i64* rows, int rows_step, int has_rows, th_i64 count, int n_rows, int k,    \
      T* out, int* flag) {                                                                 \
    th_nn_xent_grad<T>(gz, gz_step, sm, y, y_step, rows, rows_step, has_rows, count,       \
                       n_rows, k, out, flag);                                              \
  }

#endif  // THEANINE_NN_SOFTMAX
)";

const ModuleFamily& family() {
  static const ModuleFamily f("nn_softmax", kSoftmax,
                              {{"f32",
                                "TH_NN_SOFTMAX_KERNELS(float, f32, false, )\n"
                                "TH_NN_SOFTMAX_KERNELS(float, f32, true, _log)\n"},
                               {"f64",
                                "TH_NN_SOFTMAX_KERNELS(double, f64, false, )\n"
                                "TH_NN_SOFTMAX_KERNELS(double, f64, true, _log)\n"},
                               {"grad_f32",
                                "TH_NN_SOFTMAX_GRAD_KERNELS(float, f32, false, )\n"
                                "TH_NN_SOFTMAX_GRAD_KERNELS(float, f32, true, _log)\n"},
                               {"grad_f64",
                                "TH_NN_SOFTMAX_GRAD_KERNELS(double, f64, false, )\n"
                                "TH_NN_SOFTMAX_GRAD_KERNELS(double, f64, true, _log)\n"},
                               {"xent_f32", "TH_NN_XENT_KERNELS(float, f32)\n"},
                               {"xent_f64", "TH_NN_XENT_KERNELS(double, f64)\n"}});
  return f;
}

constexpr int kWarpRow = 256;  // rows up to this long run a warp per row
constexpr int kValues = 8;     // TH_NN_VALUES

const char* suffix(DType d) { return d == DType::Float32 ? "f32" : "f64"; }

std::string symbol(const char* base, DType d, bool log) {
  return std::string(base) + "_" + suffix(d) + (log ? "_log" : "");
}

// A contiguous array as outer x n x inner around `axis`.
struct Lanes {
  int64_t outer = 1, n = 1, inner = 1;
};

Lanes lanes_of(const Shape& s, int axis) {
  Lanes l;
  for (int d = 0; d < static_cast<int>(s.size()); ++d)
    (d < axis ? l.outer : d == axis ? l.n : l.inner) *= s[d];
  return l;
}

unsigned block_for_row(int64_t n) {
  const int64_t per_thread = (n + 3) / 4;
  return static_cast<unsigned>(
      std::clamp<int64_t>((per_thread + 31) / 32 * 32, 64, 1024));
}

// Runs the warp, block or lanes form of `base` ("th_nn_softmax" or
// "th_nn_softmax_grad") over the lanes; args are the leading pointers.
template <class... Ptrs>
void launch_rows(const std::string& base, DType dt, bool log, const Lanes& l,
                 Ptrs... ptrs) {
  const int n = static_cast<int>(l.n);
  const CudaSourceModule& module =
      family().get(base == "th_nn_softmax" ? std::string(suffix(dt))
                                           : std::string("grad_") + suffix(dt));
  if (l.inner == 1) {
    const int64_t rows = l.outer;
    if (n <= kWarpRow) {
      const unsigned block = 128;
      launch_cuda_source(module, symbol((base + "_warp").c_str(), dt, log),
                         {cuda_grid_for(rows * 32, block), block, 0}, ptrs..., rows, n);
    } else {
      const unsigned block = block_for_row(n);
      launch_cuda_source(module, symbol((base + "_block").c_str(), dt, log),
                         {cuda_grid_for(rows, 1), block, 0}, ptrs..., rows, n);
    }
    return;
  }
  launch_cuda_source(module, symbol((base + "_lanes").c_str(), dt, log),
                     {cuda_grid_for(l.outer * l.inner, 256), 256, 0}, ptrs..., l.outer, n,
                     l.inner);
}

// ---- SoftmaxOp ----------------------------------------------------------------

bool softmax_matches(const Apply& node) {
  return dynamic_cast<const SoftmaxOp*>(node.op.get()) != nullptr;
}

std::optional<std::vector<NDArray>> softmax_run(const Apply& node,
                                                const std::vector<NDArray>& in) {
  const auto& op = static_cast<const SoftmaxOp&>(*node.op);
  const DType dt = node.output_ptr(0)->type.dtype;
  if (!is_float(dt) || in.size() != 1) return std::nullopt;
  const Lanes l = lanes_of(in[0].shape(), op.axis());
  if (!fits_int32({l.n})) return std::nullopt;
  NDArray x = dense(in[0], dt);
  NDArray y = device_empty(dt, x.shape());
  if (x.size() == 0) return std::vector<NDArray>{y};
  launch_rows("th_nn_softmax", dt, op.is_log(), l, dptr(x), dptr(y));
  return std::vector<NDArray>{y};
}

// ---- SoftmaxGradOp ------------------------------------------------------------

bool softmax_grad_matches(const Apply& node) {
  return dynamic_cast<const SoftmaxGradOp*>(node.op.get()) != nullptr;
}

std::optional<std::vector<NDArray>> softmax_grad_run(const Apply& node,
                                                     const std::vector<NDArray>& in) {
  const auto& op = static_cast<const SoftmaxGradOp&>(*node.op);
  const DType dt = node.output_ptr(0)->type.dtype;
  if (!is_float(dt) || in.size() != 2 || in[0].ndim() != in[1].ndim())
    return std::nullopt;
  // The reference's broadcast: dy's dims of 1 take sm's.
  Shape s = in[0].shape();
  for (size_t d = 0; d < s.size(); ++d)
    if (s[d] == 1) s[d] = in[1].shape(static_cast<int>(d));
  NDArray dyb, smb;
  try {
    dyb = in[0].broadcast_to(s);
    smb = in[1].broadcast_to(s);
  } catch (const ShapeError&) {
    throw_reference_error(node, in, "shapes that do not broadcast");
  }
  const Lanes l = lanes_of(s, op.axis());
  if (!fits_int32({l.n})) return std::nullopt;
  NDArray dy = dense(dyb, dt), sm = dense(smb, dt);
  NDArray out = device_empty(dt, s);
  if (out.size() == 0) return std::vector<NDArray>{out};
  launch_rows("th_nn_softmax_grad", dt, op.is_log(), l, dptr(dy), dptr(sm), dptr(out));
  return std::vector<NDArray>{out};
}

// ---- the crossentropy ops -----------------------------------------------------------

// The entries of a crossentropy over an n_rows x k matrix: how many, and the
// steps through the index arrays (0 where one index is broadcast).
struct Entries {
  int64_t count = 0;
  int y_step = 1, rows_step = 1;
  bool has_rows = false;
  NDArray y, rows;  // int64, contiguous, on the device
};

// False when the lengths do not fit together (the reference raises).
bool entries_of(const NDArray& y, const NDArray* rows, int64_t n_rows, Entries* e) {
  if (y.ndim() != 1 || (rows && rows->ndim() != 1)) return false;
  e->y = dense(y, DType::Int64);
  if (rows) {
    const int64_t a = rows->size(), b = y.size();
    if (a != b && a != 1 && b != 1) return false;
    e->count = (a == 1 || b == 1) ? (a == 1 ? b : a) : a;
    e->has_rows = true;
    e->rows = dense(*rows, DType::Int64);
    e->rows_step = a == 1 ? 0 : 1;
    e->y_step = b == 1 ? 0 : 1;
  } else {
    if (y.size() != n_rows) return false;
    e->count = n_rows;
    e->rows = e->y;  // never read
  }
  return true;
}

bool xent_matches(const Apply& node) {
  return dynamic_cast<const CrossentropySoftmaxOp*>(node.op.get()) != nullptr;
}

std::optional<std::vector<NDArray>> xent_run(const Apply& node,
                                             const std::vector<NDArray>& in) {
  const DType dt = node.output_ptr(0)->type.dtype;
  if (!is_float(dt) || in.size() < 2 || in[0].ndim() != 2) return std::nullopt;
  const int64_t n_rows = in[0].shape(0), k = in[0].shape(1);
  if (!fits_int32({n_rows, k})) return std::nullopt;
  Entries e;
  if (!entries_of(in[1], in.size() > 2 ? &in[2] : nullptr, n_rows, &e))
    throw_reference_error(node, in, "index lengths");
  NDArray x = dense(in[0], dt);
  NDArray out = device_empty(dt, {e.count});
  if (e.count == 0) return std::vector<NDArray>{out};
  DeviceFlag flag;
  const int has_rows = e.has_rows, nr = static_cast<int>(n_rows),
            kk = static_cast<int>(k);
  const bool warp = k <= 1024;
  const unsigned block = warp ? 128 : 512;
  launch_cuda_source(
      family().get(std::string("xent_") + suffix(dt)),
      symbol(warp ? "th_nn_xent_warp" : "th_nn_xent_block", dt, false),
      {cuda_grid_for(warp ? e.count * 32 : e.count, warp ? block : 1), block, 0}, dptr(x),
      dptr(e.y), e.y_step, dptr(e.rows), e.rows_step, has_rows, e.count, nr, kk,
      dptr(out), flag.ptr());
  if (flag.value()) throw_reference_error(node, in, "an index out of range");
  return std::vector<NDArray>{out};
}

bool xent_grad_matches(const Apply& node) {
  return dynamic_cast<const CrossentropySoftmaxGradOp*>(node.op.get()) != nullptr;
}

std::optional<std::vector<NDArray>> xent_grad_run(const Apply& node,
                                                  const std::vector<NDArray>& in) {
  const DType dt = node.output_ptr(0)->type.dtype;
  if (!is_float(dt) || in.size() < 3 || in[1].ndim() != 2 || in[0].ndim() > 1)
    return std::nullopt;
  const int64_t n_rows = in[1].shape(0), k = in[1].shape(1);
  if (!fits_int32({n_rows, k})) return std::nullopt;
  Entries e;
  if (!entries_of(in[2], in.size() > 3 ? &in[3] : nullptr, n_rows, &e))
    throw_reference_error(node, in, "index lengths");
  const int64_t g = in[0].size();
  if (in[0].ndim() == 1 && g != 1 && g != e.count)
    throw_reference_error(node, in, "the length of gz");
  NDArray gz = dense(in[0], dt), sm = dense(in[1], dt);
  // With rows, entries add into their rows; without, each row is written once.
  NDArray out = e.has_rows || e.count == 0 ? device_zeros(dt, sm.shape())
                                           : device_empty(dt, sm.shape());
  if (e.count == 0 || k == 0) return std::vector<NDArray>{out};
  DeviceFlag flag;
  const int gz_step = g == 1 ? 0 : 1, has_rows = e.has_rows;
  launch_cuda_source(family().get(std::string("xent_") + suffix(dt)),
                     symbol("th_nn_xent_grad", dt, false),
                     {cuda_grid_for(e.count * k, 256), 256, 0}, dptr(gz), gz_step,
                     dptr(sm), dptr(e.y), e.y_step, dptr(e.rows), e.rows_step, has_rows,
                     e.count, static_cast<int>(n_rows), static_cast<int>(k), dptr(out),
                     flag.ptr());
  if (flag.value()) throw_reference_error(node, in, "an index out of range");
  return std::vector<NDArray>{out};
}

}  // namespace

std::vector<const CudaSourceModule*> softmax_modules() { return family().all(); }

std::vector<CudaOpEntry> softmax_entries() {
  return {{"Softmax", softmax_matches, softmax_run},
          {"SoftmaxGrad", softmax_grad_matches, softmax_grad_run},
          {"CrossentropySoftmax", xent_matches, xent_run},
          {"CrossentropySoftmaxGrad", xent_grad_matches, xent_grad_run}};
}

}  // namespace theanine::cuda_nn
