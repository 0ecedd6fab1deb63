"""The 'direct.numpy' executor: NumPy's compiled ``np.convolve`` for one-dimensional sums.

``np.convolve`` computes the full convolution of two 1-D arrays (floats, complex numbers, or
integers in 64 bits, exactly) in a vectorised loop (about 3x scipy.ndimage's rate per
multiply-add); the mode's window is then cut from it. It multiplies only where the operands
overlap, so NaN and inf stay local.
"""

from __future__ import annotations

import numpy as np

from ..core.geometry import direct_macs
from ..core.problem import Problem, Spec
from ..planning.costs import CostModel
from ..planning.plan import Plan
from .base import Estimate, Executor

#: Cost of a complex multiply-add relative to a real one in np.convolve: 2.4x measured on the
#: reference machine (65536 * 101, 0.10 ns per real multiply-add).
COMPLEX_FACTOR = 2.4


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
        factor = COMPLEX_FACTOR if dtype.kind == "c" else 1.0
        macs = direct_macs(spec.shape1, spec.shape2, spec.windows)
        full = (spec.shape1[0] + spec.shape2[0] - 1) * dtype.itemsize  # np.convolve's result
        return Estimate(costs.direct_overhead + macs * costs.direct_mac_1d * factor, full)

    def run(self, problem: Problem, plan: Plan, out: np.ndarray, prepared: object = None,
            check_finite: bool = True) -> None:
        compute = out.dtype
        x = problem.x.reshape(-1).astype(compute, copy=False)
        h = problem.h.reshape(-1).astype(compute, copy=False)
        w = problem.windows[0]
        out.reshape(-1)[...] = np.convolve(x, h, "full")[w.start:w.stop]
