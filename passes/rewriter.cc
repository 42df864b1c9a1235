#include "passes/rewriter.h"

#include <cstring>
#include <unordered_map>

#include "graph/fgraph.h"
#include "graph/op.h"
#include "ops/elemwise.h"
#include "ops/op_util.h"
#include "ops/shape_ops.h"
#include "runtime/error.h"

namespace theanine {

int RewriteContext::clients(const Variable* v) const {
  auto it = client_count.find(v);
  return it == client_count.end() ? 0 : it->second;
}

bool RewriteContext::is_output(const Variable* v) const { return outputs.count(v) > 0; }

std::string op_kind(const Apply& node) {
  std::string n = node.op->name();
  return n.substr(0, n.find('{'));
}

std::string elemwise_name(const Apply& node) {
  auto* e = dynamic_cast<const Elemwise*>(node.op.get());
  return e ? e->scalar_op().name : "";
}

const Apply* elemwise_producer(const Var& v, const std::string& name) {
  if (!v->owner || elemwise_name(*v->owner) != name) return nullptr;
  return v->owner;
}

bool is_constant_value(const Var& v, double value) {
  if (!v->is_constant()) return false;
  const NDArray& a = v->constant_value;
  for (int64_t i = 0; i < a.size(); ++i)
    if (a.item_double(i) != value) return false;
  return true;
}

Var like(const Var& v, const Var& original) {
  Var r = v->type.dtype == original->type.dtype ? v : cast(v, original->type.dtype);
  if (r->type.ndim() > original->type.ndim())
    return r;  // a rule bug; the engine reports it
  // A dim of r known to be 1 where the original's is unknown may be one that
  // broadcast to the original's size: only dims known > 1 are proof enough.
  bool same_shape = r->type.ndim() == original->type.ndim();
  for (int i = 0; same_shape && i < r->type.ndim(); ++i)
    same_shape = r->type.shape[i] == original->type.shape[i] ||
                 (original->type.shape[i] < 0 && r->type.shape[i] > 1);
  if (same_shape) return r;
  // Broadcast to the original's shape when the replacement is smaller or less
  // known (x * 1 where x broadcast against the constant). The dims are read
  // from the original; canonicalize's shape lifting later reads them from its
  // inputs instead, so the replaced node is not kept alive for its shape.
  std::vector<Var> dims;
  for (int i = 0; i < original->type.ndim(); ++i)
    dims.push_back(
        original->type.shape[i] >= 0
            ? scalar_constant(static_cast<double>(original->type.shape[i]), DType::Int64)
            : shape_i(original, i));
  return alloc(r, dims);
}

namespace {

struct NodeKey {
  const Op* op;
  std::vector<const Variable*> inputs;
};

class Rewriter {
 public:
  Rewriter(const RuleSet& rules, RewriteStats* stats, int max_sweeps)
      : stats_(stats), max_sweeps_(max_sweeps) {
    for (const Rule& r : rules) {
      if (r.kinds.empty()) any_kind_.push_back(&r);
      for (const std::string& k : r.kinds) by_kind_[k].push_back(&r);
    }
    all_rules_ = rules;
  }

  std::vector<Var> run(std::vector<Var> outputs) {
    // A budget of rule firings, so rules that keep undoing each other (a bug)
    // cannot blow the graph up before the sweep bound is reached.
    fire_budget_ = 64 * static_cast<int64_t>(toposort(outputs).size()) + 256;
    for (int sweep = 0; sweep < max_sweeps_; ++sweep) {
      changed_ = false;
      count_clients(outputs);
      memo_.clear();
      for (Apply* node : toposort(outputs)) visit(node, sweep == 0);
      for (Var& o : outputs) o = lookup(o);
      if (!changed_) break;
    }
    return outputs;
  }

 private:
  void count_clients(const std::vector<Var>& outputs) {
    ctx_ = RewriteContext();
    for (const Var& o : outputs) {
      ctx_.client_count[o.get()]++;
      ctx_.outputs[o.get()] = true;
    }
    for (Apply* node : toposort(outputs))
      for (const Var& in : node->inputs) ctx_.client_count[in.get()]++;
  }

  Var lookup(const Var& v) {
    auto it = memo_.find(v.get());
    if (it != memo_.end()) return it->second;
    if (v->is_constant()) return merge_constant(v);
    return v;
  }

  // One variable per distinct constant value: equal constants become one.
  Var merge_constant(const Var& c) {
    const NDArray& a = c->constant_value;
    NDArray contig = a.contiguous();
    // Weak literals adopt their partner's dtype when a node is (re)built, so a
    // weak and a strong constant of equal value are not interchangeable.
    std::string key(c->weak ? "weak " : "");
    key += dtype_name(a.dtype());
    key += shape_str(a.shape());
    key.append(static_cast<const char*>(contig.raw()), contig.nbytes());
    auto [it, inserted] = constants_.emplace(std::move(key), c);
    return it->second;
  }

  // The existing node equal to (op, inputs), or a new one; the result's
  // outputs replace node's outputs.
  std::vector<Var> build(const Apply* node, OpPtr op, const std::vector<Var>& inputs) {
    size_t h = op->hash();
    for (const Var& in : inputs) h = h * 1000003u ^ std::hash<const void*>()(in.get());
    auto& bucket = nodes_[h];
    for (const std::shared_ptr<Apply>& cand : bucket) {
      if (cand->inputs.size() != inputs.size() || !cand->op->equals(*op)) continue;
      bool same = true;
      for (size_t i = 0; same && i < inputs.size(); ++i)
        same = cand->inputs[i].same(inputs[i]);
      if (same) {
        if (cand.get() != node) changed_ = true;
        return cand->outputs();
      }
    }
    bool unchanged = node && op == node->op;
    for (size_t i = 0; unchanged && i < inputs.size(); ++i)
      unchanged = node->inputs[i].same(inputs[i]);
    std::shared_ptr<Apply> result;
    if (unchanged) {
      result = std::const_pointer_cast<Apply>(node->shared_from_this());
    } else {
      changed_ = true;
      std::vector<Var> outs = make_node(op, inputs, node ? node->loc : SourceLoc());
      for (size_t i = 0; node && i < outs.size(); ++i)
        if (outs[i]->type.dtype != node->output_ptr(i)->type.dtype ||
            outs[i]->type.ndim() != node->output_ptr(i)->type.ndim())
          throw Error("internal: rebuilding " + op->name() +
                      " changed its output type from " + node->output_ptr(i)->type.str() +
                      " to " + outs[i]->type.str());
      result = std::const_pointer_cast<Apply>(outs[0]->owner->shared_from_this());
    }
    bucket.push_back(result);
    return result->outputs();
  }

  bool try_fold(const Apply& node, std::vector<Var>* out) {
    for (const Var& in : node.inputs)
      if (!in->is_constant()) return false;
    for (int i = 0; i < node.num_outputs(); ++i) {
      const TensorType& t = node.output_ptr(i)->type;
      if (!t.shape_known() || shape_size(t.shape) > kMaxFoldSize) return false;
    }
    std::vector<NDArray> args;
    for (const Var& in : node.inputs) args.push_back(in->constant_value);
    std::vector<NDArray> values;
    try {
      values = node.op->perform(node, args);
    } catch (const Error&) {
      return false;  // leave it: the error surfaces at run time, with its line
    }
    if (absorbs(node, args, values[0])) return false;
    out->clear();
    for (int i = 0; i < node.num_outputs(); ++i) {
      Var c = make_constant(values[i].copy(), node.output_ptr(i)->name);
      out->push_back(merge_constant(c));
    }
    if (stats_) stats_->fired["constant_folding"]++;
    changed_ = true;
    return true;
  }

  // A float addition whose result equals one operand although the other is
  // not zero lost that operand to rounding (1 + 1e-20). Folding it would hide
  // the small term from stabilize rules (log(1 + c) -> log1p(c)), so it waits.
  static bool absorbs(const Apply& node, const std::vector<NDArray>& in,
                      const NDArray& out) {
    const std::string op = elemwise_name(node);
    if ((op != "add" && op != "sub") || !is_float(out.dtype())) return false;
    for (int k = 0; k < 2; ++k) {
      NDArray a = in[k].broadcast_to(out.shape()),
              b = in[1 - k].broadcast_to(out.shape());
      for (int64_t i = 0; i < out.size(); ++i)
        if (out.item_double(i) == a.item_double(i) && b.item_double(i) != 0) return true;
    }
    return false;
  }

  void check_replacement(const Rule& rule, const Apply& node,
                         const std::vector<Var>& repl) {
    if (static_cast<int>(repl.size()) != node.num_outputs())
      throw Error("internal: rewrite rule '" + rule.name + "' gave " +
                  std::to_string(repl.size()) + " replacements for " +
                  std::to_string(node.num_outputs()) + " outputs of " + node.op->name());
    for (int i = 0; i < node.num_outputs(); ++i) {
      const TensorType &old_t = node.output_ptr(i)->type, &new_t = repl[i]->type;
      bool ok = old_t.dtype == new_t.dtype && old_t.ndim() == new_t.ndim();
      for (int d = 0; ok && d < old_t.ndim(); ++d)
        ok = old_t.shape[d] < 0 || old_t.shape[d] == new_t.shape[d];
      if (!ok)
        throw Error("internal: rewrite rule '" + rule.name + "' replaced " +
                    node.op->name() + " of type " + old_t.str() + " by a value of type " +
                    new_t.str());
    }
  }

  // Applies the rules to the node producing `outs`, then to each replacement's
  // node, a bounded number of times.
  std::vector<Var> apply_rules(std::vector<Var> outs) {
    for (int round = 0; round < kMaxLocalRounds; ++round) {
      const Apply* node = outs[0]->owner;
      if (!node) return outs;
      bool fired = false;
      if (fire_budget_ <= 0) return outs;
      auto try_rules = [&](const std::vector<const Rule*>& rules) {
        for (const Rule* r : rules) {
          std::vector<Var> repl = r->fn(*node, ctx_);
          if (repl.empty()) continue;
          check_replacement(*r, *node, repl);
          if (stats_) stats_->fired[r->name]++;
          --fire_budget_;
          changed_ = fired = true;
          outs = repl;
          return;
        }
      };
      auto it = by_kind_.find(op_kind(*node));
      if (it != by_kind_.end()) try_rules(it->second);
      if (!fired) try_rules(any_kind_);
      if (!fired) return outs;
      // A replacement that is a node's output in full (not one of several)
      // gets the rules again.
      if (!outs[0]->owner ||
          outs[0]->owner->num_outputs() != static_cast<int>(outs.size()))
        return outs;
      for (size_t i = 0; i < outs.size(); ++i)
        if (outs[i]->owner != outs[0]->owner || outs[i]->index != static_cast<int>(i))
          return outs;
    }
    return outs;
  }

  void visit(Apply* node, bool rewrite_inner) {
    std::vector<Var> inputs;
    for (const Var& in : node->inputs) inputs.push_back(lookup(in));
    OpPtr op = node->op;
    if (rewrite_inner && !op->inner_graphs().empty()) {
      OpPtr inner = op->with_rewritten_inner([this](const std::vector<Var>& outs) {
        Rewriter sub(all_rules_, stats_, max_sweeps_);
        return sub.run(outs);
      });
      if (inner) op = inner;
    }
    std::vector<Var> outs = build(node, op, inputs);
    std::vector<Var> folded;
    if (try_fold(*outs[0]->owner, &folded)) {
      outs = folded;
    } else {
      outs = apply_rules(outs);
    }
    for (int i = 0; i < node->num_outputs(); ++i) {
      if (!outs[i]->name.size() && node->output_ptr(i)->name.size() &&
          !outs[i]->is_constant())
        outs[i]->name = node->output_ptr(i)->name;
      memo_[node->output_ptr(i)] = outs[i];
    }
  }

  static constexpr int64_t kMaxFoldSize = 1 << 16;
  static constexpr int kMaxLocalRounds = 16;

  RewriteStats* stats_;
  int max_sweeps_;
  RuleSet all_rules_;
  std::unordered_map<std::string, std::vector<const Rule*>> by_kind_;
  std::vector<const Rule*> any_kind_;
  RewriteContext ctx_;
  bool changed_ = false;
  int64_t fire_budget_ = 0;
  std::unordered_map<const Variable*, Var> memo_;
  std::unordered_map<size_t, std::vector<std::shared_ptr<Apply>>> nodes_;
  std::unordered_map<std::string, Var> constants_;
};

}  // namespace

std::vector<Var> rewrite(const std::vector<Var>& outputs, const RuleSet& rules,
                         RewriteStats* stats, int max_sweeps) {
  Rewriter r(rules, stats, max_sweeps);
  return r.run(outputs);
}

}  // namespace theanine
