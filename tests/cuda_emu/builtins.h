// CUDA's device-side built-ins on the host: the second part of every emulated
// module's prelude (after tests/cuda_emu/abi.h). A module is the CUDA C of an
// NVRTC program compiled by the host C++ compiler with this text in front; the
// emulator library (tests/cuda_emu/launch.cc) and the cuda_emulate tool run it.
//
// Execution. Every CUDA thread of a block is a fiber (its own small stack) on
// the one OS thread that runs the block; __syncthreads and the warp operations
// switch to the block's scheduler, which resumes the fibers waiting on a barrier
// once every live thread of the block (or warp) has arrived. So barriers cost a
// few nanoseconds, blocks need no OS thread per CUDA thread, a barrier some
// thread can never reach is reported instead of hanging, and independent blocks
// run on several OS threads at once (launch->parallel_for). Threads that have
// returned no longer count towards a barrier, as on the hardware.
//
// Memory. __shared__ variables are thread_local: all fibers of a block share
// them, blocks running on other OS threads have their own, and a block finds
// what the previous block on its OS thread left (real shared memory is not
// cleared either). `extern __shared__ T name[];` is rewritten before compiling
// (tests/cuda_emu/module_source.cc) into a per-OS-thread pointer to the dynamic
// shared memory, which each block gets filled with 0xff bytes (NaN, -1) so a
// kernel reading it before writing shows. Atomics are real atomics: other
// blocks may run at the same time.
//
// Not emulated: inline PTX, textures and surfaces, cooperative groups, half
// precision types, CUDA's own headers; warp operations assume every live lane
// of the warp takes part (the mask is not consulted); lanes do not run in
// lockstep, so warp-synchronous code needs __syncwarp, as since Volta.

// Only light headers: every module compiles this text (atomics and time come
// from the compiler's builtins and POSIX rather than <atomic> and <chrono>).
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <bit>
#include <tuple>
#include <type_traits>
#include <utility>

#if !defined(__x86_64__) || defined(TH_EMU_UCONTEXT)
#include <ucontext.h>
#define TH_EMU_USE_UCONTEXT 1
#endif

// ---- keywords ----------------------------------------------------------------------
// __global__ leaves a mark the kernel finder sees in the preprocessed text.
#define __global__ __attribute__((th_emu_global))
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __maxnreg__(...)
#define __cluster_dims__(...)
#define __grid_constant__
#define __restrict__ __restrict
#define __shared__ thread_local
#define __constant__
#define __managed__
#define __align__(n) alignas(n)
#ifndef __CUDA_ARCH__
#define __CUDA_ARCH__ 900
#endif
#define THEANINE_CUDA_EMULATOR 1

// ---- vector types and the index variables ---------------------------------------------
#define TH_EMU_VECTORS(T, N, A2, A4)                                \
  struct alignas(A2) N##2 {                                         \
    T x, y;                                                         \
  };                                                                \
  struct N##3 {                                                     \
    T x, y, z;                                                      \
  };                                                                \
  struct alignas(A4) N##4 {                                         \
    T x, y, z, w;                                                   \
  };                                                                \
  inline N##2 make_##N##2(T x, T y) { return N##2 {x, y}; }         \
  inline N##3 make_##N##3(T x, T y, T z) { return N##3 {x, y, z}; } \
  inline N##4 make_##N##4(T x, T y, T z, T w) { return N##4 {x, y, z, w}; }
TH_EMU_VECTORS(signed char, char, 2, 4)
TH_EMU_VECTORS(unsigned char, uchar, 2, 4)
TH_EMU_VECTORS(short, short, 4, 8)
TH_EMU_VECTORS(unsigned short, ushort, 4, 8)
TH_EMU_VECTORS(int, int, 8, 16)
TH_EMU_VECTORS(unsigned, uint, 8, 16)
TH_EMU_VECTORS(long long, longlong, 16, 16)
TH_EMU_VECTORS(unsigned long long, ulonglong, 16, 16)
TH_EMU_VECTORS(float, float, 8, 16)
TH_EMU_VECTORS(double, double, 16, 16)
#undef TH_EMU_VECTORS

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1)
      : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
  constexpr operator uint3() const { return uint3{x, y, z}; }
};

static thread_local uint3 threadIdx, blockIdx;
static thread_local dim3 blockDim, gridDim;
constexpr int warpSize = 32;

// ---- math
// --------------------------------------------------------------------------------
// <math.h> gives the C functions and, in C++, std's overloads in the global
// namespace (isnan, signbit, abs, ...), as CUDA has them.
template <class A, class B>
requires(std::is_arithmetic_v<A>&&
             std::is_arithmetic_v<B>) inline std::common_type_t<A, B> min(A a, B b) {
  using T = std::common_type_t<A, B>;
  if constexpr (std::is_floating_point_v<T>)
    return fmin(T(a), T(b));
  else
    return T(b) < T(a) ? T(b) : T(a);
}
template <class A, class B>
requires(std::is_arithmetic_v<A>&&
             std::is_arithmetic_v<B>) inline std::common_type_t<A, B> max(A a, B b) {
  using T = std::common_type_t<A, B>;
  if constexpr (std::is_floating_point_v<T>)
    return fmax(T(a), T(b));
  else
    return T(a) < T(b) ? T(b) : T(a);
}
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline double rsqrt(double x) { return 1.0 / sqrt(x); }
inline float rcbrtf(float x) { return 1.0f / cbrtf(x); }
inline double rcbrt(double x) { return 1.0 / cbrt(x); }
inline float sinpif(float x) { return sinf(float(M_PI) * x); }
inline double sinpi(double x) { return sin(M_PI * x); }
inline float cospif(float x) { return cosf(float(M_PI) * x); }
inline double cospi(double x) { return cos(M_PI * x); }
inline float normcdff(float x) { return 0.5f * erfcf(-x * float(M_SQRT1_2)); }
inline double normcdf(double x) { return 0.5 * erfc(-x * M_SQRT1_2); }
inline float __expf(float x) { return expf(x); }
inline float __exp10f(float x) { return powf(10.0f, x); }
inline float __logf(float x) { return logf(x); }
inline float __log2f(float x) { return log2f(x); }
inline float __log10f(float x) { return log10f(x); }
inline float __sinf(float x) { return sinf(x); }
inline float __cosf(float x) { return cosf(x); }
inline float __tanf(float x) { return tanf(x); }
inline float __powf(float x, float y) { return powf(x, y); }
inline float __fdividef(float x, float y) { return x / y; }
inline float __saturatef(float x) { return x >= 1.0f ? 1.0f : (x > 0.0f ? x : 0.0f); }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
inline float __frcp_rn(float a) { return 1.0f / a; }
inline float __fsqrt_rn(float a) { return sqrtf(a); }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __ddiv_rn(double a, double b) { return a / b; }
inline double __fma_rn(double a, double b, double c) { return fma(a, b, c); }

// ---- conversions and bit tricks
// --------------------------------------------------------
inline float __int_as_float(int i) { return std::bit_cast<float>(i); }
inline float __uint_as_float(unsigned i) { return std::bit_cast<float>(i); }
inline int __float_as_int(float f) { return std::bit_cast<int>(f); }
inline unsigned __float_as_uint(float f) { return std::bit_cast<unsigned>(f); }
inline double __longlong_as_double(long long i) { return std::bit_cast<double>(i); }
inline long long __double_as_longlong(double d) { return std::bit_cast<long long>(d); }
inline int __double2hiint(double d) {
  return int(std::bit_cast<unsigned long long>(d) >> 32);
}
inline int __double2loint(double d) { return int(std::bit_cast<unsigned long long>(d)); }
inline double __hiloint2double(int hi, int lo) {
  return std::bit_cast<double>((static_cast<unsigned long long>(unsigned(hi)) << 32) |
                               unsigned(lo));
}
inline int __float2int_rn(float f) { return int(nearbyintf(f)); }
inline int __float2int_rz(float f) { return int(f); }
inline int __float2int_rd(float f) { return int(floorf(f)); }
inline int __float2int_ru(float f) { return int(ceilf(f)); }
inline long long __float2ll_rn(float f) { return (long long)nearbyintf(f); }
inline long long __float2ll_rz(float f) { return (long long)f; }
inline int __double2int_rn(double d) { return int(nearbyint(d)); }
inline int __double2int_rz(double d) { return int(d); }
inline long long __double2ll_rn(double d) { return (long long)nearbyint(d); }
inline long long __double2ll_rz(double d) { return (long long)d; }
inline float __double2float_rn(double d) { return float(d); }
inline float __int2float_rn(int i) { return float(i); }
inline float __ll2float_rn(long long i) { return float(i); }
inline double __ll2double_rn(long long i) { return double(i); }
inline int __popc(unsigned x) { return std::popcount(x); }
inline int __popcll(unsigned long long x) { return std::popcount(x); }
inline int __clz(int x) { return std::countl_zero(unsigned(x)); }
inline int __clzll(long long x) { return std::countl_zero((unsigned long long)x); }
inline int __ffs(int x) { return x ? std::countr_zero(unsigned(x)) + 1 : 0; }
inline int __ffsll(long long x) {
  return x ? std::countr_zero((unsigned long long)x) + 1 : 0;
}
inline unsigned __brev(unsigned x) {
  unsigned r = 0;
  for (int i = 0; i < 32; ++i, x >>= 1) r = (r << 1) | (x & 1);
  return r;
}
inline unsigned long long __brevll(unsigned long long x) {
  return (static_cast<unsigned long long>(__brev(unsigned(x))) << 32) |
         __brev(unsigned(x >> 32));
}
inline int __mulhi(int a, int b) { return int((long long)a * b >> 32); }
inline unsigned __umulhi(unsigned a, unsigned b) {
  return unsigned((unsigned long long)a * b >> 32);
}
inline long long __mul64hi(long long a, long long b) {
  return (long long)((__int128)a * b >> 64);
}
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
  return (unsigned long long)((unsigned __int128)a * b >> 64);
}
template <class T>
inline T __ldg(const T* p) {
  return *p;
}

// ---- atomics: other blocks may be running on other OS threads ---------------------
#define TH_EMU_ATOMIC_RMW(name, T, expr)                                             \
  inline T name(T* address, T val) {                                                 \
    T old;                                                                           \
    __atomic_load(address, &old, __ATOMIC_SEQ_CST);                                  \
    for (;;) {                                                                       \
      T desired = expr;                                                              \
      if (__atomic_compare_exchange(address, &old, &desired, true, __ATOMIC_SEQ_CST, \
                                    __ATOMIC_SEQ_CST))                               \
        return old;                                                                  \
    }                                                                                \
  }
#define TH_EMU_ATOMICS_FOR(T)                                                   \
  TH_EMU_ATOMIC_RMW(atomicAdd, T, static_cast<T>(old + val))                    \
  TH_EMU_ATOMIC_RMW(atomicSub, T, static_cast<T>(old - val))                    \
  TH_EMU_ATOMIC_RMW(atomicExch, T, val)                                         \
  TH_EMU_ATOMIC_RMW(atomicMin, T, val < old ? val : old)                        \
  TH_EMU_ATOMIC_RMW(atomicMax, T, old < val ? val : old)                        \
  inline T atomicCAS(T* address, T compare, T val) {                            \
    __atomic_compare_exchange(address, &compare, &val, false, __ATOMIC_SEQ_CST, \
                              __ATOMIC_SEQ_CST);                                \
    return compare;                                                             \
  }
#define TH_EMU_BIT_ATOMICS_FOR(T)                            \
  TH_EMU_ATOMIC_RMW(atomicAnd, T, static_cast<T>(old & val)) \
  TH_EMU_ATOMIC_RMW(atomicOr, T, static_cast<T>(old | val))  \
  TH_EMU_ATOMIC_RMW(atomicXor, T, static_cast<T>(old ^ val))
TH_EMU_ATOMICS_FOR(int)
TH_EMU_ATOMICS_FOR(unsigned)
TH_EMU_ATOMICS_FOR(long long)
TH_EMU_ATOMICS_FOR(unsigned long long)
TH_EMU_BIT_ATOMICS_FOR(int)
TH_EMU_BIT_ATOMICS_FOR(unsigned)
TH_EMU_BIT_ATOMICS_FOR(long long)
TH_EMU_BIT_ATOMICS_FOR(unsigned long long)
TH_EMU_ATOMIC_RMW(atomicAdd, float, old + val)
TH_EMU_ATOMIC_RMW(atomicAdd, double, old + val)
TH_EMU_ATOMIC_RMW(atomicExch, float, val)
TH_EMU_ATOMIC_RMW(atomicMin, float, fminf(old, val))
TH_EMU_ATOMIC_RMW(atomicMax, float, fmaxf(old, val))
TH_EMU_ATOMIC_RMW(atomicMin, double, fmin(old, val))
TH_EMU_ATOMIC_RMW(atomicMax, double, fmax(old, val))
TH_EMU_ATOMIC_RMW(atomicInc, unsigned, old >= val ? 0u : old + 1)
TH_EMU_ATOMIC_RMW(atomicDec, unsigned, (old == 0 || old > val) ? val : old - 1)
#undef TH_EMU_ATOMICS_FOR
#undef TH_EMU_BIT_ATOMICS_FOR
#undef TH_EMU_ATOMIC_RMW
#define atomicAdd_block atomicAdd
#define atomicAdd_system atomicAdd
#define atomicCAS_block atomicCAS
#define atomicCAS_system atomicCAS
#define atomicExch_block atomicExch
#define atomicMax_block atomicMax
#define atomicMin_block atomicMin
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_block() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_system() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline long long clock64() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000 + t.tv_nsec;
}
inline void __nanosleep(unsigned ns) {
  timespec t{0, (long)ns};
  nanosleep(&t, nullptr);
}
[[noreturn]] inline void __trap() {
  fprintf(stderr,
          "theanine CUDA emulator: __trap() in block (%u,%u,%u) thread (%u,%u,%u)\n",
          blockIdx.x, blockIdx.y, blockIdx.z, threadIdx.x, threadIdx.y, threadIdx.z);
  abort();
}

// ---- the fibers: one per CUDA thread of the running block ----------------------------
namespace th_emu {

enum State : unsigned char { kReady, kAtBlockBarrier, kAtWarpBarrier, kDone };

struct Fiber {
#ifdef TH_EMU_USE_UCONTEXT
  ucontext_t context;
#else
  void* sp = nullptr;  // the saved stack pointer while switched out
#endif
  uint3 index{};
  unsigned tid = 0;    // linear thread index in the block
  unsigned phase = 0;  // warp operations done: picks the exchange bank
  State state = kReady;
};

struct Block {
#ifdef TH_EMU_USE_UCONTEXT
  ucontext_t scheduler;
#else
  void* scheduler_sp = nullptr;
#endif
  Fiber* fibers = nullptr;
  unsigned size = 0;        // threads in the block
  unsigned live = 0;        // not yet returned
  unsigned at_barrier = 0;  // waiting in __syncthreads
  unsigned predicate_count = 0, predicate_result = 0, predicate_voters = 0;
  unsigned warp_live[32] = {}, at_warp_barrier[32] = {};
  // Warp exchanges: a value per lane, two banks so that a lane may write the
  // next exchange while a slower lane still reads this one, and the phase the
  // value was written in: a lane that has returned (or has not come yet)
  // leaves a stale phase, and its partners keep their own value.
  unsigned long long lanes[32][2][32];
  unsigned lane_phase[32][2][32];
  void (*body)(void*) = nullptr;
  void* body_arg = nullptr;
};

static thread_local Block* current_block = nullptr;
static thread_local Fiber* current_fiber = nullptr;
static thread_local void* dynamic_shared_base = nullptr;

[[noreturn]] inline void outside_a_kernel(const char* what) {
  fprintf(stderr, "theanine CUDA emulator: %s called outside a kernel\n", what);
  abort();
}

#ifndef TH_EMU_USE_UCONTEXT
// Saves the callee-saved registers on the current stack, stores the stack
// pointer in *save and continues on the stack at `load` (System V x86-64).
extern "C" __attribute__((visibility("hidden"))) void th_emu_switch(void** save,
                                                                    void* load);
asm(R"(
  .text
  .p2align 4
  .globl th_emu_switch
  .hidden th_emu_switch
  .type th_emu_switch, @function
th_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size th_emu_switch, .-th_emu_switch
)");
#endif

[[noreturn]] void fiber_main();

// Back to the scheduler, in `state`; returns when the scheduler resumes this
// fiber. A full compiler barrier, as CUDA's barriers are memory fences: nothing
// (shared memory least of all) stays cached in registers across it.
inline void suspend(State state) {
  Fiber* f = current_fiber;
  if (!f) outside_a_kernel("a barrier");
  f->state = state;
  asm volatile("" ::: "memory");
#ifdef TH_EMU_USE_UCONTEXT
  swapcontext(&f->context, &current_block->scheduler);
#else
  th_emu_switch(&f->sp, current_block->scheduler_sp);
#endif
  asm volatile("" ::: "memory");
}

[[noreturn]] inline void fiber_main() {
  Block* b = current_block;
  b->body(b->body_arg);
  suspend(kDone);  // never resumed
  __builtin_unreachable();
}

#ifdef TH_EMU_USE_UCONTEXT
inline void th_emu_ucontext_entry() { fiber_main(); }
#endif

inline void prepare(Block& b, Fiber& f, char* stack_low, size_t size) {
#ifdef TH_EMU_USE_UCONTEXT
  getcontext(&f.context);
  f.context.uc_stack.ss_sp = stack_low;
  f.context.uc_stack.ss_size = size;
  f.context.uc_link = nullptr;
  makecontext(&f.context, th_emu_ucontext_entry, 0);
#else
  // A frame th_emu_switch pops: six registers, then the return address (the
  // entry), above it a null return address for the entry itself; the entry
  // starts with the stack 8 bytes off a 16-byte boundary, as after a call.
  auto* top = reinterpret_cast<void**>((reinterpret_cast<uintptr_t>(stack_low) + size) &
                                       ~uintptr_t(15));
  *--top = nullptr;
  *--top = reinterpret_cast<void*>(&fiber_main);
  for (int i = 0; i < 6; ++i) *--top = nullptr;
  f.sp = top;
#endif
}

inline void resume(Block& b, Fiber& f) {
  current_fiber = &f;
  threadIdx = f.index;
  f.state = kReady;
#ifdef TH_EMU_USE_UCONTEXT
  swapcontext(&b.scheduler, &f.context);
#else
  th_emu_switch(&b.scheduler_sp, f.sp);
#endif
  current_fiber = nullptr;
}

inline void release(Block& b, State waiting, int warp) {
  const unsigned lo = warp < 0 ? 0 : unsigned(warp) * 32;
  const unsigned hi = warp < 0 ? b.size : (lo + 32 < b.size ? lo + 32 : b.size);
  for (unsigned t = lo; t < hi; ++t)
    if (b.fibers[t].state == waiting) b.fibers[t].state = kReady;
}

// Runs every thread of the block to completion; false (with `error`) when the
// live threads wait on barriers none of them can complete.
inline bool run_block(Block& b, char* stacks, size_t stride, char* error,
                      size_t error_size) {
  for (unsigned t = 0; t < b.size; ++t) {
    Fiber& f = b.fibers[t];
    f.tid = t;
    f.phase = 0;
    f.state = kReady;
    f.index = uint3{t % blockDim.x, (t / blockDim.x) % blockDim.y,
                    t / (blockDim.x * blockDim.y)};
    prepare(b, f, stacks + size_t(t) * stride + size_t(getpagesize()),
            stride - size_t(getpagesize()));
  }
  for (unsigned w = 0; w * 32 < b.size; ++w)
    for (unsigned k = 0; k < 2; ++k)
      for (unsigned l = 0; l < 32; ++l) b.lane_phase[w][k][l] = ~0u;
  b.live = b.size;
  b.at_barrier = 0;
  b.predicate_count = 0;
  for (unsigned w = 0; w < 32; ++w) {
    b.at_warp_barrier[w] = 0;
    b.warp_live[w] = w * 32 < b.size ? (b.size - w * 32 < 32 ? b.size - w * 32 : 32) : 0;
  }
  current_block = &b;
  while (b.live > 0) {
    bool ran = false;
    for (unsigned t = 0; t < b.size; ++t) {
      Fiber& f = b.fibers[t];
      if (f.state != kReady) continue;
      ran = true;
      resume(b, f);
      const unsigned w = t / 32;
      if (f.state == kDone) {
        --b.live;
        --b.warp_live[w];
      } else if (f.state == kAtBlockBarrier) {
        ++b.at_barrier;
      } else {
        ++b.at_warp_barrier[w];
      }
      if (b.at_barrier > 0 && b.at_barrier == b.live) {
        b.predicate_result = b.predicate_count;
        b.predicate_voters = b.at_barrier;
        b.predicate_count = 0;
        b.at_barrier = 0;
        release(b, kAtBlockBarrier, -1);
      }
      if (b.at_warp_barrier[w] > 0 && b.at_warp_barrier[w] == b.warp_live[w]) {
        b.at_warp_barrier[w] = 0;
        release(b, kAtWarpBarrier, int(w));
      }
    }
    if (!ran) {
      unsigned at_warp = 0;
      for (unsigned w = 0; w < 32; ++w) at_warp += b.at_warp_barrier[w];
      snprintf(error, error_size,
               "deadlock in block (%u,%u,%u): of %u live threads, %u wait in "
               "__syncthreads and %u in warp operations that cannot complete",
               blockIdx.x, blockIdx.y, blockIdx.z, b.live, b.at_barrier, at_warp);
      current_block = nullptr;
      return false;
    }
  }
  current_block = nullptr;
  return true;
}

// Lane `src` of this warp's exchange, or own value where that lane is absent.
template <class T>
inline T exchange(T v, int (*pick)(int lane, int arg, int width), int arg, int width) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>,
                "warp shuffles move values of at most 8 bytes");
  Fiber* f = current_fiber;
  if (!f) outside_a_kernel("a warp shuffle");
  Block& b = *current_block;
  const unsigned w = f->tid / 32, lane = f->tid % 32, phase = f->phase++,
                 bank = phase & 1;
  memcpy(&b.lanes[w][bank][lane], &v, sizeof v);
  b.lane_phase[w][bank][lane] = phase;
  suspend(kAtWarpBarrier);
  const int src = pick(int(lane), arg, width);
  if (src >= 0 && src < 32 && b.lane_phase[w][bank][src] == phase)
    memcpy(&v, &b.lanes[w][bank][src], sizeof v);
  return v;
}

// The lanes of this warp whose value is nonzero (a vote); the values and the
// lanes that took part, when asked.
inline unsigned vote(unsigned long long value, unsigned long long* all = nullptr,
                     unsigned* voters = nullptr) {
  Fiber* f = current_fiber;
  if (!f) outside_a_kernel("a warp vote");
  Block& b = *current_block;
  const unsigned w = f->tid / 32, lane = f->tid % 32, phase = f->phase++,
                 bank = phase & 1;
  b.lanes[w][bank][lane] = value;
  b.lane_phase[w][bank][lane] = phase;
  suspend(kAtWarpBarrier);
  unsigned bits = 0;
  for (unsigned l = 0; l < 32; ++l) {
    if (b.lane_phase[w][bank][l] != phase) continue;  // not in this vote
    if (voters) *voters |= 1u << l;
    if (all) all[l] = b.lanes[w][bank][l];
    if (b.lanes[w][bank][l]) bits |= 1u << l;
  }
  return bits;
}

// ---- grids ---------------------------------------------------------------------------

inline char* own_fiber_stacks(unsigned count, size_t* stride) {
  static thread_local char* base = nullptr;
  static thread_local unsigned have = 0;
  *stride = size_t(64) << 10;
  if (count > have) {
    if (base) munmap(base, size_t(have) * *stride);
    void* p = mmap(nullptr, size_t(count) * *stride, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
      perror("theanine CUDA emulator: fiber stacks");
      abort();
    }
    base = static_cast<char*>(p);
    have = count;
  }
  return base;
}

inline void* own_dynamic_shared() {
  static thread_local void* p = calloc(1, size_t(256) << 10);
  return p;
}

struct Grid {
  th_emu_launch* launch;
  void (*body)(void*);
  void* body_arg;
  bool failed = false;  // atomically: blocks may run on several OS threads
};

inline void run_grid_block(void* arg, unsigned linear) {
  Grid& g = *static_cast<Grid*>(arg);
  if (__atomic_load_n(&g.failed, __ATOMIC_RELAXED)) return;
  th_emu_launch& l = *g.launch;
  blockDim = dim3(l.block[0], l.block[1], l.block[2]);
  gridDim = dim3(l.grid[0], l.grid[1], l.grid[2]);
  blockIdx = uint3{linear % l.grid[0], (linear / l.grid[0]) % l.grid[1],
                   linear / (l.grid[0] * l.grid[1])};
  dynamic_shared_base = l.dynamic_shared ? l.dynamic_shared() : own_dynamic_shared();
  if (l.dynamic_shared_bytes) memset(dynamic_shared_base, 0xff, l.dynamic_shared_bytes);
  const unsigned threads = l.block[0] * l.block[1] * l.block[2];
  size_t stride = 0;
  char* stacks = l.fiber_stacks ? l.fiber_stacks(threads, &stride)
                                : own_fiber_stacks(threads, &stride);
  Block* b = new Block;
  b->fibers = new Fiber[threads];
  b->size = threads;
  b->body = g.body;
  b->body_arg = g.body_arg;
  char error[sizeof l.error];
  if (!run_block(*b, stacks, stride, error, sizeof error) &&
      !__atomic_exchange_n(&g.failed, true, __ATOMIC_SEQ_CST))
    memcpy(l.error, error, sizeof error);
  delete[] b->fibers;
  delete b;
}

inline int run_grid(th_emu_launch* l, void (*body)(void*), void* arg) {
  Grid g{l, body, arg};
  const unsigned blocks = l->grid[0] * l->grid[1] * l->grid[2];
  if (l->parallel_for && blocks > 1) {
    l->parallel_for(blocks, &run_grid_block, &g);
  } else {
    for (unsigned i = 0; i < blocks; ++i) run_grid_block(&g, i);
  }
  return __atomic_load_n(&g.failed, __ATOMIC_SEQ_CST) ? 1 : 0;
}

// ---- binding a kernel's arguments (see abi.h)
// -------------------------------------------

template <class T>
inline T load_argument(const void* p) {
  static_assert(std::is_trivially_copyable_v<T>, "kernel arguments are copied bytewise");
  struct Bytes {
    unsigned char b[sizeof(T)];
  } bytes;
  memcpy(bytes.b, p, sizeof(T));
  return std::bit_cast<T>(bytes);
}

template <class... A>
struct Bound : th_emu_bound {
  void (*kernel)(A...);
  std::tuple<A...> args;
};

template <class... A>
int run_bound(th_emu_bound* self, th_emu_launch* launch) {
  auto* b = static_cast<Bound<A...>*>(self);
  return run_grid(
      launch,
      [](void* p) {
        auto* bb = static_cast<Bound<A...>*>(p);
        std::apply(bb->kernel, bb->args);  // each thread gets its own copies
      },
      b);
}

template <class... A>
void destroy_bound(th_emu_bound* self) {
  delete static_cast<Bound<A...>*>(self);
}

template <class... A, size_t... I>
th_emu_bound* bind(void (*kernel)(A...), void** params, std::index_sequence<I...>) {
  if (sizeof...(A) > 0 && !params) return nullptr;
  auto* b = new Bound<A...>{{&run_bound<A...>, &destroy_bound<A...>},
                            kernel,
                            std::tuple<A...>(load_argument<A>(params[I])...)};
  return b;
}

template <class... A>
th_emu_bound* bind(void (*kernel)(A...), void** params) {
  return bind(kernel, params, std::index_sequence_for<A...>{});
}

}  // namespace th_emu

extern "C" __attribute__((visibility("default"))) unsigned th_emu_abi_version() {
  return TH_EMU_ABI_VERSION;
}

// `extern __shared__ T name[];` becomes a pointer to this (module_source.cc).
inline void* th_emu_dynamic_shared() { return th_emu::dynamic_shared_base; }

// ---- block and warp synchronization
// ------------------------------------------------------
inline void __syncthreads() { th_emu::suspend(th_emu::kAtBlockBarrier); }
inline int __syncthreads_count(int predicate) {
  if (!th_emu::current_block) th_emu::outside_a_kernel("__syncthreads_count");
  th_emu::current_block->predicate_count += predicate != 0;
  th_emu::suspend(th_emu::kAtBlockBarrier);
  return int(th_emu::current_block->predicate_result);
}
inline int __syncthreads_and(int predicate) {
  const int n = __syncthreads_count(predicate);
  return unsigned(n) == th_emu::current_block->predicate_voters;
}
inline int __syncthreads_or(int predicate) { return __syncthreads_count(predicate) != 0; }
inline void __syncwarp(unsigned = 0xffffffffu) { th_emu::vote(0); }
inline unsigned __activemask() {
  th_emu::Fiber* f = th_emu::current_fiber;
  if (!f) th_emu::outside_a_kernel("__activemask");
  const th_emu::Block& b = *th_emu::current_block;
  unsigned bits = 0, first = f->tid / 32 * 32;
  for (unsigned l = 0; l < 32 && first + l < b.size; ++l)
    if (b.fibers[first + l].state != th_emu::kDone) bits |= 1u << l;
  return bits;
}
inline unsigned __ballot_sync(unsigned mask, int predicate) {
  return th_emu::vote(predicate != 0) & mask;
}
inline int __any_sync(unsigned mask, int predicate) {
  return __ballot_sync(mask, predicate) != 0;
}
inline int __all_sync(unsigned mask, int predicate) {
  unsigned voters = 0;
  const unsigned yes = th_emu::vote(predicate != 0, nullptr, &voters);
  return (yes & mask) == (voters & mask);
}
template <class T>
inline T __shfl_sync(unsigned, T v, int src, int width = warpSize) {
  return th_emu::exchange(
      v, [](int lane, int s, int w) { return lane / w * w + ((s % w) + w) % w; }, src,
      width);
}
template <class T>
inline T __shfl_up_sync(unsigned, T v, unsigned delta, int width = warpSize) {
  return th_emu::exchange(
      v, [](int lane, int d, int w) { return lane % w >= d ? lane - d : -1; }, int(delta),
      width);
}
template <class T>
inline T __shfl_down_sync(unsigned, T v, unsigned delta, int width = warpSize) {
  return th_emu::exchange(
      v, [](int lane, int d, int w) { return lane % w + d < w ? lane + d : -1; },
      int(delta), width);
}
template <class T>
inline T __shfl_xor_sync(unsigned, T v, int lane_mask, int width = warpSize) {
  return th_emu::exchange(
      v,
      [](int lane, int m, int w) { return (lane ^ m) / w == lane / w ? lane ^ m : -1; },
      lane_mask, width);
}
#define TH_EMU_WARP_REDUCE(name, T, init, op)                                   \
  inline T name(unsigned mask, T value) {                                       \
    unsigned long long all[32] = {};                                            \
    th_emu::vote(static_cast<unsigned long long>(value) | 0x100000000ull, all); \
    T r = init;                                                                 \
    for (int l = 0; l < 32; ++l)                                                \
      if ((mask >> l & 1) && (all[l] >> 32)) {                                  \
        T x = T(static_cast<unsigned>(all[l]));                                 \
        r = op;                                                                 \
      }                                                                         \
    return r;                                                                   \
  }
TH_EMU_WARP_REDUCE(__reduce_add_sync, unsigned, 0u, r + x)
TH_EMU_WARP_REDUCE(__reduce_add_sync, int, 0, int(unsigned(r) + unsigned(x)))
TH_EMU_WARP_REDUCE(__reduce_min_sync, unsigned, ~0u, x < r ? x : r)
TH_EMU_WARP_REDUCE(__reduce_min_sync, int, 0x7fffffff, x < r ? x : r)
TH_EMU_WARP_REDUCE(__reduce_max_sync, unsigned, 0u, x > r ? x : r)
TH_EMU_WARP_REDUCE(__reduce_max_sync, int, int(0x80000000u), x > r ? x : r)
TH_EMU_WARP_REDUCE(__reduce_and_sync, unsigned, ~0u, r& x)
TH_EMU_WARP_REDUCE(__reduce_or_sync, unsigned, 0u, r | x)
TH_EMU_WARP_REDUCE(__reduce_xor_sync, unsigned, 0u, r ^ x)
#undef TH_EMU_WARP_REDUCE
