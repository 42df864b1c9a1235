#pragma once
// NDArrays in device memory: a Buffer with device CUDA whose data is a device
// address (runtime/cuda_memory.h's caching allocator keeps it). Views (slices,
// transposes, broadcasts) are the same metadata as on the host; what reads or
// writes elements goes through these functions, or through the device copy
// kernel a backend registers (set_device_assign), never through host pointers.
#include <string>

#include "runtime/ndarray.h"

namespace theanine {

inline bool on_device(const NDArray& a) {
  return a.defined() && a.buffer()->device == DeviceKind::CUDA;
}

// A new C-contiguous device array; contents uninitialized. Error when CUDA is
// unavailable or the device is out of memory (naming the size).
NDArray device_empty(DType dtype, const Shape& shape);
NDArray device_zeros(DType dtype, const Shape& shape);

// A contiguous device copy of a host array (of any layout), or `a` itself when
// it is already on the device.
NDArray to_device(const NDArray& a);
// A host copy of a device array (contiguous, in a buffer of the host
// allocator), or `a` itself when it is on the host. Waits for the stream.
NDArray to_host(const NDArray& a);

// Element-wise copy with conversion between device arrays of the same shape
// (`src` already broadcast), any strides: registered by the backend that owns
// a device copy kernel (codegen/cuda_program.cc). NDArray::assign, astype,
// copy and reshape of device arrays call it.
using DeviceAssignFn = void (*)(const NDArray& dst, const NDArray& src);
void set_device_assign(DeviceAssignFn fn);
// Copies src (broadcast to dst's shape, converted; host or device) into the
// device array dst. Error when no copy kernel is registered and the copy is
// not a plain contiguous one.
void device_assign(const NDArray& dst, const NDArray& src);

// Where new shared variables live and what function() compiles for when the
// graph does not say (Theano's device flag): CPU unless set. Setting CUDA is
// an Error naming the reason when no device is available.
DeviceKind default_device();
void set_default_device(DeviceKind device);
const char* device_name(DeviceKind device);  // "cpu", "cuda"
// "cpu" / "cuda" (also Theano's "gpu", "cuda0") -> the kind; ValueError otherwise.
DeviceKind parse_device(const std::string& name);

}  // namespace theanine
