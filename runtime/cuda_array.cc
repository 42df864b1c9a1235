#include "runtime/cuda_array.h"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "runtime/allocator.h"
#include "runtime/cuda_driver.h"
#include "runtime/cuda_graph.h"
#include "runtime/cuda_memory.h"
#include "runtime/error.h"

namespace theanine {

namespace {

std::atomic<DeviceAssignFn> g_assign{nullptr};

// The element range [lo, hi] a view touches, in elements from the buffer start.
std::pair<int64_t, int64_t> element_span(const NDArray& a) {
  int64_t lo = a.offset(), hi = a.offset();
  for (int d = 0; d < a.ndim(); ++d) {
    const int64_t reach = (a.shape(d) - 1) * a.strides()[d];
    (reach < 0 ? lo : hi) += reach;
  }
  return {lo, hi};
}

}  // namespace

NDArray device_empty(DType dtype, const Shape& shape) {
  for (int64_t d : shape)
    if (d < 0) throw ShapeError("negative dimension in shape " + shape_str(shape));
  const size_t nbytes = std::max<size_t>(shape_size(shape) * itemsize(dtype), 1);
  std::shared_ptr<void> block = allocate_device(nbytes);
  NDArray a = NDArray::borrow(block.get(), dtype, shape, contiguous_strides(shape), block,
                              nbytes);
  a.buffer()->device = DeviceKind::CUDA;
  return a;
}

NDArray device_zeros(DType dtype, const Shape& shape) {
  NDArray a = device_empty(dtype, shape);
  cuda::memset_device(device_address(a.buffer()->keepalive), 0, a.buffer()->nbytes);
  return a;
}

NDArray to_device(const NDArray& a) {
  if (!a.defined() || on_device(a)) return a;
  NDArray host = a.contiguous();
  if (cuda::capturing()) {
    // Host data a captured graph reads (a constant, a value computed from
    // shapes): copied now into a block outside the graph's pool, which a later
    // recorded kernel could otherwise overwrite, and kept by the graph.
    DevicePoolScope shared_cache(nullptr);
    NDArray d = device_empty(a.dtype(), a.shape());
    cuda::copy_to_device_now(reinterpret_cast<uint64_t>(d.raw()), host.raw(),
                             host.nbytes());
    capture_keep(d);
    return d;
  }
  NDArray d = device_empty(a.dtype(), a.shape());
  if (host.size() > 0)
    cuda::copy_to_device(reinterpret_cast<uint64_t>(d.raw()), host.raw(), host.nbytes());
  return d;
}

NDArray to_host(const NDArray& a) {
  if (!on_device(a)) return a;
  if (a.size() == 0) return NDArray::empty(a.dtype(), a.shape());
  const size_t item = itemsize(a.dtype());
  if (a.is_contiguous()) {
    NDArray h = NDArray::empty(a.dtype(), a.shape());
    cuda::copy_to_host(h.raw(), reinterpret_cast<uint64_t>(a.raw()), a.nbytes());
    return h;
  }
  // A strided view: bring the span it touches over, view it the same way on
  // the host, and make that contiguous.
  auto [lo, hi] = element_span(a);
  const Shape span_shape{hi - lo + 1};
  NDArray span = NDArray::empty(a.dtype(), span_shape);
  const char* base = static_cast<const char*>(a.buffer()->data);
  cuda::copy_to_host(span.raw(), reinterpret_cast<uint64_t>(base + lo * item),
                     span.nbytes());
  // Element `lo` of the device buffer is element 0 of the span.
  NDArray shifted = NDArray::borrow(
      static_cast<char*>(span.raw()) + (a.offset() - lo) * item, a.dtype(), a.shape(),
      a.strides(), span.buffer()->keepalive, span.buffer()->nbytes);
  return shifted.copy();
}

namespace {
std::atomic<DeviceKind> g_default_device{DeviceKind::CPU};
}  // namespace

DeviceKind default_device() { return g_default_device.load(); }

void set_default_device(DeviceKind device) {
  if (device == DeviceKind::CUDA && !cuda_available())
    throw Error("device 'cuda' was asked for, but CUDA is not available: " +
                cuda_unavailable_reason());
  g_default_device.store(device);
}

const char* device_name(DeviceKind device) {
  return device == DeviceKind::CUDA ? "cuda" : "cpu";
}

DeviceKind parse_device(const std::string& name) {
  if (name == "cpu") return DeviceKind::CPU;
  if (name == "cuda" || name == "gpu" || name == "cuda0" || name == "gpu0")
    return DeviceKind::CUDA;
  throw ValueError("unknown device '" + name + "' (expected 'cpu' or 'cuda')");
}

void set_device_assign(DeviceAssignFn fn) { g_assign.store(fn); }

void device_assign(const NDArray& dst, const NDArray& src_in) {
  NDArray src = src_in.broadcast_to(dst.shape());
  if (dst.size() == 0) return;
  if (!on_device(src) && src.dtype() == dst.dtype() && src.is_contiguous() &&
      dst.is_contiguous() && src.shape() == dst.shape()) {
    cuda::copy_to_device(reinterpret_cast<uint64_t>(dst.raw()), src.raw(), dst.nbytes());
    return;
  }
  if (!on_device(src)) {
    // Host data goes over in its own dtype and layout first.
    src = to_device(src_in.contiguous()).broadcast_to(dst.shape());
  }
  if (src.dtype() == dst.dtype() && src.is_contiguous() && dst.is_contiguous() &&
      src.shape() == dst.shape()) {
    // (A broadcast view repeating an element is never contiguous.)
    cuda::copy_device_to_device(reinterpret_cast<uint64_t>(dst.raw()),
                                reinterpret_cast<uint64_t>(src.raw()), dst.nbytes());
    return;
  }
  DeviceAssignFn fn = g_assign.load();
  if (!fn)
    throw Error(
        "copying a strided or converted device array needs the CUDA copy kernel, "
        "which no compiled CUDA function has registered yet");
  fn(dst, src);
}

}  // namespace theanine
