// The CUDA emitter: a spelling for every scalar op, the kernel ABI and launch
// geometry, NVRTC compiling every kind of kernel for sm_90 (no GPU needed; skipped
// where NVRTC is missing), the collection hook, and, where a GPU is present,
// emitted kernels run on device buffers against the reference path.
#include "codegen/cuda_emit.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "codegen/cuda_check.h"
#include "codegen/cuda_launch.h"
#include "codegen/cuda_nvrtc.h"
#include "codegen/disk_cache.h"
#include "codegen/kernel_lowering.h"
#include "ops/nnet.h"
#include "runtime/cuda_driver.h"
#include "runtime/error.h"
#include "tests/cpp/cuda_kernel_cases.h"
#include "tests/cpp/cuda_skip.h"
#include "tests/cpp/scoped_env.h"
#include "tests/cpp/test_util.h"

namespace theanine {
namespace {

namespace fs = std::filesystem;
using testing::KernelCase;
using testing::ScopedEnv;

KernelLayout flat_layout(const KernelIR& ir) {
  KernelLayout l;
  l.rank = 1;
  l.inner.assign(ir.num_operands(), InnerStep::Unit);
  l.same_as.assign(ir.num_outputs(), -1);
  if (ir.is_arg()) l.same_as.push_back(-1);
  return l;
}

std::vector<KernelSpec> every_op_specs() {
  std::vector<KernelSpec> specs;
  for (const testing::OpCase& c : testing::every_op_case()) {
    KernelIR ir;
    ir.body = c.body;
    specs.push_back({ir, flat_layout(ir)});
  }
  return specs;
}

std::vector<KernelSpec> case_specs(const std::vector<KernelCase>& cases) {
  std::vector<KernelSpec> specs;
  for (const KernelCase& c : cases)
    specs.push_back(testing::case_spec(c, testing::case_operands(c)));
  return specs;
}

// The kernels of the softmax family's multi-step lowerings, float32 and float64.
std::vector<KernelSpec> softmax_specs() {
  std::vector<KernelSpec> specs;
  for (DType d : {DType::Float32, DType::Float64}) {
    Var x = testing::input(d, {-1, 10}, "x");
    Var dy = testing::input(d, {-1, 10}, "dy");
    std::vector<Var> outs = {softmax(x), log_softmax(x), softmax_grad(dy, softmax(x), 1),
                             log_softmax_grad(dy, log_softmax(x), 1)};
    for (const Var& y : outs) {
      auto steps = lower_to_kernels(*y->owner);
      EXPECT_TRUE(steps.has_value()) << y->owner->op->name();
      if (!steps) continue;
      for (const KernelSpec& s : predicted_specs(*steps, *y->owner, {-1}))
        specs.push_back(s);
    }
  }
  return specs;
}

// Compiles the specs as one NVRTC program (each spec once); on failure, each
// alone, reporting the ones that fail with NVRTC's log.
void expect_nvrtc_compiles(const std::vector<KernelSpec>& specs,
                           const std::string& what) {
  std::vector<std::pair<std::string, KernelSpec>> named;
  std::set<std::string> seen;
  for (const KernelSpec& s : specs)
    if (seen.insert(s.key()).second) named.push_back({cuda_kernel_symbol(s), s});
  const std::string source = emit_cuda_module(named);
  NvrtcCheckResult r = nvrtc_check(source, what + ".cu", 90);
  std::printf("[ nvrtc    ] %s: %zu kernels, %zu KiB of CUDA C, %.0f ms\n", what.c_str(),
              named.size(), source.size() / 1024, r.milliseconds);
  if (r.ok) return;
  int failures = 0;
  for (const auto& [sym, spec] : named) {
    NvrtcCheckResult one = nvrtc_check(cuda_source(spec), sym + ".cu", 90);
    if (one.ok) continue;
    if (++failures <= 5) ADD_FAILURE() << spec.key() << "\n" << one.log;
  }
  ADD_FAILURE() << what << ": " << failures << " kernels do not compile; the batch log:\n"
                << r.log.substr(0, 4000);
}

// ---- emission, no compiler needed ---------------------------------------------------

TEST(CudaEmit, EveryScalarOpHasACudaSpellingForEachComputeClassItsRuleSelects) {
  // One column per backend: an op added to the table without a CUDA spelling
  // fails here, for each evaluation it has.
  for (const ScalarOp& op : scalar_ops()) {
    EXPECT_TRUE(!op.eval_float || cuda_spells_op(op.id, CudaComputeClass::Float))
        << op.name;
    EXPECT_TRUE(!op.eval_int || cuda_spells_op(op.id, CudaComputeClass::Int)) << op.name;
    EXPECT_TRUE(!op.eval_bool || cuda_spells_op(op.id, CudaComputeClass::Bool))
        << op.name;
  }
  // And a spelling the rule can never select is not claimed.
  EXPECT_FALSE(cuda_spells_op(scalar_op("and_").id, CudaComputeClass::Float));
  EXPECT_FALSE(cuda_spells_op(scalar_op("exp").id, CudaComputeClass::Int));
}

TEST(CudaEmit, EveryOpCaseEmitsOneExternCKernelDeterministically) {
  std::vector<KernelSpec> specs = every_op_specs();
  ASSERT_GT(specs.size(), 150u);
  for (const KernelSpec& s : specs) {
    const std::string sym = cuda_kernel_symbol(s);
    EXPECT_EQ(sym.size(), 6u + 24u);
    const std::string src = cuda_source(s);
    EXPECT_NE(
        src.find("extern \"C\" __global__ void __launch_bounds__(256) " + sym + "("),
        std::string::npos);
    EXPECT_EQ(src, cuda_source(s));  // the disk cache keys on this text
  }
  // Distinct specs, distinct symbols.
  std::set<std::string> symbols;
  for (const KernelSpec& s : specs) symbols.insert(cuda_kernel_symbol(s));
  EXPECT_EQ(symbols.size(), specs.size());
}

TEST(CudaEmit, ThePreludeIsGuardedSoSourcesConcatenate) {
  const std::string& p = cuda_prelude();
  EXPECT_EQ(p.rfind("#ifndef THEANINE_CUDA_PRELUDE", 0), 0u);
  KernelSpec s = every_op_specs().at(0);
  EXPECT_EQ(cuda_source(s).rfind(p, 0), 0u);
}

TEST(CudaEmit, StrategyFollowsWhetherTheInnermostLoopDimensionIsReduced) {
  std::map<std::string, CudaStrategy> want = {
      {"sum float32 rows", CudaStrategy::RowReduce},
      {"sum float32 columns", CudaStrategy::ColumnReduce},
      {"sum float32 all", CudaStrategy::RowReduce},
      {"sum float32 outer+inner", CudaStrategy::RowReduce},
      {"sum float32 middle", CudaStrategy::ColumnReduce},
      {"argmax float32 transposed rows", CudaStrategy::RowReduce},
  };
  int seen = 0;
  for (const KernelCase& c : testing::reduction_cases()) {
    auto it = want.find(c.name);
    if (it == want.end()) continue;
    ++seen;
    EXPECT_EQ(cuda_strategy(testing::case_spec(c, testing::case_operands(c))), it->second)
        << c.name;
  }
  EXPECT_EQ(seen, static_cast<int>(want.size()));
  EXPECT_EQ(cuda_strategy(every_op_specs().at(0)), CudaStrategy::Elementwise);
}

TEST(CudaEmit, LaunchGeometryUsesWholeWarpsAndFillsTheDevice) {
  for (const KernelCase& c : testing::reduction_cases()) {
    std::vector<NDArray> ops = testing::case_operands(c);
    LoopNest nest = make_loop_nest(c.domain, ops, c.axes, c.ir.num_inputs());
    KernelSpec spec{c.ir, nest.layout};
    CudaLaunchDims d = cuda_launch_dims(spec, nest.shape, 132);
    EXPECT_EQ(d.block % 32, 0u) << c.name;
    EXPECT_LE(d.block, 256u) << c.name;
    EXPECT_GE(d.grid, 1u) << c.name;
  }
  KernelSpec ew = every_op_specs().at(0);
  EXPECT_EQ(cuda_launch_dims(ew, {1000}, 132).grid, 4u);  // ceil(1000 / 256)
  EXPECT_EQ(cuda_launch_dims(ew, {int64_t(1) << 40}, 132).grid, 132u * 32);  // capped
  EXPECT_EQ(cuda_launch_dims(ew, {0}, 132).grid, 1u);
  testing::expect_error<ValueError>(
      [&] {
        cuda_launch_dims(ew, {4, 4}, 132);
      },
      {"2 extents", "1 loop dimensions"});
}

TEST(CudaEmit, ParameterWordsAreShapeThenStridesThenPointers) {
  KernelCase c = testing::layout_cases().at(0);  // x * b + c over (37, 45)
  std::vector<NDArray> ops = testing::case_operands(c);
  LoopNest nest = make_loop_nest(c.domain, ops, 0, c.ir.num_inputs());
  KernelSpec spec{c.ir, nest.layout};
  std::vector<uint64_t> ptrs = {0x1000, 0x2000, 0x3000, 0x4000};
  std::vector<uint64_t> w = cuda_kernel_params(spec, nest, ptrs);
  ASSERT_EQ(w.size(), 2u + 4 * 2 + 4);
  EXPECT_EQ(w[0], 37u);
  EXPECT_EQ(w[1], 45u);
  EXPECT_EQ(w[2 + 1 * 2 + 0], 0u);   // b does not move along rows
  EXPECT_EQ(w[2 + 2 * 2 + 0], 1u);   // c moves one element per row
  EXPECT_EQ(w[2 + 8 + 3], 0x4000u);  // the output's pointer last
  const std::string src = cuda_source(spec);
  EXPECT_NE(src.find("long long shape[2];"), std::string::npos);
  EXPECT_NE(src.find("long long strides[8];"), std::string::npos);
  EXPECT_NE(src.find("void* ptr[4];"), std::string::npos);
  testing::expect_error<ValueError>(
      [&] {
        cuda_kernel_params(spec, nest, {1, 2});
      },
      {"does not fit", "4 operands"});
}

TEST(CudaEmit, AnOutputWrittenOverItsInputSharesItsPointer) {
  for (const KernelCase& c : testing::layout_cases()) {
    if (c.name != "overwrite") continue;
    KernelSpec spec = testing::case_spec(c, testing::case_operands(c));
    ASSERT_EQ(spec.layout.same_as, (std::vector<int>{0}));
    const std::string src = cuda_source(spec);
    EXPECT_NE(src.find("float* __restrict__ q0"), std::string::npos) << src;
    EXPECT_EQ(src.find("q2"), std::string::npos) << src;  // no pointer of its own
    EXPECT_NE(src.find("const float* __restrict__ q1"), std::string::npos) << src;
  }
}

TEST(CudaEmit, ALayoutThatDoesNotMatchTheOperandsIsAValueError) {
  KernelSpec s = every_op_specs().at(0);
  s.layout.inner.pop_back();
  testing::expect_error<ValueError>([&] { cuda_source(s); }, {"layout does not match"});
}

// ---- the collection hook --------------------------------------------------------------

TEST(CudaCheck, RecordsEachKernelOnceAsACompleteSourceFile) {
  char tmpl[] = "/tmp/theanine-cuda-check-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  std::vector<KernelSpec> specs = every_op_specs();
  specs.resize(5);
  {
    ScopedEnv env("THEANINE_CUDA_CHECK_DIR", std::nullopt);
    record_kernel_for_cuda_check(specs[0]);  // unset: nothing anywhere
  }
  {
    ScopedEnv env("THEANINE_CUDA_CHECK_DIR", dir + "/sub");
    for (int round = 0; round < 2; ++round)
      for (const KernelSpec& s : specs) record_kernel_for_cuda_check(s);
  }
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir + "/sub")) files.push_back(e.path());
  ASSERT_EQ(files.size(), 5u);
  for (const fs::path& f : files) {
    EXPECT_EQ(f.extension(), ".cu");
    std::ifstream in(f);
    std::string text((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
    EXPECT_EQ(f.stem().string(), sha256_hex(text));
    EXPECT_EQ(text.rfind(cuda_prelude(), 0), 0u);
  }
  // A folder that cannot be made warns and does not throw.
  {
    ScopedEnv env("THEANINE_CUDA_CHECK_DIR", "/proc/theanine-no-such-dir");
    KernelSpec other = every_op_specs().at(7);
    EXPECT_NO_THROW(record_kernel_for_cuda_check(other));
  }
  fs::remove_all(dir);
}

// ---- NVRTC: every kind of kernel compiles for sm_90 -----------------------------------

TEST(CudaNvrtc, EveryScalarOpInEveryDtypeCompiles) {
  SKIP_WITHOUT_NVRTC();
  expect_nvrtc_compiles(every_op_specs(), "every_op");
}

TEST(CudaNvrtc, LayoutsOverwritesAndConstantsCompile) {
  SKIP_WITHOUT_NVRTC();
  expect_nvrtc_compiles(case_specs(testing::layout_cases()), "layouts");
}

TEST(CudaNvrtc, EveryReductionKindAndStrategyCompiles) {
  SKIP_WITHOUT_NVRTC();
  expect_nvrtc_compiles(case_specs(testing::reduction_cases()), "reductions");
}

TEST(CudaNvrtc, SoftmaxFamilyStepsCompile) {
  SKIP_WITHOUT_NVRTC();
  std::vector<KernelSpec> specs = softmax_specs();
  EXPECT_GE(specs.size(), 8u);
  expect_nvrtc_compiles(specs, "softmax");
}

TEST(CudaNvrtc, ACompileErrorNamesTheKernelAndQuotesNvrtcsLog) {
  SKIP_WITHOUT_NVRTC();
  char tmpl[] = "/tmp/theanine-cuda-cache-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  ScopedEnv env("THEANINE_CACHE_DIR", std::string(tmpl));
  const std::string bad =
      "extern \"C\" __global__ void th_bad(float* p) {\n  p[0] = undefined_name;\n}\n";
  testing::expect_error<Error>(
      [&] { compile_cuda(bad, "kernel th_bad", 90); },
      {"NVRTC could not compile kernel th_bad for sm_90", "undefined_name", "line 2:"});
  NvrtcCheckResult r = nvrtc_check(bad, "bad.cu", 90);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.log.find("undefined_name"), std::string::npos);
  fs::remove_all(tmpl);
}

TEST(CudaNvrtc, TheSecondCompileOfASourceComesFromTheDiskCache) {
  SKIP_WITHOUT_NVRTC();
  char tmpl[] = "/tmp/theanine-cuda-cache-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  ScopedEnv env("THEANINE_CACHE_DIR", std::string(tmpl));
  const std::string src = cuda_source(every_op_specs().at(3));
  CudaImage cold = compile_cuda(src, "kernel", 90);
  EXPECT_FALSE(cold.disk_hit);
  EXPECT_TRUE(cold.is_cubin);
  EXPECT_EQ(cold.bytes.substr(0, 4), std::string("\x7f"
                                                 "ELF",
                                                 4));  // a cubin is an ELF file
  CudaImage warm = compile_cuda(src, "kernel", 90);
  EXPECT_TRUE(warm.disk_hit);
  EXPECT_EQ(warm.bytes, cold.bytes);
  EXPECT_TRUE(fs::exists(fs::path(tmpl) / "cuda-sm90"));
  fs::remove_all(tmpl);
}

// ---- on a GPU: emitted kernels against the reference path -----------------------------

// Reports a case's differences from the reference (at most a few).
void expect_matches(const KernelCase& c, const std::vector<NDArray>& got,
                    const std::vector<NDArray>& want,
                    const std::vector<double>& magnitude, int64_t max_ulp) {
  for (const std::string& m :
       testing::output_mismatches(c, got, want, magnitude, max_ulp))
    ADD_FAILURE() << m;
}

// Runs a case on the device; returns the output operands.
std::vector<NDArray> run_on_gpu(const KernelCase& c) {
  std::vector<NDArray> ops = testing::case_operands(c);
  KernelSpec spec = testing::case_spec(c, ops);
  run_cuda_kernel_on_host(spec, c.domain, ops, c.axes);
  return std::vector<NDArray>(ops.begin() + c.ir.num_inputs(), ops.end());
}

TEST(CudaGpu, EveryScalarOpInEveryDtypeMatchesTheReference) {
  SKIP_WITHOUT_GPU();
  // Batch the compile: one module for every case.
  std::vector<testing::OpCase> op_cases = testing::every_op_case();
  std::vector<KernelCase> cases;
  for (const testing::OpCase& oc : op_cases) {
    KernelCase c;
    c.name = oc.name;
    c.ir.body = oc.body;
    c.domain = {1037};
    c.inputs = testing::op_case_inputs(oc, 1037, 17);
    cases.push_back(c);
  }
  cuda_kernels(case_specs(cases));
  for (const KernelCase& c : cases) {
    std::vector<double> magnitude;
    std::vector<NDArray> want = testing::case_reference(c, &magnitude);
    // Transcendentals: CUDA's float32 functions are within 2 ulp (powf 4) of
    // the exact value, the reference rounds the float64 result once.
    expect_matches(c, run_on_gpu(c), want, magnitude, 8);
  }
}

TEST(CudaGpu, LayoutsOverwritesAndConstantsMatchTheReference) {
  SKIP_WITHOUT_GPU();
  for (const KernelCase& c : testing::layout_cases()) {
    std::vector<double> magnitude;
    std::vector<NDArray> want = testing::case_reference(c, &magnitude);
    expect_matches(c, run_on_gpu(c), want, magnitude, 4);
  }
}

TEST(CudaGpu, EveryReductionKindAndStrategyMatchesTheReference) {
  SKIP_WITHOUT_GPU();
  std::vector<KernelCase> cases = testing::reduction_cases();
  cuda_kernels(case_specs(cases));
  for (const KernelCase& c : cases) {
    std::vector<double> magnitude;
    std::vector<NDArray> want = testing::case_reference(c, &magnitude);
    expect_matches(c, run_on_gpu(c), want, magnitude, 0);
  }
}

TEST(CudaGpu, SoftmaxStepsChainedOnTheDeviceMatchTheReferenceSoftmax) {
  SKIP_WITHOUT_GPU();
  for (DType d : {DType::Float32, DType::Float64}) {
    Var x = testing::input(d, {-1, 300}, "x");
    Var y = softmax(x);
    auto steps = lower_to_kernels(*y->owner);
    ASSERT_TRUE(steps.has_value());
    NDArray xv = testing::test_values(d, {64, 300}, 5, 20.0, false);
    // Each step over the arrays its arguments name: the input, then the
    // outputs of earlier steps (kept as size-1 axes).
    std::vector<NDArray> values = {xv};
    for (const KernelStep& st : *steps) {
      KernelCase c;
      c.name = "softmax step";
      c.ir = st.kernel.ir;
      c.domain = {64, 300};
      for (int a : st.args) c.inputs.push_back(values.at(a));
      c.axes = st.kernel.is_reduce ? 0b10 : 0;
      NDArray out = run_on_gpu(c).at(0);
      values.push_back(st.kernel.is_reduce ? out.astype(st.kernel.out_dtype) : out);
    }
    NDArray want = SoftmaxOp(1, false).perform(*y->owner, {xv}).at(0);
    KernelCase whole;
    whole.name = std::string("softmax ") + dtype_name(d);
    whole.domain = {64, 300};
    // The reference works in double; the steps round x - max to float32 before
    // exp (up to ~33 ulp of the result) and sum a row in the kernel's order
    // (float64: up to ~14 ulp), which no device avoids.
    expect_matches(whole, {values.back()}, {want}, {}, d == DType::Float32 ? 64 : 32);
  }
}

TEST(CudaGpu, KernelsAreCompiledOncePerProcess) {
  SKIP_WITHOUT_GPU();
  std::vector<KernelSpec> specs = case_specs(testing::layout_cases());
  cuda_kernels(specs);
  CudaCompileStats again;
  std::vector<const CudaKernel*> ks = cuda_kernels(specs, &again);
  EXPECT_EQ(again.compiled, 0);
  EXPECT_EQ(ks.size(), specs.size());
  for (const CudaKernel* k : ks) EXPECT_NE(k->fn, nullptr);
}

}  // namespace
}  // namespace theanine
