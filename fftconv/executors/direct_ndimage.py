"""The 'direct.ndimage' executor: scipy.ndimage's compiled correlation loop for real float
sums, reached without its Python wrapper.

The loop correlates with zero ('constant') edges and returns an array of the input's shape;
with the weights flipped and the input padded in front where the window needs more outputs
than inputs ('full'), it computes every mode's window. It sums in double (float32 included).
It skips zero weights, which would drop the NaN of ``inf * 0``, and its zero padding meets
the whole kernel: a non-finite kernel, or a zero weight with a non-finite input, raises
`NonFiniteInput` and the core repairs the outputs those values reach.

For small images the wrapper (argument normalisation, origin checks, output allocation)
costs ~5 us beside a ~20 us loop (64 x 64 * 3 x 3): as much as fftconv may add over
``scipy.ndimage.convolve`` and still match it. The loop's entry point,
``scipy.ndimage._nd_image.correlate(input, weights, output, mode, cval, origins)``, is
private; it has kept that signature since scipy's first release. If a scipy lacks it, or it
ever refuses our arguments, every call goes through the public ``ndimage.correlate``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence

import numpy as np

from ..core.geometry import Window, direct_macs
from ..core.problem import Problem, Spec
from ..planning.costs import CostModel
from ..planning.plan import Plan
from .base import Estimate, Executor, NonFiniteInput
from .nonfinite import all_finite

#: scipy.ndimage's private loop (None: use the public function), looked up on first use:
#: importing scipy.ndimage takes ~130 ms, otherwise most of ``import fftconv``...
_loop: object = ...
#: ... and 0.18-0.36 s in a process that has not imported it (AMD EPYC, scipy 1.17: a trial
#: exploring this executor as a 1-D signature's fifth call made that call 180-365 ms long).
IMPORT_SECONDS = 0.3
_CONSTANT = 0  # the loop's code for 'constant' edges


def _private_loop() -> object:
    global _loop, _CONSTANT
    if _loop is ...:
        try:  # private: see the module docstring
            from scipy.ndimage import _nd_image, _ni_support

            _CONSTANT = _ni_support._extend_mode_to_code("constant")
            _loop = _nd_image.correlate
        except (ImportError, AttributeError):  # pragma: no cover - depends on scipy's internals
            _loop = None
    return _loop


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
    loop = _private_loop()
    if loop is not None and not np.may_share_memory(x, out):
        weights = np.ascontiguousarray(weights, dtype=np.float64)
        try:
            loop(x, weights, out, _CONSTANT, 0.0, list(origins))
            return
        except (TypeError, ValueError, RuntimeError):  # pragma: no cover - a scipy that changed it
            _loop = None
    from scipy import ndimage

    ndimage.correlate(x, weights, output=out, mode="constant", origin=list(origins))


def ndimage_seconds(spec: Spec, costs: CostModel) -> float:
    """Seconds of scipy.ndimage's loop: per multiply-add and per output (its line buffers)."""
    macs = direct_macs(spec.shape1, spec.shape2, spec.windows) * spec.batch_points
    outputs = spec.out_points * spec.batch_points
    return costs.direct_overhead + macs * costs.direct_mac + outputs * costs.direct_point


class NdimageLoop(Executor):
    """scipy.ndimage's loop (see the module docstring).

    Examples
    --------
    >>> from fftconv.core.problem import Spec
    >>> NdimageLoop().applies(Spec.of_shapes((64, 64), (13, 13))), NdimageLoop().applies(
    ...     Spec.of_shapes((64, 64), (13, 13), dtype="complex128"))
    (True, False)
    """

    name = "direct.ndimage"
    method = "direct"
    exact_integers = True

    def applies(self, spec: Spec, forced: bool = False) -> bool:
        return self.compute_dtype(spec).char in "fd" and not spec.kernel_batched

    def first_use_seconds(self) -> float:
        return IMPORT_SECONDS if _loop is ... and "scipy.ndimage" not in sys.modules else 0.0

    def estimate(self, spec: Spec, costs: CostModel, memory_limit: int | None) -> Estimate:
        dtype = self.compute_dtype(spec)
        padded = [n + max(0, w.length - n) for n, w in zip(spec.shape1, spec.windows)]
        copies = (padded != list(spec.shape1)) + (padded != [w.length for w in spec.windows])
        workspace = copies * math.prod(padded) * spec.batch_points * dtype.itemsize
        return Estimate(ndimage_seconds(spec, costs), workspace)

    def run(self, problem: Problem, plan: Plan, out: np.ndarray, prepared: object = None,
            check_finite: bool = True) -> None:
        h = problem.kernel()
        x = problem.x.astype(out.dtype, copy=False)
        if check_finite and not (np.isfinite(h).all() and (h.all() or all_finite(x))):
            raise NonFiniteInput
        convolve_zero_padded(x, h, problem.windows, out)


def convolve_zero_padded(x: np.ndarray, h: np.ndarray, windows: Sequence[Window], out: np.ndarray
                         ) -> np.ndarray:
    """Direct sum by ``ndimage.correlate`` with the flipped kernel, zero ('constant') edges.

    ndimage's output has the input's shape and reads ``x[i + k - centre]`` for weight ``k``;
    with the weights flipped, output ``i`` is full-convolution sample
    ``i + n2 - 1 - centre - pad`` of an input padded by ``pad`` in front.

    Examples
    --------
    >>> import numpy as np
    >>> from fftconv.core.geometry import output_window
    >>> convolve_zero_padded(np.arange(4.0), np.ones(2), [output_window(4, 2, "full")], np.empty(5))
    array([0., 1., 3., 5., 3.])
    """
    rank = len(windows)
    n1 = x.shape[x.ndim - rank:]
    pads, origins, crops = [], [], []
    for a, n2, w in zip(n1, h.shape, windows):
        pad = max(0, w.length - a)  # 'full' needs room for n2 - 1 more outputs
        centre = n2 - 1 - w.start - pad  # stays within [0, n2 - 1] for every mode
        pads.append((pad, 0))
        origins.append(centre - n2 // 2)
        crops.append(slice(0, w.length))
    # zeros in front, by hand: np.pad costs 20-60 us of Python a call, core.boundary's
    # read_extended 8 us (a 4x4x4 image), this 3 us
    if any(p for p, _ in pads):
        padded = np.zeros(x.shape[:x.ndim - rank] + tuple(p + n for (p, _), n in zip(pads, n1)), x.dtype)
        padded[(Ellipsis,) + tuple(slice(p, None) for p, _ in pads)] = x
        x = padded
    # batch axes: weights of length 1 there, as ndimage's own ``axes=`` does
    lead = x.ndim - rank
    weights = np.flip(h).reshape((1,) * lead + h.shape)
    origins = [0] * lead + origins
    if x.shape == out.shape:
        correlate_zero_padded(x, weights, out, origins)
    else:
        full = np.empty(x.shape, out.dtype)
        correlate_zero_padded(x, weights, full, origins)
        out[...] = full[(Ellipsis,) + tuple(crops)]
    return out
