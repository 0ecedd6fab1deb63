"""What this machine's BLAS does per multiply-add: measured once per machine (about 50 ms),
kept beside the calibrated cost coefficients (`fftconv.planning.calibrate`) for the next
processes, and once per process where calibration is off.

The layer planner prices its direct path (one matrix product per block of outputs) and the
channel sums of its spectral path (one small complex product per frequency) with these
rates: they depend on the BLAS build, the CPU and the thread count far more than any
coefficient fitted elsewhere would capture, so they are measured here, never assumed. The
FFT and copy costs come from the core's calibrated cost model.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import config
from ..backends.threads import blas_threads
from ..planning import calibrate


@dataclass(frozen=True)
class BlasRates:
    """Seconds per real multiply-add of a large matrix product (``mac``), per complex one of
    a stack of small products (``complex_mac``), and per item of such a stack (``item``)."""

    mac: float
    complex_mac: float
    item: float


def _best(func, repeats: int = 3) -> float:
    func()  # warm-up: BLAS thread start, page faults
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


_lock = threading.Lock()


def _measure(precision: str, threads: int) -> BlasRates:
    real = np.float32 if precision == "single" else np.float64
    cplx = np.complex64 if precision == "single" else np.complex128
    # constant operands: a product's time does not depend on its (normal) values, and drawing
    # 2.6 M random numbers took 80 of this measure's 180 ms, inside a layer's first call
    a = np.full((128, 576), 0.5, real)
    b = np.full((576, 2048), 0.25, real)
    big = np.full((512, 16, 64), 0.5 + 0.25j, cplx)
    mix = np.full((512, 64, 64), 0.25 - 0.5j, cplx)
    tiny = np.full((8192, 1, 2), 0.5 + 0.25j, cplx)
    tiny_w = np.full((8192, 2, 2), 0.25 - 0.5j, cplx)
    with blas_threads(threads):
        mac = _best(lambda: a @ b) / (128 * 576 * 2048)
        stacked = _best(lambda: np.matmul(big, mix))
        small = _best(lambda: np.matmul(tiny, tiny_w))
    item = max(small / 8192, 1e-9)  # the tiny products are nearly all overhead
    complex_mac = max((stacked - 512 * item) / (512 * 16 * 64 * 64), mac)
    return BlasRates(mac, complex_mac, item)


def blas_rates(precision: str, threads: int) -> BlasRates:
    """This machine's `BlasRates` for 'single' or 'double' precision on ``threads`` threads:
    read from the machine's cache, or measured at the first call (and cached), then
    remembered by the process.

    Examples
    --------
    >>> r = blas_rates("double", 1)
    >>> 0 < r.mac < 1e-6 and r.complex_mac >= r.mac
    True
    """
    with _lock:
        return _rates(precision, threads)


@functools.cache
def _rates(precision: str, threads: int) -> BlasRates:
    settings = config.get()
    if settings.calibrate == "off":  # nothing read or written: measured in this process
        return _measure(precision, threads)
    key = calibrate.machine_key(settings.backend)  # the CPU, numpy (its BLAS) and versions
    path = cache_path(key)
    name = f"{precision} x{threads}"
    known = _read(path, key)
    if name in known:
        return known[name]
    rates = _measure(precision, threads)
    _write(path, key, {**known, name: rates})
    return rates


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
