"""Random arguments, scipy as the oracle: fftconv's drop-ins give scipy's answer, in scipy's
dtype and shape, or raise the exception type scipy raises (hypothesis draws the arrays and
every option together, where the parametrised tests vary a few at a time)."""

from unittest import mock

import numpy as np
import scipy.ndimage
import scipy.signal
from conftest import NDIMAGE_MODES, outcome, random_values, strided_copy
from hypothesis import given, settings
from hypothesis import strategies as st

import fftconv
import fftconv.ndimage
from fftconv.engine import tiny_holes
from fftconv.ndimage import scipy_passes

DTYPES = [np.float32, np.float64, np.complex128, np.int16, np.uint8]
#: A user's rents of the routes without a plan (the autouse fixture `planned` sets them to 0 a test)
UNPLANNED_RENT = tiny_holes.RENT_SECONDS
UNPLANNED_PASSES_RENT = scipy_passes.RENT_SECONDS


def _outcome(function, *args, **kwargs):
    """The function's result, or the exception it raised (warnings silenced)."""
    result, exc = outcome(lambda: function(*args, **kwargs))
    return exc if exc is not None else result


def _layout(data, array):
    """``array`` as it is, big-endian, or a strided view of a larger array (its values kept)."""
    kind = data.draw(st.sampled_from(["plain", "plain", "swapped", "strided"]))
    if kind == "swapped" and array.dtype.itemsize > 1:
        return array.astype(array.dtype.newbyteorder(">"))
    if kind == "strided" and array.ndim:
        return strided_copy(array)
    return array


def _array(data, shape, dtype, seed):
    return random_values(np.random.default_rng(seed), shape, dtype)


def assert_same_as_scipys(want, got, low_precision: bool, inputs_scale: float = 0.0):
    if isinstance(want, Exception):
        assert isinstance(got, Exception), f"scipy raised {want!r}, fftconv returned"
        assert isinstance(got, type(want)), (want, got)
        return
    assert not isinstance(got, Exception), f"fftconv raised {got!r} where scipy answered"
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype, want.shape, want.dtype)
    if want.dtype.kind in "iub":
        # the sums are rounded to the integer type: a sum within rounding of .5 may go either way
        assert np.abs(got.astype(np.int64) - want.astype(np.int64)).max(initial=0) <= 1
        return
    for part in (np.real, np.imag):  # NaN where scipy has NaN, part by part
        np.testing.assert_array_equal(np.isnan(part(got)), np.isnan(part(want)))
    finite = np.isfinite(want)
    np.testing.assert_array_equal(got[~finite], want[~finite])  # the infinities, and NaN
    # relative to the output's scale, or the input's where the sum cancels (a derivative's)
    scale = max(float(np.abs(want[finite]).max(initial=0)), inputs_scale, 1e-30)
    tol = 2e-5 if low_precision else 1e-11
    np.testing.assert_allclose(got[finite], want[finite], rtol=0, atol=tol * scale)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_ndimage_correlate_and_convolve_answer_as_scipys(data):
    ndim = data.draw(st.integers(1, 3))
    longest = 40 if ndim < 3 else 12
    shape = tuple(data.draw(st.integers(0 if data.draw(st.integers(0, 9)) == 0 else 1, longest))
                  for _ in range(ndim))
    dtype = data.draw(st.sampled_from(DTYPES + [np.bool_, np.int64]))
    image = _layout(data, _array(data, shape, dtype, data.draw(st.integers(0, 2**31 - 1))))
    axes = data.draw(st.one_of(st.none(), st.lists(st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim,
                                                   unique_by=lambda a: a % ndim)))
    kernel_shape = tuple(data.draw(st.integers(1, 5)) for _ in range(ndim if axes is None else len(axes)))
    kernel = _array(data, kernel_shape, data.draw(st.sampled_from([np.float64, np.float32])),
                    data.draw(st.integers(0, 2**31 - 1)))
    origin = data.draw(st.one_of(st.just(0), st.integers(-3, 3),
                                 st.tuples(*[st.integers(-(k // 2), (k - 1) // 2) for k in kernel_shape])))
    options = dict(
        mode=data.draw(st.sampled_from(NDIMAGE_MODES)),
        cval=data.draw(st.sampled_from([0.0, -1.5, 7.0, np.nan])),
        origin=origin,
        output=data.draw(st.sampled_from([None, np.float32, np.float64, np.int32])),
        axes=axes,
    )
    name = data.draw(st.sampled_from(["correlate", "convolve"]))
    want = _outcome(getattr(scipy.ndimage, name), image, kernel, **options)
    method = data.draw(st.sampled_from(["auto", "direct", "fft"]))  # fftconv's own paths too
    got = _outcome(getattr(fftconv.ndimage, name), image, kernel, **options, method=method)
    low = np.float32 in (dtype, options["output"]) or kernel.dtype == np.float32
    assert_same_as_scipys(want, got, low)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_signal_convolutions_answer_as_scipys(data):
    ndim = data.draw(st.integers(1, 3))
    first = tuple(data.draw(st.integers(1, 40 if ndim < 3 else 10)) for _ in range(ndim))
    second = tuple(data.draw(st.integers(1, 9)) for _ in range(ndim))
    dtypes = (data.draw(st.sampled_from(DTYPES)), data.draw(st.sampled_from(DTYPES)))
    in1 = _array(data, first, dtypes[0], data.draw(st.integers(0, 2**31 - 1)))
    in2 = _array(data, second, dtypes[1], data.draw(st.integers(0, 2**31 - 1)))
    mode = data.draw(st.sampled_from(["full", "same", "valid"]))
    name = data.draw(st.sampled_from(["convolve", "correlate", "fftconvolve", "oaconvolve"]))
    if name in ("convolve", "correlate"):
        options = dict(mode=mode, method=data.draw(st.sampled_from(["auto", "direct", "fft"])))
    else:
        subsets = st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True)
        axes = data.draw(st.one_of(st.none(), st.integers(-ndim, ndim - 1), subsets))
        options = dict(mode=mode, axes=axes)
        if axes is not None:  # the other axes broadcast: equal lengths, or one of them 1
            chosen = {a % ndim for a in ([axes] if isinstance(axes, int) else axes)}
            for a in set(range(ndim)) - chosen:
                length = data.draw(st.sampled_from(sorted({1, first[a]})))
                moved = in2.swapaxes(a, -1)
                in2 = np.resize(moved, moved.shape[:-1] + (length,)).swapaxes(a, -1)
    want = _outcome(getattr(scipy.signal, name), in1, in2, **options)
    got = _outcome(getattr(fftconv, name), in1, in2, **options)
    low = any(np.dtype(d) in (np.dtype(np.float32),) for d in dtypes)
    assert_same_as_scipys(want, got, low)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_convolve2d_and_correlate2d_answer_as_scipys(data):
    first = (data.draw(st.integers(1, 40)), data.draw(st.integers(1, 40)))
    second = (data.draw(st.integers(1, 7)), data.draw(st.integers(1, 7)))
    dtypes = (data.draw(st.sampled_from(DTYPES)), data.draw(st.sampled_from(DTYPES)))
    in1 = _array(data, first, dtypes[0], data.draw(st.integers(0, 2**31 - 1)))
    in2 = _array(data, second, dtypes[1], data.draw(st.integers(0, 2**31 - 1)))
    options = dict(
        mode=data.draw(st.sampled_from(["full", "same", "valid"])),
        boundary=data.draw(st.sampled_from(["fill", "wrap", "symm"])),
        fillvalue=data.draw(st.sampled_from([0, 2.5])),
    )
    name = data.draw(st.sampled_from(["convolve2d", "correlate2d"]))
    want = _outcome(getattr(scipy.signal, name), in1, in2, **options)
    method = data.draw(st.sampled_from(["auto", "direct", "fft"]))  # fftconv's own paths too
    got = _outcome(getattr(fftconv, name), in1, in2, **options, method=method)
    swapped = options["mode"] == "valid" and not all(n1 >= n2 for n1, n2 in zip(first, second))
    if name == "correlate2d" and swapped and not isinstance(want, Exception):
        want = want.conj()  # scipy swaps and only flips back: fftconv gives the correlation (documented)
    low = any(np.dtype(d) == np.float32 for d in dtypes)
    assert_same_as_scipys(want, got, low)


def _mode(data, ndim):
    """A mode, or one per axis (scipy's filters take a sequence)."""
    return data.draw(st.one_of(st.sampled_from(NDIMAGE_MODES),
                               st.tuples(*[st.sampled_from(NDIMAGE_MODES) for _ in range(ndim)])))


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_ndimage_filters_answer_as_scipys(data):
    ndim = data.draw(st.integers(0, 3))  # a 0-d image among them
    shape = tuple(data.draw(st.integers(1, 40 if ndim < 3 else 12)) * data.draw(st.sampled_from([1, 1, 4]))
                  for _ in range(ndim))  # (some images past the smallest jobs: scipy_passes.route)
    dtype = data.draw(st.sampled_from([np.float32, np.float64, np.int16, np.uint8]))
    image = _array(data, shape, dtype, data.draw(st.integers(0, 2**31 - 1)))
    axis = data.draw(st.integers(-max(ndim, 1), max(ndim, 1) - 1))  # a 0-d image has none: refused
    output = data.draw(st.sampled_from([None, np.float32, np.float64, np.int32]))
    cval = data.draw(st.sampled_from([0.0, -2.5]))
    name = data.draw(st.sampled_from(["correlate1d", "convolve1d", "uniform_filter1d", "uniform_filter",
                                      "gaussian_filter1d", "gaussian_filter", "sobel", "prewitt", "laplace",
                                      "gaussian_laplace", "gaussian_gradient_magnitude"]))
    sigma = data.draw(st.one_of(st.floats(0.3, 3.0), st.tuples(*[st.floats(0.0, 3.0) for _ in range(ndim)])))
    if name in ("correlate1d", "convolve1d"):
        taps = data.draw(st.integers(1, 7))
        weights = _array(data, (taps,), np.float64, data.draw(st.integers(0, 2**31 - 1)))
        args = (weights,)
        kwargs = dict(axis=axis, mode=data.draw(st.sampled_from(NDIMAGE_MODES)), cval=cval,
                      origin=data.draw(st.integers(-(len(weights) // 2), (len(weights) - 1) // 2)))
    elif name == "uniform_filter1d":
        size = data.draw(st.integers(1, 9))
        args = (size,)
        kwargs = dict(axis=axis, mode=data.draw(st.sampled_from(NDIMAGE_MODES)), cval=cval,
                      origin=data.draw(st.integers(-(size // 2), (size - 1) // 2)))
    elif name == "uniform_filter":
        size = data.draw(st.one_of(st.integers(1, 7), st.tuples(*[st.integers(1, 7) for _ in range(ndim)])))
        args = (size,)
        kwargs = dict(mode=_mode(data, ndim), cval=cval)
    elif name == "gaussian_filter1d":
        args = (data.draw(st.floats(0.3, 3.0)),)
        kwargs = dict(axis=axis, order=data.draw(st.integers(0, 3)), cval=cval,
                      mode=data.draw(st.sampled_from(NDIMAGE_MODES)),
                      truncate=data.draw(st.sampled_from([4.0, 2.0, 0.5])))
    elif name == "gaussian_filter":
        args = (sigma,)
        kwargs = dict(order=data.draw(st.one_of(st.integers(0, 2), st.tuples(*[st.integers(0, 2)] * ndim))),
                      mode=_mode(data, ndim), cval=cval, truncate=data.draw(st.sampled_from([4.0, 1.5])))
    elif name in ("sobel", "prewitt"):
        args = ()
        kwargs = dict(axis=axis, mode=_mode(data, ndim), cval=cval)
    elif name == "laplace":
        args = ()
        kwargs = dict(mode=_mode(data, ndim), cval=cval)
    else:
        args = (sigma,)
        kwargs = dict(mode=_mode(data, ndim), cval=cval)
    if name in ("gaussian_filter", "uniform_filter", "laplace", "gaussian_laplace",
                "gaussian_gradient_magnitude") and data.draw(st.booleans()):
        kwargs["axes"] = data.draw(st.lists(st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim,
                                            unique_by=lambda a: a % ndim) if ndim else st.just([]))
    one_pass = ("correlate1d", "convolve1d", "uniform_filter1d", "gaussian_filter1d")
    if np.dtype(output or dtype).kind in "iu" and name not in one_pass:
        # integer outputs (asked for, or an integer image's own) truncate after every pass;
        # fftconv first snaps a sum within 64 ulps of an integer to it (docs/guides/migrating.md),
        # which later passes carry on (a 1x1 int16 gaussian_laplace: 57 -> 56 in scipy's first
        # pass of a term, -360 where fftconv's -367 is the float answer's truncation)
        output = np.float64
    want = _outcome(getattr(scipy.ndimage, name), image, *args, output=output, **kwargs)
    # a signature's first calls on scipy's loops (`scipy_passes.route`), or planned at once
    rent = data.draw(st.sampled_from([UNPLANNED_PASSES_RENT, 0.0]))
    with mock.patch.object(scipy_passes, "RENT_SECONDS", rent):
        got = _outcome(getattr(fftconv.ndimage, name), image, *args, output=output, **kwargs)
    assert_same_as_scipys(want, got, np.float32 in (dtype, output),
                          float(np.nanmax(np.abs(image), initial=0)))


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_holes_filled_as_normalised_sums_of_scipys_filters(data):
    """``nan='interpolate'`` and ``'fill'`` on random images, kernels, modes, origins, masks
    and methods: the normalised sums scipy.ndimage gives over the values (holes zeroed) and the
    weights, extended by the same mode (a finite ``cval`` is a valid pixel, NaN a hole)."""
    ndim = data.draw(st.integers(1, 3))
    shape = tuple(data.draw(st.integers(1, 30 if ndim < 3 else 9)) for _ in range(ndim))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    image = rng.standard_normal(shape).astype(dtype)
    image[rng.random(shape) < data.draw(st.sampled_from([0.0, 0.1, 0.5]))] = np.nan
    mask = rng.random(shape) < 0.1 if data.draw(st.booleans()) else None
    kernel = rng.random(tuple(data.draw(st.integers(1, 5)) for _ in range(ndim))) + 0.1  # no weight near 0
    mode = data.draw(st.sampled_from(NDIMAGE_MODES))
    cval = data.draw(st.sampled_from([0.0, 2.5, np.nan]))
    origin = tuple(data.draw(st.integers(-(k // 2), (k - 1) // 2)) for k in kernel.shape)
    nan = data.draw(st.sampled_from(["interpolate", "fill"]))
    method = data.draw(st.sampled_from(["auto", "direct", "fft"]))
    name = data.draw(st.sampled_from(["correlate", "convolve"]))
    # a small signature's first calls summed without a plan (`tiny_holes`), or planned at once
    rent = data.draw(st.sampled_from([UNPLANNED_RENT, 0.0]))
    with mock.patch.object(tiny_holes, "RENT_SECONDS", rent):
        got = getattr(fftconv.ndimage, name)(image, kernel, mode=mode, cval=cval, origin=origin, nan=nan,
                                             mask=mask, method=method)
    holes = np.isnan(image) | (mask if mask is not None else False)
    wide = image.astype(np.float64)
    reference = getattr(scipy.ndimage, name)
    if nan == "fill":
        want = reference(np.where(holes, cval, wide), kernel, mode=mode, cval=cval, origin=origin)
    else:
        valid_border = not np.isnan(cval)
        values = reference(np.where(holes, 0.0, wide), kernel, mode=mode, cval=cval if valid_border else 0.0,
                           origin=origin)
        weights = reference((~holes).astype(np.float64), kernel, mode=mode, cval=float(valid_border),
                            origin=origin)
        with np.errstate(divide="ignore", invalid="ignore"):
            want = np.where(weights > 0.05, values / weights * kernel.sum(), np.nan)
    assert got.dtype == dtype and got.shape == image.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    finite = np.isfinite(want)
    scale = max(float(np.abs(want[finite]).max(initial=0)), 1.0)
    tol = 2e-5 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(got[finite], want[finite], rtol=0, atol=tol * scale)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_ndimage_output_arrays_are_written_as_scipys(data):
    """An output array (of another dtype, a strided view, or the input itself): scipy's values
    written into it, and the input left alone unless it is the output."""
    ndim = data.draw(st.integers(1, 3))
    shape = tuple(data.draw(st.integers(1, 30 if ndim < 3 else 9)) for _ in range(ndim))
    dtype = data.draw(st.sampled_from([np.float32, np.float64, np.int16]))
    image = _array(data, shape, dtype, data.draw(st.integers(0, 2**31 - 1)))
    kernel = _array(data, tuple(data.draw(st.integers(1, 5)) for _ in range(ndim)), np.float64,
                    data.draw(st.integers(0, 2**31 - 1)))
    kind = data.draw(st.sampled_from(["fresh", "strided", "input"]))
    out_dtype = dtype if kind == "input" else data.draw(st.sampled_from([np.float32, np.float64, np.int32]))
    name = data.draw(st.sampled_from(["correlate", "convolve", "gaussian_filter", "uniform_filter", "sobel"]))
    args = {"correlate": (kernel,), "convolve": (kernel,), "gaussian_filter": (1.5,), "uniform_filter": (3,),
            "sobel": ()}[name]
    mode = data.draw(st.sampled_from(NDIMAGE_MODES))

    def target(source):
        if kind == "input":
            return source
        if kind == "strided":
            return np.zeros(shape[:-1] + (2 * shape[-1],), out_dtype)[..., ::2]
        return np.zeros(shape, out_dtype)

    theirs_in, ours_in = image.copy(), image.copy()
    theirs_out, ours_out = target(theirs_in), target(ours_in)
    want = _outcome(getattr(scipy.ndimage, name), theirs_in, *args, output=theirs_out, mode=mode)
    got = _outcome(getattr(fftconv.ndimage, name), ours_in, *args, output=ours_out, mode=mode)
    if isinstance(want, Exception):
        assert isinstance(got, type(want)), (want, got)
        return
    assert not isinstance(got, Exception), got
    low = np.float32 in (dtype, out_dtype)
    assert_same_as_scipys(theirs_out, ours_out, low, float(np.abs(image).max(initial=0)))
    if kind != "input":
        np.testing.assert_array_equal(ours_in, image)
