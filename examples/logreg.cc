// Softmax regression (784 -> 10) on an MNIST-format folder, trained by minibatch
// SGD: the C++ twin of examples/logreg.py.
//
//   p    = softmax(X W + b),  cost = mean_i -log p[i, y_i]
//   W, b <- W - lr dcost/dW, b - lr dcost/db   (gradients from grad())
//
//   logreg [--data DIR] [--epochs 10] [--batch-size 600] [--lr 0.13] [--seed 1234]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "theanine.h"

using namespace theanine;

namespace {

constexpr int kClasses = 10;

struct Args {
  std::string data = kDefaultMnistDir;
  int epochs = 10;
  int64_t batch_size = 600;
  double lr = 0.13;
  uint64_t seed = 1234;
};

[[noreturn]] void usage(const char* prog, const std::string& problem) {
  std::fprintf(stderr,
               "%s\nusage: %s [--data DIR] [--epochs N] [--batch-size N] [--lr RATE] "
               "[--seed N]\n",
               problem.c_str(), prog);
  std::exit(2);
}

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") usage(argv[0], "Softmax regression on MNIST.");
    if (i + 1 >= argc) usage(argv[0], "missing value after " + flag);
    const std::string value = argv[++i];
    try {
      size_t used = 0;
      if (flag == "--data") {
        a.data = value;
        used = value.size();
      } else if (flag == "--epochs") {
        a.epochs = std::stoi(value, &used);
      } else if (flag == "--batch-size") {
        a.batch_size = std::stoll(value, &used);
      } else if (flag == "--lr") {
        a.lr = std::stod(value, &used);
      } else if (flag == "--seed") {
        a.seed = std::stoull(value, &used);
      } else {
        usage(argv[0], "unknown flag " + flag);
      }
      if (used != value.size()) throw std::invalid_argument(value);
    } catch (const std::logic_error&) {
      usage(argv[0], "bad value '" + value + "' for " + flag);
    }
  }
  if (a.epochs < 1 || a.batch_size < 1 || !(a.lr > 0))
    usage(argv[0], "--epochs, --batch-size and --lr must be positive");
  return a;
}

struct Model {
  Function train;       // (batch index) -> cost, updating W and b
  Function error_rate;  // (X, y) -> fraction misclassified
};

Model build(const MnistData& data, int64_t batch_size, double lr) {
  const int64_t n_in = data.train.x.shape(1);
  Var W = make_shared(NDArray::zeros(DType::Float32, {n_in, kClasses}), "W");
  Var b = make_shared(NDArray::zeros(DType::Float32, {kClasses}), "b");
  // The training set lives in shared variables; each step slices one minibatch of
  // it through `givens`, as the Theano tutorial does.
  Var train_x = make_shared(data.train.x, "train_x", /*borrow=*/true);
  Var train_y = make_shared(data.train.y, "train_y", /*borrow=*/true);

  Var X = make_input(TensorType::unknown_shape(DType::Float32, 2), "X");
  Var y = make_input(TensorType::unknown_shape(DType::Int32, 1), "y");
  Var index = make_input(TensorType::unknown_shape(DType::Int64, 0), "index");

  Var z = dot(X, W) + b;
  // log softmax computed stably: shifting by max z keeps exp finite, and taking
  // the log before any exp underflows keeps the gradient finite.
  Var shifted = z - max(z, std::vector{1}, /*keepdims=*/true);
  Var log_p = shifted - log(sum(exp(shifted), std::vector{1}, /*keepdims=*/true));
  Var p = exp(log_p);
  Var n = shape_i(X, 0);
  Var cost = -mean(subtensor(log_p, {idx(arange(n)), idx(y)}));

  std::vector<Var> g = grad(cost, {W, b});
  Var g_W = g[0], g_b = g[1];

  Var errors = mean(neq(argmax(p, 1), y));

  FunctionOptions train_opts;
  train_opts.name = "train";
  Index batch = slice(index * batch_size, (index + 1) * batch_size);
  train_opts.givens = {{X, subtensor(train_x, {batch})},
                       {y, subtensor(train_y, {batch})}};
  FunctionOptions eval_opts;
  eval_opts.name = "errors";
  return Model{
      function({index}, {cost}, {{W, W - lr * g_W}, {b, b - lr * g_b}}, train_opts),
      function({X, y}, {errors}, {}, eval_opts)};
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse_args(argc, argv);
  try {
    const MnistData data = load_mnist(args.data);
    const int64_t n_batches = data.train.x.shape(0) / args.batch_size;
    if (n_batches == 0)
      usage(argv[0], "--batch-size " + std::to_string(args.batch_size) +
                         " is larger than the " + std::to_string(data.train.x.shape(0)) +
                         " training images");
    std::printf("data: %s: %lld train, %lld valid, %lld test images of %lld pixels\n",
                args.data.c_str(), static_cast<long long>(data.train.x.shape(0)),
                static_cast<long long>(data.valid.x.shape(0)),
                static_cast<long long>(data.test.x.shape(0)),
                static_cast<long long>(data.train.x.shape(1)));
    const Model model = build(data, args.batch_size, args.lr);

    std::mt19937_64 rng(args.seed);
    std::vector<int64_t> order(n_batches);
    std::iota(order.begin(), order.end(), 0);
    for (int epoch = 1; epoch <= args.epochs; ++epoch) {
      const auto start = std::chrono::steady_clock::now();
      std::shuffle(order.begin(), order.end(), rng);
      double total_cost = 0;
      for (int64_t i : order)
        total_cost +=
            model.train({NDArray::scalar(DType::Int64, double(i))})[0].item_double();
      const double valid_error =
          model.error_rate({data.valid.x, data.valid.y})[0].item_double();
      std::printf("epoch %d: train cost %.4f, validation error %.2f%%, %.2f s\n", epoch,
                  total_cost / n_batches, 100 * valid_error, seconds_since(start));
      std::fflush(stdout);
    }
    const double test_error =
        model.error_rate({data.test.x, data.test.y})[0].item_double();
    std::printf("test accuracy: %.2f%%\n", 100 * (1 - test_error));
  } catch (const Error& e) {
    std::fprintf(stderr, "logreg: %s\n", e.what());
    return 1;
  }
  return 0;
}
