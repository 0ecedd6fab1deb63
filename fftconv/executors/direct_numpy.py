"""The 'direct.numpy' executor: NumPy's compiled ``np.convolve`` for one-dimensional sums.

``np.convolve`` computes the full or the 'valid' convolution of two 1-D arrays (floats,
complex numbers, or integers in 64 bits, exactly); another window is cut from the full one.
It multiplies only where the operands overlap, so NaN and inf stay local.

Its cost has three regimes (AMD EPYC, numpy 2.4, 'valid' of 8192 samples, ns per output):
real kernels of up to `SHORT_TAPS` taps take an unrolled loop (float64: 4 taps 1.0, 10 taps
2.5); longer ones one BLAS dot per output, ~11-14 ns a call before its taps (float64: 16 taps
10.9, 64 taps 15.9, 256 taps 33-39, 1024 taps 142; float32 half as much per tap); integers and
long doubles a plain loop with no call cost (int64: 0.6 ns per multiply-add at any length).
So one rate per multiply-add, fitted at 31 taps as before, overpriced 100-3,000-tap kernels 3-10x.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..core.problem import Problem, Spec
from ..planning.costs import CostModel
from ..planning.plan import Plan
from .base import Estimate, Executor

#: Longest real kernel NumPy sums in its unrolled loop, at `SHORT_FACTOR` times a dot's rate per
#: float64 multiply-add and no call per output.
SHORT_TAPS = 11
SHORT_FACTOR = 2.2
#: A complex dot call per output costs this many real ones (complex64: 15-18 ns, complex128
#: 20-24 ns, real 11-14 ns).
COMPLEX_CALL_FACTOR = 1.6
#: Integers (summed exactly in int64) and long doubles: a loop without BLAS, this many times a
#: float64 dot's rate per multiply-add.
PLAIN_FACTOR = 4.6


class NumpyConvolve(Executor):
    """One-dimensional direct sums by ``np.convolve`` (see the module docstring).

    Examples
    --------
    >>> from fftconv.core.problem import Spec
    >>> e = NumpyConvolve()
    >>> e.applies(Spec.of_shapes((100,), (5,))), e.applies(Spec.of_shapes((9, 9), (3, 3)))
    (True, False)
    """

    name = "direct.numpy"
    method = "direct"
    exact_integers = True

    def applies(self, spec: Spec, forced: bool = False) -> bool:
        return spec.rank == 1 and spec.batch_points == 1 and self.compute_dtype(spec).kind in "iufc"

    def estimate(self, spec: Spec, costs: CostModel, memory_limit: int | None) -> Estimate:
        dtype = self.compute_dtype(spec)
        n, k = max(spec.shape1[0], spec.shape2[0]), min(spec.shape1[0], spec.shape2[0])
        outputs = n - k + 1 if _valid(spec.shape1[0], spec.shape2[0], spec.windows[0]) else n + k - 1
        macs = outputs * k if outputs < n else n * k
        if dtype.kind not in "fc" or dtype.itemsize > 16:  # no BLAS: integers, long doubles
            seconds = macs * costs.direct_mac_1d * PLAIN_FACTOR
        elif dtype.kind == "f" and k <= SHORT_TAPS:
            seconds = macs * costs.direct_mac_1d * SHORT_FACTOR
        else:  # one dot per output; its rate per multiply-add follows the bytes it reads
            call = costs.direct_out_1d * (COMPLEX_CALL_FACTOR if dtype.kind == "c" else 1.0)
            seconds = outputs * call + macs * costs.direct_mac_1d * dtype.itemsize / 8
        return Estimate(costs.direct_overhead + seconds, outputs * dtype.itemsize)

    def run(self, problem: Problem, plan: Plan, out: np.ndarray, prepared: object = None,
            check_finite: bool = True) -> None:
        out.reshape(-1)[...] = _summing(problem, out.dtype)(problem.x.reshape(-1))

    def prepare_call(self, problem: Problem, plan: Plan) -> Callable[[np.ndarray], np.ndarray] | None:
        """One ``np.convolve`` per call: the pipeline around it cost a repeated call more than
        the sum itself (AMD EPYC: 3293 * 17 'valid' float32, 50 us in ``np.convolve``, 84 us
        through the pipeline, 91 us in ``scipy.signal.convolve``)."""
        return _summing(problem, plan.compute_dtype)


def _summing(problem: Problem, compute: np.dtype) -> Callable[[np.ndarray], np.ndarray]:
    """``np.convolve`` of a 1-D image of ``problem``'s length with its kernel, in ``compute``:
    the 'valid' window alone, any other cut from the full convolution."""
    h = problem.h.reshape(-1).astype(compute, copy=False)
    w = problem.windows[0]
    if _valid(problem.x.shape[-1], h.shape[0], w):
        return lambda image: np.convolve(image.astype(compute, copy=False), h, "valid")
    return lambda image: np.convolve(image.astype(compute, copy=False), h, "full")[w.start:w.stop]


def _valid(n: int, k: int, window) -> bool:
    """Whether ``window`` of the full convolution of ``n`` samples with ``k`` taps is the
    'valid' one (the longer operand first), which np.convolve computes alone."""
    return n >= k and window.start == k - 1 and window.stop == n
