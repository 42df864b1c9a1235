#pragma once
// Symbolic differentiation. grad() walks the graph from the cost back to `wrt`,
// asking each op for its gradient rule (Op::grad) and summing the contributions
// that reach a variable along several paths once, so the gradient graph of an
// N-layer network has O(N) nodes. The result is an ordinary graph that the
// passes simplify and fuse like any other.
//
// It lives in ops/ rather than graph/: seeding, summing and casting gradients
// needs concrete ops (add, cast, zeros_like).
#include <utility>
#include <vector>

#include "graph/variable.h"

namespace theanine {

enum class DisconnectedInputs { Raise, Warn, Ignore };
enum class ReturnDisconnected { Zero, Null };

struct GradOptions {
  // Treated as constants: no gradient flows through them.
  std::vector<Var> consider_constant;
  // What to do when a `wrt` variable does not reach the cost.
  DisconnectedInputs disconnected_inputs = DisconnectedInputs::Raise;
  // Gradients already known for some variables (the cost may then be null).
  std::vector<std::pair<Var, Var>> known_grads;
  // The gradient of a disconnected `wrt`: zeros like it, or a null Var.
  ReturnDisconnected return_disconnected = ReturnDisconnected::Zero;
};

// d cost / d wrt[k] for each k, each of the type (dtype and static shape) of
// wrt[k]. `cost` must be a float scalar, or null when known_grads is given.
std::vector<Var> grad(const Var& cost, const std::vector<Var>& wrt,
                      const GradOptions& options = {}, const Here& loc = Here::current());
Var grad(const Var& cost, const Var& wrt, const GradOptions& options = {},
         const Here& loc = Here::current());

// Vector times Jacobian: sum_k eval_points[k] . d f[k] / d wrt.
std::vector<Var> Lop(const std::vector<Var>& f, const std::vector<Var>& wrt,
                     const std::vector<Var>& eval_points,
                     const Here& loc = Here::current());
// Jacobian times vector: sum_j d f / d wrt[j] . eval_points[j], one per f.
// Built as the transpose of Lop (the Lop of a Lop), so no op needs an R rule.
std::vector<Var> Rop(const std::vector<Var>& f, const std::vector<Var>& wrt,
                     const std::vector<Var>& eval_points,
                     const Here& loc = Here::current());
// d expression[i] / d wrt for every element i of `expression` (flattened), with
// shape (expression.size,) + wrt.shape; a scalar expression gives grad().
Var jacobian(const Var& expression, const Var& wrt, const Here& loc = Here::current());
// The Jacobian of grad(cost, wrt) with respect to wrt.
Var hessian(const Var& cost, const Var& wrt, const Here& loc = Here::current());

// `g` summed over the dims along which `like` was broadcast to g's shape (the
// leading dims g has in excess, and dims where like is 1 but g is not), so the
// result has like's shape; the output's type is like's static shape with g's
// dtype. The gradient rules of broadcasting ops use it.
Var sum_to(const Var& g, const Var& like, const Here& loc = Here::current());

// Identity in the forward pass; in the backward pass zero_grad passes zeros and
// disconnected_grad passes nothing (the input counts as disconnected), as
// Theano's functions of the same names.
Var zero_grad(const Var& x, const Here& loc = Here::current());
Var disconnected_grad(const Var& x, const Here& loc = Here::current());

}  // namespace theanine
