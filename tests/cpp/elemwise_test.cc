#include "ops/elemwise.h"

#include <gtest/gtest.h>

#include <cmath>
#include <concepts>
#include <limits>
#include <set>

#include "codegen/function.h"
#include "ops/op_util.h"
#include "ops/operators.h"
#include "runtime/error.h"
#include "tests/cpp/test_util.h"

namespace theanine {
namespace {

using namespace testing;

template <class T>
Var constant(const std::vector<T>& v, Shape s) {
  return make_constant(arr(v, std::move(s)));
}

// ---- The table.

TEST(ElemwiseTable, LookupByNameAndIdAgree) {
  std::set<std::string> names;
  for (const ScalarOp& op : scalar_ops()) {
    EXPECT_TRUE(names.insert(op.name).second) << "duplicate " << op.name;
    EXPECT_EQ(&scalar_op(op.id), &op);
    EXPECT_EQ(&scalar_op(std::string_view(op.name)), &op);
    EXPECT_GE(op.arity, 1);
    EXPECT_LE(op.arity, 3);
    EXPECT_TRUE(op.eval_float || op.eval_int) << op.name;
  }
  for (const char* n :
       {"add",     "sub",     "mul",    "true_div", "int_div",  "mod",   "pow",
        "neg",     "abs",     "sgn",    "exp",      "log",      "log1p", "expm1",
        "sqrt",    "sqr",     "tanh",   "sigmoid",  "softplus", "sin",   "cos",
        "maximum", "minimum", "clip",   "round",    "floor",    "ceil",  "eq",
        "neq",     "lt",      "le",     "gt",       "ge",       "and_",  "or_",
        "xor",     "invert",  "switch", "cast",     "isnan",    "isinf"})
    EXPECT_NE(find_scalar_op(n), nullptr) << n;
  EXPECT_EQ(scalar_op("clip").arity, 3);
  EXPECT_EQ(scalar_op("invert").arity, 1);
  EXPECT_EQ(find_scalar_op("relu_nope"), nullptr);
}

TEST(ElemwiseTable, UnknownNameOrIdIsValueError) {
  std::string msg = error_of<ValueError>([] { scalar_op("frobnicate"); });
  EXPECT_NE(msg.find("frobnicate"), std::string::npos) << msg;
  EXPECT_NE(msg.find("add"), std::string::npos) << msg;  // lists the known names
  msg = error_of<ValueError>([] { scalar_op(10000); });
  EXPECT_NE(msg.find("10000"), std::string::npos) << msg;
}

TEST(ElemwiseTable, TypeRules) {
  const DType b = DType::Bool, i8 = DType::Int8, i16 = DType::Int16, i32 = DType::Int32,
              f32 = DType::Float32, f64 = DType::Float64;
  auto out = [](const char* op, DType common) {
    return resolve_dtypes(scalar_op(op), common).output;
  };
  EXPECT_EQ(out("exp", i8), f32);
  EXPECT_EQ(out("exp", DType::UInt8), f32);
  EXPECT_EQ(out("exp", i16), f32);
  EXPECT_EQ(out("exp", b), f32);
  EXPECT_EQ(out("exp", i32), f64);
  EXPECT_EQ(out("exp", DType::Int64), f64);
  EXPECT_EQ(out("exp", f32), f32);
  EXPECT_EQ(out("true_div", i32), f64);
  EXPECT_EQ(out("lt", f32), b);
  EXPECT_EQ(resolve_dtypes(scalar_op("lt"), f32).operand, f32);
  EXPECT_EQ(out("int_div", b), i8);
  EXPECT_EQ(out("pow", b), i8);
  EXPECT_EQ(out("sqr", b), i8);
  EXPECT_EQ(out("add", b), b);
  EXPECT_EQ(out("maximum", i16), i16);
  EXPECT_EQ(out("floor", i32), i32);
  EXPECT_EQ(resolve_dtypes(scalar_op("cast"), i32, f32).output, f32);
  EXPECT_EQ(resolve_dtypes(scalar_op("cast"), i32, f32).operand, i32);
  EXPECT_NE(error_of<TypeError>([&] { out("sub", b); }).find("bool"), std::string::npos);
  EXPECT_NE(error_of<TypeError>([&] { out("neg", b); }).find("invert"),
            std::string::npos);
  EXPECT_NE(error_of<TypeError>([&] { out("xor", f32); }).find("float32"),
            std::string::npos);
  EXPECT_NE(error_of<ValueError>([&] { out("cast", f32); }).find("dtype"),
            std::string::npos);
}

// ---- Type inference on graphs.

TEST(ElemwiseTypes, WeakLiteralsFollowNep50) {
  Var xf = input(DType::Float32, {2, 3});
  Var xi = input(DType::Int32, {2, 3});
  Var xb = input(DType::Bool, {2, 3});
  EXPECT_EQ(mul(xf, scalar_literal(2.0, false)).dtype(), DType::Float32);
  EXPECT_EQ(mul(xi, scalar_literal(2.0, false)).dtype(), DType::Float64);
  EXPECT_EQ(mul(xi, scalar_literal(2, true)).dtype(), DType::Int32);
  EXPECT_EQ(add(xb, scalar_literal(1, true)).dtype(), DType::Int64);
  EXPECT_EQ(add(scalar_literal(1, true), scalar_literal(2.5, false)).dtype(),
            DType::Float64);
  // A strong 0-d float64 constant is not weak: it upcasts.
  EXPECT_EQ(mul(xf, scalar_constant(2.0, DType::Float64)).dtype(), DType::Float64);
}

TEST(ElemwiseTypes, ArrayPromotionAndKinds) {
  auto t = [](DType a, DType b) { return add(input(a, {2}), input(b, {2})).dtype(); };
  EXPECT_EQ(t(DType::Int8, DType::Int16), DType::Int16);
  EXPECT_EQ(t(DType::UInt8, DType::Int8), DType::Int16);
  EXPECT_EQ(t(DType::Int32, DType::Float32), DType::Float64);
  EXPECT_EQ(t(DType::Bool, DType::Bool), DType::Bool);
  Var x = input(DType::Float64, {2});
  EXPECT_EQ(lt(x, x).dtype(), DType::Bool);
  EXPECT_EQ(isnan(x).dtype(), DType::Bool);
  EXPECT_EQ(true_div(input(DType::Int16, {2}), input(DType::Int8, {2})).dtype(),
            DType::Float32);
  EXPECT_EQ(switch_(x, input(DType::Int8, {2}), input(DType::Int16, {2})).dtype(),
            DType::Int16);
  EXPECT_EQ(cast(x, DType::Int8).dtype(), DType::Int8);
  EXPECT_TRUE(cast(x, DType::Float64).same(x));
  EXPECT_EQ(invert(input(DType::Bool, {2})).dtype(), DType::Bool);
}

TEST(ElemwiseTypes, BadDtypesAreTypeErrorsNamingTheOp) {
  Var f = input(DType::Float32, {3}, "f");
  Var b = input(DType::Bool, {3}, "b");
  std::string msg = error_of<TypeError>([&] { and_(f, f); });
  EXPECT_NE(msg.find("Elemwise{and_}"), std::string::npos) << msg;
  EXPECT_NE(msg.find("float32"), std::string::npos) << msg;
  EXPECT_NE(error_of<TypeError>([&] { invert(f); }).find("float"), std::string::npos);
  EXPECT_NE(error_of<TypeError>([&] { sub(b, b); }).find("bool"), std::string::npos);
  EXPECT_NE(error_of<TypeError>([&] { neg(b); }).find("bool"), std::string::npos);
  EXPECT_NE(error_of<TypeError>([&] { sgn(b); }).find("bool"), std::string::npos);
  // A weak int literal meeting a bool tensor is an int: subtraction is fine.
  EXPECT_EQ(sub(b, scalar_literal(1, true)).dtype(), DType::Int64);
}

TEST(ElemwiseTypes, OutOfRangeIntegerLiteralIsValueError) {
  Var x = input(DType::Int8, {3}, "x");
  std::string msg = error_of<ValueError>([&] { add(x, scalar_literal(1000, true)); });
  EXPECT_NE(msg.find("1000"), std::string::npos) << msg;
  EXPECT_NE(msg.find("int8"), std::string::npos) << msg;
  Var u = input(DType::UInt8, {3});
  EXPECT_NE(error_of<ValueError>([&] { mul(u, scalar_literal(-1, true)); }).find("uint8"),
            std::string::npos);
  // In range, and comparisons (which compare exact values), are fine.
  EXPECT_EQ(add(x, scalar_literal(-128, true)).dtype(), DType::Int8);
  EXPECT_EQ(lt(x, scalar_literal(1000, true)).dtype(), DType::Bool);
}

TEST(ElemwiseTypes, StaticBroadcastShapes) {
  auto shape = [](Shape a, Shape b) {
    return add(input(DType::Float32, a), input(DType::Float32, b)).type().shape;
  };
  EXPECT_EQ(shape({3, 1}, {4}), (Shape{3, 4}));
  EXPECT_EQ(shape({-1, 4}, {1}), (Shape{-1, 4}));
  EXPECT_EQ(shape({2, 1, 4}, {3, 1}), (Shape{2, 3, 4}));
  EXPECT_EQ(shape({-1}, {5}), (Shape{5}));
  EXPECT_EQ(shape({0, 3}, {1, 3}), (Shape{0, 3}));
  EXPECT_EQ(shape({}, {}), (Shape{}));
  Var c = clip(input(DType::Float32, {2, 1}), input(DType::Float32, {1, 3}),
               input(DType::Float32, {}));
  EXPECT_EQ(c.type().shape, (Shape{2, 3}));
}

TEST(ElemwiseTypes, StaticShapeMismatchIsShapeErrorNamingShapes) {
  Var x = input(DType::Float32, {3, 4}, "x");
  Var y = input(DType::Float32, {5}, "y");
  int line = __LINE__ + 1;
  std::string msg = error_of<ShapeError>([&] { add(x, y); });
  EXPECT_NE(msg.find("Elemwise{add}"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(3, 4)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(5,)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'x'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("elemwise_test.cc:" + std::to_string(line)), std::string::npos)
      << msg;
}

TEST(ElemwiseTypes, GenericBuilderChecksNameAndArity) {
  Var x = input(DType::Float32, {3});
  EXPECT_EQ(elemwise("tanh", {x}).dtype(), DType::Float32);
  EXPECT_NE(error_of<ValueError>([&] { elemwise("tanhh", {x}); }).find("tanhh"),
            std::string::npos);
  std::string msg = error_of<ValueError>([&] { elemwise("add", {x}); });
  EXPECT_NE(msg.find("2 inputs, got 1"), std::string::npos) << msg;
  EXPECT_NE(error_of<ValueError>([&] { elemwise("cast", {x}); }).find("cast(x, dtype)"),
            std::string::npos);
}

TEST(ElemwiseTypes, NameSpellsParameters) {
  Var x = input(DType::Float64, {3});
  EXPECT_EQ(add(x, x)->owner->op->name(), "Elemwise{add}");
  EXPECT_EQ(cast(x, DType::Float32)->owner->op->name(), "Elemwise{cast{float32}}");
  EXPECT_TRUE(add(x, x)->owner->op->equals(*add(x, x)->owner->op));
  EXPECT_FALSE(add(x, x)->owner->op->equals(*mul(x, x)->owner->op));
  EXPECT_FALSE(
      cast(x, DType::Int8)->owner->op->equals(*cast(x, DType::Int16)->owner->op));
}

// ---- Evaluation.

TEST(ElemwiseEval, IntegerFloorDivisionAndModFollowPython) {
  Var a = constant<int32_t>({7, -7, 7, -7, 5, 0}, {6});
  Var b = constant<int32_t>({2, 2, -2, -2, 0, 3}, {6});
  EXPECT_EQ(values(run1({}, int_div(a, b))), (std::vector<double>{3, -4, -4, 3, 0, 0}));
  EXPECT_EQ(values(run1({}, mod(a, b))), (std::vector<double>{1, 1, -1, -1, 0, 0}));
  NDArray q = run1({}, int_div(a, b));
  EXPECT_EQ(q.dtype(), DType::Int32);
}

TEST(ElemwiseEval, FloatFloorDivisionAndMod) {
  Var a = constant<double>({7.5, 7.5, -7.5, 1.0}, {4});
  Var b = constant<double>({2.0, -2.0, 2.0, 0.0}, {4});
  std::vector<double> q = values(run1({}, int_div(a, b)));
  std::vector<double> r = values(run1({}, mod(a, b)));
  EXPECT_EQ(q[0], 3.0);
  EXPECT_EQ(q[1], -4.0);
  EXPECT_EQ(q[2], -4.0);
  EXPECT_TRUE(std::isinf(q[3]));
  EXPECT_EQ(r[0], 1.5);
  EXPECT_EQ(r[1], -0.5);
  EXPECT_EQ(r[2], 0.5);
  EXPECT_TRUE(std::isnan(r[3]));
}

TEST(ElemwiseEval, IntegerPowAndNegativeExponentError) {
  Var a = constant<int64_t>({2, -3, 0, 5}, {4});
  Var e = constant<int64_t>({10, 3, 0, 1}, {4});
  EXPECT_EQ(values(run1({}, pow(a, e))), (std::vector<double>{1024, -27, 1, 5}));
  Var neg_e = constant<int64_t>({1, -1, 2, 1}, {4});
  std::string msg = error_of<ValueError>([&] { run1({}, pow(a, neg_e)); });
  EXPECT_NE(msg.find("Integers to negative integer powers are not allowed"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("Elemwise{pow}"), std::string::npos) << msg;
}

TEST(ElemwiseEval, IntegersWrapAround) {
  Var a = constant<int8_t>({127, -128, 100}, {3});
  Var one = constant<int8_t>({1, 1, 1}, {3});
  EXPECT_EQ(values(run1({}, add(a, one))), (std::vector<double>{-128, -127, 101}));
  EXPECT_EQ(values(run1({}, neg(a))), (std::vector<double>{-127, -128, -100}));
  EXPECT_EQ(values(run1({}, abs(a))), (std::vector<double>{127, -128, 100}));
  EXPECT_EQ(values(run1({}, mul(a, a))), (std::vector<double>{1, 0, 16}));  // 10000 % 256
  Var u = constant<uint8_t>({0, 1, 200}, {3});
  EXPECT_EQ(values(run1({}, neg(u))), (std::vector<double>{0, 255, 56}));
  EXPECT_EQ(values(run1({}, pow(u, constant<uint8_t>({3, 3, 2}, {3})))),
            (std::vector<double>{0, 1, 64}));  // 40000 % 256
}

TEST(ElemwiseEval, BoolArithmeticIsLogical) {
  Var a = constant<bool>({true, true, false, false}, {4});
  Var b = constant<bool>({true, false, true, false}, {4});
  NDArray s = run1({}, add(a, b));
  EXPECT_EQ(s.dtype(), DType::Bool);
  EXPECT_EQ(values(s), (std::vector<double>{1, 1, 1, 0}));
  EXPECT_EQ(values(run1({}, mul(a, b))), (std::vector<double>{1, 0, 0, 0}));
  EXPECT_EQ(values(run1({}, xor_(a, b))), (std::vector<double>{0, 1, 1, 0}));
  EXPECT_EQ(values(run1({}, invert(a))), (std::vector<double>{0, 0, 1, 1}));
  Var i = constant<int32_t>({0, 5, -1}, {3});
  EXPECT_EQ(values(run1({}, invert(i))), (std::vector<double>{-1, -6, 0}));
}

TEST(ElemwiseEval, RoundHalfToEvenFloorCeil) {
  Var x = constant<double>({0.5, 1.5, 2.5, -0.5, -1.5, -2.7}, {6});
  EXPECT_EQ(values(run1({}, round(x))), (std::vector<double>{0, 2, 2, 0, -2, -3}));
  EXPECT_EQ(values(run1({}, floor(x))), (std::vector<double>{0, 1, 2, -1, -2, -3}));
  EXPECT_EQ(values(run1({}, ceil(x))), (std::vector<double>{1, 2, 3, 0, -1, -2}));
  Var i = constant<int16_t>({-3, 4}, {2});
  NDArray r = run1({}, floor(i));
  EXPECT_EQ(r.dtype(), DType::Int16);
  EXPECT_EQ(values(r), (std::vector<double>{-3, 4}));
}

TEST(ElemwiseEval, SigmoidAndSoftplusAreStableAtTheExtremes) {
  Var x = constant<double>({-1000, -30, 0, 30, 1000}, {5});
  std::vector<double> s = values(run1({}, sigmoid(x)));
  EXPECT_EQ(s[0], 0.0);
  EXPECT_NEAR(s[1], 9.357622968840175e-14, 1e-26);
  EXPECT_EQ(s[2], 0.5);
  EXPECT_EQ(s[4], 1.0);
  std::vector<double> p = values(run1({}, softplus(x)));
  EXPECT_EQ(p[0], 0.0);
  EXPECT_NEAR(p[1], 9.357622968840175e-14, 1e-26);
  EXPECT_NEAR(p[2], std::log(2.0), 1e-15);
  EXPECT_NEAR(p[3], 30.000000000000092, 1e-12);
  EXPECT_EQ(p[4], 1000.0);
  Var xf = make_constant(NDArray::from_vector<float>({-1000.f, 1000.f}, {2}));
  std::vector<double> pf = values(run1({}, softplus(xf)));
  EXPECT_EQ(pf[0], 0.0);
  EXPECT_EQ(pf[1], 1000.0);
}

TEST(ElemwiseEval, MaximumMinimumPropagateNaN) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Var a = constant<double>({nan, 1, 3}, {3});
  Var b = constant<double>({1, nan, 2}, {3});
  std::vector<double> mx = values(run1({}, maximum(a, b)));
  std::vector<double> mn = values(run1({}, minimum(a, b)));
  EXPECT_TRUE(std::isnan(mx[0]) && std::isnan(mx[1]));
  EXPECT_TRUE(std::isnan(mn[0]) && std::isnan(mn[1]));
  EXPECT_EQ(mx[2], 3);
  EXPECT_EQ(mn[2], 2);
  std::vector<double> c =
      values(run1({}, clip(a, constant<double>({0}, {1}), constant<double>({2.5}, {1}))));
  EXPECT_TRUE(std::isnan(c[0]));
  EXPECT_EQ(c[1], 1);
  EXPECT_EQ(c[2], 2.5);
  std::vector<double> nans = values(run1({}, isnan(a)));
  EXPECT_EQ(nans, (std::vector<double>{1, 0, 0}));
}

TEST(ElemwiseEval, SwitchReadsConditionAsBoolAndCastTruncates) {
  Var c = constant<double>({0.5, 0.0, -2.0}, {3});
  Var a = constant<int32_t>({1, 2, 3}, {3});
  Var b = constant<int32_t>({-1, -2, -3}, {3});
  NDArray r = run1({}, switch_(c, a, b));
  EXPECT_EQ(r.dtype(), DType::Int32);
  EXPECT_EQ(values(r), (std::vector<double>{1, -2, 3}));
  Var f = constant<double>({-1.7, 2.9, 300.0}, {3});
  NDArray i = run1({}, cast(f, DType::Int8));
  EXPECT_EQ(i.dtype(), DType::Int8);
  EXPECT_EQ(values(i), (std::vector<double>{-1, 2, 44}));  // 300 wraps as NumPy's astype
  EXPECT_EQ(values(run1({}, cast(f, DType::Bool))), (std::vector<double>{1, 1, 1}));
}

TEST(ElemwiseEval, NonContiguousBroadcastAndEmptyInputs) {
  // a = [[0, 1, 2], [3, 4, 5]]; a.T is (3, 2), a[:, ::-1] reverses each row.
  NDArray a = NDArray::from_vector<float>({0, 1, 2, 3, 4, 5}, {2, 3});
  NDArray col = NDArray::from_vector<float>({10, 20, 30}, {3, 1});
  const ScalarOp& add_op = scalar_op("add");
  ElemwiseDTypes f32{DType::Float32, DType::Float32};
  NDArray t = elemwise_eval(add_op, f32, {a.transpose({1, 0}), col});
  EXPECT_EQ(t.shape(), (Shape{3, 2}));
  EXPECT_EQ(values(t), (std::vector<double>{10, 13, 21, 24, 32, 35}));
  NDArray rev = a.slice(1, 2, -1, -1);  // a[:, ::-1]
  NDArray row = NDArray::from_vector<float>({100, 200, 300}, {3});
  NDArray r = elemwise_eval(add_op, f32, {rev, row});
  EXPECT_EQ(values(r), (std::vector<double>{102, 201, 300, 105, 204, 303}));
  // A zero-stride (broadcast) input and a 0-d input.
  NDArray z = elemwise_eval(
      add_op, f32, {row.broadcast_to({2, 3}), NDArray::scalar(DType::Float32, 1)});
  EXPECT_EQ(values(z), (std::vector<double>{101, 201, 301, 101, 201, 301}));
  NDArray e = elemwise_eval(add_op, f32, {NDArray::empty(DType::Float32, {0, 3}), row});
  EXPECT_EQ(e.shape(), (Shape{0, 3}));
  // Mixed input dtypes converted through the operand dtype.
  NDArray m = elemwise_eval(scalar_op("mul"), {DType::Float64, DType::Float64},
                            {NDArray::from_vector<int32_t>({1, 2, 3}, {3}), row});
  EXPECT_EQ(m.dtype(), DType::Float64);
  EXPECT_EQ(values(m), (std::vector<double>{100, 400, 900}));
}

TEST(ElemwiseEval, LongRowsSpanSeveralBlocks) {
  const int64_t n = 2000;
  std::vector<int64_t> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = i;
  NDArray a = NDArray::from_vector(v, {2, n / 2});
  NDArray r = elemwise_eval(scalar_op("mul"), {DType::Int64, DType::Int64},
                            {a.transpose({1, 0}), NDArray::scalar(DType::Int64, 3)});
  ASSERT_EQ(r.shape(), (Shape{n / 2, 2}));
  for (int64_t i = 0; i < n / 2; ++i) {
    ASSERT_EQ(r.item_int(2 * i), 3 * i);
    ASSERT_EQ(r.item_int(2 * i + 1), 3 * (i + n / 2));
  }
  // Contiguous: one coalesced row of n elements, several blocks long.
  NDArray c = elemwise_eval(scalar_op("sub"), {DType::Int64, DType::Int64},
                            {a, NDArray::scalar(DType::Int64, 1)});
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(c.item_int(i), i - 1);
}

TEST(ElemwiseEval, RuntimeShapeMismatchIsShapeError) {
  Var x = input(DType::Float64, {-1, -1}, "x");
  Var y = input(DType::Float64, {-1}, "y");
  Var z = add(x, y);
  EXPECT_EQ(z.type().shape, (Shape{-1, -1}));
  NDArray a = NDArray::zeros(DType::Float64, {3, 4});
  NDArray ok = run1({x, y}, z, {a, NDArray::zeros(DType::Float64, {1})});
  EXPECT_EQ(ok.shape(), (Shape{3, 4}));
  std::string msg = error_of<ShapeError>([&] {
    run1({x, y}, z, {a, NDArray::zeros(DType::Float64, {5})});
  });
  EXPECT_NE(msg.find("Elemwise{add}"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(3, 4)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(5,)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'y'"), std::string::npos) << msg;
}

// ---- Operators.

template <class A, class B>
concept EqualityBuildsVar = requires(A a, B b) {
  { a == b } -> std::same_as<Var>;
};
static_assert(!EqualityBuildsVar<Var, Var>, "== must not build an elementwise node");

TEST(ElemwiseOperators, CompileAndBuildTheRightNodes) {
  Var x = input(DType::Float32, {2, 3});
  Var y = input(DType::Float32, {3});
  Var i = input(DType::Int32, {3});
  Var m = input(DType::Bool, {3});
  auto op_of = [](const Var& v) { return v->owner->op->name(); };
  EXPECT_EQ(op_of(x * y), "Elemwise{mul}");
  EXPECT_EQ(op_of(x * 2.0), "Elemwise{mul}");
  EXPECT_EQ(op_of(2.0 * x), "Elemwise{mul}");
  EXPECT_EQ(op_of(x + y), "Elemwise{add}");
  EXPECT_EQ(op_of(1 - x), "Elemwise{sub}");
  EXPECT_EQ(op_of(x / 2), "Elemwise{true_div}");
  EXPECT_EQ(op_of(i % 3), "Elemwise{mod}");
  EXPECT_EQ(op_of(-x), "Elemwise{neg}");
  EXPECT_EQ(op_of(x < y), "Elemwise{lt}");
  EXPECT_EQ(op_of(x <= 0.5), "Elemwise{le}");
  EXPECT_EQ(op_of(0 > x), "Elemwise{gt}");
  EXPECT_EQ(op_of(x >= y), "Elemwise{ge}");
  EXPECT_EQ(op_of(i & 1), "Elemwise{and_}");
  EXPECT_EQ(op_of(m | m), "Elemwise{or_}");
  EXPECT_EQ(op_of(i ^ i), "Elemwise{xor}");
  EXPECT_EQ(op_of(~m), "Elemwise{invert}");
  // Literals are weak: they keep the tensor's dtype.
  EXPECT_EQ((x * 2.0).dtype(), DType::Float32);
  EXPECT_EQ((x * 2.0f).dtype(), DType::Float32);
  EXPECT_EQ((i + 2L).dtype(), DType::Int32);
  EXPECT_EQ((i * 2u).dtype(), DType::Int32);
  EXPECT_EQ((i * 0.5).dtype(), DType::Float64);
  EXPECT_EQ((x < y).dtype(), DType::Bool);
  EXPECT_EQ((2.0 * x).type().shape, (Shape{2, 3}));
  // Chained expressions.
  Var z = (x * y + 1.0) / (x - y);
  EXPECT_EQ(op_of(z), "Elemwise{true_div}");
  EXPECT_EQ(z.type().shape, (Shape{2, 3}));
}

TEST(ElemwiseOperators, RecordTheUsersLine) {
  Var x = input(DType::Float64, {3});
  Var y = input(DType::Float64, {3});
  Var z = x * y;
  const int line = __LINE__ - 1;
  Var w = 2.0 * x;
  const int line2 = __LINE__ - 1;
  EXPECT_EQ(z->loc.line, line);
  EXPECT_NE(z->loc.file.find("elemwise_test.cc"), std::string::npos) << z->loc.file;
  EXPECT_EQ(w->loc.line, line2);
  EXPECT_EQ(w->owner->inputs[0]->loc.line, line2);  // the literal too
  Var n = exp(x);
  EXPECT_EQ(n->loc.line, __LINE__ - 1);
}

TEST(ElemwiseOperators, EvaluateLikeTheBuilders) {
  Var x = input(DType::Float64, {3}, "x");
  Var r = (1.0 - x) * 2 + x % 2.0;
  NDArray a = NDArray::from_vector<double>({0.5, -3.0, 4.0}, {3});
  EXPECT_EQ(values(run1({x}, r, {a})), (std::vector<double>{1.5, 9.0, -6.0}));
}

}  // namespace
}  // namespace theanine
