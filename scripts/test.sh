#!/usr/bin/env bash
# Runs every test: installs what is missing, builds once, then the C++ tests
# (ctest) and the Python tests (pytest) against that one build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
# Every kernel the tests compile for the CPU is also emitted as CUDA C and, at the
# end, compiled by NVRTC for sm_90 (no GPU needed), so a CUDA emission bug fails here.
export THEANINE_CUDA_CHECK_DIR="$PWD/build/cuda_kernels"
rm -rf "$THEANINE_CUDA_CHECK_DIR"
ctest --test-dir build --output-on-failure -j "$(nproc)"
PYTHONPATH=python python3 -m pytest -q tests/python
# The Python face of the CUDA device (placement, DeviceArray, training on the
# device) on the software device of tests/cuda_emu, where no GPU is present.
emu=build/tests/cuda_emu/libtheanine_cuda_emu.so
if [ -f "$emu" ] && ! PYTHONPATH=python python3 -c 'import theanine, sys; sys.exit(not theanine._core.cuda_available())' 2>/dev/null; then
  sh tests/cuda_emu/run_emulated.sh "$PWD/$emu" env PYTHONPATH=python \
    python3 -m pytest -q tests/python/test_cuda_device.py
fi
status=0
./build/nvrtc_check "$THEANINE_CUDA_CHECK_DIR" --ptx || status=$?
if [ "$status" = 2 ]; then
  echo "NVRTC not found: the CUDA C of the generated kernels was not compiled"
elif [ "$status" != 0 ]; then
  exit "$status"
fi
