#pragma once
// C++ operators on Vars: x * y, x * 2.0, 1 - x, -x, x < y, ~m, ... Number
// literals become weak literals (they take the dtype of the tensor they meet, as
// in NumPy). == and != are not overloaded: they stay identity, as in Theano; use
// eq() / neq() for the elementwise comparison.
#include <type_traits>

#include "ops/elemwise.h"
#include "ops/op_util.h"

namespace theanine {

template <class T>
concept LiteralNumber = std::is_arithmetic_v<T>;

// One side of an operator. The implicit constructors take the location as a
// default argument, which is evaluated where the conversion happens: in the
// user's expression, so the node records the user's line.
struct Operand {
  Var var;
  Here loc;

  Operand(const Var& v, const Here& l = Here::current())  // NOLINT: implicit by design
      : var(v), loc(l) {}
  template <LiteralNumber T>
  Operand(T v, const Here& l = Here::current())  // NOLINT: implicit by design
      : var(literal(v, l)), loc(l) {}

 private:
  template <class T>
  static Var literal(T v, const Here& l) {
    if constexpr (std::is_same_v<T, bool>)
      return make_constant(NDArray::scalar(DType::Bool, v), "", /*weak=*/true, l);
    else
      return scalar_literal(static_cast<double>(v), std::is_integral_v<T>, l);
  }
};

inline Var operator+(const Operand& a, const Operand& b) {
  return add(a.var, b.var, a.loc);
}
inline Var operator-(const Operand& a, const Operand& b) {
  return sub(a.var, b.var, a.loc);
}
inline Var operator*(const Operand& a, const Operand& b) {
  return mul(a.var, b.var, a.loc);
}
inline Var operator/(const Operand& a, const Operand& b) {
  return true_div(a.var, b.var, a.loc);
}
inline Var operator%(const Operand& a, const Operand& b) {
  return mod(a.var, b.var, a.loc);
}
inline Var operator<(const Operand& a, const Operand& b) {
  return lt(a.var, b.var, a.loc);
}
inline Var operator<=(const Operand& a, const Operand& b) {
  return le(a.var, b.var, a.loc);
}
inline Var operator>(const Operand& a, const Operand& b) {
  return gt(a.var, b.var, a.loc);
}
inline Var operator>=(const Operand& a, const Operand& b) {
  return ge(a.var, b.var, a.loc);
}
inline Var operator&(const Operand& a, const Operand& b) {
  return and_(a.var, b.var, a.loc);
}
inline Var operator|(const Operand& a, const Operand& b) {
  return or_(a.var, b.var, a.loc);
}
inline Var operator^(const Operand& a, const Operand& b) {
  return xor_(a.var, b.var, a.loc);
}
inline Var operator-(const Operand& x) { return neg(x.var, x.loc); }
inline Var operator~(const Operand& x) { return invert(x.var, x.loc); }

}  // namespace theanine
