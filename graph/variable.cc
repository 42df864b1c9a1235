#include "graph/variable.h"

#include <typeinfo>

#include "graph/op.h"
#include "runtime/cuda_array.h"
#include "runtime/cuda_driver.h"
#include "runtime/error.h"

namespace theanine {

namespace {
std::atomic<uint64_t> g_next_id{1};
}

uint64_t next_variable_id() { return g_next_id.load(); }

const TensorType& Var::type() const { return p_->type; }
DType Var::dtype() const { return p_->type.dtype; }
int Var::ndim() const { return p_->type.ndim(); }

Variable::Variable(TensorType t) : type(std::move(t)), id(g_next_id++) {}

Var Variable::handle() {
  if (owner) return Var(std::shared_ptr<Variable>(owner->shared_from_this(), this));
  return Var(self.lock());
}

std::string Variable::display_name() const {
  if (!name.empty()) return name;
  if (kind == Kind::Constant && constant_value.defined() && constant_value.size() == 1)
    return "TensorConstant{" + std::to_string(constant_value.item_double()) + "}";
  return "<" + type.str() + "> #" + std::to_string(id);
}

std::string Variable::describe() const {
  std::string d = "'" + display_name() + "' of type " + type.str();
  if (loc.known()) d += " (created at " + loc.str() + ")";
  return d;
}

Var make_input(TensorType type, std::string name, const Here& loc) {
  auto v = std::make_shared<Variable>(std::move(type));
  v->self = v;
  v->kind = Variable::Kind::Input;
  v->name = std::move(name);
  v->loc = user_loc(loc);
  return Var(v);
}

Var make_constant(NDArray value, std::string name, bool weak, const Here& loc) {
  auto v = std::make_shared<Variable>(TensorType(value.dtype(), value.shape()));
  v->self = v;
  v->kind = Variable::Kind::Constant;
  v->constant_value = std::move(value);
  v->weak = weak;
  v->name = std::move(name);
  v->loc = user_loc(loc);
  return Var(v);
}

Var make_shared(NDArray value, std::string name, bool borrow, const Here& loc) {
  TensorType t = TensorType::unknown_shape(value.dtype(), value.ndim());
  return make_shared(std::move(value), t, std::move(name), borrow, loc);
}

Var make_shared(NDArray value, TensorType type, std::string name, bool borrow,
                const Here& loc) {
  std::string why = type.mismatch(value);
  if (!why.empty())
    throw TypeError("shared variable '" + name + "': initial value has " + why);
  auto v = std::make_shared<Variable>(std::move(type));
  v->self = v;
  v->kind = Variable::Kind::Shared;
  v->shared = std::make_shared<SharedStorage>();
  if (default_device() == DeviceKind::CUDA)
    v->shared->value = to_device(value);  // a copy whatever `borrow` says
  else
    v->shared->value = borrow ? std::move(value) : value.copy();
  v->name = std::move(name);
  v->loc = user_loc(loc);
  return Var(v);
}

NDArray get_value(const Var& s, bool borrow) {
  if (!s->is_shared()) throw TypeError(s->describe() + " is not a shared variable");
  const NDArray& v = s->shared->value;
  if (borrow) return v;
  return on_device(v) ? to_host(v) : v.copy();
}

DeviceKind shared_device(const Var& s) {
  if (!s->is_shared()) throw TypeError(s->describe() + " is not a shared variable");
  return on_device(s->shared->value) ? DeviceKind::CUDA : DeviceKind::CPU;
}

void move_shared(const Var& s, DeviceKind device) {
  if (!s->is_shared()) throw TypeError(s->describe() + " is not a shared variable");
  NDArray& v = s->shared->value;
  if (device == DeviceKind::CUDA && !on_device(v)) {
    if (!cuda_available())
      throw Error("cannot move " + s->describe() +
                  " to device 'cuda': " + cuda_unavailable_reason());
    v = to_device(v);
  } else if (device == DeviceKind::CPU && on_device(v)) {
    v = to_host(v);
  }
}

void set_value(const Var& s, NDArray value, bool borrow) {
  if (!s->is_shared()) throw TypeError(s->describe() + " is not a shared variable");
  std::string why = s->type.mismatch(value);
  if (!why.empty())
    throw TypeError("set_value of " + s->describe() + ": value has " + why);
  // The variable stays where it lives.
  if (on_device(s->shared->value))
    s->shared->value = !on_device(value) ? to_device(value)
                       : borrow          ? std::move(value)
                                         : value.copy();
  else if (on_device(value))
    s->shared->value = to_host(value);
  else
    s->shared->value = borrow ? std::move(value) : value.copy();
}

Var Apply::output(int i) const {
  return Var(std::shared_ptr<Variable>(shared_from_this(), outputs_.at(i).get()));
}

Apply::~Apply() {
  static thread_local std::vector<Var>* pending = nullptr;
  if (pending) {
    for (Var& v : inputs) pending->push_back(std::move(v));
    return;
  }
  std::vector<Var> work = std::move(inputs);
  pending = &work;
  while (!work.empty()) {
    Var v = std::move(work.back());
    work.pop_back();
    v = Var();  // may destroy an upstream Apply, which queues its inputs in `work`
  }
  pending = nullptr;
}

std::vector<Var> Apply::outputs() const {
  std::vector<Var> r;
  for (int i = 0; i < num_outputs(); ++i) r.push_back(output(i));
  return r;
}

std::shared_ptr<Apply> Apply::create(std::shared_ptr<const Op> op,
                                     std::vector<Var> inputs,
                                     const std::vector<TensorType>& output_types,
                                     SourceLoc loc) {
  auto node = std::make_shared<Apply>();
  node->op = std::move(op);
  node->inputs = std::move(inputs);
  node->loc = loc;
  for (size_t i = 0; i < output_types.size(); ++i) {
    auto v = std::make_unique<Variable>(output_types[i]);
    v->kind = Variable::Kind::Output;
    v->owner = node.get();
    v->index = static_cast<int>(i);
    v->loc = loc;
    node->outputs_.push_back(std::move(v));
  }
  return node;
}

std::vector<Var> make_node(std::shared_ptr<const Op> op, std::vector<Var> inputs,
                           const SourceLoc& loc) {
  for (size_t i = 0; i < inputs.size(); ++i)
    if (!inputs[i])
      throw ValueError(op->name() + ": input " + std::to_string(i) + " is null");
  std::vector<TensorType> types;
  std::string where = op->name() + (loc.known() ? " at " + loc.str() : "");
  try {
    types = op->infer_types(inputs);
  } catch (const Error&) {
    rethrow_with_prefix(where + ": ");
  }
  return Apply::create(std::move(op), std::move(inputs), types, loc)->outputs();
}

Var make_node1(std::shared_ptr<const Op> op, std::vector<Var> inputs,
               const SourceLoc& loc) {
  return make_node(std::move(op), std::move(inputs), loc).at(0);
}

std::vector<Var> Op::grad(const Apply& node, const std::vector<Var>&) const {
  throw TypeError("op " + name() + " (created at " + node.loc.str() +
                  ") is not differentiable");
}

std::vector<int> Op::viewed_inputs(const Apply& node) const {
  std::vector<int> all;
  if (is_view())
    for (size_t k = 0; k < node.inputs.size(); ++k) all.push_back(static_cast<int>(k));
  return all;
}

bool Op::equals(const Op& other) const {
  return typeid(*this) == typeid(other) && name() == other.name();
}

size_t Op::hash() const { return std::hash<std::string>()(name()); }

}  // namespace theanine
