"""The 'tiled' executor: overlap-save FFT tiles, the tile shape searched over fast lengths.

Each convolved axis is either transformed whole or cut into tiles of a fast length; the
layouts are priced by the cost model and the cheapest whose buffers fit the memory limit
wins. The search is a branch and bound: `OverlapSaveTiles.floors` gives, for every layout at
once (NumPy over the grid of options), seconds its price cannot go below (the cost formula
with the factors that may only raise it at their least; equal to the price at one thread in
the cache), and layouts are priced in the order of their floors until the cheapest priced
costs no more than the next floor. It finds the layout an exhaustive search finds (on 250
random 2-D and 3-D problems, all of them; the exhaustive search took 47 ms on average)
after a few prices: 0.6 ms a 2-D and 0.55 ms a 3-D search, where the coordinate descent
used before took 1.45 and 2.7 ms and missed the best layout on 5 of 160 (AMD EPYC). The
least floor is the executor's `lower_bound`, which spares the search altogether where a
direct sum is several times cheaper. Where no axis can be cut, the one tile is the whole
array.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np

from ..core.geometry import Window
from ..core.memory import l2_bytes
from ..core.problem import Spec
from ..planning.costs import CostModel, precision
from . import kept_spectra
from .base import Estimate
from .fft_lengths import fast_lengths_between, next_fast_length
from .spectral import (
    FFTLayout,
    SpectralExecutor,
    operand_bytes,
    repeated_call_seconds,
    spectral_seconds,
    spectral_workspace,
)

#: Tile lengths tried per axis (evenly spread over the fast lengths in range): 2-D searches
#: descend through 15², 3-D ones through 25³.
MAX_CANDIDATES_PER_AXIS = 24
MAX_CANDIDATES_2D = 14
#: The layouts are searched by branch and bound on `OverlapSaveTiles.floors`, pricing at most
#: this many (then the cheapest of those is taken).
MOST_PRICED = 64
#: Shortest tile: below this the per-tile overhead (copies, calls) outweighs any saving.
MIN_TILE = 16
#: `FewTiles` cuts an axis into at most this many tiles ...
FEW_TILES = 3
#: ... each of one of the shortest fast lengths that give its count (the next ones may run
#: faster radices).
LENGTHS_PER_COUNT = 2


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

    def layout_options(self, spec: Spec) -> tuple[tuple[tuple[int, bool], ...], ...]:
        """Per axis, the lengths a layout may give it: (whole-axis length, False) first, then
        each candidate tile length with True."""
        return _layout_options(self, spec)

    def _options(self, spec: Spec) -> tuple[tuple[tuple[int, bool], ...], ...]:
        whole = self.whole_layout(spec)
        real = self.compute_dtype(spec).kind != "c"
        rank = spec.rank
        evens = [False] * (rank - 1) + [real]  # a real transform's last axis is kept even
        return tuple(((n_whole, False), *((n, True) for n in self.axis_lengths(n2, w, n_whole, even, rank)))
                     for n2, w, n_whole, even in zip(spec.shape2, spec.windows, whole.fft_shape, evens))

    def axis_lengths(self, n2: int, w: Window, n_whole: int, even: bool, rank: int) -> list[int]:
        """The tile lengths one axis' layouts may give it: `tile_lengths`, at most
        `MAX_CANDIDATES_2D` an axis in 2-D, `MAX_CANDIDATES_PER_AXIS` otherwise."""
        most = MAX_CANDIDATES_2D if rank == 2 else MAX_CANDIDATES_PER_AXIS
        return tile_lengths(n2, w, n_whole, even, most)

    def lower_bound(self, spec: Spec, costs: CostModel) -> float:
        """The least of `floors`: it spares the layout search of problems a direct sum
        computes several times faster (a 256x256 * 5x5 one's search took 1.5-2 ms of a first
        call; the sum takes 0.07 ms)."""
        per_axis = self.layout_options(spec)
        if not any(len(options) > 1 for options in per_axis):
            return super().lower_bound(spec, costs)
        return float(_floors(self, spec, costs, True).min())

    def floors(self, spec: Spec, costs: CostModel, per_axis: Sequence[Sequence[tuple[int, bool]]],
               repeated: bool = False) -> np.ndarray:
        """Seconds no layout can beat, for every layout of ``per_axis`` at once (an array over
        the options of each axis; inf where no axis is cut: the 'fft' executor's layout):
        `spectral_seconds` with every thread at the best efficiency the model gives any (the
        tiles shared, or FFTW's own threads). Equal to it at one thread: the search then
        prices one or two layouts (it priced its cap of 64, ~1.5 ms of a 300x300 * 17x17
        call's planning, while this took the transforms and copies as in the cache). With
        ``repeated``, below the estimate a layout competes with (`repeated_call_seconds`)."""
        dtype = self.compute_dtype(spec)
        real, itemsize, rank, batch = dtype.kind != "c", dtype.itemsize, spec.rank, spec.batch_points
        # fft_seconds per point and log2 unit, with its dtype and rank factors but in the cache
        unit = costs.fft_seconds(2, itemsize, real, precision(dtype), 1, rank) / (
            2 * (costs.fft_point_log * costs.radix_log2(2) + costs.fft_point))
        efficiency = max(costs.thread_efficiency, costs.thread_efficiency_out_of_cache,
                         costs.fft_thread_efficiency, costs.fft_thread_efficiency_1d)
        speedup = max(1.0, 1 + (spec.threads - 1) * efficiency)
        operands = operand_bytes(spec.shape1, spec.windows, batch, dtype)
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
        one = points * (costs.fft_point_log * radix + costs.fft_point) * unit  # one transform, in the cache
        spectrum = points * itemsize * (1 if real else 2)
        transforms = 2 * batch * one * costs.cache_factors(batch * spectrum)
        kernel = one * costs.cache_factors(spectrum) / speedup + costs.copy_seconds(points, itemsize, 0)
        if repeated:  # as `repeated_call_seconds` may leave it out, under any memory limit's budget
            kernel = np.where(spectrum + math.prod(spec.shape2) * itemsize <= kept_spectra.BUDGET_BYTES,
                              0.0, kernel)
        tile = (transforms + costs.copy_seconds(points * batch, itemsize, operands)
                + costs.copy_row * rows * batch + costs.tile_overhead)
        floor = costs.call_overhead + tiles * tile / speedup + kernel
        return np.where(tiled > 0, floor, np.inf)

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
        if _branch_and_bound(per_axis, _floors(self, spec, costs, False), cost) == math.inf:
            _descend(per_axis, cost)  # nothing priced fits the memory limit: search from the smallest
        tiled_layouts = [p for combo, p in priced.items() if any(t for _, t in combo)]
        fitting = [p for p in tiled_layouts if memory_limit is None or p[1] <= memory_limit]
        seconds, workspace, fft_shape, tiled, tiles = (
            min(fitting) if fitting else min(tiled_layouts, key=lambda p: p[1]))
        seconds = repeated_call_seconds(spec, seconds, fft_shape, dtype, costs)
        return Estimate(seconds, workspace, FFTLayout(fft_shape, tiled, tiles))


def few_tile_lengths(n2: int, window: Window, whole: int, even: bool) -> list[int]:
    """Tile lengths of one axis that cut it into 2 to `FEW_TILES` tiles: for each count, the
    `LENGTHS_PER_COUNT` shortest fast lengths that give it (a longer tile of the same count
    transforms more points for the same outputs), no shorter than twice the kernel.

    Examples
    --------
    >>> from fftconv.core.geometry import output_window
    >>> few_tile_lengths(101, output_window(2148, 101, "valid"), 2160, True)
    [800, 810, 1134, 1152]
    """
    lengths: list[int] = []
    for count in range(FEW_TILES, 1, -1):
        shortest = max(-(-window.length // count) + n2 - 1, 2 * n2, MIN_TILE)
        found = 0
        while found < LENGTHS_PER_COUNT and shortest < whole:
            n = next_fast_length(shortest, even)
            if n >= whole:
                break
            if n not in lengths and -(-window.length // (n - n2 + 1)) == count:
                lengths.append(n)
                found += 1
            shortest = n + 1
    return sorted(lengths)


class FewTiles(OverlapSaveTiles):
    """Overlap-save in a few large tiles: at most `FEW_TILES` along each axis, each of the
    shortest fast lengths that give its count (`few_tile_lengths`).

    The model prices tiles from their transforms' points and where their spectra leave the
    cache, and near the choice between a few large tiles and many small ones its error is
    larger than the gap: 2048² * 101x101 (values and weights with holes) was cut into 18
    tiles of 450x800 at 107 ms a call where 4 of 1152² took 84 (Intel Xeon), and 4096² *
    31x31 into 336x256 tiles that the larger ones did not beat. The tiled executor's evenly
    spread lengths seldom include the shortest for a count; this executor prices those, so
    that a trial (`fftconv.engine.trials`) times the few large tiles beside the many small.
    It only contends there (`trial_only`): chosen by the model alone it had cut 1024² *
    101x101 'constant' into 6 tiles of 448x640 (13.5 ms) where the whole image's 1080²
    transform takes 9.9 ms.

    Examples
    --------
    >>> from fftconv.core.problem import Spec
    >>> from fftconv.planning.costs import DEFAULT_COSTS
    >>> spec = Spec.of_shapes((2148, 2148), (101, 101), "valid")
    >>> FewTiles().applies(spec)
    True
    >>> FewTiles().estimate(spec, DEFAULT_COSTS, None).layout.tiles <= FEW_TILES ** 2
    True
    >>> FewTiles().applies(Spec.of_shapes((300, 400), (15, 15), "same"))  # in the cache
    False
    """

    name = "tiled.few"
    trial_only = True

    def applies(self, spec: Spec, forced: bool = False) -> bool:
        """Where the whole array's spectra (every batch item's) outgrow a core's L2 cache
        (`fftconv.core.memory.l2_bytes`), ``method='tiled'`` or not: smaller transforms run
        in the cache whatever their tiles, as the model prices them (and the tiled executor
        serves them)."""
        if not super().applies(spec, forced):
            return False
        dtype = self.compute_dtype(spec)
        spectra = math.prod(self.whole_layout(spec).fft_shape) * spec.batch_points * dtype.itemsize
        return spectra > l2_bytes()

    def axis_lengths(self, n2: int, w: Window, n_whole: int, even: bool, rank: int) -> list[int]:
        """`few_tile_lengths`."""
        return few_tile_lengths(n2, w, n_whole, even)


@functools.lru_cache(maxsize=16)
def _layout_options(executor: OverlapSaveTiles, spec: Spec) -> tuple[tuple[tuple[int, bool], ...], ...]:
    """`OverlapSaveTiles.layout_options`, computed once for the planner's bound and search."""
    return executor._options(spec)


@functools.lru_cache(maxsize=16)
def _floors(executor: OverlapSaveTiles, spec: Spec, costs: CostModel, repeated: bool) -> np.ndarray:
    """`OverlapSaveTiles.floors`, computed once for the planner's bound (``repeated``: of the
    estimate a repeated call competes with) and search (read only)."""
    floors = executor.floors(spec, costs, executor.layout_options(spec), repeated)
    floors.flags.writeable = False
    return floors


def _branch_and_bound(per_axis: Sequence[Sequence[tuple[int, bool]]], floors: np.ndarray, cost) -> float:
    """Price layouts in the order of their floors until the cheapest priced one costs no more
    than the next floor: the layout the exhaustive search would find, for a few prices where
    the floors are tight (at most `MOST_PRICED`: then the cheapest of those); the cheapest
    priced cost (inf if none fits the memory limit)."""
    left = floors.ravel().copy()
    best = math.inf
    for _ in range(MOST_PRICED):
        i = int(np.argmin(left))
        if not left[i] < best:
            break
        left[i] = np.inf
        index = np.unravel_index(i, floors.shape)
        best = min(best, cost(tuple(options[j] for options, j in zip(per_axis, index))))
    return best


def _descend(per_axis: Sequence[Sequence[tuple[int, bool]]], cost) -> None:
    """The search where no layout the branch and bound priced fits the memory limit:
    coordinate descent over the axes' options from several starts: the smallest layout
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
