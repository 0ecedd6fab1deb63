"""A border of zeros on the transforms: the image alone, zero-padded by the longer side of the
halo (`fftconv.executors.zero_border`), against scipy.ndimage, astropy's direct sums and the
exact normalised reference."""

import numpy as np
import pytest
import scipy.ndimage
from hypothesis import given, settings
from hypothesis import strategies as st
from test_holes import assert_close_nan, reference

import fftconv
import fftconv.astropy
import fftconv.ndimage as nd
from fftconv.executors import spectral, zero_border


@pytest.fixture
def transformed_shapes(monkeypatch):
    """The FFT shapes of the zero-bordered layouts both tile readers took, call by call."""
    shapes = []
    real = spectral.zero_border_layout

    def spy(*args):
        found = real(*args)
        if found is not None:
            shapes.append(found[0])
        return found
    monkeypatch.setattr(spectral, "zero_border_layout", spy)  # both tile readers' (`unextended_tiles`)
    return shapes


@pytest.mark.parametrize("mode", ["constant", "grid-constant"])
@pytest.mark.parametrize("shape, kshape, origin", [
    ((64, 80), (9, 7), 0),
    ((63, 81), (9, 8), (-2, 1)),  # odd lengths, an even kernel; origins move it
    ((100, 128), (41, 33), (10, -8)),
    ((20, 12, 16), (5, 3, 7), (1, 0, -1)),
])
def test_a_zero_border_transforms_the_image_alone(rng, mode, shape, kshape, origin, transformed_shapes):
    image, kernel = rng.standard_normal(shape), rng.standard_normal(kshape)
    for ours, theirs in ((nd.correlate, scipy.ndimage.correlate), (nd.convolve, scipy.ndimage.convolve)):
        got = ours(image, kernel, mode=mode, origin=origin, method="fft")
        want = theirs(image, kernel, mode=mode, origin=origin)
        np.testing.assert_allclose(got, want, atol=1e-12 * np.abs(want).max(), rtol=0)
    assert len(transformed_shapes) == 2
    extended = [n + k - 1 for n, k in zip(shape, kshape)]
    for fft_shape in transformed_shapes:  # the longer side of the halo, not both
        assert all(n + k // 2 <= m < e + 8 for n, k, m, e in zip(shape, kshape, fft_shape, extended))
        assert np.prod(fft_shape) < np.prod([spectral.next_fast_length(e) for e in extended])


def test_another_constant_keeps_the_extended_transform(rng, transformed_shapes):
    image, kernel = rng.standard_normal((64, 80)), rng.standard_normal((9, 7))
    got = nd.correlate(image, kernel, mode="constant", cval=2.5, method="fft")
    want = scipy.ndimage.correlate(image, kernel, mode="constant", cval=2.5)
    np.testing.assert_allclose(got, want, atol=1e-12 * np.abs(want).max(), rtol=0)
    assert transformed_shapes == []


@pytest.mark.parametrize("cval", [0.0, np.nan])  # valid zeros (weights less one), or holes
def test_holes_with_a_zero_or_nan_border_equal_the_exact_reference(rng, cval, transformed_shapes):
    image = rng.standard_normal((36, 50))
    image[rng.random(image.shape) < 0.15] = np.nan
    image[10:16, 20:30] = np.nan
    image[:5, :7] = np.nan  # a hole at the corner: its outputs reach the border
    kernel = rng.random((7, 9)) + 0.1
    got = nd.correlate(image, kernel, mode="constant", cval=cval, nan="interpolate", method="fft")
    assert_close_nan(got, reference(image, kernel, "constant", cval), 1e-12)
    assert transformed_shapes == [(40, 54)]


@pytest.mark.parametrize("fill_value", [0.0, np.nan, 1.5])
def test_astropys_fill_equals_the_exact_reference(rng, fill_value, transformed_shapes):
    image = rng.standard_normal((150, 128))
    image[rng.random(image.shape) < 0.02] = np.nan
    image[60:90, 40:70] = np.nan
    kernel = rng.random((41, 41)) + 0.1
    got = fftconv.astropy.convolve_fft(image, kernel, boundary="fill", fill_value=fill_value)
    # astropy convolves with the kernel normalised; its border is valid pixels of fill_value
    want = reference(image, np.flip(kernel) / kernel.sum(), "constant", fill_value)
    np.testing.assert_allclose(got, want, atol=1e-12 * np.nanmax(np.abs(want)), rtol=0)
    assert len(transformed_shapes) == (0 if fill_value == 1.5 else 1)  # 1.5: neither zeros nor holes


def test_blocks_of_rows_under_a_memory_limit_keep_their_halo(rng, transformed_shapes):
    image, kernel = rng.standard_normal((256, 256)), rng.standard_normal((15, 15))
    with fftconv.config.override(memory_limit="2MiB"):
        got = nd.correlate(image, kernel, mode="constant", method="fft")
    want = scipy.ndimage.correlate(image, kernel, mode="constant")
    np.testing.assert_allclose(got, want, atol=1e-11, rtol=0)
    assert transformed_shapes == []  # no block is the whole image


def test_the_plan_says_the_image_is_transformed_alone(rng):
    kernel = rng.random((41, 41))
    image = np.zeros((512, 512))
    zeros = nd.plan("correlate", image, kernel, mode="constant", method="fft").explain()
    assert "a border of zeros: the image alone transformed, zero-padded to (540, 540)" in zeros
    other = nd.plan("correlate", image, kernel, mode="constant", cval=1.0, method="fft").explain()
    assert "border of zeros" not in other


def test_the_planner_takes_the_zero_border_where_it_is_quicker(rng):
    # 1024² * 101²: overlap-save tiles priced on the extended block against the image alone,
    # zero-padded to 1080², priced by the same model
    from fftconv.core.problem import Problem
    from fftconv.engine import run
    from fftconv.engine.border_plans import border_plan

    template = Problem.build(np.zeros((1124, 1124)), rng.random((101, 101)), "valid", correlate=True)
    tiles = run.plan(template, "tiled", 1, image_known=False)
    ranges = [(-50, 1074), (-50, 1074)]
    chosen = border_plan(tiles, template, "constant", True, "auto", 1, ranges, (1024, 1024), None)
    assert chosen.method == "fft" and "zero boundary" in chosen.reason and "(1080, 1080)" in chosen.reason
    assert zero_border.zero_border_layout(ranges, (1024, 1024), (101, 101), chosen)[0] == (1080, 1080)
    assert border_plan(tiles, template, "constant", False, "auto", 1, ranges, (1024, 1024), None) is tiles
    assert border_plan(tiles, template, "constant", True, "tiled", 1, ranges, (1024, 1024), None) is tiles


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 40), k=st.integers(1, 30), data=st.data())
def test_the_zero_padded_image_gives_the_extended_blocks_valid_sums(n, k, data):
    before = data.draw(st.integers(0, k - 1))
    ranges = [(-before, n + k - 1 - before)]
    (length,), ((segment,),) = zero_border.zero_border_layout(ranges, (n,), (k,), None)
    signal = np.array(data.draw(st.lists(st.integers(-5, 5), min_size=n, max_size=n)), float)
    taps = np.array(data.draw(st.lists(st.integers(-5, 5), min_size=k, max_size=k)), float)
    buffer = np.zeros(length)
    buffer[: n] = signal
    flipped = np.zeros(length)
    flipped[:k] = taps[::-1]
    circular = np.real(np.fft.ifft(np.fft.fft(buffer) * np.fft.fft(flipped)))
    got = circular[segment.res_offset: segment.res_offset + segment.count]
    extended = np.concatenate([np.zeros(before), signal, np.zeros(k - 1 - before)])
    want = np.correlate(extended, taps, "valid")
    np.testing.assert_allclose(got, want, atol=1e-9)
