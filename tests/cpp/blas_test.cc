#include "ops/blas.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "codegen/function.h"
#include "ops/gemm_ref.h"
#include "ops/op_util.h"
#include "runtime/error.h"
#include "tests/cpp/test_util.h"

namespace theanine {
namespace {

using namespace testing;

NDArray random_array(DType d, const Shape& s, std::mt19937& rng) {
  NDArray a = NDArray::empty(d, s);
  std::uniform_real_distribution<double> u(-1, 1);
  for (int64_t i = 0; i < a.size(); ++i) a.set_item_double(i, u(rng));
  return a;
}

// The product by plain loops over item_double, independent of gemm's code.
std::vector<double> naive_matmul(const NDArray& a, const NDArray& b) {
  const int64_t m = a.shape(0), k = a.shape(1), n = b.shape(1);
  NDArray ac = a.copy(), bc = b.copy();
  std::vector<double> r(m * n, 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t p = 0; p < k; ++p)
        r[i * n + j] += ac.item_double(i * k + p) * bc.item_double(p * n + j);
  return r;
}

void expect_close(const std::vector<double>& got, const std::vector<double>& want,
                  double tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], tol * (1 + std::fabs(want[i]))) << what << " at " << i;
}

// a = [[1, 2, 3], [4, 5, 6]], b = [[1, 0], [0, 1], [2, 2]]
TEST(Blas, DotMatrixMatrix) {
  Var a = input(DType::Float32, {2, 3}, "a"), b = input(DType::Float32, {3, 2}, "b");
  Var c = dot(a, b);
  EXPECT_EQ(c.type().shape, (Shape{2, 2}));
  NDArray r = run1(
      {a, b}, c,
      {arr<float>({1, 2, 3, 4, 5, 6}, {2, 3}), arr<float>({1, 0, 0, 1, 2, 2}, {3, 2})});
  EXPECT_EQ(values(r), (std::vector<double>{7, 8, 16, 17}));
  EXPECT_EQ(r.dtype(), DType::Float32);
}

TEST(Blas, DotVectorMixes) {
  Var m = input(DType::Float64, {2, 3}, "m"), v = input(DType::Float64, {3}, "v");
  Var w = input(DType::Float64, {2}, "w");
  NDArray mv = arr<double>({1, 2, 3, 4, 5, 6}, {2, 3});
  NDArray vv = arr<double>({1, -1, 2}, {3});
  NDArray wv = arr<double>({3, -2}, {2});
  NDArray r = run1({m, v}, dot(m, v), {mv, vv});
  EXPECT_EQ(r.shape(), (Shape{2}));
  EXPECT_EQ(values(r), (std::vector<double>{5, 11}));
  r = run1({w, m}, dot(w, m), {wv, mv});
  EXPECT_EQ(r.shape(), (Shape{3}));
  EXPECT_EQ(values(r), (std::vector<double>{-5, -4, -3}));
  Var v2 = input(DType::Float64, {3}, "v2");
  r = run1({v, v2}, dot(v, v2), {vv, arr<double>({2, 3, 4}, {3})});
  EXPECT_EQ(r.ndim(), 0);
  EXPECT_EQ(r.item_double(), 7);
  // A 0-d operand scales the other.
  Var s = input(DType::Float64, {}, "s");
  r = run1({s, m}, dot(s, m), {NDArray::scalar(DType::Float64, 2), mv});
  EXPECT_EQ(values(r), (std::vector<double>{2, 4, 6, 8, 10, 12}));
}

TEST(Blas, DotNdFollowsNumPy) {
  // dot(a, b)[i, j, k, l] = sum_p a[i, j, p] * b[k, p, l]
  std::mt19937 rng(1);
  NDArray av = random_array(DType::Float64, {2, 3, 4}, rng);
  NDArray bv = random_array(DType::Float64, {5, 4, 6}, rng);
  Var a = input(DType::Float64, {-1, -1, -1}, "a"),
      b = input(DType::Float64, {-1, 4, 6}, "b");
  Var c = dot(a, b);
  EXPECT_EQ(c.type().shape, (Shape{-1, -1, -1, 6}));
  NDArray r = run1({a, b}, c, {av, bv});
  ASSERT_EQ(r.shape(), (Shape{2, 3, 5, 6}));
  std::vector<double> want;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 5; ++k)
        for (int l = 0; l < 6; ++l) {
          double s = 0;
          for (int p = 0; p < 4; ++p)
            s +=
                av.item_double((i * 3 + j) * 4 + p) * bv.item_double((k * 4 + p) * 6 + l);
          want.push_back(s);
        }
  expect_close(values(r), want, 1e-12, "3d.3d");
  // matrix . 3-d and 3-d . vector
  Var m = input(DType::Float64, {-1, 4}, "m");
  NDArray mv = random_array(DType::Float64, {3, 4}, rng);
  EXPECT_EQ(run1({m, b}, dot(m, b), {mv, bv}).shape(), (Shape{3, 5, 6}));
  Var v = input(DType::Float64, {4}, "v");
  NDArray vv = random_array(DType::Float64, {4}, rng);
  NDArray r2 = run1({a, v}, dot(a, v), {av, vv});
  ASSERT_EQ(r2.shape(), (Shape{2, 3}));
  for (int i = 0; i < 6; ++i) {
    double s = 0;
    for (int p = 0; p < 4; ++p) s += av.item_double(i * 4 + p) * vv.item_double(p);
    EXPECT_NEAR(r2.item_double(i), s, 1e-12);
  }
}

TEST(Blas, DotDtypes) {
  Var a = input(DType::Int32, {2}, "a"), b = input(DType::Int32, {2}, "b");
  NDArray r =
      run1({a, b}, dot(a, b), {arr<int32_t>({3, 4}, {2}), arr<int32_t>({5, -6}, {2})});
  EXPECT_EQ(r.dtype(), DType::Int32);
  EXPECT_EQ(r.item_int(), -9);
  Var f = input(DType::Float32, {2}, "f");
  EXPECT_EQ(dot(a, f).dtype(), DType::Float64);  // NumPy: int32 with float32
  EXPECT_EQ(dot(f, scalar_literal(2, false)).dtype(), DType::Float32);
  Var p = input(DType::Bool, {3}, "p"), q = input(DType::Bool, {3}, "q");
  NDArray t =
      run1({p, q}, dot(p, q),
           {arr<bool>({true, false, true}, {3}), arr<bool>({false, false, true}, {3})});
  EXPECT_EQ(t.dtype(), DType::Bool);
  EXPECT_EQ(t.item_int(), 1);
  // Fixed-width integers wrap around like NumPy's.
  Var i8 = input(DType::Int8, {2}, "i8");
  Var j8 = input(DType::Int8, {2}, "j8");
  EXPECT_EQ(run1({i8, j8}, dot(i8, j8),
                 {arr<int8_t>({100, 100}, {2}), arr<int8_t>({1, 1}, {2})})
                .item_int(),
            -56);
}

TEST(Blas, StaticShapeMismatchNamesBothShapes) {
  Var a = input(DType::Float32, {3, 4}, "a"), b = input(DType::Float32, {5, 6}, "b");
  std::string m = error_of<ShapeError>([&] { dot(a, b); });
  EXPECT_NE(m.find("dot: shapes (3, 4) and (5, 6) not aligned: 4 (dim 1) != 5 (dim 0)"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("blas_test.cc"), std::string::npos) << m;
  Var v = input(DType::Float32, {5}, "v");
  m = error_of<ShapeError>([&] { dot(a, v); });
  EXPECT_NE(m.find("4 (dim 1) != 5 (dim 0)"), std::string::npos) << m;
  Var t = input(DType::Float32, {2, 7, 6}, "t");
  m = error_of<ShapeError>([&] { dot(a, t); });
  EXPECT_NE(m.find("4 (dim 1) != 7 (dim 1)"), std::string::npos) << m;
}

TEST(Blas, RuntimeShapeMismatch) {
  Var a = input(DType::Float32, {-1, -1}, "a"), b = input(DType::Float32, {-1, -1}, "b");
  Function f = function({a, b}, {dot(a, b)});
  std::string m = error_of<ShapeError>([&] {
    f({NDArray::zeros(DType::Float32, {3, 4}), NDArray::zeros(DType::Float32, {5, 6})});
  });
  EXPECT_NE(m.find("shapes (3, 4) and (5, 6) not aligned: 4 (dim 1) != 5 (dim 0)"),
            std::string::npos)
      << m;
}

TEST(Blas, SizeZeroProductsAreZeros) {
  Var a = input(DType::Float32, {-1, -1}, "a"), b = input(DType::Float32, {-1, -1}, "b");
  Function f = function({a, b}, {dot(a, b)});
  NDArray r =
      f({NDArray::empty(DType::Float32, {2, 0}), NDArray::empty(DType::Float32, {0, 3})})
          .at(0);
  EXPECT_EQ(r.shape(), (Shape{2, 3}));
  EXPECT_EQ(values(r), std::vector<double>(6, 0.0));
  r = f({NDArray::empty(DType::Float32, {0, 4}), NDArray::empty(DType::Float32, {4, 3})})
          .at(0);
  EXPECT_EQ(r.shape(), (Shape{0, 3}));
  Var i = input(DType::Int64, {-1, -1}, "i"), j = input(DType::Int64, {-1, -1}, "j");
  r = run1({i, j}, dot(i, j),
           {NDArray::empty(DType::Int64, {1, 0}), NDArray::empty(DType::Int64, {0, 2})});
  EXPECT_EQ(values(r), (std::vector<double>{0, 0}));
}

// gemm() (BLAS when built with it) against gemm_ref() and a naive product, on
// the layouts that take different paths: contiguous, transposed (BLAS transpose
// flags), sliced rows (leading dimension), negative and zero strides (copied),
// single rows and columns (gemv), and size 0.
TEST(Blas, GemmMatchesReferenceOnEveryLayout) {
  std::mt19937 rng(7);
#ifdef THEANINE_HAVE_BLAS
  EXPECT_TRUE(detail::gemm_has_blas(DType::Float32));
  EXPECT_TRUE(detail::gemm_has_blas(DType::Float64));
#endif
  EXPECT_FALSE(detail::gemm_has_blas(DType::Int32));
  for (DType d : {DType::Float32, DType::Float64}) {
    const double tol = d == DType::Float32 ? 1e-5 : 1e-12;
    auto check = [&](const NDArray& a, const NDArray& b, const std::string& what) {
      NDArray c1 = NDArray::empty(d, {a.shape(0), b.shape(1)});
      NDArray c2 = NDArray::empty(d, {a.shape(0), b.shape(1)});
      detail::gemm(a, b, c1);
      detail::gemm_ref(a, b, c2);
      std::vector<double> want = naive_matmul(a, b);
      expect_close(values(c1), want, tol, std::string(dtype_name(d)) + " gemm " + what);
      expect_close(values(c2), want, tol,
                   std::string(dtype_name(d)) + " gemm_ref " + what);
    };
    for (auto [m, k, n] : {std::tuple{5, 7, 3},
                           {1, 7, 3},
                           {5, 7, 1},
                           {1, 7, 1},
                           {5, 1, 3},
                           {0, 3, 2},
                           {3, 0, 2},
                           {64, 33, 17}}) {
      std::string dims =
          std::to_string(m) + "x" + std::to_string(k) + "x" + std::to_string(n);
      NDArray a = random_array(d, {m, k}, rng), b = random_array(d, {k, n}, rng);
      NDArray at = random_array(d, {k, m}, rng).transpose({1, 0});
      NDArray bt = random_array(d, {n, k}, rng).transpose({1, 0});
      check(a, b, "contiguous " + dims);
      check(at, b, "a transposed " + dims);
      check(a, bt, "b transposed " + dims);
      check(at, bt, "both transposed " + dims);
      // Every other column of a wider array: rows with a leading dim > cols, and
      // a column stride of 2 that BLAS cannot take.
      NDArray wide = random_array(d, {m, 2 * k + 1}, rng);
      check(wide.slice(1, 0, k, 1), b, "leading dim " + dims);
      check(wide.slice(1, 0, 2 * k, 2), b, "strided columns " + dims);
      if (k > 0)
        check(a, random_array(d, {k, n}, rng).slice(0, k - 1, -1, -1),
              "negative stride " + dims);
      check(a, random_array(d, {1, n}, rng).broadcast_to({k, n}), "broadcast " + dims);
    }
  }
  // The loop path for integers and bool.
  NDArray ai = arr<int32_t>({1, 2, 3, 4, 5, 6}, {2, 3});
  NDArray bi = arr<int32_t>({1, 0, 0, 1, 2, 2}, {3, 2}).transpose({1, 0});  // (2, 3)
  NDArray ci = NDArray::empty(DType::Int32, {3, 3});
  detail::gemm(bi.transpose({1, 0}), bi, ci);
  EXPECT_EQ(values(ci), naive_matmul(bi.transpose({1, 0}), bi));
  NDArray c2 = NDArray::empty(DType::Int32, {2, 2});
  detail::gemm(ai, bi.transpose({1, 0}), c2);
  EXPECT_EQ(values(c2), (std::vector<double>{7, 8, 16, 17}));
}

TEST(Blas, GemmRejectsBadOperands) {
  NDArray a = NDArray::zeros(DType::Float32, {2, 3}),
          b = NDArray::zeros(DType::Float32, {4, 2});
  NDArray c = NDArray::empty(DType::Float32, {2, 2});
  EXPECT_THROW(detail::gemm(a, b, c), ValueError);
  NDArray b64 = NDArray::zeros(DType::Float64, {3, 2});
  EXPECT_THROW(detail::gemm_ref(a, b64, c), ValueError);
}

TEST(Blas, DotTransposedViewsThroughFunction) {
  std::mt19937 rng(3);
  Var a = input(DType::Float32, {-1, -1}, "a"), b = input(DType::Float32, {-1, -1}, "b");
  Function f = function({a, b}, {dot(a, b)});
  NDArray av = random_array(DType::Float32, {6, 4}, rng).transpose({1, 0});  // (4, 6)
  NDArray bv = random_array(DType::Float32, {5, 6}, rng).transpose({1, 0});  // (6, 5)
  expect_close(values(f({av, bv}).at(0)), naive_matmul(av, bv), 1e-5,
               "dot of transposes");
}

TEST(Blas, BatchedDotShapesAndValues) {
  Var a = input(DType::Float64, {2, 2, 3}, "a"),
      b = input(DType::Float64, {2, 3, 1}, "b");
  NDArray av = arr<double>({1, 2, 3, 4, 5, 6, 1, 0, 0, 0, 1, 0}, {2, 2, 3});
  NDArray bv = arr<double>({1, 1, 1, 7, 8, 9}, {2, 3, 1});
  Var c = batched_dot(a, b);
  EXPECT_EQ(c.type().shape, (Shape{2, 2, 1}));
  EXPECT_EQ(values(run1({a, b}, c, {av, bv})), (std::vector<double>{6, 15, 7, 8}));
  // (B, n) . (B, n) -> (B,)
  Var u = input(DType::Float64, {-1, 3}, "u"), v = input(DType::Float64, {-1, 3}, "v");
  NDArray r = run1(
      {u, v}, batched_dot(u, v),
      {arr<double>({1, 2, 3, 4, 5, 6}, {2, 3}), arr<double>({1, 1, 1, 1, 0, 2}, {2, 3})});
  EXPECT_EQ(r.shape(), (Shape{2}));
  EXPECT_EQ(values(r), (std::vector<double>{6, 16}));
  // (B, n, m) . (B, m) -> (B, n) and (B, m) . (B, m, k) -> (B, k)
  Var w = input(DType::Float64, {2, 3}, "w");
  NDArray wv = arr<double>({1, 0, 0, 0, 0, 1}, {2, 3});
  EXPECT_EQ(values(run1({a, w}, batched_dot(a, w), {av, wv})),
            (std::vector<double>{1, 4, 0, 0}));
  EXPECT_EQ(values(run1({w, b}, batched_dot(w, b), {wv, bv})),
            (std::vector<double>{1, 9}));
  // Empty batch.
  Var e = input(DType::Float64, {-1, -1, -1}, "e");
  Var eb = input(DType::Float64, {-1, 3, 1}, "eb");
  NDArray er = run1({e, eb}, batched_dot(e, eb),
                    {NDArray::empty(DType::Float64, {0, 2, 3}),
                     NDArray::empty(DType::Float64, {0, 3, 1})});
  EXPECT_EQ(er.shape(), (Shape{0, 2, 1}));
}

TEST(Blas, BatchedDotErrors) {
  Var a = input(DType::Float32, {2, 2, 3}, "a");
  Var v = input(DType::Float32, {3}, "v");
  std::string m = error_of<TypeError>([&] { batched_dot(a, v); });
  EXPECT_NE(m.find("b must have 2 or 3 dims"), std::string::npos) << m;
  Var b = input(DType::Float32, {4, 3, 2}, "b");
  m = error_of<ShapeError>([&] { batched_dot(a, b); });
  EXPECT_NE(m.find("batch sizes differ"), std::string::npos) << m;
  EXPECT_NE(m.find("(2, 2, 3) and (4, 3, 2)"), std::string::npos) << m;
  Var c = input(DType::Float32, {2, 4, 2}, "c");
  m = error_of<ShapeError>([&] { batched_dot(a, c); });
  EXPECT_NE(m.find("3 (dim 2) != 4 (dim 1)"), std::string::npos) << m;
  Var x = input(DType::Float32, {-1, -1, -1}, "x"),
      y = input(DType::Float32, {-1, -1, -1}, "y");
  Function f = function({x, y}, {batched_dot(x, y)});
  m = error_of<ShapeError>([&] {
    f({NDArray::zeros(DType::Float32, {2, 2, 3}),
       NDArray::zeros(DType::Float32, {3, 3, 2})});
  });
  EXPECT_NE(m.find("batch sizes differ"), std::string::npos) << m;
  m = error_of<ShapeError>([&] {
    f({NDArray::zeros(DType::Float32, {2, 2, 3}),
       NDArray::zeros(DType::Float32, {2, 4, 2})});
  });
  EXPECT_NE(m.find("not aligned"), std::string::npos) << m;
}

TEST(Blas, Outer) {
  Var a = input(DType::Int32, {-1}, "a"), b = input(DType::Int32, {3}, "b");
  Var c = outer(a, b);
  EXPECT_EQ(c.type().shape, (Shape{-1, 3}));
  NDArray r = run1({a, b}, c, {arr<int32_t>({1, -2}, {2}), arr<int32_t>({3, 4, 5}, {3})});
  EXPECT_EQ(r.dtype(), DType::Int32);
  EXPECT_EQ(values(r), (std::vector<double>{3, 4, 5, -6, -8, -10}));
  // Matrices are flattened, like numpy.outer.
  Var m = input(DType::Float32, {2, 2}, "m");
  EXPECT_EQ(outer(m, b).type().shape, (Shape{4, 3}));
  EXPECT_EQ(outer(m, b).dtype(), DType::Float64);
  NDArray r2 = run1(
      {m, b}, outer(m, b),
      {arr<float>({1, 2, 3, 4}, {2, 2}).transpose({1, 0}), arr<int32_t>({1, 0, 1}, {3})});
  EXPECT_EQ(values(r2), (std::vector<double>{1, 0, 1, 3, 0, 3, 2, 0, 2, 4, 0, 4}));
}

}  // namespace
}  // namespace theanine
