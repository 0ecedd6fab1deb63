"""fftconv.astropy against astropy itself: astropy's own convolution tests run with their
``convolve`` and ``convolve_fft`` rebound to fftconv's (tests/peers/astropy_rebind.py), and
direct comparisons on images with holes."""

import re

import numpy as np
import pytest
from conftest import outcome, run_peer_tests
from hypothesis import given, settings
from hypothesis import strategies as st

astropy_convolution = pytest.importorskip("astropy.convolution")

import fftconv.astropy as ours  # noqa: E402

ASTROPY_TESTS = [
    "astropy.convolution.tests.test_convolve",
    "astropy.convolution.tests.test_convolve_fft",
    "astropy.convolution.tests.test_convolve_kernels",
    "astropy.convolution.tests.test_convolve_nddata",
]


def test_astropys_own_tests_pass_with_the_drop_ins(tmp_path):
    run_peer_tests("astropy_rebind", ["--pyargs", *ASTROPY_TESTS], tmp_path)


@pytest.mark.parametrize("boundary", [None, "fill", "extend", "wrap"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("normalize_kernel, preserve_nan", [(True, False), (False, False), (True, True)])
def test_convolve_equals_astropys_on_images_with_holes(rng, boundary, dtype, normalize_kernel, preserve_nan):
    image = rng.standard_normal((40, 50)).astype(dtype)
    image[rng.random(image.shape) < 0.05] = np.nan
    image[10:14, 20:30] = np.nan
    kernel = astropy_convolution.Gaussian2DKernel(1.5).array * 3
    options = dict(boundary=boundary, normalize_kernel=normalize_kernel, preserve_nan=preserve_nan)
    want = astropy_convolution.convolve(image, kernel, **options)
    got = ours.convolve(image, kernel, **options)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    tol = 1e-6 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(np.nan_to_num(got), np.nan_to_num(want), atol=tol * np.nanmax(np.abs(want)))


def test_a_float32_image_is_rounded_band_by_band_not_kept_in_float64(rng, monkeypatch):
    """astropy's float64 answer of a float32 image, rounded to float32: written into the
    float32 result a band at a time (a whole float64 result and its cast had been 2.5 images
    of the call's peak heap: 5.1 images, 2.6 now; here, where the passes' kept scratch may be
    made again within the call, 6.2 and 3.6). Bands of 128K outputs, as on a core of 1 MiB
    of L2 (a 2 MiB L2's bands of 256K: 5.2 images)."""

    from fftconv.engine import hole_bands

    monkeypatch.setattr(hole_bands, "band_points", lambda: 1 << 17)

    image = rng.standard_normal((1024, 1024)).astype(np.float32)
    image[rng.random(image.shape) < 0.02] = np.nan
    kernel = astropy_convolution.Gaussian2DKernel(3).array
    got, peak = _second_call_and_its_peak_heap(ours.convolve, image, kernel)
    assert got.dtype == np.float32
    assert peak <= 4.5 * image.nbytes, peak / image.nbytes


@pytest.mark.parametrize("boundary", ["fill", "wrap"])
@pytest.mark.parametrize("min_wt", [0.0, 0.3])
def test_convolve_fft_equals_astropys_on_images_with_holes(rng, boundary, min_wt):
    image = rng.standard_normal((37, 44))
    image[rng.random(image.shape) < 0.05] = np.nan
    image[5:25, 5:25] = np.nan  # wider than the kernel: empty outputs
    kernel = astropy_convolution.Gaussian2DKernel(2).array
    want = astropy_convolution.convolve_fft(image, kernel, boundary=boundary, min_wt=min_wt)
    got = ours.convolve_fft(image, kernel, boundary=boundary, min_wt=min_wt)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(np.nan_to_num(got), np.nan_to_num(want), atol=1e-12 * np.nanmax(np.abs(want)))


@pytest.mark.parametrize("options", [{}, {"boundary": "wrap"}, {"boundary": "fill", "fill_value": 2.0},
                                     {"boundary": "fill", "psf_pad": False}, {"crop": False},
                                     {"preserve_nan": True}, {"normalize_kernel": False}, {"min_wt": 0.3},
                                     {"boundary": "wrap", "crop": False}, {"dealias": True}])
def test_convolve_fft_of_a_float32_image_is_astropys_float64_answer(rng, options):
    """A float32 image with holes is read as it is into convolve_fft's float64 sums (its float64
    copy, and that copy's pages touched anew, had cost a 1024² call 2-4 ms of 22): astropy's
    float64 answer all the same, on every path."""
    image = rng.standard_normal((37, 44)).astype(np.float32)
    image[rng.random(image.shape) < 0.05] = np.nan
    image[5:12, 5:12] = np.nan
    kernel = astropy_convolution.Gaussian2DKernel(2).array
    want = astropy_convolution.convolve_fft(image, kernel, **options)
    got = ours.convolve_fft(image, kernel, **options)
    assert got.dtype == want.dtype == np.float64
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(np.nan_to_num(got), np.nan_to_num(want), atol=1e-12 * np.nanmax(np.abs(want)))
    np.testing.assert_array_equal(got, ours.convolve_fft(image.astype(np.float64), kernel, **options))


def _second_call_and_its_peak_heap(function, image, kernel):
    """``function(image, kernel)``'s result and the peak of the Python heap during it, once a
    first call has made the plans and kept buffers."""
    import tracemalloc

    function(image, kernel)
    tracemalloc.start()
    try:
        got = function(image, kernel)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return got, peak


def test_convolve_fft_makes_no_float64_copy_of_a_float32_image(rng):
    image = rng.standard_normal((512, 512)).astype(np.float32)
    image[rng.random(image.shape) < 0.02] = np.nan
    kernel = astropy_convolution.Gaussian2DKernel(3).array
    got, peak = _second_call_and_its_peak_heap(ours.convolve_fft, image, kernel)
    # the float64 result, and tiles' scratch; a float64 copy of the image would add 2 images more
    assert peak < got.nbytes + 2 * image.nbytes, peak / image.nbytes


@pytest.mark.parametrize("function", ["convolve", "convolve_fft"])
@pytest.mark.parametrize("boundary", ["fill", "wrap", "extend"])
def test_complex_lists_and_big_endian_arrays_give_astropys_answer(rng, function, boundary):
    # a list of complex numbers is read as its array (convolve_fft keeps the real part); a
    # ragged list is refused with astropy's message
    image = rng.standard_normal((9, 11)) + 1j * rng.standard_normal((9, 11))
    kernel = astropy_convolution.Gaussian2DKernel(1).array
    for data in (image.tolist(), image.real.astype(">f4"), image.astype(">c16")):
        try:
            want = getattr(astropy_convolution, function)(data, kernel, boundary=boundary)
        except Exception as exc:  # noqa: BLE001 - the same exception is expected
            with pytest.raises(type(exc), match=re.escape(str(exc)[:40])):
                getattr(ours, function)(data, kernel, boundary=boundary)
            continue
        got = getattr(ours, function)(data, kernel, boundary=boundary)
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, atol=1e-12 * np.abs(want).max())
    for module in (astropy_convolution, ours):
        with pytest.raises(TypeError, match="input should be a Numpy array"):
            getattr(module, function)([[1.0, 2.0], [3.0]], [1.0, 1.0, 1.0])


@pytest.mark.parametrize("function", ["convolve", "convolve_fft"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("infinite", [True, False])
def test_the_drop_ins_never_write_into_their_inputs(function, dtype, infinite):
    """Both drop-ins read a float64 image in place where they only read it (its copy was 6 % of
    a 1024² call; `convolve_fft`'s copy and hole mask 10 % with the 101x101 PSF): whatever the
    options, the caller's image, mask and kernel are unchanged (read-only: a write raises)."""
    rng = np.random.default_rng(3)
    image = rng.standard_normal((40, 30)).astype(dtype)
    image[rng.random(image.shape) < 0.1] = np.nan
    if infinite:
        image[5, 5] = np.inf
    mask = rng.random(image.shape) < 0.05
    kernel = rng.random((5, 3)) + 0.1
    kept = [image.copy(), mask.copy(), kernel.copy()]
    for array in (image, mask, kernel):
        array.flags.writeable = False
    for options in ({}, {"nan_treatment": "fill", "fill_value": 2.0}, {"preserve_nan": True},
                    {"mask": mask}, {"boundary": "wrap"}, {"boundary": "wrap", "fill_value": np.nan},
                    {"normalize_kernel": False},
                    *([{"boundary": "fill", "psf_pad": False}] if function == "convolve_fft" else [])):
        getattr(ours, function)(image, kernel, **options)
        for now, before in zip((image, mask, kernel), kept):
            np.testing.assert_array_equal(now, before, err_msg=str(options))


def _both(theirs, ours_, *args, **kwargs):
    """Each library's result, or the exception it raised (warnings silenced: each warns as it
    does), each given its own copies of the arrays (astropy's convolve_fft zeroes a complex
    image's NaN in the caller's array)."""
    import copy

    results = []
    for function in (theirs, ours_):
        mine, mine_kw = copy.deepcopy(args), copy.deepcopy(kwargs)
        result, exc = outcome(lambda f=function, a=mine, k=mine_kw: f(*a, **k))
        results.append(exc if exc is not None else result)
    return results


def _assert_same_answer(want, got, dtype, fft: bool, single: bool = False):
    if isinstance(want, Exception):
        assert type(got) is type(want), (want, got)
        return
    assert not isinstance(got, Exception), got
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    infinite = np.isinf(want)
    np.testing.assert_array_equal(np.isinf(got), infinite)
    np.testing.assert_array_equal(got[infinite], want[infinite])  # their signs
    finite = np.isfinite(want)
    scale = np.abs(want[finite]).max() if finite.any() else 1.0
    # astropy's complex transforms carry ~1e-11 of the scale in float64 near large holes, and
    # single precision's rounding where it transforms in complex64 (``single``; with negative
    # taps, a few times float32's epsilon of the output's scale)
    tol = 2e-5 if single else 1e-6 if dtype == np.float32 and not fft else (1e-10 if fft else 1e-12)
    np.testing.assert_allclose(got[finite], want[finite], rtol=0, atol=tol * max(scale, 1e-300))


_holes_images = st.tuples(
    st.sampled_from([(23,), (2,), (9, 12), (1, 8), (7, 6, 5)]),
    st.sampled_from([np.float32, np.float64]),
    st.sampled_from([0.0, 0.1, 0.4]),
    st.integers(0, 2**31 - 1),
)


@settings(max_examples=60, deadline=None)
@given(image=_holes_images, data=st.data())
def test_convolve_fft_answers_as_astropys_for_any_options(image, data):
    """Random images with holes and random options: fftconv.astropy.convolve_fft gives astropy's
    answer (or raises astropy's exception type)."""
    shape, dtype, holes_fraction, seed = image
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    x[rng.random(shape) < holes_fraction] = np.nan
    kernel = rng.random(tuple(data.draw(st.integers(1, 5)) for _ in shape)) + 0.05
    kernel -= data.draw(st.sampled_from([0.0, 0.0, 0.3]))  # some negative taps
    if data.draw(st.sampled_from([False, False, False, True])):  # a NaN tap: astropy zeroes it
        kernel.flat[data.draw(st.integers(0, kernel.size - 1))] = np.nan
    if data.draw(st.booleans()):  # a complex image: its real part survives
        x = x + 1j * rng.standard_normal(shape)
    options = dict(
        boundary=data.draw(st.sampled_from(["fill", "wrap", "extend", None])),
        normalization_zero_tol=data.draw(st.sampled_from([1e-8, 0.5])),
        dealias=data.draw(st.booleans()),
        complex_dtype=data.draw(st.sampled_from([complex, np.complex64])),
        fill_value=data.draw(st.sampled_from([0.0, 1.5, np.nan])),
        mask=data.draw(st.sampled_from([None, rng.random(shape) < 0.2])),
        nan_treatment=data.draw(st.sampled_from(["interpolate", "fill"])),
        normalize_kernel=data.draw(st.sampled_from([True, False, np.max])),
        preserve_nan=data.draw(st.booleans()),
        min_wt=data.draw(st.sampled_from([0.0, 0.3])),
        psf_pad=data.draw(st.sampled_from([None, True, False])),
        fft_pad=data.draw(st.sampled_from([None, True, False])),
        crop=data.draw(st.booleans()),
    )
    want, got = _both(astropy_convolution.convolve_fft, ours.convolve_fft, x, kernel, **options)
    _assert_same_answer(want, got, dtype, fft=True, single=options["complex_dtype"] is np.complex64)


@settings(max_examples=60, deadline=None)
@given(image=_holes_images, data=st.data())
def test_convolve_answers_as_astropys_for_any_options(image, data):
    """The same for fftconv.astropy.convolve (odd kernels, as astropy's asks; a NaN tap
    among them: fftconv's filters leave a NaN weight out, as scipy.ndimage's loop does, and the
    drop-in sets what astropy's loop makes of it)."""
    shape, dtype, holes_fraction, seed = image
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    x[rng.random(shape) < holes_fraction] = np.nan
    kernel = rng.random(tuple(data.draw(st.sampled_from([1, 3, 5])) for _ in shape)) + 0.05
    kernel -= data.draw(st.sampled_from([0.0, 0.0, 0.3]))  # some negative taps
    if data.draw(st.sampled_from([False, False, False, True])):
        # a NaN tap, which astropy's loop sums: NaN wherever it meets a valid pixel, and a NaN sum
        kernel.flat[data.draw(st.integers(0, kernel.size - 1))] = np.nan
    options = dict(
        boundary=data.draw(st.sampled_from([None, "fill", "extend", "wrap"])),
        fill_value=data.draw(st.sampled_from([0.0, 1.5, np.nan])),
        mask=data.draw(st.sampled_from([None, rng.random(shape) < 0.2])),
        nan_treatment=data.draw(st.sampled_from(["interpolate", "fill"])),
        normalize_kernel=data.draw(st.booleans()),
        preserve_nan=data.draw(st.booleans()),
    )
    if data.draw(st.sampled_from([False, False, True])):
        # a zero or tiny tap beside an infinite pixel: astropy's loop multiplies them (NaN, or an
        # infinity of the product's sign), where scipy.ndimage's leaves taps under DBL_EPSILON out.
        # Tiny taps only without interpolation: an output that only they reach a valid pixel of
        # is empty for fftconv, as documented (its weights' sum is within rounding of zero)
        taps = [0.0, 1e-20, -3e-17] if options["nan_treatment"] == "fill" else [0.0]
        kernel.flat[data.draw(st.integers(0, kernel.size - 1))] = data.draw(st.sampled_from(taps))
        x.flat[data.draw(st.integers(0, x.size - 1))] = data.draw(st.sampled_from([np.inf, -np.inf]))
    if data.draw(st.booleans()):  # a complex image
        x = x + 1j * rng.standard_normal(shape)
    want, got = _both(astropy_convolution.convolve, ours.convolve, x, kernel, **options)
    _assert_same_answer(want, got, dtype, fft=False)


@pytest.mark.parametrize("boundary", ["fill", "extend"])
def test_convolve_sums_taps_under_dbl_epsilon_as_astropy_does(rng, boundary):
    """astropy's loop sums every tap; fftconv's filters, as scipy.ndimage's, leave out those of
    magnitude DBL_EPSILON or less. A kernel in physical units (every tap near 1e-20) had summed
    nothing, its answer all zeros; a tiny tap beside an infinite pixel gave a finite answer
    where astropy's is an infinity of the product's sign."""
    x = rng.standard_normal((20, 24))
    x[3, 4] = np.nan
    kernel = (rng.random((5, 3)) + 0.1) * 1e-20
    options = dict(boundary=boundary, nan_treatment="fill", normalize_kernel=False)
    want = astropy_convolution.convolve(x, kernel, **options)
    got = ours.convolve(x, kernel, **options)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    assert np.abs(got).min() > 0
    x[10, 12] = -np.inf
    tiny = np.ones((3, 3))
    tiny[0, 1] = -1e-20
    for nan_treatment in ("fill", "interpolate"):
        options["nan_treatment"] = nan_treatment
        want = astropy_convolution.convolve(x, tiny, **options)
        got = ours.convolve(x, tiny, **options)
        _assert_same_answer(want, got, np.float64, fft=False)
        assert np.isinf(want).sum() > 1


@pytest.mark.parametrize("boundary", ["fill", "wrap"])
def test_convolve_fft_sums_taps_under_dbl_epsilon_and_refuses_infinite_fills(rng, boundary):
    """astropy's transforms sum every tap: a kernel in physical units (every tap near 1e-20),
    which fftconv's direct sums of a small image had left out (all zeros), gives astropy's
    answer; and holes filled with an infinity make astropy's product of spectra NaN, which it
    refuses, as the drop-in now does (it had refused only a NaN fill)."""
    x = rng.standard_normal((16, 18))
    kernel = (rng.random((5, 3)) + 0.1) * 1e-20
    options = dict(boundary=boundary, normalize_kernel=False, nan_treatment="fill")
    want = astropy_convolution.convolve_fft(x, kernel, **options)
    got = ours.convolve_fft(x, kernel, **options)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-10 * np.abs(want).max())
    assert np.abs(got).max() > 1e-21
    x[3, 4] = np.nan
    for fill_value in (np.inf, -np.inf, np.nan):
        options = dict(boundary=boundary, nan_treatment="fill", fill_value=fill_value)
        for function in (astropy_convolution.convolve_fft, ours.convolve_fft):
            with pytest.raises(ValueError, match="Encountered NaNs in convolve"):
                function(x, np.ones((3, 3)), **options)


@pytest.mark.parametrize("kernel_length", [3, 23, 30])
@pytest.mark.parametrize("boundary", ["fill", "wrap"])
def test_convolve_fft_answers_in_astropys_dtype_for_complex64(rng, kernel_length, boundary):
    """astropy sums in ``complex_dtype`` where it pads both the image and the kernel to its
    grid, else in complex128 (an array of the grid's own shape is transformed as its float64
    copy): 'wrap' of a 23-sample image with complex64 answers float64, 'fill' float32."""
    image = rng.standard_normal(23).astype(np.float32)
    image[[4, 9]] = np.nan
    kernel = rng.random(kernel_length) + 0.05
    for return_fft in (False, True):
        options = dict(boundary=boundary, complex_dtype=np.complex64, return_fft=return_fft)
        want = astropy_convolution.convolve_fft(image.copy(), kernel, **options)
        got = ours.convolve_fft(image, kernel, **options)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=0, atol=2e-5 * np.nanmax(np.abs(want)))
