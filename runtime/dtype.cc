#include "runtime/dtype.h"

#include "runtime/error.h"

namespace theanine {

size_t itemsize(DType d) {
  switch (d) {
    case DType::Bool:
    case DType::Int8:
    case DType::UInt8:
      return 1;
    case DType::Int16:
      return 2;
    case DType::Int32:
    case DType::Float32:
      return 4;
    case DType::Int64:
    case DType::Float64:
      return 8;
  }
  return 0;
}

const char* dtype_name(DType d) {
  switch (d) {
    case DType::Bool:
      return "bool";
    case DType::Int8:
      return "int8";
    case DType::Int16:
      return "int16";
    case DType::Int32:
      return "int32";
    case DType::Int64:
      return "int64";
    case DType::UInt8:
      return "uint8";
    case DType::Float32:
      return "float32";
    case DType::Float64:
      return "float64";
  }
  return "?";
}

bool dtype_from_name(std::string_view name, DType* out) {
  for (DType d : kAllDTypes) {
    if (name == dtype_name(d)) {
      *out = d;
      return true;
    }
  }
  return false;
}

DType dtype_from_name(std::string_view name) {
  DType d;
  if (!dtype_from_name(name, &d)) {
    throw TypeError("unknown dtype '" + std::string(name) +
                    "' (expected bool, int8, int16, int32, int64, uint8, float32 or "
                    "float64)");
  }
  return d;
}

namespace {
// Bits of integer precision a dtype holds (sign excluded), to decide which float
// can hold it: NumPy sends int8/int16/uint8 to float32 and wider ints to float64.
int int_bits(DType d) {
  switch (d) {
    case DType::Bool:
      return 1;
    case DType::Int8:
      return 7;
    case DType::UInt8:
      return 8;
    case DType::Int16:
      return 15;
    case DType::Int32:
      return 31;
    case DType::Int64:
      return 63;
    default:
      return 0;
  }
}
DType signed_int_of_size(size_t bytes) {
  switch (bytes) {
    case 1:
      return DType::Int8;
    case 2:
      return DType::Int16;
    case 4:
      return DType::Int32;
    default:
      return DType::Int64;
  }
}
}  // namespace

DType promote(DType a, DType b) {
  if (a == b) return a;
  if (is_bool(a)) return b;
  if (is_bool(b)) return a;
  if (is_float(a) || is_float(b)) {
    DType f = is_float(a) && is_float(b)
                  ? (a == DType::Float64 || b == DType::Float64 ? DType::Float64
                                                                : DType::Float32)
                  : (is_float(a) ? a : b);
    DType i = is_float(a) ? b : a;
    if (is_float(i)) return f;
    return int_bits(i) > 15 ? DType::Float64 : f;
  }
  // Both integers.
  bool ua = is_unsigned(a), ub = is_unsigned(b);
  if (ua == ub) return itemsize(a) >= itemsize(b) ? a : b;
  DType u = ua ? a : b, s = ua ? b : a;
  if (itemsize(s) > itemsize(u)) return s;
  return signed_int_of_size(itemsize(u) * 2);
}

bool can_cast_safely(DType from, DType to) { return promote(from, to) == to; }

}  // namespace theanine
