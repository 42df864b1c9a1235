#pragma once
// function(): compiles a graph into a callable. Today every node runs on the
// reference path; the compiled backends plug in behind the same interface.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "codegen/llvm_backend.h"
#include "graph/variable.h"
#include "runtime/ndarray.h"
#include "runtime/program.h"

namespace theanine {

// A function input: the variable, a name for keyword calls, and an optional
// default value used when the caller leaves the argument out.
struct In {
  Var variable;
  std::string name;
  std::optional<NDArray> value;
  In(Var v) : variable(std::move(v)) {}  // NOLINT: implicit so {x, y} works
  In(Var v, std::string n, std::optional<NDArray> default_value = std::nullopt)
      : variable(std::move(v)), name(std::move(n)), value(std::move(default_value)) {}
};

// A function output; with `borrow` the caller may receive memory the function
// reuses on the next call (no defensive copy).
struct Out {
  Var variable;
  bool borrow = false;
  Out(Var v, bool b = false) : variable(std::move(v)), borrow(b) {}  // NOLINT
};

using Updates = std::vector<std::pair<Var, Var>>;
using Givens = std::vector<std::pair<Var, Var>>;

enum class UnusedInput { Raise, Warn, Ignore };

struct FunctionOptions {
  Givens givens;
  // nullopt: Theano's default (only Python floats may be downcast to the
  // input's float dtype); true: any conversion; false: exact or safe only.
  std::optional<bool> allow_input_downcast;
  UnusedInput on_unused_input = UnusedInput::Raise;
  std::string name;
  // "FAST_RUN" (or ""): every rewrite, and elementwise work and reductions
  // compiled to machine code by the LLVM backend when the build has it;
  // "REFERENCE": the same rewrites, every node on the reference interpreter;
  // "FAST_COMPILE": merge and constant
  // folding only; "NO_OPTIMIZATION": the graph as written. ValueError otherwise.
  std::string mode;
  // Whether outputs may overwrite inputs nothing reads later (passes/inplace.h).
  // Unset: in FAST_RUN (and REFERENCE) only. Set, it overrides the mode, so a
  // test can run the graph as written with inplace, or FAST_RUN without.
  std::optional<bool> inplace;
  // Leave out the default updates of shared variables the graph reads
  // (Theano's no_default_updates=True).
  bool no_default_updates = false;
  // Where the function runs: "cpu", "cuda", or "" for the CUDA device when
  // default_device() is CUDA (Theano's device flag) or a shared variable the
  // graph reads lives there, else the CPU. A CUDA function copies NumPy/host
  // arguments to the device, keeps intermediates there, and gives outputs
  // back on the host unless `outputs_on_device`. Error when CUDA is asked for
  // and not available.
  std::string device;
  bool outputs_on_device = false;
  // A CUDA function called again with the same shapes replays its step as a
  // CUDA graph (codegen/cuda_graph_step.h): one launch instead of one per
  // kernel. Unset: on, unless THEANINE_CUDA_GRAPHS=0.
  std::optional<bool> cuda_graphs;
};

// How a CUDA function's step ran (Function::cuda_graph_info).
struct CudaGraphInfo {
  bool enabled = false;
  int64_t replays = 0;  // calls that ran as one graph launch
  std::string reason;   // why the step runs without a graph ("" when it may use one)
  size_t graph_bytes = 0;
};

// One call argument; `weak` marks a value that came from a Python number,
// which converts to the input's dtype when it fits (as Theano allows).
struct Arg {
  NDArray value;
  bool weak = false;
  Arg(NDArray v, bool w = false) : value(std::move(v)), weak(w) {}  // NOLINT
};

class Function {
 public:
  // Positional call; arguments left out take their In defaults.
  std::vector<NDArray> operator()(const std::vector<Arg>& args) const;
  std::vector<NDArray> call(const std::vector<std::optional<Arg>>& args) const;

  const std::vector<In>& inputs() const;
  size_t num_outputs() const;
  const std::string& name() const;
  // The graph that runs (after givens and rewrites), Theano-debugprint style.
  std::string debugprint() const;
  // How often each rewrite rule fired while compiling.
  const std::map<std::string, int>& rewrite_stats() const;
  // Per-instruction wall time since profiling was switched on: (label, calls,
  // seconds), in program order. Profiling costs two clock reads per node.
  void set_profile(bool on);
  std::vector<std::tuple<std::string, int64_t, double>> profile() const;
  // What compiling the function's kernels took (all zero on the reference path).
  const KernelCompileStats& kernel_stats() const;
  // Where the function runs (FunctionOptions::device, resolved).
  DeviceKind device() const;
  CudaGraphInfo cuda_graph_info() const;

  struct Impl;
  explicit Function(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

 private:
  std::shared_ptr<Impl> impl_;
};

Function function(std::vector<In> inputs, std::vector<Out> outputs, Updates updates = {},
                  FunctionOptions options = {});

}  // namespace theanine
