"""The 'tiled' executor: overlap-save FFT tiles, the tile shape searched over fast lengths.

Each convolved axis is either transformed whole or cut into tiles of a fast length; every
combination of the candidate lengths is priced by the cost model and the cheapest whose
buffers fit the memory limit wins. Where no axis can be cut, the one tile is the whole array.
"""

from __future__ import annotations

import itertools
import math

from ..core.geometry import Window
from ..core.problem import Spec
from ..planning.costs import CostModel
from .base import Estimate
from .fft_lengths import fast_lengths_between
from .spectral import FFTLayout, SpectralExecutor, operand_bytes, spectral_seconds, spectral_workspace

#: Tile lengths tried per axis (evenly spread over the fast lengths in range): 14 per axis
#: keeps a 3-D search at 15**3 layouts (~20 ms on the reference machine, once per problem
#: shape: plans are cached).
MAX_CANDIDATES_PER_AXIS = 14
#: Shortest tile: below this the per-tile overhead (copies, calls) outweighs any saving.
MIN_TILE = 16


def tile_lengths(n2: int, window: Window, whole: int, even: bool) -> list[int]:
    """Candidate tile lengths of one axis: fast lengths from twice the kernel (shorter tiles
    spend over half their outputs on the overlap) up to the whole-axis length, or four times
    the output where that is shorter (a 'valid' window much shorter than its input).

    Examples
    --------
    >>> from fftconv.core.geometry import output_window
    >>> tile_lengths(3, output_window(100, 3, "same"), 108, True)[:4]
    [16, 18, 24, 28]
    """
    lo = max(2 * n2, MIN_TILE)
    hi = min(whole, max(lo, 4 * window.length))
    lengths = [n for n in fast_lengths_between(lo, hi, even) if n < whole]
    if len(lengths) > MAX_CANDIDATES_PER_AXIS:
        step = len(lengths) / MAX_CANDIDATES_PER_AXIS
        lengths = [lengths[int(i * step)] for i in range(MAX_CANDIDATES_PER_AXIS)]
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

    def estimate(self, spec: Spec, costs: CostModel, memory_limit: int | None) -> Estimate:
        whole = self.whole_layout(spec)
        dtype = self.compute_dtype(spec)
        real = dtype.kind != "c"
        operands = operand_bytes(spec.shape1, spec.windows, spec.batch_points, dtype)
        per_axis = []
        for i, (n2, w, n_whole) in enumerate(zip(spec.shape2, spec.windows, whole.fft_shape)):
            options = [(n, True) for n in tile_lengths(n2, w, n_whole, real and i == spec.rank - 1)]
            per_axis.append([(n_whole, False)] + options)
        best = smallest = None  # (seconds, workspace, fft shape, tiled axes, tiles)
        for combo in itertools.product(*per_axis):
            tiled = tuple(t for _, t in combo)
            if not any(tiled):
                continue
            fft_shape = tuple(n for n, _ in combo)
            tiles = math.prod(-(-w.length // (n - n2 + 1)) if t else 1
                              for (n, t), n2, w in zip(combo, spec.shape2, spec.windows))
            workspace = spectral_workspace(fft_shape, tiles, spec.batch_points, dtype, real, spec.threads)
            fits = memory_limit is None or workspace <= memory_limit
            if not fits and smallest is not None and workspace >= smallest[1]:
                continue  # neither the fastest that fits nor the smallest
            seconds = spectral_seconds(spec, fft_shape, tiles, dtype, costs, operands)
            candidate = (seconds, workspace, fft_shape, tiled, tiles)
            if smallest is None or workspace < smallest[1]:
                smallest = candidate
            if fits and (best is None or seconds < best[0]):
                best = candidate
        if smallest is None:  # nothing to cut: one tile is the whole array
            return self.layout_estimate(spec, whole, costs)
        seconds, workspace, fft_shape, tiled, tiles = best or smallest
        return Estimate(seconds, workspace, FFTLayout(fft_shape, tiled, tiles))
