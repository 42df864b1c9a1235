"""theanine.function: inputs, outputs, updates, givens, In/Out, argument checks."""
import numpy as np
import pytest

import theanine
import theanine.tensor as T
from theanine import In, Out, function, shared


def f32(*a):
    return np.asarray(a, dtype="float32")


def test_single_output_and_list_outputs():
    x = T.vector("x")
    f = function([x], x * 2)
    assert isinstance(f(f32(1, 2)), np.ndarray)
    np.testing.assert_array_equal(f(f32(1, 2)), f32(2, 4))
    g = function([x], [x * 2, x + 1])
    a, b = g(f32(1, 2))
    np.testing.assert_array_equal(b, f32(2, 3))
    assert function([x], [], on_unused_input="ignore")(f32(1)) == []


def test_shared_value_read_at_each_call_and_updates():
    w = shared(f32(1, 2), name="w")
    x = T.vector("x")
    f = function([x], (x * w).sum(), updates=[(w, w + x)])
    assert f(f32(1, 1)) == pytest.approx(3.0)
    np.testing.assert_array_equal(w.get_value(), f32(2, 3))
    w.set_value(f32(0, 0))
    assert f(f32(1, 1)) == pytest.approx(0.0)


def test_updates_are_atomic():
    a = shared(np.float64(1.0), name="a")
    b = shared(np.float64(2.0), name="b")
    f = function([], [], updates={a: b, b: a + b})
    f()
    assert a.get_value() == 2.0 and b.get_value() == 3.0


def test_givens_with_shared_data_slices():
    data = shared(np.arange(12, dtype="float32").reshape(6, 2), name="data")
    labels = shared(np.arange(6, dtype="int32"), name="labels")
    i = T.lscalar("i")
    x = T.matrix("x")
    y = T.ivector("y")
    bs = 2
    f = function([i], [x.sum(), y.sum()],
                 givens={x: data[i * bs:(i + 1) * bs], y: labels[i * bs:(i + 1) * bs]})
    for k in range(3):
        s, t = f(k)
        assert s == pytest.approx(np.arange(12).reshape(6, 2)[k * 2:(k + 1) * 2].sum())
        assert t == np.arange(6)[k * 2:(k + 1) * 2].sum()


def test_in_defaults_names_and_keywords():
    x, y = T.scalars("x", "y")
    f = function([x, In(y, value=np.float32(10))], x + y)
    assert f(1) == pytest.approx(11)
    assert f(1, 2) == pytest.approx(3)
    assert f(1, y=5) == pytest.approx(6)
    assert f(x=1) == pytest.approx(11)
    with pytest.raises(TypeError, match="no input named 'z'"):
        f(1, z=3)
    with pytest.raises(TypeError, match="both by position and by name"):
        f(1, x=3)


def test_out_borrow_accepted():
    x = T.vector("x")
    f = function([x], Out(x * 2, borrow=True))
    np.testing.assert_array_equal(f(f32(1)), f32(2))


def test_wrong_number_of_arguments():
    x = T.vector("x")
    f = function([x], x * 2)
    with pytest.raises(TypeError, match="takes 1 argument"):
        f(f32(1), f32(2))
    with pytest.raises(ValueError, match="missing argument"):
        f()


def test_wrong_dtype_refused_unless_downcast_allowed():
    x = T.vector("x")  # float32
    f = function([x], x * 2)
    with pytest.raises(TypeError, match="float64"):
        f(np.ones(2, dtype="float64"))
    g = function([x], x * 2, allow_input_downcast=True)
    assert g(np.ones(2, dtype="float64")).dtype == np.float32
    # A safe conversion is fine, and Python lists of floats convert like Theano.
    np.testing.assert_array_equal(f(np.ones(2, dtype="int8")), f32(2, 2))
    np.testing.assert_array_equal(f([1.0, 2.0]), f32(2, 4))


def test_python_numbers_convert_when_they_fit():
    i = T.iscalar("i")
    f = function([i], i + 1)
    assert f(3) == 4
    with pytest.raises(TypeError):
        f(2 ** 40)


def test_wrong_ndim_and_static_shape():
    x = T.matrix("x")
    f = function([x], x + 1)
    with pytest.raises(TypeError, match="ndim 2"):
        f(f32(1, 2))
    r = T.row("r")
    g = function([r], r + 1)
    with pytest.raises(ValueError, match=r"\(1, \?\)"):
        g(np.ones((2, 2), dtype="float32"))


def test_shapes_that_do_not_broadcast_name_shapes_and_line():
    x = T.vector("x")
    y = T.vector("y")
    f = function([x, y], x + y)
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)|\(2,\).*\(3,\)") as e:
        f(f32(1, 2, 3), f32(1, 2))
    assert "test_function.py" in str(e.value)


def test_update_target_not_shared():
    x = T.vector("x")
    with pytest.raises(TypeError, match="not a shared variable"):
        function([x], x, updates=[(x, x + 1)])


def test_update_of_different_type():
    w = shared(f32(1, 2), name="w")
    with pytest.raises(TypeError, match="cast"):
        function([], [], updates=[(w, T.cast(w, "float64"))])
    with pytest.raises(TypeError):
        function([], [], updates=[(w, w.sum())])


def test_givens_of_mismatched_type():
    x = T.vector("x")
    with pytest.raises(TypeError, match="different type"):
        function([], x * 2, givens={x: T.dvector("d")})
    with pytest.raises(TypeError):
        function([], x * 2, givens={x: T.matrix("m")})


def test_unused_input():
    x, y = T.vector("x"), T.vector("y")
    with pytest.raises(theanine.UnusedInputError, match="'y'"):
        function([x, y], x * 2)
    f = function([x, y], x * 2, on_unused_input="ignore")
    np.testing.assert_array_equal(f(f32(1), f32(5)), f32(2))
    with pytest.raises(ValueError, match="on_unused_input"):
        function([x, y], x * 2, on_unused_input="bogus")


def test_missing_input_names_variable_and_line():
    x, hidden = T.vector("x"), T.vector("hidden")
    with pytest.raises(theanine.MissingInputError, match="hidden") as e:
        function([x], x + hidden)
    assert "test_function.py" in str(e.value)


def test_inputs_must_be_symbolic():
    w = shared(f32(1), name="w")
    with pytest.raises(TypeError, match="shared"):
        function([w], w * 2)
    with pytest.raises(TypeError):
        function("x", None)
    with pytest.raises(TypeError):
        function([1.0], None)


def test_numpy_in_without_copy_and_out_never_aliases():
    x = T.vector("x")
    f = function([x], x)
    a = f32(1, 2, 3)
    r = f(a)
    assert not np.shares_memory(r, a)
    w = shared(f32(1, 2), borrow=True)
    v = w.get_value(borrow=True)
    g = function([], w)
    assert not np.shares_memory(g(), v)


def test_shared_borrow_semantics():
    a = f32(1, 2)
    w = shared(a, borrow=True)
    assert np.shares_memory(w.get_value(borrow=True), a)
    w2 = shared(a)
    assert not np.shares_memory(w2.get_value(borrow=True), a)
    assert not np.shares_memory(w.get_value(), a)
    with pytest.raises(TypeError):
        w.set_value(np.ones((2, 2), dtype="float32"))


def test_failed_call_leaves_shared_values_unchanged():
    w = shared(f32(1, 1), name="w")
    x = T.vector("x")
    f = function([x], [], updates=[(w, w + x)])
    with pytest.raises(ValueError):
        f(f32(1, 2, 3))
    np.testing.assert_array_equal(w.get_value(), f32(1, 1))


def test_floatx_config():
    assert theanine.config.floatX in ("float32", "float64")
    assert T.matrix().dtype == theanine.config.floatX
    with pytest.raises(ValueError):
        theanine.config.floatX = "float16"


def test_floatx_from_environment():
    import subprocess
    import sys
    import os

    env = dict(os.environ, THEANINE_FLAGS="floatX=float64")
    out = subprocess.run([sys.executable, "-c",
                          "import theanine.tensor as T; print(T.matrix().dtype)"],
                         env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "float64"


def test_debugprint_of_function():
    x = T.vector("x")
    f = function([x], T.exp(x) * 2)
    text = theanine.printing.debugprint(f, file="str")
    assert "exp" in text and "x [id" in text


def test_variable_truth_value_and_len_are_errors():
    x = T.vector("x")
    with pytest.raises(TypeError):
        bool(x)
    with pytest.raises(TypeError):
        len(x)


def test_default_update_applies_unless_an_explicit_update_or_no_default_updates():
    x = theanine.shared(np.float64(0.0), "x")
    x.default_update = x + 1
    f = theanine.function([], x)
    assert [float(f()) for _ in range(3)] == [0.0, 1.0, 2.0]
    g = theanine.function([], x, no_default_updates=True)
    assert float(g()) == 3.0 and float(g()) == 3.0
    h = theanine.function([], x, updates=[(x, x * 2)])
    assert float(h()) == 3.0 and float(x.get_value()) == 6.0
    x.default_update = None
    assert x.default_update is None
    k = theanine.function([], x)
    k()
    assert float(x.get_value()) == 6.0
