"""A periodic boundary on the transforms: the circular convolution at the image's own shape
(`fftconv.executors.periodic`), against scipy.ndimage and the exact normalised reference."""

import numpy as np
import pytest
import scipy.ndimage
from hypothesis import given, settings
from hypothesis import strategies as st
from test_holes import assert_close_nan, reference

import fftconv
import fftconv.astropy
import fftconv.ndimage as nd
from fftconv.executors import periodic, spectral


@pytest.fixture
def transformed_shapes(monkeypatch):
    """The FFT shapes the periodic spectra were made for, call by call."""
    shapes = []
    real = spectral.periodic_spectrum

    def spy(kernel, ranges, fft_shape, *args):
        shapes.append(tuple(fft_shape))
        return real(kernel, ranges, fft_shape, *args)
    monkeypatch.setattr(spectral, "periodic_spectrum", spy)  # both tile readers' (`unextended_tiles`)
    return shapes


@pytest.mark.parametrize("mode", ["wrap", "grid-wrap"])
@pytest.mark.parametrize("shape, kshape, origin", [
    ((64, 80), (9, 7), 0),
    ((63, 80), (9, 7), (-2, 1)),  # an odd first axis; origins move the kernel
    ((100, 128), (41, 33), (10, -8)),
    ((32, 40), (50, 60), 0),  # a kernel longer than the image: folded onto one period
    ((20, 12, 16), (5, 3, 7), (1, 0, -1)),
])
def test_wrap_on_the_transforms_is_the_image_period(rng, mode, shape, kshape, origin, transformed_shapes):
    image, kernel = rng.standard_normal(shape), rng.standard_normal(kshape)
    for ours, theirs in ((nd.correlate, scipy.ndimage.correlate), (nd.convolve, scipy.ndimage.convolve)):
        got = ours(image, kernel, mode=mode, origin=origin, method="fft")
        want = theirs(image, kernel, mode=mode, origin=origin)
        np.testing.assert_allclose(got, want, atol=1e-12 * np.abs(want).max(), rtol=0)
    assert transformed_shapes == [shape, shape]


def test_holes_with_wrap_on_the_transforms_equal_the_exact_reference(rng, transformed_shapes):
    image = rng.standard_normal((36, 50))
    image[rng.random(image.shape) < 0.15] = np.nan
    image[10:16, 20:30] = np.nan
    kernel = rng.random((7, 9)) + 0.1
    got = nd.correlate(image, kernel, mode="wrap", nan="interpolate", method="fft")
    assert_close_nan(got, reference(image, kernel, "wrap"), 1e-12)
    assert transformed_shapes == [(36, 50)]


def test_astropys_wrap_takes_the_image_period(rng, transformed_shapes):
    image = rng.standard_normal((192, 160))
    image[rng.random(image.shape) < 0.02] = np.nan
    kernel = rng.random((61, 61)) + 0.1  # no outer product: the transforms are the quickest
    got = fftconv.astropy.convolve_fft(image, kernel, boundary="wrap")
    want = fftconv.astropy.convolve(image, kernel, boundary="wrap")  # direct sums
    np.testing.assert_allclose(got, want, atol=1e-12 * np.nanmax(np.abs(want)), rtol=0)
    assert transformed_shapes and set(transformed_shapes) == {(192, 160)}


@pytest.mark.parametrize("shape", [(64, 81), (67, 67)])  # an odd last axis; a length not fast
def test_an_image_whose_length_is_no_fast_length_keeps_the_extended_transform(rng, shape, transformed_shapes):
    image, kernel = rng.standard_normal(shape), rng.standard_normal((9, 9))
    got = nd.correlate(image, kernel, mode="wrap", method="fft")
    np.testing.assert_allclose(got, scipy.ndimage.correlate(image, kernel, mode="wrap"), atol=1e-11, rtol=0)
    assert transformed_shapes == []


def test_blocks_of_rows_under_a_memory_limit_keep_their_halo(rng, transformed_shapes):
    image, kernel = rng.standard_normal((256, 256)), rng.standard_normal((15, 15))
    with fftconv.config.override(memory_limit="2MiB"):
        got = nd.correlate(image, kernel, mode="wrap", method="fft")
    np.testing.assert_allclose(got, scipy.ndimage.correlate(image, kernel, mode="wrap"), atol=1e-11, rtol=0)
    assert transformed_shapes == []  # no block is the whole image


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 12), k=st.integers(1, 30), start=st.integers(0, 29), data=st.data())
def test_the_periodic_kernel_sums_each_tap_onto_its_sample(n, k, start, data):
    taps = np.array(data.draw(st.lists(st.integers(-5, 5), min_size=k, max_size=k)), float)
    shift = start % n
    want = np.zeros(n)
    for s, t in enumerate(taps):
        want[(s + shift) % n] += t
    np.testing.assert_array_equal(periodic.periodic_kernel(taps, [shift], [n]), want)


def test_the_plan_says_a_periodic_image_is_transformed_at_its_own_shape(rng):
    kernel = rng.random((41, 41))
    wrapped = nd.plan("correlate", np.zeros((512, 512)), kernel, mode="wrap", method="fft").explain()
    assert "transformed at the image's own shape (512, 512)" in wrapped
    mirrored = nd.plan("correlate", np.zeros((512, 512)), kernel, mode="reflect", method="fft").explain()
    assert "periodic" not in mirrored


def test_the_planner_takes_the_image_period_where_it_is_quicker(rng, transformed_shapes):
    # priced on the extended block, 384² * 101² goes to overlap-save tiles or a 500² transform;
    # the image's own 384² transform is estimated quicker than either
    image, kernel = rng.standard_normal((384, 384)), rng.random((101, 101))
    got = nd.correlate(image, kernel, mode="wrap")
    want = nd.correlate(image, kernel, mode="wrap", method="tiled")  # the extended block's tiles
    np.testing.assert_allclose(got, want, atol=1e-11 * np.abs(want).max(), rtol=0)
    assert transformed_shapes == [(384, 384)]
    explained = nd.plan("correlate", image, kernel, mode="wrap").explain()
    assert "chosen: fft" in explained and "own shape (384, 384)" in explained


@pytest.mark.parametrize("dtype", [np.complex128, np.int16, np.float32])
def test_complex_integer_and_single_images_on_the_image_period(rng, dtype, transformed_shapes):
    image = rng.standard_normal((48, 64)) * 50
    if np.dtype(dtype).kind == "c":
        image = image + 1j * rng.standard_normal((48, 64))
    image = image.astype(dtype)
    kernel = rng.standard_normal((11, 13))
    got = nd.correlate(image, kernel, mode="wrap", method="fft")
    want = scipy.ndimage.correlate(image, kernel, mode="wrap")
    assert got.dtype == want.dtype
    tol = 1e-4 if dtype == np.float32 else 1e-12
    scale = np.abs(scipy.ndimage.correlate(image.astype(np.complex128 if dtype == np.complex128 else float),
                                           kernel, mode="wrap")).max()
    if np.dtype(dtype).kind == "i":  # scipy rounds its float sums into the integers as fftconv does
        np.testing.assert_allclose(got, want, atol=1, rtol=0)
    else:
        np.testing.assert_allclose(got, want, atol=tol * scale, rtol=0)
    assert transformed_shapes == [(48, 64)]


def test_a_1d_signal_and_an_image_with_inf_on_the_image_period(rng, transformed_shapes):
    signal, taps = rng.standard_normal(1000), rng.standard_normal(41)
    got = nd.correlate1d(signal, taps, mode="wrap", method="fft")
    np.testing.assert_allclose(got, scipy.ndimage.correlate1d(signal, taps, mode="wrap"), atol=1e-12, rtol=0)
    assert transformed_shapes == [(1000,)]
    image, kernel = rng.standard_normal((32, 32)), rng.standard_normal((5, 5))
    image[3, 4] = np.inf  # the transforms decline it: the direct sums keep the inf local
    with np.errstate(invalid="ignore"):
        want = scipy.ndimage.correlate(image, kernel, mode="wrap")
    got = nd.correlate(image, kernel, mode="wrap", method="fft")
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(want))
    np.testing.assert_allclose(got[np.isfinite(want)], want[np.isfinite(want)], atol=1e-12, rtol=0)


def test_integer_sums_the_planner_kept_exact_are_not_replaced_by_the_transforms(rng):
    from fftconv.core.problem import Problem
    from fftconv.engine import run
    from fftconv.engine.border_plans import border_plan

    kernel = rng.random((101, 101))
    ranges, shape = [(-50, 1074), (-50, 1074)], (1024, 1024)
    floats = Problem.build(np.zeros((1124, 1124)), kernel, "valid", correlate=True)
    auto = run.plan(floats, "auto", 1, image_known=False)
    assert border_plan(auto, floats, "wrap", False, "auto", 1, ranges, shape, None).method == "fft"
    integers = Problem.build(np.zeros((1124, 1124), np.int64), rng.integers(1, 5, (101, 101)), "valid",
                             correlate=True)
    exact = run.plan(integers, "direct", 1, image_known=False)  # the compiled loop: exact int64 sums
    assert exact.executor == "direct.compiled"
    assert border_plan(exact, integers, "wrap", False, "auto", 1, ranges, shape, None) is exact
