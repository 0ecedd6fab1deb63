"""A periodic boundary ('wrap') on the transforms: the circular convolution at the image's own shape.

A filter reads a block extended by its halo and sums it in 'valid' mode; on the transforms
that costs the extended shape, ``n + k - 1`` an axis. Where the boundary is periodic and the
block is the whole image, the extension is the image's own period: the 'valid' sums are the
circular convolution of the image at its shape ``n``, with the kernel folded onto one period
and turned so that each output lands on its own index. A 1024² image and a 161² kernel then
transform 1024² points, not 1200² (AMD EPYC Zen 4, float64, the normalised filter's batch of
two at FFTW MEASURE: forward and inverse 22 ms at 1024² against 31 ms at 1200²).

Served where the plan is a whole-array transform (one tile) of every axis and each axis'
length is itself a fast length (the last one even), as the plan's padded one is; other blocks
keep the extended layout.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core.geometry import Segment
from ..planning.plan import Plan
from .fft_lengths import next_fast_length

#: A periodic transform's shape and its segments (one per axis), as `SpectralLayout` takes them.
PeriodicLayout = tuple[tuple[int, ...], tuple[tuple[Segment, ...], ...]]
#: The boundary modes whose extension is the image's own period.
PERIODIC_MODES = ("wrap", "grid-wrap")


def periodic_shape(ranges: Sequence[tuple[int, int]], source_shape: Sequence[int],
                   kernel_shape: Sequence[int], mode: str) -> tuple[int, ...] | None:
    """The image's shape, where the block whose extended coordinates are ``ranges`` is the
    whole image of a periodic ``mode`` on every axis and each length is a fast length (the
    last one even); else None. What `periodic_layout` asks before the plan.

    Examples
    --------
    >>> periodic_shape([(-8, 1032), (-8, 1032)], (1024, 1024), (17, 17), "wrap")
    (1024, 1024)
    >>> periodic_shape([(0, 1040), (-8, 1032)], (1040, 1024), (17, 17), "wrap") is None  # rows: a part
    True
    """
    shape = tuple(int(n) for n in source_shape)
    rank = len(shape)
    if mode not in PERIODIC_MODES or len(ranges) != rank or len(kernel_shape) != rank:
        return None
    for axis, ((start, stop), n, k) in enumerate(zip(ranges, shape, kernel_shape)):
        whole = stop - start - k + 1 == n and -k < start <= 0  # every output of the axis
        if not whole or next_fast_length(n, even=axis == rank - 1) != n:
            return None
    return shape


def periodic_layout(ranges: Sequence[tuple[int, int]], source_shape: Sequence[int],
                    kernel_shape: Sequence[int], mode: str, plan: Plan) -> PeriodicLayout | None:
    """The FFT shape and segments of the circular convolution at the image's shape that gives
    the 'valid' correlation of the block whose extended coordinates are ``ranges``, where that
    serves (`periodic_shape`, and ``plan`` a whole-array transform of more points); else None.

    Examples
    --------
    >>> from fftconv.core.problem import Problem
    >>> from fftconv.engine import run
    >>> p = run.plan(Problem.build(np.zeros((2, 1040, 1040)), np.ones((1, 17, 17)), "valid", [1, 2]), "fft")
    >>> periodic_layout([(-8, 1032), (-8, 1032)], (1024, 1024), (17, 17), "wrap", p)[0]
    (1024, 1024)
    """
    tiled = getattr(plan.layout, "tiled_axes", None)  # a spectral plan's FFTLayout
    if tiled is None or any(tiled):
        return None
    shape = periodic_shape(ranges, source_shape, kernel_shape, mode)
    if shape is None or np.prod(shape, dtype=float) >= np.prod(plan.layout.fft_shape, dtype=float):
        return None
    segments = tuple((Segment(0, n, 0, 0, 0, n),) for n in shape)
    return shape, segments


def periodic_kernel(kernel: np.ndarray, shift: Sequence[int], shape: Sequence[int]) -> np.ndarray:
    """``kernel`` folded onto one period of ``shape`` (taps a period apart added) and turned
    by ``shift`` on each axis.

    Examples
    --------
    >>> periodic_kernel(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), [1], [3])
    array([3., 5., 7.])
    """
    folded = kernel
    for axis, n in enumerate(shape):
        k = folded.shape[axis]
        if k > n:
            widths = [(0, -k % n) if a == axis else (0, 0) for a in range(folded.ndim)]
            padded = np.pad(folded, widths)
            folded = padded.reshape(padded.shape[:axis] + (-1, n) + padded.shape[axis + 1:]).sum(axis=axis)
    placed = np.zeros(tuple(shape), folded.dtype)
    placed[tuple(slice(0, k) for k in folded.shape)] = folded
    return np.roll(placed, tuple(shift), axis=tuple(range(len(shape))))

