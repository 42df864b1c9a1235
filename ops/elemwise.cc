#include "ops/elemwise.h"

#include <algorithm>
#include <limits>

#include "ops/gradient.h"
#include "ops/op_util.h"
#include "runtime/error.h"

namespace theanine {

namespace {

// ---- The reference kernel. Each row of the (coalesced) iteration space is
// processed in blocks: every operand is loaded into a block of the compute type
// (double or int64), the table's row function runs once per block, and the block
// is stored into the output dtype. One indirect call per block, not per element.

constexpr int64_t kBlock = 512;

// How an operand is read on its way to the compute type.
enum class Conv : uint8_t {
  kNone,
  kToBool,  // switch's condition: nonzero (NaN included) is true
  kToF32,   // a float32 operation: round first, as NumPy computes in float32
};

int64_t double_to_int64(double v) {
  // Out of range and NaN give INT64_MIN, as x86's conversion (and NumPy) does.
  constexpr double kLimit = 9223372036854775808.0;  // 2^63
  if (!(v >= -kLimit && v < kLimit)) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}

template <class S, class C, Conv K>
C load_one(S v) {
  if constexpr (K == Conv::kToBool) {
    return C(v != S(0));
  } else if constexpr (K == Conv::kToF32) {
    return C(static_cast<float>(v));
  } else if constexpr (std::is_same_v<C, int64_t> && std::is_floating_point_v<S>) {
    return double_to_int64(v);
  } else {
    return static_cast<C>(v);
  }
}

template <class C>
using LoadFn = void (*)(const void* base, int64_t start, int64_t stride, int64_t n,
                        C* dst);
template <class C>
using StoreFn = void (*)(const C* src, void* base, int64_t start, int64_t n);

template <class S, class C, Conv K>
void load_block(const void* base, int64_t start, int64_t stride, int64_t n, C* dst) {
  const S* p = static_cast<const S*>(base) + start;
  if (stride == 0) {
    std::fill(dst, dst + n, load_one<S, C, K>(*p));
    return;
  }
  for (int64_t i = 0; i < n; ++i) dst[i] = load_one<S, C, K>(p[i * stride]);
}

template <class C, class O>
void store_block(const C* src, void* base, int64_t start, int64_t n) {
  O* p = static_cast<O*>(base) + start;
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_same_v<O, bool>) {
      p[i] = src[i] != 0;
    } else if constexpr (std::is_integral_v<O> && std::is_floating_point_v<C>) {
      p[i] = static_cast<O>(double_to_int64(src[i]));  // wraps, as NumPy's astype
    } else {
      p[i] = static_cast<O>(src[i]);
    }
  }
}

template <class C>
LoadFn<C> loader(DType src, Conv conv) {
  return dispatch_dtype(src, [&](auto s) -> LoadFn<C> {
    using S = decltype(s);
    switch (conv) {
      case Conv::kToBool:
        return load_block<S, C, Conv::kToBool>;
      case Conv::kToF32:
        return load_block<S, C, Conv::kToF32>;
      case Conv::kNone:
        break;
    }
    return load_block<S, C, Conv::kNone>;
  });
}

template <class C>
StoreFn<C> storer(DType out) {
  return dispatch_dtype(out,
                        [](auto o) -> StoreFn<C> { return store_block<C, decltype(o)>; });
}

// The iteration space with size-1 dims dropped and dims merged wherever every
// operand steps through them as through one dim, so that the common cases
// (contiguous, scalar broadcast) become a single long row.
struct Space {
  Shape dims;
  std::vector<Shape> strides;  // per operand, outputs last
};

Space coalesce(const Shape& shape, const std::vector<const Shape*>& strides) {
  Space sp;
  sp.strides.resize(strides.size());
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = !sp.dims.empty();
    for (size_t j = 0; merge && j < strides.size(); ++j)
      merge = sp.strides[j].back() == (*strides[j])[d] * shape[d];
    if (merge) {
      sp.dims.back() *= shape[d];
      for (size_t j = 0; j < strides.size(); ++j) sp.strides[j].back() = (*strides[j])[d];
    } else {
      sp.dims.push_back(shape[d]);
      for (size_t j = 0; j < strides.size(); ++j)
        sp.strides[j].push_back((*strides[j])[d]);
    }
  }
  if (sp.dims.empty()) {
    sp.dims.push_back(1);
    for (auto& s : sp.strides) s.push_back(0);
  }
  return sp;
}

template <class C>
void run_kernel(RowFn<C> fn, const std::vector<NDArray>& ins,
                const std::vector<Conv>& convs, NDArray& out) {
  const size_t k = ins.size();
  std::vector<const Shape*> all_strides;
  for (const NDArray& a : ins) all_strides.push_back(&a.strides());
  all_strides.push_back(&out.strides());
  Space sp = coalesce(out.shape(), all_strides);

  const int nd = static_cast<int>(sp.dims.size());
  const int64_t inner = sp.dims[nd - 1];
  Shape outer(sp.dims.begin(), sp.dims.end() - 1);
  std::vector<Shape> outer_strides(k + 1);
  std::vector<const Shape*> outer_ptrs;
  std::vector<int64_t> inner_stride(k + 1);
  for (size_t j = 0; j <= k; ++j) {
    outer_strides[j].assign(sp.strides[j].begin(), sp.strides[j].end() - 1);
    inner_stride[j] = sp.strides[j][nd - 1];
  }
  for (auto& s : outer_strides) outer_ptrs.push_back(&s);

  std::vector<const void*> base(k);
  std::vector<LoadFn<C>> load(k);
  std::vector<bool> direct(k);  // read in place: already the compute type
  for (size_t j = 0; j < k; ++j) {
    base[j] = ins[j].raw();
    load[j] = loader<C>(ins[j].dtype(), convs[j]);
    direct[j] = ins[j].dtype() == dtype_of<C>() && convs[j] == Conv::kNone;
  }
  void* out_base = out.raw();
  // Row kernels assume their output aliases no operand; an output written over
  // an input (inplace) goes through scratch, which is correct because each
  // block is read before the same positions are stored.
  bool out_aliases = false;
  for (const NDArray& a : ins) out_aliases |= a.shares_memory(out);
  const bool out_direct = out.dtype() == dtype_of<C>() && !out_aliases;
  StoreFn<C> store = storer<C>(out.dtype());

  std::vector<C> scratch((k + 1) * kBlock);
  std::vector<const C*> ptrs(k);
  for_each_offsets(outer, outer_ptrs, [&](const int64_t* offs) {
    for (int64_t s = 0; s < inner; s += kBlock) {
      const int64_t n = std::min(kBlock, inner - s);
      for (size_t j = 0; j < k; ++j) {
        const int64_t start = offs[j] + s * inner_stride[j];
        if (direct[j] && inner_stride[j] == 1) {
          ptrs[j] = static_cast<const C*>(base[j]) + start;
        } else {
          C* dst = scratch.data() + j * kBlock;
          load[j](base[j], start, inner_stride[j], n, dst);
          ptrs[j] = dst;
        }
      }
      // The output is contiguous, so its inner stride is 1.
      const int64_t out_start = offs[k] + s;
      C* dst = out_direct ? static_cast<C*>(out_base) + out_start
                          : scratch.data() + k * kBlock;
      fn(ptrs.data(), dst, n);
      if (!out_direct) store(dst, out_base, out_start, n);
    }
  });
}

std::string shapes_list(const std::vector<Shape>& shapes) {
  std::string s;
  for (size_t i = 0; i < shapes.size(); ++i)
    s += (i ? " and " : "") + shape_str(shapes[i]);
  return s;
}

// "'x' float32(3, 4) and 'y' float32(5,)", with the shapes seen at `shapes`.
std::string inputs_list(const std::vector<Var>& inputs, const std::vector<Shape>& shapes,
                        const std::vector<DType>& dtypes) {
  std::string s;
  for (size_t i = 0; i < inputs.size(); ++i)
    s += (i ? " and " : "") + ("'" + inputs[i]->display_name() + "' ") +
         dtype_name(dtypes[i]) + shape_str(shapes[i]);
  return s;
}

bool fits(int64_t v, DType d) {
  switch (d) {
    case DType::Int8:
      return v >= -128 && v <= 127;
    case DType::UInt8:
      return v >= 0 && v <= 255;
    case DType::Int16:
      return v >= -32768 && v <= 32767;
    case DType::Int32:
      return v >= std::numeric_limits<int32_t>::min() &&
             v <= std::numeric_limits<int32_t>::max();
    default:
      return true;
  }
}

// True when the result may be written into `into`: the output's dtype and
// shape, contiguous, and overlapping no input other than one laid out exactly as
// it is (an input overwritten element by element).
bool can_write_into(const NDArray& into, DType dtype, const Shape& shape,
                    const std::vector<NDArray>& inputs) {
  if (!into.defined() || into.dtype() != dtype || into.shape() != shape ||
      !into.is_contiguous())
    return false;
  for (const NDArray& a : inputs)
    if (a.shares_memory(into) &&
        !(a.raw() == into.raw() && a.shape() == shape && a.is_contiguous()))
      return false;
  return true;
}

Var apply(const char* op_name, std::vector<Var> inputs, const Here& loc) {
  return make_node1(std::make_shared<Elemwise>(scalar_op(op_name).id), std::move(inputs),
                    user_loc(loc));
}

}  // namespace

NDArray elemwise_eval(const ScalarOp& op, const ElemwiseDTypes& types,
                      const std::vector<NDArray>& inputs, const std::string& what,
                      const NDArray& into) {
  const std::string prefix = what.empty() ? "" : what + ": ";
  if (static_cast<int>(inputs.size()) != op.arity)
    throw ValueError(prefix + "takes " + std::to_string(op.arity) + " inputs, got " +
                     std::to_string(inputs.size()));
  std::vector<Shape> shapes;
  for (const NDArray& a : inputs) shapes.push_back(a.shape());
  Shape out_shape;
  try {
    out_shape = broadcast_shapes(shapes);
  } catch (const ShapeError&) {
    throw ShapeError(prefix + "input shapes do not broadcast: " + shapes_list(shapes));
  }
  NDArray out = can_write_into(into, types.output, out_shape, inputs)
                    ? into
                    : NDArray::empty(types.output, out_shape);
  if (out.size() == 0) return out;

  std::vector<NDArray> views;
  std::vector<Conv> convs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    views.push_back(inputs[i].broadcast_to(out_shape));
    DType src = inputs[i].dtype();
    if (op.rule == TypeRule::kBranches && i == 0)
      convs.push_back(Conv::kToBool);
    else if (types.operand == DType::Float32 && src != DType::Float32)
      convs.push_back(Conv::kToF32);
    else
      convs.push_back(Conv::kNone);
  }
  try {
    if (is_float(types.operand)) {
      if (!op.eval_float)
        throw TypeError(std::string("'") + op.name + "' has no float evaluation");
      run_kernel<double>(op.eval_float, views, convs, out);
    } else {
      RowFn<int64_t> fn =
          is_bool(types.operand) && op.eval_bool ? op.eval_bool : op.eval_int;
      if (!fn)
        throw TypeError(std::string("'") + op.name + "' has no integer evaluation");
      run_kernel<int64_t>(fn, views, convs, out);
    }
  } catch (const ValueError& e) {
    if (prefix.empty()) throw;
    throw ValueError(prefix + e.what());
  } catch (const TypeError& e) {
    if (prefix.empty()) throw;
    throw TypeError(prefix + e.what());
  }
  return out;
}

Elemwise::Elemwise(int scalar_op_id, std::optional<DType> cast_to)
    : scalar_op_(&theanine::scalar_op(scalar_op_id)), cast_to_(cast_to) {
  const bool is_cast = scalar_op_->rule == TypeRule::kCast;
  if (is_cast && !cast_to_)
    throw ValueError("Elemwise{cast} needs a target dtype: use cast(x, dtype)");
  if (!is_cast && cast_to_)
    throw ValueError(std::string("Elemwise{") + scalar_op_->name +
                     "} takes no dtype parameter");
}

std::string Elemwise::name() const {
  std::string n = std::string("Elemwise{") + scalar_op_->name;
  if (cast_to_) n += std::string("{") + dtype_name(*cast_to_) + "}";
  return n + "}";
}

ElemwiseDTypes Elemwise::dtypes(const std::vector<Var>& inputs) const {
  DType common;
  switch (scalar_op_->rule) {
    case TypeRule::kBranches:
      common = result_dtype(std::vector<Var>(inputs.begin() + 1, inputs.end()));
      break;
    case TypeRule::kCast:
      common = inputs.at(0).dtype();
      break;
    default:
      common = result_dtype(inputs);
  }
  return resolve_dtypes(*scalar_op_, common, cast_to_);
}

std::vector<TensorType> Elemwise::infer_types(const std::vector<Var>& inputs) const {
  const ScalarOp& op = *scalar_op_;
  if (static_cast<int>(inputs.size()) != op.arity)
    throw ValueError(std::string("'") + op.name + "' takes " + std::to_string(op.arity) +
                     " inputs, got " + std::to_string(inputs.size()));
  ElemwiseDTypes types = dtypes(inputs);

  // A weak integer literal adopts the integer dtype of the tensor it meets;
  // one that does not fit would silently wrap, so refuse it (NumPy does too).
  if (is_integer(types.operand) && op.rule != TypeRule::kBool) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      const Var& v = inputs[i];
      if (!v->weak || !is_integer(v.dtype()) || v->constant_value.size() != 1) continue;
      if (op.rule == TypeRule::kBranches && i == 0) continue;
      int64_t value = v->constant_value.item_int();
      if (!fits(value, types.operand))
        throw ValueError("the integer literal " + std::to_string(value) +
                         " is out of bounds for " + dtype_name(types.operand) +
                         ", the dtype of the other operands; cast them to a wider dtype");
    }
  }

  std::vector<Shape> shapes;
  std::vector<DType> dts;
  for (const Var& v : inputs) {
    shapes.push_back(v.type().shape);
    dts.push_back(v.dtype());
  }
  try {
    return {TensorType(types.output, broadcast_shapes(shapes))};
  } catch (const ShapeError&) {
    throw ShapeError("input shapes do not broadcast: " +
                     inputs_list(inputs, shapes, dts));
  }
}

std::vector<NDArray> Elemwise::perform(const Apply& node,
                                       const std::vector<NDArray>& inputs) const {
  std::vector<NDArray> out(1);
  perform_into(node, inputs, out);
  return out;
}

bool Elemwise::perform_into(const Apply& node, const std::vector<NDArray>& inputs,
                            std::vector<NDArray>& out) const {
  // No op name or location in these messages: the Program adds both.
  if (inputs.size() != node.inputs.size())
    throw ValueError("got " + std::to_string(inputs.size()) + " inputs, expected " +
                     std::to_string(node.inputs.size()));
  std::vector<Shape> shapes;
  std::vector<DType> dts;
  for (const NDArray& a : inputs) {
    shapes.push_back(a.shape());
    dts.push_back(a.dtype());
  }
  try {
    broadcast_shapes(shapes);
  } catch (const ShapeError&) {
    throw ShapeError("input shapes do not broadcast at run time: " +
                     inputs_list(node.inputs, shapes, dts));
  }
  NDArray into = out.empty() ? NDArray() : out[0];
  out.assign(1, elemwise_eval(*scalar_op_, dtypes(node.inputs), inputs, "", into));
  return true;
}

std::vector<Var> Elemwise::grad(const Apply& node,
                                const std::vector<Var>& output_grads) const {
  const ScalarOp& op = *scalar_op_;
  if (!op.derivative) return Op::grad(node, output_grads);
  const Var& gz = output_grads.at(0);
  if (!gz) return std::vector<Var>(node.inputs.size());
  std::vector<Var> g = op.derivative(node.inputs, node.output(0), gz);
  if (g.size() != node.inputs.size())
    throw Error(std::string("internal: the derivative of '") + op.name + "' gave " +
                std::to_string(g.size()) + " gradients for " +
                std::to_string(node.inputs.size()) + " inputs");
  for (size_t k = 0; k < g.size(); ++k) {
    const Var& in = node.inputs[k];
    if (!g[k] || !is_float(in.dtype()))
      g[k] = Var();
    else
      g[k] = sum_to(g[k], in);
  }
  return g;
}

Var elemwise(const std::string& op_name, const std::vector<Var>& inputs,
             const Here& loc) {
  return make_node1(std::make_shared<Elemwise>(scalar_op(op_name).id), inputs,
                    user_loc(loc));
}

Var add(const Var& a, const Var& b, const Here& loc) { return apply("add", {a, b}, loc); }
Var sub(const Var& a, const Var& b, const Here& loc) { return apply("sub", {a, b}, loc); }
Var mul(const Var& a, const Var& b, const Here& loc) { return apply("mul", {a, b}, loc); }
Var true_div(const Var& a, const Var& b, const Here& loc) {
  return apply("true_div", {a, b}, loc);
}
Var int_div(const Var& a, const Var& b, const Here& loc) {
  return apply("int_div", {a, b}, loc);
}
Var mod(const Var& a, const Var& b, const Here& loc) { return apply("mod", {a, b}, loc); }
Var pow(const Var& a, const Var& b, const Here& loc) { return apply("pow", {a, b}, loc); }
Var neg(const Var& x, const Here& loc) { return apply("neg", {x}, loc); }
Var abs(const Var& x, const Here& loc) { return apply("abs", {x}, loc); }
Var sgn(const Var& x, const Here& loc) { return apply("sgn", {x}, loc); }
Var exp(const Var& x, const Here& loc) { return apply("exp", {x}, loc); }
Var log(const Var& x, const Here& loc) { return apply("log", {x}, loc); }
Var log1p(const Var& x, const Here& loc) { return apply("log1p", {x}, loc); }
Var expm1(const Var& x, const Here& loc) { return apply("expm1", {x}, loc); }
Var sqrt(const Var& x, const Here& loc) { return apply("sqrt", {x}, loc); }
Var sqr(const Var& x, const Here& loc) { return apply("sqr", {x}, loc); }
Var tanh(const Var& x, const Here& loc) { return apply("tanh", {x}, loc); }
Var sigmoid(const Var& x, const Here& loc) { return apply("sigmoid", {x}, loc); }
Var softplus(const Var& x, const Here& loc) { return apply("softplus", {x}, loc); }
Var sin(const Var& x, const Here& loc) { return apply("sin", {x}, loc); }
Var cos(const Var& x, const Here& loc) { return apply("cos", {x}, loc); }
Var maximum(const Var& a, const Var& b, const Here& loc) {
  return apply("maximum", {a, b}, loc);
}
Var minimum(const Var& a, const Var& b, const Here& loc) {
  return apply("minimum", {a, b}, loc);
}
Var clip(const Var& x, const Var& lo, const Var& hi, const Here& loc) {
  return apply("clip", {x, lo, hi}, loc);
}
Var round(const Var& x, const Here& loc) { return apply("round", {x}, loc); }
Var floor(const Var& x, const Here& loc) { return apply("floor", {x}, loc); }
Var ceil(const Var& x, const Here& loc) { return apply("ceil", {x}, loc); }
Var eq(const Var& a, const Var& b, const Here& loc) { return apply("eq", {a, b}, loc); }
Var neq(const Var& a, const Var& b, const Here& loc) { return apply("neq", {a, b}, loc); }
Var lt(const Var& a, const Var& b, const Here& loc) { return apply("lt", {a, b}, loc); }
Var le(const Var& a, const Var& b, const Here& loc) { return apply("le", {a, b}, loc); }
Var gt(const Var& a, const Var& b, const Here& loc) { return apply("gt", {a, b}, loc); }
Var ge(const Var& a, const Var& b, const Here& loc) { return apply("ge", {a, b}, loc); }
Var and_(const Var& a, const Var& b, const Here& loc) {
  return apply("and_", {a, b}, loc);
}
Var or_(const Var& a, const Var& b, const Here& loc) { return apply("or_", {a, b}, loc); }
Var xor_(const Var& a, const Var& b, const Here& loc) {
  return apply("xor", {a, b}, loc);
}
Var invert(const Var& x, const Here& loc) { return apply("invert", {x}, loc); }
Var switch_(const Var& cond, const Var& a, const Var& b, const Here& loc) {
  return apply("switch", {cond, a, b}, loc);
}
Var cast(const Var& x, DType dtype, const Here& loc) {
  if (x && x.dtype() == dtype) return x;
  return make_node1(std::make_shared<Elemwise>(scalar_op("cast").id, dtype), {x},
                    user_loc(loc));
}
Var isnan(const Var& x, const Here& loc) { return apply("isnan", {x}, loc); }
Var isinf(const Var& x, const Here& loc) { return apply("isinf", {x}, loc); }

}  // namespace theanine
