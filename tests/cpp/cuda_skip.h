#pragma once
// Skips for the CUDA tests: without NVRTC or without a GPU the test is skipped
// with the reason, unless THEANINE_REQUIRE_CUDA is set (scripts/gpu_check.sh sets
// it on GPU machines, tests/cuda_emu/run_emulated.sh where the CUDA emulator
// stands in for one), where a missing piece is a failure instead.
#include <gtest/gtest.h>

#include <cstdlib>

#include "runtime/cuda_driver.h"

#define THEANINE_CUDA_SKIP_UNLESS(ok, why)                     \
  if (!(ok)) {                                                 \
    if (std::getenv("THEANINE_REQUIRE_CUDA"))                  \
      FAIL() << "THEANINE_REQUIRE_CUDA is set, but " << (why); \
    GTEST_SKIP() << (why);                                     \
  }

#define SKIP_WITHOUT_NVRTC()                   \
  THEANINE_CUDA_SKIP_UNLESS(nvrtc_available(), \
                            "NVRTC not found: " + nvrtc_unavailable_reason())
#define SKIP_WITHOUT_GPU()                    \
  THEANINE_CUDA_SKIP_UNLESS(cuda_available(), \
                            "no CUDA device: " + cuda_unavailable_reason())
