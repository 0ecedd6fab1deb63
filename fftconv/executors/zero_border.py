"""A border of zeros ('constant' with ``cval=0``) on the transforms: no room for the halo.

A filter reads a block extended by its halo and sums it in 'valid' mode; on the transforms
that costs the extended shape, ``n + k - 1`` an axis, so that no output's circular sum wraps
onto a sample of the block. Where the block is the whole image and its halo is zeros, a wrap
that lands on the halo adds nothing: the image alone, zero-padded to ``n + max(before,
after)``, gives the same sums (`fftconv.core.geometry.min_circular_length` of the 'same'-like
window). A 1024² image and a 101x101 kernel then transform 1080² points, not 1125x1134 (AMD
EPYC Zen 4, float64, the normalised filter's batch of two at FFTW MEASURE: forward and inverse
20 ms against 29 ms).

Served where the plan is a whole-array transform (one tile) of every axis and the shorter
transform has fewer points than the plan's; other blocks keep the extended layout. What
makes a halo zeros is the caller's to say: a 'constant' border of 0, or of NaN in a filter
with holes (a hole: value and weight both zero), or of 0 there with the weights transformed
less one (`fftconv.engine.hole_tiles`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..core.geometry import Segment
from ..planning.plan import Plan
from .fft_lengths import next_fast_length
from .periodic import PeriodicLayout

#: The boundary modes whose halo is the constant ``cval``.
CONSTANT_MODES = ("constant", "grid-constant")


def border_constant(mode: str, cval: object) -> str | None:
    """What a border of ``mode`` reads as: 'zero' (a constant 0), 'nan' (a constant NaN: holes
    in a filter with holes) or None (anything else).

    Examples
    --------
    >>> [border_constant(m, c) for m, c in [("constant", 0.0), ("constant", np.nan), ("reflect", 0)]]
    ['zero', 'nan', None]
    """
    if mode not in CONSTANT_MODES:
        return None
    try:
        value = complex(np.asarray(cval).item())
    except (TypeError, ValueError):
        return None
    if value == 0:
        return "zero"
    return "nan" if math.isnan(value.real) or math.isnan(value.imag) else None


def zero_border_layout(ranges: Sequence[tuple[int, int]], source_shape: Sequence[int],
                       kernel_shape: Sequence[int], plan: Plan | None) -> PeriodicLayout | None:
    """The FFT shape and segments of the convolution of the image alone, zero-padded, that
    gives the 'valid' correlation of the block whose extended coordinates are ``ranges`` when
    its halo is zeros: where the block is the whole image extended on every axis, and ``plan``
    (None: any) is a whole-array transform of more points; else None.

    Examples
    --------
    >>> shape, segments = zero_border_layout([(-50, 1074), (-50, 1074)], (1024, 1024), (101, 101), None)
    >>> shape, segments[0][0].res_offset
    ((1080, 1080), 50)
    >>> zero_border_layout([(0, 1124), (-50, 1074)], (1124, 1024), (101, 101), None) is None  # rows: a part
    True
    """
    rank = len(source_shape)
    if len(ranges) != rank or len(kernel_shape) != rank:
        return None
    lengths, segments = [], []
    for axis, ((start, stop), n, k) in enumerate(zip(ranges, source_shape, kernel_shape)):
        before, after = -start, stop - int(n)
        if stop - start - k + 1 != n or before < 0 or after < 0:
            return None  # not the whole image's outputs with their halo
        # the full convolution's output i + after is the extended block's 'valid' output i
        lengths.append(next_fast_length(max(int(n) + max(before, after), k), even=axis == rank - 1))
        segments.append((Segment(0, int(n), 0, after, 0, int(n)),))
    if plan is not None:
        tiled = getattr(plan.layout, "tiled_axes", None)  # a spectral plan's FFTLayout
        if tiled is None or any(tiled) or math.prod(lengths) >= math.prod(plan.layout.fft_shape):
            return None
    return tuple(lengths), tuple(segments)
