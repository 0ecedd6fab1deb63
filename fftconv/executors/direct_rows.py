"""The 'direct.rows' executor: direct sums of small kernels as 1-D correlations of the
flattened, zero-extended image.

Pad the image to the extent the output window reads (``length + k - 1`` per axis) and
flatten it: a kernel row (its last axis) then slides over every image row in one
``np.correlate`` call, since an output never reads past its own extended row. The output is
the sum, over the kernel's other indices, of those results shifted by whole rows (planes).

NumPy correlates short kernels (up to `ROW_MAX_TAPS` taps; measured with NumPy 2.4) in a
vectorised loop, about twice as fast as scipy.ndimage's loop per multiply-add; longer ones
make a BLAS call per output and lose to it. The work runs in blocks of output rows so the
temporaries stay in the cache (and below the allocator's threshold for fresh pages).
A direct sum is picked for small kernels, so the blocks' Python calls stay cheap beside it.
A non-finite kernel value would meet the zero extension (``inf * 0``): such kernels raise
`NonFiniteInput` and the core repairs the outputs they reach.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ..core.geometry import Window, zero_extension
from ..core.problem import Problem, Spec
from ..planning.costs import CostModel
from ..planning.plan import Plan
from .base import Estimate, Executor, NonFiniteInput

#: Longest kernel row NumPy's vectorised correlation loop serves.
ROW_MAX_TAPS = 11
#: Bytes of extended image a block's correlations read: each makes a temporary of this size,
#: kept (with a page to spare) under glibc's default threshold of 128 KiB for handing out fresh
#: pages (``mmap``); with 256 KiB blocks their page faults made a 256 x 256 image 3.5x slower.
ROW_BLOCK_BYTES = (1 << 17) - 4096


def rows_apply(kernel_shape: Sequence[int], batch: Sequence[int], dtype: np.dtype) -> bool:
    """Whether `correlate_rows` serves a kernel of this shape: real floats, no batch axes,
    two or more convolved axes and a last axis of at most `ROW_MAX_TAPS` taps.

    Examples
    --------
    >>> import numpy as np
    >>> rows_apply((3, 3), (), np.dtype(np.float32)), rows_apply((15, 15), (), np.dtype(np.float32))
    (True, False)
    """
    return (
        np.dtype(dtype).char in "fd"
        and not any(n != 1 for n in batch)
        and len(kernel_shape) >= 2
        and kernel_shape[-1] <= ROW_MAX_TAPS
    )


def rows_per_block(row_points: int, itemsize: int) -> int:
    """Output rows per block for extended rows of ``row_points`` points of ``itemsize`` bytes.

    Examples
    --------
    >>> rows_per_block(66, 8)
    240
    """
    return max(1, ROW_BLOCK_BYTES // (row_points * itemsize))


def extended_points(kernel_shape: Sequence[int], windows: Sequence[Window]) -> int:
    """Points of the zero-extended image: what every kernel row's correlation runs over.

    Examples
    --------
    >>> from fftconv.core.geometry import output_window
    >>> extended_points((3, 3), [output_window(64, 3, "same")] * 2)
    4356
    """
    return math.prod(w.length + k - 1 for w, k in zip(windows, kernel_shape))


def rows_work(shape2, windows, dtype) -> tuple[int, int]:
    """Work of `correlate_rows`: (points its kernel rows' passes run over, kernel rows times
    blocks: the rounds of NumPy calls).

    Examples
    --------
    >>> from fftconv.core.geometry import output_window
    >>> rows_work((3, 3), [output_window(64, 3, "same")] * 2, "f8")
    (13068, 3)
    """
    kernel_rows = math.prod(shape2[:-1])
    extended = extended_points(shape2, windows)
    row_points = extended // (windows[0].length + shape2[0] - 1)
    blocks = -(-windows[0].length // rows_per_block(row_points, np.dtype(dtype).itemsize))
    return kernel_rows * extended, kernel_rows * blocks


class KernelRows(Executor):
    """Kernel rows over the flattened image (see the module docstring).

    Examples
    --------
    >>> from fftconv.core.problem import Spec
    >>> e = KernelRows()
    >>> e.applies(Spec.of_shapes((64, 64), (3, 3))), e.applies(Spec.of_shapes((64,), (3,)))
    (True, False)
    """

    name = "direct.rows"
    method = "direct"
    exact_integers = True

    def applies(self, spec: Spec, forced: bool = False) -> bool:
        return rows_apply(spec.shape2, spec.batch, self.compute_dtype(spec))

    def estimate(self, spec: Spec, costs: CostModel, memory_limit: int | None) -> Estimate:
        dtype = self.compute_dtype(spec)
        points, rounds = rows_work(spec.shape2, spec.windows, dtype)
        seconds = points * (costs.row_point + costs.row_tap * spec.shape2[-1]) + rounds * costs.row_call
        ext, steps, tail = _extent(spec.shape1, spec.shape2, spec.windows)
        block = min(rows_per_block(steps[0], dtype.itemsize), spec.windows[0].length) * steps[0]
        # the zero-extended image, a block's sum and np.correlate's result for it
        workspace = (math.prod(ext) + tail + 2 * block) * dtype.itemsize
        return Estimate(costs.direct_overhead + seconds, workspace)

    def run(self, problem: Problem, plan: Plan, out: np.ndarray, prepared: object = None,
            check_finite: bool = True) -> None:
        h = problem.kernel()
        if check_finite and not np.isfinite(h).all():
            raise NonFiniteInput
        r = problem.rank
        x = problem.x.reshape(problem.x.shape[problem.x.ndim - r:])  # batch axes are all 1
        correlate_rows(x.astype(out.dtype, copy=False), h.astype(out.dtype, copy=False), problem.windows,
                       out.reshape(out.shape[out.ndim - r:]))


def correlate_rows(x: np.ndarray, h: np.ndarray, windows: Sequence[Window], out: np.ndarray) -> np.ndarray:
    """Write the convolution of ``x`` with a finite ``h`` over ``windows`` into ``out``.

    ``x``, ``h`` and ``out`` share a float dtype and their number of axes (no batch axes);
    ``out`` has the windows' lengths. A kernel with a non-finite value would meet the zero
    extension (``inf * 0``): callers keep those for the shift-and-add sum.

    Examples
    --------
    >>> import numpy as np
    >>> from fftconv.core.geometry import output_window
    >>> x = np.arange(9.0).reshape(3, 3)
    >>> out = np.empty((3, 3))
    >>> correlate_rows(x, np.ones((2, 2)), [output_window(3, 2, "same")] * 2, out)
    array([[ 0.,  1.,  3.],
           [ 3.,  8., 12.],
           [ 9., 20., 24.]])
    """
    lay = _layout(x.shape, h.shape, tuple(windows), out.itemsize)
    flat = np.zeros(lay.points + lay.tail, out.dtype)
    flat[: lay.points].reshape(lay.ext)[lay.dst] = x[lay.src]
    flipped = h[(slice(None, None, -1),) * h.ndim]  # convolution: correlate with h reversed
    rows = [(flipped[j], shift) for j, shift in lay.rows]
    taps, height, row_points = h.shape[-1], out.shape[0], lay.steps[0]
    # the block's sum over whole extended rows (contiguous adds), cropped into out once; one
    # buffer for every block, so at most one temporary (np.correlate's result) is alive
    total = np.empty(min(lay.per_block, height) * row_points, out.dtype)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf gives NaN, quietly
        for r0 in range(0, height, lay.per_block):
            r1 = min(r0 + lay.per_block, height)
            base, size = r0 * row_points, (r1 - r0) * row_points
            acc = total[:size]
            for i, (coefficients, shift) in enumerate(rows):
                start = base + shift
                row = np.correlate(flat[start:start + size + taps - 1], coefficients, "valid")
                if i == 0:
                    np.copyto(acc, row)
                else:
                    np.add(acc, row, out=acc)
            np.copyto(out[r0:r1], acc.reshape([r1 - r0] + lay.ext[1:])[lay.crop])
    return out


class _RowsLayout(NamedTuple):
    ext: list[int]  # shape of the zero-extended image
    points: int  # its size
    steps: list[int]  # flat stride of each of its axes
    tail: int  # how far the last block's reads run past it (its largest in-row shift)
    src: tuple[slice, ...]  # the input samples the windows read ...
    dst: tuple[slice, ...]  # ... and where they go in the extended image
    rows: list[tuple[tuple[int, ...], int]]  # each kernel row's index and flat shift
    crop: tuple[slice, ...]  # the output part of a block of extended rows
    per_block: int  # output rows per block


def _extent(shape1: tuple[int, ...], shape2: tuple[int, ...],
            windows: Sequence[Window]) -> tuple[list[int], list[int], int]:
    """The zero-extended image's shape, the flat stride of each of its axes, and how far a
    block's reads run past it (its largest in-row shift): what the estimate needs of
    `_layout`, without listing the kernel's rows."""
    return _strides([zero_extension(n, k, w)[0] for n, k, w in zip(shape1, shape2, windows)], shape2)


def _strides(ext: list[int], shape2: tuple[int, ...]) -> tuple[list[int], list[int], int]:
    """``ext`` (the zero-extended image's shape), its axes' flat strides and the reads' run
    past a block (`_extent`)."""
    steps = [math.prod(ext[a + 1:]) for a in range(len(ext))]
    return ext, steps, sum((k - 1) * s for k, s in zip(shape2[1:], steps[1:]))


@functools.lru_cache(maxsize=256)
def _layout(shape1: tuple[int, ...], shape2: tuple[int, ...], windows: tuple[Window, ...],
            itemsize: int) -> _RowsLayout:
    extended, src, dst = zip(*(zero_extension(n, k, w) for n, k, w in zip(shape1, shape2, windows)))
    ext, steps, tail = _strides(list(extended), shape2)
    return _RowsLayout(
        ext=ext,
        points=math.prod(ext),
        steps=steps,
        tail=tail,
        src=tuple(src),
        dst=tuple(dst),
        rows=[(j, sum(a * s for a, s in zip(j, steps)))
              for j in itertools.product(*(range(k) for k in shape2[:-1]))],
        crop=(slice(None),) + tuple(slice(0, w.length) for w in windows[1:]),
        per_block=rows_per_block(steps[0], itemsize),
    )
