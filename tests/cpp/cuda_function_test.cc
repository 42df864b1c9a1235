// Functions compiled for the CUDA device against the same functions on the
// CPU: fused elementwise kernels, reductions, products through cuBLAS, the
// gradient of an MLP trained by SGD on device-resident parameters, outputs
// kept on the device, host fallbacks and errors. Skipped without a device
// (ctest also runs them on the software device of tests/cuda_emu).
#include <gtest/gtest.h>

#include <cmath>

#include "runtime/cuda_array.h"
#include "tests/cpp/cuda_skip.h"
#include "tests/cpp/test_util.h"
#include "theanine.h"

namespace theanine {
namespace {

using namespace testing;

FunctionOptions on(const char* device) {
  FunctionOptions o;
  o.device = device;
  return o;
}

void expect_close(const NDArray& got, const NDArray& want, double tol,
                  const std::string& what) {
  ASSERT_FALSE(on_device(got)) << what << ": outputs come back on the host";
  ASSERT_EQ(got.shape(), want.shape()) << what;
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  for (int64_t i = 0; i < want.size(); ++i) {
    const double g = got.item_double(i), w = want.item_double(i);
    if (std::isnan(w)) {
      EXPECT_TRUE(std::isnan(g)) << what << " element " << i;
      continue;
    }
    ASSERT_NEAR(g, w, tol * (1 + std::abs(w))) << what << " element " << i;
  }
}

// The outputs of `outs` over `args`, on the CPU and on the device, agree.
void expect_same_on_device(const std::vector<Var>& ins, const std::vector<Var>& outs,
                           const std::vector<NDArray>& args, double tol = 1e-5) {
  std::vector<In> in(ins.begin(), ins.end());
  std::vector<Out> out(outs.begin(), outs.end());
  std::vector<Arg> a(args.begin(), args.end());
  Function cpu = function(in, out, {}, on("cpu"));
  Function gpu = function(in, out, {}, on("cuda"));
  EXPECT_EQ(gpu.device(), DeviceKind::CUDA);
  auto want = cpu(a);
  auto got = gpu(a);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i)
    expect_close(got[i], want[i], tol, "output " + std::to_string(i));
}

TEST(CudaFunction, FusedElementwiseAndBroadcasts) {
  SKIP_WITHOUT_GPU();
  Var x = input(DType::Float32, {-1, -1}, "x");
  Var b = input(DType::Float32, {-1}, "b");
  NDArray xv = random_array(DType::Float32, {37, 19}, 1);
  NDArray bv = random_array(DType::Float32, {19}, 2);
  expect_same_on_device({x, b}, {tanh(x * 2.0 + b), sigmoid(x) - exp(b)}, {xv, bv});
  // A transposed argument.
  NDArray xt = random_array(DType::Float32, {19, 37}, 9).transpose({1, 0});
  expect_same_on_device({x, b}, {x * x + b}, {xt, bv});
}

TEST(CudaFunction, Reductions) {
  SKIP_WITHOUT_GPU();
  Var x = input(DType::Float32, {-1, -1}, "x");
  NDArray xv = random_array(DType::Float32, {33, 70}, 3);
  expect_same_on_device(
      {x},
      {sum(x), sum(x, std::vector<int>{0}), mean(x), max(x, std::vector<int>{1}),
       argmax(x, 1), mean(x, std::vector<int>{1}, true)},
      {xv}, 1e-4);
}

TEST(CudaFunction, ProductsThroughCublas) {
  SKIP_WITHOUT_GPU();
  Var a = input(DType::Float32, {-1, -1}, "a");
  Var b = input(DType::Float32, {-1, -1}, "b");
  Var v = input(DType::Float32, {-1}, "v");
  NDArray av = random_array(DType::Float32, {13, 7}, 4);
  NDArray bv = random_array(DType::Float32, {7, 5}, 5);
  NDArray vv = random_array(DType::Float32, {7}, 6);
  expect_same_on_device({a, b, v},
                        {dot(a, b), dot(transpose(b), transpose(a)), dot(a, v), dot(v, b),
                         dot(a, b) * 0.5 + 1.0},
                        {av, bv, vv}, 1e-5);
  Var d = input(DType::Float64, {-1, -1}, "d");
  NDArray dv = random_array(DType::Float64, {6, 6}, 7);
  expect_same_on_device({d}, {dot(d, transpose(d))}, {dv}, 1e-12);
}

TEST(CudaFunction, SoftmaxFamily) {
  SKIP_WITHOUT_GPU();
  Var x = input(DType::Float32, {-1, -1}, "x");
  Var y = input(DType::Int32, {-1}, "y");
  NDArray xv = random_array(DType::Float32, {9, 10}, 8, 5.0);
  NDArray yv = arr(std::vector<int32_t>{0, 3, 9, 1, 2, 2, 5, 7, 8}, {9});
  Var cost = mean(crossentropy_softmax(x, y));
  expect_same_on_device({x, y}, {softmax(x), cost, grad(cost, x)}, {xv, yv}, 1e-5);
}

// An MLP trained by SGD with its parameters on the device matches the same
// training on the CPU, step for step.
TEST(CudaFunction, TrainsAnMlpWithDeviceParameters) {
  SKIP_WITHOUT_GPU();
  auto build = [](DeviceKind where, std::vector<Var>& params) {
    Var x = input(DType::Float32, {-1, 12}, "x");
    Var y = input(DType::Int32, {-1}, "y");
    Var w1 = make_shared(random_array(DType::Float32, {12, 8}, 10, 0.3), "w1");
    Var b1 = make_shared(NDArray::zeros(DType::Float32, {8}), "b1");
    Var w2 = make_shared(random_array(DType::Float32, {8, 4}, 11, 0.3), "w2");
    Var b2 = make_shared(NDArray::zeros(DType::Float32, {4}), "b2");
    params = {w1, b1, w2, b2};
    for (const Var& p : params) move_shared(p, where);
    Var h = tanh(dot(x, w1) + b1);
    Var cost = mean(crossentropy_softmax(dot(h, w2) + b2, y));
    std::vector<Var> g = grad(cost, params);
    Updates ups;
    for (size_t i = 0; i < params.size(); ++i)
      ups.push_back({params[i], params[i] - 0.1 * g[i]});
    return function({x, y}, {cost}, ups);
  };
  std::vector<Var> pc, pg;
  Function cpu = build(DeviceKind::CPU, pc);
  Function gpu = build(DeviceKind::CUDA, pg);
  EXPECT_EQ(cpu.device(), DeviceKind::CPU);
  EXPECT_EQ(gpu.device(), DeviceKind::CUDA);  // follows its shared variables
  EXPECT_EQ(shared_device(pg[0]), DeviceKind::CUDA);
  NDArray xv = random_array(DType::Float32, {16, 12}, 12);
  NDArray yv =
      arr(std::vector<int32_t>{0, 1, 2, 3, 3, 2, 1, 0, 0, 1, 2, 3, 1, 1, 2, 2}, {16});
  for (int step = 0; step < 5; ++step) {
    NDArray c = cpu({xv, yv}).at(0), g = gpu({xv, yv}).at(0);
    expect_close(g, c, 1e-4, "cost at step " + std::to_string(step));
  }
  for (size_t i = 0; i < pc.size(); ++i) {
    EXPECT_TRUE(on_device(get_value(pg[i], /*borrow=*/true))) << "stays on the device";
    expect_close(get_value(pg[i]), get_value(pc[i]), 1e-4, pc[i]->name);
  }
}

TEST(CudaFunction, OutputsStayOnTheDeviceWhenAsked) {
  SKIP_WITHOUT_GPU();
  Var x = input(DType::Float32, {-1}, "x");
  FunctionOptions o = on("cuda");
  o.outputs_on_device = true;
  Function f = function({x}, {x * 2.0}, {}, o);
  NDArray r = f({arr(std::vector<float>{1, 2, 3}, {3})}).at(0);
  ASSERT_TRUE(on_device(r));
  // A device array goes back in without a copy to the host.
  NDArray r2 = f({r}).at(0);
  EXPECT_EQ(values(to_host(r2)), (std::vector<double>{4, 8, 12}));
}

TEST(CudaFunction, SharedValuesMoveAndKeepTheirPlace) {
  SKIP_WITHOUT_GPU();
  Var s = make_shared(arr(std::vector<float>{1, 2}, {2}), "s");
  move_shared(s, DeviceKind::CUDA);
  EXPECT_FALSE(on_device(get_value(s)));  // a host copy
  set_value(s, arr(std::vector<float>{5, 6}, {2}));
  EXPECT_TRUE(on_device(get_value(s, true)));
  EXPECT_EQ(values(get_value(s)), (std::vector<double>{5, 6}));
  move_shared(s, DeviceKind::CPU);
  EXPECT_FALSE(on_device(get_value(s, true)));
}

TEST(CudaFunction, OpsWithoutDeviceCodeRunOnTheHost) {
  SKIP_WITHOUT_GPU();
  Var x = input(DType::Float32, {-1, -1}, "x");
  NDArray xv = random_array(DType::Float32, {4, 3}, 13);
  // concatenate has no device entry: its inputs come over, the result goes back.
  expect_same_on_device({x}, {sum(tanh(concatenate({x, x * 2.0}, 1)))}, {xv}, 1e-5);
}

TEST(CudaFunction, BadInputNamesTheProblem) {
  SKIP_WITHOUT_GPU();
  Var x = input(DType::Float32, {-1}, "x");
  Var y = input(DType::Float32, {-1}, "y");
  Function f = function({x, y}, {x + y}, {}, on("cuda"));
  try {
    f({arr(std::vector<float>{1, 2, 3}, {3}), arr(std::vector<float>{1, 2}, {2})});
    FAIL() << "shapes (3,) and (2,) do not broadcast";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("(3,)"), std::string::npos) << e.what();
  }
}

TEST(CudaFunction, AskingForCudaWithoutADeviceIsAClearError) {
  if (cuda_available()) GTEST_SKIP() << "a device is present";
  Var x = input(DType::Float32, {-1}, "x");
  try {
    function({x}, {x * 2.0}, {}, on("cuda"));
    FAIL() << "no device";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("CUDA is not available"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(set_default_device(DeviceKind::CUDA), Error);
}

}  // namespace
}  // namespace theanine
