"""The 'direct.windows' executor: the direct sum as one ``np.einsum`` over sliding windows.

The input is zero-extended to what the output windows read (`zero_extension`); a strided view
then shows, for every output, the block of samples the kernel covers, and one ``einsum``
multiplies each block by the flipped kernel and sums it, in compiled code with no per-tap
Python calls and no temporaries beside the extended input. It serves every dtype (integers
exactly in 64-bit integers, complex numbers, long double, Python numbers) and per-item
kernels (kernels with batch axes), and it is the fastest exact sum for small problems, where
an FFT would round integer-valued data. A non-finite kernel value would meet the zero
extension (``inf * 0``): such kernels raise `NonFiniteInput`.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..core.geometry import Window, zero_extension
from ..core.problem import Problem, Spec
from ..planning.costs import CostModel, precision
from ..planning.plan import Plan
from .base import Estimate, Executor, NonFiniteInput
from .nonfinite import all_finite

#: Cost of a multiply-add relative to a float64 one in this sum, measured on the reference
#: machine (64x64 * 3x3 and 256x256 * 7x7: float64 0.38 ns per multiply-add and 11 ns per
#: output whatever the dtype; complex128 1.11 ns, int64 0.49 ns, Python floats 16 ns per
#: multiply-add; float32 as float64).
DTYPE_FACTOR = {"complex": 2.9, "integer": 1.3, "object": 40.0, "long": 2.0}


def _dtype_factor(dtype: np.dtype) -> float:
    if dtype.kind == "c":
        return DTYPE_FACTOR["complex"]
    if dtype.kind in "iub":
        return DTYPE_FACTOR["integer"]
    return DTYPE_FACTOR.get(precision(dtype), 1.0)


class WindowSums(Executor):
    """The direct sum over sliding windows (see the module docstring).

    Examples
    --------
    >>> import numpy as np, fftconv
    >>> x = np.arange(8).reshape(2, 2, 2) * (1 + 1j)
    >>> fftconv.plan(x, np.ones((2, 2, 2)) * (1 - 2j)).executor
    'direct.windows'
    """

    name = "direct.windows"
    method = "direct"
    exact_integers = True

    def estimate(self, spec: Spec, costs: CostModel, memory_limit: int | None) -> Estimate:
        dtype = self.compute_dtype(spec)
        outputs = spec.out_points * spec.batch_points
        macs = outputs * math.prod(spec.shape2)  # every tap, zero extension included
        extended = math.prod(w.length + k - 1 for w, k in zip(spec.windows, spec.shape2))
        x_batch = spec.batch_points  # the extended input keeps the image's batch axes
        seconds = (costs.direct_overhead + outputs * costs.window_point + macs * costs.window_mac
                   * _dtype_factor(dtype) + costs.copy_seconds(extended * x_batch, dtype.itemsize, 0))
        return Estimate(seconds, extended * x_batch * dtype.itemsize)

    def run(self, problem: Problem, plan: Plan, out: np.ndarray, prepared: object = None,
            check_finite: bool = True) -> None:
        h = problem.h
        if check_finite and not all_finite(h):
            raise NonFiniteInput
        window_sums(problem.x.astype(out.dtype, copy=False), h.astype(out.dtype, copy=False),
                    problem.windows, out)


def window_sums(x: np.ndarray, h: np.ndarray, windows, out: np.ndarray) -> np.ndarray:
    """Write the convolution of ``x`` with ``h`` (convolved axes last, batch axes broadcasting)
    over ``windows`` into ``out``.

    Examples
    --------
    >>> import numpy as np
    >>> from fftconv.core.geometry import output_window
    >>> window_sums(np.arange(4), np.array([1, 1]), [output_window(4, 2, "full")], np.empty(5, int))
    array([0, 1, 3, 5, 3])
    """
    rank = len(windows)
    lead = x.shape[: x.ndim - rank]
    ext_shape, src, dst, view_shape, taps = _layout(x.shape[x.ndim - rank:], h.shape[h.ndim - rank:],
                                                    tuple(windows))
    ext = np.zeros(lead + ext_shape, x.dtype)
    ext[(Ellipsis,) + dst] = x[(Ellipsis,) + src]
    conv_strides = ext.strides[ext.ndim - rank:]
    view = np.ndarray(lead + view_shape, ext.dtype, ext, 0, ext.strides[: ext.ndim - rank] + conv_strides * 2)
    # the kernel flipped (a convolution), with room for the output axes so batch axes broadcast
    kernel = h[(Ellipsis,) + (slice(None, None, -1),) * rank]
    kernel = kernel.reshape(h.shape[: h.ndim - rank] + (1,) * rank + h.shape[h.ndim - rank:])
    np.einsum(taps, view, kernel, out=out)
    return out


@functools.lru_cache(maxsize=256)
def _layout(shape1: tuple[int, ...], shape2: tuple[int, ...], windows: tuple[Window, ...]):
    """The zero-extended shape, where the input goes in it, the windows view's shape and the
    einsum subscripts (small calls repeat these)."""
    parts = [zero_extension(a, k, w) for a, k, w in zip(shape1, shape2, windows)]
    letters = "abcdefghijklmnopqrstuvwxyz"[: len(windows)]
    return (tuple(length for length, _, _ in parts), tuple(src for _, src, _ in parts),
            tuple(dst for _, _, dst in parts), tuple(w.length for w in windows) + shape2,
            f"...{letters},...{letters}->...")
