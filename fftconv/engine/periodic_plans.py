"""Plans for a whole image of a periodic boundary: the transform at the image's own shape priced.

The planner prices a block as what it is given, the block extended by its halo ('valid'); its
whole-array transform is that extended shape. Where the boundary is periodic and the block is
the whole image, the spectral executors transform the image's own shape instead
(`fftconv.executors.periodic`), which the planner cannot see: at 1024² with a 101x101 kernel it
picked overlap-save tiles (6 tiles of 480x672) where the image's 1024² transform is quicker.
`periodic_plan` prices that transform with the same cost model and takes the whole-array FFT
where it is estimated quicker than the planner's choice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from .. import config
from ..core.problem import Problem
from ..executors import registry
from ..executors.periodic import periodic_layout, periodic_shape
from ..executors.spectral import FFTLayout
from ..planning import calibrate
from ..planning.plan import MemoryLimitError, Plan
from . import run


def periodic_plan(plan: Plan, template: Problem, mode: str, method: str, threads: int,
                  ranges: Sequence[tuple[int, int]], source_shape: Sequence[int], room: int | None) -> Plan:
    """``plan`` (the planner's for the block ``template``, read over ``ranges`` of a source of
    ``source_shape`` by ``mode``), or the whole-array FFT's plan where the block is the whole
    image of a periodic mode, filtered on every axis, and its transform at the image's shape is
    estimated quicker than every estimate ``plan`` holds. Only ``method='auto'`` is chosen for.

    Examples
    --------
    >>> import numpy as np
    >>> k = np.random.default_rng(0).random((101, 101))
    >>> template = Problem.build(np.zeros((1124, 1124)), k, "valid", correlate=True)
    >>> auto = run.plan(template, "auto", 1, image_known=False)
    >>> ranges = [(-50, 1074), (-50, 1074)]
    >>> periodic_plan(auto, template, "wrap", "auto", 1, ranges, (1024, 1024), None).method
    'fft'
    >>> periodic_plan(auto, template, "reflect", "auto", 1, ranges, (1024, 1024), None) is auto
    True
    """
    if method != "auto" or plan.method == "fft" or template.rank != len(source_shape) \
            or periodic_shape(ranges, source_shape, template.geometry.shape2, mode) is None:
        return plan
    if template.result_dtype.kind in "iu" and registry.get(plan.executor).exact_integers:
        return plan  # the planner kept integer sums exact: no transform replaces them
    try:
        whole = run.plan(template, "fft", threads, memory_limit=room, image_known=False)
    except (MemoryLimitError, ValueError):
        return plan
    periodic = periodic_layout(ranges, source_shape, template.geometry.shape2, mode, whole)
    if periodic is None:
        return plan
    costs, _ = calibrate.costs_for(config.get())
    shape = periodic[0]
    layout = FFTLayout(shape, (False,) * len(shape), 1)
    priced = registry.get(whole.executor).layout_estimate(whole.spec, layout, costs)
    best = min((c.seconds for c in plan.candidates.values() if c.fits), default=float("inf"))
    if priced.seconds >= best:
        return plan
    return dataclasses.replace(
        whole, reason=f"periodic boundary: the whole image's transform at its own shape {shape}, estimated "
        f"{priced.seconds * 1e3:.3g} ms against {best * 1e3:.3g} ms for the planner's choice of the extended "
        f"block ({plan.executor})")
