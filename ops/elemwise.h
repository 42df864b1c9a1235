#pragma once
// Elemwise: one scalar op (ops/scalar_op_table.h) applied over broadcast tensors,
// and the builders users call (add, exp, switch_, cast, ...).
#include <optional>
#include <string>
#include <vector>

#include "graph/op.h"
#include "graph/variable.h"
#include "ops/scalar_op_table.h"

namespace theanine {

class Elemwise : public Op {
 public:
  // `cast_to` is the target dtype of the cast op and must be absent for others.
  explicit Elemwise(int scalar_op_id, std::optional<DType> cast_to = std::nullopt);

  const ScalarOp& scalar_op() const { return *scalar_op_; }
  std::optional<DType> cast_to() const { return cast_to_; }
  // The operand and output dtypes for these inputs (the type rule applied).
  ElemwiseDTypes dtypes(const std::vector<Var>& inputs) const;

  std::string name() const override;  // "Elemwise{add}", "Elemwise{cast{float32}}"
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
  // The table's derivative column, each gradient summed back over the dims
  // along which its input was broadcast.
  std::vector<Var> grad(const Apply& node,
                        const std::vector<Var>& output_grads) const override;

 private:
  const ScalarOp* scalar_op_;
  std::optional<DType> cast_to_;
};

// Evaluates `op` over `inputs` (any strides, broadcast against each other) into a
// new contiguous array of dtype `types.output`: the reference kernel, usable
// without a graph (constant folding, tests). ShapeError if the shapes do not
// broadcast; `what`, when given, prefixes error messages. The result goes into
// `into` instead when it has the result's dtype and shape, is contiguous, and
// overlaps no input except one laid out exactly as it is (inplace).
NDArray elemwise_eval(const ScalarOp& op, const ElemwiseDTypes& types,
                      const std::vector<NDArray>& inputs, const std::string& what = "",
                      const NDArray& into = NDArray());

// Applies the table entry called `op_name` to `inputs`; ValueError for an unknown
// name or a wrong number of inputs (and for "cast", which needs a dtype).
Var elemwise(const std::string& op_name, const std::vector<Var>& inputs,
             const Here& loc = Here::current());

Var add(const Var& a, const Var& b, const Here& loc = Here::current());
Var sub(const Var& a, const Var& b, const Here& loc = Here::current());
Var mul(const Var& a, const Var& b, const Here& loc = Here::current());
Var true_div(const Var& a, const Var& b, const Here& loc = Here::current());
// Floor division (NumPy's //).
Var int_div(const Var& a, const Var& b, const Here& loc = Here::current());
// Remainder with the divisor's sign (NumPy's %).
Var mod(const Var& a, const Var& b, const Here& loc = Here::current());
Var pow(const Var& a, const Var& b, const Here& loc = Here::current());
Var neg(const Var& x, const Here& loc = Here::current());
Var abs(const Var& x, const Here& loc = Here::current());
Var sgn(const Var& x, const Here& loc = Here::current());
Var exp(const Var& x, const Here& loc = Here::current());
Var log(const Var& x, const Here& loc = Here::current());
Var log1p(const Var& x, const Here& loc = Here::current());
Var expm1(const Var& x, const Here& loc = Here::current());
Var sqrt(const Var& x, const Here& loc = Here::current());
Var sqr(const Var& x, const Here& loc = Here::current());
Var tanh(const Var& x, const Here& loc = Here::current());
Var sigmoid(const Var& x, const Here& loc = Here::current());
Var softplus(const Var& x, const Here& loc = Here::current());
Var sin(const Var& x, const Here& loc = Here::current());
Var cos(const Var& x, const Here& loc = Here::current());
Var maximum(const Var& a, const Var& b, const Here& loc = Here::current());
Var minimum(const Var& a, const Var& b, const Here& loc = Here::current());
Var clip(const Var& x, const Var& lo, const Var& hi, const Here& loc = Here::current());
// Half to even, as numpy.round.
Var round(const Var& x, const Here& loc = Here::current());
Var floor(const Var& x, const Here& loc = Here::current());
Var ceil(const Var& x, const Here& loc = Here::current());
Var eq(const Var& a, const Var& b, const Here& loc = Here::current());
Var neq(const Var& a, const Var& b, const Here& loc = Here::current());
Var lt(const Var& a, const Var& b, const Here& loc = Here::current());
Var le(const Var& a, const Var& b, const Here& loc = Here::current());
Var gt(const Var& a, const Var& b, const Here& loc = Here::current());
Var ge(const Var& a, const Var& b, const Here& loc = Here::current());
// Bitwise on integers, logical on bool; TypeError on floats.
Var and_(const Var& a, const Var& b, const Here& loc = Here::current());
Var or_(const Var& a, const Var& b, const Here& loc = Here::current());
Var xor_(const Var& a, const Var& b, const Here& loc = Here::current());
Var invert(const Var& x, const Here& loc = Here::current());
// cond ? a : b elementwise; cond is read as bool (nonzero is true).
Var switch_(const Var& cond, const Var& a, const Var& b,
            const Here& loc = Here::current());
// x converted to dtype (x itself when it already has that dtype, as in Theano).
Var cast(const Var& x, DType dtype, const Here& loc = Here::current());
Var isnan(const Var& x, const Here& loc = Here::current());
Var isinf(const Var& x, const Here& loc = Here::current());

}  // namespace theanine
