"""scipy.ndimage's compiled 1-D loops, called without their Python wrappers once probed.

A small separable filter runs its passes on ``scipy.ndimage.correlate1d`` and
``uniform_filter1d`` (`fftconv.ndimage.scipy_passes`); their Python wrappers check and
convert what fftconv's passes have checked already, ~6 us of a 48x160 float64
``uniform_filter1d`` of 20 (Intel Xeon). The loops behind them (``_nd_image.correlate1d``
and ``uniform_filter1d``) are private to scipy: they are taken only after a probe has found
them answering every boundary mode, both float dtypes, both axes of a 2-D image and odd and
even lengths at shifted origins exactly as the public functions do (`probe`, run with the
tiny routes' preparation of scipy.ndimage: `fftconv.engine.tiny`); otherwise, or before the
probe, the public functions serve (`filter1d` here).
"""

from __future__ import annotations

import itertools

import numpy as np

from ..core.boundary import MODES

#: The probed loops (correlate1d, uniform_filter1d) and scipy's codes of the modes, once
#: `probe` found them answering as the public functions do; None where it did not.
_probed: list = []


def probe() -> None:
    """Probe scipy.ndimage's private 1-D loops (once; scipy.ndimage is imported here).

    Examples
    --------
    >>> probe()
    >>> ready()  # this scipy's loops answer as its public functions do
    True
    """
    if not _probed:
        _probed.append(_probed_loops())


def ready() -> bool:
    """Whether the private loops serve (`probe` ran and they passed it).

    Examples
    --------
    >>> probe()
    >>> ready()
    True
    """
    return bool(_probed) and _probed[0] is not None


def filter1d(source: np.ndarray, weights: int | np.ndarray, axis: int, out: np.ndarray, mode: str,
             cval: float, origin: int) -> None:
    """One pass of a float image into a float output along ``axis``, with an origin scipy
    takes: ``scipy.ndimage.uniform_filter1d`` of a box of ``weights`` samples where it is an
    int, else ``scipy.ndimage.correlate1d`` with ``weights`` (contiguous float64 taps); the
    probed loop where `ready`, else the public function.

    Examples
    --------
    >>> out = np.empty(4)
    >>> filter1d(np.arange(4.0), np.array([1.0, 2.0, 1.0]), 0, out, "nearest", 0.0, 0)
    >>> out
    array([ 1.,  4.,  8., 11.])
    >>> filter1d(np.arange(4.0), 2, 0, out, "reflect", 0.0, 0)
    >>> out
    array([0. , 0.5, 1.5, 2.5])
    """
    box = type(weights) is int
    if ready():
        loops, codes = _probed[0]
        loops[box](source, weights, axis, out, codes[mode], cval, origin)
        return
    import scipy.ndimage

    public = scipy.ndimage.uniform_filter1d if box else scipy.ndimage.correlate1d
    public(source, weights, axis, out, mode, cval, origin)


def _probed_loops() -> tuple | None:
    """The private loops and mode codes, or None if any probe's answer differs from the
    public function's (or the private names moved)."""
    import scipy.ndimage

    try:
        from scipy.ndimage import _nd_image, _ni_support

        loops = (_nd_image.correlate1d, _nd_image.uniform_filter1d)
        codes = {mode: _ni_support._extend_mode_to_code(mode) for mode in MODES}
        rng = np.random.default_rng(0)
        for dtype, axis, length, mode in itertools.product((np.float32, np.float64), (0, 1), (1, 2, 3, 4),
                                                           sorted(MODES)):
            x = rng.standard_normal((6, 5)).astype(dtype)
            taps = rng.standard_normal(length)
            for origin in range(-(length // 2), (length - 1) // 2 + 1):
                for private, public, weights in ((loops[0], scipy.ndimage.correlate1d, taps),
                                                 (loops[1], scipy.ndimage.uniform_filter1d, length)):
                    want = public(x, weights, axis, None, mode, 0.5, origin)
                    got = np.empty_like(x)
                    private(x, weights, axis, got, codes[mode], 0.5, origin)
                    if not np.array_equal(got, want):
                        return None
    except Exception:  # noqa: BLE001 - any change in scipy's private loops: the public functions serve
        return None
    return loops, codes
