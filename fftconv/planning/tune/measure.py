"""Timing for ``fftconv tune`` and calibration: one executor with one plan, run through the
executor protocol (not the engine's run path, which sits above the planner), and thread
gains."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ... import config
from ...core.problem import Problem, Spec, axes_last
from ...executors import registry
from ...timing import typical_time
from ..costs import CostModel
from ..planner import make_plan


@dataclass(frozen=True)
class Measurement:
    """One executor timed on one problem: what its estimate must predict."""

    executor: str
    spec: Spec
    seconds: float
    layout: object = None  # the layout it ran with (spectral executors)

    def predict(self, costs: CostModel) -> float:
        """The executor's estimate of this run under ``costs`` (for the layout it ran)."""
        executor = registry.get(self.executor)
        if self.layout is not None:
            return executor.layout_estimate(self.spec, self.layout, costs).seconds
        return executor.estimate(self.spec, costs, None).seconds


def time_executor(name: str, a: np.ndarray, b: np.ndarray, mode: str, budget: float, costs: CostModel,
                  threads: int = 1, layout: object = None,
                  clock: Callable[[], float] = time.perf_counter) -> Measurement:
    """Time executor ``name`` convolving ``a`` with ``b`` (its layout chosen under ``costs``,
    or ``layout``), by ``clock`` (wall time unless given).

    Examples
    --------
    >>> import numpy as np
    >>> from fftconv.planning.costs import DEFAULT_COSTS
    >>> m = time_executor("direct.numpy", np.ones(100), np.ones(5), "full", 0.001, DEFAULT_COSTS)
    >>> m.seconds > 0 and m.predict(DEFAULT_COSTS) > 0
    True
    """
    problem = Problem.build(a, b, mode)
    spec = problem.spec(threads, config.get().backend)
    plan = make_plan(spec, registry.get(name).method, (name,), costs)
    if layout is not None:
        plan = dataclasses.replace(plan, layout=layout)
    seconds = typical_time(lambda: run_plan(problem, plan), budget, clock=clock)
    return Measurement(name, spec, seconds, plan.layout if registry.get(name).uses_backend else None)


def run_plan(problem: Problem, plan) -> np.ndarray:
    """The executor of ``plan`` run on ``problem`` through its protocol: its output in its
    compute dtype (what the engine's run path does, minus the non-finite repair and the cast).

    Examples
    --------
    >>> import numpy as np
    >>> from fftconv.planning.planner import make_plan
    >>> p = Problem.build(np.arange(4.0), np.ones(2), "full")
    >>> run_plan(p, make_plan(p.spec(1), "direct", ("direct.numpy",)))
    array([0., 1., 3., 5., 3.])
    """
    out = np.empty(problem.out_shape, plan.compute_dtype)
    registry.get(plan.executor).run(problem, plan, axes_last(out, problem.conv_axes))
    return out


def thread_gain(t1: float, tn: float, threads: int) -> float:
    """Efficiency ``e`` of each extra thread from ``tn = t1 / (1 + (threads - 1) e)``, kept
    within [0.05, 1].

    Examples
    --------
    >>> thread_gain(1.0, 0.5, 2)
    1.0
    """
    return min(max((t1 / tn - 1) / (threads - 1), 0.05), 1.0)
