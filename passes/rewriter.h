#pragma once
// The rewrite engine. A phase is a list of small local rules (pattern ->
// replacement), applied bottom-up over the graph to a fixpoint with a bound.
// Graphs are immutable: rewriting builds new nodes and leaves the user's graph
// alone. Every node the engine builds is hash-consed by (op, inputs), which is
// merge (CSE); constants are merged by value, and nodes whose inputs are all
// constants are folded.
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph/variable.h"

namespace theanine {

// How many times each rule fired, for debugging and tests.
struct RewriteStats {
  std::map<std::string, int> fired;
  int count(const std::string& rule) const {
    auto it = fired.find(rule);
    return it == fired.end() ? 0 : it->second;
  }
};

class RewriteContext {
 public:
  // How many nodes of the graph being rewritten use `v` (outputs count as one
  // use each). Counted before the current sweep, so it may be stale for nodes
  // built during the sweep (which count 0).
  int clients(const Variable* v) const;
  // True when `v` is one of the graph's outputs.
  bool is_output(const Variable* v) const;

  std::unordered_map<const Variable*, int> client_count;
  std::unordered_map<const Variable*, bool> outputs;
};

// A rule looks at one node whose inputs are already rewritten and returns a
// replacement per output, or an empty vector when it does not apply. A
// replacement must have the same dtype and ndim as the output it replaces, and
// no less static shape; the engine checks.
using RuleFn =
    std::function<std::vector<Var>(const Apply& node, const RewriteContext& ctx)>;

struct Rule {
  std::string name;
  // The op kinds that trigger it: the op name up to its first '{' ("Elemwise",
  // "Sum", "Dot", "DimShuffle"); empty means every node.
  std::vector<std::string> kinds;
  RuleFn fn;
};

using RuleSet = std::vector<Rule>;

// The op name up to its first '{'.
std::string op_kind(const Apply& node);

// Applies `rules` to every node reachable from `outputs`, re-applying to each
// replacement, until nothing fires or `max_sweeps` whole-graph sweeps ran.
// Merges equal nodes and folds constants throughout. Recurses into inner graphs
// is left to the ops that own them (they rebuild themselves from rewritten
// inner graphs through Op::rewrite_inner, when they have one).
std::vector<Var> rewrite(const std::vector<Var>& outputs, const RuleSet& rules,
                         RewriteStats* stats = nullptr, int max_sweeps = 8);

// Small matching helpers for rules.
// The scalar op name of an Elemwise node ("add", "mul", ...), or "" for others.
std::string elemwise_name(const Apply& node);
// The Elemwise node computing `v` with scalar op `name`, or null.
const Apply* elemwise_producer(const Var& v, const std::string& name);
// True when `v` is a constant whose every element equals `value`.
bool is_constant_value(const Var& v, double value);
// A replacement for `original`'s place: `v` cast to original's dtype and, when
// v's static shape is less specific or broadcasts to less, made to have
// original's shape (alloc/fill). Rules use it to keep types exact.
Var like(const Var& v, const Var& original);

}  // namespace theanine
