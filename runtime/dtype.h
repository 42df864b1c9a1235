#pragma once
// Element types and NumPy's promotion rules between them.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace theanine {

enum class DType : uint8_t { Bool, Int8, Int16, Int32, Int64, UInt8, Float32, Float64 };

inline constexpr DType kAllDTypes[] = {DType::Bool,    DType::Int8,   DType::Int16,
                                       DType::Int32,   DType::Int64,  DType::UInt8,
                                       DType::Float32, DType::Float64};

size_t itemsize(DType d);
const char* dtype_name(DType d);
// Accepts NumPy spellings ("float32", "int64", "bool", "uint8") and Theano's
// short forms ("floatX" is resolved by the Python layer, not here).
DType dtype_from_name(std::string_view name);
bool dtype_from_name(std::string_view name, DType* out);

inline bool is_float(DType d) { return d == DType::Float32 || d == DType::Float64; }
inline bool is_bool(DType d) { return d == DType::Bool; }
inline bool is_integer(DType d) { return !is_float(d) && !is_bool(d); }
inline bool is_unsigned(DType d) { return d == DType::UInt8; }

// numpy.result_type for two array dtypes.
DType promote(DType a, DType b);
// True when every value of `from` is exactly representable in `to`.
bool can_cast_safely(DType from, DType to);

template <DType D>
struct CType;
template <>
struct CType<DType::Bool> {
  using type = bool;
};
template <>
struct CType<DType::Int8> {
  using type = int8_t;
};
template <>
struct CType<DType::Int16> {
  using type = int16_t;
};
template <>
struct CType<DType::Int32> {
  using type = int32_t;
};
template <>
struct CType<DType::Int64> {
  using type = int64_t;
};
template <>
struct CType<DType::UInt8> {
  using type = uint8_t;
};
template <>
struct CType<DType::Float32> {
  using type = float;
};
template <>
struct CType<DType::Float64> {
  using type = double;
};

template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<bool>() {
  return DType::Bool;
}
template <>
constexpr DType dtype_of<int8_t>() {
  return DType::Int8;
}
template <>
constexpr DType dtype_of<int16_t>() {
  return DType::Int16;
}
template <>
constexpr DType dtype_of<int32_t>() {
  return DType::Int32;
}
template <>
constexpr DType dtype_of<int64_t>() {
  return DType::Int64;
}
template <>
constexpr DType dtype_of<uint8_t>() {
  return DType::UInt8;
}
template <>
constexpr DType dtype_of<float>() {
  return DType::Float32;
}
template <>
constexpr DType dtype_of<double>() {
  return DType::Float64;
}

// Calls f(T{}) with T the C type of d: the one switch over dtypes that typed code
// is written through.
template <class F>
decltype(auto) dispatch_dtype(DType d, F&& f) {
  switch (d) {
    case DType::Bool:
      return f(bool{});
    case DType::Int8:
      return f(int8_t{});
    case DType::Int16:
      return f(int16_t{});
    case DType::Int32:
      return f(int32_t{});
    case DType::Int64:
      return f(int64_t{});
    case DType::UInt8:
      return f(uint8_t{});
    case DType::Float32:
      return f(float{});
    case DType::Float64:
      break;
  }
  return f(double{});
}

}  // namespace theanine
