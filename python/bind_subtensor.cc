// Python bindings of indexing: subtensor(x, key) takes exactly what __getitem__
// receives.
#include <climits>

#include "ops/op_util.h"
#include "ops/subtensor.h"
#include "python/bindings.h"
#include "python/convert.h"
#include "runtime/error.h"

namespace theanine::py {

namespace {

std::string repr_of(const pyb::handle& h) { return pyb::str(pyb::repr(h)); }

bool is_numpy_integer(const pyb::handle& h) {
  static pyb::object np_integer = pyb::module_::import("numpy").attr("integer");
  return pyb::isinstance(h, np_integer);
}

bool is_bool_like(const pyb::handle& h) {
  static pyb::object np_bool = pyb::module_::import("numpy").attr("bool_");
  return pyb::isinstance<pyb::bool_>(h) || pyb::isinstance(h, np_bool);
}

// A Python int as an int64; ones beyond the range saturate, which keeps slice
// clamping right and makes integer indices fail the bounds check.
int64_t saturating_int(const pyb::handle& h) {
  int overflow = 0;
  long long v = PyLong_AsLongLongAndOverflow(
      pyb::int_(pyb::reinterpret_borrow<pyb::object>(h)).ptr(), &overflow);
  if (overflow > 0) return LLONG_MAX;
  if (overflow < 0) return LLONG_MIN;
  return v;
}

Bound slice_bound(const pyb::handle& h, const char* which) {
  if (h.is_none()) return Bound();
  if (is_bool_like(h) || pyb::isinstance<pyb::float_>(h))
    throw TypeError(std::string("subtensor: slice ") + which +
                    " must be an integer, None or an integer scalar variable, got " +
                    repr_of(h));
  if (pyb::isinstance<pyb::int_>(h) || is_numpy_integer(h))
    return Bound(saturating_int(h));
  if (pyb::isinstance<Variable>(h) || pyb::hasattr(h, "_as_variable"))
    return Bound(as_var(h));
  throw TypeError(std::string("subtensor: slice ") + which +
                  " must be an integer, None or an integer scalar variable, got " +
                  repr_of(h));
}

Index index_from(const pyb::handle& h) {
  if (h.is_none()) return newaxis();
  if (h.is(pyb::ellipsis())) return ellipsis();
  if (pyb::isinstance<pyb::slice>(h))
    return slice(slice_bound(h.attr("start"), "start"),
                 slice_bound(h.attr("stop"), "stop"),
                 slice_bound(h.attr("step"), "step"));
  if (is_bool_like(h))
    throw TypeError("subtensor: boolean mask indexing is not supported (got " +
                    repr_of(h) + ")");
  if (pyb::isinstance<pyb::int_>(h) || is_numpy_integer(h)) return idx(saturating_int(h));
  if (pyb::isinstance<Variable>(h) || pyb::hasattr(h, "_as_variable"))
    return idx(as_var(h));
  if (pyb::isinstance<pyb::list>(h) || pyb::isinstance<pyb::tuple>(h) ||
      pyb::isinstance<pyb::array>(h)) {
    pyb::object np = pyb::module_::import("numpy");
    pyb::array a = np.attr("asarray")(h);
    // [] converts to float64; as an index it means "no elements".
    if (a.size() == 0 && a.dtype().kind() == 'f') a = np.attr("asarray")(h, "int64");
    char kind = a.dtype().kind();
    if (kind == 'b')
      throw TypeError("subtensor: boolean mask indexing is not supported (got " +
                      repr_of(h) + ")");
    if (kind != 'i' && kind != 'u')
      throw TypeError("subtensor: index arrays must be integers, got dtype " +
                      std::string(pyb::str(a.dtype())) + " (" + repr_of(h) + ")");
    return idx(make_constant(ndarray_from_numpy(a, "index").copy()));
  }
  if (pyb::isinstance<pyb::float_>(h))
    throw TypeError(
        "subtensor: indices must be integers, slices, None, ..., integer "
        "arrays or integer variables; got the float " +
        repr_of(h));
  throw TypeError(
      "subtensor: indices must be integers, slices, None, ..., integer arrays or "
      "integer variables; got " +
      repr_of(h));
}

}  // namespace

void bind_subtensor(pyb::module_& m) {
  m.def(
      "subtensor",
      [](const Var& x, const pyb::object& key) {
        std::vector<Index> k;
        if (pyb::isinstance<pyb::tuple>(key)) {
          for (pyb::handle h : key) k.push_back(index_from(h));
        } else {
          k.push_back(index_from(key));
        }
        return subtensor(x, k);
      },
      pyb::arg("x"), pyb::arg("key"),
      "x[key] where key is what __getitem__ receives: ints, slices, None, Ellipsis, "
      "integer Variables, integer lists or arrays, or a tuple of those.");
  m.def(
      "set_subtensor",
      [](const Var& x_sub, const Var& y) { return set_subtensor(x_sub, y); },
      pyb::arg("x"), pyb::arg("y"));
  m.def(
      "inc_subtensor",
      [](const Var& x_sub, const Var& y) { return inc_subtensor(x_sub, y); },
      pyb::arg("x"), pyb::arg("y"));
}

}  // namespace theanine::py
