"""FFT backends and threads: the transforms the spectral executors use.

`fftconv.backends.fftw` (the only module that imports pyFFTW) and
`fftconv.backends.pocketfft` (numpy.fft / scipy.fft, no planning) register themselves on
import.
"""

from . import fftw as _fftw_registers_itself  # noqa: F401
from . import pocketfft as _pocketfft_registers_itself  # noqa: F401
from .base import Backend, TransformPair, backend_names, get_backend, register_backend, unregister_backend

__all__ = ["Backend", "TransformPair", "backend_names", "get_backend", "register_backend",
           "unregister_backend"]
