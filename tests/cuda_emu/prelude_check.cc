// Compiles the emulator's prelude (tests/cuda_emu/abi.h, builtins.h) with the
// project's warnings at build time, with a kernel of each kind the prelude
// serves, so a mistake in it fails the build, not the first emulated kernel.
// Not linked anywhere.
#include "tests/cuda_emu/abi.h"
#include "tests/cuda_emu/builtins.h"

struct PreludeCheckArgs {
  int n;
  double scale;
};

extern "C" __global__ void th_emu_prelude_check(PreludeCheckArgs a, const float* x,
                                                float* y) {
  __shared__ float partial[32];
  const unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
  float v = i < unsigned(a.n) ? x[i] * float(a.scale) : 0.0f;
  for (int d = 16; d > 0; d /= 2) v += __shfl_down_sync(0xffffffffu, v, d);
  if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = v;
  __syncthreads();
  if (threadIdx.x == 0) {
    float s = 0;
    for (unsigned w = 0; w < blockDim.x / 32; ++w) s += partial[w];
    atomicAdd(y, s);
  }
  (void)__ballot_sync(0xffffffffu, v > 0);
  (void)__reduce_add_sync(0xffffffffu, 1u);
  (void)__syncthreads_or(1);
}

extern "C" th_emu_bound* th_emu_prelude_check__th_emu_bind(void** params) {
  return th_emu::bind(&th_emu_prelude_check, params);
}
