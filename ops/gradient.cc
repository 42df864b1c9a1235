#include "ops/gradient.h"

#include <iostream>
#include <unordered_map>
#include <unordered_set>

#include "graph/fgraph.h"
#include "graph/op.h"
#include "ops/elemwise.h"
#include "ops/map_op.h"
#include "ops/op_util.h"
#include "ops/shape_ops.h"
#include "ops/subtensor.h"
#include "runtime/error.h"

namespace theanine {

namespace {

bool differentiable_type(const TensorType& t) { return is_float(t.dtype); }

// Gradient contributions of each variable, summed once when first needed.
class GradAccumulator {
 public:
  void add(const Variable* v, Var g) { parts_[v].push_back(std::move(g)); }
  bool has(const Variable* v) const { return parts_.count(v) > 0; }
  Var total(const Variable* v) {
    auto done = totals_.find(v);
    if (done != totals_.end()) return done->second;
    auto it = parts_.find(v);
    if (it == parts_.end()) return Var();
    Var sum = it->second[0];
    for (size_t i = 1; i < it->second.size(); ++i)
      sum = theanine::add(sum, it->second[i]);
    return totals_[v] = sum;
  }

 private:
  std::unordered_map<const Variable*, std::vector<Var>> parts_;
  std::unordered_map<const Variable*, Var> totals_;
};

// Makes an op's gradient for `input` fit it: same ndim (else the rule is
// wrong), the input's dtype, and no less static shape than the input has.
Var conform(const Var& g, const Var& input, const Apply& node) {
  if (g->type.ndim() != input->type.ndim())
    throw Error("internal: the gradient rule of " + node.op->name() +
                " returned a gradient of type " + g->type.str() +
                " for an input of type " + input->type.str());
  Var r = g->type.dtype == input->type.dtype ? g : cast(g, input->type.dtype);
  return r;
}

}  // namespace

std::vector<Var> grad(const Var& cost, const std::vector<Var>& wrt,
                      const GradOptions& opts, const Here& here) {
  const SourceLoc loc = user_loc(here);
  std::string where = loc.known() ? " (at " + loc.str() + ")" : "";
  if (!cost && opts.known_grads.empty())
    throw ValueError("grad: cost is null and no known_grads are given" + where);
  if (cost) {
    if (cost->type.ndim() != 0)
      throw TypeError("grad: cost must be a scalar (0-d), got " + cost->describe() +
                      "; use sum() or mean() to reduce it, or pass known_grads" + where);
    if (!differentiable_type(cost->type))
      throw TypeError("grad: cost must be a float scalar, got " + cost->describe() +
                      where);
  }
  for (size_t k = 0; k < wrt.size(); ++k)
    if (!wrt[k]) throw ValueError("grad: wrt[" + std::to_string(k) + "] is null" + where);

  GradAccumulator acc;
  std::vector<Var> roots;
  if (cost) {
    acc.add(cost.get(), ones_like(cost));
    roots.push_back(cost);
  }
  for (auto& [v, g] : opts.known_grads) {
    if (!v || !g) throw ValueError("grad: known_grads has a null variable" + where);
    if (g->type.ndim() != v->type.ndim() || !differentiable_type(g->type))
      throw TypeError("grad: known_grads gives " + v->describe() +
                      " a gradient of type " + g->type.str() +
                      "; it must be a float tensor of ndim " +
                      std::to_string(v->type.ndim()) + where);
    if (!g->type.compatible(TensorType(g->type.dtype, v->type.shape)))
      throw TypeError("grad: known_grads gives " + v->describe() +
                      " a gradient of shape " + shape_str(g->type.shape) + where);
    acc.add(v.get(), g->type.dtype == v->type.dtype ? g : cast(g, v->type.dtype));
    roots.push_back(v);
  }

  std::unordered_set<const Variable*> constant_set;
  for (const Var& v : opts.consider_constant) constant_set.insert(v.get());

  // Variables that depend on some wrt (through no consider_constant variable).
  std::vector<Apply*> order = toposort(roots);
  std::unordered_set<const Variable*> depends;
  for (const Var& w : wrt) depends.insert(w.get());
  for (Apply* node : order) {
    bool d = false;
    for (const Var& in : node->inputs)
      d |= depends.count(in.get()) && !constant_set.count(in.get());
    if (d)
      for (int i = 0; i < node->num_outputs(); ++i) depends.insert(node->output_ptr(i));
  }

  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Apply* node = *it;
    bool any_output = false;
    std::vector<Var> out_grads(node->num_outputs());
    for (int i = 0; i < node->num_outputs(); ++i) {
      Variable* out = node->output_ptr(i);
      if (constant_set.count(out) || !differentiable_type(out->type)) continue;
      out_grads[i] = acc.total(out);
      any_output |= static_cast<bool>(out_grads[i]);
    }
    if (!any_output) continue;
    bool any_needed = false;
    for (const Var& in : node->inputs)
      any_needed |= depends.count(in.get()) && !constant_set.count(in.get()) &&
                    differentiable_type(in->type);
    if (!any_needed) continue;
    // Ops with several outputs get zeros for the outputs the cost ignores.
    if (node->num_outputs() > 1)
      for (int i = 0; i < node->num_outputs(); ++i)
        if (!out_grads[i] && differentiable_type(node->output_ptr(i)->type))
          out_grads[i] = zeros_like(node->output(i));
    std::vector<Var> in_grads = node->op->grad(*node, out_grads);
    if (in_grads.size() != node->inputs.size())
      throw Error("internal: the gradient rule of " + node->op->name() + " returned " +
                  std::to_string(in_grads.size()) + " gradients for " +
                  std::to_string(node->inputs.size()) + " inputs");
    for (size_t k = 0; k < in_grads.size(); ++k) {
      const Var& in = node->inputs[k];
      if (!in_grads[k] || !depends.count(in.get()) || !differentiable_type(in->type))
        continue;
      acc.add(in.get(), conform(in_grads[k], in, *node));
    }
  }

  std::vector<Var> result;
  for (size_t k = 0; k < wrt.size(); ++k) {
    const Var& w = wrt[k];
    Var g = acc.total(w.get());
    if (!g) {
      std::string msg = "grad: the cost does not depend on wrt[" + std::to_string(k) +
                        "] " + w->describe() + where +
                        " (pass disconnected_inputs='ignore' or 'warn' to allow it)";
      if (opts.disconnected_inputs == DisconnectedInputs::Raise)
        throw DisconnectedInputError(msg);
      if (opts.disconnected_inputs == DisconnectedInputs::Warn)
        std::cerr << "warning: " << msg << "\n";
      result.push_back(opts.return_disconnected == ReturnDisconnected::Zero
                           ? zeros_like(w, w->type.dtype)
                           : Var());
      continue;
    }
    if (!differentiable_type(w->type)) {
      // Integer wrt: no gradient flows; Theano answers zeros.
      result.push_back(zeros_like(w, w->type.dtype));
      continue;
    }
    if (g->type.dtype != w->type.dtype) g = cast(g, w->type.dtype);
    if (g->type != w->type) g = sum_to(g, w);
    result.push_back(g);
  }
  return result;
}

Var grad(const Var& cost, const Var& wrt, const GradOptions& options, const Here& loc) {
  return grad(cost, std::vector<Var>{wrt}, options, loc).at(0);
}

std::vector<Var> Lop(const std::vector<Var>& f, const std::vector<Var>& wrt,
                     const std::vector<Var>& eval_points, const Here& loc) {
  if (f.size() != eval_points.size())
    throw ValueError("Lop: " + std::to_string(f.size()) + " expressions but " +
                     std::to_string(eval_points.size()) + " eval points");
  GradOptions o;
  o.disconnected_inputs = DisconnectedInputs::Ignore;
  for (size_t i = 0; i < f.size(); ++i) o.known_grads.push_back({f[i], eval_points[i]});
  return grad(Var(), wrt, o, loc);
}

std::vector<Var> Rop(const std::vector<Var>& f, const std::vector<Var>& wrt,
                     const std::vector<Var>& eval_points, const Here& loc) {
  if (wrt.size() != eval_points.size())
    throw ValueError("Rop: " + std::to_string(wrt.size()) + " wrt variables but " +
                     std::to_string(eval_points.size()) + " eval points");
  for (size_t j = 0; j < wrt.size(); ++j)
    if (eval_points[j]->type.ndim() != wrt[j]->type.ndim())
      throw TypeError("Rop: eval point " + std::to_string(j) + " has type " +
                      eval_points[j]->type.str() + ", wrt has " + wrt[j]->type.str());
  std::vector<Var> result;
  for (const Var& fi : f) {
    // J v = d/du (u^T J v) = d/du <Lop(fi, wrt, u), v>. The result is linear in
    // u and does not depend on its value, but may use its shape: u is then
    // replaced by fi itself, which has the right shape.
    Var u = make_input(fi->type, "rop_u");
    std::vector<Var> lops = Lop({fi}, wrt, {u}, loc);
    GradOptions o;
    o.disconnected_inputs = DisconnectedInputs::Ignore;
    for (size_t j = 0; j < wrt.size(); ++j)
      o.known_grads.push_back({lops[j], eval_points[j]});
    Var r = grad(Var(), std::vector<Var>{u}, o, loc).at(0);
    result.push_back(clone_replace({r}, {{u.get(), fi}}).at(0));
  }
  return result;
}

Var jacobian(const Var& expression, const Var& wrt, const Here& loc) {
  if (expression->type.ndim() == 0) return grad(expression, wrt, {}, loc);
  Var flat = expression->type.ndim() == 1 ? expression : flatten(expression, 1, loc);
  Var i = make_input(TensorType(DType::Int64, {}), "jacobian_i");
  GradOptions o;
  o.disconnected_inputs = DisconnectedInputs::Ignore;
  Var row = grad(subtensor(flat, {idx(i)}, loc), wrt, o, loc);
  return map_over_range(shape_i(flat, 0, loc), i, row, "jacobian", loc);
}

Var hessian(const Var& cost, const Var& wrt, const Here& loc) {
  return jacobian(grad(cost, wrt, {}, loc), wrt, loc);
}

}  // namespace theanine
