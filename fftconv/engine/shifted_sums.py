"""A tiny call's direct sum in NumPy, one shifted slice a kernel tap: the answer while scipy's
module imports.

The tiny routes (`fftconv.engine.tiny`) hand a call to scipy's compiled loops, once the module
holding them is imported and probed; a fresh process imports it in the background (0.2-0.7 s)
and meanwhile its tiny calls would take the pipeline, whose planning alone costs a first call
about 0.4 ms (AMD EPYC Zen 3: a 4x4 * 2x2 ``convolve`` 0.9 ms, 16x16 * 3x3
``ndimage.correlate`` 1.8 ms, where scipy's first calls take 0.03-0.16 ms). These sums need no
plan: each kernel tap adds the image times the tap into a slice of the result (kernels of up
to `MOST_TAPS` taps), which is the direct sum in another order (the same products, NaN and inf
included; the rounding of a different order of additions).
"""

from __future__ import annotations

import itertools

import numpy as np

from ..core.boundary import MODES, read_extended
from .footprint import TINY_WEIGHT

#: Kernels of up to this many taps are summed here (a NumPy multiply-add of the image per tap,
#: about 2 us each for a tiny image: more taps cost more than the pipeline).
MOST_TAPS = 64
#: The dtypes summed in their own precision (as scipy.signal's loops sum them).
SIGNAL_DTYPES = frozenset(np.dtype(t) for t in (np.float32, np.float64, np.complex64, np.complex128))
FLOAT64 = np.dtype(np.float64)


def _full_convolution(image: np.ndarray, kernel: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """The 'full' convolution of ``image`` and ``kernel`` in ``dtype``, one slice a tap. (Not
    `fftconv.executors.direct_shift_add.shift_and_add`: its blocks and windows cost a fresh
    process' first tiny call 0.15-0.35 ms more, AMD EPYC: 4x4 * 2x2 0.28 against 0.12 ms.)"""
    full = np.zeros([n + k - 1 for n, k in zip(image.shape, kernel.shape)], dtype)
    product = np.empty(image.shape, dtype)
    for tap in itertools.product(*map(range, kernel.shape)):
        np.multiply(image, kernel[tap], out=product)
        full[tuple(slice(t, t + n) for t, n in zip(tap, image.shape))] += product
    return full


def signal_sum(a: np.ndarray, b: np.ndarray, mode: str, correlate: bool) -> np.ndarray | None:
    """scipy.signal's ``convolve``/``correlate`` (``method='direct'``, zero fill) of ``a`` and
    ``b``: two float or complex arrays of one dtype and of as many dimensions, ``b`` of at most
    `MOST_TAPS` taps; mode 'full', 'same', or 'valid' where ``a`` holds ``b`` (scipy swaps the
    operands of other 'valid' calls). None for any other call (the pipeline answers it).

    Examples
    --------
    >>> signal_sum(np.arange(4.0), np.array([1.0, 2.0]), "full", False)
    array([0., 1., 4., 7., 6.])
    >>> signal_sum(np.arange(4.0), np.array([1.0, 2.0]), "same", True)
    array([0., 2., 5., 8.])
    """
    if a.dtype != b.dtype or a.dtype not in SIGNAL_DTYPES or a.ndim != b.ndim or b.size > MOST_TAPS:
        return None
    if mode not in ("full", "same", "valid"):
        return None
    if mode == "valid" and any(k > n for n, k in zip(a.shape, b.shape)):
        return None
    # a correlation is the convolution with the kernel reversed and conjugated
    kernel = np.conj(b[(slice(None, None, -1),) * b.ndim]) if correlate else b
    full = _full_convolution(a, kernel, a.dtype)
    if mode == "full":
        return full
    if mode == "same":
        return np.ascontiguousarray(full[tuple(slice((k - 1) // 2, (k - 1) // 2 + n)
                                               for n, k in zip(a.shape, b.shape))])
    return np.ascontiguousarray(full[tuple(slice(k - 1, n) for n, k in zip(a.shape, b.shape))])


def ndimage_sum(x: np.ndarray, w: np.ndarray, mode: str, cval: float, convolution: bool) -> np.ndarray | None:
    """scipy.ndimage's ``correlate``/``convolve`` (``convolution``) of a float32 or float64
    image ``x`` with real weights ``w`` of as many dimensions, each axis no longer than the
    image's and `MOST_TAPS` taps at most, origin 0, summed in float64 and rounded once to the
    image's dtype as scipy's loop does (which skips weights within `TINY_WEIGHT` of zero: a NaN
    they reach stays out); None for any other call.

    Examples
    --------
    >>> ndimage_sum(np.arange(5.0), np.array([1.0, 2.0, 0.0]), "reflect", 0.0, False)
    array([ 0.,  2.,  5.,  8., 11.])
    """
    if (x.dtype not in (np.dtype(np.float32), FLOAT64) or w.dtype.kind not in "fiub"
            or w.ndim != x.ndim or w.size > MOST_TAPS or mode not in MODES
            or any(k > n for n, k in zip(x.shape, w.shape))):
        return None
    weights = w.astype(np.float64)
    if convolution:  # the weights reversed; an even axis' centre moves one sample (scipy's origin -1)
        weights = weights[(slice(None, None, -1),) * w.ndim]
        before = [(k - 1) // 2 for k in w.shape]
    else:
        before = [k // 2 for k in w.shape]
    ranges = [(-b, n + k - 1 - b) for b, n, k in zip(before, x.shape, w.shape)]
    extended = read_extended(x, ranges, mode, cval, FLOAT64)
    out = np.zeros(x.shape)
    product = np.empty(x.shape)
    for tap, value in zip(itertools.product(*map(range, weights.shape)), weights.ravel().tolist()):
        if abs(value) > TINY_WEIGHT:  # scipy's loop sums no other tap
            window = extended[tuple(slice(t, t + n) for t, n in zip(tap, x.shape))]
            out += np.multiply(window, value, out=product)
    return out.astype(x.dtype, copy=False)
