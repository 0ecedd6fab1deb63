"""Whole-array FFT lengths: the shortest fast ones, or longer ones the cost model estimates
clearly cheaper (`fftconv.executors.spectral.cheapest_fft_shape`)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fftconv
from fftconv.executors import fft_lengths
from fftconv.executors.spectral import cheapest_fft_shape
from fftconv.planning.costs import DEFAULT_COSTS


def _smooth(n: int) -> bool:
    for p in (2, 3, 5, 7):
        while n % p == 0:
            n //= p
    return n == 1


@settings(max_examples=80, deadline=None)
@given(minimums=st.lists(st.integers(1, 5000), min_size=1, max_size=3), real=st.booleans())
def test_the_cheapest_shape_is_fast_long_enough_and_clearly_cheaper(minimums, real):
    rank = len(minimums)
    shortest = tuple(fft_lengths.next_fast_length(n, even=real and i == rank - 1)
                     for i, n in enumerate(minimums))
    chosen = cheapest_fft_shape(shortest, real, DEFAULT_COSTS, 8)
    assert all(s <= c <= s * fft_lengths.LENGTH_SPAN and _smooth(c) for s, c in zip(shortest, chosen))
    assert not real or chosen[-1] % 2 == 0

    def cost(shape):
        return DEFAULT_COSTS.fft_seconds(math.prod(shape), 8, real, "double", 1, rank)
    assert chosen == shortest or cost(chosen) <= fft_lengths.LENGTH_GAIN * cost(shortest)


def test_the_planner_transforms_a_clearly_cheaper_length():
    # 3000 + 751 - 1 = 3750 = 2·3·5⁴; 4096 transforms in 0.66 of its time (10.6 against 16.0
    # us forward and inverse, AMD EPYC Zen 4, FFTW MEASURE)
    a, b = np.zeros(3000), np.zeros(751)
    with fftconv.config.override(calibrate="off"):
        assert fftconv.plan(a, b, "full", method="fft").fft_shape == (4096,)
        rng = np.random.default_rng(0)
        a, b = rng.standard_normal(3000), rng.standard_normal(751)
        got = fftconv.convolve(a, b, "full", method="fft")
    np.testing.assert_allclose(got, np.convolve(a, b), atol=1e-10)
    # a length as cheap per point as any nearby keeps its own: 1000² * 101² 'full' needs 1100
    assert cheapest_fft_shape((1120, 1120), True, DEFAULT_COSTS, 8) == (1120, 1120)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("batch", [(), (1,), (2,), (2, 3)])
def test_a_batch_of_spectra_is_multiplied_band_by_band_as_numpy_multiplies(rng, dtype, batch, monkeypatch):
    from fftconv.executors import spectral

    monkeypatch.setattr(spectral, "PRODUCT_BAND_BYTES", 3 * 9 * np.dtype(dtype).itemsize)  # bands of 3 rows
    shape = (10, 9)
    spectra = (rng.standard_normal(batch + shape) + 1j * rng.standard_normal(batch + shape)).astype(dtype)
    kernel = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    want = spectra * kernel
    spectral.multiply_spectra(spectra, kernel)
    np.testing.assert_array_equal(spectra, want)
