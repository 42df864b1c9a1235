#pragma once
// Small helpers shared by the concrete ops.
#include <optional>
#include <string>
#include <vector>

#include "graph/op.h"
#include "graph/variable.h"

namespace theanine {

// Maps a possibly negative axis into [0, ndim); IndexError naming `what` if out
// of range.
int normalize_axis(int axis, int ndim, const std::string& what);

// The value of a constant variable, if `v` is one.
std::optional<NDArray> constant_value(const Var& v);
// The value of a constant integer scalar, if `v` is one.
std::optional<int64_t> constant_int(const Var& v);

// NumPy's result dtype for an elementwise op over `inputs`, where weak scalar
// constants (from Python or C++ number literals) adopt the dtype of the tensors
// they meet unless they are of a higher kind (bool < int < float): an int
// literal with a bool tensor gives int64, a float literal with an int tensor
// gives float64 (NEP 50).
DType result_dtype(const std::vector<Var>& inputs);

// A weak scalar constant (what a number literal in user code becomes).
Var scalar_literal(double value, bool is_integer, const Here& loc = Here::current());
// A (strong) 0-d constant of a given dtype.
Var scalar_constant(double value, DType dtype, const Here& loc = Here::current());
// A (strong) int64 vector constant, for shapes and axes.
Var int_vector_constant(const std::vector<int64_t>& values,
                        const Here& loc = Here::current());

// `a` in dtype d and C-contiguous, without a copy when it already is: the
// operand form of the C++ kernels (conv, pooling) that compute in float or double.
inline NDArray as_compute(const NDArray& a, DType d) {
  return a.dtype() == d ? a.contiguous() : a.astype(d);
}

// Runs f(T{}) with T the C++ type of the float dtype d (float32 or float64).
template <class F>
void dispatch_float(DType d, F&& f) {
  if (d == DType::Float32)
    f(float{});
  else
    f(double{});
}

}  // namespace theanine
