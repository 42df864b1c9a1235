// Python bindings: compiled backends and their caches. The JIT entry points are
// there for tests and debugging (and for calling a compiled module through ctypes);
// functions compile through them on their own.
#include <pybind11/stl.h>

#include "codegen/disk_cache.h"
#include "python/bindings.h"
#ifdef THEANINE_HAVE_LLVM
#include "codegen/llvm/jit.h"
#endif

namespace theanine::py {

namespace pyb = pybind11;

void bind_backend(pybind11::module_& m) {
  m.def(
      "disk_cache_set_enabled", [](bool on) { DiskCache::set_enabled(on); },
      pyb::arg("on"),
      "Turns the on-disk compile cache of this process on or off (e.g. to time cold "
      "compiles); THEANINE_CACHE_DIR=\"\" does the same from the environment.");
  m.def("disk_cache_enabled", [] { return DiskCache::enabled(); });
  m.def(
      "jit_cache_info",
      [] {
        pyb::dict d;
#ifdef THEANINE_HAVE_LLVM
        llvm_jit::CacheInfo info = llvm_jit::cache_info();
        d["available"] = true;
        d["compiles"] = info.compiles;
        d["memory_hits"] = info.memory_hits;
        d["disk_hits"] = info.disk_hits;
        d["memory_entries"] = info.memory_entries;
        d["disk_dir"] = info.disk_dir;
        d["host_cpu"] = llvm_jit::host_cpu_name();
        d["host_features"] = llvm_jit::host_features();
        d["preferred_vector_bits"] = llvm_jit::preferred_vector_bits();
        d["engine_version"] = llvm_jit::kEngineVersion;
#else
        d["available"] = false;
#endif
        return d;
      },
      "The LLVM JIT's counters (compiles, memory and disk hits), its cache folder and "
      "the host it compiles for; {'available': False} in a build without LLVM.");
#ifdef THEANINE_HAVE_LLVM
  m.def(
      "jit_cache_clear_memory", [] { llvm_jit::clear_memory_cache(); },
      "Forgets the JIT's in-memory cache: the next compile of a module behaves as in a "
      "fresh process (disk cache, then compiling). Code already compiled stays valid.");
  m.def(
      "jit_compile",
      [](const std::string& ir, const std::vector<std::string>& symbols) {
        llvm_jit::CompileStats st;
        std::vector<void*> fns;
        {
          pyb::gil_scoped_release release;
          fns = llvm_jit::compile(ir, symbols, &st);
        }
        std::vector<uintptr_t> addresses;
        for (void* p : fns) addresses.push_back(reinterpret_cast<uintptr_t>(p));
        pyb::dict stats;
        stats["memory_hit"] = st.memory_hit;
        stats["disk_hit"] = st.disk_hit;
        stats["ms"] = st.ms;
        stats["parse_ms"] = st.parse_ms;
        stats["optimize_ms"] = st.optimize_ms;
        stats["codegen_ms"] = st.codegen_ms;
        stats["disk_load_ms"] = st.disk_load_ms;
        stats["link_ms"] = st.link_ms;
        stats["parts"] = st.parts;
        return pyb::make_tuple(addresses, stats);
      },
      pyb::arg("ir"), pyb::arg("symbols"),
      "Compiles LLVM IR text for this host; returns (addresses of `symbols`, stats).");
  m.def(
      "jit_optimized_ir",
      [](const std::string& ir) {
        pyb::gil_scoped_release release;
        return llvm_jit::optimized_ir(ir);
      },
      pyb::arg("ir"));
  m.def(
      "jit_assembly",
      [](const std::string& ir) {
        pyb::gil_scoped_release release;
        return llvm_jit::assembly(ir);
      },
      pyb::arg("ir"));
#endif
}

}  // namespace theanine::py
