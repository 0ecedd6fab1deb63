"""The tiny calls' sums by shifted slices (`fftconv.engine.shifted_sums`), against scipy's
direct sums: what a fresh process' tiny calls answer while scipy's modules import."""

import itertools

import numpy as np
import pytest
import scipy.ndimage
import scipy.signal

from fftconv.core.boundary import MODES
from fftconv.engine import shifted_sums

SIGNAL_SHAPES = [((4, 4), (2, 2)), ((7, 5), (3, 2)), ((6,), (3,)), ((5,), (4,)), ((3, 4, 5), (2, 2, 3)),
                 ((5, 6), (1, 3)), ((3, 3), (3, 3))]
NDIMAGE_SHAPES = [((5,), (3,)), ((6,), (2,)), ((7, 6), (2, 3)), ((8, 8), (4, 4)), ((5, 4, 6), (2, 3, 3)),
                  ((4, 4), (4, 4))]


def operand(rng, shape, dtype):
    values = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        values = values + 1j * rng.standard_normal(shape)
    return values.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
@pytest.mark.parametrize("shapes", SIGNAL_SHAPES)
def test_signal_sums_are_scipys_direct_sums(rng, dtype, shapes):
    a, b = operand(rng, shapes[0], dtype), operand(rng, shapes[1], dtype)
    tolerance = 1e-5 if np.dtype(dtype) in (np.dtype(np.float32), np.dtype(np.complex64)) else 1e-12
    for mode, correlate in itertools.product(("full", "same", "valid"), (False, True)):
        got = shifted_sums.signal_sum(a, b, mode, correlate)
        want = (scipy.signal.correlate if correlate else scipy.signal.convolve)(a, b, mode, method="direct")
        assert got.dtype == want.dtype and got.shape == want.shape, (mode, correlate)
        np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance, err_msg=f"{mode} {correlate}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shapes", NDIMAGE_SHAPES)
def test_ndimage_sums_are_scipys_to_the_bit(rng, dtype, shapes):
    x = rng.standard_normal(shapes[0]).astype(dtype)
    w = rng.standard_normal(shapes[1])
    x.flat[3] = np.nan
    w.flat[0] = 0.0  # scipy's loop skips a zero weight: the NaN it reaches stays out
    for mode in MODES:
        for convolution in (False, True):
            got = shifted_sums.ndimage_sum(x, w, mode, 1.5, convolution)
            scipys = scipy.ndimage.convolve if convolution else scipy.ndimage.correlate
            want = scipys(x, w, mode=mode, cval=1.5)
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want, err_msg=f"{mode} {convolution}")


def test_calls_the_sums_do_not_answer_are_left_to_the_pipeline():
    ones = np.ones((4, 4))
    assert shifted_sums.signal_sum(ones, np.ones((2, 2), np.float32), "full", False) is None  # two dtypes
    assert shifted_sums.signal_sum(ones.astype(np.int64), np.ones((2, 2), np.int64), "full", False) is None
    assert shifted_sums.signal_sum(ones, np.ones((9, 9)), "full", False) is None  # more taps than MOST_TAPS
    assert shifted_sums.signal_sum(np.ones((2, 2)), ones, "valid", False) is None  # scipy swaps these
    assert shifted_sums.signal_sum(ones, np.ones((2, 2)), "middle", False) is None
    wider = np.ones((5, 1))  # than the image
    assert shifted_sums.ndimage_sum(ones, wider, "reflect", 0.0, False) is None
    assert shifted_sums.ndimage_sum(ones.astype(complex), np.ones((2, 2)), "reflect", 0.0, False) is None
    assert shifted_sums.ndimage_sum(ones, np.ones((2, 2)), "unknown", 0.0, False) is None


@pytest.mark.parametrize("dtype", [np.float32, np.complex128])
def test_signal_sums_are_convolve2d_where_the_tiny_route_takes_them(rng, dtype):
    """`tiny.signal_2d` hands zero-filled `convolve2d`/`correlate2d` calls here, except an
    even kernel's 'same' correlation (correlate2d centres it one sample off correlate's)."""
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    for shapes in [((4, 4), (2, 2)), ((7, 5), (3, 3)), ((6, 9), (3, 2)), ((5, 6), (1, 3))]:
        a, b = operand(rng, shapes[0], dtype), operand(rng, shapes[1], dtype)
        for mode, correlate in itertools.product(("full", "same", "valid"), (False, True)):
            if correlate and mode == "same" and any(k % 2 == 0 for k in b.shape):
                continue
            want = (scipy.signal.correlate2d if correlate else scipy.signal.convolve2d)(a, b, mode)
            got = shifted_sums.signal_sum(a, b, mode, correlate)
            np.testing.assert_allclose(got, want, tolerance, tolerance, err_msg=f"{mode} {correlate}")
