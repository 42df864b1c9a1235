#pragma once
// LLVM IR text -> host object code: parse and verify, retarget to the host, LLVM's
// O3 pipeline with loop and SLP vectorization and libmvec as the vector math
// library, then machine code. No caching and no linking here (codegen/llvm/jit.cc).
//
// A module with several external functions is split: each part keeps the bodies of
// some of them (and every internal helper), the parts are optimized and compiled on
// threads of their own and give one object file each, linked together later.
#include <memory>
#include <string>
#include <vector>

#include "codegen/llvm/jit.h"
#include "codegen/llvm/vector_math.h"

namespace theanine::llvm_jit {

// What the code is compiled for; all of it goes into the cache key.
struct HostTarget {
  std::string triple;    // "x86_64-pc-linux-gnu"
  std::string cpu;       // "znver4"
  std::string features;  // "+avx,+avx2,...,-xop", sorted
  int vector_bits = 128;
  std::vector<MathVariant> math_variants;
  // THEANINE_LLVM_ARGS: LLVM command-line options (e.g. "-vectorize-loops=false")
  // for experiments, read once per process.
  std::string llvm_args;
};

class ModuleCompiler {
 public:
  // Initializes LLVM's native target (once per process) and describes the host.
  ModuleCompiler();
  ~ModuleCompiler();

  const HostTarget& host() const;

  // Object files (one per part) for the module, after checking that each of
  // `symbols` is a function it defines with external linkage. Throws theanine::Error
  // naming the IR line for text that does not parse or verify. Fills the parse,
  // optimize and codegen times of stats (summed over parts: the work, not the wall).
  std::vector<std::string> compile(const std::string& ir,
                                   const std::vector<std::string>& symbols,
                                   CompileStats& stats) const;

  std::string optimized_ir(const std::string& ir) const;
  std::string assembly(const std::string& ir) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace theanine::llvm_jit
