"""scipy.signal's compiled 2-D and N-d direct loops, called without their Python wrappers and
without importing scipy.signal, once probed.

Tiny ``convolve2d``/``correlate2d`` calls and tiny N-d ``convolve``/``correlate`` calls of
three or more dimensions are summed by scipy.signal's own loops (``_sigtools._convolve2d``
and ``_correlateND``; `fftconv.engine.tiny`): their Python wrappers cost a tiny call more than
its sum (1.25 of 1.8 us on a 4x4 image; 25 of 27 us of a 4x4x4 * 2x2x2 complex call). The
loops are private to scipy: they are taken only after a probe has found them answering every
mode and boundary, both directions and odd and even kernels on each axis as the definitions
do (`_reference_2d`, `_reference_nd`: the boundary-extended image summed in NumPy); a wrong
code or centring is off by the data, rounding by 1e-16 of it. Their compiled module is loaded
from its file (`fftconv.engine.scipy_extensions`): scipy.signal's import, 0.7 s of Python, in
the background beside a loop of tiny calls had not finished after 4 s, each call meanwhile
planned at twice scipy's time (16x16 * 3x3 with ``boundary='symm'``, Intel Xeon).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from types import ModuleType

import numpy as np

from ..core.boundary import index_map
from . import scipy_extensions

#: How the loops code modes and the 2-D loop boundaries (checked by the probe).
MODES = {"valid": 0, "same": 1, "full": 2}
BOUNDARIES = {"fill": 0, "pad": 0, "symm": 4, "symmetric": 4, "wrap": 8, "circular": 8}
#: Each boundary's extension as `fftconv.core.boundary` names it.
_EXTENDED_AS = {"fill": "constant", "symm": "reflect", "wrap": "wrap"}

#: "2d" and "nd" -> the probed loop, or None where it failed its probe: once `probe` ran.
_probed: dict[str, Callable[..., np.ndarray] | None] = {}


def probe(kind: str) -> None:
    """Probe scipy.signal's private ``kind`` loop, "2d" or "nd" (once; scipy.signal is not
    imported here; ~1 ms).

    Examples
    --------
    >>> probe("2d")
    >>> loop("2d") is not None  # this scipy's loop answers as the definitions
    True
    """
    if kind not in _probed:
        try:
            module = extension()
        except ImportError:
            _probed[kind] = None
            return
        _probed[kind] = (_probed_2d if kind == "2d" else _probed_nd)(module)


def probed(kind: str) -> bool:
    """Whether `probe` has run for ``kind`` (whatever it found).

    Examples
    --------
    >>> probe("nd")
    >>> probed("nd")
    True
    """
    return kind in _probed


def loop(kind: str) -> Callable[..., np.ndarray] | None:
    """The probed ``kind`` loop (`run_2d` and `run_nd` call them), or None before `probe` or
    where it failed.

    Examples
    --------
    >>> probe("2d")
    >>> run_2d(loop("2d"), np.eye(2), np.ones((1, 2)), "full", "fill", 0, False)
    array([[1., 1., 0.],
           [0., 1., 1.]])
    """
    return _probed.get(kind)


def extension() -> ModuleType:
    """scipy.signal's compiled module of direct loops, scipy.signal left unimported where the
    process has not imported it.

    Examples
    --------
    >>> callable(extension()._convolve2d)
    True
    """
    return scipy_extensions.load("scipy.signal", "_sigtools")


def run_2d(loop_2d, a: np.ndarray, b: np.ndarray, mode: str, boundary: str, fillvalue: object,
           correlate: bool) -> np.ndarray:
    """What scipy.signal's ``correlate2d``/``convolve2d`` pass the 2-D loop (no 'valid' swap:
    ``a`` at least ``b``'s size on each axis there).

    Examples
    --------
    >>> probe("2d")
    >>> run_2d(loop("2d"), np.eye(2), np.array([[1.0, 2.0]]), "same", "wrap", 0, True)
    array([[1., 2.],
           [2., 1.]])
    """
    if correlate:
        b = b.conj() if b.dtype.kind == "c" else b
    return loop_2d(a, b, 0 if correlate else 1, MODES[mode], BOUNDARIES[boundary], fillvalue)


def run_nd(loop_nd, a: np.ndarray, b: np.ndarray, mode: str, correlate: bool) -> np.ndarray:
    """What scipy.signal's ``correlate(method='direct')`` passes the N-d loop (``convolve``: the
    kernel reversed and conjugated) when it swaps nothing.

    Examples
    --------
    >>> probe("nd")
    >>> run_nd(loop("nd"), np.arange(3.0)[None, None], np.ones((1, 1, 2)), "same", True)
    array([[[0., 1., 3.]]])
    """
    kernel = b if correlate else b[(slice(None, None, -1),) * b.ndim].conj()
    if mode == "valid":
        out = np.empty([n - k + 1 for n, k in zip(a.shape, kernel.shape)], a.dtype)
        return loop_nd(a, kernel, out, MODES[mode])
    full = [n + k - 1 for n, k in zip(a.shape, kernel.shape)]
    padded = np.zeros(full, a.dtype)
    padded[tuple(slice(0, n) for n in a.shape)] = a
    out = np.empty(full if mode == "full" else a.shape, a.dtype)
    return loop_nd(padded, kernel, out, MODES[mode])


def _probed_2d(module: ModuleType) -> Callable[..., np.ndarray] | None:
    """The private 2-D loop, or None if any probe's answer differs from the definitions'."""
    try:
        convolve2d = module._convolve2d
        a = np.sin(np.arange(30.0) * 1.7).reshape(5, 6) - 1j * np.cos(np.arange(30.0) * 0.9).reshape(5, 6)
        # each boundary's code in both directions, a kernel even on one axis, then the other
        for i, (boundary, correlate) in enumerate(itertools.product(_EXTENDED_AS, (False, True))):
            b = np.cos(np.arange(6.0) * 2.3).reshape((3, 2) if i % 2 else (2, 3)) + 0.5j
            full = _reference_2d(a, b, _EXTENDED_AS[boundary], 0.5 - 0.25j, correlate)
            for mode in MODES:
                want = _window(full, a.shape, b.shape, mode, correlate_2d=correlate)
                got = run_2d(convolve2d, a, b, mode, boundary, 0.5 - 0.25j, correlate)
                if not _close(got, want, a.dtype):
                    return None
    except Exception:  # noqa: BLE001 - any change in scipy's private loop: the public functions serve
        return None
    return convolve2d


def _probed_nd(module: ModuleType) -> Callable[..., np.ndarray] | None:
    """The private N-d loop, or None if any probe's answer differs from the definitions'."""
    try:
        correlate_nd = module._correlateND
        values = np.sin(np.arange(60.0) * 1.7).reshape(4, 3, 5)
        taps = np.cos(np.arange(12.0) * 2.3).reshape(2, 3, 2)
        # complex both ways (the kernel conjugated), each real dtype one way
        for dtype, correlate in ((np.complex128, False), (np.complex128, True), (np.float64, False),
                                 (np.float32, True)):
            a, b = values.astype(dtype), taps.astype(dtype)
            if dtype == np.complex128:
                a, b = a - 1j * values[::-1], b + 1j * taps[::-1]
            full = _reference_nd(a, b, correlate)
            for mode in MODES:
                got = run_nd(correlate_nd, a, b, mode, correlate)
                if not _close(got, _window(full, a.shape, b.shape, mode), a.dtype):
                    return None
    except Exception:  # noqa: BLE001 - any change in scipy's private loop: the public functions serve
        return None
    return correlate_nd


def _close(got: np.ndarray, want: np.ndarray, dtype: np.dtype) -> bool:
    """Whether a loop's answer is the reference's, in ``dtype``, within its rounding."""
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    return (got.dtype == dtype and got.shape == want.shape
            and bool(np.abs(got - want).max() <= tolerance * max(float(np.abs(want).max()), 1.0)))


def _reference_2d(a: np.ndarray, b: np.ndarray, extended_as: str, fillvalue: complex,
                  correlate: bool) -> np.ndarray:
    """The 'full' window of ``convolve2d`` (``correlate``: ``correlate2d``) in NumPy: output
    ``i`` sums ``b[j]`` times the extended image at ``i - j`` (correlate: ``conj(b[j])`` at
    ``i + j - (k - 1)``), the image extended as `fftconv.core.boundary` names it.

    Examples
    --------
    >>> _reference_2d(np.eye(2), np.array([[1.0, 2.0]]), "constant", 0.0, False)
    array([[1., 2., 0.],
           [0., 1., 2.]])
    """
    kernel = b.conj() if correlate else b[::-1, ::-1]
    sources = [index_map(1 - k, n + k - 1, n, extended_as) for n, k in zip(a.shape, b.shape)]
    outside = (sources[0] < 0)[:, None] | (sources[1] < 0)[None, :]
    extended = np.where(outside, fillvalue, a[np.ix_(*[np.maximum(s, 0) for s in sources])])
    return np.tensordot(np.lib.stride_tricks.sliding_window_view(extended, b.shape), kernel, axes=2)


def _reference_nd(a: np.ndarray, b: np.ndarray, correlate: bool) -> np.ndarray:
    """The 'full' window of N-d ``convolve`` (``correlate``) in NumPy, zero beyond the image.

    Examples
    --------
    >>> _reference_nd(np.arange(3.0)[None, None], np.array([[[1.0, 2.0]]]), True)
    array([[[0., 2., 5., 2.]]])
    """
    kernel = b.conj() if correlate else b[(slice(None, None, -1),) * b.ndim]
    padded = np.zeros([n + 2 * (k - 1) for n, k in zip(a.shape, b.shape)], np.result_type(a, b))
    padded[tuple(slice(k - 1, k - 1 + n) for n, k in zip(a.shape, b.shape))] = a
    return np.tensordot(np.lib.stride_tricks.sliding_window_view(padded, b.shape), kernel, axes=b.ndim)


def _window(full: np.ndarray, shape: tuple[int, ...], kernel: tuple[int, ...], mode: str,
            correlate_2d: bool = False) -> np.ndarray:
    """A mode's window of a 'full' output: 'same' centred as scipy centres it (``correlate2d``
    an even kernel's one sample later than the others)."""
    if mode == "full":
        return full
    if mode == "valid":
        return full[tuple(slice(k - 1, n) for n, k in zip(shape, kernel))]
    starts = [k // 2 if correlate_2d else (k - 1) // 2 for k in kernel]
    return full[tuple(slice(s, s + n) for s, n in zip(starts, shape))]
