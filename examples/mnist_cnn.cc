// A convolutional network on Fashion-MNIST (or any MNIST-format folder), the C++
// twin of examples/mnist_cnn.py and the Theano LeNet tutorial's design: conv 28
// filters 5x5 -> max-pool 3x3 (stride 3) -> tanh -> conv 56 filters 5x5 ->
// max-pool 2x2 -> tanh -> 224 -> 200 tanh -> 10 softmax, trained by minibatch
// SGD with momentum 0.9 and weight decay 5e-4 (learning rate 0.01, batch 128).
// Same flags as the Python example (--help lists them).
//
// Shapes: 1x28x28 -conv5-> 28x24x24 -pool3-> 28x8x8 -conv5-> 56x4x4 -pool2->
// 56x2x2 = 224.
#include <random>
#include <string>
#include <vector>

#include "examples/support/mnist_training.h"
#include "ops/conv.h"
#include "ops/pool.h"
#include "theanine.h"

using namespace theanine;

namespace {

struct ConvLayer {
  const char* name;
  int64_t filters, kernel, pool;
};
constexpr ConvLayer kConvs[] = {{"conv1", 28, 5, 3}, {"conv2", 56, 5, 2}};
constexpr int64_t kHidden = 200;

Var dense_params(std::mt19937_64& rng, const std::string& name, int64_t n_in,
                 int64_t n_out, examples::Network& net) {
  Var W =
      make_shared(examples::uniform_init(rng, {n_in, n_out}, n_in, n_out), name + ".W",
                  /*borrow=*/true);
  Var b = make_shared(NDArray::zeros(DType::Float32, {n_out}), name + ".b", true);
  net.params.insert(net.params.end(), {W, b});
  return W;
}

// Each convolutional layer is tanh(max_pool(conv(x, W)) + b), as in LeNet; then
// a tanh hidden layer and a linear output (the softmax is in the cost).
examples::Network build(std::mt19937_64& rng) {
  examples::Network net;
  const int64_t side0 = examples::kImageSide;
  net.x = make_input(TensorType(DType::Float32, {-1, 1, side0, side0}), "x");
  net.y = make_input(TensorType::unknown_shape(DType::Int32, 1), "y");
  Var h = net.x;
  int64_t channels = 1, side = side0;
  for (const ConvLayer& c : kConvs) {
    // Each output unit sees channels*k*k inputs; each input unit feeds
    // filters*k*k outputs, of which pooling keeps one per pool*pool window.
    const double fan_in = static_cast<double>(channels * c.kernel * c.kernel);
    const double fan_out =
        static_cast<double>(c.filters * c.kernel * c.kernel) / (c.pool * c.pool);
    const std::string name = c.name;
    Var W =
        make_shared(examples::uniform_init(rng, {c.filters, channels, c.kernel, c.kernel},
                                           fan_in, fan_out),
                    name + ".W", /*borrow=*/true);
    Var b = make_shared(NDArray::zeros(DType::Float32, {c.filters}), name + ".b", true);
    net.params.insert(net.params.end(), {W, b});
    Conv2dOptions conv;
    conv.input_shape = {-1, channels, side, side};
    conv.filter_shape = {c.filters, channels, c.kernel, c.kernel};
    PoolOptions pool;
    pool.ws = {c.pool, c.pool};
    h = tanh(pool_2d(conv2d(h, W, conv), pool) + dimshuffle(b, {-1, 0, -1, -1}));
    channels = c.filters;
    side = (side - c.kernel + 1) / c.pool;
  }
  const int64_t n_flat = channels * side * side;  // 56 * 2 * 2 = 224
  h = flatten(h, 2);
  Var W3 = dense_params(rng, "hidden", n_flat, kHidden, net);
  h = tanh(dot(h, W3) + net.params.back());
  Var W4 = dense_params(rng, "output", kHidden, examples::kClasses, net);
  net.z = dot(h, W4) + net.params.back();
  return net;
}

}  // namespace

int main(int argc, char** argv) {
  return examples::main(
      "mnist_cnn",
      "A convolutional network on Fashion-MNIST (or any MNIST-format folder):\nconv 28 "
      "filters 5x5 - max-pool 3x3 - tanh - conv 56 filters 5x5 - max-pool 2x2 - tanh "
      "-\n224 "
      "- 200 tanh - 10 softmax, SGD with momentum 0.9 and weight decay 5e-4.",
      argc, argv, {1, examples::kImageSide, examples::kImageSide}, build,
      "conv 28@5x5 - maxpool 3 - tanh - conv 56@5x5 - maxpool 2 - tanh - 224-200-10");
}
