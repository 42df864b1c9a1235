#pragma once
// Indexing with NumPy's semantics: basic indexing (integers, slices with
// constant or symbolic bounds, newaxis, ellipsis) gives a view; integer-array
// indices give NumPy's advanced indexing. set_subtensor / inc_subtensor write
// through an indexing result into a copy of the indexed tensor.
#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "graph/op.h"
#include "graph/variable.h"

namespace theanine {

// One entry of an indexing key.
struct Index {
  enum class Kind : uint8_t { Int, Slice, NewAxis, Ellipsis, Array };
  Kind kind = Kind::Slice;
  Var value;              // Int (0-d) and Array (ndim >= 1): integer variables
  Var start, stop, step;  // Slice: null where absent
};

// A slice bound: absent, an integer, or an integer scalar variable.
struct Bound {
  Var var;
  Bound() = default;
  Bound(std::nullopt_t) {}         // NOLINT: implicit by design
  Bound(const Var& v) : var(v) {}  // NOLINT
  template <std::integral I>
  Bound(I v) : var(bound_constant(static_cast<int64_t>(v))) {}  // NOLINT

 private:
  static Var bound_constant(int64_t v);
};

// An integer index (0-d: drops the dim) or an integer array (advanced indexing).
Index idx(const Var& i);
Index idx(int64_t i);
Index idx(const std::vector<int64_t>& indices);
Index slice(Bound start = {}, Bound stop = {}, Bound step = {});
Index newaxis();
Index ellipsis();

// x[key]. Too many indices -> IndexError naming x's ndim; a bool or float index
// -> TypeError; out-of-range constant indices on known dims -> IndexError now,
// the rest at run time.
Var subtensor(const Var& x, const std::vector<Index>& key,
              const Here& loc = Here::current());
// Theano's set_subtensor / inc_subtensor: `x_sub` is the result of subtensor();
// the result is a copy of its x with the indexed region set to (incremented by)
// y broadcast to the region. Duplicate advanced indices: set keeps the last
// value, inc accumulates (numpy.add.at).
Var set_subtensor(const Var& x_sub, const Var& y, const Here& loc = Here::current());
Var inc_subtensor(const Var& x_sub, const Var& y, const Here& loc = Here::current());

// ---- ops (exposed so rewrites and grad can recognise them) -----------------------

// An indexing key with the values taken out: each entry's kind and which slice
// bounds are present. The values are the op's inputs after x (and y), in key
// order: one per Int or Array entry, one per present slice bound.
struct IndexEntry {
  enum class Kind : uint8_t { Int, Slice, NewAxis, Array };
  Kind kind = Kind::Slice;
  bool has_start = false, has_stop = false, has_step = false;
  int num_inputs() const;
};
using IndexSpec = std::vector<IndexEntry>;
// "i, start:stop, ::step, None, []" — part of the ops' names.
std::string spec_str(const IndexSpec& spec);
bool spec_is_advanced(const IndexSpec& spec);

// Basic indexing (no Array entries): the output is a view of x.
class SubtensorOp : public Op {
 public:
  explicit SubtensorOp(IndexSpec spec) : spec_(std::move(spec)) {}
  const IndexSpec& spec() const { return spec_; }
  std::string name() const override { return "Subtensor{" + spec_str(spec_) + "}"; }
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  std::vector<Var> grad(const Apply& node,
                        const std::vector<Var>& output_grads) const override;
  bool is_view() const override { return true; }
  // Only input 0 is viewed (the others are shapes, indices or a shape model).
  std::vector<int> viewed_inputs(const Apply&) const override { return {0}; }

 private:
  IndexSpec spec_;
};

// NumPy's advanced indexing: Array entries (integer scalars count as 0-d
// arrays) broadcast together; slices and newaxis as in basic indexing.
class AdvancedSubtensorOp : public Op {
 public:
  explicit AdvancedSubtensorOp(IndexSpec spec) : spec_(std::move(spec)) {}
  const IndexSpec& spec() const { return spec_; }
  std::string name() const override {
    return "AdvancedSubtensor{" + spec_str(spec_) + "}";
  }
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  std::vector<Var> grad(const Apply& node,
                        const std::vector<Var>& output_grads) const override;

 private:
  IndexSpec spec_;
};

// Inputs: x, y, the key's values. Output: a copy of x with x[key] set to (or
// incremented by) y.
class IncSubtensorOp : public Op {
 public:
  IncSubtensorOp(IndexSpec spec, bool set) : spec_(std::move(spec)), set_(set) {}
  const IndexSpec& spec() const { return spec_; }
  bool is_set() const { return set_; }
  std::string name() const override;
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  std::vector<Var> grad(const Apply& node,
                        const std::vector<Var>& output_grads) const override;

 private:
  IndexSpec spec_;
  bool set_;
};

}  // namespace theanine
