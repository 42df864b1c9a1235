// set_subtensor / inc_subtensor: a copy of x with x[key] set to, or incremented
// by, y. x is never written: it may be the caller's array or a shared value.
#include <set>

#include "ops/elemwise.h"
#include "ops/gradient.h"
#include "ops/index_region.h"
#include "ops/op_util.h"
#include "ops/shape_ops.h"
#include "ops/shape_util.h"
#include "ops/subtensor.h"
#include "runtime/error.h"

namespace theanine {

namespace {

std::string verb(bool set) { return set ? "set_subtensor" : "inc_subtensor"; }

// Theano casts y to x's dtype but refuses to drop a fraction, or to turn numbers
// into booleans.
void check_value_dtype(const Var& x, const Var& y, bool set) {
  DType xd = x.dtype(), yd = y.dtype();
  if ((is_float(yd) && !is_float(xd)) || (is_bool(xd) && !is_bool(yd)))
    throw TypeError(verb(set) + ": cannot write y " + y->describe() + " into x " +
                    x->describe() + ": " + dtype_name(yd) + " values do not fit in " +
                    dtype_name(xd) + " without loss; cast y first");
}

void check_broadcast_static(const Shape& y, const Shape& region, bool set) {
  bool ok = y.size() <= region.size();
  const size_t lead = region.size() - std::min(y.size(), region.size());
  for (size_t i = 0; ok && i < y.size(); ++i) {
    int64_t a = y[i], b = region[lead + i];
    if (a >= 0 && a != 1 && b >= 0 && a != b) ok = false;
  }
  if (!ok)
    throw ShapeError(verb(set) + ": y of shape " + shape_str(y) +
                     " cannot be broadcast to the indexed region of shape " +
                     shape_str(region));
}

}  // namespace

std::string IncSubtensorOp::name() const {
  std::string base = set_ ? "SetSubtensor" : "IncSubtensor";
  if (spec_is_advanced(spec_)) base = "Advanced" + base;
  return base + "{" + spec_str(spec_) + "}";
}

std::vector<TensorType> IncSubtensorOp::infer_types(
    const std::vector<Var>& inputs) const {
  if (inputs.size() < 2)
    throw ValueError(verb(set_) + " takes x, y and the key's values");
  const Var &x = inputs[0], &y = inputs[1];
  std::vector<Var> values(inputs.begin() + 2, inputs.end());
  TensorType region = index_region::region_type(x, spec_, values, verb(set_));
  check_value_dtype(x, y, set_);
  check_broadcast_static(y.type().shape, region.shape, set_);
  return {x.type()};
}

std::vector<NDArray> IncSubtensorOp::perform(const Apply& node,
                                             const std::vector<NDArray>& inputs) const {
  NDArray out = inputs[0].copy();
  const NDArray& y = inputs[1];
  std::vector<NDArray> values(inputs.begin() + 2, inputs.end());
  index_region::Region r = index_region::locate(out, spec_, values, verb(set_));
  NDArray yb;
  try {
    yb = y.broadcast_to(r.shape);
  } catch (const ShapeError&) {
    check_broadcast_static(y.shape(), r.shape, set_);
    throw;
  }
  if (!r.advanced && set_) {
    r.view.assign(yb);
    return {out};
  }
  dispatch_dtype(out.dtype(), [&](auto t) {
    using T = decltype(t);
    T* dst = r.view.data<T>();
    if (r.advanced) {
      // One element at a time in C order: set keeps the last of duplicate
      // indices, inc adds them all (numpy.add.at).
      NDArray yc = yb.astype(out.dtype());
      const T* src = yc.data<T>();
      for (size_t i = 0; i < r.offsets.size(); ++i) {
        T& d = dst[r.offsets[i]];
        d = set_ ? src[i] : static_cast<T>(d + src[i]);
      }
      return;
    }
    dispatch_dtype(yb.dtype(), [&](auto s) {
      using S = decltype(s);
      const S* src = yb.data<S>();
      for_each_offsets(
          r.shape, {&r.view.strides(), &yb.strides()}, [&](const int64_t* o) {
            dst[o[0]] = static_cast<T>(dst[o[0]] + static_cast<T>(src[o[1]]));
          });
    });
  });
  return {out};
}

// ---- gradient -------------------------------------------------------------------

namespace {

// a[key] for the key of `spec` with the given values.
Var index_like(const IndexSpec& spec, const Var& a, const std::vector<Var>& values) {
  std::vector<Var> inputs{a};
  inputs.insert(inputs.end(), values.begin(), values.end());
  const SourceLoc loc = user_loc(Here::current());
  if (spec_is_advanced(spec))
    return make_node1(std::make_shared<AdvancedSubtensorOp>(spec), inputs, loc);
  return make_node1(std::make_shared<SubtensorOp>(spec), inputs, loc);
}

// True when the key's index arrays are constants whose broadcast index tuples
// name distinct elements of x, so no write of set_subtensor is overwritten.
bool provably_distinct(const IndexSpec& spec, const Var& x,
                       const std::vector<Var>& values) {
  std::vector<NDArray> arrays;
  std::vector<int64_t> dims;
  size_t k = 0;
  int xa = 0;
  for (const IndexEntry& e : spec) {
    if (e.kind == IndexEntry::Kind::Array) {
      auto c = constant_value(values[k]);
      if (!c) return false;
      arrays.push_back(*c);
      dims.push_back(x.type().shape[xa]);
    }
    k += e.num_inputs();
    if (e.kind != IndexEntry::Kind::NewAxis) ++xa;
  }
  std::vector<Shape> shapes;
  for (const NDArray& a : arrays) shapes.push_back(a.shape());
  Shape b;
  try {
    b = broadcast_shapes(shapes);
  } catch (const ShapeError&) {
    return false;  // fails at run time anyway
  }
  for (NDArray& a : arrays) a = a.broadcast_to(b);
  std::set<std::vector<int64_t>> seen;
  for (int64_t i = 0; i < shape_size(b); ++i) {
    std::vector<int64_t> tuple;
    for (size_t j = 0; j < arrays.size(); ++j) {
      int64_t v = arrays[j].item_int(i);
      if (v < 0) {
        // On a dim of unknown size a negative index may name a listed element.
        if (dims[j] < 0) return false;
        v += dims[j];
      }
      tuple.push_back(v);
    }
    if (!seen.insert(tuple).second) return false;
  }
  return true;
}

// 1 where an element of the region is the one perform() wrote last to its place
// in x, 0 where a later duplicate index overwrote it: each element writes its
// own number, and reads back whether the number stayed.
Var last_write_mask(const IndexSpec& spec, const Var& x, const Var& region,
                    const std::vector<Var>& values, DType dtype) {
  Var n = scalar_constant(1, DType::Int64);
  for (int d = 0; d < region.ndim(); ++d) n = mul(n, shape_i(region, d));
  Var ids = reshape(arange(n), shape_util::shape_vector(region), region.ndim());
  std::vector<Var> inputs{zeros_like(x, DType::Int64), ids};
  inputs.insert(inputs.end(), values.begin(), values.end());
  Var written = make_node1(std::make_shared<IncSubtensorOp>(spec, true), inputs,
                           user_loc(Here::current()));
  return cast(eq(index_like(spec, written, values), ids), dtype);
}

}  // namespace

// Inc: x's gradient passes through, y's is the gradient at the key (summed
// where y was broadcast). Set: the overwritten region of x gets no gradient,
// and of duplicate advanced indices only the element written last reaches the
// output and gets a gradient (the others get 0).
std::vector<Var> IncSubtensorOp::grad(const Apply& node,
                                      const std::vector<Var>& gz) const {
  const Var &x = node.inputs[0], &y = node.inputs[1];
  const Var& g = gz[0];
  const std::vector<Var> values(node.inputs.begin() + 2, node.inputs.end());
  std::vector<Var> r(node.inputs.size());
  if (!set_) {
    r[0] = g;
  } else {
    std::vector<Var> inputs{g, scalar_constant(0, g.dtype())};
    inputs.insert(inputs.end(), values.begin(), values.end());
    r[0] = make_node1(std::make_shared<IncSubtensorOp>(spec_, true), inputs,
                      user_loc(Here::current()));
  }
  if (is_float(y.dtype())) {
    Var gy = index_like(spec_, g, values);
    if (set_ && spec_is_advanced(spec_) && gy.ndim() > 0 &&
        !provably_distinct(spec_, x, values))
      gy = mul(gy, last_write_mask(spec_, x, gy, values, gy.dtype()));
    r[1] = sum_to(gy, y);
  }
  return r;
}

namespace {
Var write_subtensor(const Var& x_sub, const Var& y, bool set, const Here& loc) {
  shape_util::require_var(x_sub, verb(set) + ": x_sub");
  shape_util::require_var(y, verb(set) + ": y");
  const Apply* owner = x_sub->owner;
  const IndexSpec* spec = nullptr;
  if (owner) {
    if (auto* op = dynamic_cast<const SubtensorOp*>(owner->op.get())) spec = &op->spec();
    if (auto* op = dynamic_cast<const AdvancedSubtensorOp*>(owner->op.get()))
      spec = &op->spec();
  }
  if (!spec)
    throw TypeError(verb(set) +
                    ": the first argument must be the result of indexing a "
                    "tensor (x[...]), got " +
                    x_sub->describe() +
                    (owner ? " computed by " + owner->op->name() : std::string()));
  std::vector<Var> inputs{owner->inputs[0], y};
  inputs.insert(inputs.end(), owner->inputs.begin() + 1, owner->inputs.end());
  return make_node1(std::make_shared<IncSubtensorOp>(*spec, set), inputs, user_loc(loc));
}
}  // namespace

Var set_subtensor(const Var& x_sub, const Var& y, const Here& loc) {
  return write_subtensor(x_sub, y, true, loc);
}

Var inc_subtensor(const Var& x_sub, const Var& y, const Here& loc) {
  return write_subtensor(x_sub, y, false, loc);
}

}  // namespace theanine
