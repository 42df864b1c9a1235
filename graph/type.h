#pragma once
// TensorType: dtype, ndim and what is known statically of the shape. A dim of -1
// is unknown; Theano's `broadcastable` pattern is the dims known to be 1.
#include <string>
#include <vector>

#include "runtime/dtype.h"
#include "runtime/ndarray.h"

namespace theanine {

struct TensorType {
  DType dtype = DType::Float32;
  Shape shape;  // -1 = unknown

  TensorType() = default;
  TensorType(DType d, Shape s) : dtype(d), shape(std::move(s)) {}
  static TensorType unknown_shape(DType d, int ndim) { return {d, Shape(ndim, -1)}; }
  static TensorType from_broadcastable(DType d, const std::vector<bool>& bcast);

  int ndim() const { return static_cast<int>(shape.size()); }
  std::vector<bool> broadcastable() const;
  bool shape_known() const;
  bool operator==(const TensorType& o) const {
    return dtype == o.dtype && shape == o.shape;
  }
  bool operator!=(const TensorType& o) const { return !(*this == o); }
  // Same dtype and ndim, and no dim known to differ: a value of one may stand
  // for the other (givens, updates).
  bool compatible(const TensorType& o) const;
  // True when `value` is a legal value of this type (dtype, ndim, known dims).
  bool accepts(const NDArray& value) const;
  // Explains why `value` is not accepted ("" when it is).
  std::string mismatch(const NDArray& value) const;
  std::string str() const;  // "float32(?, 10)"
};

// NumPy broadcasting of static shapes; throws ShapeError naming both shapes when
// two known dims differ and neither is 1.
Shape broadcast_shapes(const std::vector<Shape>& shapes);

}  // namespace theanine
