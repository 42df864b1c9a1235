#pragma once
// Fused elementwise work (Theano's Composite): one node computing a chain of
// elementwise ops, and one computing a reduction of such a chain.
//
// The chain is a ScalarGraph: a small DAG over the scalar-op table
// (ops/scalar_op_table.h) that names no tensor, no shape and no backend. It is
// the unit the LLVM and CUDA emitters turn into one kernel: the iteration domain
// is the broadcast shape of the node's outputs, every input is read through its
// broadcast index map, and each scalar node is one table entry. The reference
// perform here evaluates it node by node with the Elemwise kernel, so a fused
// node computes exactly what the nodes it replaces computed.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "graph/op.h"
#include "graph/variable.h"
#include "ops/reduce.h"
#include "ops/scalar_op_table.h"

namespace theanine {

// An operand of a scalar node: a tensor input of the fused node, an earlier
// scalar node, or a constant of the graph.
struct ScalarRef {
  enum class Kind : uint8_t { Input, Node, Constant };
  Kind kind = Kind::Input;
  int index = 0;  // into ScalarGraph::inputs, nodes or constants
  bool operator==(const ScalarRef&) const = default;
};

// One table entry applied to its operands. Each operand is converted to
// dtypes.operand and the result to dtypes.output, as the Elemwise node it came
// from did, so no type rule (and no weak-literal rule) is re-run downstream.
struct ScalarNode {
  int op = 0;                    // the scalar_op() id
  std::optional<DType> cast_to;  // the target of the cast entry, absent for others
  std::vector<ScalarRef> args;
  ElemwiseDTypes dtypes{DType::Float64, DType::Float64};
};

// A 0-d literal; `weak` when it came from a number literal of the user's.
struct ScalarConstant {
  NDArray value;
  bool weak = false;
};

// Where a scalar node came from, for run-time error messages only; it is no
// part of the graph's identity.
struct ScalarNodeOrigin {
  std::string label;                       // "Elemwise{mul} (created at f.py:3)"
  std::vector<std::string> operand_names;  // the display names of its inputs
};

struct ScalarGraph {
  std::vector<DType> inputs;  // the dtype each tensor input must have
  std::vector<ScalarConstant> constants;
  std::vector<ScalarNode> nodes;          // each after the nodes it reads
  std::vector<int> outputs;               // distinct node indices
  std::vector<ScalarNodeOrigin> origins;  // empty, or one per node

  // ValueError when an operand refers forward or out of range, an arity is
  // wrong, an output repeats, or a constant is not 0-d.
  void check() const;
  // The DAG as expressions: "tanh(add(mul(i0, i1), i2))"; a node read more
  // than once is written once as a binding: "t0=exp(i0); add(t0, i1), t0".
  // `inputs_seen`, when given, receives the inputs in the order the text first
  // names them.
  std::string str(std::vector<int>* inputs_seen = nullptr) const;
  // Same inputs, constants, nodes and outputs (origins aside).
  bool same(const ScalarGraph& other) const;
  // The static output types for inputs of these types: TypeError for an input
  // of another dtype, ShapeError for shapes that do not broadcast.
  std::vector<TensorType> infer_types(const std::vector<TensorType>& input_types) const;
  // True when output `output` may be written over input `input`'s buffer as it
  // is computed: no node evaluated after it reads that input (the buffer must
  // also have the output's dtype and shape).
  bool may_overwrite(int output, int input) const;
  // The reference evaluation; `input_names` (one per input, or empty) name the
  // inputs in error messages. Output i is written into `into[i]` when that is
  // defined, fits (dtype, shape, contiguous) and no node evaluated after it
  // reads an input sharing its memory; it is allocated otherwise.
  std::vector<NDArray> evaluate(const std::vector<NDArray>& inputs,
                                const std::vector<std::string>& input_names = {},
                                const std::vector<NDArray>& into = {}) const;
};

// Several elementwise ops as one node: one output per graph output.
class FusedElemwise : public Op {
 public:
  explicit FusedElemwise(ScalarGraph graph);
  const ScalarGraph& graph() const { return graph_; }

  std::string name() const override { return name_; }  // "Fused{tanh(add(i0, i1))}"
  std::vector<int> overwritable_inputs(const Apply& node) const override {
    std::vector<int> all(node.inputs.size());
    for (size_t k = 0; k < all.size(); ++k) all[k] = static_cast<int>(k);
    return all;
  }
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  bool perform_into(const Apply& node, const std::vector<NDArray>& inputs,
                    std::vector<NDArray>& out) const override;
  bool equals(const Op& other) const override;
  size_t hash() const override { return hash_; }

 private:
  ScalarGraph graph_;
  std::string name_;
  size_t hash_;
};

// A reduction of an elementwise chain: reduce(prologue(inputs)) without the
// chain's result as a tensor of its own. The prologue has one output.
class FusedReduce : public Op {
 public:
  FusedReduce(ScalarGraph prologue, std::shared_ptr<const Reduce> reduce);
  const ScalarGraph& prologue() const { return prologue_; }
  const Reduce& reduce() const { return *reduce_; }

  // "FusedReduce{Sum{axis=(1,), keepdims=False}(exp(sub(i0, i1)))}"
  std::string name() const override { return name_; }
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  bool equals(const Op& other) const override;
  size_t hash() const override { return hash_; }

 private:
  ScalarGraph prologue_;
  std::shared_ptr<const Reduce> reduce_;
  std::string name_;
  size_t hash_;
};

// Applies a fused op to `inputs` (type inference included).
std::vector<Var> fused_elemwise(ScalarGraph graph, const std::vector<Var>& inputs,
                                const SourceLoc& loc = SourceLoc());
Var fused_reduce(ScalarGraph prologue, std::shared_ptr<const Reduce> reduce,
                 const std::vector<Var>& inputs, const SourceLoc& loc = SourceLoc());

}  // namespace theanine
