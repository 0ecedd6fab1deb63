"""convolve2d/correlate2d against scipy: every boundary, fillvalue, mode, method, dtype."""

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
