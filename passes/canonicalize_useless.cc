// Nodes that compute nothing: casts to the same dtype or through a lossless
// one, allocs and fills of a value that already has the shape (or that an
// elementwise op's own broadcast makes redundant), subtensors that take
// everything, reductions over no axes, sums of a gradient to the shape it
// already has. Each goes only where its run-time checks are known to pass or
// are made by what replaces it, so the user's errors stay.
#include <optional>

#include "graph/op.h"
#include "ops/elemwise.h"
#include "ops/op_util.h"
#include "ops/reduce.h"
#include "ops/shape_ops.h"
#include "ops/subtensor.h"
#include "passes/canonicalize_rules.h"
#include "runtime/error.h"

namespace theanine::canon {
namespace {

template <class OpT>
const OpT* op_of(const Var& v) {
  return v->owner ? dynamic_cast<const OpT*>(v->owner->op.get()) : nullptr;
}

bool is_shape_i(const Var& v, const Var& x, int d) {
  const ShapeIOp* s = op_of<ShapeIOp>(v);
  return s && s->i() == d && v->owner->inputs[0].same(x);
}

std::optional<DType> cast_target(const Apply& node) {
  auto* e = dynamic_cast<const Elemwise*>(node.op.get());
  return e ? e->cast_to() : std::nullopt;
}

// cast(x, d) -> x when x already has dtype d.
Vars useless_cast(const Apply& node, const RewriteContext&) {
  std::optional<DType> d = cast_target(node);
  if (!d || node.inputs[0].dtype() != *d) return none();
  return one(node.inputs[0]);
}

// cast(cast(x, d1), d2) -> cast(x, d2) when every value of x survives the
// cast to d1 exactly.
Vars cast_cast(const Apply& node, const RewriteContext&) {
  std::optional<DType> d2 = cast_target(node);
  const Var& mid = node.inputs[0];
  if (!d2 || !mid->owner) return none();
  std::optional<DType> d1 = cast_target(*mid->owner);
  const Var& x = mid->owner->inputs[0];
  if (!d1 || !can_cast_safely(x.dtype(), *d1)) return none();
  return one(cast(x, *d2));
}

// alloc(v, n0, n1, ...) -> v when each n_i is v's known dim i or shape_i(v, i):
// the alloc would copy v unchanged.
Vars useless_alloc(const Apply& node, const RewriteContext&) {
  if (!dynamic_cast<const AllocOp*>(node.op.get())) return none();
  const Var& v = node.inputs[0];
  if (v.ndim() + 1 != static_cast<int>(node.inputs.size())) return none();
  for (int d = 0; d < v.ndim(); ++d) {
    const Var& n = node.inputs[d + 1];
    const int64_t dim = v.type().shape[d];
    std::optional<int64_t> c = constant_int(n);
    if (!(c && dim >= 0 && *c == dim) && !is_shape_i(n, v, d)) return none();
  }
  return fits(v, node.output(0)) ? Vars{v} : none();
}

// fill(model, v) -> v when v alone has the result's shape, with both shapes
// known (so the broadcast check passed when the graph was built).
Vars useless_fill(const Apply& node, const RewriteContext&) {
  if (!dynamic_cast<const FillOp*>(node.op.get())) return none();
  const Var &model = node.inputs[0], &v = node.inputs[1];
  const Var out = node.output(0);
  if (!model.type().shape_known() || !v.type().shape_known() ||
      v.type().shape != out.type().shape)
    return none();
  Var r = cast(strong(v), out.dtype());
  return fits(r, out) ? Vars{r} : none();
}

// elemwise(..., fill(model, v), ...) -> elemwise(..., v, ...) when the operands
// already give the result the fill's shape: every dim of the fill other than 1
// is a known dim of another operand (or of v), and model and v have known
// shapes (the fill's own check passed at build time). The fill's dtype stays
// (v is cast to it).
Vars fill_sink(const Apply& node, const RewriteContext&) {
  if (!dynamic_cast<const Elemwise*>(node.op.get())) return none();
  const Var out = node.output(0);
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const Var& f = node.inputs[i];
    if (!op_of<FillOp>(f)) continue;
    const Var &model = f->owner->inputs[0], &v = f->owner->inputs[1];
    if (!model.type().shape_known() || !v.type().shape_known()) continue;
    std::vector<Var> inputs = node.inputs;
    inputs[i] = cast(strong(v), f.dtype());
    const Shape& s = f.type().shape;
    bool shaped = true;
    for (size_t k = 0; shaped && k < s.size(); ++k) {
      if (s[k] == 1) continue;
      shaped = false;
      for (const Var& in : inputs) {
        const int lead = in.ndim() - static_cast<int>(s.size());
        const int dk = lead + static_cast<int>(k);
        if (dk >= 0 && in.type().shape[dk] == s[k]) shaped = true;
      }
    }
    if (!shaped) continue;
    Var r = make_node1(node.op, inputs, node.loc);
    if (fits(r, out)) return {r};
  }
  return none();
}

// elemwise(alloc(v, dims), y, ...) -> elemwise(v, y, ...) when the other
// operands (or v itself) already give the result each dim of the alloc: the
// alloc only broadcast v, which the elemwise does anyway, and v fails to
// broadcast against them exactly where the alloc would have failed. (The
// gradient of a sum is an alloc of the output gradient, multiplied into the
// operands of the sum's argument.)
Vars alloc_sink(const Apply& node, const RewriteContext&) {
  if (!dynamic_cast<const Elemwise*>(node.op.get())) return none();
  const Var out = node.output(0);
  for (size_t k = 0; k < node.inputs.size(); ++k) {
    const Var& a = node.inputs[k];
    if (!op_of<AllocOp>(a) || a.ndim() != out.ndim()) continue;
    const Var& v = a->owner->inputs[0];
    const int lead = a.ndim() - v.ndim();
    bool provided = true;
    for (int d = 0; provided && d < a.ndim(); ++d) {
      // v provides the dim itself when it is known to have it (a dim of 1 in
      // the alloc needs v's to be known 1, else the alloc is v's only check).
      const int64_t vd = d >= lead ? v.type().shape[d - lead] : 1;
      provided = vd >= 0 && vd == a.type().shape[d];
      for (size_t o = 0; !provided && o < node.inputs.size(); ++o)
        provided = o != k && node.inputs[o].ndim() == a.ndim() &&
                   same_dim(a, d, node.inputs[o], d);
    }
    if (!provided) continue;
    std::vector<Var> inputs = node.inputs;
    inputs[k] = strong(v);
    Var r = make_node1(node.op, inputs, node.loc);
    if (fits(r, out)) return {r};
  }
  return none();
}

// elemwise(alloc(v, dims), c, ...) -> alloc(elemwise(v, c, ...), dims) when
// the other operands add nothing to the shape (their known dims are all 1), so
// the work runs on v rather than on the allocated array. Only for an alloc with
// no other use (another would be a second alloc).
Vars alloc_lift(const Apply& node, const RewriteContext& ctx) {
  if (!dynamic_cast<const Elemwise*>(node.op.get())) return none();
  const Var out = node.output(0);
  for (size_t k = 0; k < node.inputs.size(); ++k) {
    const Var& a = node.inputs[k];
    if (!op_of<AllocOp>(a) || ctx.clients(a.get()) != 1 || ctx.is_output(a.get()))
      continue;
    bool small = true;
    for (size_t o = 0; small && o < node.inputs.size(); ++o) {
      const Var& in = node.inputs[o];
      if (o == k) continue;
      small = in.ndim() <= a.ndim();
      for (int64_t s : in.type().shape) small = small && s == 1;
    }
    if (!small) continue;
    std::vector<Var> inputs = node.inputs;
    inputs[k] = strong(a->owner->inputs[0]);
    Var inner = make_node1(node.op, inputs, node.loc);
    std::vector<Var> dims(a->owner->inputs.begin() + 1, a->owner->inputs.end());
    Var r = alloc(inner, dims);
    if (fits(r, out)) return {r};
  }
  return none();
}

// sum_to(g, like) -> g when g is known to have like's shape already (the
// gradient of a node whose operands did not broadcast).
Vars useless_sum_to(const Apply& node, const RewriteContext&) {
  if (op_kind(node) != "SumTo") return none();
  const Var &g = node.inputs[0], &like = node.inputs[1];
  if (g.ndim() != like.ndim()) return none();
  for (int d = 0; d < g.ndim(); ++d)
    if (!same_dim(g, d, like, d)) return none();
  return fits(g, node.output(0)) ? Vars{g} : none();
}

// x[:], x[0:n] (n x's known length or shape_i), x[::1] -> x
Vars useless_subtensor(const Apply& node, const RewriteContext&) {
  auto* op = dynamic_cast<const SubtensorOp*>(node.op.get());
  if (!op) return none();
  const Var& x = node.inputs[0];
  size_t next = 1;
  for (size_t d = 0; d < op->spec().size(); ++d) {
    const IndexEntry& e = op->spec()[d];
    if (e.kind != IndexEntry::Kind::Slice) return none();
    const int64_t dim = x.type().shape[d];
    if (e.has_start && constant_int(node.inputs[next++]) != 0) return none();
    if (e.has_stop) {
      const Var& stop = node.inputs[next++];
      std::optional<int64_t> c = constant_int(stop);
      if (!(c && dim >= 0 && *c >= dim) && !is_shape_i(stop, x, static_cast<int>(d)))
        return none();
    }
    if (e.has_step && constant_int(node.inputs[next++]) != 1) return none();
  }
  return fits(x, node.output(0)) ? Vars{x} : none();
}

// A reduction over no axes (axis=() or a 0-d input) is its input in the
// result's dtype: the sum, product, mean, max or min of one element is that
// element, and all/any of it is whether it is nonzero.
Vars reduce_no_axes(const Apply& node, const RewriteContext&) {
  auto* op = dynamic_cast<const Reduce*>(node.op.get());
  if (!op) return none();
  const Var& x = node.inputs[0];
  const bool no_axes = (op->axes() && op->axes()->empty()) || x.ndim() == 0;
  if (!no_axes) return none();
  Var r = cast(x, node.output(0).dtype());
  return fits(r, node.output(0)) ? Vars{r} : none();
}

}  // namespace

void add_useless_rules(RuleSet* rules) {
  rules->push_back({"useless_cast", {"Elemwise"}, useless_cast});
  rules->push_back({"cast_cast", {"Elemwise"}, cast_cast});
  rules->push_back({"fill_sink", {"Elemwise"}, fill_sink});
  rules->push_back({"alloc_sink", {"Elemwise"}, alloc_sink});
  rules->push_back({"alloc_lift", {"Elemwise"}, alloc_lift});
  rules->push_back({"useless_alloc", {"Alloc"}, useless_alloc});
  rules->push_back({"useless_sum_to", {"SumTo"}, useless_sum_to});
  rules->push_back({"useless_fill", {"Fill"}, useless_fill});
  rules->push_back({"useless_subtensor", {"Subtensor"}, useless_subtensor});
  rules->push_back({"reduce_no_axes",
                    {"Sum", "Prod", "Mean", "Max", "Min", "All", "Any"},
                    reduce_no_axes});
}

}  // namespace theanine::canon
