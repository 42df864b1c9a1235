#include "runtime/cuda_graph.h"

#include "runtime/cuda_array.h"
#include "runtime/error.h"

namespace theanine {

namespace {

// The graph being recorded (one capture at a time: there is one stream).
CudaGraph* g_recording = nullptr;

}  // namespace

CudaGraph::~CudaGraph() {
  if (exec_) cuda::driver().cuGraphExecDestroy(exec_);
  if (pool_) pool_->retire();
}

void CudaGraph::launch() const {
  cuda::count_work(cuda::Work::GraphLaunch);
  cuda::check(cuda::driver().cuGraphLaunch(exec_, cuda::stream()), "cuGraphLaunch");
}

bool CudaGraph::check_failed() const {
  for (const NDArray& flags : checks_) {
    const NDArray host = to_host(flags);
    for (int64_t i = 0; i < host.size(); ++i)
      if (host.item_int(i) != 0) return true;
  }
  return false;
}

CudaCapture::CudaCapture() {
  if (!cuda_graphs_available())
    throw CaptureUnsupported("CUDA graphs are not available: " +
                             (cuda_available() ? std::string("the driver lacks them")
                                               : cuda_unavailable_reason()));
  if (g_recording) throw CaptureUnsupported("a capture is already running");
  graph_.reset(new CudaGraph());
  graph_->pool_ = std::make_shared<DevicePool>();
  // Relaxed: allocating device memory (a block the pool did not have yet) is
  // allowed while the stream records.
  cuda::check(cuda::driver().cuStreamBeginCapture(cuda::stream(),
                                                  cuda::CU_STREAM_CAPTURE_MODE_RELAXED),
              "cuStreamBeginCapture");
  open_ = true;
  g_recording = graph_.get();
  cuda::set_capturing(true);
  scope_ = std::make_unique<DevicePoolScope>(graph_->pool_);
}

CudaCapture::~CudaCapture() {
  if (!open_) return;
  scope_.reset();
  cuda::set_capturing(false);
  g_recording = nullptr;
  cuda::CUgraph graph = nullptr;
  // Dropped: whatever the status, nothing of it runs.
  if (cuda::driver().cuStreamEndCapture(cuda::stream(), &graph) == cuda::CUDA_SUCCESS &&
      graph)
    cuda::driver().cuGraphDestroy(graph);
}

std::unique_ptr<CudaGraph> CudaCapture::finish() {
  std::vector<NDArray>& checks = graph_->checks_;
  if (checks.size() > 1) {
    // Gathered by the graph into one array: one read after each launch.
    NDArray all = device_empty(DType::Int32, {static_cast<int64_t>(checks.size())});
    for (size_t i = 0; i < checks.size(); ++i)
      cuda::copy_device_to_device(reinterpret_cast<uint64_t>(all.raw()) + 4 * i,
                                  reinterpret_cast<uint64_t>(checks[i].raw()), 4);
    checks = {all};
  }
  scope_.reset();
  cuda::set_capturing(false);
  g_recording = nullptr;
  open_ = false;
  const cuda::DriverApi& d = cuda::driver();
  cuda::CUgraph graph = nullptr;
  cuda::CUresult r = d.cuStreamEndCapture(cuda::stream(), &graph);
  if (r != cuda::CUDA_SUCCESS) {
    // The stream refused something while recording: the step runs without a graph.
    const char* name = nullptr;
    d.cuGetErrorName(r, &name);
    throw CaptureUnsupported("cuStreamEndCapture failed: " +
                             (name ? std::string(name) : std::to_string(r)));
  }
  r = d.cuGraphInstantiate(&graph_->exec_, graph, 0);
  d.cuGraphDestroy(graph);
  cuda::check(r, "cuGraphInstantiate");
  return std::move(graph_);
}

void capture_keep(const NDArray& a) {
  if (!g_recording) throw Error("capture_keep: no capture is running");
  g_recording->kept_.push_back(a);
}

void capture_defer_check(const NDArray& flag) {
  if (!g_recording) throw Error("capture_defer_check: no capture is running");
  g_recording->checks_.push_back(flag);
}

bool capture_has_checks() { return g_recording && !g_recording->checks_.empty(); }

}  // namespace theanine
