#pragma once
// Conversions between Python objects and the C++ core, shared by every bind_*.cc.
//
// Any function bound with a `theanine::Var` parameter accepts a Variable, a NumPy
// array, a Python number or a nested list: non-Variables become constants
// (Python numbers become weak literals that adopt their partner's dtype).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "graph/variable.h"
#include "runtime/ndarray.h"

namespace theanine::py {

namespace pyb = pybind11;

// NumPy dtype of a theanine dtype and back (TypeError for unsupported ones).
pyb::dtype numpy_dtype(DType d);
DType dtype_from_numpy(const pyb::dtype& dt, const std::string& what);

// A view of a NumPy array's memory when the layout allows (keeps the array
// alive), else a copy. `what` names the value in errors.
NDArray ndarray_from_numpy(const pyb::array& a, const std::string& what);
// Converts any array-like (array, number, list) with NumPy's rules.
NDArray ndarray_from_object(const pyb::handle& obj, const std::string& what);
// A NumPy array viewing the same memory (the buffer stays alive with it); a
// device array is copied to the host first.
pyb::array numpy_from_ndarray(const NDArray& a);

// An array in CUDA device memory, as Python sees it (theanine.DeviceArray):
// function outputs kept on the device, accepted back as function arguments.
struct DeviceArray {
  NDArray value;
};
// A DeviceArray for a device array, else a NumPy array.
pyb::object object_from_ndarray(const NDArray& a);

// A Variable from a Variable, array-like or number (see above); TypeError if
// none of these.
Var as_var(const pyb::handle& obj);
// Reads an int, a sequence of ints, or None as an optional axis list.
std::optional<std::vector<int>> axes_from_object(const pyb::handle& obj);

}  // namespace theanine::py

namespace pybind11::detail {
template <>
struct type_caster<theanine::Var> {
  PYBIND11_TYPE_CASTER(theanine::Var, const_name("Variable"));
  bool load(handle src, bool convert);
  static handle cast(const theanine::Var& v, return_value_policy policy, handle parent) {
    return type_caster<std::shared_ptr<theanine::Variable>>::cast(v.ptr(), policy,
                                                                  parent);
  }
};
}  // namespace pybind11::detail
