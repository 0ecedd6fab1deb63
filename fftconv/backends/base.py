"""The FFT backend protocol: where spectral executors get their transforms.

A backend hands out `TransformPair` objects: a buffer with a forward real-to-complex (or
complex-to-complex) transform over its trailing axes and the matching unnormalised inverse,
both in place. The spectral executors fill ``data``, call ``forward()``, multiply
``spectrum``, call ``inverse()`` and read ``data``; they never import a backend library.
A backend owns its plan caching, threads and wisdom. FFTW (pyFFTW) is the built-in one
(`fftconv.backends.fftw`); another CPU library or a GPU array library is one more module
registered with `register_backend`, chosen with ``[planner] backend`` (or
``FFTCONV_BACKEND``), and fitted by ``fftconv tune`` run with it selected.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from .. import config
from ..plugins import Registry


class TransformPair(Protocol):
    """In-place forward and inverse transforms of one buffer over its trailing axes.

    ``data`` is what the caller fills and reads (real for real transforms); ``spectrum`` is the
    transform's output (complex; for real data, the last axis holds ``n // 2 + 1`` bins). The
    inverse is unnormalised and may destroy ``spectrum``. Buffers are scratch space of the
    calling thread: results must be copied out before the pair is used again. A transform may
    hand its output over as a new buffer (the attribute then names it): read ``spectrum``
    after ``forward()`` and ``data`` after ``inverse()`` through the pair, not through a
    reference kept from before.
    """

    fft_shape: tuple[int, ...]
    data: np.ndarray
    spectrum: np.ndarray

    def begin(self) -> None:
        """Called before each use (a backend may re-plan a pair that is reused)."""

    def forward(self) -> None:
        """``spectrum = FFT(data)``."""

    def inverse(self) -> None:
        """``data = unnormalised inverse FFT(spectrum)``."""


class Backend(Protocol):
    """An FFT library as the spectral executors see it."""

    name: str

    def supports(self, dtype: np.dtype) -> bool:
        """Whether it transforms data of this real or complex ``dtype``."""

    def transform_pair(self, batch_shape: tuple[int, ...], fft_shape: tuple[int, ...], real: bool,
                       dtype: np.dtype, threads: int, uses: int = 1) -> TransformPair:
        """A pair for ``batch_shape + fft_shape`` buffers of ``dtype`` (the real dtype for real
        transforms), using ``threads`` threads inside each transform, for a call that will
        transform about ``uses`` times with it (a backend may plan harder for more)."""

    def clear_cache(self) -> None:
        """Release cached buffers and plans."""

    def version(self) -> str:
        """The library and its version (cheap to ask: first-use calibration keys its cache by it)."""

    def describe(self, fft_shape: tuple[int, ...], real: bool, dtype: np.dtype) -> str:
        """How transforms of ``fft_shape`` would run now (library, planning effort), for
        ``Plan.explain()``."""

    def scaled_spectrum(self, values: np.ndarray, fft_shape: tuple[int, ...], real: bool, dtype: np.dtype,
                        threads: int = 1) -> np.ndarray | None:
        """The spectrum of ``values`` (batch axes first) zero-padded to ``fft_shape`` and
        scaled by ``1 / prod(fft_shape)``, as a new array; None to have it made on a pair
        (optional: a kernel's spectrum need not transform its padding,
        `fftconv.backends.pocketfft.scaled_spectrum`)."""

    def plan_ahead(self, batch_shape: tuple[int, ...], fft_shape: tuple[int, ...], real: bool,
                   dtype: np.dtype, threads: int, uses: int = 1) -> None:
        """Told, before a call makes its kernel's spectrum, of the pair it will ask for next
        (optional: a backend that plans on another core may start meanwhile,
        `fftconv.backends.fftw.FFTWBackend.plan_ahead`)."""

    def final(self, fft_shape: tuple[int, ...], real: bool, dtype: np.dtype) -> bool:
        """Whether transforms of ``fft_shape`` run now as fast as they will (optional: a
        backend that plans in the background says no until it has), so that timing them
        judges them fairly."""


_backends: Registry[Backend] = Registry("FFT backend")
_finality = [0]


def finality_generation() -> int:
    """A number that changes whenever some transform size's plans became final
    (`Backend.final`): what was decided while they were not may be decided again.

    Examples
    --------
    >>> finality_generation() >= 0
    True
    """
    return _finality[0]


def plans_became_final() -> None:
    """Called by a backend when transforms of some size now run as fast as they will."""
    _finality[0] += 1


def register_backend(backend: Backend) -> Backend:
    """Make ``backend`` selectable by its name.

    Examples
    --------
    >>> from fftconv.backends import backend_names
    >>> "fftw" in backend_names()
    True
    """
    return _backends.add(backend.name, backend)


def unregister_backend(name: str) -> None:
    """Remove the backend called ``name``."""
    _backends.remove(name)


def get_backend(name: str) -> Backend:
    """The backend called ``name``.

    Examples
    --------
    >>> get_backend("fftw").name
    'fftw'
    """
    return _backends.get(name, ValueError)


def backend_names() -> tuple[str, ...]:
    """Names of the registered backends."""
    return _backends.names()


config.register_choices("backend", backend_names)  # [planner] backend and FFTCONV_BACKEND name these
