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


compiled = pytest.mark.skipif(shifted_sums.tiny_sums is None, reason="the compiled loop was not built")


@compiled
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
def test_the_compiled_loop_gives_the_slices_bits(rng, dtype, monkeypatch):
    """One order of additions, no fused multiply-add: the loop and the NumPy slices agree to
    the bit on real numbers, NaN and inf included; complex products within rounding (NumPy's
    complex multiply may fuse its multiply-adds)."""
    cases = []
    for shapes in SIGNAL_SHAPES + [((1, 9), (1, 4)), ((2, 3, 1), (2, 1, 1))]:
        a, b = operand(rng, shapes[0], dtype), operand(rng, shapes[1], dtype)
        a.flat[1], a.flat[-1] = np.nan, np.inf
        cases.append((a, b))
    for (a, b), mode, correlate in itertools.product(cases, ("full", "same", "valid"), (False, True)):
        compiled_answer = shifted_sums.signal_sum(a, b, mode, correlate)
        with monkeypatch.context() as m:
            m.setattr(shifted_sums, "tiny_sums", None)
            sliced = shifted_sums.signal_sum(a, b, mode, correlate)
        if sliced is None:
            assert compiled_answer is None
            continue
        assert compiled_answer.dtype == sliced.dtype and compiled_answer.flags.c_contiguous
        message = f"{a.shape} {b.shape} {mode} {correlate}"
        if np.dtype(dtype).kind == "c":
            tolerance = 1e-5 if dtype == np.complex64 else 1e-13
            np.testing.assert_allclose(compiled_answer, sliced, tolerance, tolerance, err_msg=message)
        else:
            np.testing.assert_array_equal(compiled_answer, sliced, err_msg=message)
    if np.dtype(dtype).kind == "c":
        return
    for shapes in NDIMAGE_SHAPES + [((1, 1), (1, 1)), ((2, 5), (2, 5))]:
        x = rng.standard_normal(shapes[0]).astype(dtype)
        x.flat[0] = np.inf
        for weights_dtype in (np.float64, np.float32, np.int64, np.bool_):
            w = (rng.standard_normal(shapes[1]) * 3).astype(weights_dtype)
            for mode, convolution, cval in itertools.product(MODES, (False, True), (0.0, -2.5, np.nan)):
                compiled_answer = shifted_sums.ndimage_sum(x, w, mode, cval, convolution)
                with monkeypatch.context() as m:
                    m.setattr(shifted_sums, "tiny_sums", None)
                    sliced = shifted_sums.ndimage_sum(x, w, mode, cval, convolution)
                message = f"{shapes} {mode} {convolution}"
                np.testing.assert_array_equal(compiled_answer, sliced, err_msg=message)
                assert compiled_answer.dtype == x.dtype


@compiled
def test_the_slices_sum_what_the_loop_does_not_take(rng):
    """Four dimensions and strided arrays are summed by the NumPy slices, as scipy sums them."""
    a, b = rng.standard_normal((2, 3, 2, 4)), rng.standard_normal((2, 1, 2, 2))
    np.testing.assert_allclose(shifted_sums.signal_sum(a, b, "full", False),
                               scipy.signal.convolve(a, b, "full", method="direct"), 1e-12, 1e-12)
    x, w = rng.standard_normal((9, 12))[:, ::2], rng.standard_normal((3, 3))
    np.testing.assert_array_equal(shifted_sums.ndimage_sum(x, w, "mirror", 0.0, False),
                                  scipy.ndimage.correlate(x, w, mode="mirror"))


@compiled
def test_the_compiled_loop_refuses_what_it_cannot_sum():
    loop = shifted_sums.tiny_sums
    with pytest.raises(TypeError, match="one dtype"):
        loop.signal(np.ones(3), np.ones(2, np.float32), np.empty(4), [0], False)
    with pytest.raises(ValueError, match="within the full convolution"):
        loop.signal(np.ones(3), np.ones(2), np.empty(5), [0], False)
    with pytest.raises(ValueError, match="1 to 3"):
        loop.signal(np.ones((1, 1, 1, 3)), np.ones((1, 1, 1, 2)), np.empty((1, 1, 1, 4)), [0] * 4, False)
    with pytest.raises(TypeError, match="weights float64"):
        loop.ndimage(np.ones(3), np.ones(2, np.float32), np.empty(3), 0, 0.0, False)
    with pytest.raises(ValueError, match="no axis longer"):
        loop.ndimage(np.ones(3), np.ones(4), np.empty(3), 0, 0.0, False)
    with pytest.raises(ValueError, match="mode must be"):
        loop.ndimage(np.ones(3), np.ones(2), np.empty(3), 7, 0.0, False)
    with pytest.raises(ValueError, match="contiguous"):
        loop.ndimage(np.ones(3), np.ones(2), np.empty(3)[::-1], 0, 0.0, False)


@compiled
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
def test_tiny_calls_before_scipy_is_ready_answer_as_scipy(rng, dtype, monkeypatch):
    """What a fresh process' tiny calls meet (scipy's modules not imported): the public
    functions answer through the compiled loop as scipy does, and queue no import for it."""
    import fftconv
    import fftconv.ndimage
    from fftconv.engine import tiny

    queued = []
    monkeypatch.setattr(tiny, "_ready", lambda name: False)
    monkeypatch.setattr(tiny.background, "submit", lambda key, job, priority=1: queued.append(key))
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    for shapes in [((4, 4), (2, 2)), ((16, 16), (3, 3)), ((9,), (4,)), ((3, 5, 4), (2, 2, 3))]:
        a, b = operand(rng, shapes[0], dtype), operand(rng, shapes[1], dtype)
        a.flat[2] = np.nan
        for mode, correlate in itertools.product(("full", "same", "valid"), (False, True)):
            ours, scipys = (fftconv.correlate, scipy.signal.correlate) if correlate else (
                fftconv.convolve, scipy.signal.convolve)
            want = scipys(a, b, mode, method="direct")
            np.testing.assert_allclose(ours(a, b, mode), want, tolerance, tolerance,
                                       err_msg=f"{shapes} {mode}")
            if a.ndim == 2 and not (correlate and mode == "same"):
                two_d = fftconv.correlate2d if correlate else fftconv.convolve2d
                want = (scipy.signal.correlate2d if correlate else scipy.signal.convolve2d)(a, b, mode)
                np.testing.assert_allclose(two_d(a, b, mode), want, tolerance, tolerance)
        if np.dtype(dtype).kind == "f":
            w = rng.standard_normal(shapes[1])
            for mode, convolution in itertools.product(MODES, (False, True)):
                ours = fftconv.ndimage.convolve if convolution else fftconv.ndimage.correlate
                scipys = scipy.ndimage.convolve if convolution else scipy.ndimage.correlate
                np.testing.assert_array_equal(ours(a, w, mode=mode, cval=0.5),
                                              scipys(a, w, mode=mode, cval=0.5),
                                              err_msg=f"{shapes} {mode} {convolution}")
    assert queued == []
