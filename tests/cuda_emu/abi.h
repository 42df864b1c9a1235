// The contract between the emulator library and the modules it compiles (plain C,
// so both sides read the same layout). The text of this file is also the first
// part of every module's prelude (tests/cuda_emu/prelude.h), so the two cannot
// drift apart within one build; TH_EMU_ABI_VERSION guards images from an older
// emulator that a disk cache may still hold.
//
// A module exports, for each `extern "C" __global__` kernel K of its source,
//   th_emu_bound* K__th_emu_bind(void** params)
// which copies the kernel's arguments (params[i] points at argument i, as
// cuLaunchKernel's kernelParams) into a heap object; run() executes the whole
// grid with those arguments, destroy() frees the object. Binding once and
// running later is what graph capture needs: the caller's argument memory may
// be gone by the time a captured launch is replayed.
#ifndef THEANINE_CUDA_EMU_ABI_H
#define THEANINE_CUDA_EMU_ABI_H

#include <stddef.h>

#define TH_EMU_ABI_VERSION 1u

#ifdef __cplusplus
extern "C" {
#endif

// One launch, as cuLaunchKernel describes it, plus the host services the
// library lends the module; a null service makes the module use its own
// (the cuda_emulate tool runs modules without the library).
struct th_emu_launch {
  unsigned grid[3];
  unsigned block[3];
  unsigned dynamic_shared_bytes;
  // The calling OS thread's dynamic shared memory: the same address every time
  // for that thread (the module keeps it in a static per-thread pointer).
  void* (*dynamic_shared)(void);
  // `count` fiber stacks of `*stride` bytes each (the top `*stride` minus a
  // guard page usable), reused by the calling OS thread.
  char* (*fiber_stacks)(unsigned count, size_t* stride);
  // Runs body(arg, i) for i in [0, n), spread over the library's worker threads
  // and the caller; returns when all are done.
  void (*parallel_for)(unsigned n, void (*body)(void* arg, unsigned i), void* arg);
  // Filled by the module when the grid fails (a deadlocked barrier).
  char error[256];
};

struct th_emu_bound {
  // 0 on success; nonzero with launch->error filled.
  int (*run)(struct th_emu_bound* self, struct th_emu_launch* launch);
  void (*destroy)(struct th_emu_bound* self);
};

typedef struct th_emu_bound* (*th_emu_bind_fn)(void** params);

#ifdef __cplusplus
}
#endif

#endif  // THEANINE_CUDA_EMU_ABI_H
