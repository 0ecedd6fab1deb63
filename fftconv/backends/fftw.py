"""The FFTW backend, and the only module that imports pyFFTW: in-place transform pairs,
their cache, threads and wisdom.

FFTW facts this module exists to contain:

* planning with MEASURE overwrites the arrays it plans on, so plans are made on our own
  scratch buffers before any data is copied in;
* planning is not thread-safe (a lock serialises it), execution is;
* an ``FFTW`` object computes into its own buffers, overwritten on the next call, so callers
  copy results out of a `TransformPair` before it is used again;
* ESTIMATE plans are made in microseconds but run up to ~1.5x slower than MEASURE plans,
  which take seconds to make at 4096². With ``planner_effort = "auto"`` a pair is planned
  with MEASURE at once when it is small or FFTW's wisdom already knows it, else with ESTIMATE,
  and re-planned with MEASURE once it is used again;
* wisdom (what MEASURE learnt) is loaded once from the configured file and saved back
  atomically after new measurements; a corrupt or foreign file is a warning, never an error.
  Wisdom entries record the thread count they were measured with, so one file serves all.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import os
import tempfile
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import config as _config
from .base import register_backend

#: Real dtypes FFTW computes in, and their complex partners.
COMPLEX_OF = {
    np.dtype(np.float32): np.dtype(np.complex64),
    np.dtype(np.float64): np.dtype(np.complex128),
    np.dtype(np.longdouble): np.dtype(np.clongdouble),
}

#: Transforms with at most this many points (512x512) are MEASURE-planned at once, skipping
#: the ESTIMATE stage: tiles are this small and run many times per call, and measuring them is
#: short (0.35 s at 256x256, 0.5 s at 512x512 on the reference machine) and saved as wisdom.
MEASURE_AT_ONCE = 1 << 18
#: Cached buffers beyond this many bytes are released, least recently used first: room for the
#: buffers of about two 8192x8192 float64 transforms, so a large call keeps its pairs cached.
CACHE_BYTES = 1 << 30
#: ... and beyond this many pairs (each holds two FFTW plans outside the Python heap): a
#: process convolving ever new shapes keeps the pairs of its last few hundred.
CACHE_PAIRS = 256

_EFFORT_FLAG = {"estimate": "FFTW_ESTIMATE", "measure": "FFTW_MEASURE", "patient": "FFTW_PATIENT"}
WISDOM_FORMAT = "fftconv-wisdom-1"

@functools.cache
def _pyfftw():
    """pyFFTW, imported on first use: it imports scipy.fft (~110 ms), which a process that
    plans or runs only direct sums never needs."""
    import pyfftw

    return pyfftw


_plan_lock = threading.RLock()
_wisdom_loaded: set[Path] = set()
_cache: OrderedDict[tuple, TransformPair] = OrderedDict()
_cache_lock = threading.Lock()


def fftw_version() -> str:
    """Version string of the FFTW library pyFFTW was built with.

    Examples
    --------
    >>> fftw_version().startswith("fftw-3")
    True
    """
    info = getattr(_pyfftw().pyfftw, "_fftw_version_dict", None)
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
    return str(_pyfftw().__version__)


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
    effort: str = "auto"
    wisdom: Path | None = None
    spectrum: np.ndarray = field(init=False, repr=False)
    data: np.ndarray = field(init=False, repr=False)
    measured: bool = field(init=False, default=False)
    uses: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        complex_dtype = COMPLEX_OF[self.dtype] if self.real else self.dtype
        last = self.fft_shape[-1] // 2 + 1 if self.real else self.fft_shape[-1]
        shape = self.batch_shape + self.fft_shape[:-1] + (last,)
        self.spectrum = _pyfftw().empty_aligned(shape, complex_dtype)
        if self.real:
            self.data = self.spectrum.view(self.dtype)[..., : self.fft_shape[-1]]
        else:
            self.data = self.spectrum
        if self.effort != "auto":
            self._plan(self.effort)
        elif self.points <= MEASURE_AT_ONCE or self._plan_from_wisdom():
            if not self.measured:
                self._plan("measure")
        else:
            self._plan("estimate")

    @property
    def points(self) -> int:
        return int(np.prod(self.fft_shape))

    @property
    def nbytes(self) -> int:
        return int(self.spectrum.nbytes)

    def _make(self, flags: tuple[str, ...]) -> None:
        rank = len(self.fft_shape)
        axes = tuple(range(len(self.batch_shape), len(self.batch_shape) + rank))
        with _plan_lock:  # MEASURE scribbles on the buffer: it holds no caller data yet
            self._forward = _pyfftw().FFTW(
                self.data, self.spectrum, axes=axes, direction="FFTW_FORWARD",
                flags=flags, threads=self.threads,
            )
            self._inverse = _pyfftw().FFTW(
                self.spectrum, self.data, axes=axes, direction="FFTW_BACKWARD",
                flags=flags + ("FFTW_DESTROY_INPUT",), threads=self.threads,
            )

    def _plan(self, effort: str) -> None:
        self._make((_EFFORT_FLAG[effort],))
        self.measured = effort != "estimate"
        if self.measured and self.wisdom is not None:
            save_wisdom(self.wisdom)

    def _plan_from_wisdom(self) -> bool:
        """MEASURE-quality plans without measuring, when the wisdom file knows this shape."""
        try:
            self._make(("FFTW_MEASURE", "FFTW_WISDOM_ONLY"))
        except RuntimeError:
            return False
        self.measured = True
        return True

    def begin(self) -> None:
        """Call before filling ``data``: upgrades a reused ESTIMATE plan to MEASURE."""
        self.uses += 1
        if not self.measured and self.uses >= 2:
            self._plan("measure")

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
) -> TransformPair:
    """A cached `TransformPair` of the calling thread (its buffers are scratch space, so
    threads never share one: concurrent calls from user threads stay correct).

    Examples
    --------
    >>> import numpy as np
    >>> pair = transform_pair((), (8,), True, np.dtype(np.float64))
    >>> pair.begin(); pair.data[:] = [1, 0, 0, 0, 0, 0, 0, 0]; pair.forward()
    >>> np.allclose(pair.spectrum, 1)
    True
    """
    settings = _config.get()
    effort, wisdom = settings.planner_effort, settings.wisdom
    key = (tuple(batch_shape), tuple(fft_shape), bool(real), np.dtype(dtype), threads, effort,
           threading.get_ident())
    with _cache_lock:
        pair = _cache.get(key)
        if pair is not None:
            _cache.move_to_end(key)
            return pair
    if wisdom is not None:
        load_wisdom(wisdom)
    pair = TransformPair(
        tuple(batch_shape), tuple(fft_shape), bool(real), np.dtype(dtype), threads, effort, wisdom
    )
    with _cache_lock:
        _cache[key] = pair
        total = sum(p.nbytes for p in _cache.values())
        while (total > CACHE_BYTES or len(_cache) > CACHE_PAIRS) and len(_cache) > 1:
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


def load_wisdom(path: Path, force: bool = False) -> bool:
    """Import FFTW wisdom from ``path`` once per process; True if something was imported.

    A missing file is silent; a corrupt file, or one written by another FFTW version, gives a
    ``RuntimeWarning`` and is ignored (it will be overwritten by the next save).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> load_wisdom(pathlib.Path(tempfile.mkdtemp()) / "none.json")
    False
    """
    path = Path(path)
    with _plan_lock:
        if path in _wisdom_loaded and not force:
            return False
        _wisdom_loaded.add(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return False
        except OSError as exc:
            warnings.warn(f"cannot read FFTW wisdom {path}: {exc}; planning without it",
                          RuntimeWarning, stacklevel=3)
            return False
        try:
            data = json.loads(text)
            if data.get("format") != WISDOM_FORMAT:
                raise ValueError("not an fftconv wisdom file")
            if data.get("fftw") != fftw_version():
                warnings.warn(
                    f"FFTW wisdom {path} was written by {data.get('fftw')}, this is {fftw_version()};"
                    " ignoring it", RuntimeWarning, stacklevel=3,
                )
                return False
            blobs = tuple(str(w).encode("ascii") for w in data["wisdom"])
            if len(blobs) != 3:
                raise ValueError("expected double, single and long double wisdom")
            imported = _pyfftw().import_wisdom(blobs)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            warnings.warn(f"ignoring corrupt FFTW wisdom {path}: {exc}", RuntimeWarning, stacklevel=3)
            return False
        if not all(imported):
            warnings.warn(f"FFTW rejected part of the wisdom in {path}; ignoring that part",
                          RuntimeWarning, stacklevel=3)
        return any(imported)


def save_wisdom(path: Path) -> None:
    """Write all wisdom this process has to ``path`` atomically (temp file, then rename).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "w.json"
    >>> save_wisdom(p); p.exists()
    True
    """
    path = Path(path)
    with _plan_lock:
        blobs = [w.decode("ascii") for w in _pyfftw().export_wisdom()]
    document = json.dumps({"format": WISDOM_FORMAT, "fftw": fftw_version(), "wisdom": blobs})
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".wisdom-", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(document)
        os.replace(tmp, path)
    except OSError as exc:  # unwritable directory, full disk: the convolution goes on without
        warnings.warn(f"cannot save FFTW wisdom to {path}: {exc}", RuntimeWarning, stacklevel=3)
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def forget_wisdom() -> None:
    """Drop FFTW's in-memory wisdom and cached plans (the next plans measure afresh).

    Examples
    --------
    >>> forget_wisdom()
    """
    with _plan_lock:
        _pyfftw().forget_wisdom()
        _wisdom_loaded.clear()
    clear_cache()


class FFTWBackend:
    """FFTW through pyFFTW, as an FFT backend (`fftconv.backends.base.Backend`).

    Examples
    --------
    >>> import numpy as np
    >>> FFTW.supports(np.dtype(np.float32)), FFTW.supports(np.dtype(np.float16))
    (True, False)
    """

    name = "fftw"

    def supports(self, dtype: np.dtype) -> bool:
        dtype = np.dtype(dtype)
        return dtype.kind in "fc" and np.dtype(dtype.type(0).real.dtype) in COMPLEX_OF

    def transform_pair(self, batch_shape, fft_shape, real, dtype, threads=1) -> TransformPair:
        return transform_pair(batch_shape, fft_shape, real, dtype, threads)

    def clear_cache(self) -> None:
        clear_cache()

    def version(self) -> str:
        # from the installed distribution, without importing pyFFTW (~110 ms, scipy.fft with it):
        # calibration keys its cache by this in processes that may never transform
        try:
            return f"pyFFTW {importlib.metadata.version('pyFFTW')}"
        except importlib.metadata.PackageNotFoundError:
            return f"{fftw_version()} (pyFFTW {pyfftw_version()})"


FFTW = register_backend(FFTWBackend())
