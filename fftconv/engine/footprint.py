"""scipy.ndimage's footprint: the weights its N-D loop leaves out, and the outputs that tells.

``scipy.ndimage.correlate`` and ``convolve`` sum only the weights larger than `TINY_WEIGHT` in
magnitude: a zero tap of a Laplacian or a Sobel operator never multiplies its pixel, so a NaN
or inf pixel reaches only the outputs whose *footprint* covers it (``0 * nan`` is never
formed). fftconv's executors sum every tap (a vectorised loop, a transform), which is the same
answer wherever it is finite: the taps left out add exact zeros there. So a filter whose
weights have such taps zeroes them (`without_skipped`) and, after running, sums its non-finite
outputs again as scipy's loop does (`resum_nonfinite`): over the footprint only, in the taps'
order, in float64. Only an image with NaN or inf pays for more than one pass over the output
(`fftconv.executors.nonfinite.all_finite`, a sum: a 1024² float64 output in about 0.2 ms).

scipy's 1-D filters (``correlate1d`` and those built on it) sum every weight: this is for the
N-D ones. A complex image or complex weights are filtered part by part in scipy (the real
output is ``corr(x.real, w.real) - corr(x.imag, w.imag)``, each correlation leaving out its own
tiny weights), and so are their non-finite outputs here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.boundary import read_extended
from ..executors.nonfinite import all_finite

#: scipy.ndimage's N-D loop leaves out the weights of at most this magnitude (its ``DBL_EPSILON``).
TINY_WEIGHT = float(np.finfo(np.float64).eps)
#: Extended samples read at once when summing again (4M: 32 MiB of float64).
READ_POINTS = 1 << 22


def skips_weights(weights: np.ndarray) -> bool:
    """Whether scipy.ndimage's N-D loop leaves out some of these weights (of complex ones,
    some of their real or imaginary parts): those not larger than `TINY_WEIGHT` in magnitude,
    a NaN weight among them (its test, ``fabs(w) > DBL_EPSILON``, is false for NaN).

    Examples
    --------
    >>> skips_weights(np.array([[0.0, 1.0], [1.0, 1.0]])), skips_weights(np.ones((2, 2)))
    (True, False)
    >>> skips_weights(np.array([1.0 + 2.0j, 3.0 + 0.0j])), skips_weights(np.array([1.0, np.nan]))
    (True, True)
    """
    return weights.dtype.kind in "biufc" and any(bool(_skipped(part).any()) for part in _parts(weights))


def without_skipped(weights: np.ndarray) -> np.ndarray:
    """The weights with those scipy's loop leaves out set to zero (a copy; of complex ones,
    their tiny or NaN real and imaginary parts).

    Examples
    --------
    >>> without_skipped(np.array([1.0, 1e-20, -2.0, np.nan]))
    array([ 1.,  0., -2.,  0.])
    """
    if weights.dtype.kind == "c":
        kept = weights.copy()
        for part in (kept.real, kept.imag):
            part[_skipped(part)] = 0
        return kept
    return np.where(_skipped(weights), 0, weights).astype(weights.dtype, copy=False)


def _skipped(part: np.ndarray) -> np.ndarray:
    """Where scipy's loop leaves a real weight out: not larger than `TINY_WEIGHT`, or NaN (a
    comparison with NaN is false, and warns of nothing)."""
    return ~(np.abs(part) > TINY_WEIGHT)


def _parts(a: np.ndarray) -> list[np.ndarray]:
    """A complex array's real and imaginary parts; a real array alone."""
    return [a.real, a.imag] if a.dtype.kind == "c" else [a]


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
    Each is summed over the taps larger than `TINY_WEIGHT` only, in their order, in float64,
    part by part for a complex source or complex taps as scipy filters them (a NaN in one part
    stays out of the outputs the other parts reach), and written back in ``out``'s dtype; band
    by band along the first axis. Returns how many were summed.

    Examples
    --------
    >>> x = np.array([1.0, 1.0, np.nan, 1.0, 1.0])
    >>> out = np.array([2.0, np.nan, np.nan, np.nan, 2.0])  # summed with the zero tap: 0 * nan
    >>> resum_nonfinite(x, out, Footprint(np.array([1.0, 0.0, 1.0]), (1,)), "reflect", 0.0), out
    (3, array([ 2., nan,  2., nan,  2.]))
    """
    shape = tuple(out.shape)
    if not shape or 0 in shape or (isinstance(out, np.ndarray) and all_finite(out)):
        return 0  # (the common case: one scan)
    taps, before = footprint.taps, footprint.before
    # per part of the taps: the taps' indices in the order scipy's loop sums them, their values
    kept = [(np.argwhere(np.abs(part) > TINY_WEIGHT), part) for part in _parts(taps)]
    kept = [(where, part[tuple(where.T)].astype(np.float64)) for where, part in kept]
    complex_source = np.dtype(source.dtype).kind == "c"
    dtype = np.dtype(np.complex128 if complex_source else np.float64)
    row_points = math.prod(n + k - 1 for n, k in zip(shape[1:], taps.shape[1:]))
    rows = max(READ_POINTS // max(row_points, 1) - taps.shape[0] + 1, 1)
    summed = 0
    for start in range(0, shape[0], rows):
        stop = min(start + rows, shape[0])
        block = out[start:stop]
        in_place = isinstance(out, np.ndarray)
        block = block if in_place else np.asarray(block)
        if all_finite(block):
            continue
        positions = np.nonzero(~np.isfinite(block))
        ranges = [(start - before[0], stop - before[0] + taps.shape[0] - 1)]
        ranges += [(-b, n + k - 1 - b) for b, n, k in zip(before[1:], shape[1:], taps.shape[1:])]
        extended = read_extended(source, ranges, mode, cval, dtype)
        with np.errstate(invalid="ignore", over="ignore"):  # inf - inf is NaN there too, silently
            sums = _part_sums(_parts(extended), kept, positions)
        if len(sums) == 2:  # put together, not added: 1j * nan would make the real part NaN too
            joined = np.empty(len(positions[0]), np.complex128)
            joined.real, joined.imag = sums
            sums = [joined]
        block[positions] = sums[0]
        if not in_place:
            out[start:stop] = block
        summed += len(positions[0])
    return summed


def _part_sums(values: list[np.ndarray], kept: list[tuple[np.ndarray, np.ndarray]],
               positions: tuple[np.ndarray, ...]) -> list[np.ndarray]:
    """The outputs at ``positions`` as scipy's correlations of parts make them: of the real or
    the real and imaginary parts ``values`` of the extended source and ``kept`` (the real or the
    real and imaginary parts of the taps: indices and values), each correlation over its own
    taps, in order; the real part, or the real and imaginary parts, of the result."""

    def correlation(part: np.ndarray, taps: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        total = np.zeros(len(positions[0]))
        for tap, weight in zip(*taps):
            total += part[tuple(p + t for p, t in zip(positions, tap))] * weight
        return total

    if len(values) == 1 and len(kept) == 1:
        return [correlation(values[0], kept[0])]
    if len(values) == 1:  # a real source, complex taps
        return [correlation(values[0], kept[0]), correlation(values[0], kept[1])]
    if len(kept) == 1:  # a complex source, real taps
        return [correlation(values[0], kept[0]), correlation(values[1], kept[0])]
    real, imag = values
    return [correlation(real, kept[0]) - correlation(imag, kept[1]),
            correlation(real, kept[1]) + correlation(imag, kept[0])]
