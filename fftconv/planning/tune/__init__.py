"""``fftconv tune``: measure this machine, fit the cost model, report, write the config.

The groups of coefficients, each fitted by its own module:

1. the FFT backend's transforms (`transforms`): ``fft_point_log``, ``fft_point``, the radix
   weights, ``fft_rank3_factor``, ``fft_out_of_cache``, ``single_factor``, ``complex_factor``;
2. the executors (`executors`), each through its own ``estimate`` (`fit`): the spectral
   copies and overheads (``copy_point``, ``copy_point_cached``, ``copy_row``,
   ``tile_overhead``, ``call_overhead``), one scale per direct executor, ``gemm_mac``;
3. with more than one thread, what they gain inside transforms and across tiles.

Every cost is measured on one thread first. Then planner regret (time of the chosen method /
fastest method) is measured on validation cases with the old and the new coefficients.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ... import config
from ...core.problem import Problem
from ...timing import typical_time
from ..costs import CostModel
from ..planner import make_plan
from . import cases, transforms
from .executors import THREAD_STEPS, fit_direct, fit_separable, fit_spectral, fit_threads
from .fit import log_error
from .measure import run_plan

__all__ = ["TuneResult", "costs_table", "report", "tune", "write_costs"]


@dataclass(frozen=True)
class TuneResult:
    """What a tuning run fitted and measured."""

    old: CostModel
    new: CostModel
    fit_error: dict[str, float]  # median |log(predicted / measured)| per group, old and new
    regret_old: list[float]
    regret_new: list[float]
    seconds: float
    cases: tuple[str, ...] = ()  # what each regret was measured on: case, then each model's choice

    def worse_than_before(self) -> bool:
        """Whether the new coefficients chose worse on the validation cases: a geometric-mean
        regret over 1 % or a largest regret over 5 % above the old coefficients' (about the
        spread of repeated runs on the reference machine)."""
        def gmean(values: list[float]) -> float:
            finite = [v for v in values if math.isfinite(v)]
            return math.exp(sum(math.log(v) for v in finite) / len(finite)) if finite else math.inf

        return (gmean(self.regret_new) > 1.01 * gmean(self.regret_old)
                or max(self.regret_new) > 1.05 * max(self.regret_old))


def tune(quick: bool = False, threads: int = 1, progress: bool = True) -> TuneResult:
    """Measure this machine and fit a `CostModel` (the current one is the starting point).

    Every cost is measured on one thread; with ``threads`` > 1, what that many threads gain
    (the backend's own, and workers sharing tiles) is measured too, and the validation runs
    on them. Takes about 40 s (``quick``: under 20 s); ``fftconv tune`` runs it from the
    command line and ``tests/test_tune.py`` runs it on a tiny grid.
    """
    from tqdm.auto import tqdm

    started = time.perf_counter()
    old = config.get().costs
    rng = np.random.default_rng(0)
    budget = 0.03 if quick else 0.25
    steps = (len(cases.fft_cases(quick)) + len(cases.spectral_cases(quick))
             + sum(len(pairs) for pairs, _ in cases.direct_cases(quick).values())
             + len(cases.separable_cases(quick)) + (THREAD_STEPS if threads > 1 else 0)
             + len(cases.validation_cases(quick)))
    with tqdm(total=steps, desc="fftconv tune", disable=None if progress else True, unit="step") as bar:
        fft_measured = transforms.measure_transforms(cases.fft_cases(quick), budget, rng, bar.update)
        fitted = transforms.fit_transforms(old, fft_measured)
        fitted, spectral_measured = fit_spectral(fitted, quick, budget, rng, bar.update)
        fitted = fit_direct(fitted, quick, budget, rng, bar.update)
        fitted = fit_separable(fitted, quick, budget, rng, bar.update)
        if threads > 1:
            fitted = fit_threads(fitted, threads, 0.03 if quick else 0.15, quick, rng, bar.update)
        fit_error = {}
        for name, costs in (("old", old), ("new", fitted)):
            fit_error[f"fft {name}"] = transforms.log_error(costs, fft_measured)
            fit_error[f"spectral {name}"] = log_error(spectral_measured, costs)
        regret_old, regret_new, labels = _regret(old, fitted, threads, quick, budget, rng, bar.update)
    return TuneResult(old, fitted, fit_error, regret_old, regret_new, time.perf_counter() - started,
                      tuple(labels))


def _regret(old: CostModel, new: CostModel, threads: int, quick: bool, budget: float, rng, step
            ) -> tuple[list[float], list[float], list[str]]:
    """Time of the method each cost model picks over the fastest method, per validation case,
    and what each case was (with the methods chosen and the fastest)."""
    regret_old, regret_new, labels = [], [], []
    for s1, s2, mode in cases.validation_cases(quick):
        a, b = rng.standard_normal(s1), rng.standard_normal(s2)
        problem = Problem.build(a, b, mode)
        spec = problem.spec(threads, config.get().backend)
        estimates = make_plan(spec, "auto", None, new).estimates
        times = {}
        for m in ("direct", "fft", "tiled"):
            if m not in estimates or (estimates[m] > 20 * min(estimates.values()) and estimates[m] > 1.0):
                continue  # hopeless (not even priced): cannot be the fastest
            plan = make_plan(spec, m, None, new)  # the method's fastest executor, as 'auto' would run it
            times[m] = typical_time(lambda p=plan, q=problem: run_plan(q, p), budget)
        best = min(times.values())
        chosen = {}
        for label, costs, out in (("before", old, regret_old), ("after", new, regret_new)):
            chosen[label] = make_plan(spec, "auto", None, costs).method
            out.append(times.get(chosen[label], math.inf) / best)
        shape = "x".join(map(str, s1)) + " * " + "x".join(map(str, s2))
        labels.append(f"{shape} {mode}: chose {chosen['before']} before, {chosen['after']} after; fastest "
                      f"{min(times, key=times.get)}")
        step()
    return regret_old, regret_new, labels


def costs_table(costs: CostModel) -> dict[str, float]:
    """The coefficients as a TOML-ready table.

    Examples
    --------
    >>> from fftconv.planning.costs import DEFAULT_COSTS
    >>> costs_table(DEFAULT_COSTS)["longdouble_factor"]
    12.0
    """
    return {f.name: getattr(costs, f.name) for f in dataclasses.fields(CostModel)}


def write_costs(costs: CostModel, path: Path) -> None:
    """Merge ``[planner.costs]`` into the TOML file at ``path`` (created if missing).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from fftconv.planning.costs import DEFAULT_COSTS
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "fftconv.toml"
    >>> write_costs(DEFAULT_COSTS, p); "[planner.costs]" in p.read_text()
    True
    """
    import tomli_w

    from ...config import tomllib

    data = {}
    if path.exists():
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    data.setdefault("planner", {})["costs"] = costs_table(costs)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(tomli_w.dumps(data), encoding="utf-8")
    tmp.replace(path)
    config.load(path)  # what we wrote must read back
    config.reload()  # this process' own file, where it is: its new costs apply from here


def report(result: TuneResult) -> str:
    """Plain-text summary of a tuning run (see ``tests/test_tune.py`` for one)."""
    lines = [f"measured in {result.seconds:.1f} s", "", f"{'coefficient':<18} {'before':>12} {'after':>12}"]
    old, new = costs_table(result.old), costs_table(result.new)
    for key in old:
        lines.append(f"{key:<18} {old[key]:>12.4g} {new[key]:>12.4g}")
    lines.append("")
    lines.append("fit error (median |log(predicted/measured)|; 0.10 is ~10 %):")
    for key, value in result.fit_error.items():
        lines.append(f"  {key:<14} {value:.3f}")
    for label, regret in (("before", result.regret_old), ("after", result.regret_new)):
        finite = [r for r in regret if math.isfinite(r)]
        lines.append(
            f"planner regret {label:<6}: median {statistics.median(finite):.3f}, max {max(regret):.3f}"
            f" over {len(regret)} validation cases"
        )
        worst = sorted(zip(regret, result.cases), reverse=True)[:3]
        lines.extend(f"  worst {label}: {r:.2f} on {case}" for r, case in worst if r > 1.0)
    return "\n".join(lines)
