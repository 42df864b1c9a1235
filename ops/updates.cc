// Optimizer update rules (see updates.h). Each rule checks its arguments, builds
// the decayed gradients once, then one small expression per parameter.
#include "ops/updates.h"

#include <functional>
#include <string>

#include "ops/elemwise.h"
#include "ops/gradient.h"
#include "ops/op_util.h"
#include "ops/operators.h"
#include "runtime/error.h"

namespace theanine::updates {

namespace {

std::string param_desc(const std::vector<Var>& params, size_t k) {
  return "params[" + std::to_string(k) + "] " + params[k]->describe();
}

void check_learning_rate(const Var& lr, const std::string& rule) {
  if (!lr) throw ValueError(rule + ": the learning rate is null");
  if (lr.ndim() != 0 || is_bool(lr.dtype()))
    throw TypeError(rule + ": the learning rate must be a numeric scalar, got " +
                    lr->describe());
}

void check_params(const std::vector<Var>& params, const std::string& rule) {
  for (size_t k = 0; k < params.size(); ++k) {
    if (!params[k])
      throw ValueError(rule + ": params[" + std::to_string(k) + "] is null");
    if (!params[k]->is_shared())
      throw TypeError(rule + ": " + param_desc(params, k) +
                      " is not a shared variable; only shared variables can be updated");
    if (!is_float(params[k].dtype()))
      throw TypeError(rule + ": " + param_desc(params, k) + " has dtype " +
                      dtype_name(params[k].dtype()) +
                      "; only float parameters can be trained");
  }
}

// The gradients to step along: one per parameter, of its ndim, with the L2
// penalty's gradient added.
std::vector<Var> checked_grads(const std::vector<Var>& grads,
                               const std::vector<Var>& params, const Var& lr,
                               double weight_decay, const std::string& rule) {
  check_params(params, rule);
  check_learning_rate(lr, rule);
  if (grads.size() != params.size())
    throw TypeError(rule + ": got " + std::to_string(grads.size()) + " gradients for " +
                    std::to_string(params.size()) +
                    " parameters; give one gradient per parameter");
  std::vector<Var> out;
  for (size_t k = 0; k < grads.size(); ++k) {
    const Var& g = grads[k];
    if (!g) throw ValueError(rule + ": grads[" + std::to_string(k) + "] is null");
    if (g.ndim() != params[k].ndim() || !is_float(g.dtype()))
      throw TypeError(rule + ": grads[" + std::to_string(k) + "] " + g->describe() +
                      " must be a float tensor of the ndim of " + param_desc(params, k));
    out.push_back(weight_decay == 0.0 ? g : g + weight_decay * params[k]);
  }
  return out;
}

// A new shared variable of zeros shaped like `param`'s current value, of its
// dtype and static type.
Var zeros_like_param(const Var& param, const std::string& role) {
  NDArray value = get_value(param, /*borrow=*/true);
  std::string name = role + "(" + param->display_name() + ")";
  return make_shared(NDArray::zeros(param.dtype(), value.shape()), param->type, name,
                     /*borrow=*/true);
}

// `value` as a new value of `target` (cast to its dtype when it differs).
void push(Updates& updates, const Var& target, const Var& value) {
  updates.push_back({target, cast(value, target.dtype())});
}

// Rules whose state is one accumulator per parameter: `step` gets (param, g,
// accumulator) and returns (new param, new accumulator).
using OneStateStep =
    std::function<std::pair<Var, Var>(const Var&, const Var&, const Var&)>;

Updates with_one_state(const std::vector<Var>& grads, const std::vector<Var>& params,
                       const Var& lr, double weight_decay, const std::string& rule,
                       const std::string& role, const OneStateStep& step) {
  std::vector<Var> gs = checked_grads(grads, params, lr, weight_decay, rule);
  Updates out;
  for (size_t k = 0; k < params.size(); ++k) {
    Var state = zeros_like_param(params[k], role);
    auto [new_param, new_state] = step(params[k], gs[k], state);
    push(out, params[k], new_param);
    push(out, state, new_state);
  }
  return out;
}

Var scalar(double v) { return scalar_literal(v, /*is_integer=*/false); }

}  // namespace

Updates sgd(const std::vector<Var>& grads, const std::vector<Var>& params, const Var& lr,
            double weight_decay) {
  std::vector<Var> gs = checked_grads(grads, params, lr, weight_decay, "sgd");
  Updates out;
  for (size_t k = 0; k < params.size(); ++k) push(out, params[k], params[k] - lr * gs[k]);
  return out;
}

Updates momentum(const std::vector<Var>& grads, const std::vector<Var>& params,
                 const Var& lr, double momentum, double weight_decay) {
  return with_one_state(grads, params, lr, weight_decay, "momentum", "velocity",
                        [&](const Var& p, const Var& g, const Var& v) {
                          Var v_new = momentum * v - lr * g;
                          return std::pair{p + v_new, v_new};
                        });
}

Updates nesterov_momentum(const std::vector<Var>& grads, const std::vector<Var>& params,
                          const Var& lr, double momentum, double weight_decay) {
  return with_one_state(grads, params, lr, weight_decay, "nesterov_momentum", "velocity",
                        [&](const Var& p, const Var& g, const Var& v) {
                          Var v_new = momentum * v - lr * g;
                          return std::pair{p + momentum * v_new - lr * g, v_new};
                        });
}

Updates adagrad(const std::vector<Var>& grads, const std::vector<Var>& params,
                const Var& lr, double epsilon, double weight_decay) {
  return with_one_state(grads, params, lr, weight_decay, "adagrad", "accu",
                        [&](const Var& p, const Var& g, const Var& a) {
                          Var a_new = a + sqr(g);
                          return std::pair{p - lr * g / sqrt(a_new + epsilon), a_new};
                        });
}

Updates rmsprop(const std::vector<Var>& grads, const std::vector<Var>& params,
                const Var& lr, double rho, double epsilon, double weight_decay) {
  return with_one_state(grads, params, lr, weight_decay, "rmsprop", "accu",
                        [&](const Var& p, const Var& g, const Var& a) {
                          Var a_new = rho * a + (1.0 - rho) * sqr(g);
                          return std::pair{p - lr * g / sqrt(a_new + epsilon), a_new};
                        });
}

Updates adam(const std::vector<Var>& grads, const std::vector<Var>& params, const Var& lr,
             double beta1, double beta2, double epsilon, double weight_decay) {
  std::vector<Var> gs = checked_grads(grads, params, lr, weight_decay, "adam");
  DType t_dtype = DType::Float32;
  for (const Var& p : params) t_dtype = promote(t_dtype, p.dtype());
  Var t_prev = make_shared(NDArray::zeros(t_dtype, {}), "adam_t", /*borrow=*/true);
  Var t = t_prev + 1.0;
  Var a_t = lr * sqrt(1.0 - pow(scalar(beta2), t)) / (1.0 - pow(scalar(beta1), t));
  Updates out;
  for (size_t k = 0; k < params.size(); ++k) {
    Var m = zeros_like_param(params[k], "adam_m");
    Var v = zeros_like_param(params[k], "adam_v");
    Var m_new = beta1 * m + (1.0 - beta1) * gs[k];
    Var v_new = beta2 * v + (1.0 - beta2) * sqr(gs[k]);
    push(out, params[k], params[k] - a_t * m_new / (sqrt(v_new) + epsilon));
    push(out, m, m_new);
    push(out, v, v_new);
  }
  push(out, t_prev, t);
  return out;
}

// ---- number learning rates ---------------------------------------------------

Updates sgd(const std::vector<Var>& grads, const std::vector<Var>& params, double lr,
            double weight_decay) {
  return sgd(grads, params, scalar(lr), weight_decay);
}
Updates momentum(const std::vector<Var>& grads, const std::vector<Var>& params, double lr,
                 double momentum_, double weight_decay) {
  return momentum(grads, params, scalar(lr), momentum_, weight_decay);
}
Updates nesterov_momentum(const std::vector<Var>& grads, const std::vector<Var>& params,
                          double lr, double momentum_, double weight_decay) {
  return nesterov_momentum(grads, params, scalar(lr), momentum_, weight_decay);
}
Updates adagrad(const std::vector<Var>& grads, const std::vector<Var>& params, double lr,
                double epsilon, double weight_decay) {
  return adagrad(grads, params, scalar(lr), epsilon, weight_decay);
}
Updates rmsprop(const std::vector<Var>& grads, const std::vector<Var>& params, double lr,
                double rho, double epsilon, double weight_decay) {
  return rmsprop(grads, params, scalar(lr), rho, epsilon, weight_decay);
}
Updates adam(const std::vector<Var>& grads, const std::vector<Var>& params, double lr,
             double beta1, double beta2, double epsilon, double weight_decay) {
  return adam(grads, params, scalar(lr), beta1, beta2, epsilon, weight_decay);
}

std::vector<Var> cost_grads(const Var& cost, const std::vector<Var>& params) {
  check_params(params, "cost_grads");
  return grad(cost, params);
}

}  // namespace theanine::updates
