// Views and shapes: chains of dimshuffles and reshapes collapse into one, and
// shapes known statically become constants, so that later rules and constant
// folding see them.
#include <optional>

#include "ops/elemwise.h"
#include "ops/op_util.h"
#include "ops/shape_ops.h"
#include "ops/subtensor.h"
#include "passes/canonicalize_rules.h"

namespace theanine::canon {
namespace {

template <class OpT>
const OpT* op_of(const Var& v) {
  return v->owner ? dynamic_cast<const OpT*>(v->owner->op.get()) : nullptr;
}

bool is_identity(const std::vector<int>& pattern, int ndim) {
  if (static_cast<int>(pattern.size()) != ndim) return false;
  for (int i = 0; i < ndim; ++i)
    if (pattern[i] != i) return false;
  return true;
}

// True when v is shape_i(x, d).
bool is_shape_i(const Var& v, const Var& x, int d) {
  const ShapeIOp* s = op_of<ShapeIOp>(v);
  return s && s->i() == d && v->owner->inputs[0].same(x);
}

// dimshuffle(dimshuffle(x, p1), p2) -> dimshuffle(x, p1 o p2), or x itself when
// the composition is the identity. Dims the inner one dropped stay dropped (they
// are known to be 1), and dims the outer one drops are known to be 1 too.
Vars dimshuffle_dimshuffle(const Apply& node, const RewriteContext&) {
  auto* outer = dynamic_cast<const DimShuffleOp*>(node.op.get());
  const DimShuffleOp* inner = op_of<DimShuffleOp>(node.inputs[0]);
  if (!outer || !inner) return none();
  const Var& x = node.inputs[0]->owner->inputs[0];
  std::vector<int> pattern;
  for (int p : outer->pattern()) pattern.push_back(p < 0 ? -1 : inner->pattern()[p]);
  Var r = is_identity(pattern, x.ndim()) ? x : dimshuffle(x, pattern);
  return fits(r, node.output(0)) ? Vars{r} : none();
}

// dimshuffle(x, (0, 1, ..., n-1)) -> x
Vars useless_dimshuffle(const Apply& node, const RewriteContext&) {
  auto* op = dynamic_cast<const DimShuffleOp*>(node.op.get());
  if (!op || !is_identity(op->pattern(), op->input_ndim())) return none();
  return one(node.inputs[0]);
}

// True when reshaping (or flattening) at `node` cannot fail at run time, so
// that skipping it keeps the user's errors: flatten never fails; a reshape
// whose input and output shapes are known was checked when it was built; and
// a reshape to (-1,) or with every other entry 1 fits any size.
bool reshape_cannot_fail(const Apply& node) {
  if (dynamic_cast<const FlattenOp*>(node.op.get())) return true;
  if (!dynamic_cast<const ReshapeOp*>(node.op.get())) return false;
  if (node.inputs[0].type().shape_known() && node.output(0).type().shape_known())
    return true;
  std::optional<NDArray> s = constant_value(node.inputs[1]);
  if (!s) return false;
  int minus_ones = 0;
  for (int64_t i = 0; i < s->size(); ++i) {
    int64_t e = s->item_int(i);
    if (e == -1)
      ++minus_ones;
    else if (e != 1)
      return false;
  }
  return minus_ones == 1;
}

// reshape(reshape(x, s1), s2) -> reshape(x, s2), and the same through a
// flatten, when the inner reshape cannot fail.
Vars reshape_reshape(const Apply& node, const RewriteContext&) {
  auto* outer = dynamic_cast<const ReshapeOp*>(node.op.get());
  const Var& inner = node.inputs[0];
  if (!outer || !inner->owner || !reshape_cannot_fail(*inner->owner)) return none();
  Var r = reshape(inner->owner->inputs[0], node.inputs[1], outer->ndim());
  return fits(r, node.output(0)) ? Vars{r} : none();
}

// What a reshape's shape vector says of entry i: a constant, or that it is
// shape_i(x, i).
struct Entry {
  std::optional<int64_t> value;
  bool is_x_dim = false;
};

std::vector<Entry> shape_entries(const Var& shape, const Var& x, int ndim) {
  std::vector<Entry> r(ndim);
  if (std::optional<NDArray> c = constant_value(shape)) {
    for (int i = 0; i < ndim && i < c->size(); ++i) r[i].value = c->item_int(i);
  } else if (op_of<ShapeOp>(shape) && shape->owner->inputs[0].same(x)) {
    for (Entry& e : r) e.is_x_dim = true;
  } else if (op_of<MakeVectorOp>(shape)) {
    const std::vector<Var>& ins = shape->owner->inputs;
    for (int i = 0; i < ndim && i < static_cast<int>(ins.size()); ++i) {
      r[i].value = constant_int(ins[i]);
      r[i].is_x_dim = is_shape_i(ins[i], x, i);
    }
  }
  return r;
}

// reshape(x, s) -> x when s is x's own shape: each entry x's known dim or
// shape_i(x, i); one entry may be -1 when every other one is a known positive
// dim (with a 0 among them, the -1 would be an error).
Vars useless_reshape(const Apply& node, const RewriteContext&) {
  const Var& x = node.inputs[0];
  const Var out = node.output(0);
  if (auto* f = dynamic_cast<const FlattenOp*>(node.op.get()))
    return f->outdim() == x.ndim() ? Vars{x} : none();
  if (!dynamic_cast<const ReshapeOp*>(node.op.get()) || out.ndim() != x.ndim())
    return none();
  std::vector<Entry> entries = shape_entries(node.inputs[1], x, x.ndim());
  int minus_one = -1;
  bool all_positive_constants = true;
  for (int i = 0; i < x.ndim(); ++i) {
    const Entry& e = entries[i];
    const int64_t dim = x.type().shape[i];
    if (e.value && *e.value == -1 && minus_one < 0) {
      minus_one = i;
      continue;
    }
    bool known_match = e.value && dim >= 0 && *e.value == dim;
    if (!known_match && !e.is_x_dim) return none();
    all_positive_constants &= known_match && dim > 0;
  }
  if (minus_one >= 0 && !all_positive_constants) return none();
  return fits(x, out) ? Vars{x} : none();
}

// shape_i(x, i) -> a constant where x's dim i is known.
Vars shape_i_constant(const Apply& node, const RewriteContext&) {
  auto* op = dynamic_cast<const ShapeIOp*>(node.op.get());
  if (!op) return none();
  const int64_t dim = node.inputs[0].type().shape[op->i()];
  if (dim < 0) return none();
  return {scalar_constant(static_cast<double>(dim), DType::Int64)};
}

// shape_i(f(x, ...), i) -> shape_i of the operand that gives the result its
// shape, for an elementwise f whose operands cannot fail to broadcast (that
// operand covers the others) and that cannot fail otherwise (an integer pow
// can), and through a dimshuffle. The node then no longer needs f computed for
// its shape (a gradient asks the shape of x ** 2 without needing its values).
Vars shape_i_lift(const Apply& node, const RewriteContext&) {
  auto* op = dynamic_cast<const ShapeIOp*>(node.op.get());
  const Var& v = node.inputs[0];
  if (!op || !v->owner) return none();
  const Apply& producer = *v->owner;
  if (auto* ds = op_of<DimShuffleOp>(v)) {
    const int p = ds->pattern()[op->i()];
    if (p < 0) return none();  // a new dim of 1: shape_i_constant's
    return {shape_i(producer.inputs[0], p)};
  }
  const std::string f = elemwise_name(producer);
  if (f.empty() || (f == "pow" && !is_float(v.dtype()))) return none();
  const Var* c = covering_operand(producer);
  return c ? Vars{shape_i(*c, op->i())} : none();
}

// shape(x) -> make_vector of its dims, constants where known, when any is
// known, so that the known ones fold and indexing the vector finds them.
Vars shape_known_dims(const Apply& node, const RewriteContext&) {
  if (!dynamic_cast<const ShapeOp*>(node.op.get())) return none();
  const Var& x = node.inputs[0];
  bool any_known = x.ndim() == 0;
  std::vector<Var> dims;
  for (int d = 0; d < x.ndim(); ++d) {
    const int64_t s = x.type().shape[d];
    any_known |= s >= 0;
    dims.push_back(s >= 0 ? scalar_constant(static_cast<double>(s), DType::Int64)
                          : shape_i(x, d));
  }
  if (!any_known) return none();
  if (x.type().shape_known()) return {int_vector_constant(x.type().shape)};
  return {make_vector(dims, DType::Int64)};
}

// The constant index of a one-entry integer subtensor of a vector of length n,
// normalized into [0, n); nullopt otherwise (an index out of range keeps its
// run-time error).
std::optional<int64_t> vector_index(const Apply& node, int64_t n) {
  auto* op = dynamic_cast<const SubtensorOp*>(node.op.get());
  if (!op || op->spec().size() != 1 || op->spec()[0].kind != IndexEntry::Kind::Int)
    return std::nullopt;
  std::optional<int64_t> i = constant_int(node.inputs[1]);
  if (!i) return std::nullopt;
  const int64_t k = *i < 0 ? *i + n : *i;
  if (k < 0 || k >= n) return std::nullopt;
  return k;
}

// shape(x)[i] -> shape_i(x, i) (then a constant where the dim is known).
Vars shape_subtensor(const Apply& node, const RewriteContext&) {
  const Var& v = node.inputs[0];
  if (!op_of<ShapeOp>(v)) return none();
  const Var& x = v->owner->inputs[0];
  std::optional<int64_t> i = vector_index(node, x.ndim());
  if (!i) return none();
  return {shape_i(x, static_cast<int>(*i))};
}

// make_vector(a, b, ...)[i] -> the i-th element, in the vector's dtype.
Vars subtensor_make_vector(const Apply& node, const RewriteContext&) {
  const Var& v = node.inputs[0];
  const MakeVectorOp* mv = op_of<MakeVectorOp>(v);
  if (!mv) return none();
  const std::vector<Var>& elems = v->owner->inputs;
  std::optional<int64_t> i = vector_index(node, static_cast<int64_t>(elems.size()));
  if (!i) return none();
  Var r = cast(elems[*i], mv->dtype());
  return fits(r, node.output(0)) ? Vars{r} : none();
}

}  // namespace

void add_shape_rules(RuleSet* rules) {
  rules->push_back({"dimshuffle_dimshuffle", {"DimShuffle"}, dimshuffle_dimshuffle});
  rules->push_back({"useless_dimshuffle", {"DimShuffle"}, useless_dimshuffle});
  rules->push_back({"reshape_reshape", {"Reshape"}, reshape_reshape});
  rules->push_back({"useless_reshape", {"Reshape", "Flatten"}, useless_reshape});
  rules->push_back({"shape_i_constant", {"Shape_i"}, shape_i_constant});
  rules->push_back({"shape_i_lift", {"Shape_i"}, shape_i_lift});
  rules->push_back({"shape_known_dims", {"Shape"}, shape_known_dims});
  rules->push_back({"shape_subtensor", {"Subtensor"}, shape_subtensor});
  rules->push_back({"subtensor_make_vector", {"Subtensor"}, subtensor_make_vector});
}

}  // namespace theanine::canon
