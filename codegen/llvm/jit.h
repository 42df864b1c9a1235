#pragma once
// The LLVM CPU backend's engine: LLVM IR text in, function pointers out.
//
// compile() parses and verifies the module, retargets it to the host (triple, data
// layout, CPU and features), runs LLVM's O3 pipeline with loop and SLP vectorization
// and glibc's libmvec as the vector math library, emits an object file and links it
// into one process-wide ORC LLJIT, each module into a JITDylib of its own: equal
// function names in different modules never clash.
//
// Two caches sit in front: in memory (the same text again in this process gives the
// same code) and on disk (codegen/disk_cache.h, namespace "llvm-<arch>", keyed by
// the text, host CPU and features, the LLVM version, the libmvec variants present
// and kEngineVersion), so a later process loads the object instead of compiling.
//
// What the IR must look like:
//  - each function asked for by name is a definition with external linkage; helpers
//    should be internal (or private), constants too: a module with several external
//    functions is compiled on several threads, each part keeping its own copy of
//    the internal helpers, while an external global lives in one part only.
//    Target triple and data layout in the text are replaced by the host's.
//  - declarations of libm functions (expf, tanhf, pow, ...) are marked
//    memory(none) nounwind willreturn here, so the emitter needs no attributes on
//    them; LLVM intrinsics (llvm.exp.f32, llvm.tanh.f64, ...) map to libmvec too.
//  - floating-point reductions vectorize only with `reassoc` (or `fast`) on their
//    fadd/fmul; `noalias` on pointer arguments spares the vectorizer run-time checks.
// Environment: THEANINE_CACHE_DIR (see codegen/disk_cache.h), THEANINE_JIT_THREADS
// (at most this many threads compile one module; default: the cores, up to 8),
// THEANINE_JIT_DUMP_DIR (write each module compiled from IR there, for debugging),
// THEANINE_LLVM_ARGS (LLVM command-line options, for experiments; part of the key).
// Compiled only when THEANINE_HAVE_LLVM.
#include <cstdint>
#include <string>
#include <vector>

namespace theanine::llvm_jit {

// Bump when anything that changes the emitted code changes (pipeline, options,
// mappings): disk cache entries of other versions are then never looked at.
inline constexpr const char* kEngineVersion = "theanine-llvm-jit-1";

struct CompileStats {
  bool memory_hit = false;
  bool disk_hit = false;
  double ms = 0;  // the whole call
  // The stages that ran (0 when skipped): parse and verify, the O3 pipeline, machine
  // code (these three summed over the threads of a split module: work, not wall
  // time), reading and checking the disk entry, linking and symbol lookup.
  double parse_ms = 0;
  double optimize_ms = 0;
  double codegen_ms = 0;
  double disk_load_ms = 0;
  double link_ms = 0;
  size_t object_bytes = 0;
  int parts = 0;  // threads the module was split over to compile (0: not compiled)
};

// Compiles one LLVM IR module given as text for the host CPU and returns the address
// of each requested function, in order. Thread-safe. Equal text (plus CPU, features,
// LLVM version and kEngineVersion) reuses the in-memory result; else the disk cache
// is consulted; else it is compiled and the object code stored. Errors (IR that does
// not parse or verify, a symbol missing) throw theanine::Error with the LLVM
// diagnostic and the offending IR line. Code stays mapped for the life of the process.
std::vector<void*> compile(const std::string& ir_text,
                           const std::vector<std::string>& symbols,
                           CompileStats* stats = nullptr);

// For tests and debugging: the optimized IR and the host assembly of a module.
std::string optimized_ir(const std::string& ir_text);
std::string assembly(const std::string& ir_text);

std::string host_cpu_name();  // e.g. "skylake-avx512", "znver4"
std::string host_features();  // "+avx2,+fma,...,-xop"
int preferred_vector_bits();  // what the loop vectorizer uses: 128, 256 or 512
// The libmvec functions the vectorizer may call, as "scalar->vector" strings.
std::vector<std::string> vector_math_mappings();

struct CacheInfo {
  uint64_t compiles = 0;     // modules compiled from IR
  uint64_t memory_hits = 0;  // compile() calls answered from memory
  uint64_t disk_hits = 0;    // modules loaded from the disk cache
  uint64_t memory_entries = 0;
  std::string disk_dir;  // "" when the disk cache is off
};
CacheInfo cache_info();

// Forgets the in-memory cache, so that the next compile() of a module behaves as
// in a fresh process (disk cache, then compiling). Code already returned stays
// valid. For tests and benchmarks.
void clear_memory_cache();

}  // namespace theanine::llvm_jit
