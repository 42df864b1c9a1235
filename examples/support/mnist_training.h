#pragma once
// What mnist_mlp.cc and mnist_cnn.cc share (the C++ twin of examples/common.py):
// data checks, weight initialization, the compiled training step and
// prediction, saving and resuming (.npz), the training loop with its progress
// bar, and the learning-curve PNG. A model is a Network built by the example.
//
// Saving policy: an existing --save or --plot file is never replaced unless
// --overwrite is given, or --save names the file --load resumes from (then both
// the parameters and the plot of that run are brought up to date). Files are
// written atomically (a temporary file renamed over the old one), after every
// epoch, so an interrupted run keeps its last finished epoch.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "examples/support/cli.h"
#include "examples/support/progress_bar.h"
#include "ops/nnet.h"
#include "ops/updates.h"
#include "runtime/cuda_array.h"
#include "runtime/cuda_driver.h"
#include "runtime/npz.h"
#include "runtime/png_plot.h"
#include "theanine.h"

namespace examples {

using namespace theanine;

inline constexpr int kClasses = 10;
inline constexpr int64_t kImageSide = 28;
inline constexpr int64_t kEvalBatch = 1000;

// A problem with the user's input, reported without more ado.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline std::string shape_str(const Shape& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + (s.size() == 1 ? ",)" : ")");
}

// ---- the device ----------------------------------------------------------------

// --device cuda on a machine without a usable CUDA device (exit status 2).
class DeviceUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Makes `device` where new shared variables live and functions run (before the
// network is built) and returns how the run header names it.
inline std::string use_device(const std::string& device) {
  if (device != "cuda") {
    set_default_device(DeviceKind::CPU);
    return "cpu";
  }
  if (!cuda_available())
    throw DeviceUnavailable("--device cuda: no usable CUDA device (" +
                            cuda_unavailable_reason() + "); run with --device cpu");
  set_default_device(DeviceKind::CUDA);
  const cuda::DeviceInfo& d = cuda::device_info();
  char text[256];
  std::snprintf(text, sizeof text, "cuda (%s, compute capability %d.%d, %.0f GiB)",
                d.name.c_str(), d.cc_major, d.cc_minor,
                static_cast<double>(d.total_memory) / (1 << 30));
  return text;
}

// ---- outputs -----------------------------------------------------------------

inline bool same_file(const std::string& a, const std::optional<std::string>& b) {
  if (!b) return false;
  std::error_code ec;
  if (std::filesystem::equivalent(a, *b, ec)) return true;
  return std::filesystem::absolute(a, ec) == std::filesystem::absolute(*b, ec);
}

// Refuses, before any work, to replace files the user has (see the policy above).
inline void check_outputs(const Args& a) {
  if (a.epochs == 0) return;  // nothing will be written
  const bool resuming_in_place = same_file(a.save, a.load);
  for (const auto& [flag, path] :
       {std::pair{"--save", a.save}, std::pair{"--plot", a.plot}})
    if (std::filesystem::exists(path) && !a.overwrite && !resuming_in_place)
      throw UsageError(std::string(flag) + " " + path +
                       " already exists; pass --overwrite to replace it, --load " +
                       a.save + " to continue training from it, or " + flag +
                       " with another path (nothing was changed)");
}

// ---- data --------------------------------------------------------------------

struct Split {
  NDArray x;  // float32 (N, ...input shape), contiguous
  NDArray y;  // int32 (N,)
};

inline void check_split(const MnistSplit& s, const std::string& split,
                        const std::string& folder) {
  const int64_t pixels = kImageSide * kImageSide;
  if (s.x.ndim() != 2 || s.x.shape(1) != pixels)
    throw UsageError(folder + ": the " + split + " images have " +
                     std::to_string(s.x.shape(1)) + " pixels each; the model needs " +
                     std::to_string(kImageSide) + "x" + std::to_string(kImageSide) +
                     " = " + std::to_string(pixels));
  if (s.x.shape(0) != s.y.shape(0))
    throw UsageError(folder + ": " + std::to_string(s.x.shape(0)) + " " + split +
                     " images but " + std::to_string(s.y.shape(0)) + " labels");
  int64_t bad = 0, first = -1;
  for (int64_t i = 0; i < s.y.size(); ++i) {
    const int64_t label = s.y.item_int(i);
    if (label < 0 || label >= kClasses) {
      if (first < 0) first = i;
      ++bad;
    }
  }
  if (bad)
    throw UsageError(
        folder + ": " + split + " label " + std::to_string(s.y.item_int(first)) +
        " at index " + std::to_string(first) + " is out of range (labels must be 0 to " +
        std::to_string(kClasses - 1) + "; " + std::to_string(bad) + " such labels)");
}

struct Data {
  Split train, valid, test;
};

inline Data load_data(const Args& a, const Shape& input_shape) {
  const MnistData d = load_mnist(a.data);
  check_split(d.train, "training", a.data);
  check_split(d.valid, "validation", a.data);
  check_split(d.test, "test", a.data);
  auto reshape = [&](const MnistSplit& s, int64_t n) {
    Shape shape{n};
    shape.insert(shape.end(), input_shape.begin(), input_shape.end());
    return Split{s.x.slice(0, 0, n, 1).contiguous().reshape(shape),
                 s.y.slice(0, 0, n, 1).contiguous()};
  };
  const int64_t n_train =
      a.limit ? std::min(*a.limit, d.train.x.shape(0)) : d.train.x.shape(0);
  return Data{reshape(d.train, n_train), reshape(d.valid, d.valid.x.shape(0)),
              reshape(d.test, d.test.x.shape(0))};
}

// The rows `order[begin, end)` of a contiguous array, as a new array.
inline NDArray gather_rows(const NDArray& a, const std::vector<int64_t>& order,
                           int64_t begin, int64_t end) {
  Shape shape = a.shape();
  shape[0] = end - begin;
  NDArray out = NDArray::empty(a.dtype(), shape);
  const size_t row = a.nbytes() / std::max<int64_t>(1, a.shape(0));
  const auto* src = static_cast<const char*>(a.raw());
  auto* dst = static_cast<char*>(out.raw());
  for (int64_t i = begin; i < end; ++i)
    std::memcpy(dst + (i - begin) * row, src + order[i] * row, row);
  return out;
}

// ---- the model -----------------------------------------------------------------

// Uniform in +-sqrt(6 / (fan_in + fan_out)) (Glorot and Bengio, as the Theano
// tutorials initialize tanh layers).
inline NDArray uniform_init(std::mt19937_64& rng, const Shape& shape, double fan_in,
                            double fan_out) {
  const double bound = std::sqrt(6.0 / (fan_in + fan_out));
  std::uniform_real_distribution<double> u(-bound, bound);
  NDArray a = NDArray::empty(DType::Float32, shape);
  float* p = a.data<float>();
  for (int64_t i = 0; i < a.size(); ++i) p[i] = static_cast<float>(u(rng));
  return a;
}

// What an example builds: parameters (shared variables, saved under their names
// in this order), the symbolic input batch x, the labels y, and the class scores
// (logits) z of x.
struct Network {
  std::vector<Var> params;
  Var x, y, z;
};

struct History {
  std::vector<double> train_loss, valid_error;
  int epochs() const { return static_cast<int>(train_loss.size()); }
};

inline Updates optimizer_updates(const Args& a, const Var& cost,
                                 const std::vector<Var>& params) {
  const std::vector<Var> g = updates::cost_grads(cost, params);
  const std::string& o = a.optimizer;
  if (o == "sgd") return updates::sgd(g, params, a.lr, kWeightDecay);
  if (o == "momentum") return updates::momentum(g, params, a.lr, kMomentum, kWeightDecay);
  if (o == "nesterov")
    return updates::nesterov_momentum(g, params, a.lr, kMomentum, kWeightDecay);
  if (o == "adagrad") return updates::adagrad(g, params, a.lr, 1e-6, kWeightDecay);
  if (o == "rmsprop") return updates::rmsprop(g, params, a.lr, 0.9, 1e-6, kWeightDecay);
  return updates::adam(g, params, a.lr, 0.9, 0.999, 1e-8, kWeightDecay);
}

// The compiled training step and prediction of a Network, its optimizer state,
// and saving/loading all of it.
class Trainer {
 public:
  Trainer(Network net, const Args& a) : net_(std::move(net)), optimizer_(a.optimizer) {
    // The mean crossentropy of the softmax of the logits, as one stabilized op.
    const Var cost = mean(crossentropy_softmax(net_.z, net_.y));
    const Updates ups = optimizer_updates(a, cost, net_.params);
    // The rule's own state (velocities, moments, step count): every updated
    // shared variable that is not a parameter, saved to resume exactly.
    for (const auto& [var, _] : ups)
      if (std::none_of(net_.params.begin(), net_.params.end(),
                       [&](const Var& p) { return p.same(var); }))
        state_.push_back(var);
    FunctionOptions train_opts, predict_opts;
    train_opts.name = "train";
    predict_opts.name = "predict";
    train_opts.mode = predict_opts.mode =
        a.backend == "reference" ? "REFERENCE" : "FAST_RUN";
    train_ = function({net_.x, net_.y}, {cost}, ups, train_opts);
    predict_ = function({net_.x}, {argmax(net_.z, 1)}, {}, predict_opts);
  }

  double train_step(const NDArray& x, const NDArray& y) const {
    return train_({x, y})[0].item_double();
  }

  double error_rate(const Split& s) const {
    const int64_t n = s.x.shape(0);
    int64_t wrong = 0;
    for (int64_t i = 0; i < n; i += kEvalBatch) {
      const int64_t end = std::min(n, i + kEvalBatch);
      const NDArray pred = predict_({s.x.slice(0, i, end, 1)})[0];
      for (int64_t k = i; k < end; ++k) wrong += pred.item_int(k - i) != s.y.item_int(k);
    }
    return n ? static_cast<double>(wrong) / n : 0.0;
  }

  void save(const std::string& path, const History& h) const {
    // to_host: a variable on the device lends its device array (borrow).
    std::vector<NamedArray> arrays;
    for (const Var& p : net_.params)
      arrays.push_back({p->name, to_host(get_value(p, true))});
    for (size_t k = 0; k < state_.size(); ++k)
      arrays.push_back({state_name(k), to_host(get_value(state_[k], true))});
    arrays.push_back({"history.train_loss", as_array(h.train_loss)});
    arrays.push_back({"history.valid_error", as_array(h.valid_error)});
    save_npz(path, arrays);
  }

  // Sets the parameters (and the optimizer state when the file has it for this
  // optimizer) from `path`; returns the saved history and sets `note` on the
  // optimizer state.
  History load(const std::string& path, std::string* note) const {
    const NpzFile f = load_npz(path);
    for (const Var& p : net_.params) {
      const Shape want = get_value(p, true).shape();
      if (!f.contains(p->name)) {
        std::string held;
        for (const std::string& n : f.names())
          held += (held.empty() ? "'" : ", '") + n + "'";
        throw UsageError(
            path + " has no array '" + p->name + "' that this model needs (it holds " +
            (held.empty() ? "no arrays" : held) + "): was it saved by another model?");
      }
      const NDArray& a = f.at(p->name);
      if (a.shape() != want)
        throw UsageError(path + ": array '" + p->name + "' has shape " +
                         shape_str(a.shape()) + ", but the model needs " +
                         shape_str(want));
      if (!is_float(a.dtype()))
        throw UsageError(path + ": array '" + p->name + "' has dtype " +
                         dtype_name(a.dtype()) +
                         "; the model needs floating point values");
      set_value(p, a.astype(DType::Float32), true);
    }
    bool match = true;
    size_t saved = 0;
    for (const std::string& n : f.names()) saved += n.rfind(state_prefix(), 0) == 0;
    match = saved == state_.size();
    for (size_t k = 0; match && k < state_.size(); ++k)
      match = f.contains(state_name(k)) &&
              f.at(state_name(k)).shape() == get_value(state_[k], true).shape();
    if (match) {
      for (size_t k = 0; k < state_.size(); ++k)
        set_value(state_[k], f.at(state_name(k)).astype(state_[k].dtype()), true);
      *note = state_.empty() ? "" : optimizer_ + " state restored";
    } else {
      *note = "no " + optimizer_ + " state in the file: it starts from zero";
    }
    History h;
    if (f.contains("history.train_loss") && f.contains("history.valid_error")) {
      h.train_loss = as_vector(f.at("history.train_loss"));
      h.valid_error = as_vector(f.at("history.valid_error"));
    }
    return h;
  }

 private:
  std::string state_prefix() const { return "optimizer." + optimizer_ + "."; }
  std::string state_name(size_t k) const { return state_prefix() + std::to_string(k); }
  static NDArray as_array(const std::vector<double>& v) {
    return NDArray::from_vector(v, {static_cast<int64_t>(v.size())});
  }
  static std::vector<double> as_vector(const NDArray& a) {
    std::vector<double> v;
    for (int64_t i = 0; i < a.size(); ++i) v.push_back(a.item_double(i));
    return v;
  }

  Network net_;
  std::string optimizer_;
  std::vector<Var> state_;
  Function train_{nullptr}, predict_{nullptr};
};

// ---- the whole run ---------------------------------------------------------------

// The last component of a folder's path ("fashion-mnist" for ".../fashion-mnist/").
inline std::string folder_name(const std::string& dir) {
  std::filesystem::path p = std::filesystem::path(dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p.filename().string();
}

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Checks the outputs, loads the data, builds and compiles the model, resumes from
// --load, trains --epochs epochs (saving after each) and reports the test
// accuracy.
inline void run(const Args& a, const Shape& input_shape,
                const std::function<Network(std::mt19937_64&)>& build,
                const std::string& describe) {
  check_outputs(a);
  const std::string device = use_device(a.device);
  const Data data = load_data(a, input_shape);
  const int64_t n_train = data.train.x.shape(0);
  const int64_t n_batches = n_train / a.batch_size;
  if (a.epochs > 0 && n_batches == 0)
    throw UsageError("--batch-size " + std::to_string(a.batch_size) +
                     " is larger than the " + std::to_string(n_train) +
                     " training images");
  std::printf("data: %s: %lld train, %lld valid, %lld test images\n", a.data.c_str(),
              static_cast<long long>(n_train),
              static_cast<long long>(data.valid.x.shape(0)),
              static_cast<long long>(data.test.x.shape(0)));
  std::printf("model: %s; %s (lr %g, weight decay %g), batch %lld, backend %s\n",
              describe.c_str(), a.optimizer.c_str(), a.lr, kWeightDecay,
              static_cast<long long>(a.batch_size), a.backend.c_str());
  std::printf("device: %s\n", device.c_str());

  auto start = std::chrono::steady_clock::now();
  std::mt19937_64 init_rng(a.seed);
  const Trainer trainer(build(init_rng), a);
  std::printf("compiled in %.2f s\n", seconds_since(start));
  History h;
  if (a.load) {
    std::string note;
    h = trainer.load(*a.load, &note);
    std::printf("loaded %s (after %d epochs%s)\n", a.load->c_str(), h.epochs(),
                note.empty() || a.epochs == 0 ? "" : ("; " + note).c_str());
  }
  std::fflush(stdout);

  const int first = h.epochs() + 1, last = h.epochs() + a.epochs;
  std::vector<int64_t> order(n_train);
  for (int epoch = first; epoch <= last; ++epoch) {
    start = std::chrono::steady_clock::now();
    // A new order of all the training examples each epoch, reproducible from the
    // seed and the epoch number (also when resuming).
    std::seed_seq seq{a.seed, static_cast<uint64_t>(epoch)};
    std::mt19937_64 rng(seq);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    ProgressBar bar(epoch, last, n_batches);
    double total = 0;
    for (int64_t b = 0; b < n_batches; ++b) {
      const int64_t begin = b * a.batch_size, end = begin + a.batch_size;
      total += trainer.train_step(gather_rows(data.train.x, order, begin, end),
                                  gather_rows(data.train.y, order, begin, end));
      bar.update(b + 1);
    }
    bar.finish();
    h.train_loss.push_back(total / n_batches);
    h.valid_error.push_back(trainer.error_rate(data.valid));
    std::printf("epoch %d/%d: train loss %.4f, validation error %.2f%%, %.2f s/epoch\n",
                epoch, last, h.train_loss.back(), 100 * h.valid_error.back(),
                seconds_since(start));
    std::fflush(stdout);
    trainer.save(a.save, h);
    LineChart chart;
    chart.title = a.prog + ": " + folder_name(a.data);
    chart.y_label = "loss / error rate";
    chart.series = {{"train loss", h.train_loss}, {"validation error", h.valid_error}};
    write_line_chart_png(a.plot, chart);
  }
  if (a.epochs > 0)
    std::printf("saved parameters to %s, learning curve to %s\n", a.save.c_str(),
                a.plot.c_str());
  else
    std::printf("validation error %.2f%%\n", 100 * trainer.error_rate(data.valid));
  std::printf("test accuracy: %.2f%%\n", 100 * (1 - trainer.error_rate(data.test)));
}

// main() of an example: parses the flags, runs, and reports errors (exit 1).
inline int main(const std::string& prog, const std::string& description, int argc,
                char** argv, const Shape& input_shape,
                const std::function<Network(std::mt19937_64&)>& build,
                const std::string& describe) {
  const Args a = parse_args(prog, description, argc, argv);
  try {
    run(a, input_shape, build, describe);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s: error: %s\n", prog.c_str(), e.what());
    return 1;
  } catch (const DeviceUnavailable& e) {
    std::fprintf(stderr, "%s: error: %s\n", prog.c_str(), e.what());
    return 2;
  } catch (const Error& e) {  // a missing, truncated or corrupt file; a bad value
    std::fprintf(stderr, "%s: error: %s\n", prog.c_str(), e.what());
    return 1;
  }
  return 0;
}

}  // namespace examples
