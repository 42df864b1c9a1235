#pragma once
// Kernels for the CUDA tests: a single-op body for every scalar op in every
// dtype its rule accepts, and cases over concrete arrays (layouts with each
// InnerStep, overwrites, every reduction kind and strategy, argmax with ties and
// NaN) together with the reference result of each, computed without any
// compiled code.
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "codegen/kernel_ir.h"
#include "ops/fused_elemwise.h"
#include "ops/reduce.h"
#include "ops/scalar_op_table.h"
#include "runtime/error.h"

namespace theanine::testing {

inline const std::vector<DType>& all_dtypes() {
  static const std::vector<DType> d = {DType::Bool,    DType::Int8,   DType::UInt8,
                                       DType::Int16,   DType::Int32,  DType::Int64,
                                       DType::Float32, DType::Float64};
  return d;
}

inline ScalarRef in_ref(int i) { return {ScalarRef::Kind::Input, i}; }
inline ScalarRef node_ref(int i) { return {ScalarRef::Kind::Node, i}; }
inline ScalarRef const_ref(int i) { return {ScalarRef::Kind::Constant, i}; }

// One application of `op` to inputs of the given dtypes.
inline ScalarGraph single_op_body(const ScalarOp& op, const std::vector<DType>& inputs,
                                  ElemwiseDTypes dt, std::optional<DType> cast_to = {}) {
  ScalarGraph g;
  g.inputs = inputs;
  ScalarNode n;
  n.op = op.id;
  n.cast_to = cast_to;
  for (int i = 0; i < op.arity; ++i) n.args.push_back(in_ref(i));
  n.dtypes = dt;
  g.nodes.push_back(n);
  g.outputs = {0};
  return g;
}

struct OpCase {
  std::string name;  // "add float32", "cast int8->float32"
  ScalarGraph body;
};

// Every op in every dtype its rule accepts, the inputs of that dtype (switch's
// condition bool); cast to every dtype from every dtype.
inline std::vector<OpCase> every_op_case() {
  std::vector<OpCase> cases;
  for (const ScalarOp& op : scalar_ops()) {
    for (DType common : all_dtypes()) {
      if (op.rule == TypeRule::kCast) {
        for (DType to : all_dtypes())
          cases.push_back(
              {std::string("cast ") + dtype_name(common) + "->" + dtype_name(to),
               single_op_body(op, {common}, resolve_dtypes(op, common, to), to)});
        continue;
      }
      ElemwiseDTypes dt;
      try {
        dt = resolve_dtypes(op, common);
      } catch (const TypeError&) {
        continue;
      }
      std::vector<DType> ins(op.arity, common);
      if (op.rule == TypeRule::kBranches) ins[0] = DType::Bool;
      cases.push_back(
          {std::string(op.name) + " " + dtype_name(common), single_op_body(op, ins, dt)});
    }
  }
  return cases;
}

// A body of one node per entry: op name and the refs it reads, each computing in
// `d` (outputs the listed nodes).
struct BodyBuilder {
  ScalarGraph g;
  DType d;
  BodyBuilder(std::vector<DType> inputs, DType compute) : d(compute) {
    g.inputs = inputs;
  }
  ScalarRef constant(NDArray v, bool weak = false) {
    g.constants.push_back({v, weak});
    return const_ref(static_cast<int>(g.constants.size()) - 1);
  }
  ScalarRef op(const char* name, std::vector<ScalarRef> args,
               std::optional<ElemwiseDTypes> dt = {}, std::optional<DType> cast_to = {}) {
    ScalarNode n;
    n.op = scalar_op(name).id;
    n.args = std::move(args);
    n.dtypes = dt ? *dt : ElemwiseDTypes{d, d};
    n.cast_to = cast_to;
    g.nodes.push_back(n);
    return node_ref(static_cast<int>(g.nodes.size()) - 1);
  }
  ScalarGraph done(std::vector<ScalarRef> outs) {
    g.outputs.clear();
    for (const ScalarRef& r : outs) g.outputs.push_back(r.index);
    return g;
  }
};

// An identity body: the reduction of a plain tensor.
inline ScalarGraph pass_through(DType d) {
  BodyBuilder b({d}, d);
  return b.done({b.op("cast", {in_ref(0)}, ElemwiseDTypes{d, d}, d)});
}

// ---- cases over concrete arrays ---------------------------------------------------

// Fills an array with values fit for `op` (or generic ones): floats uniform in
// [-range, range] with NaN, infinities, signed zeros and huge values sprinkled
// in when `specials`; integers in [-range, range] with the dtype's extremes.
inline NDArray test_values(DType d, const Shape& s, uint32_t seed, double range = 3.0,
                           bool specials = true, double lo_override = NAN) {
  std::mt19937 rng(seed);
  const double lo = !std::isnan(lo_override) ? lo_override
                    : is_unsigned(d)         ? 0.0
                                             : -range;
  std::uniform_real_distribution<double> u(lo, range);
  NDArray a = NDArray::empty(d, s);
  const double inf = std::numeric_limits<double>::infinity();
  const double fspecial[] = {NAN,   inf, -inf, 0.0, -0.0, 1e30,
                             -1e30, 0.5, -0.5, 2.5, 1e-39};
  for (int64_t k = 0; k < a.size(); ++k) {
    double v = u(rng);
    if (is_bool(d)) {
      a.set_item_double(k, (rng() & 1) ? 1 : 0);
      continue;
    }
    if (!is_float(d)) v = std::round(v);
    if (specials && k % 11 == 3) {
      if (is_float(d)) {
        v = fspecial[(k / 11) % (sizeof fspecial / sizeof fspecial[0])];
      } else {
        dispatch_dtype(d, [&](auto t) {
          using T = decltype(t);
          const int pick = static_cast<int>((k / 11) % 4);
          v = pick == 0   ? double(std::numeric_limits<T>::max())
              : pick == 1 ? double(std::numeric_limits<T>::lowest())
              : pick == 2 ? -1.0
                          : 0.0;
        });
      }
    }
    a.set_item_double(k, v);
  }
  if (d == DType::Int64 && specials && a.size() > 14) {
    // set_item_double cannot reach the extremes of int64 exactly.
    a.data<int64_t>()[3] = std::numeric_limits<int64_t>::min();
    a.data<int64_t>()[14] = std::numeric_limits<int64_t>::max();
  }
  return a;
}

struct KernelCase {
  std::string name;
  KernelIR ir;
  std::vector<int64_t> domain;
  std::vector<NDArray> inputs;      // each of the domain's rank; views allowed
  uint32_t axes = 0;                // reductions: the reduced domain axes
  std::vector<int> overwrite = {};  // elementwise: per output, the input written over
};

// The operands of a case: the inputs broadcast to the domain, then fresh
// outputs (poisoned) or the overwritten input, then argmax's scratch.
inline std::vector<NDArray> case_operands(const KernelCase& c) {
  std::vector<NDArray> ops;
  for (const NDArray& a : c.inputs) ops.push_back(a.broadcast_to(c.domain));
  const int nin = c.ir.num_inputs();
  std::vector<int64_t> out_shape = c.domain;
  for (size_t d = 0; d < out_shape.size(); ++d)
    if ((c.axes >> d) & 1u) out_shape[d] = 1;
  for (int k = nin; k < c.ir.num_operands(); ++k) {
    const int o = k - nin;
    if (o < static_cast<int>(c.overwrite.size()) && c.overwrite[o] >= 0) {
      ops.push_back(c.inputs[c.overwrite[o]]);
      continue;
    }
    NDArray out = NDArray::empty(c.ir.operand_dtype(k), out_shape);
    std::memset(out.raw(), 0x5a, out.nbytes());
    ops.push_back(out);
  }
  return ops;
}

inline KernelSpec case_spec(const KernelCase& c, const std::vector<NDArray>& operands) {
  LoopNest nest = make_loop_nest(c.domain, operands, c.axes, c.ir.num_inputs());
  return KernelSpec{c.ir, nest.layout};
}

// Integer v wrapped to dtype d's width, as a stored value reads back.
inline int64_t wrap_to(int64_t v, DType d) {
  return dispatch_dtype(d, [&](auto t) -> int64_t {
    using T = decltype(t);
    if constexpr (std::is_same_v<T, bool>)
      return v != 0;
    else if constexpr (std::is_floating_point_v<T>)
      return v;
    else
      return static_cast<int64_t>(static_cast<T>(static_cast<uint64_t>(v)));
  });
}

// The reference result of a case: the body evaluated by the scalar-op table's
// reference path, and reductions folded by plain loops in row-major order.
// Returns the output operands (argmax: index and best value). For sums and
// products, `magnitude` receives per output the sum of |value| (the scale of
// the rounding error another summation order may make).
inline std::vector<NDArray> case_reference(const KernelCase& c,
                                           std::vector<double>* magnitude = nullptr) {
  std::vector<NDArray> ins;
  for (const NDArray& a : c.inputs) ins.push_back(a.broadcast_to(c.domain).contiguous());
  std::vector<NDArray> vals = c.ir.body.evaluate(ins);
  if (magnitude) magnitude->clear();
  if (c.ir.reduce == KernelReduce::None) return vals;
  const NDArray v = vals.at(0).contiguous();
  const DType ad = c.ir.acc_dtype;
  const int rank = static_cast<int>(c.domain.size());
  std::vector<int64_t> out_shape = c.domain;
  for (int d = 0; d < rank; ++d)
    if ((c.axes >> d) & 1u) out_shape[d] = 1;
  int64_t nout = 1;
  for (int64_t e : out_shape) nout *= e;
  const bool arg = c.ir.is_arg();
  const bool fl = is_float(arg ? v.dtype() : ad);
  std::vector<double> facc(nout);
  std::vector<int64_t> iacc(nout);
  std::vector<int64_t> idx(nout, 0);
  std::vector<bool> started(nout, false);
  if (magnitude) magnitude->assign(nout, 0.0);
  const NDArray va = arg ? v : v.astype(ad);
  std::vector<int64_t> pos(rank, 0);
  for (int64_t flat = 0; flat < va.size(); ++flat) {
    int64_t o = 0, lin = 0;
    for (int d = 0; d < rank; ++d) {
      const bool red = (c.axes >> d) & 1u;
      o = o * out_shape[d] + (red ? 0 : pos[d]);
      if (red) lin = lin * c.domain[d] + pos[d];
    }
    const double x = va.item_double(flat);
    if (magnitude) (*magnitude)[o] += std::fabs(x);
    const int64_t xi = fl ? 0 : va.item_int(flat);
    switch (c.ir.reduce) {
      case KernelReduce::Sum:
        if (fl)
          facc[o] = (started[o] ? facc[o] : 0.0) + x;
        else
          iacc[o] =
              static_cast<int64_t>(uint64_t(started[o] ? iacc[o] : 0) + uint64_t(xi));
        break;
      case KernelReduce::Prod:
        if (fl)
          facc[o] = (started[o] ? facc[o] : 1.0) * x;
        else
          iacc[o] =
              static_cast<int64_t>(uint64_t(started[o] ? iacc[o] : 1) * uint64_t(xi));
        break;
      case KernelReduce::Max:
      case KernelReduce::Min: {
        const bool mx = c.ir.reduce == KernelReduce::Max;
        if (fl) {
          if (!started[o] || std::isnan(x) ||
              (!std::isnan(facc[o]) && (mx ? x > facc[o] : x < facc[o])))
            facc[o] = x;
        } else if (!started[o] || (mx ? xi > iacc[o] : xi < iacc[o])) {
          iacc[o] = xi;
        }
        break;
      }
      case KernelReduce::Argmax:
      case KernelReduce::Argmin: {
        const bool mx = c.ir.reduce == KernelReduce::Argmax;
        bool better;
        if (fl) {
          better = !started[o] || (std::isnan(x) && !std::isnan(facc[o])) ||
                   (!std::isnan(facc[o]) && (mx ? x > facc[o] : x < facc[o]));
        } else {
          better = !started[o] || (mx ? xi > iacc[o] : xi < iacc[o]);
        }
        if (better) {
          facc[o] = x;
          iacc[o] = xi;
          idx[o] = lin;
        }
        break;
      }
      default:
        break;
    }
    started[o] = true;
    for (int d = rank - 1; d >= 0; --d) {
      if (++pos[d] < c.domain[d]) break;
      pos[d] = 0;
    }
  }
  if (arg) {
    NDArray index = NDArray::empty(DType::Int64, out_shape);
    NDArray best = NDArray::empty(v.dtype(), out_shape);
    for (int64_t o = 0; o < nout; ++o) {
      index.data<int64_t>()[o] = idx[o];
      if (fl)
        best.set_item_double(o, facc[o]);
      else
        dispatch_dtype(v.dtype(), [&](auto t) {
          using T = decltype(t);
          best.data<T>()[o] = static_cast<T>(iacc[o]);
        });
    }
    return {index, best};
  }
  NDArray out = NDArray::empty(ad, out_shape);
  for (int64_t o = 0; o < nout; ++o) {
    if (fl)
      out.set_item_double(o, facc[o]);
    else
      dispatch_dtype(ad, [&](auto t) {
        using T = decltype(t);
        out.data<T>()[o] = static_cast<T>(static_cast<uint64_t>(iacc[o]));
      });
  }
  return {out};
}

inline KernelIR reduce_ir(ScalarGraph body, KernelReduce r, DType acc) {
  KernelIR ir;
  ir.body = std::move(body);
  ir.reduce = r;
  ir.acc_dtype = acc;
  return ir;
}

inline DType acc_for(KernelReduce r, DType v) {
  switch (r) {
    case KernelReduce::Sum:
      return reduce_acc_dtype(ReduceKind::Sum, v);
    case KernelReduce::Prod:
      return reduce_acc_dtype(ReduceKind::Prod, v);
    case KernelReduce::Max:
      return reduce_acc_dtype(ReduceKind::Max, v);
    case KernelReduce::Min:
      return reduce_acc_dtype(ReduceKind::Min, v);
    default:
      return DType::Int64;
  }
}

// Layouts, overwrites, mixed dtypes and constants, multi-output bodies.
inline std::vector<KernelCase> layout_cases() {
  std::vector<KernelCase> cases;
  const DType f32 = DType::Float32, f64 = DType::Float64;
  {  // x (R, C) * b (1, C) + c (R, 1): unit, zero outer stride, zero inner step
    BodyBuilder b({f32, f32, f32}, f32);
    KernelIR ir;
    ir.body = b.done({b.op("add", {b.op("mul", {in_ref(0), in_ref(1)}), in_ref(2)})});
    cases.push_back({"broadcast row and column",
                     ir,
                     {37, 45},
                     {test_values(f32, {37, 45}, 1), test_values(f32, {1, 45}, 2),
                      test_values(f32, {37, 1}, 3)}});
  }
  {  // a transposed view: strided inner steps
    BodyBuilder b({f64, f64}, f64);
    KernelIR ir;
    ir.body = b.done({b.op("tanh", {b.op("sub", {in_ref(0), in_ref(1)})})});
    cases.push_back({"transposed operand",
                     ir,
                     {33, 20},
                     {test_values(f64, {20, 33}, 4).transpose({1, 0}),
                      test_values(f64, {33, 20}, 5)}});
  }
  {  // a stepped slice and a rank-3 nest that does not merge
    BodyBuilder b({f32, f32}, f32);
    KernelIR ir;
    ir.body = b.done({b.op("maximum", {in_ref(0), in_ref(1)})});
    cases.push_back({"sliced rank-3",
                     ir,
                     {4, 5, 6},
                     {test_values(f32, {4, 5, 12}, 6).slice(2, 0, 12, 2),
                      test_values(f32, {4, 1, 6}, 7)}});
  }
  {  // output written over its input
    BodyBuilder b({f32, f32}, f32);
    KernelIR ir;
    ir.body = b.done({b.op("sigmoid", {b.op("add", {in_ref(0), in_ref(1)})})});
    KernelCase c{
        "overwrite", ir, {300}, {test_values(f32, {300}, 8), test_values(f32, {300}, 9)}};
    c.overwrite = {0};
    cases.push_back(c);
  }
  {  // two outputs of one body, one int and one float
    BodyBuilder b({f64, DType::Int32}, f64);
    ScalarRef s = b.op("add", {in_ref(0), in_ref(1)});
    ScalarRef f = b.op("floor", {s});
    ScalarRef i = b.op("cast", {f}, ElemwiseDTypes{f64, DType::Int32}, DType::Int32);
    KernelIR ir;
    ir.body = b.done({b.op("exp", {s}), i});
    cases.push_back({"two outputs",
                     ir,
                     {3, 70},
                     {test_values(f64, {3, 70}, 10, 1e10),
                      test_values(DType::Int32, {1, 70}, 11, 50)}});
  }
  {  // int8 compared with a literal beyond its range, and a float32 op with a
     // float64 constant, NaN and -0 constants, INT64_MIN
    BodyBuilder b({DType::Int8, f32, DType::Int64}, f32);
    ScalarRef big = b.constant(NDArray::scalar(DType::Int64, 1000), true);
    ScalarRef lt =
        b.op("lt", {in_ref(0), big}, ElemwiseDTypes{DType::Int64, DType::Bool});
    ScalarRef third = b.constant(NDArray::scalar(f64, 1.0 / 3.0));
    ScalarRef nan = b.constant(NDArray::scalar(f64, NAN));
    ScalarRef negz = b.constant(NDArray::scalar(f32, -0.0));
    ScalarRef scaled = b.op("mul", {in_ref(1), third});
    ScalarRef m = b.op("maximum", {scaled, negz});
    ScalarRef pick = b.op("switch", {lt, m, nan});
    NDArray mn = NDArray::scalar(DType::Int64, 0);
    mn.data<int64_t>()[0] = std::numeric_limits<int64_t>::min();
    ScalarRef imin = b.constant(mn);
    ScalarRef eqmin =
        b.op("eq", {in_ref(2), imin}, ElemwiseDTypes{DType::Int64, DType::Bool});
    KernelIR ir;
    ir.body = b.done({pick, eqmin});
    cases.push_back(
        {"constants and mixed dtypes",
         ir,
         {129},
         {test_values(DType::Int8, {129}, 12, 100), test_values(f32, {129}, 13),
          test_values(DType::Int64, {129}, 14, 100)}});
  }
  {  // float -> int casts that saturate and wrap
    BodyBuilder b({f64}, f64);
    KernelIR ir;
    ScalarRef x = in_ref(0);
    ir.body = b.done({b.op("cast", {x}, ElemwiseDTypes{f64, DType::Int8}, DType::Int8),
                      b.op("cast", {x}, ElemwiseDTypes{f64, DType::UInt8}, DType::UInt8),
                      b.op("cast", {x}, ElemwiseDTypes{f64, DType::Int64}, DType::Int64),
                      b.op("cast", {x}, ElemwiseDTypes{f64, DType::Bool}, DType::Bool)});
    cases.push_back({"saturating casts", ir, {200}, {test_values(f64, {200}, 15, 1e3)}});
  }
  return cases;
}

// Every reduction kind over the strategies: inner axis (one block per row),
// outer axis (a thread per output), all axes, an outer and the inner axis
// together, a middle axis, rows shorter than a warp, a transposed input.
inline std::vector<KernelCase> reduction_cases() {
  std::vector<KernelCase> cases;
  struct Shape3 {
    std::string name;
    std::vector<int64_t> domain;
    uint32_t axes;
    bool transposed = false;
  };
  const std::vector<Shape3> shapes = {
      {"rows", {19, 1000}, 0b10},
      {"columns", {300, 41}, 0b01},
      {"all", {23, 57}, 0b11},
      {"outer+inner", {6, 5, 40}, 0b101},
      {"middle", {6, 50, 7}, 0b010},
      {"short rows", {70, 5}, 0b10},
      {"transposed rows", {30, 200}, 0b10, true},
  };
  const KernelReduce kinds[] = {KernelReduce::Sum,    KernelReduce::Prod,
                                KernelReduce::Max,    KernelReduce::Min,
                                KernelReduce::Argmax, KernelReduce::Argmin};
  uint32_t seed = 100;
  for (KernelReduce r : kinds) {
    for (DType d : {DType::Float32, DType::Float64, DType::Int32, DType::UInt8}) {
      for (const Shape3& s : shapes) {
        // Products of many values overflow: keep them to short rows.
        if (r == KernelReduce::Prod && s.name != "short rows" && s.name != "columns")
          continue;
        std::vector<int64_t> in_shape = s.domain;
        if (s.transposed) std::swap(in_shape[0], in_shape[1]);
        const double range = r == KernelReduce::Prod ? 1.5 : 100.0;
        NDArray x = test_values(d, in_shape, seed++, range, r != KernelReduce::Prod);
        if (s.transposed) x = x.transpose({1, 0});
        KernelCase c;
        c.name = std::string(kernel_reduce_name(r)) + " " + dtype_name(d) + " " + s.name;
        c.ir = reduce_ir(pass_through(d), r, acc_for(r, d));
        c.domain = s.domain;
        c.inputs = {x};
        c.axes = s.axes;
        cases.push_back(c);
      }
    }
  }
  // All / any: min / max of a bool cast.
  for (KernelReduce r : {KernelReduce::Min, KernelReduce::Max}) {
    BodyBuilder b({DType::Float32}, DType::Float32);
    ScalarRef t = b.op("cast", {in_ref(0)}, ElemwiseDTypes{DType::Float32, DType::Bool},
                       DType::Bool);
    KernelCase c;
    c.name = r == KernelReduce::Min ? "all" : "any";
    c.ir = reduce_ir(b.done({t}), r, DType::Bool);
    c.domain = {40, 33};
    NDArray x = test_values(DType::Float32, {40, 33}, seed++, 1.0, false);
    for (int64_t i = 0; i < x.size(); ++i)  // mostly non-zero, some rows all so
      if (i % 7 == 0 && i / 33 % 2) x.set_item_double(i, 0.0);
    c.inputs = {x};
    c.axes = 0b10;
    cases.push_back(c);
  }
  // Argmax with ties and NaN: the first of equal maxima, the first NaN.
  {
    NDArray x = NDArray::zeros(DType::Float32, {4, 300});
    float* p = x.data<float>();
    p[0 * 300 + 17] = 5;
    p[0 * 300 + 200] = 5;
    p[1 * 300 + 50] = NAN;
    p[1 * 300 + 60] = 9;
    p[1 * 300 + 250] = NAN;
    for (int i = 0; i < 300; ++i)
      p[2 * 300 + i] = -std::numeric_limits<float>::infinity();
    p[3 * 300 + 299] = 1;
    for (KernelReduce r : {KernelReduce::Argmax, KernelReduce::Argmin}) {
      KernelCase c;
      c.name = std::string(kernel_reduce_name(r)) + " ties and NaN";
      c.ir = reduce_ir(pass_through(DType::Float32), r, DType::Int64);
      c.domain = {4, 300};
      c.inputs = {x};
      c.axes = 0b10;
      cases.push_back(c);
      KernelCase col = c;
      col.name += " (columns)";
      col.domain = {300, 4};
      col.inputs = {x.transpose({1, 0})};
      col.axes = 0b01;
      cases.push_back(col);
    }
  }
  // A fused prologue: sum(exp(x - m)) over rows, m broadcast along the row.
  {
    BodyBuilder b({DType::Float32, DType::Float32}, DType::Float32);
    KernelCase c;
    c.name = "sum of a fused prologue";
    c.ir = reduce_ir(b.done({b.op("exp", {b.op("sub", {in_ref(0), in_ref(1)})})}),
                     KernelReduce::Sum, DType::Float32);
    c.domain = {16, 777};
    c.inputs = {test_values(DType::Float32, {16, 777}, seed++, 3.0, false),
                test_values(DType::Float32, {16, 1}, seed++, 1.0, false)};
    c.axes = 0b10;
    cases.push_back(c);
  }
  return cases;
}

// Distance in units in the last place of dtype d (float32 or float64).
inline int64_t ulp_distance(double a, double b, DType d) {
  if (d == DType::Float32) {
    auto ord = [](float f) {
      int32_t i = std::bit_cast<int32_t>(f);
      return i < 0 ? int64_t(std::numeric_limits<int32_t>::min()) - i : int64_t(i);
    };
    return std::llabs(ord(static_cast<float>(a)) - ord(static_cast<float>(b)));
  }
  auto ord = [](double f) {
    int64_t i = std::bit_cast<int64_t>(f);
    return i < 0 ? std::numeric_limits<int64_t>::min() - i : i;
  };
  const int64_t x = ord(a), y = ord(b);
  const int64_t big = std::numeric_limits<int64_t>::max();
  return x > y ? (x - y < 0 ? big : x - y) : (y - x < 0 ? big : y - x);
}

// The first few differences between a case's outputs and the reference, as
// messages (none: they agree). Floats: NaN for NaN, infinities and zeros
// exactly, else within max_ulp; float sums and products within the rounding
// another order of the same additions may make (a few times n * eps of the
// magnitude); other dtypes exactly.
inline std::vector<std::string> output_mismatches(const KernelCase& c,
                                                  const std::vector<NDArray>& got,
                                                  const std::vector<NDArray>& want,
                                                  const std::vector<double>& magnitude,
                                                  int64_t max_ulp) {
  std::vector<std::string> out;
  if (got.size() != want.size()) return {c.name + ": wrong number of outputs"};
  const bool order_free =
      c.ir.reduce == KernelReduce::Sum || c.ir.reduce == KernelReduce::Prod;
  int64_t n = 1;  // values folded into each output
  for (size_t d = 0; d < c.domain.size(); ++d)
    if ((c.axes >> d) & 1u) n *= c.domain[d];
  for (size_t o = 0; o < want.size() && out.size() < 5; ++o) {
    const NDArray w = want[o].contiguous();
    if (got[o].size() != w.size() || got[o].dtype() != w.dtype()) {
      out.push_back(c.name + " output " + std::to_string(o) + ": shape or dtype differs");
      continue;
    }
    const NDArray g = got[o].reshape(w.shape()).contiguous();
    const double eps = w.dtype() == DType::Float32 ? 6e-8 : 1.2e-16;
    for (int64_t i = 0; i < w.size() && out.size() < 5; ++i) {
      bool ok;
      if (is_float(w.dtype())) {
        const double gv = g.item_double(i), wv = w.item_double(i);
        if (std::isnan(wv) || std::isinf(wv)) {
          ok = std::isnan(wv) ? std::isnan(gv) : gv == wv;
        } else if (order_free) {
          const double scale =
              c.ir.reduce == KernelReduce::Sum ? magnitude.at(i) : std::fabs(wv);
          ok = std::fabs(gv - wv) <= 4.0 * double(n) * eps * scale;
        } else if (wv == 0) {
          ok = gv == 0 && std::signbit(gv) == std::signbit(wv);
        } else {
          ok = ulp_distance(gv, wv, w.dtype()) <= max_ulp;
        }
      } else {
        ok = g.item_int(i) == w.item_int(i);
      }
      if (ok) continue;
      std::string ins;
      for (const NDArray& a : c.inputs)
        if (a.ndim() == 1 && i < a.size()) ins += " " + std::to_string(a.item_double(i));
      char buf[160];
      std::snprintf(buf, sizeof buf, " output %zu at %lld: got %.17g, want %.17g", o,
                    static_cast<long long>(i), g.item_double(i), w.item_double(i));
      out.push_back(c.name + buf + (ins.empty() ? "" : " (inputs" + ins + ")"));
    }
  }
  return out;
}

// Inputs for a single-op case that keep the reference from raising (integer
// pow needs exponents >= 0).
inline std::vector<NDArray> op_case_inputs(const OpCase& c, int64_t n, uint32_t seed) {
  std::vector<NDArray> ins;
  const bool ipow = std::string(scalar_op(c.body.nodes[0].op).name) == "pow" &&
                    !is_float(c.body.nodes[0].dtypes.operand);
  for (size_t i = 0; i < c.body.inputs.size(); ++i) {
    const DType d = c.body.inputs[i];
    if (ipow && i == 1)
      ins.push_back(test_values(d, {n}, seed + i, 5, false, 0.0));
    else
      ins.push_back(test_values(d, {n}, seed + static_cast<uint32_t>(i), 4.0));
  }
  return ins;
}

}  // namespace theanine::testing
