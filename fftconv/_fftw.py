"""The only module that imports pyFFTW: in-place transform pairs, their cache and threads.

FFTW facts this module exists to contain:

* planning with MEASURE overwrites the arrays it plans on, so plans are made on our own
  scratch buffers before any data is copied in;
* planning is not thread-safe (a lock serialises it), execution is;
* an ``FFTW`` object computes into its own buffers, overwritten on the next call, so callers
  copy results out of a `TransformPair` before it is used again;
* ESTIMATE plans are made in microseconds but run up to ~1.5x slower than MEASURE plans,
  which take seconds to make at 4096². A pair is therefore planned with ESTIMATE when it is
  large and new, and re-planned with MEASURE once it is used again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import pyfftw

#: Real dtypes FFTW computes in, and their complex partners.
COMPLEX_OF = {
    np.dtype(np.float32): np.dtype(np.complex64),
    np.dtype(np.float64): np.dtype(np.complex128),
    np.dtype(np.longdouble): np.dtype(np.clongdouble),
}
REAL_OF = {c: r for r, c in COMPLEX_OF.items()}

#: Transforms with at most this many points are MEASURE-planned at once (cheap to measure).
MEASURE_AT_ONCE = 1 << 18
#: Cached buffers beyond this many bytes are released, least recently used first.
CACHE_BYTES = 1 << 30

_plan_lock = threading.Lock()
_cache: OrderedDict[tuple, TransformPair] = OrderedDict()
_cache_lock = threading.Lock()


def fftw_version() -> str:
    """Version string of the FFTW library pyFFTW was built with.

    Examples
    --------
    >>> fftw_version().startswith("fftw-3")
    True
    """
    info = getattr(pyfftw.pyfftw, "_fftw_version_dict", None)
    if info:
        return str(info.get("64", next(iter(info.values())))).replace("\n", "")
    return "fftw-3 (version unknown)"


def pyfftw_version() -> str:
    """Version of pyFFTW.

    Examples
    --------
    >>> pyfftw_version().count(".") >= 1
    True
    """
    return str(pyfftw.__version__)


@dataclass
class TransformPair:
    """An aligned buffer with forward and inverse FFTW plans over its trailing axes.

    ``data`` is what the caller fills (the real view for real transforms); ``spectrum`` is the
    same memory seen as complex. Both plans work in place and unnormalised.
    """

    batch_shape: tuple[int, ...]
    fft_shape: tuple[int, ...]
    real: bool
    dtype: np.dtype  # the dtype of ``data``
    threads: int
    spectrum: np.ndarray = field(init=False, repr=False)
    data: np.ndarray = field(init=False, repr=False)
    measured: bool = field(init=False, default=False)
    uses: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        complex_dtype = COMPLEX_OF[self.dtype] if self.real else self.dtype
        last = self.fft_shape[-1] // 2 + 1 if self.real else self.fft_shape[-1]
        shape = self.batch_shape + self.fft_shape[:-1] + (last,)
        self.spectrum = pyfftw.empty_aligned(shape, complex_dtype)
        if self.real:
            self.data = self.spectrum.view(self.dtype)[..., : self.fft_shape[-1]]
        else:
            self.data = self.spectrum
        self._plan(measure=self.points <= MEASURE_AT_ONCE)

    @property
    def points(self) -> int:
        return int(np.prod(self.fft_shape))

    @property
    def nbytes(self) -> int:
        return int(self.spectrum.nbytes)

    def _plan(self, measure: bool) -> None:
        rank = len(self.fft_shape)
        axes = tuple(range(len(self.batch_shape), len(self.batch_shape) + rank))
        effort = "FFTW_MEASURE" if measure else "FFTW_ESTIMATE"
        with _plan_lock:  # MEASURE scribbles on the buffer: it holds no caller data yet
            self._forward = pyfftw.FFTW(
                self.data, self.spectrum, axes=axes, direction="FFTW_FORWARD",
                flags=(effort,), threads=self.threads,
            )
            self._inverse = pyfftw.FFTW(
                self.spectrum, self.data, axes=axes, direction="FFTW_BACKWARD",
                flags=(effort, "FFTW_DESTROY_INPUT"), threads=self.threads,
            )
        self.measured = measure

    def begin(self) -> None:
        """Call before filling ``data``: upgrades a reused ESTIMATE plan to MEASURE."""
        self.uses += 1
        if not self.measured and self.uses >= 2:
            self._plan(measure=True)

    def forward(self) -> None:
        """``spectrum = FFT(data)`` in place."""
        self._forward.execute()

    def inverse(self) -> None:
        """``data = unnormalised inverse FFT(spectrum)`` in place (destroys the spectrum)."""
        self._inverse.execute()


def transform_pair(
    batch_shape: tuple[int, ...],
    fft_shape: tuple[int, ...],
    real: bool,
    dtype: np.dtype,
    threads: int = 1,
    slot: int = 0,
) -> TransformPair:
    """A cached `TransformPair`; ``slot`` tells concurrent users apart (one pair per thread).

    Examples
    --------
    >>> import numpy as np
    >>> pair = transform_pair((), (8,), True, np.dtype(np.float64))
    >>> pair.begin(); pair.data[:] = [1, 0, 0, 0, 0, 0, 0, 0]; pair.forward()
    >>> np.allclose(pair.spectrum, 1)
    True
    """
    key = (tuple(batch_shape), tuple(fft_shape), bool(real), np.dtype(dtype), threads, slot)
    with _cache_lock:
        pair = _cache.get(key)
        if pair is not None:
            _cache.move_to_end(key)
            return pair
    pair = TransformPair(tuple(batch_shape), tuple(fft_shape), bool(real), np.dtype(dtype), threads)
    with _cache_lock:
        _cache[key] = pair
        total = sum(p.nbytes for p in _cache.values())
        while total > CACHE_BYTES and len(_cache) > 1:
            _, old = _cache.popitem(last=False)
            total -= old.nbytes
    return pair


def clear_cache() -> None:
    """Release every cached buffer and plan.

    Examples
    --------
    >>> clear_cache()
    """
    with _cache_lock:
        _cache.clear()
