// Repeat and Tile (NumPy's). Both copy through broadcast views: a dim of size 1
// with stride 0 broadcast to the repeat count, copied, then merged by reshape.
#include "ops/op_util.h"
#include "ops/reduce.h"
#include "ops/shape_ops.h"
#include "ops/shape_util.h"
#include "ops/subtensor.h"
#include "runtime/error.h"

namespace theanine {

using shape_util::require_var;

// ---- Repeat -----------------------------------------------------------------------

namespace {
void check_counts(int64_t count, int64_t dim, int axis) {
  if (count >= 0 && count != 1 && dim >= 0 && count != dim)
    throw ShapeError("repeat: repeats has " + std::to_string(count) +
                     " entries but axis " + std::to_string(axis) + " of x has size " +
                     std::to_string(dim) +
                     " (need one entry per element, or a single one)");
}

void check_repeats(const std::vector<int64_t>& reps, int64_t dim, int axis) {
  for (int64_t r : reps)
    if (r < 0) throw ValueError("repeat: negative repeat count " + std::to_string(r));
  check_counts(static_cast<int64_t>(reps.size()), dim, axis);
}
}  // namespace

std::vector<TensorType> RepeatOp::infer_types(const std::vector<Var>& inputs) const {
  if (inputs.size() != 2) throw ValueError("repeat takes x and repeats");
  const Var &x = inputs[0], &reps = inputs[1];
  if (axis_ < 0 || axis_ >= x.ndim())
    throw IndexError("repeat: axis " + std::to_string(axis_) + " is out of bounds for " +
                     x->describe());
  if (reps.ndim() > 1 || !shape_util::is_index_dtype(reps.dtype()))
    throw TypeError("repeat: repeats must be an integer scalar or vector, got " +
                    reps->describe());
  Shape out = x.type().shape;
  const int64_t n = out[axis_];
  if (reps.ndim() == 1) check_counts(reps.type().shape[0], n, axis_);
  out[axis_] = -1;
  if (auto c = constant_value(reps)) {
    std::vector<int64_t> r = shape_util::int_values(*c);
    check_repeats(r, n, axis_);
    if (r.size() == 1 && n >= 0) {
      out[axis_] = n * r[0];
    } else if (r.size() != 1) {
      int64_t total = 0;
      for (int64_t v : r) total += v;
      out[axis_] = total;
    }
  }
  return {TensorType(x.dtype(), out)};
}

std::vector<NDArray> RepeatOp::perform(const Apply& node,
                                       const std::vector<NDArray>& inputs) const {
  const NDArray& x = inputs[0];
  std::vector<int64_t> reps = shape_util::int_values(inputs[1]);
  const int64_t n = x.shape(axis_);
  check_repeats(reps, n, axis_);
  Shape out_shape = x.shape();
  if (reps.size() == 1) {
    // x with a stride-0 dim of the repeat count after the axis, copied, merged.
    Shape wide = x.shape();
    wide.insert(wide.begin() + axis_ + 1, reps[0]);
    out_shape[axis_] = n * reps[0];
    return {x.expand_dims(axis_ + 1).broadcast_to(wide).copy().reshape(out_shape)};
  }
  int64_t total = 0;
  for (int64_t r : reps) total += r;
  out_shape[axis_] = total;
  NDArray out = NDArray::empty(x.dtype(), out_shape);
  int64_t at = 0;
  for (int64_t i = 0; i < n; ++i) {
    out.slice(axis_, at, at + reps[i], 1).assign(x.slice(axis_, i, i + 1, 1));
    at += reps[i];
  }
  return {out};
}

// Every element of x gets the sum of the gradient over its copies. With one
// count the copies are adjacent: the gradient is unflattened to (..., n, count,
// ...) and summed over the count. With a count per element they are groups of
// varying length: the gradient is scattered back by the index each output
// element came from, adding duplicates.
std::vector<Var> RepeatOp::grad(const Apply& node, const std::vector<Var>& gz) const {
  const Var &x = node.inputs[0], &reps = node.inputs[1];
  const Var& g = gz[0];
  if (reps.ndim() == 0) {
    std::vector<Var> dims = shape_util::shape_scalars(x);
    dims.insert(dims.begin() + axis_ + 1, reps);
    Var wide = reshape(g, make_vector(dims, DType::Int64), x.ndim() + 1);
    return {sum(wide, std::vector<int>{axis_ + 1}), Var()};
  }
  Var source = repeat(arange(shape_i(x, axis_)), reps, 0);
  std::vector<Index> key(axis_, slice());
  key.push_back(idx(source));
  return {inc_subtensor(subtensor(zeros_like(x), key), g), Var()};
}

Var repeat(const Var& x, const Var& repeats, std::optional<int> axis, const Here& loc) {
  require_var(x, "repeat: x");
  require_var(repeats, "repeat: repeats");
  Var src = axis ? x : flatten(x, 1, loc);
  int a = normalize_axis(axis.value_or(0), src.ndim(), "repeat");
  return make_node1(std::make_shared<RepeatOp>(a), {src, repeats}, user_loc(loc));
}

// ---- Tile ---------------------------------------------------------------------------

namespace {
// NumPy aligns x's shape and reps at the right, padding the shorter with 1s.
void aligned(const Shape& x, const std::vector<int64_t>& reps, Shape* xs, Shape* rs) {
  const size_t nd = std::max(x.size(), reps.size());
  xs->assign(nd - x.size(), 1);
  xs->insert(xs->end(), x.begin(), x.end());
  rs->assign(nd - reps.size(), 1);
  rs->insert(rs->end(), reps.begin(), reps.end());
}
}  // namespace

std::string TileOp::name() const {
  return "Tile{reps=" + shape_util::requested_shape_str(reps_) + "}";
}

std::vector<TensorType> TileOp::infer_types(const std::vector<Var>& inputs) const {
  if (inputs.size() != 1) throw ValueError("tile takes one input");
  for (int64_t r : reps_)
    if (r < 0)
      throw ValueError("tile: negative repeat count in reps " +
                       shape_util::requested_shape_str(reps_));
  Shape xs, rs;
  aligned(inputs[0].type().shape, reps_, &xs, &rs);
  Shape out(xs.size());
  for (size_t i = 0; i < xs.size(); ++i)
    out[i] = rs[i] == 0 ? 0 : xs[i] < 0 ? -1 : xs[i] * rs[i];
  return {TensorType(inputs[0].dtype(), out)};
}

std::vector<NDArray> TileOp::perform(const Apply& node,
                                     const std::vector<NDArray>& inputs) const {
  Shape xs, rs;
  aligned(inputs[0].shape(), reps_, &xs, &rs);
  NDArray v = inputs[0];
  while (v.ndim() < static_cast<int>(xs.size())) v = v.expand_dims(0);
  // Interleave: (r0, s0, r1, s1, ...) with every r dim a stride-0 broadcast.
  Shape wide, out;
  for (size_t i = 0; i < xs.size(); ++i) {
    v = v.expand_dims(static_cast<int>(2 * i));
    wide.push_back(rs[i]);
    wide.push_back(xs[i]);
    out.push_back(rs[i] * xs[i]);
  }
  return {v.broadcast_to(wide).copy().reshape(out)};
}

// The output is x's copies laid out as (r0, s0, r1, s1, ...) flattened per dim
// pair: the gradient is viewed that way and summed over the copies.
std::vector<Var> TileOp::grad(const Apply& node, const std::vector<Var>& gz) const {
  const Var& x = node.inputs[0];
  const Var& g = gz[0];
  const int nd = std::max<int>(x.ndim(), static_cast<int>(reps_.size()));
  if (nd == 0) return {g};
  const int lead_x = nd - x.ndim(), lead_r = nd - static_cast<int>(reps_.size());
  const std::vector<Var> xdims = shape_util::shape_scalars(x);
  auto constant = [](int64_t v) {
    return make_constant(NDArray::from_vector<int64_t>({v}, {}));
  };
  std::vector<Var> dims;
  std::vector<int> copies;
  for (int i = 0; i < nd; ++i) {
    copies.push_back(static_cast<int>(dims.size()));
    dims.push_back(constant(i < lead_r ? 1 : reps_[i - lead_r]));
    dims.push_back(i < lead_x ? constant(1) : xdims[i - lead_x]);
  }
  Var summed = sum(reshape(g, make_vector(dims, DType::Int64), 2 * nd), copies);
  if (lead_x == 0) return {summed};
  return {reshape(summed, shape_util::shape_vector(x), x.ndim())};
}

Var tile(const Var& x, const std::vector<int64_t>& reps, const Here& loc) {
  require_var(x, "tile: x");
  return make_node1(std::make_shared<TileOp>(reps), {x}, user_loc(loc));
}

}  // namespace theanine
