"""Fitting the executors' own coefficients: spectral copies and overheads, the direct sums,
the separable passes, and what more threads gain. Each fit times an executor and fits
through its ``estimate`` (`fit_groups`), so a new executor's coefficients are fitted by
adding its cases here, never by restating its formula."""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable

import numpy as np

from ... import config
from ...backends import get_backend
from ...core.problem import Problem, Spec
from ...executors import registry
from ...executors.spectral import FFTLayout
from ...timing import typical_time
from ..costs import CostModel, busiest_share
from ..planner import make_plan
from . import cases
from .fit import fit_groups
from .measure import Measurement, thread_gain, time_executor

#: The spectral coefficients fitted jointly: per buffer point (operands streamed from memory,
#: or in the cache), per buffer row, per tile and per call.
SPECTRAL_GROUPS = [("copy_point",), ("copy_point_cached",), ("copy_row",), ("tile_overhead",),
                   ("call_overhead",)]
#: Each direct executor's coefficients, fitted in this order: the sliding-window sum's with the
#: overhead every direct sum pays (its cases include tiny ones, where that overhead is most of
#: the time), then one scale per executor (with mostly multiply-adds in every case, a fit of
#: each term may drop the smaller ones).
DIRECT_GROUPS = {
    "direct.windows": [("direct_overhead",), ("window_point",), ("window_mac",)],
    "direct.ndimage": [("direct_point", "direct_mac")],
    "direct.rows": [("row_point", "row_tap", "row_call")],
    "direct.numpy": [("direct_out_1d",), ("direct_mac_1d",)],
    "direct.shift_add": [("direct_generic",)],
    "direct.compiled": [("compiled_point",), ("compiled_mac",), ("compiled_call",), ("compiled_load",),
                        ("compiled_load_l2",), ("compiled_stream",)],
}


def fit_spectral(costs: CostModel, quick: bool, budget: float, rng, step: Callable[[], object]
                 ) -> tuple[CostModel, list[Measurement]]:
    """Copies and overheads of spectral convolutions: what the transforms do not explain."""
    measured = []
    for s1, s2, mode, how in cases.spectral_cases(quick):
        a, b = rng.standard_normal(s1), rng.standard_normal(s2)
        if isinstance(how, tuple):  # a fixed tile shape
            tiles = Problem.build(a, b, mode).windows
            layout = FFTLayout(how, (True,) * len(s1),
                               int(np.prod([-(-w.length // (n - k + 1)) for w, n, k in zip(tiles, how, s2)])))
            measured.append(time_executor("tiled", a, b, mode, budget, costs, layout=layout))
        else:
            measured.append(time_executor(how, a, b, mode, budget, costs))
        step()
    return fit_groups(measured, costs, SPECTRAL_GROUPS), measured


def fit_direct(costs: CostModel, quick: bool, budget: float, rng, step: Callable[[], object]) -> CostModel:
    """Each direct executor's scale, from its own cases."""
    for name, (pairs, dtype) in cases.direct_cases(quick).items():
        if not registry.get(name).applies(Spec.of_shapes(pairs[0][0], pairs[0][1], "same", dtype)):
            for _ in pairs:  # not on this install (the compiled loops were not built)
                step()
            continue
        measured = []
        for s1, s2 in pairs:
            a = rng.standard_normal(s1).astype(dtype)
            b = rng.standard_normal(s2).astype(dtype)
            measured.append(time_executor(name, a, b, "same", budget, costs))
            step()
        costs = fit_groups(measured, costs, DIRECT_GROUPS[name])
    return costs


def fit_separable(costs: CostModel, quick: bool, budget: float, rng, step: Callable[[], object]) -> CostModel:
    """``gemm_mac`` from float64 passes (float32's ratio is not fitted: too few of its products
    remain once its halved copies are taken out to be told apart)."""
    measured = []
    for s1, k in cases.separable_cases(quick):
        a = rng.standard_normal(s1)
        b = np.multiply.outer(*[np.hanning(k + 2)[1:-1]] * len(s1))
        measured.append(time_executor("separable", a, b, "same", budget, costs))
        step()
    fitted = fit_groups(measured, costs, [("gemm_mac",)])
    return fitted if fitted.gemm_mac > 0 else costs


def fit_threads(costs: CostModel, threads: int, budget: float, quick: bool, rng,
                step: Callable[[], object]) -> CostModel:
    """What ``threads`` threads gain: inside the backend's transforms (multi-dimensional and
    1-D, from pairs on 1 and ``threads`` threads) and across tiles that ``threads`` workers
    share (the hand-off taken out); the out-of-cache tile gain keeps its proportion."""
    backend = get_backend(config.get().backend)

    def pair_gain(shapes) -> float:
        gains = []
        with config.override(planner_effort="measure"):
            for shape in shapes:
                t = []
                for n in (1, threads):
                    pair = backend.transform_pair((), shape, True, np.dtype(np.float64), n)
                    pair.begin()
                    pair.data[...] = rng.standard_normal(pair.data.shape)
                    t.append(typical_time(lambda p=pair: (p.forward(), p.inverse()), budget))
                gains.append(thread_gain(t[0], t[1], threads))
        step()
        return statistics.median(gains)

    multi = pair_gain([(512, 512)] if quick else [(256, 256), (512, 512), (64, 64, 64)])
    one_d = pair_gain([(65536,)] if quick else [(65536,), (262144,)])
    gains = []
    tile_cases = [((512, 512), (5, 5), 64), ((1024, 1024), (9, 9), 128)]  # rows cut into tiles
    for s1, s2, rows in tile_cases[:1] if quick else tile_cases:
        a, b = rng.standard_normal(s1), rng.standard_normal(s2)
        spec = Problem.build(a, b, "same").spec(1)
        whole = make_plan(spec, "fft", ("fft",), costs).layout.fft_shape
        layout = FFTLayout((rows, whole[1]), (True, False), -(-s1[0] // (rows - s2[0] + 1)))
        t1, tn = (time_executor("tiled", a, b, "same", budget, costs, n, layout).seconds
                  for n in (1, threads))
        busiest = busiest_share(layout.tiles, min(threads, layout.tiles))
        gains.append(thread_gain(t1 * busiest + costs.thread_dispatch, tn, threads))
    step()
    tiles = statistics.median(gains)
    return dataclasses.replace(
        costs, fft_thread_efficiency=multi, fft_thread_efficiency_1d=one_d, thread_efficiency=tiles,
        thread_efficiency_out_of_cache=min(
            tiles, costs.thread_efficiency_out_of_cache * tiles / costs.thread_efficiency),
    )


#: Progress steps of `fit_threads` (two pair gains, one tile gain).
THREAD_STEPS = 3
