// The theanine._core extension module: one bind_*() per part of the core, each in
// its own file.
#include <pybind11/pybind11.h>

#include "graph/source_loc.h"
#include "python/bindings.h"
#include "runtime/error.h"

namespace pyb = pybind11;

namespace {
// Records the first Python frame outside the theanine package as a node's
// location, so errors point at the user's line.
bool python_user_frame(theanine::SourceLoc* loc) {
  if (!Py_IsInitialized() || !PyGILState_Check()) return false;
  static const std::string pkg_marker = [] {
    pyb::object here = pyb::module_::import("theanine").attr("__file__");
    std::string f = pyb::str(here);
    return f.substr(0, f.rfind('/') + 1);
  }();
  PyFrameObject* frame = PyEval_GetFrame();
  if (frame) Py_INCREF(frame);
  while (frame) {
    PyCodeObject* code = PyFrame_GetCode(frame);
    std::string file = pyb::str(code->co_filename);
    Py_DECREF(code);
    if (file.rfind(pkg_marker, 0) != 0) {
      loc->file = file;
      loc->line = PyFrame_GetLineNumber(frame);
      Py_DECREF(frame);
      return true;
    }
    PyFrameObject* back = PyFrame_GetBack(frame);
    Py_DECREF(frame);
    frame = back;
  }
  return false;
}
}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "theanine core (C++)";
  // Exception classes: each subclasses the builtin of the same meaning, so
  // `except TypeError` works as users expect.
  auto base =
      pyb::register_exception<theanine::Error>(m, "TheanineError", PyExc_RuntimeError);
  pyb::register_exception<theanine::TypeError>(m, "TheanineTypeError", PyExc_TypeError);
  pyb::register_exception<theanine::ShapeError>(m, "ShapeError", PyExc_ValueError);
  pyb::register_exception<theanine::ValueError>(m, "TheanineValueError",
                                                PyExc_ValueError);
  pyb::register_exception<theanine::IndexError>(m, "TheanineIndexError",
                                                PyExc_IndexError);
  pyb::register_exception<theanine::UnusedInputError>(m, "UnusedInputError",
                                                      PyExc_ValueError);
  pyb::register_exception<theanine::MissingInputError>(m, "MissingInputError",
                                                       PyExc_ValueError);
  pyb::register_exception<theanine::DisconnectedInputError>(m, "DisconnectedInputError",
                                                            PyExc_ValueError);
  pyb::register_exception<theanine::IOError>(m, "TheanineIOError", PyExc_OSError);
  (void)base;

  theanine::set_source_loc_provider(python_user_frame);

  theanine::py::bind_graph(m);
  theanine::py::bind_elemwise(m);
  theanine::py::bind_reduce(m);
  theanine::py::bind_blas(m);
  theanine::py::bind_shape(m);
  theanine::py::bind_subtensor(m);
  theanine::py::bind_function(m);
  theanine::py::bind_data(m);
  theanine::py::bind_gradient(m);
  theanine::py::bind_nnet(m);
  theanine::py::bind_conv(m);
  theanine::py::bind_random(m);
  theanine::py::bind_updates(m);
  theanine::py::bind_backend(m);
  theanine::py::bind_cuda(m);
}
