#include "python/convert.h"

#include <optional>

#include "ops/op_util.h"
#include "runtime/cuda_array.h"
#include "runtime/error.h"

namespace theanine::py {

pyb::dtype numpy_dtype(DType d) {
  // Made once per dtype: parsing a dtype string on every returned array costs
  // more than the rest of a small call. Kept for the life of the process.
  static pyb::dtype* cache[8] = {};
  pyb::dtype*& slot = cache[static_cast<int>(d)];
  if (!slot) slot = new pyb::dtype(dtype_name(d));
  return *slot;
}

namespace {

// The dtype from the descriptor's kind and size, without a Python attribute
// lookup; nullopt for what theanine does not support.
std::optional<DType> dtype_from_descr(const pyb::dtype& dt) {
  const ssize_t size = dt.itemsize();
  switch (dt.kind()) {
    case 'b':
      return size == 1 ? std::optional(DType::Bool) : std::nullopt;
    case 'u':
      return size == 1 ? std::optional(DType::UInt8) : std::nullopt;
    case 'i':
      switch (size) {
        case 1:
          return DType::Int8;
        case 2:
          return DType::Int16;
        case 4:
          return DType::Int32;
        case 8:
          return DType::Int64;
      }
      return std::nullopt;
    case 'f':
      if (size == 4) return DType::Float32;
      if (size == 8) return DType::Float64;
      return std::nullopt;
  }
  return std::nullopt;
}

// Whether the data is in this machine's byte order ('=' native, '|' no order).
bool native_order(const pyb::dtype& dt) {
  const char b = dt.byteorder();
  if (b == '=' || b == '|') return true;
  const uint16_t probe = 1;
  const bool little = *reinterpret_cast<const uint8_t*>(&probe) == 1;
  return little ? b == '<' : b == '>';
}

}  // namespace

DType dtype_from_numpy(const pyb::dtype& dt, const std::string& what) {
  // Byte order aside ('>f4' is float32): ndarray_from_numpy makes non-native
  // arrays native before viewing them.
  if (auto d = dtype_from_descr(dt)) return *d;
  throw TypeError(what + ": unsupported dtype " + std::string(pyb::str(dt)) +
                  " (theanine supports bool, int8, int16, int32, int64, uint8, float32, "
                  "float64)");
}

NDArray ndarray_from_numpy(const pyb::array& a, const std::string& what) {
  DType d = dtype_from_numpy(a.dtype(), what);
  const size_t isz = itemsize(d);
  Shape shape(a.shape(), a.shape() + a.ndim());
  Shape strides(a.ndim());
  bool aligned =
      native_order(a.dtype()) && reinterpret_cast<uintptr_t>(a.data()) % isz == 0;
  for (int i = 0; i < a.ndim(); ++i) {
    if (a.strides(i) % static_cast<ssize_t>(isz) != 0) aligned = false;
    strides[i] = a.strides(i) / static_cast<ssize_t>(isz);
  }
  if (!aligned) {
    // Byte-swapped or oddly strided: NumPy makes a clean copy for us.
    pyb::array clean = pyb::module_::import("numpy").attr("ascontiguousarray")(
        a, pyb::arg("dtype") = a.dtype().attr("newbyteorder")("="));
    return ndarray_from_numpy(clean, what);
  }
  // The keepalive holds a reference to the array; dropping it needs the GIL.
  auto* ref = new pyb::object(a);
  std::shared_ptr<void> keep(ref, [](void* p) {
    pyb::gil_scoped_acquire gil;
    delete static_cast<pyb::object*>(p);
  });
  // The buffer extent: enough to let shares_memory() compare ranges.
  size_t nbytes = a.nbytes();
  return NDArray::borrow(const_cast<void*>(a.data()), d, shape, strides, keep, nbytes);
}

NDArray ndarray_from_object(const pyb::handle& obj, const std::string& what) {
  if (pyb::isinstance<DeviceArray>(obj)) return obj.cast<const DeviceArray&>().value;
  if (pyb::isinstance<pyb::array>(obj))
    return ndarray_from_numpy(obj.cast<pyb::array>(), what);
  pyb::object np = pyb::module_::import("numpy");
  pyb::object arr;
  try {
    arr = np.attr("asarray")(obj);
  } catch (pyb::error_already_set& e) {
    throw TypeError(what + ": cannot convert " +
                    std::string(pyb::str(pyb::type::handle_of(obj).attr("__name__"))) +
                    " to an array: " + e.what());
  }
  return ndarray_from_numpy(arr.cast<pyb::array>(), what);
}

pyb::array numpy_from_ndarray(const NDArray& a) {
  if (on_device(a)) return numpy_from_ndarray(to_host(a));
  const size_t isz = itemsize(a.dtype());
  std::vector<ssize_t> shape(a.shape().begin(), a.shape().end());
  std::vector<ssize_t> strides;
  for (int64_t s : a.strides()) strides.push_back(s * static_cast<ssize_t>(isz));
  auto* holder = new std::shared_ptr<Buffer>(a.buffer());
  pyb::capsule base(holder,
                    [](void* p) { delete static_cast<std::shared_ptr<Buffer>*>(p); });
  return pyb::array(numpy_dtype(a.dtype()), shape, strides, a.raw(), base);
}

pyb::object object_from_ndarray(const NDArray& a) {
  if (on_device(a)) return pyb::cast(DeviceArray{a});
  return numpy_from_ndarray(a);
}

Var as_var(const pyb::handle& obj) {
  if (pyb::isinstance<Variable>(obj)) return Var(obj.cast<std::shared_ptr<Variable>>());
  // Python numbers are weak literals; bool is tested first (bool is an int).
  if (pyb::isinstance<pyb::bool_>(obj)) {
    Var v = make_constant(NDArray::scalar(DType::Bool, obj.cast<bool>()), "", true);
    return v;
  }
  if (pyb::isinstance<pyb::int_>(obj)) return scalar_literal(obj.cast<double>(), true);
  if (pyb::isinstance<pyb::float_>(obj)) return scalar_literal(obj.cast<double>(), false);
  if (pyb::hasattr(obj, "_as_variable")) return as_var(obj.attr("_as_variable")());
  return make_constant(ndarray_from_object(obj, "constant").copy());
}

std::optional<std::vector<int>> axes_from_object(const pyb::handle& obj) {
  if (obj.is_none()) return std::nullopt;
  if (pyb::isinstance<pyb::int_>(obj)) return std::vector<int>{obj.cast<int>()};
  std::vector<int> axes;
  for (pyb::handle h : obj) axes.push_back(h.cast<int>());
  return axes;
}

}  // namespace theanine::py

namespace pybind11::detail {
bool type_caster<theanine::Var>::load(handle src, bool convert) {
  if (isinstance<theanine::Variable>(src)) {
    value = theanine::Var(src.cast<std::shared_ptr<theanine::Variable>>());
    return true;
  }
  if (!convert || src.is_none()) return false;
  value = theanine::py::as_var(src);
  return true;
}
}  // namespace pybind11::detail
