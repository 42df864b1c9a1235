#include "codegen/llvm/vector_math.h"

#include <dlfcn.h>

namespace theanine::llvm_jit {
namespace {

struct MathFunction {
  const char* name;    // the double version; the float one appends 'f'
  int arity;           // vector arguments
  bool has_intrinsic;  // LLVM 19 has llvm.<name>.f32/.f64
};

// What glibc 2.35+ libmvec exports (sincos is left out: it returns through pointers).
constexpr MathFunction kFunctions[] = {
    {"exp", 1, true},    {"exp2", 1, true},   {"exp10", 1, true},  {"expm1", 1, false},
    {"log", 1, true},    {"log2", 1, true},   {"log10", 1, true},  {"log1p", 1, false},
    {"sin", 1, true},    {"cos", 1, true},    {"tan", 1, true},    {"asin", 1, true},
    {"acos", 1, true},   {"atan", 1, true},   {"sinh", 1, true},   {"cosh", 1, true},
    {"tanh", 1, true},   {"asinh", 1, false}, {"acosh", 1, false}, {"atanh", 1, false},
    {"erf", 1, false},   {"erfc", 1, false},  {"cbrt", 1, false},  {"pow", 2, true},
    {"atan2", 2, false}, {"hypot", 2, false},
};

// libm functions without a libmvec variant that are still pure for our purposes.
constexpr const char* kOtherPure[] = {
    "sqrt", "fabs",      "floor", "ceil", "trunc",    "round",
    "rint", "nearbyint", "fmin",  "fmax", "copysign", "fmod",
};

void* libmvec_handle() {
  // Kept open for the life of the process: JIT'd code calls into it.
  static void* handle = [] {
    void* h = dlopen("libmvec.so.1", RTLD_NOW | RTLD_GLOBAL);
    if (!h) h = dlopen("libmvec.so", RTLD_NOW | RTLD_GLOBAL);
    return h;
  }();
  return handle;
}

bool exported(const std::string& symbol) {
  void* h = libmvec_handle();
  return h && dlsym(h, symbol.c_str()) != nullptr;
}

}  // namespace

std::vector<MathVariant> libmvec_variants(const VectorIsa& isa, int max_vector_bits) {
  std::vector<MathVariant> out;
  if (!libmvec_handle()) return out;
  for (const MathFunction& fn : kFunctions) {
    for (int elem_bits : {32, 64}) {
      std::string scalar = std::string(fn.name) + (elem_bits == 32 ? "f" : "");
      for (int width : {128, 256, 512}) {
        if (width > max_vector_bits) continue;
        // The best ISA letter of this width the host runs, falling back to AVX's
        // 'c' when an older libmvec lacks the AVX2 'd' symbol.
        std::vector<char> letters;
        if (width == 128 && isa.sse2) letters = {'b'};
        if (width == 256 && isa.avx2) letters.push_back('d');
        if (width == 256 && isa.avx) letters.push_back('c');
        if (width == 512 && isa.avx512f) letters = {'e'};
        unsigned lanes = unsigned(width / elem_bits);
        std::string params(size_t(fn.arity), 'v');
        for (char letter : letters) {
          std::string vector = std::string("_ZGV") + letter + "N" +
                               std::to_string(lanes) + params + "_" + scalar;
          if (!exported(vector)) continue;
          std::string prefix = "_ZGV_LLVM_N" + std::to_string(lanes) + params;
          out.push_back({scalar, vector, lanes, prefix});
          if (fn.has_intrinsic) {
            std::string intrinsic =
                std::string("llvm.") + fn.name + (elem_bits == 32 ? ".f32" : ".f64");
            out.push_back({intrinsic, vector, lanes, prefix});
          }
          break;
        }
      }
    }
  }
  return out;
}

bool is_pure_math_function(std::string_view name) {
  auto matches = [&](std::string_view base) {
    return name == base || (name.size() == base.size() + 1 && name.back() == 'f' &&
                            name.substr(0, base.size()) == base);
  };
  for (const MathFunction& fn : kFunctions) {
    if (matches(fn.name)) return true;
  }
  for (const char* base : kOtherPure) {
    if (matches(base)) return true;
  }
  return false;
}

}  // namespace theanine::llvm_jit
