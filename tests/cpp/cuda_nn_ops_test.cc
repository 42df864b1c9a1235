// The device entries of the neural-network ops (codegen/cuda_nn_ops.cc): every
// entry against its op's reference perform on the same inputs, on a GPU (or
// the emulator): convolutions in every border mode with strides, dilations,
// flipping and batches cut into chunks; pooling in every mode with padding and
// overlapping windows (bit for bit); softmax rows of every length the row
// kernels distinguish, along inner axes, with NaN, infinities and large
// logits; the crossentropy ops with and without rows; random draws equal to the
// CPU's for the same state; indexing and one-hot; strided device inputs; and
// bad input raising the reference path's errors; and the hand-written kernel
// facility under them (codegen/cuda_source_kernels.h). Without a GPU: every module
// compiles with NVRTC for sm_90, is written to THEANINE_CUDA_CHECK_DIR, and
// every entry recognises its ops and only those.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "codegen/cuda_nn_entries.h"
#include "codegen/cuda_nvrtc.h"
#include "codegen/cuda_op_table.h"
#include "graph/evaluate.h"
#include "graph/op.h"
#include "ops/conv.h"
#include "ops/nnet.h"
#include "ops/one_hot.h"
#include "ops/pool.h"
#include "ops/random.h"
#include "ops/shape_ops.h"
#include "ops/subtensor.h"
#include "runtime/cuda_array.h"
#include "runtime/error.h"
#include "tests/cpp/cuda_skip.h"
#include "tests/cpp/scoped_env.h"
#include "tests/cpp/test_util.h"

namespace theanine {
namespace {

using testing::expect_close;
using testing::expect_error;
using testing::input;
using testing::random_array;

// The entry of cuda_nn_ops() that runs `out`'s node, or null.
const CudaOpEntry* entry_for(const Var& out) {
  static const std::vector<CudaOpEntry> entries = cuda_nn_ops();
  for (const CudaOpEntry& e : entries)
    if (e.matches(*out->owner)) return &e;
  return nullptr;
}

// The values of the node's inputs: bound ones from b, constants and computed
// ones evaluated.
std::vector<NDArray> inputs_of(const Var& out, const Bindings& b) {
  std::vector<NDArray> r;
  for (const Var& v : out->owner->inputs) {
    auto it = b.find(v.get());
    r.push_back(it != b.end() ? it->second : testing::eval1(v, b));
  }
  return r;
}

// The node's outputs from its entry on device copies of `in` (or on `in`
// itself where an element is already on the device), copied back.
std::vector<NDArray> run_on_device(const Var& out, const std::vector<NDArray>& in) {
  const CudaOpEntry* e = entry_for(out);
  if (!e) {
    ADD_FAILURE() << "no entry for " << out->owner->op->name();
    return {};
  }
  std::vector<NDArray> dev;
  for (const NDArray& a : in) dev.push_back(to_device(a));
  std::optional<std::vector<NDArray>> r = e->run(*out->owner, dev);
  if (!r) {
    ADD_FAILURE() << e->name << " declined " << out->owner->op->name();
    return {};
  }
  std::vector<NDArray> host;
  for (size_t i = 0; i < r->size(); ++i) {
    EXPECT_TRUE(on_device((*r)[i]))
        << e->name << " output " << i << " is not on the device";
    EXPECT_EQ((*r)[i].dtype(), out->owner->output_ptr(static_cast<int>(i))->type.dtype);
    host.push_back(to_host((*r)[i]));
  }
  return host;
}

// The reference perform's outputs.
std::vector<NDArray> run_reference(const Var& out, const std::vector<NDArray>& in) {
  return out->owner->op->perform(*out->owner, in);
}

// The device entry agrees with the reference on the inputs bound in b: to
// within tol (see expect_close), exactly for tol 0.
void expect_matches_reference(const Var& out, const Bindings& b, double tol,
                              const std::string& what) {
  const std::vector<NDArray> in = inputs_of(out, b);
  const std::vector<NDArray> want = run_reference(out, in), got = run_on_device(out, in);
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < want.size(); ++i)
    expect_close(got[i], want[i], tol, what + " output " + std::to_string(i));
}

// The same elements, bit for bit.
void expect_same_bits(const NDArray& got, const NDArray& want, const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  NDArray g = got.contiguous(), w = want.contiguous();
  const size_t item = itemsize(g.dtype());
  int shown = 0;
  for (int64_t i = 0; i < g.size() && shown < 5; ++i)
    if (std::memcmp(static_cast<const char*>(g.raw()) + i * item,
                    static_cast<const char*>(w.raw()) + i * item, item) != 0) {
      ADD_FAILURE() << what << ": element " << i << " is " << g.item_double(i)
                    << ", the reference's " << w.item_double(i);
      ++shown;
    }
}

NDArray normal_array(DType d, const Shape& s, uint32_t seed, double scale = 1.0) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> n(0.0, scale);
  NDArray a = NDArray::empty(d, s);
  for (int64_t k = 0; k < a.size(); ++k) a.set_item_double(k, n(rng));
  return a;
}

NDArray ints(const std::vector<int64_t>& v, DType d = DType::Int64) {
  return NDArray::from_vector(v, {static_cast<int64_t>(v.size())}).astype(d);
}

const DType kFloats[] = {DType::Float32, DType::Float64};

// An int64 scalar constant (scalar_constant goes through a double).
Var i64c(int64_t v) {
  return make_constant(NDArray::from_vector(std::vector<int64_t>{v}, {}));
}

double tol_of(DType d) { return d == DType::Float32 ? 1e-5 : 1e-11; }

// ---- without a GPU ------------------------------------------------------------------

TEST(CudaNnModules, EveryModuleCompilesWithNvrtcForSm90) {
  SKIP_WITHOUT_NVRTC();
  // All modules as one program, as the NVRTC check tool batches files (the
  // guards let them share a translation unit): one compile is much faster
  // than one per module, which only runs to name the modules that fail.
  std::string all;
  for (const CudaSourceModule* m : cuda_nn::all_modules()) all += m->source() + "\n";
  NvrtcCheckResult r = nvrtc_check(all, "all_nn_modules.cu", 90);
  if (r.ok) return;
  ADD_FAILURE() << "the modules do not compile together:\n" << r.log;
  for (const CudaSourceModule* m : cuda_nn::all_modules()) {
    NvrtcCheckResult one = nvrtc_check(m->source(), m->name() + ".cu", 90);
    EXPECT_TRUE(one.ok) << m->name() << ":\n" << one.log;
  }
}

TEST(CudaNnModules, ABrokenModuleFailsTheCheckNamingTheLine) {
  SKIP_WITHOUT_NVRTC();
  // The check above can fail: the same call rejects bad CUDA C.
  NvrtcCheckResult r =
      nvrtc_check(cuda_nn::softmax_modules().at(0)->source() + "\nundeclared_thing x;\n",
                  "broken.cu", 90, true);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.log.find("undeclared_thing"), std::string::npos) << r.log;
}

TEST(CudaNnModules, ModulesAreWrittenToTheCheckDir) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      ("theanine_nn_check_" +
       std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
       std::to_string(reinterpret_cast<uintptr_t>(&dir) & 0xffff));
  std::filesystem::remove_all(dir);
  {
    testing::ScopedEnv env("THEANINE_CUDA_CHECK_DIR", dir.string());
    for (const CudaSourceModule* m : cuda_nn::all_modules())
      record_source_module_for_cuda_check(*m);
  }
  for (const CudaSourceModule* m : cuda_nn::all_modules()) {
    std::ifstream f(dir / (m->name() + ".cu"), std::ios::binary);
    ASSERT_TRUE(f) << m->name() << ".cu was not written";
    const std::string text((std::istreambuf_iterator<char>(f)),
                           std::istreambuf_iterator<char>());
    EXPECT_EQ(text, m->source()) << m->name();
  }
  std::filesystem::remove_all(dir);
}

TEST(CudaNnModules, AreRecordedForTheCiNvrtcPass) {
  // A test run with THEANINE_CUDA_CHECK_DIR set (scripts/test.sh) collects
  // every module, also on machines where no kernel of them is launched.
  for (const CudaSourceModule* m : cuda_nn::all_modules())
    record_source_module_for_cuda_check(*m);
  const char* dir = std::getenv("THEANINE_CUDA_CHECK_DIR");
  if (!dir || !*dir) GTEST_SKIP() << "THEANINE_CUDA_CHECK_DIR is not set";
  for (const CudaSourceModule* m : cuda_nn::all_modules())
    EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(dir) / (m->name() + ".cu")))
        << m->name();
}

TEST(CudaNnModules, ModuleNamesAreUniqueAndEveryEntryIsNamed) {
  std::set<std::string> names;
  for (const CudaSourceModule* m : cuda_nn::all_modules())
    EXPECT_TRUE(names.insert(m->name()).second) << m->name();
  for (const CudaOpEntry& e : cuda_nn_ops()) {
    EXPECT_NE(e.name, nullptr);
    EXPECT_NE(e.matches, nullptr);
    EXPECT_NE(e.run, nullptr);
  }
}

TEST(CudaNnOps, EntriesMatchTheirOpsAndOnlyThose) {
  Var x = input(DType::Float32, {-1, 3, 8, 8}), w = input(DType::Float32, {4, 3, 3, 3});
  Var m = input(DType::Float32, {-1, 5});
  Var y = input(DType::Int64, {-1});
  Var st = input(DType::Int64, {2});
  auto name_of = [](const Var& v) -> std::string {
    const CudaOpEntry* e = entry_for(v);
    return e ? e->name : "";
  };
  EXPECT_EQ(name_of(conv2d(x, w)), "Conv2d");
  EXPECT_EQ(name_of(conv2d_grad_inputs(w, conv2d(x, w), x)), "Conv2dGradInputs");
  EXPECT_EQ(name_of(conv2d_grad_weights(x, conv2d(x, w), w)), "Conv2dGradWeights");
  EXPECT_EQ(name_of(pool_2d(x, {})), "Pool");
  EXPECT_EQ(name_of(softmax(m)), "Softmax");
  EXPECT_EQ(name_of(log_softmax(m)), "Softmax");
  EXPECT_EQ(name_of(crossentropy_softmax(m, y)), "CrossentropySoftmax");
  EXPECT_EQ(name_of(random_uniform(st, {4}, testing::lit(0), testing::lit(1)).sample),
            "Random");
  EXPECT_EQ(name_of(random_binomial(st, {4}, scalar_constant(1, DType::Int64),
                                    testing::lit(0.5), DType::Float32)
                        .sample),
            "Random");
  EXPECT_EQ(name_of(to_one_hot(y, 5, DType::Float32)), "OneHot");
  Var picked = subtensor(m, {idx(arange(shape_i(m, 0))), idx(y)});
  EXPECT_EQ(name_of(picked), "AdvancedSubtensor");
  EXPECT_EQ(name_of(inc_subtensor(picked, testing::lit(1))), "AdvancedIncSubtensor");
  // Cases left to the host.
  EXPECT_EQ(name_of(set_subtensor(picked, testing::lit(1))), "");
  EXPECT_EQ(name_of(subtensor(m, {slice(1, 3), idx(y)})), "");
  EXPECT_EQ(name_of(random_permutation(st, {2}, scalar_constant(5, DType::Int64)).sample),
            "");
  EXPECT_EQ(name_of(m + m), "");
}

// ---- the hand-written kernel facility (codegen/cuda_source_kernels.h)
// -------------------

TEST(CudaSourceKernels, LaunchesByValueArgumentsAndNamesMissingKernels) {
  SKIP_WITHOUT_GPU();
  static const CudaSourceModule m("test_fill", R"(
extern "C" __global__ void th_test_fill(float* out, float v, long long n) {
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x)
    out[i] = v + (float)i;
}
)");
  NDArray out = device_zeros(DType::Float32, {1000});
  const uint64_t p = reinterpret_cast<uint64_t>(out.raw());
  const float v = 0.5f;
  const long long n = 1000;
  // Fewer threads than elements: the loop strides.
  launch_cuda_source(m, "th_test_fill", {3, 64, 0}, p, v, n);
  NDArray h = to_host(out);
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(h.item_double(i), 0.5 + i) << i;
  expect_error<Error>(
      [&] {
        launch_cuda_source(m, "th_no_such_kernel", {1, 32, 0}, p);
      },
      {"th_no_such_kernel", "test_fill"});
  // An empty grid launches nothing, so it does not even look the kernel up.
  EXPECT_NO_THROW(launch_cuda_source(m, "th_no_such_kernel", {0, 32, 0}, p));
  // Not a module CI's NVRTC pass should see.
  testing::ScopedEnv no_check_dir("THEANINE_CUDA_CHECK_DIR", std::nullopt);
  static const CudaSourceModule bad("test_bad",
                                    "extern \"C\" __global__ void k() { nope; }");
  expect_error<Error>([&] { bad.function("k"); },
                      {"NVRTC could not compile module test_bad", "nope"});
}

// ---- convolution ----------------------------------------------------------------------

struct ConvCase {
  const char* name;
  Conv2dOptions opts;
  Shape x, w;
};

std::vector<ConvCase> conv_cases() {
  std::vector<ConvCase> c;
  const Conv2dOptions valid;
  c.push_back({"valid", valid, {3, 2, 7, 6}, {4, 2, 3, 3}});
  Conv2dOptions full;
  full.border_mode = "full";
  full.filter_flip = false;
  c.push_back({"full, correlation", full, {2, 3, 5, 5}, {2, 3, 2, 3}});
  Conv2dOptions half;
  half.border_mode = "half";
  half.subsample = {2, 1};
  half.dilation = {1, 2};
  c.push_back(
      {"half, subsample (2,1), dilation (1,2)", half, {4, 2, 9, 8}, {3, 2, 3, 3}});
  Conv2dOptions pad = Conv2dOptions::with_padding(1, 2);
  pad.subsample = {2, 3};
  pad.dilation = {2, 1};
  c.push_back(
      {"pad (1,2), subsample (2,3), dilation (2,1)", pad, {1, 3, 10, 11}, {5, 3, 3, 2}});
  Conv2dOptions one;
  one.subsample = {3, 3};
  c.push_back({"1x1 filters, stride past the taps", one, {2, 4, 7, 7}, {3, 4, 1, 1}});
  return c;
}

TEST(CudaNnConv, ForwardAndBothGradientsMatchTheReference) {
  SKIP_WITHOUT_GPU();
  for (int64_t chunk : {int64_t(0), int64_t(1), int64_t(200)}) {
    // 0: the default (the whole batch is one GEMM); 1 element: a chunk per
    // image; 200: a few images per chunk and a short last chunk.
    cuda_nn::set_conv_chunk_elements(chunk);
    for (DType dt : kFloats)
      for (const ConvCase& c : conv_cases()) {
        const std::string what = std::string(c.name) + " " + dtype_name(dt) + " chunk " +
                                 std::to_string(chunk);
        Var x = input(dt, {-1, -1, -1, -1}), w = input(dt, {-1, -1, -1, -1});
        Var out = conv2d(x, w, c.opts);
        Bindings b{{x.get(), normal_array(dt, c.x, 1)},
                   {w.get(), normal_array(dt, c.w, 2)}};
        expect_matches_reference(out, b, tol_of(dt), what + " forward");
        const Shape ys = run_reference(out, inputs_of(out, b))[0].shape();
        Var gy = input(dt, {-1, -1, -1, -1});
        b[gy.get()] = normal_array(dt, ys, 3);
        expect_matches_reference(conv2d_grad_inputs(w, gy, x, c.opts), b, tol_of(dt),
                                 what + " grad inputs");
        expect_matches_reference(conv2d_grad_weights(x, gy, w, c.opts), b, tol_of(dt),
                                 what + " grad weights");
        // The shapes as int vectors (Theano's input_shape / filter_shape).
        Var xs = input(DType::Int64, {4}), ws = input(DType::Int64, {4});
        b[xs.get()] = NDArray::from_vector(c.x, {4});
        b[ws.get()] = NDArray::from_vector(c.w, {4});
        expect_matches_reference(conv2d_grad_inputs(w, gy, xs, c.opts), b, tol_of(dt),
                                 what + " grad inputs from a shape vector");
        expect_matches_reference(conv2d_grad_weights(x, gy, ws, c.opts), b, tol_of(dt),
                                 what + " grad weights from a shape vector");
      }
  }
  cuda_nn::set_conv_chunk_elements(0);
}

TEST(CudaNnConv, MixedDtypesStridedInputsAndErrors) {
  SKIP_WITHOUT_GPU();
  Var x = input(DType::Float32, {-1, -1, -1, -1}),
      w = input(DType::Float64, {-1, -1, -1, -1});
  Var out = conv2d(x, w);
  NDArray xv = normal_array(DType::Float32, {2, 5, 6, 3}, 4);
  // The input a transposed device view: (2, 3, 6, 5) with odd strides.
  NDArray xt = to_device(xv).transpose({0, 3, 2, 1});
  NDArray wv = normal_array(DType::Float64, {2, 3, 2, 2}, 5);
  const std::vector<NDArray> want = run_reference(out, {to_host(xt), wv});
  std::optional<std::vector<NDArray>> got =
      entry_for(out)->run(*out->owner, {xt, to_device(wv)});
  ASSERT_TRUE(got);
  expect_close(to_host(got->at(0)), want[0], 1e-11, "float32 input, float64 filters");
  // Channels that differ: the reference's ShapeError.
  expect_error<ShapeError>(
      [&] {
        entry_for(out)->run(*out->owner,
                            {to_device(xv.transpose({0, 3, 2, 1})),
                             to_device(normal_array(DType::Float64, {2, 4, 2, 2}, 6))});
      },
      {"channels"});
}

// ---- pooling --------------------------------------------------------------------------

std::vector<std::pair<std::string, PoolOptions>> pool_cases() {
  std::vector<std::pair<std::string, PoolOptions>> c;
  for (const char* mode : {"max", "sum", "average_inc_pad", "average_exc_pad"}) {
    PoolOptions tiles;
    tiles.mode = mode;
    c.push_back({std::string(mode) + " 2x2 tiles", tiles});
    PoolOptions overlap;
    overlap.mode = mode;
    overlap.ws = {3, 2};
    overlap.stride = std::array<int64_t, 2>{2, 1};
    overlap.pad = {1, 1};
    c.push_back({std::string(mode) + " ws (3,2) stride (2,1) pad (1,1)", overlap});
    PoolOptions edge;
    edge.mode = mode;
    edge.ws = {3, 3};
    edge.stride = std::array<int64_t, 2>{2, 2};
    edge.ignore_border = false;
    c.push_back({std::string(mode) + " ws 3 stride 2 over the edge", edge});
  }
  return c;
}

TEST(CudaNnPool, EveryModeAndItsGradientsAreTheReferenceBitForBit) {
  SKIP_WITHOUT_GPU();
  for (DType dt : kFloats)
    for (const auto& [name, opts] : pool_cases())
      for (const Shape& s : {Shape{2, 3, 7, 6}, Shape{5, 8}, Shape{2, 2, 2, 5, 4}}) {
        const std::string what = name + " " + dtype_name(dt) + " " + shape_str(s);
        Var x = input(dt, Shape(s.size(), -1));
        NDArray xv = normal_array(dt, s, 7);
        // Ties and a NaN: the first maximum, and NaN as the maximum.
        xv.set_item_double(1, xv.item_double(0));
        if (opts.mode == "max") xv.set_item_double(xv.size() / 2, std::nan(""));
        Bindings b{{x.get(), xv}};
        Var y = pool_2d(x, opts);
        const std::vector<NDArray> yv = run_reference(y, inputs_of(y, b));
        const std::vector<NDArray> got = run_on_device(y, inputs_of(y, b));
        ASSERT_EQ(got.size(), 1u) << what;
        expect_same_bits(got[0], yv[0], what + " forward");
        Var gz = input(dt, Shape(s.size(), -1));
        b[gz.get()] = normal_array(dt, yv[0].shape(), 8);
        Var g = input(dt, Shape(s.size(), -1));
        b[g.get()] = normal_array(dt, s, 9);
        std::vector<Var> grads;
        if (opts.mode == "max") {
          grads.push_back(make_node1(std::make_shared<MaxPoolGrad>(opts), {x, gz}, {}));
          grads.push_back(
              make_node1(std::make_shared<MaxPoolGradGrad>(opts), {x, g}, {}));
        } else {
          grads.push_back(
              make_node1(std::make_shared<AveragePoolGrad>(opts), {x, gz}, {}));
        }
        for (const Var& v : grads) {
          const std::vector<NDArray> in = inputs_of(v, b);
          const std::vector<NDArray> dev = run_on_device(v, in);
          ASSERT_EQ(dev.size(), 1u) << what;
          expect_same_bits(dev[0], run_reference(v, in)[0],
                           what + " " + v->owner->op->name());
        }
      }
}

// ---- the softmax family
// -----------------------------------------------------------------

TEST(CudaNnSoftmax, RowsOfEveryKernelAndInnerAxes) {
  SKIP_WITHOUT_GPU();
  struct Case {
    Shape s;
    int axis;
  };
  // Warp rows (up to 256), block rows held in registers, block rows read
  // twice (over 8192), and lanes along an inner axis.
  const Case cases[] = {{{7, 5}, 1},    {{3, 256}, 1},  {{2, 300}, 1}, {{2, 9000}, 1},
                        {{4, 5, 6}, 1}, {{4, 5, 6}, 0}, {{1, 1}, 0},   {{0, 4}, 1}};
  for (DType dt : kFloats)
    for (bool log : {false, true})
      for (const Case& c : cases) {
        const std::string what = std::string(log ? "log_softmax " : "softmax ") +
                                 dtype_name(dt) + " " + shape_str(c.s) + " axis " +
                                 std::to_string(c.axis);
        Var x = input(dt, Shape(c.s.size(), -1));
        NDArray xv = normal_array(dt, c.s, 11, 3.0);
        if (xv.size() > 12) {
          xv.set_item_double(0, 1000);  // large logits stay finite
          xv.set_item_double(1, -1000);
          xv.set_item_double(2, -std::numeric_limits<double>::infinity());
          xv.set_item_double(xv.size() - 1, std::nan(""));  // a NaN row stays NaN
        }
        Var y = log ? log_softmax(x, c.axis) : softmax(x, c.axis);
        expect_matches_reference(y, {{x.get(), xv}}, tol_of(dt), what);
        Var dy = input(dt, Shape(c.s.size(), -1));
        Bindings b{{dy.get(), normal_array(dt, c.s, 12)},
                   {y.get(), run_reference(y, {xv})[0]}};
        Var g = log ? log_softmax_grad(dy, y, c.axis) : softmax_grad(dy, y, c.axis);
        expect_matches_reference(g, b, tol_of(dt), what + " grad");
      }
}

TEST(CudaNnSoftmax, IntegerInputsBroadcastGradientsAndStridedViews) {
  SKIP_WITHOUT_GPU();
  Var xi = input(DType::Int32, {-1, -1});
  expect_matches_reference(softmax(xi),
                           {{xi.get(), random_array(DType::Int32, {3, 4}, 1)}}, 1e-12,
                           "int32 input");
  // dy of shape (3, 1) broadcast along the rows.
  Var dy = input(DType::Float32, {-1, 1}), sm = input(DType::Float32, {-1, -1});
  expect_matches_reference(softmax_grad(dy, sm, 1),
                           {{dy.get(), normal_array(DType::Float32, {3, 1}, 2)},
                            {sm.get(), normal_array(DType::Float32, {3, 6}, 3)}},
                           1e-5, "broadcast dy");
  // A transposed device view goes through the copy kernel.
  Var x = input(DType::Float64, {-1, -1});
  Var y = softmax(x, 1);
  NDArray xv = normal_array(DType::Float64, {40, 9}, 4);
  NDArray view = to_device(xv).transpose({1, 0});
  std::optional<std::vector<NDArray>> got = entry_for(y)->run(*y->owner, {view});
  ASSERT_TRUE(got);
  expect_close(to_host(got->at(0)), run_reference(y, {xv.transpose({1, 0})})[0], 1e-12,
               "transposed view");
}

TEST(CudaNnSoftmax, CrossentropyWithAndWithoutRows) {
  SKIP_WITHOUT_GPU();
  for (DType dt : kFloats)
    for (int64_t k : {int64_t(5), int64_t(1500)}) {  // warp and block entries
      const std::string what = std::string(dtype_name(dt)) + " k " + std::to_string(k);
      Var x = input(dt, {-1, -1}), y = input(DType::Int64, {-1}),
          rows = input(DType::Int64, {-1});
      NDArray xv = normal_array(dt, {6, k}, 21, 4.0);
      xv.set_item_double(3, 800);
      Bindings b{{x.get(), xv},
                 {y.get(), ints({1, 0, 4, -1, 2, 3})},
                 {rows.get(), ints({0, 2, 2, 5, -1, 1})}};
      expect_matches_reference(crossentropy_softmax(x, y), b, tol_of(dt), what);
      expect_matches_reference(crossentropy_softmax_rows(x, y, rows), b, tol_of(dt),
                               what + " rows");
      // One row index broadcast against the labels, int32 indices.
      Var r1 = input(DType::Int32, {1}), y32 = input(DType::Int32, {-1});
      b[r1.get()] = ints({3}, DType::Int32);
      b[y32.get()] = ints({0, 4, 4}, DType::Int32);
      expect_matches_reference(crossentropy_softmax_rows(x, y32, r1), b, tol_of(dt),
                               what + " one row");
      Var sm = input(dt, {-1, -1}), gz = input(dt, {-1}), g0 = input(dt, {});
      b[sm.get()] = run_reference(softmax(x, 1), {xv})[0];
      b[gz.get()] = normal_array(dt, {6}, 22);
      b[g0.get()] = NDArray::scalar(dt, 0.75);
      expect_matches_reference(crossentropy_softmax_grad(gz, sm, y, Var()), b, tol_of(dt),
                               what + " grad");
      // Rows 2 twice: their entries add up.
      expect_matches_reference(crossentropy_softmax_grad(gz, sm, y, rows), b, tol_of(dt),
                               what + " grad rows");
      expect_matches_reference(crossentropy_softmax_grad(g0, sm, y32, r1), b, tol_of(dt),
                               what + " grad scalar gz, one row");
    }
}

TEST(CudaNnSoftmax, ALabelOutOfRangeIsTheReferenceIndexError) {
  SKIP_WITHOUT_GPU();
  Var x = input(DType::Float32, {-1, -1}), y = input(DType::Int64, {-1});
  Var rows = input(DType::Int64, {-1});
  NDArray xv = normal_array(DType::Float32, {3, 4}, 1);
  auto run = [&](const Var& out, const Bindings& b) {
    entry_for(out)->run(*out->owner, inputs_of(out, b));
  };
  expect_error<IndexError>(
      [&] {
        run(crossentropy_softmax(x, y), {{x.get(), xv}, {y.get(), ints({0, 7, 1})}});
      },
      {"label 7", "y_idx[1]", "4 classes"});
  expect_error<IndexError>(
      [&] {
        run(crossentropy_softmax_rows(x, y, rows),
            {{x.get(), xv}, {y.get(), ints({0, 1})}, {rows.get(), ints({0, -4})}});
      },
      {"row index -4", "3 rows"});
  Var sm = input(DType::Float32, {-1, -1}), gz = input(DType::Float32, {-1});
  expect_error<IndexError>(
      [&] {
        run(crossentropy_softmax_grad(gz, sm, y, Var()),
            {{sm.get(), xv},
             {gz.get(), normal_array(DType::Float32, {3}, 2)},
             {y.get(), ints({0, 1, -5})}});
      },
      {"label -5"});
  expect_error<ShapeError>(
      [&] {
        run(crossentropy_softmax(x, y), {{x.get(), xv}, {y.get(), ints({0, 1})}});
      },
      {"2 labels", "3 rows"});
}

// ---- random numbers ------------------------------------------------------------------

// The draw's outputs on the device and on the host, from state [key, counter].
struct Draw {
  std::vector<NDArray> got, want;
};

Draw draw(const RandomDraw& d, const Var& state, uint64_t counter, Bindings b = {}) {
  NDArray st = random_state(20240607, 3);
  st.set_item_double(1, static_cast<double>(counter));
  b[state.get()] = st;
  const std::vector<NDArray> in = inputs_of(d.sample, b);
  return {run_on_device(d.sample, in), run_reference(d.sample, in)};
}

TEST(CudaNnRandom, UniformAndIntegersAreTheCpusBitForBit) {
  SKIP_WITHOUT_GPU();
  Var state = input(DType::Int64, {2});
  for (DType dt : kFloats) {
    Draw u = draw(random_uniform(state, {1000, 3}, testing::lit(-2), testing::lit(5), dt),
                  state, 12345);
    ASSERT_EQ(u.got.size(), 2u);
    expect_same_bits(u.got[0], u.want[0], "uniform new state");
    expect_same_bits(u.got[1], u.want[1], std::string("uniform ") + dtype_name(dt));
    // Per-element bounds broadcast along the rows; high == low gives low.
    Var lo = input(DType::Float64, {3}), hi = input(DType::Float64, {3});
    Draw v =
        draw(random_uniform(state, {500, 3}, lo, hi, dt), state, 7,
             {{lo.get(), NDArray::from_vector(std::vector<double>{0, -1, 2}, {3})},
              {hi.get(), NDArray::from_vector(std::vector<double>{1e-30, 1, 2}, {3})}});
    expect_same_bits(v.got[1], v.want[1],
                     std::string("uniform arrays ") + dtype_name(dt));
  }
  for (DType dt : {DType::Int64, DType::Int32, DType::Int8}) {
    Draw i = draw(random_integers(state, {2000}, scalar_constant(-3, DType::Int64),
                                  scalar_constant(100, DType::Int64), dt),
                  state, uint64_t(1) << 40);
    expect_same_bits(i.got[0], i.want[0], "integers new state");
    expect_same_bits(i.got[1], i.want[1], std::string("integers ") + dtype_name(dt));
  }
  // The whole int64 range.
  Draw all = draw(random_integers(state, {64}, i64c(std::numeric_limits<int64_t>::min()),
                                  i64c(std::numeric_limits<int64_t>::max())),
                  state, 0);
  expect_same_bits(all.got[1], all.want[1], "integers over all of int64");
  // An empty draw still advances nothing and returns the state.
  Draw none =
      draw(random_uniform(state, {0}, testing::lit(0), testing::lit(1)), state, 99);
  expect_same_bits(none.got[0], none.want[0], "empty draw's state");
  EXPECT_EQ(none.got[1].size(), 0);
}

TEST(CudaNnRandom, NormalIsTheCpusToAFewUlp) {
  SKIP_WITHOUT_GPU();
  Var state = input(DType::Int64, {2});
  for (DType dt : kFloats)
    for (bool truncate : {false, true}) {
      const std::string what =
          std::string(truncate ? "truncated " : "") + "normal " + dtype_name(dt);
      Draw n = draw(random_normal(state, {4000}, testing::lit(1.5), testing::lit(2.0), dt,
                                  truncate),
                    state, 31);
      expect_same_bits(n.got[0], n.want[0], what + " new state");
      // Device log/cos/sqrt are within 2 ulp of the host's: the samples agree
      // to ~1e-15 relative in float64 and to float32's rounding in float32.
      expect_close(n.got[1], n.want[1], dt == DType::Float32 ? 3e-7 : 1e-13, what);
    }
}

TEST(CudaNnRandom, BinomialAgreesWithTheCpu) {
  SKIP_WITHOUT_GPU();
  Var state = input(DType::Int64, {2});
  // n == 1 (dropout masks, in float32): one comparison of an exact uniform.
  Draw mask = draw(random_binomial(state, {3000}, scalar_constant(1, DType::Int64),
                                   testing::lit(0.3), DType::Float32),
                   state, 5);
  expect_same_bits(mask.got[0], mask.want[0], "binomial new state");
  expect_same_bits(mask.got[1], mask.want[1], "binomial n=1");
  // Inversion (n q < 10) and BTRS (n q >= 10, p > 0.5 counting failures): the
  // device's pow/log/lgamma may move a comparison by an ulp, rarely.
  for (auto [n, p] : {std::pair<int64_t, double>{20, 0.3}, {100, 0.6}, {1000, 0.02}}) {
    Draw d = draw(random_binomial(state, {5000}, scalar_constant(n, DType::Int64),
                                  testing::lit(p), DType::Int32),
                  state, 77);
    ASSERT_EQ(d.got.size(), 2u);
    int64_t differ = 0;
    for (int64_t i = 0; i < d.want[1].size(); ++i)
      differ += d.got[1].item_int(i) != d.want[1].item_int(i);
    EXPECT_LE(differ, 5) << "binomial n=" << n << " p=" << p;
  }
}

TEST(CudaNnRandom, BadParametersAreTheReferenceErrors) {
  SKIP_WITHOUT_GPU();
  Var state = input(DType::Int64, {2});
  Var p = input(DType::Float64, {});
  RandomDraw d = random_binomial(state, {4}, scalar_constant(1, DType::Int64), p);
  // The state on the device, where the entry draws (on the host it declines).
  Bindings b{{state.get(), to_device(random_state(1))},
             {p.get(), NDArray::scalar(DType::Float64, 1.5)}};
  EXPECT_FALSE(
      entry_for(d.sample)
          ->run(*d.sample->owner,
                {random_state(1), NDArray::scalar(DType::Int64, 4),
                 NDArray::scalar(DType::Int64, 1), NDArray::scalar(DType::Float64, 0.5)})
          .has_value());
  expect_error<ValueError>(
      [&] { entry_for(d.sample)->run(*d.sample->owner, inputs_of(d.sample, b)); },
      {"p must be in [0, 1]", "1.5"});
  Var sd = input(DType::Float64, {});
  RandomDraw n = random_normal(state, {4}, testing::lit(0), sd);
  b[sd.get()] = NDArray::scalar(DType::Float64, -1);
  expect_error<ValueError>(
      [&] { entry_for(n.sample)->run(*n.sample->owner, inputs_of(n.sample, b)); },
      {"std must be >= 0"});
}

// ---- indexing and one-hot -------------------------------------------------------------

TEST(CudaNnIndex, PickedEntriesAndTheirGradient) {
  SKIP_WITHOUT_GPU();
  for (DType dt : {DType::Float32, DType::Float64, DType::Int64, DType::Int32}) {
    const std::string what = dtype_name(dt);
    Var x = input(dt, {-1, -1}), y = input(DType::Int64, {-1});
    Var rows = arange(shape_i(x, 0));
    Var picked = subtensor(x, {idx(rows), idx(y)});
    Bindings b{{x.get(), random_array(dt, {6, 4}, 1, 5.0)},
               {y.get(), ints({3, 0, -1, 2, 2, 1})}};
    expect_matches_reference(picked, b, 0, what + " x[arange(n), y]");
    // Its gradient: zeros with g added at the entries; a constant index array
    // with a duplicate adds twice.
    Var g = input(dt, {-1});
    b[g.get()] = random_array(dt, {6}, 2, 5.0);
    expect_matches_reference(inc_subtensor(picked, g), b, 1e-6, what + " inc");
    Var y3 = input(DType::Int64, {3});
    Var dup3 = subtensor(x, {idx(std::vector<int64_t>{1, 4, 1}), idx(y3)});
    b[y3.get()] = ints({2, 0, 2});
    expect_matches_reference(inc_subtensor(dup3, scalar_literal(3, !is_float(dt))), b,
                             1e-6, what + " inc with a duplicate");
  }
  // One index array on a 3-d tensor: rows of an embedding, int32 indices.
  Var e = input(DType::Float32, {-1, -1, -1}), ids = input(DType::Int32, {-1});
  Bindings b{{e.get(), normal_array(DType::Float32, {5, 2, 3}, 3)},
             {ids.get(), ints({4, 0, 4, -5}, DType::Int32)}};
  Var rows = subtensor(e, {idx(ids)});
  expect_matches_reference(rows, b, 0, "embedding rows");
  Var gr = input(DType::Float32, {-1, -1, -1});
  b[gr.get()] = normal_array(DType::Float32, {4, 2, 3}, 4);
  expect_matches_reference(inc_subtensor(rows, gr), b, 1e-6, "embedding gradient");
}

TEST(CudaNnIndex, AnIndexOutOfRangeIsTheReferenceIndexError) {
  SKIP_WITHOUT_GPU();
  Var x = input(DType::Float32, {-1, -1}), y = input(DType::Int64, {-1});
  Var picked = subtensor(x, {idx(arange(shape_i(x, 0))), idx(y)});
  Bindings b{{x.get(), normal_array(DType::Float32, {3, 4}, 1)},
             {y.get(), ints({0, 4, 1})}};
  expect_error<IndexError>(
      [&] { entry_for(picked)->run(*picked->owner, inputs_of(picked, b)); },
      {"index 4 is out of bounds for axis 1 with size 4"});
  Var inc = inc_subtensor(picked, testing::lit(1));
  expect_error<IndexError>([&] { entry_for(inc)->run(*inc->owner, inputs_of(inc, b)); },
                           {"index 4 is out of bounds for axis 1 with size 4"});
}

TEST(CudaNnIndex, OneHot) {
  SKIP_WITHOUT_GPU();
  Var y = input(DType::Int32, {-1}), n = input(DType::Int64, {});
  for (DType dt :
       {DType::Float32, DType::Float64, DType::Int8, DType::Bool, DType::Int64}) {
    Var oh = to_one_hot(y, n, dt);
    Bindings b{{y.get(), ints({0, 3, 1, 3}, DType::Int32)},
               {n.get(), NDArray::scalar(DType::Int64, 5)}};
    expect_matches_reference(oh, b, 0, std::string("one-hot ") + dtype_name(dt));
  }
  Var oh = to_one_hot(y, n, DType::Float32);
  Bindings bad{{y.get(), ints({0, 5}, DType::Int32)},
               {n.get(), NDArray::scalar(DType::Int64, 5)}};
  expect_error<IndexError>([&] { entry_for(oh)->run(*oh->owner, inputs_of(oh, bad)); },
                           {"label 5", "y[1]", "nb_class=5"});
}

}  // namespace
}  // namespace theanine
