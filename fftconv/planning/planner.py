"""The planner: a pure function from a `Spec` to a frozen `Plan`.

It asks every candidate executor for its estimate (`fftconv.executors.base.Executor`), drops
those whose working memory exceeds the limit, and keeps the cheapest, or the cheapest of the
method the caller forces. It knows no executor's internals: which executors are candidates
(by shapes, dtypes and values) is decided by the core (`fftconv.engine.run.plan`).
"""

from __future__ import annotations

import math
from functools import lru_cache
from types import MappingProxyType

from ..core.problem import Spec
from ..executors import registry
from .costs import DEFAULT_COSTS, CostModel
from .plan import Candidate, MemoryLimitError, Plan
from .plan import format_bytes as _bytes

#: An executor whose `lower_bound` is over this many times the cheapest estimate so far is
#: not priced (the engine's trials time executors within 3x of the cheapest).
PRUNE_RATIO = 4.0


def make_plan(
    spec: Spec,
    method: str = "auto",
    candidates: tuple[str, ...] | None = None,
    costs: CostModel = DEFAULT_COSTS,
    memory_limit: int | None = None,
) -> Plan:
    """Choose how to compute ``spec``: the fastest of the ``candidates`` (executor names;
    default every registered one that applies to ``spec`` without reading values) whose workspace fits
    ``memory_limit`` bytes, among those of ``method`` unless it is 'auto'.

    Raises `MemoryLimitError` when the executors that could run need more memory than the
    limit, and ``ValueError`` when a forced ``method`` has no candidate.

    Examples
    --------
    >>> make_plan(Spec.of_shapes((4096, 4096), (31, 31), "same")).method
    'tiled'
    """
    if candidates is None:
        candidates = tuple(e.name for e in registry.executors() if not e.checks_values and e.applies(spec))
    return _make_plan(spec, method, candidates, costs, memory_limit, registry.generation())


@lru_cache(maxsize=4096)
def _make_plan(spec: Spec, method: str, candidates: tuple[str, ...], costs: CostModel,
               memory_limit: int | None, generation: int) -> Plan:
    estimates, cheapest = {}, math.inf
    prune = method == "auto" and len(candidates) > 1  # a forced or lone executor is priced anyway
    bounds = {name: registry.get(name).lower_bound(spec, costs) if prune else 0.0 for name in candidates}
    # executors that cost nothing to price first: their estimates can spare the searches
    for name in sorted(candidates, key=lambda n: bounds[n] > 0):
        if prune and bounds[name] > PRUNE_RATIO * cheapest:
            continue  # far too slow to be chosen, or timed in a trial: not worth pricing
        estimate = _estimate(name, spec, costs, memory_limit, generation)
        if estimate is not None:
            estimates[name] = estimate
            fits_limit = memory_limit is None or estimate.workspace <= memory_limit
            if fits_limit and not registry.get(name).trial_only:  # what the plan may choose prunes
                cheapest = min(cheapest, estimate.seconds)
    fits = {name: memory_limit is None or e.workspace <= memory_limit for name, e in estimates.items()}
    pool = [n for n in estimates if fits[n] and (method == "auto" or registry.get(n).method == method)]
    if not pool:
        _refuse(spec, method, estimates, memory_limit)
    chooseable = [n for n in pool if not registry.get(n).trial_only] or pool
    chosen = min(chooseable, key=lambda n: estimates[n].seconds)
    executor = registry.get(chosen)
    by_method: dict[str, float] = {}
    for name, e in estimates.items():
        m = registry.get(name).method
        if fits[name] and e.seconds < by_method.get(m, float("inf")) and (
                name == chosen or not registry.get(name).trial_only):
            by_method[m] = e.seconds
    return Plan(
        spec=spec,
        method=executor.method,
        executor=chosen,
        layout=estimates[chosen].layout,
        compute_dtype=executor.compute_dtype(spec),
        backend=spec.backend if executor.uses_backend else None,
        workspace=estimates[chosen].workspace,
        estimates=MappingProxyType(by_method),
        candidates=MappingProxyType({n: Candidate(e.seconds, e.workspace, fits[n], registry.get(n).trial_only)
                                     for n, e in estimates.items()}),
        reason="lowest estimated time" if method == "auto" else f"method={method!r} requested",
    )


@lru_cache(maxsize=4096)
def _estimate(name: str, spec: Spec, costs: CostModel, memory_limit: int | None, generation: int):
    """Executor ``name``'s estimate, once per problem (a plan and its trial's contenders ask
    for the same ones)."""
    return registry.get(name).estimate(spec, costs, memory_limit)


def _refuse(spec: Spec, method: str, estimates: dict, memory_limit: int | None) -> None:
    wanted = {n: e for n, e in estimates.items() if method == "auto" or registry.get(n).method == method}
    if not wanted:
        needs = "; ".join(sorted({e.requirement for e in registry.executors() if e.method == method}))
        raise ValueError(f"method={method!r} cannot compute this convolution of {spec.shape1} with "
                         f"{spec.shape2} ({spec.result_dtype}): it needs {needs or 'to be registered'}; "
                         "use method='auto'")
    smallest = min(e.workspace for e in wanted.values())
    names = " or ".join(sorted({registry.get(n).method for n in wanted}))
    raise MemoryLimitError(
        f"the memory limit of {_bytes(memory_limit)} is too small to convolve {spec.shape1} with "
        f"{spec.shape2} by {names}: the smallest layout needs {_bytes(smallest)} of working memory; "
        "raise [memory] limit (or FFTCONV_MEMORY_LIMIT)"
    )
