#pragma once
// Axis bookkeeping shared by the reduction ops.
#include <optional>
#include <string>
#include <vector>

#include "graph/variable.h"
#include "runtime/ndarray.h"

namespace theanine::detail {

// The axes a reduction runs over, normalized and sorted; every axis when
// `axes` is nullopt. IndexError names an out-of-range axis and the ndim,
// ValueError a duplicated one. `what` names the op in messages.
std::vector<int> resolve_axes(const std::optional<std::vector<int>>& axes, int ndim,
                              const std::string& what);

// The form a reduction op stores, so equal reductions merge: normalized and
// sorted axes, or nullopt when they cover every axis. Axes that do not resolve
// are kept as given, so that infer_types reports them with the user's line.
std::optional<std::vector<int>> canonical_axes(
    const std::optional<std::vector<int>>& axes, int ndim);

// `shape` with `axes` (sorted, normalized) removed, or set to 1 with keepdims.
Shape reduced_shape(const Shape& shape, const std::vector<int>& axes, bool keepdims);

// The number of elements each output element reduces (a static dim of -1 makes
// it -1).
int64_t reduced_count(const Shape& shape, const std::vector<int>& axes);

// ---- for the gradient rules ----

// x's dims as int64 scalars: constants where the static shape knows them, so
// that what is built from them keeps x's static shape.
std::vector<Var> dim_vars(const Var& x);
// The number of elements each output of a reduction of x over `axes` folds, as
// a scalar of dtype `dtype`.
Var reduced_count_var(const Var& x, const std::vector<int>& axes, DType dtype);
// A reduction's output (or its gradient) `g` with the reduced `axes` of an
// input of ndim `ndim` present as dims of 1, so that it broadcasts against the
// input: a dimshuffle when the reduction dropped them, g itself with keepdims.
Var with_reduced_dims(const Var& g, const std::vector<int>& axes, int ndim,
                      bool keepdims);

// "(0, 2)" or "None", for op names.
std::string axes_str(const std::optional<std::vector<int>>& axes);

}  // namespace theanine::detail
