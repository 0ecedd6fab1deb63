"""fftconv: fast, exact-where-it-matters convolution and correlation on FFTW.

Drop-ins for ``scipy.signal``'s convolution functions with a planner that picks between a
direct sum, one whole-array FFT and overlap-save tiles from this machine's costs.

Examples
--------
>>> import numpy as np, fftconv
>>> fftconv.convolve(np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0]))
array([1., 3., 5., 3.])
"""

from . import config, ndimage
from ._convolver import Convolver
from ._planner import METHODS, MemoryLimitError, Plan
from ._signal import (
    choose_conv_method,
    convolve,
    convolve2d,
    correlate,
    correlate2d,
    fftconvolve,
    oaconvolve,
    plan,
)
from ._version import __version__
from .config import ConfigError

__all__ = [
    "METHODS",
    "ConfigError",
    "Convolver",
    "MemoryLimitError",
    "Plan",
    "__version__",
    "choose_conv_method",
    "config",
    "ndimage",
    "convolve",
    "convolve2d",
    "correlate",
    "correlate2d",
    "fftconvolve",
    "oaconvolve",
    "plan",
]
