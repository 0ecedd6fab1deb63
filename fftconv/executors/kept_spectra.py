"""Kernel spectra kept for the calls that repeat a kernel.

A loop that filters frame after frame with one kernel had every call transform that kernel
again: 11-24 % of a settled call's time (AMD EPYC Zen 3, 1 thread, `fftconvolve` 'same' of
float64: 1024² * 101² 1.8 of 15 ms, 300² * 41² 0.31 of 1.28 ms, 128³ * 9³ 4.6 of 41 ms;
normalised convolution transforms the kernel once for its two sums). `Convolver` keeps its
kernel's spectrum; these are kept for the drop-in functions, whose callers do not say that a
kernel repeats.

A spectrum is keyed by everything that decides it (the transform's shape, real or complex
transform, dtype, backend, the kernel's shape and dtype) and by the kernel's values: a sample
of them picks the entry, then every byte is compared (a kernel changed in place, or another
one with the same sample, is transformed again). At most `BUDGET_BYTES` are kept, kernels'
copies included (a quarter of the `[memory] limit` where one is set), the least recently used
dropped first. Kept spectra are read-only: the executors only multiply by them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

import numpy as np

from .. import config

#: Bytes of spectra and kernel copies kept at most (64 MiB: a 1024² image's whole-array
#: spectrum with a 161² kernel is 10 MiB, a tile's 0.1-2 MiB).
BUDGET_BYTES = 64 << 20
#: Kernel values sampled into the key.
SAMPLED_VALUES = 64

_lock = threading.Lock()
#: key -> (the kernel's bytes as a flat uint8 copy, its spectrum), least recently used first.
_kept: OrderedDict[Hashable, tuple[np.ndarray, np.ndarray]] = OrderedDict()
_kept_bytes = 0


def budget() -> int:
    """The bytes the kept spectra may take now.

    Examples
    --------
    >>> budget() <= BUDGET_BYTES
    True
    """
    limit = config.get().memory_limit
    return BUDGET_BYTES if limit is None else min(BUDGET_BYTES, limit // 4)


def keeps(nbytes: float) -> bool:
    """Whether a spectrum and kernel copy of ``nbytes`` in all are kept for the calls that
    repeat the kernel (`budget`).

    Examples
    --------
    >>> keeps(1 << 20), keeps(1 << 40)
    (True, False)
    """
    return nbytes <= budget()


def spectrum_of(kernel: np.ndarray, decided_by: Hashable, make: Callable[[], np.ndarray]) -> np.ndarray:
    """The spectrum ``make()`` returns for ``kernel``, made once for calls that repeat the
    kernel and ``decided_by`` (what else decides the spectrum), read-only (a kernel of Python
    objects: made every time, as it is).

    Examples
    --------
    >>> import numpy as np
    >>> k = np.array([1.0, 2.0])
    >>> first = spectrum_of(k, ("rfft", 4), lambda: np.fft.rfft(k, 4))
    >>> spectrum_of(k.copy(), ("rfft", 4), lambda: np.zeros(3)) is first
    True
    """
    if kernel.dtype.kind not in "biufc":  # Python objects: no bytes to compare
        return make()
    values = np.ascontiguousarray(kernel).reshape(-1).view(np.uint8)
    step = max(1, values.size // SAMPLED_VALUES)
    key = (decided_by, kernel.shape, kernel.dtype.str, values[::step].tobytes())
    with _lock:
        kept = _kept.get(key)
        if kept is not None:
            _kept.move_to_end(key)
    if kept is not None and np.array_equal(kept[0], values):
        return kept[1]
    spectrum = make()
    spectrum.flags.writeable = False
    # a strided kernel's values are a copy already; a contiguous one's are its own memory
    _keep(key, values.copy() if np.may_share_memory(values, kernel) else values, spectrum)
    return spectrum


def _keep(key: Hashable, values: np.ndarray, spectrum: np.ndarray) -> None:
    global _kept_bytes
    most = budget()
    size = values.nbytes + spectrum.nbytes
    if size > most:
        return
    with _lock:
        old = _kept.pop(key, None)
        if old is not None:
            _kept_bytes -= old[0].nbytes + old[1].nbytes
        while _kept and _kept_bytes + size > most:
            _, (v, s) = _kept.popitem(last=False)
            _kept_bytes -= v.nbytes + s.nbytes
        _kept[key] = (values, spectrum)
        _kept_bytes += size


def clear() -> None:
    """Drop every kept spectrum.

    Examples
    --------
    >>> clear(); kept_bytes()
    0
    """
    global _kept_bytes
    with _lock:
        _kept.clear()
        _kept_bytes = 0


def kept_bytes() -> int:
    """Bytes the kept spectra and their kernels' copies take.

    Examples
    --------
    >>> kept_bytes() >= 0
    True
    """
    return _kept_bytes
