#include "ops/gradient.h"
#include "python/bindings.h"
#include "python/convert.h"
#include "runtime/error.h"

namespace theanine::py {

namespace {

DisconnectedInputs disconnected_policy(const std::string& s) {
  if (s == "raise") return DisconnectedInputs::Raise;
  if (s == "warn") return DisconnectedInputs::Warn;
  if (s == "ignore") return DisconnectedInputs::Ignore;
  throw ValueError("disconnected_inputs must be 'raise', 'warn' or 'ignore', got '" + s +
                   "'");
}

ReturnDisconnected return_policy(const std::string& s) {
  if (s == "zero") return ReturnDisconnected::Zero;
  if (s == "None" || s == "none") return ReturnDisconnected::Null;
  throw ValueError("return_disconnected must be 'zero' or 'None', got '" + s + "'");
}

pyb::list to_list(const std::vector<Var>& vs) {
  pyb::list l;
  for (const Var& v : vs) l.append(v ? pyb::cast(v) : pyb::none());
  return l;
}

}  // namespace

void bind_gradient(pyb::module_& m) {
  m.def(
      "grad",
      [](const pyb::object& cost, const std::vector<Var>& wrt,
         const std::vector<Var>& consider_constant,
         const std::string& disconnected_inputs,
         const std::vector<std::pair<Var, Var>>& known_grads,
         const std::string& return_disconnected) {
        GradOptions o;
        o.consider_constant = consider_constant;
        o.disconnected_inputs = disconnected_policy(disconnected_inputs);
        o.known_grads = known_grads;
        o.return_disconnected = return_policy(return_disconnected);
        Var c = cost.is_none() ? Var() : as_var(cost);
        return to_list(grad(c, wrt, o));
      },
      pyb::arg("cost"), pyb::arg("wrt"), pyb::arg("consider_constant"),
      pyb::arg("disconnected_inputs"), pyb::arg("known_grads"),
      pyb::arg("return_disconnected"));
  m.def("Lop",
        [](const std::vector<Var>& f, const std::vector<Var>& wrt,
           const std::vector<Var>& eval_points) { return Lop(f, wrt, eval_points); });
  m.def("Rop",
        [](const std::vector<Var>& f, const std::vector<Var>& wrt,
           const std::vector<Var>& eval_points) { return Rop(f, wrt, eval_points); });
  m.def("jacobian", [](const Var& e, const Var& wrt) { return jacobian(e, wrt); });
  m.def("hessian", [](const Var& c, const Var& wrt) { return hessian(c, wrt); });
  m.def("zero_grad", [](const Var& x) { return zero_grad(x); });
  m.def("disconnected_grad", [](const Var& x) { return disconnected_grad(x); });
  m.def("sum_to", [](const Var& g, const Var& like) { return sum_to(g, like); });
}

}  // namespace theanine::py
