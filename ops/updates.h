#pragma once
// Optimizer update rules in the style of Lasagne's lasagne.updates: each takes one
// gradient per parameter (all shared variables) and returns the (shared variable,
// new value) pairs to pass as function()'s updates. The rules that carry state
// (velocities, squared-gradient accumulators, Adam's moments and step count)
// create it as new shared variables of zeros with each parameter's shape, dtype
// and static type (broadcastable pattern kept), and update it in the same list.
//
// Every new value is cast to its target's dtype, so a float64 learning rate or
// gradient does not turn a float32 parameter's update into float64.
//
// `weight_decay` adds an L2 penalty's gradient: each gradient g becomes
// g + weight_decay * param (as the Theano MNIST tutorials' L2 term does).
#include <utility>
#include <vector>

#include "graph/variable.h"

namespace theanine {

// Same type as codegen/function.h's Updates (declared again here so ops/ does
// not include codegen/; the two aliases name one type).
using Updates = std::vector<std::pair<Var, Var>>;

namespace updates {

// param - lr * g
Updates sgd(const std::vector<Var>& grads, const std::vector<Var>& params, const Var& lr,
            double weight_decay = 0.0);
// v' = momentum * v - lr * g;  param' = param + v'
Updates momentum(const std::vector<Var>& grads, const std::vector<Var>& params,
                 const Var& lr, double momentum = 0.9, double weight_decay = 0.0);
// v' = momentum * v - lr * g;  param' = param + momentum * v' - lr * g
Updates nesterov_momentum(const std::vector<Var>& grads, const std::vector<Var>& params,
                          const Var& lr, double momentum = 0.9,
                          double weight_decay = 0.0);
// a' = a + g^2;  param' = param - lr * g / sqrt(a' + epsilon)
Updates adagrad(const std::vector<Var>& grads, const std::vector<Var>& params,
                const Var& lr, double epsilon = 1e-6, double weight_decay = 0.0);
// a' = rho * a + (1 - rho) * g^2;  param' = param - lr * g / sqrt(a' + epsilon)
Updates rmsprop(const std::vector<Var>& grads, const std::vector<Var>& params,
                const Var& lr, double rho = 0.9, double epsilon = 1e-6,
                double weight_decay = 0.0);
// t' = t + 1;  a = lr * sqrt(1 - beta2^t') / (1 - beta1^t');
// m' = beta1 * m + (1 - beta1) * g;  v' = beta2 * v + (1 - beta2) * g^2;
// param' = param - a * m' / (sqrt(v') + epsilon). t is one shared scalar for
// all parameters, of the widest float dtype among them.
Updates adam(const std::vector<Var>& grads, const std::vector<Var>& params, const Var& lr,
             double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8,
             double weight_decay = 0.0);

// The same with a number for the learning rate (a weak literal: it takes each
// parameter's dtype).
Updates sgd(const std::vector<Var>& grads, const std::vector<Var>& params, double lr,
            double weight_decay = 0.0);
Updates momentum(const std::vector<Var>& grads, const std::vector<Var>& params, double lr,
                 double momentum = 0.9, double weight_decay = 0.0);
Updates nesterov_momentum(const std::vector<Var>& grads, const std::vector<Var>& params,
                          double lr, double momentum = 0.9, double weight_decay = 0.0);
Updates adagrad(const std::vector<Var>& grads, const std::vector<Var>& params, double lr,
                double epsilon = 1e-6, double weight_decay = 0.0);
Updates rmsprop(const std::vector<Var>& grads, const std::vector<Var>& params, double lr,
                double rho = 0.9, double epsilon = 1e-6, double weight_decay = 0.0);
Updates adam(const std::vector<Var>& grads, const std::vector<Var>& params, double lr,
             double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8,
             double weight_decay = 0.0);

// The gradients of a scalar cost with respect to the parameters, for the rules
// above: sgd(cost_grads(cost, params), params, lr). (There are no overloads
// taking the cost directly: a braced {g} would then pick the cost overload.)
std::vector<Var> cost_grads(const Var& cost, const std::vector<Var>& params);

}  // namespace updates
}  // namespace theanine
