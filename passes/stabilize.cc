// Stabilize: rules that replace expressions which overflow, underflow or lose
// precision (log of a softmax that underflowed to 0, 1 + x rounding away a
// tiny x, gradients dividing by a probability that underflowed) by equal
// expressions computed stably. They run after canonicalize, so they match the
// graphs that phase leaves, and before specialize and fusion.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "graph/op.h"
#include "ops/elemwise.h"
#include "ops/gradient.h"
#include "ops/nnet.h"
#include "ops/op_util.h"
#include "ops/reduce.h"
#include "ops/shape_ops.h"
#include "ops/subtensor.h"
#include "passes/pipeline.h"

namespace theanine {

namespace {

// ---- matching helpers ---------------------------------------------------------------

template <class OpT>
const OpT* op_of(const Var& v) {
  return v->owner ? dynamic_cast<const OpT*>(v->owner->op.get()) : nullptr;
}

// The softmax (log = false) or log_softmax (log = true) op computing v.
const SoftmaxOp* softmax_of(const Var& v, bool log) {
  const SoftmaxOp* op = op_of<SoftmaxOp>(v);
  return op && op->is_log() == log ? op : nullptr;
}

bool is_float_var(const Var& v) { return is_float(v.dtype()); }

// For a binary elementwise node, the operand other than a constant equal to
// `value` everywhere (either side), or null.
Var other_than_constant(const Apply& node, double value) {
  if (node.inputs.size() != 2) return Var();
  if (is_constant_value(node.inputs[0], value)) return node.inputs[1];
  if (is_constant_value(node.inputs[1], value)) return node.inputs[0];
  return Var();
}

// `c - v` for a constant c equal to `value` everywhere, written as sub(c, v) or
// add(c, neg(v)) in either order: v, else null.
Var subtracted_from_constant(const Var& e, double value) {
  if (const Apply* s = elemwise_producer(e, "sub"))
    return is_constant_value(s->inputs[0], value) ? s->inputs[1] : Var();
  if (const Apply* a = elemwise_producer(e, "add"))
    if (Var o = other_than_constant(*a, value))
      if (const Apply* n = elemwise_producer(o, "neg")) return n->inputs[0];
  return Var();
}

// When `v` is a reduction of `kind` over the single axis *axis of its input,
// with that axis kept as a dim of 1 (keepdims, or a dimshuffle putting it
// back), the input; else null.
Var single_axis_reduce_input(const Var& v, ReduceKind kind, int* axis) {
  auto reduced = [&](const Var& r, bool keepdims) -> Var {
    const Reduce* op = op_of<Reduce>(r);
    if (!op || op->kind() != kind || op->keepdims() != keepdims) return Var();
    const Var& in = r->owner->inputs[0];
    if (op->axes() ? op->axes()->size() != 1 : in.ndim() != 1) return Var();
    *axis = op->axes() ? (*op->axes())[0] : 0;
    return r->type.dtype == in.dtype() ? in : Var();
  };
  if (Var in = reduced(v, true)) return in;
  const DimShuffleOp* ds = op_of<DimShuffleOp>(v);
  if (!ds) return Var();
  Var in = reduced(v->owner->inputs[0], false);
  if (!in) return Var();
  // The pattern must be the reduced dims in order with a new dim at *axis.
  const std::vector<int>& p = ds->pattern();
  if (static_cast<int>(p.size()) != in.ndim()) return Var();
  for (int d = 0, k = 0; d < in.ndim(); ++d) {
    if (d == *axis) {
      if (p[d] != -1) return Var();
    } else if (p[d] != k++) {
      return Var();
    }
  }
  return in;
}

// exp(s) / sum(exp(s), axis) and friends spell a softmax of s; when s is
// x - max(x, axis) the shift is the softmax's own, and the softmax of x is the
// same. Returns what to take the softmax of.
Var unshifted(const Var& s, int axis) {
  if (const Apply* d = elemwise_producer(s, "sub")) {
    int a = -1;
    Var x = single_axis_reduce_input(d->inputs[1], ReduceKind::Max, &a);
    if (x && a == axis && x.same(d->inputs[0])) return x;
  }
  return s;
}

// ---- what is known of dims ------------------------------------------------------------

// A dim's identity, to prove two dims equal: its static size, or the variable
// and dim it is read from (through ops that keep their input's shape).
struct DimId {
  int64_t size = -1;
  const Variable* var = nullptr;
  int dim = -1;
  bool operator==(const DimId& o) const {
    return size >= 0 ? size == o.size : (o.size < 0 && var == o.var && dim == o.dim);
  }
};

DimId dim_id(const Var& v, int d, int depth = 0);
DimId broadcast_dim_id(const Apply& n, int nd, int d, int depth);

// The dim an integer scalar holds: a constant, Shape_i{e}(w), or shape(w)[e].
DimId scalar_dim(const Var& s, int depth) {
  if (std::optional<int64_t> c = constant_int(s)) return {*c};
  if (const ShapeIOp* op = op_of<ShapeIOp>(s)) {
    const Var& w = s->owner->inputs[0];
    if (op->i() < w.ndim()) return dim_id(w, op->i(), depth + 1);
  }
  if (const SubtensorOp* op = op_of<SubtensorOp>(s)) {
    const Var& sv = s->owner->inputs[0];
    if (op->spec().size() == 1 && op->spec()[0].kind == IndexEntry::Kind::Int &&
        op_of<ShapeOp>(sv))
      if (std::optional<int64_t> e = constant_int(s->owner->inputs[1])) {
        const Var& w = sv->owner->inputs[0];
        if (*e >= 0 && *e < w.ndim()) return dim_id(w, static_cast<int>(*e), depth + 1);
      }
  }
  return {-1, s.get(), -1};
}

// Dim d of an elementwise node's output (of ndim nd): the dim its inputs
// agree on, those known to be 1 (or lacking the dim) broadcasting.
DimId broadcast_dim_id(const Apply& n, int nd, int d, int depth) {
  std::optional<DimId> common;
  for (const Var& in : n.inputs) {
    const int k = d - (nd - in.ndim());
    if (k < 0 || in->type.shape[k] == 1) continue;
    DimId id = dim_id(in, k, depth + 1);
    if (common && !(*common == id)) return {-1, n.output_ptr(0), d};
    common = id;
  }
  return common ? *common : DimId{1};
}

DimId dim_id(const Var& v, int d, int depth) {
  if (v->type.shape[d] >= 0) return {v->type.shape[d]};
  const Apply* n = v->owner;
  if (n && depth < 32) {
    const Op* op = n->op.get();
    if ((dynamic_cast<const Elemwise*>(op) && n->inputs.size() == 1) ||
        dynamic_cast<const SoftmaxOp*>(op) || dynamic_cast<const IncSubtensorOp*>(op))
      return dim_id(n->inputs[0], d, depth + 1);
    if (dynamic_cast<const FillOp*>(op) && n->inputs[1].ndim() == 0)
      return dim_id(n->inputs[0], d, depth + 1);
    if (op_kind(*n) == "SumTo") return dim_id(n->inputs[1], d, depth + 1);
    if (dynamic_cast<const Elemwise*>(op))
      return broadcast_dim_id(*n, v.ndim(), d, depth);
    if (dynamic_cast<const AllocOp*>(op) &&
        static_cast<int>(n->inputs.size()) == v.ndim() + 1)
      return scalar_dim(n->inputs[1 + d], depth + 1);
  }
  return {-1, v.get(), d};
}

bool same_dim(const Var& a, int da, const Var& b, int db) {
  return dim_id(a, da) == dim_id(b, db);
}

bool same_shape(const Var& a, const Var& b) {
  if (a.ndim() != b.ndim()) return false;
  for (int d = 0; d < a.ndim(); ++d)
    if (!same_dim(a, d, b, d)) return false;
  return true;
}

// v without the SumTo nodes (the chain rule's undoing of broadcasts) that
// provably sum nothing.
Var through_sum_to(Var v) {
  while (v->owner && op_kind(*v->owner) == "SumTo" &&
         same_shape(v->owner->inputs[0], v->owner->inputs[1]))
    v = v->owner->inputs[0];
  return v;
}

// True when `v` is zeros: an all-zero constant, or alloc / fill of a zero.
bool is_zeros(const Var& v) {
  if (v->is_constant()) return is_constant_value(v, 0.0);
  if (op_of<AllocOp>(v) || op_of<FillOp>(v)) {
    const Var& value = v->owner->inputs[op_of<AllocOp>(v) ? 0 : 1];
    return value.ndim() == 0 && is_constant_value(value, 0.0);
  }
  return false;
}

// r in the place of `original`: cast to its dtype and, unless r's shape
// provably is original's, broadcast against the operands the rule dropped
// (original's shape is their broadcast with r's, and a dropped operand that
// does not broadcast must still raise). Null when r would know less of the
// static shape than original.
Var fit(Var r, const Var& original, const std::vector<Var>& dropped) {
  if (!same_shape(r, original))
    for (const Var& m : dropped) r = fill(m, r);
  if (r.dtype() != original.dtype()) r = cast(r, original.dtype());
  if (r.ndim() != original.ndim()) return Var();
  for (int d = 0; d < r.ndim(); ++d)
    if (original->type.shape[d] >= 0 && r->type.shape[d] != original->type.shape[d])
      return Var();
  return r;
}

std::vector<Var> replacement(const Var& r) {
  if (!r) return {};
  return {r};
}

// ---- log and exp near 1 and 0 ------------------------------------------------------

// log(softmax(x)) -> log_softmax(x): no log of an underflowed 0.
std::vector<Var> log_of_softmax(const Apply& node, const RewriteContext&) {
  if (elemwise_name(node) != "log") return {};
  const SoftmaxOp* op = softmax_of(node.inputs[0], false);
  if (!op) return {};
  const Var& x = node.inputs[0]->owner->inputs[0];
  return {like(log_softmax(x, op->axis()), node.output(0))};
}

// log(sigmoid(x)) -> -softplus(-x), and log(sigmoid(-x)) -> -softplus(x).
std::vector<Var> log_of_sigmoid(const Apply& node, const RewriteContext&) {
  if (elemwise_name(node) != "log") return {};
  const Apply* s = elemwise_producer(node.inputs[0], "sigmoid");
  if (!s) return {};
  const DType dt = node.inputs[0].dtype();
  Var z = s->inputs[0];
  // Negating in the float dtype: an int8 -128 would wrap.
  const Apply* n = elemwise_producer(z, "neg");
  Var arg = n && is_float_var(n->inputs[0]) ? n->inputs[0] : neg(cast(z, dt));
  return {like(neg(softplus(arg)), node.output(0))};
}

// 1 - sigmoid(x) -> sigmoid(-x): exact where 1 - sigmoid(x) rounds to 0.
std::vector<Var> one_minus_sigmoid(const Apply& node, const RewriteContext&) {
  const std::string name = elemwise_name(node);
  if ((name != "sub" && name != "add") || !is_float_var(node.output(0))) return {};
  Var s = subtracted_from_constant(node.output(0), 1.0);
  const Apply* sig = s ? elemwise_producer(s, "sigmoid") : nullptr;
  if (!sig) return {};
  const Var& one = node.inputs[is_constant_value(node.inputs[0], 1.0) ? 0 : 1];
  return replacement(
      fit(sigmoid(neg(cast(sig->inputs[0], s.dtype()))), node.output(0), {one}));
}

// log(1 + x) -> log1p(x) and log(1 - x) -> log1p(-x): 1 + x rounds a tiny x away.
std::vector<Var> log_one_plus(const Apply& node, const RewriteContext&) {
  if (elemwise_name(node) != "log") return {};
  const Var& arg = node.inputs[0];
  if (!is_float_var(arg)) return {};  // 1 + x computed in ints may wrap
  const DType dt = arg.dtype();
  Var r;
  const Apply* n = elemwise_producer(arg, "add");
  if (Var x = n ? other_than_constant(*n, 1.0) : Var()) {
    r = log1p(cast(x, dt));
  } else if ((n = elemwise_producer(arg, "sub")) &&
             is_constant_value(n->inputs[0], 1.0)) {
    r = log1p(neg(cast(n->inputs[1], dt)));
  } else {
    return {};
  }
  const Var& one = n->inputs[is_constant_value(n->inputs[0], 1.0) ? 0 : 1];
  return replacement(fit(r, node.output(0), {one}));
}

// exp(x) - 1 -> expm1(x) (also exp(x) + -1).
std::vector<Var> exp_minus_one(const Apply& node, const RewriteContext&) {
  const std::string name = elemwise_name(node);
  Var e;
  if (name == "sub" && is_constant_value(node.inputs[1], 1.0)) e = node.inputs[0];
  if (name == "add") e = other_than_constant(node, -1.0);
  const Apply* ex = e ? elemwise_producer(e, "exp") : nullptr;
  if (!ex || !is_float_var(node.output(0))) return {};
  const Var& one = node.inputs[node.inputs[0].same(e) ? 1 : 0];
  return replacement(
      fit(expm1(cast(ex->inputs[0], node.output(0).dtype())), node.output(0), {one}));
}

// ---- softmax written by hand ---------------------------------------------------------

// exp(s) / sum(exp(s), axis, keepdims) -> softmax(s, axis), and with s = x - max(x)
// softmax(x): stable where exp overflows, and log(softmax) can then become log_softmax.
std::vector<Var> softmax_by_hand(const Apply& node, const RewriteContext&) {
  if (elemwise_name(node) != "true_div") return {};
  const Var& e = node.inputs[0];
  const Apply* ex = elemwise_producer(e, "exp");
  int axis = -1;
  if (!ex || is_bool(ex->inputs[0].dtype()) ||
      !single_axis_reduce_input(node.inputs[1], ReduceKind::Sum, &axis).same(e))
    return {};
  return {like(softmax(unshifted(ex->inputs[0], axis), axis), node.output(0))};
}

// s - log(sum(exp(s), axis, keepdims)) -> log_softmax(s, axis) (of x when s = x - max).
std::vector<Var> log_softmax_by_hand(const Apply& node, const RewriteContext&) {
  if (elemwise_name(node) != "sub") return {};
  const Var& s = node.inputs[0];
  const Apply* l = elemwise_producer(node.inputs[1], "log");
  if (!l) return {};
  int axis = -1;
  Var e = single_axis_reduce_input(l->inputs[0], ReduceKind::Sum, &axis);
  const Apply* ex = e ? elemwise_producer(e, "exp") : nullptr;
  if (!ex || !ex->inputs[0].same(s) || is_bool(s.dtype())) return {};
  return {like(log_softmax(unshifted(s, axis), axis), node.output(0))};
}

// ---- crossentropy ---------------------------------------------------------------------

// The index arrays of x[a, b] (an advanced key of two integer vectors) over a
// matrix, or false.
bool two_index_vectors(const Apply& node, const IndexSpec& spec, size_t first, Var* a,
                       Var* b) {
  if (spec.size() != 2 || spec[0].kind != IndexEntry::Kind::Array ||
      spec[1].kind != IndexEntry::Kind::Array || node.inputs.size() != first + 2)
    return false;
  *a = node.inputs[first];
  *b = node.inputs[first + 1];
  return a->ndim() == 1 && b->ndim() == 1;
}

// log_softmax(x)[rows, y] -> -crossentropy_softmax(x, y, rows): one pass over the
// rows picked, without the log_softmax matrix. Only when nothing else reads that
// matrix (else both would be computed).
std::vector<Var> crossentropy_of_softmax(const Apply& node, const RewriteContext& ctx) {
  const auto* op = dynamic_cast<const AdvancedSubtensorOp*>(node.op.get());
  const Var& l = node.inputs[0];
  const SoftmaxOp* sm = softmax_of(l, true);
  Var rows, y;
  if (!op || !sm || l.ndim() != 2 || sm->axis() != 1 ||
      !two_index_vectors(node, op->spec(), 1, &rows, &y) || ctx.clients(l.get()) != 1)
    return {};
  const Var& x = l->owner->inputs[0];
  return {like(neg(crossentropy_softmax_rows(x, y, rows)), node.output(0))};
}

// -(-v) -> v, for the negations the crossentropy rule leaves under a user's minus.
std::vector<Var> double_negation(const Apply& node, const RewriteContext&) {
  if (elemwise_name(node) != "neg") return {};
  const Apply* inner = elemwise_producer(node.inputs[0], "neg");
  if (!inner) return {};
  return {like(inner->inputs[0], node.output(0))};
}

// ---- gradients ------------------------------------------------------------------------

// The gradient grad() builds for log(softmax(x)) is SoftmaxGrad(g / sm, sm),
// which divides by probabilities that may have underflowed to 0. The matching
// stable forms:

// g when dy is g / sm (or that summed back to sm's shape by the SumTo the chain
// rule puts after a broadcasting op); else null.
Var divided_by(const Var& dy, const Var& sm) {
  Var d = through_sum_to(dy);
  // A SumTo to sm's shape of g / sm is SumTo(g) / sm: sm does not vary along
  // the dims summed.
  const bool summed =
      d->owner && op_kind(*d->owner) == "SumTo" && same_shape(d->owner->inputs[1], sm);
  if (summed) d = through_sum_to(d->owner->inputs[0]);
  const Apply* div = elemwise_producer(d, "true_div");
  if (!div || !div->inputs[1].same(sm)) return Var();
  const Var& g = div->inputs[0];
  return summed && !same_shape(g, sm) ? sum_to(g, sm) : g;
}

// When g is the gradient of l[rows, y] for an output gradient v (zeros of l's
// shape, that of `shape_of`, with v added at [rows, y]): writes -v (the
// gradient of the crossentropy -l[rows, y]), rows and y.
bool scattered_into_zeros(const Var& g, const Var& shape_of, Var* gz, Var* rows, Var* y) {
  const auto* inc = op_of<IncSubtensorOp>(g);
  if (!inc || inc->is_set() || !two_index_vectors(*g->owner, inc->spec(), 2, rows, y))
    return false;
  const Var& zeros = g->owner->inputs[0];
  const Var& v = g->owner->inputs[1];
  if (!is_zeros(zeros) || !same_shape(zeros, shape_of) || v.ndim() > 1 ||
      !is_float_var(v))
    return false;
  const Apply* n = elemwise_producer(v, "neg");
  *gz = n && is_float_var(n->inputs[0]) ? n->inputs[0] : neg(v);
  return true;
}

// SoftmaxGrad(zeros[rows, y] += v) / sm, sm) -> crossentropy_softmax_grad(-v, sm,
// y, rows): the gradient of log(softmax(x))[rows, y], (softmax - onehot) fused.
std::vector<Var> crossentropy_softmax_grad_rule(const Apply& node,
                                                const RewriteContext&) {
  const auto* op = dynamic_cast<const SoftmaxGradOp*>(node.op.get());
  const Var& sm = node.inputs[1];
  if (!op || op->is_log() || op->axis() != 1 || sm.ndim() != 2 || !softmax_of(sm, false))
    return {};
  const Var scattered = divided_by(node.inputs[0], sm);
  Var gz, rows, y;
  if (!scattered || !scattered_into_zeros(scattered, sm, &gz, &rows, &y)) return {};
  return {like(crossentropy_softmax_grad(gz, sm, y, rows), node.output(0))};
}

// LogSoftmaxGrad(zeros[rows, y] += v, log_softmax(x)) ->
// crossentropy_softmax_grad(-v, softmax(x), y, rows): the same for a user's
// log_softmax(x)[rows, y].
std::vector<Var> crossentropy_log_softmax_grad(const Apply& node, const RewriteContext&) {
  const auto* op = dynamic_cast<const SoftmaxGradOp*>(node.op.get());
  const Var& l = node.inputs[1];
  if (!op || !op->is_log() || op->axis() != 1 || l.ndim() != 2 || !softmax_of(l, true))
    return {};
  Var gz, rows, y;
  if (!scattered_into_zeros(through_sum_to(node.inputs[0]), l, &gz, &rows, &y)) return {};
  const Var sm = softmax(l->owner->inputs[0], 1);
  return {like(crossentropy_softmax_grad(gz, sm, y, rows), node.output(0))};
}

// SoftmaxGrad(g / sm, sm) -> g - sum(g, axis) * sm.
std::vector<Var> log_softmax_grad_rule(const Apply& node, const RewriteContext&) {
  const auto* op = dynamic_cast<const SoftmaxGradOp*>(node.op.get());
  const Var& sm = node.inputs[1];
  if (!op || op->is_log() || !softmax_of(sm, false) ||
      static_cast<const SoftmaxOp*>(sm->owner->op.get())->axis() != op->axis())
    return {};
  Var g = divided_by(node.inputs[0], sm);
  if (!g) return {};
  // The sum must see g as broadcast against sm along the axis.
  if (g.ndim() != sm.ndim() || !same_dim(g, op->axis(), sm, op->axis())) g = fill(sm, g);
  const Var total = sum(g, std::vector<int>{op->axis()}, /*keepdims=*/true);
  return {like(sub(g, mul(total, sm)), node.output(0))};
}

// Whether v is positive by construction but may underflow to 0 (or overflow).
bool may_underflow_positive(const Var& v) {
  return elemwise_producer(v, "sigmoid") || elemwise_producer(v, "exp") ||
         softmax_of(v, false);
}

void collect_factors(const Var& factor, std::vector<Var>* factors, bool* negate,
                     int depth) {
  const Var v = through_sum_to(factor);
  if (depth < 16) {
    if (const Apply* m = elemwise_producer(v, "mul")) {
      for (const Var& in : m->inputs) collect_factors(in, factors, negate, depth + 1);
      return;
    }
    if (const Apply* n = elemwise_producer(v, "neg")) {
      *negate = !*negate;
      collect_factors(n->inputs[0], factors, negate, depth + 1);
      return;
    }
  }
  factors->push_back(v);
}

// A product of factors, each float, with the sign of the negations met.
struct Product {
  std::vector<Var> factors;
  bool negate = false;
};

bool collect_product(const Var& v, Product* p) {
  collect_factors(v, &p->factors, &p->negate, 0);
  for (const Var& f : p->factors)
    if (!is_float_var(f)) return false;
  return true;
}

Var build_product(const std::vector<Var>& factors, bool negate) {
  Var r = factors[0];
  for (size_t k = 1; k < factors.size(); ++k) r = mul(r, factors[k]);
  return negate ? neg(r) : r;
}

// In p, a factor g / s with s positive by construction and one of `others`
// (not excluded): replaces it by g and returns the index of s in others, or -1.
int cancel_against(Product* p, const std::vector<Var>& others, int excluded) {
  for (Var& f : p->factors) {
    const Apply* div = elemwise_producer(f, "true_div");
    if (!div || !may_underflow_positive(div->inputs[1])) continue;
    for (size_t j = 0; j < others.size(); ++j) {
      if (static_cast<int>(j) == excluded || !others[j].same(div->inputs[1])) continue;
      f = div->inputs[0];
      return static_cast<int>(j);
    }
  }
  return -1;
}

// The terms of a sum (through add, sub, neg and SumTo that sums nothing), each
// with its sign.
void collect_terms(const Var& sum_var, std::vector<std::pair<Var, bool>>* terms,
                   bool negative, int depth) {
  const Var v = through_sum_to(sum_var);
  if (depth < 8) {
    const std::string name = v->owner ? elemwise_name(*v->owner) : "";
    if (name == "add" || name == "sub") {
      collect_terms(v->owner->inputs[0], terms, negative, depth + 1);
      collect_terms(v->owner->inputs[1], terms, negative != (name == "sub"), depth + 1);
      return;
    }
    if (name == "neg") {
      collect_terms(v->owner->inputs[0], terms, !negative, depth + 1);
      return;
    }
  }
  terms->push_back({v, negative});
}

// (g / s) * s -> g for an s that is positive by construction, in a product of
// any factors: the chain rule through log(sigmoid(x)) gives (g / sigmoid(x)) *
// sigmoid(x) * (1 - sigmoid(x)), NaN where sigmoid(x) underflowed. A factor
// that is a sum whose every term divides by another factor is distributed,
// (a / s + b / t) * s * t -> a * t + b * s, as the gradient of
// binary_crossentropy(sigmoid(x), t) needs.
std::vector<Var> cancel_division(const Apply& node, const RewriteContext&) {
  if (elemwise_name(node) != "mul") return {};
  Product p;
  if (!collect_product(node.output(0), &p)) return {};
  std::vector<Var>& f = p.factors;
  {
    Product q = p;
    const int j = cancel_against(&q, f, -1);
    if (j >= 0) {
      const Var s = q.factors[j];
      q.factors.erase(q.factors.begin() + j);
      return replacement(fit(build_product(q.factors, q.negate), node.output(0), {s}));
    }
  }
  for (size_t i = 0; i < f.size(); ++i) {
    std::vector<std::pair<Var, bool>> terms;
    collect_terms(f[i], &terms, false, 0);
    if (terms.size() < 2) continue;
    Var total;
    std::vector<Var> dropped;
    for (const auto& [term, negative] : terms) {
      Product t;
      if (!collect_product(term, &t)) break;
      const int j = cancel_against(&t, f, static_cast<int>(i));
      if (j < 0) break;
      dropped.push_back(f[j]);
      for (size_t k = 0; k < f.size(); ++k)
        if (k != i && static_cast<int>(k) != j) t.factors.push_back(f[k]);
      Var r = build_product(t.factors, t.negate);
      total = !total ? (negative ? neg(r) : r) : negative ? sub(total, r) : add(total, r);
      if (&term == &terms.back().first)
        return replacement(fit(p.negate ? neg(total) : total, node.output(0), dropped));
    }
  }
  return {};
}

// ---- shapes -------------------------------------------------------------------------

// Shape_i / Shape of a softmax-family result -> of its input, so that a shape
// (zeros_like in a gradient) does not keep the softmax alive.
std::vector<Var> softmax_shape(const Apply& node, const RewriteContext&) {
  const Var& in = node.inputs.at(0);
  if (!op_of<SoftmaxOp>(in)) return {};
  const Var& x = in->owner->inputs[0];
  if (const auto* op = dynamic_cast<const ShapeIOp*>(node.op.get()))
    return {like(shape_i(x, op->i()), node.output(0))};
  if (dynamic_cast<const ShapeOp*>(node.op.get()))
    return {like(shape(x), node.output(0))};
  return {};
}

}  // namespace

const RuleSet& stabilize_rules() {
  static const RuleSet rules = {
      {"log_softmax", {"Elemwise"}, log_of_softmax},
      {"log_sigmoid", {"Elemwise"}, log_of_sigmoid},
      {"log1p", {"Elemwise"}, log_one_plus},
      {"one_minus_sigmoid", {"Elemwise"}, one_minus_sigmoid},
      {"expm1", {"Elemwise"}, exp_minus_one},
      {"softmax_by_hand", {"Elemwise"}, softmax_by_hand},
      {"log_softmax_by_hand", {"Elemwise"}, log_softmax_by_hand},
      {"cancel_division", {"Elemwise"}, cancel_division},
      {"stabilize_double_negation", {"Elemwise"}, double_negation},
      {"crossentropy_softmax", {"AdvancedSubtensor"}, crossentropy_of_softmax},
      {"crossentropy_softmax_grad", {"SoftmaxGrad"}, crossentropy_softmax_grad_rule},
      {"log_softmax_grad", {"SoftmaxGrad"}, log_softmax_grad_rule},
      {"crossentropy_log_softmax_grad",
       {"LogSoftmaxGrad"},
       crossentropy_log_softmax_grad},
      {"softmax_shape", {"Shape_i", "Shape"}, softmax_shape},
  };
  return rules;
}

}  // namespace theanine
