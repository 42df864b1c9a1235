// _core's softmax family: softmax, log_softmax, crossentropy_softmax and the
// ops of their gradients (exposed for tests and for users who want them).
#include "ops/nnet.h"
#include "python/bindings.h"
#include "python/convert.h"

namespace theanine::py {

namespace {
Var optional_var(const pyb::object& obj) { return obj.is_none() ? Var() : as_var(obj); }
}  // namespace

void bind_nnet(pybind11::module_& m) {
  m.def(
      "softmax", [](const Var& x, int axis) { return softmax(x, axis); }, pyb::arg("x"),
      pyb::arg("axis") = -1, "exp(x - max) / sum(exp(x - max)) along axis");
  m.def(
      "log_softmax", [](const Var& x, int axis) { return log_softmax(x, axis); },
      pyb::arg("x"), pyb::arg("axis") = -1,
      "x - max - log(sum(exp(x - max))) along axis");
  m.def(
      "crossentropy_softmax",
      [](const Var& x, const Var& y_idx, const pyb::object& rows) {
        Var r = optional_var(rows);
        return r ? crossentropy_softmax_rows(x, y_idx, r)
                 : crossentropy_softmax(x, y_idx);
      },
      pyb::arg("x"), pyb::arg("y_idx"), pyb::arg("rows") = pyb::none(),
      "-log_softmax(x)[i, y_idx[i]] for each row i of x; with rows, "
      "-log_softmax(x)[rows, y_idx]. The gradient is (softmax(x) - onehot) * gz.");
  m.def(
      "softmax_grad",
      [](const Var& dy, const Var& sm, int axis) { return softmax_grad(dy, sm, axis); },
      pyb::arg("dy"), pyb::arg("sm"), pyb::arg("axis") = -1,
      "(dy - sum(dy * sm, axis)) * sm: the gradient of softmax");
  m.def(
      "log_softmax_grad",
      [](const Var& dy, const Var& l, int axis) { return log_softmax_grad(dy, l, axis); },
      pyb::arg("dy"), pyb::arg("l"), pyb::arg("axis") = -1,
      "dy - sum(dy, axis) * exp(l) for l = log_softmax(x): the gradient of log_softmax");
  m.def(
      "crossentropy_softmax_grad",
      [](const Var& gz, const Var& sm, const Var& y_idx, const pyb::object& rows) {
        return crossentropy_softmax_grad(gz, sm, y_idx, optional_var(rows));
      },
      pyb::arg("gz"), pyb::arg("sm"), pyb::arg("y_idx"), pyb::arg("rows") = pyb::none(),
      "(sm - onehot(y_idx)) * gz[:, None], accumulated per row: the gradient of "
      "crossentropy_softmax");
}

}  // namespace theanine::py
