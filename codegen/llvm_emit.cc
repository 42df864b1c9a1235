#include "codegen/llvm_emit.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <set>

#include "codegen/kernel_helpers.h"
#include "codegen/scalar_walk.h"
#include "ops/scalar_op_table.h"
#include "runtime/error.h"

namespace theanine {

namespace {

const char* storage_type(DType d) {
  switch (d) {
    case DType::Bool:
    case DType::Int8:
    case DType::UInt8:
      return "i8";
    case DType::Int16:
      return "i16";
    case DType::Int32:
      return "i32";
    case DType::Int64:
      return "i64";
    case DType::Float32:
      return "float";
    case DType::Float64:
      return "double";
  }
  return "i64";
}

// The LLVM spelling of a float value of type `ty` ("float"/"double"): the
// double bit pattern in hex, which LLVM requires for both.
std::string float_literal(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%016llX", static_cast<unsigned long long>(bits));
  return buf;
}

// A float compute type: its IR name, intrinsic suffix and libm suffix.
struct FloatTy {
  std::string ir;      // "float" / "double"
  std::string suffix;  // "f32" / "f64"
  std::string libm;    // "f" / ""
};
FloatTy float_ty(DType d) {
  return d == DType::Float32 ? FloatTy{"float", "f32", "f"}
                             : FloatTy{"double", "f64", ""};
}

class Emitter;
// A native spelling: operands in the compute representation (a float of the
// operand dtype, or i64), result in the same representation.
using NativeFn =
    std::function<std::string(Emitter&, const std::vector<std::string>&, const FloatTy*)>;

class Emitter {
 public:
  std::string& out;
  std::string allocas;  // hoisted into the entry block
  std::set<std::string>& decls;
  int counter = 0;

  Emitter(std::string& o, std::set<std::string>& d) : out(o), decls(d) {}

  std::string fresh() { return "%t" + std::to_string(counter++); }
  std::string emit(const std::string& rhs) {
    std::string t = fresh();
    out += "  " + t + " = " + rhs + "\n";
    return t;
  }
  void line(const std::string& s) { out += "  " + s + "\n"; }
  void label(const std::string& l) { out += l + ":\n"; }
  std::string alloca(const std::string& ty) {
    std::string t = fresh();
    allocas += "  " + t + " = alloca " + ty + "\n";
    return t;
  }

  // A pure math function of libm: declared readnone so the vectorizer may map
  // it to its vector-library variant.
  std::string call_math(const std::string& fn, const std::string& ty,
                        const std::vector<std::string>& args) {
    std::string params, call_args;
    for (size_t i = 0; i < args.size(); ++i) {
      params += (i ? ", " : "") + ty;
      call_args += (i ? ", " : "") + ty + " " + args[i];
    }
    decls.insert("declare " + ty + " @" + fn + "(" + params + ") #1");
    return emit("call " + ty + " @" + fn + "(" + call_args + ")");
  }
  std::string intrinsic(const std::string& name, const std::string& ty,
                        const std::vector<std::string>& args,
                        const std::string& extra = "") {
    std::string params, call_args;
    for (size_t i = 0; i < args.size(); ++i) {
      params += (i ? ", " : "") + ty;
      call_args += (i ? ", " : "") + ty + " " + args[i];
    }
    if (!extra.empty()) {
      params += ", i1";
      call_args += ", i1 " + extra;
    }
    decls.insert("declare " + ty + " @" + name + "(" + params + ")");
    return emit("call " + ty + " @" + name + "(" + call_args + ")");
  }

  // i1 -> the compute representation.
  std::string from_bit(const std::string& bit, const FloatTy* f) {
    return f ? emit("uitofp i1 " + bit + " to " + f->ir)
             : emit("zext i1 " + bit + " to i64");
  }
  std::string select(const std::string& c, const std::string& ty, const std::string& a,
                     const std::string& b) {
    return emit("select i1 " + c + ", " + ty + " " + a + ", " + ty + " " + b);
  }

  // ---- conversions between dtypes ---------------------------------------

  // A stored value of dtype d -> its compute representation.
  std::string to_compute(const std::string& v, DType d) {
    if (is_float(d)) return v;
    if (d == DType::Int64) return v;
    const char* ext = (is_bool(d) || is_unsigned(d)) ? "zext" : "sext";
    return emit(std::string(ext) + " " + storage_type(d) + " " + v + " to i64");
  }
  // The compute representation of an operand dtype `from` -> a stored `to`.
  std::string from_compute(const std::string& v, DType from, DType to) {
    if (is_float(from)) {
      const FloatTy f = float_ty(from);
      if (is_float(to)) {
        if (to == from) return v;
        return emit(std::string(to == DType::Float64 ? "fpext " : "fptrunc ") + f.ir +
                    " " + v + " to " + storage_type(to));
      }
      if (is_bool(to)) {
        std::string b = emit("fcmp une " + f.ir + " " + v + ", 0.0");
        return emit("zext i1 " + b + " to i8");
      }
      // As the reference (and NumPy on x86): through int64, where NaN and
      // values out of int64's range become INT64_MIN, then wrapped to the
      // width. The select keeps fptosi's poison for those out of the result.
      std::string ab = intrinsic("llvm.fabs." + f.suffix, f.ir, {v});
      std::string ok = emit("fcmp olt " + f.ir + " " + ab + ", " +
                            float_literal(9223372036854775808.0));
      std::string i = emit("fptosi " + f.ir + " " + v + " to i64");
      std::string r = select(ok, "i64", i, "-9223372036854775808");
      if (to == DType::Int64) return r;
      return emit("trunc i64 " + r + " to " + storage_type(to));
    }
    // From i64.
    if (is_float(to)) return emit("sitofp i64 " + v + " to " + storage_type(to));
    if (is_bool(to)) {
      std::string b = emit("icmp ne i64 " + v + ", 0");
      return emit("zext i1 " + b + " to i8");
    }
    if (to == DType::Int64) return v;
    return emit("trunc i64 " + v + " to " + storage_type(to));
  }
  // A stored value of dtype `from` -> stored dtype `to` (NumPy's astype).
  std::string cast(const std::string& v, DType from, DType to) {
    if (from == to) return v;
    return from_compute(to_compute(v, from), from, to);
  }

  std::string literal(const ScalarConstant& c) {
    DType d = c.value.dtype();
    if (is_float(d)) return float_literal(c.value.item_double());
    return std::to_string(c.value.item_int());
  }

  // ---- one scalar op --------------------------------------------------------

  std::string op(const ScalarOp& op, const ScalarNode& node,
                 const std::vector<std::string>& args, DType operand);
  std::string fallback(const ScalarOp& op, const std::vector<std::string>& args,
                       DType operand);
};

const FloatTy* fty_ptr(DType operand, FloatTy& storage) {
  if (!is_float(operand)) return nullptr;
  storage = float_ty(operand);
  return &storage;
}

std::string binop(Emitter& e, const char* fop, const char* iop,
                  const std::vector<std::string>& a, const FloatTy* f) {
  return f ? e.emit(std::string(fop) + " " + f->ir + " " + a[0] + ", " + a[1])
           : e.emit(std::string(iop) + " i64 " + a[0] + ", " + a[1]);
}
std::string compare(Emitter& e, const char* fcond, const char* icond,
                    const std::vector<std::string>& a, const FloatTy* f) {
  std::string bit =
      f ? e.emit(std::string("fcmp ") + fcond + " " + f->ir + " " + a[0] + ", " + a[1])
        : e.emit(std::string("icmp ") + icond + " i64 " + a[0] + ", " + a[1]);
  return e.from_bit(bit, f);
}
NativeFn math1(const char* name) {
  return [name](Emitter& e, const std::vector<std::string>& a, const FloatTy* f) {
    return e.call_math(std::string(name) + f->libm, f->ir, {a[0]});
  };
}
// NumPy's maximum/minimum: NaN in either operand wins (the first if both).
std::string extremum(Emitter& e, const std::vector<std::string>& a, const FloatTy* f,
                     bool max) {
  if (!f) {
    std::string c = e.emit(std::string("icmp ") + (max ? "sge" : "sle") + " i64 " + a[0] +
                           ", " + a[1]);
    return e.select(c, "i64", a[0], a[1]);
  }
  std::string c = e.emit(std::string("fcmp ") + (max ? "oge " : "ole ") + f->ir + " " +
                         a[0] + ", " + a[1]);
  std::string nan = e.emit("fcmp uno " + f->ir + " " + a[0] + ", " + a[0]);
  return e.select(e.emit("or i1 " + c + ", " + nan), f->ir, a[0], a[1]);
}

// The native column: how the LLVM backend spells each scalar op. An op not
// listed (or not for this compute class) goes through the helper table.
struct Native {
  NativeFn fn;
  bool for_float;
  bool for_int;
};
const std::map<std::string, Native>& natives() {
  static const std::map<std::string, Native> table = [] {
    std::map<std::string, Native> t;
    using A = const std::vector<std::string>&;
    using F = const FloatTy*;
    t["add"] = {[](Emitter& e, A a, F f) { return binop(e, "fadd", "add", a, f); }, true,
                true};
    t["sub"] = {[](Emitter& e, A a, F f) { return binop(e, "fsub", "sub", a, f); }, true,
                true};
    t["mul"] = {[](Emitter& e, A a, F f) { return binop(e, "fmul", "mul", a, f); }, true,
                true};
    t["true_div"] = {[](Emitter& e, A a, F f) { return binop(e, "fdiv", "sdiv", a, f); },
                     true, false};
    t["neg"] = {[](Emitter& e, A a, F f) {
                  return f ? e.emit("fneg " + f->ir + " " + a[0])
                           : e.emit("sub i64 0, " + a[0]);
                },
                true, true};
    t["abs"] = {[](Emitter& e, A a, F f) {
                  return f ? e.intrinsic("llvm.fabs." + f->suffix, f->ir, {a[0]})
                           : e.intrinsic("llvm.abs.i64", "i64", {a[0]}, "false");
                },
                true, true};
    t["sgn"] = {[](Emitter& e, A a, F f) {
                  if (!f) {
                    std::string p = e.from_bit(e.emit("icmp sgt i64 " + a[0] + ", 0"), f);
                    std::string n = e.from_bit(e.emit("icmp slt i64 " + a[0] + ", 0"), f);
                    return e.emit("sub i64 " + p + ", " + n);
                  }
                  std::string pos = e.emit("fcmp ogt " + f->ir + " " + a[0] + ", 0.0");
                  std::string neg = e.emit("fcmp olt " + f->ir + " " + a[0] + ", 0.0");
                  std::string m = e.select(neg, f->ir, "-1.0", a[0]);
                  return e.select(pos, f->ir, "1.0", m);
                },
                true, true};
    t["exp"] = {math1("exp"), true, false};
    t["log"] = {math1("log"), true, false};
    t["log1p"] = {math1("log1p"), true, false};
    t["expm1"] = {math1("expm1"), true, false};
    t["tanh"] = {math1("tanh"), true, false};
    t["sin"] = {math1("sin"), true, false};
    t["cos"] = {math1("cos"), true, false};
    t["pow"] = {[](Emitter& e, A a, F f) {
                  return e.call_math("pow" + f->libm, f->ir, {a[0], a[1]});
                },
                true, false};
    t["sqrt"] = {[](Emitter& e, A a, F f) {
                   return e.intrinsic("llvm.sqrt." + f->suffix, f->ir, {a[0]});
                 },
                 true, false};
    t["sqr"] = {[](Emitter& e, A a, F f) {
                  return binop(e, "fmul", "mul", {a[0], a[0]}, f);
                },
                true, true};
    // With e = exp(-|x|) (never overflows): 1 / (1 + e) for x >= 0 and
    // e / (1 + e) below, which keeps the subnormal tail the reference gives.
    t["sigmoid"] = {
        [](Emitter& e, A a, F f) {
          std::string ab = e.intrinsic("llvm.fabs." + f->suffix, f->ir, {a[0]});
          std::string n = e.emit("fneg " + f->ir + " " + ab);
          std::string x = e.call_math("exp" + f->libm, f->ir, {n});
          std::string d = e.emit("fadd " + f->ir + " 1.0, " + x);
          std::string r = e.emit("fdiv " + f->ir + " 1.0, " + d);
          std::string neg_r = e.emit("fmul " + f->ir + " " + x + ", " + r);
          std::string pos = e.emit("fcmp oge " + f->ir + " " + a[0] + ", 0.0");
          std::string nan = e.emit("fcmp uno " + f->ir + " " + a[0] + ", 0.0");
          std::string keep = e.emit("or i1 " + pos + ", " + nan);
          return e.select(keep, f->ir, r, neg_r);
        },
        true, false};
    // max(x, 0) + log1p(exp(-|x|)): no overflow, NaN stays NaN.
    t["softplus"] = {
        [](Emitter& e, A a, F f) {
          std::string ab = e.intrinsic("llvm.fabs." + f->suffix, f->ir, {a[0]});
          std::string n = e.emit("fneg " + f->ir + " " + ab);
          std::string x = e.call_math("exp" + f->libm, f->ir, {n});
          std::string l = e.call_math("log1p" + f->libm, f->ir, {x});
          std::string pos = e.emit("fcmp ogt " + f->ir + " " + a[0] + ", 0.0");
          std::string m = e.select(pos, f->ir, a[0], "0.0");
          return e.emit("fadd " + f->ir + " " + m + ", " + l);
        },
        true, false};
    t["maximum"] = {[](Emitter& e, A a, F f) { return extremum(e, a, f, true); }, true,
                    true};
    t["minimum"] = {[](Emitter& e, A a, F f) { return extremum(e, a, f, false); }, true,
                    true};
    t["clip"] = {[](Emitter& e, A a, F f) {
                   std::string lo = extremum(e, {a[0], a[1]}, f, true);
                   return extremum(e, {lo, a[2]}, f, false);
                 },
                 true, true};
    for (const char* r : {"round", "floor", "ceil"}) {
      std::string intr = std::string(r) == "round" ? "roundeven" : r;
      t[r] = {[intr](Emitter& e, A a, F f) {
                if (!f) return a[0];
                return e.intrinsic("llvm." + intr + "." + f->suffix, f->ir, {a[0]});
              },
              true, true};
    }
    t["eq"] = {[](Emitter& e, A a, F f) { return compare(e, "oeq", "eq", a, f); }, true,
               true};
    t["neq"] = {[](Emitter& e, A a, F f) { return compare(e, "une", "ne", a, f); }, true,
                true};
    t["lt"] = {[](Emitter& e, A a, F f) { return compare(e, "olt", "slt", a, f); }, true,
               true};
    t["le"] = {[](Emitter& e, A a, F f) { return compare(e, "ole", "sle", a, f); }, true,
               true};
    t["gt"] = {[](Emitter& e, A a, F f) { return compare(e, "ogt", "sgt", a, f); }, true,
               true};
    t["ge"] = {[](Emitter& e, A a, F f) { return compare(e, "oge", "sge", a, f); }, true,
               true};
    t["and_"] = {[](Emitter& e, A a, F f) { return binop(e, "", "and", a, f); }, false,
                 true};
    t["or_"] = {[](Emitter& e, A a, F f) { return binop(e, "", "or", a, f); }, false,
                true};
    t["xor"] = {[](Emitter& e, A a, F f) { return binop(e, "", "xor", a, f); }, false,
                true};
    t["invert"] = {
        [](Emitter& e, A a, F f) { return e.emit("xor i64 " + a[0] + ", -1"); }, false,
        true};
    t["switch"] = {[](Emitter& e, A a, F f) {
                     std::string c =
                         f ? e.emit("fcmp une " + f->ir + " " + a[0] + ", 0.0")
                           : e.emit("icmp ne i64 " + a[0] + ", 0");
                     return e.select(c, f ? f->ir : "i64", a[1], a[2]);
                   },
                   true, true};
    t["cast"] = {[](Emitter& e, A a, F f) { return a[0]; }, true, true};
    t["isnan"] = {[](Emitter& e, A a, F f) {
                    if (!f) return std::string("0");
                    return e.from_bit(
                        e.emit("fcmp uno " + f->ir + " " + a[0] + ", " + a[0]), f);
                  },
                  true, true};
    t["isinf"] = {
        [](Emitter& e, A a, F f) {
          if (!f) return std::string("0");
          std::string ab = e.intrinsic("llvm.fabs." + f->suffix, f->ir, {a[0]});
          return e.from_bit(
              e.emit("fcmp oeq " + f->ir + " " + ab + ", " + float_literal(HUGE_VAL)), f);
        },
        true, true};
    return t;
  }();
  return table;
}

std::string Emitter::fallback(const ScalarOp& sop, const std::vector<std::string>& args,
                              DType operand) {
  HelperKind kind = is_float(operand)                     ? HelperKind::Float
                    : (is_bool(operand) && sop.eval_bool) ? HelperKind::Bool
                                                          : HelperKind::Int;
  const bool fl = kind == HelperKind::Float;
  const std::string ty = fl ? "double" : "i64";
  FloatTy f = fl ? float_ty(operand) : FloatTy{};
  std::string ptrs = alloca("[" + std::to_string(args.size()) + " x ptr]");
  for (size_t i = 0; i < args.size(); ++i) {
    std::string slot = alloca(ty);
    std::string v = args[i];
    if (fl && f.ir == "float") v = emit("fpext float " + v + " to double");
    line("store " + ty + " " + v + ", ptr " + slot);
    std::string p = emit("getelementptr inbounds [" + std::to_string(args.size()) +
                         " x ptr], ptr " + ptrs + ", i64 0, i64 " + std::to_string(i));
    line("store ptr " + slot + ", ptr " + p);
  }
  std::string res = alloca(ty);
  std::string fp = emit("getelementptr inbounds ptr, ptr %helpers, i64 " +
                        std::to_string(helper_slot(sop.id, kind)));
  std::string fn = emit("load ptr, ptr " + fp);
  line("call void " + fn + "(ptr " + ptrs + ", ptr " + res + ", i64 1)");
  std::string r = emit("load " + ty + ", ptr " + res);
  if (fl && f.ir == "float") r = emit("fptrunc double " + r + " to float");
  return r;
}

std::string Emitter::op(const ScalarOp& sop, const ScalarNode& node,
                        const std::vector<std::string>& args, DType operand) {
  FloatTy storage;
  const FloatTy* f = fty_ptr(operand, storage);
  if (is_bool(operand) && sop.eval_bool) {
    // The logical meaning (not, rather than ~) on 0/1 values.
    if (std::strcmp(sop.name, "invert") == 0)
      return from_bit(emit("icmp eq i64 " + args[0] + ", 0"), nullptr);
    return fallback(sop, args, operand);
  }
  auto it = natives().find(sop.name);
  if (it != natives().end() && (f ? it->second.for_float : it->second.for_int))
    return it->second.fn(*this, args, f);
  return fallback(sop, args, operand);
}

// ---- kernels ------------------------------------------------------------------

struct KernelWriter {
  const KernelSpec& spec;
  const std::string& symbol;
  Emitter& e;
  int rank;
  int nin, nops;
  std::vector<std::string> ptr_of;  // per operand: the pointer SSA name
  bool inner_reduced = false;
  std::string acc_slot, idx_slot;  // inner-reduced accumulators

  KernelWriter(const KernelSpec& s, const std::string& sym, Emitter& em)
      : spec(s), symbol(sym), e(em) {
    rank = spec.layout.rank;
    nin = spec.ir.num_inputs();
    nops = spec.ir.num_operands();
    inner_reduced = spec.ir.reduce != KernelReduce::None &&
                    ((spec.layout.reduced >> (rank - 1)) & 1u);
  }

  std::string st(int k, int d) {
    return "%st" + std::to_string(k) + "." + std::to_string(d);
  }
  std::string off(int k, int d) {
    return "%o" + std::to_string(k) + "." + std::to_string(d);
  }
  const char* ty(int k) { return storage_type(spec.ir.operand_dtype(k)); }
  std::string gep(int k, const std::string& idx) {
    return e.emit(std::string("getelementptr inbounds ") + ty(k) + ", ptr " + ptr_of[k] +
                  ", i64 " + idx);
  }
  // The operand's element offset at loop level d (after level d's index).
  std::string index_at(int k, int d) { return d < 0 ? "0" : off(k, d); }

  void loop(int d) {
    const std::string L = "L" + std::to_string(d);
    const std::string i = "%i" + std::to_string(d);
    const std::string start = d == 0 ? "%begin" : "0";
    const std::string lim = d == 0 ? "%end" : "%s" + std::to_string(d);
    const bool innermost = d == rank - 1;
    std::string out_loc;
    if (innermost && inner_reduced) {
      // The accumulator stays in a register across the innermost loop.
      out_loc = gep(nin, index_at(nin, d - 1));
      std::string init = e.emit(std::string("load ") + ty(nin) + ", ptr " + out_loc);
      e.line(std::string("store ") + ty(nin) + " " + init + ", ptr " + acc_slot);
      if (spec.ir.is_arg()) {
        std::string best_loc = gep(nin + 1, index_at(nin + 1, d - 1));
        std::string b = e.emit(std::string("load ") + ty(nin + 1) + ", ptr " + best_loc);
        e.line(std::string("store ") + ty(nin + 1) + " " + b + ", ptr " + idx_slot);
        out_loc += "|" + best_loc;
      }
    }
    e.line("store i64 " + start + ", ptr %iv" + std::to_string(d));
    e.line("br label %" + L + ".cond");
    e.label(L + ".cond");
    e.out += "  " + i + " = load i64, ptr %iv" + std::to_string(d) + "\n";
    e.out += "  %c" + std::to_string(d) + " = icmp slt i64 " + i + ", " + lim + "\n";
    e.line("br i1 %c" + std::to_string(d) + ", label %" + L + ".body, label %" + L +
           ".exit");
    e.label(L + ".body");
    for (int k = 0; k < nops; ++k) {
      std::string prev = index_at(k, d - 1);
      std::string v;
      if (innermost && spec.layout.inner[k] == InnerStep::Unit)
        v = "add i64 " + prev + ", " + i;
      else if (innermost && spec.layout.inner[k] == InnerStep::Zero)
        v = "add i64 " + prev + ", 0";
      else
        v = "add i64 " + prev + ", " + e.emit("mul i64 " + i + ", " + st(k, d));
      e.out += "  " + off(k, d) + " = " + v + "\n";
    }
    if (spec.ir.is_arg()) {
      std::string prev = d == 0 ? "0" : "%lin" + std::to_string(d - 1);
      if ((spec.layout.reduced >> d) & 1u)
        e.out += "  %lin" + std::to_string(d) + " = add i64 " + prev + ", " +
                 e.emit("mul i64 " + i + ", %rs" + std::to_string(d)) + "\n";
      else
        e.out += "  %lin" + std::to_string(d) + " = add i64 " + prev + ", 0\n";
    }
    if (innermost)
      element();
    else
      loop(d + 1);
    e.out += "  %n" + std::to_string(d) + " = add i64 " + i + ", 1\n";
    e.line("store i64 %n" + std::to_string(d) + ", ptr %iv" + std::to_string(d));
    e.line("br label %" + L + ".cond");
    e.label(L + ".exit");
    if (innermost && inner_reduced) {
      size_t bar = out_loc.find('|');
      std::string loc = out_loc.substr(0, bar);
      std::string a = e.emit(std::string("load ") + ty(nin) + ", ptr " + acc_slot);
      e.line(std::string("store ") + ty(nin) + " " + a + ", ptr " + loc);
      if (bar != std::string::npos) {
        std::string b = e.emit(std::string("load ") + ty(nin + 1) + ", ptr " + idx_slot);
        e.line(std::string("store ") + ty(nin + 1) + " " + b + ", ptr " +
               out_loc.substr(bar + 1));
      }
    }
  }

  // Evaluates the body at one point and stores or accumulates the outputs.
  void element() {
    const ScalarGraph& g = spec.ir.body;
    const int d = rank - 1;
    std::vector<std::string> in_val(nin);
    // Every load comes before any store: an output written over an input is
    // then never read back.
    for (int k = 0; k < nin; ++k) {
      std::string p = gep(k, off(k, d));
      in_val[k] = e.emit(std::string("load ") + ty(k) + ", ptr " + p);
    }
    const std::vector<std::string> node_val = spell_scalar_graph(
        g, in_val, e,
        [&](size_t, const ScalarNode& node, const ScalarOp& sop,
            const std::vector<std::string>& args) {
          std::string res = e.op(sop, node, args, node.dtypes.operand);
          return e.from_compute(res, node.dtypes.operand, node.dtypes.output);
        });
    if (spec.ir.reduce == KernelReduce::None) {
      for (int o = 0; o < static_cast<int>(g.outputs.size()); ++o) {
        std::string p = gep(nin + o, off(nin + o, d));
        e.line(std::string("store ") + ty(nin + o) + " " + node_val[g.outputs[o]] +
               ", ptr " + p);
      }
      return;
    }
    const DType vd = g.nodes[g.outputs[0]].dtypes.output;
    std::string v = node_val[g.outputs[0]];
    if (spec.ir.is_arg()) {
      arg_step(v, vd);
      return;
    }
    const DType ad = spec.ir.acc_dtype;
    v = e.cast(v, vd, ad);
    std::string loc = inner_reduced ? acc_slot : gep(nin, off(nin, d));
    std::string acc = e.emit(std::string("load ") + ty(nin) + ", ptr " + loc);
    std::string next = combine(acc, v, ad);
    e.line(std::string("store ") + ty(nin) + " " + next + ", ptr " + loc);
  }

  std::string combine(const std::string& acc, const std::string& v, DType ad) {
    const bool fl = is_float(ad);
    const std::string t = storage_type(ad);
    switch (spec.ir.reduce) {
      case KernelReduce::Sum:
        return fl ? e.emit("fadd reassoc " + t + " " + acc + ", " + v)
                  : e.emit("add " + t + " " + acc + ", " + v);
      case KernelReduce::Prod:
        return fl ? e.emit("fmul reassoc " + t + " " + acc + ", " + v)
                  : e.emit("mul " + t + " " + acc + ", " + v);
      case KernelReduce::Max:
      case KernelReduce::Min: {
        const bool mx = spec.ir.reduce == KernelReduce::Max;
        if (fl) {
          FloatTy f = float_ty(ad);
          return e.intrinsic(
              std::string("llvm.") + (mx ? "maximum." : "minimum.") + f.suffix, t,
              {acc, v});
        }
        std::string fn = std::string("llvm.") +
                         (is_unsigned(ad) || is_bool(ad) ? (mx ? "umax." : "umin.")
                                                         : (mx ? "smax." : "smin.")) +
                         t;
        return e.intrinsic(fn, t, {acc, v});
      }
      default:
        break;
    }
    throw Error("combine: not a plain reduction");
  }

  // Argmax/argmin: the first position of the best value; NaN is best.
  void arg_step(const std::string& v, DType vd) {
    const int d = rank - 1;
    const bool mx = spec.ir.reduce == KernelReduce::Argmax;
    const std::string vt = storage_type(vd);
    std::string best_loc = inner_reduced ? idx_slot : gep(nin + 1, off(nin + 1, d));
    std::string idx_loc = inner_reduced ? acc_slot : gep(nin, off(nin, d));
    std::string best = e.emit("load " + vt + ", ptr " + best_loc);
    std::string better;
    if (is_float(vd)) {
      std::string gt = e.emit(std::string("fcmp ") + (mx ? "ogt " : "olt ") + vt + " " +
                              v + ", " + best);
      std::string vnan = e.emit("fcmp uno " + vt + " " + v + ", " + v);
      std::string bnum = e.emit("fcmp ord " + vt + " " + best + ", " + best);
      std::string nan_first = e.emit("and i1 " + vnan + ", " + bnum);
      better = e.emit("or i1 " + gt + ", " + nan_first);
    } else {
      const char* c =
          is_unsigned(vd) || is_bool(vd) ? (mx ? "ugt" : "ult") : (mx ? "sgt" : "slt");
      better = e.emit(std::string("icmp ") + c + " " + vt + " " + v + ", " + best);
    }
    std::string nb = e.select(better, vt, v, best);
    e.line("store " + vt + " " + nb + ", ptr " + best_loc);
    std::string idx = e.emit("load i64, ptr " + idx_loc);
    std::string ni = e.select(better, "i64", "%lin" + std::to_string(d), idx);
    e.line("store i64 " + ni + ", ptr " + idx_loc);
  }

  void write() {
    // Distinct pointers: an output overwriting an input shares its argument.
    std::vector<int> param_of(nops);
    int nparams = 0;
    for (int k = 0; k < nops; ++k) {
      int o = k - nin;
      if (o >= 0 && o < static_cast<int>(spec.layout.same_as.size()) &&
          spec.layout.same_as[o] >= 0)
        param_of[k] = param_of[spec.layout.same_as[o]];
      else
        param_of[k] = nparams++;
    }
    for (int k = 0; k < nops; ++k) ptr_of.push_back("%q" + std::to_string(param_of[k]));

    std::string& out = e.out;
    out +=
        "define internal void @" + symbol +
        ".body(i64 %begin, i64 %end, ptr noalias nocapture readonly %shape, ptr noalias "
        "nocapture readonly %strides";
    for (int p = 0; p < nparams; ++p)
      out += ", ptr noalias nocapture %q" + std::to_string(p);
    out += ", ptr nocapture readonly %helpers) #0 {\nentry:\n";
    const size_t alloca_at = out.size();
    for (int d = 0; d < rank; ++d) {
      std::string p =
          e.emit("getelementptr inbounds i64, ptr %shape, i64 " + std::to_string(d));
      out += "  %s" + std::to_string(d) + " = load i64, ptr " + p + "\n";
    }
    for (int k = 0; k < nops; ++k)
      for (int d = 0; d < rank; ++d) {
        std::string p = e.emit("getelementptr inbounds i64, ptr %strides, i64 " +
                               std::to_string(k * rank + d));
        out += "  " + st(k, d) + " = load i64, ptr " + p + "\n";
      }
    if (spec.ir.is_arg()) {
      // %rs{d}: the linear step of reduced loop dimension d.
      std::string step = "1";
      for (int d = rank - 1; d >= 0; --d) {
        out += "  %rs" + std::to_string(d) + " = add i64 " + step + ", 0\n";
        if ((spec.layout.reduced >> d) & 1u)
          step = e.emit("mul i64 " + step + ", %s" + std::to_string(d));
      }
    }
    for (int d = 0; d < rank; ++d)
      e.allocas += "  %iv" + std::to_string(d) + " = alloca i64\n";
    if (inner_reduced) {
      acc_slot = e.alloca(ty(nin));
      if (spec.ir.is_arg()) idx_slot = e.alloca(ty(nin + 1));
    }
    loop(0);
    e.line("ret void");
    out += "}\n\n";
    out.insert(alloca_at, e.allocas);
    e.allocas.clear();

    // The entry point: unpack the pointer array.
    out +=
        "define void @" + symbol +
        "(i64 %begin, i64 %end, ptr %shape, ptr %strides, ptr %ptrs, ptr %helpers) #2 {\n"
        "entry:\n";
    std::string call_args;
    for (int p = 0; p < nparams; ++p) {
      int k = 0;
      while (param_of[k] != p) ++k;
      out += "  %a" + std::to_string(p) +
             "p = getelementptr inbounds ptr, ptr %ptrs, i64 " + std::to_string(k) + "\n";
      out +=
          "  %a" + std::to_string(p) + " = load ptr, ptr %a" + std::to_string(p) + "p\n";
      call_args += ", ptr %a" + std::to_string(p);
    }
    out += "  call void @" + symbol +
           ".body(i64 %begin, i64 %end, ptr %shape, ptr %strides" + call_args +
           ", ptr %helpers)\n  ret void\n}\n\n";
  }
};

}  // namespace

bool llvm_native_op(int op_id, bool float_compute) {
  auto it = natives().find(scalar_op(op_id).name);
  if (it == natives().end()) return false;
  return float_compute ? it->second.for_float : it->second.for_int;
}

std::string emit_llvm_module(
    const std::vector<std::pair<std::string, KernelSpec>>& kernels) {
  std::string body;
  std::set<std::string> decls;
  for (const auto& [symbol, spec] : kernels) {
    if (spec.layout.rank < 1 ||
        static_cast<int>(spec.layout.inner.size()) != spec.ir.num_operands())
      throw ValueError("kernel " + symbol + ": layout does not match its operands");
    Emitter e(body, decls);
    KernelWriter(spec, symbol, e).write();
  }
  std::string text = "; theanine kernels\n";
  text += body;
  for (const std::string& d : decls) text += d + "\n";
  text +=
      "\nattributes #0 = { alwaysinline nounwind }\n"
      "attributes #1 = { nounwind willreturn memory(none) }\n"
      "attributes #2 = { nounwind }\n";
  return text;
}

}  // namespace theanine
