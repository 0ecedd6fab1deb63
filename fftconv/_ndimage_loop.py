"""scipy.ndimage's compiled correlation loop, reached without its Python wrapper.

For small images the wrapper (argument normalisation, origin checks, output allocation)
costs ~5 us beside a ~20 us loop (64 x 64 * 3 x 3): as much as fftconv may add over
``scipy.ndimage.convolve`` and still match it. The loop's entry point,
``scipy.ndimage._nd_image.correlate(input, weights, output, mode, cval, origins)``, is
private; it has kept that signature since scipy's first release. If a scipy lacks it, or it
ever refuses our arguments, every call goes through the public ``ndimage.correlate``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

try:  # private: see the module docstring
    from scipy.ndimage import _nd_image, _ni_support

    _loop = _nd_image.correlate
    _CONSTANT = _ni_support._extend_mode_to_code("constant")
except (ImportError, AttributeError):  # pragma: no cover - depends on scipy's internals
    _loop = None


def correlate_zero_padded(
    x: np.ndarray, weights: np.ndarray, out: np.ndarray, origins: Sequence[int]
) -> None:
    """``scipy.ndimage.correlate(x, weights, output=out, mode='constant', origin=origins)``.

    ``x`` and ``out`` have the same shape and a float dtype; ``origins`` are valid for the
    weights' shape (``-(n // 2) <= origin <= (n - 1) // 2``).

    Examples
    --------
    >>> import numpy as np
    >>> out = np.empty(4)
    >>> correlate_zero_padded(np.arange(4.0), np.array([1.0, 1.0, 0.0]), out, [0])
    >>> out
    array([0., 1., 3., 5.])
    """
    global _loop
    if _loop is not None and not np.may_share_memory(x, out):
        weights = np.ascontiguousarray(weights, dtype=np.float64)
        try:
            _loop(x, weights, out, _CONSTANT, 0.0, list(origins))
            return
        except (TypeError, ValueError, RuntimeError):  # pragma: no cover - a scipy that changed it
            _loop = None
    ndimage.correlate(x, weights, output=out, mode="constant", origin=list(origins))
