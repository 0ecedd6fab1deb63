"""The direct executor's compiled paths (kernel rows over the flattened image, scipy.ndimage's
loop) against scipy.signal's direct sum, including the block edges of the rows path."""

import numpy as np
import pytest
import scipy.ndimage
import scipy.signal
from conftest import assert_close

import fftconv
import fftconv.ndimage
from fftconv.core.geometry import output_window
from fftconv.core.problem import Problem
from fftconv.engine import run
from fftconv.executors import direct_ndimage as _ndimage_loop
from fftconv.executors import direct_rows as _direct_rows
from fftconv.executors.direct_rows import ROW_MAX_TAPS, rows_apply
from fftconv.planning.planner import make_plan

CASES = [
    ((64, 64), (3, 3)),  # rows
    ((40, 37), (5, 11)),  # rows, the longest kernel row it takes
    ((9, 7), (12, 4)),  # rows: kernel taller than the image
    ((4, 5), (6, 7)),  # rows: kernel larger than the image on both axes
    ((30, 40), (2, 12)),  # ndimage: a kernel row too long for the rows path
    ((17, 16), (15, 15)),  # ndimage
    ((10, 11, 12), (3, 2, 4)),  # rows, 3-D
    ((6, 7, 30), (3, 2, 13)),  # ndimage, 3-D
]


@pytest.mark.parametrize("shapes", CASES, ids=str)
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_direct_paths_match_scipy(rng, shapes, mode, dtype):
    s1, s2 = shapes
    a = rng.standard_normal(s1).astype(dtype)
    b = rng.standard_normal(s2).astype(dtype)
    if mode == "valid" and not (all(p >= q for p, q in zip(s1, s2)) or all(p <= q for p, q in zip(s1, s2))):
        with pytest.raises(ValueError):
            fftconv.convolve(a, b, mode, method="direct")
        return
    a0, b0 = a.copy(), b.copy()
    ours = fftconv.convolve(a, b, mode, method="direct")
    expected = scipy.signal.convolve(a.astype(np.float64), b.astype(np.float64), mode, method="direct")
    assert ours.dtype == np.dtype(dtype)
    assert_close(ours, expected.astype(dtype))
    np.testing.assert_array_equal(a, a0)  # inputs untouched
    np.testing.assert_array_equal(b, b0)


def test_rows_path_applies_only_to_short_real_kernel_rows():
    f8 = np.dtype(np.float64)
    assert rows_apply((3, ROW_MAX_TAPS), (), f8)
    assert not rows_apply((3, ROW_MAX_TAPS + 1), (), f8)
    assert not rows_apply((5,), (), f8)  # 1-D goes to np.convolve
    assert not rows_apply((3, 3), (2,), f8)  # batch axes go to scipy.ndimage
    assert rows_apply((3, 3), (1, 1), f8)
    assert not rows_apply((3, 3), (), np.dtype(np.complex128))
    assert not rows_apply((3, 3), (), np.dtype(np.int64))


@pytest.mark.parametrize("block_bytes", [1, 200, 4000])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_rows_path_blocks_cover_every_output_row(rng, monkeypatch, block_bytes, mode):
    monkeypatch.setattr(_direct_rows, "ROW_BLOCK_BYTES", block_bytes)
    _direct_rows._layout.cache_clear()
    a = rng.standard_normal((23, 9, 14))
    b = rng.standard_normal((4, 3, 5))
    windows = [output_window(p, q, mode) for p, q in zip(a.shape, b.shape)]
    out = np.full([w.length for w in windows], np.nan)
    _direct_rows.correlate_rows(a, b, windows, out)
    _direct_rows._layout.cache_clear()
    assert_close(out, scipy.signal.convolve(a, b, mode, method="direct"))


def test_rows_path_serves_unit_batch_axes(rng):
    a = rng.standard_normal((1, 30, 20))
    b = rng.standard_normal((1, 3, 4))
    ours = fftconv.convolve(a, b, "same", method="direct", axes=(1, 2))
    assert_close(ours[0], scipy.signal.convolve(a[0], b[0], "same", method="direct"))


def test_ndimage_public_wrapper_gives_the_same_sums(rng, monkeypatch):
    a = rng.standard_normal((3, 25, 26))  # batch axis: ndimage's loop, not the rows path
    b = rng.standard_normal((3, 3))
    fast = fftconv.convolve(a, b[None], "same", method="direct", axes=(1, 2))
    monkeypatch.setattr(_ndimage_loop, "_loop", None)
    public = fftconv.convolve(a, b[None], "same", method="direct", axes=(1, 2))
    np.testing.assert_array_equal(fast, public)
    expected = np.stack([scipy.signal.convolve(s, b, "same", method="direct") for s in a])
    assert_close(fast, expected)


def test_ndimage_loop_never_writes_into_its_own_input(rng):
    x = rng.standard_normal((12, 12))
    weights = rng.standard_normal((3, 3))
    expected = scipy.ndimage.correlate(x, weights, mode="constant")
    _ndimage_loop.correlate_zero_padded(x, weights, x, [0, 0])  # out aliases the input
    assert_close(x, expected)


def test_convolve_direct_rows_keeps_kernel_infinities_off_the_zero_extension(rng):
    x = rng.standard_normal((6, 6))
    h = np.ones((2, 2))
    h[0, 0] = np.inf
    problem = Problem.build(x, h, "full")
    plan = make_plan(problem.spec(), "direct", ("direct.rows",))
    out = run.execute(problem, plan)
    # output (0, 6) only meets x[0, 5] * h[0, 1] and x[...] with finite taps: it stays finite
    assert np.isfinite(out[0, 6]) and np.isinf(out[0, 0])
    np.testing.assert_array_equal(np.isnan(out), np.isnan(fftconv.convolve(x, h, "full", method="direct")))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["reflect", "constant", "nearest", "mirror", "wrap"])
def test_running_sums_equal_scipys_uniform_filter(rng, dtype, mode):
    from fftconv.executors.direct_box import box_extended

    x = rng.standard_normal((37, 29, 6)).astype(dtype)
    for axis, size, origin in ((0, 5, 0), (1, 4, -1), (2, 3, 1), (0, 37, 0), (1, 2, 0)):
        want = scipy.ndimage.uniform_filter1d(x.astype(np.float64), size, axis=axis, mode=mode, cval=0.5,
                                              origin=origin)
        n, before = x.shape[axis], size // 2 + origin
        ranges = [(-before, n - before + size - 1) if a == axis else (0, m) for a, m in enumerate(x.shape)]
        out = np.empty(x.shape, dtype)
        assert box_extended(x, axis, size, 1.0 / size, ranges, mode, 0.5, out)
        assert_close(out, want.astype(dtype), ulps=64 * size)
        strided = np.empty(x.shape[::-1], dtype).transpose()  # writes through any strides
        assert box_extended(x, axis, size, 1.0 / size, ranges, mode, 0.5, strided)
        np.testing.assert_array_equal(strided, out)


def test_running_sums_hand_nan_and_inf_to_the_direct_sums(rng):
    x = rng.standard_normal((50, 60))
    x[10, 20], x[30, 5] = np.nan, np.inf
    box = np.full(7, 1 / 7)
    for axis in (0, 1):
        got = fftconv.ndimage.correlate(x, box, axes=(axis,), mode="reflect")
        want = scipy.ndimage.correlate1d(x, box, axis=axis, mode="reflect")
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        finite = np.isfinite(want)
        assert_close(got[finite], want[finite])
        np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
    full = fftconv.convolve(x[:, 0], box, "full", method="direct")
    want = scipy.signal.convolve(x[:, 0], box, "full", method="direct")
    np.testing.assert_array_equal(np.isnan(full), np.isnan(want))


def test_the_planner_takes_running_sums_for_a_long_box():
    image = np.zeros((1024, 1024), np.float32)
    box = np.full((101, 1), 1 / 101, np.float32)
    assert fftconv.plan(image, box, "same", threads=1).executor == "direct.box"
    assert "direct.box" not in fftconv.plan(image, np.arange(101.0, dtype=np.float32)[:, None], "same",
                                            threads=1).estimates  # taps not all equal


@pytest.mark.parametrize("shapes", [((64, 64), (3, 3)), ((9, 7), (12, 9)), ((10, 11, 12), (3, 2, 4))],
                         ids=str)
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_the_rows_estimate_reads_the_layout_the_run_makes(shapes, mode):
    from fftconv.planning.costs import DEFAULT_COSTS

    s1, s2 = shapes
    spec = Problem.build(np.zeros(s1), np.ones(s2), mode).spec(1, "fftw")
    lay = _direct_rows._layout(spec.shape1, spec.shape2, spec.windows, 8)
    block = min(lay.per_block, spec.windows[0].length) * lay.steps[0]
    workspace = _direct_rows.KernelRows().estimate(spec, DEFAULT_COSTS, None).workspace
    assert workspace == (lay.points + lay.tail + 2 * block) * 8
