#pragma once
// Axis bookkeeping shared by the reduction ops.
#include <optional>
#include <string>
#include <vector>

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

// "(0, 2)" or "None", for op names.
std::string axes_str(const std::optional<std::vector<int>>& axes);

}  // namespace theanine::detail
