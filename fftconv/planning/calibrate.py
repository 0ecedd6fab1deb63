"""First-use calibration: the cost coefficients that vary most between CPUs, measured here.

The built-in coefficients were fitted on one CPU; on another the direct sums' multiply-add
rates, the FFT's cost per point, copies and what a second thread gains can differ by 2x and
more, and the planner then picks the slower method near every crossover. So the first time
the planner needs coefficients on a machine (``[planner] calibrate = "auto"``, the default,
and no ``[planner.costs]`` from ``fftconv tune``), it measures those few, in at most
`BUDGET_SECONDS`, through the executors' own estimates (as ``fftconv tune`` does, on a much
smaller grid), and caches them like FFTW wisdom: a JSON file in the user cache directory,
named by the CPU model, the compiled loops' variant and the library versions. Later processes
read it in well under a millisecond. Each group is one scale over its coefficients, so the
built-in proportions between them stay; ``fftconv tune`` remains the full fit.

A cache that cannot be read or written costs a warning and a new measurement, never a
failed call. ``FFTCONV_CALIBRATE=off`` (or ``[planner] calibrate = "off"``) keeps the
built-in coefficients; the tests run that way, for plans that do not depend on the machine.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
import statistics
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import platformdirs

from .. import config
from .costs import DEFAULT_COSTS, CostModel

#: Wall-time budget of one calibration; groups not reached keep their built-in values.
BUDGET_SECONDS = 2.0
#: Seconds each measured case runs for (at least three runs each, median).
CASE_SECONDS = 0.02
#: Format of the cache file.
CACHE_VERSION = 1

#: The direct executors' cases (image, kernel, dtype) and coefficient groups, fitted jointly
#: per executor: two cases where one term dominates each, for executors with two groups.
DIRECT_CASES = {
    "direct.compiled": ([((256, 256), (3, 3)), ((256, 256), (11, 11))], "float32",
                        [("compiled_point", "compiled_call"), ("compiled_mac",)]),
    "direct.rows": ([((256, 256), (3, 3)), ((256, 256), (9, 9))], "float64",
                    [("row_point", "row_tap", "row_call")]),
    "direct.ndimage": ([((128, 128), (13, 13))], "float64", [("direct_point", "direct_mac")]),
    "direct.numpy": ([((8192,), (31,))], "float64", [("direct_mac_1d",)]),
    "direct.windows": ([((64, 64), (3, 3))], "float64", [("window_point", "window_mac")]),
}
#: Seconds per 8 bytes of ``np.copyto`` on the reference machine, of 256 KiB (in the cache) and
#: of 32 MiB (from memory): the copy coefficients scale by this machine's over these. (A fit
#: through one tiled convolution's time was too noisy: the copies are its small remainder
#: after the transforms.)
REFERENCE_COPY = (0.067e-9, 0.294e-9)

_lock = threading.Lock()
_in_process: dict[str, CostModel] = {}


def costs_for(settings: config.Config) -> tuple[CostModel, str]:
    """The coefficients the planner uses under ``settings``, and where they come from:
    'tuned' (``[planner.costs]`` or an override), 'calibrated' (measured on this CPU), or
    'built-in'.

    Examples
    --------
    >>> from fftconv import config
    >>> costs_for(config.Config(calibrate="off"))[1]
    'built-in'
    """
    if settings.costs_source == "tuned":
        return settings.costs, "tuned"
    if settings.calibrate == "off":
        return settings.costs, "built-in"
    key = machine_key(settings.backend)
    known = _in_process.get(key["id"])
    if known is None:
        with _lock:
            known = _in_process.get(key["id"])
            if known is None:
                known = _load_or_measure(key, settings.costs)
                _in_process[key["id"]] = known
    return known, "calibrated"


def machine_key(backend: str) -> dict[str, object]:
    """What calibrated coefficients depend on, and its digest (``id``): the CPU model, the
    compiled loops' variant and the versions of what runs the measured code."""
    import scipy

    from .. import __version__
    from ..backends import get_backend
    from ..executors import direct_compiled

    loops = direct_compiled.loops()
    key: dict[str, object] = {
        "cpu": _cpu_model(), "machine": platform.machine(), "cores": os.cpu_count(),
        "compiled": loops.variant() if loops is not None else None,
        "fftconv": __version__, "numpy": np.__version__, "scipy": scipy.__version__,
        "backend": backend, "backend_version": get_backend(backend).version(),
        "python": platform.python_version(), "format": CACHE_VERSION,
    }
    key["id"] = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return key


def cache_path(key: dict[str, object]) -> Path:
    """Where the coefficients for ``key`` are cached."""
    return Path(platformdirs.user_cache_dir("fftconv")) / "calibration" / f"{key['id']}.json"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _load_or_measure(key: dict[str, object], base: CostModel) -> CostModel:
    path = cache_path(key)
    loaded = _load(path, key, base)
    if loaded is not None:
        return loaded
    started = time.perf_counter()
    measured = measure(base)
    _save(path, key, measured, time.perf_counter() - started)
    return measured


def _load(path: Path, key: dict[str, object], base: CostModel) -> CostModel | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):  # nothing cached there
        return None
    except OSError as exc:
        warnings.warn(f"cannot read fftconv's calibration {path} ({exc.strerror}); measuring again",
                      RuntimeWarning, stacklevel=5)
        return None
    try:
        data = json.loads(text)
        if data.get("key") != key:
            raise ValueError("written for another machine or version")
        known = {f.name for f in dataclasses.fields(CostModel)}
        values = data["costs"]
        if not isinstance(values, dict) or not values or any(
                k not in known or isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0
                for k, v in values.items()):
            raise ValueError("coefficients missing or not positive numbers")
        return dataclasses.replace(base, **values)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        warnings.warn(f"fftconv's calibration {path} is unusable ({exc}); measuring again",
                      RuntimeWarning, stacklevel=5)
        return None


def _save(path: Path, key: dict[str, object], costs: CostModel, seconds: float) -> None:
    changed = {f.name: getattr(costs, f.name) for f in dataclasses.fields(CostModel)
               if getattr(costs, f.name) != getattr(DEFAULT_COSTS, f.name)}
    data = {"key": key, "costs": changed, "seconds": round(seconds, 3),
            "measured": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        warnings.warn(f"cannot save fftconv's calibration to {path} ({exc.strerror}); it will be "
                      "measured again in the next process", RuntimeWarning, stacklevel=5)


def measure(base: CostModel, budget: float = BUDGET_SECONDS) -> CostModel:
    """``base`` with the groups that vary most between CPUs scaled to this one: each direct
    executor's rates, the FFT's cost per point, copies, and (with two or more cores) what a
    second thread gains; each group measured while ``budget`` seconds last.

    Examples
    --------
    >>> m = measure(DEFAULT_COSTS, budget=0.0)  # no time: nothing measured
    >>> m == DEFAULT_COSTS
    True
    """
    from ..backends.threads import available_cores
    from ..executors import registry
    from .tune import transforms
    from .tune.fit import fit_groups
    from .tune.measure import time_executor

    deadline = time.perf_counter() + budget
    rng = np.random.default_rng(0)
    costs = base
    # most telling first: the direct sums' rates decide small kernels
    for name, (pairs, dtype, groups) in DIRECT_CASES.items():
        if time.perf_counter() >= deadline:
            return costs
        if not registry.get(name).applies(_spec(pairs[0], dtype)):
            continue  # e.g. the compiled loops were not built
        measured = [time_executor(name, rng.standard_normal(s1).astype(dtype),
                                  rng.standard_normal(s2).astype(dtype), "same", CASE_SECONDS, costs)
                    for s1, s2 in pairs]
        costs = fit_groups(measured, costs, groups)
    if time.perf_counter() < deadline:  # transforms: cost per point, one scale (FFTW plans
        cases = [((64, 64), "float64"), ((256, 256), "float64")]  # them with MEASURE: ~0.5 s)
        timed = transforms.measure_transforms(cases, CASE_SECONDS, rng, lambda: None)
        scale = statistics.median(t / transforms.predict(costs, s, d) for s, d, t in timed)
        costs = dataclasses.replace(costs, fft_point_log=costs.fft_point_log * scale,
                                    fft_point=costs.fft_point * scale)
    if time.perf_counter() < deadline:  # copies, in the cache and from memory
        cached, streamed = (_copy_seconds(n) for n in (1 << 15, 1 << 22))
        costs = dataclasses.replace(
            costs, copy_point_cached=costs.copy_point_cached * cached / REFERENCE_COPY[0],
            copy_point=costs.copy_point * streamed / REFERENCE_COPY[1])
    if available_cores() >= 2 and time.perf_counter() < deadline:
        costs = _thread_gains(costs, rng)
    return costs


def _copy_seconds(points: int) -> float:
    """Seconds per 8 bytes of copying ``points`` float64 values (best of a few rounds)."""
    src, dst = np.ones(points), np.empty(points)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(4):
            np.copyto(dst, src)
        best = min(best, (time.perf_counter() - start) / 4)
    return best / points


def _spec(pair, dtype):
    from ..core.problem import Spec

    return Spec.of_shapes(pair[0], pair[1], "same", dtype)


def _thread_gains(costs: CostModel, rng) -> CostModel:
    """What a second thread gains inside a transform (FFTW's threads) and on the compiled
    loop's row bands (workers on their own part of the work)."""
    from ..backends import get_backend
    from ..executors import direct_compiled
    from .tune.measure import thread_gain, typical_time

    backend = get_backend(config.get().backend)
    times = []
    with config.override(planner_effort="estimate"):  # the ratio of two plans, made alike and fast
        for n in (1, 2):
            pair = backend.transform_pair((), (1024, 1024), True, np.dtype(np.float64), n)
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
        costs = dataclasses.replace(costs, thread_efficiency=band_gain, thread_efficiency_out_of_cache=min(
            band_gain, costs.thread_efficiency_out_of_cache * band_gain / costs.thread_efficiency))
    return costs


def forget() -> None:
    """Drop the coefficients held in this process (the cache file stays)."""
    _in_process.clear()
