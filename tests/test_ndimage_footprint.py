"""scipy.ndimage's N-D ``correlate``/``convolve`` leave out weights within DBL_EPSILON of zero:
a NaN or inf pixel reaches only the outputs whose footprint (the other weights) covers it.
fftconv's executors sum every tap, then sum those outputs again as scipy does
(`fftconv.engine.footprint`). scipy is the oracle on every path: each executor, origins and
even kernels, blocks of a memmap, dask chunks, a signature's repeated calls, in place."""

import numpy as np
import pytest
import scipy.ndimage

import fftconv
import fftconv.ndimage as nd
from fftconv.engine import footprint

LAPLACE = np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
SOBEL = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])  # rank 1: the separable passes


def holed(rng, shape, dtype=np.float64):
    x = rng.standard_normal(shape).astype(dtype)
    flat = x.reshape(-1)
    flat[rng.choice(x.size, 12, replace=False)] = np.nan
    flat[rng.choice(x.size, 3, replace=False)] = np.inf
    flat[rng.choice(x.size, 3, replace=False)] = -np.inf
    return x


def assert_as_scipy(got, want, tol=1e-12):
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(want))
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(want))
    finite = np.isfinite(want)
    scale = max(np.abs(want[finite]).max(), 1)
    np.testing.assert_allclose(got[finite], want[finite], rtol=tol, atol=tol * scale)


@pytest.mark.parametrize("method", ["direct", "fft", "tiled", "auto"])
@pytest.mark.parametrize("convolution", [False, True])
def test_nonfinite_pixels_reach_only_the_footprint(rng, method, convolution):
    x = holed(rng, (120, 90))  # over the tiny routes (scipy's own loop)
    weights = rng.standard_normal((4, 5))
    weights[rng.random(weights.shape) < 0.4] = 0.0
    weights[1, 1] = 1e-20  # left out by scipy's loop too
    ours = nd.convolve if convolution else nd.correlate
    theirs = scipy.ndimage.convolve if convolution else scipy.ndimage.correlate
    for mode, origin in [("reflect", 0), ("nearest", (-1, 1)), ("constant", (1, -2)), ("grid-wrap", 0)]:
        got = ours(x, weights, mode=mode, cval=0.5, origin=origin, method=method)
        assert_as_scipy(got, theirs(x, weights, mode=mode, cval=0.5, origin=origin))


@pytest.mark.parametrize("kernel", [LAPLACE, SOBEL], ids=["laplace", "sobel"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_operators_with_zero_taps_as_scipy(rng, kernel, dtype):
    x = holed(rng, (256, 192), dtype)
    assert_as_scipy(nd.correlate(x, kernel), scipy.ndimage.correlate(x, kernel), 1e-6)
    want = scipy.ndimage.convolve(x, kernel, mode="mirror")
    assert_as_scipy(nd.convolve(x, kernel, mode="mirror"), want, 1e-6)


def test_three_dimensions_and_repeated_calls(rng):
    weights = np.zeros((3, 3, 3))
    weights[1, 1, :] = weights[1, :, 1] = weights[:, 1, 1] = 1.0  # a 3-D cross
    for _ in range(3):  # the signature's later calls take the lane's route
        x = holed(rng, (40, 41, 42))
        assert_as_scipy(nd.correlate(x, weights), scipy.ndimage.correlate(x, weights))


def test_filtered_in_place(rng):
    x = holed(rng, (80, 80))
    want = scipy.ndimage.correlate(x, LAPLACE)
    assert nd.correlate(x, LAPLACE, output=x) is x
    assert_as_scipy(x, want)


def test_memmap_in_blocks_under_a_memory_limit(rng, tmp_path):
    x = holed(rng, (300, 200))
    source = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=x.dtype, shape=x.shape)
    source[...] = x
    monkey_rows = footprint.READ_POINTS
    try:
        footprint.READ_POINTS = 4096  # several bands of the output summed again
        with fftconv.config.override(memory_limit="256KB"):
            got = nd.convolve(source, LAPLACE, mode="wrap")
    finally:
        footprint.READ_POINTS = monkey_rows
    assert_as_scipy(got, scipy.ndimage.convolve(x, LAPLACE, mode="wrap"))


def test_dask_chunks_as_scipy(rng):
    pytest.importorskip("dask")
    import fftconv.dask.ndimage

    x = holed(rng, (60, 50))
    got = fftconv.dask.ndimage.correlate(x, SOBEL, mode="reflect", chunks=(17, 23)).compute()
    assert_as_scipy(got, scipy.ndimage.correlate(x, SOBEL, mode="reflect"))


def test_the_one_dimensional_filters_sum_every_weight(rng):
    """scipy's correlate1d multiplies its zero weights too: a NaN reaches the whole window."""
    x = holed(rng, (50, 40))
    weights = np.array([1.0, 0.0, -1.0])
    assert_as_scipy(nd.correlate1d(x, weights, axis=0), scipy.ndimage.correlate1d(x, weights, axis=0))


def test_finite_images_are_untouched_by_the_footprint(rng):
    x = rng.standard_normal((70, 60))
    weights = LAPLACE.copy()
    weights[0, 0] = 1e-20
    np.testing.assert_allclose(nd.correlate(x, weights), scipy.ndimage.correlate(x, weights), atol=1e-12)


def test_an_integer_image_needs_no_footprint(rng):
    from fftconv.ndimage.filters import prepare_filter

    image = rng.integers(0, 255, (40, 40)).astype(np.uint8)
    assert prepare_filter(image, LAPLACE, None, "reflect", 0.0, 0, None, "auto", 1, False,
                          footprint=True)[0].footprint is None
    # ... unless its border is not finite
    work = prepare_filter(image, LAPLACE, None, "constant", np.nan, 0, None, "auto", 1, False,
                          footprint=True)[0]
    assert work.footprint is not None
    image = rng.integers(0, 255, (300, 200)).astype(np.uint8)  # past the tiny routes
    border = {"output": np.float64, "mode": "constant", "cval": np.nan}
    assert_as_scipy(nd.correlate(image, LAPLACE, **border), scipy.ndimage.correlate(image, LAPLACE, **border))


def test_in_place_under_a_memory_limit(rng, tmp_path):
    """Filtering into the image itself: a finite image needs no footprint (blocks refuse an
    overlap as before); a memmap with NaN is refused, since its copy may not fit."""
    x = rng.standard_normal((300, 300))
    with fftconv.config.override(memory_limit="1MB"):
        with pytest.raises(ValueError, match="overlaps"):
            nd.correlate(x, LAPLACE, output=x)
    source = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float64, shape=(300, 300))
    source[...] = holed(rng, (300, 300))
    with pytest.raises(ValueError, match="separate output array"):
        nd.correlate(source, LAPLACE, output=source)


def test_a_complex_image_keeps_its_parts_apart(rng):
    """scipy filters a complex image's real and imaginary parts apart: a NaN in one part of a
    pixel leaves the other part of the outputs it reaches finite."""
    x = rng.standard_normal((120, 90)) + 1j * rng.standard_normal((120, 90))
    x[30, 40] = complex(np.nan, 1.0)
    x[70, 20] = complex(2.0, np.inf)
    got = nd.correlate(x, LAPLACE, method="fft")
    want = scipy.ndimage.correlate(x, LAPLACE)
    for part in (np.real, np.imag):
        assert_as_scipy(part(got), part(want))


@pytest.mark.parametrize("method", ["direct", "fft"])
@pytest.mark.parametrize("complex_image", [False, True])
def test_complex_weights_leave_out_their_parts_as_scipy(rng, method, complex_image):
    """scipy filters with complex weights part by part, each part's zero taps left out."""
    x = rng.standard_normal((120, 90))
    if complex_image:
        x = x + 1j * rng.standard_normal((120, 90))
    x[30, 40] = np.nan
    x[70, 20] = np.inf
    weights = LAPLACE + 1j * np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, -1.0]])
    for convolution in (False, True):
        ours = nd.convolve if convolution else nd.correlate
        theirs = scipy.ndimage.convolve if convolution else scipy.ndimage.correlate
        got, want = ours(x, weights, method=method), theirs(x, weights)
        for part in (np.real, np.imag):
            assert_as_scipy(part(got), part(want))


def test_the_plan_says_which_weights_are_left_out():
    image = np.zeros((300, 300))
    assert "left out as scipy.ndimage leaves them" in nd.plan("correlate", image, LAPLACE).explain()
    assert "left out" not in nd.plan("correlate", image, np.ones((3, 3))).explain()


@pytest.mark.parametrize("method", ["direct", "fft", "auto"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32, np.complex128])
def test_a_nan_weight_is_left_out_as_scipy_leaves_it_out(rng, method, dtype):
    """scipy's N-D loop keeps a weight where ``fabs(w) > DBL_EPSILON``: never a NaN one, which
    fftconv's executors had summed into every output (a 50x40 image with a 9x9 kernel: all
    NaN where scipy's answer is finite), and a NaN pixel still reaches only the footprint."""
    x = (rng.standard_normal((50, 40)) * 10).astype(dtype)
    if dtype == np.float64:
        x[7, 9] = np.nan
    weights = rng.random((9, 9))
    weights[2, 6] = np.nan
    for convolution in (False, True):
        ours, theirs = (nd.convolve, scipy.ndimage.convolve) if convolution else (nd.correlate,
                                                                                  scipy.ndimage.correlate)
        want = theirs(x, weights, mode="nearest")
        assert np.isfinite(want).sum() > 0.9 * want.size
        got = ours(x, weights, mode="nearest", method=method)
        if dtype == np.int32:  # truncated after float64 sums, as scipy truncates
            np.testing.assert_allclose(got, want, atol=1)
        elif dtype == np.complex128:  # filtered part by part, each leaving out its own NaN
            assert got.dtype == want.dtype
            assert_as_scipy(got.real, want.real)
            assert_as_scipy(got.imag, want.imag)
        else:
            assert_as_scipy(got, want, tol=1e-5 if dtype == np.float32 else 1e-12)
    assert footprint.skips_weights(weights) and not np.isnan(footprint.without_skipped(weights)).any()
