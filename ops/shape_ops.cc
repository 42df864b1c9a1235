// Reshape, Flatten, DimShuffle, Shape, Shape_i and MakeVector. Join, arange,
// alloc, repeat and tile live in join.cc, alloc.cc and repeat.cc.
#include "ops/shape_ops.h"

#include <algorithm>
#include <optional>

#include "ops/op_util.h"
#include "ops/shape_util.h"
#include "ops/subtensor.h"
#include "runtime/error.h"

namespace theanine {

using shape_util::int_values;
using shape_util::requested_shape_str;
using shape_util::require_var;

namespace {

// What is known statically of each entry of a shape vector: constants, and the
// constant elements of a make_vector (as `x.reshape((n, -1))` builds).
std::vector<std::optional<int64_t>> static_entries(const Var& shape, int ndim) {
  std::vector<std::optional<int64_t>> r(ndim);
  if (auto v = constant_value(shape)) {
    for (int i = 0; i < ndim && i < v->size(); ++i) r[i] = v->item_int(i);
  } else if (shape->owner && dynamic_cast<const MakeVectorOp*>(shape->owner->op.get())) {
    const auto& ins = shape->owner->inputs;
    for (int i = 0; i < ndim && i < static_cast<int>(ins.size()); ++i)
      r[i] = constant_int(ins[i]);
  }
  return r;
}

// Resolves the -1 of a requested shape against the size of x; ShapeError naming
// both shapes when the sizes cannot match.
Shape resolve_shape(const Shape& x_shape, const std::vector<int64_t>& req) {
  int64_t size = shape_size(x_shape), known = 1;
  int infer = -1;
  for (size_t i = 0; i < req.size(); ++i) {
    if (req[i] == -1) {
      if (infer >= 0)
        throw ValueError(
            "reshape: can only specify one unknown dimension (-1), got shape " +
            requested_shape_str(req));
      infer = static_cast<int>(i);
    } else if (req[i] < 0) {
      throw ValueError("reshape: negative dimension " + std::to_string(req[i]) +
                       " in shape " + requested_shape_str(req));
    } else {
      known *= req[i];
    }
  }
  auto fail = [&] {
    throw ShapeError("reshape: cannot reshape x of shape " + shape_str(x_shape) +
                     " (size " + std::to_string(size) + ") into shape " +
                     requested_shape_str(req));
  };
  Shape out(req.begin(), req.end());
  if (infer >= 0) {
    if (known == 0 || size % known != 0) fail();
    out[infer] = size / known;
  } else if (known != size) {
    fail();
  }
  return out;
}

}  // namespace

// ---- Reshape ------------------------------------------------------------------

std::vector<TensorType> ReshapeOp::infer_types(const std::vector<Var>& inputs) const {
  if (inputs.size() != 2)
    throw ValueError("reshape takes x and a shape vector, got " +
                     std::to_string(inputs.size()) + " inputs");
  const Var &x = inputs[0], &shp = inputs[1];
  if (shp.ndim() != 1 || !shape_util::is_index_dtype(shp.dtype()))
    throw TypeError("reshape: the shape must be an integer vector, got " +
                    shp->describe());
  if (shp.type().shape[0] >= 0 && shp.type().shape[0] != ndim_)
    throw TypeError("reshape: the shape vector has length " +
                    std::to_string(shp.type().shape[0]) + " but ndim is " +
                    std::to_string(ndim_));
  auto entries = static_entries(shp, ndim_);
  int minus_ones = 0;
  bool all_known = true;
  std::vector<int64_t> req(ndim_, -1);
  for (int i = 0; i < ndim_; ++i) {
    if (!entries[i]) {
      all_known = false;
      continue;
    }
    req[i] = *entries[i];
    if (req[i] < -1)
      throw ValueError("reshape: negative dimension " + std::to_string(req[i]) +
                       " in the shape (dim " + std::to_string(i) + ")");
    if (req[i] == -1 && ++minus_ones > 1)
      throw ValueError("reshape: can only specify one unknown dimension (-1)");
  }
  Shape out(ndim_, -1);
  for (int i = 0; i < ndim_; ++i)
    if (entries[i] && *entries[i] >= 0) out[i] = *entries[i];
  if (all_known && x.type().shape_known()) out = resolve_shape(x.type().shape, req);
  return {TensorType(x.dtype(), out)};
}

std::vector<NDArray> ReshapeOp::perform(const Apply& node,
                                        const std::vector<NDArray>& inputs) const {
  std::vector<int64_t> req = int_values(inputs[1]);
  if (static_cast<int>(req.size()) != ndim_)
    throw ValueError("reshape: the shape vector has " + std::to_string(req.size()) +
                     " entries at run time, expected " + std::to_string(ndim_));
  return {inputs[0].reshape(resolve_shape(inputs[0].shape(), req))};
}

// The gradient takes x's shape back; where x's dims are known the shape vector
// holds constants, so the gradient keeps x's static shape.
std::vector<Var> ReshapeOp::grad(const Apply& node, const std::vector<Var>& gz) const {
  const Var& x = node.inputs[0];
  return {reshape(gz[0], shape_util::shape_vector(x), x.ndim()), Var()};
}

// ---- Flatten --------------------------------------------------------------------

namespace {
void check_outdim(int outdim, int ndim) {
  if (outdim < 1 || (outdim > 1 && outdim > ndim))
    throw ValueError("flatten: outdim " + std::to_string(outdim) +
                     " is out of range for x of ndim " + std::to_string(ndim) +
                     " (must be in [1, " + std::to_string(std::max(ndim, 1)) + "])");
}

Shape flat_shape(const Shape& s, int outdim) {
  Shape out(s.begin(), s.begin() + std::min<size_t>(outdim - 1, s.size()));
  // A known 0 among the collapsed dims makes the product 0 even when others are
  // unknown.
  int64_t rest = 1;
  bool unknown = false, zero = false;
  for (size_t i = outdim - 1; i < s.size(); ++i) {
    zero |= s[i] == 0;
    unknown |= s[i] < 0;
    rest *= s[i];
  }
  out.push_back(zero ? 0 : unknown ? -1 : rest);
  return out;
}
}  // namespace

std::vector<TensorType> FlattenOp::infer_types(const std::vector<Var>& inputs) const {
  if (inputs.size() != 1) throw ValueError("flatten takes one input");
  check_outdim(outdim_, inputs[0].ndim());
  return {TensorType(inputs[0].dtype(), flat_shape(inputs[0].type().shape, outdim_))};
}

std::vector<NDArray> FlattenOp::perform(const Apply& node,
                                        const std::vector<NDArray>& inputs) const {
  return {inputs[0].reshape(flat_shape(inputs[0].shape(), outdim_))};
}

std::vector<Var> FlattenOp::grad(const Apply& node, const std::vector<Var>& gz) const {
  const Var& x = node.inputs[0];
  return {reshape(gz[0], shape_util::shape_vector(x), x.ndim())};
}

// ---- DimShuffle -----------------------------------------------------------------

bool DimShuffleOp::is_transpose() const {
  if (static_cast<int>(pattern_.size()) != input_ndim_) return false;
  return std::none_of(pattern_.begin(), pattern_.end(), [](int p) { return p < 0; });
}

std::string DimShuffleOp::name() const {
  std::string s = "DimShuffle{";
  for (size_t i = 0; i < pattern_.size(); ++i) {
    if (i) s += ",";
    s += pattern_[i] < 0 ? std::string("x") : std::to_string(pattern_[i]);
  }
  // Dropped dims are implied by the input's ndim: spell it so equal names mean
  // equal ops.
  int kept = static_cast<int>(
      std::count_if(pattern_.begin(), pattern_.end(), [](int p) { return p >= 0; }));
  if (kept != input_ndim_) s += ";ndim=" + std::to_string(input_ndim_);
  return s + "}";
}

std::vector<TensorType> DimShuffleOp::infer_types(const std::vector<Var>& inputs) const {
  if (inputs.size() != 1) throw ValueError("dimshuffle takes one input");
  const Var& x = inputs[0];
  if (x.ndim() != input_ndim_)
    throw TypeError("dimshuffle: the pattern was made for ndim " +
                    std::to_string(input_ndim_) + ", got " + x->describe());
  std::vector<bool> used(input_ndim_, false);
  Shape out;
  for (int p : pattern_) {
    if (p < -1 || p >= input_ndim_)
      throw IndexError("dimshuffle: pattern entry " + std::to_string(p) +
                       " is out of range for x of ndim " + std::to_string(input_ndim_) +
                       " (entries are dims of x or 'x')");
    if (p == -1) {
      out.push_back(1);
      continue;
    }
    if (used[p])
      throw ValueError("dimshuffle: dim " + std::to_string(p) +
                       " appears more than once in the pattern");
    used[p] = true;
    out.push_back(x.type().shape[p]);
  }
  for (int d = 0; d < input_ndim_; ++d)
    if (!used[d] && x.type().shape[d] != 1)
      throw TypeError("dimshuffle: cannot drop dim " + std::to_string(d) + " of " +
                      x->describe() +
                      ": only dims known to be 1 (broadcastable) can be dropped");
  return {TensorType(x.dtype(), out)};
}

std::vector<NDArray> DimShuffleOp::perform(const Apply& node,
                                           const std::vector<NDArray>& inputs) const {
  NDArray v = inputs[0];
  std::vector<bool> used(input_ndim_, false);
  for (int p : pattern_)
    if (p >= 0) used[p] = true;
  for (int d = input_ndim_ - 1; d >= 0; --d) {
    if (used[d]) continue;
    if (v.shape(d) != 1)
      throw ShapeError("dimshuffle: dim " + std::to_string(d) + " of x of shape " +
                       shape_str(inputs[0].shape()) + " was dropped but has size " +
                       std::to_string(v.shape(d)));
    v = v.index(d, 0);
  }
  // The remaining dims are the kept ones in increasing order; put them in
  // pattern order, then insert the new dims.
  std::vector<int> kept_sorted;
  for (int d = 0; d < input_ndim_; ++d)
    if (used[d]) kept_sorted.push_back(d);
  std::vector<int> perm;
  for (int p : pattern_)
    if (p >= 0)
      perm.push_back(static_cast<int>(
          std::find(kept_sorted.begin(), kept_sorted.end(), p) - kept_sorted.begin()));
  v = v.transpose(perm);
  for (size_t i = 0; i < pattern_.size(); ++i)
    if (pattern_[i] < 0) v = v.expand_dims(static_cast<int>(i));
  return {v};
}

// The inverse shuffle: the dims the op added leave, the dims it dropped (of
// size 1) come back as new dims, the kept ones return to their places.
std::vector<Var> DimShuffleOp::grad(const Apply& node, const std::vector<Var>& gz) const {
  Var g = gz[0];
  const int out_nd = static_cast<int>(pattern_.size());
  // dimshuffle can drop only dims its input's type knows to be 1; a gradient
  // whose type lost that knowledge drops them by indexing at 0 instead.
  bool droppable = true;
  for (int i = 0; i < out_nd; ++i)
    if (pattern_[i] < 0 && g.type().shape[i] != 1) droppable = false;
  std::vector<int> inverse(input_ndim_, -1);
  if (droppable) {
    for (int i = 0; i < out_nd; ++i)
      if (pattern_[i] >= 0) inverse[pattern_[i]] = i;
  } else {
    std::vector<Index> key;
    int j = 0;
    for (int i = 0; i < out_nd; ++i) {
      key.push_back(pattern_[i] < 0 ? idx(int64_t{0}) : slice());
      if (pattern_[i] >= 0) inverse[pattern_[i]] = j++;
    }
    g = subtensor(g, key);
  }
  bool identity = g.ndim() == input_ndim_;
  for (int d = 0; d < input_ndim_; ++d) identity &= inverse[d] == d;
  return {identity ? g : dimshuffle(g, inverse)};
}

// ---- Shape, Shape_i ---------------------------------------------------------------

std::vector<TensorType> ShapeOp::infer_types(const std::vector<Var>& inputs) const {
  if (inputs.size() != 1) throw ValueError("shape takes one input");
  return {TensorType(DType::Int64, {inputs[0].ndim()})};
}

std::vector<NDArray> ShapeOp::perform(const Apply& node,
                                      const std::vector<NDArray>& inputs) const {
  const Shape& s = inputs[0].shape();
  return {NDArray::from_vector<int64_t>(s, {static_cast<int64_t>(s.size())})};
}

std::vector<TensorType> ShapeIOp::infer_types(const std::vector<Var>& inputs) const {
  if (inputs.size() != 1) throw ValueError("shape_i takes one input");
  if (i_ < 0 || i_ >= inputs[0].ndim())
    throw IndexError("shape_i: dim " + std::to_string(i_) + " is out of range for " +
                     inputs[0]->describe());
  return {TensorType(DType::Int64, {})};
}

std::vector<NDArray> ShapeIOp::perform(const Apply& node,
                                       const std::vector<NDArray>& inputs) const {
  NDArray r = NDArray::empty(DType::Int64, {});
  *r.data<int64_t>() = inputs[0].shape(i_);
  return {r};
}

// ---- MakeVector ---------------------------------------------------------------------

std::vector<TensorType> MakeVectorOp::infer_types(const std::vector<Var>& inputs) const {
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Var& v = inputs[i];
    if (v.ndim() != 0)
      throw TypeError("make_vector: element " + std::to_string(i) +
                      " must be a scalar, got " + v->describe());
    if (is_float(v.dtype()) && !is_float(dtype_))
      throw TypeError("make_vector: element " + std::to_string(i) + " of dtype " +
                      dtype_name(v.dtype()) + " cannot be stored in a vector of dtype " +
                      dtype_name(dtype_) + " without losing its fraction");
  }
  return {TensorType(dtype_, {static_cast<int64_t>(inputs.size())})};
}

std::vector<NDArray> MakeVectorOp::perform(const Apply& node,
                                           const std::vector<NDArray>& inputs) const {
  NDArray out = NDArray::empty(dtype_, {static_cast<int64_t>(inputs.size())});
  for (size_t i = 0; i < inputs.size(); ++i)
    out.index(0, static_cast<int64_t>(i)).assign(inputs[i]);
  return {out};
}

std::vector<Var> MakeVectorOp::grad(const Apply& node, const std::vector<Var>& gz) const {
  std::vector<Var> r;
  for (size_t k = 0; k < node.inputs.size(); ++k)
    r.push_back(is_float(node.inputs[k].dtype())
                    ? subtensor(gz[0], {idx(static_cast<int64_t>(k))})
                    : Var());
  return r;
}

// ---- builders ------------------------------------------------------------------------

Var reshape(const Var& x, const std::vector<int64_t>& shape, const Here& loc) {
  return reshape(x, int_vector_constant(shape, loc), static_cast<int>(shape.size()), loc);
}

Var reshape(const Var& x, const Var& shape, int ndim, const Here& loc) {
  require_var(x, "reshape: x");
  require_var(shape, "reshape: shape");
  if (ndim < 0)
    throw ValueError("reshape: ndim must be >= 0, got " + std::to_string(ndim));
  return make_node1(std::make_shared<ReshapeOp>(ndim), {x, shape}, user_loc(loc));
}

Var flatten(const Var& x, int outdim, const Here& loc) {
  require_var(x, "flatten: x");
  check_outdim(outdim, x.ndim());
  return make_node1(std::make_shared<FlattenOp>(outdim), {x}, user_loc(loc));
}

Var dimshuffle(const Var& x, const std::vector<int>& pattern, const Here& loc) {
  require_var(x, "dimshuffle: x");
  return make_node1(std::make_shared<DimShuffleOp>(x.ndim(), pattern), {x},
                    user_loc(loc));
}

Var transpose(const Var& x, const std::optional<std::vector<int>>& perm,
              const Here& loc) {
  require_var(x, "transpose: x");
  const int nd = x.ndim();
  std::vector<int> p;
  if (!perm) {
    for (int d = nd - 1; d >= 0; --d) p.push_back(d);
  } else {
    if (static_cast<int>(perm->size()) != nd)
      throw ValueError("transpose: axes has " + std::to_string(perm->size()) +
                       " entries, which does not match " + x->describe());
    std::vector<bool> seen(nd, false);
    for (int a : *perm) {
      int n = normalize_axis(a, nd, "transpose");
      if (seen[n]) throw ValueError("transpose: repeated axis " + std::to_string(a));
      seen[n] = true;
      p.push_back(n);
    }
  }
  return dimshuffle(x, p, loc);
}

Var shape(const Var& x, const Here& loc) {
  require_var(x, "shape: x");
  return make_node1(std::make_shared<ShapeOp>(), {x}, user_loc(loc));
}

Var shape_i(const Var& x, int i, const Here& loc) {
  require_var(x, "shape_i: x");
  int n = normalize_axis(i, x.ndim(), "shape_i");
  return make_node1(std::make_shared<ShapeIOp>(n), {x}, user_loc(loc));
}

Var make_vector(const std::vector<Var>& scalars, DType dtype, const Here& loc) {
  for (size_t i = 0; i < scalars.size(); ++i)
    require_var(scalars[i], "make_vector: element " + std::to_string(i));
  return make_node1(std::make_shared<MakeVectorOp>(dtype), scalars, user_loc(loc));
}

}  // namespace theanine
