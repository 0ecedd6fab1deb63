"""scipy.ndimage's compiled N-d correlation loop, called without importing scipy.ndimage, once
probed.

A tiny ``fftconv.ndimage.correlate``/``convolve`` of a real image is summed by scipy.ndimage's
own compiled loop (``_nd_image.correlate``; `fftconv.engine.tiny`), without its Python
wrapper. Until this module, that loop was reached through ``import scipy.ndimage``, queued
in the background by a fresh process' second tiny call whose image fftconv's own compiled
loop does not take (four or more dimensions): behind the first call's calibration there, the
import came ~2 s later, and meanwhile each call of a loop of 6^4 * 3^4 correlations was
summed by NumPy's slices at 0.76 ms against scipy's 0.14 (Intel Xeon). The compiled module is
loaded from its file here (`fftconv.engine.ndimage_1d_loops.extension`, 0.25 ms; it needs
NumPy alone), and the loop is taken only after a probe has found it answering every boundary
mode's code, both float dtypes, odd and even weights and shifted origins on each axis as the
modes' definitions do (`fftconv.core.boundary.index_map` and a float64 sum the reference): a
wrong mode code or a reversed origin is off by the data, rounding by 1e-16 of it. Otherwise
the public functions serve, once scipy.ndimage is imported (`fftconv.engine.tiny`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..core.boundary import index_map
from .ndimage_1d_loops import MODE_CODES, extension

#: The probes (mode, weights' shape, origins, dtype) of 2-D images of 6x5: every mode's code
#: once, and among them odd and even weights on each axis with every origin scipy takes there
#: (-n // 2 to (n - 1) // 2), and both dtypes. Few: the call that wants the loop runs them.
PROBES = (("reflect", (4, 3), (-2, 1), np.float64), ("grid-mirror", (3, 2), (1, -1), np.float32),
          ("mirror", (2, 4), (0, 1), np.float64), ("nearest", (3, 4), (-1, -2), np.float32),
          ("wrap", (4, 1), (1, 0), np.float32), ("grid-wrap", (1, 3), (0, -1), np.float64),
          ("constant", (2, 3), (-1, 0), np.float32), ("grid-constant", (3, 3), (0, 1), np.float64))

#: The probed loop, once `probe` found it answering as the modes' definitions do; None where
#: it did not.
_probed: list = []


def probe() -> None:
    """Probe scipy.ndimage's private N-d correlation loop (once; scipy.ndimage is not imported
    here).

    Examples
    --------
    >>> probe()
    >>> loop() is not None  # this scipy's loop answers as the modes' definitions
    True
    """
    if not _probed:
        _probed.append(_probed_loop())


def probed() -> bool:
    """Whether `probe` has run (whatever it found).

    Examples
    --------
    >>> probe()
    >>> probed()
    True
    """
    return bool(_probed)


def loop() -> Callable[..., None] | None:
    """The probed loop, ``loop(image, float64 weights, output, mode code, cval, origins)``
    (scipy's codes: `MODE_CODES`), or None before `probe` or where it failed.

    Examples
    --------
    >>> probe()
    >>> x, out = np.arange(5.0), np.empty(5)
    >>> loop()(x, np.array([1.0, 2.0, 0.0]), out, MODE_CODES["reflect"], 0.0, [0])
    >>> out
    array([ 0.,  2.,  5.,  8., 11.])
    """
    return _probed[0] if _probed else None


def _probed_loop() -> Callable[..., None] | None:
    """The private loop, or None if any probe's answer differs from the definitions' (or the
    private module or name moved)."""
    try:
        correlate = extension().correlate
        # values of no pattern, without NumPy's random module (its import costs a process
        # more than the probe)
        values = np.sin(np.arange(30.0 * len(PROBES)) * 1.7).reshape(len(PROBES), 6, 5)
        for (mode, shape, origins, dtype), x in zip(PROBES, values):
            x = x.astype(dtype)
            weights = np.cos(np.arange(float(np.prod(shape))) * 2.3).reshape(shape) + 0.1
            want = _reference(x.astype(np.float64), weights, mode, 0.5, origins)
            got = np.empty_like(x)
            correlate(x, weights, got, MODE_CODES[mode], 0.5, list(origins))
            scale = float(np.abs(weights).sum()) * max(float(np.abs(x).max()), 0.5)
            if not np.abs(got - want).max() <= (1e-6 if dtype == np.float32 else 1e-12) * scale:
                return None
    except Exception:  # noqa: BLE001 - any change in scipy's private loop: the public functions serve
        return None
    return correlate


def _reference(x: np.ndarray, weights: np.ndarray, mode: str, cval: float,
               origins: tuple[int, ...]) -> np.ndarray:
    """``scipy.ndimage.correlate``'s definition in float64: output ``i`` sums ``weights[j]``
    times the extended sample ``i + j - shape // 2 - origin`` (on every axis).

    Examples
    --------
    >>> _reference(np.arange(4.0)[None], np.array([[0.0, 0.0, 1.0]]), "nearest", 0.0, (0, 0))
    array([[1., 2., 3., 3.]])
    """
    sources = [index_map(-(k // 2) - o, n - (k // 2) - o + k - 1, n, mode)
               for n, k, o in zip(x.shape, weights.shape, origins)]
    outside = np.zeros([len(s) for s in sources], bool)
    for axis, s in enumerate(sources):
        along = [1] * x.ndim
        along[axis] = -1
        outside |= (s < 0).reshape(along)
    extended = np.where(outside, cval, x[np.ix_(*[np.maximum(s, 0) for s in sources])])
    windows = np.lib.stride_tricks.sliding_window_view(extended, weights.shape)
    return np.tensordot(windows, weights, axes=weights.ndim)
