// Index keys, subtensor(), and the two indexing ops. The shape logic they share
// with IncSubtensor is in index_region.cc.
#include "ops/subtensor.h"

#include <algorithm>

#include "ops/index_region.h"
#include "ops/op_util.h"
#include "ops/shape_ops.h"
#include "ops/shape_util.h"
#include "runtime/error.h"

namespace theanine {

// ---- keys -------------------------------------------------------------------------

namespace {
// Exact for every int64 (a double would round beyond 2^53).
Var int64_scalar(int64_t v) {
  return make_constant(NDArray::from_vector<int64_t>({v}, {}));
}
}  // namespace

Var Bound::bound_constant(int64_t v) { return int64_scalar(v); }

Index idx(const Var& i) {
  Index r;
  r.kind = i && i.ndim() > 0 ? Index::Kind::Array : Index::Kind::Int;
  r.value = i;
  return r;
}

Index idx(int64_t i) { return idx(int64_scalar(i)); }

Index idx(const std::vector<int64_t>& indices) {
  Index r;
  r.kind = Index::Kind::Array;
  r.value = int_vector_constant(indices);
  return r;
}

Index slice(Bound start, Bound stop, Bound step) {
  Index r;
  r.kind = Index::Kind::Slice;
  r.start = start.var;
  r.stop = stop.var;
  r.step = step.var;
  return r;
}

Index newaxis() {
  Index r;
  r.kind = Index::Kind::NewAxis;
  return r;
}

Index ellipsis() {
  Index r;
  r.kind = Index::Kind::Ellipsis;
  return r;
}

int IndexEntry::num_inputs() const {
  switch (kind) {
    case Kind::Int:
    case Kind::Array:
      return 1;
    case Kind::Slice:
      return int(has_start) + int(has_stop) + int(has_step);
    case Kind::NewAxis:
      return 0;
  }
  return 0;
}

std::string spec_str(const IndexSpec& spec) {
  std::string s;
  for (size_t i = 0; i < spec.size(); ++i) {
    if (i) s += ", ";
    const IndexEntry& e = spec[i];
    switch (e.kind) {
      case IndexEntry::Kind::Int:
        s += "i";
        break;
      case IndexEntry::Kind::Array:
        s += "array";
        break;
      case IndexEntry::Kind::NewAxis:
        s += "None";
        break;
      case IndexEntry::Kind::Slice:
        if (e.has_start) s += "start";
        s += ":";
        if (e.has_stop) s += "stop";
        if (e.has_step) s += ":step";
        break;
    }
  }
  return s;
}

bool spec_is_advanced(const IndexSpec& spec) {
  return std::any_of(spec.begin(), spec.end(), [](const IndexEntry& e) {
    return e.kind == IndexEntry::Kind::Array;
  });
}

// ---- ops ---------------------------------------------------------------------------

namespace {
std::vector<Var> key_values(const std::vector<Var>& inputs, size_t first) {
  return std::vector<Var>(inputs.begin() + first, inputs.end());
}
std::vector<NDArray> key_values(const std::vector<NDArray>& inputs, size_t first) {
  return std::vector<NDArray>(inputs.begin() + first, inputs.end());
}
}  // namespace

std::vector<TensorType> SubtensorOp::infer_types(const std::vector<Var>& inputs) const {
  if (spec_is_advanced(spec_))
    throw ValueError("Subtensor: the key has an index array; use AdvancedSubtensor");
  return {
      index_region::region_type(inputs.at(0), spec_, key_values(inputs, 1), "subtensor")};
}

std::vector<NDArray> SubtensorOp::perform(const Apply& node,
                                          const std::vector<NDArray>& inputs) const {
  return {
      index_region::locate(inputs[0], spec_, key_values(inputs, 1), "subtensor").view};
}

std::vector<TensorType> AdvancedSubtensorOp::infer_types(
    const std::vector<Var>& inputs) const {
  return {index_region::region_type(inputs.at(0), spec_, key_values(inputs, 1),
                                    "advanced subtensor")};
}

std::vector<NDArray> AdvancedSubtensorOp::perform(
    const Apply& node, const std::vector<NDArray>& inputs) const {
  index_region::Region r =
      index_region::locate(inputs[0], spec_, key_values(inputs, 1), "advanced subtensor");
  NDArray out = NDArray::empty(inputs[0].dtype(), r.shape);
  dispatch_dtype(out.dtype(), [&](auto t) {
    using T = decltype(t);
    const T* src = r.view.data<T>();
    T* dst = out.data<T>();
    for (size_t i = 0; i < r.offsets.size(); ++i) dst[i] = src[r.offsets[i]];
  });
  return {out};
}

// ---- gradients ----------------------------------------------------------------------

namespace {
// x's gradient: zeros with the output's gradient added at the same key, so
// elements an advanced key picks several times get the sum of their gradients.
std::vector<Var> scatter_grad(const Apply& node, const IndexSpec& spec, const Var& g) {
  std::vector<Var> inputs{zeros_like(node.inputs[0]), g};
  inputs.insert(inputs.end(), node.inputs.begin() + 1, node.inputs.end());
  std::vector<Var> r(node.inputs.size());
  r[0] = make_node1(std::make_shared<IncSubtensorOp>(spec, false), inputs,
                    user_loc(Here::current()));
  return r;
}
}  // namespace

std::vector<Var> SubtensorOp::grad(const Apply& node, const std::vector<Var>& gz) const {
  return scatter_grad(node, spec_, gz[0]);
}

std::vector<Var> AdvancedSubtensorOp::grad(const Apply& node,
                                           const std::vector<Var>& gz) const {
  return scatter_grad(node, spec_, gz[0]);
}

// ---- subtensor() ------------------------------------------------------------------

Var subtensor(const Var& x, const std::vector<Index>& key, const Here& loc) {
  shape_util::require_var(x, "subtensor: x");
  const int nd = x.ndim();
  int used = 0, ellipses = 0;
  bool advanced = false;
  for (size_t i = 0; i < key.size(); ++i) {
    const Index& e = key[i];
    const std::string which = "subtensor: index " + std::to_string(i);
    switch (e.kind) {
      case Index::Kind::Ellipsis:
        ++ellipses;
        break;
      case Index::Kind::NewAxis:
        break;
      case Index::Kind::Int:
      case Index::Kind::Array:
        shape_util::require_var(e.value, which);
        if (is_bool(e.value.dtype()))
          throw TypeError("subtensor: boolean mask indexing is not supported (index " +
                          std::to_string(i) + " is " + e.value->describe() + ")");
        if (!is_integer(e.value.dtype()))
          throw TypeError("subtensor: indices must be integers; index " +
                          std::to_string(i) + " is " + e.value->describe());
        advanced |= e.value.ndim() > 0;
        ++used;
        break;
      case Index::Kind::Slice:
        for (const Var* b : {&e.start, &e.stop, &e.step})
          if (*b) shape_util::require_int_scalar(*b, which + " (a slice bound)");
        ++used;
        break;
    }
  }
  if (ellipses > 1)
    throw IndexError("subtensor: an index can only have a single ellipsis (...)");
  if (used > nd)
    throw IndexError("subtensor: too many indices for " + x->describe() + " of ndim " +
                     std::to_string(nd) + " (the key indexes " + std::to_string(used) +
                     " dims)");

  IndexSpec spec;
  std::vector<Var> inputs{x};
  for (const Index& e : key) {
    IndexEntry s;
    switch (e.kind) {
      case Index::Kind::Ellipsis:
        for (int d = used; d < nd; ++d) spec.push_back(IndexEntry{});
        continue;
      case Index::Kind::NewAxis:
        s.kind = IndexEntry::Kind::NewAxis;
        break;
      case Index::Kind::Int:
      case Index::Kind::Array:
        // With an index array present, integers are 0-d index arrays (NumPy).
        s.kind = advanced ? IndexEntry::Kind::Array : IndexEntry::Kind::Int;
        inputs.push_back(e.value);
        break;
      case Index::Kind::Slice:
        s.kind = IndexEntry::Kind::Slice;
        s.has_start = bool(e.start);
        s.has_stop = bool(e.stop);
        s.has_step = bool(e.step);
        for (const Var* b : {&e.start, &e.stop, &e.step})
          if (*b) inputs.push_back(*b);
        break;
    }
    spec.push_back(s);
  }
  if (advanced)
    return make_node1(std::make_shared<AdvancedSubtensorOp>(spec), inputs, user_loc(loc));
  return make_node1(std::make_shared<SubtensorOp>(spec), inputs, user_loc(loc));
}

}  // namespace theanine
