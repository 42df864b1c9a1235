#include "codegen/llvm_backend.h"

#include <chrono>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "codegen/cuda_check.h"
#include "codegen/disk_cache.h"
#include "codegen/llvm_emit.h"
#include "runtime/error.h"

#if THEANINE_HAVE_LLVM
#include "codegen/llvm/jit.h"
#endif

namespace theanine {

namespace {

// A deterministic symbol per spec: the same kernels give the same module text
// in every process, which is what the disk cache keys on.
std::string symbol_of(const std::string& key) {
  return "th_k" + sha256_hex(key).substr(0, 24);
}

struct KernelTable {
  std::mutex mutex;
  std::unordered_map<std::string, KernelFn> by_key;
};
KernelTable& table() {
  static KernelTable* t = new KernelTable();  // outlives static destructors
  return *t;
}

#if THEANINE_HAVE_LLVM
// Compiles the specs missing from the table; the caller holds the mutex.
void compile_missing(const std::vector<KernelSpec>& specs, KernelCompileStats* stats) {
  KernelTable& t = table();
  std::vector<std::pair<std::string, KernelSpec>> todo;
  std::vector<std::string> keys;
  std::unordered_set<std::string> seen;
  for (const KernelSpec& s : specs) {
    std::string key = s.key();
    if (!seen.insert(key).second) continue;
    if (stats) ++stats->kernels;
    if (t.by_key.count(key)) continue;
    // CI compiles every kernel the tests generate with NVRTC as well.
    record_kernel_for_cuda_check(s);
    todo.push_back({symbol_of(key), s});
    keys.push_back(std::move(key));
  }
  if (todo.empty()) return;
  std::vector<std::string> symbols;
  for (auto& [sym, spec] : todo) symbols.push_back(sym);
  const std::string text = emit_llvm_module(todo);
  llvm_jit::CompileStats cs;
  std::vector<void*> fns = llvm_jit::compile(text, symbols, &cs);
  for (size_t i = 0; i < keys.size(); ++i)
    t.by_key[keys[i]] = reinterpret_cast<KernelFn>(fns.at(i));
  if (stats) {
    stats->compiled += static_cast<int>(todo.size());
    stats->disk_hit = stats->disk_hit || cs.disk_hit;
  }
}
#endif

}  // namespace

bool llvm_backend_available() {
#if THEANINE_HAVE_LLVM
  return true;
#else
  return false;
#endif
}

std::string llvm_module_text(const std::vector<KernelSpec>& specs) {
  std::vector<std::pair<std::string, KernelSpec>> named;
  for (const KernelSpec& s : specs) named.push_back({symbol_of(s.key()), s});
  return emit_llvm_module(named);
}

KernelSource llvm_kernel_source(const std::vector<KernelSpec>& specs,
                                KernelCompileStats* stats) {
#if THEANINE_HAVE_LLVM
  auto t0 = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(table().mutex);
    compile_missing(specs, stats);
  }
  if (stats)
    stats->milliseconds +=
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
            .count();
  return [](const KernelIR& ir, const KernelLayout& layout, size_t) -> KernelFn {
    KernelSpec spec{ir, layout};
    std::string key = spec.key();
    std::lock_guard<std::mutex> lock(table().mutex);
    auto it = table().by_key.find(key);
    if (it != table().by_key.end()) return it->second;
    compile_missing({spec}, nullptr);
    return table().by_key.at(key);
  };
#else
  (void)specs;
  (void)stats;
  throw Error("this build of theanine has no LLVM backend (configure with LLVM 19)");
#endif
}

}  // namespace theanine
