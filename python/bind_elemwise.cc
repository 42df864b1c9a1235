// _core's elementwise functions. Parameters are typed Var, so Variables, NumPy
// arrays, Python numbers (weak literals) and lists all convert.
#include "ops/elemwise.h"
#include "python/bindings.h"
#include "python/convert.h"

namespace theanine::py {

namespace {

// A dtype given as a name ("float32") or anything numpy.dtype() accepts.
DType dtype_arg(const pyb::object& obj) {
  if (pyb::isinstance<pyb::str>(obj)) return dtype_from_name(obj.cast<std::string>());
  pyb::object dt = pyb::module_::import("numpy").attr("dtype")(obj);
  return dtype_from_name(dt.attr("name").cast<std::string>());
}

using Unary = Var (*)(const Var&, const Here&);
using Binary = Var (*)(const Var&, const Var&, const Here&);

void def_unary(pyb::module_& m, const char* name, Unary f, const char* doc) {
  m.def(
      name, [f](const Var& x) { return f(x, Here::current()); }, pyb::arg("x"), doc);
}
void def_binary(pyb::module_& m, const char* name, Binary f, const char* doc) {
  m.def(
      name, [f](const Var& a, const Var& b) { return f(a, b, Here::current()); },
      pyb::arg("a"), pyb::arg("b"), doc);
}

}  // namespace

void bind_elemwise(pybind11::module_& m) {
  def_binary(m, "add", add, "a + b");
  def_binary(m, "sub", sub, "a - b");
  def_binary(m, "mul", mul, "a * b");
  def_binary(m, "true_div", true_div, "a / b (ints give floats)");
  def_binary(m, "int_div", int_div, "a // b (floor division; x // 0 is 0 for ints)");
  def_binary(m, "mod", mod, "a % b (sign of b; x % 0 is 0 for ints)");
  def_binary(m, "pow", pow, "a ** b");
  def_unary(m, "neg", neg, "-x");
  def_unary(m, "abs", abs, "|x|");
  def_unary(m, "sgn", sgn, "sign of x: -1, 0 or 1");
  def_unary(m, "exp", exp, "e ** x");
  def_unary(m, "log", log, "natural logarithm");
  def_unary(m, "log1p", log1p, "log(1 + x), accurate for small x");
  def_unary(m, "expm1", expm1, "exp(x) - 1, accurate for small x");
  def_unary(m, "sqrt", sqrt, "square root");
  def_unary(m, "sqr", sqr, "x * x");
  def_unary(m, "tanh", tanh, "hyperbolic tangent");
  def_unary(m, "sigmoid", sigmoid, "1 / (1 + exp(-x)), stable for large |x|");
  def_unary(m, "softplus", softplus, "log(1 + exp(x)), stable for large |x|");
  def_unary(m, "sin", sin, "sine");
  def_unary(m, "cos", cos, "cosine");
  def_binary(m, "maximum", maximum, "elementwise maximum (NaN propagates)");
  def_binary(m, "minimum", minimum, "elementwise minimum (NaN propagates)");
  m.def(
      "clip", [](const Var& x, const Var& lo, const Var& hi) { return clip(x, lo, hi); },
      pyb::arg("x"), pyb::arg("a_min"), pyb::arg("a_max"),
      "minimum(maximum(x, a_min), a_max)");
  def_unary(m, "round", round, "round half to even");
  def_unary(m, "floor", floor, "floor (identity on ints)");
  def_unary(m, "ceil", ceil, "ceiling (identity on ints)");
  def_binary(m, "eq", eq, "a == b elementwise");
  def_binary(m, "neq", neq, "a != b elementwise");
  def_binary(m, "lt", lt, "a < b");
  def_binary(m, "le", le, "a <= b");
  def_binary(m, "gt", gt, "a > b");
  def_binary(m, "ge", ge, "a >= b");
  def_binary(m, "and_", and_, "a & b (bitwise on ints, logical on bool)");
  def_binary(m, "or_", or_, "a | b (bitwise on ints, logical on bool)");
  def_binary(m, "xor", xor_, "a ^ b (bitwise on ints, logical on bool)");
  def_unary(m, "invert", invert, "~x (bitwise on ints, logical not on bool)");
  for (const char* name : {"switch", "where"}) {
    m.def(
        name, [](const Var& c, const Var& a, const Var& b) { return switch_(c, a, b); },
        pyb::arg("cond"), pyb::arg("ift"), pyb::arg("iff"),
        "a where cond is true, else b");
  }
  m.def(
      "cast",
      [](const Var& x, const pyb::object& dtype) { return cast(x, dtype_arg(dtype)); },
      pyb::arg("x"), pyb::arg("dtype"), "x converted to dtype");
  def_unary(m, "isnan", isnan, "x is NaN");
  def_unary(m, "isinf", isinf, "x is +inf or -inf");
  m.def(
      "elemwise",
      [](const std::string& name, const std::vector<Var>& inputs) {
        return elemwise(name, inputs);
      },
      pyb::arg("name"), pyb::arg("inputs"), "applies the scalar-op table entry `name`");
  m.def("scalar_op_names", [] {
    std::vector<std::string> names;
    for (const ScalarOp& op : scalar_ops()) names.emplace_back(op.name);
    return names;
  });
}

}  // namespace theanine::py
