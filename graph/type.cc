#include "graph/type.h"

#include <algorithm>

#include "runtime/error.h"

namespace theanine {

TensorType TensorType::from_broadcastable(DType d, const std::vector<bool>& bcast) {
  Shape s;
  for (bool b : bcast) s.push_back(b ? 1 : -1);
  return {d, s};
}

std::vector<bool> TensorType::broadcastable() const {
  std::vector<bool> b;
  for (int64_t d : shape) b.push_back(d == 1);
  return b;
}

bool TensorType::shape_known() const {
  return std::all_of(shape.begin(), shape.end(), [](int64_t d) { return d >= 0; });
}

bool TensorType::compatible(const TensorType& o) const {
  if (dtype != o.dtype || ndim() != o.ndim()) return false;
  for (int i = 0; i < ndim(); ++i)
    if (shape[i] >= 0 && o.shape[i] >= 0 && shape[i] != o.shape[i]) return false;
  return true;
}

std::string TensorType::mismatch(const NDArray& v) const {
  if (v.dtype() != dtype)
    return std::string("dtype ") + dtype_name(v.dtype()) + " where " + dtype_name(dtype) +
           " is expected";
  if (v.ndim() != ndim())
    return "ndim " + std::to_string(v.ndim()) + " (shape " + shape_str(v.shape()) +
           ") where ndim " + std::to_string(ndim()) + " is expected";
  for (int i = 0; i < ndim(); ++i)
    if (shape[i] >= 0 && shape[i] != v.shape(i))
      return "shape " + shape_str(v.shape()) + " where " + shape_str(shape) +
             " is expected (dim " + std::to_string(i) + ")";
  return "";
}

bool TensorType::accepts(const NDArray& v) const { return mismatch(v).empty(); }

std::string TensorType::str() const {
  return std::string(dtype_name(dtype)) + shape_str(shape);
}

Shape broadcast_shapes(const std::vector<Shape>& shapes) {
  size_t nd = 0;
  for (auto& s : shapes) nd = std::max(nd, s.size());
  Shape out(nd, 1);
  std::vector<bool> unknown(nd, false);
  for (auto& s : shapes) {
    size_t lead = nd - s.size();
    for (size_t i = 0; i < s.size(); ++i) {
      int64_t d = s[i], &o = out[lead + i];
      if (d == 1) continue;
      if (d < 0) {
        if (o == 1) unknown[lead + i] = true;
        continue;
      }
      if (o != 1 && o != d) {
        std::string msg = "shapes do not broadcast:";
        for (auto& t : shapes) msg += " " + shape_str(t);
        throw ShapeError(msg);
      }
      o = d;
    }
  }
  for (size_t i = 0; i < nd; ++i)
    if (unknown[i] && out[i] == 1) out[i] = -1;
  return out;
}

}  // namespace theanine
