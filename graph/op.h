#pragma once
// The Op interface: what every concrete op in ops/ implements.
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "graph/type.h"
#include "graph/variable.h"
#include "runtime/ndarray.h"

namespace theanine {

class FunctionGraph;

class Op {
 public:
  virtual ~Op() = default;
  // Short name used in printing, e.g. "Elemwise{add}" or "Sum{axis=(1,)}".
  virtual std::string name() const = 0;
  // Output types from the inputs (their types, and their values when constant).
  // Throws TypeError / ShapeError naming the offending input and shapes.
  virtual std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const = 0;
  // The reference evaluation: plain, obviously right C++ on NDArrays. Outputs may
  // alias inputs only when the op is a view op (is_view() returns true).
  virtual std::vector<NDArray> perform(const Apply& node,
                                       const std::vector<NDArray>& inputs) const = 0;
  // Outputs that are views of (share memory with) an input.
  virtual bool is_view() const { return false; }

  // Gradient: given the node and one gradient per output (null where the output
  // does not reach the cost), one gradient per input (null for disconnected).
  // The default says the op is not differentiable.
  virtual std::vector<Var> grad(const Apply& node,
                                const std::vector<Var>& output_grads) const;

  // Ops that own graphs (scan, OpFromGraph) list them so clone, print, grad and
  // rewrites can recurse.
  virtual std::vector<const FunctionGraph*> inner_graphs() const { return {}; }
  // The same op over rewritten inner graphs: `rewrite_outputs` maps each inner
  // graph's outputs to their rewritten equivalents. Ops without inner graphs
  // (and ops that do not support it) return null and are left as they are.
  using InnerRewrite = std::function<std::vector<Var>(const std::vector<Var>&)>;
  virtual std::shared_ptr<const Op> with_rewritten_inner(
      const InnerRewrite& rewrite_outputs) const {
    return nullptr;
  }

  // Identity for merging equal nodes: same class and same parameters. The
  // default compares name(), which must therefore spell every parameter.
  virtual bool equals(const Op& other) const;
  virtual size_t hash() const;
};

using OpPtr = std::shared_ptr<const Op>;

}  // namespace theanine
