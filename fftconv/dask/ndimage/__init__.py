"""``fftconv.ndimage`` on dask arrays, lazily: ``convolve`` and ``correlate`` (``filters``: each
output chunk filtered from its input chunk and the halo its kernel reads) and scipy.ndimage's
separable filters (``separable``: ``gaussian_filter``, ``uniform_filter``, ``correlate1d`` ...,
one lazy 1-D correlation per pass). Every mode, ``cval``, ``origin`` and ``axes`` of
scipy.ndimage, exact across chunks.
"""

from .filters import convolve, correlate
from .separable import (
    convolve1d,
    correlate1d,
    gaussian_filter,
    gaussian_filter1d,
    gaussian_gradient_magnitude,
    gaussian_laplace,
    laplace,
    prewitt,
    sobel,
    uniform_filter,
    uniform_filter1d,
)

__all__ = [
    "convolve",
    "convolve1d",
    "correlate",
    "correlate1d",
    "gaussian_filter",
    "gaussian_filter1d",
    "gaussian_gradient_magnitude",
    "gaussian_laplace",
    "laplace",
    "prewitt",
    "sobel",
    "uniform_filter",
    "uniform_filter1d",
]
