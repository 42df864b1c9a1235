#include "python/convert.h"

#include "ops/op_util.h"
#include "runtime/error.h"

namespace theanine::py {

pyb::dtype numpy_dtype(DType d) { return pyb::dtype(dtype_name(d)); }

DType dtype_from_numpy(const pyb::dtype& dt, const std::string& what) {
  // NumPy's name ignores byte order ('>f4' is "float32"); ndarray_from_numpy
  // makes non-native arrays native before viewing them.
  DType d;
  if (dtype_from_name(std::string(pyb::str(dt.attr("name"))), &d)) return d;
  throw TypeError(what + ": unsupported dtype " + std::string(pyb::str(dt)) +
                  " (theanine supports bool, int8, int16, int32, int64, uint8, float32, "
                  "float64)");
}

NDArray ndarray_from_numpy(const pyb::array& a, const std::string& what) {
  DType d = dtype_from_numpy(a.dtype(), what);
  const size_t isz = itemsize(d);
  Shape shape(a.shape(), a.shape() + a.ndim());
  Shape strides(a.ndim());
  bool aligned = a.dtype().attr("isnative").cast<bool>() &&
                 reinterpret_cast<uintptr_t>(a.data()) % isz == 0;
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
  const size_t isz = itemsize(a.dtype());
  std::vector<ssize_t> shape(a.shape().begin(), a.shape().end());
  std::vector<ssize_t> strides;
  for (int64_t s : a.strides()) strides.push_back(s * static_cast<ssize_t>(isz));
  auto* holder = new std::shared_ptr<Buffer>(a.buffer());
  pyb::capsule base(holder,
                    [](void* p) { delete static_cast<std::shared_ptr<Buffer>*>(p); });
  return pyb::array(numpy_dtype(a.dtype()), shape, strides, a.raw(), base);
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
