"""Plans for a whole image of a periodic or zero border: the image's own transform priced.

The planner prices a block as what it is given, the block extended by its halo ('valid'); its
whole-array transform is that extended shape. Where the block is the whole image and the
boundary is periodic, the spectral executors transform the image's own shape instead
(`fftconv.executors.periodic`); where its halo is zeros, the image zero-padded by the longer
side of the halo alone (`fftconv.executors.zero_border`). The planner cannot see either: at
1024² with a 101x101 kernel it picked overlap-save tiles (6 tiles of 480x672) where the
image's 1024² transform is quicker. `border_plan` prices that transform with the same cost
model and takes the whole-array FFT where it is estimated quicker than the planner's choice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from .. import config
from ..core.problem import Problem
from ..executors import registry
from ..executors.periodic import periodic_layout, periodic_shape
from ..executors.spectral import FFTLayout
from ..executors.zero_border import zero_border_layout
from ..planning import calibrate
from ..planning.plan import MemoryLimitError, Plan
from . import run


def border_plan(plan: Plan, template: Problem, mode: str, zero_border: bool, method: str, threads: int,
                ranges: Sequence[tuple[int, int]], source_shape: Sequence[int], room: int | None) -> Plan:
    """``plan`` (the planner's for the block ``template``, read over ``ranges`` of a source of
    ``source_shape`` by ``mode``; ``zero_border``: its halo reads as zeros), or the whole-array
    FFT's plan where the block is the whole image of a periodic mode or a zero border, filtered
    on every axis, and its transform without the halo is estimated quicker than every estimate
    ``plan`` holds. Only ``method='auto'`` is chosen for.

    Examples
    --------
    >>> import numpy as np
    >>> k = np.random.default_rng(0).random((101, 101))
    >>> template = Problem.build(np.zeros((1124, 1124)), k, "valid", correlate=True)
    >>> auto = run.plan(template, "auto", 1, image_known=False)
    >>> ranges = [(-50, 1074), (-50, 1074)]
    >>> border_plan(auto, template, "wrap", False, "auto", 1, ranges, (1024, 1024), None).method
    'fft'
    >>> border_plan(auto, template, "reflect", False, "auto", 1, ranges, (1024, 1024), None) is auto
    True
    """
    shape2 = template.geometry.shape2
    periodic = periodic_shape(ranges, source_shape, shape2, mode) is not None
    zeros = zero_border and zero_border_layout(ranges, source_shape, shape2, None) is not None
    if method != "auto" or plan.method == "fft" or template.rank != len(source_shape) \
            or not (periodic or zeros):
        return plan
    if template.result_dtype.kind in "iu" and registry.get(plan.executor).exact_integers:
        return plan  # the planner kept integer sums exact: no transform replaces them
    try:
        whole = run.plan(template, "fft", threads, memory_limit=room, image_known=False)
    except (MemoryLimitError, ValueError):
        return plan
    found = periodic_layout(ranges, source_shape, shape2, mode, whole) if periodic \
        else zero_border_layout(ranges, source_shape, shape2, whole)
    if found is None:
        return plan
    costs, _ = calibrate.costs_for(config.get())
    shape = found[0]
    layout = FFTLayout(shape, (False,) * len(shape), 1)
    priced = registry.get(whole.executor).layout_estimate(whole.spec, layout, costs)
    best = min(plan.estimates.values(), default=float("inf"))
    if priced.seconds >= best:
        return plan
    kind = "periodic" if periodic else "zero"
    return dataclasses.replace(
        whole, reason=f"{kind} boundary: the whole image's transform without its halo, {shape}, estimated "
        f"{priced.seconds * 1e3:.3g} ms against {best * 1e3:.3g} ms for the planner's choice of the extended "
        f"block ({plan.executor})")
