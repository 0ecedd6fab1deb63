"""The 'separable' executor: a rank-1 kernel's 1-D passes as banded matrix products.

A kernel that is an outer product ``f0 ⊗ f1 ⊗ ...`` convolves as one 1-D pass per axis. A
1-D pass is fast only if its inner loop is: scipy's ``correlate1d`` runs ~0.3 ns per
multiply-add (slower than a whole-image FFT already at 13 taps), while a pass written as
matrix products runs at BLAS speed: ``b`` outputs along the axis are a ``b x (b + k - 1)``
banded Toeplitz matrix times ``b + k - 1`` input rows, every other axis riding along as
the matrix's columns. That does ``(b + k - 1) / k`` times the multiply-adds of the direct
sum, at ~30 ps each in single precision (vs ~300 ps), and reads every input row once.
Edge blocks (where the zero padding of the convolution begins) use a small zero-padded copy.

Whether a kernel is rank-1 is read from its values (`rank1_factors`), so this executor
``checks_values``: the planner sees it only for kernels that pass, and for images big enough
to repay the check unless ``method='separable'`` forces it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..backends.threads import blas_threads
from ..core.geometry import Window
from ..core.memory import kept_buffer
from ..core.problem import Problem, Spec
from ..planning.costs import CostModel, precision
from ..planning.plan import Plan
from .base import Estimate, Executor, NonFiniteInput
from .nonfinite import all_finite

#: Compute dtypes BLAS multiplies.
GEMM_DTYPES = tuple(np.dtype(t) for t in (np.float32, np.float64, np.complex64, np.complex128))
#: Images smaller than this (points over the convolved axes) are not checked for a rank-1
#: kernel unless the method is forced: the check (~10 us on the reference machine) is a large
#: part of their whole convolution (~20 us at 64x64 * 3x3), and small calls keep plans cached
#: by call signature.
SEPARABLE_MIN_POINTS = 1 << 14
#: NumPy calls per edge block of a pass: a zeroed block, the copy into it, the product and
#: the write into the output (`banded_pass`).
CALLS_PER_EDGE_BLOCK = 4


def rank1_factors(h: np.ndarray, dtype: np.dtype) -> tuple[np.ndarray, ...] | None:
    """1-D factors ``f`` with ``h == f[0] ⊗ f[1] ⊗ ...`` within the rounding of ``dtype``,
    or None when ``h`` is not numerically rank-1.

    The factors are the fibres of ``h`` through its largest entry, scaled so that their
    outer product reproduces it; the kernel counts as separable when that outer product
    differs from ``h`` by at most ``16 * ndim * eps(dtype)`` of its largest magnitude (the
    rounding a rank-1 kernel stored in ``dtype`` carries anyway).

    Examples
    --------
    >>> import numpy as np
    >>> g = np.array([1.0, 2.0, 1.0])
    >>> [f.tolist() for f in rank1_factors(np.outer(g, g), np.dtype(np.float64))]
    [[0.5, 1.0, 0.5], [2.0, 4.0, 2.0]]
    >>> rank1_factors(np.eye(3), np.dtype(np.float64)) is None
    True
    """
    if h.ndim < 2 or not np.isfinite(h).all():
        return None
    h = h.astype(dtype, copy=False)
    peak_index = np.unravel_index(int(np.argmax(np.abs(h))), h.shape)
    peak = h[peak_index]
    if peak == 0:
        return None
    factors = []
    for axis in range(h.ndim):
        fibre = tuple(slice(None) if a == axis else i for a, i in enumerate(peak_index))
        factors.append(np.array(h[fibre], dtype=dtype))
    factors[0] = factors[0] / peak ** (h.ndim - 1)  # each fibre holds the peak once
    tolerance = 16 * h.ndim * float(np.finfo(dtype).eps) * float(np.abs(peak))
    for corner in ((0,) * h.ndim, (-1,) * h.ndim):  # most kernels fail here, before the outer product
        if abs(h[corner] - math.prod(f[i] for f, i in zip(factors, corner))) > tolerance:
            return None
    outer = factors[0]
    for f in factors[1:]:
        outer = np.multiply.outer(outer, f)
    if float(np.max(np.abs(outer - h))) > tolerance:
        return None
    return tuple(factors)


def block_length(last_axis: bool) -> int:
    """Outputs per matrix product: short blocks waste fewer multiply-adds on the band's zeros,
    but each product then has less work to amortise its call (measured on 4096² float32).

    Examples
    --------
    >>> block_length(False), block_length(True)
    (16, 32)
    """
    return 32 if last_axis else 16


@lru_cache(maxsize=64)
def _band(g_bytes: bytes, dtype: np.dtype, k: int, b: int) -> np.ndarray:
    g = np.frombuffer(g_bytes, dtype)
    band = np.zeros((b, b + k - 1), dtype)
    for r in range(b):
        band[r, r:r + k] = g
    band.setflags(write=False)
    return band


def banded_pass(y: np.ndarray, f: np.ndarray, axis: int, window: Window,
                out: np.ndarray | None = None) -> np.ndarray:
    """Convolve ``y`` with the 1-D kernel ``f`` along ``axis``, keeping the outputs of
    ``window`` (full-convolution coordinates), by banded matrix products; into ``out`` (a
    C-contiguous array of the result's shape and dtype) when given.

    Examples
    --------
    >>> import numpy as np
    >>> from fftconv.core.geometry import output_window
    >>> y = np.arange(12.0).reshape(3, 4)
    >>> out = banded_pass(y, np.array([1.0, 1.0]), 1, output_window(4, 2, "full"))
    >>> np.array_equal(out, np.array([np.convolve(r, [1.0, 1.0]) for r in y]))
    True
    """
    k = len(f)
    n = y.shape[axis]
    before = math.prod(y.shape[:axis])
    after = math.prod(y.shape[axis + 1:])
    y3 = np.ascontiguousarray(y).reshape(before, n, after)
    moved = list(y.shape)
    moved[axis] = window.length
    if out is None:
        out = np.empty(moved, y.dtype)
    out3 = out.reshape(before, window.length, after)  # a view: out is C-contiguous
    last = after == 1
    b = block_length(last)
    band = _band(np.ascontiguousarray(f[::-1], y.dtype).tobytes(), y.dtype, k, b)
    offset = window.start - (k - 1)  # output i reads inputs i + offset ... i + offset + k - 1
    blocks = -(-window.length // b)
    inside = [q for q in range(blocks)
              if q * b + offset >= 0 and q * b + offset + b + k - 1 <= n and (q + 1) * b <= window.length]
    first, stop = (inside[0], inside[-1] + 1) if inside else (0, 0)
    edges = [q for q in range(blocks) if not first <= q < stop]
    if last:  # the pass runs along rows: all rows at once, one product per block of columns
        rows, target = y3[:, :, 0], out3[:, :, 0]
        band_t = band.T
        for q in range(first, stop):
            lo = q * b + offset
            np.matmul(rows[:, lo:lo + b + k - 1], band_t, out=target[:, q * b:(q + 1) * b])
        for q in edges:
            count = min(b, window.length - q * b)
            cols = _padded(rows, q * b + offset, b + k - 1, axis=1)
            target[:, q * b:q * b + count] = cols @ band_t[:, :count]
    else:  # rows of the pass are whole (after)-long rows: stack the interior blocks
        for a in range(before):
            plane, target = y3[a], out3[a]
            if stop > first:
                step = plane.strides[0]
                view = np.lib.stride_tricks.as_strided(
                    plane[first * b + offset:], (stop - first, b + k - 1, after),
                    (b * step, step, plane.strides[1]), writeable=False)
                np.matmul(band, view, out=target[first * b:stop * b].reshape(stop - first, b, after))
            for q in edges:
                count = min(b, window.length - q * b)
                target[q * b:q * b + count] = band[:count] @ _padded(plane, q * b + offset, b + k - 1, 0)
    return out


def _padded(a: np.ndarray, start: int, count: int, axis: int) -> np.ndarray:
    """Indices ``start .. start + count - 1`` of ``a`` along ``axis`` (0 or 1), zero outside."""
    shape = list(a.shape)
    shape[axis] = count
    part = np.zeros(shape, a.dtype)
    lo, hi = max(start, 0), min(start + count, a.shape[axis])
    if lo < hi:
        src = (slice(lo, hi),) if axis == 0 else (slice(None), slice(lo, hi))
        dst = (slice(lo - start, hi - start),) if axis == 0 else (slice(None), slice(lo - start, hi - start))
        part[dst] = a[src]
    return part


def convolve_separable(x: np.ndarray, factors: Sequence[np.ndarray], windows: Sequence[Window],
                       out: np.ndarray, threads: int) -> np.ndarray:
    """Write into ``out`` the convolution of ``x`` (convolved axes last) with the outer
    product of ``factors``: one banded pass per convolved axis, BLAS on ``threads`` threads.

    Examples
    --------
    >>> import numpy as np
    >>> from fftconv.core.geometry import output_window
    >>> x = np.arange(20.0).reshape(4, 5)
    >>> w = [output_window(4, 2, "same"), output_window(5, 3, "same")]
    >>> out = convolve_separable(x, [np.ones(2), np.ones(3)], w, np.empty((4, 5)), 1)
    >>> import scipy.signal
    >>> np.allclose(out, scipy.signal.convolve(x, np.ones((2, 3)), "same"))
    True
    """
    rank = len(windows)
    y = x.astype(out.dtype, copy=False)
    with blas_threads(threads):
        for i, (f, w) in enumerate(zip(factors, windows)):
            axis = y.ndim - rank + i
            shape = y.shape[:axis] + (w.length,) + y.shape[axis + 1:]
            if i == rank - 1:
                target = out if out.flags.c_contiguous else None
            else:
                target = scratch(shape, out.dtype, i % 2)
            y = banded_pass(y, f.astype(out.dtype), axis, w, target)
    if y is not out:
        out[...] = y
    return out


#: Intermediate results up to this size (a 1024x1024 float64 image) reuse per-thread buffers:
#: a fresh array costs a page fault per 4 KiB on first touch, which on small images (and in
#: VMs) outweighs the passes; larger ones are rarer and their passes dominate.
SCRATCH_BYTES = 8 << 20


def scratch(shape: tuple[int, ...], dtype: np.dtype, slot: int) -> np.ndarray | None:
    """A C-contiguous array of ``shape`` in this thread's buffer ``slot`` (0 or 1: the passes
    alternate), or None (a fresh array) for large shapes (`fftconv.core.memory.kept_buffer`).

    Examples
    --------
    >>> scratch((4, 4), np.dtype(np.float32), 0).shape, scratch((8192, 8192), np.dtype(np.float64), 1)
    ((4, 4), None)
    """
    return kept_buffer("separable passes", slot, shape, dtype, SCRATCH_BYTES)


@dataclass(frozen=True)
class Passes:
    """How a separable executor runs (its ``Plan.layout``, for `Plan.explain`): one 1-D pass
    per convolved axis, in ``order``, with the kernel's rank-1 factor of ``taps`` along it."""

    order: tuple[int, ...]
    taps: tuple[int, ...]
    how: str

    def __str__(self) -> str:
        steps = ", then ".join(f"axis {a} ({self.taps[a]} taps)" for a in self.order)
        return f"passes: {steps}; the kernel's rank-1 factors, each pass {self.how}"


class RankOneExecutor(Executor):
    """What the separable executors share: their prepared work is the kernel's rank-1 factors
    (`rank1_factors`), and a kernel without them is not theirs to run."""

    checks_values = True

    def accepts(self, problem: Problem) -> bool:
        return self.prepare(problem, None) is not None

    def prepare(self, problem: Problem, plan: Plan | None) -> tuple[np.ndarray, ...] | None:
        """The kernel's 1-D factors, or None when it is not rank-1."""
        compute = self.compute_dtype(problem.spec()) if plan is None else plan.compute_dtype
        return problem.derived(("rank-1 factors", compute), lambda: rank1_factors(problem.kernel(), compute))

    def factors(self, problem: Problem, plan: Plan, prepared: object, check_finite: bool
                ) -> tuple[np.ndarray, ...]:
        """The factors to run with: ``prepared`` or made now; a plan made for another kernel
        of the same shapes is refused, and a non-finite image raises `NonFiniteInput` (a
        pass's zeros would spread NaN * 0; the run is repaired after, `fftconv.executors.nonfinite`)."""
        factors = prepared if prepared is not None else self.prepare(problem, plan)
        if factors is None:
            raise ValueError(f"method='separable' needs {self.requirement}; this kernel is not: "
                             "use method='auto'")
        if check_finite and not all_finite(problem.x):
            raise NonFiniteInput
        return factors


class SeparablePasses(RankOneExecutor):
    """One banded-matrix pass per axis for a rank-1 kernel (see the module docstring).

    Examples
    --------
    >>> import numpy as np, fftconv
    >>> g = np.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0])
    >>> fftconv.plan(np.zeros((256, 256), complex), g, "same", method="separable").executor  # complex data
    'separable'
    """

    name = "separable"
    method = "separable"
    requirement = (
        "a kernel that is an outer product of 1-D kernels (rank 1 within its dtype's rounding, "
        "finite, at least 2-D, no batch axes of its own) and a float or complex computation"
    )

    def applies(self, spec: Spec, forced: bool = False) -> bool:
        return (spec.rank >= 2 and self.compute_dtype(spec) in GEMM_DTYPES and not spec.kernel_batched
                and (forced or math.prod(spec.shape1) >= SEPARABLE_MIN_POINTS))

    def estimate(self, spec: Spec, costs: CostModel, memory_limit: int | None) -> Estimate:
        dtype = self.compute_dtype(spec)
        # one intermediate array between the passes, about the size of input and output
        workspace = (math.prod(spec.shape1) + spec.out_points) * spec.batch_points * dtype.itemsize
        passes = Passes(tuple(range(spec.rank)), tuple(spec.shape2), "a banded matrix product (BLAS)")
        return Estimate(separable_seconds(spec, dtype, costs), workspace, passes)

    def run(self, problem: Problem, plan: Plan, out: np.ndarray, prepared: object = None,
            check_finite: bool = True) -> None:
        factors = self.factors(problem, plan, prepared, check_finite)
        convolve_separable(problem.x, factors, problem.windows, out, plan.threads)


def separable_seconds(spec: Spec, dtype: np.dtype, costs: CostModel) -> float:
    """Seconds of one banded-matrix pass per axis, in axis order: each pass's multiply-adds
    are its outputs times the band width ``b + k - 1``, plus its copies and calls."""
    per_mac = costs.gemm_mac * (costs.gemm_single if precision(dtype) == "single" else 1.0)
    per_mac *= costs.gemm_complex if dtype.kind == "c" else 1.0
    shape = list(spec.shape1)
    seconds = costs.call_overhead
    for i, (k, w) in enumerate(zip(spec.shape2, spec.windows)):
        last = i == len(shape) - 1
        b = block_length(last)
        shape[i] = w.length
        points = math.prod(shape) * spec.batch_points
        # each pass streams its input and writes a new array: memory-bound copies, plus the products
        work = points * (b + k - 1) * per_mac + costs.copy_seconds(points, dtype.itemsize,
                                                                   2 * points * dtype.itemsize)
        planes = 1 if last else math.prod(shape[:i]) * spec.batch_points
        products = -(-w.length // b) if last else planes
        # blocks whose band reaches past either edge, and the last, partial one, run one by
        # one on a zero-padded copy
        edges = (2 * -(-(k - 1) // b) + 1) * planes
        seconds += costs.parallel_seconds(work, spec.threads, points * dtype.itemsize)
        seconds += (products + CALLS_PER_EDGE_BLOCK * edges) * costs.direct_call
        seconds += costs.gemm_call
    return seconds
