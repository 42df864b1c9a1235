// The C++ API as README shows it: the umbrella header, operators with number
// literals, function() with updates.
#include <gtest/gtest.h>

#include <cmath>

#include "theanine.h"

namespace theanine {
namespace {

TEST(Api, ReadmeExampleTrainsALinearModel) {
  Var x = make_input(TensorType(DType::Float32, {-1, 3}), "x");
  Var W = make_shared(NDArray::zeros(DType::Float32, {3, 2}), "W");
  Var cost = mean(sqr(dot(x, W) - 1.0));
  Function train = function({x}, {cost}, {{W, W - 0.1 * grad(cost, W)}});
  NDArray batch = NDArray::from_vector<float>({1, 0, 0, 0, 1, 0, 0, 0, 1}, {3, 3});
  double first = train({batch})[0].item_double();
  EXPECT_DOUBLE_EQ(first, 1.0);  // W = 0: every residual is -1
  double last = first;
  for (int i = 0; i < 50; ++i) last = train({batch})[0].item_double();
  // With x = I, xW = W: every weight follows w <- w - 0.1 * (2/6) (w - 1), and
  // the cost is (1 - w)^2, read before each call's update.
  const double rate = 1.0 - 0.1 / 3.0;
  for (int k = 0; k < 6; ++k)
    EXPECT_NEAR(get_value(W).item_double(k), 1.0 - std::pow(rate, 51), 1e-5);
  EXPECT_NEAR(last, std::pow(rate, 100), 1e-5);
}

}  // namespace
}  // namespace theanine
