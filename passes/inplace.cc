#include "passes/inplace.h"

#include <algorithm>
#include <queue>
#include <string>
#include <unordered_set>
#include <utility>

#include "graph/fgraph.h"
#include "graph/op.h"

namespace theanine {

int InplacePlan::reused_input(const Apply* node, int out) const {
  auto it = reuse.find(node);
  if (it == reuse.end() || out >= static_cast<int>(it->second.size())) return -1;
  return it->second[out];
}

namespace {

using Roots = std::vector<const Variable*>;

// The planner's view of the graph: nodes by index, the buffers ("roots") each
// variable may share memory with, and who reads each buffer.
class Planner {
 public:
  explicit Planner(const std::vector<Var>& outputs) : nodes_(toposort(outputs)) {
    const int n = static_cast<int>(nodes_.size());
    for (int i = 0; i < n; ++i) index_[nodes_[i]] = i;
    succ_.resize(n);
    pred_.resize(n);
    extra_.resize(n);
    extra_pred_.resize(n);
    for (int i = 0; i < n; ++i) {
      Apply* node = nodes_[i];
      Roots read, viewed;
      const std::vector<int> viewed_in = node->op->viewed_inputs(*node);
      for (size_t k = 0; k < node->inputs.size(); ++k) {
        const Var& in = node->inputs[k];
        for (const Variable* b : roots_of(in.get())) {
          add_unique(read, b);
          if (std::find(viewed_in.begin(), viewed_in.end(), static_cast<int>(k)) !=
              viewed_in.end())
            add_unique(viewed, b);
        }
        if (in->owner) {
          const int p = index_.at(in->owner);
          add_unique(succ_[p], i);
          add_unique(pred_[i], p);
        }
      }
      for (const Variable* b : read) readers_[b].push_back(i);
      // Non-view ops return new buffers; a view op's outputs may alias what
      // its viewed inputs alias (assuming more aliasing only forbids more).
      for (int o = 0; o < node->num_outputs(); ++o) {
        Variable* out = node->output_ptr(o);
        roots_[out] = node->op->is_view() ? viewed : Roots{out};
      }
    }
    for (const Var& o : outputs)
      for (const Variable* b : roots_of(o.get())) read_at_end_.insert(b);
  }

  InplacePlan run(RewriteStats* stats) {
    const int n = static_cast<int>(nodes_.size());
    std::vector<int> identity(n);
    for (int i = 0; i < n; ++i) identity[i] = i;
    set_order(schedule(identity));

    InplacePlan plan;
    const std::vector<int> visit = order_;
    for (int i : visit) {
      Apply* node = nodes_[i];
      const std::vector<int> candidates = node->op->overwritable_inputs(*node);
      if (candidates.empty()) continue;
      std::vector<int> reuse(node->num_outputs(), -1);
      bool any = false;
      for (int o = 0; o < node->num_outputs(); ++o) {
        for (int k : candidates) {
          if (!try_overwrite(i, o, k)) continue;
          reuse[o] = k;
          any = true;
          if (stats) ++stats->fired["inplace"];
          break;
        }
      }
      if (any) plan.reuse[node] = std::move(reuse);
    }
    for (int p : schedule(pos_)) plan.order.push_back(nodes_[p]);
    return plan;
  }

 private:
  const Roots& roots_of(const Variable* v) {
    auto it = roots_.find(v);
    if (it != roots_.end()) return it->second;
    return roots_[v] = Roots{v};  // a free variable is its own buffer
  }

  static void add_unique(std::vector<const Variable*>& v, const Variable* x) {
    if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
  }
  static void add_unique(std::vector<int>& v, int x) {
    if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
  }

  // Whether output o of node i may take input k's buffer; on success the
  // schedule gains the order it needs (every other reader of the buffer first).
  bool try_overwrite(int i, int o, int k) {
    Apply* node = nodes_[i];
    const Var& in = node->inputs[k];
    const TensorType &ti = in->type, &to = node->output_ptr(o)->type;
    if (ti.dtype != to.dtype || ti.ndim() != to.ndim()) return false;
    for (int d = 0; d < ti.ndim(); ++d)
      if (ti.shape[d] >= 0 && to.shape[d] >= 0 && ti.shape[d] != to.shape[d])
        return false;

    const Roots roots = roots_of(in.get());
    for (const Variable* b : roots) {
      if (destroyed_.count(b) || read_at_end_.count(b)) return false;
      // Memory the caller, a constant or a shared variable owns is never
      // overwritten. Not even by a shared variable's own update: a later
      // failure in the same call would leave the parameter half-updated.
      // Updates go to recycled buffers and are committed together instead.
      if (!b->owner) return false;
      // Another operand seeing the buffer through another variable (a view)
      // would read elements this node already overwrote.
      for (size_t j = 0; j < node->inputs.size(); ++j) {
        const Var& other = node->inputs[j];
        if (static_cast<int>(j) == k || other.same(in)) continue;
        const Roots& r = roots_of(other.get());
        if (std::find(r.begin(), r.end(), b) != r.end()) return false;
      }
    }
    // Every other reader must be able to run first: move it (and what it
    // needs) before this node, unless it depends on this node.
    std::vector<int> later;
    for (const Variable* b : roots)
      for (int r : readers_[b])
        if (r != i && pos_[r] > pos_[i]) add_unique(later, r);
    std::sort(later.begin(), later.end(),
              [&](int a, int b) { return pos_[a] < pos_[b]; });
    for (int r : later) {
      if (pos_[r] < pos_[i]) continue;  // an earlier move took it along
      std::vector<int> after, before;
      if (!collect(i, pos_[r], /*forward=*/true, after) || seen_[r] == stamp_)
        return false;
      if (!collect(r, pos_[i], /*forward=*/false, before)) return false;
      move_before(before, after);
    }
    for (const Variable* b : roots) {
      for (int r : readers_[b]) {
        if (r == i) continue;
        extra_[r].push_back(i);
        extra_pred_[i].push_back(r);
      }
      destroyed_.insert(b);
    }
    return true;
  }

  // The nodes reachable from `from` (itself included) through data and order
  // edges, forward (those scheduled no later than `bound`) or backward (no
  // earlier than `bound`); a valid schedule puts every node on a path between
  // the two within those bounds. False past kSearchBudget nodes: giving up an
  // overwrite costs only an allocation, and keeps the pass linear in the size
  // of big graphs.
  static constexpr size_t kSearchBudget = 1024;
  bool collect(int from, int bound, bool forward, std::vector<int>& found) {
    ++stamp_;
    if (seen_.size() != nodes_.size()) seen_.assign(nodes_.size(), 0);
    found.assign(1, from);
    seen_[from] = stamp_;
    for (size_t next = 0; next < found.size(); ++next) {
      const int x = found[next];
      for (const std::vector<int>* edges :
           {forward ? &succ_[x] : &pred_[x], forward ? &extra_[x] : &extra_pred_[x]})
        for (int y : *edges) {
          if (seen_[y] == stamp_ || (forward ? pos_[y] > bound : pos_[y] < bound))
            continue;
          seen_[y] = stamp_;
          found.push_back(y);
          if (found.size() > kSearchBudget) return false;
        }
    }
    return true;
  }

  // Reorders so that `before` (a reader and what it needs) runs ahead of
  // `after` (the overwriting node and what needs it), within the positions
  // they occupy, each set keeping its own order (Pearce and Kelly's dynamic
  // topological order): every edge stays forward.
  void move_before(std::vector<int> before, std::vector<int> after) {
    auto by_pos = [&](int a, int b) { return pos_[a] < pos_[b]; };
    std::sort(before.begin(), before.end(), by_pos);
    std::sort(after.begin(), after.end(), by_pos);
    std::vector<int> slots;
    for (int x : before) slots.push_back(pos_[x]);
    for (int x : after) slots.push_back(pos_[x]);
    std::sort(slots.begin(), slots.end());
    size_t k = 0;
    for (const std::vector<int>* group : {&before, &after})
      for (int x : *group) {
        pos_[x] = slots[k++];
        order_[pos_[x]] = x;
      }
  }

  // A topological order of data and constraint edges: among ready nodes, by
  // `rank`.
  std::vector<int> schedule(const std::vector<int>& rank) {
    const int n = static_cast<int>(nodes_.size());
    std::vector<int> indegree(n, 0);
    for (int x = 0; x < n; ++x) {
      for (int y : succ_[x]) ++indegree[y];
      for (int y : extra_[x]) ++indegree[y];
    }
    using Key = std::pair<int, int>;
    std::priority_queue<Key, std::vector<Key>, std::greater<Key>> ready;
    for (int x = 0; x < n; ++x)
      if (indegree[x] == 0) ready.push({rank[x], x});
    std::vector<int> order;
    order.reserve(n);
    while (!ready.empty()) {
      int x = ready.top().second;
      ready.pop();
      order.push_back(x);
      for (const std::vector<int>* edges : {&succ_[x], &extra_[x]})
        for (int y : *edges)
          if (--indegree[y] == 0) ready.push({rank[y], y});
    }
    return order;
  }

  void set_order(std::vector<int> order) {
    order_ = std::move(order);
    pos_.assign(nodes_.size(), 0);
    for (size_t p = 0; p < order_.size(); ++p) pos_[order_[p]] = static_cast<int>(p);
  }

  std::vector<Apply*> nodes_;
  std::unordered_map<const Apply*, int> index_;
  std::vector<std::vector<int>> succ_, pred_;  // data: producer -> consumers
  // Order: a reader of a buffer -> the node overwriting it, and back.
  std::vector<std::vector<int>> extra_, extra_pred_;
  std::unordered_map<const Variable*, Roots> roots_;
  std::unordered_map<const Variable*, std::vector<int>> readers_;
  std::unordered_set<const Variable*> read_at_end_;
  std::unordered_set<const Variable*> destroyed_;
  std::vector<int> order_, pos_;
  std::vector<int> seen_;
  int stamp_ = 0;
};

}  // namespace

InplacePlan plan_inplace(const std::vector<Var>& outputs, RewriteStats* stats) {
  return Planner(outputs).run(stats);
}

}  // namespace theanine
