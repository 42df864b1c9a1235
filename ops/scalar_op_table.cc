#include "ops/scalar_op_table.h"

#include <cmath>
#include <limits>

#include "ops/elemwise.h"
#include "ops/op_util.h"
#include "ops/operators.h"
#include "ops/shape_ops.h"
#include "runtime/error.h"

namespace theanine {

namespace {

// ---- Float evaluations (double math; float32 results are rounded on store).

double f_add(double a, double b) { return a + b; }
double f_sub(double a, double b) { return a - b; }
double f_mul(double a, double b) { return a * b; }
double f_true_div(double a, double b) { return a / b; }

// NumPy's npy_divmod: Python's sign convention, with the quotient snapped to the
// integer nearest (a - mod) / b so that a == b * div + mod holds closely.
double f_divmod(double a, double b, double* modulus) {
  double mod = std::fmod(a, b);
  if (b == 0) {
    *modulus = mod;
    return a / b;
  }
  double div = (a - mod) / b;
  if (mod != 0) {
    if ((b < 0) != (mod < 0)) {
      mod += b;
      div -= 1.0;
    }
  } else {
    mod = std::copysign(0.0, b);
  }
  double floordiv;
  if (div != 0) {
    floordiv = std::floor(div);
    if (div - floordiv > 0.5) floordiv += 1.0;
  } else {
    floordiv = std::copysign(0.0, a / b);
  }
  *modulus = mod;
  return floordiv;
}
double f_int_div(double a, double b) {
  double mod;
  if (std::isnan(a) || std::isnan(b)) return a + b;
  return f_divmod(a, b, &mod);
}
double f_mod(double a, double b) {
  double mod;
  if (std::isnan(a) || std::isnan(b)) return a + b;
  f_divmod(a, b, &mod);
  return mod;
}
double f_pow(double a, double b) { return std::pow(a, b); }
double f_neg(double a) { return -a; }
double f_abs(double a) { return std::fabs(a); }
double f_sgn(double a) { return a > 0 ? 1.0 : a < 0 ? -1.0 : a; }  // NaN and 0 stay
double f_exp(double a) { return std::exp(a); }
double f_log(double a) { return std::log(a); }
double f_log1p(double a) { return std::log1p(a); }
double f_expm1(double a) { return std::expm1(a); }
double f_sqrt(double a) { return std::sqrt(a); }
double f_sqr(double a) { return a * a; }
double f_tanh(double a) { return std::tanh(a); }
// exp of a non-positive argument only, so neither branch overflows.
double f_sigmoid(double a) {
  if (a >= 0) return 1.0 / (1.0 + std::exp(-a));
  double e = std::exp(a);
  return e / (1.0 + e);
}
// log(1 + exp(a)) = max(a, 0) + log1p(exp(-|a|)): no overflow for large a, and
// log1p keeps the tiny values of very negative a.
double f_softplus(double a) {
  if (std::isnan(a)) return a;
  return (a > 0 ? a : 0.0) + std::log1p(std::exp(-std::fabs(a)));
}
double f_sin(double a) { return std::sin(a); }
double f_cos(double a) { return std::cos(a); }
// NaN-propagating, as numpy.maximum / numpy.minimum.
double f_maximum(double a, double b) { return (a >= b || std::isnan(a)) ? a : b; }
double f_minimum(double a, double b) { return (a <= b || std::isnan(a)) ? a : b; }
double f_clip(double x, double lo, double hi) { return f_minimum(f_maximum(x, lo), hi); }
// nearbyint rounds half to even in the default rounding mode, as numpy.round.
double f_round(double a) { return std::nearbyint(a); }
double f_floor(double a) { return std::floor(a); }
double f_ceil(double a) { return std::ceil(a); }
double f_eq(double a, double b) { return a == b; }
double f_neq(double a, double b) { return a != b; }
double f_lt(double a, double b) { return a < b; }
double f_le(double a, double b) { return a <= b; }
double f_gt(double a, double b) { return a > b; }
double f_ge(double a, double b) { return a >= b; }
// The condition arrives already converted to bool (0 or 1).
double f_switch(double c, double a, double b) { return c != 0 ? a : b; }
double f_identity(double a) { return a; }
double f_isnan(double a) { return std::isnan(a); }
double f_isinf(double a) { return std::isinf(a); }

// ---- Integer/bool evaluations (int64 math; results wrap on store like NumPy).
// Arithmetic goes through uint64 so that overflow wraps instead of being UB.

using u64 = uint64_t;
constexpr int64_t kMin64 = std::numeric_limits<int64_t>::min();

int64_t i_add(int64_t a, int64_t b) { return static_cast<int64_t>(u64(a) + u64(b)); }
int64_t i_sub(int64_t a, int64_t b) { return static_cast<int64_t>(u64(a) - u64(b)); }
int64_t i_mul(int64_t a, int64_t b) { return static_cast<int64_t>(u64(a) * u64(b)); }
// Floor division; x // 0 is 0 as NumPy gives (with a warning NumPy-side).
int64_t i_int_div(int64_t a, int64_t b) {
  if (b == 0) return 0;
  if (b == -1) return static_cast<int64_t>(u64(0) - u64(a));  // MIN // -1 wraps
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}
// Remainder with the sign of the divisor; x % 0 is 0.
int64_t i_mod(int64_t a, int64_t b) {
  if (b == 0 || b == -1) return 0;
  int64_t r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}
int64_t i_pow(int64_t a, int64_t b) {
  if (b < 0) throw ValueError("Integers to negative integer powers are not allowed");
  u64 result = 1, base = u64(a);
  for (u64 e = u64(b); e; e >>= 1) {
    if (e & 1) result *= base;
    base *= base;
  }
  return static_cast<int64_t>(result);
}
int64_t i_neg(int64_t a) { return static_cast<int64_t>(u64(0) - u64(a)); }
int64_t i_abs(int64_t a) { return a < 0 && a != kMin64 ? -a : a; }
int64_t i_sgn(int64_t a) { return (a > 0) - (a < 0); }
int64_t i_sqr(int64_t a) { return i_mul(a, a); }
int64_t i_maximum(int64_t a, int64_t b) { return a >= b ? a : b; }
int64_t i_minimum(int64_t a, int64_t b) { return a <= b ? a : b; }
int64_t i_clip(int64_t x, int64_t lo, int64_t hi) {
  return i_minimum(i_maximum(x, lo), hi);
}
int64_t i_eq(int64_t a, int64_t b) { return a == b; }
int64_t i_neq(int64_t a, int64_t b) { return a != b; }
int64_t i_lt(int64_t a, int64_t b) { return a < b; }
int64_t i_le(int64_t a, int64_t b) { return a <= b; }
int64_t i_gt(int64_t a, int64_t b) { return a > b; }
int64_t i_ge(int64_t a, int64_t b) { return a >= b; }
int64_t i_and(int64_t a, int64_t b) { return a & b; }
int64_t i_or(int64_t a, int64_t b) { return a | b; }
int64_t i_xor(int64_t a, int64_t b) { return a ^ b; }
int64_t i_invert(int64_t a) { return ~a; }
int64_t b_invert(int64_t a) { return a == 0; }
int64_t i_switch(int64_t c, int64_t a, int64_t b) { return c != 0 ? a : b; }
int64_t i_identity(int64_t a) { return a; }
int64_t i_false(int64_t) { return 0; }

// ---- Row kernels built from the scalar functions above (inlined per op).

template <class T, T (*F)(T)>
void row1(const T* const* in, T* out, int64_t n) {
  const T* a = in[0];
  for (int64_t i = 0; i < n; ++i) out[i] = F(a[i]);
}
template <class T, T (*F)(T, T)>
void row2(const T* const* in, T* out, int64_t n) {
  const T *a = in[0], *b = in[1];
  for (int64_t i = 0; i < n; ++i) out[i] = F(a[i], b[i]);
}
template <class T, T (*F)(T, T, T)>
void row3(const T* const* in, T* out, int64_t n) {
  const T *a = in[0], *b = in[1], *c = in[2];
  for (int64_t i = 0; i < n; ++i) out[i] = F(a[i], b[i], c[i]);
}

template <double (*F)(double)>
constexpr RowFn<double> F1 = row1<double, F>;
template <double (*F)(double, double)>
constexpr RowFn<double> F2 = row2<double, F>;
template <double (*F)(double, double, double)>
constexpr RowFn<double> F3 = row3<double, F>;
template <int64_t (*F)(int64_t)>
constexpr RowFn<int64_t> I1 = row1<int64_t, F>;
template <int64_t (*F)(int64_t, int64_t)>
constexpr RowFn<int64_t> I2 = row2<int64_t, F>;
template <int64_t (*F)(int64_t, int64_t, int64_t)>
constexpr RowFn<int64_t> I3 = row3<int64_t, F>;

// ---- Derivatives (Theano's conventions). Each returns one gradient per input in
// the broadcast output shape; Elemwise::grad sums them back to the input shapes.
// Constants are weak literals, so a float32 graph gets a float32 gradient.

using Vars = std::vector<Var>;

Var zero() { return scalar_literal(0.0, /*is_integer=*/false); }
// gz where `cond` holds, else 0 (not gz * cond: a NaN or inf gradient stays out
// of the elements that did not use the input).
Var where(const Var& cond, const Var& gz) { return switch_(cond, gz, zero()); }

Vars d_none(const Vars& in, const Var&, const Var&) { return Vars(in.size()); }
// Piecewise constant (round, floor, int_div, ...): zero almost everywhere, and
// Theano answers zero at the jumps too.
Vars d_zero(const Vars& in, const Var&, const Var& gz) {
  return Vars(in.size(), zeros_like(gz));
}

Vars d_add(const Vars&, const Var&, const Var& gz) { return {gz, gz}; }
Vars d_sub(const Vars&, const Var&, const Var& gz) { return {gz, -gz}; }
Vars d_mul(const Vars& in, const Var&, const Var& gz) { return {gz * in[1], gz * in[0]}; }
// d(x/y)/dy = -x/y² = -out/y.
Vars d_true_div(const Vars& in, const Var& out, const Var& gz) {
  return {gz / in[1], -(gz * out) / in[1]};
}
// x mod y = x - y * floor(x / y), the floor being locally constant.
Vars d_mod(const Vars& in, const Var&, const Var& gz) {
  return {gz, -(gz * int_div(in[0], in[1]))};
}
Vars d_pow(const Vars& in, const Var& out, const Var& gz) {
  // Both in the output dtype, as the forward computation reads them: a literal
  // operand would otherwise compute the gradient of a float32 `x ** 2` or
  // `2 ** x` in float64 (2 - 1 and log(2) are strong float64 or int64 results,
  // no longer weak literals).
  Var x = cast(in[0], out.dtype());
  Var y = cast(in[1], out.dtype());
  // 0 ** y is 0 for every y > 0, so its slope along y is 0, not log(0) * 0.
  return {gz * y * pow(x, y - 1), switch_(eq(x, zero()), zero(), gz * log(x) * out)};
}
Vars d_neg(const Vars&, const Var&, const Var& gz) { return {-gz}; }
// sgn(0) = 0: the subgradient 0 at the kink.
Vars d_abs(const Vars& in, const Var&, const Var& gz) { return {gz * sgn(in[0])}; }
Vars d_exp(const Vars&, const Var& out, const Var& gz) { return {gz * out}; }
Vars d_log(const Vars& in, const Var&, const Var& gz) { return {gz / in[0]}; }
Vars d_log1p(const Vars& in, const Var&, const Var& gz) { return {gz / (1 + in[0])}; }
Vars d_expm1(const Vars&, const Var& out, const Var& gz) { return {gz * (out + 1)}; }
Vars d_sqrt(const Vars&, const Var& out, const Var& gz) { return {0.5 * gz / out}; }
Vars d_sqr(const Vars& in, const Var&, const Var& gz) { return {gz * in[0] * 2}; }
Vars d_tanh(const Vars&, const Var& out, const Var& gz) { return {gz * (1 - out * out)}; }
Vars d_sigmoid(const Vars&, const Var& out, const Var& gz) {
  return {gz * out * (1 - out)};
}
Vars d_softplus(const Vars& in, const Var&, const Var& gz) {
  return {gz * sigmoid(in[0])};
}
Vars d_sin(const Vars& in, const Var&, const Var& gz) { return {gz * cos(in[0])}; }
Vars d_cos(const Vars& in, const Var&, const Var& gz) { return {-(gz * sin(in[0]))}; }
// Every input equal to the output gets gz: on a tie both do (Theano's
// eq(out, x) * gz); a NaN output gives none.
Vars d_extremum(const Vars& in, const Var& out, const Var& gz) {
  return {where(eq(out, in[0]), gz), where(eq(out, in[1]), gz)};
}
// x gets gz on [lo, hi], edges included; lo below it, hi above it.
Vars d_clip(const Vars& in, const Var&, const Var& gz) {
  const Var &x = in[0], &lo = in[1], &hi = in[2];
  return {where(and_(ge(x, lo), le(x, hi)), gz), where(lt(x, lo), gz),
          where(gt(x, hi), gz)};
}
Vars d_switch(const Vars& in, const Var&, const Var& gz) {
  return {Var(), where(in[0], gz), switch_(in[0], zero(), gz)};
}
// Back to the input's float dtype; an integer input gets none.
Vars d_cast(const Vars& in, const Var&, const Var& gz) {
  if (!is_float(in[0].dtype())) return {Var()};
  return {cast(gz, in[0].dtype())};
}

using R = TypeRule;

std::vector<ScalarOp> build_table() {
  std::vector<ScalarOp> t = {
      // name, arity, rule, float evaluation, int evaluation, derivative[, bool
      // override]
      {0, "add", 2, R::kUpcast, F2<f_add>, I2<i_add>, d_add},
      {0, "sub", 2, R::kUpcastNoBool, F2<f_sub>, I2<i_sub>, d_sub},
      {0, "mul", 2, R::kUpcast, F2<f_mul>, I2<i_mul>, d_mul},
      {0, "true_div", 2, R::kFloat, F2<f_true_div>, nullptr, d_true_div},
      {0, "int_div", 2, R::kUpcastBoolInt8, F2<f_int_div>, I2<i_int_div>, d_zero},
      {0, "mod", 2, R::kUpcastBoolInt8, F2<f_mod>, I2<i_mod>, d_mod},
      {0, "pow", 2, R::kUpcastBoolInt8, F2<f_pow>, I2<i_pow>, d_pow},
      {0, "neg", 1, R::kUpcastNoBool, F1<f_neg>, I1<i_neg>, d_neg},
      {0, "abs", 1, R::kUpcast, F1<f_abs>, I1<i_abs>, d_abs},
      {0, "sgn", 1, R::kUpcastNoBool, F1<f_sgn>, I1<i_sgn>, d_zero},
      {0, "exp", 1, R::kFloat, F1<f_exp>, nullptr, d_exp},
      {0, "log", 1, R::kFloat, F1<f_log>, nullptr, d_log},
      {0, "log1p", 1, R::kFloat, F1<f_log1p>, nullptr, d_log1p},
      {0, "expm1", 1, R::kFloat, F1<f_expm1>, nullptr, d_expm1},
      {0, "sqrt", 1, R::kFloat, F1<f_sqrt>, nullptr, d_sqrt},
      {0, "sqr", 1, R::kUpcastBoolInt8, F1<f_sqr>, I1<i_sqr>, d_sqr},
      {0, "tanh", 1, R::kFloat, F1<f_tanh>, nullptr, d_tanh},
      {0, "sigmoid", 1, R::kFloat, F1<f_sigmoid>, nullptr, d_sigmoid},
      {0, "softplus", 1, R::kFloat, F1<f_softplus>, nullptr, d_softplus},
      {0, "sin", 1, R::kFloat, F1<f_sin>, nullptr, d_sin},
      {0, "cos", 1, R::kFloat, F1<f_cos>, nullptr, d_cos},
      {0, "maximum", 2, R::kUpcast, F2<f_maximum>, I2<i_maximum>, d_extremum},
      {0, "minimum", 2, R::kUpcast, F2<f_minimum>, I2<i_minimum>, d_extremum},
      {0, "clip", 3, R::kUpcast, F3<f_clip>, I3<i_clip>, d_clip},
      {0, "round", 1, R::kUpcast, F1<f_round>, I1<i_identity>, d_zero},
      {0, "floor", 1, R::kUpcast, F1<f_floor>, I1<i_identity>, d_zero},
      {0, "ceil", 1, R::kUpcast, F1<f_ceil>, I1<i_identity>, d_zero},
      {0, "eq", 2, R::kBool, F2<f_eq>, I2<i_eq>, d_none},
      {0, "neq", 2, R::kBool, F2<f_neq>, I2<i_neq>, d_none},
      {0, "lt", 2, R::kBool, F2<f_lt>, I2<i_lt>, d_none},
      {0, "le", 2, R::kBool, F2<f_le>, I2<i_le>, d_none},
      {0, "gt", 2, R::kBool, F2<f_gt>, I2<i_gt>, d_none},
      {0, "ge", 2, R::kBool, F2<f_ge>, I2<i_ge>, d_none},
      {0, "and_", 2, R::kIntOrBool, nullptr, I2<i_and>, d_none},
      {0, "or_", 2, R::kIntOrBool, nullptr, I2<i_or>, d_none},
      {0, "xor", 2, R::kIntOrBool, nullptr, I2<i_xor>, d_none},
      {0, "invert", 1, R::kIntOrBool, nullptr, I1<i_invert>, d_none, I1<b_invert>},
      {0, "switch", 3, R::kBranches, F3<f_switch>, I3<i_switch>, d_switch},
      {0, "cast", 1, R::kCast, F1<f_identity>, I1<i_identity>, d_cast},
      {0, "isnan", 1, R::kBool, F1<f_isnan>, I1<i_false>, d_none},
      {0, "isinf", 1, R::kBool, F1<f_isinf>, I1<i_false>, d_none},
  };
  for (size_t i = 0; i < t.size(); ++i) t[i].id = static_cast<int>(i);
  return t;
}

// bool/int8/uint8/int16 fit float32 exactly; wider ints need float64.
DType float_of(DType d) {
  if (is_float(d)) return d;
  return (d == DType::Int32 || d == DType::Int64) ? DType::Float64 : DType::Float32;
}

}  // namespace

const std::vector<ScalarOp>& scalar_ops() {
  static const std::vector<ScalarOp> table = build_table();
  return table;
}

const ScalarOp& scalar_op(int id) {
  const auto& t = scalar_ops();
  if (id < 0 || id >= static_cast<int>(t.size()))
    throw ValueError("no scalar op with id " + std::to_string(id) + " (the table has " +
                     std::to_string(t.size()) + ")");
  return t[id];
}

const ScalarOp* find_scalar_op(std::string_view name) {
  for (const ScalarOp& op : scalar_ops())
    if (name == op.name) return &op;
  return nullptr;
}

const ScalarOp& scalar_op(std::string_view name) {
  if (const ScalarOp* op = find_scalar_op(name)) return *op;
  std::string known;
  for (const ScalarOp& op : scalar_ops())
    known += std::string(known.empty() ? "" : ", ") + op.name;
  throw ValueError("unknown elementwise op '" + std::string(name) + "' (known: " + known +
                   ")");
}

ElemwiseDTypes resolve_dtypes(const ScalarOp& op, DType common,
                              std::optional<DType> cast_to) {
  const std::string what = std::string("'") + op.name + "'";
  switch (op.rule) {
    case R::kUpcast:
    case R::kBranches:
      return {common, common};
    case R::kUpcastNoBool:
      if (is_bool(common))
        throw TypeError(what + " is not defined for bool operands (as in NumPy); use " +
                        (op.arity == 2 ? "xor" : "invert") +
                        " for the logical meaning, or cast to an integer dtype first");
      return {common, common};
    case R::kUpcastBoolInt8: {
      DType d = is_bool(common) ? DType::Int8 : common;
      return {d, d};
    }
    case R::kFloat: {
      DType d = float_of(common);
      return {d, d};
    }
    case R::kBool:
      return {common, DType::Bool};
    case R::kIntOrBool:
      if (is_float(common))
        throw TypeError(what + " needs integer or bool operands, got " +
                        dtype_name(common) + " (bitwise ops are not defined on floats)");
      return {common, common};
    case R::kCast:
      if (!cast_to) throw ValueError(what + " needs a target dtype: use cast(x, dtype)");
      return {common, *cast_to};
  }
  throw ValueError(what + ": unknown type rule");
}

}  // namespace theanine
