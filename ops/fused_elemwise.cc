#include "ops/fused_elemwise.h"

#include <charconv>
#include <cstring>
#include <functional>

#include "ops/elemwise.h"
#include "runtime/error.h"

namespace theanine {

namespace {

// "i0", "t3": how inputs and bound nodes are written.
std::string ref_name(char prefix, size_t k) {
  std::string s(1, prefix);
  s += std::to_string(k);
  return s;
}

std::string head(const ScalarNode& n) {
  std::string s = scalar_op(n.op).name;
  if (n.cast_to) s += std::string("{") + dtype_name(*n.cast_to) + "}";
  return s;
}

// The shortest text that reads back as the same value; a float always shows a
// '.' or an exponent so that 2.0 and the integer 2 print differently.
template <class F>
std::string float_str(F v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, end);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

std::string constant_str(const ScalarConstant& c) {
  const DType d = c.value.dtype();
  std::string s;
  if (is_bool(d))
    s = c.value.item_int() ? "True" : "False";
  else if (is_integer(d))
    s = std::to_string(c.value.item_int());
  else if (d == DType::Float32)
    s = float_str(static_cast<float>(c.value.item_double()));
  else
    s = float_str(c.value.item_double());
  return c.weak ? s : std::string(dtype_name(d)) + "(" + s + ")";
}

bool same_constant(const ScalarConstant& a, const ScalarConstant& b) {
  if (a.weak != b.weak || a.value.dtype() != b.value.dtype()) return false;
  NDArray x = a.value.contiguous(), y = b.value.contiguous();
  return x.nbytes() == y.nbytes() && std::memcmp(x.raw(), y.raw(), x.nbytes()) == 0;
}

// Re-throws `e` as the same exception class with `prefix` in front.
[[noreturn]] void rethrow_prefixed(const std::string& prefix) {
  try {
    throw;
  } catch (const ShapeError& e) {
    throw ShapeError(prefix + e.what());
  } catch (const TypeError& e) {
    throw TypeError(prefix + e.what());
  } catch (const IndexError& e) {
    throw IndexError(prefix + e.what());
  } catch (const ValueError& e) {
    throw ValueError(prefix + e.what());
  } catch (const Error& e) {
    throw Error(prefix + e.what());
  }
}

// A temporary variable of type t, to ask an op for its output type.
Var typed_var(const TensorType& t) {
  auto v = std::make_shared<Variable>(t);
  v->self = v;
  return Var(v);
}

}  // namespace

// ---- ScalarGraph --------------------------------------------------------------

void ScalarGraph::check() const {
  for (const ScalarConstant& c : constants)
    if (!c.value.defined() || c.value.ndim() != 0)
      throw ValueError("fused graph: a constant must be a 0-d array");
  for (size_t k = 0; k < nodes.size(); ++k) {
    const ScalarNode& n = nodes[k];
    const ScalarOp& op = scalar_op(n.op);
    const std::string where =
        "fused graph node " + std::to_string(k) + " (" + op.name + ")";
    if (static_cast<int>(n.args.size()) != op.arity)
      throw ValueError(where + ": takes " + std::to_string(op.arity) + " operands, got " +
                       std::to_string(n.args.size()));
    if ((op.rule == TypeRule::kCast) != n.cast_to.has_value())
      throw ValueError(where + ": a cast target goes with the cast entry alone");
    for (const ScalarRef& r : n.args) {
      const size_t limit = r.kind == ScalarRef::Kind::Input  ? inputs.size()
                           : r.kind == ScalarRef::Kind::Node ? k
                                                             : constants.size();
      if (r.index < 0 || static_cast<size_t>(r.index) >= limit)
        throw ValueError(where + ": operand out of range (or not computed before)");
    }
  }
  if (outputs.empty()) throw ValueError("fused graph: no outputs");
  std::vector<bool> seen(nodes.size(), false);
  for (int o : outputs) {
    if (o < 0 || static_cast<size_t>(o) >= nodes.size())
      throw ValueError("fused graph: output out of range");
    if (seen[o]) throw ValueError("fused graph: an output is listed twice");
    seen[o] = true;
  }
  if (!origins.empty() && origins.size() != nodes.size())
    throw ValueError("fused graph: origins must be empty or one per node");
}

std::string ScalarGraph::str(std::vector<int>* inputs_seen) const {
  // Nodes read more than once get a binding, so the text stays linear in the
  // graph's size.
  std::vector<int> uses(nodes.size(), 0);
  for (const ScalarNode& n : nodes)
    for (const ScalarRef& r : n.args)
      if (r.kind == ScalarRef::Kind::Node) ++uses[r.index];
  for (int o : outputs) ++uses[o];
  auto bound = [&](int k) { return uses[k] > 1; };
  std::vector<bool> seen(inputs.size(), false);
  auto leaf = [&](const ScalarRef& r) {
    switch (r.kind) {
      case ScalarRef::Kind::Input:
        if (inputs_seen && !seen[r.index]) inputs_seen->push_back(r.index);
        seen[r.index] = true;
        return ref_name('i', r.index);
      case ScalarRef::Kind::Node:
        return ref_name('t', r.index);
      case ScalarRef::Kind::Constant:
        break;
    }
    return constant_str(constants[r.index]);
  };
  std::string out;
  // Iterative, so a long chain cannot overflow the stack.
  auto write = [&](int root) {
    struct Frame {
      int node;
      size_t next;
    };
    std::vector<Frame> stack{{root, 0}};
    out += head(nodes[root]) + "(";
    while (!stack.empty()) {
      const int k = stack.back().node;
      const size_t i = stack.back().next++;
      const ScalarNode& n = nodes[k];
      if (i == n.args.size()) {
        out += ")";
        stack.pop_back();
        continue;
      }
      if (i) out += ", ";
      const ScalarRef& r = n.args[i];
      if (r.kind == ScalarRef::Kind::Node && !bound(r.index)) {
        out += head(nodes[r.index]) + "(";
        stack.push_back({r.index, 0});
      } else {
        out += leaf(r);
      }
    }
  };
  for (size_t k = 0; k < nodes.size(); ++k) {
    if (!bound(static_cast<int>(k))) continue;
    out += ref_name('t', k);
    out += '=';
    write(static_cast<int>(k));
    out += "; ";
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (i) out += ", ";
    if (bound(outputs[i]))
      out += ref_name('t', outputs[i]);
    else
      write(outputs[i]);
  }
  return out;
}

bool ScalarGraph::same(const ScalarGraph& o) const {
  if (inputs != o.inputs || outputs != o.outputs || nodes.size() != o.nodes.size() ||
      constants.size() != o.constants.size())
    return false;
  for (size_t i = 0; i < constants.size(); ++i)
    if (!same_constant(constants[i], o.constants[i])) return false;
  for (size_t k = 0; k < nodes.size(); ++k) {
    const ScalarNode &a = nodes[k], &b = o.nodes[k];
    if (a.op != b.op || a.cast_to != b.cast_to || a.args != b.args ||
        a.dtypes.operand != b.dtypes.operand || a.dtypes.output != b.dtypes.output)
      return false;
  }
  return true;
}

std::vector<TensorType> ScalarGraph::infer_types(
    const std::vector<TensorType>& input_types) const {
  if (input_types.size() != inputs.size())
    throw ValueError("takes " + std::to_string(inputs.size()) + " inputs, got " +
                     std::to_string(input_types.size()));
  for (size_t i = 0; i < inputs.size(); ++i)
    if (input_types[i].dtype != inputs[i])
      throw TypeError("input " + std::to_string(i) + " has dtype " +
                      dtype_name(input_types[i].dtype) + ", the fused graph reads " +
                      dtype_name(inputs[i]));
  std::vector<Shape> shapes(nodes.size());
  for (size_t k = 0; k < nodes.size(); ++k) {
    std::vector<Shape> operand_shapes;
    for (const ScalarRef& r : nodes[k].args) {
      if (r.kind == ScalarRef::Kind::Input)
        operand_shapes.push_back(input_types[r.index].shape);
      else if (r.kind == ScalarRef::Kind::Node)
        operand_shapes.push_back(shapes[r.index]);
      else
        operand_shapes.push_back({});
    }
    try {
      shapes[k] = broadcast_shapes(operand_shapes);
    } catch (const ShapeError& e) {
      const std::string label =
          origins.empty() ? "Elemwise{" + head(nodes[k]) + "}" : origins[k].label;
      throw ShapeError(label + ": " + e.what());
    }
  }
  std::vector<TensorType> out;
  for (int o : outputs) out.emplace_back(nodes[o].dtypes.output, shapes[o]);
  return out;
}

bool ScalarGraph::may_overwrite(int output, int input) const {
  for (size_t j = outputs.at(output) + 1; j < nodes.size(); ++j)
    for (const ScalarRef& r : nodes[j].args)
      if (r.kind == ScalarRef::Kind::Input && r.index == input) return false;
  return true;
}

std::vector<NDArray> ScalarGraph::evaluate(const std::vector<NDArray>& in,
                                           const std::vector<std::string>& names,
                                           const std::vector<NDArray>& into) const {
  if (in.size() != inputs.size())
    throw ValueError("got " + std::to_string(in.size()) + " inputs, expected " +
                     std::to_string(inputs.size()));
  // Intermediates are dropped after their last reader.
  std::vector<int> last_use(nodes.size(), -1);
  std::vector<bool> is_output(nodes.size(), false);
  std::vector<int> output_at(nodes.size(), -1);
  for (size_t i = 0; i < outputs.size(); ++i) {
    is_output[outputs[i]] = true;
    output_at[outputs[i]] = static_cast<int>(i);
  }
  // An output may overwrite an input's buffer only once no later node reads it.
  auto may_write = [&](size_t k, const NDArray& buffer) {
    for (size_t j = k + 1; j < nodes.size(); ++j)
      for (const ScalarRef& r : nodes[j].args)
        if (r.kind == ScalarRef::Kind::Input && in[r.index].shares_memory(buffer))
          return false;
    return true;
  };
  for (size_t k = 0; k < nodes.size(); ++k)
    for (const ScalarRef& r : nodes[k].args)
      if (r.kind == ScalarRef::Kind::Node) last_use[r.index] = static_cast<int>(k);

  std::vector<NDArray> values(nodes.size());
  for (size_t k = 0; k < nodes.size(); ++k) {
    const ScalarNode& n = nodes[k];
    const std::string label =
        origins.empty() ? "Elemwise{" + head(n) + "}" : origins[k].label;
    std::vector<NDArray> args;
    std::vector<Shape> shapes;
    for (const ScalarRef& r : n.args) {
      if (r.kind == ScalarRef::Kind::Input)
        args.push_back(in[r.index]);
      else if (r.kind == ScalarRef::Kind::Node)
        args.push_back(values[r.index]);
      else
        args.push_back(constants[r.index].value);
      shapes.push_back(args.back().shape());
    }
    try {
      broadcast_shapes(shapes);
    } catch (const ShapeError&) {
      // The message the Elemwise node would have given, naming its operands.
      std::string list;
      for (size_t i = 0; i < args.size(); ++i) {
        const ScalarRef& r = n.args[i];
        std::string name;
        if (!origins.empty())
          name = origins[k].operand_names.at(i);
        else if (r.kind == ScalarRef::Kind::Input &&
                 static_cast<size_t>(r.index) < names.size())
          name = names[r.index];
        else
          name = r.kind == ScalarRef::Kind::Constant ? constant_str(constants[r.index])
                                                     : ref_name('t', r.index);
        list += (i ? " and '" : "'") + name + "' " + dtype_name(args[i].dtype()) +
                shape_str(shapes[i]);
      }
      throw ShapeError(label + ": input shapes do not broadcast at run time: " + list);
    }
    try {
      NDArray buffer;
      const int at = output_at[k];
      if (at >= 0 && static_cast<size_t>(at) < into.size() && into[at].defined() &&
          may_write(k, into[at]))
        buffer = into[at];
      values[k] = elemwise_eval(scalar_op(n.op), n.dtypes, args, "", buffer);
    } catch (const Error&) {
      rethrow_prefixed(label + ": ");
    }
    for (const ScalarRef& r : n.args)
      if (r.kind == ScalarRef::Kind::Node && last_use[r.index] == static_cast<int>(k) &&
          !is_output[r.index])
        values[r.index] = NDArray();
  }
  std::vector<NDArray> out;
  for (int o : outputs) out.push_back(values[o]);
  return out;
}

// ---- FusedElemwise -------------------------------------------------------------

FusedElemwise::FusedElemwise(ScalarGraph graph) : graph_(std::move(graph)) {
  graph_.check();
  name_ = "Fused{" + graph_.str() + "}";
  hash_ = std::hash<std::string>()(name_);
}

std::vector<TensorType> FusedElemwise::infer_types(const std::vector<Var>& inputs) const {
  std::vector<TensorType> types;
  for (const Var& v : inputs) types.push_back(v.type());
  return graph_.infer_types(types);
}

std::vector<NDArray> FusedElemwise::perform(const Apply& node,
                                            const std::vector<NDArray>& inputs) const {
  std::vector<std::string> names;
  for (const Var& v : node.inputs) names.push_back(v->display_name());
  return graph_.evaluate(inputs, names);
}

bool FusedElemwise::perform_into(const Apply& node, const std::vector<NDArray>& inputs,
                                 std::vector<NDArray>& out) const {
  std::vector<std::string> names;
  for (const Var& v : node.inputs) names.push_back(v->display_name());
  out = graph_.evaluate(inputs, names, out);
  return true;
}

bool FusedElemwise::equals(const Op& other) const {
  auto* o = dynamic_cast<const FusedElemwise*>(&other);
  return o && o->name_ == name_ && o->graph_.same(graph_);
}

// ---- FusedReduce ---------------------------------------------------------------

FusedReduce::FusedReduce(ScalarGraph prologue, std::shared_ptr<const Reduce> reduce)
    : prologue_(std::move(prologue)), reduce_(std::move(reduce)) {
  prologue_.check();
  if (prologue_.outputs.size() != 1)
    throw ValueError("FusedReduce: the prologue must have exactly one output");
  if (!reduce_) throw ValueError("FusedReduce: no reduction");
  name_ = "FusedReduce{" + reduce_->name() + "(" + prologue_.str() + ")}";
  hash_ = std::hash<std::string>()(name_);
}

std::vector<TensorType> FusedReduce::infer_types(const std::vector<Var>& inputs) const {
  std::vector<TensorType> types;
  for (const Var& v : inputs) types.push_back(v.type());
  return reduce_->infer_types({typed_var(prologue_.infer_types(types).at(0))});
}

std::vector<NDArray> FusedReduce::perform(const Apply& node,
                                          const std::vector<NDArray>& inputs) const {
  std::vector<std::string> names;
  for (const Var& v : node.inputs) names.push_back(v->display_name());
  NDArray x = prologue_.evaluate(inputs, names).at(0);
  // Reduce::perform reads only its input values, not the node.
  return reduce_->perform(node, {x});
}

bool FusedReduce::equals(const Op& other) const {
  auto* o = dynamic_cast<const FusedReduce*>(&other);
  return o && o->name_ == name_ && o->prologue_.same(prologue_);
}

std::vector<Var> fused_elemwise(ScalarGraph graph, const std::vector<Var>& inputs,
                                const SourceLoc& loc) {
  return make_node(std::make_shared<FusedElemwise>(std::move(graph)), inputs, loc);
}

Var fused_reduce(ScalarGraph prologue, std::shared_ptr<const Reduce> reduce,
                 const std::vector<Var>& inputs, const SourceLoc& loc) {
  return make_node1(std::make_shared<FusedReduce>(std::move(prologue), std::move(reduce)),
                    inputs, loc);
}

}  // namespace theanine
