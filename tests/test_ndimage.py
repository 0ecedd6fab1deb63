"""fftconv.ndimage against scipy.ndimage: every mode, origins, even kernels, dtypes, axes, output."""

import numpy as np
import pytest
import scipy.ndimage
from conftest import GENERAL_METHODS, assert_close

import fftconv
import fftconv.ndimage

MODES = ["reflect", "constant", "nearest", "mirror", "wrap", "grid-mirror", "grid-constant", "grid-wrap"]


@pytest.mark.parametrize("name", ["convolve", "correlate"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("wshape", [(3, 3), (4, 2), (1, 6), (9, 9), (12, 5)])
@pytest.mark.parametrize("method", GENERAL_METHODS)
def test_modes_and_kernel_shapes_match_scipy(rng, name, mode, wshape, method):
    x = rng.standard_normal((11, 8))
    w = rng.standard_normal(wshape)
    want = getattr(scipy.ndimage, name)(x, w, mode=mode, cval=1.25)
    ours = getattr(fftconv.ndimage, name)(x, w, mode=mode, cval=1.25, method=method, threads=1)
    assert ours.dtype == want.dtype
    assert_close(ours, want, ulps=500)


@pytest.mark.parametrize("name", ["convolve", "correlate"])
@pytest.mark.parametrize("origin", [-2, -1, 0, 1, (1, -1), (-2, 0)])
def test_origins_match_scipy(rng, name, origin):
    x = rng.standard_normal((10, 12))
    w = rng.standard_normal((5, 4))
    try:
        want = getattr(scipy.ndimage, name)(x, w, origin=origin)
    except ValueError:
        with pytest.raises(ValueError, match="origin"):
            getattr(fftconv.ndimage, name)(x, w, origin=origin)
        return
    assert_close(getattr(fftconv.ndimage, name)(x, w, origin=origin, threads=1), want, ulps=500)


@pytest.mark.parametrize("dtype", ["uint8", "int16", "int32", "float32", "float64", "complex128"])
@pytest.mark.parametrize("name", ["convolve", "correlate"])
def test_dtypes_match_scipy(rng, dtype, name):
    x = (rng.random((20, 17)) * 50).astype(dtype)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.random((20, 17))
    for w in (np.ones((3, 3)), rng.random((5, 5)), np.array([[1, 2], [3, 4]])):
        want = getattr(scipy.ndimage, name)(x, w)
        ours = getattr(fftconv.ndimage, name)(x, w, threads=1)
        assert ours.dtype == want.dtype
        assert_close(ours, want, ulps=500)


def test_axes_and_output_argument(rng):
    x = rng.standard_normal((4, 30, 20))
    w = rng.standard_normal((7, 3))
    want = scipy.ndimage.correlate(x, w, axes=(1, 2), mode="nearest")
    assert_close(fftconv.ndimage.correlate(x, w, axes=(1, 2), mode="nearest", threads=1), want, ulps=500)
    out = np.empty_like(x, dtype=np.float32)
    assert fftconv.ndimage.convolve(x, w, out, axes=(1, 2)) is out
    assert_close(out, scipy.ndimage.convolve(x, w, np.float32, axes=(1, 2)), ulps=50)
    assert fftconv.ndimage.convolve(x, w, np.float32, axes=[1, 2]).dtype == np.float32


def test_long_kernels_use_the_fft(rng):
    x = rng.standard_normal((300, 300)).astype(np.float32)
    w = np.outer(np.hanning(41), np.hanning(41)).astype(np.float32)
    want = scipy.ndimage.convolve(x, w, mode="reflect")
    assert_close(fftconv.ndimage.convolve(x, w, mode="reflect", threads=1), want, ulps=500)
    assert fftconv.plan((340, 340), (41, 41), "valid", threads=1).method != "direct"


def test_input_is_not_modified(rng):
    x = rng.standard_normal((15, 15))
    x0 = x.copy()
    fftconv.ndimage.convolve(x, np.ones((3, 3)), mode="wrap")
    np.testing.assert_array_equal(x, x0)


def test_errors_match_scipy():
    with pytest.raises(RuntimeError, match=r"weights.ndim \(1\) must match len\(axes\) \(2\)"):
        fftconv.ndimage.convolve(np.ones((5, 5)), np.ones(3))
    with pytest.raises(RuntimeError, match="boundary mode"):
        fftconv.ndimage.convolve(np.ones(5), np.ones(3), mode="circular")
    with pytest.raises(ValueError, match="origin"):
        fftconv.ndimage.correlate(np.ones(5), np.ones(3), origin=2)
    with pytest.raises(RuntimeError, match="output shape"):
        fftconv.ndimage.correlate(np.ones(5), np.ones(3), output=np.empty(4))


@pytest.mark.parametrize("mode", ["reflect", "constant", "wrap", "nearest", "mirror"])
@pytest.mark.parametrize("method", ["tiled", "fft"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
def test_the_ffts_read_the_boundary_from_the_image(rng, mode, method, dtype, monkeypatch):
    """The FFT executors fill each tile from the image by the mode: no copy of the image with
    its halo is made first (a block copied that way fails here)."""
    import fftconv.engine.blocks as blocks

    def copied(*args, **kwargs):
        raise AssertionError("the block was copied with its halo")
    x = (rng.random((97, 131)) * 200).astype(dtype)
    w = rng.standard_normal((15, 9))
    monkeypatch.setattr(blocks, "read_extended", copied)
    got = fftconv.ndimage.correlate(x, w, mode=mode, cval=-1.5, method=method)
    assert got.dtype == dtype
    expected = scipy.ndimage.correlate(x, w, mode=mode, cval=-1.5)
    if dtype == np.uint8:  # scipy truncates its double sums: one unit where a sum rounds across
        assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1
    else:
        assert_close(got, expected)


@pytest.mark.parametrize("method", ["tiled", "fft"])
def test_a_nan_in_the_image_spreads_as_scipys_loop_spreads_it_on_the_ffts(rng, method):
    x = rng.standard_normal((97, 131))
    x[40, 3] = np.nan
    w = rng.standard_normal((15, 9))
    got = fftconv.ndimage.correlate(x, w, mode="reflect", method=method)
    expected = scipy.ndimage.correlate(x, w, mode="reflect")
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    assert_close(got[~np.isnan(got)], expected[~np.isnan(expected)])
