// Python bindings: optimizer update rules (ops/updates.h). Each _core.updates_<rule>
// takes a scalar cost or a list of gradients, the parameters and the rule's
// hyperparameters, and returns the list of (shared variable, new value) pairs.
#include "ops/updates.h"
#include "python/bindings.h"
#include "python/convert.h"
#include "runtime/error.h"

namespace theanine::py {

namespace {

// The gradients of `loss_or_grads` (a cost Variable, or a list or tuple of
// gradients) with respect to `params`.
std::vector<Var> grads_of(const pyb::handle& loss_or_grads,
                          const std::vector<Var>& params) {
  if (pyb::isinstance<pyb::list>(loss_or_grads) ||
      pyb::isinstance<pyb::tuple>(loss_or_grads)) {
    std::vector<Var> grads;
    size_t k = 0;
    for (pyb::handle g : loss_or_grads) {
      if (g.is_none()) throw ValueError("grads[" + std::to_string(k) + "] is None");
      grads.push_back(as_var(g));
      ++k;
    }
    return grads;
  }
  if (!pyb::isinstance<Variable>(loss_or_grads))
    throw TypeError(
        "loss_or_grads must be a scalar cost Variable or a list of gradients, "
        "got " +
        std::string(pyb::str(pyb::type::of(loss_or_grads).attr("__name__"))));
  return updates::cost_grads(loss_or_grads.cast<Var>(), params);
}

std::vector<Var> params_of(const pyb::handle& params) {
  if (!pyb::isinstance<pyb::list>(params) && !pyb::isinstance<pyb::tuple>(params))
    throw TypeError("params must be a list of shared variables, got " +
                    std::string(pyb::str(pyb::type::of(params).attr("__name__"))));
  std::vector<Var> out;
  size_t k = 0;
  for (pyb::handle p : params) {
    if (!pyb::isinstance<Variable>(p))
      throw TypeError("params[" + std::to_string(k) + "] is a " +
                      std::string(pyb::str(pyb::type::of(p).attr("__name__"))) +
                      ", not a shared variable");
    out.push_back(p.cast<Var>());
    ++k;
  }
  return out;
}

// Binds _core.updates_<name>(loss_or_grads, params, learning_rate, *hyper) for a
// rule `rule(grads, params, lr, hyper...)`.
template <class... Hyper, class Rule, class... Args>
void def_rule(pyb::module_& m, const char* name, Rule rule, const char* doc,
              Args... args) {
  m.def((std::string("updates_") + name).c_str(),
        [rule](const pyb::object& loss_or_grads, const pyb::object& params, const Var& lr,
               Hyper... hyper) {
          std::vector<Var> ps = params_of(params);
          return rule(grads_of(loss_or_grads, ps), ps, lr, hyper...);
        },
        pyb::arg("loss_or_grads"), pyb::arg("params"), pyb::arg("learning_rate"), args...,
        doc);
}

using Grads = const std::vector<Var>&;

}  // namespace

void bind_updates(pybind11::module_& m) {
  def_rule<double>(
      m, "sgd",
      [](Grads g, Grads p, const Var& lr, double wd) {
        return updates::sgd(g, p, lr, wd);
      },
      "param - lr * grad", pyb::arg("weight_decay"));
  def_rule<double, double>(
      m, "momentum",
      [](Grads g, Grads p, const Var& lr, double mom, double wd) {
        return updates::momentum(g, p, lr, mom, wd);
      },
      "velocity' = momentum * velocity - lr * grad; param' = param + velocity'",
      pyb::arg("momentum"), pyb::arg("weight_decay"));
  def_rule<double, double>(
      m, "nesterov_momentum",
      [](Grads g, Grads p, const Var& lr, double mom, double wd) {
        return updates::nesterov_momentum(g, p, lr, mom, wd);
      },
      "velocity' = momentum * velocity - lr * grad; "
      "param' = param + momentum * velocity' - lr * grad",
      pyb::arg("momentum"), pyb::arg("weight_decay"));
  def_rule<double, double>(
      m, "adagrad",
      [](Grads g, Grads p, const Var& lr, double eps, double wd) {
        return updates::adagrad(g, p, lr, eps, wd);
      },
      "accu' = accu + grad^2; param' = param - lr * grad / sqrt(accu' + epsilon)",
      pyb::arg("epsilon"), pyb::arg("weight_decay"));
  def_rule<double, double, double>(
      m, "rmsprop",
      [](Grads g, Grads p, const Var& lr, double rho, double eps, double wd) {
        return updates::rmsprop(g, p, lr, rho, eps, wd);
      },
      "accu' = rho * accu + (1 - rho) * grad^2; "
      "param' = param - lr * grad / sqrt(accu' + epsilon)",
      pyb::arg("rho"), pyb::arg("epsilon"), pyb::arg("weight_decay"));
  def_rule<double, double, double, double>(
      m, "adam",
      [](Grads g, Grads p, const Var& lr, double b1, double b2, double eps, double wd) {
        return updates::adam(g, p, lr, b1, b2, eps, wd);
      },
      "Adam (Kingma and Ba) with bias correction folded into the step size",
      pyb::arg("beta1"), pyb::arg("beta2"), pyb::arg("epsilon"),
      pyb::arg("weight_decay"));
}

}  // namespace theanine::py
