// Specialize: products become BLAS calls. A dot becomes a Gemm or a Gemv, and
// the transposes, constant scales and additions around it fold into the call's
// flags, alpha and beta, so a layer's forward or backward product is one call
// with no transpose or scaling pass of its own.
#include <cmath>
#include <memory>
#include <optional>

#include "graph/op.h"
#include "ops/blas.h"
#include "ops/elemwise.h"
#include "ops/gemm_op.h"
#include "ops/reduce.h"
#include "ops/shape_ops.h"
#include "passes/pipeline.h"

namespace theanine {

namespace {

bool blas_float(DType d) { return d == DType::Float32 || d == DType::Float64; }

// A Gemm or Gemv node taken apart, to be rebuilt with other parameters. `b` is
// Gemv's x; `c` (Gemv's y) is null exactly when beta == 0.
struct BlasCall {
  bool gemv = false;
  bool trans_a = false, trans_b = false;
  double alpha = 1, beta = 0;
  Var a, b, c;

  static std::optional<BlasCall> of(const Apply* node) {
    if (!node) return std::nullopt;
    BlasCall r;
    if (auto* g = dynamic_cast<const Gemm*>(node->op.get())) {
      r.trans_a = g->trans_a(), r.trans_b = g->trans_b();
      r.alpha = g->alpha(), r.beta = g->beta();
    } else if (auto* v = dynamic_cast<const Gemv*>(node->op.get())) {
      r.gemv = true;
      r.trans_a = v->trans();
      r.alpha = v->alpha(), r.beta = v->beta();
    } else {
      return std::nullopt;
    }
    r.a = node->inputs[0], r.b = node->inputs[1];
    if (r.beta != 0) r.c = node->inputs[2];
    return r;
  }

  Var build(const SourceLoc& loc) const {
    std::vector<Var> inputs{a, b};
    if (beta != 0) inputs.push_back(c);
    OpPtr op = gemv ? OpPtr(std::make_shared<Gemv>(trans_a, alpha, beta))
                    : OpPtr(std::make_shared<Gemm>(trans_a, trans_b, alpha, beta));
    return make_node1(op, inputs, loc);
  }
};

// The Gemm or Gemv computing `v`, when nothing else reads v: folding into it is
// then free of duplicated work. Nodes built during this sweep count no
// clients, so they wait for the next sweep.
std::optional<BlasCall> sole_blas_producer(const Var& v, const RewriteContext& ctx) {
  if (ctx.clients(v.get()) != 1) return std::nullopt;
  return BlasCall::of(v->owner);
}

// X when v is X's transpose (DimShuffle{1,0} of a matrix), else null.
Var transposed_from(const Var& v) {
  if (!v->owner) return {};
  auto* ds = dynamic_cast<const DimShuffleOp*>(v->owner->op.get());
  if (!ds || ds->input_ndim() != 2 || ds->pattern() != std::vector<int>{1, 0}) return {};
  return v->owner->inputs[0];
}

// The value of a constant of one element as an operand of dtype `as` (a weak
// literal adopts the dtype it meets), when it is finite and nonzero: a zero or
// non-finite scale must keep the NaN and infinities of the product it scales.
std::optional<double> scale_value(const Var& v, DType as) {
  if (!v->is_constant() || v->constant_value.size() != 1) return std::nullopt;
  double s = NDArray::scalar(as, v->constant_value.item_double()).item_double();
  if (s == 0 || !std::isfinite(s)) return std::nullopt;
  return s;
}

// v as `scale * base` with a constant scale: mul by a one-element constant, or
// neg; `base` has v's type, so the scale never broadcast it.
struct Scaled {
  Var base;
  double scale;
};
std::optional<Scaled> as_scaled(const Var& v) {
  const Apply* n = v->owner;
  if (!n) return std::nullopt;
  const std::string op = elemwise_name(*n);
  if (op == "neg" && n->inputs[0].type() == v.type()) return Scaled{n->inputs[0], -1};
  if (op != "mul") return std::nullopt;
  for (int i = 0; i < 2; ++i) {
    const Var &s = n->inputs[i], &base = n->inputs[1 - i];
    if (base.type() != v.type()) continue;
    if (auto value = scale_value(s, v.dtype())) return Scaled{base, *value};
  }
  return std::nullopt;
}

// dot(a, b) of two float matrices -> Gemm{NN, alpha=1, beta=0}(a, b).
std::vector<Var> dot_to_gemm(const Apply& node, const RewriteContext&) {
  const Var &a = node.inputs[0], &b = node.inputs[1];
  const DType d = node.output_ptr(0)->type.dtype;
  if (a.ndim() != 2 || b.ndim() != 2 || !blas_float(d) || a.dtype() != d ||
      b.dtype() != d)
    return {};
  return {BlasCall{false, false, false, 1, 0, a, b, {}}.build(node.loc)};
}

// dot(A, x) -> Gemv{N}(A, x); dot(x, A) -> Gemv{T}(A, x) (x^T A = (A^T x)^T).
std::vector<Var> dot_to_gemv(const Apply& node, const RewriteContext&) {
  const Var &a = node.inputs[0], &b = node.inputs[1];
  const DType d = node.output_ptr(0)->type.dtype;
  if (!blas_float(d) || a.dtype() != d || b.dtype() != d) return {};
  if (a.ndim() == 2 && b.ndim() == 1)
    return {BlasCall{true, false, false, 1, 0, a, b, {}}.build(node.loc)};
  if (a.ndim() == 1 && b.ndim() == 2)
    return {BlasCall{true, true, false, 1, 0, b, a, {}}.build(node.loc)};
  return {};
}

// Gemm(X^T, B) -> Gemm with a's flag flipped, reading X (and likewise b, and
// Gemv's matrix): BLAS reads the transpose for free, so none is built.
std::vector<Var> gemm_fold_transpose(const Apply& node, const RewriteContext&) {
  std::optional<BlasCall> call = BlasCall::of(&node);
  if (!call) return {};
  bool changed = false;
  if (Var x = transposed_from(call->a))
    call->a = x, call->trans_a ^= true, changed = true;
  if (!call->gemv)
    if (Var x = transposed_from(call->b))
      call->b = x, call->trans_b ^= true, changed = true;
  if (!changed) return {};
  return {call->build(node.loc)};
}

// Gemm(s * A, B) -> Gemm with alpha * s, when s * A is read by nothing else
// (its elementwise pass then disappears); likewise for b and neg.
std::vector<Var> gemm_operand_scale(const Apply& node, const RewriteContext& ctx) {
  std::optional<BlasCall> call = BlasCall::of(&node);
  if (!call) return {};
  bool changed = false;
  for (Var* operand : {&call->a, &call->b}) {
    if (ctx.clients(operand->get()) != 1) continue;
    if (std::optional<Scaled> s = as_scaled(*operand)) {
      *operand = s->base;
      call->alpha *= s->scale;
      changed = true;
    }
  }
  if (!changed) return {};
  return {call->build(node.loc)};
}

// s * Gemm, Gemm * s, -Gemm, Gemm / s (s a constant) -> Gemm with alpha and
// beta times s.
std::vector<Var> gemm_scale(const Apply& node, const RewriteContext& ctx) {
  const std::string op = elemwise_name(node);
  const Var out = node.output(0);
  auto fold = [&](const Var& g, double s) -> std::vector<Var> {
    std::optional<BlasCall> call = sole_blas_producer(g, ctx);
    if (!call || g.type() != out.type()) return {};
    call->alpha *= s, call->beta *= s;
    return {call->build(node.loc)};
  };
  if (op == "neg") return fold(node.inputs[0], -1);
  if (op == "mul") {
    for (int i = 0; i < 2; ++i)
      if (auto s = scale_value(node.inputs[1 - i], out.dtype())) {
        std::vector<Var> r = fold(node.inputs[i], *s);
        if (!r.empty()) return r;
      }
    return {};
  }
  if (op == "true_div")
    if (auto s = scale_value(node.inputs[1], out.dtype()))
      return fold(node.inputs[0], 1 / *s);
  return {};
}

// True when c may be Gemm's (Gemv's) accumulated input in place of an add: same
// dtype and ndim, and not broadcast (a broadcast c, a bias, is left to the
// elementwise epilogue, which reads it once rather than copying it out first).
bool fits_as_accumulator(const Var& c, const Var& product) {
  if (c.dtype() != product.dtype() || c.ndim() != product.ndim()) return false;
  for (int d = 0; d < c.ndim(); ++d)
    if (c.type().shape[d] == 1 && product.type().shape[d] != 1) return false;
  return true;
}

// C + Gemm, Gemm + C, C - Gemm, Gemm - C -> Gemm with C accumulated (beta = 1
// or -1, alpha negated for C - Gemm); a constant scale on C (b * C, -C) goes
// into beta. The Gemm must not accumulate already. A C whose dims turn out to
// broadcast at run time is handled by the op.
std::vector<Var> gemm_accumulate(const Apply& node, const RewriteContext& ctx) {
  const std::string op = elemwise_name(node);
  if (op != "add" && op != "sub") return {};
  const Var out = node.output(0);
  for (int i = 0; i < 2; ++i) {
    const Var &g = node.inputs[i], &c = node.inputs[1 - i];
    std::optional<BlasCall> call = sole_blas_producer(g, ctx);
    if (!call || call->beta != 0 || out.dtype() != g.dtype()) continue;
    Scaled acc{c, 1};
    if (std::optional<Scaled> s = as_scaled(c)) acc = *s;
    if (!fits_as_accumulator(acc.base, g)) continue;
    // sub(in0, in1): the subtracted one is in1.
    const bool g_negated = op == "sub" && i == 1;
    const bool c_negated = op == "sub" && i == 0;
    if (g_negated) call->alpha = -call->alpha;
    call->c = acc.base;
    call->beta = c_negated ? -acc.scale : acc.scale;
    return {call->build(node.loc)};
  }
  return {};
}

// sum(x * y) over a vector -> dot(x, y), when the product is read by nothing
// else (the BLAS dot then reads x and y once and writes nothing). Only where
// the lengths are known equal: where one may be 1 at run time, x * y would
// broadcast and dot would refuse.
std::vector<Var> sum_mul_to_dot(const Apply& node, const RewriteContext& ctx) {
  auto* r = dynamic_cast<const Reduce*>(node.op.get());
  if (!r || r->kind() != ReduceKind::Sum || r->keepdims()) return {};
  const Var& p = node.inputs[0];
  const DType d = node.output_ptr(0)->type.dtype;
  if (p.ndim() != 1 || p.dtype() != d || !blas_float(d) || ctx.clients(p.get()) != 1)
    return {};
  const Apply* m = elemwise_producer(p, "mul");
  if (!m) return {};
  const Var &x = m->inputs[0], &y = m->inputs[1];
  if (x.ndim() != 1 || y.ndim() != 1 || x.dtype() != d || y.dtype() != d) return {};
  const int64_t nx = x.type().shape[0], ny = y.type().shape[0];
  if (!x.same(y) && !(nx >= 0 && nx == ny)) return {};
  return {make_node1(std::make_shared<Dot>(), {x, y}, node.loc)};
}

}  // namespace

const RuleSet& specialize_rules() {
  static const RuleSet rules{
      {"dot_to_gemm", {"Dot"}, dot_to_gemm},
      {"dot_to_gemv", {"Dot"}, dot_to_gemv},
      {"gemm_fold_transpose", {"Gemm", "Gemv"}, gemm_fold_transpose},
      {"gemm_operand_scale", {"Gemm", "Gemv"}, gemm_operand_scale},
      {"gemm_scale", {"Elemwise"}, gemm_scale},
      {"gemm_accumulate", {"Elemwise"}, gemm_accumulate},
      {"sum_mul_to_dot", {"Sum"}, sum_mul_to_dot},
  };
  return rules;
}

}  // namespace theanine
