"""Boxes far longer than their lines (`fftconv.ndimage.box_sums`): scipy.ndimage's answer in
every mode, NaN kept in the windows that hold it, and no taps spelt out (``size=10**9``)."""

import itertools

import dask.array as da
import numpy as np
import pytest
import scipy.ndimage

import fftconv.dask.ndimage
import fftconv.ndimage
from fftconv.ndimage import separable

MODES = ["reflect", "constant", "nearest", "mirror", "wrap", "grid-wrap", "grid-mirror", "grid-constant"]


@pytest.mark.parametrize("mode", MODES)
def test_long_boxes_equal_scipy(rng, mode):
    for n, size, dtype in itertools.product([1, 2, 7, 300], [4096, 5001], ["float64", "float32", "int16",
                                                                         "complex128"]):
        x = rng.standard_normal((3, n)) * 100
        if dtype == "complex128":
            x = x + 1j * rng.standard_normal((3, n))
        x = x.astype(dtype)
        for origin in (0, -1, 1, -(size // 2), (size - 1) // 2):
            want = scipy.ndimage.uniform_filter1d(x, size, axis=1, mode=mode, cval=2.5, origin=origin)
            got = fftconv.ndimage.uniform_filter1d(x, size, axis=1, mode=mode, cval=2.5, origin=origin)
            assert got.dtype == want.dtype
            if dtype == "int16":
                np.testing.assert_array_equal(got, want)
            else:
                scale = max(1.0, float(np.abs(want).max()))
                tol = 1e-6 if dtype == "float32" else 1e-12
                assert np.abs(got - want).max() <= tol * scale, (n, size, origin)


def test_long_boxes_of_several_axes_equal_scipy(rng):
    x = rng.standard_normal((40, 30, 6))
    want = scipy.ndimage.uniform_filter(x, (5000, 3, 30000), mode=["wrap", "nearest", "mirror"])
    got = fftconv.ndimage.uniform_filter(x, (5000, 3, 30000), mode=["wrap", "nearest", "mirror"])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_a_box_of_a_billion_taps_is_never_spelt_out(rng, monkeypatch):
    def refuse(*args):
        raise AssertionError("the taps were built")
    monkeypatch.setattr(separable.Pass, "weights", refuse)
    x = rng.standard_normal(1000)
    for mode in ("reflect", "wrap", "mirror", "nearest"):
        got = fftconv.ndimage.uniform_filter1d(x, 10**9, mode=mode)
        # a window of 10**9 holds whole periods (or edge samples) and at most 2,000 others
        assert np.abs(got - got.mean()).max() <= 2 * 2000 / 10**9 * np.abs(x).max()
    got = fftconv.ndimage.uniform_filter1d(x, 10**9, mode="constant", cval=1.0)
    np.testing.assert_allclose(got, 1.0, atol=1e-5)
    lazy = fftconv.dask.ndimage.uniform_filter1d(da.from_array(x, chunks=250), 10**9, mode="wrap")
    np.testing.assert_allclose(lazy.compute(), fftconv.ndimage.uniform_filter1d(x, 10**9, mode="wrap"))


@pytest.mark.parametrize("mode", ["constant", "reflect", "nearest", "wrap"])
def test_nan_and_inf_stay_in_the_windows_that_hold_them(rng, mode):
    x = rng.standard_normal((2, 500))
    x[0, 10], x[1, 100], x[1, 400] = np.nan, np.inf, -np.inf
    size, origin = 4096, -2000  # the windows start near their outputs: some miss the holes
    got = fftconv.ndimage.uniform_filter1d(x, size, mode=mode, origin=origin)
    box = np.full(size, 1.0 / size)  # the same sums as weights: the engine's direct paths
    want = fftconv.ndimage.correlate1d(x, box, mode=mode, origin=origin)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
    finite = np.isfinite(want)
    if mode in ("constant", "nearest"):
        assert finite.sum() > 100 and np.isnan(got).sum() > 100
    else:  # a window of over four lines holds every sample of a periodic extension
        assert np.isnan(got).all()
    np.testing.assert_allclose(got[finite], want[finite], rtol=1e-9, atol=1e-12)


def test_dask_long_boxes_equal_the_in_memory_answer(rng):
    x = rng.standard_normal((600, 40)).astype(np.float32)
    lazy = fftconv.dask.ndimage.uniform_filter(da.from_array(x, chunks=(150, 16)), (5000, 5))
    np.testing.assert_allclose(lazy.compute(), fftconv.ndimage.uniform_filter(x, (5000, 5)), rtol=1e-6,
                               atol=1e-7)


def test_the_plan_of_a_long_box_says_how(rng):
    text = fftconv.ndimage.plan(fftconv.ndimage.uniform_filter1d, np.zeros(1000), 10**6).explain()
    assert "prefix sums" in text and "1000000 taps" in text


def test_long_boxes_of_a_memmap_run_in_blocks_of_whole_lines(rng, tmp_path):
    x = rng.standard_normal((300, 200))
    source = np.lib.format.open_memmap(tmp_path / "x.npy", "w+", np.float64, x.shape)
    source[...] = x
    with fftconv.config.override(memory_limit="256KiB"):  # blocks of a few columns
        got = fftconv.ndimage.uniform_filter1d(source, 5000, axis=0, mode="mirror")
    want = scipy.ndimage.uniform_filter1d(x, 5000, axis=0, mode="mirror")
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cval", [np.nan, np.inf])
def test_a_constant_that_is_not_finite_reaches_every_long_window(rng, cval):
    x = rng.standard_normal(100)
    got = fftconv.ndimage.uniform_filter1d(x, 5000, mode="constant", cval=cval)
    assert (np.isnan(got) if np.isnan(cval) else got == np.inf).all()
    np.testing.assert_allclose(fftconv.ndimage.uniform_filter1d(x, 5000, mode="wrap", cval=cval),
                               scipy.ndimage.uniform_filter1d(x, 5000, mode="wrap"), rtol=1e-12)


def test_box_value_reads_every_tap_and_no_copy_of_a_view():
    from fftconv.executors.direct_box import SAMPLED_TAPS, box_value

    almost = np.full(SAMPLED_TAPS + 5, 0.5)
    almost[-1] = 0.25  # past the sampled taps
    assert box_value(almost) is None
    assert box_value(np.full((4, 3), 2.0)[::-1, ::-2]) == 2.0  # a strided view of a box
    assert box_value(np.array([np.inf, np.inf])) is None
    assert box_value(np.full(7, 1 / 7, np.float32)) == 1 / 7
    assert box_value(np.array([1 + 0j, 1 + 0j])) is None  # complex: not a box of running sums
