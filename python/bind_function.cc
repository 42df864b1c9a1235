#include <pybind11/stl.h>

#include "codegen/function.h"
#include "python/bindings.h"
#include "python/convert.h"
#include "runtime/allocator.h"
#include "runtime/cuda_array.h"
#include "runtime/error.h"
#include "runtime/thread_pool.h"

namespace theanine::py {

namespace {

UnusedInput unused_policy(const std::string& s) {
  if (s == "raise") return UnusedInput::Raise;
  if (s == "warn") return UnusedInput::Warn;
  if (s == "ignore") return UnusedInput::Ignore;
  throw ValueError("on_unused_input must be 'raise', 'warn' or 'ignore', got '" + s +
                   "'");
}

// A call argument: Python numbers and lists are weak (they convert to the
// input's dtype when the values fit, as Theano's filter allows), arrays are
// viewed without a copy.
// `what` names the argument in error messages; it is only built when one is
// raised, since a call's arguments are almost always fine.
Arg arg_from_object(const Function& f, const pyb::handle& obj, size_t i) {
  bool weak = pyb::isinstance<pyb::int_>(obj) || pyb::isinstance<pyb::float_>(obj) ||
              pyb::isinstance<pyb::list>(obj) || pyb::isinstance<pyb::tuple>(obj);
  try {
    return Arg(ndarray_from_object(obj, "argument"), weak);
  } catch (const Error&) {
    std::string what = "argument " + std::to_string(i);
    if (!f.name().empty()) what = "function '" + f.name() + "' " + what;
    return Arg(ndarray_from_object(obj, what), weak);
  }
}

std::string function_what(const Function& f) {
  return f.name().empty() ? "function" : "function '" + f.name() + "'";
}

pyb::list call_converted(const Function& f, const std::vector<std::optional<Arg>>& args) {
  std::vector<NDArray> results;
  {
    pyb::gil_scoped_release release;
    results = f.call(args);
  }
  pyb::list out;
  for (const NDArray& r : results) out.append(object_from_ndarray(r));
  return out;
}

}  // namespace

void bind_function(pyb::module_& m) {
  pyb::class_<Function>(m, "Function")
      .def(
          "call",
          [](const Function& f, const pyb::list& args) {
            std::vector<std::optional<Arg>> converted;
            for (size_t i = 0; i < args.size(); ++i) {
              if (args[i].is_none())
                converted.push_back(std::nullopt);
              else
                converted.push_back(arg_from_object(f, args[i], i));
            }
            return call_converted(f, converted);
          },
          "Calls the function with a list of arguments (None = use the default).")
      .def(
          "call_positional",
          [](const Function& f, const pyb::tuple& args, bool single) -> pyb::object {
            // The common call, f(x, y): positional arguments, none of them None.
            const size_t n = f.inputs().size();
            if (args.size() > n)
              throw TypeError(function_what(f) + " takes " + std::to_string(n) +
                              " argument" + (n != 1 ? "s" : "") + ", got " +
                              std::to_string(args.size()));
            std::vector<std::optional<Arg>> converted;
            converted.reserve(n);
            for (size_t i = 0; i < args.size(); ++i) {
              if (args[i].is_none())
                throw TypeError(function_what(f) + ": argument " + std::to_string(i) +
                                " is None");
              converted.push_back(arg_from_object(f, args[i], i));
            }
            converted.resize(n);
            pyb::list out = call_converted(f, converted);
            if (single) return out[0];
            return std::move(out);
          },
          pyb::arg("args"), pyb::arg("single"))
      .def_property_readonly("name", &Function::name)
      .def_property_readonly("num_outputs", &Function::num_outputs)
      .def_property_readonly(
          "input_names",
          [](const Function& f) {
            std::vector<std::string> names;
            for (const In& in : f.inputs())
              names.push_back(!in.name.empty() ? in.name : in.variable->name);
            return names;
          })
      .def("debugprint", &Function::debugprint)
      .def_property_readonly("rewrite_stats", &Function::rewrite_stats)
      .def("set_profile", &Function::set_profile, pyb::arg("on"))
      .def("profile", &Function::profile)
      .def_property_readonly("device",
                             [](const Function& f) { return device_name(f.device()); })
      .def_property_readonly("cuda_graph_info",
                             [](const Function& f) {
                               CudaGraphInfo g = f.cuda_graph_info();
                               pyb::dict d;
                               d["enabled"] = g.enabled;
                               d["replays"] = g.replays;
                               d["reason"] = g.reason;
                               d["graph_bytes"] = g.graph_bytes;
                               return d;
                             })
      .def_property_readonly("kernel_stats", [](const Function& f) {
        const KernelCompileStats& s = f.kernel_stats();
        pyb::dict d;
        d["kernels"] = s.kernels;
        d["compiled"] = s.compiled;
        d["disk_hit"] = s.disk_hit;
        d["milliseconds"] = s.milliseconds;
        return d;
      });
  m.def("llvm_backend_available", &llvm_backend_available,
        "whether this build compiles kernels with LLVM");
  m.def("set_num_threads", &set_num_threads, pyb::arg("n"),
        "threads for compiled kernels and OpenBLAS");
  m.def("num_threads", &num_threads);

  m.def(
      "allocator_stats",
      []() {
        AllocatorStats s = allocator_stats();
        pyb::dict d;
        d["bytes_in_use"] = s.bytes_in_use;
        d["peak_bytes_in_use"] = s.peak_bytes_in_use;
        d["bytes_cached"] = s.bytes_cached;
        d["cache_limit"] = s.cache_limit;
        d["allocations"] = s.allocations;
        d["hits"] = s.hits;
        d["fresh"] = s.fresh;
        return d;
      },
      "The caching allocator's counters (bytes in use, cached, hits, fresh "
      "allocations).");
  m.def(
      "function",
      [](const std::vector<std::tuple<Var, std::string, pyb::object>>& inputs,
         const std::vector<std::pair<Var, bool>>& outputs,
         const std::vector<std::pair<Var, Var>>& updates,
         const std::vector<std::pair<Var, Var>>& givens,
         const pyb::object& allow_input_downcast, const std::string& on_unused_input,
         const std::string& name, const std::string& mode, bool no_default_updates,
         const std::string& device, bool outputs_on_device,
         const pyb::object& cuda_graphs) {
        std::vector<In> ins;
        for (auto& [v, n, value] : inputs) {
          std::optional<NDArray> def;
          if (!value.is_none())
            def = ndarray_from_object(value, "default value of input '" + n + "'").copy();
          ins.emplace_back(v, n, def);
        }
        std::vector<Out> outs;
        for (auto& [v, borrow] : outputs) outs.emplace_back(v, borrow);
        FunctionOptions opts;
        opts.givens = givens;
        if (!allow_input_downcast.is_none())
          opts.allow_input_downcast = allow_input_downcast.cast<bool>();
        opts.on_unused_input = unused_policy(on_unused_input);
        opts.name = name;
        opts.mode = mode;
        opts.no_default_updates = no_default_updates;
        opts.device = device;
        opts.outputs_on_device = outputs_on_device;
        if (!cuda_graphs.is_none()) opts.cuda_graphs = cuda_graphs.cast<bool>();
        return function(ins, outs, updates, opts);
      },
      pyb::arg("inputs"), pyb::arg("outputs"), pyb::arg("updates"), pyb::arg("givens"),
      pyb::arg("allow_input_downcast"), pyb::arg("on_unused_input"), pyb::arg("name"),
      pyb::arg("mode"), pyb::arg("no_default_updates") = false, pyb::arg("device") = "",
      pyb::arg("outputs_on_device") = false, pyb::arg("cuda_graphs") = pyb::none());
}

}  // namespace theanine::py
