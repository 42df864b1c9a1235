// A multilayer perceptron on Fashion-MNIST (or any MNIST-format folder), the C++
// twin of examples/mnist_mlp.py: 784 -> 392 tanh -> 196 tanh -> 10 softmax,
// trained by minibatch SGD with momentum 0.9 and weight decay 5e-4 (learning
// rate 0.01, batch 128). Same flags as the Python example (--help lists them).
#include <random>
#include <string>
#include <vector>

#include "examples/support/mnist_training.h"
#include "theanine.h"

using namespace theanine;

namespace {

const std::vector<int64_t> kLayers = {examples::kImageSide * examples::kImageSide, 392,
                                      196, examples::kClasses};
const char* const kNames[] = {"hidden1", "hidden2", "output"};

// tanh hidden layers, a linear output (the softmax is in the cost).
examples::Network build(std::mt19937_64& rng) {
  examples::Network net;
  net.x = make_input(TensorType(DType::Float32, {-1, kLayers[0]}), "x");
  net.y = make_input(TensorType::unknown_shape(DType::Int32, 1), "y");
  Var h = net.x;
  for (size_t i = 0; i + 1 < kLayers.size(); ++i) {
    const int64_t n_in = kLayers[i], n_out = kLayers[i + 1];
    const std::string name = kNames[i];
    Var W =
        make_shared(examples::uniform_init(rng, {n_in, n_out}, n_in, n_out), name + ".W",
                    /*borrow=*/true);
    Var b = make_shared(NDArray::zeros(DType::Float32, {n_out}), name + ".b", true);
    net.params.insert(net.params.end(), {W, b});
    net.z = dot(h, W) + b;
    h = i + 2 < kLayers.size() ? tanh(net.z) : net.z;
  }
  return net;
}

}  // namespace

int main(int argc, char** argv) {
  return examples::main("mnist_mlp",
                        "A multilayer perceptron on Fashion-MNIST (or any MNIST-format "
                        "folder):\n784 -> 392 tanh -> 196 tanh -> 10 softmax, SGD with "
                        "momentum 0.9 and weight decay 5e-4.",
                        argc, argv, {kLayers[0]}, build,
                        "784-392-196-10 (tanh, softmax)");
}
