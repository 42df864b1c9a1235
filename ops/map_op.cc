#include "ops/map_op.h"

#include <atomic>
#include <cstring>

#include "graph/evaluate.h"
#include "ops/op_util.h"
#include "runtime/error.h"

namespace theanine {

namespace {
std::atomic<uint64_t> g_next_map{1};
std::vector<Var> inner_inputs(const Var& index, const std::vector<Var>& captured) {
  std::vector<Var> v{index};
  v.insert(v.end(), captured.begin(), captured.end());
  return v;
}
}  // namespace

MapOp::MapOp(Var index, Var body, std::vector<Var> captured, std::string label)
    : index_(index),
      body_(body),
      captured_(captured),
      label_(std::move(label)),
      uid_(g_next_map++),
      inner_(inner_inputs(index, captured), {body}) {}

// Each Map owns a distinct body, so no two are equal (merge must not join them).
std::string MapOp::name() const {
  return "Map{" + label_ + "#" + std::to_string(uid_) + "}";
}

std::shared_ptr<const Op> MapOp::with_rewritten_inner(const InnerRewrite& rewrite) const {
  Var body = rewrite({body_}).at(0);
  if (body.same(body_)) return nullptr;
  // The rewritten body may use fewer captured variables, never new ones, so the
  // node's inputs stay valid.
  return std::make_shared<MapOp>(index_, body, captured_, label_);
}

std::vector<TensorType> MapOp::infer_types(const std::vector<Var>& in) const {
  if (in[0]->type.ndim() != 0 || is_float(in[0]->type.dtype))
    throw TypeError("map: the length must be an integer scalar, got " +
                    in[0]->type.str());
  Shape s{-1};
  if (auto n = constant_int(in[0])) s[0] = *n;
  for (int64_t d : body_->type.shape) s.push_back(d);
  return {TensorType(body_->type.dtype, s)};
}

std::vector<NDArray> MapOp::perform(const Apply&, const std::vector<NDArray>& in) const {
  const int64_t n = in[0].item_int();
  if (n < 0) throw ValueError("map: negative length " + std::to_string(n));
  Bindings b;
  for (size_t k = 0; k < captured_.size(); ++k) b[captured_[k].get()] = in[k + 1];
  NDArray out;
  for (int64_t i = 0; i < n; ++i) {
    b[index_.get()] = NDArray::scalar(index_->type.dtype, static_cast<double>(i));
    NDArray row = evaluate({body_}, b).at(0);
    if (i == 0) {
      Shape s{n};
      s.insert(s.end(), row.shape().begin(), row.shape().end());
      out = NDArray::empty(body_->type.dtype, s);
    }
    NDArray slot = out.index(0, i);
    if (slot.shape() != row.shape())
      throw ShapeError("map: iteration " + std::to_string(i) + " gave shape " +
                       shape_str(row.shape()) + ", iteration 0 gave " +
                       shape_str(slot.shape()));
    slot.assign(row);
  }
  if (n == 0) {
    // No iteration ran: the body's shape is what its type knows (unknown -> 0).
    Shape s{0};
    for (int64_t d : body_->type.shape) s.push_back(d < 0 ? 0 : d);
    out = NDArray::zeros(body_->type.dtype, s);
  }
  return {out};
}

Var map_over_range(const Var& n, const Var& index, const Var& body,
                   const std::string& label, const Here& loc) {
  std::vector<Var> captured;
  for (const Var& v : free_variables({body}))
    if (!v.same(index) && !v->is_constant()) captured.push_back(v);
  std::vector<Var> inputs{n};
  inputs.insert(inputs.end(), captured.begin(), captured.end());
  return make_node1(std::make_shared<MapOp>(index, body, captured, label), inputs,
                    user_loc(loc));
}

}  // namespace theanine
