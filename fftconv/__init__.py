"""fftconv: fast, exact-where-it-matters convolution and correlation on FFTW.

* ``fftconv.convolve``, ``correlate``, ``fftconvolve``, ``oaconvolve``, ``convolve2d``,
  ``correlate2d``, ``choose_conv_method``: drop-ins for scipy.signal's;
* ``fftconv.ndimage.convolve`` / ``correlate``: drop-ins for scipy.ndimage's, block by block
  under ``[memory] limit`` for memmaps and datasets bigger than memory;
* ``fftconv.Convolver``: one kernel, many images, planned once;
* ``fftconv.plan(...).explain()``: how a call would run and why; ``fftconv.kernels``: Gaussian
  and box kernels; ``fftconv.config``: settings; ``fftconv.release_memory()``: hand back the
  plans and buffers kept between calls;
* the ``fftconv`` command (also ``python -m fftconv``): ``bench``, ``tune``, ``plan``, ``filter``.

A planner picks, from this machine's costs, between direct sums, one whole-array FFT,
overlap-save tiles and separable passes. ``docs/architecture.md`` maps the package.

Examples
--------
>>> import numpy as np, fftconv
>>> fftconv.convolve(np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0]))
array([1., 3., 5., 3.])
>>> fftconv.METHODS
('auto', 'direct', 'fft', 'tiled', 'separable')
"""

from typing import TYPE_CHECKING

from . import config, kernels, ndimage
from ._version import __version__
from .caches import release_memory
from .config import ConfigError
from .convolver import Convolver
from .executors import registry as _registry
from .planning.plan import MemoryLimitError, Plan
from .signal import (
    choose_conv_method,
    convolve,
    convolve2d,
    correlate,
    correlate2d,
    fftconvolve,
    oaconvolve,
    plan,
)

__all__ = [
    "METHODS",
    "ConfigError",
    "Convolver",
    "MemoryLimitError",
    "Plan",
    "__version__",
    "choose_conv_method",
    "config",
    "kernels",
    "ndimage",
    "convolve",
    "convolve2d",
    "correlate",
    "correlate2d",
    "fftconvolve",
    "oaconvolve",
    "plan",
    "release_memory",
]


if TYPE_CHECKING:  # what the module's __getattr__ returns, for type checkers
    METHODS: tuple[str, ...]


#: Subpackages imported on first use, so that ``import fftconv`` stays quick and
#: ``fftconv.nn.conv2d(...)`` works after it (``fftconv.dask`` needs the dask extra).
_LAZY_SUBPACKAGES = ("nn", "astropy", "dask")

from .heap import adapt_malloc as _adapt_malloc  # noqa: E402
from .planning import calibrate as _calibrate  # noqa: E402 - once every module is loaded

_adapt_malloc()
_calibrate.preload()


def __getattr__(name: str) -> object:
    if name == "METHODS":  # every method name, 'auto' first: derived from the registered executors
        return _registry.methods()
    if name in _LAZY_SUBPACKAGES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'fftconv' has no attribute {name!r}")
