#include "graph/fgraph.h"

#include <functional>
#include <sstream>
#include <unordered_set>

#include "graph/op.h"

namespace theanine {

std::vector<Apply*> toposort(const std::vector<Var>& outputs) {
  std::vector<Apply*> order;
  std::unordered_set<const Apply*> done;
  // Iterative DFS: deep graphs (long RNN unrolls) must not overflow the stack.
  std::vector<std::pair<Apply*, size_t>> stack;
  for (const Var& out : outputs) {
    if (!out || !out->owner || done.count(out->owner)) continue;
    stack.push_back({out->owner, 0});
    std::unordered_set<const Apply*> on_stack{out->owner};
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < node->inputs.size()) {
        Apply* in = node->inputs[next++]->owner;
        if (in && !done.count(in) && !on_stack.count(in)) {
          on_stack.insert(in);
          stack.push_back({in, 0});
        }
      } else {
        done.insert(node);
        order.push_back(node);
        on_stack.erase(node);
        stack.pop_back();
      }
    }
  }
  return order;
}

std::vector<Var> free_variables(const std::vector<Var>& outputs) {
  std::vector<Var> result;
  std::unordered_set<const Variable*> seen;
  auto visit = [&](const Var& v) {
    if (!v->owner && seen.insert(v.get()).second) result.push_back(v);
  };
  for (const Var& o : outputs) visit(o);
  for (Apply* node : toposort(outputs))
    for (const Var& in : node->inputs) visit(in);
  return result;
}

std::vector<Var> clone_replace(const std::vector<Var>& outputs,
                               const Replacements& replace) {
  if (replace.empty()) return outputs;
  Replacements map = replace;
  auto lookup = [&](const Var& v) -> Var {
    auto it = map.find(v.get());
    return it == map.end() ? v : it->second;
  };
  for (Apply* node : toposort(outputs)) {
    bool changed = false;
    std::vector<Var> ins;
    for (const Var& in : node->inputs) {
      ins.push_back(lookup(in));
      changed |= !ins.back().same(in);
    }
    if (!changed) continue;
    std::vector<Var> outs = make_node(node->op, ins, node->loc);
    for (int i = 0; i < node->num_outputs(); ++i) {
      Variable* old = node->output_ptr(i);
      outs[i]->name = old->name;
      map[old] = outs[i];
    }
  }
  std::vector<Var> result;
  for (const Var& o : outputs) result.push_back(lookup(o));
  return result;
}

FunctionGraph::FunctionGraph(std::vector<Var> inputs, std::vector<Var> outputs)
    : inputs_(std::move(inputs)), outputs_(std::move(outputs)) {}

namespace {
void print_var(std::ostream& os, const Var& v, int depth,
               std::unordered_set<const Apply*>& printed) {
  std::string indent(depth * 2, ' ');
  std::string pad = depth ? indent.substr(0, indent.size() - 2) + " |" : "";
  if (!v->owner) {
    os << pad << v->display_name() << " [id " << v->id << "] <" << v->type.str() << ">";
    if (v->is_shared()) os << " (shared)";
    os << "\n";
    return;
  }
  Apply* node = v->owner;
  os << pad << node->op->name();
  if (node->num_outputs() > 1) os << "." << v->index;
  os << " [id " << node->output_ptr(0)->id << "] <" << v->type.str() << ">";
  if (!v->name.empty()) os << " '" << v->name << "'";
  if (!printed.insert(node).second) {
    os << " ...\n";
    return;
  }
  os << "\n";
  for (const Var& in : node->inputs) print_var(os, in, depth + 1, printed);
  for (const FunctionGraph* inner : node->op->inner_graphs()) {
    os << indent << "  >> inner graph:\n";
    std::unordered_set<const Apply*> inner_printed;
    for (const Var& o : inner->outputs()) print_var(os, o, depth + 2, inner_printed);
  }
}
}  // namespace

std::string debugprint(const std::vector<Var>& outputs) {
  std::ostringstream os;
  std::unordered_set<const Apply*> printed;
  for (const Var& o : outputs) print_var(os, o, 0, printed);
  return os.str();
}

}  // namespace theanine
