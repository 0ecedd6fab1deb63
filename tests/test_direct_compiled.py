"""The compiled direct loop ('direct.compiled'): forced onto every kind of problem it serves
and compared with scipy's direct sums (exactly for integers), the first-principles ndimage
reference for boundary modes read straight from the source, and itself across threads."""

import dataclasses
import itertools
import warnings

import numpy as np
import pytest
import scipy.ndimage
import scipy.signal
from conftest import assert_close
from hypothesis import given, settings
from hypothesis import strategies as st
from test_ndimage_edges import reference_correlate

import fftconv
import fftconv.ndimage
from fftconv.core import memory
from fftconv.core.boundary import MODES
from fftconv.core.problem import Problem
from fftconv.engine import run
from fftconv.executors import direct_compiled
from fftconv.executors.direct_compiled import correlate_extended
from fftconv.planning.costs import DEFAULT_COSTS
from fftconv.planning.planner import make_plan

pytestmark = pytest.mark.skipif(direct_compiled.loops() is None, reason="the compiled loops are not built")


@pytest.fixture(autouse=True, params=[4, 3, 1], ids=["AVX-512", "AVX2", "SSE2"])
def cpu_variant(request):
    """Every test on each compiled variant this CPU runs (each has its own vector width, chunk
    and loop order): a variant the CPU lacks is not run here, and is tested where it runs."""
    loops = direct_compiled.loops()
    if loops is None:
        yield None
        return
    if loops.use_level(request.param) not in (request.param, 0):
        pytest.skip(f"this CPU does not run the x86-64 level {request.param} loops")
    try:
        yield request.param
    finally:
        loops.use_level(0)


def compiled(in1, in2, mode, correlate=False, threads=1):
    """``convolve``/``correlate`` computed by the compiled executor and nothing else."""
    problem = Problem.build(np.asarray(in1), np.asarray(in2), mode, correlate=correlate)
    plan = make_plan(problem.spec(threads), "direct", ("direct.compiled",), DEFAULT_COSTS, None)
    assert plan.executor == "direct.compiled"
    return run.execute(problem, plan)


def values(rng, shape, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(max(info.min, -100), min(info.max, 100), shape, endpoint=True).astype(dtype)
    data = rng.standard_normal(shape)
    if dtype.kind == "c":
        data = data + 1j * rng.standard_normal(shape)
    return data.astype(dtype)


SHAPES = [((37, 29), (5, 4)), ((8,), (3,)), ((200,), (31,)), ((3, 40), (3, 7)), ((6, 7, 8), (3, 2, 3)),
          ((4, 5), (9, 11)), ((1, 1), (1, 1)), ((2, 9, 10), (1, 3, 3))]


DTYPES = ["float32", "float64", "int64", "int8", "uint16", "uint64", "complex64", "complex128"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["convolve", "correlate"])
def test_every_shape_mode_and_dtype_matches_scipys_direct_sum(rng, dtype, name):
    for (s1, s2), mode in itertools.product(SHAPES, ["full", "same", "valid"]):
        a, b = values(rng, s1, dtype), values(rng, s2, dtype)
        try:
            want = getattr(scipy.signal, name)(a, b, mode, method="direct")
        except ValueError:  # 'valid' with neither input the larger on every axis
            continue
        got = compiled(a, b, mode, correlate=name == "correlate")
        assert got.dtype == want.dtype
        assert_close(got, want, ulps=64)  # integers: equal


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_long_signals_with_short_kernels_are_priced_for_the_compiled_loop(rng, dtype):
    """A 1-D kernel of a few taps was left to np.convolve whatever the signal's length, where
    the loop is 1.2-2.2x faster once the signal is long (AMD EPYC Zen 4: 300,000 * 3 'same'
    float32 240 against 110 us, 1,000,000 * 8 float64 1.41 against 0.83 ms): the model decides."""
    if direct_compiled.loops() is None:
        pytest.skip("the compiled loops are not built here")
    a, b = values(rng, (300_000,), np.dtype(dtype)), values(rng, (3,), np.dtype(dtype))
    plan = fftconv.plan(a, b, "same", threads=1)
    assert "direct.compiled" in plan.candidates and plan.executor == "direct.compiled"
    want = scipy.signal.convolve(a, b, "same", method="direct")
    assert_close(fftconv.convolve(a, b, "same", threads=1), want)


def test_integer_sums_are_exact_and_wrap_as_numpys(rng):
    a = rng.integers(-(2**40), 2**40, (30, 30))
    b = rng.integers(-(2**30), 2**30, (3, 3))
    want = scipy.signal.convolve(a, b, "same", method="direct")
    np.testing.assert_array_equal(compiled(a, b, "same"), want)
    big, ones = np.full((4, 4), 2**62, np.int64), np.ones((2, 2), np.int64)  # sums overflow: modulo 2**64
    want = scipy.signal.convolve(big, ones, "full", method="direct")
    np.testing.assert_array_equal(compiled(big, ones, "full"), want)


def test_integer_valued_complex_is_exact_where_the_fft_was_not(rng):
    """The tiny-call cases where the planner once picked an FFT, off in the last bit."""
    for s1, s2 in (((64, 64), (3, 3)), ((64, 64), (5, 5)), ((16, 16, 16), (3, 3, 3))):
        a = (rng.integers(-20, 21, s1) + 1j * rng.integers(-20, 21, s1)).astype(np.complex128)
        b = (rng.integers(-20, 21, s2) + 1j * rng.integers(-20, 21, s2)).astype(np.complex128)
        for name in ("convolve", "correlate"):
            want = getattr(scipy.signal, name)(a, b, "same", method="direct")
            np.testing.assert_array_equal(getattr(fftconv, name)(a, b, "same", threads=1), want)


def test_complex_sums_reuse_their_buffers_without_mixing_calls(rng, monkeypatch):
    """The parts of complex images go through buffers kept from call to call: shapes that
    change, shapes over the kept size, and threads must not see each other's."""
    monkeypatch.setattr(direct_compiled, "COMPLEX_KEPT_BYTES", 64 * 64 * 8)
    shapes = [(40, 50), (200, 100), (40, 50), (64, 64), (7, 300)]
    for dtype in ("complex128", "complex64"):
        for shape in shapes:
            a = (rng.integers(-20, 21, shape) + 1j * rng.integers(-20, 21, shape)).astype(dtype)
            b = (rng.integers(-3, 4, (3, 5)) + 1j * rng.integers(-3, 4, (3, 5))).astype(dtype)
            want = scipy.signal.correlate(a.astype(np.complex128), b.astype(np.complex128), "full",
                                          method="direct")
            flipped = b[::-1, ::-1].conj()  # correlate = convolve with the flipped conjugate
            for threads in (1, 2):
                np.testing.assert_array_equal(compiled(a, flipped, "full", threads=threads), want)


@pytest.mark.parametrize("kernel", [(3, 3), (5, 5), (2, 3, 3), (3, 5, 5)])
def test_the_blocks_compiled_for_3x3_and_5x5_kernels(rng, kernel):
    """3x3 and 5x5 kernels run blocks compiled for their size (every plane of a 3-D kernel
    after the first adds into the output): every dtype, heights around the block of four
    rows, widths around a chunk of columns."""
    dtypes = ["float32", "float64", "int64"]
    for dtype, height, width in itertools.product(dtypes, [4, 7, 9], [15, 64, 65, 130]):
        shape = (3, height, width)[-len(kernel):]
        a = values(rng, shape, dtype)
        b = values(rng, kernel, dtype)
        want = scipy.signal.convolve(a, b, "full", method="direct")
        got = compiled(a, b, "full")
        if dtype == "int64":
            np.testing.assert_array_equal(got, want)
        else:
            assert_close(got, want, ulps=64)


@pytest.mark.parametrize("apart", [0, 64, 1024, 4032])
def test_rows_4_kib_apart_read_from_the_ring_where_the_output_shares_their_cache_sets(rng, apart):
    """Source rows a multiple of 4 KiB apart, the output ``apart`` bytes past the source within
    4 KiB: read in place, or from the ring where the output rows would share the source rows'
    cache sets; the same sums either way, in every mode."""
    x = rng.integers(-9, 10, (9, 1024)).astype(np.float32)  # rows 4 KiB apart
    w = rng.integers(-3, 4, (5, 5)).astype(np.float32)
    room = np.empty(x.size + 2048, np.float32)
    start = ((x.ctypes.data + apart - room.ctypes.data) % 4096) // 4
    out = room[start:start + x.size].reshape(x.shape)
    assert (out.ctypes.data - x.ctypes.data) % 4096 == apart
    ranges = [(-2, 11), (-2, 1026)]
    for mode in MODES:
        correlate_extended(x, w, ranges, mode, 3, out)
        want = reference_correlate(x, w.astype(np.float64), mode, (0, 0), 3.0)
        np.testing.assert_array_equal(out, want.astype(np.float32), err_msg=mode)


@pytest.mark.parametrize("rows", [3, 4, 5, 7, 9, 12, 15, 16])
def test_float_kernels_of_3_to_15_rows_summed_in_strips(rng, rows):
    """Float kernels of 3 to 15 rows and up to 15 columns are summed four output rows at a time
    along whole rows (on AVX2 and the baseline: 3x3, 5x5 and 7x7 compiled for their size, others
    two vectors wide), other sizes in blocks: each agrees exactly with scipy's integer sums
    (small integers), the vectors cut at every width, the second plane of a 3-D kernel adding
    into the output."""
    for cols, width, dtype in itertools.product([1, 2, 3, 5, 7, 8, 15, 16], [1, 5, 33, 70],
                                                ["float32", "float64"]):
        a = rng.integers(-9, 10, (2, rows + 6, width))
        b = rng.integers(-3, 4, (2, rows, cols))
        want = scipy.signal.convolve(a, b, "full", method="direct")
        got = compiled(a.astype(dtype), b.astype(dtype), "full")
        np.testing.assert_array_equal(got, want.astype(dtype), err_msg=f"{rows}x{cols} {width} {dtype}")


@pytest.mark.parametrize("taps", [1, 2, 3, 9, 16, 25, 100, 225, 226])
@pytest.mark.parametrize("axis", [0, 1])
def test_one_row_and_one_column_kernels_summed_in_strips(rng, taps, axis):
    """The separable executor's passes: one-row kernels of up to 225 taps are summed four
    output rows by two vectors at a time (their own row each), one-column kernels of 3 to 225
    rows in strips (they had gone to the generic blocks, whose sums spilled on AVX2), longer
    ones in blocks: each agrees exactly with scipy's integer sums, at widths that cut the
    vectors, the second plane of a 3-D kernel adding into the output."""
    for width, dtype in itertools.product([1, 5, 33, 70], ["float32", "float64"]):
        shape = (1, taps) if axis == 1 else (taps, 1)
        a = rng.integers(-9, 10, (2, shape[0] + 6, width + shape[1] - 1))
        b = rng.integers(-3, 4, (2,) + shape)
        for mode in ("full", "valid"):
            want = scipy.signal.convolve(a, b, mode, method="direct")
            got = compiled(a.astype(dtype), b.astype(dtype), mode)
            np.testing.assert_array_equal(got, want.astype(dtype), err_msg=f"{shape} {width} {dtype} {mode}")


def test_layouts_the_caller_may_pass(rng):
    a = rng.standard_normal((40, 60))
    b = rng.standard_normal((5, 3))
    want = scipy.signal.convolve(a, b, "same", method="direct")
    for x in (a[:, ::-1][:, ::-1], np.asfortranarray(a), a.astype(">f8"), a[::-1][::-1]):
        assert_close(compiled(x, b, "same"), want, ulps=64)
    strided = np.zeros((80, 120))
    strided[::2, ::2] = a
    assert_close(compiled(strided[::2, ::2], b[::-1].copy()[::-1], "same"), want, ulps=64)


@pytest.mark.parametrize("mode", ["wrap", "reflect", "constant"])
def test_a_reversed_image_of_one_column_filtered_along_its_rows(rng, mode):
    """NumPy's reshape of a reversed (19, 1) array gives its axis of one column the rows'
    stride (-8): the loop read that as columns not contiguous and raised ValueError."""
    image = (rng.standard_normal((19, 1)) * 10)[::-1]
    assert image.reshape((1, 19, 1)).strides[-1] != image.itemsize
    for name, argument in (("uniform_filter1d", 3), ("correlate1d", np.array([1.0, 2.0, 3.0]))):
        want = getattr(scipy.ndimage, name)(image, argument, axis=1, mode=mode)
        for _ in range(3):  # a first call, then the route a repeated signature takes
            got = getattr(fftconv.ndimage, name)(image, argument, axis=1, mode=mode)
            np.testing.assert_allclose(got, want, rtol=1e-12)


def test_threads_split_rows_without_changing_a_bit(rng, monkeypatch):
    a = rng.standard_normal((700, 600)).astype(np.float32)
    b = rng.standard_normal((9, 9)).astype(np.float32)
    assert a.size * b.size >= direct_compiled.MIN_PARALLEL_MACS  # split for threads
    one = compiled(a, b, "same", threads=1)
    real = direct_compiled.loops()
    rows = []

    class Counting:  # the loop's calls, by the rows they sum
        def correlate(self, x, k, out, *args):
            rows.append(out.shape[1])
            return real.correlate(x, k, out, *args)

    monkeypatch.setattr(direct_compiled, "loops", Counting)
    for threads in (2, 3):
        rows.clear()
        np.testing.assert_array_equal(compiled(a, b, "same", threads=threads), one)
        assert len(rows) == threads * direct_compiled.CHUNKS_PER_THREAD and sum(rows) == 700
        # whole blocks of the loop's rows a chunk, the last excepted
        assert all(r % direct_compiled.BLOCK_ROWS == 0 for r in rows[:-1])
    assert_close(one, scipy.signal.convolve(a, b, "same", method="direct"), ulps=64)


@pytest.mark.parametrize("shape, kernel, by_planes", [((48, 40, 60), (5, 5, 5), True),
                                                      ((4, 400, 200), (2, 5, 5), False)])
def test_threads_split_a_volume_by_whole_planes_where_there_are_enough(rng, monkeypatch, shape, kernel,
                                                                       by_planes):
    """Chunks of rows re-read the kernel's height less one rows each (48x48x48 * 7x7x7
    float32 ran slower on two threads than on one); a volume of few planes still splits its rows."""
    a, b = rng.standard_normal(shape), rng.standard_normal(kernel)
    outputs = np.prod([n - k + 1 for n, k in zip(shape, kernel)])
    assert direct_compiled.splits(outputs * b.size, a.dtype)
    one = compiled(a, b, "valid", threads=1)
    real = direct_compiled.loops()
    shapes = []

    class Counting:
        def correlate(self, x, k, out, *args):
            shapes.append(out.shape)
            return real.correlate(x, k, out, *args)

    monkeypatch.setattr(direct_compiled, "loops", Counting)
    np.testing.assert_array_equal(compiled(a, b, "valid", threads=2), one)
    assert len(shapes) == 2 * direct_compiled.CHUNKS_PER_THREAD
    planes, rows = one.shape[0], one.shape[1]
    if by_planes:
        assert all(s[1] == rows for s in shapes) and sum(s[0] for s in shapes) == planes
    else:
        assert all(s[0] == planes for s in shapes) and sum(s[1] for s in shapes) == rows
    assert_close(one, scipy.signal.convolve(a, b, "valid", method="direct"), ulps=64)


def test_the_loop_reads_the_column_map_only_around_the_image_s_own_columns(rng):
    """The last axis' map is written only outside the middle run (`_edge_map`: a long
    signal's full map was fresh memory mapped page by page); the loop neither reads nor checks
    the entries inside it, and still refuses a bad entry outside it."""
    x = rng.standard_normal((1, 1, 3000))
    k = rng.standard_normal((1, 1, 31))
    ranges = [(0, 1), (0, 1), (-30, 3030)]
    maps, mid = direct_compiled._reads(ranges, x.shape, "reflect")
    fill = direct_compiled._fill(0.0, x.dtype)
    want = np.empty((1, 1, 3030))
    full = direct_compiled.index_map(-30, 3030, 3000, "reflect")  # every entry written
    direct_compiled.loops().correlate(x, k, want, *maps[:2], full, mid, *fill, False)
    np.testing.assert_allclose(want[0, 0], scipy.ndimage.correlate1d(
        np.pad(x[0, 0], 30, mode="symmetric"), k[0, 0], mode="constant", origin=-15)[:3030], rtol=1e-12)
    cols = maps[2].copy()
    d0, _, n = mid
    cols[d0:d0 + n] = 10**12  # never read: out of bounds, it would fault or be refused
    got = np.empty_like(want)
    direct_compiled.loops().correlate(x, k, got, *maps[:2], cols, mid, *fill, False)
    np.testing.assert_array_equal(got, want)
    cols[d0 - 1] = 10**12  # a halo column the loop does read
    with pytest.raises(ValueError, match="do not fit together"):
        direct_compiled.loops().correlate(x, k, got, *maps[:2], cols, mid, *fill, False)


def test_non_finite_values_stay_local(rng):
    a = rng.standard_normal((30, 30))
    a[10, 12] = np.nan
    a[0, 0] = np.inf
    b = rng.standard_normal((3, 3))
    got = compiled(a, b, "full")
    want = scipy.signal.convolve(a, b, "full", method="direct")  # 2-D direct: local too
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isposinf(got) | np.isneginf(got), np.isinf(want))
    assert_close(np.nan_to_num(got, posinf=0, neginf=0), np.nan_to_num(want, posinf=0, neginf=0))
    k = b.copy()
    k[1, 1] = np.inf  # meets the zero extension: the core reruns and repairs
    got = compiled(rng.standard_normal((20, 20)), k, "full")
    assert np.isinf(got).sum() == 20 * 20 and np.isfinite(got).sum() == 22 * 22 - 20 * 20


@pytest.mark.parametrize("mode", MODES)
def test_boundary_modes_read_from_the_source(rng, mode):
    """`run_extended` through fftconv.ndimage: every mode, origins at both ends, even and odd
    kernels, halos wider than the image, 1-D to 3-D, real and complex."""
    cases = [((30, 20), (5, 4), "float64"), ((12,), (7,), "float32"), ((3, 15), (13, 7), "float64"),
             ((5, 6, 7), (3, 2, 3), "float64"), ((9, 8), (3, 3), "complex128"), ((40, 30), (3, 5), "int16")]
    for shape, wshape, dtype in cases:
        x = values(rng, shape, dtype)
        w = rng.standard_normal(wshape).astype(np.float32 if dtype == "float32" else np.float64)
        cval = 0.5 - 0.25j if x.dtype.kind == "c" else 0.5
        for origin in itertools.product(*[(-(k // 2), (k - 1) // 2) for k in wshape]):
            got = fftconv.ndimage.correlate(x, w, mode=mode, cval=cval, origin=origin, method="direct",
                                            threads=1)
            want = reference_correlate(x, w, mode, origin, cval)
            if x.dtype.kind in "iu":
                assert_close(got, scipy.ndimage.correlate(x, w, mode=mode, cval=cval, origin=origin), ulps=1)
            else:
                assert_close(got, want.astype(got.dtype), ulps=1000 if dtype == "float32" else 200)


def test_ndimage_reads_the_halo_through_the_compiled_loop(rng, monkeypatch):
    """No materialised block: the compiled executor read the source itself."""
    from fftconv.engine import blocks

    monkeypatch.setattr(blocks, "read_extended", lambda *a, **k: pytest.fail("the block was copied"))
    x = rng.standard_normal((300, 300)).astype(np.float32)
    w = rng.standard_normal((5, 5)).astype(np.float32)
    got = fftconv.ndimage.correlate(x, w, mode="reflect", threads=1)
    assert_close(got, scipy.ndimage.correlate(x, w, mode="reflect"), ulps=64)


def test_a_non_finite_kernel_with_a_constant_border_takes_the_materialised_path(rng):
    x = rng.standard_normal((20, 20))
    w = np.ones((3, 3))
    w[0, 0] = np.inf
    got = fftconv.ndimage.correlate(x, w, mode="constant", method="direct")
    np.testing.assert_array_equal(np.isnan(got), np.isnan(scipy.ndimage.correlate(x, w, mode="constant")))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_agrees_with_the_reference_loops_for_random_geometry(data):
    rank = data.draw(st.integers(1, 3))
    s1 = tuple(data.draw(st.lists(st.integers(1, 9), min_size=rank, max_size=rank)))
    s2 = tuple(data.draw(st.lists(st.integers(1, 6), min_size=rank, max_size=rank)))
    mode = data.draw(st.sampled_from(["full", "same"]))
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    a, b = rng.integers(-9, 10, s1), rng.integers(-9, 10, s2)
    np.testing.assert_array_equal(compiled(a, b, mode), scipy.signal.convolve(a, b, mode, method="direct"))
    np.testing.assert_array_equal(compiled(a.astype(np.float64), b.astype(np.float64), mode),
                                  scipy.signal.convolve(a, b, mode, method="direct").astype(np.float64))


def test_the_loop_refuses_what_does_not_fit_instead_of_crashing():
    loop = direct_compiled.loops()
    x, k, out = np.zeros((1, 4, 4)), np.ones((1, 2, 2)), np.empty((1, 3, 3))
    planes, rows, cols = np.zeros(1, np.int64), np.arange(4, dtype=np.int64), np.arange(4, dtype=np.int64)
    loop.correlate(x, k, out, planes, rows, cols, (0, 0, 4), 0.0, 0, False)  # fits
    with pytest.raises(ValueError, match="do not fit"):
        loop.correlate(x, k, out, planes, rows + 1, cols, (0, 0, 4), 0.0, 0, False)  # a row past the image
    with pytest.raises(ValueError, match="do not fit"):
        loop.correlate(x, k, out, planes + 1, rows, cols, (0, 0, 4), 0.0, 0, False)  # a plane past it
    with pytest.raises(ValueError, match="do not fit"):
        loop.correlate(x, k, out, planes, rows, cols, (1, 0, 4), 0.0, 0, False)  # middle run too long
    with pytest.raises(TypeError, match="share one dtype"):
        loop.correlate(x.astype(np.float32), k, out, planes, rows, cols, (0, 0, 4), 0.0, 0, False)
    with pytest.raises(ValueError, match="contiguous rows"):
        loop.correlate(np.zeros((1, 4, 8))[:, :, ::2], k, out, planes, rows, cols, (0, 0, 4), 0.0, 0, False)
    with pytest.raises(ValueError, match="1-D to 3-D"):
        loop.correlate(x[None], k, out, planes, rows, cols, (0, 0, 4), 0.0, 0, False)
    flat = np.empty((3, 3))  # 1-D and 2-D operands are read as 3-D with leading axes of length 1
    loop.correlate(x[0] + np.arange(16).reshape(4, 4), k, flat, planes, rows, cols, (0, 0, 4), 0.0, 0, False)
    np.testing.assert_array_equal(flat, scipy.signal.correlate(np.arange(16.0).reshape(4, 4), k[0], "valid"))


def test_without_the_compiled_loops_numpy_serves_with_one_warning(monkeypatch, rng):
    monkeypatch.setattr(direct_compiled, "loops", lambda: None)
    monkeypatch.setattr(direct_compiled, "_warned", [])
    run._memo.clear()
    a, b = rng.standard_normal((101, 99)), rng.standard_normal((3, 3))  # a shape no plan is memoised for
    with pytest.warns(RuntimeWarning, match="compiled direct loops are not built"):
        plan = fftconv.plan(a, b, "same", method="direct", threads=1)
    assert plan.executor != "direct.compiled" and "direct.compiled" not in plan.candidates
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per process
        fftconv.plan(a * 2, b, "full", method="direct", threads=1)
    assert_close(fftconv.convolve(a, b, "same", "direct"), scipy.signal.convolve(a, b, "same", "direct"))


def test_correlate_extended_example_of_each_mode():
    x = np.arange(5.0)
    for mode in MODES:
        out = np.empty(5)
        correlate_extended(x, np.array([1.0, 0.0, 0.0]), [(-1, 6)], mode, 9.0, out)
        ext = reference_correlate(x, np.array([1.0]), mode, (1,), 9.0)  # the sample before each
        np.testing.assert_array_equal(out, ext)


@pytest.mark.parametrize("taps", [65, 129, direct_compiled.MAX_TAPS])
def test_long_kernels_along_rows_read_from_the_source(rng, taps):
    # a 1-D kernel on the first axis reaches the loop as (taps, 1): its rows' axis; the planner
    # once chose the loop for 129 taps there and the call failed ("do not fit together")
    image = rng.standard_normal((taps + 40, 50)).astype(np.float32)
    weights = rng.standard_normal(taps)
    for mode in ("reflect", "constant", "wrap"):
        got = fftconv.ndimage.correlate(image, weights, axes=(0,), mode=mode, method="direct")
        want = scipy.ndimage.correlate1d(image, weights, axis=0, mode=mode)
        assert_close(got, want)


def test_a_kernel_longer_than_the_loop_takes_along_rows_is_not_given_to_it():
    from fftconv.core.problem import Spec

    spec = Spec.of_shapes((3000,), (direct_compiled.MAX_TAPS + 1,), "same", "float32")
    assert direct_compiled.CompiledLoop().applies(spec)  # 1-D: the kernel lies along columns
    batched = Spec(spec.shape1, spec.shape2, spec.windows, (40,), False, spec.result_dtype)
    assert not direct_compiled.CompiledLoop().applies(batched)  # it may lie along rows


def test_a_prepared_route_serves_every_layout_after_its_quick_calls(rng):
    image = rng.standard_normal((37, 45)).astype(np.float32)
    kernel = rng.standard_normal((3, 5)).astype(np.float32)
    problem = Problem.build(image, kernel, "same")
    route = run.route(problem, run.plan(problem, "direct", threads=1))
    want = scipy.signal.correlate(image.astype(np.float64), np.flip(kernel).astype(np.float64), "same")
    sources = [image, image * 2, np.asfortranarray(image), image.astype(np.float64), image,
               image[:, ::-1].copy()]
    for source in sources:  # repeats of one layout take the quick path; the others in between must not
        expected = scipy.signal.convolve(source.astype(np.float64), kernel.astype(np.float64), "same")
        got = route(source)
        assert got.dtype == np.float32 and got.flags.c_contiguous
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())
    np.testing.assert_allclose(route(image), want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


@pytest.mark.parametrize("mode", MODES)
def test_wide_rows_read_their_interior_chunks_straight_from_the_source(rng, mode):
    """Rows several 256-byte chunks wide: the chunks whose reads fall inside the image are read
    from the source rows, the edge chunks from the built ring. Integers make every sum exact;
    widths put the edges on, before and after chunk boundaries, with origins at both ends."""
    kernels = [(3, 3), (5, 5), (2, 7), (3, 1), (7, 7), (9, 13), (15, 4)]
    for width, kernel in itertools.product([95, 128, 129, 160, 191, 260], kernels):
        x = rng.integers(-50, 51, (9, width)).astype(np.int64)
        w = rng.integers(-5, 6, kernel).astype(np.int64)
        for origin in [(0, 0), (-(kernel[0] // 2), (kernel[1] - 1) // 2)]:
            out = np.empty_like(x)
            ranges = [(-(k // 2) - o, n - (k // 2) - o + k - 1) for k, n, o in zip(kernel, x.shape, origin)]
            correlate_extended(x, w, ranges, mode, 3, out)
            want = reference_correlate(x, w.astype(np.float64), mode, origin, 3.0)
            np.testing.assert_array_equal(out, want.astype(np.int64), err_msg=f"{width} {kernel} {origin}")
            as_float = x.astype(np.float32)
            out32 = np.empty_like(as_float)
            correlate_extended(as_float, w.astype(np.float32), ranges, mode, 3, out32)
            np.testing.assert_array_equal(out32, want.astype(np.float32))  # small integers: exact


def test_a_one_row_kernel_is_priced_for_its_loads():
    """A block of four output rows loads each tap's values once per input row it reads: a
    one-row kernel's loads feed one multiply-add each, a square kernel's up to four (one-row
    passes ran 1.4-1.8x the estimate that priced multiply-adds alone, AMD EPYC Zen 4)."""
    f32 = np.dtype(np.float32)
    square = direct_compiled.loop_estimate([1, 512, 512], [1, 11, 11], f32, 1, DEFAULT_COSTS)[0]
    row = direct_compiled.loop_estimate([1, 512, 512], [1, 1, 121], f32, 1, DEFAULT_COSTS)[0]
    column = direct_compiled.loop_estimate([1, 512, 512], [1, 121, 1], f32, 1, DEFAULT_COSTS)[0]
    assert row > 1.15 * square  # the same 121 multiply-adds an output
    assert square <= column
    # a taller kernel's rows are reread a whole ring later: from L2 once the ring outgrows half of
    # L1 (a one-column kernel's loads are mostly such rereads, a square kernel's taps share them)
    ring_rows = 125 * (512 + 1) * 4
    assert ring_rows > memory.l1_bytes() // 2
    no_l2 = dataclasses.replace(DEFAULT_COSTS, compiled_load_l2=0.0)
    column_from_l1 = direct_compiled.loop_estimate([1, 512, 512], [1, 121, 1], f32, 1, no_l2)[0]
    square_from_l1 = direct_compiled.loop_estimate([1, 512, 512], [1, 11, 11], f32, 1, no_l2)[0]
    assert square_from_l1 <= column_from_l1 < 1.05 * square_from_l1
    assert column - column_from_l1 > 5 * (square - square_from_l1) > 0
    narrow = [direct_compiled.loop_estimate([1, 512, 16], [1, 5, 1], f32, 1, c)[0]
              for c in (DEFAULT_COSTS, no_l2)]
    assert narrow[0] == narrow[1]  # a ring of 9 rows of 32 values stays in L1


def test_planes_beyond_l2_are_priced_as_streamed():
    """The extended source read and the output written cost per byte once they outgrow a core's
    L2 (1024² float32 * 1x5 ran 2.3x the estimate that priced them as in the cache, Intel Xeon)."""
    f32 = np.dtype(np.float32)
    no_stream = dataclasses.replace(DEFAULT_COSTS, compiled_stream=0.0)
    cache = memory.l2_bytes()
    small = int((cache // 16) ** 0.5)  # in + out of 8 bytes a point: half the cache
    large = int((cache * 2) ** 0.5)  # 16 times the cache
    for side, streamed in ((small, False), (large, True)):
        dims, kernel = [1, side, side], [1, 1, 5]
        extra = (direct_compiled.loop_estimate(dims, kernel, f32, 1, DEFAULT_COSTS)[0]
                 - direct_compiled.loop_estimate(dims, kernel, f32, 1, no_stream)[0])
        if streamed:
            planes_bytes = (side * (side + 4) + side * side) * 4
            assert extra == pytest.approx(DEFAULT_COSTS.compiled_stream * planes_bytes)
        else:
            assert extra == 0
    # a row run alone (1-D signals, a block's leftover rows) is priced by ROW_FACTOR, loads and all
    no_loads = dataclasses.replace(DEFAULT_COSTS, compiled_load=0.0)
    for dims in ([1, 1, 65536], [1, 3, 4096]):
        kernel = [1, 1, 101]
        assert (direct_compiled.loop_estimate(dims, kernel, f32, 1, DEFAULT_COSTS)
                == direct_compiled.loop_estimate(dims, kernel, f32, 1, no_loads))
