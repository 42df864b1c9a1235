#pragma once
// What the device ops of codegen/cuda_nn_ops.cc share: the CUDA C prelude of
// their modules (warp and block reductions, NumPy's NaN-winning maximum), the
// copy-and-convert kernel that makes any device or host array a contiguous
// device array of a given dtype, reading small integer inputs on the host, and
// reporting bad input found on the device with the host path's own error.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "codegen/cuda_source_kernels.h"
#include "graph/variable.h"
#include "runtime/ndarray.h"

namespace theanine::cuda_nn {

// Device helpers every nn module starts with, guarded so that modules
// concatenate into one translation unit (the NVRTC check tool batches files).
// Uses only threadIdx/blockIdx/blockDim/gridDim .x, __syncthreads,
// __shfl_xor_sync, static __shared__ arrays and atomicAdd.
const std::string& prelude();

// The module of the copy-and-convert kernel.
const CudaSourceModule& util_module();

// Modules made of one text of kernel templates and, per key, the lines that
// instantiate some of them as extern "C" kernels: each is compiled only when
// one of its kernels is first launched, so a function pays the NVRTC time of
// the kernels it uses (per dtype, per kind), not of the whole family.
class ModuleFamily {
 public:
  // Module `key` is named "<prefix>_<key>" and holds prelude() + templates +
  // instances.at(key).
  ModuleFamily(const std::string& prefix, const std::string& templates,
               const std::vector<std::pair<std::string, std::string>>& instances);
  // Error naming the family for an unknown key.
  const CudaSourceModule& get(const std::string& key) const;
  std::vector<const CudaSourceModule*> all() const;

 private:
  std::string prefix_;
  std::vector<std::pair<std::string, std::unique_ptr<CudaSourceModule>>> modules_;
};

// The device address of a device array's first element.
inline uint64_t dptr(const NDArray& a) { return reinterpret_cast<uint64_t>(a.raw()); }

// A C-contiguous device array of `dtype` holding `a` (host or device, any
// strides, broadcast views included), converted as NDArray::astype converts:
// `a` itself when it already is one.
NDArray dense(const NDArray& a, DType dtype);
inline NDArray dense(const NDArray& a) { return dense(a, a.dtype()); }

// Element `flat` of a (host or device) as an integer; waits for the device.
int64_t host_int(const NDArray& a, int64_t flat = 0);

// A flag in device memory that kernels set (to any nonzero value) when they
// meet bad input: an index out of range, a label past the classes.
class DeviceFlag {
 public:
  DeviceFlag();
  uint64_t ptr() const { return dptr(flag_); }
  // Waits for the stream; the flag's value. During a graph capture: 0, and the
  // graph reads the flag after each replay (runtime/cuda_graph.h).
  int value() const;

 private:
  NDArray flag_;
};

// Runs the node's reference perform on host copies of `inputs`, so that bad
// input the device found is reported with the reference path's own error (an
// IndexError naming the label and its position). Error naming `what` when the
// reference finds nothing wrong.
[[noreturn]] void throw_reference_error(const Apply& node,
                                        const std::vector<NDArray>& inputs,
                                        const std::string& what);

// True when every value fits an int kernel parameter (sizes and counts the
// kernels index with 32-bit arithmetic).
bool fits_int32(std::initializer_list<int64_t> values);

}  // namespace theanine::cuda_nn
