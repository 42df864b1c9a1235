#include "codegen/cuda_graph_step.h"

#include "runtime/cuda_array.h"
#include "runtime/error.h"

namespace theanine {

namespace {

// The shapes a recording is valid for: every argument's, and every shared
// value's with where it lives (dtypes are fixed by the types).
std::vector<int64_t> shape_key(const std::vector<NDArray>& slots,
                               const StepSlots& layout) {
  std::vector<int64_t> key;
  auto add = [&key](const NDArray& a) {
    key.push_back(a.ndim());
    key.insert(key.end(), a.shape().begin(), a.shape().end());
  };
  for (size_t i = 0; i < layout.num_inputs; ++i) add(slots[i]);
  for (const auto& [slot, storage] : layout.shared) {
    key.push_back(on_device(slots[slot]) ? 1 : 0);
    add(slots[slot]);
  }
  return key;
}

bool same_view(const NDArray& a, const NDArray& b) {
  return a.buffer() == b.buffer() && a.raw() == b.raw() && a.shape() == b.shape() &&
         a.strides() == b.strides();
}

}  // namespace

struct CudaGraphStep::Recorded {
  std::vector<int64_t> key;
  std::unique_ptr<CudaGraph> graph;
  std::vector<NDArray> inputs;   // the blocks the graph reads the arguments from
  std::vector<NDArray> shared;   // ... and the shared values from
  std::vector<NDArray> outputs;  // where it leaves the outputs
  std::vector<NDArray> updates;  // ... and the update values
  // Whether the graph itself copies the updates into the variables' blocks.
  bool updates_in_graph = false;
};

CudaGraphStep::CudaGraphStep(const Program* program, StepSlots slots,
                             bool outputs_on_device)
    : program_(program), slots_(std::move(slots)), outputs_on_device_(outputs_on_device) {
  for (const auto& target : slots_.update_targets) {
    int k = -1;
    for (size_t s = 0; s < slots_.shared.size(); ++s)
      if (slots_.shared[s].second == target) k = static_cast<int>(s);
    update_shared_.push_back(k);
  }
}

CudaGraphStep::~CudaGraphStep() = default;

int64_t CudaGraphStep::replays() const {
  std::lock_guard<std::mutex> lock(mu_);
  return replays_;
}

std::string CudaGraphStep::reason() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reason_;
}

size_t CudaGraphStep::graph_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return recorded_ ? recorded_->graph->pool_bytes() : 0;
}

std::optional<std::vector<NDArray>> CudaGraphStep::run(std::vector<NDArray>& slots) {
  std::lock_guard<std::mutex> lock(mu_);
  if (program_->profile) return std::nullopt;  // a profile times each node
  std::vector<int64_t> key = shape_key(slots, slots_);
  if (recorded_ && recorded_->key == key) {
    // Only shapes seen on two calls in a row are recorded: an epoch's short last
    // batch is not, and does not push out the graph of the full batches.
    seen_.reset();
    return replay(slots);
  }
  if (!reason_.empty()) return std::nullopt;
  if (seen_ != key) {
    seen_ = std::move(key);
    return std::nullopt;
  }
  return record(slots);
}

std::optional<std::vector<NDArray>> CudaGraphStep::record(std::vector<NDArray>& slots) {
  for (const auto& [slot, storage] : slots_.shared)
    if (!on_device(slots[slot])) {
      reason_ = "a shared variable it reads lives on the host";
      return std::nullopt;
    }
  auto rec = std::make_unique<Recorded>();
  rec->key = *seen_;
  for (size_t i = 0; i < slots_.num_inputs; ++i) {
    slots[i] = to_device(slots[i]);
    rec->inputs.push_back(slots[i]);
  }
  for (const auto& [slot, storage] : slots_.shared) rec->shared.push_back(slots[slot]);
  std::vector<NDArray> work = slots;
  try {
    CudaCapture capture;
    program_->run(work);
    for (int s : slots_.outputs) rec->outputs.push_back(work[s]);
    for (int s : slots_.updates) rec->updates.push_back(work[s]);
    work.clear();  // the graph's intermediates go back to its pool
    // Updates are copied into the variables' blocks one after the other: one
    // that reads another variable's block would see it already overwritten.
    for (size_t u = 0; u < rec->updates.size(); ++u)
      for (size_t k = 0; k < rec->shared.size(); ++k)
        if (static_cast<int>(k) != update_shared_[u] &&
            rec->updates[u].shares_memory(rec->shared[k]))
          throw CaptureUnsupported(
              "an update's value is the value of another shared variable");
    // Those copies go into the graph too, unless a device check must pass
    // before anything is committed, an output reads a variable's block (it
    // must see the old value) or an update value is on the host.
    rec->updates_in_graph = !capture_has_checks();
    for (size_t u = 0; u < rec->updates.size(); ++u) {
      if (update_shared_[u] < 0) continue;
      const NDArray& target = rec->shared[update_shared_[u]];
      if (!on_device(rec->updates[u])) rec->updates_in_graph = false;
      for (const NDArray& o : rec->outputs)
        if (o.shares_memory(target)) rec->updates_in_graph = false;
    }
    if (rec->updates_in_graph)
      for (size_t u = 0; u < rec->updates.size(); ++u) {
        const int k = update_shared_[u];
        if (k >= 0 && !same_view(rec->updates[u], rec->shared[k]))
          device_assign(rec->shared[k], rec->updates[u]);
      }
    rec->graph = capture.finish();
  } catch (const CaptureUnsupported& e) {
    reason_ = e.what();
    return std::nullopt;
  } catch (const std::exception& e) {
    // Bad input or a failing call: the run without a graph reports it. A step
    // that fails to record twice is not recorded again.
    seen_.reset();
    if (++failed_recordings_ >= 2) reason_ = std::string("recording failed: ") + e.what();
    return std::nullopt;
  }
  recorded_ = std::move(rec);
  return replay(slots);
}

std::optional<std::vector<NDArray>> CudaGraphStep::replay(std::vector<NDArray>& slots) {
  Recorded& rec = *recorded_;
  for (size_t i = 0; i < slots_.num_inputs; ++i)
    if (!same_view(slots[i], rec.inputs[i])) device_assign(rec.inputs[i], slots[i]);
  for (size_t k = 0; k < slots_.shared.size(); ++k) {
    const NDArray& value = slots[slots_.shared[k].first];
    if (!same_view(value, rec.shared[k])) device_assign(rec.shared[k], value);
  }
  rec.graph->launch();
  // The graph wrote only its own blocks: on bad input nothing is lost, and the
  // run without it names the problem.
  if (rec.graph->has_checks() && rec.graph->check_failed()) return std::nullopt;
  ++replays_;
  std::vector<NDArray> outputs;
  for (const NDArray& r : rec.outputs) {
    if (outputs_on_device_)
      outputs.push_back(on_device(r) ? r.copy() : to_device(r));
    else
      outputs.push_back(on_device(r) ? to_host(r) : r.copy());
  }
  // All update values are in the graph's blocks: the commit is atomic.
  std::vector<NDArray> values;
  for (size_t u = 0; u < rec.updates.size(); ++u) {
    const NDArray& v = rec.updates[u];
    const NDArray& old = slots_.update_targets[u]->value;
    const int k = update_shared_[u];
    if (!on_device(old)) {
      const NDArray& now = k >= 0 && rec.updates_in_graph ? rec.shared[k] : v;
      values.push_back(on_device(now) ? to_host(now) : now.copy());
    } else if (k >= 0) {
      if (!rec.updates_in_graph && !same_view(v, rec.shared[k]))
        device_assign(rec.shared[k], v);
      values.push_back(rec.shared[k]);
    } else {
      values.push_back(on_device(v) ? v.copy() : to_device(v));
    }
  }
  for (size_t u = 0; u < values.size(); ++u)
    slots_.update_targets[u]->value = std::move(values[u]);
  return outputs;
}

}  // namespace theanine
