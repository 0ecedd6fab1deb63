"""Filtering in blocks under a memory limit: boundary reads, memmaps, datasets, the budget."""

import itertools
import sys
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.ndimage
import scipy.signal
from conftest import assert_close, outcome, random_values, strided_copy
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from test_holes import assert_close_nan
from test_peer_properties import assert_same_as_scipys

import fftconv
import fftconv.ndimage
from fftconv.core.boundary import MODES, fold_taps, index_map, read_extended
from fftconv.engine.blocks import BlockFilter, plan_blocks
from fftconv.executors.spectral import spectral_workspace

NP_PAD = {"reflect": "symmetric", "grid-mirror": "symmetric", "mirror": "reflect", "nearest": "edge",
          "wrap": "wrap", "grid-wrap": "wrap", "constant": "constant", "grid-constant": "constant"}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n", [1, 2, 3, 7, 64])
def test_index_maps_match_np_pad(mode, n):
    """`index_map` computes in place (its temporaries of a long axis cost a first call 0.6 ms
    of page faults); the map of each extended coordinate is np.pad's source index."""
    source = np.arange(n, dtype=float)
    for before, after in itertools.product((0, 1, 4, 150), (0, 3, 150)):
        options = {"constant_values": -1.0} if NP_PAD[mode] == "constant" else {}
        padded = np.pad(source, (before, after), NP_PAD[mode], **options)
        got = index_map(-before, n + after, n, mode)
        assert got.dtype == np.int64 and got.tolist() == padded.astype(np.int64).tolist()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_read_extended_matches_np_pad(rng, mode, n):
    x = rng.standard_normal(n)
    for before, after in itertools.product((0, 1, 4, 11), (0, 3, 9)):
        if NP_PAD[mode] == "reflect" and n == 1:
            padded = np.full(n + before + after, x[0])  # np.pad refuses; ndimage repeats the sample
        else:
            kw = {"constant_values": 2.5} if NP_PAD[mode] == "constant" else {}
            padded = np.pad(x, (before, after), mode=NP_PAD[mode], **kw)
        for start, stop in ((-before, n + after), (-before, 1), (n - 1, n + after), (0, n)):
            if stop <= start:
                continue
            got = read_extended(x, [(start, stop)], mode, 2.5, np.dtype(np.float64))
            np.testing.assert_array_equal(got, padded[start + before: stop + before])


@pytest.mark.parametrize("mode", MODES)
def test_read_extended_2d_block_inside_and_across_edges(rng, mode):
    x = rng.standard_normal((9, 13))
    kw = {"constant_values": -1.0} if NP_PAD[mode] == "constant" else {}
    padded = np.pad(x, ((4, 5), (6, 3)), mode=NP_PAD[mode], **kw)
    for rows, cols in [((-4, 14), (-6, 16)), ((2, 6), (3, 8)), ((-4, 3), (10, 16))]:
        got = read_extended(x, [rows, cols], mode, -1.0, np.dtype(np.float64))
        want = padded[rows[0] + 4: rows[1] + 4, cols[0] + 6: cols[1] + 6]
        np.testing.assert_array_equal(got, want)


@pytest.fixture
def small_limit():
    with fftconv.config.override(memory_limit=256 << 10) as settings:
        yield settings


@pytest.mark.parametrize("mode", ["reflect", "constant", "mirror", "nearest", "wrap"])
@pytest.mark.parametrize("method", ["auto", "direct", "fft", "tiled"])
@pytest.mark.parametrize("threads", [1, 2])
def test_blocks_under_a_limit_match_scipy(rng, small_limit, mode, method, threads):
    """Each block reads its halo from the image by the mode (the FFTs tile by tile, on two
    threads their tiles in any order)."""
    x = rng.standard_normal((300, 170))
    w = rng.standard_normal((9, 6))
    work = BlockFilter(w, (0, 1), (4, 2), mode, 0.5, False, method, threads)
    blocks = plan_blocks(x.shape, x.dtype, x.dtype, work, 256 << 10)
    assert blocks.blocks > 1  # the limit really cuts the work
    want = scipy.ndimage.convolve(x, w, mode=mode, cval=0.5, origin=(1, -1))
    got = fftconv.ndimage.convolve(x, w, mode=mode, cval=0.5, origin=(1, -1), method=method, threads=threads)
    assert_close(got, want, ulps=1000)


@pytest.mark.parametrize("mode", ["reflect", "wrap", "nearest"])
@pytest.mark.parametrize("method", ["fft", "tiled"])
def test_a_volume_read_by_the_ffts_tiles_matches_scipy(rng, mode, method):
    v = rng.standard_normal((37, 45, 52)).astype(np.float32)
    k = rng.standard_normal((7, 5, 9)).astype(np.float32)
    assert_close(fftconv.ndimage.correlate(v, k, mode=mode, method=method, threads=2),
                 scipy.ndimage.correlate(v, k, mode=mode), ulps=1000)


def test_blocks_for_integers_3d_and_axes(rng, small_limit):
    x = rng.integers(0, 200, (6, 40, 50)).astype(np.uint8)
    w = rng.integers(-3, 4, (5, 3)).astype(np.float64)
    want = scipy.ndimage.correlate(x, w, mode="mirror", axes=(1, 2))
    np.testing.assert_array_equal(fftconv.ndimage.correlate(x, w, mode="mirror", axes=(1, 2)), want)
    v = rng.standard_normal((20, 30, 40))
    k = rng.standard_normal((3, 5, 4))
    assert_close(fftconv.ndimage.convolve(v, k, mode="wrap"), scipy.ndimage.convolve(v, k, mode="wrap"),
                 ulps=1000)


@pytest.mark.parametrize("cval", [2.5, 0.0, 7, -3.0])
def test_integer_input_with_any_cval_sums_like_scipy(rng, cval):
    x = rng.integers(0, 9, (12, 12)).astype(np.int32)
    w = np.ones((3, 3))
    want = scipy.ndimage.convolve(x, w, mode="constant", cval=cval, output=np.float64)
    got = fftconv.ndimage.convolve(x, w, mode="constant", cval=cval, output=np.float64)
    assert_close(got, want)
    np.testing.assert_array_equal(fftconv.ndimage.convolve(x, w.astype(int), mode="constant", cval=cval),
                                  scipy.ndimage.convolve(x, w.astype(int), mode="constant", cval=cval))


def test_memmap_in_and_out_under_a_limit(rng, tmp_path):
    x = np.lib.format.open_memmap(tmp_path / "in.npy", "w+", np.float32, (600, 500))
    x[:] = rng.standard_normal((600, 500))
    out = np.lib.format.open_memmap(tmp_path / "out.npy", "w+", np.float32, (600, 500))
    w = rng.standard_normal((31, 31)).astype(np.float32)
    with fftconv.config.override(memory_limit=4 << 20):
        tracemalloc.start()
        result = fftconv.ndimage.convolve(x, w, output=out, mode="reflect", threads=1)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert result is out
    assert peak < 8 << 20, f"peak {peak / 2**20:.1f} MiB for a 4 MiB limit"
    out.flush()
    want = scipy.ndimage.convolve(np.asarray(x, np.float64), w.astype(np.float64), mode="reflect")
    assert_close(np.load(tmp_path / "out.npy"), want.astype(np.float32), ulps=2000)


class ReadOnlyDataset:
    """What h5py and zarr datasets offer: shape, dtype and slicing; never read whole."""

    def __init__(self, data):
        self._data = data
        self.shape = data.shape
        self.dtype = data.dtype
        self.largest_read = 0

    def __getitem__(self, key):
        piece = self._data[key]
        self.largest_read = max(self.largest_read, piece.size)
        return piece.copy()

    def __array__(self, *args, **kwargs):
        raise AssertionError("the whole dataset was read")


class WritableDataset(ReadOnlyDataset):
    def __setitem__(self, key, value):
        self._data[key] = value


def test_dataset_like_sources_are_read_in_blocks(rng, small_limit):
    data = rng.standard_normal((400, 300))
    source = ReadOnlyDataset(data)
    target = WritableDataset(np.zeros_like(data))
    w = rng.standard_normal((7, 7))
    result = fftconv.ndimage.correlate(source, w, output=target, mode="nearest")
    assert result is target
    assert source.largest_read < data.size / 2
    assert_close(target._data, scipy.ndimage.correlate(data, w, mode="nearest"), ulps=1000)


def test_a_limit_too_small_is_refused_up_front_with_the_numbers(rng):
    x = rng.standard_normal((100, 100))
    with fftconv.config.override(memory_limit=1000):
        with pytest.raises(fftconv.MemoryLimitError, match=r"limit of 1000 B .*needs at least"):
            fftconv.ndimage.convolve(x, np.ones((51, 51)))
    assert issubclass(fftconv.MemoryLimitError, MemoryError)


def test_a_volume_under_a_tight_limit_is_cut_where_its_blocks_cost_least(rng):
    """Bands one plane thick read a 9x9x9 kernel's 8-plane halo for each plane (10x their
    outputs): where bands read over HALO_BOUND_READS times their outputs, the cut that halves
    the axis longest beside its halo is taken when its blocks' estimated seconds are fewer (on
    the Intel Xeon, 96x384x384 float32 under 8 MiB: 192 bands 1.22 s, 64 blocks of 48x48x96
    0.21 s, the whole volume 0.17 s). The answer is the whole volume's either way."""
    from fftconv.engine import blocks
    from fftconv.ndimage.filters import prepare_filter

    x = rng.standard_normal((48, 192, 192)).astype(np.float32)
    k = rng.random((9, 9, 9)).astype(np.float32)
    limit = 2 << 20
    work, _, _ = prepare_filter(x, k, None, "reflect", 0.0, 0, None, "auto", 1, False)
    halo, order = work.halo(3), sorted(work.axes)
    f4 = np.dtype(np.float32)
    banded, banded_plan = blocks._halved_to_fit(x.shape, halo, f4, f4, work, limit,
                                                lambda b: next((a for a in order if b[a] > 1), None))
    other, other_plan = blocks._halved_to_fit(x.shape, halo, f4, f4, work, limit, lambda b: max(
        (a for a in order if b[a] > 1), key=lambda a: b[a] / (halo[a] + 1), default=None))
    assert blocks._reads(banded, halo) > blocks.HALO_BOUND_READS > blocks._reads(other, halo)
    cheaper = other if blocks._seconds(x.shape, other, other_plan) < blocks._seconds(
        x.shape, banded, banded_plan) else banded
    counts = [-(-n // b) for n, b in zip(x.shape, cheaper)]
    chosen = blocks.plan_blocks(x.shape, f4, f4, work, limit)
    assert chosen.block == tuple(-(-n // c) for n, c in zip(x.shape, counts))
    with fftconv.config.override(memory_limit=limit), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = fftconv.ndimage.correlate(x, k)
    assert_close(got, fftconv.ndimage.correlate(x, k), ulps=64)


def _summed_images(monkeypatch) -> list[tuple[int, ...]]:
    """The shapes of the images the compiled loop sums from now on (after any cast)."""
    from fftconv.executors import direct_compiled

    shapes: list[tuple[int, ...]] = []
    real = direct_compiled._sum_terms

    def spy(target, terms, ranges, mode, threads):
        shapes.extend(x.shape for x, _, _ in terms)
        return real(target, terms, ranges, mode, threads)
    monkeypatch.setattr(direct_compiled, "_sum_terms", spy)
    return shapes


@pytest.mark.parametrize("method", ["direct", "separable"])
def test_an_integer_image_in_blocks_casts_each_block_not_the_whole_image(rng, method, monkeypatch):
    """A block read by the compiled loops straight from an in-memory source that must be cast
    to be summed casts the rows its block reads: a 3000² uint8 image under a 4 MiB limit was
    cast whole to float64 for each of its 64 blocks (78 MiB at the peak with its 8.6 MiB
    result, 0.54 s; now 13 MiB, 0.09 s; Intel Xeon)."""
    x = rng.integers(0, 255, (600, 400), dtype=np.uint8)
    k = np.outer(rng.random(5), rng.random(5))
    want = fftconv.ndimage.correlate(x, k, method=method, output=np.float32)
    shapes = _summed_images(monkeypatch)
    limit = 256 << 10
    with fftconv.config.override(memory_limit=limit), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        tracemalloc.start()
        got = fftconv.ndimage.correlate(x, k, method=method, output=np.float32)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert len(shapes) > 4 and max(np.prod(s) for s in shapes) < x.size / 2
    assert peak - got.nbytes < 2 * limit, f"{(peak - got.nbytes) / 2**10:.0f} KiB beyond the result"
    assert_close(got, want, ulps=8)


@pytest.mark.parametrize("mode", MODES)
def test_an_image_narrowed_to_its_reads_sums_as_the_whole_image(rng, mode):
    from fftconv.executors.direct_compiled import correlate_extended, narrowed_to_reads

    x = rng.integers(-50, 50, (23, 31)).astype(np.int16)
    k = rng.standard_normal((3, 7))
    for _ in range(40):
        start = [int(rng.integers(-8, n)) for n in x.shape]
        stop = [int(rng.integers(s + k_ + 1, n + 9)) for s, n, k_ in zip(start, x.shape, k.shape)]
        ranges = list(zip(start, stop))
        part, narrowed = narrowed_to_reads(x, ranges, mode)
        out_shape = tuple(b - a - n + 1 for (a, b), n in zip(ranges, k.shape))
        got, want = np.empty(out_shape), np.empty(out_shape)
        correlate_extended(part.astype(np.float64), k, narrowed, mode, 2.5, got)
        correlate_extended(x.astype(np.float64), k, ranges, mode, 2.5, want)
        np.testing.assert_array_equal(got, want)
        inside = all(0 <= a and b <= n for (a, b), n in zip(ranges, x.shape))
        assert part.size < x.size if inside and ranges != [(0, n) for n in x.shape] else part.size <= x.size


def test_a_tight_room_is_not_left_to_shifted_sums_where_a_smaller_block_lets_the_loop_run(rng):
    """Under 4 MiB, bands of a 3000² float32 image with a 41x41 kernel left their executor room
    for shifted sums only (0.13 s a band, 46 s in all; Intel Xeon): the compiled loop's ring of
    1.1 MB, and the band's float64 copy counted twice (its operands count it already). Blocks
    are halved further while that is estimated quicker, and an executor counts no copy of a
    block its operands count: 0.5 s."""
    from fftconv.engine import blocks
    from fftconv.ndimage.filters import prepare_filter

    x = rng.standard_normal((300, 2000)).astype(np.float32)
    k = rng.random((41, 41))
    limit = 2 << 20  # bands of 10 rows had left room for shifted sums only
    work, _, _ = prepare_filter(x, k, None, "reflect", 0.0, 0, None, "direct", 1, False)
    layout, plan = blocks.block_plan(x.shape, x.dtype, work, x.dtype, limit)
    assert layout.blocks > 1 and plan.executor == "direct.compiled", (layout, plan.executor)
    with fftconv.config.override(memory_limit=limit), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = fftconv.ndimage.correlate(x, k, method="direct")
    assert_close(got, fftconv.ndimage.correlate(x, k, method="direct"), ulps=64)


def test_a_limit_that_leaves_blocks_mostly_halo_warns_with_the_limit_that_does_not(rng):
    """A 256 KiB limit on a 130x17x130 image with holes and an 11x11x11 kernel cut it into
    8,840 blocks of 33 outputs, each reading 158x that with its halo: 3.4 s for what one block
    does in 0.05. The warning names a limit whose blocks read at most a few times their outputs;
    under it the same answer comes without the warning."""
    x = rng.standard_normal((24, 9, 30))
    x[rng.random(x.shape) < 0.2] = np.nan
    k = rng.random((11, 11, 11)) + 0.05
    with fftconv.config.override(memory_limit=1 << 17):
        with pytest.warns(RuntimeWarning, match=r"128.0 KiB cuts shape \(24, 9, 30\) into") as caught:
            small = fftconv.ndimage.convolve(x, k, mode="wrap", nan="interpolate")
    message = str(caught[0].message)
    assert caught[0].filename == __file__  # the caller's line
    suggested = message.split("a limit of ")[1].split(" or more")[0]
    with fftconv.config.override(memory_limit=suggested):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            larger = fftconv.ndimage.convolve(x, k, mode="wrap", nan="interpolate")
    assert_close_nan(small, larger, 1e-12)


def test_output_overlapping_input_in_blocks_is_refused(rng, small_limit):
    x = rng.standard_normal((300, 300))
    with pytest.raises(ValueError, match="overlaps"):
        fftconv.ndimage.convolve(x, np.ones((5, 5)), output=x)


def test_input_is_not_modified_and_single_block_may_write_in_place(rng):
    x = rng.standard_normal((40, 30))
    keep = x.copy()
    want = scipy.ndimage.convolve(keep, np.ones((3, 3)))
    fftconv.ndimage.convolve(x, np.ones((3, 3)))
    np.testing.assert_array_equal(x, keep)
    fftconv.ndimage.convolve(x, np.ones((3, 3)), output=x)  # one block: computed, then written
    assert_close(x, want)


def test_progress_bar_counts_blocks(rng, small_limit, capsys, monkeypatch):
    x = rng.standard_normal((300, 200))
    fftconv.ndimage.convolve(x, np.ones((5, 5)), progress=True)
    assert capsys.readouterr().err == ""  # stderr is not a terminal: no bar in a log
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    fftconv.ndimage.convolve(x, np.ones((5, 5)), progress=True)
    err = capsys.readouterr().err
    assert "fftconv: (300, 200) * (5, 5)" in err and "block" in err
    fftconv.ndimage.convolve(x, np.ones((5, 5)))
    assert capsys.readouterr().err == ""


def test_the_limit_steers_the_planner_of_every_function(rng):
    big = (4096, 4096)
    free = fftconv.plan(big, (63, 63), "same", "fft", threads=1)
    assert free.method == "fft"
    with fftconv.config.override(memory_limit=8 << 20):
        limited = fftconv.plan(big, (63, 63), "same", threads=1)
        assert limited.method == "tiled" and "fft" not in limited.estimates
        buffers = spectral_workspace(limited.fft_shape, limited.tiles, 1, "f8", True, 1)
        assert np.prod(limited.fft_shape) * 8 * 2 <= buffers <= 8 << 20  # a tile and the kernel
        with pytest.raises(fftconv.MemoryLimitError, match="fft: the smallest layout needs"):
            fftconv.plan(big, (63, 63), "same", "fft", threads=1)
        x = rng.standard_normal((300, 300))
        k = rng.standard_normal((9, 9))
        assert_close(fftconv.fftconvolve(x, k, "same"), scipy.signal.fftconvolve(x, k, "same"))
    with fftconv.config.override(memory_limit=4096):
        with pytest.raises(fftconv.MemoryLimitError, match=r"limit of 4\.0 KiB is too small"):
            fftconv.fftconvolve(rng.standard_normal((300, 300)), rng.standard_normal((9, 9)))
        assert fftconv.convolve(np.ones(50), np.ones(3)).sum() == 150  # direct needs no buffers


@pytest.mark.parametrize("mode", MODES)
def test_folded_taps_read_what_the_long_kernel_reads(rng, mode):
    # against scipy's 1-D correlation (its N-d 'reflect' loop is the one that reads outside)
    for n, k in itertools.product((1, 2, 3, 5, 8), (1, 2, 7, 16, 33, 50)):
        x, w = rng.standard_normal(n), rng.standard_normal(k)
        for origin in {-(k // 2), 0, (k - 1) // 2}:
            folded, before = fold_taps(w, 0, k // 2 + origin, n, mode, finite=True)
            assert len(folded) <= max(k if k <= 2 * n + 1 else 0, 2 * n + 1)
            reads = np.stack([index_map(i - before, i - before + len(folded), n, mode) for i in range(n)])
            extended = np.where(reads >= 0, x[np.maximum(reads, 0)], 1.7)
            want = scipy.ndimage.correlate1d(x, w, mode=mode, origin=origin, cval=1.7)
            assert_close(extended @ folded, want, ulps=1000)



def _random_image(rng, ndim: int, dtype) -> np.ndarray:
    """Mostly large enough to be cut into blocks by a limit of tens of KiB; some axes of 1-4."""
    low, high = {1: (5000, 60000), 2: (40, 300), 3: (10, 45)}[ndim]
    shape = tuple(int(rng.integers(low, high)) if rng.random() < 0.85 else int(rng.integers(1, 5))
                  for _ in range(ndim))
    return random_values(rng, shape, dtype)


def _as_source(kind: str, image: np.ndarray, tmp_path_factory) -> np.ndarray:
    if kind == "memmap":
        path = tmp_path_factory.mktemp("blocks") / "image.npy"
        np.save(path, image)
        return np.load(path, mmap_mode="r")
    if kind == "strided":
        return strided_copy(image)
    return image


LIMITS = [48 << 10, 96 << 10, 256 << 10, 1 << 20]


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_blocks_under_random_limits_answer_as_scipys(data, tmp_path_factory):
    """Random images (in memory, memmaps, strided views), filters, kernels (rank 1 or not),
    modes, origins, methods and threads under limits that cut them into blocks: scipy's answer,
    or a refusal (`MemoryLimitError`) where the limit is too small for any way."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    ndim = data.draw(st.integers(1, 3))
    dtype = data.draw(st.sampled_from([np.float32, np.float64, np.int16, np.complex128]))
    image = _random_image(rng, ndim, dtype)
    source = _as_source(data.draw(st.sampled_from(["array", "memmap", "strided"])), image, tmp_path_factory)
    mode, cval = data.draw(st.sampled_from(MODES)), data.draw(st.sampled_from([0.0, -1.5]))
    name = data.draw(st.sampled_from(["correlate", "convolve", "gaussian_filter", "uniform_filter",
                                      "correlate1d", "gaussian_laplace"]))
    extra: dict = {}
    if name in ("correlate", "convolve"):
        shape = (int(rng.integers(1, 300)),) if ndim == 1 else tuple(
            int(rng.integers(1, 16 if ndim < 3 else 7)) for _ in range(ndim))
        kernel = rng.standard_normal(shape)
        if data.draw(st.booleans()):  # rank one: the separable passes may take it
            kernel = np.ones(shape)
            for axis, n in enumerate(shape):
                kernel = kernel * rng.standard_normal(n).reshape((-1,) + (1,) * (ndim - axis - 1))
        # (scipy's N-d loop reads outside the image where a 'reflect' halo reaches twice its
        # length: docs/guides/migrating.md; test_ndimage_edges holds those to np.pad)
        assume(not (mode in ("reflect", "grid-mirror")
                    and any(2 * n <= k for n, k in zip(image.shape, shape))))
        args = (kernel,)
        kwargs = dict(mode=mode, cval=cval, origin=tuple(int(rng.integers(-(k // 2), (k - 1) // 2 + 1))
                                                          for k in shape))
        extra = dict(method=data.draw(st.sampled_from(["auto", "direct", "fft", "tiled"])),
                     threads=data.draw(st.sampled_from([1, 2])))
    elif name == "correlate1d":
        args = (rng.standard_normal(int(rng.integers(1, 60))),)
        kwargs = dict(axis=int(rng.integers(0, ndim)), mode=mode, cval=cval)
    elif name == "uniform_filter":
        args, kwargs = (int(rng.integers(1, 40)),), dict(mode=mode, cval=cval)
    else:
        args, kwargs = (float(rng.uniform(0.5, 12.0)),), dict(mode=mode, cval=cval)
    if dtype == np.int16 and name in ("gaussian_filter", "uniform_filter", "gaussian_laplace"):
        kwargs["output"] = np.float64  # (integer outputs of several passes: docs/guides/migrating.md)
    want = outcome(lambda: getattr(scipy.ndimage, name)(image, *args, **kwargs))
    with fftconv.config.override(memory_limit=data.draw(st.sampled_from(LIMITS))):
        got = outcome(lambda: getattr(fftconv.ndimage, name)(source, *args, **kwargs, **extra))
    if isinstance(got[1], fftconv.MemoryLimitError):
        return
    answer = [result if exc is None else exc for result, exc in (want, got)]
    assert_same_as_scipys(*answer, dtype == np.float32, float(np.abs(image).max(initial=0)))


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_holes_in_blocks_under_random_limits_answer_as_the_whole_image(data, tmp_path_factory):
    """Images with scattered holes and a block of them, masks, kernels, modes, border values
    (NaN among them), methods and threads under limits that cut them into blocks: the answer
    of the whole image in memory by its direct sums."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    ndim = data.draw(st.integers(1, 3))
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    image = _random_image(rng, ndim, dtype)
    image[rng.random(image.shape) < data.draw(st.sampled_from([0.0, 0.02, 0.3]))] = np.nan
    corner = tuple(int(rng.integers(0, n)) for n in image.shape)
    image[tuple(slice(c, c + int(rng.integers(1, 30))) for c in corner)] = np.nan
    mask = rng.random(image.shape) < 0.05 if data.draw(st.booleans()) else None
    source = _as_source(data.draw(st.sampled_from(["array", "memmap"])), image, tmp_path_factory)
    shape = (int(rng.integers(1, 300)),) if ndim == 1 else tuple(
        int(rng.integers(1, 16 if ndim < 3 else 7)) for _ in range(ndim))
    kernel = rng.random(shape) + 0.1
    options = dict(mode=data.draw(st.sampled_from(MODES)),
                   cval=data.draw(st.sampled_from([0.0, -1.5, np.nan])),
                   origin=tuple(int(rng.integers(-(k // 2), (k - 1) // 2 + 1)) for k in shape),
                   nan=data.draw(st.sampled_from(["interpolate", "fill"])), mask=mask)
    name = data.draw(st.sampled_from(["correlate", "convolve"]))
    want = getattr(fftconv.ndimage, name)(image, kernel, **options, method="direct")
    with fftconv.config.override(memory_limit=data.draw(st.sampled_from(LIMITS))):
        got = outcome(lambda: getattr(fftconv.ndimage, name)(
            source, kernel, **options, method=data.draw(st.sampled_from(["auto", "direct", "fft", "tiled"])),
            threads=data.draw(st.sampled_from([1, 2]))))
    if isinstance(got[1], fftconv.MemoryLimitError):
        return
    assert got[1] is None, got[1]
    assert got[0].dtype == want.dtype and got[0].shape == want.shape
    tol = 2e-5 if dtype == np.float32 else 1e-10
    assert_close_nan(got[0], want, tol)
