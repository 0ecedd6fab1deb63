"""The 'direct.shift_add' executor: the sliding sum for every dtype, block by block.

Each kernel tap adds a shifted, scaled copy of the input into the output, only where the
input exists (as in the seed's reference loops), block by block so the working set stays in
the cache. It serves what the compiled direct loops do not: integers (exactly, in 64-bit
integers that wrap like scipy's), complex numbers, long double, and kernels with batch axes.
NaN and inf stay local by construction (``inf * 0`` and ``inf - inf`` give NaN as in a
direct sum).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from ..core.geometry import Window, direct_macs
from ..core.problem import Problem, Spec
from ..planning.costs import CostModel, precision
from ..planning.plan import Plan
from .base import Estimate, Executor
from .direct_ndimage import ndimage_seconds

#: Output bytes per block: small enough that the block and its temporaries stay in L2 (1 MiB
#: per core on the reference machine, with room for the input rows the block reads).
BLOCK_BYTES = 1 << 18
#: Cost of a multiply-add relative to a float64 one, by precision, and for complex numbers:
#: measured in this loop on the reference machine (256x256 * 7x7: float64 0.81 ns, int64 0.86,
#: complex128 1.51, long double 6.93 per multiply-add; float32 runs at float64's rate; Python
#: floats in object arrays 32 ns at 200x200 * 5x5, Fractions far more).
PRECISION_FACTOR = {"single": 1.0, "double": 1.0, "long": 8.6, "object": 40.0}
COMPLEX_FACTOR = 1.9


class ShiftAndAdd(Executor):
    """The generic direct sum (see the module docstring).

    Examples
    --------
    >>> from fftconv.core.problem import Spec
    >>> from fftconv.planning.costs import DEFAULT_COSTS
    >>> ShiftAndAdd().estimate(Spec.of_shapes((50, 50), (5, 5), "same", "int64"), DEFAULT_COSTS,
    ...                        None).workspace
    20000
    """

    name = "direct.shift_add"
    method = "direct"
    exact_integers = True

    def estimate(self, spec: Spec, costs: CostModel, memory_limit: int | None) -> Estimate:
        dtype = self.compute_dtype(spec)
        factor = PRECISION_FACTOR[precision(dtype)] * (COMPLEX_FACTOR if dtype.kind == "c" else 1.0)
        macs = direct_macs(spec.shape1, spec.shape2, spec.windows) * spec.batch_points
        out_bytes = spec.out_points * spec.batch_points * dtype.itemsize
        lengths = [w.length for w in spec.windows]
        block = _block_rows(out_bytes, lengths[0])
        # scipy.ndimage's rates for the same sum, scaled for the dtype ...
        seconds = costs.direct_overhead + (ndimage_seconds(spec, costs) - costs.direct_overhead) * factor
        # ... and NumPy's per-tap loops, slower per multiply-add than a compiled sum ...
        seconds += macs * costs.direct_mac * factor * (costs.direct_generic - 1)
        # ... and two calls (multiply, add) per tap and block
        seconds += 2 * math.prod(spec.shape2) * -(-lengths[0] // block) * costs.direct_call
        scratch = out_bytes // max(lengths[0], 1) * min(block, lengths[0])
        return Estimate(seconds, scratch)

    def run(self, problem: Problem, plan: Plan, out: np.ndarray, prepared: object = None,
            check_finite: bool = True) -> None:
        compute = out.dtype
        shift_and_add(problem.x.astype(compute, copy=False), problem.h.astype(compute, copy=False),
                      problem.windows, out)


def _block_rows(out_bytes: int, rows: int) -> int:
    """Output rows (along the first convolved axis) per block of at most `BLOCK_BYTES`."""
    row_bytes = out_bytes // max(rows, 1)
    return max(1, BLOCK_BYTES // max(row_bytes, 1))


def shift_and_add(x: np.ndarray, h: np.ndarray, windows: Sequence[Window], out: np.ndarray) -> np.ndarray:
    """Write the convolution of ``x`` with ``h`` (convolved axes last) into ``out``.

    ``out`` has the broadcast batch shape followed by the window lengths; ``x`` and ``h`` are
    of ``out``'s dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from fftconv.core.geometry import output_window
    >>> out = np.empty(5, np.int64)
    >>> shift_and_add(np.arange(4), np.ones(2, np.int64), [output_window(4, 2, "full")], out)
    array([0, 1, 3, 5, 3])
    """
    rank = len(windows)
    n1 = x.shape[x.ndim - rank:]
    n2 = h.shape[h.ndim - rank:]
    h_batch = h.shape[: h.ndim - rank]
    lengths = [w.length for w in windows]
    taps = []  # (coefficient, output ranges per axis, input shift per axis)
    for j in itertools.product(*(range(n) for n in n2)):
        ranges = [
            (max(0, k - w.start), min(w.length, k - w.start + a)) for w, a, k in zip(windows, n1, j)
        ]
        if all(lo < hi for lo, hi in ranges):
            coeff = h[(Ellipsis,) + j].reshape(h_batch + (1,) * rank)
            taps.append((coeff, ranges, [w.start - k for w, k in zip(windows, j)]))
    # a tap covering the whole output (there is one unless the kernel is larger than the
    # input) goes first and writes instead of adding, which saves zeroing the output
    whole = [(0, n) for n in lengths]
    taps.sort(key=lambda t: t[1] != whole)
    covers_first = bool(taps) and taps[0][1] == whole
    if not covers_first:
        out[...] = 0
    block = _block_rows(out.nbytes, lengths[0])
    batch = out.shape[: out.ndim - rank]
    tmp = np.empty(int(np.prod(batch + (min(block, lengths[0]),) + tuple(lengths[1:]))), out.dtype)
    with np.errstate(invalid="ignore", over="ignore"):  # inf * 0 and inf - inf give NaN, quietly
        for b0 in range(0, lengths[0], block):
            _add_block(x, taps, b0, min(b0 + block, lengths[0]), covers_first, tmp, out)
    return out


def _add_block(x, taps, b0: int, b1: int, covers_first: bool, tmp: np.ndarray, out: np.ndarray) -> None:
    """Add every tap's contribution to output rows ``[b0, b1)``."""
    rank = len(taps[0][1]) if taps else 0
    batch = out.shape[: out.ndim - rank]
    for i, (coeff, ranges, shift) in enumerate(taps):
        (lo0, hi0), rest = ranges[0], ranges[1:]
        lo0, hi0 = max(lo0, b0), min(hi0, b1)
        if lo0 >= hi0:
            continue
        dst = (Ellipsis, slice(lo0, hi0)) + tuple(slice(lo, hi) for lo, hi in rest)
        src = (Ellipsis, slice(lo0 + shift[0], hi0 + shift[0])) + tuple(
            slice(lo + d, hi + d) for (lo, hi), d in zip(rest, shift[1:])
        )
        target = out[dst]
        if i == 0 and covers_first:
            np.multiply(x[src], coeff, out=target)
            continue
        shape = batch + (hi0 - lo0,) + tuple(hi - lo for lo, hi in rest)
        scratch = tmp[: int(np.prod(shape))].reshape(shape)  # contiguous: faster loops
        np.multiply(x[src], coeff, out=scratch)
        np.add(target, scratch, out=target)
