"""The normalised filter of one block, read and combined tile by tile on the FFTs.

`fftconv.engine.holes.filter_with_holes` filters a block already extended by its halo, its
values and weights stacked as a batch of two: beside the two planes of sums it computes,
three copies of the block. Where the planner picks a spectral executor for the block, this
module computes the same from the source itself: each overlap-save tile's values (holes
zeroed) and weights are read by the boundary mode straight into the transform's batch of two
(`fill_extended`), and each tile's two sums are combined by the rule into the output where
the transform leaves them, so a block costs its transform buffers. The outputs whose weight
sum is small (where a transform's rounding matters: `holes.refine_small_weights`) are summed
again directly from the source, a band of rows at a time, once every tile is written.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np

from .. import background
from ..backends.threads import kernel_fft_threads
from ..core.dtypes import cast
from ..core.geometry import Segment
from ..core.problem import NDIMAGE
from ..executors.base import NonFiniteInput
from ..executors.spectral import convolve_spectral, extended_layout, kernel_spectrum, unextended_tiles
from ..executors.zero_border import border_constant
from ..planning.plan import Plan
from .holes import (
    BOOL,
    Holes,
    combine,
    combine_into,
    exact_sums,
    marked,
    marked_pixels,
    own_pixels,
    read_planes,
    refine_limit,
    smallest_first,
)

#: Most bytes of extended source (values and weights) read at once to sum small weights again.
REFINE_BAND_BYTES = 8 << 20


class HoleTiles:
    """The normalised correlation of the block whose extended source coordinates are
    ``ranges`` with ``kernel`` by ``rule``, planned as ``plan`` (the block's batch of values
    and weights, 'valid', on a spectral executor); ``lo``: the source index of the block's
    first output. Serves blocks whose every axis is filtered; `__call__` declines (returns
    False) any other, and a source with infinite values (the tiles' DC bins show them)."""

    def __init__(self, ranges: Sequence[tuple[int, int]], lo: Sequence[int], mode: str, cval: object,
                 kernel: np.ndarray, plan: Plan, rule: Holes):
        self.layout = extended_layout(ranges, kernel, plan, (2,))  # values and weights
        self.serves = self.layout is not None
        self.ranges, self.lo = [tuple(r) for r in ranges], list(lo)
        self.mode, self.cval, self.plan, self.rule = mode, cval, plan, rule
        self.correlation = kernel

    def __call__(self, source: np.ndarray, mask: np.ndarray | None, out: np.ndarray) -> bool:
        """Write the block's outputs into ``out`` (the block's shape, cast as scipy.ndimage
        casts); False where this block is not served (``out`` is then incomplete)."""
        if not self.serves:
            return False
        background.note_call()
        plan, layout, dtype = self.plan, self.layout, self.plan.compute_dtype
        flipped = np.flip(self.correlation)  # the spectral executors convolve
        border = border_constant(self.mode, self.cval)  # a halo of zeros, or of holes: none to transform
        unextended = unextended_tiles(self.ranges, source.shape, flipped, self.mode, border is not None, plan,
                                      True, dtype)
        # a 'constant' border of 0 is valid: its weights are ones, which only the weights less
        # one (zero there, -1 at a hole) leave out of the zero-padded image's transform
        less_one = unextended is not None and border == "zero"
        kernel_sum = dtype.type(self.correlation.sum(dtype=np.float64)) if less_one else None
        if unextended is not None:  # the whole image's own period, or a halo of zeros: no halo to transform
            layout, spectrum, starts = unextended
        else:
            spectrum = kernel_spectrum(flipped, layout.fft_shape, True, dtype,
                                       kernel_fft_threads(layout.fft_shape, plan.threads), plan.backend)
            starts = [a for a, _ in self.ranges]
        limit = refine_limit(self.correlation)
        small: list[tuple[tuple[np.ndarray, ...], np.ndarray]] = []

        def read(tile: tuple[Segment, ...], into: np.ndarray) -> None:
            region = [(a + s.in_start, a + s.in_stop) for a, s in zip(starts, tile)]
            read_planes(source, mask, region, self.mode, self.cval, *into, less_one=less_one)

        def write(tile: tuple[Segment, ...], sums: np.ndarray) -> None:
            keep = tuple(slice(s.out_offset, s.out_offset + s.count) for s in tile)
            numerator, denominator = sums[0], sums[1]
            own = [lo + k.start for lo, k in zip(self.lo, keep)]  # the tile's first output in the source
            centre = functools.partial(marked_pixels, source, mask, dtype, own)  # read only where asked
            # every output's footprint lies in the extended block: with the weights less one, its
            # weights sum the kernel's, added as the outputs are divided
            offset = kernel_sum if less_one else 0.0
            # the division counts the small sums: finding them in the whole tile costs more
            if combine_into(out, keep, out.dtype, numerator, denominator, centre, self.correlation, self.rule,
                            offset, limit):
                if less_one:
                    np.add(denominator, kernel_sum, out=denominator)
                at = marked(np.abs(denominator) < limit)
                small.append((tuple(i + s.out_offset for i, s in zip(at, tile)), denominator[at]))

        try:
            convolve_spectral(None, flipped, np.empty((2,) + (0,) * len(layout.fft_shape), dtype), layout,
                              plan.threads, spectrum=spectrum, check_input=True, backend=plan.backend,
                              read_tile=read, write_tile=write)
        except NonFiniteInput:
            return False
        if small:
            self._sum_again(source, mask, small, out, dtype)
        return True

    def _sum_again(self, source, mask, small, out: np.ndarray, dtype) -> None:
        """Exact direct sums for the outputs of smallest weight sums (`smallest_first`), read
        from the source in bands of rows of at most `REFINE_BAND_BYTES`, combined again."""
        rank = len(self.ranges)
        positions = tuple(np.concatenate([points[a] for points, _ in small]) for a in range(rank))
        denominators = np.concatenate([d for _, d in small])
        chosen = smallest_first(np.arange(denominators.size), denominators, self.correlation.size)
        chosen = chosen[np.argsort(positions[0][chosen], kind="stable")]  # by row, for the bands
        positions = tuple(p[chosen] for p in positions)
        rows, reach = positions[0], self.correlation.shape[0]
        row_bytes = 2 * np.dtype(dtype).itemsize * math.prod(b - a for a, b in self.ranges[1:])
        band = max(REFINE_BAND_BYTES // max(row_bytes, 1) - reach + 1, 1)
        sums = np.empty((2, rows.size), dtype)
        start = 0
        while start < rows.size:
            first = int(rows[start])
            stop = int(np.searchsorted(rows, first + band))
            last = int(rows[stop - 1])
            top = self.ranges[0][0]
            region = [(top + first, top + last + reach)] + self.ranges[1:]
            shape = tuple(b - a for a, b in region)
            values, weights = np.empty(shape, dtype), np.empty(shape, BOOL)
            read_planes(source, mask, region, self.mode, self.cval, values, weights)
            inside = (rows[start:stop] - first,) + tuple(p[start:stop] for p in positions[1:])
            sums[:, start:stop] = exact_sums(values, weights, self.correlation, inside)
            start = stop
        own = tuple(lo + p for lo, p in zip(self.lo, positions))

        def centre(empty: np.ndarray) -> np.ndarray:
            return own_pixels(source, mask, tuple(p[empty] for p in own), dtype)
        result = combine(sums[0], sums[1], centre, self.correlation, self.rule)
        out[positions] = cast(result, out.dtype, NDIMAGE.integers)

