"""Non-finite values stay local (every method equals the direct sum), integers stay exact."""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.ndimage
import scipy.signal
from conftest import GENERAL_METHODS, assert_close

import fftconv
import fftconv.ndimage


def direct_oracle(a, b, mode, correlate=False):
    """scipy's direct path for 1-D (np.convolve keeps NaN local), else the seed semantics:
    products only where the input exists (scipy's N-d direct path also multiplies its zero
    padding, so it spreads a non-finite kernel value everywhere)."""
    if correlate:
        b = np.conj(np.flip(b))
    full = np.zeros(tuple(n + k - 1 for n, k in zip(a.shape, b.shape)), np.result_type(a, b))
    with np.errstate(invalid="ignore"):
        for idx in np.ndindex(*b.shape):
            full[tuple(slice(i, i + n) for i, n in zip(idx, a.shape))] += a * b[idx]
    if mode == "full":
        return full
    if mode == "same":
        start = [(k - 1) // 2 for k in b.shape]
        return full[tuple(slice(s, s + n) for s, n in zip(start, a.shape))]
    return full[tuple(slice(k - 1, n) for n, k in zip(a.shape, b.shape))]


def same_nan_pattern(actual, expected):
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_array_equal(np.isposinf(actual.real), np.isposinf(expected.real))
    np.testing.assert_array_equal(np.isneginf(actual.real), np.isneginf(expected.real))
    finite = np.isfinite(expected)
    assert_close(actual[finite], expected[finite])


@pytest.mark.parametrize("method", GENERAL_METHODS)
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("kernel_shape", [(5, 4), (3, 13)])  # direct: kernel rows, ndimage's loop
def test_nan_and_inf_in_the_image_stay_local(rng, method, mode, kernel_shape):
    a = rng.standard_normal((40, 37))
    a[5, 6] = np.nan
    a[20, 30] = np.inf
    a[21, 31] = -np.inf
    a[30, 3] = np.inf
    b = rng.standard_normal(kernel_shape)
    b[2, 1] = 0.0  # inf * 0 must give NaN exactly where the direct sum has it
    ours = fftconv.convolve(a, b, mode, method, threads=1)
    expected = direct_oracle(a, b, mode)
    same_nan_pattern(ours, expected)
    assert np.isfinite(ours).mean() > 0.8


@pytest.mark.parametrize("method", GENERAL_METHODS)
def test_non_finite_kernel_stays_local(rng, method):
    a = rng.standard_normal((30, 30))
    b = rng.standard_normal((3, 3))
    b[0, 0] = np.nan
    ours = fftconv.convolve(a, b, "full", method, threads=1)
    same_nan_pattern(ours, direct_oracle(a, b, "full"))
    one_d = fftconv.convolve(a[0], b[0], "full", method)
    same_nan_pattern(one_d, np.convolve(a[0], b[0]))


@pytest.mark.parametrize("method", GENERAL_METHODS)
def test_complex_with_inf_matches_direct(rng, method):
    a = rng.standard_normal((20, 20)) + 1j * rng.standard_normal((20, 20))
    a[4, 4] = complex(np.inf, 0)
    b = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    ours = fftconv.correlate(a, b, "same", method, threads=1)
    expected = direct_oracle(a, b, "same", correlate=True)
    np.testing.assert_array_equal(np.isfinite(ours), np.isfinite(expected))
    assert_close(ours[np.isfinite(expected)], expected[np.isfinite(expected)])


def test_fftconvolve_keeps_nan_local_where_scipy_does_not(rng):
    a = rng.standard_normal((64, 64))
    a[10, 10] = np.nan
    b = rng.standard_normal((5, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isnan(scipy.signal.fftconvolve(a, b)).all()
    ours = fftconv.fftconvolve(a, b, threads=1)
    assert np.isnan(ours).sum() == 25


@pytest.mark.parametrize("dtype", ["int64", "uint64"])
def test_large_integers_are_exact(rng, dtype):
    big = 2**40
    a = rng.integers(0, big, (60, 50)).astype(dtype)
    b = rng.integers(0, 1000, (9, 9)).astype(dtype)
    want = scipy.signal.convolve(a, b, "same", method="direct")
    assert scipy.signal.choose_conv_method(a, b, "same") == "direct"
    assert fftconv.choose_conv_method(a, b, "same") == "direct"
    np.testing.assert_array_equal(fftconv.convolve(a, b, "same"), want)


def test_int8_wraps_like_scipy(rng):
    a = rng.integers(-128, 127, (30, 30)).astype(np.int8)
    b = rng.integers(-128, 127, (4, 4)).astype(np.int8)
    want = scipy.signal.convolve(a, b, method="direct")
    for method in GENERAL_METHODS:
        np.testing.assert_array_equal(fftconv.convolve(a, b, method=method), want)


def test_small_integers_take_the_fft_when_faster_and_stay_exact(rng):
    a = rng.integers(0, 255, (600, 600)).astype(np.uint8).astype(np.int32)
    b = rng.integers(-3, 4, (41, 41)).astype(np.int32)  # big enough for an FFT to beat direct sums
    assert fftconv.plan(a, b, "same", threads=1).method != "direct"
    np.testing.assert_array_equal(
        fftconv.convolve(a, b, "same", threads=1), scipy.signal.convolve(a, b, "same", method="direct")
    )


def test_bool_rounds_before_casting(rng):
    a = rng.random((50, 50)) > 0.7
    b = rng.random((6, 6)) > 0.5
    want = scipy.signal.convolve(a.astype(int), b.astype(int), method="direct") != 0
    for method in GENERAL_METHODS:
        np.testing.assert_array_equal(fftconv.convolve(a, b, method=method), want)


def test_nan_found_by_a_helper_thread_falls_back_cleanly(rng):
    x = rng.standard_normal((1500, 1500))
    x[1490, 7] = np.nan  # in one of the last tiles
    h = rng.standard_normal((5, 5))
    plan = fftconv.plan(x, h, "same", "tiled", threads=2)
    assert plan.tiles >= 4 and np.prod(plan.fft_shape) >= 8192  # tiles go to two threads
    got = fftconv.convolve(x, h, "same", "tiled", threads=2)
    want = fftconv.convolve(x, h, "same", "direct")
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    assert_close(got[np.isfinite(want)], want[np.isfinite(want)])


def test_calls_from_several_threads_at_once_stay_correct(rng):
    from concurrent.futures import ThreadPoolExecutor

    images = [rng.standard_normal((300, 300)) for _ in range(8)]
    h = rng.standard_normal((9, 9))
    wants = [scipy.signal.fftconvolve(img, h, "same") for img in images]

    def run(i):
        return fftconv.convolve(images[i], h, "same", "tiled", threads=1)

    with ThreadPoolExecutor(4) as pool:
        for _ in range(3):
            for got, want in zip(pool.map(run, range(8)), wants):
                assert_close(got, want)


def test_nonfinite_values_found_by_a_transform_raise_no_warning(tmp_path):
    """A NaN or inf is found by the spectrum it makes (then kept local): NumPy's transform,
    which serves a process that has not imported scipy.fft, warned "invalid value encountered
    in rfft_n_even" on the way, an error under ``-W error``."""
    script = (
        "import sys, numpy as np, fftconv, fftconv.ndimage\n"
        "x = np.ones((300, 300)); x[5, 5] = np.nan; x[50, 60] = np.inf\n"
        "fftconv.ndimage.correlate(x, np.ones((9, 9)), method='fft')\n"
        "fftconv.convolve(x, np.ones((9, 9)), 'same', method='fft')\n"
        "assert 'scipy.fft' not in sys.modules\n"
        "print('ok')\n")
    homes = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    env = {**os.environ, **homes, "FFTCONV_CALIBRATE": "off", "FFTCONV_BACKEND": "pocketfft"}
    done = subprocess.run([sys.executable, "-W", "error", "-c", script], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


COMPLEX_FILTERS = [("correlate", (np.ones((25, 25)),), {}), ("convolve", (np.ones((3, 4)),), {}),
                   ("gaussian_filter", (2.0,), {}), ("gaussian_filter1d", (2.0,), {}),
                   ("correlate1d", (np.ones(9),), {}), ("gaussian_laplace", (1.5,), {}),
                   ("sobel", (), {}), ("laplace", (), {}),
                   ("correlate", (np.ones((5, 5)),), {"mode": "constant", "cval": complex(np.nan, 2.0)})]


@pytest.mark.parametrize("name, args, kwargs", COMPLEX_FILTERS)
@pytest.mark.parametrize("method", ["auto", "direct", "fft"])
def test_a_complex_images_parts_keep_their_own_nan_as_scipy_ndimages(rng, name, args, kwargs, method):
    """scipy.ndimage filters a complex image's real and imaginary parts apart: a NaN in the
    real part leaves the imaginary part finite. The engine's complex sums had carried it into
    both (NaN x 0 is NaN): 300x300 with one NaN, a 25x25 box, 625 NaN imaginary outputs."""
    import scipy.ndimage

    import fftconv.ndimage

    image = rng.standard_normal((300, 300)) + 1j * rng.standard_normal((300, 300))
    image[50, 50] = complex(np.nan, 1.0)
    image[200, 100] = complex(2.0, np.inf)
    want = getattr(scipy.ndimage, name)(image, *args, **kwargs)
    extra = {"method": method} if name in ("correlate", "convolve") else {}
    got = getattr(fftconv.ndimage, name)(image, *args, **kwargs, **extra)
    assert got.dtype == want.dtype
    for part in (np.real, np.imag):
        np.testing.assert_array_equal(np.isnan(part(got)), np.isnan(part(want)))
        np.testing.assert_array_equal(np.isinf(part(got)), np.isinf(part(want)))
    finite = np.isfinite(want)
    np.testing.assert_allclose(got[finite], want[finite], rtol=0, atol=1e-11 * np.abs(want[finite]).max())
    out = np.full(image.shape, 7 + 7j, np.complex64)  # into an output array's parts
    getattr(fftconv.ndimage, name)(image, *args, output=out, **kwargs, **extra)
    np.testing.assert_array_equal(np.isnan(out.imag), np.isnan(want.imag))


def test_a_complex_dask_images_parts_keep_their_own_nan(rng):
    da = pytest.importorskip("dask.array")
    import scipy.ndimage

    import fftconv.dask.ndimage

    image = rng.standard_normal((120, 90)) + 1j * rng.standard_normal((120, 90))
    image[50, 50] = complex(np.nan, 1.0)
    want = scipy.ndimage.correlate(image, np.ones((9, 9)), mode="constant", cval=1 - 2j)
    got = fftconv.dask.ndimage.correlate(da.from_array(image, chunks=40), np.ones((9, 9)), mode="constant",
                                         cval=1 - 2j).compute()
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(np.isnan(got.imag), np.isnan(want.imag))
    np.testing.assert_array_equal(np.isnan(got.real), np.isnan(want.real))
    finite = np.isfinite(want)
    np.testing.assert_allclose(got[finite], want[finite], rtol=0, atol=1e-11 * np.abs(want[finite]).max())


@pytest.mark.parametrize("dtype", [np.int16, np.uint8, np.float32])
@pytest.mark.parametrize("shape", [(7,), (3, 4)])
def test_a_gradient_magnitude_of_sigma_zero_is_scipys(rng, dtype, shape):
    """sigma 0 filters nothing, but the magnitude still squares, sums and roots (in the
    output's dtype, wrapping as scipy's does): a 1-D image had come back as it was."""
    import scipy.ndimage

    import fftconv.ndimage

    image = (rng.standard_normal(shape) * 150).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy's sqrt of a wrapped square
        want = scipy.ndimage.gaussian_gradient_magnitude(image, 0.0)
        got = fftconv.ndimage.gaussian_gradient_magnitude(image, 0.0)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", ["uint8", "int16", "uint16", "int32", "int64", "bool"])
def test_the_compiled_snap_and_truncation_casts_as_numpys(dtype):
    """`cast`'s scipy.ndimage rule (values within round-off of an integer snap to it, then all
    truncate toward zero) in one compiled pass, in place, for a writeable float64 result, gives
    the NumPy path's integers bit for bit: values just under and over integers at every scale,
    out of the dtype's range, NaN and infinities among them."""
    from fftconv.core import dtypes
    from fftconv.engine._compiled import float_passes

    if float_passes is None:
        pytest.skip("float_passes.c not built")
    rng = np.random.default_rng(7)
    for trial in range(60):
        n = int(rng.integers(1, 3000))
        values = rng.standard_normal(n) * 10 ** rng.uniform(-2, 12)
        near = rng.integers(0, n, size=max(1, n // 3))
        ulps = rng.choice([-1, 1], size=len(near)) * rng.integers(0, 200, size=len(near))
        scale = np.maximum(np.abs(values[near]), 1)
        values[near] = np.rint(values[near]) + ulps * np.finfo(float).eps * scale
        if trial % 3 == 0:
            values[rng.integers(0, n)] = [np.nan, np.inf, -np.inf][trial % 9 // 3]
        numpys = values.copy()
        numpys.flags.writeable = False  # (the NumPy path)
        compiled = values.copy()
        assert dtypes._snapped_in_place(compiled.copy())
        with np.errstate(all="ignore"):
            want = dtypes.cast(numpys, np.dtype(dtype), "truncate")
            got = dtypes.cast(compiled, np.dtype(dtype), "truncate")
        np.testing.assert_array_equal(got, want)
    snapped = np.array([2.9999999999999996, -1.0000000000000002, 2.6, -2.6, 7.0])
    dtypes._snapped_in_place(snapped)
    np.testing.assert_array_equal(snapped, [3.0, -1.0, 2.0, -2.0, 7.0])
    relative = np.array([2.6, -2.6, 1e300])  # the round-off is relative to the largest value
    dtypes._snapped_in_place(relative)
    np.testing.assert_array_equal(relative, [3.0, -3.0, 1e300])


@pytest.mark.parametrize("name, args", [("sobel", ()), ("prewitt", (1,)), ("laplace", ()),
                                        ("correlate1d", ([1.0, -3.0, 2.0], 0))])
@pytest.mark.parametrize("shape", [(5, 7), (40, 33)])
def test_uint32_derivatives_wrap_as_scipys_c_cast(name, args, shape):
    """A uint32 image's negative differences wrap modulo 2^32 into the next pass, which sums
    them past the int32 range: scipy's C cast converts through a 64-bit integer (modulo 2^32
    again), where NumPy's cast gives 0 past int32 (fftconv's answers had been 0 there)."""
    x = np.random.default_rng(11).integers(0, 2**31, shape).astype(np.uint32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = getattr(scipy.ndimage, name)(x, *args)
    np.testing.assert_array_equal(getattr(fftconv.ndimage, name)(x, *args), want)
