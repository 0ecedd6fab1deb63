"""Arrays seen as the lines along one axis, for kernels longer than 1 on that axis alone.

A kernel of shape ``(25, 1, 1)`` (a cube smoothed along its spectra) or ``(1, 25, 1)`` (an RGB
image blurred along its rows) filters lines: the samples along one axis, the same way for
every position on the others. The compiled loops sum along the last axis of what they are
given, so the array's own shape makes them sum its shortest rows: 3 samples of an RGB image,
the 128 of a cube's last axis for a kernel along the first. Seen as the lines along the
kernel's axis, the axes before it made one and those after it made one (`line_shape`, a
view), the loops run along whole planes; where the axes after it hold few samples
(`MOVED_TRAILING`), the array is copied with the kernel's axis moved last (`moved_last`), and
the result moved back (`moved_back`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

#: A kernel along a middle axis whose trailing axes hold at most this many samples runs on a
#: copy with its axis moved last. Intel Xeon (AVX-512), 1 thread, 25 taps along axis 1,
#: float32 / float64: 512x512x3 14.3 / 14.6 ms in place, 2.1 / 5.8 ms moved; 4096x64x8 14.8 /
#: 17.7 against 4.4 / 15.3; 256x256x16 3.4 / 4.0 against 2.0 / 3.3; 128x128x32 1.0 / 1.1
#: against 1.0 / 1.8 (so not beyond 16).
MOVED_TRAILING = 16


def long_axis(kernel_shape: Sequence[int]) -> int | None:
    """The one axis of ``kernel_shape`` longer than 1, or None (none, or several).

    Examples
    --------
    >>> long_axis((25, 1, 1)), long_axis((1, 5, 5)), long_axis((1, 1))
    (0, None, None)
    """
    long = [a for a, n in enumerate(kernel_shape) if n > 1]
    return long[0] if len(long) == 1 else None


def line_shape(shape: Sequence[int], axis: int) -> tuple[tuple[int, ...], int]:
    """``shape`` seen as lines along ``axis`` (the axes before it made one, and those after it
    made one), and the axis's place in that view: a filter along axis 0 of a volume is one along
    the columns of a matrix, which the compiled loops and transforms run at full width.

    Examples
    --------
    >>> line_shape((100, 128, 128), 0), line_shape((4, 5, 6, 7), 2), line_shape((3, 4, 5), 2)
    (((100, 16384), 0), ((20, 6, 7), 1), ((12, 5), 1))
    """
    collapsed = (*([math.prod(shape[:axis])] if axis else []), shape[axis],
                 *([math.prod(shape[axis + 1 :])] if axis < len(shape) - 1 else []))
    return collapsed, 1 if axis else 0


def moved_shape(shape: Sequence[int], axis: int) -> tuple[int, int, int] | None:
    """``(before, length, after)``: ``shape`` as lines along a middle ``axis`` whose trailing
    axes hold at most `MOVED_TRAILING` samples, to be moved last; None otherwise.

    Examples
    --------
    >>> moved_shape((512, 512, 3), 1), moved_shape((64, 64, 64), 1), moved_shape((64, 3), 0)
    ((512, 512, 3), None, None)
    """
    if not 0 < axis < len(shape) - 1:
        return None
    after = math.prod(shape[axis + 1:])
    return (math.prod(shape[:axis]), shape[axis], after) if after <= MOVED_TRAILING else None


def moved_last(x: np.ndarray, moved: tuple[int, int, int]) -> np.ndarray:
    """A C-contiguous copy of ``x`` (lines ``moved``: `moved_shape`) as ``(before * after,
    length)``: each line a row.

    Examples
    --------
    >>> moved_last(np.arange(12).reshape(2, 3, 2), (2, 3, 2))
    array([[ 0,  2,  4],
           [ 1,  3,  5],
           [ 6,  8, 10],
           [ 7,  9, 11]])
    """
    before, length, after = moved
    return np.ascontiguousarray(x.reshape(before, length, after).transpose(0, 2, 1)).reshape(before * after,
                                                                                             length)


def moved_back(rows: np.ndarray, moved: tuple[int, int, int], shape: Sequence[int],
               out: np.ndarray | None = None) -> np.ndarray:
    """``rows`` (`moved_last`'s layout, each row a line of the result) in the result's own
    ``shape``: written into ``out`` if given, else a new C-contiguous array.

    Examples
    --------
    >>> x = np.arange(12.0).reshape(2, 3, 2)
    >>> np.array_equal(moved_back(moved_last(x, (2, 3, 2)), (2, 3, 2), x.shape), x)
    True
    """
    before, _, after = moved
    lines = rows.reshape(before, after, rows.shape[-1]).transpose(0, 2, 1)
    if out is None:
        out = np.empty(tuple(shape), rows.dtype)
    if out.flags.c_contiguous:
        out.reshape(lines.shape)[...] = lines
    else:
        out[...] = lines.reshape(out.shape)
    return out
