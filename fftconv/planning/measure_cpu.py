"""Measuring this CPU's key cost coefficients (what first-use calibration,
`fftconv.planning.calibrate`, caches): the direct sums' rates through each direct
executor's own estimate, the FFT's cost per point, copies, and what a second thread gains.

It runs in FFTW's measuring process (`fftconv.measure_process`), timed in that process' CPU
time so that the user's work on other cores does not count, or wherever it is called.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from .costs import CostModel

if TYPE_CHECKING:
    from .tune.measure import Measurement

#: Time budget of one calibration (seconds of its clock); groups not reached keep their
#: values.
BUDGET_SECONDS = 2.0
#: Seconds each measured case runs for (at least three runs each, median).
CASE_SECONDS = 0.02
#: Passes of the measurement; each case's least time, or each one-scale group's least scale,
#: is kept (a time is only ever stretched by what else runs). One pass lasts ~0.25 s: on a
#: shared AMD EPYC Zen 3 successive passes timed the FFT's cost per point 7.3e-11 to 1.4e-10
#: s, the compiled loop's multiply-add 3.4e-11 to 5.6e-11 s, and a process' first pass runs
#: cold (the transforms' first runs after planning).
PASSES = 3
#: The direct executors' cases (image, kernel, dtype) and coefficient groups, fitted jointly
#: per executor: a case where each group's term weighs most (the compiled loop's: few taps,
#: a square kernel's multiply-adds, a one-row kernel's loads from L1, a one-column kernel's
#: from L2, planes beyond L2 streamed).
DIRECT_CASES = {
    "direct.compiled": ([((256, 256), (3, 3)), ((256, 256), (11, 11)), ((256, 256), (1, 41)),
                         ((256, 256), (81, 1)), ((1024, 1024), (1, 5))], "float32",
                        [("compiled_point", "compiled_call"), ("compiled_mac",), ("compiled_load",),
                         ("compiled_load_l2",), ("compiled_stream",)]),
    "direct.rows": ([((256, 256), (3, 3)), ((256, 256), (9, 9))], "float64",
                    [("row_point", "row_tap", "row_call")]),
    "direct.ndimage": ([((128, 128), (13, 13))], "float64", [("direct_point", "direct_mac")]),
    "direct.numpy": ([((8192,), (31,)), ((4096,), (1023,))], "float64",
                     [("direct_out_1d",), ("direct_mac_1d",)]),
    "direct.windows": ([((64, 64), (3, 3))], "float64", [("window_point", "window_mac")]),
}
#: Seconds per 8 bytes of ``np.copyto`` on the reference machine, of 256 KiB (in the cache) and
#: of 32 MiB (from memory): the copy coefficients scale by this machine's over these. (A fit
#: through one tiled convolution's time was too noisy: the copies are its small remainder
#: after the transforms.)
REFERENCE_COPY = (0.067e-9, 0.294e-9)
#: Values between a timed copy's source and destination beyond a whole number of pages: half
#: a 4 KiB page of float64 (see `_copy_seconds`).
ALIAS_FREE_OFFSET = 256


def measure(base: CostModel, budget: float = BUDGET_SECONDS, clock: Callable[[], float] = time.perf_counter,
            transforms: bool = True, passes: int = PASSES) -> CostModel:
    """``base`` with the groups that vary most between CPUs scaled to this one: each direct
    executor's rates, the FFT's cost per point (unless not ``transforms``: the configured
    backend's transforms at MEASURE effort, planned here) and copies, each group measured
    while ``budget`` seconds of ``clock`` last, ``passes`` times (see `PASSES`): the direct
    executors' coefficients are fitted to each case's fastest time, the one-scale groups take
    the least scale of the passes that reached them. On one thread: `thread_gains` times the
    rest.

    Examples
    --------
    >>> from fftconv.planning.costs import DEFAULT_COSTS
    >>> m = measure(DEFAULT_COSTS, budget=0.0)  # no time: nothing measured
    >>> m == DEFAULT_COSTS
    True
    """
    deadline = clock() + budget
    fastest: dict[tuple[str, int], Measurement] = {}
    least: dict[str, float] = {}
    for _ in range(passes):
        _time_direct(base, deadline, clock, fastest)
        measured = _measure_scales(base, deadline, clock, transforms)
        for f in dataclasses.fields(measured):
            value = getattr(measured, f.name)
            if value != getattr(base, f.name):  # reached by this pass
                least[f.name] = min(value, least.get(f.name, value))
    return _fit_direct(dataclasses.replace(base, **least), fastest)


def _time_direct(base: CostModel, deadline: float, clock: Callable[[], float],
                 fastest: dict[tuple[str, int], Measurement]) -> None:
    """Time each direct executor's cases once, until ``clock`` reads ``deadline``, keeping
    each case's fastest time in ``fastest``. Fitting each pass apart and keeping each
    coefficient's least would pair one pass's low rate with another's low loads: coefficients
    fitted together trade off, and their least underpriced the compiled loop by 1.2-1.4x."""
    from ..executors import registry
    from .tune.measure import time_executor

    rng = np.random.default_rng(0)
    # most telling first: the direct sums' rates decide small kernels
    for name, (pairs, dtype, _) in DIRECT_CASES.items():
        if not registry.get(name).applies(_spec(pairs[0], dtype)):
            continue  # e.g. the compiled loops were not built
        for i, (s1, s2) in enumerate(pairs):
            if clock() >= deadline:
                return
            a, b = (rng.standard_normal(shape).astype(dtype) for shape in (s1, s2))
            m = time_executor(name, a, b, "same", CASE_SECONDS, base, clock=clock)
            if (name, i) not in fastest or m.seconds < fastest[name, i].seconds:
                fastest[name, i] = m


def _fit_direct(costs: CostModel, fastest: dict[tuple[str, int], Measurement]) -> CostModel:
    """``costs`` with each direct executor's groups fitted to its cases' fastest times (an
    executor not all of whose cases were timed keeps its coefficients)."""
    from .tune.fit import fit_groups

    for name, (pairs, _, groups) in DIRECT_CASES.items():
        measured = [fastest.get((name, i)) for i in range(len(pairs))]
        if all(m is not None for m in measured):
            costs = fit_groups(measured, costs, groups)
    return costs


def _measure_scales(base: CostModel, deadline: float, clock: Callable[[], float], transforms: bool
                    ) -> CostModel:
    """``base`` with the transforms' and copies' scales measured once, until ``clock`` reads
    ``deadline``."""
    rng = np.random.default_rng(0)
    costs = base
    if transforms and clock() < deadline:
        costs = _transform_cost(costs, rng, clock)
    if clock() < deadline:  # copies, in the cache and from memory
        cached, streamed = (_copy_seconds(n, clock) for n in (1 << 15, 1 << 22))
        costs = dataclasses.replace(
            costs, copy_point_cached=costs.copy_point_cached * cached / REFERENCE_COPY[0],
            copy_point=costs.copy_point * streamed / REFERENCE_COPY[1])
    return costs


def _transform_cost(costs: CostModel, rng, clock: Callable[[], float]) -> CostModel:
    """The FFT's cost per point, one scale, from MEASURE plans of 64² and 256² (planning
    them takes FFTW ~0.5 s)."""
    from .tune import transforms

    cases = [((64, 64), "float64"), ((256, 256), "float64")]
    timed = transforms.measure_transforms(cases, CASE_SECONDS, rng, lambda: None, clock=clock)
    scale = statistics.median(t / transforms.predict(costs, s, d) for s, d, t in timed)
    return dataclasses.replace(costs, fft_point_log=costs.fft_point_log * scale,
                               fft_point=costs.fft_point * scale)


def _copy_seconds(points: int, clock: Callable[[], float] = time.perf_counter) -> float:
    """Seconds per 8 bytes of copying ``points`` float64 values (best of a few rounds), into
    a destination half a page (`ALIAS_FREE_OFFSET`) from the source's offset within a 4 KiB
    page: two arrays allocated one after the other on the heap lie a page multiple and a
    16-byte header apart, where each store aliases a load the copy has queued (4 KiB
    aliasing): AMD Zen 3 copied 32,768 values so at 5.7 ns a value, at 0.3 half a page away.
    The transform buffers fftconv copies into are aligned and allocated apart."""
    buffer = np.ones(2 * points + ALIAS_FREE_OFFSET)
    src, dst = buffer[:points], buffer[points + ALIAS_FREE_OFFSET:]
    best = float("inf")
    for _ in range(5):
        start = clock()
        for _ in range(4):
            np.copyto(dst, src)
        best = min(best, (clock() - start) / 4)
    return best / points


def _spec(pair, dtype):
    from ..core.problem import Spec

    return Spec.of_shapes(pair[0], pair[1], "same", dtype)


def thread_gains(costs: CostModel) -> CostModel:
    """``costs`` with what a second thread gains inside a transform (the configured
    backend's threads, ESTIMATE plans: the ratio of two plans made alike) and on the compiled
    loop's row bands (workers on their own part of the work), in wall time: meaningful only
    while nothing else runs.

    Examples
    --------
    >>> from fftconv.planning.costs import DEFAULT_COSTS
    >>> 0.05 <= thread_gains(DEFAULT_COSTS).fft_thread_efficiency <= 1
    True
    """
    from .. import config
    from ..backends import get_backend
    from ..executors import direct_compiled
    from ..timing import typical_time
    from .tune.measure import thread_gain

    rng = np.random.default_rng(0)
    backend = get_backend(config.get().backend)
    times = []
    with config.override(planner_effort="estimate"):
        for n in (1, 2):
            pair = backend.transform_pair((), (1024, 1024), True, np.dtype(np.float64), n, uses=100)
            pair.begin()
            pair.data[...] = rng.standard_normal(pair.data.shape)
            times.append(typical_time(lambda p=pair: (p.forward(), p.inverse()), CASE_SECONDS))
    fft_gain = thread_gain(times[0], times[1], 2)
    costs = dataclasses.replace(costs, fft_thread_efficiency=fft_gain,
                                fft_thread_efficiency_1d=min(fft_gain, costs.fft_thread_efficiency_1d))
    if direct_compiled.loops() is not None:
        x = rng.standard_normal((1024, 1024)).astype(np.float32)
        k = rng.standard_normal((7, 7)).astype(np.float32)
        out = np.empty_like(x)
        ranges = [(-3, 1027), (-3, 1027)]
        t1, t2 = (typical_time(lambda n=n: direct_compiled.correlate_extended(x, k, ranges, "constant", 0,
                                                                               out, n), CASE_SECONDS)
                  for n in (1, 2))
        band_gain = thread_gain(t1, t2, 2)
        costs = dataclasses.replace(
            costs, thread_efficiency=band_gain, thread_efficiency_out_of_cache=min(
                band_gain, costs.thread_efficiency_out_of_cache * band_gain / costs.thread_efficiency))
    return costs
