// The canonicalize phase: rewrites that put a graph into a simpler normal form
// (fewer nodes, constants collected, views collapsed, shapes known statically
// made constant) so that the later phases and constant folding see through it.
// The rules live in canonicalize_{arith,shape,useless}.cc.
#include <algorithm>
#include <unordered_set>

#include "graph/op.h"
#include "ops/elemwise.h"
#include "ops/op_util.h"
#include "ops/shape_ops.h"
#include "passes/canonicalize_rules.h"
#include "passes/pipeline.h"
#include "runtime/error.h"

namespace theanine {
namespace canon {

Split split_constant(const Apply& node, bool c_second) {
  if (node.inputs.size() != 2) return {};
  const Var &a = node.inputs[0], &b = node.inputs[1];
  if (b->is_constant()) return {a, b};
  if (!c_second && a->is_constant()) return {b, a};
  return {};
}

bool covers(const Var& x, const Var& other) {
  if (x.same(other)) return true;
  const Shape &xs = x.type().shape, &os = other.type().shape;
  if (os.size() > xs.size()) return false;
  const size_t lead = xs.size() - os.size();
  for (size_t i = 0; i < os.size(); ++i) {
    if (os[i] == 1) continue;
    if (os[i] < 0 || xs[lead + i] != os[i]) return false;
  }
  return true;
}

bool fits(const Var& v, const Var& out) {
  if (!v || v.dtype() != out.dtype() || v.ndim() != out.ndim()) return false;
  for (int d = 0; d < out.ndim(); ++d)
    if (out.type().shape[d] >= 0 && v.type().shape[d] != out.type().shape[d])
      return false;
  return true;
}

Var strong(const Var& v) {
  if (!v->is_constant() || !v->weak) return v;
  return make_constant(v->constant_value, v->name, /*weak=*/false);
}

Var constant_of(const NDArray& value) { return make_constant(value, "", false); }

Var filled(const Apply& node, double value) {
  const Var out = node.output(0);
  const DType d = out.dtype();
  Var c = scalar_constant(value, d);
  bool all_known = true;
  for (const Var& in : node.inputs) all_known &= in.type().shape_known();
  if (all_known) {
    std::vector<Var> dims;
    for (int64_t s : out.type().shape)
      dims.push_back(scalar_constant(static_cast<double>(s), DType::Int64));
    return alloc(c, dims);
  }
  for (const Var& m : node.inputs) {
    bool covers_all = true;
    for (const Var& o : node.inputs) covers_all = covers_all && covers(m, o);
    if (!covers_all) continue;
    Var f = cast(fill(m, c), d);
    if (fits(f, out)) return f;
  }
  return Var();
}

const Var* covering_operand(const Apply& node) {
  for (const Var& in : node.inputs) {
    bool all = in.ndim() == node.output(0).ndim();
    for (const Var& o : node.inputs) all = all && covers(in, o);
    if (all) return &in;
  }
  return nullptr;
}

namespace {

bool same_dim_one_way(const Var& a, int i, const Var& b, int j, int depth) {
  if (!a->owner) return false;
  if (dynamic_cast<const AllocOp*>(a->owner->op.get())) {
    const Var& n = a->owner->inputs[i + 1];
    if (auto* s = dynamic_cast<const ShapeIOp*>(n->owner ? n->owner->op.get() : nullptr))
      if (s->i() == j && n->owner->inputs[0].same(b)) return true;
    return false;
  }
  if (depth > 0 && !elemwise_name(*a->owner).empty())
    if (const Var* c = covering_operand(*a->owner))
      return same_dim(*c, i, b, j, depth - 1);
  return false;
}

}  // namespace

bool same_dim(const Var& a, int i, const Var& b, int j, int depth) {
  if (a.same(b) && i == j) return true;
  const int64_t da = a.type().shape[i], db = b.type().shape[j];
  if (da >= 0 && da == db) return true;
  return same_dim_one_way(a, i, b, j, depth) || same_dim_one_way(b, j, a, i, depth);
}

std::string producer_name(const Var& v) {
  return v->owner ? elemwise_name(*v->owner) : std::string();
}

namespace {

// Nodes a rule builds take the location of the node they replace, so that a
// run-time error in one names the user's line rather than this file. New nodes
// are those created while the rule ran (ids from `first_new` on); only they are
// touched, so the walk costs the size of the replacement, not of the graph.
void relocate(const Apply& node, const Var& v, uint64_t first_new) {
  std::vector<Apply*> stack;
  std::unordered_set<Apply*> seen;
  if (v->owner && v->id >= first_new) stack.push_back(v->owner);
  while (!stack.empty()) {
    Apply* a = stack.back();
    stack.pop_back();
    if (!seen.insert(a).second) continue;
    a->loc = node.loc;
    for (const Var& in : a->inputs)
      if (in->owner && in->id >= first_new) stack.push_back(in->owner);
  }
}

// Wraps a rule so that its replacements carry the replaced node's location,
// and a weak literal never stands in for a node output (the engine would
// rebuild the consumers with a literal that adopts their dtype). A replacement
// the builders refuse (a type or shape they reject) means the rule does not
// apply: compiling a valid graph must not fail in an optional rewrite.
RuleFn located(RuleFn fn) {
  return [fn = std::move(fn)](const Apply& node, const RewriteContext& ctx) {
    std::vector<Var> r;
    const uint64_t first_new = next_variable_id();
    try {
      r = fn(node, ctx);
    } catch (const Error&) {
      return std::vector<Var>{};
    }
    for (Var& v : r) {
      v = strong(v);
      relocate(node, v, first_new);
    }
    return r;
  };
}

}  // namespace
}  // namespace canon

const RuleSet& canonicalize_rules() {
  static const RuleSet rules = [] {
    RuleSet r;
    canon::add_arith_rules(&r);
    canon::add_useless_rules(&r);
    canon::add_shape_rules(&r);
    for (Rule& rule : r) rule.fn = canon::located(std::move(rule.fn));
    return r;
  }();
  return rules;
}

}  // namespace theanine
