#include "ops/op_util.h"

#include "runtime/error.h"

namespace theanine {

int normalize_axis(int axis, int ndim, const std::string& what) {
  int a = axis < 0 ? axis + ndim : axis;
  if (a < 0 || a >= ndim)
    throw IndexError(what + ": axis " + std::to_string(axis) +
                     " is out of bounds for a tensor of ndim " + std::to_string(ndim));
  return a;
}

std::optional<NDArray> constant_value(const Var& v) {
  if (v && v->is_constant()) return v->constant_value;
  return std::nullopt;
}

std::optional<int64_t> constant_int(const Var& v) {
  if (v && v->is_constant() && v->type.ndim() == 0 && !is_float(v->type.dtype))
    return v->constant_value.item_int();
  return std::nullopt;
}

namespace {
int kind_rank(DType d) { return is_bool(d) ? 0 : is_float(d) ? 2 : 1; }
}  // namespace

DType result_dtype(const std::vector<Var>& inputs) {
  bool have_strong = false;
  DType strong = DType::Bool;
  for (const Var& v : inputs) {
    if (v->weak) continue;
    strong = have_strong ? promote(strong, v->type.dtype) : v->type.dtype;
    have_strong = true;
  }
  DType result = strong;
  for (const Var& v : inputs) {
    if (!v->weak) continue;
    DType w = v->type.dtype;
    if (!have_strong) {
      result = w;
      have_strong = true;
    } else if (kind_rank(w) > kind_rank(result)) {
      result = is_float(w) ? (kind_rank(result) == 1 ? DType::Float64 : w) : DType::Int64;
      if (is_float(w) && kind_rank(strong) == 0) result = w;
    }
  }
  return result;
}

Var scalar_literal(double value, bool is_integer, const Here& loc) {
  DType d = is_integer ? DType::Int64 : DType::Float64;
  return make_constant(NDArray::scalar(d, value), "", /*weak=*/true, loc);
}

Var scalar_constant(double value, DType dtype, const Here& loc) {
  return make_constant(NDArray::scalar(dtype, value), "", false, loc);
}

Var int_vector_constant(const std::vector<int64_t>& values, const Here& loc) {
  return make_constant(
      NDArray::from_vector(values, {static_cast<int64_t>(values.size())}), "", false,
      loc);
}

}  // namespace theanine
