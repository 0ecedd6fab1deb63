"""The cost model: estimated seconds for the direct sum and for FFT layouts.

Coefficients are per machine; these defaults are ``fftconv tune``'s fit on the project's
reference machine (AMD EPYC, 2 cores, 1 MiB L2 per core, 32 MiB L3, FFTW 3.3.5 from the
pyFFTW 0.15.1 wheel, numpy 2.4, scipy 1.17); run ``fftconv tune --write`` on another.
What drives time, and so what the model carries:

* FFT work grows as ``N (a log2 N + b)``; as a transform's spectrum outgrows L3
  (``cache_bytes``) passes go to memory and the cost per point rises ~2x;
* single precision FFTs cost ~0.9 of double, complex data ~1.6x a real one;
* every tile pays a fixed Python/FFTW call overhead plus copies in and out;
* the direct sum costs per multiply-add, plus an overhead per (tap, block) NumPy call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class CostModel:
    """Machine coefficients of the planner's cost model (seconds)."""

    fft_point_log: float = 0.042e-9  # per point per log2(points), real float64 in cache
    fft_point: float = 0.55e-9  # per point, whatever the length (passes over memory, twiddles)
    fft_out_of_cache: float = 2.2  # factor once the spectrum exceeds cache_bytes
    cache_bytes: int = 24 << 20
    single_factor: float = 0.89
    complex_factor: float = 1.62
    longdouble_factor: float = 12.0
    copy_point: float = 1.68e-9  # per 8 bytes of buffer: zero, copy in, multiply, copy out
    tile_overhead: float = 2.3e-6
    call_overhead: float = 33e-6
    direct_mac: float = 0.37e-9  # per multiply-add, float64 (scipy.ndimage's loop)
    direct_mac_1d: float = 0.16e-9  # per multiply-add of np.convolve (1-D, no batch)
    direct_call: float = 2.5e-6  # per NumPy call of the shift-and-add sum
    direct_generic: float = 2.09  # shift-and-add (integers, complex) vs scipy.ndimage's C loop
    thread_efficiency: float = 0.8

    def fft_seconds(self, points: int, itemsize: int, real: bool, precision: str) -> float:
        """One forward or inverse transform of ``points`` points."""
        if points <= 1:
            return 0.0
        cost = points * (self.fft_point_log * math.log2(points) + self.fft_point)
        cost *= self.cache_factor(points * itemsize * (1 if real else 2))
        if not real:
            cost *= self.complex_factor
        if precision == "single":
            cost *= self.single_factor
        elif precision == "long":
            cost *= self.longdouble_factor
        return cost

    def cache_factor(self, nbytes: float) -> float:
        """1 for transforms well inside the cache, ``fft_out_of_cache`` beyond it, and a ramp
        over the two octaves below ``cache_bytes`` (the shared L3 fills before it is full)."""
        low = self.cache_bytes / 4
        if nbytes <= low:
            return 1.0
        ramp = min(math.log2(nbytes / low) / 2, 1.0)
        return 1.0 + (self.fft_out_of_cache - 1.0) * ramp

    def parallel(self, seconds: float, threads: int, units: int) -> float:
        """Seconds of ``units`` independent pieces of work shared by ``threads``."""
        if threads <= 1 or units <= 1:
            return seconds
        used = min(threads, units)
        return seconds / (1 + (used - 1) * self.thread_efficiency)


DEFAULT_COSTS = CostModel()
