// Kernel IR: loop-nest merging and layout prediction, the emitted LLVM IR, and
// compiled kernels against the reference path.
#include "codegen/kernel_ir.h"

#include <gtest/gtest.h>

#include <cmath>

#include "codegen/function.h"
#include "codegen/kernel_lowering.h"
#include "codegen/llvm_backend.h"
#include "codegen/llvm_emit.h"
#include "ops/elemwise.h"
#include "ops/operators.h"
#include "ops/reduce.h"
#include "runtime/error.h"
#include "tests/cpp/test_util.h"

#if THEANINE_HAVE_LLVM
#include "codegen/llvm/jit.h"
#endif

namespace theanine {
namespace {

using testing::input;

NDArray filled(DType d, const Shape& s) {
  NDArray a = NDArray::empty(d, s);
  for (int64_t i = 0; i < a.size(); ++i) a.set_item_double(i, 0.25 * (i % 17) - 2);
  return a;
}

TEST(KernelLoopNest, ContiguousOperandsMergeIntoOneUnitStrideLoop) {
  NDArray x = filled(DType::Float32, {4, 5, 6}), y = filled(DType::Float32, {4, 5, 6});
  LoopNest n = make_loop_nest({4, 5, 6}, {x, y}, 0, 1);
  EXPECT_EQ(n.shape, (std::vector<int64_t>{120}));
  EXPECT_EQ(n.layout.rank, 1);
  EXPECT_EQ(n.layout.inner, (std::vector<InnerStep>{InnerStep::Unit, InnerStep::Unit}));
}

TEST(KernelLoopNest, BroadcastRowKeepsTwoLoopsWithZeroOuterStride) {
  NDArray x = filled(DType::Float32, {4, 5}), b = filled(DType::Float32, {1, 5});
  NDArray out = filled(DType::Float32, {4, 5});
  LoopNest n = make_loop_nest({4, 5}, {x, b.broadcast_to({4, 5}), out}, 0, 2);
  EXPECT_EQ(n.layout.rank, 2);
  EXPECT_EQ(n.strides[1 * 2 + 0], 0);  // b does not move along rows
  EXPECT_EQ(n.layout.inner[1], InnerStep::Unit);
}

TEST(KernelLoopNest, TransposedViewIsStridedAndOverwriteIsDetected) {
  NDArray x = filled(DType::Float64, {6, 7}).transpose({1, 0});
  LoopNest n = make_loop_nest({7, 6}, {x, x}, 0, 1);
  EXPECT_EQ(n.layout.inner[0], InnerStep::Strided);
  EXPECT_EQ(n.layout.same_as, (std::vector<int>{0}));
}

TEST(KernelLoopNest, ReducedAxesAreNotMergedWithKeptOnes) {
  NDArray x = filled(DType::Float32, {4, 5, 6});
  NDArray acc = filled(DType::Float32, {4, 1, 6});
  LoopNest n = make_loop_nest({4, 5, 6}, {x, acc}, 0b010, 1);
  EXPECT_EQ(n.layout.rank, 3);
  EXPECT_EQ(n.layout.reduced, 0b010u);
  EXPECT_EQ(n.strides[1 * 3 + 1], 0);
}

TEST(KernelLoopNest, PredictionMatchesContiguousArraysOfTheStaticShapes) {
  // x (?, 5) + b (1, 5) -> out (?, 5)
  KernelLayout predicted = predict_layout({-1, 5}, {{-1, 5}, {1, 5}, {-1, 5}}, 0, {-1});
  NDArray x = filled(DType::Float32, {9, 5}), b = filled(DType::Float32, {1, 5});
  NDArray out = filled(DType::Float32, {9, 5});
  LoopNest n = make_loop_nest({9, 5}, {x, b.broadcast_to({9, 5}), out}, 0, 2);
  EXPECT_EQ(predicted, n.layout);
  // A row sum: (?, 7) -> (?, 1)
  KernelLayout rp = predict_layout({-1, 7}, {{-1, 7}, {-1, 1}}, 0b10, {-1});
  NDArray m = filled(DType::Float32, {3, 7}), r = filled(DType::Float32, {3, 1});
  EXPECT_EQ(rp, make_loop_nest({3, 7}, {m, r}, 0b10, 1).layout);
}

TEST(KernelLoopNest, OperandsThatDoNotBroadcastAreAShapeError) {
  NDArray x = filled(DType::Float32, {4, 5}), y = filled(DType::Float32, {4, 3});
  EXPECT_THROW(make_loop_nest({4, 5}, {x, y}, 0, 1), ShapeError);
}

TEST(LlvmEmit, EveryScalarOpHasANativeSpellingOrTheHelperFallback) {
  // Each op of the table either has an entry in the LLVM column or is listed
  // here as evaluated through the reference helper: adding an op to the table
  // without deciding how the backend spells it fails this test.
  const std::set<std::string> via_helper = {"int_div", "mod", "pow", "true_div"};
  for (const ScalarOp& op : scalar_ops()) {
    bool native = llvm_native_op(op.id, true) || llvm_native_op(op.id, false);
    EXPECT_TRUE(native || via_helper.count(op.name)) << op.name;
  }
}

#if THEANINE_HAVE_LLVM
TEST(LlvmEmit, FusedTanhLoopIsVectorizedWithTheVectorMathLibrary) {
  Var x = input(DType::Float32, {-1}, "x");
  Var y = tanh(x * 0.5 + 0.25);
  Function f = function({x}, {y});
  ASSERT_GE(f.kernel_stats().kernels, 1);
  // The same kernel, emitted and compiled to host assembly.
  auto steps = lower_to_kernels(*y->owner);
  ASSERT_TRUE(steps.has_value());
  std::vector<KernelSpec> specs = predicted_specs(*steps, *y->owner, {-1});
  std::string asm_text = llvm_jit::assembly(llvm_module_text(specs));
  bool vector_regs = asm_text.find("ymm") != std::string::npos ||
                     asm_text.find("zmm") != std::string::npos;
  EXPECT_TRUE(vector_regs) << asm_text.substr(0, 2000);
  EXPECT_NE(asm_text.find("_ZGV"), std::string::npos) << "no libmvec call";
}

TEST(LlvmBackend, CompiledFunctionAgreesWithReferenceAndReusesKernels) {
  Var x = input(DType::Float32, {-1, 8}, "x");
  Var b = input(DType::Float32, {8}, "b");
  Var e = sum(exp(x - b) * 2.0, std::vector<int>{1});
  Function fast = function({x, b}, {e});
  FunctionOptions ref_opts;
  ref_opts.mode = "REFERENCE";
  Function ref = function({x, b}, {e}, {}, ref_opts);
  NDArray xv = filled(DType::Float32, {33, 8}), bv = filled(DType::Float32, {8});
  NDArray got = fast({xv, bv})[0], want = ref({xv, bv})[0];
  ASSERT_EQ(got.shape(), want.shape());
  for (int64_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got.item_double(i), want.item_double(i),
                1e-5 * std::abs(want.item_double(i)));
  Function again = function({x, b}, {e});
  EXPECT_EQ(again.kernel_stats().compiled, 0);
  EXPECT_GE(again.kernel_stats().kernels, 1);
}
#endif

}  // namespace
}  // namespace theanine
