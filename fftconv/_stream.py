"""Filtering in blocks under a memory budget: images bigger than memory, memmaps, datasets.

The output is cut into blocks (batch axes first, then the filtered axes from the outermost,
so a C-ordered memmap is read in contiguous bands). Each block's extended input (its halo
filled by the boundary mode) is read from the source with `read_extended`, correlated in
'valid' mode by the engine (whichever method its planner picks) and written into the output.
Block sizes come from the budget: the extended block, its result and casts, and the FFT
workspace of the block's plan must fit. A budget too small for even the thinnest block is
refused before any work, with the numbers.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from . import _engine, config
from ._boundary import read_extended
from ._planner import MemoryLimitError, spectral_workspace

#: Budget for sources that are not in-memory arrays (memmaps, datasets) when no
#: ``[memory] limit`` is configured.
DEFAULT_STREAM_BUDGET = 256 << 20


@dataclass(frozen=True)
class BlockPlan:
    """How a filter is cut: the output block shape, how many blocks, the estimated peak."""

    block: tuple[int, ...]
    blocks: int
    peak_bytes: int
    allowed: tuple[str, ...]


def estimate_block_bytes(
    block: Sequence[int],
    halo: Sequence[int],
    source_dtype: np.dtype,
    kernel: np.ndarray,
    out_dtype: np.dtype,
    axes: Sequence[int],
    method: str,
    threads: int,
    allowed: tuple[str, ...],
) -> int:
    """Peak extra bytes of one block: the extended input (as read and as computed), the
    result (computed and cast) and the working arrays of the plan the engine will make (FFT
    buffers, the separable passes' intermediate, the direct sum's extended copy).

    Examples
    --------
    >>> import numpy as np
    >>> k = np.ones((1, 3))
    >>> estimate_block_bytes((10, 100), (0, 2), np.dtype("f8"), k, np.dtype("f8"), [1], "direct", 1,
    ...                      ("direct",)) > 10 * 102 * 8
    True
    """
    ext = tuple(b + h for b, h in zip(block, halo))
    template = np.broadcast_to(np.zeros((), source_dtype), ext)
    problem = _engine.prepare(template, kernel, "valid", list(axes), correlate=False, convention="signal",
                              rule="convolve", broadcast_unit_axes=False)
    plan = _engine.plan_problem(problem, method, threads, allowed, worst_case_image=True)
    compute = plan.compute_dtype.itemsize
    nbytes = math.prod(ext) * (np.dtype(source_dtype).itemsize + compute)
    nbytes += math.prod(block) * (compute + np.dtype(out_dtype).itemsize)
    if plan.method in ("separable", "direct"):
        # separable: one intermediate array between the passes; direct: the zero-extended copy
        # of the kernel-rows path, or the whole-block result of scipy.ndimage's loop
        nbytes += math.prod(ext) * compute
    else:
        nbytes += spectral_workspace(plan.fft_shape, plan.tiles, max(1, math.prod(plan.batch)),
                                     plan.compute_dtype, plan.compute_dtype.kind != "c", threads)
    return int(nbytes)


def plan_blocks(
    shape: Sequence[int],
    halo: Sequence[int],
    source_dtype: np.dtype,
    kernel: np.ndarray,
    out_dtype: np.dtype,
    axes: Sequence[int],
    method: str,
    threads: int,
    budget: int | None,
) -> BlockPlan:
    """The largest balanced block (batch axes split first) whose estimate fits ``budget``.

    Examples
    --------
    >>> import numpy as np
    >>> p = plan_blocks((1000, 1000), (0, 0), np.dtype("f4"), np.ones((1, 1)), np.dtype("f4"),
    ...                 [0, 1], "direct", 1, 2 << 20)
    >>> p.block, p.blocks
    ((63, 1000), 16)
    """
    shape = tuple(int(n) for n in shape)
    allowed_sets = ([("direct", "fft", "tiled", "separable"), ("direct", "tiled", "separable")]
                    if method == "auto" else [(method,)])
    order = [a for a in range(len(shape)) if a not in axes] + sorted(axes)
    block = list(shape)

    def need(candidate, allowed) -> int:
        return estimate_block_bytes(candidate, halo, source_dtype, kernel, out_dtype, axes, method, threads,
                                    allowed)

    def fits(candidate) -> tuple[int, tuple[str, ...]] | None:
        for allowed in allowed_sets:
            try:
                nbytes = need(candidate, allowed)
            except MemoryLimitError:  # no layout of this block fits the limit
                continue
            if budget is None or nbytes <= budget:
                return nbytes, allowed
        return None

    while True:
        found = fits(block)
        if found is not None:
            break
        axis = next((a for a in order if block[a] > 1), None)
        if axis is None:
            with config.override(memory_limit=None):  # what the smallest block would need
                smallest = min(need(block, allowed) for allowed in allowed_sets)
            raise MemoryLimitError(
                f"the memory limit of {_mib(budget)} is too small: filtering shape {shape} with a "
                f"{kernel.shape} kernel needs at least {_mib(smallest)} for its smallest block "
                f"{tuple(block)} (halo {tuple(halo)}); raise [memory] limit (or FFTCONV_MEMORY_LIMIT)"
            )
        block[axis] = -(-block[axis] // 2)
    counts = [-(-n // b) for n, b in zip(shape, block)]
    block = [-(-n // c) for n, c in zip(shape, counts)]  # balanced: equal blocks, no sliver
    nbytes, allowed = found
    return BlockPlan(tuple(block), math.prod(counts), nbytes, allowed)


def _extended_dtype(dtype: np.dtype, cval) -> np.dtype:
    """The source's dtype, or a wider one when ``cval`` does not fit it (2.5 beyond an integer
    image: scipy.ndimage sums it in double)."""
    value = np.asarray(cval)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # complex -> real, out of range: we only compare
        with np.errstate(all="ignore"):
            exact = bool(value.astype(dtype) == value)
    return dtype if exact else np.result_type(dtype, value.dtype, np.float64)


def _mib(nbytes: int | None) -> str:
    return "no limit" if nbytes is None else f"{nbytes / 2**20:.1f} MiB"


def filter_in_blocks(
    source,
    kernel: np.ndarray,
    axes: Sequence[int],
    before: Sequence[int],
    output,
    out_dtype: np.dtype,
    mode: str,
    cval: float,
    method: str,
    threads: int,
    budget: int | None,
    finish: Callable[[np.ndarray, np.dtype], np.ndarray],
    progress: bool = False,
) -> None:
    """Write into ``output`` the 'valid' convolution of ``source`` (extended by ``mode``, with
    ``before[a]`` samples before each axis) with ``kernel`` (same ndim, 1 on unfiltered axes).

    ``finish`` casts a block's result to ``out_dtype``.

    Examples
    --------
    >>> import numpy as np
    >>> out = np.empty(5)
    >>> filter_in_blocks(np.arange(5.0), np.ones(3), [0], [1], out, out.dtype, "reflect", 0.0,
    ...                  "auto", 1, None, lambda r, d: r.astype(d))
    >>> out
    array([ 1.,  3.,  6.,  9., 11.])
    """
    from tqdm.auto import tqdm

    shape = tuple(source.shape)
    halo = [kernel.shape[a] - 1 if a in axes else 0 for a in range(len(shape))]
    plan = plan_blocks(shape, halo, np.dtype(source.dtype), kernel, out_dtype, axes, method, threads, budget)
    if plan.blocks > 1 and isinstance(output, np.ndarray) and isinstance(source, np.ndarray) \
            and np.may_share_memory(output, source):
        raise ValueError("output overlaps the input; filtering in blocks under a memory limit needs "
                         "a separate output array")
    starts = [range(0, n, b) for n, b in zip(shape, plan.block)]
    ext_dtype = _extended_dtype(np.dtype(source.dtype), cval) if mode in ("constant", "grid-constant") \
        else np.dtype(source.dtype)
    with tqdm(total=plan.blocks, disable=not progress, desc="fftconv filter", unit="block") as bar:
        for corner in np.ndindex(*[len(s) for s in starts]):
            lo = [starts[a][i] for a, i in enumerate(corner)]
            hi = [min(n, s + b) for n, s, b in zip(shape, lo, plan.block)]
            ranges = []
            for a in range(len(shape)):
                if a in axes:
                    ranges.append((lo[a] - before[a], hi[a] - before[a] + halo[a]))
                else:
                    ranges.append((lo[a], hi[a]))
            ext = read_extended(source, ranges, mode, cval, ext_dtype)
            result = _engine.convolve_nd(ext, kernel, "valid", method, list(axes), threads=threads,
                                         allowed=plan.allowed)
            output[tuple(slice(s, e) for s, e in zip(lo, hi))] = finish(result, out_dtype)
            bar.update()
