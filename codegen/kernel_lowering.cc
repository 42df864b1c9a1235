#include "codegen/kernel_lowering.h"

#include <cstring>
#include <limits>

#include "codegen/kernel_helpers.h"
#include "ops/elemwise.h"
#include "ops/fused_elemwise.h"
#include "ops/nnet.h"
#include "ops/reduce.h"
#include "runtime/thread_pool.h"

namespace theanine {

namespace {

// Integer pow raises for a negative exponent; compiled code cannot pass an
// exception on, so such graphs stay on the reference path.
bool may_throw(const ScalarGraph& g) {
  for (const ScalarNode& n : g.nodes)
    if (std::strcmp(scalar_op(n.op).name, "pow") == 0 && !is_float(n.dtypes.operand))
      return true;
  return false;
}

// A body that passes its one input through: the reduction of a plain tensor.
ScalarGraph identity_body(DType d) {
  ScalarGraph g;
  g.inputs = {d};
  ScalarNode n;
  n.op = scalar_op("cast").id;
  n.cast_to = d;
  n.args = {ScalarRef{ScalarRef::Kind::Input, 0}};
  n.dtypes = {d, d};
  g.nodes.push_back(n);
  g.outputs = {0};
  return g;
}

// Appends a cast of the body's output to `to` (all/any reduce truth values).
void cast_output(ScalarGraph& g, DType to) {
  const int out = g.outputs.at(0);
  const DType from = g.nodes[out].dtypes.output;
  if (from == to) return;
  ScalarNode n;
  n.op = scalar_op("cast").id;
  n.cast_to = to;
  n.args = {ScalarRef{ScalarRef::Kind::Node, out}};
  n.dtypes = {from, to};
  g.nodes.push_back(n);
  g.outputs = {static_cast<int>(g.nodes.size()) - 1};
  if (!g.origins.empty()) g.origins.push_back({});
}

std::optional<KernelNode> reduction(ScalarGraph body, ReduceKind kind,
                                    const std::optional<std::vector<int>>& axes,
                                    bool keepdims, DType out_dtype) {
  KernelNode k;
  k.is_reduce = true;
  k.keepdims = keepdims;
  k.out_dtype = out_dtype;
  if (axes) {
    for (int a : *axes) {
      if (a < 0 || a > 30) return std::nullopt;
      k.reduce_axes |= 1u << a;
    }
  } else {
    k.all_axes = true;
  }
  switch (kind) {
    case ReduceKind::All:
    case ReduceKind::Any:
      cast_output(body, DType::Bool);
      k.ir.reduce = kind == ReduceKind::All ? KernelReduce::Min : KernelReduce::Max;
      k.ir.acc_dtype = DType::Bool;
      break;
    default: {
      const DType v = body.nodes[body.outputs[0]].dtypes.output;
      k.ir.reduce = kind == ReduceKind::Prod  ? KernelReduce::Prod
                    : kind == ReduceKind::Max ? KernelReduce::Max
                    : kind == ReduceKind::Min ? KernelReduce::Min
                                              : KernelReduce::Sum;
      k.mean = kind == ReduceKind::Mean;
      k.ir.acc_dtype = reduce_acc_dtype(kind, v);
    }
  }
  k.ir.body = std::move(body);
  return k;
}

int domain_rank(const Apply& node) {
  int r = 0;
  for (const Var& v : node.inputs) r = std::max(r, v->type.ndim());
  return r;
}

uint32_t reduced_mask(const KernelNode& k, int rank) {
  return k.all_axes ? (rank >= 32 ? ~0u : (1u << rank) - 1) : k.reduce_axes;
}

// Left-pads a shape with 1s to `rank` dimensions.
std::vector<int64_t> padded(const std::vector<int64_t>& s, int rank) {
  std::vector<int64_t> p(rank - s.size(), 1);
  p.insert(p.end(), s.begin(), s.end());
  return p;
}

template <class T>
T identity_of(KernelReduce r) {
  using L = std::numeric_limits<T>;
  switch (r) {
    case KernelReduce::Sum:
      return T(0);
    case KernelReduce::Prod:
      return T(1);
    case KernelReduce::Max:
    case KernelReduce::Argmax:
      if constexpr (L::has_infinity)
        return -L::infinity();
      else
        return L::lowest();
    case KernelReduce::Min:
    case KernelReduce::Argmin:
      if constexpr (L::has_infinity)
        return L::infinity();
      else
        return L::max();
    default:
      return T(0);
  }
}

void fill_identity(NDArray& a, KernelReduce r) {
  dispatch_dtype(a.dtype(), [&](auto t) {
    using T = decltype(t);
    T v = identity_of<T>(r);
    T* p = a.data<T>();
    for (int64_t i = 0, n = a.size(); i < n; ++i) p[i] = v;
  });
}

// Folds `part` into `acc` (same shape, contiguous) with the reduction's
// combining operation; NaN wins for max and min as in the kernels.
void combine_into(NDArray& acc, const NDArray& part, KernelReduce r) {
  dispatch_dtype(acc.dtype(), [&](auto t) {
    using T = decltype(t);
    T* a = acc.data<T>();
    const T* b = part.data<T>();
    for (int64_t i = 0, n = acc.size(); i < n; ++i) {
      switch (r) {
        case KernelReduce::Sum:
          a[i] = static_cast<T>(a[i] + b[i]);
          break;
        case KernelReduce::Prod:
          a[i] = static_cast<T>(a[i] * b[i]);
          break;
        case KernelReduce::Max:
          if (b[i] > a[i] || b[i] != b[i]) a[i] = b[i];
          break;
        case KernelReduce::Min:
          if (b[i] < a[i] || b[i] != b[i]) a[i] = b[i];
          break;
        default:
          break;
      }
    }
  });
}

// Below this many elements a kernel runs in the calling thread: waking the
// pool costs more than it saves.
constexpr int64_t kParallelGrain = 1 << 15;

void launch(const KernelNode& k, const std::vector<int64_t>& domain,
            std::vector<NDArray>& operands, uint32_t mask, const KernelSource& source,
            size_t step) {
  const int nin = k.ir.num_inputs();
  // Kept per thread so that a warm call allocates nothing for the loop nest
  // (a kernel never calls back into theanine, so this cannot be re-entered).
  // Workers see the caller's nest through this reference: the lambdas below
  // must not name the thread_local itself, which is per thread.
  thread_local LoopNest caller_nest;
  LoopNest& nest = caller_nest;
  fill_loop_nest(domain, operands, mask, nin, nest);
  KernelFn fn = source(k.ir, nest.layout, step);
  void* const* helpers = kernel_helpers();
  const int64_t outer = nest.shape[0];
  const bool outer_reduced = k.is_reduce && (nest.layout.reduced & 1u);
  const int64_t work = nest.size();
  if (work < kParallelGrain || outer < 2) {
    fn(0, outer, nest.shape.data(), nest.strides.data(), nest.ptrs.data(), helpers);
    return;
  }
  if (!outer_reduced) {
    parallel_for(outer, work, [&](int64_t b, int64_t e) {
      fn(b, e, nest.shape.data(), nest.strides.data(), nest.ptrs.data(), helpers);
    });
    return;
  }
  const int threads = num_threads();
  if (k.ir.is_arg() || threads <= 1 || work < (1 << 16)) {
    fn(0, outer, nest.shape.data(), nest.strides.data(), nest.ptrs.data(), helpers);
    return;
  }
  // The outer dimension is summed away: each chunk reduces into a private
  // accumulator, folded into the output afterwards.
  NDArray& acc = operands[nin];
  const int chunks = static_cast<int>(std::min<int64_t>(threads, outer));
  std::vector<NDArray> parts(chunks);
  for (int c = 0; c < chunks; ++c) {
    parts[c] = NDArray::empty(acc.dtype(), acc.shape());
    fill_identity(parts[c], k.ir.reduce);
  }
  parallel_for(
      chunks, nest.size(),
      [&](int64_t b, int64_t e) {
        for (int64_t c = b; c < e; ++c) {
          std::vector<void*> ptrs = nest.ptrs;
          ptrs[nin] = parts[c].raw();
          fn(outer * c / chunks, outer * (c + 1) / chunks, nest.shape.data(),
             nest.strides.data(), ptrs.data(), helpers);
        }
      },
      0);
  for (const NDArray& p : parts) combine_into(acc, p, k.ir.reduce);
}

std::optional<KernelNode> single_kernel(const Apply& node) {
  const Op* op = node.op.get();
  if (auto* f = dynamic_cast<const FusedElemwise*>(op)) {
    if (may_throw(f->graph())) return std::nullopt;
    KernelNode k;
    k.ir.body = f->graph();
    return k;
  }
  if (auto* e = dynamic_cast<const Elemwise*>(op)) {
    KernelNode k;
    ScalarGraph& g = k.ir.body;
    for (const Var& v : node.inputs) g.inputs.push_back(v->type.dtype);
    ScalarNode n;
    n.op = e->scalar_op().id;
    n.cast_to = e->cast_to();
    for (size_t i = 0; i < node.inputs.size(); ++i)
      n.args.push_back(ScalarRef{ScalarRef::Kind::Input, static_cast<int>(i)});
    n.dtypes = e->dtypes(node.inputs);
    g.nodes.push_back(n);
    g.outputs = {0};
    if (may_throw(g)) return std::nullopt;
    return k;
  }
  const DType out_dtype =
      node.num_outputs() ? node.output_ptr(0)->type.dtype : DType::Float64;
  if (auto* fr = dynamic_cast<const FusedReduce*>(op)) {
    if (may_throw(fr->prologue())) return std::nullopt;
    const Reduce& r = fr->reduce();
    return reduction(fr->prologue(), r.kind(), r.axes(), r.keepdims(), out_dtype);
  }
  if (auto* r = dynamic_cast<const Reduce*>(op)) {
    return reduction(identity_body(node.inputs.at(0)->type.dtype), r->kind(), r->axes(),
                     r->keepdims(), out_dtype);
  }
  if (auto* a = dynamic_cast<const ArgReduce*>(op)) {
    const int rank = node.inputs.at(0)->type.ndim();
    KernelNode k;
    k.is_reduce = true;
    k.keepdims = a->keepdims();
    k.out_dtype = DType::Int64;
    if (a->axis()) {
      int ax = *a->axis() < 0 ? *a->axis() + rank : *a->axis();
      if (ax < 0 || ax >= rank || ax > 30) return std::nullopt;
      k.reduce_axes = 1u << ax;
    } else {
      k.all_axes = true;
    }
    k.ir.body = identity_body(node.inputs[0]->type.dtype);
    k.ir.reduce = a->is_max() ? KernelReduce::Argmax : KernelReduce::Argmin;
    k.ir.acc_dtype = DType::Int64;
    return k;
  }
  return std::nullopt;
}

// The static shape of an elementwise result over these operand shapes.
std::vector<int64_t> broadcast_static(const std::vector<std::vector<int64_t>>& shapes,
                                      int rank) {
  std::vector<int64_t> domain(rank, 1);
  for (int d = 0; d < rank; ++d) {
    bool unknown = false;
    for (const auto& s : shapes) {
      if (s[d] < 0)
        unknown = true;
      else if (s[d] != 1)
        domain[d] = s[d];
    }
    if (unknown && domain[d] == 1) domain[d] = -1;
  }
  return domain;
}

// The spec of kernel k over arguments of these static shapes, and (through
// `out`) the static shape of its result.
KernelSpec spec_for_shapes(const KernelNode& k, std::vector<std::vector<int64_t>> shapes,
                           const std::vector<int>& same_as, std::vector<int64_t>* out) {
  int rank = 0;
  for (const auto& s : shapes) rank = std::max(rank, static_cast<int>(s.size()));
  for (auto& s : shapes) s = padded(s, rank);
  std::vector<int64_t> domain = broadcast_static(shapes, rank);
  const uint32_t mask = k.is_reduce ? reduced_mask(k, rank) : 0;
  std::vector<int64_t> out_shape = domain;
  std::vector<int64_t> final_shape;
  for (int d = 0; d < rank; ++d) {
    if ((mask >> d) & 1u) {
      out_shape[d] = 1;
      if (k.keepdims) final_shape.push_back(1);
    } else {
      final_shape.push_back(domain[d]);
    }
  }
  if (out) *out = k.is_reduce ? final_shape : domain;
  const int nout = k.ir.num_operands() - k.ir.num_inputs();
  for (int o = 0; o < nout; ++o) shapes.push_back(out_shape);
  std::vector<int> sa = same_as;
  sa.resize(k.ir.num_outputs(), -1);
  if (k.ir.is_arg()) sa.push_back(-1);
  return KernelSpec{k.ir, predict_layout(domain, shapes, mask, sa)};
}

NDArray divide_on_host(const NDArray& acc, int64_t count) {
  NDArray result = acc.dtype() == DType::Float64 ? acc : acc.astype(DType::Float64);
  double* p = result.data<double>();
  for (int64_t i = 0, n = result.size(); i < n; ++i) p[i] /= static_cast<double>(count);
  return result;
}

std::optional<std::vector<NDArray>> run_one(const KernelNode& k,
                                            const std::vector<NDArray>& inputs,
                                            const std::vector<NDArray>& offered,
                                            const KernelTarget& target, size_t step) {
  const int nin = k.ir.num_inputs();
  if (static_cast<int>(inputs.size()) != nin) return std::nullopt;
  int rank = 0;
  for (const NDArray& a : inputs) {
    rank = std::max(rank, a.ndim());
  }
  std::vector<int64_t> domain(rank, 1);
  for (int i = 0; i < nin; ++i) {
    const NDArray& a = inputs[i];
    if (!a.defined() || a.dtype() != k.ir.body.inputs[i]) return std::nullopt;
    const int pad = rank - a.ndim();
    for (int d = pad; d < rank; ++d) {
      const int64_t e = a.shape(d - pad);
      if (e == domain[d] || e == 1) continue;
      if (domain[d] != 1) return std::nullopt;  // does not broadcast
      domain[d] = e;
    }
  }
  int64_t size = 1;
  for (int64_t e : domain) size *= e;
  if (size == 0 || rank > 30) return std::nullopt;

  std::vector<NDArray> operands;
  operands.reserve(k.ir.num_operands());
  for (const NDArray& a : inputs)
    operands.push_back(a.shape() == domain ? a : a.broadcast_to(domain));

  if (!k.is_reduce) {
    std::vector<NDArray> outs;
    for (int o = 0; o < k.ir.num_outputs(); ++o) {
      const DType d = k.ir.operand_dtype(nin + o);
      NDArray out;
      if (o < static_cast<int>(offered.size()) && offered[o].defined() &&
          offered[o].dtype() == d && offered[o].shape() == domain &&
          offered[o].is_contiguous())
        out = offered[o];
      else
        out = target.empty(d, domain);
      operands.push_back(out);
      outs.push_back(out);
    }
    target.launch(k, domain, operands, 0, step);
    return outs;
  }

  const uint32_t mask = reduced_mask(k, rank);
  std::vector<int64_t> kept = domain, final_shape;
  for (int d = 0; d < rank; ++d) {
    if ((mask >> d) & 1u) {
      kept[d] = 1;
      if (k.keepdims) final_shape.push_back(1);
    } else {
      final_shape.push_back(domain[d]);
    }
  }
  NDArray acc = target.empty(k.ir.acc_dtype, kept);
  if (target.accumulators_start_at_identity)
    fill_identity(acc, k.ir.is_arg() ? KernelReduce::Sum : k.ir.reduce);
  operands.push_back(acc);
  if (k.ir.is_arg()) {
    NDArray best = target.empty(k.ir.operand_dtype(nin + 1), kept);
    if (target.accumulators_start_at_identity) fill_identity(best, k.ir.reduce);
    operands.push_back(best);
  }
  target.launch(k, domain, operands, mask, step);
  NDArray result = acc;
  if (k.mean) {
    int64_t count = 1;
    for (int d = 0; d < rank; ++d)
      if ((mask >> d) & 1u) count *= domain[d];
    result = target.divide(acc, count);
  }
  if (result.dtype() != k.out_dtype) result = result.astype(k.out_dtype);
  return std::vector<NDArray>{result.reshape(final_shape)};
}

// ---- the softmax family as kernels ------------------------------------------

// Builds a scalar body whose nodes all compute in one float dtype.
struct Body {
  ScalarGraph g;
  DType d;
  Body(int inputs, DType dt) : d(dt) { g.inputs.assign(inputs, dt); }
  static ScalarRef in(int i) { return {ScalarRef::Kind::Input, i}; }
  ScalarRef op(const char* name, std::vector<ScalarRef> args) {
    ScalarNode n;
    n.op = scalar_op(name).id;
    n.args = std::move(args);
    n.dtypes = {d, d};
    g.nodes.push_back(n);
    return {ScalarRef::Kind::Node, static_cast<int>(g.nodes.size()) - 1};
  }
  ScalarGraph done(ScalarRef out) {
    g.outputs = {out.index};
    return g;
  }
};

KernelNode elementwise_step(ScalarGraph body) {
  KernelNode k;
  k.ir.body = std::move(body);
  return k;
}
KernelNode row_reduce(ScalarGraph body, ReduceKind kind, int axis) {
  return *reduction(std::move(body), kind, std::vector<int>{axis}, true, DType::Float64);
}

std::optional<std::vector<KernelStep>> softmax_kernels(const Apply& node) {
  const Op* op = node.op.get();
  if (auto* sm = dynamic_cast<const SoftmaxOp*>(op)) {
    const DType d = node.inputs.at(0)->type.dtype;
    if (!is_float(d) || node.output_ptr(0)->type.dtype != d) return std::nullopt;
    const int axis = sm->axis();
    Body mx(1, d);
    KernelNode m =
        row_reduce(mx.done(mx.op("cast", {Body::in(0)})), ReduceKind::Max, axis);
    m.ir.body.nodes[0].cast_to = d;
    m.out_dtype = d;
    Body se(2, d);
    KernelNode s =
        row_reduce(se.done(se.op("exp", {se.op("sub", {Body::in(0), Body::in(1)})})),
                   ReduceKind::Sum, axis);
    s.out_dtype = d;
    Body fin(3, d);
    ScalarRef shifted = fin.op("sub", {Body::in(0), Body::in(1)});
    ScalarRef out = sm->is_log()
                        ? fin.op("sub", {shifted, fin.op("log", {Body::in(2)})})
                        : fin.op("true_div", {fin.op("exp", {shifted}), Body::in(2)});
    return std::vector<KernelStep>{
        {m, {0}}, {s, {0, 1}}, {elementwise_step(fin.done(out)), {0, 1, 2}}};
  }
  if (auto* sg = dynamic_cast<const SoftmaxGradOp*>(op)) {
    const DType d = node.output_ptr(0)->type.dtype;
    if (!is_float(d) || node.inputs.at(0)->type.dtype != d ||
        node.inputs.at(1)->type.dtype != d)
      return std::nullopt;
    const int axis = sg->axis();
    if (sg->is_log()) {
      // dy - sum(dy) * exp(l)
      Body r(1, d);
      KernelNode sum =
          row_reduce(r.done(r.op("cast", {Body::in(0)})), ReduceKind::Sum, axis);
      sum.ir.body.nodes[0].cast_to = d;
      sum.out_dtype = d;
      Body fin(3, d);
      ScalarRef v = fin.op(
          "sub",
          {Body::in(0), fin.op("mul", {Body::in(2), fin.op("exp", {Body::in(1)})})});
      return std::vector<KernelStep>{{sum, {0}},
                                     {elementwise_step(fin.done(v)), {0, 1, 2}}};
    }
    // (dy - sum(dy * sm)) * sm
    Body r(2, d);
    KernelNode sum = row_reduce(r.done(r.op("mul", {Body::in(0), Body::in(1)})),
                                ReduceKind::Sum, axis);
    sum.out_dtype = d;
    Body fin(3, d);
    ScalarRef v = fin.op("mul", {fin.op("sub", {Body::in(0), Body::in(2)}), Body::in(1)});
    return std::vector<KernelStep>{{sum, {0, 1}},
                                   {elementwise_step(fin.done(v)), {0, 1, 2}}};
  }
  return std::nullopt;
}

}  // namespace

KernelNode cast_kernel(DType from, DType to) {
  KernelNode k;
  ScalarGraph& g = k.ir.body;
  g.inputs = {from};
  ScalarNode n;
  n.op = scalar_op("cast").id;
  n.cast_to = to;
  n.args = {ScalarRef{ScalarRef::Kind::Input, 0}};
  n.dtypes = resolve_dtypes(scalar_op(n.op), from, to);
  g.nodes.push_back(n);
  g.outputs = {0};
  return k;
}

std::optional<KernelNode> reduce_kernel(DType in, ReduceKind kind,
                                        const std::vector<int>& axes, bool keepdims,
                                        DType out) {
  return reduction(identity_body(in), kind, axes, keepdims, out);
}

std::optional<std::vector<KernelStep>> lower_to_kernels(const Apply& node) {
  if (auto k = single_kernel(node)) {
    std::vector<int> args(node.inputs.size());
    for (size_t i = 0; i < args.size(); ++i) args[i] = static_cast<int>(i);
    return std::vector<KernelStep>{{std::move(*k), std::move(args)}};
  }
  return softmax_kernels(node);
}

std::vector<KernelSpec> predicted_specs(const std::vector<KernelStep>& steps,
                                        const Apply& node,
                                        const std::vector<int>& same_as) {
  std::vector<std::vector<int64_t>> values;
  for (const Var& v : node.inputs) values.push_back(v->type.shape);
  std::vector<KernelSpec> specs;
  for (size_t i = 0; i < steps.size(); ++i) {
    std::vector<std::vector<int64_t>> shapes;
    for (int a : steps[i].args) shapes.push_back(values.at(a));
    std::vector<int> sa = i + 1 == steps.size() ? same_as : std::vector<int>{};
    std::vector<int64_t> out;
    specs.push_back(spec_for_shapes(steps[i].kernel, shapes, sa, &out));
    values.push_back(out);
  }
  return specs;
}

std::optional<std::vector<NDArray>> run_kernels(const std::vector<KernelStep>& steps,
                                                const std::vector<NDArray>& inputs,
                                                const std::vector<NDArray>& offered,
                                                const KernelSource& source) {
  KernelTarget host;
  host.empty = &NDArray::empty;
  host.launch = [&source](const KernelNode& k, const std::vector<int64_t>& domain,
                          std::vector<NDArray>& operands, uint32_t mask, size_t step) {
    launch(k, domain, operands, mask, source, step);
  };
  host.divide = &divide_on_host;
  return run_kernels_on(steps, inputs, offered, host);
}

std::optional<std::vector<NDArray>> run_kernels_on(const std::vector<KernelStep>& steps,
                                                   const std::vector<NDArray>& inputs,
                                                   const std::vector<NDArray>& offered,
                                                   const KernelTarget& target) {
  if (steps.size() == 1) return run_one(steps[0].kernel, inputs, offered, target, 0);
  std::vector<NDArray> values = inputs;
  for (size_t i = 0; i < steps.size(); ++i) {
    std::vector<NDArray> args;
    for (int a : steps[i].args) {
      if (a < 0 || a >= static_cast<int>(values.size())) return std::nullopt;
      args.push_back(values[a]);
    }
    const bool last = i + 1 == steps.size();
    auto out = run_one(steps[i].kernel, args, last ? offered : std::vector<NDArray>{},
                       target, i);
    if (!out) return std::nullopt;
    if (last) return out;
    values.push_back(out->at(0));
  }
  return std::nullopt;
}

}  // namespace theanine
