#include "codegen/cuda_nn_common.h"

#include <algorithm>

#include "graph/op.h"
#include "runtime/cuda_array.h"
#include "runtime/cuda_driver.h"
#include "runtime/cuda_graph.h"
#include "runtime/error.h"

namespace theanine::cuda_nn {

namespace {

const char* kPrelude = R"(#ifndef THEANINE_NN_PRELUDE
#define THEANINE_NN_PRELUDE
// theanine nn kernels: helpers shared by the hand-written modules.
typedef long long th_i64;
typedef unsigned long long th_u64;

// NumPy's maximum: NaN wins, and stays once it has won.
template <class T>
__device__ __forceinline__ T th_nn_nan_max(T a, T b) {
  return (b > a || b != b) ? b : a;
}

template <class T>
__device__ __forceinline__ T th_nn_neg_inf();
template <>
__device__ __forceinline__ float th_nn_neg_inf<float>() {
  return __int_as_float((int)0xff800000u);
}
template <>
__device__ __forceinline__ double th_nn_neg_inf<double>() {
  return __longlong_as_double((long long)0xfff0000000000000ull);
}
template <class T>
__device__ __forceinline__ T th_nn_nan();
template <>
__device__ __forceinline__ float th_nn_nan<float>() {
  return __int_as_float((int)0x7fc00000u);
}
template <>
__device__ __forceinline__ double th_nn_nan<double>() {
  return __longlong_as_double((long long)0x7ff8000000000000ull);
}

__device__ __forceinline__ float th_nn_exp(float x) { return expf(x); }
__device__ __forceinline__ double th_nn_exp(double x) { return exp(x); }
__device__ __forceinline__ float th_nn_log(float x) { return logf(x); }
__device__ __forceinline__ double th_nn_log(double x) { return log(x); }

// Butterfly reductions over a full warp: every lane gets the result.
template <class T>
__device__ __forceinline__ T th_nn_warp_sum(T v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
template <class T>
__device__ __forceinline__ T th_nn_warp_max(T v) {
  for (int o = 16; o > 0; o >>= 1) v = th_nn_nan_max(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Reductions over a block (a multiple of 32 threads, at most 1024): every
// thread gets the result. `scratch` holds 32 values in shared memory; the
// first barrier lets a block reuse it for consecutive reductions.
template <class T>
__device__ __forceinline__ T th_nn_block_sum(T v, T* scratch) {
  v = th_nn_warp_sum(v);
  const int lane = threadIdx.x & 31, warps = blockDim.x >> 5;
  __syncthreads();
  if (lane == 0) scratch[threadIdx.x >> 5] = v;
  __syncthreads();
  return th_nn_warp_sum(lane < warps ? scratch[lane] : T(0));
}
template <class T>
__device__ __forceinline__ T th_nn_block_max(T v, T* scratch) {
  v = th_nn_warp_max(v);
  const int lane = threadIdx.x & 31, warps = blockDim.x >> 5;
  __syncthreads();
  if (lane == 0) scratch[threadIdx.x >> 5] = v;
  __syncthreads();
  return th_nn_warp_max(lane < warps ? scratch[lane] : scratch[0]);
}

// An index from an int64 index array, wrapped as NumPy wraps negative
// indices; -1 when it is out of range for `size`.
__device__ __forceinline__ th_i64 th_nn_wrap(th_i64 i, th_i64 size) {
  const th_i64 w = i < 0 ? i + size : i;
  return (w < 0 || w >= size) ? -1 : w;
}
#endif  // THEANINE_NN_PRELUDE
)";

// The dtype codes are DType's values: bool, int8, int16, int32, int64, uint8,
// float32, float64.
const char* kUtil = R"(
#ifndef THEANINE_NN_UTIL
#define THEANINE_NN_UTIL
struct th_nn_layout {
  int ndim;
  th_i64 shape[8];
  th_i64 strides[8];  // in elements
};

__device__ __forceinline__ bool th_nn_is_float(int code) { return code >= 6; }

__device__ __forceinline__ double th_nn_load_f(const char* p, th_i64 i, int code) {
  return code == 6 ? (double)((const float*)p)[i] : ((const double*)p)[i];
}
__device__ __forceinline__ th_i64 th_nn_load_i(const char* p, th_i64 i, int code) {
  switch (code) {
    case 0: return ((const bool*)p)[i] ? 1 : 0;
    case 1: return ((const signed char*)p)[i];
    case 2: return ((const short*)p)[i];
    case 3: return ((const int*)p)[i];
    case 4: return ((const th_i64*)p)[i];
    default: return ((const unsigned char*)p)[i];
  }
}
template <class T>
__device__ __forceinline__ void th_nn_store(char* p, th_i64 i, T v) {
  ((T*)p)[i] = v;
}
// Stores a value read as `V` (double or th_i64) as dtype `code`, converted as
// static_cast converts.
template <class V>
__device__ __forceinline__ void th_nn_store_as(char* p, th_i64 i, int code, V v) {
  switch (code) {
    case 0: th_nn_store(p, i, (bool)(v != V(0))); break;
    case 1: th_nn_store(p, i, (signed char)v); break;
    case 2: th_nn_store(p, i, (short)v); break;
    case 3: th_nn_store(p, i, (int)v); break;
    case 4: th_nn_store(p, i, (th_i64)v); break;
    case 5: th_nn_store(p, i, (unsigned char)v); break;
    case 6: th_nn_store(p, i, (float)v); break;
    default: th_nn_store(p, i, (double)v); break;
  }
}

// dst[i] (contiguous, dtype dst_code) = src at flat C-order index i of layout
// `s` (any strides, 0 for broadcast dims), converted from dtype src_code.
extern "C" __global__ void th_nn_copy_convert(const char* src, int src_code,
                                              th_nn_layout s, char* dst, int dst_code,
                                              th_i64 n) {
  for (th_i64 i = (th_i64)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (th_i64)gridDim.x * blockDim.x) {
    th_i64 rest = i, off = 0;
    for (int d = s.ndim - 1; d >= 0; --d) {
      const th_i64 k = rest % s.shape[d];
      rest /= s.shape[d];
      off += k * s.strides[d];
    }
    if (src_code == dst_code) {
      switch (src_code) {
        case 0: case 1: case 5: ((char*)dst)[i] = src[off]; break;
        case 2: ((short*)dst)[i] = ((const short*)src)[off]; break;
        case 3: case 6: ((int*)dst)[i] = ((const int*)src)[off]; break;
        default: ((th_i64*)dst)[i] = ((const th_i64*)src)[off]; break;
      }
    } else if (th_nn_is_float(src_code)) {
      th_nn_store_as(dst, i, dst_code, th_nn_load_f(src, off, src_code));
    } else {
      th_nn_store_as(dst, i, dst_code, th_nn_load_i(src, off, src_code));
    }
  }
}
#endif  // THEANINE_NN_UTIL
)";

// The host twin of th_nn_layout (the same members, so the same layout).
struct Layout {
  int ndim = 0;
  int64_t shape[8] = {};
  int64_t strides[8] = {};
};

// a's layout with size-1 dims dropped and dims that are contiguous with the
// next merged; false when more than 8 dims remain.
bool collapsed_layout(const NDArray& a, Layout* out) {
  std::vector<int64_t> shape, strides;
  for (int d = 0; d < a.ndim(); ++d) {
    if (a.shape(d) == 1) continue;
    const int64_t s = a.strides()[d];
    if (!shape.empty() && strides.back() == s * a.shape(d)) {
      shape.back() *= a.shape(d);
      strides.back() = s;
      continue;
    }
    shape.push_back(a.shape(d));
    strides.push_back(s);
  }
  if (shape.size() > 8) return false;
  out->ndim = static_cast<int>(shape.size());
  for (size_t d = 0; d < shape.size(); ++d) {
    out->shape[d] = shape[d];
    out->strides[d] = strides[d];
  }
  return true;
}

}  // namespace

const std::string& prelude() {
  static const std::string p = kPrelude;
  return p;
}

const CudaSourceModule& util_module() {
  static const CudaSourceModule m("nn_util", prelude() + kUtil);
  return m;
}

ModuleFamily::ModuleFamily(
    const std::string& prefix, const std::string& templates,
    const std::vector<std::pair<std::string, std::string>>& instances)
    : prefix_(prefix) {
  for (const auto& [key, lines] : instances)
    modules_.emplace_back(key, std::make_unique<CudaSourceModule>(
                                   prefix + "_" + key, prelude() + templates + lines));
}

const CudaSourceModule& ModuleFamily::get(const std::string& key) const {
  for (const auto& [k, m] : modules_)
    if (k == key) return *m;
  throw Error("cuda nn ops: the " + prefix_ + " kernels have no module " + key);
}

std::vector<const CudaSourceModule*> ModuleFamily::all() const {
  std::vector<const CudaSourceModule*> r;
  for (const auto& [k, m] : modules_) r.push_back(m.get());
  return r;
}

NDArray dense(const NDArray& a, DType dtype) {
  if (!on_device(a)) {
    // Converted on the host, where it is cheap, then one copy over.
    return to_device(a.dtype() == dtype ? a.contiguous() : a.astype(dtype));
  }
  if (a.dtype() == dtype && a.is_contiguous()) return a;
  NDArray out = device_empty(dtype, a.shape());
  const int64_t n = out.size();
  if (n == 0) return out;
  Layout layout;
  if (!collapsed_layout(a, &layout))
    throw ValueError("cuda nn ops: an array of " + std::to_string(a.ndim()) +
                     " non-contiguous dims is beyond the copy kernel's 8");
  const uint64_t src = dptr(a), dst = dptr(out);
  const int src_code = static_cast<int>(a.dtype()), dst_code = static_cast<int>(dtype);
  launch_cuda_source(util_module(), "th_nn_copy_convert", {cuda_grid_for(n, 256), 256, 0},
                     src, src_code, layout, dst, dst_code, n);
  return out;
}

int64_t host_int(const NDArray& a, int64_t flat) { return to_host(a).item_int(flat); }

DeviceFlag::DeviceFlag() : flag_(device_zeros(DType::Int32, {1})) {}

int DeviceFlag::value() const {
  if (cuda::capturing()) {
    // A recorded step reads its flags after each replay (runtime/cuda_graph.h).
    capture_defer_check(flag_);
    return 0;
  }
  return static_cast<int>(to_host(flag_).item_int(0));
}

void throw_reference_error(const Apply& node, const std::vector<NDArray>& inputs,
                           const std::string& what) {
  std::vector<NDArray> host;
  for (const NDArray& a : inputs) host.push_back(to_host(a));
  node.op->perform(node, host);
  throw Error(node.op->name() + ": the device found bad input (" + what +
              ") that the reference path accepts");
}

bool fits_int32(std::initializer_list<int64_t> values) {
  return std::all_of(values.begin(), values.end(),
                     [](int64_t v) { return v >= 0 && v <= 0x7fffffff; });
}

}  // namespace theanine::cuda_nn
