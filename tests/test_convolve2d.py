"""convolve2d/correlate2d against scipy: every boundary, fillvalue, mode, method, dtype."""

import re
import warnings

import numpy as np
import pytest
import scipy.signal
from conftest import GENERAL_METHODS, assert_close

import fftconv

BOUNDARIES = ["fill", "pad", "wrap", "circular", "symm", "symmetric"]


@pytest.mark.parametrize("name", ["convolve2d", "correlate2d"])
@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize(
    "shapes", [((12, 9), (3, 4)), ((8, 8), (5, 5)), ((4, 6), (2, 7)), ((3, 3), (6, 5)), ((5, 5), (5, 5))]
)
@pytest.mark.parametrize("method", GENERAL_METHODS)
def test_matches_scipy(rng, name, boundary, mode, shapes, method):
    a = rng.standard_normal(shapes[0])
    b = rng.standard_normal(shapes[1])
    try:
        want = getattr(scipy.signal, name)(a, b, mode, boundary, fillvalue=1.5)
    except ValueError:
        with pytest.raises(ValueError):
            getattr(fftconv, name)(a, b, mode, boundary, fillvalue=1.5, method=method)
        return
    ours = getattr(fftconv, name)(a, b, mode, boundary, fillvalue=1.5, method=method, threads=1)
    assert_close(ours, want)


@pytest.mark.parametrize("dtype", ["int16", "int64", "float32", "complex64", "complex128"])
@pytest.mark.parametrize("name", ["convolve2d", "correlate2d"])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_dtypes_and_swapped_valid(rng, dtype, name, mode):
    a = (rng.standard_normal((4, 5)) * 10 + 1j * rng.standard_normal((4, 5)) * 10)
    b = (rng.standard_normal((7, 8)) * 10 + 1j * rng.standard_normal((7, 8)) * 10)
    if np.dtype(dtype).kind != "c":
        a, b = a.real, b.real
    a, b = a.astype(dtype), b.astype(dtype)
    want = getattr(scipy.signal, name)(a, b, mode)
    ours = getattr(fftconv, name)(a, b, mode)
    assert ours.dtype == want.dtype
    if name == "correlate2d" and mode == "valid" and a.dtype.kind == "c":
        # deliberate: scipy conjugates this case; we return the correlation itself
        assert_close(ours, scipy.signal.correlate(a, b, "valid", "direct"), ulps=1000)
        want = np.conj(want)
    assert_close(ours, want, ulps=1000)


def test_errors_match_scipy():
    with pytest.raises(ValueError, match="2-D"):
        fftconv.convolve2d(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="boundary"):
        fftconv.convolve2d(np.ones((3, 3)), np.ones((2, 2)), boundary="reflect101")
    with pytest.raises(ValueError, match="fillvalue"):
        fftconv.convolve2d(np.ones((3, 3)), np.ones((2, 2)), fillvalue=[1, 2])
    with pytest.raises(ValueError, match="mode"):
        fftconv.correlate2d(np.ones((3, 3)), np.ones((2, 2)), mode="middle")


@pytest.mark.parametrize("function", ["convolve2d", "correlate2d"])
@pytest.mark.parametrize("kernel_dtype", [np.int16, np.float32, np.complex128])
@pytest.mark.parametrize("fillvalue", [2.5, 70000, 1 + 2j, np.int64(70000), np.float32(1.5), np.array(2.5),
                                       [3]])
def test_the_fill_is_converted_to_the_sums_type_as_scipys(rng, function, kernel_dtype, fillvalue):
    """The fill takes the type both inputs are summed in, as scipy's loop converts it: 2.5
    around an integer image convolved with a float kernel stays 2.5 (it had been cast to the
    image's int16: 2, and 70000 wrapped to 4464), a Python number the type cannot hold is
    refused with scipy's error, a NumPy scalar is cast. Images past the tiny route, which runs
    scipy's own loop."""
    image = rng.integers(-50, 50, (120, 90)).astype(np.int16)
    kernel = (rng.standard_normal((7, 5)) * 3).astype(kernel_dtype)
    for mode in ("same", "full"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
                want = getattr(scipy.signal, function)(image, kernel, mode, "fill", fillvalue)
        except ValueError as exc:
            with pytest.raises(ValueError, match=re.escape(str(exc)[:30])):
                getattr(fftconv, function)(image, kernel, mode, "fill", fillvalue)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
            got = getattr(fftconv, function)(image, kernel, mode, "fill", fillvalue)
        assert got.dtype == want.dtype
        if want.dtype.kind in "iu":
            np.testing.assert_array_equal(got, want)
        else:
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * np.abs(want).max())
