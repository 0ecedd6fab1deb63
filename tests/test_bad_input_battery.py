"""Bad input, with scipy as the oracle: every drop-in given what scipy refuses raises what scipy
raises (an instance of the same exception class; fftconv's messages say more), and what scipy
accepts it accepts with scipy's answer. The few deliberate differences are listed at the end."""


import numpy as np
import pytest
import scipy.ndimage as sn
import scipy.signal as ss
from conftest import outcome

import fftconv
import fftconv.ndimage as nd

IMAGE = np.random.default_rng(0).standard_normal((6, 7))
BAD_ARRAYS = {
    "strings": np.array([["a", "b"], ["c", "d"]]),
    "datetimes": np.array(["2020-01-01", "2020-01-02"], dtype="datetime64[D]"),
    "records": np.zeros(3, dtype=[("a", "f8"), ("b", "i4")]),
    "a number (0-d)": np.float64(2.0),
    "empty": np.zeros((0, 5)),
    "ragged": [[1, 2], [3]],
    "booleans": np.array([[True, False], [False, True]]),
    "another rank": np.ones(5),
}
KERNEL = np.ones((2, 2))
TWO_ARRAY = [
    ("convolve", ss.convolve),
    ("correlate", ss.correlate),
    ("fftconvolve", ss.fftconvolve),
    ("oaconvolve", ss.oaconvolve),
    ("convolve2d", ss.convolve2d),
    ("correlate2d", ss.correlate2d),
]
NDIMAGE_TWO = ["convolve", "correlate"]
NDIMAGE_ONE = [
    ("gaussian_filter", (1.0,)),
    ("uniform_filter", (3,)),
    ("correlate1d", ([1.0, 2.0],)),
    ("convolve1d", ([1.0, 2.0],)),
    ("gaussian_filter1d", (1.0,)),
    ("uniform_filter1d", (3,)),
    ("sobel", ()),
    ("prewitt", ()),
    ("laplace", ()),
    ("gaussian_laplace", (1.0,)),
    ("gaussian_gradient_magnitude", (1.0,)),
]


def same_outcome(ours, theirs):
    got, ours_error = outcome(ours)
    want, scipy_error = outcome(theirs)
    if scipy_error is not None:
        assert ours_error is not None, f"scipy raised {scipy_error!r}; fftconv returned"
        assert isinstance(ours_error, type(scipy_error)), (ours_error, scipy_error)
        assert "Traceback" not in str(ours_error) and str(ours_error)
    else:
        assert ours_error is None, f"scipy returned; fftconv raised {ours_error!r}"
        assert np.shape(got) == np.shape(want)
        np.testing.assert_allclose(
            np.asarray(got, dtype=complex), np.asarray(want, dtype=complex), atol=1e-12
        )


@pytest.mark.parametrize("label", list(BAD_ARRAYS))
@pytest.mark.parametrize("name, scipy_function", TWO_ARRAY)
@pytest.mark.parametrize("position", ["in1", "in2"])
def test_signal_drop_ins_refuse_as_scipy_does(label, name, scipy_function, position):
    bad = BAD_ARRAYS[label]
    args = (bad, KERNEL) if position == "in1" else (IMAGE, bad)
    same_outcome(lambda: getattr(fftconv, name)(*args), lambda: scipy_function(*args))


@pytest.mark.parametrize("label", list(BAD_ARRAYS))
@pytest.mark.parametrize("name", NDIMAGE_TWO)
@pytest.mark.parametrize("position", ["input", "weights"])
def test_ndimage_convolve_and_correlate_refuse_as_scipy_does(label, name, position):
    bad = BAD_ARRAYS[label]
    args = (bad, KERNEL) if position == "input" else (IMAGE, bad)
    same_outcome(lambda: getattr(nd, name)(*args), lambda: getattr(sn, name)(*args))


@pytest.mark.parametrize("label", list(BAD_ARRAYS))
@pytest.mark.parametrize("name, args", NDIMAGE_ONE)
def test_ndimage_filters_refuse_bad_images_as_scipy_does(label, name, args):
    bad = BAD_ARRAYS[label]
    same_outcome(lambda: getattr(nd, name)(bad, *args), lambda: getattr(sn, name)(bad, *args))


ARGUMENT_CASES = [
    ("gaussian_filter", (-1.0,), {}),
    ("gaussian_filter", (1.0,), {"truncate": -1.0}),
    ("gaussian_filter", (1.0,), {"radius": -1}),
    ("gaussian_filter", (1.0,), {"order": -1}),
    ("gaussian_filter", (1.0,), {"order": 4}),
    ("gaussian_filter", ([1.0, 2.0, 3.0],), {}),
    ("gaussian_filter", (1.0,), {"mode": "foo"}),
    ("gaussian_filter", (1.0,), {"axes": (0, 5)}),
    ("gaussian_filter", (1.0,), {"cval": "x"}),
    ("gaussian_filter", (float("nan"),), {}),
    ("gaussian_filter", (float("inf"),), {}),
    ("gaussian_filter", (1.0,), {"radius": 2.5}),
    ("gaussian_filter1d", (1.0,), {"axis": 5}),
    ("gaussian_filter1d", (0.0,), {}),
    ("uniform_filter", (0,), {}),
    ("uniform_filter", (-2,), {}),
    ("uniform_filter", (2.5,), {}),
    ("uniform_filter", (3,), {"origin": 5}),
    ("uniform_filter", (3,), {"cval": [1, 2]}),
    ("uniform_filter1d", (3,), {"origin": 2}),
    ("uniform_filter1d", (10**5,), {}),
    ("correlate1d", ([],), {}),
    ("correlate1d", ([[1, 2]],), {}),
    ("correlate1d", ([1.0, 2.0],), {"origin": 3}),
    ("convolve1d", ([1.0, 2.0],), {"axis": -3}),
    ("sobel", (), {"axis": 2}),
    ("laplace", (), {"mode": ["reflect"]}),
    ("gaussian_laplace", (-1.0,), {}),
    ("gaussian_gradient_magnitude", (1.0,), {"axes": (1, 1)}),
    ("convolve", (np.ones((3, 3)),), {"origin": 5}),
    ("correlate", (np.ones((3,)),), {}),
    ("convolve", (np.ones((3, 3)),), {"output": np.empty((2, 2))}),
    ("convolve", (np.ones((3, 3)),), {"output": "foo"}),
    ("convolve", (np.ones((3, 3)),), {"mode": 3}),
    ("convolve", (np.ones((2, 2)),), {"cval": None}),
]


@pytest.mark.parametrize("name, args, kwargs", ARGUMENT_CASES)
def test_ndimage_arguments_are_checked_as_scipy_checks_them(name, args, kwargs):
    same_outcome(
        lambda: getattr(nd, name)(IMAGE, *args, **kwargs), lambda: getattr(sn, name)(IMAGE, *args, **kwargs)
    )


def test_deliberate_differences():
    objects = np.array([[1, 2], [3, 4]], dtype=object)
    with pytest.raises(ValueError, match="Unsupported type"):
        ss.convolve(objects, KERNEL)
    # fftconv.signal sums Python numbers (Fractions, big integers) exactly instead
    assert fftconv.convolve(objects, KERNEL.astype(int).astype(object)).tolist()[1] == [4, 10, 6]
    # ... but objects that are not numbers get the ValueError scipy raises, saying which
    for name in ("convolve", "correlate", "convolve2d"):
        for bad in ("a", None):
            with pytest.raises(ValueError, match=f"in2 holds a {type(bad).__name__} object"):
                getattr(fftconv.signal, name)(objects, np.array([[1, bad]], dtype=object))
    sn.gaussian_filter(None, 1.0)  # scipy filters None as a 0-d object array; fftconv says what is wrong
    with pytest.raises(TypeError, match="input has dtype object, which cannot be filtered"):
        nd.gaussian_filter(None, 1.0)
