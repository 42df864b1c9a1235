#pragma once
// Which scalar math functions the loop vectorizer may replace by glibc's libmvec
// (the x86-64 vector function ABI: _ZGV<isa>N<lanes><v per argument>_<name>), and
// which libm functions are pure enough to be vectorized at all.
#include <string>
#include <string_view>
#include <vector>

namespace theanine::llvm_jit {

// One vector variant of a scalar function (a libm name such as "tanhf", or an LLVM
// intrinsic such as "llvm.tanh.f32"), as LLVM's TargetLibraryInfo VecDesc wants it.
struct MathVariant {
  std::string scalar;       // "tanhf", "llvm.tanh.f32"
  std::string vector;       // "_ZGVdN8v_tanhf"
  unsigned lanes;           // 8
  std::string vabi_prefix;  // "_ZGV_LLVM_N8v": LLVM 19's prefix, "v" per argument
};

// The ISA levels of the host that libmvec has variants for.
struct VectorIsa {
  bool sse2 = false;     // 'b': 128-bit
  bool avx = false;      // 'c': 256-bit, AVX only
  bool avx2 = false;     // 'd': 256-bit, AVX2
  bool avx512f = false;  // 'e': 512-bit
};

// Every libmvec variant this process can call: the host runs its ISA, its vector
// width is at most max_vector_bits (the width the vectorizer uses, so no call passes a
// vector wider than the code around it), and the loaded libmvec exports its symbol
// (an older glibc lacks some and simply vectorizes fewer functions). Loads
// libmvec.so.1 into the process (RTLD_GLOBAL) the first time, so JIT'd code links.
std::vector<MathVariant> libmvec_variants(const VectorIsa& isa, int max_vector_bits);

// True for libm functions with no side effect theanine cares about (errno is never
// read): their declarations get memory(none), which the vectorizer needs.
bool is_pure_math_function(std::string_view name);

}  // namespace theanine::llvm_jit
