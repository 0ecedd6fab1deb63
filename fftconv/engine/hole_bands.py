"""The normalised filter of one block on direct sums, read and combined band by band.

Where a block's plan sums directly (the compiled loops, the separable passes), its outputs are
cut along the first axis into equal bands of about `band_points` outputs. Each band's values
(holes zeroed) and weights are read by the boundary mode into one buffer of two planes that
every band reuses (`holes.read_planes`), summed as a batch of two by one plan whose kernel-only
work (the separable factors) is made once, and combined by the rule into the output. A block
costs one band's planes and sums beside its output, and reads its source once plus a halo a
band (the block extended, then stacked, then summed had cost about 7 images). A separable 2-D
kernel's bands go through one compiled pass instead (`separable_holes`), but where a band holds
an infinity or the pass's rows would not stay in the core's cache.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence

import numpy as np

from ..core import memory
from ..core.problem import Problem
from ..planning.plan import Plan
from . import run, separable_holes
from .holes import combine_into, empty_test, marked_pixels, read_planes

#: Outputs of a band: its values and weights and their two sums cost ~40 bytes an output in
#: float64, so a 1024² image's working memory is 0.6 images beside the output (9 as one band).
#: The quickest size follows a core's L2 cache (`band_points`): an eighth of its bytes, within
#: these bounds. AMD EPYC Zen 4 (1 MiB of L2 a core), astropy's `convolve` with 'fill', best of
#: three runs each: bands of 128K outputs 3-10 % quicker than of 256K on 1024² float32 and
#: float64 images, sigma 1 and 3 (e.g. float32 sigma 3 10.2 against 10.7 ms), on 2048² 0-9 %
#: (float32 sigma 3 49 against 54 ms), 512K 1.5-2x slower; Zen 3 (512 KiB), 9x9 Gaussian: 15 ms
#: in bands of 256K outputs, 22 ms in bands of 64K; Intel Xeon (2 MiB), medians of three rounds:
#: 256K 6-10 % quicker than 128K (1024² float64 sigma 1 8.0 against 8.5 ms, sigma 3 11.7 against
#: 12.9; 2048² 35.7 against 39.3), 512K 1.4x slower on 1024², 3 % quicker on 2048².
LEAST_BAND_POINTS = 1 << 17
MOST_BAND_POINTS = 1 << 18


@functools.cache
def band_points() -> int:
    """Outputs of a band on this machine (see `LEAST_BAND_POINTS`).

    Examples
    --------
    >>> LEAST_BAND_POINTS <= band_points() <= MOST_BAND_POINTS
    True
    """
    cache = memory.l2_bytes()
    return min(max(cache // 8, LEAST_BAND_POINTS), MOST_BAND_POINTS)


def bands(lo: Sequence[int], hi: Sequence[int], halo_rows: int,
          points: int | None = None) -> list[tuple[list[int], list[int]]]:
    """The block ``lo .. hi`` cut along its first axis into equal bands of about ``points``
    outputs (default `band_points`), each at least four halos (``halo_rows``) long: a halo is
    read again a band.

    Examples
    --------
    >>> bands([0, 0], [1000, 500], 8, points=1 << 17)
    [([0, 0], [250, 500]), ([250, 0], [500, 500]), ([500, 0], [750, 500]), ([750, 0], [1000, 500])]
    """
    points = band_points() if points is None else points
    rows = hi[0] - lo[0]
    row_points = math.prod(b - a for a, b in zip(lo[1:], hi[1:]))
    band = max(points // max(row_points, 1), 4 * halo_rows, 1)
    count = -(-rows // band)
    band = -(-rows // count)  # balanced: equal bands, one plan
    return [([lo[0] + start] + list(lo[1:]), [min(hi[0], lo[0] + start + band)] + list(hi[1:]))
            for start in range(0, rows, band)]


class HoleBands:
    """The normalised filter of the block ``lo .. hi`` by ``work`` (a
    `fftconv.engine.blocks.BlockFilter` with holes) and its direct ``plan``, computing in
    ``dtype``, band by band; ``room``: the bytes a band's executor may use (None: no limit).
    One band runs ``plan`` itself (a trial's contender: the caller times the whole block);
    several run its method, planned once for their shape (a band is no signature of its own).
    What depends on the kernel alone (the bands, a separable kernel's factors, each band
    shape's plan and prepared executor) is made once: a call that repeats its signature
    reuses them (`fftconv.engine.blocks.whole_image_holes_route`); the buffers are each call's.

    Examples
    --------
    >>> from fftconv.engine.blocks import BlockFilter
    >>> from fftconv.engine.holes import Holes
    >>> work = BlockFilter(np.ones(3), (0,), (1,), "nearest", 0.0, True, "direct", 1, holes=Holes())
    >>> plan = run.plan(work.problem(np.broadcast_to(np.zeros(()), (7,))), "direct", 1)
    >>> fill = HoleBands([0], [5], work, plan, np.dtype(np.float64), None)
    >>> out = np.empty(5)
    >>> fill(np.array([1.0, np.nan, 3.0, np.nan, 5.0]), None, out, (slice(0, 5),), out.dtype)
    >>> out
    array([1., 2., 3., 4., 5.])
    """

    def __init__(self, lo: Sequence[int], hi: Sequence[int], work, plan: Plan, dtype: np.dtype,
                 room: int | None):
        self.lo, self.hi, self.work, self.plan = list(lo), list(hi), work, plan
        self.dtype, self.room = dtype, room
        self.cut = bands(lo, hi, work.halo(len(lo))[0])
        self.kernel_finite = bool(np.isfinite(work.kernel).all())
        self.down_along = separable_holes.factors(work, plan, dtype, hi[-1] - lo[-1])
        # what each call's bands would work out again: their extended ranges, the empty test
        self.ranges = [work.extended_ranges(band_lo, band_hi) for band_lo, band_hi in self.cut]
        self.emptiness = None if self.down_along is None else empty_test(work.kernel, dtype, work.holes)
        self.prepared_for: dict[tuple[int, ...], tuple[Problem, Plan, object]] = {}

    def __call__(self, source, mask, output, target: tuple[slice, ...], out_dtype: np.dtype) -> None:
        """Write the block's outputs of ``source`` (``mask``: its holes beside the NaN, or
        None) into ``output[target]``, cast to ``out_dtype``."""
        lo, work, dtype = self.lo, self.work, self.dtype
        in_memory = isinstance(output, np.ndarray) and isinstance(source, np.ndarray)
        if in_memory and np.may_share_memory(output, source):
            # a band's outputs would overwrite the rows the next band reads: the block apart, then in
            block = np.empty(tuple(b - a for a, b in zip(lo, self.hi)), out_dtype)
            self(source, mask, block, tuple(slice(0, n) for n in block.shape), out_dtype)
            output[target] = block
            return
        storage: np.ndarray | None = None
        shared: dict[str, np.ndarray] = {}  # the one-pass route's buffers
        for (band_lo, band_hi), ranges in zip(self.cut, self.ranges):
            first = [a + t.start - b for a, t, b in zip(band_lo, target, lo)]
            place = tuple(slice(f, f + b - a) for f, a, b in zip(first, band_lo, band_hi))
            if self.down_along is not None and separable_holes.filter_band(
                    source, mask, ranges, band_lo, work, self.down_along, dtype, self.plan.threads, output,
                    place, out_dtype, shared, self.emptiness):
                continue
            shape = tuple(b - a for a, b in ranges)
            if storage is None:  # the first band is the largest
                storage = np.empty(2 * math.prod(shape), dtype)
            planes = storage[: 2 * math.prod(shape)].reshape((2,) + shape)
            finite = read_planes(source, mask, ranges, work.mode, work.cval, planes[0], planes[1])
            problem, band_plan, prepared = self._prepared(shape, planes)
            sums = run.execute(problem, band_plan, prepared=prepared, finite=finite and self.kernel_finite)
            centre = functools.partial(marked_pixels, source, mask, dtype, band_lo)
            combine_into(output, place, out_dtype, sums[0], sums[1], centre, work.kernel, work.holes)

    def _prepared(self, shape: tuple[int, ...], planes: np.ndarray) -> tuple[Problem, Plan, object]:
        """The problem of a band of ``shape`` whose values and weights are ``planes``, its plan
        and prepared executor (kept from the first such band planned in full)."""
        known = self.prepared_for.get(shape)
        if known is not None:
            return known[0].with_image(planes), known[1], known[2]
        problem = self.work.block_problem(planes[0]).with_image(planes)
        plan = self.plan
        if len(self.cut) == 1:
            band_plan = plan if plan.trial is None else dataclasses.replace(plan, trial=None)
        else:
            band_plan = run.plan(problem, plan.method, plan.threads, memory_limit=self.room, for_call=True)
        prepared = run.prepare(problem, band_plan)
        if not band_plan.first_sight:  # a band shape's first plan is made again till planned in full
            # kept with a stand-in image (`BlockFilter.template`), not this call's buffer
            self.prepared_for[shape] = self.work.template(shape, self.dtype), band_plan, prepared
        return problem, band_plan, prepared
