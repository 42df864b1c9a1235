"""theanine.tensor.nnet.conv2d against a NumPy reference that sums one shifted,
strided slice of the padded input per filter tap (no im2col), over every border
mode, strides, dilations, flip or not, odd sizes and both patch layouts (few
channels on wide images, many channels on small ones); static shapes; the
gradients and their own gradients with verify_grad in float64; error messages."""
import itertools

import numpy as np
import pytest

import theanine
import theanine.tensor as T
from theanine.tensor.nnet import conv2d
from theanine.tensor.nnet.conv import conv2d_grad_wrt_inputs, conv2d_grad_wrt_weights
from helpers import check_grad, fn

rng = np.random.default_rng(20250101)


def pads_of(border_mode, kh, kw, dil):
    span = [(kh - 1) * dil[0] + 1, (kw - 1) * dil[1] + 1]
    if border_mode == "valid":
        return 0, 0
    if border_mode == "full":
        return span[0] - 1, span[1] - 1
    if border_mode == "half":
        return span[0] // 2, span[1] // 2
    if isinstance(border_mode, int):
        return border_mode, border_mode
    return tuple(border_mode)


def np_conv2d(x, w, border_mode="valid", subsample=(1, 1), filter_flip=True,
              filter_dilation=(1, 1)):
    """The convolution as a sum over taps of a strided slice of the padded input."""
    n, c, h, wd = x.shape
    o, c2, kh, kw = w.shape
    assert c == c2
    ph, pw = pads_of(border_mode, kh, kw, filter_dilation)
    (sh, sw), (dh, dw) = subsample, filter_dilation
    xp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw), dtype="float64")
    xp[:, :, ph:ph + h, pw:pw + wd] = x
    oh = (h + 2 * ph - (kh - 1) * dh - 1) // sh + 1
    ow = (wd + 2 * pw - (kw - 1) * dw - 1) // sw + 1
    wc = w[:, :, ::-1, ::-1] if filter_flip else w
    out = np.zeros((n, o, oh, ow))
    for a in range(kh):
        for b in range(kw):
            patch = xp[:, :, a * dh:a * dh + sh * (oh - 1) + 1:sh,
                       b * dw:b * dw + sw * (ow - 1) + 1:sw]
            out += np.einsum("nchw,oc->nohw", patch, wc[:, :, a, b].astype("float64"))
    return out.astype(np.result_type(x, w))


CASES = [
    # (x shape, w shape, border_mode, subsample, dilation)
    ((2, 1, 13, 11), (3, 1, 3, 5), "valid", (1, 1), (1, 1)),
    ((2, 1, 13, 11), (3, 1, 3, 5), "full", (1, 1), (1, 1)),
    ((2, 1, 13, 11), (3, 1, 3, 5), "half", (2, 3), (1, 1)),
    ((2, 1, 12, 10), (2, 1, 4, 2), "half", (1, 1), (1, 1)),  # even kernel: one more pixel
    ((3, 1, 15, 14), (2, 1, 3, 3), 2, (1, 2), (2, 3)),
    ((1, 2, 9, 16), (4, 2, 2, 3), (1, 3), (3, 1), (1, 2)),
    ((3, 5, 6, 7), (4, 5, 3, 3), "valid", (1, 1), (1, 1)),  # pixel-major patches
    ((3, 5, 6, 7), (4, 5, 3, 2), "full", (2, 1), (1, 1)),
    ((2, 6, 5, 5), (3, 6, 2, 3), "half", (1, 1), (2, 1)),
    ((2, 4, 7, 5), (2, 4, 3, 3), (2, 1), (2, 2), (1, 2)),
    ((1, 3, 1, 1), (2, 3, 1, 1), "valid", (1, 1), (1, 1)),
    ((1, 3, 1, 1), (2, 3, 3, 3), "full", (1, 1), (1, 1)),
    ((17, 3, 4, 4), (5, 3, 3, 3), "half", (1, 1), (1, 1)),  # several chunks of images
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("filter_flip", [True, False])
def test_conv2d_matches_reference(case, filter_flip):
    xs, ws, border_mode, subsample, dilation = case
    x, w = T.dtensor4("x"), T.dtensor4("w")
    f = fn([x, w], conv2d(x, w, border_mode=border_mode, subsample=subsample,
                          filter_flip=filter_flip, filter_dilation=dilation))
    xv, wv = rng.standard_normal(xs), rng.standard_normal(ws)
    want = np_conv2d(xv, wv, border_mode, subsample, filter_flip, dilation)
    got = f(xv, wv)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_conv2d_dtypes_and_strided_inputs(dtype):
    x, w = T.tensor4(dtype=dtype), T.tensor4(dtype=dtype)
    y = conv2d(x, w, border_mode=1)
    assert y.dtype == dtype
    f = fn([x, w], y)
    base = rng.standard_normal((2, 6, 18, 9)).astype(dtype)
    xv = base[:, ::2, ::2]  # a strided view
    wv = rng.standard_normal((4, 3, 3, 3)).astype(dtype)
    tol = 2e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(f(xv, wv), np_conv2d(xv, wv, 1), rtol=tol, atol=tol)


def test_mixed_dtypes_compute_in_float64():
    y = conv2d(T.ftensor4("x"), T.dtensor4("w"))
    assert y.dtype == "float64"


def test_conv2d_matches_a_correlation_with_the_flipped_kernel():
    x, w = T.dtensor4("x"), T.dtensor4("w")
    f = fn([x, w], [conv2d(x, w, filter_flip=True), conv2d(x, w[:, :, ::-1, ::-1],
                                                           filter_flip=False)])
    a, b = f(rng.standard_normal((2, 2, 6, 5)), rng.standard_normal((3, 2, 3, 2)))
    np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)


def test_static_output_shape():
    x = T.tensor(dtype="float32", shape=(8, 3, 28, 28))
    w = T.tensor(dtype="float32", shape=(16, 3, 5, 5))
    assert conv2d(x, w).static_shape == (8, 16, 24, 24)
    assert conv2d(x, w, border_mode="full").static_shape == (8, 16, 32, 32)
    assert conv2d(x, w, border_mode="half", subsample=(2, 2)).static_shape == (8, 16, 14, 14)
    assert conv2d(x, w, filter_dilation=(2, 1)).static_shape == (8, 16, 20, 24)
    assert conv2d(x, w, border_mode=(1, 2)).static_shape == (8, 16, 26, 28)
    u = T.tensor4("u", dtype="float32")
    v = T.tensor4("v", dtype="float32")
    assert conv2d(u, v).static_shape == (None, None, None, None)
    hinted = conv2d(u, v, input_shape=(None, 3, 28, 28), filter_shape=(16, 3, 5, 5))
    assert hinted.static_shape == (None, 16, 24, 24)
    assert conv2d(u, v, image_shape=(4, 3, 10, 10),
                  filter_shape=(2, 3, 3, 3)).static_shape == (4, 2, 8, 8)


def test_shape_hints_are_checked_when_the_function_runs():
    u, v = T.dtensor4("u"), T.dtensor4("v")
    f = fn([u, v], conv2d(u, v, input_shape=(None, 3, 8, 8)))
    assert f(np.ones((2, 3, 8, 8)), np.ones((1, 3, 3, 3))).shape == (2, 1, 6, 6)
    with pytest.raises(ValueError, match=r"given shape \(\?,3,8,8\)"):
        f(np.ones((2, 3, 9, 8)), np.ones((1, 3, 3, 3)))
    x = T.tensor(dtype="float64", shape=(2, 3, 8, 8))
    with pytest.raises(ValueError, match="contradicts"):
        conv2d(x, v, input_shape=(2, 4, 8, 8))


def test_conv2d_of_a_size_zero_batch():
    x, w = T.dtensor4("x"), T.dtensor4("w")
    f = fn([x, w], [conv2d(x, w), T.grad(conv2d(x, w).sum(), w)])
    y, gw = f(np.zeros((0, 2, 5, 5)), np.ones((3, 2, 2, 2)))
    assert y.shape == (0, 3, 4, 4)
    np.testing.assert_array_equal(gw, np.zeros((3, 2, 2, 2)))


# ---- gradients ------------------------------------------------------------------------

GRAD_CASES = [
    ((2, 2, 5, 4), (3, 2, 3, 2), "valid", (1, 1), (1, 1), True),
    ((2, 1, 6, 5), (2, 1, 3, 3), "full", (2, 1), (1, 1), False),
    ((1, 2, 7, 6), (2, 2, 2, 3), "half", (1, 2), (2, 1), True),
    ((2, 3, 4, 5), (2, 3, 3, 3), (1, 2), (2, 2), (1, 1), False),
]


@pytest.mark.parametrize("xs,ws,border_mode,subsample,dilation,flip", GRAD_CASES)
def test_verify_grad_conv2d(xs, ws, border_mode, subsample, dilation, flip):
    def f(x, w):
        return conv2d(x, w, border_mode=border_mode, subsample=subsample, filter_flip=flip,
                      filter_dilation=dilation)
    check_grad(f, rng.standard_normal(xs), rng.standard_normal(ws), n_tests=1)


@pytest.mark.parametrize("xs,ws,border_mode,subsample,dilation,flip", GRAD_CASES[1:3])
def test_verify_grad_of_the_gradient_ops(xs, ws, border_mode, subsample, dilation, flip):
    opts = dict(border_mode=border_mode, subsample=subsample, filter_flip=flip,
                filter_dilation=dilation)
    xv, wv = rng.standard_normal(xs), rng.standard_normal(ws)
    gyv = rng.standard_normal(np_conv2d(xv, wv, border_mode, subsample, flip, dilation).shape)
    x_like = theanine.shared(xv)
    w_like = theanine.shared(wv)
    check_grad(lambda w, g: conv2d_grad_wrt_inputs(g, w, x_like, **opts), wv, gyv,
               n_tests=1)
    check_grad(lambda x, g: conv2d_grad_wrt_weights(x, g, w_like, **opts), xv, gyv,
               n_tests=1)


def test_gradient_ops_are_the_adjoints_of_conv2d():
    # <conv2d(x, w), g> = <x, grad_inputs(w, g)> = <w, grad_weights(x, g)>.
    opts = dict(border_mode=(1, 2), subsample=(2, 1), filter_dilation=(1, 2))
    x, w, g = T.dtensor4("x"), T.dtensor4("w"), T.dtensor4("g")
    f = fn([x, w, g], [conv2d(x, w, **opts), conv2d_grad_wrt_inputs(g, w, x, **opts),
                       conv2d_grad_wrt_weights(x, g, w, **opts)])
    xv, wv = rng.standard_normal((3, 4, 7, 6)), rng.standard_normal((5, 4, 3, 2))
    gv = rng.standard_normal(np_conv2d(xv, wv, **opts).shape)
    y, gx, gw = f(xv, wv, gv)
    assert np.isclose((y * gv).sum(), (xv * gx).sum(), rtol=1e-12)
    assert np.isclose((y * gv).sum(), (wv * gw).sum(), rtol=1e-12)


def test_second_derivatives_through_conv2d():
    # A cost whose gradient holds Conv2dGradInputs and Conv2dGradWeights, checked again.
    def f(x, w):
        y = conv2d(x, w, border_mode="half")
        gx, gw = T.grad((y ** 2).sum(), [x, w])
        return (gx ** 2).sum() + (gw * w).sum()
    check_grad(f, rng.standard_normal((2, 2, 4, 4)), rng.standard_normal((2, 2, 3, 3)),
               n_tests=1)


def test_grad_has_the_static_shapes_of_its_operands():
    x = T.tensor(dtype="float32", shape=(4, 3, 10, 10))
    w = T.tensor(dtype="float32", shape=(2, 3, 3, 3))
    gx, gw = T.grad(conv2d(x, w, subsample=(3, 3)).sum(), [x, w])
    assert gx.static_shape == (4, 3, 10, 10) and gx.dtype == "float32"
    assert gw.static_shape == (2, 3, 3, 3) and gw.dtype == "float32"


# ---- errors ---------------------------------------------------------------------------

def test_errors_at_build_time():
    x = T.tensor(dtype="float32", shape=(None, 3, 8, 8), name="images")
    w = T.tensor(dtype="float32", shape=(4, 2, 3, 3), name="kernels")
    with pytest.raises(ValueError, match=r"images.*\(\?, 3, 8, 8\).* has 3 channels.*kernels.*\(4, 2, 3, 3\).* expect 2"):
        conv2d(x, w)
    big = T.tensor(dtype="float32", shape=(4, 3, 9, 3), name="big")
    with pytest.raises(ValueError, match=r"\(\?, 3, 8, 8\) with filters of shape \(4, 3, 9, 3\): the filter rows span 9 .*more than the 8 rows"):
        conv2d(x, big)
    with pytest.raises(TypeError, match="4-d"):
        conv2d(T.matrix("m"), w)
    with pytest.raises(TypeError, match="float32 or float64, got int32"):
        conv2d(T.itensor4("i"), w)
    with pytest.raises(ValueError, match="border_mode"):
        conv2d(x, w, border_mode="same")
    with pytest.raises(ValueError, match="subsample must be positive"):
        conv2d(x, T.tensor4(), subsample=(0, 1))
    with pytest.raises(ValueError, match="non-negative"):
        conv2d(x, T.tensor4(), border_mode=-1)
    with pytest.raises(ValueError, match="int or a pair"):
        conv2d(x, T.tensor4(), subsample=(1, 2, 3))


def test_errors_at_run_time():
    x, w = T.dtensor4("x"), T.dtensor4("w")
    f = fn([x, w], conv2d(x, w, border_mode="valid"))
    with pytest.raises(ValueError, match=r"\(2, 3, 5, 5\) has 3 channels.*\(1, 2, 3, 3\)"):
        f(np.ones((2, 3, 5, 5)), np.ones((1, 2, 3, 3)))
    with pytest.raises(ValueError, match="span 6 .*more than the 5 rows"):
        f(np.ones((2, 3, 5, 5)), np.ones((1, 3, 6, 3)))


def test_gradient_functions_take_theano_shapes():
    opts = dict(border_mode="half", subsample=(2, 2))
    w, g = T.dtensor4("w"), T.dtensor4("g")
    x = T.dtensor4("x")
    gx_tuple = conv2d_grad_wrt_inputs(g, w, (None, None, 7, 6), **opts)
    gx_var = conv2d_grad_wrt_inputs(g, w, x, **opts)
    gw_tuple = conv2d_grad_wrt_weights(x, g, (None, None, 3, 2), **opts)
    gw_vector = conv2d_grad_wrt_weights(x, g, T.as_tensor_variable(np.array([4, 2, 3, 2])),
                                        **opts)
    assert gx_tuple.static_shape == (None, None, 7, 6)
    assert gw_vector.static_shape == (4, 2, 3, 2)
    xv, wv = rng.standard_normal((3, 2, 7, 6)), rng.standard_normal((4, 2, 3, 2))
    gv = rng.standard_normal(np_conv2d(xv, wv, **opts).shape)
    a, b, c, d = fn([x, w, g], [gx_tuple, gx_var, gw_tuple, gw_vector])(xv, wv, gv)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(c, d)
    assert a.shape == xv.shape and c.shape == wv.shape
    with pytest.raises(ValueError, match="only the first two may be None"):
        conv2d_grad_wrt_inputs(g, w, (None, None, None, 6))
    with pytest.raises(TypeError, match="4-d tensor .* or a vector of 4 ints"):
        conv2d_grad_wrt_inputs(g, w, T.dmatrix("m"))


def test_rop_is_the_convolution_of_the_direction():
    # conv2d is linear in each operand: J_w . v = conv2d(x, v), J_x . u = conv2d(u, w).
    opts = dict(border_mode="full", subsample=(1, 2))
    x, w, u, v = T.dtensor4("x"), T.dtensor4("w"), T.dtensor4("u"), T.dtensor4("v")
    y = conv2d(x, w, **opts)
    f = fn([x, w, u, v], [T.Rop(y, w, v), conv2d(x, v, **opts), T.Rop(y, x, u),
                          conv2d(u, w, **opts)])
    xv, uv = rng.standard_normal((2, 3, 5, 6)), rng.standard_normal((2, 3, 5, 6))
    wv, vv = rng.standard_normal((2, 3, 2, 3)), rng.standard_normal((2, 3, 2, 3))
    rw, want_w, rx, want_x = f(xv, wv, uv, vv)
    np.testing.assert_allclose(rw, want_w, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(rx, want_x, rtol=1e-12, atol=1e-12)
