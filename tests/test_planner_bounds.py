"""The planner's lower bounds: no executor's estimate is ever below its bound (else the
planner would skip what could win), a bound that is far above a direct sum's estimate
spares the layout search of a new signature (its cost was most of a new shape's call), and
the tiled executor's branch and bound finds the layout that pricing every one finds."""

import dataclasses
import itertools
import math
import unittest.mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fftconv
from fftconv.core.problem import Spec
from fftconv.executors import registry, tiled
from fftconv.executors.spectral import operand_bytes, spectral_seconds
from fftconv.executors.tiled import FEW_TILES, FewTiles, OverlapSaveTiles, few_tile_lengths
from fftconv.planning.costs import DEFAULT_COSTS

SHAPES = {1: (1, 200_000, 3_000), 2: (1, 900, 45), 3: (1, 100, 14)}


@st.composite
def specs(draw):
    rank = draw(st.sampled_from([1, 2, 2, 3]))
    lo, hi, longest = SHAPES[rank]
    shape1 = tuple(draw(st.integers(lo, hi)) for _ in range(rank))
    shape2 = tuple(draw(st.integers(1, longest)) for _ in range(rank))
    mode = draw(st.sampled_from(["full", "same", "valid"]))
    if mode == "valid" and any(k > n for n, k in zip(shape1, shape2)):
        mode = "full"
    spec = Spec.of_shapes(shape1, shape2, mode)
    return dataclasses.replace(
        spec, result_dtype=np.dtype(draw(st.sampled_from(["f4", "f8", "c8", "c16"]))),
        threads=draw(st.integers(1, 4)), batch=tuple(draw(st.lists(st.integers(1, 3), max_size=1))))


@st.composite
def cost_models(draw):
    """The built-in coefficients, each of a few scaled as a calibration on another CPU might."""
    changed = {name: getattr(DEFAULT_COSTS, name) * draw(st.floats(0.3, 3.0))
               for name in draw(st.sets(st.sampled_from(
                   ["fft_point", "fft_point_log", "copy_point", "copy_point_cached", "copy_row",
                    "tile_overhead", "call_overhead", "fft_out_of_cache", "single_factor", "radix3",
                    "thread_efficiency", "fft_thread_efficiency", "cache_bytes"]), max_size=5))}
    if "cache_bytes" in changed:
        changed["cache_bytes"] = int(changed["cache_bytes"])
    return dataclasses.replace(DEFAULT_COSTS, **changed)


@settings(max_examples=150, deadline=None)
@given(specs(), cost_models())
def test_no_estimate_is_below_its_executors_bound(spec, costs):
    for executor in registry.executors():
        if executor.checks_values or not executor.applies(spec):
            continue
        estimate = executor.estimate(spec, costs, None)
        if estimate is not None:
            assert executor.lower_bound(spec, costs) <= estimate.seconds * (1 + 1e-9), executor.name


def test_a_new_shape_with_a_small_kernel_is_planned_without_the_tile_search(rng, monkeypatch):
    searched = []
    real = OverlapSaveTiles.estimate
    monkeypatch.setattr(OverlapSaveTiles, "estimate", lambda self, *a: searched.append(a) or real(self, *a))
    kernel = rng.standard_normal((5, 5)).astype(np.float32)
    for rows in (253, 254, 255):  # shapes of a loop over images of different sizes
        image = rng.standard_normal((rows, 517 - rows)).astype(np.float32)
        plan = fftconv.plan(image, kernel, "same", threads=1)
        assert plan.method == "direct"
    assert searched == []
    assert "tiled" not in plan.candidates  # not priced: its bound is far above the direct sum


def _every_layout(executor, spec, costs):
    """(grid index, seconds) of every tiled layout, priced one by one."""
    dtype = executor.compute_dtype(spec)
    operands = operand_bytes(spec.shape1, spec.windows, spec.batch_points, dtype)
    per_axis = executor.layout_options(spec)
    for index in itertools.product(*(range(len(options)) for options in per_axis)):
        combo = [options[j] for options, j in zip(per_axis, index)]
        if not any(cut for _, cut in combo):
            continue
        tiles = math.prod(-(-w.length // (n - k + 1)) if cut else 1
                          for (n, cut), k, w in zip(combo, spec.shape2, spec.windows))
        yield index, spectral_seconds(spec, tuple(n for n, _ in combo), tiles, dtype, costs, operands)


@settings(max_examples=25, deadline=None)
@given(specs(), cost_models(), st.sampled_from([OverlapSaveTiles(), FewTiles()]))
def test_every_layouts_floor_is_below_its_price_and_the_search_finds_the_cheapest(spec, costs, executor):
    """The search is exact; `tiled.MOST_PRICED` only bounds its time (with loose floors, many
    threads, it may stop at the cheapest of those priced), so it is lifted here."""
    if not any(len(options) > 1 for options in executor.layout_options(spec)):
        return
    floors = executor.floors(spec, costs, executor.layout_options(spec))
    prices = dict(_every_layout(executor, spec, costs))
    assert all(floors[index] <= seconds * (1 + 1e-9) for index, seconds in prices.items())
    with unittest.mock.patch.object(tiled, "MOST_PRICED", 10**9):
        tiled._floors.cache_clear()
        assert executor.estimate(spec, costs, None).seconds <= min(prices.values()) * (1 + 1e-9)


@settings(max_examples=40, deadline=None)
@given(specs(), cost_models())
def test_at_one_thread_a_layouts_floor_is_its_price_so_the_search_prices_one_or_two(spec, costs):
    """Floors that took every copy and transform as in the cache made a 300x300 * 17x17
    search price its cap of 64 layouts (1.5 ms of a new signature's planning)."""
    spec = dataclasses.replace(spec, threads=1)
    executor = OverlapSaveTiles()
    if not any(len(options) > 1 for options in executor.layout_options(spec)):
        return
    floors = executor.floors(spec, costs, executor.layout_options(spec))
    for index, seconds in _every_layout(executor, spec, costs):
        assert math.isclose(floors[index], seconds, rel_tol=1e-9)
    priced = []
    with unittest.mock.patch.object(tiled, "spectral_seconds",
                                    lambda *a: priced.append(a) or spectral_seconds(*a)):
        tiled._floors.cache_clear()
        executor.estimate(spec, costs, None)
    assert 1 <= len(priced) <= 2


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 400), st.integers(1, 20_000), st.booleans())
def test_few_tiles_take_the_shortest_lengths_of_each_count(n2, outputs, even):
    """Each length cuts the axis into 2 to `FEW_TILES` tiles, and no shorter fast length gives
    its count (but the one kept beside it): a longer tile of a count only transforms more."""
    from fftconv.core.geometry import output_window
    from fftconv.executors.fft_lengths import fast_lengths_between, next_fast_length

    window = output_window(outputs + n2 - 1, n2, "valid")
    whole = next_fast_length(outputs + n2 - 1, even)
    lengths = few_tile_lengths(n2, window, whole, even)
    assert lengths == sorted(set(lengths)) and all(2 * n2 <= n < whole for n in lengths)
    for n in lengths:
        count = -(-outputs // (n - n2 + 1))
        assert 2 <= count <= FEW_TILES
        shorter = [m for m in fast_lengths_between(max(2 * n2, tiled.MIN_TILE), n - 1, even)
                   if -(-outputs // (m - n2 + 1)) == count]
        assert len(shorter) < tiled.LENGTHS_PER_COUNT


@pytest.mark.parametrize("shapes", [((700,), (61,)), ((300, 260), (41, 33)), ((40, 36, 50), (9, 7, 11))],
                         ids=str)
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "complex128"])
def test_few_tiles_equal_scipys_fftconvolve(rng, shapes, mode, dtype):
    import scipy.signal

    from fftconv.core.problem import Problem
    from fftconv.engine import run
    from fftconv.planning.planner import make_plan

    x, h = (rng.standard_normal(s).astype(dtype) for s in shapes)
    if dtype.startswith("complex"):
        x = x + 1j * rng.standard_normal(x.shape)
    problem = Problem.build(x, h, mode)
    plan = make_plan(problem.spec(), "auto", ("tiled.few",))
    assert plan.executor == "tiled.few" and plan.layout.tiles > 1
    exact = np.complex128 if dtype.startswith("complex") else np.float64
    want = scipy.signal.fftconvolve(x.astype(exact), h, mode)
    got = run.execute(problem, plan)
    assert got.dtype == np.result_type(x, h)
    tolerance = 1e-4 if dtype == "float32" else 1e-10
    np.testing.assert_allclose(got, want, atol=tolerance * np.abs(want).max())


def test_the_few_tiles_only_contend_in_trials():
    """Estimated cheapest, the few tiles are still not chosen where nothing times them (ndimage's
    blocks, first calls): there the model's error had cut 1024² * 101x101 into 6 tiles at 13.5 ms
    where the whole image's transform took 9.9 (Intel Xeon). A trial times them after the
    executors the planner may choose, whose cheapest runs the first calls."""
    from fftconv.engine import run
    from fftconv.planning.planner import make_plan

    spec = Spec.of_shapes((1124, 1124), (101, 101), "valid")
    plan = make_plan(spec, "auto", None, DEFAULT_COSTS)
    few = plan.candidates["tiled.few"].seconds
    assert few < min(c.seconds for n, c in plan.candidates.items() if n != "tiled.few")  # the premise
    assert plan.executor != "tiled.few" and plan.estimates[plan.method] > few
    assert make_plan(spec, "auto", ("tiled.few",), DEFAULT_COSTS).executor == "tiled.few"  # alone, it runs
    assert run._contenders(["tiled.few", "fft", "tiled"]) == ["fft", "tiled", "tiled.few"]
    three = ["fft", "tiled", "direct.compiled"]
    assert run._contenders(["tiled.few", *three]) == three  # no place left
    assert "tiled.few: estimated" in plan.explain() and "timed in trials only" in plan.explain()


def test_a_trial_only_estimate_prunes_nothing(monkeypatch):
    """Only what the plan may choose bounds the others: a trial-only executor estimated far
    below them leaves every executor priced (it had pruned those over 4x its estimate)."""
    from fftconv.planning import planner

    spec = Spec.of_shapes((1124, 1124), (101, 101), "valid")
    order = ("direct.compiled", "tiled.few", "fft", "tiled")  # priced in this order (bounds past the direct)
    priced = set(planner.make_plan(spec, "auto", order, DEFAULT_COSTS).candidates)
    assert priced == set(order)
    real = tiled.FewTiles.estimate
    monkeypatch.setattr(tiled.FewTiles, "estimate", lambda self, s, c, m: dataclasses.replace(
        real(self, s, c, m), seconds=1e-9))
    planner._make_plan.cache_clear()
    planner._estimate.cache_clear()
    plan = planner.make_plan(spec, "auto", order, DEFAULT_COSTS)
    assert set(plan.candidates) == priced and plan.executor != "tiled.few"
