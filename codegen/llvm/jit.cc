#include "codegen/llvm/jit.h"

#include <llvm/Config/llvm-config.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/TargetParser/Triple.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "codegen/disk_cache.h"
#include "codegen/llvm/compiler.h"
#include "runtime/error.h"

namespace theanine::llvm_jit {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::string take_message(llvm::Error err) { return llvm::toString(std::move(err)); }

// What the JIT session reported while this thread linked (a symbol not found, say):
// the error a lookup returns only says that materializing failed.
thread_local std::string t_session_errors;

std::string link_error_message(llvm::Error err) {
  std::string msg = take_message(std::move(err));
  if (!t_session_errors.empty()) msg += " (" + t_session_errors + ")";
  t_session_errors.clear();
  return msg;
}

// A module's object files as one disk cache payload: a count, then each object's
// length and bytes (the disk cache checks the whole payload's integrity).
std::string pack_objects(const std::vector<std::string>& objects) {
  std::string out;
  auto put = [&](uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(char((v >> (8 * i)) & 0xff));
  };
  put(objects.size());
  for (const std::string& o : objects) {
    put(o.size());
    out += o;
  }
  return out;
}

std::optional<std::vector<std::string>> unpack_objects(const std::string& payload) {
  size_t pos = 0;
  auto get = [&](uint64_t& v) {
    if (payload.size() - pos < 8) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t(uint8_t(payload[pos + i])) << (8 * i);
    pos += 8;
    return true;
  };
  uint64_t count = 0;
  if (!get(count) || count == 0 || count > 1024) return std::nullopt;
  std::vector<std::string> objects;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t n = 0;
    if (!get(n) || n > payload.size() - pos) return std::nullopt;
    objects.push_back(payload.substr(pos, n));
    pos += n;
  }
  if (pos != payload.size()) return std::nullopt;
  return objects;
}

// For debugging the emitter: THEANINE_JIT_DUMP_DIR=folder writes the text of every
// module compiled from IR there, named by its hash.
void dump_module(const std::string& ir) {
  const char* dir = std::getenv("THEANINE_JIT_DUMP_DIR");
  if (!dir || !*dir) return;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::ofstream(std::string(dir) + "/" + sha256_hex(ir).substr(0, 16) + ".ll") << ir;
}

// One module in the memory cache.
struct Entry {
  std::mutex mu;  // held while the module is built, so that it is built once
  llvm::orc::JITDylib* dylib = nullptr;
  std::unordered_map<std::string, void*> addresses;
};

class Engine {
 public:
  // Built on first use and never destroyed: code it linked may run until exit.
  static Engine& get() {
    static Engine* engine = new Engine();
    return *engine;
  }

  std::vector<void*> compile(const std::string& ir,
                             const std::vector<std::string>& symbols,
                             CompileStats* stats);
  const ModuleCompiler& compiler() const { return compiler_; }
  CacheInfo cache_info();
  void clear_memory_cache() {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.clear();
  }

 private:
  Engine();
  // Links objects into a new JITDylib and looks the symbols up in it.
  llvm::Expected<llvm::orc::JITDylib*> link(const std::vector<std::string>& objects,
                                            const std::vector<std::string>& symbols,
                                            Entry& entry);
  void build(const std::string& key, const std::string& ir,
             const std::vector<std::string>& symbols, Entry& entry, CompileStats& st);

  ModuleCompiler compiler_;
  std::string key_prefix_;
  std::unique_ptr<llvm::orc::LLJIT> jit_;
  std::atomic<uint64_t> dylib_count_{0};
  DiskCache disk_;

  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Entry>> entries_;
  std::atomic<uint64_t> compiles_{0}, memory_hits_{0}, disk_hits_{0};
};

Engine::Engine()
    : disk_("llvm-" + llvm::Triple(compiler_.host().triple).getArchName().str()) {
  const HostTarget& host = compiler_.host();
  std::string vector_functions;
  for (const MathVariant& v : host.math_variants) vector_functions += v.vector + ',';
  key_prefix_ = std::string(kEngineVersion) + '\n' + LLVM_VERSION_STRING + '\n' +
                host.triple + '\n' + host.cpu + '\n' + host.features + '\n' +
                sha256_hex(vector_functions) + '\n' + host.llvm_args + '\n';
  auto jit = llvm::orc::LLJITBuilder().create();
  if (!jit) throw Error("cannot start the LLVM JIT: " + take_message(jit.takeError()));
  jit_ = std::move(*jit);
  jit_->getExecutionSession().setErrorReporter([](llvm::Error err) {
    if (!t_session_errors.empty()) t_session_errors += "; ";
    t_session_errors += take_message(std::move(err));
  });
}

llvm::Expected<llvm::orc::JITDylib*> Engine::link(const std::vector<std::string>& objects,
                                                  const std::vector<std::string>& symbols,
                                                  Entry& entry) {
  t_session_errors.clear();
  std::string name = "theanine." + std::to_string(dylib_count_.fetch_add(1));
  auto dylib = jit_->createJITDylib(name);
  if (!dylib) return dylib.takeError();
  for (size_t i = 0; i < objects.size(); ++i) {
    auto buffer = llvm::MemoryBuffer::getMemBufferCopy(
        objects[i], name + "." + std::to_string(i) + ".o");
    if (auto err = jit_->addObjectFile(*dylib, std::move(buffer))) return err;
  }
  for (const std::string& s : symbols) {
    auto addr = jit_->lookup(*dylib, s);
    if (!addr) return addr.takeError();
    entry.addresses[s] = addr->toPtr<void*>();
  }
  return &*dylib;
}

void Engine::build(const std::string& key, const std::string& ir,
                   const std::vector<std::string>& symbols, Entry& entry,
                   CompileStats& st) {
  auto t0 = Clock::now();
  if (std::optional<std::string> payload = disk_.load(key)) {
    st.disk_load_ms = ms_since(t0);
    if (auto objects = unpack_objects(*payload)) {
      t0 = Clock::now();
      // An entry that does not link (a symbol gone from libmvec; a symbol the caller
      // wants that the module lacks) is compiled again below, which names the
      // problem if there is one.
      auto dylib = link(*objects, symbols, entry);
      st.link_ms = ms_since(t0);
      if (dylib) {
        entry.dylib = *dylib;
        st.disk_hit = true;
        st.object_bytes = payload->size();
        ++disk_hits_;
        return;
      }
      llvm::consumeError(dylib.takeError());
      t_session_errors.clear();
      entry.addresses.clear();
    }
  }
  dump_module(ir);
  std::vector<std::string> objects = compiler_.compile(ir, symbols, st);
  ++compiles_;
  t0 = Clock::now();
  auto dylib = link(objects, symbols, entry);
  if (!dylib) {
    throw Error("cannot link JIT-compiled code: " +
                link_error_message(dylib.takeError()));
  }
  entry.dylib = *dylib;
  st.link_ms = ms_since(t0);
  disk_.store(key, pack_objects(objects));
}

std::vector<void*> Engine::compile(const std::string& ir,
                                   const std::vector<std::string>& symbols,
                                   CompileStats* stats) {
  auto start = Clock::now();
  CompileStats st;
  std::string key = key_prefix_ + ir;
  std::shared_ptr<Entry> entry;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& slot = entries_[key];
    if (!slot) slot = std::make_shared<Entry>();
    entry = slot;
  }
  std::lock_guard<std::mutex> building(entry->mu);
  if (entry->dylib) {
    st.memory_hit = true;
    ++memory_hits_;
  } else {
    try {
      build(key, ir, symbols, *entry, st);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = entries_.find(key);
      if (it != entries_.end() && it->second == entry) entries_.erase(it);
      throw;
    }
  }
  std::vector<void*> out;
  out.reserve(symbols.size());
  for (const std::string& s : symbols) {
    auto it = entry->addresses.find(s);
    if (it == entry->addresses.end()) {
      t_session_errors.clear();
      auto addr = jit_->lookup(*entry->dylib, s);
      if (!addr) {
        throw Error("LLVM IR module defines no function '" + s +
                    "': " + link_error_message(addr.takeError()));
      }
      it = entry->addresses.emplace(s, addr->toPtr<void*>()).first;
    }
    out.push_back(it->second);
  }
  st.ms = ms_since(start);
  if (stats) *stats = st;
  return out;
}

CacheInfo Engine::cache_info() {
  CacheInfo info;
  info.compiles = compiles_;
  info.memory_hits = memory_hits_;
  info.disk_hits = disk_hits_;
  {
    std::lock_guard<std::mutex> lock(mu_);
    info.memory_entries = entries_.size();
  }
  info.disk_dir = disk_.dir();
  return info;
}

}  // namespace

std::vector<void*> compile(const std::string& ir_text,
                           const std::vector<std::string>& symbols, CompileStats* stats) {
  return Engine::get().compile(ir_text, symbols, stats);
}

std::string optimized_ir(const std::string& ir_text) {
  return Engine::get().compiler().optimized_ir(ir_text);
}

std::string assembly(const std::string& ir_text) {
  return Engine::get().compiler().assembly(ir_text);
}

std::string host_cpu_name() { return Engine::get().compiler().host().cpu; }
std::string host_features() { return Engine::get().compiler().host().features; }
int preferred_vector_bits() { return Engine::get().compiler().host().vector_bits; }

std::vector<std::string> vector_math_mappings() {
  std::vector<std::string> out;
  for (const MathVariant& v : Engine::get().compiler().host().math_variants) {
    out.push_back(v.scalar + "->" + v.vector);
  }
  return out;
}

CacheInfo cache_info() { return Engine::get().cache_info(); }
void clear_memory_cache() { Engine::get().clear_memory_cache(); }

}  // namespace theanine::llvm_jit
