#pragma once
// Variables and Apply nodes: the graph. An Apply owns its output Variables, and a
// handle to an output shares the Apply's reference count (shared_ptr aliasing),
// so holding any output keeps its node, its sibling outputs and everything
// upstream alive, and the graph has no reference cycles.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "graph/source_loc.h"
#include "graph/type.h"
#include "runtime/ndarray.h"

namespace theanine {

class Apply;
class Op;
class Variable;

// The value cell of a shared variable: every function that uses the variable
// reads it at call time, and updates write it.
struct SharedStorage {
  NDArray value;
};

// A handle to a Variable: what users and ops pass around.
class Var {
 public:
  Var() = default;
  Var(std::shared_ptr<Variable> p) : p_(std::move(p)) {}  // NOLINT: implicit by design
  Variable* operator->() const { return p_.get(); }
  Variable& operator*() const { return *p_; }
  Variable* get() const { return p_.get(); }
  const std::shared_ptr<Variable>& ptr() const { return p_; }
  explicit operator bool() const { return p_ != nullptr; }
  bool same(const Var& o) const { return p_ == o.p_; }

  const TensorType& type() const;
  DType dtype() const;
  int ndim() const;

 private:
  std::shared_ptr<Variable> p_;
};

class Variable {
 public:
  enum class Kind { Input, Output, Constant, Shared };

  TensorType type;
  Kind kind = Kind::Input;
  Apply* owner = nullptr;  // set for Kind::Output
  int index = 0;           // which output of owner
  std::string name;
  SourceLoc loc;
  uint64_t id;  // creation order, for stable printing
  // Kind::Constant: the value. `weak` marks a constant made from a Python or C++
  // scalar literal: it takes the dtype of the tensor it meets (NumPy's NEP 50).
  NDArray constant_value;
  bool weak = false;
  // Kind::Shared: the value cell.
  std::shared_ptr<SharedStorage> shared;
  // Kind::Shared: the update function() applies when the caller gives none
  // (Theano's default_update; random streams advance their state with it).
  // Weak, because the expression reads this variable: a strong reference would
  // be a cycle. Whoever holds the random variable keeps the expression alive.
  std::weak_ptr<Variable> default_update;

  explicit Variable(TensorType t);

  Var handle();  // a counted handle to this variable
  // Set for variables without an owner. Not enable_shared_from_this: pybind11
  // would then ignore our aliasing handles and free owned outputs twice.
  std::weak_ptr<Variable> self;
  bool is_constant() const { return kind == Kind::Constant; }
  bool is_shared() const { return kind == Kind::Shared; }
  bool is_input() const { return kind == Kind::Input; }
  // Name when given, else a short generated one ("<float32(?, 3)> #12").
  std::string display_name() const;
  // "name (created at file:line)" for error messages.
  std::string describe() const;
};

// The id the next Variable created will get: variables with an id at or above
// a value read earlier were created since.
uint64_t next_variable_id();

// A symbolic input (what T.matrix() returns).
Var make_input(TensorType type, std::string name = "", const Here& loc = Here::current());
// A constant holding `value` (not copied: the caller gives up mutation rights).
Var make_constant(NDArray value, std::string name = "", bool weak = false,
                  const Here& loc = Here::current());
// A shared variable whose initial value is `value`; with `borrow` the array is
// used as it is, else it is copied. `type` defaults to the value's dtype and ndim
// with unknown dims (dims in `static_shape` or broadcastable stay known).
Var make_shared(NDArray value, std::string name = "", bool borrow = false,
                const Here& loc = Here::current());
Var make_shared(NDArray value, TensorType type, std::string name, bool borrow,
                const Here& loc = Here::current());

// Shared-variable value access with Theano's borrow semantics. A variable on
// the CUDA device gives a host copy, or its device array with `borrow`; a new
// value goes where the variable lives.
NDArray get_value(const Var& shared, bool borrow = false);
void set_value(const Var& shared, NDArray value, bool borrow = false);
// Where a shared variable's value lives (make_shared puts it on
// default_device(), runtime/cuda_array.h), and moving it.
DeviceKind shared_device(const Var& shared);
void move_shared(const Var& shared, DeviceKind device);

class Apply : public std::enable_shared_from_this<Apply> {
 public:
  std::shared_ptr<const Op> op;
  std::vector<Var> inputs;
  SourceLoc loc;

  int num_outputs() const { return static_cast<int>(outputs_.size()); }
  Var output(int i) const;
  Variable* output_ptr(int i) const { return outputs_[i].get(); }
  std::vector<Var> outputs() const;
  // Releases the inputs iteratively: a long chain of nodes (an unrolled RNN)
  // would otherwise be destroyed recursively and overflow the stack.
  ~Apply();

  // Builds a node without type inference (ops use make_node below).
  static std::shared_ptr<Apply> create(std::shared_ptr<const Op> op,
                                       std::vector<Var> inputs,
                                       const std::vector<TensorType>& output_types,
                                       SourceLoc loc);

 private:
  std::vector<std::unique_ptr<Variable>> outputs_;
};

// Applies `op` to `inputs`: infers the output types (a TypeError or ShapeError
// from the op is re-thrown naming the op and `loc`) and returns the outputs.
std::vector<Var> make_node(std::shared_ptr<const Op> op, std::vector<Var> inputs,
                           const SourceLoc& loc);
Var make_node1(std::shared_ptr<const Op> op, std::vector<Var> inputs,
               const SourceLoc& loc);

}  // namespace theanine
