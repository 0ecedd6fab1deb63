"""Images with holes: normalised convolution (``nan='interpolate'``, masks, masked arrays) on
every executor, in blocks and on memmaps, against an exact float64 reference."""

import itertools
import tracemalloc

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import scipy.ndimage
from hypothesis import given, settings
from hypothesis import strategies as st

import fftconv
import fftconv.ndimage as nd
from fftconv.engine import blocks, hole_bands, hole_tiles, holes, lane
from fftconv.engine.holes import Holes
from fftconv.timing import settle

GENERAL = ["direct", "fft", "tiled"]


def reference(image, kernel, mode="reflect", cval=0.0, mask=None):
    """Normalised correlation by its definition: per output, the sum over the valid pixels in
    reach of value times weight over the sum of those weights, times the kernel's sum; NaN
    where no valid pixel is in reach. Exact float64 sums, one output at a time."""
    image = np.asarray(image, np.float64)
    holes = np.isnan(image) | (np.zeros(image.shape, bool) if mask is None else np.asarray(mask, bool))
    values = np.where(holes, np.nan, image)
    pads = [(k // 2, k - 1 - k // 2) for k in kernel.shape]
    numpy_mode = {
        "reflect": "symmetric",
        "mirror": "reflect",
        "nearest": "edge",
        "grid-wrap": "wrap",
        "wrap": "wrap",
        "constant": "constant",
    }[mode]
    extra = {"constant_values": cval} if mode == "constant" else {}
    ext = np.pad(values, pads, mode=numpy_mode, **extra)
    out = np.empty(image.shape)
    total = kernel.sum()
    for index in itertools.product(*(range(n) for n in image.shape)):
        window = ext[tuple(slice(i, i + k) for i, k in zip(index, kernel.shape))]
        valid = ~np.isnan(window)
        weight = kernel[valid].sum()
        out[index] = (
            np.nan
            if not valid.any() or weight == 0
            else ((window[valid] * kernel[valid]).sum() / weight * total)
        )
    return out


def assert_close_nan(got, want, tol):
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    scale = max(np.abs(want[~np.isnan(want)]).max(initial=0.0), 1.0)  # an all-NaN answer: 1
    np.testing.assert_allclose(np.nan_to_num(got), np.nan_to_num(want), atol=tol * scale, rtol=0)


@pytest.mark.parametrize("method", GENERAL)
@pytest.mark.parametrize("mode", ["reflect", "constant", "nearest", "mirror", "grid-wrap"])
def test_holes_are_filled_as_the_reference_does(rng, method, mode):
    image = rng.standard_normal((23, 31))
    image[rng.random(image.shape) < 0.1] = np.nan
    image[5:9, 10:14] = np.nan  # a block larger than nothing, smaller than the kernel's reach
    kernel = rng.random((5, 4)) + 0.1
    want = reference(image, kernel, mode, cval=0.5)
    got = nd.correlate(image, kernel, mode=mode, cval=0.5, nan="interpolate", method=method)
    assert_close_nan(got, want, 1e-12)


@pytest.mark.parametrize("method", ["fft", "tiled"])
@pytest.mark.parametrize("band_bytes", [None, 4096])
def test_the_rim_of_a_large_hole_is_exact_after_a_transform(rng, method, band_bytes, monkeypatch):
    if band_bytes is not None:  # the rim summed again from the source a few rows at a time
        monkeypatch.setattr(hole_tiles, "REFINE_BAND_BYTES", band_bytes)
    # inside the rim few valid pixels are in reach of the Gaussian's tail: the weight sum is
    # down to ~1e-11 of the kernel's, where a transform's rounding alone left errors ~1e-6 of
    # the output's scale
    image = rng.standard_normal((60, 70))
    image[15:45, 20:50] = np.nan
    x = np.arange(-12, 13)
    kernel = np.exp(-0.5 * (x[:, None] ** 2 + x[None, :] ** 2) / 2.0**2)
    want = reference(image, kernel, "reflect")
    got = nd.correlate(image, kernel, nan="interpolate", method=method)
    rim = np.isfinite(want) & np.isnan(image)
    assert rim.sum() > 100
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    assert np.abs(got - want)[rim].max() < 1e-13 * np.nanmax(np.abs(want))


def test_a_hole_wider_than_the_kernel_leaves_nan(rng):
    image = rng.random((20, 20))
    image[4:15, 4:15] = np.nan
    got = nd.convolve(image, np.ones((3, 3)), nan="interpolate")
    assert np.isnan(got[9, 9]) and np.isfinite(got[4, 4])
    assert_close_nan(got, reference(image, np.ones((3, 3))), 1e-13)


@pytest.mark.parametrize("method", GENERAL)
def test_masks_and_masked_arrays_are_holes(rng, method):
    image = rng.random((30, 25))
    mask = rng.random(image.shape) < 0.15
    kernel = rng.random((3, 5))
    want = reference(image, kernel, mask=mask)
    assert_close_nan(nd.correlate(image, kernel, nan="interpolate", mask=mask, method=method), want, 1e-12)
    assert_close_nan(nd.correlate(np.ma.array(image, mask=mask), kernel, nan="interpolate", method=method),
                     want, 1e-12)
    with_nan = image.copy()
    with_nan[mask] = np.nan
    assert_close_nan(nd.correlate(with_nan, kernel, nan="interpolate"), want, 1e-12)


def test_fill_replaces_holes_by_cval(rng):
    image = rng.random((16, 16))
    image[3, 4] = np.nan
    mask = np.zeros(image.shape, bool)
    mask[10, 10] = True
    want = scipy.ndimage.convolve(
        np.where(mask | np.isnan(image), 2.0, image), np.ones((3, 3)), mode="constant", cval=2.0
    )
    got = nd.convolve(image, np.ones((3, 3)), mode="constant", cval=2.0, nan="fill", mask=mask)
    np.testing.assert_allclose(got, want, rtol=1e-13)


def test_in_blocks_under_a_memory_limit_and_from_a_memmap(rng, tmp_path):
    image = rng.standard_normal((300, 200)).astype(np.float32)
    image[rng.random(image.shape) < 0.05] = np.nan
    image[100:110, 50:70] = np.nan
    kernel = np.outer(np.hanning(13)[1:-1], np.hanning(9)[1:-1]).astype(np.float32)
    whole = nd.convolve(image, kernel, nan="interpolate")
    path = tmp_path / "image.npy"
    np.save(path, image)
    mapped = np.load(path, mmap_mode="r")
    with fftconv.config.override(memory_limit="256KiB"):
        blocked = nd.convolve(mapped, kernel, nan="interpolate")
    assert blocked.dtype == np.float32
    assert_close_nan(blocked, whole, 1e-5)
    assert_close_nan(whole.astype(np.float64), reference(image, np.flip(kernel).astype(np.float64)), 2e-5)


def test_holes_need_a_kernel_that_can_be_normalised_and_a_real_image():
    with pytest.raises(ValueError, match="sum is not zero"):
        nd.convolve(np.ones((5, 5)), np.array([[1.0, -1.0]]), nan="interpolate")
    with pytest.raises(TypeError, match="real image"):
        nd.convolve(np.ones((5, 5), complex), np.ones((3, 3)), nan="interpolate")
    with pytest.raises(ValueError, match="nan must be one of"):
        nd.convolve(np.ones((5, 5)), np.ones((3, 3)), nan="zero")
    with pytest.raises(ValueError, match="mask must have the input's shape"):
        nd.convolve(np.ones((5, 5)), np.ones((3, 3)), nan="interpolate", mask=np.ones((4, 5), bool))


def test_inputs_are_not_modified(rng):
    image = rng.random((12, 12))
    image[3, 3] = np.nan
    mask = np.zeros(image.shape, bool)
    mask[5, 5] = True
    before, mask_before = image.copy(), mask.copy()
    nd.convolve(image, np.ones((3, 3)), nan="interpolate", mask=mask)
    nd.convolve(image, np.ones((3, 3)), nan="fill", mask=mask)
    np.testing.assert_array_equal(image, before)
    np.testing.assert_array_equal(mask, mask_before)


@pytest.mark.parametrize("method", GENERAL)
def test_an_explicit_rule_decides_empty_outputs(method):
    image = np.array([1.0, np.nan, np.nan, np.nan, 5.0])
    holes = dict(mode="constant", cval=np.nan, method=method)
    assert np.isnan(nd.filter_holes(image, np.ones(3), Holes(), **holes)[2])
    assert nd.filter_holes(image, np.ones(3), Holes(empty="zero"), **holes)[2] == 0
    lone = np.array([np.nan, 5.0, np.nan])  # the middle output: only itself in reach, at weight 0
    ring = np.array([1.0, 0.0, 1.0])
    np.testing.assert_allclose(nd.filter_holes(lone, ring, Holes(empty="center"), **holes), [5.0, 5.0, 5.0])
    np.testing.assert_allclose(nd.filter_holes(lone, ring, Holes(), **holes), [5.0, np.nan, 5.0])
    masked = np.array([7.0, 5.0, 7.0])  # a masked centre is a hole: NaN under the 'center' rule
    got = nd.filter_holes(masked, ring, Holes(empty="center"), mask=[True, True, True], **holes)
    np.testing.assert_array_equal(got, [np.nan] * 3)


images = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=4, max_side=14),
    elements=st.floats(-100, 100),
)


@settings(max_examples=40, deadline=None)
@given(images, st.integers(1, 4), st.integers(1, 4), st.sampled_from(GENERAL))
def test_an_image_without_holes_gives_the_plain_filter(image, kh, kw, method):
    kernel = np.arange(1.0, kh * kw + 1).reshape(kh, kw)
    got = nd.correlate(image, kernel, nan="interpolate", method=method)
    want = scipy.ndimage.correlate(image, kernel)
    np.testing.assert_allclose(got, want, atol=1e-9 * max(1.0, np.abs(want).max()), rtol=0)


@settings(max_examples=40, deadline=None)
@given(images, st.floats(0.01, 100), st.data())
def test_scaling_the_kernel_scales_the_result_and_holes_stay_holes(image, factor, data):
    holes = data.draw(hnp.arrays(bool, image.shape))
    image = np.where(holes, np.nan, image)
    kernel = np.array([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]])
    base = nd.convolve(image, kernel, nan="interpolate")
    scaled = nd.convolve(image, kernel * factor, nan="interpolate")
    np.testing.assert_array_equal(np.isnan(base), np.isnan(scaled))
    ok = ~np.isnan(base)
    np.testing.assert_allclose(scaled[ok], base[ok] * factor, rtol=1e-9, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(images, st.data())
def test_a_valid_pixel_with_an_all_valid_footprint_gets_the_plain_filter(image, data):
    holes = data.draw(hnp.arrays(bool, image.shape))
    with_holes = np.where(holes, np.nan, image)
    kernel = np.ones((3, 3))
    got = nd.correlate(with_holes, kernel, nan="interpolate")
    plain = scipy.ndimage.correlate(image, kernel)
    footprint_clean = scipy.ndimage.maximum_filter(holes.astype(np.uint8), size=3, mode="reflect") == 0
    np.testing.assert_allclose(
        got[footprint_clean], plain[footprint_clean], atol=1e-9 * max(1.0, np.abs(plain).max()), rtol=0
    )


def test_dask_chunks_fill_holes_as_in_memory(rng):
    dnd = pytest.importorskip("fftconv.dask.ndimage")
    image = rng.random((90, 70))
    image[rng.random(image.shape) < 0.1] = np.nan
    image[30:40, 20:35] = np.nan
    mask = rng.random(image.shape) < 0.05
    kernel = rng.random((7, 5)) + 0.1
    for mode in ("reflect", "constant", "grid-wrap"):
        whole = nd.convolve(image, kernel, mode=mode, nan="interpolate", mask=mask)
        chunked = dnd.convolve(image, kernel, mode=mode, nan="interpolate", mask=mask, chunks=17).compute()
        assert_close_nan(chunked, whole, 1e-12)


def test_the_filter_command_fills_holes(rng, tmp_path):
    from fftconv.cli.main import main

    image = rng.random((60, 50)).astype(np.float32)
    image[10:13, 10:13] = np.nan
    source, target = tmp_path / "in.npy", tmp_path / "out.npy"
    np.save(source, image)
    assert (
        main(
            ["filter", str(source), str(target), "--kernel", "box:5", "--nan", "interpolate", "--no-progress"]
        )
        == 0
    )
    got = np.load(target)
    assert not np.isnan(got).any()
    np.testing.assert_allclose(
        got, nd.convolve(image, np.full((5, 5), 1 / 25, np.float32), nan="interpolate"), rtol=1e-6
    )


def materialised(monkeypatch, call):
    """``call()`` with every block on the transforms extended by its halo and filtered whole
    (the path before tiles), for comparison."""
    with monkeypatch.context() as patch:
        patch.setattr(blocks, "_holes_tile_by_tile", lambda *args: False)
        return call()


def peak_images(call, image) -> float:
    """The peak of the Python heap during ``call()`` once its plans have settled (FFTW's
    measured pairs replace the first ones: a call that makes one holds both), in copies of
    ``image``."""
    settle(call, 40)
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1] / image.nbytes
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("method", ["fft", "tiled"])
def test_a_block_on_the_transforms_is_read_and_combined_tile_by_tile(rng, method, monkeypatch):
    image = rng.standard_normal((512, 512))
    image[rng.random(image.shape) < 0.02] = np.nan
    image[200:264, 300:364] = np.nan
    kernel = rng.random((31, 31)) + 0.01

    def call():
        return nd.correlate(image, kernel, nan="interpolate", method=method, mode="mirror")
    # before: the block with its halo, values and weights stacked, two planes of sums (10-11
    # images); now the transform's buffers and the output (2.7 for the tiles, 3.5 whole)
    assert peak_images(call, image) < (5.0 if method == "fft" else 3.5)
    assert_close_nan(call(), materialised(monkeypatch, call), 1e-12)


def test_tiles_with_infinite_values_take_the_materialised_path(rng, monkeypatch):
    image = rng.random((40, 50))
    image[5:9, 5:9] = np.nan
    image[20, 30] = np.inf
    kernel = rng.random((9, 9)) + 0.1

    def call():
        return nd.correlate(image, kernel, nan="interpolate", method="fft")
    got, want = call(), materialised(monkeypatch, call)
    reached = np.zeros(image.shape, bool)
    reached[16:25, 26:35] = True  # the outputs whose footprint holds the inf
    np.testing.assert_array_equal(np.isfinite(got), ~reached)
    np.testing.assert_array_equal(np.isfinite(want), ~reached)
    assert_close_nan(got[~reached], want[~reached], 1e-12)
    assert_close_nan(got[~reached], nd.correlate(image, kernel, nan="interpolate", method="direct")[~reached],
                     1e-12)


@pytest.mark.parametrize("method", ["fft", "direct", "separable"])
def test_holes_filtered_into_the_image_itself(rng, method, monkeypatch):
    image = rng.random((40, 30))
    image[10:14, 3:9] = np.nan
    kernel = np.outer(rng.random(7), rng.random(5)) + (0.1 if method != "separable" else 0)
    want = nd.convolve(image, kernel, nan="interpolate", method=method)
    # bands of 5 rows on direct sums: the outputs of a band must not overwrite the rows the next
    # band reads (before: 1000x700 in 3 bands, outputs off by up to 38)
    monkeypatch.setattr(hole_bands, "band_points", lambda: 150)
    nd.convolve(image, kernel, output=image, nan="interpolate", method=method)
    assert_close_nan(image, want, 1e-12)  # small bands may be planned on another loop


def recorded_bands(monkeypatch) -> list:
    """The bands `hole_bands.bands` cuts, a list per block, recorded as the calls go."""
    bands: list = []
    cut = hole_bands.bands
    monkeypatch.setattr(hole_bands, "bands", lambda *a: bands.append(cut(*a)) or bands[-1])
    return bands


@pytest.mark.parametrize("shape", [(130, 70), (40, 21, 17)])
def test_direct_sums_with_holes_run_in_bands(rng, shape, monkeypatch):
    image = rng.standard_normal(shape)
    image[rng.random(shape) < 0.1] = np.nan
    kernel = rng.random((5,) * len(shape)) + 0.1
    want = reference(image, kernel, "nearest")
    bands = recorded_bands(monkeypatch)
    monkeypatch.setattr(hole_bands, "band_points", lambda: 600)
    got = nd.correlate(image, kernel, mode="nearest", nan="interpolate", method="direct")
    assert len(bands[0]) >= 3
    assert_close_nan(got, want, 1e-12)


@pytest.mark.parametrize("method", ["separable", "direct"])
def test_bands_of_a_block_read_into_one_buffer_equal_one_band(rng, method, monkeypatch):
    image = rng.standard_normal((1000, 700)).astype(np.float32)  # bands of 334, 334 and 332 rows
    image[rng.random(image.shape) < 0.02] = np.nan
    image[300:380, 100:180] = np.nan  # outputs with no valid pixel in reach, across a band's edge
    kernel = np.outer(*[np.exp(-0.5 * (np.arange(-4, 5) / 1.5) ** 2)] * 2)
    bands = recorded_bands(monkeypatch)
    got = nd.correlate(image, kernel, nan="interpolate", method=method, mode="wrap")
    rows = [hi[0] - lo[0] for lo, hi in bands[-1]]
    assert len(rows) >= 3 and rows[-1] < rows[0]
    monkeypatch.setattr(hole_bands, "band_points", lambda: 1 << 40)
    lane.clear()  # the signature's route keeps the bands it cut
    whole = nd.correlate(image, kernel, nan="interpolate", method=method, mode="wrap")
    assert len(bands[-1]) == 1
    assert np.isnan(got[320:360, 120:160]).all()
    assert_close_nan(got, whole, 1e-6)


def test_direct_sums_with_holes_hold_a_band_not_the_block(rng):
    image = rng.standard_normal((2048, 1024))  # 8 bands
    image[rng.random(image.shape) < 0.02] = np.nan
    # before: the block with its halo, stacked values and weights and two planes of sums beside
    # the output (about 7 images); now one band of them
    assert peak_images(lambda: nd.correlate(image, np.ones((5, 5)), nan="interpolate", method="direct"),
                       image) < 2.5


@pytest.mark.parametrize(("method", "most"), [("fft", 4.0), ("tiled", 2.5)])
def test_a_dask_chunk_fills_its_holes_tile_by_tile(rng, method, most):
    from fftconv.core.problem import NDIMAGE
    from fftconv.dask.tasks import ChunkFilter
    from fftconv.engine.holes import filter_with_holes

    kernel = rng.random((31, 31)) + 0.01
    extended = rng.standard_normal((542, 542))  # a 512² chunk with its halo
    extended[rng.random(extended.shape) < 0.02] = np.nan
    rule = Holes(scale=float(kernel.sum()))
    chunk = ChunkFilter(kernel, (0, 1), True, NDIMAGE, method, None, 1, np.dtype(np.float64), holes=rule,
                        before=(15, 15))
    want = filter_with_holes(extended, kernel, (0, 1), (15, 15), True, method, 1, rule)
    assert_close_nan(chunk(extended), want, 1e-12)
    # before: the chunk's values and weights stacked beside two planes of sums (5.0 and 4.9
    # copies of the chunk)
    assert peak_images(lambda: chunk(extended), extended) < most


class SlicedDataset:
    """What an h5py dataset offers: shape, dtype and slicing (index arrays refused)."""

    def __init__(self, data):
        self._data, self.shape, self.dtype = data, data.shape, data.dtype

    def __getitem__(self, key):
        if any(not isinstance(k, slice) for k in (key if isinstance(key, tuple) else (key,))):
            raise TypeError("datasets take slices")
        return self._data[key].copy()


def test_a_dataset_gives_the_center_rule_its_own_pixels_band_by_band(rng, monkeypatch):
    """astropy's 'center' rule reads an empty output's own pixel from the source, which a
    dataset gives through slices only."""
    image = rng.standard_normal((60, 40))
    image[20:40, 10:30] = np.nan  # wider than the kernel: empty outputs, their own pixels NaN
    image[5, 5] = np.nan
    kernel = np.ones((5, 5))
    kernel[2, 2] = 0  # an isolated valid pixel's output is empty but for itself
    image[50, 30] = 3.0
    image[48:53, 28:33][kernel == 1] = np.nan
    monkeypatch.setattr(hole_bands, "band_points", lambda: 400)  # several bands
    rule = Holes(empty="center")
    want = nd.filter_holes(image, kernel, rule, mode="constant", cval=np.nan, method="direct")
    got = nd.filter_holes(SlicedDataset(image), kernel, rule, mode="constant", cval=np.nan, method="direct")
    assert got[50, 30] == 3.0 and np.isnan(got[30, 20])
    assert_close_nan(got, want, 0)


needs_compiled_planes = pytest.mark.skipif(holes.float_passes is None, reason="float_passes.c not built")


def _count_compiled_passes(monkeypatch) -> list[str]:
    """The names of the compiled passes called from now on (holes.float_passes stood in for)."""
    calls: list[str] = []
    real = holes.float_passes

    class Counting:
        def __getattr__(self, name):
            calls.append(name)
            return getattr(real, name)
    monkeypatch.setattr(holes, "float_passes", Counting())
    return calls


@needs_compiled_planes
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_compiled_split_and_divide_equal_numpys(rng, dtype, monkeypatch):
    image = rng.standard_normal((37, 41)).astype(dtype)
    image[rng.random(image.shape) < 0.2] = np.nan
    numerator, denominator = rng.standard_normal((2, 37, 41)).astype(dtype)
    denominator[rng.random(denominator.shape) < 0.1] = 0
    denominator[0, :5] = [-1e-30, 1e-30, -0.0, np.finfo(dtype).tiny, 2.0]
    kernels = [np.ones((3, 3)), np.array([[1.0, -1.0, 1.0]])]  # no negative tap: one test; some: |d|
    rules = [Holes(), Holes(empty="zero", below=0.5), Holes(empty="center", scale=3.0)]

    def run_all():
        values, weights = image.copy(), np.empty_like(image)
        finite = holes.split_holes(values, weights)
        combined = [holes.combine(numerator.copy(), denominator, image, k, r) for k in kernels for r in rules]
        return finite, values, weights, combined
    finite, values, weights, combined = run_all()
    monkeypatch.setattr(holes, "float_passes", None)
    numpy_finite, *numpy_rest = run_all()
    assert finite and not numpy_finite  # the compiled pass knows the values finite; NumPy's does not tell
    np.testing.assert_array_equal(values, numpy_rest[0])
    np.testing.assert_array_equal(weights, numpy_rest[1])
    for got, want in zip(combined, numpy_rest[2]):
        np.testing.assert_array_equal(got, want)


@needs_compiled_planes
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_division_adds_the_offset_and_counts_small_sums_as_numpy_does(rng, dtype, monkeypatch):
    # the weights less one that a border of zeros transforms (hole_tiles): the kernel's sum is
    # added as the outputs are divided, and the sums a transform's rounding may spoil counted
    numerator = rng.standard_normal((23, 29)).astype(dtype)
    less_one = -rng.random((23, 29)).astype(dtype)
    less_one[0, :4] = [-2.0, -1.99, -2.01, -1.0 - 1e-3]  # with 2 added: empty, small, negative, 1 - 1e-3
    offset, small = dtype(2.0), 0.05
    rules = [Holes(), Holes(empty="zero", below=0.5), Holes(empty="center", scale=3.0)]

    def run_all():
        return [holes.combine_counting(numerator.copy(), less_one, numerator, np.ones((3, 3)), r, None,
                                       offset, small) for r in rules]
    compiled = run_all()
    monkeypatch.setattr(holes, "float_passes", None)
    with np.errstate(divide="ignore", invalid="ignore"):
        for (got, smalls), (want, numpy_smalls), rule in zip(compiled, run_all(), rules):
            np.testing.assert_array_equal(got, want)
            assert smalls == numpy_smalls == np.count_nonzero(np.abs(less_one + offset) < small) >= 2
            plain = holes.combine(numerator.copy(), less_one + offset, numerator, np.ones((3, 3)), rule)
            np.testing.assert_array_equal(got, plain)
    assert less_one[0, 0] == -2.0  # the denominator is read, not written


@needs_compiled_planes
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_compiled_passes_run_along_the_rows_of_views(rng, dtype, monkeypatch):
    # a transform's padded buffer and an output tile: rows apart, each row contiguous
    buffer = rng.standard_normal((2, 3, 40, 52)).astype(dtype)
    values, weights = buffer[0, :, 5:35, 3:47], buffer[1, :, 5:35, 3:47]
    values[rng.random(values.shape) < 0.2] = np.nan
    before = buffer.copy()
    want_values, want_weights = values.copy(), np.empty_like(values)
    monkeypatch.setattr(holes, "float_passes", None)
    holes.split_holes(want_values, want_weights)
    monkeypatch.undo()
    calls = _count_compiled_passes(monkeypatch)
    assert holes.split_holes(values, weights)
    np.testing.assert_array_equal(values, want_values)
    np.testing.assert_array_equal(weights, want_weights)
    outside = np.ones(buffer.shape[1:], bool)
    outside[:, 5:35, 3:47] = False
    np.testing.assert_array_equal(buffer[:, outside], before[:, outside])  # nothing beside the views
    out = np.full((3, 30, 60), 7, dtype)[:, :, 10:54]
    holes.combine(values, weights, values, np.ones((3, 3)), Holes(empty="zero"), out=out)
    with np.errstate(divide="ignore", invalid="ignore"):
        want = np.where(weights > 0, values / weights, 0)
    np.testing.assert_array_equal(out, want)
    assert holes.any_small(weights, 0.5) and not holes.any_small(weights + 1, 0.5)
    assert calls.count("split") == 1 and calls.count("divide") == 1 and calls.count("any_small") == 2


@needs_compiled_planes
@pytest.mark.parametrize("source_dtype, plane_dtype", [(np.float32, np.float32), (np.float32, np.float64),
                                                       (np.float64, np.float64)])
def test_planes_read_from_inside_the_image_in_one_pass(rng, source_dtype, plane_dtype, monkeypatch):
    # a transform buffer's region filled from a block inside the image: read and split at once
    image = rng.standard_normal((40, 50)).astype(source_dtype)
    image[rng.random(image.shape) < 0.2] = np.nan
    image[3, 7] = np.inf
    before = image.copy()
    buffer = np.full((2, 44, 56), 9, plane_dtype)
    region = [(4, 34), (6, 50)]
    values, weights = buffer[0, 2:32, 3:47], buffer[1, 2:32, 3:47]
    calls = _count_compiled_passes(monkeypatch)
    finite = holes.read_planes(image, None, region, "reflect", 0.0, values, weights)
    monkeypatch.undo()
    assert calls == ["split"]
    want = image[4:34, 6:50].astype(plane_dtype)
    holes_at = np.isnan(want)
    np.testing.assert_array_equal(values, np.where(holes_at, 0, want))
    np.testing.assert_array_equal(weights, (~holes_at).astype(plane_dtype))
    assert finite
    assert not holes.read_planes(image, None, [(0, 30), (0, 44)], "reflect", 0.0, values, weights)  # the inf
    np.testing.assert_array_equal(image, before)  # the image is read, never written
    outside = np.ones((44, 56), bool)
    outside[2:32, 3:47] = False
    assert (buffer[:, outside] == 9).all()
    # a region reaching past the image, a mask, or a float64 image into float32 planes: the general way
    for region, mask in (([(-2, 28), (6, 50)], None), ([(4, 34), (6, 50)], np.zeros(image.shape, bool))):
        got_v, got_w = np.empty((30, 44), plane_dtype), np.empty((30, 44), plane_dtype)
        holes.read_planes(image, mask, region, "reflect", 0.0, got_v, got_w)
        monkeypatch.setattr(holes, "float_passes", None)
        want_v, want_w = np.empty_like(got_v), np.empty_like(got_w)
        holes.read_planes(image, mask, region, "reflect", 0.0, want_v, want_w)
        monkeypatch.undo()
        np.testing.assert_array_equal(got_v, want_v)
        np.testing.assert_array_equal(got_w, want_w)
    for region, mask in (([(4, 34), (6, 50)], None), ([(-2, 28), (6, 50)], None)):  # weights less one
        got_v, got_w = np.empty((30, 44), plane_dtype), np.empty((30, 44), plane_dtype)
        holes.read_planes(image, mask, region, "constant", 0.0, got_v, got_w, less_one=True)
        want_v, want_w = np.empty_like(got_v), np.empty_like(got_w)
        holes.read_planes(image, mask, region, "constant", 0.0, want_v, want_w)
        np.testing.assert_array_equal(got_v, want_v)
        np.testing.assert_array_equal(got_w, want_w - 1)
    if plane_dtype == np.float32:
        wide = image.astype(np.float64)
        got_v, got_w = np.empty((30, 44), plane_dtype), np.empty((30, 44), plane_dtype)
        holes.read_planes(wide, None, [(4, 34), (6, 50)], "reflect", 0.0, got_v, got_w)
        np.testing.assert_array_equal(got_v, np.where(holes_at, 0, want))


@needs_compiled_planes
def test_the_compiled_split_refuses_a_source_it_cannot_read(rng):
    values, weights = np.empty((3, 4), np.float32), np.empty((3, 4), np.float32)
    with pytest.raises(TypeError, match="no wider than the planes"):
        holes.float_passes.split(values, weights, np.zeros((3, 4)))
    with pytest.raises(TypeError, match="the planes' shape"):
        holes.float_passes.split(values, weights, np.zeros((3, 5), np.float32))
    with pytest.raises(TypeError, match="last axis must be contiguous"):
        holes.float_passes.split(values, weights, np.zeros((3, 8), np.float32)[:, ::2])
    with pytest.raises(TypeError, match="less_one needs a source"):
        holes.float_passes.split(values, weights, None, True)


@needs_compiled_planes
def test_the_compiled_split_tells_an_infinite_value(rng):
    values = rng.standard_normal(5000)
    values[[7, 4000]] = [np.nan, -np.inf]
    weights = np.empty_like(values)
    assert not holes.split_holes(values, weights)
    assert values[4000] == -np.inf and values[7] == 0 and weights[7] == 0 and weights[4000] == 1


@needs_compiled_planes
@pytest.mark.filterwarnings("ignore:overflow encountered")  # astropy's own sum warns so too
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
@settings(max_examples=60, deadline=None)
def test_the_test_for_holes_is_the_float64_sums(dtype, data):
    info = np.finfo(dtype)
    special = st.sampled_from([np.nan, np.inf, -np.inf, float(info.max), -float(info.max), 0.0, 1.0])
    plain = st.floats(-1e3, 1e3, width=32)
    values = data.draw(hnp.arrays(dtype, st.integers(0, 40), elements=special | plain))
    with np.errstate(all="ignore"):
        want = bool(np.isnan(values.astype(np.float64).sum()))
    assert holes.sum_is_nan(values) == want


def test_holes_with_an_infinite_value_on_direct_sums_in_bands(rng, monkeypatch):
    monkeypatch.setattr(hole_bands, "band_points", lambda: 600)  # several bands, one of them with the inf
    image = rng.standard_normal((60, 50))
    image[rng.random(image.shape) < 0.1] = np.nan
    image[40, 30] = np.inf
    kernel = np.outer([1.0, 2.0, 1.0], [1.0, 3.0, 1.0])  # separable: the passes check the planes
    got = nd.correlate(image, kernel, nan="interpolate", method="separable")
    want = nd.correlate(image, kernel, nan="interpolate", method="direct")
    reached = np.zeros(image.shape, bool)
    reached[39:42, 29:32] = True
    assert not np.isfinite(got[reached]).any() and not np.isfinite(want[reached]).any()
    assert_close_nan(got[~reached], reference(image, kernel)[~reached], 1e-12)
    assert_close_nan(want[~reached], reference(image, kernel)[~reached], 1e-12)


def test_bands_follow_the_l2_cache_linux_describes(tmp_path, monkeypatch):
    """A core's L2 (cache index whose level is 2) sizes the bands: an eighth of its bytes,
    within `LEAST_BAND_POINTS` .. `MOST_BAND_POINTS`; no description: 1 MiB assumed."""
    from fftconv.core import memory

    for index, (level, kind, size) in enumerate([("1", "Data", "48K"), ("1", "Instruction", "32K"),
                                                 ("2", "Unified", "2048K"), ("3", "Unified", "480M")]):
        folder = tmp_path / f"index{index}"
        folder.mkdir()
        for name, text in (("level", level), ("type", kind), ("size", size)):
            (folder / name).write_text(text + "\n")
    assert memory.core_cache_bytes(str(tmp_path)) == 2 << 20
    assert memory.core_l1_bytes(str(tmp_path)) == 48 << 10  # the data cache, not the instructions'
    assert memory.core_cache_bytes(str(tmp_path / "absent")) is None
    monkeypatch.setattr(memory, "library_cache_bytes", lambda level: None)  # (glibc's answer comes first)
    for cache, points in ((2 << 20, 1 << 18), (1 << 20, 1 << 17), (512 << 10, 1 << 17), (32 << 20, 1 << 18),
                          (None, 1 << 17)):
        monkeypatch.setattr(memory, "core_cache_bytes", lambda cache=cache: cache)
        hole_bands.band_points.cache_clear()
        assert hole_bands.band_points() == points
    hole_bands.band_points.cache_clear()


def test_the_caches_glibc_gives_are_the_ones_linux_describes(monkeypatch):
    """glibc's sysconf answers first, without reading Linux's files; where both say, they
    agree (both read the CPU's own description); a C library that says nothing leaves the
    files to answer."""
    from fftconv.core import memory

    for level, described in ((1, memory.core_l1_bytes()), (2, memory.core_cache_bytes())):
        said = memory.library_cache_bytes(level)
        assert said is None or described is None or said == described
    if memory.library_cache_bytes(1) is not None and memory.library_cache_bytes(2) is not None:
        def unread(*args):
            raise AssertionError("Linux's files were read")

        monkeypatch.setattr(memory, "core_l1_bytes", unread)
        monkeypatch.setattr(memory, "core_cache_bytes", unread)
        assert (memory.l1_bytes(), memory.l2_bytes()) == (memory.library_cache_bytes(1),
                                                          memory.library_cache_bytes(2))
        monkeypatch.undo()
    monkeypatch.setattr(memory, "library_cache_bytes", lambda level: None)
    assert memory.l2_bytes() == (memory.core_cache_bytes() or memory.ASSUMED_CORE_CACHE_BYTES)
    assert memory.l1_bytes() == (memory.core_l1_bytes() or memory.ASSUMED_L1_BYTES)
