"""scipy.ndimage's compiled 1-D loops, called without their Python wrappers, and without
importing scipy.ndimage, once probed.

A small separable filter runs its passes on ``scipy.ndimage.correlate1d`` and
``uniform_filter1d`` (`fftconv.ndimage.scipy_passes`); their Python wrappers check and
convert what fftconv's passes have checked already, ~6 us of a 48x160 float64
``uniform_filter1d`` of 20 (Intel Xeon). The loops behind them (``_nd_image.correlate1d``
and ``uniform_filter1d``) are private to scipy: they are taken only after a probe has found
them answering every boundary mode, both float dtypes, both axes of a 2-D image and odd and
even lengths at shifted origins as the modes' definitions do (`probe`, fftconv's own
`fftconv.core.boundary.index_map` and a float64 sum the reference; a wrong mode code, origin
or axis is off by the data, rounding by 1e-16 of it); otherwise, or before the probe, the
public functions serve where the caller imported scipy.ndimage (`filter1d` here).

Where the process has not imported scipy.ndimage, the probe loads its compiled module from its
file by itself (`extension`, 0.25 ms), not the package: ``import scipy.ndimage`` takes 0.2 s
of Python, and in the background thread, sharing the GIL with a loop of small filters, it had
taken 0.7 s and the probes after it 1 s more, while each 48x48 `gaussian_filter` of that loop
ran fftconv's tiny loop at 80 us against 20 on scipy's loops (Intel Xeon).
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from ..core.boundary import index_map
from ..core.dtypes import cast_into
from ..core.problem import NDIMAGE
from ..installed import imported
from . import integer_passes, scipy_extensions

#: scipy.ndimage's codes of the boundary modes (``scipy.ndimage._ni_support._extend_mode_to_code``,
#: which lives in the package's Python): checked by the probe like the loops.
MODE_CODES = {"nearest": 0, "wrap": 1, "reflect": 2, "grid-mirror": 2, "mirror": 3, "constant": 4,
              "grid-wrap": 5, "grid-constant": 6}
#: The compiled module's name in scipy.
EXTENSION = "scipy.ndimage._nd_image"

#: The probed loops (correlate1d, uniform_filter1d) and scipy's codes of the modes, once
#: `probe` found them answering as the modes' definitions do; None where it did not.
_probed: list = []


def probe() -> None:
    """Probe scipy.ndimage's private 1-D loops (once; scipy.ndimage is not imported here:
    `extension`).

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
    """One pass of a float or integer image into a float or integer output along ``axis``,
    with an origin scipy takes: ``scipy.ndimage.uniform_filter1d`` of a box of ``weights``
    samples where it is an int, else ``scipy.ndimage.correlate1d`` with ``weights`` (contiguous
    float64 taps); the probed loop where `ready`, else the public function. Into integers,
    the double sums are cast by fftconv's rule (values within round-off of an integer snap to
    it, then truncate: `fftconv.core.dtypes.cast_into`), where scipy's loop truncates them; a
    pass of an integer image of 8 to 32 bits into such integers is one compiled pass instead
    (`fftconv.engine.integer_passes`: 8- and 16-bit whole-number sums exactly, the others in
    double cast by the same rule).

    Examples
    --------
    >>> out = np.empty(4)
    >>> filter1d(np.arange(4.0), np.array([1.0, 2.0, 1.0]), 0, out, "nearest", 0.0, 0)
    >>> out
    array([ 1.,  4.,  8., 11.])
    >>> filter1d(np.arange(4.0), 2, 0, out, "reflect", 0.0, 0)
    >>> out
    array([0. , 0.5, 1.5, 2.5])
    >>> integers = np.empty(3, np.int16)
    >>> filter1d(np.array([3, 3, 3], np.int16), 3, 0, integers, "nearest", 0.0, 0)
    >>> integers
    array([3, 3, 3], dtype=int16)
    """
    if out.dtype.kind in "iu":
        if integer_passes.filter1d(source, weights, axis, out, mode, cval, origin):
            return  # one pass, no float64 sums to cast
        sums = np.empty(out.shape, np.float64)
        filter1d(source, weights, axis, sums, mode, cval, origin)
        cast_into(out, sums, NDIMAGE.integers)
        return
    box = type(weights) is int
    if ready():
        loops, codes = _probed[0]
        loops[box](source, weights, axis, out, codes[mode], cval, origin)
        return
    import scipy.ndimage

    public = scipy.ndimage.uniform_filter1d if box else scipy.ndimage.correlate1d
    public(source, weights, axis, out, mode, cval, origin)


def probed() -> bool:
    """Whether `probe` has run (whatever it found).

    Examples
    --------
    >>> probe()
    >>> probed()
    True
    """
    return bool(_probed)


def serving() -> bool:
    """Whether scipy's loops sum a pass now (`filter1d`): the private ones once probed, or the
    public functions of a scipy.ndimage the process imported.

    Examples
    --------
    >>> probe()
    >>> serving()
    True
    """
    return ready() or imported("scipy.ndimage") is not None


def extension() -> ModuleType:
    """scipy.ndimage's compiled module, scipy.ndimage left unimported where the process has not
    imported it (`fftconv.engine.scipy_extensions.load`).

    Examples
    --------
    >>> callable(extension().correlate1d)
    True
    """
    return scipy_extensions.load(*EXTENSION.rsplit(".", 1))


#: The probes (mode, taps, origin, axis, dtype) of each loop: every mode's code once, and among
#: them odd and even lengths, every origin of each, both axes and both dtypes. Few: the call
#: that wants the loops runs them (~1 ms in all; a probe of 768 calls had taken 15 ms).
PROBES = (("reflect", 4, -2, 1, np.float64), ("grid-mirror", 3, -1, 0, np.float32),
          ("mirror", 4, 1, 0, np.float64), ("nearest", 3, 1, 1, np.float32),
          ("wrap", 4, -1, 1, np.float32), ("grid-wrap", 3, 0, 0, np.float64),
          ("constant", 4, 0, 0, np.float32), ("grid-constant", 1, 0, 1, np.float64))


def _probed_loops() -> tuple | None:
    """The private loops and mode codes, or None if any probe's answer differs from the
    definitions' (or the private module or names moved)."""
    try:
        module = extension()
        loops = (module.correlate1d, module.uniform_filter1d)
        # values of no pattern, without NumPy's random module (its import, file reads, costs a
        # process more than the probe)
        values = np.sin(np.arange(30.0 * len(PROBES)) * 1.7).reshape(len(PROBES), 6, 5)
        for (mode, length, origin, axis, dtype), x in zip(PROBES, values.astype(np.float32)):
            x = x.astype(dtype)
            taps = np.cos(np.arange(length) * 2.3) + 0.1
            box = np.full(length, 1 / length)
            wants = _reference(x.astype(np.float64), (taps, box), axis, mode, 0.5, origin)
            for private, weights, sums, want in zip(loops, (taps, length), (taps, box), wants):
                got = np.empty_like(x)
                private(x, weights, axis, got, MODE_CODES[mode], 0.5, origin)
                scale = float(np.abs(sums).sum()) * max(float(np.abs(x).max()), 0.5)
                if not np.abs(got - want).max() <= (1e-6 if dtype == np.float32 else 1e-12) * scale:
                    return None
    except Exception:  # noqa: BLE001 - any change in scipy's private loops: the public functions serve
        return None
    return loops, MODE_CODES


def _reference(x: np.ndarray, tap_sets: tuple[np.ndarray, ...], axis: int, mode: str, cval: float,
               origin: int) -> list[np.ndarray]:
    """``scipy.ndimage.correlate1d``'s definition in float64, for each of ``tap_sets`` (of one
    length): output ``i`` sums ``taps[j]`` times the extended sample ``i + j - len(taps) // 2 -
    origin``.

    Examples
    --------
    >>> _reference(np.arange(4.0)[None], (np.ones(3), np.array([0.0, 0.0, 1.0])), 1, "nearest", 0.0, 0)
    [array([[1., 3., 6., 8.]]), array([[1., 2., 3., 3.]])]
    """
    n, length = x.shape[axis], len(tap_sets[0])
    start = -(length // 2) - origin
    sources = index_map(start, start + n + length - 1, n, mode)
    along = [1] * x.ndim
    along[axis] = -1
    extended = np.where((sources < 0).reshape(along), cval, np.take(x, np.maximum(sources, 0), axis=axis))
    windows = [np.take(extended, range(j, j + n), axis=axis) for j in range(length)]
    return [sum(t * w for t, w in zip(taps, windows)) for taps in tap_sets]
