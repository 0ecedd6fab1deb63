"""Boundary extension of one block, read straight from the source array: the one boundary
extender (scipy.ndimage's modes for `fftconv.ndimage` and its blocks, and scipy.signal's
``convolve2d`` boundaries, which are three of them: fill = constant, wrap, symm = reflect).

scipy.ndimage's modes say what a filter sees beyond an image's edge. Rather than padding a
whole image (``np.pad``), a block of the *extended* image is assembled from a few slices of the
source: per axis, the extended coordinates split into runs that map to the source with step
+1 (inside the image, or a wrapped/mirrored copy), step -1 (a reflection), step 0 (the edge
value repeated) or a constant. Every piece is a plain slice, so memmaps are read only where
needed and h5py/zarr-like datasets (anything with ``shape``, ``dtype`` and slicing) work too.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np

#: ndimage boundary modes; the grid-* modes equal their plain twins for filters.
MODES = ("reflect", "grid-mirror", "mirror", "nearest", "wrap", "grid-wrap", "constant", "grid-constant")


@dataclass(frozen=True)
class Run:
    """Extended coordinates ``[dst_start, dst_stop)`` of a block read from source indices
    ``src_first, src_first + step, ...`` (``step`` 1, -1 or 0), or the constant (``step`` None)."""

    dst_start: int
    dst_stop: int
    src_first: int
    step: int | None


def source_index(c: int, n: int, mode: str) -> int | None:
    """Source index of extended coordinate ``c`` on an axis of length ``n`` (None: constant).

    Examples
    --------
    >>> [source_index(c, 3, "reflect") for c in range(-4, 7)]
    [2, 2, 1, 0, 0, 1, 2, 2, 1, 0, 0]
    >>> [source_index(c, 3, "mirror") for c in range(-4, 7)]
    [0, 1, 2, 1, 0, 1, 2, 1, 0, 1, 2]
    """
    if 0 <= c < n:
        return c
    if mode in ("constant", "grid-constant"):
        return None
    if mode == "nearest":
        return 0 if c < 0 else n - 1
    if mode in ("wrap", "grid-wrap"):
        return c % n
    if mode in ("reflect", "grid-mirror"):  # edge sample repeated: period 2n
        m = c % (2 * n)
        return m if m < n else 2 * n - 1 - m
    if mode == "mirror":  # edge sample not repeated: period 2n - 2
        if n == 1:
            return 0
        m = c % (2 * n - 2)
        return m if m < n else 2 * n - 2 - m
    raise ValueError(f"unknown boundary mode {mode!r}; use one of {', '.join(MODES)}")


def index_map(start: int, stop: int, n: int, mode: str) -> np.ndarray:
    """`source_index` of every extended coordinate in ``[start, stop)``, as int64 (-1: the
    constant), computed without a Python loop.

    Examples
    --------
    >>> index_map(-4, 7, 3, "reflect")
    array([2, 2, 1, 0, 0, 1, 2, 2, 1, 0, 0])
    >>> index_map(-2, 4, 3, "constant")
    array([-1, -1,  0,  1,  2, -1])
    """
    # one array, changed in place: each further temporary of a long axis is fresh memory the
    # kernel maps page by page (65,677 coordinates took 0.6 ms with three, 0.1 ms now)
    c = np.arange(start, stop, dtype=np.int64)
    if mode in ("constant", "grid-constant"):
        c[(c < 0) | (c >= n)] = -1
        return c
    if mode == "nearest":
        return np.clip(c, 0, n - 1, out=c)
    if mode in ("wrap", "grid-wrap"):
        return np.remainder(c, n, out=c)
    if mode in ("reflect", "grid-mirror", "mirror"):
        span = 2 * n if mode != "mirror" else max(2 * n - 2, 1)
        np.remainder(c, span, out=c)
        return np.subtract(span - 1 if mode != "mirror" else span, c, out=c, where=c >= n)
    raise ValueError(f"unknown boundary mode {mode!r}; use one of {', '.join(MODES)}")


def period(n: int, mode: str) -> int | None:
    """The length after which the extension of an axis of length ``n`` repeats, or None
    where it is constant beyond the edges (constant and nearest).

    Examples
    --------
    >>> period(5, "reflect"), period(5, "mirror"), period(5, "wrap"), period(5, "nearest")
    (10, 8, 5, None)
    """
    if mode in ("wrap", "grid-wrap"):
        return n
    if mode in ("reflect", "grid-mirror"):
        return 2 * n
    if mode == "mirror":
        return max(2 * n - 2, 1)
    if mode in ("constant", "grid-constant", "nearest"):
        return None
    raise ValueError(f"unknown boundary mode {mode!r}; use one of {', '.join(MODES)}")


def foldable(k: int, before: int, n: int, mode: str) -> bool:
    """Whether `fold_taps` would shorten ``k`` taps (``before`` of them before each output)
    on an axis of ``n`` samples extended by ``mode``: cheap, for the common kernel that is not.

    Examples
    --------
    >>> foldable(3, 1, 100, "reflect"), foldable(301, 150, 5, "reflect"), foldable(7, 3, 2, "nearest")
    (False, True, True)
    """
    if n < 1:  # no outputs
        return False
    p = period(n, mode)
    return k > p if p is not None else before > n or k - 1 - before > n


def fold_taps(taps: np.ndarray, axis: int, before: int, n: int, mode: str, finite: bool = False
              ) -> tuple[np.ndarray, int]:
    """A correlation kernel longer than the samples it can tell apart, folded onto the fewest
    taps that read the same samples for every output, with its new ``before``.

    Along ``axis``, the output at ``i`` sums ``taps[t] * ext[i - before + t]`` over the
    extension ``ext`` of an axis of ``n`` samples by ``mode``. A periodic extension (wrap,
    reflect, mirror) gives taps one period apart the same sample: they are added together
    (at most one period of taps is left). Beyond ``n`` samples from any output, constant and
    nearest read one value (the constant or the edge sample): those taps are added into the
    one at that distance (at most ``2 n + 1`` taps are left). The outputs are the same
    products regrouped (each folded tap summed in long double and rounded once); a kernel
    that is not longer is returned as it is.

    Unless the samples are known ``finite`` (an integer image), taps are folded only where
    each group of them shares one sign (all positive, all negative or all zero): an infinite
    sample read by a zero tap, or by taps of both signs, makes NaN in the sum it belongs to,
    and must still do so. Complex taps are then not folded.

    Examples
    --------
    >>> fold_taps(np.arange(1.0, 8.0), 0, 3, 2, "wrap")  # 7 taps, period 2
    (array([16., 12.]), 1)
    >>> fold_taps(np.arange(1.0, 8.0), 0, 3, 1, "nearest")  # within 1 sample of the edge
    (array([ 6.,  4., 18.]), 1)
    >>> fold_taps(np.array([1.0, -1.0, 2.0]), 0, 1, 1, "wrap")[0]  # both signs on one sample
    array([ 1., -1.,  2.])
    """
    k = taps.shape[axis]
    if not foldable(k, before, n, mode):
        return taps, before
    p = period(n, mode)
    moved = np.moveaxis(taps, axis, -1)
    if p is not None:
        new_before = min(before, p // 2)
        # tap t reads what tap (t - before + new_before) mod p reads: zeros in front align them
        shift = (new_before - before) % p
        rows = -(-(k + shift) // p)

        def regroup(values: np.ndarray) -> np.ndarray:
            padded = np.zeros(values.shape[:-1] + (rows * p,), values.dtype)
            padded[..., shift:shift + k] = values
            return padded.reshape(values.shape[:-1] + (rows, p)).sum(axis=-2)
    else:
        new_before, right = min(before, n), min(k - 1 - before, n)

        def regroup(values: np.ndarray) -> np.ndarray:
            grouped = values[..., before - new_before:before + right + 1].copy()
            grouped[..., 0] += values[..., :before - new_before].sum(axis=-1)
            grouped[..., -1] += values[..., before + right + 1:].sum(axis=-1)
            return grouped
    if not finite:
        if moved.dtype.kind == "c":
            return taps, before
        count = regroup(np.ones(moved.shape, np.int64))
        one_sign = np.zeros(count.shape, bool)
        for members in (moved > 0, moved < 0, moved == 0):
            one_sign |= regroup(members.astype(np.int64)) == count
        if not one_sign.all():
            return taps, before
    if moved.dtype.kind in "fc":  # each folded tap rounded once: groups of taps of both signs cancel
        wide = np.clongdouble if moved.dtype.kind == "c" else np.longdouble
        return np.moveaxis(regroup(moved.astype(wide)).astype(moved.dtype), -1, axis), new_before
    return np.moveaxis(regroup(moved), -1, axis), new_before


def axis_runs(start: int, stop: int, n: int, mode: str) -> list[Run]:
    """Runs covering extended coordinates ``[start, stop)`` of an axis of length ``n``.

    Examples
    --------
    >>> [(r.dst_start, r.dst_stop, r.src_first, r.step) for r in axis_runs(-2, 5, 4, "reflect")]
    [(0, 2, 1, -1), (2, 6, 0, 1), (6, 7, 3, 1)]
    """
    runs = _halo_runs(range(start, min(stop, 0)), start, n, mode)
    lo, hi = max(start, 0), min(stop, n)
    if lo < hi:  # the image itself
        runs.append(Run(lo - start, hi - start, lo, 1))
    return runs + _halo_runs(range(max(start, n), stop), start, n, mode)


def _halo_runs(coords: range, start: int, n: int, mode: str) -> list[Run]:
    """Maximal runs over ``coords`` (all outside ``[0, n)``): a constant stretch, or source
    indices moving by a fixed step of -1, 0 or +1 (a wrap or a mirror's turn starts a new run)."""
    runs: list[Run] = []
    for c in coords:
        src = source_index(c, n, mode)
        dst = c - start
        if runs and runs[-1].dst_stop == dst:
            last = runs[-1]
            if last.step is None and src is None:
                runs[-1] = Run(last.dst_start, dst + 1, 0, None)
                continue
            if last.step is not None and src is not None:
                length = last.dst_stop - last.dst_start
                previous = last.src_first + last.step * (length - 1)
                if length == 1 and abs(src - previous) <= 1:  # the run's second sample sets its step
                    runs[-1] = Run(last.dst_start, dst + 1, last.src_first, src - previous)
                    continue
                if length > 1 and src - previous == last.step:
                    runs[-1] = Run(last.dst_start, dst + 1, last.src_first, last.step)
                    continue
        runs.append(Run(dst, dst + 1, 0 if src is None else src, None if src is None else 1))
    return runs


def read_extended(
    source,
    ranges: list[tuple[int, int] | None],
    mode: str,
    cval: float,
    dtype: np.dtype,
) -> np.ndarray:
    """The block of the extended ``source`` with extended coordinates ``ranges`` per axis
    (None: the whole axis, not extended), as a new array of ``dtype``.

    Examples
    --------
    >>> import numpy as np
    >>> read_extended(np.arange(4.0), [(-2, 6)], "reflect", 0.0, np.dtype(np.float64))
    array([1., 0., 0., 1., 2., 3., 3., 2.])
    """
    shape, pieces = _pieces(tuple(source.shape), tuple(ranges), mode, isinstance(source, np.ndarray))
    return assemble(shape, [(dst, None if src is None else source[src], flips) for dst, src, flips in pieces],
                    cval, dtype)


def fill_extended(into: np.ndarray, source: np.ndarray, ranges: list[tuple[int, int] | None], mode: str,
                  cval: object) -> None:
    """Write into ``into`` (an array of the block's shape, of any dtype the values cast to) the
    block of the extended ``source`` that `read_extended` returns: for readers that own the
    buffer the block goes to (an FFT tile's), so the block is not copied twice.

    Examples
    --------
    >>> import numpy as np
    >>> buffer = np.zeros(8)
    >>> fill_extended(buffer, np.arange(4.0), [(-2, 6)], "reflect", 0.0)
    >>> buffer
    array([1., 0., 0., 1., 2., 3., 3., 2.])
    """
    shape, pieces = _pieces(tuple(source.shape), tuple(ranges), mode, isinstance(source, np.ndarray))
    if tuple(into.shape) != shape:
        raise ValueError(f"the block to fill has shape {tuple(into.shape)}, the ranges read {shape}")
    _fill(into, [(dst, None if src is None else source[src], flips) for dst, src, flips in pieces], cval)


def extension_pieces(shape: tuple[int, ...], ranges: list[tuple[int, int] | None], mode: str):
    """What `read_extended` reads, for readers that fetch the pieces themselves (dask tasks):
    the extended block's shape and, per piece, where it goes, the source slices it reads (None:
    the constant; steps are positive) and the axes to flip after reading.

    Examples
    --------
    >>> extension_pieces((4,), [(-2, 6)], "reflect")[1][0]
    ((slice(0, 2, None),), (slice(0, 2, None),), (0,))
    """
    return _pieces(tuple(shape), tuple(ranges), mode, False)


def assemble(shape: tuple[int, ...], parts, cval: object, dtype: np.dtype) -> np.ndarray:
    """The extended block from its pieces: (where it goes, the data read or None for the
    constant, the axes to flip).

    Examples
    --------
    >>> import numpy as np
    >>> assemble((3,), [((slice(0, 1),), None, ()), ((slice(1, 3),), np.array([5.0, 6.0]), (0,))],
    ...          0.5, np.dtype(np.float64))
    array([0.5, 6. , 5. ])
    """
    block = np.empty(shape, dtype)
    _fill(block, parts, cval)
    return block


def _fill(block: np.ndarray, parts, cval: object) -> None:
    """Write each of `assemble`'s ``parts`` into ``block``."""
    for dst, data, flips in parts:
        if data is None:
            block[dst] = cval
        elif flips:
            block[dst] = np.flip(np.asarray(data), axis=flips)
        else:
            block[dst] = data  # step-0 runs broadcast their single sample


@functools.lru_cache(maxsize=1024)
def _pieces(shape: tuple[int, ...], ranges: tuple, mode: str, in_memory: bool):
    """The extended block's shape, and each piece of it: where it goes, the source slices it
    reads (None: the constant) and the axes to flip after reading (small calls repeat these)."""
    per_axis = [_axis_pieces(n, r, mode, in_memory) for n, r in zip(shape, ranges)]
    pieces = []
    for combo in itertools.product(*per_axis):
        dst = tuple(d for d, _, _ in combo)
        if any(src is None for _, src, _ in combo):
            pieces.append((dst, None, ()))
        else:
            flips = tuple(axis for axis, (_, _, flip) in enumerate(combo) if flip)
            pieces.append((dst, tuple(src for _, src, _ in combo), flips))
    return tuple(runs[-1][0].stop for runs in per_axis), tuple(pieces)


@functools.lru_cache(maxsize=1024)
def _axis_pieces(n: int, extent: tuple[int, int] | None, mode: str, in_memory: bool
                 ) -> tuple[tuple[slice, slice | None, bool], ...]:
    """Per run of one axis: where it goes in the block, the source slice it reads (None: the
    constant) and whether that slice is read reversed (arrays take a negative step; datasets
    such as h5py's do not, so their pieces are flipped after reading)."""
    runs = [Run(0, n, 0, 1)] if extent is None else axis_runs(extent[0], extent[1], n, mode)
    pieces = []
    for r in runs:
        length = r.dst_stop - r.dst_start
        dst = slice(r.dst_start, r.dst_stop)
        if r.step is None:
            pieces.append((dst, None, False))
        elif r.step == 1:
            pieces.append((dst, slice(r.src_first, r.src_first + length), False))
        elif r.step == 0:
            pieces.append((dst, slice(r.src_first, r.src_first + 1), False))
        elif in_memory:
            stop = r.src_first - length
            pieces.append((dst, slice(r.src_first, stop if stop >= 0 else None, -1), False))
        else:
            pieces.append((dst, slice(r.src_first - length + 1, r.src_first + 1), True))
    return tuple(pieces)
