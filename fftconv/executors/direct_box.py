"""The 'direct.box' executor: a box kernel (every tap equal) along one axis, as running sums.

A uniform filter of ``k`` taps costs ``k`` multiply-adds per output as a direct sum and a
transform's cost as an FFT; as a running sum it costs one addition and one subtraction,
whatever ``k``: each output adds the sample entering the window and drops the one leaving it
(``_compiled/running_sums.c``, in double, reading the boundary through an index map like the
direct loop). That is scipy.ndimage's ``uniform_filter1d``, and the passes of its
``uniform_filter``, vectorised: across the other axis when the summed axis is not the
innermost, eight lines at a time when it is.

Whether a kernel is a box is read from its values, so this executor ``checks_values``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..core.geometry import window_reads
from ..core.problem import Problem, Spec
from ..planning.costs import CostModel
from ..planning.plan import Plan
from . import _compiled
from .base import Estimate, Executor, NonFiniteInput
from .direct_compiled import _index_map

#: What the running sums read and write (they sum in double either way).
BOX_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
#: One float32 output of a running sum relative to one extended point of the compiled direct
#: loop (`CostModel.compiled_point`, calibrated per CPU), float64 twice that: on AMD EPYC, 0.7-1.2
#: ns per float32 output (512² to 3000x2500, either axis), 2.2 ns per float64 one, with the
#: point calibrated at 0.54 ns. Both are mostly memory traffic.
BOX_POINT_FACTOR = 2.0
#: Runs of the loop shorter than this (outputs) are not worth its call; the direct sums serve.
MIN_BOX_TAPS = 2
#: Leading taps compared before all of them (`box_value`).
SAMPLED_TAPS = 16


def running_sums():
    """The compiled module, or None if it was not built."""
    return _compiled.running_sums


def box_value(kernel: np.ndarray) -> float | None:
    """The common value of a 1-D kernel's taps (all equal, finite, real), else None. A box
    whose value is ``1 / n`` within its dtype's rounding is the mean of ``n`` samples: its
    value is taken as ``1 / n`` exactly (the sums run in double; float32's rounding of
    ``1 / n`` would otherwise scale every output by up to 1 + 6e-8).

    Examples
    --------
    >>> box_value(np.full(5, 0.2)), box_value(np.array([1.0, 2.0])), box_value(np.ones(1))
    (0.2, None, None)
    >>> box_value(np.full(3, 1 / 3, np.float32)) == 1 / 3
    True
    """
    k = np.asarray(kernel)
    if k.size < MIN_BOX_TAPS or k.dtype.kind not in "biuf":
        return None
    first = k.flat[0]
    # a few taps answer for most kernels before a pass over them all (a 2,000,000-tap one
    # took 10-26 ms, its reversed view copied to be ravelled)
    if not np.isfinite(first) or (k.flat[:SAMPLED_TAPS] != first).any() or not (k == first).all():
        return None
    value = float(first)
    if k.dtype.kind == "f" and abs(value * k.size - 1.0) <= 2 * float(np.finfo(k.dtype).eps):
        return 1.0 / k.size
    return value


def box_extended(source: np.ndarray, axis: int, size: int, value: float, ranges: Sequence[tuple[int, int]],
                 mode: str, cval: object, out: np.ndarray) -> bool:
    """Write into ``out`` the correlation of ``source`` extended by ``mode`` over ``ranges``
    (per axis: the extended coordinates the outputs read, as
    `direct_compiled.correlate_extended`) with ``size`` taps of ``value`` along ``axis``, by
    running sums; ``out`` (float32 or float64) sets what they are written in. False if a sum
    met NaN or inf (which a running sum carries past the window): ``out`` is then not the
    answer, and direct sums must serve.

    Examples
    --------
    >>> out = np.empty(5)
    >>> box_extended(np.arange(5.0), 0, 3, 1.0, [(-1, 6)], "reflect", 0.0, out), out
    (True, array([ 1.,  3.,  6.,  9., 11.]))
    """
    inside = tuple(slice(None) if a == axis else slice(lo, hi) for a, (lo, hi) in enumerate(ranges))
    x = source[inside].astype(out.dtype, copy=False)
    start, stop = ranges[axis]
    index = _index_map(start, stop, source.shape[axis], mode)
    fill = float(np.asarray(cval).real) if mode in ("constant", "grid-constant") else 0.0
    target = _three_axes(out, axis)
    written = out if target is not None else np.empty(out.shape, out.dtype)
    if target is None:
        target = _three_axes(written, axis)
    x3 = _three_axes(x, axis)
    if x3 is None:
        x3 = _three_axes(np.ascontiguousarray(x), axis)
    spoilt = running_sums().box(x3, target, index, size, fill, value)
    if written is not out:
        out[...] = written
    return spoilt == 0


def _three_axes(a: np.ndarray, axis: int) -> np.ndarray | None:
    """A view of ``a`` as (axes before, ``axis``, axes after), or None where its strides do not
    allow one."""
    shape = (math.prod(a.shape[:axis]), a.shape[axis], math.prod(a.shape[axis + 1:]))
    view = a.view()
    try:
        view.shape = shape
    except AttributeError:
        return None
    return view


class RunningSums(Executor):
    """Running sums for a box kernel along one axis (see the module docstring).

    Examples
    --------
    >>> import numpy as np, fftconv
    >>> box = np.full((1, 101), 1 / 101, np.float32)
    >>> fftconv.plan(np.zeros((1024, 1024), np.float32), box, "same", threads=1).executor
    'direct.box'
    """

    name = "direct.box"
    method = "direct"
    checks_values = True
    reads_boundary = True
    requirement = ("the compiled running sums, a kernel of equal taps along one axis (a box) and a "
                   "float32 or float64 computation")

    def applies(self, spec: Spec, forced: bool = False) -> bool:
        return (running_sums() is not None and len([n for n in spec.shape2 if n > 1]) == 1
                and self.compute_dtype(spec) in BOX_DTYPES and not spec.kernel_batched)

    def accepts(self, problem: Problem) -> bool:
        return box_value(problem.kernel()) is not None

    def estimate(self, spec: Spec, costs: CostModel, memory_limit: int | None) -> Estimate:
        dtype = self.compute_dtype(spec)
        outputs = spec.out_points * spec.batch_points
        per_output = costs.compiled_point * BOX_POINT_FACTOR * dtype.itemsize / 4
        return Estimate(costs.direct_overhead + outputs * per_output,
                        math.prod(spec.shape1) * spec.batch_points * dtype.itemsize)

    def run(self, problem: Problem, plan: Plan, out: np.ndarray, prepared: object = None,
            check_finite: bool = True) -> None:
        kernel = problem.kernel()
        value = box_value(kernel)
        if value is None:  # a plan made for another kernel of the same shapes
            raise ValueError(f"method='direct' by {self.name} needs {self.requirement}; use method='auto'")
        batch = problem.x.ndim - problem.rank
        axis = batch + next(a for a, n in enumerate(kernel.shape) if n > 1)
        ranges = [(0, n) for n in problem.x.shape[:batch]]
        ranges += [window_reads(n2, w) for n2, w in zip(kernel.shape, problem.windows)]
        if not box_extended(problem.x, axis, kernel.shape[axis - batch], value, ranges, "constant", 0, out):
            if not check_finite:  # zeroed operands cannot meet NaN: a value overflowed
                raise FloatingPointError("a running sum overflowed")
            raise NonFiniteInput  # a running sum carries NaN past the window: repaired after

    def run_extended(self, source: np.ndarray, ranges: Sequence[tuple[int, int]], mode: str, cval: object,
                     kernel: np.ndarray, plan: Plan, out: np.ndarray) -> bool:
        value = box_value(kernel)
        if value is None:
            return False
        axis = next(a for a, n in enumerate(kernel.shape) if n > 1)
        # NaN or inf met: the materialised path repairs them (``out`` is rewritten there)
        return box_extended(source, axis, kernel.shape[axis], value, ranges, mode, cval, out)
