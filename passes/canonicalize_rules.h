#pragma once
// The canonicalize phase's rules, grouped by file, and the helpers they share
// (internal to passes/canonicalize*.cc).
#include <optional>
#include <string>
#include <vector>

#include "graph/variable.h"
#include "passes/rewriter.h"

namespace theanine::canon {

// Elementwise algebra (canonicalize_arith.cc): neutral and absorbing elements,
// negations (also out of sums), constant collection, division by a constant,
// small powers.
void add_arith_rules(RuleSet* rules);
// Views and shapes (canonicalize_shape.cc): dimshuffle and reshape chains,
// shapes known statically, shapes read through elementwise ops.
void add_shape_rules(RuleSet* rules);
// Nodes that compute nothing (canonicalize_useless.cc): casts, allocs, fills,
// full subtensors, reductions over no axes, sum_to of a same-shaped gradient,
// and allocs and fills that an elementwise op's broadcast makes redundant.
void add_useless_rules(RuleSet* rules);

// ---- helpers (canonicalize.cc) ----------------------------------------------

// A binary node's operands split into a constant `c` and the other one `x`, for
// a commutative op (either order) or, with `c_second`, only as (x, c). Null
// `x` when the node does not have that form.
struct Split {
  Var x, c;
};
Split split_constant(const Apply& node, bool c_second = false);

// True when x's run-time shape always equals the broadcast of x and `other`,
// and broadcasting them cannot fail: every dim of `other` is 1 or a dim x is
// known to have.
bool covers(const Var& x, const Var& other);

// True when `v` may replace `out`: same dtype and ndim, and every dim `out`
// knows is known to `v` with the same value (what the engine demands).
bool fits(const Var& v, const Var& out);

// `v` as a strong variable: a weak literal becomes a strong constant of its
// dtype, so that it no longer adopts its partner's dtype when rebuilt.
Var strong(const Var& v);

// A strong constant holding `value`.
Var constant_of(const NDArray& value);

// Every element of `out` set to `value`, in out's dtype and shape, for a node
// whose inputs broadcast to `out`: an alloc of constant dims (folded when small)
// when every input's shape is known (the broadcast was then checked at build
// time; the inputs are no longer computed), else a fill of the input that
// covers the others (which keeps the run-time shape check). Null when neither
// applies.
Var filled(const Apply& node, double value);

// The operand of an elementwise node that gives the result its shape: one of
// the result's ndim that covers every other operand (so broadcasting cannot
// fail); null when none does.
const Var* covering_operand(const Apply& node);

// True when a's dim i equals b's dim j at run time whenever both are computed
// without error: the same variable, equal known dims, an alloc whose entry is
// shape_i of the other, or an elementwise result whose covering operand has the
// dim (looked through a few levels).
bool same_dim(const Var& a, int i, const Var& b, int j, int depth = 4);

// The scalar op name of v's producer when it is an Elemwise, else "".
std::string producer_name(const Var& v);

// Convenience for rule bodies.
using Vars = std::vector<Var>;
inline Vars none() { return {}; }
inline Vars one(const Var& v) { return v ? Vars{v} : Vars{}; }

}  // namespace theanine::canon
