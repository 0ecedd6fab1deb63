"""Tiny problems are direct sums: integer-valued inputs give exactly scipy's direct answer
(an FFT would be off in the last bits), for every function, dtype and boundary."""

import itertools

import numpy as np
import pytest
import scipy.signal

import fftconv

SHAPES = [((2, 4, 5), (2, 3, 4)), ((2, 2, 2), (2, 2, 2)), ((3, 4), (2, 2)), ((5,), (3,)), ((4, 4), (3, 5)),
          ((6, 5), (2, 3)), ((3, 3, 3), (2, 1, 2))]


def integer_valued(rng, shape, dtype):
    values = rng.integers(-20, 21, shape)
    if np.dtype(dtype).kind == "c":
        values = values + 1j * rng.integers(-20, 21, shape)
    return values.astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64", "complex128"])
@pytest.mark.parametrize("name", ["convolve", "correlate"])
def test_tiny_nd_sums_are_exact(rng, dtype, name):
    for (s1, s2), mode in itertools.product(SHAPES, ["full", "same", "valid"]):
        a, b = integer_valued(rng, s1, dtype), integer_valued(rng, s2, dtype)
        try:
            want = getattr(scipy.signal, name)(a, b, mode, method="direct")
        except ValueError:
            continue
        got = getattr(fftconv, name)(a, b, mode)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want, err_msg=f"{name} {s1} {s2} {mode} {dtype}")


@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm"])
@pytest.mark.parametrize("dtype", ["float64", "complex128"])
def test_tiny_2d_sums_with_boundaries_are_exact(rng, boundary, dtype):
    for (s1, s2), mode in itertools.product([((3, 4), (2, 2)), ((4, 4), (3, 5)), ((2, 3), (2, 2))],
                                            ["full", "same", "valid"]):
        a, b = integer_valued(rng, s1, dtype), integer_valued(rng, s2, dtype)
        for name in ("convolve2d", "correlate2d"):
            try:
                want = getattr(scipy.signal, name)(a, b, mode, boundary)
            except ValueError:
                continue
            np.testing.assert_array_equal(getattr(fftconv, name)(a, b, mode, boundary), want,
                                          err_msg=f"{name} {s1} {s2} {mode} {boundary}")


def test_the_reported_cases():
    a = np.arange(40, dtype=np.float32).reshape(2, 4, 5)
    b = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    want = scipy.signal.correlate(a, b, "valid", "direct")
    np.testing.assert_array_equal(fftconv.correlate(a, b, "valid"), want)
    z = (np.arange(8) + 1j * np.arange(8)[::-1]).reshape(2, 2, 2)
    np.testing.assert_array_equal(fftconv.convolve(z, z), scipy.signal.convolve(z, z, method="direct"))
