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
  // The reference evaluation into buffers the caller offers: out has one entry
  // per output, either empty (the op allocates) or an array the op may write
  // that output into when it has the output's shape and dtype and is
  // contiguous; the op allocates otherwise. An offered array may be an input's
  // own array (the inplace pass proved nothing reads it later), so an op that
  // reads an input element at another position than the one it writes (a
  // reduction), or reads that input again after writing the output (another
  // output computed later), must allocate instead. On return, out holds the
  // outputs. Returns false, having touched nothing, when the op has no such
  // entry point; the caller then uses perform().
  virtual bool perform_into(const Apply& node, const std::vector<NDArray>& inputs,
                            std::vector<NDArray>& out) const {
    return false;
  }
  // Outputs that are views of (share memory with) an input.
  virtual bool is_view() const { return false; }
  // The inputs a view op's outputs may alias (all of them unless the op says
  // fewer; none for ops that are not views).
  virtual std::vector<int> viewed_inputs(const Apply& node) const;
  // The inputs whose buffer an output may take over (the inplace pass): inputs
  // each output element reads at its own position only, of the output's shape.
  virtual std::vector<int> overwritable_inputs(const Apply& node) const { return {}; }

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
