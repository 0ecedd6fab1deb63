"""The one-pass route of a separable kernel over an image with holes
(`fftconv.engine.separable_holes`): the reference's answers, the general route's answers on
every boundary, mask, rule, dtype and thread count, and its fallback on infinities."""

import warnings
from unittest import mock

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_holes import assert_close_nan, reference

import fftconv.ndimage as nd
from fftconv.engine import hole_bands, lane, separable_holes
from fftconv.engine._compiled import float_passes
from fftconv.engine.holes import Holes

pytestmark = pytest.mark.skipif(float_passes is None, reason="the compiled passes were not built")

MODES = ["reflect", "constant", "nearest", "mirror", "grid-wrap"]


def holed(rng, shape, dtype=np.float64):
    image = rng.standard_normal(shape).astype(dtype)
    image[rng.random(shape) < 0.05] = np.nan
    image[shape[0] // 3: shape[0] // 3 + 9, shape[1] // 2: shape[1] // 2 + 11] = np.nan  # empty outputs
    return image


def gaussian(taps: int, sigma: float) -> np.ndarray:
    g = np.exp(-0.5 * ((np.arange(taps) - taps // 2) / sigma) ** 2)
    return g / g.sum()


@pytest.fixture
def routes(monkeypatch) -> list:
    """What each band's call of the one-pass route answered (True: it filtered the band)."""
    answers: list = []
    band = separable_holes.filter_band
    monkeypatch.setattr(separable_holes, "filter_band", lambda *a: answers.append(band(*a)) or answers[-1])
    return answers


def general_route(monkeypatch, call):
    """``call()`` with the one-pass route declined: what the engine's passes answer."""
    with monkeypatch.context() as m:
        m.setattr(separable_holes, "factors", lambda *a: None)
        lane.clear()  # a route keeps the factors its first call found
        return call()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 2e-6)])
def test_a_separable_kernel_over_holes_takes_one_pass_and_gives_the_reference(rng, routes, mode, dtype, tol):
    image = holed(rng, (41, 53), dtype)
    kernel = np.outer(rng.random(5) + 0.1, rng.random(7) + 0.1)  # not symmetric: flips show
    got = nd.correlate(image, kernel, mode=mode, cval=0.5, nan="interpolate", method="separable")
    assert routes and all(routes)
    assert got.dtype == dtype
    assert_close_nan(got, reference(image, kernel, mode, cval=0.5), tol)
    flipped = nd.convolve(image, kernel[::-1, ::-1], mode=mode, cval=0.5, nan="interpolate",
                          method="separable")
    assert_close_nan(flipped, got, tol)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 2e-6)])
@pytest.mark.parametrize("length", [1, 40, 3000])
def test_a_1d_filter_with_holes_takes_the_one_pass_as_one_row(rng, routes, mode, dtype, tol, length):
    """A 1-D filter with holes is filtered as a one-row image by the rows' one pass: the
    planner's pick (`BlockFilter.one_row`), with the reference's answers, into outputs given."""
    signal = rng.standard_normal(length).astype(dtype)
    signal[rng.random(length) < 0.1] = np.nan
    signal[length // 2: length // 2 + 9] = np.nan  # outputs with no valid pixel in reach
    kernel = rng.random(7) + 0.1  # not symmetric: flips show
    for _ in range(2):  # the second call through the lane's route
        got = nd.correlate(signal, kernel, mode=mode, cval=0.5, nan="interpolate")
        assert routes and all(routes)
        assert got.shape == signal.shape and got.dtype == dtype
        assert_close_nan(got, reference(signal, kernel, mode, cval=0.5), tol)
        out = np.full(length, 7.0, dtype)
        assert nd.correlate(signal, kernel, output=out, mode=mode, cval=0.5, nan="interpolate") is out
        np.testing.assert_array_equal(out, got)
    routes.clear()
    shifted = nd.convolve(signal, kernel[::-1], mode=mode, cval=0.5, nan="interpolate", origin=-1)
    assert routes and all(routes)
    want = nd.convolve(signal, kernel[::-1], mode=mode, cval=0.5, nan="interpolate", origin=-1,
                       method="direct")
    assert_close_nan(shifted, want, tol)
    kept = signal.copy()
    assert nd.correlate(signal, kernel, output=signal, mode=mode, cval=0.5, nan="interpolate") is signal
    assert_close_nan(signal, reference(kept, kernel, mode, cval=0.5), tol)


@pytest.mark.parametrize("side", [16, 32, 100])
def test_small_images_with_holes_take_the_one_pass_where_the_kernel_is_rank_1(rng, routes, side):
    """Under `SEPARABLE_MIN_POINTS` the planner never tests a kernel's rank; a filter with
    holes does (once a signature), and takes the one pass: 32² * 5x5 box, 25 us against 52 on
    the direct sum (Intel Xeon, 1 thread). A kernel of rank 2 keeps the direct sum."""
    image = holed(rng, (side, side))
    box = np.full((5, 5), 1 / 25)
    got = nd.convolve(image, box, mode="constant", nan="interpolate")
    assert routes and all(routes)
    assert_close_nan(got, reference(image, box, "constant"), 1e-12)
    routes.clear()
    rank2 = box + np.diag(np.full(5, 0.1))
    got = nd.correlate(image, rank2, mode="constant", nan="interpolate")
    assert not routes
    assert_close_nan(got, reference(image, rank2, "constant"), 1e-12)


def test_a_1d_filter_with_holes_under_a_memory_limit_and_a_mask(rng, routes):
    signal = rng.standard_normal(50_000)
    signal[rng.random(signal.size) < 0.05] = np.nan
    mask = rng.random(signal.size) < 0.05
    kernel = gaussian(11, 2.0)
    want = nd.convolve(signal, kernel, nan="interpolate", mask=mask)
    assert routes and all(routes)
    holes = np.where(mask, np.nan, signal)
    assert_close_nan(want, reference(holes, kernel[::-1]), 1e-12)
    import fftconv

    routes.clear()
    with fftconv.config.override(memory_limit=200_000):  # blocks of the one row
        got = nd.convolve(signal, kernel, nan="interpolate", mask=mask)
    assert len(routes) > 1 and all(routes)
    assert_close_nan(got, want, 1e-12)


@pytest.mark.parametrize("case", ["mask", "cval 0.1", "cval nan", "rule zero", "rule center", "scaled",
                                  "float32 out", "bands", "in place", "two threads", "int image"])
def test_the_one_pass_route_gives_the_general_routes_answers(rng, routes, monkeypatch, case):
    image = holed(rng, (300, 220), np.float32 if case in ("cval 0.1", "float32 out") else np.float64)
    if case == "int image":
        image = np.nan_to_num(image * 100).astype(np.int32)
    kernel = np.outer(gaussian(9, 1.5), gaussian(7, 2.0))
    rule, options = Holes(), dict(mode="constant", cval=0.0, method="separable")
    if case == "mask":
        options["mask"] = rng.random(image.shape) < 0.1
    elif case.startswith("cval"):  # 0.1 is no float32: the band is extended in the sums' dtype
        options["cval"] = float(case.split()[1])
    elif case == "rule zero":
        rule = Holes(empty="zero")
    elif case == "rule center":
        rule = Holes(empty="center", dtype=np.dtype(np.float64))
    elif case == "scaled":
        rule = Holes(scale=3.5)
    elif case == "float32 out":  # float64 sums written to a float32 output
        rule, options["output"] = Holes(dtype=np.dtype(np.float64)), np.float32
    elif case == "int image":
        options["mask"] = rng.random(image.shape) < 0.1
    elif case == "bands":
        monkeypatch.setattr(hole_bands, "band_points", lambda: 5000)
    elif case == "two threads":
        options["threads"] = 2

    def call():
        if case == "in place":
            out = image.copy()
            nd.correlate(out, kernel, output=out, nan="interpolate", **options)
            return out
        return nd.filter_holes(image, kernel, rule, **options)

    got = call()
    assert routes and all(routes)
    want = general_route(monkeypatch, call)
    assert got.dtype == want.dtype
    if case == "bands":
        assert len(routes) >= 4
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    scale = np.nanmax(np.abs(want))
    np.testing.assert_allclose(np.nan_to_num(got), np.nan_to_num(want), rtol=0,
                               atol=(1e-5 if got.dtype == np.float32 else 1e-12) * scale)


def test_an_infinity_in_a_band_sends_that_band_the_general_way(rng, routes, monkeypatch):
    image = holed(rng, (200, 120))
    image[150, 60] = np.inf
    monkeypatch.setattr(hole_bands, "band_points", lambda: 6000)  # the infinity in one band of several
    kernel = np.outer(gaussian(5, 1.0), gaussian(5, 1.0))
    def call():
        return nd.correlate(image, kernel, nan="interpolate", method="separable")

    got = call()
    assert True in routes and False in routes
    want = general_route(monkeypatch, call)
    for where in (np.isnan, np.isposinf, np.isneginf):  # where the general route has them
        np.testing.assert_array_equal(where(got), where(want))
    assert np.isinf(got[150, 60])
    finite = np.isfinite(want)
    np.testing.assert_allclose(got[finite], want[finite], rtol=0, atol=1e-12 * np.abs(want[finite]).max())


def test_kernels_that_are_not_separable_or_not_2d_go_the_general_way(rng, routes):
    image = holed(rng, (60, 50))
    nd.correlate(image, rng.random((5, 5)), nan="interpolate", method="direct")
    nd.correlate(image, np.outer(gaussian(5, 1.0), gaussian(5, 1.0)), nan="interpolate", method="direct")
    cube = holed(rng, (20, 30), np.float64)[None].repeat(6, axis=0)
    nd.correlate(cube, np.ones((3, 3, 3)) / 27, nan="interpolate", method="separable")
    assert routes == []


def test_the_compiled_loop_refuses_what_it_cannot_sum():
    planes = np.full((10, 12), np.nan)
    taps, out, empty = np.ones(3), np.zeros((8, 10)), np.zeros((8, 10), bool)
    assert float_passes.separable(planes, taps, taps, out, empty, 1.0, 0.0, 0) == 80  # all holes: empty
    assert empty.all()
    with pytest.raises(TypeError, match="2-D"):
        float_passes.separable(planes[0], taps, taps, out, empty, 1.0, 0.0, 0)
    with pytest.raises(TypeError, match="at least as wide"):
        float_passes.separable(planes, taps.astype(np.float32), taps.astype(np.float32),
                               out.astype(np.float32), empty, 1.0, 0.0, 0)
    with pytest.raises(TypeError, match="8 x 10"):
        float_passes.separable(planes, taps, taps, np.zeros((8, 9)), empty, 1.0, 0.0, 0)
    with pytest.raises(TypeError, match="bools"):
        float_passes.separable(planes, taps, taps, out, np.zeros((8, 10)), 1.0, 0.0, 0)
    with pytest.raises(ValueError, match="at least as large"):
        float_passes.separable(planes[:2], taps, taps, out, empty, 1.0, 0.0, 0)
    with pytest.raises(ValueError, match="test must be"):
        float_passes.separable(planes, taps, taps, out, empty, 1.0, 0.0, 3)


def test_the_ring_of_rows_is_what_the_loop_keeps():
    """Three rows of the two planes, 12 columns each (10 outputs and the halo), in float64; a
    kernel of 9 rows in float32 over 2,000 columns: strips of 544 (the ring near 40 KiB,
    whole vectors), each with its halo; strips narrower than 16 halos are not cut."""
    assert float_passes.separable_ring(3, 3, 10, 8) == 2 * 3 * 12 * 8
    assert float_passes.separable_ring(9, 9, 2000, 4) == 2 * 9 * (544 + 8) * 4
    assert float_passes.separable_ring(161, 161, 1024, 8) == 2 * 161 * (1024 + 160) * 8
    for bad in ((0, 3, 10, 8), (3, 3, 0, 8), (3, 3, 10, 2)):
        with pytest.raises(ValueError, match="separable_ring"):
            float_passes.separable_ring(*bad)


def test_astropys_convolve_of_a_gaussian_over_holes_is_astropys_answer(rng, routes):
    convolution = pytest.importorskip("astropy.convolution")
    import fftconv.astropy

    image = holed(rng, (700, 600), np.float32)
    kernel = convolution.Gaussian2DKernel(1.0)
    # both warn of the hole block's centre, left NaN
    warnings.filterwarnings("ignore", "nan_treatment='interpolate', however")
    for boundary in ("fill", "extend", "wrap"):
        want = convolution.convolve(image, kernel, boundary=boundary, nan_treatment="interpolate")
        got = fftconv.astropy.convolve(image, kernel, boundary=boundary, nan_treatment="interpolate")
        assert got.dtype == want.dtype
        assert_close_nan(got, want, 1e-6)
    routes.clear()
    with fftconv.config.override(method="separable"):
        got = fftconv.astropy.convolve(image, kernel, boundary="wrap", nan_treatment="interpolate")
    assert routes and all(routes)
    assert_close_nan(got, want, 1e-6)


taps = st.lists(st.floats(0.05, 4), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=3, max_side=24),
                  elements=st.one_of(st.floats(-100, 100), st.just(np.nan))),
       taps, taps, st.sampled_from(MODES), st.sampled_from([0.0, 1.5, np.nan]))
def test_any_separable_kernel_over_any_holes_gives_the_reference(image, down, along, mode, cval):
    kernel = np.outer(down, along)
    with mock.patch.object(separable_holes, "filter_band", wraps=separable_holes.filter_band) as route:
        got = nd.correlate(image, kernel, mode=mode, cval=cval, nan="interpolate", method="separable")
    assert route.call_count >= 1
    assert_close_nan(got, reference(image, kernel, mode, cval=cval), 1e-11)


def test_a_first_call_with_holes_takes_the_one_pass_route(rng, routes, monkeypatch):
    """A signature's first call plans from a short list that leaves the separable passes out;
    with holes, a separable kernel's first call takes them where they are estimated cheaper
    (one compiled pass a band), and its next calls start from them."""
    from fftconv.engine import lane, run

    run._memo.clear()
    run._sighted.clear()
    lane.clear()
    image = holed(rng, (512, 480), np.float32)
    kernel = np.outer(gaussian(9, 1.0), gaussian(9, 1.0))
    got = nd.correlate(image, kernel, nan="interpolate", threads=1)
    assert routes and all(routes)
    sighted = [p for p in run._sighted.values() if p is not None]
    assert [p.executor.startswith("separable") for p in sighted] == [True]
    assert "first call with holes" in sighted[0].explain()
    want = general_route(monkeypatch, lambda: nd.correlate(image, kernel, nan="interpolate", threads=1,
                                                           method="direct"))
    assert_close_nan(got, want, 2e-6)
    nd.correlate(image, kernel, nan="interpolate", threads=1)
    assert len(routes) >= 2 and all(routes)



def test_a_ring_of_rows_over_the_cache_sends_the_block_the_general_way(rng, monkeypatch):
    """The route declines a block whose ring of rows (kernel rows times two planes, strips
    apart) would not stay in the core's cache, before extending any band; the general route
    answers, for every band."""
    from fftconv.core import memory

    image = holed(rng, (300, 200))
    kernel = np.outer(gaussian(41, 6.0), gaussian(41, 6.0))  # too long for strips: the ring spans the row
    monkeypatch.setattr(hole_bands, "band_points", lambda: 8000)
    calls = []
    loop = float_passes.separable
    monkeypatch.setattr(separable_holes, "float_passes", mock.Mock(
        separable=lambda *a: calls.append(a[-1]) or loop(*a), separable_ring=float_passes.separable_ring))

    def call():
        return nd.correlate(image, kernel, nan="interpolate", method="separable", threads=1)

    assert_close_nan(call(), reference(image, kernel), 1e-11)  # a ring of 2 * 41 * 240 doubles: 157 KB
    assert len(calls) >= 2  # every band
    calls.clear()
    monkeypatch.setattr(memory, "library_cache_bytes", lambda level: None)  # (what glibc says, first)
    monkeypatch.setattr(memory, "core_cache_bytes", lambda: 100_000)
    lane.clear()  # the route keeps its first call's decision
    got = call()
    assert calls == []  # declined before any band was extended
    want = general_route(monkeypatch, call)
    np.testing.assert_array_equal(got, want)
