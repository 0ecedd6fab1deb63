"""Convolver: plan once, many images; equal to fftconv.convolve and scipy; clear errors."""

import numpy as np
import pytest
import scipy.signal
from conftest import GENERAL_METHODS, assert_close

import fftconv


@pytest.mark.parametrize("method", GENERAL_METHODS)
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("correlate", [False, True])
def test_matches_scipy_for_many_images(rng, method, mode, correlate):
    kernel = rng.standard_normal((7, 4))
    conv = fftconv.Convolver(kernel, (60, 45), mode, method, correlate=correlate, threads=1)
    func = scipy.signal.correlate if correlate else scipy.signal.convolve
    for _ in range(3):
        image = rng.standard_normal((60, 45))
        assert_close(conv(image), func(image, kernel, mode, "direct"))
    assert conv.out_shape == func(image, kernel, mode).shape


@pytest.mark.parametrize("dtype", ["uint8", "int16", "float32", "complex64"])
def test_dtypes_and_out(rng, dtype):
    kernel = (rng.standard_normal((5, 5)) * 3).astype(np.int8 if dtype in ("uint8", "int16") else dtype)
    conv = fftconv.Convolver(kernel, (40, 40), "same", dtype=dtype, threads=1)
    image = (rng.random((40, 40)) * 100).astype(dtype)
    want = scipy.signal.convolve(image, kernel, "same", method="direct")
    assert conv.out_dtype == want.dtype
    assert_close(conv(image), want, ulps=2000)
    out = np.empty(conv.out_shape, conv.out_dtype)
    assert conv(image, out=out) is out
    assert_close(out, want, ulps=2000)


def test_worst_case_integer_bound_plans_direct_for_large_integer_images():
    conv = fftconv.Convolver(np.full((9, 9), 1000, np.int64), (50, 50), "same", dtype=np.int64)
    assert conv.plan.method == "direct"  # int64 images could exceed float64's exact range
    image = np.full((50, 50), 2**40, np.int64)
    np.testing.assert_array_equal(conv(image), scipy.signal.convolve(image, np.full((9, 9), 1000), "same",
                                                                      method="direct"))


def test_kernel_is_copied_and_nonfinite_images_stay_local(rng):
    kernel = rng.standard_normal((3, 3))
    conv = fftconv.Convolver(kernel, (30, 30), "same", "fft", threads=1)
    kernel[:] = 0  # the Convolver keeps its own copy
    image = rng.standard_normal((30, 30))
    image[10, 10] = np.nan
    result = conv(image)
    assert np.isnan(result).sum() == 9
    assert np.isfinite(result[0]).all()


def test_errors(rng):
    with pytest.raises(ValueError, match="dimensions"):
        fftconv.Convolver(np.ones((3, 3)), (10,))
    with pytest.raises(ValueError, match="mode"):
        fftconv.Convolver(np.ones(3), (10,), mode="middle")
    with pytest.raises(ValueError, match="at least as large"):
        fftconv.Convolver(np.ones(30), (10,), mode="valid")
    conv = fftconv.Convolver(np.ones((3, 3)), (10, 10))
    with pytest.raises(ValueError, match="planned shape"):
        conv(np.ones((11, 10)))
    with pytest.raises(ValueError, match="out must be"):
        conv(np.ones((10, 10)), out=np.empty((10, 10)))
    with pytest.raises(TypeError, match="cannot be cast"):
        conv(np.ones((10, 10), complex))
