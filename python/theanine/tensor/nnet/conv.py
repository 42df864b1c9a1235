"""theanine.tensor.nnet.conv: 2-d convolution with Theano's semantics."""
from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple, Union

from theanine import _core
import theanine.tensor as T

Variable = _core.Variable

__all__ = ["conv2d", "conv2d_grad_wrt_inputs", "conv2d_grad_wrt_weights"]

Pair = Union[int, Tuple[int, int]]


def conv2d(input: Any, filters: Any, input_shape: Optional[Sequence[Optional[int]]] = None,
           filter_shape: Optional[Sequence[Optional[int]]] = None,
           border_mode: Union[str, Pair] = "valid", subsample: Pair = (1, 1),
           filter_flip: bool = True, image_shape: Optional[Sequence[Optional[int]]] = None,
           filter_dilation: Pair = (1, 1)) -> Variable:
    """Convolves input (batch, channels, rows, cols) with filters (filters, channels,
    k_rows, k_cols). border_mode: 'valid', 'full', 'half', an int or a pair of ints
    (zero padding). filter_flip=False computes a cross-correlation. input_shape and
    filter_shape (None for unknown entries) are checked and sharpen the static shape;
    image_shape is Theano's old name for input_shape."""
    if image_shape is not None:
        if input_shape is not None:
            raise ValueError("conv2d: give input_shape or image_shape, not both")
        input_shape = image_shape
    return _core.conv2d(input, filters, border_mode, subsample, filter_flip, filter_dilation,
                        input_shape, filter_shape)


def conv2d_grad_wrt_inputs(output_grad: Any, filters: Any, input_shape: Any,
                           filter_shape: Optional[Sequence[Optional[int]]] = None,
                           border_mode: Union[str, Pair] = "valid", subsample: Pair = (1, 1),
                           filter_flip: bool = True, filter_dilation: Pair = (1, 1)) -> Variable:
    """The gradient of conv2d with respect to its input, given the output's gradient.
    input_shape: 4 entries (ints, int scalar variables; None for the batch and channel
    dims, read from output_grad and filters), an int vector, or a 4-d variable whose
    shape it is. filter_shape is accepted for compatibility."""
    output_grad, filters = T.as_tensor_variable(output_grad), T.as_tensor_variable(filters)
    shape = _shape_source(input_shape, "input_shape",
                          {0: lambda: output_grad.shape[0], 1: lambda: filters.shape[1]})
    return _core.conv2d_grad_inputs(filters, output_grad, shape, border_mode, subsample,
                                    filter_flip, filter_dilation)


def conv2d_grad_wrt_weights(input: Any, output_grad: Any, filter_shape: Any,
                            input_shape: Optional[Sequence[Optional[int]]] = None,
                            border_mode: Union[str, Pair] = "valid", subsample: Pair = (1, 1),
                            filter_flip: bool = True, filter_dilation: Pair = (1, 1)) -> Variable:
    """The gradient of conv2d with respect to its filters, given the output's gradient.
    filter_shape: as input_shape of conv2d_grad_wrt_inputs (None for the number of
    filters and channels, read from output_grad and input). input_shape is accepted for
    compatibility."""
    input, output_grad = T.as_tensor_variable(input), T.as_tensor_variable(output_grad)
    shape = _shape_source(filter_shape, "filter_shape",
                          {0: lambda: output_grad.shape[1], 1: lambda: input.shape[1]})
    return _core.conv2d_grad_weights(input, output_grad, shape, border_mode, subsample,
                                     filter_flip, filter_dilation)


def _shape_source(shape: Any, what: str, defaults: dict) -> Variable:
    """A variable giving a shape: a Variable as it is; 4 entries as an int64 vector, None
    entries taken from `defaults` (dim -> function giving a scalar)."""
    if isinstance(shape, Variable):
        return shape
    entries = list(shape)
    if len(entries) != 4:
        raise ValueError(f"{what} must have 4 entries, got {shape!r}")
    for d, e in enumerate(entries):
        if e is None:
            if d not in defaults:
                raise ValueError(f"{what}: dim {d} must be given (only the first two may be "
                                 f"None), got {shape!r}")
            entries[d] = defaults[d]()
    return _core.make_vector(entries, "int64")
