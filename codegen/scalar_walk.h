#pragma once
// The walk both emitters make over a kernel body: nodes in order, each
// operand reaching the op's compute type as the reference Elemwise kernel reads
// it — straight from its own dtype (an int8 operand compared with the literal
// 1000 sees 1000), floats rounded to the operand dtype first when the op
// computes in float, and switch's condition as a truth value. Writing this rule
// once keeps the LLVM and CUDA kernels computing what the reference computes.
#include <string>
#include <vector>

#include "ops/fused_elemwise.h"
#include "ops/scalar_op_table.h"

namespace theanine {

// `e` spells values: e.cast(v, from, to) (stored dtype to stored dtype),
// e.to_compute(v, dtype) (to the integer compute type) and e.literal(constant).
// emit_node(n, node, op, args) spells node n from its converted operands and
// returns its value in the node's output dtype. Returns every node's value.
template <class Spelling, class EmitNode>
std::vector<std::string> spell_scalar_graph(const ScalarGraph& g,
                                            const std::vector<std::string>& inputs,
                                            Spelling& e, EmitNode&& emit_node) {
  std::vector<std::string> node_val(g.nodes.size());
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    const ScalarNode& node = g.nodes[n];
    const ScalarOp& sop = scalar_op(node.op);
    const DType operand = node.dtypes.operand;
    std::vector<std::string> args;
    for (size_t a = 0; a < node.args.size(); ++a) {
      const ScalarRef& r = node.args[a];
      DType dt;
      std::string v;
      switch (r.kind) {
        case ScalarRef::Kind::Input:
          dt = g.inputs[r.index];
          v = inputs[r.index];
          break;
        case ScalarRef::Kind::Node:
          dt = g.nodes[r.index].dtypes.output;
          v = node_val[r.index];
          break;
        default:
          dt = g.constants[r.index].value.dtype();
          v = e.literal(g.constants[r.index]);
      }
      if (sop.rule == TypeRule::kBranches && a == 0) {
        v = e.cast(v, dt, DType::Bool);
        dt = DType::Bool;
      }
      args.push_back(is_float(operand) ? e.cast(v, dt, operand) : e.to_compute(v, dt));
    }
    node_val[n] = emit_node(n, node, sop, args);
  }
  return node_val;
}

}  // namespace theanine
