#include "codegen/function.h"

#include <gtest/gtest.h>

#include "ops/op_util.h"
#include "tests/cpp/test_ops.h"
#include "tests/cpp/test_util.h"

namespace theanine {
namespace {

using namespace testing;

NDArray vec(const std::vector<float>& v) {
  return arr(v, {static_cast<int64_t>(v.size())});
}

TEST(Function, ComputesOutputsFromInputsAndShared) {
  Var x = make_input(TensorType(DType::Float32, {-1}), "x");
  Var w = make_shared(vec({10, 20}), "w");
  Function f = function({x}, {plus(x, w)});
  auto r = f({vec({1, 2})});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].item_double(0), 11);
  EXPECT_EQ(r[0].item_double(1), 22);
  set_value(w, vec({0, 1}));  // read at each call
  EXPECT_EQ(f({vec({1, 2})})[0].item_double(1), 3);
}

TEST(Function, UpdatesAreAtomic) {
  Var a = make_shared(vec({1}), "a");
  Var b = make_shared(vec({2}), "b");
  // Swap-like updates: each reads the old value of the other.
  Function f = function({}, {}, {{a, plus(b, b)}, {b, plus(a, a)}});
  f({});
  EXPECT_EQ(get_value(a).item_double(0), 4);
  EXPECT_EQ(get_value(b).item_double(0), 2);
}

TEST(Function, UpdateToSharedItselfDoesNotAlias) {
  Var a = make_shared(vec({1}), "a");
  Var b = make_shared(vec({5}), "b");
  Function f = function({}, {}, {{a, b}});
  f({});
  EXPECT_FALSE(get_value(a, true).shares_memory(get_value(b, true)));
}

TEST(Function, GivensSubstituteVariables) {
  Var x = make_input(TensorType(DType::Float32, {-1}), "x");
  Var y = make_input(TensorType(DType::Float32, {-1}), "y");
  Var data = make_shared(vec({3, 4}), "data");
  FunctionOptions o;
  o.givens = {{y, data}};
  Function f = function({x}, {plus(x, y)}, {}, o);
  EXPECT_EQ(f({vec({1, 1})})[0].item_double(1), 5);
}

TEST(Function, ArgumentChecks) {
  Var x = make_input(TensorType(DType::Float32, {-1, 2}), "x");
  Function f = function({x}, {plus(x, x)});
  EXPECT_THROW(f({}), ValueError);
  EXPECT_THROW(
      f({NDArray::zeros(DType::Float32, {2, 2}), NDArray::zeros(DType::Float32, {2, 2})}),
      ValueError);
  EXPECT_THROW(f({NDArray::zeros(DType::Float32, {2})}), TypeError);
  EXPECT_THROW(f({NDArray::zeros(DType::Float32, {2, 3})}), ShapeError);
  // float64 into float32 loses precision: refused unless allowed.
  EXPECT_THROW(f({NDArray::zeros(DType::Float64, {2, 2})}), TypeError);
  // int8 into float32 is safe.
  EXPECT_NO_THROW(f({NDArray::zeros(DType::Int8, {2, 2})}));
  FunctionOptions o;
  o.allow_input_downcast = true;
  Function g = function({x}, {plus(x, x)}, {}, o);
  EXPECT_EQ(g({NDArray::zeros(DType::Float64, {1, 2})})[0].dtype(), DType::Float32);
}

TEST(Function, DefaultValues) {
  Var x = make_input(TensorType(DType::Float32, {-1}), "x");
  Var y = make_input(TensorType(DType::Float32, {-1}), "y");
  Function f = function({x, In(y, "y", vec({100}))}, {plus(x, y)});
  EXPECT_EQ(f({vec({1})})[0].item_double(0), 101);
  EXPECT_EQ(f({vec({1}), vec({2})})[0].item_double(0), 3);
}

TEST(Function, BadGraphs) {
  Var x = make_input(TensorType(DType::Float32, {-1}), "x");
  Var y = make_input(TensorType(DType::Float32, {-1}), "y");
  Var w = make_shared(vec({1}), "w");
  Var w64 = make_shared(NDArray::zeros(DType::Float64, {1}), "w64");
  EXPECT_THROW(function({x}, {plus(x, y)}), MissingInputError);
  EXPECT_THROW(function({x, y}, {plus(x, x)}), UnusedInputError);
  FunctionOptions ignore;
  ignore.on_unused_input = UnusedInput::Ignore;
  EXPECT_NO_THROW(function({x, y}, {plus(x, x)}, {}, ignore));
  EXPECT_THROW(function({x}, {x}, {{x, x}}), TypeError);             // target not shared
  EXPECT_THROW(function({x}, {x}, {{w64, plus(w, w)}}), TypeError);  // dtype differs
  EXPECT_THROW(function({x}, {x}, {{w, w}, {w, w}}), ValueError);    // twice
  EXPECT_THROW(function({w}, {w}), TypeError);                       // shared as input
  FunctionOptions bad_givens;
  bad_givens.givens = {{x, make_input(TensorType(DType::Float64, {-1}))}};
  EXPECT_THROW(function({}, {x}, {}, bad_givens), TypeError);
}

TEST(Function, MissingInputMessageNamesVariableAndLine) {
  Var x = make_input(TensorType(DType::Float32, {-1}), "x");
  Var y = make_input(TensorType(DType::Float32, {-1}), "lonely");
  expect_error<MissingInputError>([&] { function({x}, {plus(x, y)}); },
                                  {"lonely", "function_test.cc"});
}

TEST(Function, RuntimeErrorNamesNode) {
  Var x = make_input(TensorType(DType::Float32, {-1}), "x");
  Var y = make_input(TensorType(DType::Float32, {-1}), "y");
  Function f = function({x, y}, {plus(x, y)});
  expect_error<ShapeError>([&] { f({vec({1, 2}), vec({1, 2, 3})}); }, {"TestPlus"});
}

TEST(Function, OutputsNeverAliasCallerOrSharedMemory) {
  Var x = make_input(TensorType(DType::Float32, {-1}), "x");
  Var w = make_shared(vec({1}), "w");
  Function f = function({x}, {x, w});
  NDArray arg = vec({7});
  auto r = f({arg});
  EXPECT_FALSE(r[0].shares_memory(arg));
  EXPECT_FALSE(r[1].shares_memory(get_value(w, true)));
}

TEST(Function, FailedCallCommitsNoUpdate) {
  Var x = make_input(TensorType(DType::Float32, {-1}), "x");
  Var w = make_shared(vec({1, 1}), "w");
  Function f = function({x}, {}, {{w, plus(w, x)}});
  EXPECT_THROW(f({vec({1, 2, 3})}), ShapeError);
  EXPECT_EQ(get_value(w).item_double(0), 1);
}

TEST(OpUtil, WeakLiteralsFollowNep50) {
  Var f32 = make_input(TensorType(DType::Float32, {}));
  Var i32 = make_input(TensorType(DType::Int32, {}));
  Var b = make_input(TensorType(DType::Bool, {}));
  EXPECT_EQ(result_dtype({f32, scalar_literal(2.0, false)}), DType::Float32);
  EXPECT_EQ(result_dtype({i32, scalar_literal(2, true)}), DType::Int32);
  EXPECT_EQ(result_dtype({i32, scalar_literal(2.5, false)}), DType::Float64);
  EXPECT_EQ(result_dtype({b, scalar_literal(2, true)}), DType::Int64);
  EXPECT_EQ(result_dtype({b, scalar_literal(2.5, false)}), DType::Float64);
  EXPECT_EQ(result_dtype({scalar_literal(2, true), scalar_literal(2.5, false)}),
            DType::Float64);
}

}  // namespace
}  // namespace theanine
