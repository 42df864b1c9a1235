// Modules and kernel launches. A module image is a host shared library built by
// the emulator's NVRTC (tests/cuda_emu/nvrtc.cc); a function is its binder for
// one kernel (tests/cuda_emu/abi.h). A launch binds the arguments at once (so a
// captured launch keeps them) and runs the grid: blocks spread over a few worker
// threads (THEANINE_CUDA_EMU_THREADS, default min(4, cores); 1 runs them in
// order), the threads of a block as fibers on stacks of THEANINE_CUDA_EMU_STACK_KB
// (default 64) with a guard page each.
#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>

#include "tests/cuda_emu/abi.h"
#include "tests/cuda_emu/emu.h"
#include "tests/cuda_emu/module_image.h"

// A loaded library; kept (shared) by every function and bound launch made from
// it, so a graph may outlive cuModuleUnload.
struct ModuleLibrary {
  void* handle = nullptr;
  ~ModuleLibrary() {
    if (handle) dlclose(handle);
  }
};
struct CUfunc_st {
  std::shared_ptr<ModuleLibrary> library;
  th_emu_bind_fn bind = nullptr;
  std::string name;
  int max_dynamic_shared = 48 << 10;
};
struct CUmod_st {
  std::shared_ptr<ModuleLibrary> library;
  std::map<std::string, std::unique_ptr<CUfunc_st>> functions;
};

namespace theanine::cuda_emu {

namespace {

using CUmodule = CUmod_st*;
using CUfunction = CUfunc_st*;

constexpr size_t kDynamicSharedCapacity = size_t(256) << 10;
constexpr int kMaxDynamicSharedOptIn = 227 << 10;
constexpr int kFuncAttrMaxDynamicShared = 8;

unsigned env_unsigned(const char* name, unsigned fallback) {
  if (const char* v = std::getenv(name); v && *v) {
    char* end = nullptr;
    const unsigned long n = std::strtoul(v, &end, 10);
    if (end && *end == '\0' && n > 0) return static_cast<unsigned>(n);
  }
  return fallback;
}

// ---- what an OS thread lends the blocks it runs -------------------------------------

struct ThreadResources {
  char* stacks = nullptr;
  unsigned stack_count = 0;
  size_t stride = 0;
  void* dynamic_shared = nullptr;
  ~ThreadResources() {
    if (stacks) munmap(stacks, stack_count * stride);
    if (dynamic_shared) munmap(dynamic_shared, kDynamicSharedCapacity);
  }
};
thread_local ThreadResources t_resources;

void* map_or_die(size_t bytes, const char* what) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    std::fprintf(stderr, "theanine CUDA emulator: cannot map %zu bytes for %s\n", bytes,
                 what);
    std::abort();
  }
  return p;
}

char* fiber_stacks(unsigned count, size_t* stride) {
  ThreadResources& r = t_resources;
  if (count > r.stack_count) {
    static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    static const size_t usable =
        (size_t(env_unsigned("THEANINE_CUDA_EMU_STACK_KB", 64)) << 10) + page - 1;
    if (r.stacks) munmap(r.stacks, r.stack_count * r.stride);
    r.stride = usable / page * page + page;  // the lowest page of each is the guard
    r.stacks = static_cast<char*>(map_or_die(count * r.stride, "fiber stacks"));
    for (unsigned i = 0; i < count; ++i)
      mprotect(r.stacks + i * r.stride, page, PROT_NONE);
    r.stack_count = count;
  }
  *stride = r.stride;
  return r.stacks;
}

void* dynamic_shared() {
  ThreadResources& r = t_resources;
  if (!r.dynamic_shared)
    r.dynamic_shared = map_or_die(kDynamicSharedCapacity, "dynamic shared memory");
  return r.dynamic_shared;
}

// ---- the worker threads blocks are spread over ----------------------------------------

class Workers {
 public:
  static Workers& get() {
    static Workers* w = new Workers();  // never joined: idle at exit
    return *w;
  }

  void parallel_for(unsigned n, void (*body)(void*, unsigned), void* arg) {
    if (helpers_ == 0 || n < 2) {
      for (unsigned i = 0; i < n; ++i) body(arg, i);
      return;
    }
    Job job{n, body, arg};
    {
      std::lock_guard<std::mutex> lock(mu_);
      start_locked();
      jobs_.push_back(&job);
    }
    work_.notify_all();
    run(job);
    std::unique_lock<std::mutex> lock(mu_);
    jobs_.erase(std::find(jobs_.begin(), jobs_.end(), &job));
    done_.wait(lock, [&] { return job.finished == n && job.helping == 0; });
  }

 private:
  struct Job {
    unsigned n;
    void (*body)(void*, unsigned);
    void* arg;
    std::atomic<unsigned> next{0};
    unsigned finished = 0;  // under mu_
    unsigned helping = 0;   // workers inside run(), under mu_
  };

  Workers() {
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    helpers_ = env_unsigned("THEANINE_CUDA_EMU_THREADS", std::min(4u, cores)) - 1;
  }

  void start_locked() {
    if (started_) return;
    started_ = true;
    for (unsigned i = 0; i < helpers_; ++i) std::thread([this] { loop(); }).detach();
  }

  void run(Job& job) {
    unsigned mine = 0;
    for (unsigned i; (i = job.next.fetch_add(1)) < job.n; ++mine) job.body(job.arg, i);
    std::lock_guard<std::mutex> lock(mu_);
    job.finished += mine;
  }

  void loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      work_.wait(lock, [&] {
        for (Job* j : jobs_)
          if (j->next.load() < j->n) return true;
        return false;
      });
      Job* job = nullptr;
      for (Job* j : jobs_)
        if (j->next.load() < j->n) job = j;
      if (!job) continue;
      ++job->helping;
      lock.unlock();
      run(*job);
      lock.lock();
      --job->helping;
      done_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable work_, done_;
  std::deque<Job*> jobs_;
  unsigned helpers_ = 0;
  bool started_ = false;
};

void parallel_for(unsigned n, void (*body)(void*, unsigned), void* arg) {
  Workers::get().parallel_for(n, body, arg);
}

CUresult valid_function(CUfunction f) {
  std::lock_guard<std::mutex> lock(Device::get().mu);
  return Device::get().functions.count(f) ? kSuccess : kInvalidHandle;
}

}  // namespace

// ---- modules
// ---------------------------------------------------------------------------

TH_EMU_EXPORT CUresult cuModuleLoadData(CUmodule* module, const void* image) {
  if (!module || !image) return kInvalidValue;
  if (CUresult r = require_context()) return r;
  const size_t size = elf_image_size(image);
  if (size == 0) {
    std::fprintf(
        stderr,
        "theanine CUDA emulator: cuModuleLoadData: not an image of this emulator's "
        "NVRTC (PTX or a cubin from a real one?)\n");
    return kInvalidImage;
  }
  std::string error;
  void* handle = open_module_image(image, size, error);
  if (!handle) {
    std::fprintf(stderr, "theanine CUDA emulator: cuModuleLoadData: %s\n", error.c_str());
    return kInvalidImage;
  }
  auto* m = new CUmod_st;
  m->library = std::make_shared<ModuleLibrary>();
  m->library->handle = handle;
  std::lock_guard<std::mutex> lock(Device::get().mu);
  Device::get().modules.insert(m);
  *module = m;
  return kSuccess;
}

TH_EMU_EXPORT CUresult cuModuleGetFunction(CUfunction* function, CUmodule module,
                                           const char* name) {
  if (!function || !name) return kInvalidValue;
  if (CUresult r = require_context()) return r;
  Device& d = Device::get();
  std::lock_guard<std::mutex> lock(d.mu);
  if (!d.modules.count(module)) return kInvalidHandle;
  auto it = module->functions.find(name);
  if (it == module->functions.end()) {
    void* bind =
        dlsym(module->library->handle, (std::string(name) + "__th_emu_bind").c_str());
    if (!bind) return kNotFound;
    auto f = std::make_unique<CUfunc_st>();
    f->library = module->library;
    f->bind = reinterpret_cast<th_emu_bind_fn>(bind);
    f->name = name;
    d.functions.insert(f.get());
    it = module->functions.emplace(name, std::move(f)).first;
  }
  *function = it->second.get();
  return kSuccess;
}

TH_EMU_EXPORT CUresult cuModuleUnload(CUmodule module) {
  Device& d = Device::get();
  std::lock_guard<std::mutex> lock(d.mu);
  if (!d.modules.erase(module)) return kInvalidHandle;
  for (auto& [name, f] : module->functions) d.functions.erase(f.get());
  delete module;
  return kSuccess;
}

TH_EMU_EXPORT CUresult cuFuncSetAttribute(CUfunction function, int attr, int value) {
  if (CUresult r = valid_function(function)) return r;
  if (attr != kFuncAttrMaxDynamicShared) return kNotSupported;
  if (value < 0 || value > kMaxDynamicSharedOptIn) return kInvalidValue;
  function->max_dynamic_shared = value;
  return kSuccess;
}

// ---- launches
// ----------------------------------------------------------------------------

TH_EMU_EXPORT CUresult cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz,
                                      unsigned bx, unsigned by, unsigned bz,
                                      unsigned shared_bytes, CUstream stream,
                                      void** params, void** extra) {
  if (CUresult r = require_context()) return r;
  if (CUresult r = valid_function(f)) return r;
  if (!gx || !gy || !gz || !bx || !by || !bz) return kInvalidValue;
  if (gx > 2147483647u || gy > 65535 || gz > 65535) return kInvalidValue;
  if (bx > 1024 || by > 1024 || bz > 64 || bx * by * bz > 1024) return kInvalidValue;
  if (static_cast<unsigned long long>(gx) * gy * gz > 0xffffffffull) return kNotSupported;
  if (shared_bytes > static_cast<unsigned>(f->max_dynamic_shared)) return kInvalidValue;
  if (extra)
    return kNotSupported;  // arguments as one buffer: the layout is not known here
  th_emu_bound* raw = f->bind(params);
  if (!raw) return kInvalidValue;
  std::shared_ptr<th_emu_bound> bound(raw, [library = f->library](th_emu_bound* b) {
    b->destroy(b);  // before `library` may close
  });
  const std::string name = f->name;
  return submit(stream, [=] {
    th_emu_launch l{};
    l.grid[0] = gx;
    l.grid[1] = gy;
    l.grid[2] = gz;
    l.block[0] = bx;
    l.block[1] = by;
    l.block[2] = bz;
    l.dynamic_shared_bytes = shared_bytes;
    l.dynamic_shared = &dynamic_shared;
    l.fiber_stacks = &fiber_stacks;
    l.parallel_for = &parallel_for;
    if (bound->run(bound.get(), &l) != 0) {
      std::fprintf(stderr, "theanine CUDA emulator: kernel %s: %s\n", name.c_str(),
                   l.error);
      return CUresult(kLaunchFailed);
    }
    return CUresult(kSuccess);
  });
}

}  // namespace theanine::cuda_emu
