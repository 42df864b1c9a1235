// Streams, events, copies and memsets: the work a stream orders, run at once
// (the emulator is synchronous) or recorded while the stream captures.
#include <cstring>

#include "tests/cuda_emu/emu.h"

namespace theanine::cuda_emu {

namespace {

using CUevent = CUevent_st*;

constexpr unsigned kStreamNonBlocking = 1;
constexpr unsigned kEventDisableTiming = 2;

// CU_STREAM_LEGACY and CU_STREAM_PER_THREAD, besides the null stream.
bool is_default_stream(CUstream s) {
  const uintptr_t v = reinterpret_cast<uintptr_t>(s);
  return v == 0 || v == 1 || v == 2;
}

void invalidate(Capture& c) { c.invalidated = true; }

// Work given to the legacy stream waits for every blocking stream; where one of
// them captures, CUDA refuses (and invalidates that capture).
CUresult check_legacy_use(CUstream s) {
  if (reinterpret_cast<uintptr_t>(s) == 2)
    return kSuccess;  // per-thread: no implicit sync
  CUresult r = kSuccess;
  for (CUstream_st* other : Device::get().streams)
    if (other->capture && !(other->flags & kStreamNonBlocking)) {
      invalidate(*other->capture);
      r = kCaptureImplicit;
    }
  return r;
}

CUresult valid_event(CUevent e) {
  return Device::get().events.count(e) ? kSuccess : kInvalidHandle;
}

}  // namespace

CUresult submit(CUstream stream, StreamOp op, bool pageable_host) {
  if (CUresult r = require_context()) return r;
  Device& d = Device::get();
  {
    std::lock_guard<std::mutex> lock(d.mu);
    if (is_default_stream(stream)) {
      if (CUresult r = check_legacy_use(stream)) return r;
    } else {
      if (!d.streams.count(stream)) return kInvalidHandle;
      if (Capture* c = stream->capture.get()) {
        if (c->invalidated) return kCaptureInvalidated;
        if (pageable_host) {
          invalidate(*c);
          return kCaptureUnsupported;
        }
        c->graph->ops.push_back(std::move(op));
        return kSuccess;
      }
    }
  }
  return op();
}

CUresult check_unsafe_call() {
  Device& d = Device::get();
  std::lock_guard<std::mutex> lock(d.mu);
  const std::thread::id me = std::this_thread::get_id();
  CUresult r = kSuccess;
  for (CUstream_st* s : d.streams) {
    Capture* c = s->capture.get();
    if (!c) continue;
    const bool mine = c->thread == me;
    if ((mine && c->mode != kCaptureModeRelaxed) ||
        (!mine && c->mode == kCaptureModeGlobal)) {
      invalidate(*c);
      r = kCaptureUnsupported;
    }
  }
  return r;
}

// ---- streams
// ---------------------------------------------------------------------------

TH_EMU_EXPORT CUresult cuStreamCreate(CUstream* stream, unsigned flags) {
  if (!stream || (flags & ~kStreamNonBlocking)) return kInvalidValue;
  if (CUresult r = require_context()) return r;
  auto* s = new CUstream_st;
  s->flags = flags;
  std::lock_guard<std::mutex> lock(Device::get().mu);
  Device::get().streams.insert(s);
  *stream = s;
  return kSuccess;
}

TH_EMU_EXPORT CUresult cuStreamDestroy_v2(CUstream stream) {
  Device& d = Device::get();
  std::lock_guard<std::mutex> lock(d.mu);
  if (!d.streams.erase(stream)) return kInvalidHandle;
  delete stream;
  return kSuccess;
}

TH_EMU_EXPORT CUresult cuStreamSynchronize(CUstream stream) {
  if (CUresult r = require_context()) return r;
  Device& d = Device::get();
  std::lock_guard<std::mutex> lock(d.mu);
  if (is_default_stream(stream)) return check_legacy_use(stream);
  if (!d.streams.count(stream)) return kInvalidHandle;
  if (stream->capture) {
    invalidate(*stream->capture);
    return kCaptureUnsupported;
  }
  return kSuccess;
}

TH_EMU_EXPORT CUresult cuStreamQuery(CUstream stream) {
  if (CUresult r = require_context()) return r;
  Device& d = Device::get();
  std::lock_guard<std::mutex> lock(d.mu);
  if (is_default_stream(stream)) return kSuccess;
  if (!d.streams.count(stream)) return kInvalidHandle;
  if (stream->capture) {
    invalidate(*stream->capture);
    return kCaptureUnsupported;
  }
  return kSuccess;
}

// Every stream is done with its work already, so there is nothing to wait for.
TH_EMU_EXPORT CUresult cuStreamWaitEvent(CUstream stream, CUevent event, unsigned flags) {
  if (CUresult r = require_context()) return r;
  Device& d = Device::get();
  std::lock_guard<std::mutex> lock(d.mu);
  if (!is_default_stream(stream) && !d.streams.count(stream)) return kInvalidHandle;
  return valid_event(event);
}

// ---- events
// ----------------------------------------------------------------------------

TH_EMU_EXPORT CUresult cuEventCreate(CUevent* event, unsigned flags) {
  if (!event || (flags & ~0x7u)) return kInvalidValue;
  if (CUresult r = require_context()) return r;
  auto* e = new CUevent_st;
  e->flags = flags;
  std::lock_guard<std::mutex> lock(Device::get().mu);
  Device::get().events.insert(e);
  *event = e;
  return kSuccess;
}

TH_EMU_EXPORT CUresult cuEventDestroy_v2(CUevent event) {
  Device& d = Device::get();
  std::lock_guard<std::mutex> lock(d.mu);
  if (!d.events.erase(event)) return kInvalidHandle;
  delete event;
  return kSuccess;
}

// The time an event is recorded at is when the work before it finished: now,
// or at each replay of a captured graph.
TH_EMU_EXPORT CUresult cuEventRecord(CUevent event, CUstream stream) {
  {
    std::lock_guard<std::mutex> lock(Device::get().mu);
    if (CUresult r = valid_event(event)) return r;
  }
  return submit(stream, [event] {
    Device& d = Device::get();
    std::lock_guard<std::mutex> lock(d.mu);
    if (!d.events.count(event)) return CUresult(kInvalidHandle);
    event->recorded = true;
    event->when = std::chrono::steady_clock::now();
    return CUresult(kSuccess);
  });
}

TH_EMU_EXPORT CUresult cuEventSynchronize(CUevent event) {
  std::lock_guard<std::mutex> lock(Device::get().mu);
  return valid_event(event);
}

TH_EMU_EXPORT CUresult cuEventQuery(CUevent event) {
  std::lock_guard<std::mutex> lock(Device::get().mu);
  return valid_event(event);
}

TH_EMU_EXPORT CUresult cuEventElapsedTime(float* ms, CUevent start, CUevent end) {
  if (!ms) return kInvalidValue;
  std::lock_guard<std::mutex> lock(Device::get().mu);
  if (valid_event(start) || valid_event(end)) return kInvalidHandle;
  if ((start->flags | end->flags) & kEventDisableTiming) return kInvalidHandle;
  if (!start->recorded || !end->recorded) return kInvalidHandle;
  *ms = std::chrono::duration<float, std::milli>(end->when - start->when).count();
  return kSuccess;
}

TH_EMU_EXPORT CUresult cuEventElapsedTime_v2(float* ms, CUevent start, CUevent end) {
  return cuEventElapsedTime(ms, start, end);
}

// ---- copies and memsets
// ------------------------------------------------------------------- Each checks the
// device range when issued and again when it runs (a replayed graph may outlive the
// memory it was captured with).

TH_EMU_EXPORT CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, size_t n,
                                            CUstream stream) {
  if (n == 0) return require_context();
  if (!src || !is_device_range(dst, n)) return kInvalidValue;
  return submit(
      stream,
      [=] {
        if (!is_device_range(dst, n)) return CUresult(kIllegalAddress);
        std::memcpy(reinterpret_cast<void*>(dst), src, n);
        return CUresult(kSuccess);
      },
      !is_pinned(src));
}

TH_EMU_EXPORT CUresult cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t n,
                                            CUstream stream) {
  if (n == 0) return require_context();
  if (!dst || !is_device_range(src, n)) return kInvalidValue;
  return submit(
      stream,
      [=] {
        if (!is_device_range(src, n)) return CUresult(kIllegalAddress);
        std::memcpy(dst, reinterpret_cast<const void*>(src), n);
        return CUresult(kSuccess);
      },
      !is_pinned(dst));
}

TH_EMU_EXPORT CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t n,
                                            CUstream stream) {
  if (n == 0) return require_context();
  if (!is_device_range(dst, n) || !is_device_range(src, n)) return kInvalidValue;
  return submit(stream, [=] {
    if (!is_device_range(dst, n) || !is_device_range(src, n))
      return CUresult(kIllegalAddress);
    std::memmove(reinterpret_cast<void*>(dst), reinterpret_cast<const void*>(src), n);
    return CUresult(kSuccess);
  });
}

TH_EMU_EXPORT CUresult cuMemsetD8Async(CUdeviceptr dst, unsigned char value, size_t n,
                                       CUstream stream) {
  if (n == 0) return require_context();
  if (!is_device_range(dst, n)) return kInvalidValue;
  return submit(stream, [=] {
    if (!is_device_range(dst, n)) return CUresult(kIllegalAddress);
    std::memset(reinterpret_cast<void*>(dst), value, n);
    return CUresult(kSuccess);
  });
}

TH_EMU_EXPORT CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned value, size_t n,
                                        CUstream stream) {
  if (n == 0) return require_context();
  if (dst % 4 != 0 || n > SIZE_MAX / 4 || !is_device_range(dst, n * 4))
    return kInvalidValue;
  return submit(stream, [=] {
    if (!is_device_range(dst, n * 4)) return CUresult(kIllegalAddress);
    auto* p = reinterpret_cast<unsigned*>(dst);
    for (size_t i = 0; i < n; ++i) p[i] = value;
    return CUresult(kSuccess);
  });
}

// The synchronous forms: on the legacy stream.
TH_EMU_EXPORT CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void* src, size_t n) {
  return cuMemcpyHtoDAsync_v2(dst, src, n, nullptr);
}
TH_EMU_EXPORT CUresult cuMemcpyDtoH_v2(void* dst, CUdeviceptr src, size_t n) {
  return cuMemcpyDtoHAsync_v2(dst, src, n, nullptr);
}
TH_EMU_EXPORT CUresult cuMemcpyDtoD_v2(CUdeviceptr dst, CUdeviceptr src, size_t n) {
  return cuMemcpyDtoDAsync_v2(dst, src, n, nullptr);
}
TH_EMU_EXPORT CUresult cuMemsetD8_v2(CUdeviceptr dst, unsigned char value, size_t n) {
  return cuMemsetD8Async(dst, value, n, nullptr);
}
TH_EMU_EXPORT CUresult cuMemsetD32_v2(CUdeviceptr dst, unsigned value, size_t n) {
  return cuMemsetD32Async(dst, value, n, nullptr);
}

}  // namespace theanine::cuda_emu
