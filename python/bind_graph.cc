#include "graph/fgraph.h"
#include "graph/op.h"
#include "python/bindings.h"
#include "python/convert.h"
#include "runtime/error.h"

namespace theanine::py {

namespace {
pyb::tuple shape_tuple(const Shape& s) {
  pyb::list l;
  for (int64_t d : s)
    l.append(d < 0 ? pyb::object(pyb::none()) : pyb::object(pyb::int_(d)));
  return pyb::tuple(l);
}

TensorType type_from(const std::string& dtype, const pyb::object& shape_or_bcast,
                     int ndim) {
  DType d = dtype_from_name(dtype);
  Shape s;
  if (!shape_or_bcast.is_none()) {
    for (pyb::handle h : shape_or_bcast) {
      if (h.is_none())
        s.push_back(-1);
      else if (pyb::isinstance<pyb::bool_>(h))
        s.push_back(h.cast<bool>() ? 1 : -1);
      else
        s.push_back(h.cast<int64_t>());
    }
  } else {
    s.assign(ndim, -1);
  }
  return TensorType(d, s);
}
}  // namespace

void bind_graph(pyb::module_& m) {
  pyb::class_<Variable, std::shared_ptr<Variable>>(m, "Variable", pyb::dynamic_attr())
      .def_property(
          "name",
          [](const Variable& v) -> pyb::object {
            return v.name.empty() ? pyb::object(pyb::none()) : pyb::str(v.name);
          },
          [](Variable& v, const pyb::object& n) {
            v.name = n.is_none() ? "" : n.cast<std::string>();
          })
      .def_property_readonly("dtype",
                             [](const Variable& v) { return dtype_name(v.type.dtype); })
      .def_property_readonly("ndim", [](const Variable& v) { return v.type.ndim(); })
      .def_property_readonly("static_shape",
                             [](const Variable& v) { return shape_tuple(v.type.shape); })
      .def_property_readonly("broadcastable",
                             [](const Variable& v) {
                               pyb::list l;
                               for (bool b : v.type.broadcastable()) l.append(b);
                               return pyb::tuple(l);
                             })
      .def_property_readonly("type_str", [](const Variable& v) { return v.type.str(); })
      .def_property_readonly("id", [](const Variable& v) { return v.id; })
      .def_property_readonly("kind",
                             [](const Variable& v) {
                               switch (v.kind) {
                                 case Variable::Kind::Input:
                                   return "input";
                                 case Variable::Kind::Output:
                                   return "output";
                                 case Variable::Kind::Constant:
                                   return "constant";
                                 case Variable::Kind::Shared:
                                   return "shared";
                               }
                               return "?";
                             })
      .def_property_readonly("op_name",
                             [](const Variable& v) -> pyb::object {
                               if (!v.owner) return pyb::none();
                               return pyb::str(v.owner->op->name());
                             })
      .def_property_readonly("owner_inputs",
                             [](const Variable& v) {
                               std::vector<Var> r;
                               if (v.owner) r = v.owner->inputs;
                               return r;
                             })
      .def_property_readonly("location", [](const Variable& v) { return v.loc.str(); })
      .def_property_readonly("data",
                             [](const Variable& v) -> pyb::object {
                               if (!v.is_constant()) return pyb::none();
                               return numpy_from_ndarray(v.constant_value);
                             })
      .def(
          "get_value",
          [](std::shared_ptr<Variable>& v, bool borrow) {
            return numpy_from_ndarray(theanine::get_value(Var(v), borrow));
          },
          pyb::arg("borrow") = false)
      .def(
          "set_value",
          [](std::shared_ptr<Variable>& v, const pyb::object& value, bool borrow) {
            std::string what = "set_value of shared variable '" + v->display_name() + "'";
            NDArray a = ndarray_from_object(value, what);
            // A value that merely has a different dtype is converted when no
            // information is lost, as Theano does for floats from Python lists.
            if (a.dtype() != v->type.dtype && pyb::isinstance<pyb::list>(value))
              a = a.astype(v->type.dtype);
            theanine::set_value(Var(v), std::move(a), borrow);
          },
          pyb::arg("value"), pyb::arg("borrow") = false)
      .def_property(
          "default_update",
          [](const Variable& v) -> pyb::object {
            std::shared_ptr<Variable> u = v.default_update.lock();
            if (!u) return pyb::none();
            return pyb::cast(u);
          },
          [](pyb::object self, const pyb::object& update) {
            auto& v = self.cast<Variable&>();
            if (!v.is_shared())
              throw TypeError("default_update: " + v.describe() +
                              " is not a shared variable");
            // The core holds the update weakly (it reads this variable); the
            // Python object keeps it alive for as long as the variable's handle.
            if (update.is_none()) {
              v.default_update.reset();
              pyb::setattr(self, "_default_update_ref", pyb::none());
              return;
            }
            Var u = update.cast<Var>();
            v.default_update = u.ptr();
            pyb::setattr(self, "_default_update_ref", pyb::cast(u.ptr()));
          })
      .def("__repr__", [](const Variable& v) { return v.display_name(); })
      .def("__str__", [](const Variable& v) { return v.display_name(); });

  m.def(
      "input",
      [](const std::string& dtype, const pyb::object& shape, int ndim,
         const pyb::object& name) {
        std::string n = name.is_none() ? "" : name.cast<std::string>();
        return make_input(type_from(dtype, shape, ndim), n);
      },
      pyb::arg("dtype"), pyb::arg("shape") = pyb::none(), pyb::arg("ndim") = 0,
      pyb::arg("name") = pyb::none(),
      "A symbolic input; `shape` entries are ints, None (unknown) or bools "
      "(Theano's broadcastable: True means 1).");
  m.def(
      "constant",
      [](const pyb::object& value, const pyb::object& name, const pyb::object& dtype) {
        std::string n = name.is_none() ? "" : name.cast<std::string>();
        NDArray a = ndarray_from_object(value, "constant").copy();
        if (!dtype.is_none()) a = a.astype(dtype_from_name(dtype.cast<std::string>()));
        return make_constant(a, n);
      },
      pyb::arg("value"), pyb::arg("name") = pyb::none(), pyb::arg("dtype") = pyb::none());
  m.def("as_variable", [](const pyb::object& obj) { return as_var(obj); });
  m.def(
      "shared",
      [](const pyb::object& value, const pyb::object& name, bool borrow,
         const pyb::object& shape) {
        std::string n = name.is_none() ? "" : name.cast<std::string>();
        NDArray a = ndarray_from_object(value, "shared variable '" + n + "'");
        TensorType t = TensorType::unknown_shape(a.dtype(), a.ndim());
        if (!shape.is_none()) t = type_from(dtype_name(a.dtype()), shape, a.ndim());
        // A borrowed array from a list conversion is ours anyway.
        return make_shared(a, t, n, borrow && pyb::isinstance<pyb::array>(value));
      },
      pyb::arg("value"), pyb::arg("name") = pyb::none(), pyb::arg("borrow") = false,
      pyb::arg("shape") = pyb::none());
  m.def("debugprint", [](const std::vector<Var>& outs) { return debugprint(outs); });
  m.def("clone_replace",
        [](const std::vector<Var>& outs, const std::vector<std::pair<Var, Var>>& repl) {
          Replacements r;
          for (auto& [a, b] : repl) r[a.get()] = b;
          return clone_replace(outs, r);
        });
  m.def(
      "toposort_op_names",
      [](const std::vector<Var>& outs) {
        std::vector<std::string> names;
        for (Apply* node : toposort(outs)) names.push_back(node->op->name());
        return names;
      },
      "The op name of every Apply node the outputs depend on, inputs first.");
  m.def("free_variables",
        [](const std::vector<Var>& outs) { return free_variables(outs); });
  m.def("same_variable", [](const Var& a, const Var& b) { return a.same(b); });
}

}  // namespace theanine::py
