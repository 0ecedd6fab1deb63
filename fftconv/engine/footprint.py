"""scipy.ndimage's footprint: the weights its N-D loop leaves out, and the outputs that tells.

``scipy.ndimage.correlate`` and ``convolve`` sum only the weights larger than `TINY_WEIGHT` in
magnitude: a zero tap of a Laplacian or a Sobel operator never multiplies its pixel, so a NaN
or inf pixel reaches only the outputs whose *footprint* covers it (``0 * nan`` is never
formed). fftconv's executors sum every tap (a vectorised loop, a transform), which is the same
answer wherever it is finite: the taps left out add exact zeros there. So a filter whose
weights have such taps zeroes them (`without_skipped`) and, after running, sums its non-finite
outputs again as scipy's loop does (`resum_nonfinite`): over the footprint only, in the taps'
order, in float64. Only an image with NaN or inf pays for more than one scan of the output
(the compiled scan of `fftconv.engine._compiled`: a 1024² float64 output in about 0.2 ms).

scipy's 1-D filters (``correlate1d`` and those built on it) sum every weight: this is for the
N-D ones, with real weights (scipy sums complex weights part by part, each part's tiny values
left out: fftconv sums every complex tap).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.boundary import read_extended
from ._compiled import float_passes

#: scipy.ndimage's N-D loop leaves out the weights of at most this magnitude (its ``DBL_EPSILON``).
TINY_WEIGHT = float(np.finfo(np.float64).eps)
#: Extended samples read at once when summing again (4M: 32 MiB of float64).
READ_POINTS = 1 << 22
#: What the compiled scan reads.
SCANNED = (np.dtype(np.float32), np.dtype(np.float64))


def skips_weights(weights: np.ndarray) -> bool:
    """Whether scipy.ndimage's N-D loop leaves out some of these (real) weights.

    Examples
    --------
    >>> skips_weights(np.array([[0.0, 1.0], [1.0, 1.0]])), skips_weights(np.ones((2, 2)))
    (True, False)
    """
    return weights.dtype.kind in "biuf" and bool((np.abs(weights) <= TINY_WEIGHT).any())


def without_skipped(weights: np.ndarray) -> np.ndarray:
    """The weights with those scipy's loop leaves out set to zero (a copy).

    Examples
    --------
    >>> without_skipped(np.array([1.0, 1e-20, -2.0]))
    array([ 1.,  0., -2.])
    """
    return np.where(np.abs(weights) <= TINY_WEIGHT, 0, weights).astype(weights.dtype, copy=False)


@dataclass(frozen=True, eq=False)
class Footprint:
    """A filter's correlation taps (one axis per source axis, those scipy's loop leaves out
    zeroed) and the samples each output reads before it on each axis: what `resum_nonfinite`
    sums again."""

    taps: np.ndarray
    before: tuple[int, ...]


def resum_nonfinite(source, out, footprint: Footprint, mode: str, cval: object) -> int:
    """Sum again, as scipy.ndimage's loop does, the outputs of ``out`` that are not finite:
    ``out`` (an array, or an array-like that slicing reads and writes: a dataset) holds the
    correlation of ``source`` (an array-like of ``out``'s shape) extended by ``mode`` with
    ``footprint.taps``, output ``i`` reading ``source[i - footprint.before + j]`` at tap ``j``.
    Each is summed over the taps larger than `TINY_WEIGHT` only, in their order, in float64
    (a complex source's real and imaginary parts apart, as scipy filters them: a NaN in one
    stays out of the other), and written back in ``out``'s dtype; band by band along the first
    axis. Returns how many were summed.

    Examples
    --------
    >>> x = np.array([1.0, 1.0, np.nan, 1.0, 1.0])
    >>> out = np.array([2.0, np.nan, np.nan, np.nan, 2.0])  # summed with the zero tap: 0 * nan
    >>> resum_nonfinite(x, out, Footprint(np.array([1.0, 0.0, 1.0]), (1,)), "reflect", 0.0), out
    (3, array([ 2., nan,  2., nan,  2.]))
    """
    shape = tuple(out.shape)
    if not shape or 0 in shape or (isinstance(out, np.ndarray) and _all_finite(out)):
        return 0  # (the common case: one scan)
    taps, before = footprint.taps, footprint.before
    kept = np.argwhere(np.abs(taps) > TINY_WEIGHT)  # in the order scipy's loop sums them
    weights = taps[tuple(kept.T)].astype(np.float64)
    dtype = np.dtype(np.complex128 if np.dtype(source.dtype).kind == "c" else np.float64)
    row_points = math.prod(n + k - 1 for n, k in zip(shape[1:], taps.shape[1:]))
    rows = max(READ_POINTS // max(row_points, 1) - taps.shape[0] + 1, 1)
    summed = 0
    for start in range(0, shape[0], rows):
        stop = min(start + rows, shape[0])
        block = out[start:stop]
        in_place = isinstance(out, np.ndarray)
        block = block if in_place else np.asarray(block)
        if _all_finite(block):
            continue
        positions = np.nonzero(~np.isfinite(block))
        ranges = [(start - before[0], stop - before[0] + taps.shape[0] - 1)]
        ranges += [(-b, n + k - 1 - b) for b, n, k in zip(before[1:], shape[1:], taps.shape[1:])]
        extended = read_extended(source, ranges, mode, cval, dtype)
        parts = [extended.real, extended.imag] if dtype.kind == "c" else [extended]
        sums = [np.zeros(len(positions[0])) for _ in parts]
        with np.errstate(invalid="ignore", over="ignore"):  # inf - inf is NaN there too, silently
            for tap, weight in zip(kept, weights):
                at = tuple(p + t for p, t in zip(positions, tap))
                for total, part in zip(sums, parts):
                    total += part[at] * weight
        if len(sums) == 2:  # put together, not added: 1j * nan would make the real part NaN too
            joined = np.empty(len(positions[0]), dtype)
            joined.real, joined.imag = sums
            sums = [joined]
        block[positions] = sums[0]
        if not in_place:
            out[start:stop] = block
        summed += len(positions[0])
    return summed


def _all_finite(block: np.ndarray) -> bool:
    """No NaN and no inf in ``block``: the compiled scan (which stops at the first) where it
    reads it, else NumPy's."""
    if float_passes is not None and block.dtype in SCANNED and block.flags.c_contiguous:
        return float_passes.all_finite(block)
    return bool(np.isfinite(block).all())
