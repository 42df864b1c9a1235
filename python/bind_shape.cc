// Python bindings of the shape ops (ops/shape_ops.h), with Theano's signatures.
#include "ops/op_util.h"
#include "ops/shape_ops.h"
#include "ops/subtensor.h"
#include "python/bindings.h"
#include "python/convert.h"
#include "runtime/error.h"

namespace theanine::py {

namespace {

std::optional<DType> dtype_arg(const pyb::handle& o) {
  if (o.is_none()) return std::nullopt;
  if (pyb::isinstance<pyb::str>(o)) return dtype_from_name(o.cast<std::string>());
  // NumPy dtypes and scalar types (np.float32).
  pyb::object dt = pyb::module_::import("numpy").attr("dtype")(o);
  return dtype_from_numpy(dt.cast<pyb::dtype>(), "dtype");
}

bool is_int_like(const pyb::handle& h) {
  if (pyb::isinstance<pyb::bool_>(h)) return false;
  if (pyb::isinstance<pyb::int_>(h)) return true;
  static pyb::object np_integer = pyb::module_::import("numpy").attr("integer");
  return pyb::isinstance(h, np_integer);
}

// One entry of a shape: an int or an integer scalar Variable.
Var shape_entry(const pyb::handle& h, const std::string& what) {
  if (is_int_like(h))
    return make_constant(NDArray::from_vector<int64_t>({h.cast<int64_t>()}, {}));
  if (pyb::isinstance<Variable>(h)) return as_var(h);
  throw TypeError(what +
                  ": shape entries must be ints or integer scalar variables, got " +
                  std::string(pyb::str(pyb::repr(h))));
}

// A shape given as an int, a sequence of ints and/or scalar Variables, or an int
// vector Variable of known length: one scalar Var per dim.
std::vector<Var> shape_entries(const pyb::handle& shape, const std::string& what) {
  std::vector<Var> r;
  if (pyb::isinstance<Variable>(shape)) {
    Var v = as_var(shape);
    if (v.ndim() == 0) return {v};
    if (v.ndim() != 1 || v.type().shape[0] < 0)
      throw TypeError(what + ": a shape variable must be a vector of known length, got " +
                      v->describe());
    for (int64_t i = 0; i < v.type().shape[0]; ++i) r.push_back(subtensor(v, {idx(i)}));
    return r;
  }
  if (is_int_like(shape)) return {shape_entry(shape, what)};
  for (pyb::handle h : shape) r.push_back(shape_entry(h, what));
  return r;
}

}  // namespace

void bind_shape(pyb::module_& m) {
  m.def(
      "reshape",
      [](const Var& x, const pyb::object& shape, const pyb::object& ndim) -> Var {
        std::optional<int> nd;
        if (!ndim.is_none()) nd = ndim.cast<int>();
        if (pyb::isinstance<Variable>(shape) && as_var(shape).ndim() == 1) {
          Var s = as_var(shape);
          if (!nd && s.type().shape[0] < 0)
            throw ValueError("reshape: the length of the shape vector " + s->describe() +
                             " is not known; pass ndim");
          return reshape(x, s, nd.value_or(static_cast<int>(s.type().shape[0])));
        }
        std::vector<int64_t> ints;
        bool all_ints = true;
        pyb::object seq = is_int_like(shape) || pyb::isinstance<Variable>(shape)
                              ? pyb::object(pyb::make_tuple(shape))
                              : shape;
        for (pyb::handle h : seq) {
          if (is_int_like(h))
            ints.push_back(h.cast<int64_t>());
          else
            all_ints = false;
        }
        if (all_ints) {
          if (nd && *nd != static_cast<int>(ints.size()))
            throw ValueError("reshape: ndim " + std::to_string(*nd) +
                             " does not match shape " + std::string(pyb::str(seq)));
          return reshape(x, ints);
        }
        std::vector<Var> entries = shape_entries(seq, "reshape");
        if (nd && *nd != static_cast<int>(entries.size()))
          throw ValueError("reshape: ndim " + std::to_string(*nd) +
                           " does not match the " + std::to_string(entries.size()) +
                           " entries of the shape");
        return reshape(x, make_vector(entries, DType::Int64),
                       static_cast<int>(entries.size()));
      },
      pyb::arg("x"), pyb::arg("shape"), pyb::arg("ndim") = pyb::none());
  m.def(
      "flatten", [](const Var& x, int ndim) { return flatten(x, ndim); }, pyb::arg("x"),
      pyb::arg("ndim") = 1);
  m.def(
      "dimshuffle",
      [](const Var& x, const pyb::object& pattern) {
        std::vector<int> p;
        for (pyb::handle h : pattern) {
          if (pyb::isinstance<pyb::str>(h) && h.cast<std::string>() == "x")
            p.push_back(-1);
          else if (is_int_like(h))
            p.push_back(h.cast<int>());
          else
            throw TypeError(
                "dimshuffle: pattern entries must be dims (ints) or 'x', got " +
                std::string(pyb::str(pyb::repr(h))));
        }
        return dimshuffle(x, p);
      },
      pyb::arg("x"), pyb::arg("pattern"));
  m.def(
      "transpose",
      [](const Var& x, const pyb::object& axes) {
        return transpose(x, axes_from_object(axes));
      },
      pyb::arg("x"), pyb::arg("axes") = pyb::none());
  m.def(
      "shape", [](const Var& x) { return shape(x); }, pyb::arg("x"));
  m.def(
      "shape_i", [](const Var& x, int i) { return shape_i(x, i); }, pyb::arg("x"),
      pyb::arg("i"));
  m.def(
      "make_vector",
      [](const std::vector<Var>& xs, const pyb::object& dtype) {
        std::optional<DType> d = dtype_arg(dtype);
        if (!d) d = xs.empty() ? DType::Int64 : result_dtype(xs);
        return make_vector(xs, *d);
      },
      pyb::arg("scalars"), pyb::arg("dtype") = pyb::none());
  m.def(
      "concatenate",
      [](const std::vector<Var>& xs, int axis) { return concatenate(xs, axis); },
      pyb::arg("tensors"), pyb::arg("axis") = 0);
  m.def(
      "join",
      [](int axis, const pyb::args& tensors) {
        std::vector<Var> xs;
        for (pyb::handle h : tensors) xs.push_back(as_var(h));
        return concatenate(xs, axis);
      },
      pyb::arg("axis"));
  m.def(
      "stack", [](const std::vector<Var>& xs, int axis) { return stack(xs, axis); },
      pyb::arg("tensors"), pyb::arg("axis") = 0);
  m.def(
      "arange",
      [](const Var& start, const pyb::object& stop, const Var& step,
         const pyb::object& dtype) {
        if (stop.is_none())
          return arange(scalar_literal(0, true), start, step, dtype_arg(dtype));
        return arange(start, as_var(stop), step, dtype_arg(dtype));
      },
      pyb::arg("start"), pyb::arg("stop") = pyb::none(), pyb::arg("step") = 1,
      pyb::arg("dtype") = pyb::none());
  m.def(
      "alloc",
      [](const Var& value, const pyb::args& shape) {
        std::vector<Var> entries;
        for (pyb::handle h : shape) entries.push_back(shape_entry(h, "alloc"));
        return alloc(value, entries);
      },
      pyb::arg("value"));
  m.def(
      "zeros",
      [](const pyb::object& shape, const pyb::object& dtype) {
        return zeros(shape_entries(shape, "zeros"), *dtype_arg(dtype));
      },
      pyb::arg("shape"), pyb::arg("dtype") = "float64");
  m.def(
      "ones",
      [](const pyb::object& shape, const pyb::object& dtype) {
        return ones(shape_entries(shape, "ones"), *dtype_arg(dtype));
      },
      pyb::arg("shape"), pyb::arg("dtype") = "float64");
  m.def(
      "fill", [](const Var& model, const Var& value) { return fill(model, value); },
      pyb::arg("model"), pyb::arg("value"));
  m.def(
      "zeros_like",
      [](const Var& x, const pyb::object& dtype) {
        return zeros_like(x, dtype_arg(dtype));
      },
      pyb::arg("x"), pyb::arg("dtype") = pyb::none());
  m.def(
      "ones_like",
      [](const Var& x, const pyb::object& dtype) {
        return ones_like(x, dtype_arg(dtype));
      },
      pyb::arg("x"), pyb::arg("dtype") = pyb::none());
  m.def(
      "repeat",
      [](const Var& x, const Var& repeats, const pyb::object& axis) {
        std::optional<int> a;
        if (!axis.is_none()) a = axis.cast<int>();
        return repeat(x, repeats, a);
      },
      pyb::arg("x"), pyb::arg("repeats"), pyb::arg("axis") = pyb::none());
  m.def(
      "tile",
      [](const Var& x, const pyb::object& reps) {
        std::vector<int64_t> r;
        pyb::object seq = is_int_like(reps) ? pyb::object(pyb::make_tuple(reps)) : reps;
        for (pyb::handle h : seq) {
          if (!is_int_like(h))
            throw TypeError("tile: reps must be ints, got " +
                            std::string(pyb::str(pyb::repr(h))));
          r.push_back(h.cast<int64_t>());
        }
        return tile(x, r);
      },
      pyb::arg("x"), pyb::arg("reps"));
}

}  // namespace theanine::py
