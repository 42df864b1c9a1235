#pragma once
// The scalar-op table (ARCHITECTURE decision 1): every elementwise op is defined
// once here, by its name, arity, dtype rule, reference evaluation and derivative.
// The Elemwise op, the interpreter, the gradient and (later) the LLVM and CUDA
// emitters all read this table, so adding an elementwise op is one entry in
// scalar_op_table.cc.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "graph/variable.h"
#include "runtime/dtype.h"

namespace theanine {

// How an op's output dtype follows from its inputs' common dtype (NumPy's
// result_type, weak literals applied).
enum class TypeRule : uint8_t {
  kUpcast,          // the common dtype (add, mul, maximum, abs, floor, ...)
  kUpcastNoBool,    // the same, but a bool result is a TypeError (sub, neg, sgn)
  kUpcastBoolInt8,  // the same, but bool computes as int8 (int_div, mod, pow, sqr)
  kFloat,           // floats keep their dtype; bool/int8/uint8/int16 -> float32,
                    // int32/int64 -> float64 (NumPy's float16 has no place here)
  kBool,            // bool, computed in the common dtype (comparisons, isnan)
  kIntOrBool,       // the common dtype, which must not be float (bitwise ops)
  kBranches,        // the common dtype of inputs 1.. (switch: input 0 is a condition)
  kCast,            // the op's dtype parameter
};

// A row kernel: out[i] = f(in[0][i], in[1][i], ...) for i < n. Operands arrive in
// the compute type: double when the operand dtype is a float, else int64 (ints
// and bool). `out` never aliases an input.
template <class T>
using RowFn = void (*)(const T* const* in, T* out, int64_t n);

// The derivative column: given an application's inputs, its output and the
// gradient of the cost with respect to that output, the gradient with respect to
// each input, one per input, built from the elementwise builders. Each is in the
// broadcast output shape (Elemwise::grad sums it back to its input's shape) or
// null where the input gets no gradient. Gradients computed for integer or bool
// inputs are dropped, so a rule need not test for them.
using DerivativeFn = std::vector<Var> (*)(const std::vector<Var>& inputs,
                                          const Var& output, const Var& gz);

struct ScalarOp {
  int id = 0;  // index in the table; stable within a build, not across versions
  const char* name = "";
  int arity = 0;
  TypeRule rule = TypeRule::kUpcast;
  // Reference evaluation; null where the rule never selects that compute type
  // (bitwise ops have no float evaluation).
  RowFn<double> eval_float = nullptr;
  RowFn<int64_t> eval_int = nullptr;
  // Null where the op is not differentiable (asking for its gradient is then an
  // error); ops with bool or integer outputs say so with a rule giving no
  // gradient, though the grad engine never asks them.
  DerivativeFn derivative = nullptr;
  // Used instead of eval_int when the operands are bool and the logical meaning
  // differs from the integer one (invert: not, rather than ~); null otherwise.
  RowFn<int64_t> eval_bool = nullptr;

  // Columns added by later work, one field each so that an op stays one entry:
  //  - llvm: how the LLVM emitter spells the op (intrinsic or IR snippet);
  //  - cuda: the CUDA C expression the NVRTC emitter writes.
};

// Every entry, in id order.
const std::vector<ScalarOp>& scalar_ops();
// The entry of a given id (ValueError if out of range).
const ScalarOp& scalar_op(int id);
// The entry of a given name, or null.
const ScalarOp* find_scalar_op(std::string_view name);
// The entry of a given name; ValueError listing the known names if none.
const ScalarOp& scalar_op(std::string_view name);

// The dtypes an elementwise application works in: every operand is converted to
// `operand` (then to double or int64) before the evaluation, and the result is
// converted to `output`.
struct ElemwiseDTypes {
  DType operand;
  DType output;
};
// Applies op.rule. `common` is NumPy's result dtype of the inputs (of inputs 1..
// for kBranches, of the input for kCast); `cast_to` is kCast's parameter.
// TypeError naming the op and dtype when the rule rejects it.
ElemwiseDTypes resolve_dtypes(const ScalarOp& op, DType common,
                              std::optional<DType> cast_to = std::nullopt);

// True when operands of dtype d are computed in double (else in int64).
inline bool computes_in_float(DType operand) { return is_float(operand); }

}  // namespace theanine
