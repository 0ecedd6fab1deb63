"""A small filter with holes, summed without a plan on its signature's first calls.

Planning a filter with holes (its block, the bands, the separable passes' rank test, the
estimates of every executor) costs a fresh process' first call 1.3-2.5 ms where the sums
themselves take microseconds: Intel Xeon (AVX-512), 1 thread, astropy's ``convolve`` of 121
samples with 2 % NaN and a 13-tap Gaussian took 2.2-3.4 ms on its first call through the
planner, against 0.24 ms in astropy. Here a call of at most `FIRST_CALL_MACS` multiply-adds
a plane is summed by the tiny compiled loop (`fftconv.engine.shifted_sums`): the image
extended by its mode and split into values and weights (`read_planes`), both planes
correlated with the kernel in one call each, and divided as every route divides
(`combine_into`). A signature rents this route (`fftconv.engine.lane.rent`: its repeats
skip the arguments' checks as a planned route's do) for its first calls, at most
`fftconv.engine.lane.RENTED_CALLS` and while they have spent under `RENT_SECONDS` on it,
about what planning costs; then it is planned and its route remembered, quicker still where
the one-pass route serves it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

from .. import config
from . import shifted_sums
from .holes import combine_into, marked_pixels, read_planes
from .holes import compute_dtype as compute_dtype_of_holes

#: Most multiply-adds a plane (values, weights) a first call sums here: the tiny loop sums
#: 3-4 per nanosecond (Intel Xeon, 80² * 17x17 to 300² * 7x7), so its two planes cost at most
#: ~1.2 ms, under what planning costs.
FIRST_CALL_MACS = 1 << 21
#: Most taps the tiny loop sums here (its own limit is its caller's choice).
MOST_TAPS = 1024
#: Seconds a signature's calls may spend on this route before it is planned
#: (`fftconv.engine.lane.renting`: planning costs 1.3-2.5 ms).
RENT_SECONDS = 1.5e-3


def unplanned_route(x: np.ndarray, work, ext_dtype: np.dtype,
                    out_dtype: np.dtype) -> Callable[[np.ndarray, np.ndarray | None], np.ndarray] | None:
    """For in-memory images like ``x`` (its shape and dtype; no mask beside their NaN), a call
    that writes their normalised filter by ``work`` (a `fftconv.engine.blocks.BlockFilter`
    with holes, over every axis) into an output array or a new one of ``out_dtype``, where the
    call is small, no method is forced and the tiny loop sums it; None otherwise (the caller
    plans it).

    Examples
    --------
    >>> from fftconv.engine.blocks import BlockFilter
    >>> from fftconv.engine.holes import Holes
    >>> work = BlockFilter(np.ones(3), (0,), (1,), "nearest", 0.0, True, "auto", 1, holes=Holes())
    >>> route = unplanned_route(np.zeros(5), work, np.dtype(np.float64), np.dtype(np.float64))
    >>> route(np.array([1.0, np.nan, 3.0, np.nan, 5.0]))
    array([1., 2., 3., 4., 5.])
    """
    kernel = work.kernel
    if work.method != "auto" or config.forced_method() != "auto":
        return None  # a method asked for is the one that sums
    if (not shifted_sums.by_loop(x) or kernel.ndim != x.ndim or tuple(work.axes) != tuple(range(x.ndim))
            or kernel.size > MOST_TAPS or kernel.dtype.kind not in "fiu"
            or math.prod(x.shape) * kernel.size > FIRST_CALL_MACS):
        return None
    dtype = compute_dtype_of_holes(ext_dtype)
    if dtype not in shifted_sums.SIGNAL_DTYPES:
        return None
    kernel = kernel.copy()  # the route's own: the caller's array may change
    shape = tuple(x.shape)
    ranges = work.extended_ranges([0] * len(shape), shape)
    planes_shape = (2,) + tuple(b - a for a, b in ranges)
    correlation = np.array(kernel if work.correlate else np.flip(kernel), dtype, order="C")
    whole, first = tuple(slice(0, n) for n in shape), [0] * len(shape)

    def route(image: np.ndarray, output: np.ndarray | None = None) -> np.ndarray:
        planes = np.empty(planes_shape, dtype)
        read_planes(image, None, ranges, work.mode, work.cval, planes[0], planes[1])
        numerator = shifted_sums.signal_sum(planes[0], correlation, "valid", True, MOST_TAPS)
        denominator = shifted_sums.signal_sum(planes[1], correlation, "valid", True, MOST_TAPS)
        target = np.empty(shape, out_dtype) if output is None else output
        centre = functools.partial(marked_pixels, image, None, dtype, first)
        combine_into(target, whole, out_dtype, numerator, denominator, centre, kernel, work.holes)
        return target
    return route
