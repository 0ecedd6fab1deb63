"""Drop-ins for ``scipy.ndimage.convolve`` and ``correlate`` on fftconv's engine.

The input is extended by the boundary ``mode`` (as ``np.pad`` would, with the widths the
kernel's centre and ``origin`` ask for) and then correlated in 'valid' mode, so every method
(direct, whole FFT, tiles) serves every mode; long kernels become fast.

ndimage conventions kept: the output has the input's shape and, by default, its dtype
(integer outputs are truncated toward zero, as ndimage's C cast does); the kernel's centre is
``n // 2 + origin`` on each axis; ``convolve`` flips the weights and mirrors ``origin`` (one
sample further for even lengths), exactly as scipy does.
"""

from __future__ import annotations

import numpy as np

from . import _engine

__all__ = ["convolve", "correlate"]

#: ndimage mode -> np.pad mode. For filters the grid-* modes equal their plain twins.
_PAD_MODES = {
    "reflect": "symmetric", "grid-mirror": "symmetric",
    "mirror": "reflect",
    "nearest": "edge",
    "wrap": "wrap", "grid-wrap": "wrap",
    "constant": "constant", "grid-constant": "constant",
}


def _per_axis(value, n: int, name: str) -> list[int]:
    values = np.asarray(value)
    if values.ndim == 0:
        values = np.full(n, values)
    if values.shape != (n,) or values.dtype.kind not in "iu":
        raise ValueError(f"{name} must be an int or a sequence of {n} ints, got {value!r}")
    return [int(v) for v in values]


def correlate(input, weights, output=None, mode="reflect", cval=0.0, origin=0, *, axes=None,
              method="auto", threads=None):
    """Multidimensional correlation (drop-in for ``scipy.ndimage.correlate``).

    Parameters
    ----------
    input : array_like
        The image.
    weights : array_like
        The kernel; one axis per filtered axis.
    output : ndarray or dtype, optional
        Where to write the result, or its dtype (default: the input's dtype).
    mode : {'reflect', 'constant', 'nearest', 'mirror', 'wrap', 'grid-mirror', 'grid-constant', 'grid-wrap'}
        How the input extends beyond its edges.
    cval : scalar
        Value outside the input for the constant modes.
    origin : int or sequence of int
        Shift of the kernel's centre (``n // 2 + origin``) per axis.
    axes : int or sequence of int, optional
        Axes to filter (default all).
    method, threads : keyword-only
        As in `fftconv.convolve`.

    Examples
    --------
    >>> import numpy as np, fftconv.ndimage
    >>> fftconv.ndimage.correlate(np.arange(5.0), [1.0, 2.0, 0.0])
    array([ 0.,  2.,  5.,  8., 11.])
    """
    return _filter(input, weights, output, mode, cval, origin, axes, method, threads, convolution=False)


def convolve(input, weights, output=None, mode="reflect", cval=0.0, origin=0, *, axes=None,
             method="auto", threads=None):
    """Multidimensional convolution (drop-in for ``scipy.ndimage.convolve``).

    Parameters as in `correlate`; the weights are flipped and ``origin`` mirrored as in scipy.

    Examples
    --------
    >>> import numpy as np, fftconv.ndimage
    >>> fftconv.ndimage.convolve(np.arange(5.0), [1.0, 2.0], mode="constant")
    array([ 1.,  4.,  7., 10.,  8.])
    """
    return _filter(input, weights, output, mode, cval, origin, axes, method, threads, convolution=True)


def _filter(input, weights, output, mode, cval, origin, axes, method, threads, convolution):
    x = _engine.as_operand(input, "input")
    w = _engine.as_operand(weights, "weights")
    axes = _engine.normalize_axes(axes, x.ndim) if x.ndim else []
    if w.ndim != len(axes):
        raise RuntimeError("filter weights array has incorrect shape.")  # scipy's error
    if w.size == 0:
        raise ValueError("weights must not be empty")
    if not isinstance(mode, str) or mode not in _PAD_MODES:
        raise RuntimeError(f"boundary mode not supported: {mode!r}; use one of {', '.join(_PAD_MODES)}")
    _engine.check_method(method)
    origins = _per_axis(origin, len(axes), "origin")
    if convolution:
        w = np.flip(w)
        origins = [-o - (1 - n % 2) for o, n in zip(origins, w.shape)]
    for o, n in zip(origins, w.shape):
        if not -(n // 2) <= o <= (n - 1) // 2:
            raise ValueError("Invalid origin; origin must satisfy -(weights.shape[k] // 2) <= origin[k] <= "
                             "(weights.shape[k]-1) // 2")
    out_dtype, out_array = _output(output, x, w)
    if x.size == 0:
        result = np.zeros(x.shape, out_dtype)
    else:
        widths = [(0, 0)] * x.ndim
        for a, n, o in zip(axes, w.shape, origins):
            centre = n // 2 + o
            widths[a] = (centre, n - 1 - centre)
        pad_mode = _PAD_MODES[mode]
        extra = {"constant_values": cval} if pad_mode == "constant" else {}
        padded = np.pad(x, widths, mode=pad_mode, **extra)
        kernel = w.reshape([w.shape[axes.index(a)] if a in axes else 1 for a in range(x.ndim)])
        # correlation without the conjugation signal.correlate applies: ndimage does not conjugate
        result = _engine.convolve_nd(padded, np.flip(kernel, axis=tuple(axes)), "valid", method, axes,
                                     threads=threads)
        result = _to_dtype(result, out_dtype)
    if out_array is not None:
        out_array[...] = result
        return out_array
    return result


def _output(output, x: np.ndarray, w: np.ndarray):
    if isinstance(output, np.ndarray):
        if output.shape != x.shape:
            raise RuntimeError("output shape not correct")  # scipy's error
        return output.dtype, output
    if output is None:
        dtype = x.dtype
        if w.dtype.kind == "c" and dtype.kind != "c":
            dtype = np.result_type(dtype, np.complex64)
        return dtype, None
    return np.dtype(output), None


def _to_dtype(result: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if result.dtype == dtype:
        return result
    if dtype.kind in "iub" and result.dtype.kind in "fc":
        values = result.real
        # ndimage sums in double and truncates; an FFT's sum lands a hair off exact integers,
        # so snap values within round-off of an integer before truncating like ndimage
        nearest = np.rint(values)
        scale = max(float(np.max(np.abs(values), initial=0.0)), 1.0)
        close = np.abs(values - nearest) <= 64 * np.finfo(np.float64).eps * scale
        values = np.where(close, nearest, values)
        with np.errstate(invalid="ignore", over="ignore"):
            return np.trunc(values).astype(dtype)
    return result.astype(dtype)
