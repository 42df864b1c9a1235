#!/bin/sh
# Runs a test program against the CUDA emulator, where a CUDA test cannot skip:
#   run_emulated.sh LIBTHEANINE_CUDA_EMU.so PROGRAM [ARGS...]
# with THEANINE_CUDA_EMULATOR set, THEANINE_REQUIRE_CUDA=1, THEANINE_CUDA unset
# and THEANINE_CACHE_DIR a fresh folder (removed afterwards), so every kernel is
# compiled through the emulator's NVRTC.
set -u
lib=$1
shift
cache=$(mktemp -d "${TMPDIR:-/tmp}/theanine-emu-cache-XXXXXX") || exit 2
trap 'rm -rf "$cache"' EXIT
THEANINE_CUDA_EMULATOR=$lib THEANINE_REQUIRE_CUDA=1 THEANINE_CACHE_DIR=$cache \
  env -u THEANINE_CUDA "$@"
