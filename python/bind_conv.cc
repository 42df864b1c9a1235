// Python bindings: conv2d and its gradients, pool_2d, batch normalization and
// to_one_hot. Theano's argument spellings (an int or a pair for border_mode,
// None in shape hints, 'spatial' axes) are read here into the C++ options.
#include "ops/batchnorm.h"
#include "ops/conv.h"
#include "ops/one_hot.h"
#include "ops/pool.h"
#include "python/bindings.h"
#include "python/convert.h"
#include "runtime/error.h"

namespace theanine::py {

namespace {

std::string py_repr(const pyb::handle& h) { return pyb::repr(h).cast<std::string>(); }

bool is_int(const pyb::handle& h) {
  return !pyb::isinstance<pyb::str>(h) && !pyb::isinstance<pyb::float_>(h) &&
         pyb::hasattr(h, "__index__");
}

int64_t int_arg(const pyb::handle& h, const std::string& what) {
  if (!is_int(h)) throw TypeError(what + " must be an int, got " + py_repr(h));
  return pyb::int_(pyb::reinterpret_borrow<pyb::object>(h)).cast<int64_t>();
}

// An int (used for both axes) or a pair of ints.
std::array<int64_t, 2> pair_arg(const pyb::handle& h, const std::string& what) {
  if (is_int(h)) {
    const int64_t v = int_arg(h, what);
    return {v, v};
  }
  if (!pyb::isinstance<pyb::sequence>(h) || pyb::len(h) != 2)
    throw ValueError(what + " must be an int or a pair of ints, got " + py_repr(h));
  pyb::sequence s = pyb::reinterpret_borrow<pyb::sequence>(h);
  return {int_arg(s[0], what), int_arg(s[1], what)};
}

// Theano's input_shape / filter_shape: None, or 4 entries, each an int or None.
std::optional<std::array<int64_t, 4>> shape_hint(const pyb::handle& h,
                                                 const std::string& what) {
  if (h.is_none()) return std::nullopt;
  if (!pyb::isinstance<pyb::sequence>(h) || pyb::len(h) != 4)
    throw ValueError(what + " must be None or 4 entries (ints or None), got " +
                     py_repr(h));
  pyb::sequence s = pyb::reinterpret_borrow<pyb::sequence>(h);
  std::array<int64_t, 4> r{};
  for (int d = 0; d < 4; ++d) r[d] = s[d].is_none() ? -1 : int_arg(s[d], what);
  return r;
}

Conv2dOptions conv_options(const pyb::object& border_mode, const pyb::object& subsample,
                           bool filter_flip, const pyb::object& filter_dilation,
                           const pyb::object& input_shape,
                           const pyb::object& filter_shape) {
  Conv2dOptions o;
  if (pyb::isinstance<pyb::str>(border_mode)) {
    o.border_mode = border_mode.cast<std::string>();
    if (o.border_mode == "explicit")
      throw ValueError(
          "conv2d: border_mode 'explicit' is spelled as an int or a pair of "
          "ints (the padding)");
  } else {
    o = Conv2dOptions::with_padding(0, 0);
    o.pad = pair_arg(border_mode, "conv2d: border_mode");
  }
  o.subsample = pair_arg(subsample, "conv2d: subsample");
  o.filter_flip = filter_flip;
  o.dilation = pair_arg(filter_dilation, "conv2d: filter_dilation");
  o.input_shape = shape_hint(input_shape, "conv2d: input_shape");
  o.filter_shape = shape_hint(filter_shape, "conv2d: filter_shape");
  return o;
}

std::vector<int> bn_axes(const pyb::handle& axes, const Var& inputs) {
  if (pyb::isinstance<pyb::str>(axes))
    return batchnorm_axes(axes.cast<std::string>(), inputs.ndim());
  if (is_int(axes))
    return batchnorm_axes(std::vector<int>{static_cast<int>(int_arg(axes, "axes"))},
                          inputs.ndim());
  if (!pyb::isinstance<pyb::sequence>(axes) && !pyb::hasattr(axes, "__iter__"))
    throw ValueError(
        "batch normalization: axes must be 'per-activation', 'spatial' or a "
        "tuple of ints, got " +
        py_repr(axes));
  std::vector<int> r;
  for (const pyb::handle& a : axes) r.push_back(static_cast<int>(int_arg(a, "an axis")));
  return batchnorm_axes(r, inputs.ndim());
}

Var optional_var(const pyb::object& obj) { return obj.is_none() ? Var() : as_var(obj); }

DType dtype_arg(const pyb::handle& o) {
  if (pyb::isinstance<pyb::str>(o)) return dtype_from_name(o.cast<std::string>());
  pyb::object dt = pyb::module_::import("numpy").attr("dtype")(o);
  return dtype_from_numpy(dt.cast<pyb::dtype>(), "dtype");
}

}  // namespace

void bind_conv(pybind11::module_& m) {
  m.def(
      "conv2d",
      [](const Var& input, const Var& filters, const pyb::object& border_mode,
         const pyb::object& subsample, bool filter_flip,
         const pyb::object& filter_dilation, const pyb::object& input_shape,
         const pyb::object& filter_shape) {
        return conv2d(input, filters,
                      conv_options(border_mode, subsample, filter_flip, filter_dilation,
                                   input_shape, filter_shape));
      },
      pyb::arg("input"), pyb::arg("filters"), pyb::arg("border_mode") = "valid",
      pyb::arg("subsample") = pyb::make_tuple(1, 1), pyb::arg("filter_flip") = true,
      pyb::arg("filter_dilation") = pyb::make_tuple(1, 1),
      pyb::arg("input_shape") = pyb::none(), pyb::arg("filter_shape") = pyb::none(),
      "2-d convolution of input (batch, channels, rows, cols) with filters "
      "(filters, channels, k_rows, k_cols), Theano's semantics");
  m.def(
      "conv2d_grad_inputs",
      [](const Var& filters, const Var& output_grad, const Var& input_like,
         const pyb::object& border_mode, const pyb::object& subsample, bool filter_flip,
         const pyb::object& filter_dilation) {
        return conv2d_grad_inputs(
            filters, output_grad, input_like,
            conv_options(border_mode, subsample, filter_flip, filter_dilation,
                         pyb::none(), pyb::none()));
      },
      pyb::arg("filters"), pyb::arg("output_grad"), pyb::arg("input_like"),
      pyb::arg("border_mode") = "valid", pyb::arg("subsample") = pyb::make_tuple(1, 1),
      pyb::arg("filter_flip") = true, pyb::arg("filter_dilation") = pyb::make_tuple(1, 1),
      "the gradient of conv2d with respect to its input (of input_like's shape)");
  m.def(
      "conv2d_grad_weights",
      [](const Var& input, const Var& output_grad, const Var& filters_like,
         const pyb::object& border_mode, const pyb::object& subsample, bool filter_flip,
         const pyb::object& filter_dilation) {
        return conv2d_grad_weights(
            input, output_grad, filters_like,
            conv_options(border_mode, subsample, filter_flip, filter_dilation,
                         pyb::none(), pyb::none()));
      },
      pyb::arg("input"), pyb::arg("output_grad"), pyb::arg("filters_like"),
      pyb::arg("border_mode") = "valid", pyb::arg("subsample") = pyb::make_tuple(1, 1),
      pyb::arg("filter_flip") = true, pyb::arg("filter_dilation") = pyb::make_tuple(1, 1),
      "the gradient of conv2d with respect to its filters (of filters_like's shape)");

  m.def(
      "pool_2d",
      [](const Var& input, const pyb::object& ws, const pyb::object& stride,
         const pyb::object& pad, bool ignore_border, const std::string& mode) {
        PoolOptions o;
        o.ws = pair_arg(ws, "pool_2d: ws");
        if (!stride.is_none()) o.stride = pair_arg(stride, "pool_2d: stride");
        o.pad = pair_arg(pad, "pool_2d: pad");
        o.ignore_border = ignore_border;
        o.mode = mode;
        return pool_2d(input, o);
      },
      pyb::arg("input"), pyb::arg("ws"), pyb::arg("stride") = pyb::none(),
      pyb::arg("pad") = pyb::make_tuple(0, 0), pyb::arg("ignore_border") = true,
      pyb::arg("mode") = "max", "pools the last two dims of input by windows of ws");

  m.def(
      "batch_normalization_train",
      [](const Var& inputs, const Var& gamma, const Var& beta, const pyb::object& axes,
         double epsilon, double running_average_factor, const pyb::object& running_mean,
         const pyb::object& running_var) -> pyb::tuple {
        BatchNormTrainResult r = batch_normalization_train(
            inputs, gamma, beta, bn_axes(axes, inputs), epsilon, running_average_factor,
            optional_var(running_mean), optional_var(running_var));
        if (!r.running_mean) return pyb::make_tuple(r.out, r.mean, r.invstd);
        return pyb::make_tuple(r.out, r.mean, r.invstd, r.running_mean, r.running_var);
      },
      pyb::arg("inputs"), pyb::arg("gamma"), pyb::arg("beta"),
      pyb::arg("axes") = "per-activation", pyb::arg("epsilon") = 1e-4,
      pyb::arg("running_average_factor") = 0.1, pyb::arg("running_mean") = pyb::none(),
      pyb::arg("running_var") = pyb::none(),
      "(out, mean, invstd[, new_running_mean, new_running_var]) of Theano's "
      "batch_normalization_train");
  m.def(
      "batch_normalization_test",
      [](const Var& inputs, const Var& gamma, const Var& beta, const Var& mean,
         const Var& var, const pyb::object& axes, double epsilon) {
        return batch_normalization_test(inputs, gamma, beta, mean, var,
                                        bn_axes(axes, inputs), epsilon);
      },
      pyb::arg("inputs"), pyb::arg("gamma"), pyb::arg("beta"), pyb::arg("mean"),
      pyb::arg("var"), pyb::arg("axes") = "per-activation", pyb::arg("epsilon") = 1e-4,
      "(inputs - mean) * gamma / sqrt(var + epsilon) + beta");
  m.def(
      "batch_normalization",
      [](const Var& inputs, const Var& gamma, const Var& beta, const Var& mean,
         const Var& std) { return batch_normalization(inputs, gamma, beta, mean, std); },
      pyb::arg("inputs"), pyb::arg("gamma"), pyb::arg("beta"), pyb::arg("mean"),
      pyb::arg("std"), "(inputs - mean) * (gamma / std) + beta");

  m.def(
      "to_one_hot",
      [](const Var& y, const Var& nb_class, const pyb::object& dtype) {
        return to_one_hot(y, nb_class, dtype_arg(dtype));
      },
      pyb::arg("y"), pyb::arg("nb_class"), pyb::arg("dtype"),
      "rows of zeros with a 1 in each label's column");
}

}  // namespace theanine::py
