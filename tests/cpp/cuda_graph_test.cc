// CUDA functions replaying their step as a CUDA graph (codegen/cuda_graph_step.h)
// against the same functions on the CPU and with graphs off: training with
// updates that read each other's results, shapes that change between calls,
// values set between replays, outputs kept on the device, bad input found by a
// device check after the recording, and steps a graph cannot hold. Skipped
// without a device (ctest runs them on the software device of tests/cuda_emu).
#include <gtest/gtest.h>

#include <cmath>
#include <optional>

#include "runtime/cuda_array.h"
#include "runtime/cuda_driver.h"
#include "tests/cpp/cuda_skip.h"
#include "tests/cpp/test_util.h"
#include "theanine.h"

namespace theanine {
namespace {

using namespace testing;

#define SKIP_WITHOUT_GRAPHS()                        \
  SKIP_WITHOUT_GPU();                                \
  THEANINE_CUDA_SKIP_UNLESS(cuda_graphs_available(), \
                            "the CUDA driver has no graph capture")

FunctionOptions on(DeviceKind where, bool graphs = true) {
  FunctionOptions o;
  o.device = device_name(where);
  o.cuda_graphs = graphs;
  return o;
}

void expect_close(const NDArray& got, const NDArray& want, double tol,
                  const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  NDArray g = to_host(got);
  for (int64_t i = 0; i < want.size(); ++i)
    ASSERT_NEAR(g.item_double(i), want.item_double(i),
                tol * (1 + std::abs(want.item_double(i))))
        << what << " element " << i;
}

// An MLP trained with momentum: the parameter updates read the velocity
// updates' results, as in the examples.
struct Mlp {
  std::vector<Var> params;
  std::optional<Function> fn;
  std::vector<NDArray> step(const std::vector<Arg>& args) { return (*fn)(args); }
  CudaGraphInfo info() const { return fn->cuda_graph_info(); }
};

Mlp momentum_mlp(DeviceKind where, bool graphs) {
  Var x = input(DType::Float32, {-1, 12}, "x");
  Var y = input(DType::Int32, {-1}, "y");
  Mlp m;
  m.params =
      std::vector<Var>{make_shared(random_array(DType::Float32, {12, 8}, 10, 0.3), "w1"),
                       make_shared(NDArray::zeros(DType::Float32, {8}), "b1"),
                       make_shared(random_array(DType::Float32, {8, 4}, 11, 0.3), "w2"),
                       make_shared(NDArray::zeros(DType::Float32, {4}), "b2")};
  Var h = tanh(dot(x, m.params[0]) + m.params[1]);
  Var cost = mean(crossentropy_softmax(dot(h, m.params[2]) + m.params[3], y));
  std::vector<Var> g = grad(cost, m.params);
  Updates ups;
  for (size_t i = 0; i < m.params.size(); ++i) {
    Var v =
        make_shared(NDArray::zeros(DType::Float32, get_value(m.params[i]).shape()), "v");
    move_shared(v, where);
    move_shared(m.params[i], where);
    Var nv = 0.9 * v - 0.1 * g[i];
    ups.push_back({v, nv});
    ups.push_back({m.params[i], m.params[i] + nv});
  }
  m.fn = function({x, y}, {cost}, ups, on(where, graphs));
  return m;
}

NDArray labels(int64_t n, int seed) {
  std::vector<int32_t> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(static_cast<int32_t>((i * 7 + seed) % 4));
  return arr(v, {n});
}

TEST(CudaGraph, ReplaysATrainingStepAsTheCpuRunsIt) {
  SKIP_WITHOUT_GRAPHS();
  Mlp cpu = momentum_mlp(DeviceKind::CPU, false);
  Mlp gpu = momentum_mlp(DeviceKind::CUDA, true);
  // Batch sizes change as an epoch's last batch does.
  const std::vector<int64_t> batches{16, 16, 16, 16, 8, 16, 16, 8, 8, 8, 16};
  for (size_t s = 0; s < batches.size(); ++s) {
    NDArray xv = random_array(DType::Float32, {batches[s], 12}, 20 + static_cast<int>(s));
    NDArray yv = labels(batches[s], static_cast<int>(s));
    const cuda::WorkCounts before = cuda::work_counts();
    NDArray c = cpu.step({xv, yv}).at(0), g = gpu.step({xv, yv}).at(0);
    const cuda::WorkCounts after = cuda::work_counts();
    expect_close(g, c, 1e-4, "cost at step " + std::to_string(s));
    if (s == 2 || s == 3) {
      // A replay: one graph launch, no kernel from the host.
      EXPECT_EQ(after.graph_launches - before.graph_launches, 1u) << "step " << s;
      EXPECT_EQ(after.launches - before.launches, 0u) << "step " << s;
      EXPECT_EQ(after.blas_calls - before.blas_calls, 0u) << "step " << s;
    }
  }
  for (size_t i = 0; i < cpu.params.size(); ++i) {
    EXPECT_TRUE(on_device(get_value(gpu.params[i], true))) << "stays on the device";
    expect_close(get_value(gpu.params[i]), get_value(cpu.params[i]), 1e-4,
                 cpu.params[i]->name);
  }
  const CudaGraphInfo info = gpu.info();
  EXPECT_TRUE(info.enabled);
  EXPECT_EQ(info.reason, "");
  // Recorded at step 1 and replayed at 1-3, 5, 6; the lone 8-row batch of step
  // 4 is not recorded, the 8-row steps 7-9 are (at 8, replacing the 16-row
  // graph), so step 10 runs without one.
  EXPECT_EQ(info.replays, 7);
  EXPECT_GT(info.graph_bytes, 0u);
}

TEST(CudaGraph, OffLaunchesEachKernel) {
  SKIP_WITHOUT_GRAPHS();
  Mlp gpu = momentum_mlp(DeviceKind::CUDA, false);
  NDArray xv = random_array(DType::Float32, {16, 12}, 3);
  for (int s = 0; s < 3; ++s) gpu.step({xv, labels(16, s)});
  const cuda::WorkCounts before = cuda::work_counts();
  gpu.step({xv, labels(16, 5)});
  const cuda::WorkCounts after = cuda::work_counts();
  EXPECT_EQ(after.graph_launches, before.graph_launches);
  EXPECT_GT(after.launches, before.launches);
  EXPECT_FALSE(gpu.info().enabled);
}

TEST(CudaGraph, ValuesSetBetweenReplaysAreRead) {
  SKIP_WITHOUT_GRAPHS();
  Var x = input(DType::Float32, {-1}, "x");
  Var w = make_shared(arr(std::vector<float>{1, 2, 3}, {3}), "w");
  move_shared(w, DeviceKind::CUDA);
  Function f = function({x}, {x * w}, {}, on(DeviceKind::CUDA));
  NDArray xv = arr(std::vector<float>{1, 1, 1}, {3});
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(values(f({xv}).at(0)), (std::vector<double>{1, 2, 3}));
  set_value(w, arr(std::vector<float>{4, 5, 6}, {3}));
  EXPECT_EQ(values(f({xv}).at(0)), (std::vector<double>{4, 5, 6}));
  // A value living on the host is copied in as well.
  set_value(w, arr(std::vector<float>{7, 8, 9}, {3}));
  move_shared(w, DeviceKind::CPU);
  EXPECT_EQ(values(f({xv}).at(0)), (std::vector<double>{7, 8, 9}));
  EXPECT_GE(f.cuda_graph_info().replays, 3);
}

TEST(CudaGraph, OutputsOnTheDeviceOutliveTheNextReplay) {
  SKIP_WITHOUT_GRAPHS();
  Var x = input(DType::Float32, {-1}, "x");
  FunctionOptions o = on(DeviceKind::CUDA);
  o.outputs_on_device = true;
  Function f = function({x}, {x * 2.0, x + 1.0}, {}, o);
  std::vector<NDArray> kept;
  for (int i = 0; i < 5; ++i) {
    auto r = f({arr(std::vector<float>{float(i), float(i + 1)}, {2})});
    ASSERT_TRUE(on_device(r[0]) && on_device(r[1]));
    kept.push_back(r[0]);
  }
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(values(to_host(kept[i])), (std::vector<double>{2.0 * i, 2.0 * (i + 1)}))
        << "call " << i;
  EXPECT_GE(f.cuda_graph_info().replays, 3);
}

TEST(CudaGraph, BadInputInAReplayNamesTheProblemAndChangesNothing) {
  SKIP_WITHOUT_GRAPHS();
  Mlp gpu = momentum_mlp(DeviceKind::CUDA, true);
  NDArray xv = random_array(DType::Float32, {16, 12}, 4);
  for (int s = 0; s < 3; ++s) gpu.step({xv, labels(16, s)});
  ASSERT_GE(gpu.info().replays, 1);
  std::vector<NDArray> before;
  for (const Var& p : gpu.params) before.push_back(get_value(p));
  NDArray bad = labels(16, 0);
  bad.set_item_double(5, 9);  // of 4 classes
  try {
    gpu.step({xv, bad});
    FAIL() << "label 9 of 4 classes";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("9"), std::string::npos) << m;
  }
  for (size_t i = 0; i < before.size(); ++i)
    expect_close(get_value(gpu.params[i]), before[i], 0,
                 "parameter " + std::to_string(i));
  // And the next good call replays again.
  const int64_t replays = gpu.info().replays;
  gpu.step({xv, labels(16, 1)});
  EXPECT_EQ(gpu.info().replays, replays + 1);
}

TEST(CudaGraph, UpdatesSwappingValuesRunWithoutAGraph) {
  SKIP_WITHOUT_GRAPHS();
  Var a = make_shared(arr(std::vector<float>{1, 2}, {2}), "a");
  Var b = make_shared(arr(std::vector<float>{3, 4}, {2}), "b");
  move_shared(a, DeviceKind::CUDA);
  move_shared(b, DeviceKind::CUDA);
  Function f = function({}, {a + 0.0}, {{a, b}, {b, a}}, on(DeviceKind::CUDA));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(values(f({}).at(0)),
              (i % 2 ? std::vector<double>{3, 4} : std::vector<double>{1, 2}))
        << "call " << i;
  }
  EXPECT_EQ(values(get_value(a)), (std::vector<double>{3, 4}));
  EXPECT_NE(f.cuda_graph_info().reason, "");
}

TEST(CudaGraph, HostFallbacksRunWithoutAGraph) {
  SKIP_WITHOUT_GRAPHS();
  Var x = input(DType::Float32, {-1, -1}, "x");
  // concatenate has no device code: its inputs are read on the host.
  Function f =
      function({x}, {sum(tanh(concatenate({x, x * 2.0}, 1)))}, {}, on(DeviceKind::CUDA));
  Function c =
      function({x}, {sum(tanh(concatenate({x, x * 2.0}, 1)))}, {}, on(DeviceKind::CPU));
  for (int i = 0; i < 4; ++i) {
    NDArray xv = random_array(DType::Float32, {4, 3}, 30 + i);
    expect_close(f({xv}).at(0), c({xv}).at(0), 1e-5, "call " + std::to_string(i));
  }
  const CudaGraphInfo info = f.cuda_graph_info();
  EXPECT_EQ(info.replays, 0);
  EXPECT_NE(info.reason.find("host"), std::string::npos) << info.reason;
}

}  // namespace
}  // namespace theanine
