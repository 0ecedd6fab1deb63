"""The 'separable.compiled' executor: a rank-1 kernel's 1-D passes in the compiled loop.

A kernel that is an outer product ``f0 ⊗ f1 ⊗ ...`` (a Gaussian, a box, a Sobel operator) is
summed as one 1-D pass per axis: ``k0 + k1 + ...`` multiply-adds per output instead of
``k0 * k1 * ...``. Each pass runs the compiled direct loop (`direct_compiled`) with the
factor along its axis, so it needs none of the band zeros of the matrix-product passes of
`separable` (which do ``(b + k - 1) / k`` times the multiply-adds): from a few taps to a few
hundred per axis these passes are the fastest way to filter with such a kernel.

The passes read the boundary themselves (``reads_boundary``): the first reads the source
through the boundary mode on every axis, so that its result covers the halo the later passes
read; the later passes read only inside the previous result. That is the N-D sum's meaning
of every mode (a constant border included), whichever axis goes first; the order taken is the
one with the fewest multiply-adds. Results equal the N-D direct sum within rounding.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from ..core.geometry import window_reads
from ..core.problem import Problem, Spec
from ..planning.costs import CostModel
from ..planning.plan import Plan
from .base import Estimate
from .direct_compiled import MAX_TAPS, correlate_extended, loop_estimate, loops, summed_dtype
from .separable import SEPARABLE_MIN_POINTS, Passes, RankOneExecutor, rank1_factors, scratch

#: What the passes compute in (the loop's real dtypes; integers go to exact executors).
PASS_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def pass_order(lengths: Sequence[int], taps: Sequence[int], out_lengths: Sequence[int]) -> tuple[int, ...]:
    """The order of the passes (indices into the filtered axes) with the fewest multiply-adds:
    an axis filtered early leaves the others at their extended lengths (``lengths``), so
    the long kernels go first.

    Examples
    --------
    >>> pass_order([108, 108], [9, 101], [100, 8])
    (1, 0)
    """
    def macs(order: tuple[int, ...]) -> int:
        current, total = list(lengths), 0
        for a in order:
            current[a] = out_lengths[a]
            total += math.prod(current) * taps[a]
        return total

    return min(itertools.permutations(range(len(taps))), key=macs)


def separable_extended(source: np.ndarray, factors: Sequence[np.ndarray | None],
                       ranges: Sequence[tuple[int, int]], mode: str, cval: object, out: np.ndarray,
                       threads: int = 1) -> np.ndarray:
    """Write into ``out`` the correlation of ``source`` extended by ``mode`` over ``ranges``
    (as `direct_compiled.correlate_extended`) with the outer product of ``factors`` (per
    source axis: correlation taps, or None for an axis not filtered), one compiled pass per
    filtered axis. ``out``'s dtype (float32 or float64) is what the passes sum in.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage
    >>> x = np.arange(30.0).reshape(5, 6)
    >>> out = separable_extended(x, [np.ones(3), np.array([1.0, 2.0])], [(-1, 6), (-1, 6)], "reflect", 0.0,
    ...                          np.empty((5, 6)))
    >>> np.allclose(out, scipy.ndimage.correlate(x, np.outer(np.ones(3), [1.0, 2.0]), mode="reflect"))
    True
    """
    factors = _fold_single_taps(factors)
    axes = [a for a, f in enumerate(factors) if f is not None]
    lengths = [ranges[a][1] - ranges[a][0] for a in axes]
    taps = [len(factors[a]) for a in axes]
    order = [axes[i] for i in pass_order(lengths, taps, [n - k + 1 for n, k in zip(lengths, taps)])]
    current, reads = source, list(ranges)
    for step, a in enumerate(order):
        shape = [b - s for s, b in reads]
        shape[a] -= len(factors[a]) - 1
        last = step == len(order) - 1
        target = out if last else scratch(tuple(shape), out.dtype, step % 2)
        if target is None:
            target = np.empty(shape, out.dtype)
        kernel = np.asarray(factors[a], out.dtype).reshape([-1 if b == a else 1 for b in range(source.ndim)])
        if step == 0:
            correlate_extended(current, kernel, reads, mode, cval, target, threads)
        else:  # inside the previous pass's result: no boundary left to read
            correlate_extended(current, kernel, reads, "constant", 0, target, threads)
        current = target
        reads = [(0, n) for n in shape]
        reads[a] = (0, shape[a])
    return out


def _fold_single_taps(factors: Sequence[np.ndarray | None]) -> list[np.ndarray | None]:
    """The factors with each one-tap factor's value moved into another (no pass for it),
    unless all are single taps."""
    factors = list(factors)
    single = [a for a, f in enumerate(factors) if f is not None and len(f) == 1]
    longer = [a for a, f in enumerate(factors) if f is not None and len(f) > 1]
    if single and longer:
        scale = math.prod(float(np.asarray(factors[a])[0]) for a in single)
        factors[longer[0]] = np.asarray(factors[longer[0]]) * scale
        for a in single:
            factors[a] = None
    return factors


class SeparableLoops(RankOneExecutor):
    """One compiled direct pass per axis for a rank-1 kernel (see the module docstring).

    Examples
    --------
    >>> import numpy as np, fftconv
    >>> g = np.exp(-0.5 * (np.arange(-8, 9) / 3.0) ** 2)
    >>> fftconv.plan(np.zeros((1024, 1024)), np.outer(g, g), "same").executor
    'separable.compiled'
    """

    name = "separable.compiled"
    method = "separable"
    reads_boundary = True
    requirement = (
        "the compiled loops, a kernel that is an outer product of 1-D kernels (rank 1 within its "
        f"dtype's rounding, finite, at least 2-D, at most {MAX_TAPS} taps per axis) and a float32 "
        "or float64 computation"
    )

    def applies(self, spec: Spec, forced: bool = False) -> bool:
        return (loops() is not None and sum(n > 1 for n in spec.shape2) >= 2
                and self.compute_dtype(spec) in PASS_DTYPES
                and not spec.kernel_batched and max(spec.shape2) <= MAX_TAPS
                and (forced or math.prod(spec.shape1) >= SEPARABLE_MIN_POINTS))

    def estimate(self, spec: Spec, costs: CostModel, memory_limit: int | None) -> Estimate:
        summed = summed_dtype(self.compute_dtype(spec))
        lengths = [w.length + k - 1 for k, w in zip(spec.shape2, spec.windows)]
        outs = [w.length for w in spec.windows]
        lead = list(spec.batch)
        seconds, workspace, current = costs.call_overhead, 0, list(lengths)
        order = tuple(pass_order(lengths, spec.shape2, outs))
        for a in order:
            current[a] = outs[a]
            dims = lead + current
            kernel = [1] * len(lead) + [spec.shape2[b] if b == a else 1 for b in range(spec.rank)]
            dims, kernel = [1, 1, *dims][-max(3, len(dims)):], [1, 1, *kernel][-max(3, len(dims)):]
            pass_seconds, ring = loop_estimate(dims, kernel, summed, spec.threads, costs)
            seconds += pass_seconds
            # the pass's result (the last one's is the output) and the ring it reads
            workspace = max(workspace, math.prod(dims) * summed.itemsize * 2 + ring)
        passes = Passes(order, tuple(spec.shape2), f"the compiled loop, summing in {summed}")
        return Estimate(seconds, workspace, passes)

    def run(self, problem: Problem, plan: Plan, out: np.ndarray, prepared: object = None,
            check_finite: bool = True) -> None:
        factors = self.factors(problem, plan, prepared, check_finite)
        batch = problem.x.shape[: problem.x.ndim - problem.rank]
        ranges = [(0, n) for n in batch] + [window_reads(len(f), w) for f, w in zip(factors, problem.windows)]
        flipped = [None] * len(batch) + [np.flip(f) for f in factors]  # convolution -> correlation taps
        separable_extended(problem.x, flipped, ranges, "constant", 0, out, plan.threads)

    def run_extended(self, source: np.ndarray, ranges: Sequence[tuple[int, int]], mode: str, cval: object,
                     kernel: np.ndarray, plan: Plan, out: np.ndarray) -> bool:
        filtered = [a for a, n in enumerate(kernel.shape) if n > 1]
        if len(filtered) < 2:
            return False
        factors = rank1_factors(kernel.reshape([kernel.shape[a] for a in filtered]), plan.compute_dtype)
        if factors is None:
            return False
        per_axis = [None] * source.ndim
        for a, f in zip(filtered, factors):
            per_axis[a] = f
        separable_extended(source, per_axis, ranges, mode, cval, out, plan.threads)
        return True

    def prepare_extended(self, ranges: Sequence[tuple[int, int]], mode: str, cval: object, kernel: np.ndarray,
                         plan: Plan):
        filtered = [a for a, n in enumerate(kernel.shape) if n > 1]
        factors = rank1_factors(kernel.reshape([kernel.shape[a] for a in filtered]), plan.compute_dtype)
        if len(filtered) < 2 or factors is None:  # the plan was made for this kernel: it is rank-1
            raise ValueError(f"method='separable' needs {self.requirement}")
        per_axis = [None] * kernel.ndim
        for a, f in zip(filtered, factors):
            per_axis[a] = f

        def route(source: np.ndarray, out: np.ndarray) -> bool:
            separable_extended(source, per_axis, ranges, mode, cval, out, plan.threads)
            return True
        return route
