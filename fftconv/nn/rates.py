"""What this machine's BLAS does per multiply-add: measured once per machine, in the
background (the measuring process, ~50-75 ms of its time), and kept beside the calibrated
cost coefficients (`fftconv.planning.calibrate`) for the next processes.

The layer planner prices its direct path (one matrix product per block of outputs) and the
channel sums of its spectral path (one small complex product per frequency) with these
rates: they depend on the BLAS build, the CPU and the thread count far more than any
coefficient fitted elsewhere would capture, so each machine's are measured. Until they are
(a machine's first process; ``calibrate = "off"``: always), layers are priced with the
built-in rates (`BUILT_IN`), as the core plans with its built-in coefficients while this
CPU is calibrated: a new machine's first layer call had measured them inside the call (74
of its 82 ms; a fresh process' first `conv2d` of 8x3x64x64 by 16x3x5x5, AMD EPYC Zen 4). The
FFT and copy costs come from the core's calibrated cost model.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import background, config
from ..backends import measuring
from ..backends.threads import blas_threads
from ..planning import calibrate


@dataclass(frozen=True)
class BlasRates:
    """Seconds per real multiply-add of a large matrix product (``mac``), per complex one of
    a stack of small products (``complex_mac``), and per item of such a stack (``item``)."""

    mac: float
    complex_mac: float
    item: float
    #: False for the built-in rates (`BUILT_IN`), priced with while the machine's are measured
    measured: bool = dataclasses.field(default=True, compare=False)


#: The rates of one thread that layers are priced with until the machine's are measured: AMD
#: EPYC Zen 4's with NumPy 2.4.6's OpenBLAS (single: 2.2e-11 s a multiply-add of a large
#: product, 1.3-1.4e-10 a complex one of the stacked small products, 2.6-3.2e-8 an item; double
#: 3.9-4.1e-11, 2.9e-10, 2.8-3.2e-8). On ``n`` threads (`built_in`) the large products' rate is
#: divided by ``n`` and the stacked products' by ``n ** 0.4`` (two threads measured there: 1.1e-11
#: and 1.0e-10 single, 2.0e-11 and 2.3e-10 double).
BUILT_IN = {
    "single": BlasRates(2.2e-11, 1.35e-10, 2.8e-8, measured=False),
    "double": BlasRates(4.0e-11, 2.9e-10, 2.8e-8, measured=False),
}


def built_in(precision: str, threads: int) -> BlasRates:
    """The built-in rates (`BUILT_IN`) for 'single' or 'double' precision on ``threads`` threads.

    Examples
    --------
    >>> built_in("double", 2).mac == BUILT_IN["double"].mac / 2
    True
    """
    one = BUILT_IN[precision]
    return dataclasses.replace(one, mac=one.mac / threads, complex_mac=one.complex_mac / threads ** 0.4)


def _best(func, repeats: int = 3, clock=time.perf_counter) -> float:
    func()  # warm-up: BLAS thread start, page faults
    best = float("inf")
    for _ in range(repeats):
        start = clock()
        func()
        best = min(best, clock() - start)
    return best


_lock = threading.Lock()
#: This process' rates (read from the machine's cache, or measured), by (precision, threads).
_known: dict[tuple[str, int], BlasRates] = {}
#: The (machine, precision, threads) whose cache lacked them: measured in the background once.
_asked: set[tuple[str, str, int]] = set()
_generation = [0]


def generation() -> int:
    """Changes whenever a machine's measured rates replace the built-in ones (layer plans
    priced before are stale).

    Examples
    --------
    >>> generation() >= 0
    True
    """
    return _generation[0]


def measure(precision: str, threads: int, clock=time.perf_counter) -> BlasRates:
    """This machine's `BlasRates` timed now (the fastest of three runs on ``clock``; the
    measuring process times one thread in CPU time).

    Examples
    --------
    >>> r = measure("double", 1)
    >>> 0 < r.mac < 1e-6 and r.complex_mac >= r.mac and r.measured
    True
    """
    real = np.float32 if precision == "single" else np.float64
    cplx = np.complex64 if precision == "single" else np.complex128
    # constant operands: a product's time does not depend on its (normal) values, and drawing
    # 2.6 M random numbers took 80 of this measure's 180 ms (when it ran inside a layer's first call)
    a = np.full((128, 576), 0.5, real)
    b = np.full((576, 2048), 0.25, real)
    big = np.full((512, 16, 64), 0.5 + 0.25j, cplx)
    mix = np.full((512, 64, 64), 0.25 - 0.5j, cplx)
    tiny = np.full((8192, 1, 2), 0.5 + 0.25j, cplx)
    tiny_w = np.full((8192, 2, 2), 0.25 - 0.5j, cplx)
    with blas_threads(threads):
        mac = _best(lambda: a @ b, clock=clock) / (128 * 576 * 2048)
        stacked = _best(lambda: np.matmul(big, mix), clock=clock)
        small = _best(lambda: np.matmul(tiny, tiny_w), clock=clock)
    item = max(small / 8192, 1e-9)  # the tiny products are nearly all overhead
    complex_mac = max((stacked - 512 * item) / (512 * 16 * 64 * 64), mac)
    return BlasRates(mac, complex_mac, item)


def blas_rates(precision: str, threads: int) -> BlasRates:
    """This machine's `BlasRates` for 'single' or 'double' precision on ``threads`` threads:
    read once from the machine's cache; where it has none, the built-in ones (`built_in`,
    ``measured`` False) while they are measured in the background (`_measure_later`) and
    cached. With ``calibrate = "off"``, the built-in ones: nothing is read, measured or kept.

    Examples
    --------
    >>> r = blas_rates("double", 1)
    >>> 0 < r.mac < 1e-6 and r.complex_mac >= r.mac
    True
    """
    with _lock:
        found = _known.get((precision, threads))
        if found is not None:
            return found
        settings = config.get()
        if settings.calibrate == "off":
            return built_in(precision, threads)
        key = calibrate.machine_key(settings.backend)  # the CPU, numpy (its BLAS) and versions
        asked = (str(key["id"]), precision, threads)
        if asked not in _asked:
            cached = _read(cache_path(key), key).get(_name(precision, threads))
            if cached is not None:
                _known[(precision, threads)] = cached
                return cached
            _asked.add(asked)
            background.submit(("blas rates", *asked),
                              functools.partial(_measure_later, key, precision, threads))
        return built_in(precision, threads)


def _name(precision: str, threads: int) -> str:
    return f"{precision} x{threads}"


def _measure_later(key: dict[str, object], precision: str, threads: int) -> None:
    """Measure, cache and start using the rates (the background job): one thread's in the
    measuring process (in CPU time: the user's calls do not stretch it), or in this thread
    where that process cannot run; several threads' only once the engine has been idle for
    `calibrate.IDLE_SECONDS` and stays idle (their wall time means nothing while the user's
    calls share the cores; a busy process leaves them to a later one)."""
    calls = background.quiet_for(calibrate.IDLE_SECONDS) if threads > 1 else background.calls()
    if calls is None:
        return
    answer = measuring.ask({"op": "blas_rates", "precision": precision, "threads": threads})
    if answer is not None and "rates" in answer:
        rates = BlasRates(**{f: float(answer["rates"][f]) for f in ("mac", "complex_mac", "item")})
    else:
        rates = measure(precision, threads)
    if threads > 1 and background.calls() != calls:
        return
    path = cache_path(key)
    with _lock:
        _write(path, key, {**_read(path, key), _name(precision, threads): rates})
        _known[(precision, threads)] = rates
        _generation[0] += 1


def forget() -> None:
    """Forget the rates this process read or measured, as a new process would not know them
    (tests; the machine's cache stays)."""
    with _lock:
        for asked in _asked:
            background.forget(("blas rates", *asked))
        _known.clear()
        _asked.clear()
        _generation[0] += 1


def _forget_asked_in_child() -> None:
    """A forked child has no background job: what its parent asked for is asked again."""
    global _lock
    _lock = threading.Lock()  # another thread of the parent may have held it at the fork
    _asked.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_asked_in_child)


def cache_path(key: dict[str, object]) -> Path:
    """Where the rates measured on the machine of ``key`` are kept: beside its calibration.

    Examples
    --------
    >>> key = calibrate.machine_key("fftw")
    >>> cache_path(key).parent == calibrate.cache_path(key).parent
    True
    """
    return calibrate.cache_path(key).with_name(f"blas-{key['id']}.json")


def _read(path: Path, key: dict[str, object]) -> dict[str, BlasRates]:
    """The rates kept at ``path`` for ``key`` ({} where there are none, or none usable: they
    are measured again, as a calibration that cannot be read is)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("key") != key:
            return {}
        fields = ("mac", "complex_mac", "item")
        return {name: BlasRates(**{f: float(v[f]) for f in fields}) for name, v in data["rates"].items()
                if all(isinstance(v.get(f), (int, float)) and v[f] > 0 for f in fields)}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _write(path: Path, key: dict[str, object], rates: dict[str, BlasRates]) -> None:
    """Keep ``rates`` at ``path`` (silently not, where the folder cannot be written: they are
    measured again by the next process)."""
    data = {"key": key, "rates": {name: dataclasses.asdict(r) for name, r in rates.items()}}
    try:
        calibrate.write_json(path, data)
    except OSError:
        pass
