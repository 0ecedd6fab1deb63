"""Algebra every method must satisfy, on shapes and values hypothesis picks."""

import numpy as np
from conftest import assert_close
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fftconv

METHODS = ["direct", "fft", "tiled"]
values = st.floats(-100, 100, allow_nan=False, allow_infinity=False, width=64)


@st.composite
def operand_pair(draw, same_shape_allowed=True):
    ndim = draw(st.integers(1, 3))
    s1 = draw(hnp.array_shapes(min_dims=ndim, max_dims=ndim, min_side=1, max_side=9))
    s2 = draw(hnp.array_shapes(min_dims=ndim, max_dims=ndim, min_side=1, max_side=6))
    x = draw(hnp.arrays(np.float64, s1, elements=values))
    h = draw(hnp.arrays(np.float64, s2, elements=values))
    return x, h


def scale_of(*arrays):
    return max([1.0] + [float(np.abs(a).sum()) for a in arrays])


@settings(max_examples=60, deadline=None)
@given(operand_pair(), st.sampled_from(["full", "same"]), st.sampled_from(METHODS))
def test_methods_agree(pair, mode, method):
    x, h = pair
    reference = fftconv.convolve(x, h, mode, "direct")
    ours = fftconv.convolve(x, h, mode, method, threads=1)
    assert ours.shape == reference.shape
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-12 * scale_of(x) * scale_of(h))


@settings(max_examples=60, deadline=None)
@given(operand_pair(), st.sampled_from(METHODS))
def test_full_convolution_commutes(pair, method):
    x, h = pair
    a = fftconv.convolve(x, h, "full", method, threads=1)
    b = fftconv.convolve(h, x, "full", method, threads=1)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12 * scale_of(x) * scale_of(h))


@settings(max_examples=60, deadline=None)
@given(operand_pair(), operand_pair(), st.floats(-3, 3), st.floats(-3, 3), st.sampled_from(METHODS))
def test_linearity(pair, other, alpha, beta, method):
    x, h = pair
    y = np.resize(other[0], x.shape)
    lhs = fftconv.convolve(alpha * x + beta * y, h, "same", method, threads=1)
    rhs = alpha * fftconv.convolve(x, h, "same", method) + beta * fftconv.convolve(y, h, "same", method)
    np.testing.assert_allclose(lhs, rhs, rtol=0, atol=1e-11 * scale_of(x, y) * scale_of(h) * 6)


@settings(max_examples=60, deadline=None)
@given(operand_pair(), st.sampled_from(["full", "same", "valid"]), st.sampled_from(METHODS))
def test_correlation_is_convolution_with_the_flipped_conjugate(pair, mode, method):
    x, h = pair
    hc = h + 1j * np.roll(h, 1)
    if mode == "valid" and not (
        all(a >= b for a, b in zip(x.shape, h.shape)) or all(b >= a for a, b in zip(x.shape, h.shape))
    ):
        return
    corr = fftconv.correlate(x, hc, mode, method, threads=1)
    conv = fftconv.convolve(x, np.conj(np.flip(hc)), mode, method, threads=1)
    assert_close(corr, conv, ulps=1e4)
