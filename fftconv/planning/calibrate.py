"""First-use calibration: the cost coefficients that vary most between CPUs, measured here.

The built-in coefficients were fitted on one CPU; on another the direct sums' multiply-add
rates, the FFT's cost per point, copies and what a second thread gains can differ by 2x and
more, and the planner then picks the slower method near every crossover. So the first time
the planner needs coefficients on a machine (``[planner] calibrate = "auto"``, the default,
and no ``[planner.costs]`` from ``fftconv tune``), those few are measured through the
executors' own estimates (as ``fftconv tune`` does, on a much smaller grid) and cached like
FFTW wisdom: a JSON file in the user cache directory, named by the CPU model, the compiled
loops' variant and the library versions. Later processes read it once, in well under a
millisecond. Each group is one scale over its coefficients, so the built-in proportions
between them stay; ``fftconv tune`` remains the full fit.

The measuring never stalls a call: it runs on the background thread (`fftconv.background`,
~2 s of a core the process is not using), timed in that thread's CPU time, with the
transforms timed in FFTW's measuring process (`fftconv.backends.measuring`). Until it is
done the planner uses the built-in coefficients, and `Plan.explain` says so; what a second
thread gains is measured only while the engine is idle (else the built-in gains stay, and a
later process measures them).

A cache that cannot be read or written costs a warning and a new measurement, never a
failed call. ``FFTCONV_CALIBRATE=off`` (or ``[planner] calibrate = "off"``) keeps the
built-in coefficients; the tests run that way, for plans that do not depend on the machine.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import platform
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import platformdirs

from .. import background, config
from ..backends import measuring
from ..backends.threads import available_cores
from . import measure_cpu
from .costs import DEFAULT_COSTS, CostModel

#: How long the engine must have been idle before what a second thread gains is timed (wall
#: time of two threads means nothing while the user's calls share the cores); a process that
#: is busy then leaves it to a later one.
IDLE_SECONDS = 0.5
#: Format of the cache file (2: np.convolve priced per output and per multiply-add, and the
#: compiled loops' AVX2 variant 5-8x faster than the one measured before; 3: its float kernels
#: of 3 to 15 rows 1.1-1.6x faster; 4: copies timed free of 4 KiB aliasing, which had made the
#: cached copy rate 10x too slow on AMD Zen 3; 5: the compiled loop's loads priced beside its
#: multiply-adds, `compiled_load`; 6: its loads from L2 and its planes streamed beyond L2 priced
#: and measured, `compiled_load_l2` and `compiled_stream`).
CACHE_VERSION = 6

_lock = threading.Lock()
#: Coefficients by machine key id: None while they are measured in the background.
_in_process: dict[str, CostModel | None] = {}
_generation = [0]


def costs_for(settings: config.Config) -> tuple[CostModel, str]:
    """The coefficients the planner uses under ``settings``, and where they come from:
    'tuned' (``[planner.costs]`` or an override), 'calibrated' (measured on this CPU),
    'calibrating' (built-in, while this CPU is measured in the background) or 'built-in'.

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
    key_id = _machine_key(settings.backend)["id"]
    try:
        known = _in_process[key_id]
    except KeyError:
        known = _read_or_start(settings)
    if known is None:
        return _until_measured(settings.costs), "calibrating"
    return known, "calibrated"


@functools.lru_cache(maxsize=8)
def _until_measured(costs: CostModel) -> CostModel:
    """The built-in coefficients, with the compiled loop's rate scaled to the variant this CPU
    runs (`fftconv.executors.direct_compiled.VARIANT_FACTOR`): what a new machine plans with
    while its own are measured (one object per settings' coefficients: every call planned
    while calibrating asks, and the plans' caches are keyed by it)."""
    from ..executors.direct_compiled import variant_factor

    factor = variant_factor()
    return dataclasses.replace(costs, compiled_mac=costs.compiled_mac * factor,
                               compiled_load=costs.compiled_load * factor,
                               compiled_load_l2=costs.compiled_load_l2 * factor)


def preload() -> None:
    """Read what planning needs from this process and machine once, at ``import fftconv``
    rather than in the first call (0.6 ms of it): the machine's facts, the settings and, when
    this CPU's coefficients are cached complete, those. The import starts nothing: a new
    machine's calibration (or a cache without the thread gains) is left to the first call
    that plans, and settings or a cache that cannot be read are reported by that call."""
    machine_facts()
    try:
        settings = config.get()
        if settings.costs_source != "tuned" and settings.calibrate != "off":
            _read_or_start(settings, preloading=True)  # one read; a missing file is None
    except (config.ConfigError, OSError):  # an unreadable file or folder: the first call says so
        return


def _read_or_start(settings: config.Config, preloading: bool = False) -> CostModel | None:
    """The cached coefficients (read once per process), or None after starting their
    measurement in the background (``preloading``: None, starting nothing and keeping
    nothing, unless the cache is complete)."""
    key = machine_key(settings.backend)
    with _lock:
        if key["id"] in _in_process:
            return _in_process[key["id"]]
        if preloading:
            with warnings.catch_warnings():  # the first call reads it again, and warns then
                warnings.simplefilter("ignore")
                loaded, gains_measured = _load(cache_path(key), key, settings.costs)
        else:
            loaded, gains_measured = _load(cache_path(key), key, settings.costs)
        if preloading and (loaded is None or not gains_measured):
            return None
        _in_process[key["id"]] = loaded
    if loaded is None:
        background.submit(("calibrate", key["id"]), functools.partial(_calibrate, key, settings.costs),
                          priority=0)
    elif not gains_measured:
        _measure_thread_gains_later(key, loaded)
    return loaded


def _calibrate(key: dict[str, object], base: CostModel) -> None:
    """Measure, cache and start using this CPU's coefficients (the background job): in the
    measuring process, which shares neither the GIL nor FFTW's planner with the user's calls
    (where it cannot run: the direct sums and copies, in this thread). What a second thread
    gains is a later job."""
    started = time.perf_counter()
    answer = measuring.ask({"op": "calibrate", "costs": as_dict(base)})
    if answer is None:
        measured = measure_cpu.measure(base, clock=time.thread_time, transforms=False)
    else:
        measured = from_dict(base, answer["costs"])
    _publish(key, measured, time.perf_counter() - started, gains_measured=False)
    _measure_thread_gains_later(key, measured)


def _measure_thread_gains_later(key: dict[str, object], costs: CostModel) -> None:
    if available_cores() >= 2:
        background.submit(("thread gains", key["id"]),
                          functools.partial(_measure_thread_gains, key, costs), priority=2)


def _measure_thread_gains(key: dict[str, object], costs: CostModel) -> None:
    """What a second thread gains, timed in the measuring process if the engine has been
    idle for `IDLE_SECONDS` and stays idle meanwhile (two threads' wall time means nothing
    while the user's calls share the cores); else left for a later process."""
    calls = background.quiet_for(IDLE_SECONDS)
    if calls is None:
        return
    started = time.perf_counter()
    answer = measuring.ask({"op": "thread_gains", "costs": as_dict(costs)})
    if answer is not None and background.calls() == calls:
        _publish(key, from_dict(costs, answer["costs"]), time.perf_counter() - started, gains_measured=True)


def _publish(key: dict[str, object], costs: CostModel, seconds: float, gains_measured: bool) -> None:
    """Cache ``costs`` for later processes and use them from now on."""
    _save(cache_path(key), key, costs, seconds, gains_measured)
    with _lock:
        _in_process[str(key["id"])] = costs
        _generation[0] += 1


def as_dict(costs: CostModel) -> dict[str, float]:
    """The coefficients as a JSON-ready dict."""
    return dataclasses.asdict(costs)


def from_dict(base: CostModel, values: dict) -> CostModel:
    """``base`` with the known coefficients of ``values``."""
    known = {f.name for f in dataclasses.fields(CostModel)}
    return dataclasses.replace(base, **{k: v for k, v in values.items() if k in known})


def generation() -> int:
    """Changes whenever the coefficients in use may have changed (plans made before are
    stale).

    Examples
    --------
    >>> generation() >= 0
    True
    """
    return _generation[0]


def wait(timeout: float | None = None) -> bool:
    """Block until a calibration under way (and any other background work) is done; True
    if it is. For benchmarks that must plan with this CPU's coefficients from the start.

    Examples
    --------
    >>> wait(60.0)
    True
    """
    return background.wait(timeout)


def machine_key(backend: str) -> dict[str, object]:
    """What calibrated coefficients depend on, and its digest (``id``): the CPU model, the
    compiled loops' variant and the versions of what runs the measured code. Read once per
    process and backend: it reads ``/proc/cpuinfo`` and package metadata."""
    return dict(_machine_key(backend))


@functools.cache
def machine_facts() -> dict[str, object]:
    """The backend-independent part of `machine_key`, read once per process (`fftconv`'s
    import reads it: 0.5 ms a first call would otherwise pay).

    Examples
    --------
    >>> machine_facts()["numpy"] == np.__version__
    True
    """
    from .. import installed
    from .._version import __version__
    from ..executors import direct_compiled

    loops = direct_compiled.loops()
    return {
        "cpu": _cpu_model(), "machine": platform.machine(), "cores": os.cpu_count(),
        "compiled": loops.variant() if loops is not None else None,
        "fftconv": __version__, "numpy": np.__version__, "scipy": installed.version("scipy", "scipy"),
        "python": platform.python_version(), "format": CACHE_VERSION,
    }


@functools.cache
def _machine_key(backend: str) -> dict[str, object]:
    from ..backends import get_backend

    key: dict[str, object] = {**machine_facts(), "backend": backend,
                              "backend_version": get_backend(backend).version()}
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


def _load(path: Path, key: dict[str, object], base: CostModel) -> tuple[CostModel | None, bool]:
    """The coefficients cached at ``path`` for ``key`` (None if none are usable), and whether
    they include measured thread gains."""
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):  # nothing cached there
        return None, False
    except OSError as exc:
        warnings.warn(f"cannot read fftconv's calibration {path} ({exc.strerror}); measuring again",
                      RuntimeWarning, stacklevel=5)
        return None, False
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
        return dataclasses.replace(base, **values), bool(data.get("thread_gains", False))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        warnings.warn(f"fftconv's calibration {path} is unusable ({exc}); measuring again",
                      RuntimeWarning, stacklevel=5)
        return None, False


def _save(path: Path, key: dict[str, object], costs: CostModel, seconds: float, gains_measured: bool) -> None:
    changed = {f.name: getattr(costs, f.name) for f in dataclasses.fields(CostModel)
               if getattr(costs, f.name) != getattr(DEFAULT_COSTS, f.name)}
    data = {"key": key, "costs": changed, "thread_gains": gains_measured, "seconds": round(seconds, 3),
            "measured": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    try:
        write_json(path, data)
    except OSError as exc:
        warnings.warn(f"cannot save fftconv's calibration to {path} ({exc.strerror}); it will be "
                      "measured again in the next process", RuntimeWarning, stacklevel=5)


def write_json(path: Path, data: dict) -> None:
    """Write ``data`` as JSON at ``path`` in one step (a file beside it, renamed over it: a
    process reading it meanwhile sees the old file or the new one); OSError where the folder
    cannot be written.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "cache" / "facts.json"
    >>> write_json(path, {"a": 1}); json.loads(path.read_text())
    {'a': 1}
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    tmp.replace(path)


def forget() -> None:
    """Drop the coefficients held in this process (the cache file stays)."""
    background.wait()
    with _lock:
        for key_id in _in_process:
            background.forget(("calibrate", key_id))
            background.forget(("thread gains", key_id))
        _in_process.clear()
        _generation[0] += 1
