// Elementwise algebra. Each rule keeps the replaced node's dtype (operands are
// cast to it, as the op itself converts them) and its broadcast shape (a rule
// that would drop dims a constant contributes does not apply).
#include <cmath>
#include <limits>

#include "graph/op.h"
#include "ops/elemwise.h"
#include "ops/op_util.h"
#include "ops/reduce.h"
#include "passes/canonicalize_rules.h"

namespace theanine::canon {
namespace {

Vars result(const Var& v, const Var& out) { return fits(v, out) ? Vars{v} : Vars{}; }

// True when v feeds only the node being rewritten. A node built earlier in
// this sweep counts 0 clients: it replaced a node whose consumers now all see
// it, so a chain (a + 1 + 2 + 3) collapses in one sweep. Where such a node has
// several consumers, each rewritten consumer is still one op, as before.
bool single_use(const Var& v, const RewriteContext& ctx) {
  return ctx.clients(v.get()) <= 1 && !ctx.is_output(v.get());
}

// out = x op c where every element of c is `neutral`: out is x (in out's dtype).
Vars neutral(const Apply& node, const char* op, double value, bool c_second) {
  if (elemwise_name(node) != op) return none();
  Split s = split_constant(node, c_second);
  if (!s.x || !is_constant_value(s.c, value) || !covers(s.x, s.c)) return none();
  return result(cast(s.x, node.output(0).dtype()), node.output(0));
}

// x * 1, 1 * x -> x
Vars mul_one(const Apply& node, const RewriteContext&) {
  return neutral(node, "mul", 1, false);
}

// x + 0, 0 + x -> x. (-0.0 + 0 is +0.0: only the sign of a zero may change.)
Vars add_zero(const Apply& node, const RewriteContext&) {
  return neutral(node, "add", 0, false);
}

// x - 0 -> x
Vars sub_zero(const Apply& node, const RewriteContext&) {
  return neutral(node, "sub", 0, true);
}

// x / 1 -> x; x // 1 -> x for integers (for floats it is floor(x)).
Vars div_one(const Apply& node, const RewriteContext&) {
  if (elemwise_name(node) == "int_div" && !is_float(node.output(0).dtype()))
    return neutral(node, "int_div", 1, true);
  return neutral(node, "true_div", 1, true);
}

// x ** 1 -> x
Vars pow_one(const Apply& node, const RewriteContext&) {
  return neutral(node, "pow", 1, true);
}

// x * 0 -> zeros, for integer results only: a float x may be NaN or inf, and
// x * 0 is then NaN (and -x * 0 is -0.0).
Vars mul_zero(const Apply& node, const RewriteContext&) {
  if (elemwise_name(node) != "mul" || is_float(node.output(0).dtype())) return none();
  Split s = split_constant(node);
  if (!s.x || !is_constant_value(s.c, 0)) return none();
  return one(filled(node, 0));
}

// x ** 0 -> ones, for every dtype: NumPy gives 1 even for NaN and inf.
Vars pow_zero(const Apply& node, const RewriteContext&) {
  if (elemwise_name(node) != "pow") return none();
  Split s = split_constant(node, true);
  if (!s.x || !is_constant_value(s.c, 0)) return none();
  return one(filled(node, 1));
}

// x - x -> zeros, for integers only (inf - inf is NaN).
Vars sub_self(const Apply& node, const RewriteContext&) {
  if (elemwise_name(node) != "sub" || is_float(node.output(0).dtype()) ||
      !node.inputs[0].same(node.inputs[1]))
    return none();
  return one(filled(node, 0));
}

// -(-x) -> x
Vars neg_neg(const Apply& node, const RewriteContext&) {
  if (elemwise_name(node) != "neg" || producer_name(node.inputs[0]) != "neg")
    return none();
  return result(node.inputs[0]->owner->inputs[0], node.output(0));
}

// -(x * c) -> x * (-c), folding the negation into the constant (exact: only
// signs change). Only when the product has no other use.
Vars neg_mul_constant(const Apply& node, const RewriteContext& ctx) {
  if (elemwise_name(node) != "neg" || producer_name(node.inputs[0]) != "mul" ||
      !single_use(node.inputs[0], ctx))
    return none();
  const Var& prod = node.inputs[0];
  Split s = split_constant(*prod->owner);
  if (!s.x) return none();
  const DType d = prod.dtype();
  NDArray negated =
      elemwise_eval(scalar_op("neg"), {d, d}, {s.c->constant_value.astype(d)});
  return result(mul(s.x, constant_of(negated)), node.output(0));
}

// x * -1 -> -x
Vars mul_neg_one(const Apply& node, const RewriteContext&) {
  if (elemwise_name(node) != "mul") return none();
  Split s = split_constant(node);
  if (!s.x || !is_constant_value(s.c, -1) || !covers(s.x, s.c)) return none();
  return result(neg(cast(s.x, node.output(0).dtype())), node.output(0));
}

// The b of a -b the node at `node` reads, when the negation is exact there: a
// float negation always is; an integer one wraps in b's dtype (-5 as uint8 is
// 251), so only when the node computes in that dtype too.
Var negated_operand(const Apply& node, const Var& v) {
  if (producer_name(v) != "neg") return Var();
  const Var& b = v->owner->inputs[0];
  if (!is_float(b.dtype()) && b.dtype() != node.output(0).dtype()) return Var();
  return b;
}

// a + (-b) -> a - b, (-b) + a -> a - b (exact in floats and in wrapping ints).
Vars add_neg(const Apply& node, const RewriteContext&) {
  if (elemwise_name(node) != "add") return none();
  for (int i : {1, 0})
    if (Var b = negated_operand(node, node.inputs[i]))
      return result(sub(node.inputs[1 - i], b), node.output(0));
  return none();
}

// a - (-b) -> a + b
Vars sub_neg(const Apply& node, const RewriteContext&) {
  if (elemwise_name(node) != "sub") return none();
  Var b = negated_operand(node, node.inputs[1]);
  return b ? result(add(node.inputs[0], b), node.output(0)) : none();
}

// (a op c1) op c2 -> a op (c1 op c2) for op add or mul, when a, the inner
// result and the outer result share one dtype (so the constants combine in it,
// as the graph would apply them) and the inner result has no other use.
// Chains collapse one link at a time, bottom-up.
Vars collect_constants(const Apply& node, const RewriteContext& ctx) {
  const std::string op = elemwise_name(node);
  if (op != "add" && op != "mul") return none();
  Split outer = split_constant(node);
  if (!outer.x || producer_name(outer.x) != op || !single_use(outer.x, ctx))
    return none();
  Split inner = split_constant(*outer.x->owner);
  if (!inner.x || inner.x->is_constant()) return none();
  const DType d = node.output(0).dtype();
  if (inner.x.dtype() != d || outer.x.dtype() != d) return none();
  NDArray c = elemwise_eval(scalar_op(op), {d, d},
                            {inner.c->constant_value, outer.c->constant_value});
  return result(elemwise(op, {inner.x, constant_of(c)}), node.output(0));
}

// x / c -> x * (1 / c) with the reciprocal computed in the result's dtype,
// where it is a normal number (a reciprocal that overflows, underflows or is
// subnormal would change results by more than a rounding).
Vars div_to_mul(const Apply& node, const RewriteContext&) {
  if (elemwise_name(node) != "true_div") return none();
  Split s = split_constant(node, true);
  if (!s.x) return none();
  const DType d = node.output(0).dtype();
  NDArray r = elemwise_eval(scalar_op("true_div"), {d, d},
                            {NDArray::scalar(d, 1.0), s.c->constant_value});
  const double min_normal = d == DType::Float32 ? std::numeric_limits<float>::min()
                                                : std::numeric_limits<double>::min();
  for (int64_t i = 0; i < r.size(); ++i) {
    double v = r.item_double(i);
    if (!std::isfinite(v) || std::fabs(v) < min_normal) return none();
  }
  return result(mul(s.x, constant_of(r)), node.output(0));
}

// x ** 2 -> sqr(x), x ** 3 -> x * sqr(x), and for float results x ** -1 -> 1 / x
// (an integer x ** -1 is an error, which stays). x is first cast to the
// result's dtype, as pow converts it. x ** 0.5 is not turned into sqrt(x):
// (-inf) ** 0.5 is inf but sqrt(-inf) is NaN, and rewrites must not change
// results.
Vars pow_to_mul(const Apply& node, const RewriteContext&) {
  if (elemwise_name(node) != "pow") return none();
  Split s = split_constant(node, true);
  if (!s.x || s.c->constant_value.size() == 0 || !covers(s.x, s.c)) return none();
  const double e = s.c->constant_value.item_double(0);
  if (!is_constant_value(s.c, e)) return none();
  const Var out = node.output(0);
  const DType d = out.dtype();
  const Var x = cast(s.x, d);
  if (e == 2) return result(sqr(x), out);
  if (e == 3) return result(mul(x, sqr(x)), out);
  if (!is_float(d)) return none();
  if (e == -1) return result(true_div(scalar_constant(1, d), x), out);
  return none();
}

// sum(-x) -> -sum(x), and the same for SumTo (the gradient's sum over broadcast
// dims): exact, as rounding is symmetric in sign, and it lets the negation
// meet another one (the crossentropy gradient is -sum_to(-g)) or run on the
// smaller result. Integers only where the sum keeps x's dtype (a negation
// that wraps in a narrower dtype does not commute with the widening).
Vars neg_out_of_sum(const Apply& node, const RewriteContext& ctx) {
  const std::string kind = op_kind(node);
  if (kind == "Sum") {
    auto* r = dynamic_cast<const Reduce*>(node.op.get());
    if (!r || r->kind() != ReduceKind::Sum) return none();
  } else if (kind != "SumTo") {
    return none();
  }
  const Var& n = node.inputs[0];
  if (producer_name(n) != "neg" || !single_use(n, ctx)) return none();
  const Var& x = n->owner->inputs[0];
  const Var out = node.output(0);
  if (!is_float(x.dtype()) && x.dtype() != out.dtype()) return none();
  std::vector<Var> inputs = node.inputs;
  inputs[0] = x;
  return result(neg(make_node1(node.op, inputs, node.loc)), out);
}

}  // namespace

void add_arith_rules(RuleSet* rules) {
  const std::vector<std::string> kinds{"Elemwise"};
  for (auto [name, fn] : std::initializer_list<std::pair<const char*, RuleFn>>{
           {"mul_one", mul_one},
           {"add_zero", add_zero},
           {"sub_zero", sub_zero},
           {"div_one", div_one},
           {"pow_one", pow_one},
           {"mul_zero", mul_zero},
           {"pow_zero", pow_zero},
           {"sub_self", sub_self},
           {"neg_neg", neg_neg},
           {"neg_mul_constant", neg_mul_constant},
           {"mul_neg_one", mul_neg_one},
           {"add_neg", add_neg},
           {"sub_neg", sub_neg},
           {"collect_constants", collect_constants},
           {"div_to_mul", div_to_mul},
           {"pow_to_mul", pow_to_mul},
       })
    rules->push_back({name, kinds, fn});
  rules->push_back({"neg_out_of_sum", {"Sum", "SumTo"}, neg_out_of_sum});
}

}  // namespace theanine::canon
