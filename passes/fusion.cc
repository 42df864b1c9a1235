// Elementwise fusion: a whole-graph pass that turns connected Elemwise nodes
// into FusedElemwise nodes, and an elementwise chain feeding a reduction (and
// nothing else) into a FusedReduce node (ops/fused_elemwise.h).
//
// Groups grow backwards from a root (the last node of the group), visiting the
// graph's nodes from its outputs towards its inputs. A producer joins a group
//  - as an internal node when every reader of its output is in the group; it
//    may then be known to be of a smaller shape than the group's domain (it
//    broadcasts inside the kernel) only when it is cheap, since it is computed
//    once per element of the domain;
//  - as an extra output of the group when other nodes read it too and its shape
//    is provably the domain, so the kernel writes it as it goes: no work is
//    ever computed twice.
// The other elementwise readers of a producer join too when their shape is
// provably the domain (siblings: exp(x) * a and exp(x) + a share one kernel).
// A reduction whose input is an elementwise result nothing else reads takes
// that result's group in as its prologue (no extra outputs then).
// A group must stay convex (no path leaves it and comes back), else the fused
// node would depend on itself; that is checked on the graph of the groups
// formed so far. Groups of one node stay plain Elemwise nodes.
#include <algorithm>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "graph/fgraph.h"
#include "graph/op.h"
#include "ops/blas.h"
#include "ops/elemwise.h"
#include "ops/fused_elemwise.h"
#include "ops/gemm_op.h"
#include "ops/reduce.h"
#include "ops/reduce_axes.h"
#include "ops/shape_ops.h"
#include "passes/pipeline.h"
#include "runtime/error.h"

namespace theanine {

namespace {

// ---- Shapes as far as they can be proven equal --------------------------------
// A dim is a known size, or unknown: then the broadcast of a set of symbols, one
// per unknown dim of a value no rule below explains. Two variables with equal
// symbolic shapes have equal shapes at run time (when they run at all).

struct Dim {
  int64_t size = 1;       // >= 0 when known
  std::vector<int> syms;  // sorted, when unknown
  bool operator==(const Dim&) const = default;
};
using SymShape = std::vector<Dim>;

Dim broadcast_dim(const Dim& a, const Dim& b) {
  if (a.size == 1) return b;
  if (b.size == 1) return a;
  if (a.size >= 0) return a;
  if (b.size >= 0) return b;
  Dim r{-1, {}};
  std::set_union(a.syms.begin(), a.syms.end(), b.syms.begin(), b.syms.end(),
                 std::back_inserter(r.syms));
  return r;
}

// NumPy's broadcast of two shapes, dims aligned on the right.
SymShape broadcast(const SymShape& a, const SymShape& b) {
  const SymShape& longer = a.size() >= b.size() ? a : b;
  const SymShape& shorter = a.size() >= b.size() ? b : a;
  SymShape s = longer;
  const size_t lead = longer.size() - shorter.size();
  for (size_t i = 0; i < shorter.size(); ++i)
    s[lead + i] = broadcast_dim(longer[lead + i], shorter[i]);
  return s;
}

class SymbolicShapes {
 public:
  // Every variable of `order` (a toposort), inputs before their readers.
  explicit SymbolicShapes(const std::vector<Apply*>& order) {
    for (Apply* node : order) infer(*node);
  }

  const SymShape& of(const Var& v) {
    auto it = memo_.find(v.get());
    if (it != memo_.end()) return it->second;
    return memo_[v.get()] = with_static(v, fresh(v));
  }

 private:
  SymShape fresh(const Var& v) {
    SymShape s;
    for (int64_t d : v->type.shape) s.push_back(d >= 0 ? Dim{d, {}} : Dim{-1, {next_++}});
    return s;
  }

  // Static knowledge wins over derived symbols.
  static SymShape with_static(const Var& v, SymShape s) {
    for (size_t d = 0; d < s.size(); ++d)
      if (v->type.shape[d] >= 0) s[d] = Dim{v->type.shape[d], {}};
    return s;
  }

  void infer(const Apply& node) {
    std::vector<SymShape> derived = derive(node);
    for (int i = 0; i < node.num_outputs(); ++i) {
      Var out = node.output(i);
      SymShape s = i < static_cast<int>(derived.size()) &&
                           static_cast<int>(derived[i].size()) == out.ndim()
                       ? std::move(derived[i])
                       : fresh(out);
      memo_[out.get()] = with_static(out, std::move(s));
    }
  }

  std::vector<SymShape> derive(const Apply& node) {
    const Op* op = node.op.get();
    if (dynamic_cast<const Elemwise*>(op)) {
      SymShape s;
      for (const Var& in : node.inputs) s = broadcast(s, of(in));
      return {s};
    }
    if (auto* ds = dynamic_cast<const DimShuffleOp*>(op)) {
      const SymShape& t = of(node.inputs[0]);
      SymShape s;
      for (int p : ds->pattern()) s.push_back(p < 0 ? Dim{} : t.at(p));
      return {s};
    }
    if (auto* r = dynamic_cast<const Reduce*>(op)) {
      const SymShape& t = of(node.inputs[0]);
      std::vector<int> axes =
          detail::resolve_axes(r->axes(), static_cast<int>(t.size()), "reduce");
      SymShape s;
      for (int d = 0; d < static_cast<int>(t.size()); ++d) {
        bool reduced = std::find(axes.begin(), axes.end(), d) != axes.end();
        if (!reduced)
          s.push_back(t[d]);
        else if (r->keepdims())
          s.push_back(Dim{});
      }
      return {s};
    }
    if (auto* g = dynamic_cast<const Gemm*>(op)) {
      const SymShape &a = of(node.inputs[0]), &b = of(node.inputs[1]);
      if (a.size() != 2 || b.size() != 2) return {};
      SymShape s{a[g->trans_a() ? 1 : 0], b[g->trans_b() ? 0 : 1]};
      if (g->has_c()) s = broadcast(s, of(node.inputs.at(2)));
      return {s};
    }
    if (auto* g = dynamic_cast<const Gemv*>(op)) {
      const SymShape& a = of(node.inputs[0]);
      if (a.size() != 2) return {};
      SymShape s{a[g->trans() ? 1 : 0]};
      if (g->has_y()) s = broadcast(s, of(node.inputs.at(2)));
      return {s};
    }
    if (dynamic_cast<const Dot*>(op)) {
      const SymShape &a = of(node.inputs[0]), &b = of(node.inputs[1]);
      if (a.size() == 2 && b.size() == 2) return {{a[0], b[1]}};
      if (a.size() == 2 && b.size() == 1) return {{a[0]}};
      if (a.size() == 1 && b.size() == 2) return {{b[1]}};
    }
    return {};
  }

  std::unordered_map<const Variable*, SymShape> memo_;
  int next_ = 0;
};

// ---- Which producers may be recomputed along broadcast dims --------------------

// True when a value of shape s is known to be broadcast to `domain`: it has
// fewer dims, or a dim of 1 where the domain's is not known to be 1. Unknown
// dims are taken to match, as they do unless the user relies on a size-1 dim
// broadcasting at run time; that only costs recomputation, never correctness.
bool broadcasts_statically(const SymShape& s, const SymShape& domain) {
  if (s.size() != domain.size()) return true;
  for (size_t d = 0; d < s.size(); ++d)
    if (s[d].size == 1 && domain[d].size != 1) return true;
  return false;
}

bool is_cheap(const Elemwise& e) {
  static const std::vector<bool> cheap = [] {
    static const char* const names[] = {
        "add",     "sub",     "mul",    "neg",   "abs",   "sgn",  "sqr",
        "maximum", "minimum", "clip",   "round", "floor", "ceil", "eq",
        "neq",     "lt",      "le",     "gt",    "ge",    "and_", "or_",
        "xor",     "invert",  "switch", "cast",  "isnan", "isinf"};
    std::vector<bool> v(scalar_ops().size(), false);
    for (const char* n : names)
      if (const ScalarOp* op = find_scalar_op(n)) v[op->id] = true;
    return v;
  }();
  return cheap[e.scalar_op().id];
}

const Elemwise* as_elemwise(const Apply* node) {
  return node ? dynamic_cast<const Elemwise*>(node->op.get()) : nullptr;
}

// ---- The pass ------------------------------------------------------------------

class Fuser {
 public:
  Fuser(const std::vector<Var>& outputs, RewriteStats* stats)
      : outputs_(outputs), stats_(stats), order_(toposort(outputs)), shapes_(order_) {
    const int n = static_cast<int>(order_.size());
    for (int i = 0; i < n; ++i) index_[order_[i]] = i;
    preds_.resize(n);
    succs_.resize(n);
    for (int i = 0; i < n; ++i)
      for (const Var& in : order_[i]->inputs) {
        clients_[in.get()].push_back(i);
        if (!in->owner) continue;
        const int p = index_.at(in->owner);
        preds_[i].push_back(p);
        succs_[p].push_back(i);
      }
    for (const Var& o : outputs_) graph_outputs_.insert(o.get());
    unit_.resize(n);
    slot_.resize(n);
    pos_.resize(2 * n + 1);
    for (int i = 0; i < n; ++i) unit_[i] = pos_[i] = slot_[i] = i;
    in_group_.assign(n, 0);
    seen_.assign(2 * n + 1, 0);
  }

  std::vector<Var> run() {
    for (int i = static_cast<int>(order_.size()) - 1; i >= 0; --i) {
      if (unit_[i] != i) continue;
      const Apply* node = order_[i];
      if (as_elemwise(node)) {
        grow(i, node->output(0), /*allow_extra_outputs=*/true);
      } else if (dynamic_cast<const Reduce*>(node->op.get())) {
        grow(i, node->inputs[0], /*allow_extra_outputs=*/false);
      }
    }
    return rebuild();
  }

 private:
  // The node producing `v`'s index, or -1.
  int producer(const Var& v) const { return v->owner ? index_.at(v->owner) : -1; }
  const std::vector<int>& clients(const Variable* v) const {
    static const std::vector<int> none;
    auto it = clients_.find(v);
    return it == clients_.end() ? none : it->second;
  }
  bool is_graph_output(const Variable* v) const { return graph_outputs_.count(v) > 0; }

  bool is_free_elemwise(int n) const {
    return !in_group_[n] && unit_[n] == n && as_elemwise(order_[n]);
  }

  template <class F>
  void for_members(int unit, F&& f) const {
    if (unit < static_cast<int>(order_.size()))
      f(unit);
    else
      for (int m : members_[unit - order_.size()]) f(m);
  }

  // The group being grown: members are marked in in_group_, and [lo, hi]
  // bounds their positions in the contracted graph.
  struct Growth {
    std::vector<int> members;
    int lo, hi;
    bool extra_exits = false;  // a member other than the root is read outside
  };

  // Adds node n to the group unless that would put a path through an outside
  // node between n and the group (the fused node would then depend on itself).
  // A path from n back into the group needs n to be read outside; one from the
  // group to n needs a member read outside, other than the root when n is a
  // producer (an ancestor) of the group.
  bool try_add(Growth& g, int n, bool read_outside, bool is_producer) {
    if (read_outside && reaches_group_from(n, g.hi)) return false;
    if ((g.extra_exits || !is_producer) && reaches_from_group(n, g.lo)) return false;
    g.members.push_back(n);
    in_group_[n] = 1;
    g.lo = std::min(g.lo, pos_[n]);
    g.hi = std::max(g.hi, pos_[n]);
    g.extra_exits = g.extra_exits || read_outside;
    return true;
  }

  // Grows the group of `root`, whose iteration domain is the shape of
  // `domain_var` (the root's output, or a reduction's input), and contracts it
  // into one unit.
  void grow(int root, const Var& domain_var, bool allow_extra_outputs) {
    const SymShape domain = shapes_.of(domain_var);
    Growth g{{root}, pos_[root], pos_[root]};
    in_group_[root] = 1;
    // Candidates by decreasing index: when a producer is examined, every node
    // that reads it and joins through it has joined.
    std::priority_queue<int> queue;
    std::unordered_set<int> queued;
    auto push_producers = [&](int m) {
      for (int p : preds_[m])
        if (!in_group_[p] && unit_[p] == p && queued.insert(p).second) queue.push(p);
    };
    if (allow_extra_outputs) {
      push_producers(root);
    } else {
      // A reduction: its input's producer, when nothing else reads it.
      int p = producer(domain_var);
      if (p >= 0 && unit_[p] == p && as_elemwise(order_[p]) &&
          !is_graph_output(domain_var.get()) && clients(domain_var.get()).size() == 1)
        queue.push(p), queued.insert(p);
    }
    while (!queue.empty()) {
      const int p = queue.top();
      queue.pop();
      if (in_group_[p]) continue;  // joined meanwhile, as a reader of another
      const Apply* node = order_[p];
      const Elemwise* e = as_elemwise(node);
      if (!e) continue;
      const Var out = node->output(0);
      if (allow_extra_outputs) {
        // Other elementwise readers of p over the same domain join, so that p is
        // computed once for all of them, inside the kernel; so does the chain
        // each of them starts (while a node has one reader), to its end.
        for (int c : clients(out.get())) {
          while (is_free_elemwise(c) && shapes_.of(order_[c]->output(0)) == domain &&
                 try_add(g, c, /*read_outside=*/true, /*is_producer=*/false)) {
            push_producers(c);
            const Variable* v = order_[c]->output_ptr(0);
            if (is_graph_output(v) || clients(v).size() != 1) break;
            c = clients(v)[0];
          }
        }
      }
      bool all_inside = !is_graph_output(out.get());
      for (int c : clients(out.get())) all_inside = all_inside && in_group_[c];
      const SymShape& shape = shapes_.of(out);
      const bool ok = all_inside ? is_cheap(*e) || !broadcasts_statically(shape, domain)
                                 : allow_extra_outputs && shape == domain;
      if (ok && try_add(g, p, !all_inside, /*is_producer=*/true)) push_producers(p);
    }
    for (int m : g.members) in_group_[m] = 0;
    if (g.members.size() < 2) return;  // a lone Elemwise stays as it is
    contract(root, std::move(g.members), !allow_extra_outputs);
  }

  // True when a path leaves node p through a node outside the group and reaches
  // the group (whose last unit position is hi).
  bool reaches_group_from(int p, int hi) {
    ++stamp_;
    int budget = kSearchBudget;
    std::vector<int> stack;
    for (int c : succs_[p])
      if (!in_group_[c]) stack.push_back(unit_[c]);
    while (!stack.empty()) {
      const int u = stack.back();
      stack.pop_back();
      if (seen_[u] == stamp_ || pos_[u] >= hi) continue;
      if (--budget < 0) return true;  // too far to tell: assume the worst
      seen_[u] = stamp_;
      bool hit = false;
      for_members(u, [&](int m) {
        for (int c : succs_[m]) {
          if (in_group_[c]) hit = true;
          stack.push_back(unit_[c]);
        }
      });
      if (hit) return true;
    }
    return false;
  }

  // True when a path from the group (whose first unit position is lo) reaches
  // node p through a node outside the group.
  bool reaches_from_group(int p, int lo) {
    ++stamp_;
    int budget = kSearchBudget;
    std::vector<int> stack;
    for (int q : preds_[p])
      if (!in_group_[q]) stack.push_back(unit_[q]);
    while (!stack.empty()) {
      const int u = stack.back();
      stack.pop_back();
      if (seen_[u] == stamp_ || pos_[u] < lo) continue;
      if (--budget < 0) return true;
      seen_[u] = stamp_;
      bool hit = false;
      for_members(u, [&](int m) {
        for (int q : preds_[m]) {
          if (in_group_[q]) hit = true;
          stack.push_back(unit_[q]);
        }
      });
      if (hit) return true;
    }
    return false;
  }

  void contract(int root, std::vector<int> group, bool is_reduce) {
    std::sort(group.begin(), group.end());
    const int id = static_cast<int>(order_.size() + members_.size());
    int lo = pos_[root], hi = pos_[root];
    for (int m : group) {
      in_group_[m] = 1;
      unit_[m] = id;
      lo = std::min(lo, pos_[m]);
      hi = std::max(hi, pos_[m]);
      slot_[pos_[m]] = -1;
    }
    int exits = 0;
    for (int m : group) {
      const Variable* out = order_[m]->output_ptr(0);
      bool exit = m == root || is_graph_output(out);
      for (int c : clients(out)) exit = exit || !in_group_[c];
      exits += exit;
    }
    for (int m : group) in_group_[m] = 0;
    members_.push_back(std::move(group));
    roots_.push_back(root);
    reduce_group_.push_back(is_reduce);
    // With one exit the group can take its root's place in the order; with
    // more, the units between its first and last member are ordered anew.
    if (exits == 1) {
      pos_[id] = pos_[root];
      slot_[pos_[root]] = id;
    } else {
      reorder(id, lo, hi);
    }
  }

  // Puts the units at positions lo..hi, and the new unit `id`, in a topological
  // order within those positions (Kahn's algorithm). Units before lo or after
  // hi need not move: none of them reads the new unit's members or is read by
  // them on a path through the region that could reverse.
  void reorder(int id, int lo, int hi) {
    std::vector<int> region{id};
    for (int s = lo; s <= hi; ++s)
      if (slot_[s] >= 0) region.push_back(slot_[s]);
    ++stamp_;
    for (int u : region) seen_[u] = stamp_;
    std::unordered_map<int, int> indegree;
    for (int u : region)
      for_members(u, [&](int m) {
        for (int q : preds_[m])
          if (unit_[q] != u && seen_[unit_[q]] == stamp_) ++indegree[u];
      });
    std::vector<int> ready;
    for (int u : region)
      if (!indegree.count(u)) ready.push_back(u);
    int next = lo;
    while (!ready.empty()) {
      const int u = ready.back();
      ready.pop_back();
      pos_[u] = next;
      slot_[next++] = u;
      for_members(u, [&](int m) {
        for (int c : succs_[m])
          if (unit_[c] != u && seen_[unit_[c]] == stamp_ && --indegree[unit_[c]] == 0)
            ready.push_back(unit_[c]);
      });
    }
    if (next - lo != static_cast<int>(region.size()))
      throw Error("internal: elementwise fusion made a cycle");
    for (int s = next; s <= hi; ++s) slot_[s] = -1;
  }

  // ---- building the fused graph ----

  Var lookup(const Var& v) const {
    auto it = memo_.find(v.get());
    return it == memo_.end() ? v : it->second;
  }

  // The rebuilt equivalent of a node's input; its unit must have been built.
  Var input(const Var& v) const {
    if (v->owner && !built_[unit_[index_.at(v->owner)]])
      throw Error("internal: elementwise fusion built a node before its input " +
                  v->display_name());
    return lookup(v);
  }

  std::vector<Var> rebuild() {
    std::vector<int> units;
    for (int i = 0; i < static_cast<int>(order_.size()); ++i)
      if (unit_[i] == i || roots_[unit_[i] - order_.size()] == i)
        units.push_back(unit_[i]);
    std::sort(units.begin(), units.end(),
              [&](int a, int b) { return pos_[a] < pos_[b]; });
    built_.assign(pos_.size(), false);
    for (int u : units) {
      if (u < static_cast<int>(order_.size()))
        rebuild_node(*order_[u]);
      else
        build_group(u - static_cast<int>(order_.size()));
      built_[u] = true;
    }
    std::vector<Var> result;
    for (const Var& o : outputs_) result.push_back(lookup(o));
    return result;
  }

  void rebuild_node(const Apply& node) {
    std::vector<Var> inputs;
    bool changed = false;
    for (const Var& in : node.inputs) {
      inputs.push_back(input(in));
      changed = changed || !inputs.back().same(in);
    }
    OpPtr op = node.op;
    if (!op->inner_graphs().empty()) {
      OpPtr inner = op->with_rewritten_inner(
          [this](const std::vector<Var>& outs) { return fuse(outs, stats_); });
      if (inner) op = inner, changed = true;
    }
    if (!changed) return;
    std::vector<Var> outs = make_node(op, inputs, node.loc);
    for (int i = 0; i < node.num_outputs(); ++i) replace(node.output(i), outs[i]);
  }

  void replace(const Var& old, const Var& now) {
    if (now->type.dtype != old->type.dtype || now->type.ndim() != old->type.ndim())
      throw Error("internal: fusion changed the type of " + old->display_name() +
                  " from " + old->type.str() + " to " + now->type.str());
    if (now->name.empty()) now->name = old->name;
    memo_[old.get()] = now;
  }

  // Renumbers the inputs in the order the op's name first mentions them, so
  // that names read naturally: "mul(i0, add(i1, 1.0))".
  static void number_inputs_as_printed(ScalarGraph* sg, std::vector<Var>* inputs) {
    std::vector<int> seen;
    sg->str(&seen);
    if (seen.size() != inputs->size()) return;  // an input no node reads: keep all
    std::vector<int> renumbered(seen.size());
    std::vector<Var> vars;
    std::vector<DType> dtypes;
    for (size_t k = 0; k < seen.size(); ++k) {
      renumbered[seen[k]] = static_cast<int>(k);
      vars.push_back((*inputs)[seen[k]]);
      dtypes.push_back(sg->inputs[seen[k]]);
    }
    for (ScalarNode& n : sg->nodes)
      for (ScalarRef& r : n.args)
        if (r.kind == ScalarRef::Kind::Input) r.index = renumbered[r.index];
    *inputs = std::move(vars);
    sg->inputs = std::move(dtypes);
  }

  void build_group(int g) {
    const std::vector<int>& group = members_[g];
    const int root = roots_[g];
    const bool is_reduce = reduce_group_[g];
    std::unordered_map<const Apply*, int> node_of;
    std::unordered_map<const Variable*, int> input_of, constant_of;
    std::vector<Var> inputs;
    ScalarGraph sg;
    for (int m : group) {
      if (is_reduce && m == root) continue;
      const Apply& node = *order_[m];
      const Elemwise& e = *as_elemwise(&node);
      ScalarNode sn;
      sn.op = e.scalar_op().id;
      sn.cast_to = e.cast_to();
      sn.dtypes = e.dtypes(node.inputs);
      ScalarNodeOrigin origin;
      origin.label = node.op->name() +
                     (node.loc.known() ? " (created at " + node.loc.str() + ")" : "");
      // A size-1 constant becomes a literal of the graph unless it alone gives the
      // node its number of dims.
      int widest = -1;
      for (const Var& in : node.inputs)
        if (!in->is_constant()) widest = std::max(widest, in.ndim());
      for (const Var& in : node.inputs) {
        origin.operand_names.push_back(in->display_name());
        auto n = in->owner ? node_of.find(in->owner) : node_of.end();
        if (n != node_of.end()) {
          sn.args.push_back({ScalarRef::Kind::Node, n->second});
        } else if (in->is_constant() && in->constant_value.size() == 1 &&
                   in.ndim() <= widest) {
          auto [it, fresh] = constant_of.emplace(in.get(), sg.constants.size());
          if (fresh)
            sg.constants.push_back(
                {in->constant_value.contiguous().reshape({}), in->weak});
          sn.args.push_back({ScalarRef::Kind::Constant, it->second});
        } else {
          auto [it, fresh] = input_of.emplace(in.get(), inputs.size());
          if (fresh) {
            inputs.push_back(input(in));
            sg.inputs.push_back(in.dtype());
          }
          sn.args.push_back({ScalarRef::Kind::Input, it->second});
        }
      }
      node_of[&node] = static_cast<int>(sg.nodes.size());
      sg.nodes.push_back(std::move(sn));
      sg.origins.push_back(std::move(origin));
    }
    const Apply& root_node = *order_[root];
    if (stats_) {
      stats_->fired["fusion_groups"]++;
      stats_->fired["fused_nodes"] += static_cast<int>(group.size());
    }
    if (is_reduce) {
      sg.outputs.push_back(node_of.at(root_node.inputs[0]->owner));
      number_inputs_as_printed(&sg, &inputs);
      if (stats_) stats_->fired["fused_reductions"]++;
      auto reduce = std::dynamic_pointer_cast<const Reduce>(root_node.op);
      replace(root_node.output(0),
              fused_reduce(std::move(sg), reduce, inputs, root_node.loc));
      return;
    }
    // The exits: nodes read outside the group, or outputs of the graph.
    std::vector<Var> exits;
    for (int m : group) {
      Var out = order_[m]->output(0);
      bool exit = m == root || is_graph_output(out.get());
      for (int c : clients(out.get())) exit = exit || unit_[c] != unit_[m];
      if (!exit) continue;
      sg.outputs.push_back(node_of.at(order_[m]));
      exits.push_back(out);
    }
    number_inputs_as_printed(&sg, &inputs);
    std::vector<Var> outs = fused_elemwise(std::move(sg), inputs, root_node.loc);
    for (size_t i = 0; i < exits.size(); ++i) replace(exits[i], outs[i]);
  }

  // The most units a path search visits before it gives up and keeps the
  // groups apart, which bounds the pass's time on huge, dense graphs.
  static constexpr int kSearchBudget = 2000;

  std::vector<Var> outputs_;
  RewriteStats* stats_;
  std::vector<Apply*> order_;
  SymbolicShapes shapes_;
  std::unordered_map<const Apply*, int> index_;
  std::unordered_map<const Variable*, std::vector<int>> clients_;
  std::unordered_set<const Variable*> graph_outputs_;

  // The contracted graph: unit_[i] is node i's unit (i itself, or the id of its
  // group, counted from the number of nodes), pos_ a topological order of units.
  std::vector<int> unit_, pos_;
  std::vector<int> slot_;                        // the unit at each position, or -1
  std::vector<std::vector<int>> preds_, succs_;  // producers and readers per node
  std::vector<std::vector<int>> members_;        // per group, by increasing node index
  std::vector<int> roots_;
  std::vector<bool> reduce_group_;
  std::vector<char> in_group_;  // the group being grown
  std::vector<int> seen_;
  int stamp_ = 0;

  std::unordered_map<const Variable*, Var> memo_;
  std::vector<bool> built_;  // per unit
};

}  // namespace

std::vector<Var> fuse(const std::vector<Var>& outputs, RewriteStats* stats) {
  return Fuser(outputs, stats).run();
}

}  // namespace theanine
