// Join (NumPy's concatenate) and stack, which is a join of dimshuffled inputs.
#include "ops/elemwise.h"
#include "ops/op_util.h"
#include "ops/shape_ops.h"
#include "ops/shape_util.h"
#include "ops/subtensor.h"
#include "runtime/error.h"

namespace theanine {

namespace {

// Every dim but `axis` must agree between the inputs; -1 (unknown) agrees with
// anything. Returns the joined shape (-1 where unknown).
Shape joined_shape(const std::vector<Shape>& shapes, int axis, const std::string& what) {
  Shape out = shapes[0];
  int64_t total = 0;
  bool total_known = true;
  for (size_t k = 0; k < shapes.size(); ++k) {
    const Shape& s = shapes[k];
    for (size_t d = 0; d < s.size(); ++d) {
      if (static_cast<int>(d) == axis) continue;
      if (s[d] >= 0 && out[d] >= 0 && s[d] != out[d])
        throw ShapeError(what + ": input " + std::to_string(k) + " has shape " +
                         shape_str(s) + " but an earlier input has shape " +
                         shape_str(shapes[0]) + "; all dims but the join axis " +
                         std::to_string(axis) + " must match (dim " + std::to_string(d) +
                         " differs)");
      if (out[d] < 0) out[d] = s[d];
    }
    if (s[axis] < 0) total_known = false;
    total += s[axis];
  }
  out[axis] = total_known ? total : -1;
  return out;
}

}  // namespace

std::vector<TensorType> JoinOp::infer_types(const std::vector<Var>& inputs) const {
  if (inputs.empty()) throw ValueError("join: need at least one tensor to join");
  const int nd = inputs[0].ndim();
  for (size_t k = 0; k < inputs.size(); ++k)
    if (inputs[k].ndim() != nd)
      throw TypeError("join: all inputs must have the same ndim; input 0 has ndim " +
                      std::to_string(nd) + " but input " + std::to_string(k) + " is " +
                      inputs[k]->describe());
  if (nd == 0) throw ValueError("join: zero-dimensional tensors cannot be concatenated");
  if (axis_ < 0 || axis_ >= nd)
    throw IndexError("join: axis " + std::to_string(axis_) +
                     " is out of bounds for inputs of ndim " + std::to_string(nd));
  std::vector<Shape> shapes;
  for (const Var& v : inputs) shapes.push_back(v.type().shape);
  return {TensorType(result_dtype(inputs), joined_shape(shapes, axis_, "join"))};
}

std::vector<NDArray> JoinOp::perform(const Apply& node,
                                     const std::vector<NDArray>& inputs) const {
  std::vector<Shape> shapes;
  for (const NDArray& a : inputs) shapes.push_back(a.shape());
  NDArray out =
      NDArray::empty(node.output_ptr(0)->type.dtype, joined_shape(shapes, axis_, "join"));
  int64_t at = 0;
  for (const NDArray& a : inputs) {
    const int64_t n = a.shape(axis_);
    out.slice(axis_, at, at + n, 1).assign(a);
    at += n;
  }
  return {out};
}

namespace {
Var int64_scalar(int64_t v) {
  return make_constant(NDArray::from_vector<int64_t>({v}, {}));
}
}  // namespace

// Each input gets its own stretch of the gradient along the axis. The bounds are
// constants while the inputs' lengths are known, so the pieces keep static shapes.
std::vector<Var> JoinOp::grad(const Apply& node, const std::vector<Var>& gz) const {
  const Var& g = gz[0];
  std::vector<Var> r;
  int64_t at = 0;  // the offset while it is known statically
  Var start = int64_scalar(0);
  for (const Var& x : node.inputs) {
    const int64_t n = x.type().shape[axis_];
    const bool known = at >= 0 && n >= 0;
    Var stop = known ? int64_scalar(at + n)
                     : add(start, n >= 0 ? int64_scalar(n) : shape_i(x, axis_));
    if (!is_float(x.dtype())) {
      r.push_back(Var());
    } else if (n == 1) {
      // A piece of length 1 (every input of stack): index it and put the dim
      // back, which gives the dim a static size of 1.
      std::vector<Index> key(axis_, slice());
      key.push_back(idx(start));
      std::vector<int> pattern;
      for (int d = 0; d < x.ndim() - 1; ++d) pattern.push_back(d);
      pattern.insert(pattern.begin() + axis_, -1);
      r.push_back(dimshuffle(subtensor(g, key), pattern));
    } else {
      std::vector<Index> key(axis_, slice());
      key.push_back(slice(start, stop));
      r.push_back(subtensor(g, key));
    }
    at = known ? at + n : -1;
    start = stop;
  }
  return r;
}

Var concatenate(const std::vector<Var>& xs, int axis, const Here& loc) {
  if (xs.empty()) throw ValueError("concatenate: need at least one tensor to join");
  for (size_t k = 0; k < xs.size(); ++k)
    shape_util::require_var(xs[k], "concatenate: input " + std::to_string(k));
  const int nd = xs[0].ndim();
  if (nd == 0)
    throw ValueError("concatenate: zero-dimensional tensors cannot be concatenated");
  return make_node1(std::make_shared<JoinOp>(normalize_axis(axis, nd, "concatenate")), xs,
                    user_loc(loc));
}

Var stack(const std::vector<Var>& xs, int axis, const Here& loc) {
  if (xs.empty()) throw ValueError("stack: need at least one tensor to stack");
  for (size_t k = 0; k < xs.size(); ++k)
    shape_util::require_var(xs[k], "stack: input " + std::to_string(k));
  const int nd = xs[0].ndim();
  for (size_t k = 1; k < xs.size(); ++k) {
    if (xs[k].ndim() != nd)
      throw TypeError("stack: all inputs must have the same ndim; input 0 is " +
                      xs[0]->describe() + ", input " + std::to_string(k) + " is " +
                      xs[k]->describe());
    for (int d = 0; d < nd; ++d) {
      int64_t a = xs[0].type().shape[d], b = xs[k].type().shape[d];
      if (a >= 0 && b >= 0 && a != b)
        throw ShapeError(
            "stack: all inputs must have the same shape; input 0 has shape " +
            shape_str(xs[0].type().shape) + ", input " + std::to_string(k) +
            " has shape " + shape_str(xs[k].type().shape));
    }
  }
  const int a = normalize_axis(axis, nd + 1, "stack");
  std::vector<int> pattern;
  for (int d = 0; d < nd; ++d) pattern.push_back(d);
  pattern.insert(pattern.begin() + a, -1);
  std::vector<Var> expanded;
  for (const Var& x : xs) expanded.push_back(dimshuffle(x, pattern, loc));
  return make_node1(std::make_shared<JoinOp>(a), expanded, user_loc(loc));
}

}  // namespace theanine
