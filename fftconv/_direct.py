"""The direct executor: sliding sums, exact for integers, non-finite values stay local.

Arrays arrive with the convolved axes last (``batch + conv_shape``). The compiled loops
that serve a problem, fastest first: NumPy's ``np.convolve`` (one-dimensional, unbatched),
kernel rows as ``np.correlate`` calls over the flattened image (`fftconv._direct_rows`:
real floats, kernel rows of at most 11 taps), scipy.ndimage's correlation loop (other real
float sums). Otherwise each kernel tap adds a shifted, scaled copy of the input into the
output (only where the input exists, as in the seed's reference loops), block by block so
the working set stays in cache.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from ._direct_rows import correlate_rows, rows_apply
from ._geometry import Window
from ._ndimage_loop import correlate_zero_padded
from ._nonfinite import all_finite

#: Output bytes per block: small enough that the block and its temporaries stay in L2.
BLOCK_BYTES = 1 << 18


def accumulation_dtype(result: np.dtype) -> np.dtype:
    """dtype the sliding sum runs in: 64-bit for integers (wrap-around equals scipy's
    modular arithmetic after the cast back), float32 for float16, else the result dtype.

    Examples
    --------
    >>> import numpy as np
    >>> accumulation_dtype(np.dtype(np.int8)), accumulation_dtype(np.dtype(np.float16))
    (dtype('int64'), dtype('float32'))
    """
    if result.kind == "b" or result.kind == "i":
        return np.dtype(np.int64)
    if result.kind == "u":
        return np.dtype(np.uint64)
    if result == np.float16:
        return np.dtype(np.float32)
    return result


def convolve_direct(
    x: np.ndarray, h: np.ndarray, windows: Sequence[Window], out: np.ndarray
) -> np.ndarray:
    """Write the convolution of ``x`` with ``h`` (convolved axes last) into ``out``.

    ``out`` has the broadcast batch shape followed by the window lengths; its dtype is the
    accumulation dtype, and ``x`` and ``h`` must already be of it.

    Examples
    --------
    >>> import numpy as np
    >>> from fftconv._geometry import output_window
    >>> out = np.empty(5, np.int64)
    >>> convolve_direct(np.arange(4), np.ones(2, np.int64), [output_window(4, 2, "full")], out)
    array([0, 1, 3, 5, 3])
    """
    rank = len(windows)
    n1 = x.shape[x.ndim - rank:]
    n2 = h.shape[h.ndim - rank:]
    if rank == 1 and x.ndim == 1 and h.ndim == 1 and out.dtype.kind in "fc":
        w = windows[0]
        full = np.convolve(x, h, "full")
        out[...] = full[w.start:w.stop]
        return out
    batches = x.shape[: x.ndim - rank] + h.shape[: h.ndim - rank]
    # an inf tap would meet the rows path's zero extension
    if rows_apply(n2, batches, out.dtype) and np.isfinite(h).all():
        if batches:  # all of length 1
            correlate_rows(x.reshape(n1), h.reshape(n2), windows, out.reshape(out.shape[out.ndim - rank:]))
        else:
            correlate_rows(x, h, windows, out)
        return out
    if _ndimage_applies(x, h, out, rank):
        return _convolve_ndimage(x, h, windows, out)
    batch = out.shape[: out.ndim - rank]
    h_batch = h.shape[: h.ndim - rank]
    lengths = [w.length for w in windows]
    taps = []  # (coefficient, output ranges per axis, input shift per axis)
    for j in itertools.product(*(range(n) for n in n2)):
        ranges = [
            (max(0, k - w.start), min(w.length, k - w.start + a)) for w, a, k in zip(windows, n1, j)
        ]
        if all(lo < hi for lo, hi in ranges):
            coeff = h[(Ellipsis,) + j].reshape(h_batch + (1,) * rank)
            taps.append((coeff, ranges, [w.start - k for w, k in zip(windows, j)]))
    # a tap covering the whole output (there is one unless the kernel is larger than the
    # input) goes first and writes instead of adding, which saves zeroing the output
    taps.sort(key=lambda t: t[1] != [(0, n) for n in lengths])
    covers_first = bool(taps) and taps[0][1] == [(0, n) for n in lengths]
    if not covers_first:
        out[...] = 0
    row_bytes = out.itemsize * int(np.prod(out.shape)) // max(lengths[0], 1)
    block = max(1, BLOCK_BYTES // max(row_bytes, 1))
    tmp = np.empty(int(np.prod(batch + (min(block, lengths[0]),) + tuple(lengths[1:]))), out.dtype)
    with np.errstate(invalid="ignore", over="ignore"):  # inf * 0 and inf - inf give NaN, quietly
        _shift_and_add(x, taps, lengths, block, covers_first, tmp, out)
    return out


def _shift_and_add(x, taps, lengths, block, covers_first, tmp, out) -> None:
    batch = out.shape[: out.ndim - len(lengths)]
    for b0 in range(0, lengths[0], block):
        b1 = min(b0 + block, lengths[0])
        for i, (coeff, ranges, shift) in enumerate(taps):
            (lo0, hi0), rest = ranges[0], ranges[1:]
            lo0, hi0 = max(lo0, b0), min(hi0, b1)
            if lo0 >= hi0:
                continue
            dst = (Ellipsis, slice(lo0, hi0)) + tuple(slice(lo, hi) for lo, hi in rest)
            src = (Ellipsis, slice(lo0 + shift[0], hi0 + shift[0])) + tuple(
                slice(lo + d, hi + d) for (lo, hi), d in zip(rest, shift[1:])
            )
            target = out[dst]
            if i == 0 and covers_first:
                np.multiply(x[src], coeff, out=target)
                continue
            shape = batch + (hi0 - lo0,) + tuple(hi - lo for lo, hi in rest)
            scratch = tmp[: int(np.prod(shape))].reshape(shape)  # contiguous: faster loops
            np.multiply(x[src], coeff, out=scratch)
            np.add(target, scratch, out=target)


def _ndimage_applies(x: np.ndarray, h: np.ndarray, out: np.ndarray, rank: int) -> bool:
    """scipy.ndimage's compiled correlation serves real float sums whose kernel is finite
    (its zero padding would turn ``0 * inf`` into NaN) and has no batch axes of its own.
    Small calls pay for every check here: they are ordered cheapest first."""
    if (
        out.dtype.char not in "fd"
        or x.dtype != out.dtype
        or h.ndim != rank
        or x.shape[: x.ndim - rank] != out.shape[: out.ndim - rank]
        or not np.isfinite(h).all()
    ):
        return False
    # ndimage skips zero weights, which would drop the NaN of inf * 0
    return bool(h.all()) or all_finite(x)


def _convolve_ndimage(
    x: np.ndarray, h: np.ndarray, windows: Sequence[Window], out: np.ndarray
) -> np.ndarray:
    """Direct sum by ``ndimage.correlate`` with the flipped kernel, zero ('constant') edges.

    ndimage's output has the input's shape and reads ``x[i + k - centre]`` for weight ``k``;
    with the weights flipped, output ``i`` is full-convolution sample
    ``i + n2 - 1 - centre - pad`` of an input padded by ``pad`` in front.
    """
    rank = len(windows)
    n1 = x.shape[x.ndim - rank:]
    pads, origins, crops = [], [], []
    for a, n2, w in zip(n1, h.shape, windows):
        pad = max(0, w.length - a)  # 'full' needs room for n2 - 1 more outputs
        centre = n2 - 1 - w.start - pad  # stays within [0, n2 - 1] for every mode
        pads.append((pad, 0))
        origins.append(centre - n2 // 2)
        crops.append(slice(0, w.length))
    if any(p for p, _ in pads):
        x = np.pad(x, [(0, 0)] * (x.ndim - rank) + pads)
    # batch axes: weights of length 1 there, as ndimage's own ``axes=`` does
    lead = x.ndim - rank
    weights = np.flip(h).reshape((1,) * lead + h.shape)
    origins = [0] * lead + origins
    if x.shape == out.shape:
        correlate_zero_padded(x, weights, out, origins)
    else:
        full = np.empty(x.shape, out.dtype)
        correlate_zero_padded(x, weights, full, origins)
        out[...] = full[(Ellipsis,) + tuple(crops)]
    return out
