// Integer-array indexing on the device for the keys crossentropy-style code
// uses: x[i0, ..., ik-1] with k leading index arrays (broadcast together, the
// other dims whole), as in p[arange(n), y] and embedding lookups, its gradient
// inc_subtensor (numpy.add.at: duplicates accumulate, by atomic adds), and
// to_one_hot. Indices are checked on the device; one out of range raises the
// reference path's IndexError. Other keys, and set_subtensor (whose "last
// write wins" on duplicates needs an order), run on the host.
#include "codegen/cuda_nn_common.h"
#include "codegen/cuda_nn_entries.h"
#include "ops/one_hot.h"
#include "ops/subtensor.h"
#include "runtime/cuda_array.h"
#include "runtime/cuda_driver.h"
#include "runtime/error.h"

namespace theanine::cuda_nn {

namespace {

const char* kIndex = R"(
#ifndef THEANINE_NN_INDEX
#define THEANINE_NN_INDEX
// Entry i of the key picks x's element sum_d idx[d][i] * strides[d] (each index
// wrapped against dims[d]) and the `rest` contiguous elements after it.
struct th_nn_key {
  const th_i64* idx[8];
  th_i64 dims[8];
  th_i64 strides[8];
  int k;
  th_i64 m, rest;
};

// The element offset of entry i, or -1 when an index is out of range.
__device__ __forceinline__ th_i64 th_nn_key_offset(const th_nn_key& key, th_i64 i) {
  th_i64 off = 0;
  for (int d = 0; d < key.k; ++d) {
    const th_i64 w = th_nn_wrap(key.idx[d][i], key.dims[d]);
    if (w < 0) return -1;
    off += w * key.strides[d];
  }
  return off;
}

// dst (m x rest, contiguous) = the entries of x; T is a bit pattern of the
// element's size.
template <class T>
__device__ __forceinline__ void th_nn_gather(const T* x, T* dst, th_nn_key key, int* flag) {
  const th_i64 total = key.m * key.rest;
  for (th_i64 e = (th_i64)blockIdx.x * blockDim.x + threadIdx.x; e < total;
       e += (th_i64)gridDim.x * blockDim.x) {
    const th_i64 off = th_nn_key_offset(key, e / key.rest);
    if (off < 0) {
      *flag = 1;
      continue;
    }
    dst[e] = x[off + e % key.rest];
  }
}

// out (a copy of x) gets y (m x rest, contiguous, out's dtype) added at the
// entries; duplicate entries add up.
template <class T>
__device__ __forceinline__ void th_nn_scatter_add(T* out, const T* y, th_nn_key key,
                                                  int* flag) {
  const th_i64 total = key.m * key.rest;
  for (th_i64 e = (th_i64)blockIdx.x * blockDim.x + threadIdx.x; e < total;
       e += (th_i64)gridDim.x * blockDim.x) {
    const th_i64 off = th_nn_key_offset(key, e / key.rest);
    if (off < 0) {
      *flag = 1;
      continue;
    }
    atomicAdd(out + off + e % key.rest, y[e]);
  }
}

extern "C" __global__ void th_nn_gather_1(const unsigned char* x, unsigned char* dst,
                                          th_nn_key key, int* flag) {
  th_nn_gather(x, dst, key, flag);
}
extern "C" __global__ void th_nn_gather_2(const unsigned short* x, unsigned short* dst,
                                          th_nn_key key, int* flag) {
  th_nn_gather(x, dst, key, flag);
}
extern "C" __global__ void th_nn_gather_4(const unsigned* x, unsigned* dst, th_nn_key key,
                                          int* flag) {
  th_nn_gather(x, dst, key, flag);
}
extern "C" __global__ void th_nn_gather_8(const th_u64* x, th_u64* dst, th_nn_key key,
                                          int* flag) {
  th_nn_gather(x, dst, key, flag);
}
extern "C" __global__ void th_nn_scatter_add_float32(float* out, const float* y,
                                                     th_nn_key key, int* flag) {
  th_nn_scatter_add(out, y, key, flag);
}
extern "C" __global__ void th_nn_scatter_add_float64(double* out, const double* y,
                                                     th_nn_key key, int* flag) {
  th_nn_scatter_add(out, y, key, flag);
}
extern "C" __global__ void th_nn_scatter_add_int32(int* out, const int* y, th_nn_key key,
                                                   int* flag) {
  th_nn_scatter_add(out, y, key, flag);
}
// Two's complement: unsigned addition is int64 addition, wrapping.
extern "C" __global__ void th_nn_scatter_add_int64(th_u64* out, const th_u64* y,
                                                   th_nn_key key, int* flag) {
  th_nn_scatter_add(out, y, key, flag);
}

// out (rows x n, zeroed, dtype `code`) gets 1 at (i, y[i]); labels are not
// wrapped: one outside [0, n) sets *flag.
extern "C" __global__ void th_nn_one_hot(const th_i64* y, th_i64 rows, th_i64 n, char* out,
                                         int code, int* flag) {
  for (th_i64 i = (th_i64)blockIdx.x * blockDim.x + threadIdx.x; i < rows;
       i += (th_i64)gridDim.x * blockDim.x) {
    const th_i64 l = y[i];
    if (l < 0 || l >= n) {
      *flag = 1;
      continue;
    }
    const th_i64 at = i * n + l;
    switch (code) {
      case 0: ((bool*)out)[at] = true; break;
      case 1: case 5: ((unsigned char*)out)[at] = 1; break;
      case 2: ((short*)out)[at] = 1; break;
      case 3: ((int*)out)[at] = 1; break;
      case 4: ((th_i64*)out)[at] = 1; break;
      case 6: ((float*)out)[at] = 1.0f; break;
      default: ((double*)out)[at] = 1.0; break;
    }
  }
}
#endif  // THEANINE_NN_INDEX
)";

const CudaSourceModule& index_module() {
  static const CudaSourceModule m("nn_index", prelude() + kIndex);
  return m;
}

// The host twin of th_nn_key.
struct Key {
  uint64_t idx[8] = {};
  int64_t dims[8] = {};
  int64_t strides[8] = {};
  int k = 0;
  int64_t m = 0, rest = 0;
};

// k when the spec is k >= 1 index arrays followed only by whole slices (the
// keys covered here), else 0.
int leading_arrays(const IndexSpec& spec) {
  int k = 0;
  while (k < static_cast<int>(spec.size()) && spec[k].kind == IndexEntry::Kind::Array)
    ++k;
  if (k == 0 || k > 8) return 0;
  for (size_t i = k; i < spec.size(); ++i) {
    const IndexEntry& e = spec[i];
    if (e.kind != IndexEntry::Kind::Slice || e.has_start || e.has_stop || e.has_step)
      return 0;
  }
  return k;
}

// The key over a contiguous x of `shape` with index arrays `arrays`; the
// region's shape in *region. False when the index arrays do not broadcast.
bool key_of(const Shape& shape, const std::vector<NDArray>& arrays, Key* key,
            Shape* region, std::vector<NDArray>& keep) {
  std::vector<Shape> shapes;
  for (const NDArray& a : arrays) shapes.push_back(a.shape());
  Shape b;
  try {
    b = broadcast_shapes(shapes);
  } catch (const ShapeError&) {
    return false;
  }
  const int k = static_cast<int>(arrays.size());
  key->k = k;
  key->m = shape_size(b);
  key->rest = 1;
  for (size_t d = k; d < shape.size(); ++d) key->rest *= shape[d];
  int64_t stride = key->rest;
  for (int d = k - 1; d >= 0; --d) {
    key->dims[d] = shape[d];
    key->strides[d] = stride;
    stride *= shape[d];
  }
  for (int d = 0; d < k; ++d) {
    keep.push_back(dense(arrays[d].broadcast_to(b), DType::Int64));
    key->idx[d] = dptr(keep.back());
  }
  *region = b;
  region->insert(region->end(), shape.begin() + k, shape.end());
  return true;
}

const IndexSpec* advanced_spec(const Apply& node) {
  if (auto* op = dynamic_cast<const AdvancedSubtensorOp*>(node.op.get()))
    return &op->spec();
  return nullptr;
}

bool gather_matches(const Apply& node) {
  const IndexSpec* spec = advanced_spec(node);
  return spec && leading_arrays(*spec) > 0;
}

std::optional<std::vector<NDArray>> gather_run(const Apply& node,
                                               const std::vector<NDArray>& in) {
  const int k = leading_arrays(*advanced_spec(node));
  if (k == 0 || static_cast<int>(in.size()) != 1 + k || in[0].ndim() < k)
    return std::nullopt;
  const NDArray x = dense(in[0]);
  std::vector<NDArray> keep;
  Key key;
  Shape region;
  if (!key_of(x.shape(), {in.begin() + 1, in.end()}, &key, &region, keep))
    throw_reference_error(node, in, "index arrays that do not broadcast");
  NDArray out = device_empty(x.dtype(), region);
  const size_t item = itemsize(x.dtype());
  const int64_t threads = key.m * key.rest;
  // Entries of nothing (x has a dim of 0 after the indexed ones) still have
  // their indices checked: the host does that rare case.
  if (threads == 0)
    return key.m == 0 ? std::optional(std::vector<NDArray>{out}) : std::nullopt;
  DeviceFlag flag;
  launch_cuda_source(index_module(), "th_nn_gather_" + std::to_string(item),
                     {cuda_grid_for(threads, 256), 256, 0}, dptr(x), dptr(out), key,
                     flag.ptr());
  if (flag.value()) throw_reference_error(node, in, "an index out of range");
  return std::vector<NDArray>{out};
}

bool inc_matches(const Apply& node) {
  const auto* op = dynamic_cast<const IncSubtensorOp*>(node.op.get());
  if (!op || op->is_set() || leading_arrays(op->spec()) == 0) return false;
  const DType d = node.output_ptr(0)->type.dtype;
  return d == DType::Float32 || d == DType::Float64 || d == DType::Int32 ||
         d == DType::Int64;
}

std::optional<std::vector<NDArray>> inc_run(const Apply& node,
                                            const std::vector<NDArray>& in) {
  const auto& op = static_cast<const IncSubtensorOp&>(*node.op);
  const int k = leading_arrays(op.spec());
  if (!inc_matches(node) || static_cast<int>(in.size()) != 2 + k || in[0].ndim() < k)
    return std::nullopt;
  const DType dt = in[0].dtype();
  // A fresh contiguous copy of x: x itself is never written.
  NDArray out = dense(in[0]);
  if (out.buffer() == in[0].buffer()) {
    NDArray copy = device_empty(dt, out.shape());
    if (out.size() > 0) cuda::copy_device_to_device(dptr(copy), dptr(out), out.nbytes());
    out = copy;
  }
  std::vector<NDArray> keep;
  Key key;
  Shape region;
  if (!key_of(out.shape(), {in.begin() + 2, in.end()}, &key, &region, keep))
    throw_reference_error(node, in, "index arrays that do not broadcast");
  NDArray yb;
  try {
    yb = in[1].broadcast_to(region);
  } catch (const ShapeError&) {
    throw_reference_error(node, in, "y's shape");
  }
  const int64_t threads = key.m * key.rest;
  if (threads == 0)
    return key.m == 0 ? std::optional(std::vector<NDArray>{out}) : std::nullopt;
  NDArray y = dense(yb, dt);
  DeviceFlag flag;
  launch_cuda_source(index_module(), std::string("th_nn_scatter_add_") + dtype_name(dt),
                     {cuda_grid_for(threads, 256), 256, 0}, dptr(out), dptr(y), key,
                     flag.ptr());
  if (flag.value()) throw_reference_error(node, in, "an index out of range");
  return std::vector<NDArray>{out};
}

bool one_hot_matches(const Apply& node) {
  return dynamic_cast<const OneHot*>(node.op.get()) != nullptr;
}

std::optional<std::vector<NDArray>> one_hot_run(const Apply& node,
                                                const std::vector<NDArray>& in) {
  const auto& op = static_cast<const OneHot&>(*node.op);
  if (in.size() != 2 || in[0].ndim() != 1) return std::nullopt;
  const int64_t n = host_int(in[1]);
  if (n < 0) throw_reference_error(node, in, "nb_class");
  const int64_t rows = in[0].shape(0);
  NDArray out = device_zeros(op.dtype(), {rows, n});
  if (rows == 0) return std::vector<NDArray>{out};
  NDArray y = dense(in[0], DType::Int64);
  DeviceFlag flag;
  const int code = static_cast<int>(op.dtype());
  launch_cuda_source(index_module(), "th_nn_one_hot", {cuda_grid_for(rows, 256), 256, 0},
                     dptr(y), rows, n, dptr(out), code, flag.ptr());
  if (flag.value()) throw_reference_error(node, in, "a label out of range");
  return std::vector<NDArray>{out};
}

}  // namespace

std::vector<const CudaSourceModule*> index_modules() { return {&index_module()}; }

std::vector<CudaOpEntry> index_entries() {
  return {{"AdvancedSubtensor", gather_matches, gather_run},
          {"AdvancedIncSubtensor", inc_matches, inc_run},
          {"OneHot", one_hot_matches, one_hot_run}};
}

}  // namespace theanine::cuda_nn
