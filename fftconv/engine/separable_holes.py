"""The normalised filter of a band by a rank-1 2-D kernel in one compiled pass.

Where a band's plan sums a separable kernel (a Gaussian, a box) with the separable passes,
the general route (`hole_bands`) fills the band extended by its halo, splits it into values
and weights, sums both planes in two passes and divides: six planes written and read a band.
Here the band is extended once, in the source's own dtype with its holes NaN, and the
compiled loop (``separable`` of ``_compiled/float_passes.c``) splits each row as it reads it,
sums both planes down and along, divides and marks the empty outputs, into the output. Intel
Xeon (AVX-512), astropy's ``convolve`` of a 1024² float32 image with 2 % holes, 9x9 Gaussian,
1 thread: 7.5 ms on the general route (about 6.5 in those passes), 4.1-4.8 on this one; see
``bench/astropy_nan.py``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np

from ..backends.threads import claim_in_turn
from ..core import memory
from ..core.boundary import fill_extended, read_extended
from ..executors import registry
from ..executors.separable import rank1_factors
from ..planning.plan import Plan
from ._compiled import float_passes
from .holes import BOOL, COMPILED_DTYPES, empty_test, fill_empty, marked_pixels, place_into

#: Output rows a thread takes at a time when a band's rows are shared out.
THREAD_ROWS = 64


def over_both_axes(work) -> bool:
    """Whether a block filter's kernel is 2-D over the image's two axes (the one-pass route's
    shape of work; `fftconv.engine.blocks.BlockFilter` asks it before pricing the route).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> over_both_axes(SimpleNamespace(kernel=np.ones((3, 3)), axes=(0, 1)))
    True
    """
    return work.kernel.ndim == 2 and tuple(work.axes) == (0, 1)


def factors(work, plan: Plan, dtype: np.dtype, cols: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The correlation factors (down the rows, along them) in ``dtype`` of a block filter
    with holes that this route takes, or None: a 2-D filter over both axes whose plan runs
    the separable passes, summed in float32 or float64, by a kernel with finite taps, where
    the loop's ring of rows for ``cols`` outputs a row (`float_passes.separable_ring`) stays in
    a core's L2.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from fftconv.engine.holes import Holes
    >>> work = SimpleNamespace(kernel=np.outer([1.0, 2.0], [1.0, 3.0]), axes=(0, 1), correlate=True,
    ...                        holes=Holes())
    >>> down, along = factors(work, SimpleNamespace(method="separable"), np.dtype(np.float64), 100)
    >>> np.outer(down, along)
    array([[1., 3.],
           [2., 6.]])
    """
    if float_passes is None or plan.method != "separable" or dtype not in COMPILED_DTYPES:
        return None
    kernel = work.kernel
    if not over_both_axes(work) or kernel.dtype.kind not in "fiu":
        return None
    correlation = kernel if work.correlate else kernel[::-1, ::-1]
    found = rank1_factors(np.ascontiguousarray(correlation), dtype)
    if found is None:
        return None
    ring = float_passes.separable_ring(len(found[0]), len(found[1]), cols, dtype.itemsize)
    if ring > memory.l2_bytes():
        return None
    return tuple(np.ascontiguousarray(f, dtype) for f in found)


def one_pass_seconds(spec, costs) -> float:
    """What the one pass costs a block (``spec``: its batch of values and weights): priced as
    the compiled separable passes over the two planes (`separable.compiled`'s estimate, a pass
    of one tap included), which it runs fused with the split and the division.

    Examples
    --------
    >>> from fftconv.core.problem import Problem
    >>> from fftconv.planning.costs import DEFAULT_COSTS
    >>> from fftconv.engine import run
    >>> p = Problem.build(np.zeros((2, 36, 36)), np.ones((1, 5, 5)), "valid", [1, 2])
    >>> 0 < one_pass_seconds(run.plan(p, "direct", 1).spec, DEFAULT_COSTS) < 1e-3
    True
    """
    return registry.get("separable.compiled").estimate(spec, costs, None).seconds


def buffer_dtype(source, cval: object, dtype: np.dtype) -> np.dtype:
    """What the band is extended in: the source's own float dtype where the sums read it
    unchanged (a float32 image read as such: half the bytes of float64), else ``dtype``.

    Examples
    --------
    >>> buffer_dtype(np.zeros(3, np.float32), 0.0, np.dtype(np.float64))
    dtype('float32')
    >>> buffer_dtype(np.zeros(3, np.float32), 0.1, np.dtype(np.float64))  # 0.1 is not a float32
    dtype('float64')
    """
    own = np.dtype(source.dtype)
    if own not in COMPILED_DTYPES or own.itemsize > dtype.itemsize:
        return dtype
    try:
        value = complex(cval)
    except (TypeError, ValueError):
        return dtype
    if value.imag != 0:
        return dtype
    exact = math.isnan(value.real) or float(own.type(value.real)) == value.real
    return own if exact else dtype


def filter_band(source, mask, ranges: Sequence[tuple[int, int]], band_lo: Sequence[int], work,
                down_along: tuple[np.ndarray, np.ndarray], dtype: np.dtype, threads: int, output,
                place: tuple[slice, ...], out_dtype: np.dtype, storage: dict,
                emptiness: tuple[float, int] | None = None) -> bool:
    """Write the normalised filter of one band (``ranges``: its extended coordinates; its
    first output is the source's ``band_lo``) into ``output[place]`` as ``out_dtype``; False
    where the band holds an infinity (nothing useful written: the caller sums it its general
    way). ``storage``: buffers the bands of a block share; ``emptiness``: the kernel's
    `empty_test` where the caller keeps it (a small call's repeated bands: it sums the kernel).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from fftconv.engine.holes import Holes
    >>> work = SimpleNamespace(kernel=np.ones((1, 3)), mode="nearest", cval=0.0, holes=Holes())
    >>> source, out = np.array([[1.0, np.nan, 3.0, 5.0]]), np.empty((1, 4))
    >>> filter_band(source, None, [(0, 1), (-1, 5)], [0, 0], work, (np.ones(1), np.ones(3)),
    ...             np.dtype(np.float64), 1, out, (slice(0, 1), slice(0, 4)), out.dtype, {})
    True
    >>> out
    array([[1.        , 2.        , 4.        , 4.33333333]])
    """
    shape = tuple(b - a for a, b in ranges)
    rows, cols = shape[0] - len(down_along[0]) + 1, shape[1] - len(down_along[1]) + 1
    extended = _buffer(storage, "extended", shape, buffer_dtype(source, work.cval, dtype))
    fill_extended(extended, source, list(ranges), work.mode, work.cval)
    if mask is not None:
        extended[read_extended(mask, list(ranges), work.mode, False, BOOL)] = np.nan
    # written in place where the loop can: an output of the sums' dtype, or float32 (rounded
    # as NumPy casts), whose rows are contiguous
    target = output[place] if isinstance(output, np.ndarray) else None
    direct = (target is not None and target.dtype in (dtype, np.dtype(np.float32))
              and (cols <= 1 or target.strides[-1] == target.itemsize))
    result = target if direct else _buffer(storage, "result", (rows, cols), dtype)
    empty = _buffer(storage, "empty", (rows, cols), BOOL)
    limit, test = empty_test(work.kernel, dtype, work.holes) if emptiness is None else emptiness
    scale = float(work.holes.scale)
    down, along = down_along

    def rows_from(first: int, last: int) -> int:
        return float_passes.separable(extended[first: last + len(down) - 1], down, along, result[first:last],
                                      empty[first:last], scale, limit, test)

    if threads > 1 and rows >= 2 * THREAD_ROWS:
        counts: list[int] = []
        starts = range(0, rows, THREAD_ROWS)
        claim_in_turn(len(starts), threads, lambda: lambda item: counts.append(
            rows_from(starts[item], min(starts[item] + THREAD_ROWS, rows))))
        count = min(counts) if min(counts) < 0 else sum(counts)
    else:
        count = rows_from(0, rows)
    if count < 0:
        return False
    if count:
        fill_empty(result, empty, functools.partial(marked_pixels, source, mask, dtype, list(band_lo)),
                   work.holes)
    if not direct:
        place_into(output, place, out_dtype, result)
    return True


def _buffer(storage: dict, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A C-contiguous array of ``shape`` in ``storage[name]``, kept for the next band (the
    first band is the largest)."""
    size = math.prod(shape)
    kept = storage.get(name)
    if kept is None or kept.dtype != dtype or kept.size < size:
        kept = storage[name] = np.empty(size, dtype)
    return kept[:size].reshape(shape)
