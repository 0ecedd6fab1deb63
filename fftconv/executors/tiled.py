"""The 'tiled' executor: overlap-save FFT tiles, the tile shape searched over fast lengths.

Each convolved axis is either transformed whole or cut into tiles of a fast length; the
layouts are priced by the cost model and the cheapest whose buffers fit the memory limit
wins. Where the combinations are few (1-D) every one is priced; beyond `EXHAUSTIVE_LAYOUTS`
a coordinate descent over the axes (from the smallest layout and from each axis cut alone)
prices far fewer. Planning is part of a first call's time: pricing all 15² layouts of a 2-D
problem took 1.5-4 ms (more than the whole call of a 256² image), the descent 0.7-1.3 ms,
and on the 48 cases of `bench/planner_regret.py --suite mid-sizes` and the first-call
cases it found the same layout every time (a 3-D search took ~35 ms when it priced all
15³). Where no axis can be cut, the one tile is the whole array.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ..core.geometry import Window
from ..core.problem import Spec
from ..planning.costs import CostModel, precision
from .base import Estimate
from .fft_lengths import fast_lengths_between
from .spectral import FFTLayout, SpectralExecutor, operand_bytes, spectral_seconds, spectral_workspace

#: Tile lengths tried per axis (evenly spread over the fast lengths in range): 2-D searches
#: descend through 15², 3-D ones through 25³.
MAX_CANDIDATES_PER_AXIS = 24
MAX_CANDIDATES_2D = 14
#: Layout spaces up to this size are searched exhaustively (1-D ones).
EXHAUSTIVE_LAYOUTS = 32
#: Shortest tile: below this the per-tile overhead (copies, calls) outweighs any saving.
MIN_TILE = 16


def tile_lengths(n2: int, window: Window, whole: int, even: bool, most: int = MAX_CANDIDATES_PER_AXIS
                 ) -> list[int]:
    """Candidate tile lengths of one axis (at most ``most``): fast lengths from twice the
    kernel (shorter tiles spend over half their outputs on the overlap) up to the whole-axis
    length, or four times the output where that is shorter (a 'valid' window much shorter
    than its input).

    Examples
    --------
    >>> from fftconv.core.geometry import output_window
    >>> tile_lengths(3, output_window(100, 3, "same"), 108, True)[:4]
    [16, 18, 20, 24]
    """
    lo = max(2 * n2, MIN_TILE)
    hi = min(whole, max(lo, 4 * window.length))
    lengths = [n for n in fast_lengths_between(lo, hi, even) if n < whole]
    if len(lengths) > most:
        step = len(lengths) / most
        lengths = [lengths[int(i * step)] for i in range(most)]
    return lengths


class OverlapSaveTiles(SpectralExecutor):
    """Overlap-save tiles (see `fftconv.executors.spectral`).

    Examples
    --------
    >>> from fftconv.core.problem import Spec
    >>> from fftconv.planning.costs import DEFAULT_COSTS
    >>> spec = Spec.of_shapes((4096, 4096), (31, 31), "same")
    >>> OverlapSaveTiles().estimate(spec, DEFAULT_COSTS, None).layout.tiles > 1
    True
    """

    name = "tiled"
    method = "tiled"

    def layout_options(self, spec: Spec) -> list[list[tuple[int, bool]]]:
        """Per axis, the lengths a layout may give it: (whole-axis length, False) first, then
        each candidate tile length with True."""
        whole = self.whole_layout(spec)
        real = self.compute_dtype(spec).kind != "c"
        most = MAX_CANDIDATES_2D if spec.rank == 2 else MAX_CANDIDATES_PER_AXIS
        return [[(n_whole, False)] + [(n, True) for n in tile_lengths(n2, w, n_whole, even, most)]
                for n2, w, n_whole, even in zip(spec.shape2, spec.windows, whole.fft_shape,
                                                [False] * (spec.rank - 1) + [real])]

    def lower_bound(self, spec: Spec, costs: CostModel) -> float:
        """`spectral_seconds` of every tiled layout at once (NumPy over the grid of options),
        with each factor that can only raise it at its least: transforms and copies as in the
        cache, every thread at full efficiency. Exact where those hold (one thread, operands
        in the cache), so it spares the layout search of problems a direct sum computes
        several times faster (a 256x256 * 5x5 one's search took 1.5-2 ms of a first call;
        the sum takes 0.07 ms)."""
        per_axis = self.layout_options(spec)
        if math.prod(len(options) for options in per_axis) <= EXHAUSTIVE_LAYOUTS:
            return super().lower_bound(spec, costs)  # pricing them all is as quick
        dtype = self.compute_dtype(spec)
        real, itemsize, rank, batch = dtype.kind != "c", dtype.itemsize, spec.rank, spec.batch_points
        # fft_seconds per point and log2 unit, with its dtype and rank factors but in the cache
        unit = costs.fft_seconds(2, itemsize, real, precision(dtype), 1, rank) / (
            2 * (costs.fft_point_log * costs.radix_log2(2) + costs.fft_point))
        unit *= min(1.0, costs.fft_out_of_cache)
        efficiency = max(1.0, costs.thread_efficiency, costs.thread_efficiency_out_of_cache,
                         costs.fft_thread_efficiency, costs.fft_thread_efficiency_1d)
        speedup = 1 + (spec.threads - 1) * efficiency
        points = tiles = rows = 1.0
        radix = tiled = 0.0
        for axis, (options, n2, w) in enumerate(zip(per_axis, spec.shape2, spec.windows)):
            shape = [1] * rank
            shape[axis] = len(options)
            n = np.array([o[0] for o in options], dtype=float).reshape(shape)
            cut = np.array([o[1] for o in options]).reshape(shape)
            points = points * n
            tiles = tiles * np.where(cut, np.ceil(w.length / np.maximum(n - n2 + 1, 1)), 1.0)
            radix = radix + np.array([costs.radix_log2(o[0]) for o in options]).reshape(shape)
            tiled = tiled + cut
            if axis < rank - 1:
                rows = rows * n
        rows = rows * max(1, rank - 1)
        one = points * (costs.fft_point_log * radix + costs.fft_point) * unit
        copies = min(costs.copy_point_cached, costs.copy_point) * points * batch * itemsize / 8
        tile = 2 * batch * one + copies + costs.copy_row * rows * batch + costs.tile_overhead
        floor = (costs.call_overhead + (tiles * tile + one) / speedup
                 + costs.copy_point_cached * points * itemsize / 8)
        return float(np.min(np.where(tiled > 0, floor, np.inf)))

    def estimate(self, spec: Spec, costs: CostModel, memory_limit: int | None) -> Estimate:
        dtype = self.compute_dtype(spec)
        real = dtype.kind != "c"
        operands = operand_bytes(spec.shape1, spec.windows, spec.batch_points, dtype)
        per_axis = self.layout_options(spec)
        whole = self.whole_layout(spec)
        priced: dict[tuple, tuple] = {}  # layout -> (seconds, workspace, fft shape, tiled axes, tiles)

        def price(combo: tuple) -> tuple:
            known = priced.get(combo)
            if known is None:
                fft_shape = tuple(n for n, _ in combo)
                tiled = tuple(t for _, t in combo)
                tiles = math.prod(-(-w.length // (n - n2 + 1)) if t else 1
                                  for (n, t), n2, w in zip(combo, spec.shape2, spec.windows))
                workspace = spectral_workspace(fft_shape, tiles, spec.batch_points, dtype, real, spec.threads)
                seconds = spectral_seconds(spec, fft_shape, tiles, dtype, costs, operands)
                known = priced[combo] = (seconds, workspace, fft_shape, tiled, tiles)
            return known

        def cost(combo: tuple) -> float:
            if not any(t for _, t in combo):
                return math.inf  # that is the 'fft' executor's layout
            seconds, workspace, *_ = price(combo)
            return seconds if memory_limit is None or workspace <= memory_limit else math.inf

        if not any(len(options) > 1 for options in per_axis):  # nothing to cut: one tile, the whole array
            return self.layout_estimate(spec, whole, costs)
        if math.prod(len(options) for options in per_axis) <= EXHAUSTIVE_LAYOUTS:
            for combo in itertools.product(*per_axis):
                if any(t for _, t in combo):
                    price(combo)
        else:
            _descend(per_axis, cost)
        tiled_layouts = [p for combo, p in priced.items() if any(t for _, t in combo)]
        fitting = [p for p in tiled_layouts if memory_limit is None or p[1] <= memory_limit]
        seconds, workspace, fft_shape, tiled, tiles = (
            min(fitting) if fitting else min(tiled_layouts, key=lambda p: p[1]))
        return Estimate(seconds, workspace, FFTLayout(fft_shape, tiled, tiles))


def _descend(per_axis: list[list[tuple[int, bool]]], cost) -> None:
    """Coordinate descent over the axes' options from several starts: the smallest layout
    (every cuttable axis at its shortest tile: it also bounds the workspace when the memory
    limit is tight) and each axis cut alone at each of its lengths; each axis in turn takes
    its cheapest option while the others stay, until nothing improves. ``cost`` prices (and
    records) a layout."""
    smallest = tuple(options[1] if len(options) > 1 else options[0] for options in per_axis)
    starts = [smallest]
    whole = tuple(options[0] for options in per_axis)
    for axis, options in enumerate(per_axis):
        alone = [whole[:axis] + (option,) + whole[axis + 1:] for option in options[1:]]
        if alone:
            starts.append(min(alone, key=cost))
    for combo in starts:
        best = cost(combo)
        improved = True
        while improved:
            improved = False
            for axis, options in enumerate(per_axis):
                for option in options:
                    trial = combo[:axis] + (option,) + combo[axis + 1:]
                    trial_cost = cost(trial)
                    if trial_cost < best:
                        combo, best, improved = trial, trial_cost, True
