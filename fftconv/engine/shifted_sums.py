"""A tiny call's direct sum without a plan: the answer until scipy's module is imported.

The tiny routes (`fftconv.engine.tiny`) hand a call to scipy's compiled loops, once the module
holding them is imported and probed. A fresh process has not imported it (0.2-0.7 s), and its
tiny calls would take the pipeline, whose planning alone costs a first call about 0.4 ms (AMD
EPYC Zen 3: a 4x4 * 2x2 ``convolve`` 0.9 ms, 16x16 * 3x3 ``ndimage.correlate`` 1.8 ms, where
scipy's first calls take 0.03-0.16 ms). These sums need no plan: kernels of up to `MOST_TAPS`
taps are summed in one call of the compiled loop (``_compiled/tiny_sums.c``, arrays of 1 to 3
dimensions) or, where it does not serve, by shifted slices in NumPy, each kernel tap adding
the image times the tap into a slice of the result. Both are the direct sum (the same
products, NaN and inf included), each output summed over the taps in one order: the loop and
the slices give the same bits on real numbers (NumPy's complex multiply may fuse its
multiply-adds: complex sums agree within rounding). The loop exists for a fresh process:
NumPy's first use of each operation costs 10-25 us, and the slices' first call took 0.11-0.22
ms where scipy's took 0.03-0.07 ms.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..core.boundary import MODES, read_extended
from ..core.geometry import output_window
from ._compiled import tiny_sums
from .footprint import TINY_WEIGHT

#: Kernels of up to this many taps are summed here (a NumPy multiply-add of the image per tap,
#: about 2 us each for a tiny image: more taps cost more than the pipeline).
MOST_TAPS = 64
#: The dtypes summed in their own precision (as scipy.signal's loops sum them).
SIGNAL_DTYPES = frozenset(np.dtype(t) for t in (np.float32, np.float64, np.complex64, np.complex128))
FLOAT64 = np.dtype(np.float64)
#: Most dimensions the compiled loop sums.
COMPILED_DIMS = 3
#: The compiled loop's codes of the boundary modes (the grid-* modes are their twins').
_MODE_CODES = {"reflect": 0, "grid-mirror": 0, "mirror": 1, "nearest": 2, "wrap": 3, "grid-wrap": 3,
               "constant": 4, "grid-constant": 4}


def by_loop(a: np.ndarray) -> bool:
    """Whether the compiled loop sums a call on arrays like ``a`` (built; 1 to 3 dimensions),
    as fast as scipy's loops: the slices take the others.

    Examples
    --------
    >>> by_loop(np.ones((4, 4))) == (tiny_sums is not None)
    True
    >>> by_loop(np.ones((2, 2, 2, 2)))
    False
    """
    return tiny_sums is not None and a.ndim <= COMPILED_DIMS


def _full_convolution(image: np.ndarray, kernel: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """The 'full' convolution of ``image`` and ``kernel`` in ``dtype``, one slice a tap. (Not
    `fftconv.executors.direct_shift_add.shift_and_add`: its blocks and windows cost a fresh
    process' first tiny call 0.15-0.35 ms more, AMD EPYC: 4x4 * 2x2 0.28 against 0.12 ms.)"""
    full = np.zeros([n + k - 1 for n, k in zip(image.shape, kernel.shape)], dtype)
    product = np.empty(image.shape, dtype)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf is NaN, as scipy's sum, silently
        for tap in itertools.product(*map(range, kernel.shape)):
            np.multiply(image, kernel[tap], out=product)
            full[tuple(slice(t, t + n) for t, n in zip(tap, image.shape))] += product
    return full


def signal_sum(a: np.ndarray, b: np.ndarray, mode: str, correlate: bool,
               loop_taps: int = MOST_TAPS) -> np.ndarray | None:
    """scipy.signal's ``convolve``/``correlate`` (``method='direct'``, zero fill) of ``a`` and
    ``b``: two float or complex arrays of one dtype and of as many dimensions, ``b`` of at most
    `MOST_TAPS` taps (``loop_taps`` where the compiled loop sums it); mode 'full', 'same', or
    'valid' where ``a`` holds ``b`` (scipy swaps the operands of other 'valid' calls). None for
    any other call (the pipeline answers it).

    Examples
    --------
    >>> signal_sum(np.arange(4.0), np.array([1.0, 2.0]), "full", False)
    array([0., 1., 4., 7., 6.])
    >>> signal_sum(np.arange(4.0), np.array([1.0, 2.0]), "same", True)
    array([0., 2., 5., 8.])
    """
    most = max(loop_taps, MOST_TAPS) if by_loop(a) else MOST_TAPS
    if a.dtype != b.dtype or a.dtype not in SIGNAL_DTYPES or a.ndim != b.ndim or b.size > most:
        return None
    if mode not in ("full", "same", "valid"):
        return None
    if mode == "valid" and any(k > n for n, k in zip(a.shape, b.shape)):
        return None
    windows = [output_window(n, k, mode) for n, k in zip(a.shape, b.shape)]
    if by_loop(a):
        out = np.empty([w.length for w in windows], a.dtype)
        tiny_sums.signal(np.ascontiguousarray(a), np.ascontiguousarray(b), out, [w.start for w in windows],
                         correlate)
        return out
    # a correlation is the convolution with the kernel reversed and conjugated
    kernel = np.conj(b[(slice(None, None, -1),) * b.ndim]) if correlate else b
    full = _full_convolution(a, kernel, a.dtype)
    if mode == "full":
        return full
    return np.ascontiguousarray(full[tuple(slice(w.start, w.stop) for w in windows)])


def ndimage_sum(x: np.ndarray, w: np.ndarray, mode: str, cval: float, convolution: bool,
                out: np.ndarray | None = None) -> np.ndarray | None:
    """scipy.ndimage's ``correlate``/``convolve`` (``convolution``) of a float32 or float64
    image ``x`` with real weights ``w`` of as many dimensions, each axis no longer than the
    image's and `MOST_TAPS` taps at most, origin 0, summed in float64 and rounded once to the
    image's dtype as scipy's loop does (which skips weights within `TINY_WEIGHT` of zero: a NaN
    they reach stays out); None for any other call. ``out``: where to write it (C-contiguous,
    of ``x``'s shape and dtype, apart from ``x``), else a new array.

    Examples
    --------
    >>> ndimage_sum(np.arange(5.0), np.array([1.0, 2.0, 0.0]), "reflect", 0.0, False)
    array([ 0.,  2.,  5.,  8., 11.])
    """
    if (x.dtype not in (np.dtype(np.float32), FLOAT64) or w.dtype.kind not in "fiub"
            or w.ndim != x.ndim or w.size > MOST_TAPS or mode not in MODES
            or any(k > n for n, k in zip(x.shape, w.shape))):
        return None
    if by_loop(x):
        if out is None:
            out = np.empty(x.shape, x.dtype)
        tiny_sums.ndimage(np.ascontiguousarray(x), np.ascontiguousarray(w, FLOAT64), out, _MODE_CODES[mode],
                          cval, convolution)
        return out
    weights = w.astype(np.float64)
    if convolution:  # the weights reversed; an even axis' centre moves one sample (scipy's origin -1)
        weights = weights[(slice(None, None, -1),) * w.ndim]
        before = [(k - 1) // 2 for k in w.shape]
    else:
        before = [k // 2 for k in w.shape]
    ranges = [(-b, n + k - 1 - b) for b, n, k in zip(before, x.shape, w.shape)]
    extended = read_extended(x, ranges, mode, cval, FLOAT64)
    total = np.zeros(x.shape)
    product = np.empty(x.shape)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf is NaN, as scipy's sum, silently
        for tap, value in zip(itertools.product(*map(range, weights.shape)), weights.ravel().tolist()):
            if abs(value) > TINY_WEIGHT:  # scipy's loop sums no other tap
                window = extended[tuple(slice(t, t + n) for t, n in zip(tap, x.shape))]
                total += np.multiply(window, value, out=product)
        if out is not None:
            out[...] = total
            return out
        return total.astype(x.dtype, copy=False)
