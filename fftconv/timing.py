"""Timing what the planner's coefficients are fitted to (``fftconv tune``, first-use
calibration, the FFTW measuring process): a typical time of repeated runs; and bringing a
benchmark's calls to the state a loop's later calls are in (`settle`)."""

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


#: Calls `settle` makes before it looks: a signature's first call runs a quick plan and its
#: second plans in full (`fftconv.engine.run.FIRST_SIGHT_SECONDS`), where a trial may start.
SETTLE_FIRST_CALLS = 3
#: ... and calls in a row that leave the trials as they were, once its calls have taken
#: `SETTLE_SECONDS`: a signature rents NumPy's routes for its first calls (up to 1 ms of
#: ``numpy.convolve``, 20 ms of an ``fftconvolve``'s transforms, 5 ms of a 1-D ``convolve``'s,
#: 2 ms in 2-D and 3-D: `fftconv.engine.tiny`), and only then meets the pipeline, its quick plan
#: and its trial. Looking after three calls had
#: timed 5000 * 300 'valid' float64 on the rented route and then the trial's first contender,
#: 182 us where its settled calls take 111 (AMD EPYC Zen 3, 1 thread).
SETTLE_QUIET_CALLS = 3
SETTLE_SECONDS = 0.03


def settle(call: Callable[[], object], most: int = 1000) -> int:
    """Call ``call`` until fftconv's plans for it have settled: the background work it started
    (FFTW's measured plans) done, its rented first routes left behind and no trial timing a
    contender on the last `SETTLE_QUIET_CALLS` calls, the state a loop's later calls are in (at
    most ``most`` calls). Returns the calls made.

    Examples
    --------
    >>> import numpy as np, fftconv
    >>> settle(lambda: fftconv.convolve(np.ones(64), np.ones(5))) >= SETTLE_FIRST_CALLS
    True
    """
    from . import background
    from .engine import trials

    quiet, spent = 0, 0.0
    for calls in range(1, most + 1):
        before = trials.unsettled_runs()
        start = time.perf_counter()
        call()
        spent += time.perf_counter() - start
        background.wait()
        quiet = quiet + 1 if trials.unsettled_runs() == before else 0
        if calls >= SETTLE_FIRST_CALLS and quiet >= SETTLE_QUIET_CALLS and spent >= SETTLE_SECONDS:
            return calls
    return most
