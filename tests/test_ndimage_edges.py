"""fftconv.ndimage at the edges of the drop-in promise: complex numbers, integer outputs, and
halos wider than the image (against an independent reference where scipy itself is wrong)."""

import itertools
import warnings

import numpy as np
import pytest
import scipy.ndimage
from conftest import assert_close

import fftconv.ndimage
from fftconv.core.boundary import MODES

#: np.pad's name for each ndimage mode (on an axis of length 1 'mirror' repeats the sample).
NP_PAD = {"reflect": "symmetric", "grid-mirror": "symmetric", "mirror": "reflect", "nearest": "edge",
          "wrap": "wrap", "grid-wrap": "wrap", "constant": "constant", "grid-constant": "constant"}


def reference_correlate(x, w, mode, origin, cval=0.0):
    """ndimage's correlation from first principles: the image extended axis by axis with
    np.pad, then a sum of shifted copies, in float64, over the weights scipy's N-D loop sums
    (real ones above DBL_EPSILON in magnitude: a zero tap never meets an infinity)."""
    pads = [k + 2 * (k + n) for k, n in zip(w.shape, x.shape)]
    ext = x.astype(np.complex128 if np.iscomplexobj(x) else np.float64)
    for axis, p in enumerate(pads):
        widths = [(0, 0)] * x.ndim
        widths[axis] = (p, p)
        name = "edge" if NP_PAD[mode] == "reflect" and x.shape[axis] == 1 else NP_PAD[mode]
        ext = np.pad(ext, widths, mode=name, **({"constant_values": cval} if name == "constant" else {}))
    out = np.zeros(x.shape, np.result_type(ext, w))
    for j in itertools.product(*(range(k) for k in w.shape)):
        if not np.iscomplexobj(w) and abs(w[j]) <= np.finfo(np.float64).eps:
            continue
        start = [p + jj - k // 2 - o for p, jj, k, o in zip(pads, j, w.shape, origin)]
        out += w[j] * ext[tuple(slice(s, s + n) for s, n in zip(start, x.shape))]
    return out


@pytest.mark.parametrize("func", ["correlate", "convolve"])
def test_complex_kernels_images_and_cval_match_scipy(rng, func):
    x = rng.standard_normal((9, 7))
    xc = x + 1j * rng.standard_normal((9, 7))
    k = rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))
    ours, theirs = getattr(fftconv.ndimage, func), getattr(scipy.ndimage, func)
    for image, weights in ((x, k), (xc, k.real), (xc, k)):
        for mode, cval in (("reflect", 0.0), ("constant", 0.5), ("grid-constant", 0.5)):
            if image.dtype.kind == "c":
                cval = 0.5 - 2j
            want = theirs(image, weights, mode=mode, cval=cval)
            got = ours(image, weights, mode=mode, cval=cval, threads=1)
            assert got.dtype == want.dtype
            assert_close(got, want)
    # the example of the bug report: scipy conjugates complex weights in correlate
    small = np.array([[1.0, 2, 3], [4, 5, 6]])
    assert fftconv.ndimage.correlate(small, np.array([[1, 0], [0, 1 + 1j]]))[0, 0] == pytest.approx(2 - 1j)


def test_complex_errors_and_output_promotion_follow_scipy(rng):
    x = rng.standard_normal((5, 5))
    k = rng.standard_normal((3, 3))
    with pytest.raises(ValueError, match="complex-valued cval when the input is real"):
        fftconv.ndimage.correlate(x, k + 1j, mode="constant", cval=1 + 1j)
    with pytest.raises(TypeError, match="not complex"):
        fftconv.ndimage.correlate(x, k, mode="constant", cval=1 + 1j)
    with pytest.raises(RuntimeError, match="output must have complex dtype"):
        fftconv.ndimage.convolve(x + 1j, k, output=np.empty((5, 5)))
    with pytest.warns(UserWarning, match="promoting specified output dtype to complex"):
        got = fftconv.ndimage.convolve(x + 1j, k, output=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = scipy.ndimage.convolve(x + 1j, k, output=np.float64)
    assert got.dtype == want.dtype == np.complex128
    assert_close(got, want)
    assert fftconv.ndimage.convolve(x.astype(np.float32), k + 1j).dtype == np.complex64


def second_difference(x, axis, output, mode, cval):
    return scipy.ndimage.correlate1d(x, [1, -2, 1], axis, output, mode, cval)


def central_difference(x, axis, output, mode, cval):
    return scipy.ndimage.correlate1d(x, [-1, 0, 1], axis, output, mode, cval)


#: Each filter with arguments, for the output tests below.
FILTER_CALLS = {
    "correlate": (np.ones((3, 2)),), "convolve": (np.ones((3, 2)),), "correlate1d": ([1.0, 2.0],),
    "convolve1d": ([1.0, 2.0],), "gaussian_filter": (1.0,), "gaussian_filter1d": (1.0,),
    "uniform_filter": (3,), "uniform_filter1d": (3,), "sobel": (), "prewitt": (), "laplace": (),
    "gaussian_laplace": (1.0,), "gaussian_gradient_magnitude": (1.0,),
    "generic_laplace": (second_difference,),
    "generic_gradient_magnitude": (central_difference,),
}


def outcome_with_warnings(func, *args, **kwargs):
    """(dtype, result, warnings) of a call, or (exception type, message): conftest's `outcome`
    silences the warnings these tests compare."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = func(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the exception is what is compared
            return type(exc), str(exc)
    return result.dtype, result, [str(w.message) for w in caught]


@pytest.mark.parametrize("name", sorted(FILTER_CALLS))
@pytest.mark.parametrize("dtype", [">f8", ">f4", ">i2", ">c16"])
def test_big_endian_images_give_scipys_native_results(rng, name, dtype):
    x = (rng.standard_normal((6, 7)) * 10).astype(dtype)
    want = getattr(scipy.ndimage, name)(x, *FILTER_CALLS[name])
    got = getattr(fftconv.ndimage, name)(x, *FILTER_CALLS[name])
    assert got.dtype == want.dtype and got.dtype.isnative
    assert_close(got, want)


@pytest.mark.parametrize("name", sorted(FILTER_CALLS))
@pytest.mark.parametrize("output", [np.float64, np.int8, np.dtype(">f8"), "float32", "bool", "complex64"])
def test_complex_images_with_real_outputs_are_promoted_or_refused_as_scipy_does(rng, name, output):
    # scipy's filters that make their output before their passes (gaussian_filter, sobel,
    # laplace ...) refuse a real dtype for a complex image; the others promote it with a
    # warning; a dtype's name is refused by all, as is a name that is not a number's
    x = rng.standard_normal((6, 7)) + 1j * rng.standard_normal((6, 7))
    want = outcome_with_warnings(getattr(scipy.ndimage, name), x, *FILTER_CALLS[name], output=output)
    got = outcome_with_warnings(getattr(fftconv.ndimage, name), x, *FILTER_CALLS[name], output=output)
    if isinstance(want[0], type):
        assert got == want
    else:
        assert got[0] == want[0] and got[2] == want[2]
        assert_close(got[1], want[1])


@pytest.mark.parametrize("name", sorted(FILTER_CALLS))
def test_an_output_that_is_the_input_gets_the_filter_of_the_image_as_it_was(rng, name):
    # scipy's laplace, gaussian_laplace, gaussian_gradient_magnitude and generic_* read the
    # image again after writing a first term into it: the oracle is the call into a new array
    x = rng.standard_normal((12, 14))
    want = getattr(scipy.ndimage, name)(x.copy(), *FILTER_CALLS[name])
    y = x.copy()
    got = getattr(fftconv.ndimage, name)(y, *FILTER_CALLS[name], output=y)
    assert got is y
    assert_close(y, want)


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int16"])
def test_integer_outputs_with_float32_weights_are_scipys_integers(rng, dtype):
    for _ in range(20):  # before the fix, 2 pixels of these 81920 were off by one
        x = rng.integers(0, 200, (64, 64)).astype(dtype)
        w = (rng.random((5, 5)) / 5).astype(np.float32)
        np.testing.assert_array_equal(fftconv.ndimage.correlate(x, w), scipy.ndimage.correlate(x, w))


@pytest.mark.parametrize("mode", MODES)
def test_halos_wider_than_the_image_for_every_mode(rng, mode):
    """Kernels up to 4x the image along an axis, every origin: equal to the np.pad reference.
    scipy.ndimage.correlate itself reads outside the image ('reflect', 'grid-mirror') where the
    halo reaches a multiple of twice the image's length; fftconv does not."""
    for _ in range(12):
        shape = tuple(int(n) for n in rng.integers(1, 5, 2))
        w = rng.standard_normal(tuple(int(n) for n in rng.integers(1, 13, 2)))
        x = rng.standard_normal(shape)
        for origin in itertools.product(*[(-(k // 2), 0, (k - 1) // 2) for k in w.shape]):
            want = reference_correlate(x, w, mode, origin, cval=0.25)
            got = fftconv.ndimage.correlate(x, w, mode=mode, origin=origin, cval=0.25, threads=1)
            assert_close(got, want, ulps=1000)


@pytest.mark.parametrize("mode", MODES)
def test_kernels_longer_than_what_they_can_tell_apart_are_folded(rng, mode):
    """Taps a period apart (wrap, reflect, mirror), or beyond a sample's distance from every
    output (constant, nearest), read the same values: they are summed into one, and the
    result stays the np.pad reference's (and scipy's 1-D filters')."""
    from fftconv.ndimage.filters import prepare_filter

    x = rng.standard_normal((4, 5))
    w = rng.random((3, 301)) + 0.1  # one sign: folded whatever the image holds
    for origin in [(0, 0), (-1, -150), (1, 150)]:
        work, _, _ = prepare_filter(x, w, None, mode, 0.25, origin, None, "auto", 1, False)
        assert work.kernel.shape[1] <= 2 * 5 + 1  # a period (at most 10), or 2 n + 1
        want = reference_correlate(x, w, mode, origin, cval=0.25)
        assert_close(fftconv.ndimage.correlate(x, w, mode=mode, origin=origin, cval=0.25), want, ulps=1000)
        mirrored = [-o - (1 - n % 2) for o, n in zip(origin, w.shape)]  # scipy's convolution origins
        flipped = reference_correlate(x, w[::-1, ::-1], mode, mirrored, cval=0.25)
        assert_close(fftconv.ndimage.convolve(x, w, mode=mode, origin=origin, cval=0.25), flipped, ulps=1000)
    assert "folded from (3, 301)" in fftconv.ndimage.plan("correlate", x, w, mode=mode).explain()
    # a Gaussian of sigma 10**4 (80,001 taps) on 6 columns
    want = scipy.ndimage.gaussian_filter1d(x, 1e4, axis=1, mode=mode, cval=0.25)
    assert_close(fftconv.ndimage.gaussian_filter1d(x, 1e4, axis=1, mode=mode, cval=0.25), want, ulps=1e4)


def assert_same_values(got, want):
    """Equal NaN and infinities where the reference has them, close values elsewhere."""
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.where(np.isinf(want), want, 0), np.where(np.isinf(got), got, 0))
    finite = np.isfinite(want)
    assert_close(got[finite], want[finite], ulps=1000)


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # the reference's inf * 0
@pytest.mark.parametrize("mode", MODES)
def test_folded_kernels_keep_what_infinities_give(rng, mode):
    """Taps of both signs reading an infinity make NaN (a zero tap is left out, as scipy's
    loop leaves it): taps are folded only where that cannot change (one sign per group), or
    where no sample can be infinite."""
    from fftconv.ndimage.filters import prepare_filter

    x = rng.standard_normal((3, 4))
    x[1, 2] = np.inf
    w = rng.standard_normal((2, 41))
    w[:, ::7] = 0.0
    positive = np.abs(w) + 0.5
    for cval in (0.25, np.inf):
        for kernel in (w, positive):
            want = reference_correlate(x, kernel, mode, (0, 0), cval=cval)
            assert_same_values(fftconv.ndimage.correlate(x, kernel, mode=mode, cval=cval), want)
        x[0, 0] = -np.inf  # both infinities: NaN wherever one output reads both
    assert prepare_filter(x, w, None, mode, 2.0, 0, None, "auto", 1, False)[0].kernel.shape == w.shape
    finite = rng.standard_normal((3, 4))  # an in-memory image checked finite: any kernel folds
    assert prepare_filter(finite, w, None, mode, 2.0, 0, None, "auto", 1, False)[0].kernel.shape[1] <= 9
    assert_close(fftconv.ndimage.correlate(finite, w, mode=mode, cval=2.0),
                 reference_correlate(finite, w, mode, (0, 0), cval=2.0), ulps=1000)
    integers = rng.integers(-50, 50, (3, 4)).astype(np.int32)
    work, _, _ = prepare_filter(integers, w, None, mode, 2, 0, None, "auto", 1, False)
    assert work.kernel.shape[1] <= 2 * 4 + 1  # integers are finite: any kernel folds
    want = np.trunc(reference_correlate(integers, w, mode, (0, 0), cval=2)).astype(np.int32)
    np.testing.assert_array_equal(fftconv.ndimage.correlate(integers, w, mode=mode, cval=2), want)


def test_scipy_reads_outside_the_image_where_fftconv_reflects():
    x = np.arange(15.0).reshape(3, 5)
    w = np.zeros((13, 1))
    w[0, 0] = 1.0  # output[i] is the extended image 12 = 4 * 3 samples before row i
    want = reference_correlate(x, w, "reflect", (6, 0))
    np.testing.assert_array_equal(want[0], x[0])  # -12 reflects back onto row 0 (period 6)
    np.testing.assert_array_equal(fftconv.ndimage.correlate(x, w, mode="reflect", origin=(6, 0)), want)


def test_numbers_objects_and_empty_weights_do_what_scipy_does():
    for func in ("convolve", "correlate"):
        want = getattr(scipy.ndimage, func)(np.float64(3), np.float64(2))
        got = getattr(fftconv.ndimage, func)(np.float64(3), np.float64(2))
        assert got.shape == want.shape == () and got.dtype == want.dtype and got == want == 6.0
    with pytest.raises(RuntimeError, match="array type not supported"):
        fftconv.ndimage.convolve(np.array([1, 2], object), np.array([1, 1], object))
    with pytest.raises(RuntimeError, match="must match len"):
        fftconv.ndimage.convolve(np.ones((3, 3)), np.ones((0, 3)))


def test_float16_images_are_filtered_where_scipy_refuses_them():
    """A deliberate difference: scipy.ndimage raises 'array type not supported' for float16."""
    x = np.linspace(0, 1, 12, dtype=np.float16)
    got = fftconv.ndimage.convolve(x, np.array([1.0, 2.0, 1.0]))
    assert got.dtype == np.float16
    want = scipy.ndimage.convolve(x.astype(np.float32), np.array([1.0, 2.0, 1.0]))
    assert_close(got, want.astype(np.float16))


@pytest.mark.parametrize("axes", [(2, 1), (2, 0), (0, 2), (2, 1, 0)])
def test_axes_in_any_order_read_weights_and_origins_as_scipy_does(rng, axes):
    """scipy gives the weights' axes to the filtered axes in increasing order, and the origins
    to ``axes`` in the order given (positionally when every axis is filtered)."""
    x = rng.standard_normal((4, 5, 6))
    w = rng.standard_normal((3, 2, 4)[: len(axes)])
    origin = (1, 0, -1)[: len(axes)]
    for func in ("correlate", "convolve"):
        try:
            want = getattr(scipy.ndimage, func)(x, w, axes=axes, origin=origin, mode="wrap")
        except ValueError:  # an origin too large for the weights' axis it lands on
            with pytest.raises(ValueError, match="Invalid origin"):
                getattr(fftconv.ndimage, func)(x, w, axes=axes, origin=origin, mode="wrap")
            continue
        assert_close(getattr(fftconv.ndimage, func)(x, w, axes=axes, origin=origin, mode="wrap"), want)


def test_plan_of_an_array_says_how_to_call_it_without_printing_the_array():
    advice = r"plan\('gaussian_filter', image, 2.0\); got "
    with pytest.raises(ValueError, match=advice + "an object of type ndarray$"):
        fftconv.ndimage.plan(np.zeros((40, 40)), np.ones((3, 3)))
    with pytest.raises(ValueError, match=advice + "'blur'$"):
        fftconv.ndimage.plan("blur", np.zeros((40, 40)))

