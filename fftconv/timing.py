"""Timing what the planner's coefficients are fitted to (``fftconv tune``, first-use
calibration, the FFTW measuring process): a typical time of repeated runs."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def typical_time(func: Callable[[], object], min_seconds: float, max_runs: int = 50,
                 clock: Callable[[], float] = time.perf_counter) -> float:
    """Median of several runs (after one warm-up), running for at least ``min_seconds``: the
    statistic the benchmarks judge by (the fastest run flatters memory-bound work, such as the
    direct sum, more than transforms, and so skews the planner's comparisons). ``clock``:
    wall time by default; a thread's or a process' CPU time where other work may share the
    cores (background calibration, the measuring process).

    Examples
    --------
    >>> typical_time(lambda: sum(range(100)), 0.001) > 0
    True
    """
    func()
    times = []
    start = time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - start < min_seconds and len(times) < max_runs):
        t0 = clock()
        func()
        times.append(clock() - t0)
    return statistics.median(times)
