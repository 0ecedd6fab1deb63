"""Filtering in blocks under a memory budget: images bigger than memory, memmaps, datasets.

The output is cut into blocks (batch axes first, then the filtered axes from the outermost,
so a C-ordered memmap is read in contiguous bands). Each block's extended input (its halo
filled by the boundary mode) is read from the source with `read_extended`, convolved or
correlated in 'valid' mode through the core (whichever executor its planner picks) and
written into the output. A block's memory is its operands (the extended input as read and
as computed, the result as computed and as cast) plus the chosen executor's own workspace,
which the planner keeps within what the budget leaves: block sizing never restates an
executor. A budget too small for even the thinnest block is refused before any work.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .. import config
from ..core.boundary import read_extended
from ..core.dtypes import cast, compute_dtype, result_dtype
from ..core.problem import NDIMAGE, Problem
from ..executors import registry
from ..executors.separable import SEPARABLE_MIN_POINTS
from ..executors.spectral import SpectralExecutor
from ..executors.zero_border import border_constant
from ..planning import calibrate
from ..planning.plan import MemoryLimitError, Plan, format_bytes
from . import run, separable_holes
from .border_plans import border_plan
from .footprint import Footprint
from .hole_bands import HoleBands
from .hole_tiles import HoleTiles
from .holes import Holes, filter_with_holes
from .holes import compute_dtype as compute_dtype_of_holes
from .lane import FOREVER, Lease

#: Budget for sources that are not in-memory arrays (memmaps, datasets) when no
#: ``[memory] limit`` is configured: blocks of this size are large enough that halo re-reads
#: and per-block planning cost little, and small enough for any machine that runs NumPy.
DEFAULT_STREAM_BUDGET = 256 << 20
BOOL = np.dtype(bool)


@dataclass(frozen=True)
class BlockPlan:
    """How a filter is cut: the output block shape, how many blocks, and the bytes a block's
    executor may use beside its operands (None: no budget)."""

    block: tuple[int, ...]
    blocks: int
    room: int | None


@dataclass(frozen=True)
class BlockFilter:
    """One filter to run in blocks: the kernel (one axis per source axis, 1 where not
    filtered), the filtered axes, the samples each output's sum reads before it on each axis,
    the boundary mode and value, convolution or scipy.ndimage's correlation, and the method
    and threads the planner may use."""

    kernel: np.ndarray
    axes: tuple[int, ...]
    before: tuple[int, ...]
    mode: str
    cval: object
    correlate: bool
    method: str
    threads: int
    #: NaN pixels are holes filled by normalised convolution (`fftconv.engine.holes`), or
    #: replaced by ``fill`` (a number), or, both None, kept as values (they spread).
    holes: Holes | None = None
    fill: float | None = None
    #: The kernel was folded for this image's samples being finite (`fftconv.ndimage.filters`):
    #: it filters no other image.
    for_finite_image: bool = False
    #: scipy.ndimage's N-D loop leaves out some of the weights (zeroed in ``kernel``): the
    #: caller sums the non-finite outputs again over the others (`fftconv.engine.footprint`).
    footprint: Footprint | None = None

    def one_row(self) -> BlockFilter:
        """This filter of a 1-D image as the filter of that image seen as one row (a 2-D kernel
        of one row), whose holes the rows' one compiled pass fills (`separable_holes`): a
        1-D filter's values and weights had been split, summed and divided in three passes,
        2-3x slower at every length (Intel Xeon, 1 thread: 1,000 samples * 5 taps 76 -> 23 us,
        10**6 samples 9.1 -> 3.4 ms)."""
        return dataclasses.replace(self, kernel=self.kernel[None], axes=(0, 1), before=(0, *self.before))

    def along_lines(self, long: int, axis: int, ndim: int) -> BlockFilter:
        """This filter, whose kernel is longer than 1 on axis ``long`` alone, of its image seen
        as lines along ``axis`` of a view of ``ndim`` axes (`fftconv.core.lines.line_shape`:
        the axes before and after the kernel's made one each)."""
        kernel = self.kernel.reshape([self.kernel.shape[long] if a == axis else 1 for a in range(ndim)])
        before = tuple(self.before[long] if a == axis else 0 for a in range(ndim))
        return dataclasses.replace(self, kernel=kernel, axes=tuple(range(ndim)), before=before)

    def halo(self, ndim: int) -> list[int]:
        return [self.kernel.shape[a] - 1 if a in self.axes else 0 for a in range(ndim)]

    def extended_ranges(self, lo: Sequence[int], hi: Sequence[int]) -> list[tuple[int, int]]:
        """The source coordinates of the block ``lo .. hi`` extended by its halo."""
        halo = self.halo(len(lo))
        return [(lo[a] - self.before[a], hi[a] - self.before[a] + halo[a]) if a in self.axes
                else (lo[a], hi[a]) for a in range(len(lo))]

    def problem(self, extended: np.ndarray) -> Problem:
        """The block's problem; for a filter with holes, the batch of values and weights (from
        a template: the values are filled in by `fftconv.engine.holes`)."""
        if self.holes is not None:
            return Problem.build(np.broadcast_to(extended, (2, *extended.shape)), self.kernel[None], "valid",
                                 [a + 1 for a in self.axes], correlate=self.correlate, conventions=NDIMAGE)
        return Problem.build(extended, self.kernel, "valid", list(self.axes), correlate=self.correlate,
                             conventions=NDIMAGE)

    def template(self, shape: Sequence[int], dtype: np.dtype) -> Problem:
        """`block_problem` of a block extended to ``shape`` in ``dtype``, before its values are
        read (zeros stand in for them: plans are made from shapes)."""
        return self.block_problem(np.broadcast_to(np.zeros((), dtype), tuple(shape)))

    def block_problem(self, extended: np.ndarray) -> Problem:
        """`problem` of a block read with its halo: its values' copy in the compute dtype is
        counted with the block's operands (`operand_bytes`), not again in an executor's
        workspace (`fftconv.core.problem.Spec.image_dtype`)."""
        problem = self.problem(extended)
        return dataclasses.replace(problem, read_as=compute_dtype(problem.result_dtype, True))

    def planned(self, ranges: Sequence[tuple[int, int]], dtype: np.dtype, room: int | None,
                source_shape: Sequence[int], **options) -> tuple[Problem, Plan]:
        """The `template` of the block extended over ``ranges`` and its plan (`run.plan` with
        ``options``), or the transform of a periodic or zero-bordered whole image without its
        halo where that is quicker (`border_plan`)."""
        template = self.template([b - a for a, b in ranges], dtype)
        plan = run.plan(template, self.method, self.threads, memory_limit=room, **options)
        unpriced = plan.first_sight or plan.method == "direct" or not _rank_tested(template)
        if self.holes is not None and unpriced:  # the one pass's fusion: see `_one_pass_first`
            plan = self._one_pass_first(template, plan, ranges, room, options)
        return template, self.bordered(plan, template, ranges, source_shape, room)

    def bordered(self, plan: Plan, template: Problem, ranges: Sequence[tuple[int, int]],
                 source_shape: Sequence[int], room: int | None) -> Plan:
        """``plan`` (one of `planned`'s, or a contender of its trial), or the transform of a
        periodic or zero-bordered whole image without its halo where that is quicker
        (`border_plan`)."""
        return border_plan(plan, template, self.mode, self.zero_border, self.method, self.threads, ranges,
                           source_shape, room)

    def _one_pass_first(self, template: Problem, first: Plan, ranges: Sequence[tuple[int, int]],
                        room: int | None, options: dict) -> Plan:
        """The separable passes for a filter with holes by a rank-1 kernel over both axes,
        where its bands go through one compiled pass (`fftconv.engine.separable_holes`),
        priced as the compiled separable passes over the two planes (`one_pass_seconds`), and
        that is under ``first`` with what the general route adds to its executor's sums (its
        bands' calls, split and division: `_general_route_seconds`). ``first``: a new
        signature's first-sight plan (the short list's pick, which leaves them out: the rank
        test costs a plain call more than it saves), an image too small for the planner to
        test the kernel's rank, or a direct sum (the planner prices the separable passes
        without the fusion). Intel Xeon, 1 thread: astropy's ``convolve`` of 1024² float32
        with holes, 9x9 Gaussian, fresh process: first call 18.4 ms on the short list's pick;
        repeated calls with holes, 32² * 5x5 box: 25 us in the one pass, 52 on the direct sum
        the planner had picked; 10**6 samples * 5 taps as one row: 3.3 ms, 9.4 on the running
        sums."""
        if not separable_holes.over_both_axes(self) or self.method != "auto" or first.method == "separable":
            return first
        try:  # its executor sums the bands the pass declines (an infinity)
            separable = run.plan(template, "separable", self.threads, memory_limit=room, **options)
        except (ValueError, TypeError, MemoryLimitError):  # not rank-1, or over the limit
            return first
        cols = ranges[-1][1] - ranges[-1][0] - (self.kernel.shape[-1] - 1)
        if separable_holes.factors(self, separable, compute_dtype_of_holes(template.x.dtype), cols) is None:
            return first  # the general route's passes would serve it
        costs = calibrate.costs_for(config.get())[0]
        one_pass = separable_holes.one_pass_seconds(first.spec, costs)
        if one_pass >= first.candidates[first.executor].seconds + _general_route_seconds(template, costs):
            return first
        if not first.first_sight:
            return dataclasses.replace(separable, reason=(
                f"a filter with holes: the separable passes in one compiled pass a band, estimated at "
                f"{one_pass * 1e6:.0f} us, under {first.executor} with its bands' calls"))
        instead = dataclasses.replace(separable, first_sight=True, reason=(
            "a new signature's first call with holes: the separable passes (one compiled pass a band), "
            f"estimated under the short list's pick ({first.executor})"))
        run.ran_first(first, instead)
        return instead

    @property
    def zero_border(self) -> bool:
        """Whether the transforms may read the halo as zeros (`fftconv.executors.zero_border`): a
        'constant' border of 0, or, in a filter with holes, of NaN (holes) or 0 (valid zeros,
        whose weights `fftconv.engine.hole_tiles` transforms less one)."""
        border = border_constant(self.mode, self.cval)
        return border == "zero" or (border == "nan" and self.holes is not None)

    def prepare_values(self, extended: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        """A block's extended values as the filter sums them: masked pixels made holes (NaN),
        holes filled by ``fill``."""
        if mask is None and self.fill is None:
            return extended
        if extended.dtype.kind not in "fc":
            extended = extended.astype(compute_dtype_of_holes(extended.dtype))
        if mask is not None:
            extended[mask] = np.nan
        if self.fill is not None:
            extended[np.isnan(extended)] = self.fill
        return extended


def operand_bytes(block: Sequence[int], halo: Sequence[int], source: np.dtype, out: np.dtype,
                  result: np.dtype) -> int:
    """Bytes of one block's operands: the extended input as read and as computed, the result
    as computed and as cast (computed in the wider of the executors' compute dtypes).

    Examples
    --------
    >>> import numpy as np
    >>> f8 = np.dtype("f8")
    >>> operand_bytes((10, 100), (0, 2), f8, f8, f8)
    32320
    """
    compute = max(compute_dtype(result, True).itemsize, compute_dtype(result, False).itemsize)
    ext = math.prod(b + h for b, h in zip(block, halo))
    return ext * (np.dtype(source).itemsize + compute) + math.prod(block) * (compute + np.dtype(out).itemsize)


#: Blocks whose halo makes them read more than this many times as many samples as they
#: output are warned of: their reads and each block's own planning then cost most of the call
#: (a 130x17x130 image with holes and an 11x11x11 kernel under a 256 KiB limit: 8,840 bands of
#: 33 outputs, 3.4 s where one block takes 0.05 s).
HALO_BOUND_READS = 8


def plan_blocks(shape: Sequence[int], source_dtype: np.dtype, out_dtype: np.dtype, work: BlockFilter,
                budget: int | None) -> BlockPlan:
    """The balanced block whose operands and executor workspace fit ``budget`` bytes (None:
    one block) at the fewest estimated seconds (`_seconds`): bands, batch axes split first, then
    the filtered axes from the outermost, so that a C-ordered memmap is read in contiguous runs;
    or, where its blocks are estimated `BANDS_FAVOURED` times quicker, the block that halves
    whichever axis is longest beside its halo (a volume's kernel under a tight limit: bands one
    plane thick, each reading its 8-plane halo). Each cut is halved past the first block that
    fits while that is estimated quicker (`_quickest_halving`).

    Examples
    --------
    >>> import numpy as np
    >>> work = BlockFilter(np.ones((1, 1)), (0, 1), (0, 0), "reflect", 0.0, True, "direct", 1)
    >>> p = plan_blocks((1000, 1000), np.dtype("f4"), np.dtype("f4"), work, 2 << 20)
    >>> p.block, p.blocks
    ((63, 1000), 16)
    >>> round(_reads((1, 96, 384), (8, 8, 8)), 1), round(_reads((48, 48, 96), (8, 8, 8)), 1)  # a 9x9x9 kernel
    (10.0, 1.5)
    """
    shape = tuple(int(n) for n in shape)
    if budget is None:  # one block: its plan is made when its values are read
        return BlockPlan(shape, 1, None)
    halo = work.halo(len(shape))
    order = [a for a in range(len(shape)) if a not in work.axes] + sorted(work.axes)
    block, plan = _quickest_halving(shape, halo, source_dtype, out_dtype, work, budget,
                                    lambda b: next((a for a in order if b[a] > 1), None))
    if block != list(shape):
        # the axis whose halving adds the least halo: the longest beside its halo (batch axes first)
        def longest(b: list[int]) -> int | None:
            return max((a for a in order if b[a] > 1), key=lambda a: b[a] / (halo[a] + 1), default=None)
        other, other_plan = _quickest_halving(shape, halo, source_dtype, out_dtype, work, budget, longest)
        # kept where its blocks cost less in all: a block's room also decides its executor (a
        # 9x9x9 block of an 11x11x11 kernel left 19 KB: shifted sums, 8 ms each); bands, read
        # as contiguous runs of a memmap, where they cost as little
        if _seconds(shape, other, other_plan) < _seconds(shape, block, plan) / BANDS_FAVOURED:
            block = other
    counts = [-(-n // b) for n, b in zip(shape, block)]
    block = [-(-n // c) for n, c in zip(shape, counts)]  # balanced: equal blocks, no sliver
    room = budget - _operands(block, halo, source_dtype, out_dtype, work)  # >= the room found
    return BlockPlan(tuple(block), math.prod(counts), room)


def _halved_to_fit(shape: tuple[int, ...], halo: Sequence[int], source_dtype: np.dtype, out_dtype: np.dtype,
                   work: BlockFilter, budget: int, next_axis: Callable[[list[int]], int | None]
                   ) -> tuple[list[int], Plan]:
    """The block that halving ``next_axis(block)`` (None: no axis left) from the whole image
    leaves once its operands and its executor's workspace fit ``budget``, and its plan;
    `MemoryLimitError` with the numbers where even a block of one output does not fit."""
    block = list(shape)
    while True:
        operands = _operands(block, halo, source_dtype, out_dtype, work)
        plan = _plan_block(block, halo, source_dtype, work, budget - operands)
        if plan is not None:
            return block, plan
        axis = next_axis(block)
        if axis is None:
            smallest = operands + _plan_block(block, halo, source_dtype, work, None).workspace
            raise MemoryLimitError(
                f"the memory limit of {_mib(budget)} is too small: filtering shape {shape} with a "
                f"{work.kernel.shape} kernel needs at least {_mib(smallest)} for its smallest block "
                f"{tuple(block)} (halo {tuple(halo)}); raise [memory] limit (or FFTCONV_MEMORY_LIMIT)"
            )
        block[axis] = -(-block[axis] // 2)


def _quickest_halving(shape: tuple[int, ...], halo: Sequence[int], source_dtype: np.dtype,
                      out_dtype: np.dtype, work: BlockFilter, budget: int,
                      next_axis: Callable[[list[int]], int | None]) -> tuple[list[int], Plan]:
    """`_halved_to_fit`'s block, or one halved further the same way (up to `MORE_HALVINGS`
    beyond the last that was quicker) whose blocks' estimated seconds are fewer: a smaller
    block leaves its executor more room, which may let a quicker one run (3000² float32 with a
    41x41 kernel under 4 MiB: bands of 24 rows left shifted sums 0.13 s each, 46 s in all,
    where the compiled loop's rows of 1.1 MB fit beside a narrower block)."""
    block, plan = _halved_to_fit(shape, halo, source_dtype, out_dtype, work, budget, next_axis)
    if block == list(shape) or not _confined(block, halo, source_dtype, work, plan):
        return block, plan
    best, seconds, misses = (block, plan), _seconds(shape, block, plan), 0
    while misses < MORE_HALVINGS:
        axis = next_axis(block)
        if axis is None:
            break
        block = list(block)
        block[axis] = -(-block[axis] // 2)
        plan = _plan_block(block, halo, source_dtype, work, budget - _operands(block, halo, source_dtype,
                                                                                    out_dtype, work))
        estimate = math.inf if plan is None else _seconds(shape, block, plan)
        if estimate < seconds:
            best, seconds, misses = (block, plan), estimate, 0
        else:
            misses += 1
    return best


def _confined(block: Sequence[int], halo: Sequence[int], source_dtype: np.dtype, work: BlockFilter,
              plan: Plan) -> bool:
    """Whether ``plan``, made within a block's room, runs another executor than the block
    would with no limit: only then may a smaller block's room let a quicker one run."""
    free = _plan_block(list(block), halo, source_dtype, work, None)
    return free is not None and free.executor != plan.executor


#: Halvings `_quickest_halving` tries past the last block that was quicker.
MORE_HALVINGS = 4
#: Bands are kept unless the other cut is estimated this many times quicker: they read a
#: C-ordered memmap in contiguous runs, which the estimates leave out.
BANDS_FAVOURED = 1.25
#: What a block costs beside its sums: reading its extended input, planning, writing (8,840
#: blocks of 33 outputs of a 130x17x130 image: 3.4 s, 0.02 ms of it a block's sums; Intel Xeon).
BLOCK_SECONDS = 3e-4


def _seconds(shape: Sequence[int], block: Sequence[int], plan: Plan) -> float:
    """The estimated seconds of filtering ``shape`` in blocks of ``block`` planned as ``plan``."""
    blocks = math.prod(-(-n // b) for n, b in zip(shape, block))
    return blocks * (plan.estimates.get(plan.method, 0.0) + BLOCK_SECONDS)


def _operands(block: Sequence[int], halo: Sequence[int], source_dtype: np.dtype, out_dtype: np.dtype,
              work: BlockFilter) -> int:
    """`operand_bytes` of a block of ``work``, for both planes (values and weights) of a filter
    with holes."""
    result = result_dtype(np.dtype(source_dtype), work.kernel.dtype, NDIMAGE.result)
    planes = 2 if work.holes is not None else 1
    return planes * operand_bytes(block, halo, source_dtype, out_dtype, result)


def _reads(block: Sequence[int], halo: Sequence[int]) -> float:
    """Samples a block reads with its halo, per output."""
    return math.prod(b + h for b, h in zip(block, halo)) / math.prod(block)


def block_plan(shape: Sequence[int], source_dtype: np.dtype, work: BlockFilter, out_dtype: np.dtype,
               budget: int | None) -> tuple[BlockPlan, Plan]:
    """The blocks of a filter of an image of ``shape`` within ``budget`` bytes and the plan of
    its first block (the whole image's when it is one block), as `filter_in_blocks` makes
    them, before any value is read: what `fftconv.ndimage.plan` explains.

    Examples
    --------
    >>> work = BlockFilter(np.eye(9), (0, 1), (4, 4), "reflect", 0.0, True, "auto", 1)
    >>> layout, plan = block_plan((512, 512), np.dtype("f4"), work, np.dtype("f4"), 1 << 20)
    >>> layout.blocks, layout.block
    (8, (64, 512))
    """
    ext_dtype = extension_dtype(np.dtype(source_dtype), work)
    layout = plan_blocks(shape, ext_dtype, out_dtype, work, budget)
    plan = _plan_block(list(layout.block), work.halo(len(shape)), ext_dtype, work, layout.room)
    if plan is not None and layout.blocks == 1:
        ranges = work.extended_ranges([0] * len(shape), list(shape))
        template = work.template([b - a for a, b in ranges], ext_dtype)
        plan = border_plan(plan, template, work.mode, work.zero_border, work.method, work.threads, ranges,
                           shape, layout.room)
    return layout, plan


def _plan_block(block, halo, source_dtype, work: BlockFilter, room: int | None) -> Plan | None:
    """The plan of a block whose executor may use ``room`` bytes (None: any), made before
    its values are read; None if nothing fits."""
    if room is not None and room < 0:
        return None
    template = work.template([b + h for b, h in zip(block, halo)], source_dtype)
    try:
        return run.plan(template, work.method, work.threads, memory_limit=room,
                        image_known=False)
    except MemoryLimitError:
        return None


def _progress_bar(blocks: int, shown: bool, label: str):
    """tqdm's bar over the blocks, labelled ``label``, when ``shown`` and stderr is a terminal
    (tqdm's ``disable=None``: no carriage returns in logs), else a stand-in (tqdm's disabled
    bar costs ~20 us, as much as a small filter)."""
    if shown:
        from tqdm.auto import tqdm

        return tqdm(total=blocks, desc=label, unit="block", disable=None)
    return contextlib.nullcontext(_NoBar())


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass


def _extended_dtype(dtype: np.dtype, cval) -> np.dtype:
    """The source's dtype, or a wider one when ``cval`` does not fit it (2.5 beyond an integer
    image: scipy.ndimage sums it in double)."""
    value = np.asarray(cval)
    wider = np.result_type(dtype, value.dtype, np.float64)
    if value.dtype.kind == "c" and dtype.kind != "c":
        if value.imag != 0:
            return wider
        value = value.real  # cast alone, it warns (ComplexWarning)
    # no warnings.catch_warnings here: entering it resets every module's record of the
    # warnings shown, so each later call showed its warnings again (astropy's NaN warning on
    # every call of a loop, 5-15 ms each through astropy's logger)
    with np.errstate(all="ignore"):  # out of range: we only compare
        exact = bool(value.astype(dtype) == value)
    return dtype if exact else wider


def _mib(nbytes: int | None) -> str:
    return "no limit" if nbytes is None else format_bytes(nbytes)


def _warn_of_halo_bound_blocks(shape: tuple[int, ...], layout: BlockPlan, work: BlockFilter,
                               ext_dtype: np.dtype, out_dtype: np.dtype, budget: int | None) -> None:
    """A `RuntimeWarning` where ``budget`` cuts the image into blocks so small beside the
    kernel's halo that each reads over `HALO_BOUND_READS` times its outputs, with the limit
    under which blocks of twice the halo would fit."""
    if layout.blocks <= 1:
        return
    halo = work.halo(len(shape))
    reads = _reads(layout.block, halo)
    if reads <= HALO_BOUND_READS:
        return
    wider = [min(n, max(b, 2 * h)) for n, b, h in zip(shape, layout.block, halo)]
    plan = _plan_block(wider, halo, ext_dtype, work, None)
    workspace = plan.workspace if plan is not None else 0
    needed = _operands(wider, halo, ext_dtype, out_dtype, work) + workspace
    fewer = _reads(wider, halo)
    warnings.warn(
        f"the memory limit of {_mib(budget)} cuts shape {shape} into {layout.blocks} blocks of "
        f"{tuple(layout.block)} outputs, each reading {reads:.0f}x its outputs with the kernel's "
        f"halo {tuple(halo)}: slow; a limit of {format_bytes(needed)} or more (blocks of "
        f"{tuple(wider)}) reads at most {fewer:.1f}x ([memory] limit, FFTCONV_MEMORY_LIMIT)",
        RuntimeWarning,
        stacklevel=_outside_fftconv(),
    )


def _outside_fftconv() -> int:
    """The ``stacklevel`` of the innermost frame outside the fftconv package: the caller's."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package + os.sep):
        frame, level = frame.f_back, level + 1
    return level


def filter_in_blocks(source, work: BlockFilter, output, out_dtype: np.dtype, budget: int | None,
                     progress: bool = False, mask=None) -> None:
    """Write into ``output`` the filter ``work`` of ``source`` (an array, memmap or dataset),
    cast to ``out_dtype`` as scipy.ndimage casts, block by block within ``budget`` bytes.

    Examples
    --------
    >>> import numpy as np
    >>> out = np.empty(5)
    >>> work = BlockFilter(np.ones(3), (0,), (1,), "reflect", 0.0, False, "auto", 1)
    >>> filter_in_blocks(np.arange(5.0), work, out, out.dtype, None)
    >>> out
    array([ 1.,  3.,  6.,  9., 11.])
    """
    shape = tuple(source.shape)
    ext_dtype = extension_dtype(np.dtype(source.dtype), work)
    layout = plan_blocks(shape, ext_dtype, out_dtype, work, budget)
    if layout.blocks > 1 and isinstance(output, np.ndarray) and isinstance(source, np.ndarray) \
            and np.may_share_memory(output, source):
        raise ValueError("output overlaps the input; filtering in blocks under a memory limit needs "
                         "a separate output array")
    _warn_of_halo_bound_blocks(shape, layout, work, ext_dtype, out_dtype, budget)
    starts = [range(0, n, b) for n, b in zip(shape, layout.block)]
    label = f"fftconv: {tuple(shape)} * {tuple(work.kernel.shape)}"
    with _progress_bar(layout.blocks, progress, label) as bar:
        for corner in np.ndindex(*[len(s) for s in starts]):
            lo = [starts[a][i] for a, i in enumerate(corner)]
            hi = [min(n, s + b) for n, s, b in zip(shape, lo, layout.block)]
            target = tuple(slice(s, e) for s, e in zip(lo, hi))
            filter_block(source, work, lo, hi, output, target, out_dtype, layout.room, mask)
            bar.update()


def filter_block(source, work: BlockFilter, lo: Sequence[int], hi: Sequence[int], output, target: tuple,
                 out_dtype: np.dtype, room: int | None = None, mask=None) -> None:
    """Write into ``output[target]`` the outputs ``lo .. hi - 1`` (per axis) of the filter
    ``work`` of ``source``, reading their halo from it with the boundary mode: one block of
    `filter_in_blocks`, and a slab of `fftconv.ndimage.separable`'s passes.

    Examples
    --------
    >>> import numpy as np
    >>> out = np.zeros(5)
    >>> work = BlockFilter(np.ones(3), (0,), (1,), "reflect", 0.0, False, "auto", 1)
    >>> filter_block(np.arange(5.0), work, [1], [3], out, (slice(0, 2),), out.dtype)
    >>> out
    array([3., 6., 0., 0., 0.])
    """
    ranges = work.extended_ranges(lo, hi)
    ext_dtype = extension_dtype(np.dtype(source.dtype), work)
    if work.holes is not None:
        _filter_holes_block(source, ranges, lo, hi, work, ext_dtype, room, output, target, out_dtype, mask)
        return
    plain = work.fill is None and mask is None
    if not plain or not _read_by_executor(source, ranges, work, ext_dtype, room, output, target, out_dtype):
        extended = read_extended(source, ranges, work.mode, work.cval, ext_dtype)
        masked = None if mask is None else read_extended(mask, ranges, work.mode, False, BOOL)
        extended = work.prepare_values(extended, masked)
        # an array's block is written in place where the executor sums in its dtype: a result
        # copied in had cost a fresh array's page faults and a copy (2048² * 15x15 float64 on
        # the tiles: 67.8 -> 62.4 ms; the same tiles from fftconv.correlate 52)
        into = output[target] if isinstance(output, np.ndarray) else None
        result = filter_extended(extended, work, out_dtype, room, into)
        if result is not into:
            output[target] = result


def _filter_holes_block(source, ranges, lo: Sequence[int], hi: Sequence[int], work: BlockFilter,
                        ext_dtype: np.dtype, room: int | None, output, target: tuple[slice, ...],
                        out_dtype: np.dtype, mask) -> None:
    """`filter_block` for a filter with holes: band by band where the block's plan sums
    directly (`hole_bands`), tile by tile from an in-memory source where it is spectral
    (`HoleTiles`), else from the block extended by its halo; the whole block is what a trial
    times of its plan."""
    template, plan = work.planned(ranges, ext_dtype, room, source.shape, for_call=True)
    HolesBlock(ranges, lo, hi, work, ext_dtype, room, template, plan)(source, output, target, out_dtype, mask)


class HolesBlock:
    """`_filter_holes_block` of the block ``lo .. hi`` (extended source coordinates
    ``ranges``, read in ``ext_dtype``) by its ``plan``, made from ``template``; what the
    kernel alone decides (`HoleBands`, `HoleTiles`) is made at a first call and kept for the
    next (`whole_image_holes_route`)."""

    def __init__(self, ranges, lo: Sequence[int], hi: Sequence[int], work: BlockFilter, ext_dtype: np.dtype,
                 room: int | None, template: Problem, plan: Plan):
        self.ranges, self.lo, self.hi, self.work = ranges, lo, hi, work
        self.ext_dtype, self.room, self.template, self.plan = ext_dtype, room, template, plan
        self.spectral = isinstance(registry.get(plan.executor), SpectralExecutor)
        self.bands: HoleBands | None = None
        self.tiles: HoleTiles | None = None

    def __call__(self, source, output, target: tuple[slice, ...], out_dtype: np.dtype, mask) -> None:
        work, plan, ranges = self.work, self.plan, self.ranges
        started = time.perf_counter()
        if not self.spectral:
            if self.bands is None:
                self.bands = HoleBands(self.lo, self.hi, work, plan, compute_dtype_of_holes(self.ext_dtype),
                                       self.room)
            self.bands(source, mask, output, target, out_dtype)
        elif not _holes_tile_by_tile(source, work, output, target, out_dtype, mask, self._tiles):
            # declined: a source not in memory, or an infinite value (it spreads through a tile)
            if mask is None and _is_whole(source, ranges, self.ext_dtype):  # a dask chunk with its halo
                extended = source  # read, never written: no mask to apply
            else:
                extended = read_extended(source, ranges, work.mode, work.cval, self.ext_dtype)
                masked = None if mask is None else read_extended(mask, ranges, work.mode, False, BOOL)
                extended = work.prepare_values(extended, masked)
            filled = filter_with_holes(extended, work.kernel, work.axes, work.before, work.correlate,
                                       work.method, work.threads, work.holes, self.room, plan)
            output[target] = cast(filled, out_dtype, NDIMAGE.integers)
        if plan.trial is not None:
            plan.trial.record(plan, time.perf_counter() - started)

    def _tiles(self) -> HoleTiles:
        if self.tiles is None:
            # the correlation the executor sums: the problem's convolution kernel, flipped back
            kernel = np.flip(self.template.kernel()).reshape(self.work.kernel.shape)
            self.tiles = HoleTiles(self.ranges, self.lo, self.work.mode, self.work.cval, kernel, self.plan,
                                   self.work.holes)
        return self.tiles


def whole_image_holes_route(source: np.ndarray, work: BlockFilter, out_dtype: np.dtype
                            ) -> tuple[Callable[[np.ndarray, np.ndarray | None], np.ndarray], Lease | None]:
    """For an in-memory image with holes (NaN) filtered as one block: a call that fills the
    holes of any image of this shape and dtype by the block's plan, made once (`lane`), into
    an output array of this shape or a new one, and how long the lane may keep it. While the
    signature's trial is open, each call runs (and the trial times) the contender the trial
    serves, each contender's block made once. A 32² image's repeated call had planned its
    block each time: 0.2 ms, six times its filter; and so for the thousands of calls a trial
    waited to explore scipy's loop (its import priced; Intel Xeon, 1 thread)."""
    # its own kernel: the lane keys a kernel by its bytes, and the caller's array (which the
    # kernel may view) can change before another array of those bytes is passed
    work = dataclasses.replace(work, kernel=work.kernel.copy())
    shape = tuple(source.shape)
    ranges = work.extended_ranges([0] * len(shape), shape)
    ext_dtype = extension_dtype(np.dtype(source.dtype), work)
    template, plan = work.planned(ranges, ext_dtype, None, shape, for_call=True)
    first, whole = [0] * len(shape), tuple(slice(0, n) for n in shape)
    trial = plan.trial
    made = {plan.executor: HolesBlock(ranges, first, shape, work, ext_dtype, None, template, plan)}

    def block_of(contender: Plan) -> HolesBlock:
        known = made.get(contender.executor)
        if known is None or known.plan.trial is not contender.trial:
            known = made[contender.executor] = HolesBlock(
                ranges, first, shape, work, ext_dtype, None, template,
                work.bordered(contender, template, ranges, shape, None))
        return known

    # the contender the trial served to this first call runs first; then each call asks the trial
    served = [made[plan.executor]] if trial is not None else []

    def route(image: np.ndarray, output: np.ndarray | None = None) -> np.ndarray:
        target = np.empty(shape, out_dtype) if output is None else output
        if trial is None:
            block = made[plan.executor]
        else:
            try:
                block = served.pop()
            except IndexError:
                block = block_of(trial.next())
        block(image, target, whole, out_dtype, None)
        return target
    return route, (FOREVER if trial is not None else run.route_lease(plan))


#: Values a point of a block's plane the general route of a filter with holes reads and
#: writes beside its executor's sums: the split (one read, two written) and the division (two
#: read, one written).
SPLIT_AND_DIVIDE_VALUES = 6


def _general_route_seconds(template: Problem, costs) -> float:
    """What the general route of a filter with holes (`HoleBands`' bands split into values
    and weights, summed by the plan's executor, divided) costs beyond its executor's sums: its
    bands' calls (a call overhead) and the split and division, priced as copies in cache.
    Intel Xeon, 1 thread, a 1-D filter of 10**5 samples with holes as one row, 5 taps: the
    running sums estimated at 75 us took 420 us so; the one pass 300."""
    values = SPLIT_AND_DIVIDE_VALUES * _plane_points(template) * template.x.dtype.itemsize / 8
    return costs.call_overhead + values * costs.copy_point_cached


def _rank_tested(template: Problem) -> bool:
    """Whether the planner tests a kernel's rank for a block like ``template``: not for
    images under `SEPARABLE_MIN_POINTS`."""
    return _plane_points(template) >= SEPARABLE_MIN_POINTS


def _plane_points(template: Problem) -> int:
    """Points of one plane (values or weights) of a block with holes' extended template."""
    return math.prod(template.x.shape[a] for a in template.conv_axes)


def _is_whole(source, ranges, dtype: np.dtype) -> bool:
    """Whether ``ranges`` read all of the in-memory ``source``, in its dtype."""
    return isinstance(source, np.ndarray) and source.dtype == dtype \
        and all(r == (0, n) for r, n in zip(ranges, source.shape))


def _holes_tile_by_tile(source, work: BlockFilter, output, target: tuple[slice, ...], out_dtype: np.dtype,
                        mask, tiles: Callable[[], HoleTiles]) -> bool:
    """Fill the holes of one block tile by tile from an in-memory ``source`` by its
    ``tiles()`` (`HoleTiles`); False where the source is not in memory, or the tiles decline."""
    if not isinstance(source, np.ndarray) or not (mask is None or isinstance(mask, np.ndarray)):
        return False
    # an output that is the image (or overlaps it) would be read after being written
    direct = isinstance(output, np.ndarray) and not np.may_share_memory(output, source)
    computed = output[target] if direct else np.empty(tuple(s.stop - s.start for s in target), out_dtype)
    if not tiles()(source, mask, computed):
        return False
    if not direct:
        output[target] = computed
    return True


def filter_extended(extended: np.ndarray, work: BlockFilter, out_dtype: np.dtype, room: int | None = None,
                    into: np.ndarray | None = None) -> np.ndarray:
    """The filter (without holes: `filter_block` serves those) of one block already extended
    by its halo (the block's outputs), planned from its values and cast to ``out_dtype`` as
    scipy.ndimage casts; written into ``into`` (and ``into`` returned) where it is an array of
    the outputs' shape and the plan sums in ``out_dtype``.

    Examples
    --------
    >>> import numpy as np
    >>> work = BlockFilter(np.ones(3), (0,), (1,), "reflect", 0.0, False, "auto", 1)
    >>> filter_extended(np.array([0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 4.0]), work, np.dtype(np.float64))
    array([ 1.,  3.,  6.,  9., 11.])
    """
    problem = work.block_problem(extended)
    plan = run.plan(problem, work.method, work.threads, memory_limit=room)
    if into is None or into.shape != problem.out_shape or plan.compute_dtype != out_dtype:
        into = None  # computed apart, then cast
    return cast(run.execute(problem, plan, out=into), out_dtype, NDIMAGE.integers)


def whole_image_route(source: np.ndarray, work: BlockFilter, out_dtype: np.dtype
                      ) -> tuple[Callable[[np.ndarray, np.ndarray | None], np.ndarray], Lease | None] | None:
    """For an in-memory image filtered as one block by an executor that reads the boundary
    itself: a call that filters any image of this shape and dtype the same way (`lane`), into
    an output array of this shape or a new one, and how long the lane may keep it
    (`run.route_lease`); None where the blocks' path must serve."""
    if work.holes is not None or work.fill is not None:
        return None
    shape = tuple(source.shape)
    ranges = work.extended_ranges([0] * len(shape), shape)
    reader = _boundary_reader(ranges, work, extension_dtype(np.dtype(source.dtype), work), None, shape,
                              quick_first=True)
    if reader is None:
        return None
    executor, plan, kernel = reader
    if kernel.dtype.kind in "fc" and not np.isfinite(kernel).all():
        return None  # run_extended declines these: the blocks' path serves them
    runner = executor.prepare_extended(ranges, work.mode, work.cval, kernel, plan)
    compute = plan.compute_dtype
    computes_out_dtype = compute == out_dtype

    def route(image: np.ndarray, output: np.ndarray | None = None) -> np.ndarray:
        # the output itself is summed into where it is of the dtype summed and not the image
        direct = output is not None and computes_out_dtype and not np.may_share_memory(image, output)
        computed = output if direct else np.empty(shape, compute)
        if not runner(image, computed):  # values it leaves to the materialised path (NaN, inf)
            extended = read_extended(image, ranges, work.mode, work.cval, extension_dtype(image.dtype, work))
            result = filter_extended(extended, work, out_dtype)
        else:
            result = computed if computes_out_dtype else cast(computed, out_dtype, NDIMAGE.integers)
        if output is None or result is output:
            return result
        output[...] = result
        return output
    return route, run.route_lease(plan)


def _boundary_reader(ranges, work: BlockFilter, ext_dtype: np.dtype, room: int | None,
                     source_shape: Sequence[int], quick_first: bool = False):
    """(executor, plan, correlation kernel) when the plan made from the extended block's shape
    (a periodic or zero-bordered whole image's: `border_plan`) picks an executor that reads the boundary
    itself; else None. ``quick_first``: a new signature may be planned from the short list
    (`fftconv.engine.run.plan`)."""
    template, plan = work.planned(ranges, ext_dtype, room, source_shape, image_known=False,
                                  quick_first=quick_first)
    executor = registry.get(plan.executor)
    if not executor.reads_boundary:
        return None
    # the correlation the executor sums: the problem's convolution kernel, flipped back
    return executor, plan, np.flip(template.kernel()).reshape(work.kernel.shape)


def _read_by_executor(source, ranges, work: BlockFilter, ext_dtype: np.dtype, room: int | None, output,
                      target: tuple[slice, ...], out_dtype: np.dtype) -> bool:
    """Filter one block with an executor that reads the boundary extension straight from an
    in-memory ``source`` (no copy of the block with its halo), when the plan made from the
    block's shape picks one; False if it does not (the caller materialises the block)."""
    reader = _boundary_reader(ranges, work, ext_dtype, room, source.shape) \
        if isinstance(source, np.ndarray) else None
    if reader is None:
        return False
    executor, plan, kernel = reader
    # an output that is the image (or overlaps it) would be read after being written
    direct = isinstance(output, np.ndarray) and output.dtype == plan.compute_dtype \
        and not np.may_share_memory(output, source)
    shape = tuple(s.stop - s.start for s in target)
    computed = output[target] if direct else np.empty(shape, plan.compute_dtype)
    if not executor.run_extended(source, ranges, work.mode, work.cval, kernel, plan, computed):
        return False
    if not direct:
        output[target] = cast(computed, out_dtype, NDIMAGE.integers)
    return True


def extension_dtype(dtype: np.dtype, work: BlockFilter) -> np.dtype:
    """The dtype a block is extended in: the source's, widened where a constant border's value
    does not fit it.

    Examples
    --------
    >>> import numpy as np
    >>> work = BlockFilter(np.ones(3), (0,), (1,), "constant", 2.5, True, "auto", 1)
    >>> extension_dtype(np.dtype(np.uint8), work)
    dtype('float64')
    """
    if work.holes is not None and work.holes.dtype is not None:
        dtype = np.dtype(work.holes.dtype)
    elif work.holes is not None or work.fill is not None:  # holes are NaN: a float image
        dtype = compute_dtype_of_holes(dtype)
    return _extended_dtype(dtype, work.cval) if work.mode in ("constant", "grid-constant") else dtype
