"""Keep NaN and inf local: the repair after an executor ran on zeroed operands.

An FFT spreads one NaN over its whole output, and other executors meet non-finite values in
ways the direct sum does not (a zero padding multiplied by inf, zero weights skipped). Such an
executor raises `NonFiniteInput`; the core runs it again on operands whose non-finite samples
are zeroed, and `repair` then rewrites exactly the outputs whose direct sum involves a
non-finite sample, with the value the direct method gives:
NaN wherever a NaN enters the sum, and an explicit sum over the kernel taps wherever only
infinities do (so ``inf * 0``, ``inf - inf`` and signs come out as in the direct method).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from ..core.geometry import Window

#: Gathered products per chunk when summing affected outputs explicitly: 4M products (32 MiB
#: of float64 per gathered operand) bound the temporaries whatever the number of outputs.
GATHER_CHUNK = 1 << 22


def all_finite(a: np.ndarray) -> bool:
    """True when every element of ``a`` is finite (integers and bools always are).

    Examples
    --------
    >>> import numpy as np
    >>> all_finite(np.array([1.0, np.inf])), all_finite(np.arange(3))
    (False, True)
    """
    if a.dtype.kind not in "fc":
        return True
    with np.errstate(all="ignore"):
        total = a.sum()  # one pass, no temporary: a NaN or inf anywhere makes it non-finite
    if np.isfinite(total):
        return True
    return bool(np.isfinite(a).all())  # the sum may just have overflowed


def zero_nonfinite(a: np.ndarray) -> np.ndarray:
    """A copy of ``a`` with its non-finite elements set to zero.

    Examples
    --------
    >>> import numpy as np
    >>> zero_nonfinite(np.array([1.0, np.nan, -np.inf]))
    array([1., 0., 0.])
    """
    return np.where(np.isfinite(a), a, 0).astype(a.dtype, copy=False)


def _touched(mask: np.ndarray, reach: Sequence[int], windows: Sequence[Window]) -> np.ndarray:
    """Outputs (cropped to ``windows``) whose sum reads a masked sample of one operand,
    given the other operand's length ``reach`` on each convolved (trailing) axis."""
    rank = len(windows)
    result = mask
    for i, (n, w) in enumerate(zip(reach, windows)):
        axis = result.ndim - rank + i
        length = result.shape[axis]
        counts = np.cumsum(result, axis=axis, dtype=np.int64)
        counts = np.concatenate([np.zeros_like(np.take(counts, [0], axis=axis)), counts], axis=axis)
        m = np.arange(w.start, w.stop)  # counts[k] = masked samples before index k
        hi = np.take(counts, np.clip(m + 1, 0, length), axis=axis)
        lo = np.take(counts, np.clip(m - n + 1, 0, length), axis=axis)
        result = hi > lo
    return result


def repair(
    result: np.ndarray, x: np.ndarray, h: np.ndarray, windows: Sequence[Window]
) -> np.ndarray:
    """Overwrite, in ``result``, the outputs a non-finite value of ``x`` or ``h`` reaches.

    ``x`` and ``h`` are the original operands (convolved axes last, already of the compute
    dtype); ``result`` is their convolution computed with non-finite values zeroed.

    Examples
    --------
    >>> import numpy as np
    >>> from fftconv.core.geometry import output_window
    >>> x = np.array([1.0, np.nan, 1.0, 1.0, 1.0])
    >>> repair(np.zeros(6), x, np.ones(2), [output_window(5, 2, "full")])
    array([ 0., nan, nan,  0.,  0.,  0.])
    """
    rank = len(windows)
    n1 = x.shape[x.ndim - rank:]
    n2 = h.shape[h.ndim - rank:]
    nan_out = np.zeros(result.shape, bool)
    inf_out = np.zeros(result.shape, bool)
    for operand, reach in ((x, n2), (h, n1)):
        if all_finite(operand):
            continue
        nan_out |= _touched(np.isnan(operand), reach, windows)
        inf_out |= _touched(np.isinf(operand), reach, windows)
    inf_out &= ~nan_out
    nan_value = complex(np.nan, np.nan) if result.dtype.kind == "c" else np.nan
    result[nan_out] = nan_value
    positions = np.argwhere(inf_out)
    if len(positions):
        result[tuple(positions.T)] = _sum_at(positions, x, h, windows, result.dtype)
    return result


def _sum_at(
    positions: np.ndarray, x: np.ndarray, h: np.ndarray, windows: Sequence[Window], dtype
) -> np.ndarray:
    """Direct sums at output ``positions`` (rows of batch + window indices)."""
    rank = len(windows)
    n1 = np.array(x.shape[x.ndim - rank:])
    n2 = h.shape[h.ndim - rank:]
    taps = np.array(list(itertools.product(*(range(n) for n in n2))), dtype=np.intp)
    starts = np.array([w.start for w in windows], dtype=np.intp)
    nbatch = positions.shape[1] - rank
    x_batch = np.array(x.shape[: x.ndim - rank], dtype=np.intp)
    h_batch = np.array(h.shape[: h.ndim - rank], dtype=np.intp)
    values = np.empty(len(positions), dtype)
    chunk = max(1, GATHER_CHUNK // len(taps))
    for c0 in range(0, len(positions), chunk):
        pos = positions[c0:c0 + chunk]
        batch = pos[:, :nbatch]
        full = pos[:, nbatch:] + starts
        idx = full[:, None, :] - taps[None, :, :]
        valid = ((idx >= 0) & (idx < n1)).all(axis=-1)
        idx = np.clip(idx, 0, n1 - 1)
        xb = _batch_index(batch, x_batch)
        hb = _batch_index(batch, h_batch)
        xv = x[tuple(b[:, None] for b in xb) + tuple(idx[..., k] for k in range(rank))]
        hv = h[tuple(b[:, None] for b in hb) + tuple(taps[None, :, k] for k in range(rank))]
        xv, hv = xv.astype(dtype, copy=False), hv.astype(dtype, copy=False)
        with np.errstate(invalid="ignore", over="ignore"):
            products = np.where(valid, xv * hv, 0)
            values[c0:c0 + chunk] = products.sum(axis=1)
    return values


def _batch_index(batch: np.ndarray, shape: np.ndarray) -> list[np.ndarray]:
    """Map broadcast batch indices onto an operand whose batch axes may be 1 or missing."""
    offset = batch.shape[1] - len(shape)
    return [batch[:, offset + i] if n > 1 else np.zeros(len(batch), np.intp) for i, n in enumerate(shape)]
