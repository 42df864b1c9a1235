// _core.sum, prod, mean, max, min, all, any, argmax, argmin, var, std.
#include "ops/reduce.h"
#include "python/bindings.h"
#include "python/convert.h"
#include "runtime/error.h"

namespace theanine::py {

namespace {

// An axis argument: None, an int (NumPy integers too) or a sequence of ints.
std::optional<std::vector<int>> axes_arg(const pyb::object& axis) {
  if (!axis.is_none() && !pyb::isinstance<pyb::sequence>(axis) &&
      pyb::hasattr(axis, "__index__"))
    return std::vector<int>{pyb::int_(axis).cast<int>()};
  return axes_from_object(axis);
}

std::optional<DType> dtype_arg(const pyb::object& dtype, const char* what) {
  if (dtype.is_none()) return std::nullopt;
  return dtype_from_numpy(pyb::dtype::from_args(dtype), what);
}

void def_reduce(pyb::module_& m, ReduceKind kind, const char* doc) {
  m.def(
      reduce_kind_name(kind),
      [kind](const Var& x, const pyb::object& axis, bool keepdims,
             const pyb::object& dtype, const pyb::object& acc_dtype) {
        const std::string what = std::string(reduce_kind_name(kind));
        std::optional<DType> out = dtype_arg(dtype, (what + " dtype").c_str());
        std::optional<DType> acc = dtype_arg(acc_dtype, (what + " acc_dtype").c_str());
        // The accumulator is fixed (float64 for float sums); only a request for
        // that one can be honoured.
        DType natural = reduce_acc_dtype(kind, x.dtype());
        if (acc && *acc != natural)
          throw ValueError(what + ": acc_dtype=" + dtype_name(*acc) +
                           " is not supported for an input of dtype " +
                           dtype_name(x.dtype()) + "; it accumulates in " +
                           dtype_name(natural));
        return reduce(kind, x, axes_arg(axis), keepdims, out);
      },
      pyb::arg("x"), pyb::arg("axis") = pyb::none(), pyb::arg("keepdims") = false,
      pyb::arg("dtype") = pyb::none(), pyb::arg("acc_dtype") = pyb::none(), doc);
}

template <class F>
void def_arg_reduce(pyb::module_& m, const char* name, F builder) {
  m.def(
      name,
      [name, builder](const Var& x, const pyb::object& axis, bool keepdims) {
        std::optional<std::vector<int>> axes = axes_arg(axis);
        std::optional<int> a;
        if (axes) {
          if (axes->size() != 1)
            throw ValueError(std::string(name) + ": axis must be None or one int, got " +
                             std::string(pyb::repr(axis)));
          a = (*axes)[0];
        }
        return builder(x, a, keepdims, Here::current());
      },
      pyb::arg("x"), pyb::arg("axis") = pyb::none(), pyb::arg("keepdims") = false);
}

template <class F>
void def_moments(pyb::module_& m, const char* name, F builder) {
  m.def(
      name,
      [builder](const Var& x, const pyb::object& axis, bool keepdims, int ddof) {
        return builder(x, axes_arg(axis), keepdims, ddof, Here::current());
      },
      pyb::arg("x"), pyb::arg("axis") = pyb::none(), pyb::arg("keepdims") = false,
      pyb::arg("ddof") = 0);
}

}  // namespace

void bind_reduce(pyb::module_& m) {
  def_reduce(m, ReduceKind::Sum, "Sum over axis (None: all); ints and bool give int64.");
  def_reduce(m, ReduceKind::Prod,
             "Product over axis (None: all); ints and bool give int64.");
  def_reduce(m, ReduceKind::Mean,
             "Mean over axis (None: all); ints and bool give float64.");
  def_reduce(m, ReduceKind::Max, "Maximum over axis (None: all); NaN propagates.");
  def_reduce(m, ReduceKind::Min, "Minimum over axis (None: all); NaN propagates.");
  def_reduce(m, ReduceKind::All, "True where every element over axis is nonzero.");
  def_reduce(m, ReduceKind::Any, "True where some element over axis is nonzero.");
  def_arg_reduce(m, "argmax",
                 [](const Var& x, std::optional<int> a, bool k, const Here& l) {
                   return argmax(x, a, k, l);
                 });
  def_arg_reduce(m, "argmin",
                 [](const Var& x, std::optional<int> a, bool k, const Here& l) {
                   return argmin(x, a, k, l);
                 });
  def_moments(m, "var", [](const Var& x, Axes a, bool k, int d, const Here& l) {
    return var(x, std::move(a), k, d, l);
  });
  def_moments(m, "std", [](const Var& x, Axes a, bool k, int d, const Here& l) {
    return theanine::std(x, std::move(a), k, d, l);
  });
}

}  // namespace theanine::py
