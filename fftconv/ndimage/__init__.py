"""Drop-ins for scipy.ndimage's linear filters on fftconv's engine.

* `convolve`, `correlate` (N-D kernels; ``filters``), with ``nan=`` and ``mask=`` for images
  with holes (`filter_holes`);
* `convolve1d`, `correlate1d`, `gaussian_filter`, `gaussian_filter1d`, `uniform_filter`,
  `uniform_filter1d`, `gaussian_laplace`, `gaussian_gradient_magnitude`, `laplace`, `sobel`,
  `prewitt`, `generic_laplace`, `generic_gradient_magnitude` (1-D passes; ``separable``);
* `plan`: the passes of a call and the plan of each, without running it (``explain``).

Every function keeps scipy.ndimage's signature, output shape, output dtype and errors;
fftconv's extras (``method``, ``threads``, ``progress``) are keyword-only.

Examples
--------
>>> import numpy as np, fftconv.ndimage
>>> fftconv.ndimage.uniform_filter1d([2, 8, 0, 4, 1, 9, 9, 0], size=3)
array([4, 3, 4, 1, 4, 6, 6, 3])
"""

from .explain import FilterPlan, plan
from .filters import NAN_TREATMENTS, convolve, correlate, filter_holes, prepare_filter
from .separable import (
    convolve1d,
    correlate1d,
    gaussian_filter,
    gaussian_filter1d,
    gaussian_gradient_magnitude,
    gaussian_laplace,
    generic_gradient_magnitude,
    generic_laplace,
    laplace,
    prewitt,
    sobel,
    uniform_filter,
    uniform_filter1d,
)

__all__ = [
    "NAN_TREATMENTS",
    "FilterPlan",
    "convolve",
    "convolve1d",
    "correlate",
    "correlate1d",
    "filter_holes",
    "gaussian_filter",
    "gaussian_filter1d",
    "gaussian_gradient_magnitude",
    "gaussian_laplace",
    "generic_gradient_magnitude",
    "generic_laplace",
    "laplace",
    "plan",
    "prepare_filter",
    "prewitt",
    "sobel",
    "uniform_filter",
    "uniform_filter1d",
]
