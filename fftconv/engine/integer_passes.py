"""Passes of separable filters over 8-, 16- and 32-bit integer images, in one compiled pass each.

scipy.ndimage sums a pass of an integer image in double and casts the sums into the output's
integers; fftconv's rule snaps sums within round-off of an integer before truncating them
(`fftconv.core.dtypes.cast`). The compiled loop (``_compiled/integer_passes.c``) reads the
image's integers and writes the output's in the same pass:

* where every sum is a whole number (whole-number taps: sobel's, prewitt's, laplace's, a
  ``correlate1d`` or ``convolve1d`` with such weights, a whole-number ``cval``) or a whole
  number divided by the box's length (``uniform_filter``'s mean), it sums exactly in int32 and
  truncates the mean exactly: the answer fftconv's rule asks of float sums (a mean that is not
  a whole number lies at least ``1 / size`` from one, further than any snap reaches);
* other taps (a Gaussian's) are summed in double, then snapped and truncated by fftconv's rule
  over the whole pass's sums, as the float sums of scipy's loop are (summed in another order, a
  sum may differ from that loop's in its last bits: its snap and truncation only where it lies
  at the snap's edge, `SNAP_EPSILONS` from an integer);
* a pass that reads or writes 32-bit integers is summed in double whatever its taps
  (whole-number taps' sums exact; a box's mean its exact sum times 1 / box, whose cast is the
  exact quotient's: see ``scale_row`` in the loop), then cast as those: int32 sums could
  overflow the int32 sums of the first way. A box is summed tap by tap there, so only boxes of
  up to `WIDE_BOX` samples are served (scipy's running sum is quicker for longer ones).

Sums within the int32 range are written modulo 2^bits, as NumPy's cast and scipy's C cast write
them; past it, as scipy's C cast (through int64 into uint32, modulo 2^32; into the others
through int32, where x86 gives INT32_MIN). scipy's loop writing float64 sums and the cast after
it were two passes: on a 128x128 uint8 image a box of 5 took 58 us a pass that way (scipy's own
pass into uint8: 33; Intel Xeon).

Served: int8, uint8, int16, uint16, int32 and uint32 images and outputs (any pairing),
C-contiguous in memory or made so, every sum within int32 for 8- and 16-bit ones and within
2^53 where 32-bit ones are read or written (the taps' magnitudes, or the box's length, times the
largest magnitude the image's dtype or ``cval`` holds; there a ``cval`` of at most 2^40 in
magnitude, `WIDE_LARGEST`), real finite taps and ``cval``, taps no
longer than the line, an origin scipy takes. Anything else is left to the caller (`filter1d`
returns False).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from ..core.boundary import MODES, index_map
from ..core.dtypes import SNAP_EPSILONS
from ._compiled import integer_passes

#: The dtypes whose every sum of a pass fits int32 for a few thousand unit taps.
SMALL_INTEGERS = tuple(np.dtype(t) for t in (np.int8, np.uint8, np.int16, np.uint16))
#: The dtypes whose passes are summed in double (`float_pass1d`).
WIDE_INTEGERS = (np.dtype(np.int32), np.dtype(np.uint32))
#: The largest magnitude each holds (NumPy's iinfo took 1.7 us a call).
_LARGEST = {t: max(-int(np.iinfo(t).min), int(np.iinfo(t).max)) for t in SMALL_INTEGERS + WIDE_INTEGERS}
_INT32_MAX = 2**31 - 1
#: Double sums of integers are exact up to this magnitude.
_EXACT_DOUBLE = 2**53
#: The longest box served where 32-bit integers are read or written: summed tap by tap there,
#: where scipy's loop keeps a running sum.
WIDE_BOX = 16
#: ... and the largest magnitude of their samples and ``cval`` there: the snap's reach (64 eps of
#: the largest mean) then stays within 2^-6, short of the 1 / `WIDE_BOX` that parts a box's mean
#: that is not whole from the nearest whole number (``scale_row`` in the loop).
WIDE_LARGEST = 2**40
#: Where the engine's executors are the alternative (a large image's planned passes), the
#: compiled pass takes taps that are not whole numbers up to this many: its direct sums grow
#: with them, the executors' need not (1024² uint8 `gaussian_filter`, 1 thread, Intel Xeon:
#: sigma 2, 17 taps, 6.8 against 12.3 ms; sigma 5, 41 taps, 16.0 against 14.2).
PLANNED_FLOAT_TAPS = 25


#: A pass's weights: a box's length, or its taps.
Weights = int | np.ndarray | tuple[float, ...]


def filter1d(source: np.ndarray, weights: Weights, axis: int, out: np.ndarray, mode: str, cval: float,
             origin: int, most_float_taps: int | None = None) -> bool:
    """One pass of ``source`` into ``out`` along ``axis``, as `scipy.ndimage.uniform_filter1d`
    of a box of ``weights`` samples where it is an int, else as `scipy.ndimage.correlate1d` with
    the taps ``weights``, in one compiled pass (see the module docstring); False, with nothing
    written, for a pass it does not serve (`serves`), or whose taps are not whole numbers and
    more than ``most_float_taps`` (None: any number).

    Examples
    --------
    >>> out = np.empty(5, np.uint8)
    >>> filter1d(np.array([5, 1, 2, 3, 7], np.uint8), np.array([-1.0, 0.0, 1.0]), 0, out, "nearest", 0.0, 0)
    True
    >>> out  # the differences modulo 256: -4 and -3 as NumPy casts them
    array([252, 253,   2,   5,   4], dtype=uint8)
    >>> filter1d(np.array([1, 2, 4], np.int16), 2, 0, out[:3].view(np.int8), "reflect", 0.0, 0)
    True
    >>> out[:3].view(np.int8)  # the means of (1, 1), (1, 2), (2, 4), truncated
    array([1, 1, 3], dtype=int8)
    >>> wide = np.empty(3, np.int32)
    >>> filter1d(np.array([2**31 - 1, 1, 5], np.int32), np.array([1.0, 1.0]), 0, wide, "nearest", 0.0, 0)
    True
    >>> wide  # 2^31 - 1 + 2^31 - 1 is past int32: scipy's C cast gives INT32_MIN
    array([-2147483648, -2147483648,          6], dtype=int32)
    """
    if not (isinstance(out, np.ndarray) and out.flags.c_contiguous and out.flags.writeable
            and isinstance(source, np.ndarray) and source.shape == out.shape):
        return False
    served = _served(source.dtype, out.dtype, source.shape, weights, axis, mode, cval, origin)
    if served is None or not _within(served, most_float_taps):
        return False
    n = source.shape[axis]
    if not source.flags.c_contiguous:
        source = np.ascontiguousarray(source)
    outer, inner = math.prod(source.shape[:axis]), math.prod(source.shape[axis + 1:])
    if inner > 1 and np.may_share_memory(source, out):
        source = source.copy()  # its rows are read after the output's same rows are written
    shape = (outer, n, inner)
    extension = _extension(n, served.length, served.at, mode)
    constant = mode in ("constant", "grid-constant")
    if served.exact:
        integer_passes.pass1d(source.reshape(shape), out.reshape(shape), served.taps, served.box, extension,
                              served.at, int(cval) if constant else 0)  # type: ignore[call-overload]
    else:
        integer_passes.float_pass1d(source.reshape(shape), out.reshape(shape), served.taps, served.box,
                                    extension, served.at, float(cval) if constant else 0.0,  # type: ignore[arg-type]
                                    float(SNAP_EPSILONS))
    return True


def serves(source: object, weights: Weights, axis: int, out_dtype: np.dtype, mode: str, cval: object,
           origin: object, most_float_taps: int | None = None) -> bool:
    """Whether `filter1d` serves a pass of ``source`` (an in-memory array) with ``weights``
    into an output of ``out_dtype`` (a C-contiguous array of its shape).

    Examples
    --------
    >>> image, uint8 = np.zeros((4, 4), np.uint8), np.dtype(np.uint8)
    >>> serves(image, np.array([1.0, 2.0, 1.0]), 1, uint8, "reflect", 0.0, 0)
    True
    >>> serves(image, np.array([0.25, 0.5, 0.25]), 1, uint8, "reflect", 0.0, 0)
    True
    >>> serves(image.astype(np.int64), np.array([1.0, 2.0, 1.0]), 1, uint8, "reflect", 0.0, 0)
    False
    """
    if not isinstance(source, np.ndarray):
        return False
    served = _served(source.dtype, np.dtype(out_dtype), source.shape, weights, axis, mode, cval, origin)
    return served is not None and _within(served, most_float_taps)


class _Served(NamedTuple):
    """How `filter1d` sums a pass it serves."""

    taps: np.ndarray | None  # int32 where exact, else float64 (ones for a box); None for an exact box
    box: int
    length: int
    at: int  # where the line sits in its extension
    exact: bool


def _within(served: _Served, most_float_taps: int | None) -> bool:
    return served.exact or most_float_taps is None or served.length <= most_float_taps


def _served(in_dtype: np.dtype, out_dtype: np.dtype, shape: tuple[int, ...], weights: Weights, axis: int,
            mode: str, cval: object, origin: object) -> _Served | None:
    """How `filter1d` sums a pass, or None where it does not serve it."""
    if (integer_passes is None or in_dtype not in _LARGEST or out_dtype not in _LARGEST
            or 0 in shape or mode not in MODES or type(origin) is not int):
        return None
    wide = in_dtype in WIDE_INTEGERS or out_dtype in WIDE_INTEGERS
    box = weights if type(weights) is int else 0
    read = None if box else _taps(weights if type(weights) is tuple else tuple(weights.tolist()))  # type: ignore[union-attr]
    taps, reach = (None, box) if read is None else read
    length = box or (0 if taps is None else len(taps))
    at = length // 2 + origin
    if not (0 < length <= shape[axis] and 0 <= at < length):
        return None
    constant = mode in ("constant", "grid-constant")
    if constant and not (isinstance(cval, (int, float, np.integer, np.floating)) and math.isfinite(cval)):
        return None
    largest = max(_LARGEST[in_dtype], math.ceil(abs(cval)) if constant else 0)  # type: ignore[arg-type]
    if reach * largest > (_EXACT_DOUBLE if wide else _INT32_MAX):
        return None
    if wide and (box > WIDE_BOX or largest > WIDE_LARGEST):
        return None
    if wide:
        return _Served(_ones(box) if box else taps.astype(np.float64), box, length, at, False)  # type: ignore[union-attr]
    exact = taps is None or taps.dtype == np.int32
    if constant and not float(cval).is_integer():  # type: ignore[arg-type]
        if taps is None:
            return None  # (a box's exact mean needs whole sums)
        exact, taps = False, taps.astype(np.float64)
    return _Served(taps, box, length, at, exact)


@lru_cache(maxsize=512)
def _taps(values: tuple) -> tuple[np.ndarray, float] | None:
    """The taps as the compiled loop takes them (int32 where every one is a whole number of at
    most 2^15 in magnitude, else float64 where all are real and finite) and the sum of their
    magnitudes; None for others. Read once for each set of taps (a Gaussian's 17 took 9 us a
    call)."""
    if not all(type(v) in (float, int) and math.isfinite(v) for v in values):
        return None
    whole = all(float(v).is_integer() and abs(v) <= 2**15 for v in values)
    taps = np.array(values, np.int32 if whole else np.float64)
    taps.flags.writeable = False
    return taps, math.fsum(map(abs, values))


@lru_cache(maxsize=64)
def _ones(box: int) -> np.ndarray:
    """A box's taps for `float_pass1d`, kept read-only."""
    taps = np.ones(box)
    taps.flags.writeable = False
    return taps


@lru_cache(maxsize=256)
def _extension(n: int, length: int, at: int, mode: str) -> np.ndarray:
    """The source index of each of a line's ``n + length - 1`` extended samples (-1: the
    constant), the line itself at ``at`` (`fftconv.core.boundary.index_map`), kept read-only."""
    indices = index_map(-at, n + length - 1 - at, n, mode)
    indices.flags.writeable = False
    return indices
