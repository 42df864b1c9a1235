#include "codegen/function.h"

#include <cstdlib>
#include <iostream>
#include <unordered_map>
#include <unordered_set>

#include "codegen/cuda_graph_step.h"
#include "codegen/cuda_program.h"
#include "codegen/kernel_lowering.h"
#include "codegen/llvm_backend.h"
#include "graph/fgraph.h"
#include "graph/op.h"
#include "passes/inplace.h"
#include "passes/pipeline.h"
#include "runtime/allocator.h"
#include "runtime/cuda_array.h"
#include "runtime/cuda_driver.h"
#include "runtime/cuda_memory.h"
#include "runtime/error.h"

namespace theanine {

struct Function::Impl {
  std::string name;
  std::vector<In> inputs;
  std::vector<Out> outputs;
  std::vector<Var> graph_outputs;   // outputs then update values, after givens
  std::vector<Var> update_targets;  // shared variables updated, in order
  std::optional<bool> allow_input_downcast;
  DeviceKind device = DeviceKind::CPU;
  bool outputs_on_device = false;
  Program program;
  // Slot layout: inputs first, then shared variables, constants, node outputs.
  std::vector<std::pair<int, std::shared_ptr<SharedStorage>>> shared_slots;
  std::vector<std::pair<int, NDArray>> constant_slots;
  std::vector<int> output_slots;  // graph_outputs' slots
  std::vector<int> update_slots;
  RewriteStats stats;
  KernelCompileStats kernel_stats;
  std::unique_ptr<CudaGraphStep> graph_step;  // CUDA functions with graphs on
  // Inplace marks for debugprint: the id printed for a node -> its mark.
  std::unordered_map<uint64_t, std::string> inplace_marks;

  std::string input_desc(size_t i) const {
    std::string d = "input " + std::to_string(i);
    const In& in = inputs[i];
    std::string n = !in.name.empty() ? in.name : in.variable->name;
    if (!n.empty()) d += " ('" + n + "')";
    if (!name.empty()) d = "function '" + name + "' " + d;
    return d;
  }
  NDArray check_arg(size_t i, const Arg& arg) const;
};

namespace {

// An output that may be written over the buffer in an input slot, and how many
// references to that buffer are expected when nobody else can see it.
struct Overwrite {
  int output;
  int slot;
};

bool fits_exactly(const NDArray& v, DType to) {
  NDArray back = v.astype(to).astype(v.dtype());
  for (int64_t i = 0; i < v.size(); ++i) {
    double a = v.item_double(i), b = back.item_double(i);
    if (!(a == b || (a != a && b != b))) return false;
  }
  return true;
}

std::string fn_prefix(const std::string& name) {
  return name.empty() ? "function: " : "function '" + name + "': ";
}

// The compiled backend runs FAST_RUN functions when the build has it, unless
// THEANINE_BACKEND=reference asks for the interpreter everywhere.
bool use_cuda_graphs(const std::optional<bool>& option) {
  if (option) return *option;
  const char* env = std::getenv("THEANINE_CUDA_GRAPHS");
  return !(env && std::string(env) == "0");
}

bool use_compiled_backend(const std::string& mode) {
  if (!llvm_backend_available()) return false;
  if (!(mode.empty() || mode == "FAST_RUN")) return false;
  const char* env = std::getenv("THEANINE_BACKEND");
  return !(env && std::string(env) == "reference");
}

// Appends the default update of every shared variable the outputs or updates
// read that has one and no explicit update; repeated because a default update
// may read further shared variables.
void add_default_updates(const std::vector<Var>& outputs, Updates& updates) {
  std::unordered_set<const Variable*> done;
  for (auto& [target, value] : updates) done.insert(target.get());
  for (size_t scanned = 0;;) {
    std::vector<Var> roots = outputs;
    for (auto& [target, value] : updates)
      if (value) roots.push_back(value);
    size_t before = updates.size();
    for (const Var& v : free_variables(roots)) {
      if (!v->is_shared() || done.count(v.get())) continue;
      std::shared_ptr<Variable> du = v->default_update.lock();
      if (!du) continue;
      done.insert(v.get());
      updates.push_back({v, Var(du)});
    }
    if (updates.size() == before || ++scanned > 64) break;
  }
}

}  // namespace

NDArray Function::Impl::check_arg(size_t i, const Arg& arg) const {
  const TensorType& t = inputs[i].variable->type;
  NDArray v = arg.value;
  if (!v.defined()) throw ValueError(input_desc(i) + ": no value given");
  if (v.ndim() != t.ndim())
    throw TypeError(input_desc(i) + ": expected a value of ndim " +
                    std::to_string(t.ndim()) + " (type " + t.str() +
                    "), got an array of shape " + shape_str(v.shape()));
  if (v.dtype() != t.dtype) {
    bool ok = can_cast_safely(v.dtype(), t.dtype);
    if (!ok && allow_input_downcast.value_or(false)) ok = true;
    if (!ok && arg.weak && !allow_input_downcast.has_value())
      ok = (is_float(t.dtype) && is_float(v.dtype())) || fits_exactly(v, t.dtype);
    if (!ok)
      throw TypeError(input_desc(i) + ": expected dtype " + dtype_name(t.dtype) +
                      ", got " + dtype_name(v.dtype()) +
                      " which could lose precision; cast the value, or pass "
                      "allow_input_downcast=True");
    v = v.astype(t.dtype);
  }
  for (int d = 0; d < t.ndim(); ++d)
    if (t.shape[d] >= 0 && t.shape[d] != v.shape(d))
      throw ShapeError(input_desc(i) + ": expected shape " + shape_str(t.shape) +
                       ", got " + shape_str(v.shape()) + " (dim " + std::to_string(d) +
                       ")");
  return v;
}

Function function(std::vector<In> inputs, std::vector<Out> outputs, Updates updates,
                  FunctionOptions opts) {
  auto impl = std::make_shared<Function::Impl>();
  impl->name = opts.name;
  impl->allow_input_downcast = opts.allow_input_downcast;
  const std::string pre = fn_prefix(opts.name);

  // Inputs: symbolic, distinct.
  std::unordered_set<const Variable*> input_set;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Var& v = inputs[i].variable;
    if (!v) throw ValueError(pre + "input " + std::to_string(i) + " is null");
    if (v->is_shared())
      throw TypeError(pre + "input " + std::to_string(i) + " " + v->describe() +
                      " is a shared variable; shared variables are implicit inputs and "
                      "cannot be listed in `inputs` (use givens to replace one)");
    if (v->is_constant())
      throw TypeError(pre + "input " + std::to_string(i) + " " + v->describe() +
                      " is a constant and cannot be a function input");
    if (v->owner)
      throw TypeError(pre + "input " + std::to_string(i) + " " + v->describe() +
                      " is computed from other variables; inputs must be symbolic inputs "
                      "(use givens to substitute an expression)");
    if (!input_set.insert(v.get()).second)
      throw ValueError(pre + "input " + v->describe() + " is listed twice");
    if (inputs[i].value) {
      std::string why = v->type.mismatch(*inputs[i].value);
      if (!why.empty() && inputs[i].value->dtype() != v->type.dtype)
        inputs[i].value = inputs[i].value->astype(v->type.dtype);
      else if (!why.empty())
        throw TypeError(pre + "default value of input " + v->describe() + " has " + why);
    }
  }
  impl->inputs = inputs;
  impl->outputs = outputs;

  if (!opts.no_default_updates) {
    std::vector<Var> roots;
    for (const Out& o : outputs)
      if (o.variable) roots.push_back(o.variable);
    for (auto& [target, value] : updates)
      if (value) roots.push_back(value);
    add_default_updates(roots, updates);
  }
  // Updates: shared targets, each once, value of the same type.
  std::unordered_set<const Variable*> updated;
  for (auto& [target, value] : updates) {
    if (!target || !value) throw ValueError(pre + "an update has a null variable");
    if (!target->is_shared())
      throw TypeError(pre + "update target " + target->describe() +
                      " is not a shared variable; only shared variables can be updated");
    if (!updated.insert(target.get()).second)
      throw ValueError(pre + "shared variable " + target->describe() +
                       " has more than one update");
    if (value->type.dtype != target->type.dtype ||
        value->type.ndim() != target->type.ndim() ||
        !value->type.compatible(target->type))
      throw TypeError(
          pre + "the update of " + target->describe() + " has type " + value->type.str() +
          (value->loc.known() ? " (created at " + value->loc.str() + ")" : "") +
          ", which differs from the shared variable's type " + target->type.str() +
          (value->type.dtype != target->type.dtype
               ? "; cast the update expression to " +
                     std::string(dtype_name(target->type.dtype))
               : ""));
  }

  // Givens: substitute, keeping types compatible.
  Replacements repl;
  for (auto& [from, to] : opts.givens) {
    if (!from || !to) throw ValueError(pre + "givens has a null variable");
    if (from->is_constant())
      throw TypeError(pre + "givens key " + from->describe() + " is a constant");
    if (to->type.dtype != from->type.dtype || to->type.ndim() != from->type.ndim() ||
        !to->type.compatible(from->type))
      throw TypeError(pre + "givens replaces " + from->describe() + " with " +
                      to->describe() + " of a different type");
    repl[from.get()] = to;
  }
  std::vector<Var> all_outputs;
  for (const Out& o : outputs) {
    if (!o.variable) throw ValueError(pre + "an output is null");
    all_outputs.push_back(o.variable);
  }
  for (auto& [target, value] : updates) {
    all_outputs.push_back(value);
    impl->update_targets.push_back(target);
  }
  impl->graph_outputs = clone_replace(all_outputs, repl);
  // Every free variable must be provided. Checked on the graph as written, so a
  // rewrite that drops a dependency does not make a valid input "unused".
  std::vector<Var> free = free_variables(impl->graph_outputs);
  std::unordered_set<const Variable*> used;
  for (const Var& v : free) {
    used.insert(v.get());
    if (v->is_input() && !input_set.count(v.get()))
      throw MissingInputError(
          pre + "the outputs need " + v->describe() +
          ", but it is not among the inputs and no givens provides it");
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (used.count(inputs[i].variable.get())) continue;
    std::string msg =
        pre + "input " + std::to_string(i) + " " + inputs[i].variable->describe() +
        " is not used to compute the outputs; pass on_unused_input='warn' or "
        "'ignore' to allow it";
    if (opts.on_unused_input == UnusedInput::Raise) throw UnusedInputError(msg);
    if (opts.on_unused_input == UnusedInput::Warn)
      std::cerr << "warning: " << msg << "\n";
  }

  bool plan_overwrites = false;
  if (opts.mode == "FAST_COMPILE" || opts.mode.empty() || opts.mode == "FAST_RUN" ||
      opts.mode == "REFERENCE") {
    OptimizeOptions o;
    o.fast_compile = opts.mode == "FAST_COMPILE";
    o.stats = &impl->stats;
    impl->graph_outputs = optimize(impl->graph_outputs, o);
    plan_overwrites = !o.fast_compile;
  } else if (opts.mode != "NO_OPTIMIZATION") {
    throw ValueError(pre + "unknown mode '" + opts.mode +
                     "' (expected FAST_RUN, FAST_COMPILE, REFERENCE or NO_OPTIMIZATION)");
  }

  free = free_variables(impl->graph_outputs);

  // Where it runs.
  if (!opts.device.empty()) {
    impl->device = parse_device(opts.device);
  } else {
    impl->device = default_device();
    for (const Var& v : free)
      if (v->is_shared() && on_device(v->shared->value)) impl->device = DeviceKind::CUDA;
  }
  const bool on_cuda = impl->device == DeviceKind::CUDA;
  if (on_cuda && !cuda_available())
    throw Error(pre + "compiling for device 'cuda', but CUDA is not available: " +
                cuda_unavailable_reason());
  impl->outputs_on_device = opts.outputs_on_device;

  // Slots and instructions.
  std::unordered_map<const Variable*, int> slot;
  int next = 0;
  for (const In& in : inputs) slot[in.variable.get()] = next++;
  for (const Var& v : free) {
    if (slot.count(v.get())) continue;
    if (v->is_shared()) {
      impl->shared_slots.push_back({next, v->shared});
      slot[v.get()] = next++;
    } else if (v->is_constant()) {
      impl->constant_slots.push_back({next, v->constant_value});
      slot[v.get()] = next++;
    }
  }
  // The schedule, and which outputs may overwrite an input (passes/inplace.h).
  if (opts.inplace) plan_overwrites = *opts.inplace;
  InplacePlan plan;
  if (plan_overwrites) {
    plan = plan_inplace(impl->graph_outputs, &impl->stats);
  } else {
    plan.order = toposort(impl->graph_outputs);
  }
  const std::vector<Apply*>& order = plan.order;
  for (Apply* node : order)
    for (int i = 0; i < node->num_outputs(); ++i) slot[node->output_ptr(i)] = next++;
  impl->program.num_slots = next;

  // Last use of each node output, to release intermediates early.
  std::unordered_set<int> keep;
  for (const Var& o : impl->graph_outputs) keep.insert(slot.at(o.get()));
  std::unordered_map<int, size_t> last_use;
  for (size_t k = 0; k < order.size(); ++k)
    for (const Var& in : order[k]->inputs) last_use[slot.at(in.get())] = k;
  int first_node_slot = next;
  for (Apply* node : order)
    first_node_slot = std::min(first_node_slot, slot[node->output_ptr(0)]);

  // Nodes that become compiled kernels, compiled together in one module.
  const bool compiled = on_cuda || use_compiled_backend(opts.mode);
  std::vector<std::optional<std::vector<KernelStep>>> kernels(order.size());
  std::vector<std::vector<KernelSpec>> predicted(order.size());
  KernelSource source;
  if (compiled) {
    std::vector<KernelSpec> batch;
    for (size_t k = 0; k < order.size(); ++k) {
      kernels[k] = lower_to_kernels(*order[k]);
      if (!kernels[k]) continue;
      std::vector<int> same_as;
      for (int i = 0; i < order[k]->num_outputs(); ++i)
        same_as.push_back(plan.reused_input(order[k], i));
      predicted[k] = predicted_specs(*kernels[k], *order[k], same_as);
      batch.insert(batch.end(), predicted[k].begin(), predicted[k].end());
    }
    if (on_cuda)
      prepare_cuda_kernels(batch, &impl->kernel_stats);
    else
      source = llvm_kernel_source(batch, &impl->kernel_stats);
  }

  for (size_t k = 0; k < order.size(); ++k) {
    Apply* node = order[k];
    std::vector<int> in_slots, out_slots;
    for (const Var& in : node->inputs) in_slots.push_back(slot.at(in.get()));
    for (int i = 0; i < node->num_outputs(); ++i)
      out_slots.push_back(slot.at(node->output_ptr(i)));
    std::shared_ptr<Apply> keep_node = node->shared_from_this();
    Instruction ins;
    ins.label = node->op->name() +
                (node->loc.known() ? " (created at " + node->loc.str() + ")" : "");
    // Output i may take the buffer in slot reuse[i] when, at run time, the slot
    // alone holds it. A higher count means memory someone else can see (an op
    // that returned its input as a view): the output is then allocated.
    std::vector<Overwrite> reuse;
    std::string mark;
    for (int i = 0; i < node->num_outputs(); ++i) {
      int k = plan.reused_input(node, i);
      if (k < 0) continue;
      int s = in_slots[k];
      reuse.push_back({i, s});
      if (!mark.empty()) mark += ", ";
      mark += node->num_outputs() > 1 ? std::to_string(i) + "<-" + std::to_string(k)
                                      : std::to_string(k);
    }
    if (!mark.empty())
      impl->inplace_marks[node->output_ptr(0)->id] = "(inplace " + mark + ")";
    // A kernel node calls the kernel compiled for its predicted layout, and
    // asks the source for another layout only when the arrays call for one.
    std::shared_ptr<const std::vector<KernelStep>> kernel;
    KernelSource kernel_source;
    CudaNodeRunner cuda_runner;
    if (on_cuda) {
      cuda_runner = cuda_node_runner(keep_node, kernels[k]);
    } else if (kernels[k]) {
      kernel = std::make_shared<const std::vector<KernelStep>>(*kernels[k]);
      std::vector<std::pair<KernelLayout, KernelFn>> expected;
      for (const KernelSpec& spec : predicted[k])
        expected.push_back({spec.layout, source(spec.ir, spec.layout, 0)});
      kernel_source = [expected, source](const KernelIR& ir, const KernelLayout& layout,
                                         size_t step) {
        if (step < expected.size() && expected[step].first == layout)
          return expected[step].second;
        return source(ir, layout, step);
      };
    }
    // Device work is queued: a profiled CUDA function waits for each node so
    // that its time is the node's own.
    const Program* program = &impl->program;
    ins.run = [keep_node, in_slots, out_slots, reuse, kernel, kernel_source, cuda_runner,
               program](std::vector<NDArray>& slots) {
      std::vector<NDArray> offered;
      if (!reuse.empty()) {
        offered.resize(out_slots.size());
        for (const Overwrite& w : reuse) {
          const NDArray& a = slots[w.slot];
          if (a.defined() && a.buffer().use_count() == 1 &&
              (allocator_owns(a.buffer()->keepalive) ||
               (on_device(a) && cuda_allocator_owns(a.buffer()->keepalive))))
            offered[w.output] = a;
        }
      }
      std::vector<NDArray> args;
      args.reserve(in_slots.size());
      for (int s : in_slots) args.push_back(slots[s]);
      std::vector<NDArray> results;
      std::optional<std::vector<NDArray>> from_kernel;
      if (cuda_runner) {
        from_kernel = cuda_runner(args, offered);
        if (program->profile) cuda::synchronize();
      } else if (kernel)
        from_kernel = run_kernels(*kernel, args, offered, kernel_source);
      if (from_kernel)
        results = std::move(*from_kernel);
      else if (offered.empty() || !keep_node->op->perform_into(*keep_node, args, offered))
        results = keep_node->op->perform(*keep_node, args);
      else
        results = std::move(offered);
      if (results.size() != out_slots.size())
        throw Error("op returned " + std::to_string(results.size()) +
                    " outputs, expected " + std::to_string(out_slots.size()));
      for (size_t i = 0; i < results.size(); ++i) {
        // The declared type is a promise later passes rely on: check it.
        const TensorType& t = keep_node->output_ptr(static_cast<int>(i))->type;
        std::string why = t.mismatch(results[i]);
        if (!why.empty())
          throw ShapeError("output " + std::to_string(i) + " has " + why +
                           " (the input shapes contradict what the graph assumed)");
        slots[out_slots[i]] = std::move(results[i]);
      }
    };
    for (const Var& in : node->inputs) {
      int s = slot.at(in.get());
      if (s >= first_node_slot && !keep.count(s) && last_use[s] == k)
        ins.release_after.push_back(s);
    }
    impl->program.instructions.push_back(std::move(ins));
  }
  for (size_t i = 0; i < outputs.size(); ++i)
    impl->output_slots.push_back(slot.at(impl->graph_outputs[i].get()));
  for (size_t i = outputs.size(); i < impl->graph_outputs.size(); ++i)
    impl->update_slots.push_back(slot.at(impl->graph_outputs[i].get()));
  if (on_cuda && use_cuda_graphs(opts.cuda_graphs) && cuda_graphs_available()) {
    StepSlots step;
    step.num_inputs = impl->inputs.size();
    step.shared = impl->shared_slots;
    step.outputs = impl->output_slots;
    step.updates = impl->update_slots;
    for (const Var& t : impl->update_targets) step.update_targets.push_back(t->shared);
    impl->graph_step = std::make_unique<CudaGraphStep>(&impl->program, std::move(step),
                                                       impl->outputs_on_device);
  }
  return Function(impl);
}

std::vector<NDArray> Function::operator()(const std::vector<Arg>& args) const {
  std::vector<std::optional<Arg>> a(args.begin(), args.end());
  return call(a);
}

std::vector<NDArray> Function::call(const std::vector<std::optional<Arg>>& args) const {
  const Impl& f = *impl_;
  if (args.size() > f.inputs.size())
    throw ValueError(fn_prefix(f.name) + "expected at most " +
                     std::to_string(f.inputs.size()) + " arguments, got " +
                     std::to_string(args.size()));
  std::vector<NDArray> slots(f.program.num_slots);
  std::vector<NDArray> given;  // the caller's arrays, to avoid aliasing them
  for (size_t i = 0; i < f.inputs.size(); ++i) {
    if (i < args.size() && args[i]) {
      slots[i] = f.check_arg(i, *args[i]);
      given.push_back(args[i]->value);
    } else if (f.inputs[i].value) {
      slots[i] = *f.inputs[i].value;
    } else {
      size_t required = 0;
      for (const In& in : f.inputs) required += in.value ? 0 : 1;
      throw ValueError(f.input_desc(i) + ": missing argument (the function takes " +
                       std::to_string(required) + " required and " +
                       std::to_string(f.inputs.size() - required) +
                       " optional arguments, got " + std::to_string(args.size()) + ")");
    }
  }
  for (auto& [s, storage] : f.shared_slots) slots[s] = storage->value;
  for (auto& [s, value] : f.constant_slots) slots[s] = value;
  const bool on_cuda = f.device == DeviceKind::CUDA;
  if (f.graph_step)
    if (auto outputs = f.graph_step->run(slots)) return std::move(*outputs);
  if (on_cuda)
    for (size_t i = 0; i < f.inputs.size(); ++i) slots[i] = to_device(slots[i]);

  f.program.run(slots);

  // Results never alias memory the caller or a shared variable owns (but an
  // update may keep its own variable's buffer: `own`).
  auto aliases_owned = [&](const NDArray& r, const SharedStorage* own = nullptr) {
    for (const NDArray& g : given)
      if (r.shares_memory(g)) return true;
    for (auto& [s, storage] : f.shared_slots)
      if (storage.get() != own && r.shares_memory(storage->value)) return true;
    for (auto& [s, value] : f.constant_slots)
      if (r.shares_memory(value)) return true;
    for (const In& in : f.inputs)
      if (in.value && r.shares_memory(*in.value)) return true;
    return false;
  };
  std::vector<NDArray> results;
  for (size_t i = 0; i < f.output_slots.size(); ++i) {
    NDArray r = slots[f.output_slots[i]];
    bool dup = false;
    for (const NDArray& prev : results) dup |= r.shares_memory(prev);
    if (on_cuda && !f.outputs_on_device && on_device(r))
      r = to_host(r);  // a fresh host array: aliases nothing
    else if (dup || aliases_owned(r))
      r = r.copy();
    if (f.outputs_on_device && !on_device(r)) r = to_device(r);
    results.push_back(std::move(r));
  }
  // Atomic commit: every update value was computed from the old values above.
  std::vector<NDArray> new_values;
  for (size_t u = 0; u < f.update_slots.size(); ++u) {
    NDArray v = slots[f.update_slots[u]];
    // The variable's own value (an identity update): the variable gives the
    // buffer up as it takes the new value, so no copy.
    const SharedStorage* own = f.update_targets[u]->shared.get();
    const NDArray& old = own->value;
    bool same_layout = v.buffer() == old.buffer() && v.raw() == old.raw() &&
                       v.shape() == old.shape() && v.strides() == old.strides();
    bool alias = aliases_owned(v, same_layout ? own : nullptr);
    for (const NDArray& r : results) alias |= v.shares_memory(r);
    for (const NDArray& prev : new_values) alias |= v.shares_memory(prev);
    // The variable stays where it lives.
    if (on_device(old) != on_device(v))
      v = on_device(old) ? to_device(v) : to_host(v);
    else if (alias)
      v = v.copy();
    new_values.push_back(std::move(v));
  }
  for (size_t u = 0; u < new_values.size(); ++u)
    f.update_targets[u]->shared->value = std::move(new_values[u]);
  return results;
}

const std::vector<In>& Function::inputs() const { return impl_->inputs; }
size_t Function::num_outputs() const { return impl_->outputs.size(); }
const std::string& Function::name() const { return impl_->name; }
const std::map<std::string, int>& Function::rewrite_stats() const {
  return impl_->stats.fired;
}

void Function::set_profile(bool on) { impl_->program.profile = on; }

std::vector<std::tuple<std::string, int64_t, double>> Function::profile() const {
  const Program& p = impl_->program;
  std::vector<std::tuple<std::string, int64_t, double>> rows;
  for (size_t k = 0; k < p.instructions.size() && k < p.seconds.size(); ++k)
    rows.emplace_back(p.instructions[k].label, p.calls[k], p.seconds[k]);
  return rows;
}

const KernelCompileStats& Function::kernel_stats() const { return impl_->kernel_stats; }
DeviceKind Function::device() const { return impl_->device; }

CudaGraphInfo Function::cuda_graph_info() const {
  CudaGraphInfo info;
  const CudaGraphStep* step = impl_->graph_step.get();
  if (!step) return info;
  info.enabled = true;
  info.replays = step->replays();
  info.reason = step->reason();
  info.graph_bytes = step->graph_bytes();
  return info;
}

std::string Function::debugprint() const {
  std::string text = theanine::debugprint(impl_->graph_outputs);
  if (impl_->inplace_marks.empty()) return text;
  // Each node line reads "<op>[.i] [id N] <type>...", N being the id of the
  // node's first output: the mark goes after the op.
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    size_t at = line.find(" [id ");
    if (at != std::string::npos) {
      uint64_t id = std::strtoull(line.c_str() + at + 5, nullptr, 10);
      auto it = impl_->inplace_marks.find(id);
      if (it != impl_->inplace_marks.end()) line.insert(at, it->second);
    }
    out += line;
    if (end < text.size()) out += '\n';
    start = end + 1;
  }
  return out;
}

}  // namespace theanine
