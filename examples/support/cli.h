#pragma once
// The command line the MNIST examples share (the same flags as the Python
// examples' common.py): parsing, defaults, and the usage text.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

#include "runtime/idx.h"

namespace examples {

inline constexpr double kMomentum = 0.9;
inline constexpr double kWeightDecay = 5e-4;
inline const char* const kOptimizers[] = {"sgd",     "momentum", "nesterov",
                                          "adagrad", "rmsprop",  "adam"};

struct Args {
  std::string prog;
  std::string data = theanine::kDefaultMnistDir;
  int epochs = 10;
  std::string optimizer = "momentum";
  double lr = 0;  // 0: the optimizer's default (see default_lr)
  uint64_t seed = 1234;
  std::string backend = "llvm";
  std::string device = "cpu";  // where the parameters live and the training runs
  int64_t batch_size = 128;
  std::string save, plot;  // default: <prog>_params.npz, <prog>_curve.png
  std::optional<std::string> load;
  std::optional<int64_t> limit;
  bool overwrite = false;
};

// 0.01 (the SGD rate), less for the rules that divide by a running
// gradient scale.
inline double default_lr(const std::string& optimizer) {
  return optimizer == "rmsprop" || optimizer == "adam" ? 0.001 : 0.01;
}

inline void print_usage(const std::string& prog, const std::string& description,
                        std::FILE* to) {
  std::fprintf(
      to,
      "usage: %s [--data DIR] [--epochs N] [--optimizer NAME] [--lr RATE] [--seed N]\n"
      "       [--backend llvm|reference] [--device cpu|cuda] [--batch-size N]\n"
      "       [--save PATH.npz] [--load PATH.npz] [--plot PATH.png] [--limit N]\n"
      "       [--overwrite]\n\n"
      "%s\n\n"
      "  --data DIR        folder with the four MNIST-format IDX files (default %s)\n"
      "  --epochs N        epochs to train (default 10; 0 with --load only evaluates)\n"
      "  --optimizer NAME  sgd, momentum (default, 0.9), nesterov, adagrad, rmsprop or\n"
      "                    adam; all with weight decay 5e-4\n"
      "  --lr RATE         learning rate (default 0.01; 0.001 for rmsprop and adam)\n"
      "  --seed N          seeds the initial weights and the order of the examples\n"
      "  --backend NAME    llvm: compiled (the default mode); reference: the reference\n"
      "                    interpreter (mode REFERENCE)\n"
      "  --device NAME     cpu (default) or cuda: the parameters live and the training\n"
      "                    runs on the GPU (exit status 2 when there is none)\n"
      "  --batch-size N    default 128\n"
      "  --save PATH       parameters saved after each epoch (default %s_params.npz)\n"
      "  --load PATH       parameters to start from: resumes training, or with\n"
      "                    --epochs 0 evaluates them\n"
      "  --plot PATH       learning-curve PNG written after each epoch\n"
      "                    (default %s_curve.png)\n"
      "  --limit N         train on the first N training images only (quick runs)\n"
      "  --overwrite       replace existing --save and --plot files\n",
      prog.c_str(), description.c_str(), theanine::kDefaultMnistDir, prog.c_str(),
      prog.c_str());
}

[[noreturn]] inline void usage_error(const std::string& prog,
                                     const std::string& problem) {
  std::fprintf(stderr, "%s: error: %s (see --help)\n", prog.c_str(), problem.c_str());
  std::exit(2);
}

inline Args parse_args(const std::string& prog, const std::string& description, int argc,
                       char** argv) {
  Args a;
  a.prog = prog;
  a.save = prog + "_params.npz";
  a.plot = prog + "_curve.png";
  bool lr_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") {
      print_usage(prog, description, stdout);
      std::exit(0);
    }
    if (flag == "--overwrite") {
      a.overwrite = true;
      continue;
    }
    if (i + 1 >= argc) usage_error(prog, "missing value after " + flag);
    const std::string value = argv[++i];
    try {
      size_t used = value.size();
      if (flag == "--data") {
        a.data = value;
      } else if (flag == "--epochs") {
        a.epochs = std::stoi(value, &used);
      } else if (flag == "--optimizer") {
        a.optimizer = value;
      } else if (flag == "--lr") {
        a.lr = std::stod(value, &used);
        lr_given = true;
      } else if (flag == "--seed") {
        a.seed = std::stoull(value, &used);
      } else if (flag == "--backend") {
        a.backend = value;
      } else if (flag == "--device") {
        a.device = value;
      } else if (flag == "--batch-size") {
        a.batch_size = std::stoll(value, &used);
      } else if (flag == "--save") {
        a.save = value;
      } else if (flag == "--load") {
        a.load = value;
      } else if (flag == "--plot") {
        a.plot = value;
      } else if (flag == "--limit") {
        a.limit = std::stoll(value, &used);
      } else {
        usage_error(prog, "unknown flag " + flag);
      }
      if (used != value.size()) throw std::invalid_argument(value);
    } catch (const std::logic_error&) {
      usage_error(prog, "bad value '" + value + "' for " + flag);
    }
  }
  bool known = false;
  for (const char* o : kOptimizers) known |= a.optimizer == o;
  if (!known)
    usage_error(prog, "unknown --optimizer '" + a.optimizer +
                          "' (sgd, momentum, nesterov, adagrad, rmsprop or adam)");
  if (a.backend != "llvm" && a.backend != "reference")
    usage_error(prog, "unknown --backend '" + a.backend + "' (llvm or reference)");
  if (a.device != "cpu" && a.device != "cuda")
    usage_error(prog, "unknown --device '" + a.device + "' (cpu or cuda)");
  if (a.device == "cuda" && a.backend == "reference")
    usage_error(prog,
                "--backend reference is the CPU interpreter; it does not run on "
                "--device cuda");
  if (a.epochs < 0) usage_error(prog, "--epochs must be 0 or more");
  if (a.batch_size < 1) usage_error(prog, "--batch-size must be positive");
  if (a.limit && *a.limit < 1) usage_error(prog, "--limit must be positive");
  if (!lr_given) a.lr = default_lr(a.optimizer);
  if (!(a.lr > 0)) usage_error(prog, "--lr must be positive");
  return a;
}

}  // namespace examples
