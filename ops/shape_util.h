#pragma once
// Checks shared by the shape and indexing ops (internal to ops/).
#include <string>
#include <vector>

#include "graph/variable.h"
#include "runtime/dtype.h"
#include "runtime/error.h"
#include "runtime/ndarray.h"

namespace theanine::shape_util {

inline void require_var(const Var& v, const std::string& what) {
  if (!v) throw ValueError(what + " is null");
}

// Shapes, indices and repeat counts are integers: bool and float are refused.
inline bool is_index_dtype(DType d) { return is_integer(d); }

inline void require_int_scalar(const Var& v, const std::string& what) {
  if (v.ndim() != 0)
    throw TypeError(what + " must be an integer scalar, got " + v->describe());
  if (!is_index_dtype(v.dtype()))
    throw TypeError(what + " must be an integer scalar, got dtype " +
                    dtype_name(v.dtype()) + " (" + v->describe() + ")");
}

// A requested shape as the user wrote it: -1 stays -1 (shape_str would print '?').
inline std::string requested_shape_str(const std::vector<int64_t>& s) {
  std::string r = "(";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) r += ", ";
    r += std::to_string(s[i]);
  }
  return r + (s.size() == 1 ? ",)" : ")");
}

// The values of an integer vector or scalar array, read as int64.
inline std::vector<int64_t> int_values(const NDArray& a) {
  std::vector<int64_t> r(a.size());
  for (int64_t i = 0; i < a.size(); ++i) r[i] = a.item_int(i);
  return r;
}

// x's shape as int64 scalars: constants where x's dims are known statically,
// Shape_i nodes elsewhere, so shapes built from them keep what is known
// (gradient rules use them to give gradients their input's static shape).
// Defined in alloc.cc.
std::vector<Var> shape_scalars(const Var& x, const Here& loc = Here::current());
// The same as an int64 vector (a make_vector), for reshape.
Var shape_vector(const Var& x, const Here& loc = Here::current());

}  // namespace theanine::shape_util
