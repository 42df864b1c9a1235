#include "codegen/cuda_emit.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <type_traits>

#include "codegen/disk_cache.h"
#include "codegen/scalar_walk.h"
#include "ops/scalar_op_table.h"
#include "runtime/error.h"

namespace theanine {

namespace {

// ---- the prelude: device functions every kernel may call ---------------------

const char* kPrelude = R"(#ifndef THEANINE_CUDA_PRELUDE
#define THEANINE_CUDA_PRELUDE
// theanine kernel prelude: ports of the scalar-op table's reference functions.

// Integer arithmetic wraps through unsigned, as the reference's does.
__device__ __forceinline__ long long th_add(long long a, long long b) {
  return (long long)((unsigned long long)a + (unsigned long long)b);
}
__device__ __forceinline__ long long th_sub(long long a, long long b) {
  return (long long)((unsigned long long)a - (unsigned long long)b);
}
__device__ __forceinline__ long long th_mul(long long a, long long b) {
  return (long long)((unsigned long long)a * (unsigned long long)b);
}
__device__ __forceinline__ long long th_neg(long long a) {
  return (long long)(0ull - (unsigned long long)a);
}
// INT64_MIN stays INT64_MIN.
__device__ __forceinline__ long long th_iabs(long long a) { return a < 0 ? th_neg(a) : a; }
// Floor division; x // 0 is 0; INT64_MIN // -1 wraps.
__device__ __forceinline__ long long th_int_div(long long a, long long b) {
  if (b == 0) return 0;
  if (b == -1) return th_neg(a);
  long long q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}
// The remainder with the divisor's sign; x % 0 is 0.
__device__ __forceinline__ long long th_int_mod(long long a, long long b) {
  if (b == 0 || b == -1) return 0;
  long long r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}
// The reference raises for b < 0; graphs that could get here stay on the
// reference path (codegen/kernel_lowering.cc), so 0 is only a placeholder.
__device__ __forceinline__ long long th_int_pow(long long a, long long b) {
  if (b < 0) return 0;
  unsigned long long result = 1, base = (unsigned long long)a;
  for (unsigned long long e = (unsigned long long)b; e; e >>= 1) {
    if (e & 1) result *= base;
    base *= base;
  }
  return (long long)result;
}

// NumPy's divmod for floats: Python's sign convention, the quotient snapped to
// the integer nearest (a - mod) / b.
__device__ __forceinline__ double th_divmod(double a, double b, double* modulus) {
  double mod = fmod(a, b);
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
    mod = copysign(0.0, b);
  }
  double floordiv;
  if (div != 0) {
    floordiv = floor(div);
    if (div - floordiv > 0.5) floordiv += 1.0;
  } else {
    floordiv = copysign(0.0, a / b);
  }
  *modulus = mod;
  return floordiv;
}
__device__ __forceinline__ double th_float_int_div(double a, double b) {
  if (a != a || b != b) return a + b;
  double mod;
  return th_divmod(a, b, &mod);
}
__device__ __forceinline__ double th_float_mod(double a, double b) {
  if (a != a || b != b) return a + b;
  double mod;
  th_divmod(a, b, &mod);
  return mod;
}

// Float -> int64 as the reference (and NumPy on x86): NaN and values outside
// int64's range give INT64_MIN.
__device__ __forceinline__ long long th_f2i(double v) {
  return fabs(v) < 9223372036854775808.0 ? (long long)v : (-9223372036854775807LL - 1);
}
__device__ __forceinline__ long long th_f2i(float v) {
  return fabsf(v) < 9223372036854775808.0f ? (long long)v : (-9223372036854775807LL - 1);
}

__device__ __forceinline__ float th_inf(float) { return __int_as_float(0x7f800000); }
__device__ __forceinline__ double th_inf(double) {
  return __longlong_as_double(0x7ff0000000000000LL);
}
__device__ __forceinline__ float th_exp(float x) { return expf(x); }
__device__ __forceinline__ double th_exp(double x) { return exp(x); }
__device__ __forceinline__ float th_log1p(float x) { return log1pf(x); }
__device__ __forceinline__ double th_log1p(double x) { return log1p(x); }
__device__ __forceinline__ float th_fabs(float x) { return fabsf(x); }
__device__ __forceinline__ double th_fabs(double x) { return fabs(x); }

// numpy.maximum / minimum: NaN in either operand wins (the first if both).
template <class T>
__device__ __forceinline__ T th_max(T a, T b) { return (a >= b || a != a) ? a : b; }
template <class T>
__device__ __forceinline__ T th_min(T a, T b) { return (a <= b || a != a) ? a : b; }
// With e = exp(-|x|), which never overflows: 1 / (1 + e) for x >= 0, e / (1 + e)
// (as e * that) below.
template <class T>
__device__ __forceinline__ T th_sigmoid(T x) {
  T e = th_exp(-th_fabs(x));
  T r = (T)1 / ((T)1 + e);
  return (x >= (T)0 || x != x) ? r : e * r;
}
// max(x, 0) + log1p(exp(-|x|)).
template <class T>
__device__ __forceinline__ T th_softplus(T x) {
  T l = th_log1p(th_exp(-th_fabs(x)));
  return (x > (T)0 ? x : (T)0) + l;
}
template <class T>
__device__ __forceinline__ T th_isinf(T x) { return th_fabs(x) == th_inf(x) ? (T)1 : (T)0; }

// Max/min reductions: NaN propagates, -0 counts below +0.
template <class T>
__device__ __forceinline__ T th_reduce_max(T a, T b) {
  if (a != a || b != b) return a + b;
  if (a == b) return signbit(a) ? b : a;
  return a > b ? a : b;
}
template <class T>
__device__ __forceinline__ T th_reduce_min(T a, T b) {
  if (a != a || b != b) return a + b;
  if (a == b) return signbit(a) ? a : b;
  return a < b ? a : b;
}

// Warp shuffles for every storage type (the narrow ones travel as int).
__device__ __forceinline__ float th_shfl_down(float v, int d) {
  return __shfl_down_sync(0xffffffffu, v, d);
}
__device__ __forceinline__ double th_shfl_down(double v, int d) {
  return __shfl_down_sync(0xffffffffu, v, d);
}
__device__ __forceinline__ long long th_shfl_down(long long v, int d) {
  return __shfl_down_sync(0xffffffffu, v, d);
}
__device__ __forceinline__ int th_shfl_down(int v, int d) {
  return __shfl_down_sync(0xffffffffu, v, d);
}
__device__ __forceinline__ short th_shfl_down(short v, int d) {
  return (short)__shfl_down_sync(0xffffffffu, (int)v, d);
}
__device__ __forceinline__ signed char th_shfl_down(signed char v, int d) {
  return (signed char)__shfl_down_sync(0xffffffffu, (int)v, d);
}
__device__ __forceinline__ unsigned char th_shfl_down(unsigned char v, int d) {
  return (unsigned char)__shfl_down_sync(0xffffffffu, (int)v, d);
}
#endif  // THEANINE_CUDA_PRELUDE
)";

// ---- types and conversions -----------------------------------------------------

const char* ctype(DType d) {
  switch (d) {
    case DType::Bool:
    case DType::UInt8:
      return "unsigned char";
    case DType::Int8:
      return "signed char";
    case DType::Int16:
      return "short";
    case DType::Int32:
      return "int";
    case DType::Int64:
      return "long long";
    case DType::Float32:
      return "float";
    case DType::Float64:
      return "double";
  }
  return "long long";
}

std::string paren(const std::string& s) { return "(" + s + ")"; }

// A stored value of dtype d -> its compute representation (a float of its own
// type, or long long).
std::string to_compute(const std::string& v, DType d) {
  if (is_float(d) || d == DType::Int64) return v;
  return "(long long)" + paren(v);
}

// The compute representation of operand dtype `from` -> a stored `to`.
std::string from_compute(const std::string& x, DType from, DType to) {
  if (is_float(from)) {
    if (is_float(to))
      return to == from ? x : std::string("(") + ctype(to) + ")" + paren(x);
    if (is_bool(to)) return "(unsigned char)(" + paren(x) + " != 0)";
    std::string i = "th_f2i" + paren(x);
    return to == DType::Int64 ? i : std::string("(") + ctype(to) + ")" + i;
  }
  if (is_float(to)) return std::string("(") + ctype(to) + ")" + paren(x);
  if (is_bool(to)) return "(unsigned char)(" + paren(x) + " != 0)";
  if (to == DType::Int64) return x;
  return std::string("(") + ctype(to) + ")" + paren(x);
}

// A stored value of dtype `from` -> stored dtype `to` (NumPy's astype).
std::string cast(const std::string& v, DType from, DType to) {
  if (from == to) return v;
  return from_compute(to_compute(v, from), from, to);
}

std::string float_bits_literal(double v, DType d) {
  char buf[64];
  if (d == DType::Float32) {
    float f = static_cast<float>(v);
    uint32_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    std::snprintf(buf, sizeof buf, "__int_as_float(0x%08x)", bits);
  } else {
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    std::snprintf(buf, sizeof buf, "__longlong_as_double(0x%016llxLL)",
                  static_cast<unsigned long long>(bits));
  }
  return buf;
}

// A value of dtype d as a C expression of its storage type.
std::string typed_literal(double fv, int64_t iv, DType d) {
  if (is_float(d)) {
    if (!std::isfinite(fv)) return float_bits_literal(fv, d);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%a", fv);
    return std::string("((") + ctype(d) + ")" + buf + ")";
  }
  if (d == DType::Int64 && iv == std::numeric_limits<int64_t>::min())
    return "(-9223372036854775807LL - 1)";
  std::string s = std::to_string(iv) + (d == DType::Int64 ? "LL" : "");
  return std::string("((") + ctype(d) + ")" + s + ")";
}

std::string literal(const ScalarConstant& c) {
  const DType d = c.value.dtype();
  return is_float(d) ? typed_literal(c.value.item_double(), 0, d)
                     : typed_literal(0, c.value.item_int(), d);
}

// The value spellings spell_scalar_graph asks for.
struct CudaSpelling {
  std::string cast(const std::string& v, DType from, DType to) const {
    return theanine::cast(v, from, to);
  }
  std::string to_compute(const std::string& v, DType d) const {
    return theanine::to_compute(v, d);
  }
  std::string literal(const ScalarConstant& c) const { return theanine::literal(c); }
};

// ---- the CUDA column of the scalar-op table ------------------------------------

// Operands arrive in the compute representation; `ft` is the float type name
// ("float"/"double") or null for long long. The result is in the same
// representation.
using A = const std::vector<std::string>&;
using SpellFn = std::function<std::string(A, const char* ft)>;

struct Spelling {
  SpellFn for_float, for_int, for_bool;
};

std::string fsuffix(const char* ft) { return std::strcmp(ft, "float") == 0 ? "f" : ""; }
std::string typed(const char* ft, const char* v) {
  return std::string("(") + ft + ")" + v;
}
// A truth value in the compute representation.
std::string truth(const std::string& cond, const char* ft) {
  return ft ? paren(paren(cond) + " ? " + typed(ft, "1") + " : " + typed(ft, "0"))
            : "(long long)" + paren(cond);
}
SpellFn infix(const char* op) {
  return [op](A a, const char*) { return paren(a[0] + " " + op + " " + a[1]); };
}
SpellFn call(const char* fn) {
  return [fn](A a, const char*) {
    std::string s = std::string(fn) + "(";
    for (size_t i = 0; i < a.size(); ++i) s += (i ? ", " : "") + a[i];
    return s + ")";
  };
}
// expf / exp by the compute type.
SpellFn math(const char* fn) {
  return [fn](A a, const char* ft) {
    std::string s = std::string(fn) + fsuffix(ft) + "(";
    for (size_t i = 0; i < a.size(); ++i) s += (i ? ", " : "") + a[i];
    return s + ")";
  };
}
// The helper-table ops of the CPU: evaluated in double as the reference does,
// float32 operands widened and the result rounded back.
SpellFn via_double(const char* fn) {
  return [fn](A a, const char* ft) {
    std::string s = std::string(fn) + "((double)" + a[0] + ", (double)" + a[1] + ")";
    return std::strcmp(ft, "float") == 0 ? "(float)" + s : s;
  };
}
SpellFn compare(const char* op) {
  return [op](A a, const char* ft) { return truth(a[0] + " " + op + " " + a[1], ft); };
}
SpellFn identity() {
  return [](A a, const char*) { return a[0]; };
}

const std::map<std::string, Spelling>& spellings() {
  static const std::map<std::string, Spelling> table = [] {
    std::map<std::string, Spelling> t;
    t["add"] = {infix("+"), call("th_add"), nullptr};
    t["sub"] = {infix("-"), call("th_sub"), nullptr};
    t["mul"] = {infix("*"), call("th_mul"), nullptr};
    t["true_div"] = {infix("/"), nullptr, nullptr};
    t["int_div"] = {via_double("th_float_int_div"), call("th_int_div"), nullptr};
    t["mod"] = {via_double("th_float_mod"), call("th_int_mod"), nullptr};
    t["pow"] = {math("pow"), call("th_int_pow"), nullptr};
    t["neg"] = {[](A a, const char*) { return "(-" + a[0] + ")"; }, call("th_neg"),
                nullptr};
    t["abs"] = {math("fabs"), call("th_iabs"), nullptr};
    t["sgn"] = {[](A a, const char* ft) {
                  return paren(a[0] + " > " + typed(ft, "0") + " ? " + typed(ft, "1") +
                               " : (" + a[0] + " < " + typed(ft, "0") + " ? " +
                               typed(ft, "-1") + " : " + a[0] + ")");
                },
                [](A a, const char*) {
                  return "(long long)((" + a[0] + " > 0) - (" + a[0] + " < 0))";
                },
                nullptr};
    for (const char* f : {"exp", "log", "log1p", "expm1", "tanh", "sin", "cos", "sqrt"})
      t[f] = {math(f), nullptr, nullptr};
    t["sqr"] = {[](A a, const char*) { return paren(a[0] + " * " + a[0]); },
                [](A a, const char*) { return "th_mul(" + a[0] + ", " + a[0] + ")"; },
                nullptr};
    t["sigmoid"] = {call("th_sigmoid"), nullptr, nullptr};
    t["softplus"] = {call("th_softplus"), nullptr, nullptr};
    t["maximum"] = {call("th_max"), call("th_max"), nullptr};
    t["minimum"] = {call("th_min"), call("th_min"), nullptr};
    t["clip"] = {[](A a, const char*) {
                   return "th_min(th_max(" + a[0] + ", " + a[1] + "), " + a[2] + ")";
                 },
                 [](A a, const char*) {
                   return "th_min(th_max(" + a[0] + ", " + a[1] + "), " + a[2] + ")";
                 },
                 nullptr};
    // rint rounds half to even, as numpy.round.
    t["round"] = {math("rint"), identity(), nullptr};
    t["floor"] = {math("floor"), identity(), nullptr};
    t["ceil"] = {math("ceil"), identity(), nullptr};
    t["eq"] = {compare("=="), compare("=="), nullptr};
    t["neq"] = {compare("!="), compare("!="), nullptr};
    t["lt"] = {compare("<"), compare("<"), nullptr};
    t["le"] = {compare("<="), compare("<="), nullptr};
    t["gt"] = {compare(">"), compare(">"), nullptr};
    t["ge"] = {compare(">="), compare(">="), nullptr};
    t["and_"] = {nullptr, infix("&"), nullptr};
    t["or_"] = {nullptr, infix("|"), nullptr};
    t["xor"] = {nullptr, infix("^"), nullptr};
    t["invert"] = {nullptr, [](A a, const char*) { return "(~" + a[0] + ")"; },
                   // The logical meaning on bools: not, rather than ~.
                   [](A a, const char*) { return "(long long)(" + a[0] + " == 0)"; }};
    // The condition arrives as a truth value (0 or 1) in the compute type.
    SpellFn choose = [](A a, const char*) {
      return paren(a[0] + " != 0 ? " + a[1] + " : " + a[2]);
    };
    t["switch"] = {choose, choose, nullptr};
    t["cast"] = {identity(), identity(), nullptr};
    t["isnan"] = {[](A a, const char* ft) { return truth(a[0] + " != " + a[0], ft); },
                  [](A, const char*) { return std::string("0LL"); }, nullptr};
    t["isinf"] = {call("th_isinf"), [](A, const char*) { return std::string("0LL"); },
                  nullptr};
    return t;
  }();
  return table;
}

const SpellFn* spelling_of(const ScalarOp& op, CudaComputeClass cls) {
  auto it = spellings().find(op.name);
  if (it == spellings().end()) return nullptr;
  const SpellFn& f = cls == CudaComputeClass::Float ? it->second.for_float
                     : cls == CudaComputeClass::Int ? it->second.for_int
                                                    : it->second.for_bool;
  return f ? &f : nullptr;
}

// ---- kernels ---------------------------------------------------------------------

template <class T>
std::string limit_literal(bool lowest, DType d) {
  using L = std::numeric_limits<T>;
  if constexpr (std::is_floating_point_v<T>) {
    return float_bits_literal(lowest ? -L::infinity() : L::infinity(), d);
  } else {
    return typed_literal(0, static_cast<int64_t>(lowest ? L::lowest() : L::max()), d);
  }
}

// The identity a reduction starts from, as fill_identity in
// codegen/kernel_lowering.cc writes it.
std::string identity_literal(KernelReduce r, DType d) {
  switch (r) {
    case KernelReduce::Sum:
      return typed_literal(0, 0, d);
    case KernelReduce::Prod:
      return typed_literal(1, 1, d);
    default:
      break;
  }
  const bool lowest = r == KernelReduce::Max || r == KernelReduce::Argmax;
  return dispatch_dtype(d, [&](auto t) { return limit_literal<decltype(t)>(lowest, d); });
}

struct KernelWriter {
  const KernelSpec& spec;
  const std::string& sym;
  std::string out;
  int rank, nin, nops;
  std::vector<int> param_of;  // operand -> the operand whose pointer it uses
  std::vector<bool> written;  // per operand: stored through
  std::string args = "a";     // the parameter's name

  KernelWriter(const KernelSpec& s, const std::string& symbol) : spec(s), sym(symbol) {
    rank = spec.layout.rank;
    nin = spec.ir.num_inputs();
    nops = spec.ir.num_operands();
    param_of.resize(nops);
    written.assign(nops, false);
    for (int k = 0; k < nops; ++k) {
      int o = k - nin;
      param_of[k] = k;
      if (o >= 0 && o < static_cast<int>(spec.layout.same_as.size()) &&
          spec.layout.same_as[o] >= 0)
        param_of[k] = spec.layout.same_as[o];
      if (k >= nin) written[param_of[k]] = true;
    }
  }

  DType dtype(int k) const { return spec.ir.operand_dtype(k); }
  std::string shape(int d) const { return args + ".shape[" + std::to_string(d) + "]"; }
  std::string stride(int k, int d) const {
    return args + ".strides[" + std::to_string(k * rank + d) + "]";
  }
  std::string ptr(int k) const { return "q" + std::to_string(param_of[k]); }
  bool reduced(int d) const { return (spec.layout.reduced >> d) & 1u; }

  // Operand k's step along dimension d at index `idx`, or "" for none.
  std::string term(int k, int d, const std::string& idx) const {
    if (d == rank - 1) {
      switch (spec.layout.inner[k]) {
        case InnerStep::Unit:
          return "(long long)" + idx;
        case InnerStep::Zero:
          return "";
        case InnerStep::Strided:
          break;
      }
    }
    return "(long long)" + idx + " * " + stride(k, d);
  }
  // The sum of operand k's terms over `dims` (each with index i<d>).
  std::string offset(int k, const std::vector<int>& dims, const std::string& base) const {
    std::string s = base;
    for (int d : dims) {
      std::string t = term(k, d, "i" + std::to_string(d));
      if (t.empty()) continue;
      s += (s.empty() ? "" : " + ") + t;
    }
    return s.empty() ? "0" : s;
  }

  void line(int indent, const std::string& s) {
    out += std::string(indent, ' ') + s + "\n";
  }

  void params_struct() {
    out += "struct " + sym + "_args {\n";
    out += "  long long shape[" + std::to_string(rank) + "];\n";
    out += "  long long strides[" + std::to_string(nops * rank) + "];\n";
    out += "  void* ptr[" + std::to_string(nops) + "];\n};\n";
  }

  void pointers(int indent) {
    for (int k = 0; k < nops; ++k) {
      if (param_of[k] != k) continue;
      const char* t = ctype(dtype(k));
      std::string cq = written[k] ? "" : "const ";
      line(indent, cq + t + "* __restrict__ " + ptr(k) + " = (" + cq + t + "*)" + args +
                       ".ptr[" + std::to_string(k) + "];");
    }
  }

  // Loads the inputs at offsets o<k>, evaluates the body and returns the
  // variable of each body output. Every load comes before any store.
  std::vector<std::string> body(int indent) {
    const ScalarGraph& g = spec.ir.body;
    std::vector<std::string> in_val(nin);
    for (int k = 0; k < nin; ++k) {
      in_val[k] = "x" + std::to_string(k);
      line(indent, std::string("const ") + ctype(dtype(k)) + " " + in_val[k] + " = " +
                       ptr(k) + "[o" + std::to_string(k) + "];");
    }
    CudaSpelling spelling;
    const std::vector<std::string> node_val = spell_scalar_graph(
        g, in_val, spelling,
        [&](size_t n, const ScalarNode& node, const ScalarOp& sop,
            std::vector<std::string> a) {
          const DType operand = node.dtypes.operand;
          for (std::string& v : a) v = paren(v);
          CudaComputeClass cls = is_float(operand) ? CudaComputeClass::Float
                                 : (is_bool(operand) && sop.eval_bool)
                                     ? CudaComputeClass::Bool
                                     : CudaComputeClass::Int;
          const SpellFn* fn = spelling_of(sop, cls);
          if (!fn)
            throw ValueError(std::string("the CUDA emitter has no spelling of '") +
                             sop.name + "' for " + dtype_name(operand) + " operands");
          std::string res = (*fn)(a, is_float(operand) ? ctype(operand) : nullptr);
          std::string var = "v" + std::to_string(n);
          line(indent, std::string("const ") + ctype(node.dtypes.output) + " " + var +
                           " = " + from_compute(res, operand, node.dtypes.output) + ";");
          return var;
        });
    std::vector<std::string> outs;
    for (int o : g.outputs) outs.push_back(node_val[o]);
    return outs;
  }

  // ---- elementwise ----------------------------------------------------------

  std::string elementwise_loop(const std::string& I) {
    std::string saved;
    saved.swap(out);
    const int ind = 6;
    line(4, "for (" + I + " i = (" + I + ")blockIdx.x * (" + I + ")blockDim.x + (" + I +
                ")threadIdx.x; i < (" + I + ")total; i += (" + I + ")gridDim.x * (" + I +
                ")blockDim.x) {");
    std::vector<int> dims;
    if (rank == 1) {
      line(ind, "const " + I + " i0 = i;");
    } else {
      line(ind, I + " r = i;");
      for (int d = rank - 1; d >= 1; --d) {
        std::string e = "(" + I + ")" + shape(d);
        line(ind, "const " + I + " i" + std::to_string(d) + " = r % " + e + ";");
        line(ind, "r /= " + e + ";");
      }
      line(ind, "const " + I + " i0 = r;");
    }
    for (int d = 0; d < rank; ++d) dims.push_back(d);
    for (int k = 0; k < nops; ++k)
      line(ind,
           "const long long o" + std::to_string(k) + " = " + offset(k, dims, "") + ";");
    std::vector<std::string> outs = body(ind);
    for (int o = 0; o < static_cast<int>(outs.size()); ++o)
      line(ind, ptr(nin + o) + "[o" + std::to_string(nin + o) + "] = " + outs[o] + ";");
    line(4, "}");
    saved.swap(out);
    return saved;
  }

  void elementwise() {
    line(2, "unsigned long long total = 1;");
    for (int d = 0; d < rank; ++d)
      line(2, "total *= (unsigned long long)" + shape(d) + ";");
    pointers(2);
    if (rank == 1) {  // no index arithmetic to save
      out += elementwise_loop("unsigned long long");
      return;
    }
    // Index arithmetic in 32 bits where it fits: division by the extents is the
    // costly part of a multi-dimensional nest.
    line(2, "if (total <= 0x7fffffffull) {");
    out += elementwise_loop("unsigned");
    line(2, "} else {");
    out += elementwise_loop("unsigned long long");
    line(2, "}");
  }

  // ---- reductions -------------------------------------------------------------

  DType value_dtype() const {
    return spec.ir.body.nodes[spec.ir.body.outputs[0]].dtypes.output;
  }

  std::string combine(const std::string& acc, const std::string& v) const {
    const DType ad = spec.ir.acc_dtype;
    const bool fl = is_float(ad);
    const std::string t = ctype(ad);
    switch (spec.ir.reduce) {
      case KernelReduce::Sum:
        return fl ? paren(acc + " + " + v)
                  : "(" + t + ")((unsigned long long)" + paren(acc) +
                        " + (unsigned long long)" + paren(v) + ")";
      case KernelReduce::Prod:
        return fl ? paren(acc + " * " + v)
                  : "(" + t + ")((unsigned long long)" + paren(acc) +
                        " * (unsigned long long)" + paren(v) + ")";
      case KernelReduce::Max:
        return fl ? "th_reduce_max(" + acc + ", " + v + ")"
                  : paren(v + " > " + acc + " ? " + v + " : " + acc);
      case KernelReduce::Min:
        return fl ? "th_reduce_min(" + acc + ", " + v + ")"
                  : paren(v + " < " + acc + " ? " + v + " : " + acc);
      default:
        break;
    }
    throw Error("combine: not a plain reduction");
  }

  // True when value v beats best: strictly better, or NaN over a number.
  std::string better(const std::string& v, const std::string& best) const {
    const bool mx = spec.ir.reduce == KernelReduce::Argmax;
    std::string gt = v + (mx ? " > " : " < ") + best;
    if (!is_float(value_dtype())) return paren(gt);
    return "(" + gt + " || (" + v + " != " + v + " && " + best + " == " + best + "))";
  }
  // Equal for the tie rule (NaN equals NaN).
  std::string same(const std::string& v, const std::string& best) const {
    std::string eq = v + " == " + best;
    if (!is_float(value_dtype())) return paren(eq);
    return "(" + eq + " || (" + v + " != " + v + " && " + best + " != " + best + "))";
  }

  // Declares the accumulator(s) at `indent`.
  void start_accumulator(int indent) {
    if (spec.ir.is_arg()) {
      const DType vd = value_dtype();
      line(indent, std::string(ctype(vd)) +
                       " best = " + identity_literal(spec.ir.reduce, vd) + ";");
      line(indent, "long long bi = 0;");
    } else {
      line(indent, std::string(ctype(spec.ir.acc_dtype)) + " acc = " +
                       identity_literal(spec.ir.reduce, spec.ir.acc_dtype) + ";");
    }
  }

  // Folds the body's value at the current point into the accumulator.
  void accumulate(int indent, const std::vector<int>& red_dims) {
    std::vector<std::string> outs = body(indent);
    const DType vd = value_dtype();
    if (spec.ir.is_arg()) {
      std::string lin;
      for (int d : red_dims)
        lin += (lin.empty() ? "" : " + ") + std::string("(long long)i") +
               std::to_string(d) + " * rs" + std::to_string(d);
      if (lin.empty()) lin = "0";
      line(indent, "if " + better(outs[0], "best") + " {");
      line(indent + 2, "best = " + outs[0] + ";");
      line(indent + 2, "bi = " + lin + ";");
      line(indent, "}");
      return;
    }
    std::string v = cast(outs[0], vd, spec.ir.acc_dtype);
    line(indent, "acc = " + combine("acc", v) + ";");
  }

  // Linear steps of the reduced dimensions (argmax positions are row-major
  // over them).
  void reduced_steps(int indent) {
    if (!spec.ir.is_arg()) return;
    std::string step = "1LL";
    for (int d = rank - 1; d >= 0; --d) {
      if (!reduced(d)) continue;
      line(indent, "const long long rs" + std::to_string(d) + " = " + step + ";");
      step = "rs" + std::to_string(d) + " * " + shape(d);
    }
  }

  // Splits the linear index `var` into the kept dimensions' indices i<d>.
  void split_kept(int indent, const std::string& var, const std::vector<int>& kept) {
    if (kept.empty()) return;
    line(indent, "long long r = " + var + ";");
    for (size_t j = kept.size(); j-- > 1;) {
      const std::string d = std::to_string(kept[j]);
      line(indent, "const long long i" + d + " = r % " + shape(kept[j]) + ";");
      line(indent, "r /= " + shape(kept[j]) + ";");
    }
    line(indent, "const long long i" + std::to_string(kept[0]) + " = r;");
  }

  void bases(int indent, const std::vector<int>& kept) {
    for (int k = 0; k < nops; ++k)
      line(indent,
           "const long long b" + std::to_string(k) + " = " + offset(k, kept, "") + ";");
  }

  void offsets(int indent, const std::vector<int>& red) {
    for (int k = 0; k < nin; ++k)
      line(indent, "const long long o" + std::to_string(k) + " = " +
                       offset(k, red, "b" + std::to_string(k)) + ";");
  }

  void kept_count(int indent, const std::vector<int>& kept, const char* name) {
    std::string n = "1LL";
    for (int d : kept) n += " * " + shape(d);
    line(indent, std::string("const long long ") + name + " = " + n + ";");
  }

  void row_reduce(const std::vector<int>& kept, const std::vector<int>& red) {
    const bool arg = spec.ir.is_arg();
    const std::string acc_t = ctype(spec.ir.acc_dtype);
    const std::string val_t = ctype(value_dtype());
    if (arg) {
      line(2, "__shared__ " + val_t + " s_best[32];");
      line(2, "__shared__ long long s_bi[32];");
    } else {
      line(2, "__shared__ " + acc_t + " s_acc[32];");
    }
    pointers(2);
    reduced_steps(2);
    kept_count(2, kept, "rows");
    line(2, "const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;");
    line(2, "const int nwarps = (blockDim.x + 31) >> 5;");
    line(2, "for (long long row = blockIdx.x; row < rows; row += gridDim.x) {");
    split_kept(4, "row", kept);
    bases(4, kept);
    start_accumulator(4);
    // The outer reduced dimensions in order, the innermost strided by thread.
    int ind = 4;
    for (int d : red) {
      const std::string i = "i" + std::to_string(d);
      if (d == rank - 1)
        line(ind, "for (long long " + i + " = threadIdx.x; " + i + " < " + shape(d) +
                      "; " + i + " += blockDim.x) {");
      else
        line(ind, "for (long long " + i + " = 0; " + i + " < " + shape(d) + "; ++" + i +
                      ") {");
      ind += 2;
    }
    offsets(ind, red);
    accumulate(ind, red);
    for (size_t j = 0; j < red.size(); ++j) {
      ind -= 2;
      line(ind, "}");
    }
    // Across the warp, then across the warps through shared memory.
    auto warp_step = [&](int indent) {
      line(indent, "for (int s = 16; s > 0; s >>= 1) {");
      if (arg) {
        line(indent + 2, val_t + " ob = th_shfl_down(best, s);");
        line(indent + 2, "long long oi = th_shfl_down(bi, s);");
        line(indent + 2, "if (" + better("ob", "best") + " || (" + same("ob", "best") +
                             " && oi < bi)) {");
        line(indent + 4, "best = ob;");
        line(indent + 4, "bi = oi;");
        line(indent + 2, "}");
      } else {
        // A shuffle once, outside any condition: every lane must take part.
        line(indent + 2, acc_t + " other = th_shfl_down(acc, s);");
        line(indent + 2, "acc = " + combine("acc", "other") + ";");
      }
      line(indent, "}");
    };
    warp_step(4);
    line(4, "if (lane == 0) {");
    if (arg) {
      line(6, "s_best[warp] = best;");
      line(6, "s_bi[warp] = bi;");
    } else {
      line(6, "s_acc[warp] = acc;");
    }
    line(4, "}");
    line(4, "__syncthreads();");
    line(4, "if (warp == 0) {");
    if (arg) {
      line(6, "best = lane < nwarps ? s_best[lane] : " +
                  identity_literal(spec.ir.reduce, value_dtype()) + ";");
      line(6, "bi = lane < nwarps ? s_bi[lane] : 0;");
    } else {
      line(6, "acc = lane < nwarps ? s_acc[lane] : " +
                  identity_literal(spec.ir.reduce, spec.ir.acc_dtype) + ";");
    }
    warp_step(6);
    line(6, "if (lane == 0) {");
    store_at(8);
    line(6, "}");
    line(4, "}");
    line(4, "__syncthreads();  // the shared slots serve the next row");
    line(2, "}");
  }

  void store_at(int indent) {
    line(indent, "const long long at = b" + std::to_string(nin) + ";");
    if (spec.ir.is_arg()) {
      line(indent, "const long long atb = b" + std::to_string(nin + 1) + ";");
      line(indent, ptr(nin) + "[at] = bi;");
      line(indent, ptr(nin + 1) + "[atb] = best;");
    } else {
      line(indent, ptr(nin) + "[at] = acc;");
    }
  }

  void column_reduce(const std::vector<int>& kept, const std::vector<int>& red) {
    pointers(2);
    reduced_steps(2);
    kept_count(2, kept, "outs");
    line(2,
         "for (long long o = (long long)blockIdx.x * blockDim.x + threadIdx.x; o < outs; "
         "o += (long long)gridDim.x * blockDim.x) {");
    split_kept(4, "o", kept);
    bases(4, kept);
    start_accumulator(4);
    int ind = 4;
    for (int d : red) {
      const std::string i = "i" + std::to_string(d);
      line(ind,
           "for (long long " + i + " = 0; " + i + " < " + shape(d) + "; ++" + i + ") {");
      ind += 2;
    }
    offsets(ind, red);
    accumulate(ind, red);
    for (size_t j = 0; j < red.size(); ++j) {
      ind -= 2;
      line(ind, "}");
    }
    store_at(4);
    line(2, "}");
  }

  std::string write() {
    if (rank < 1 || static_cast<int>(spec.layout.inner.size()) != nops)
      throw ValueError("CUDA kernel " + sym + ": the layout does not match its operands");
    const size_t param_bytes = 8 * (size_t(rank) + size_t(nops) * rank + nops);
    if (param_bytes > 32764)
      throw ValueError("CUDA kernel " + sym + ": " + std::to_string(nops) +
                       " operands over " + std::to_string(rank) +
                       " loop dimensions exceed the parameter space");
    out += "// " + spec.key() + "\n";
    params_struct();
    out += "extern \"C\" __global__ void __launch_bounds__(256) " + sym + "(const " +
           sym + "_args " + args + ") {\n";
    const CudaStrategy s = cuda_strategy(spec);
    if (s == CudaStrategy::Elementwise) {
      elementwise();
    } else {
      std::vector<int> kept, red;
      for (int d = 0; d < rank; ++d) (reduced(d) ? red : kept).push_back(d);
      if (s == CudaStrategy::RowReduce)
        row_reduce(kept, red);
      else
        column_reduce(kept, red);
    }
    out += "}\n";
    return out;
  }
};

// Ceil-divides, capped.
unsigned blocks_for(int64_t work, int64_t per_block, int64_t cap) {
  int64_t b = (work + per_block - 1) / per_block;
  return static_cast<unsigned>(std::clamp<int64_t>(b, 1, cap));
}

}  // namespace

CudaStrategy cuda_strategy(const KernelSpec& spec) {
  if (spec.ir.reduce == KernelReduce::None) return CudaStrategy::Elementwise;
  const int rank = spec.layout.rank;
  return (spec.layout.reduced >> (rank - 1)) & 1u ? CudaStrategy::RowReduce
                                                  : CudaStrategy::ColumnReduce;
}

std::string cuda_kernel_symbol(const KernelSpec& spec) {
  return "th_cu_" + sha256_hex(spec.key()).substr(0, 24);
}

const std::string& cuda_prelude() {
  static const std::string p = kPrelude;
  return p;
}

std::string emit_cuda_kernel(const std::string& symbol, const KernelSpec& spec) {
  return KernelWriter(spec, symbol).write();
}

std::string emit_cuda_module(
    const std::vector<std::pair<std::string, KernelSpec>>& kernels) {
  std::string s = cuda_prelude();
  for (const auto& [symbol, spec] : kernels) s += "\n" + emit_cuda_kernel(symbol, spec);
  return s;
}

std::string cuda_source(const KernelSpec& spec) {
  return emit_cuda_module({{cuda_kernel_symbol(spec), spec}});
}

bool cuda_spells_op(int op_id, CudaComputeClass cls) {
  return spelling_of(scalar_op(op_id), cls) != nullptr;
}

CudaLaunchDims cuda_launch_dims(const KernelSpec& spec, const std::vector<int64_t>& shape,
                                int multiprocessors) {
  const int rank = spec.layout.rank;
  if (static_cast<int>(shape.size()) != rank)
    throw ValueError("cuda_launch_dims: " + std::to_string(shape.size()) +
                     " extents for a kernel of " + std::to_string(rank) +
                     " loop dimensions");
  // Enough blocks to fill the device several times over; the loops stride.
  const int64_t cap = multiprocessors > 0 ? int64_t(multiprocessors) * 32 : 65535;
  CudaLaunchDims dims;
  int64_t kept = 1, total = 1;
  for (int d = 0; d < rank; ++d) {
    total *= shape[d];
    if (!((spec.layout.reduced >> d) & 1u)) kept *= shape[d];
  }
  switch (cuda_strategy(spec)) {
    case CudaStrategy::Elementwise:
      dims.block = 256;
      dims.grid = blocks_for(total, 256, cap);
      break;
    case CudaStrategy::RowReduce: {
      // A block per output; no more threads than the row has elements.
      const int64_t row = shape[rank - 1];
      dims.block =
          static_cast<unsigned>(std::clamp<int64_t>((row + 31) / 32 * 32, 32, 256));
      dims.grid = blocks_for(kept, 1, cap * 4);
      break;
    }
    case CudaStrategy::ColumnReduce:
      dims.block = 256;
      dims.grid = blocks_for(kept, 256, cap);
      break;
  }
  return dims;
}

std::vector<uint64_t> cuda_kernel_params(const KernelSpec& spec, const LoopNest& nest,
                                         const std::vector<uint64_t>& device_ptrs) {
  const int rank = spec.layout.rank;
  const int nops = spec.ir.num_operands();
  if (!(nest.layout == spec.layout) || static_cast<int>(nest.shape.size()) != rank ||
      static_cast<int>(nest.strides.size()) != nops * rank ||
      static_cast<int>(device_ptrs.size()) != nops)
    throw ValueError("cuda_kernel_params: the loop nest (layout " + nest.layout.key() +
                     ", " + std::to_string(device_ptrs.size()) +
                     " pointers) does not fit the kernel (layout " + spec.layout.key() +
                     ", " + std::to_string(nops) + " operands)");
  std::vector<uint64_t> words;
  words.reserve(rank + nops * rank + nops);
  for (int64_t e : nest.shape) words.push_back(static_cast<uint64_t>(e));
  for (int64_t s : nest.strides) words.push_back(static_cast<uint64_t>(s));
  for (uint64_t p : device_ptrs) words.push_back(p);
  return words;
}

}  // namespace theanine
