#include "ops/reduce_axes.h"

#include <algorithm>

#include "ops/elemwise.h"
#include "ops/op_util.h"
#include "ops/shape_ops.h"
#include "runtime/error.h"

namespace theanine::detail {

std::vector<int> resolve_axes(const std::optional<std::vector<int>>& axes, int ndim,
                              const std::string& what) {
  std::vector<int> r;
  if (!axes) {
    for (int d = 0; d < ndim; ++d) r.push_back(d);
    return r;
  }
  for (int a : *axes) {
    int n = normalize_axis(a, ndim, what);
    if (std::find(r.begin(), r.end(), n) != r.end())
      throw ValueError(what + ": duplicate value in 'axis': axis " + std::to_string(a) +
                       " appears twice (as axis " + std::to_string(n) +
                       ") for a tensor of ndim " + std::to_string(ndim));
    r.push_back(n);
  }
  std::sort(r.begin(), r.end());
  return r;
}

std::optional<std::vector<int>> canonical_axes(
    const std::optional<std::vector<int>>& axes, int ndim) {
  if (!axes) return std::nullopt;
  std::vector<int> r;
  try {
    r = resolve_axes(axes, ndim, "");
  } catch (const Error&) {
    return axes;
  }
  if (static_cast<int>(r.size()) == ndim) return std::nullopt;
  return r;
}

Shape reduced_shape(const Shape& shape, const std::vector<int>& axes, bool keepdims) {
  Shape out;
  for (int d = 0; d < static_cast<int>(shape.size()); ++d) {
    bool reduced = std::find(axes.begin(), axes.end(), d) != axes.end();
    if (!reduced)
      out.push_back(shape[d]);
    else if (keepdims)
      out.push_back(1);
  }
  return out;
}

int64_t reduced_count(const Shape& shape, const std::vector<int>& axes) {
  int64_t n = 1;
  bool unknown = false;
  for (int a : axes) {
    if (shape[a] < 0)
      unknown = true;
    else
      n *= shape[a];
  }
  // A known zero dim makes the count zero whatever the unknown ones are.
  if (n == 0) return 0;
  return unknown ? -1 : n;
}

std::vector<Var> dim_vars(const Var& x) {
  std::vector<Var> r;
  for (int d = 0; d < x.ndim(); ++d) {
    const int64_t s = x.type().shape[d];
    r.push_back(s >= 0 ? scalar_constant(static_cast<double>(s), DType::Int64)
                       : shape_i(x, d));
  }
  return r;
}

Var reduced_count_var(const Var& x, const std::vector<int>& axes, DType dtype) {
  const int64_t known = reduced_count(x.type().shape, axes);
  if (known >= 0) return scalar_constant(static_cast<double>(known), dtype);
  const std::vector<Var> dims = dim_vars(x);
  Var n;
  for (int a : axes) n = n ? mul(n, dims[a]) : dims[a];
  return cast(n, dtype);
}

Var with_reduced_dims(const Var& g, const std::vector<int>& axes, int ndim,
                      bool keepdims) {
  if (keepdims || axes.empty()) return g;
  std::vector<int> pattern;
  int next = 0;
  for (int d = 0; d < ndim; ++d) {
    const bool reduced = std::find(axes.begin(), axes.end(), d) != axes.end();
    pattern.push_back(reduced ? -1 : next++);
  }
  return dimshuffle(g, pattern);
}

std::string axes_str(const std::optional<std::vector<int>>& axes) {
  if (!axes) return "None";
  std::string s = "(";
  for (size_t i = 0; i < axes->size(); ++i) {
    if (i) s += ", ";
    s += std::to_string((*axes)[i]);
  }
  if (axes->size() == 1) s += ",";
  return s + ")";
}

}  // namespace theanine::detail
