"""The cost model: the machine coefficients every executor's estimate is made of.

Coefficients are per machine; these defaults are ``fftconv tune``'s fit on the project's
reference machine (AMD EPYC, 2 cores, 1 MiB L2 per core, 32 MiB L3, FFTW 3.3.5 from the
pyFFTW 0.15.1 wheel, numpy 2.4, scipy 1.17); run ``fftconv tune --write`` on another. The
thread gains are what that VM gives on average: its cache and memory are shared with other
tenants, and a second thread made whole calls 1.3-2x faster in quiet minutes (through FFTW's
threads or tiles shared by workers) and gained nothing in busy ones.
What drives time, and so what the model carries:

* FFT work grows as ``N (a log2 N + b)``, each prime factor's share of ``log2 N`` weighted
  by how fast FFTW's passes of that radix run; as a transform's spectrum outgrows L3
  (``cache_bytes``) passes go to memory and the cost per point rises ~2x; 3-D transforms
  cost more per point than 1-D and 2-D ones;
* single precision FFTs cost ~0.9 of double, complex data ~1.6x a real one;
* every tile pays a fixed Python/FFTW call overhead plus copies in and out, per point and
  per row (a 1-D tile is one contiguous run; a 2-D tile is many short strided ones);
* the direct sum costs per output and per multiply-add (scipy.ndimage's loop), per point and
  tap of every kernel row's pass over the extended image (short kernel rows), plus an
  overhead per NumPy call where it runs in blocks;
* a separable kernel's 1-D passes cost per multiply-add of their banded matrix products;
* the sliding-window einsum costs per output and per multiply-add, no call per tap;
* the compiled direct loop costs per multiply-add (float64 and int64 sums take 2-2.6x
  float32's: half the SIMD lanes), per extended point of each plane and per call.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

_LOG2 = {p: math.log2(p) for p in (2, 3, 5, 7)}


@dataclass(frozen=True)
class CostModel:
    """Machine coefficients of the planner's cost model (seconds)."""

    fft_point_log: float = 0.0354e-9  # per point per log2(points), real float64 in cache
    fft_point: float = 0.659e-9  # per point, whatever the length (passes over memory, twiddles)
    radix3: float = 3.3  # cost of a radix-3 pass per log2 unit, relative to radix 2 (fitted)
    radix5: float = 2.15
    radix7: float = 1.85
    fft_out_of_cache: float = 1.9  # factor once the spectrum exceeds cache_bytes
    fft_rank3_factor: float = 1.22  # 3-D transforms: two of their three passes stride through memory
    cache_bytes: int = 24 << 20  # where transforms spill to memory: the reference VM's 32 MiB L3, shared
    single_factor: float = 0.91  # float32 transforms relative to float64 (fitted)
    complex_factor: float = 1.57  # a complex transform relative to a real one of its length (fitted)
    longdouble_factor: float = 12.0  # long double: FFTW's scalar x87 code, 12-19x measured (not fitted)
    copy_point: float = 1.69e-9  # per 8 bytes of buffer: zero, copy in, multiply, copy out ...
    copy_point_cached: float = 0.25e-9  # ... when the operands fit in the cache
    copy_row: float = 34e-9  # per buffer row (last-axis run): strided copies of 2-D/3-D tiles
    tile_overhead: float = 2.7e-6  # per FFT tile: its Python and backend calls
    call_overhead: float = 29e-6  # per call of a spectral or separable executor: checks, buffers, dispatch
    direct_overhead: float = 12e-6  # ... of a direct one (measured: its smallest calls take 12-17 us)
    gemm_mac: float = 36e-12  # per multiply-add of a banded matrix product (separable passes), float64
    gemm_single: float = 0.55  # float32 matrix products relative to float64
    gemm_call: float = 25e-6  # per separable pass: BLAS thread limits, band matrix, edge blocks
    gemm_complex: float = 4.0  # a complex multiply-add is four real ones
    direct_point: float = 1.1e-9  # per output of scipy.ndimage's loop (its line buffers)
    direct_mac: float = 0.45e-9  # per multiply-add, float64 (scipy.ndimage's loop)
    direct_mac_1d: float = 0.13e-9  # per float64 multiply-add of np.convolve's dots (1-D, no batch) ...
    direct_out_1d: float = 12e-9  # ... and per output: one dot call (`fftconv.executors.direct_numpy`)
    direct_call: float = 2.5e-6  # per NumPy call of the shift-and-add sum
    row_point: float = 0.32e-9  # per extended-image point of one kernel row's np.correlate and its sum
    row_tap: float = 0.105e-9  # ... and per tap of that kernel row
    row_call: float = 1.2e-6  # per kernel row and block of rows (`fftconv.executors.direct_rows`)
    direct_generic: float = 1.76  # shift-and-add (integers, complex) vs scipy.ndimage's C loop
    compiled_mac: float = 6.8e-12  # per float32 multiply-add of the compiled direct loop (AVX-512 here)
    compiled_point: float = 0.151e-9  # ... per extended point of each plane it sums (row copies, stores)
    compiled_call: float = 2.46e-6  # ... per call of it (one per term: complex data make up to four)
    compiled_load: float = 2.6e-12  # ... per float32 value its row blocks load (one-row kernels: one per tap)
    compiled_load_l2: float = 4.3e-12  # ... per float32 value they reread from L2 (Intel Xeon: 1.7x a load)
    compiled_stream: float = 0.024e-9  # ... per byte of the planes it reads and writes beyond L2 (Intel Xeon)
    window_point: float = 11e-9  # per output of the sliding-window einsum (`direct_windows`), float64
    window_mac: float = 0.38e-9  # ... and per multiply-add, zero extension included
    thread_efficiency: float = 0.45  # gain of each extra thread on its own tiles, in the cache
    thread_efficiency_out_of_cache: float = 0.3  # ... once their buffers outgrow the cache
    thread_dispatch: float = 100e-6  # helper threads wake late (~20 us idle, more while the GIL is busy)
    fft_thread_efficiency: float = 0.55  # gain of each extra FFTW thread in a multi-dimensional transform
    fft_thread_efficiency_1d: float = 0.5  # ... in a one-dimensional transform

    def fft_seconds(
        self, points: int, itemsize: int, real: bool, precision: str, batch: int = 1, rank: int = 1
    ) -> float:
        """One forward or inverse transform of ``batch`` arrays of ``points`` points each, over
        ``rank`` axes."""
        if points <= 1:
            return 0.0
        cost = batch * points * (self.fft_point_log * self.radix_log2(points) + self.fft_point)
        if rank >= 3:
            cost *= self.fft_rank3_factor
        cost *= self.cache_factor(batch * points * itemsize * (1 if real else 2))
        if not real:
            cost *= self.complex_factor
        if precision == "single":
            cost *= self.single_factor
        elif precision == "long":
            cost *= self.longdouble_factor
        return cost

    def radix_log2(self, points: int) -> float:
        """``log2(points)`` with each prime factor's share weighted by how much slower FFTW's
        passes of that radix run than radix 2 (measured: 3456 = 2⁷·3³ costs 1.1x the plain
        N log N of a power of two of its size)."""
        return _radix_log2(int(points), self.radix3, self.radix5, self.radix7)

    def copy_seconds(self, points: float, itemsize: int, operand_bytes: float) -> float:
        """Copies in and out of transform buffers, the zeroing and the spectrum product for
        ``points`` buffer points: cheap while the operands (``operand_bytes``: input and output)
        stay in the cache, bandwidth-bound once they stream from memory."""
        ramp = self.memory_ramp(operand_bytes)
        per_point = self.copy_point_cached + (self.copy_point - self.copy_point_cached) * ramp
        return per_point * points * itemsize / 8

    def memory_ramp(self, nbytes: float) -> float:
        """0 for data well inside the cache, 1 beyond it (`cache_factor`'s ramp)."""
        low = self.cache_bytes / 4
        return 0.0 if nbytes <= low else min(math.log2(nbytes / low) / 2, 1.0)

    def cache_factor(self, nbytes: float) -> float:
        """1 for transforms well inside the cache, ``fft_out_of_cache`` beyond it, and a ramp
        over the two octaves below ``cache_bytes`` (the shared L3 fills before it is full)."""
        return 1.0 + (self.fft_out_of_cache - 1.0) * self.memory_ramp(nbytes)

    def cache_factors(self, nbytes: np.ndarray) -> np.ndarray:
        """`cache_factor` of each of an array of byte counts (a layout search prices thousands
        of transform sizes at once)."""
        low = self.cache_bytes / 4
        ramp = np.minimum(np.log2(np.maximum(nbytes, low) / low) / 2, 1.0)
        return 1.0 + (self.fft_out_of_cache - 1.0) * ramp

    def parallel_tiles(self, seconds: float, workers: int, tiles: int, tile_bytes: float) -> float:
        """Seconds of ``tiles`` equal tiles (``seconds`` in all) claimed one at a time by
        ``workers`` threads, the calling one included: the busiest worker's share, plus the
        hand-off."""
        if workers <= 1 or tiles <= 1:
            return seconds
        used = min(workers, tiles)
        busiest = busiest_share(tiles, used)
        # a helper that wakes late leaves its tiles to the others: its delay is shared, and at
        # worst the calling thread does every tile itself
        shared = self.parallel_seconds(seconds * busiest + self.thread_dispatch, used, used * tile_bytes)
        return min(shared, seconds + self.thread_dispatch / used)

    def parallel_seconds(self, seconds: float, threads: int, nbytes: float) -> float:
        """Seconds of work on ``nbytes`` shared by ``threads`` threads that each run their own
        part (tiles, BLAS blocks): memory-bound work (beyond the cache) gains less."""
        if threads <= 1:
            return seconds
        ramp = self.memory_ramp(nbytes)
        low, high = self.thread_efficiency_out_of_cache, self.thread_efficiency
        return seconds / (1 + (threads - 1) * (high + (low - high) * ramp))

    def threaded_fft(self, seconds: float, threads: int, rank: int) -> float:
        """Seconds of a transform that FFTW splits over ``threads``: on an idle machine a
        multi-dimensional one nearly halves on two threads (1.8-2.1x on the reference VM, in
        or out of the cache), a one-dimensional one gains ~1.5x; on a busy one, less."""
        if threads <= 1:
            return seconds
        efficiency = self.fft_thread_efficiency if rank > 1 else self.fft_thread_efficiency_1d
        return seconds / (1 + (threads - 1) * efficiency)


@functools.lru_cache(maxsize=16384)
def _radix_log2(points: int, radix3: float, radix5: float, radix7: float) -> float:
    """`CostModel.radix_log2`, remembered: a layout search asks for the same lengths again
    and again (a 2-D search prices ~80 layouts of ~30 lengths)."""
    total = 0.0
    for p, weight in ((2, 1.0), (3, radix3), (5, radix5), (7, radix7)):
        while points % p == 0:
            points //= p
            total += weight * _LOG2[p]
    return total + math.log2(points)  # any other factor: unweighted


def precision(dtype) -> str:
    """'single', 'double', 'long' or 'object' (Python numbers): the precision class costs
    depend on (complex by its parts).

    Examples
    --------
    >>> precision("f4"), precision("c16"), precision(object)
    ('single', 'double', 'object')
    """
    if np.dtype(dtype).kind == "O":
        return "object"
    base = np.dtype(dtype).type(0).real.dtype
    if base == np.float32:
        return "single"
    if base == np.longdouble and np.finfo(np.longdouble).nmant > 52:
        return "long"
    return "double"


def busiest_share(tiles: int, workers: int) -> float:
    """The busiest of ``workers`` threads' tiles over an even share of ``tiles``.

    Examples
    --------
    >>> busiest_share(3, 2), busiest_share(4, 2)
    (1.3333333333333333, 1.0)
    """
    return math.ceil(tiles / workers) / (tiles / workers)


DEFAULT_COSTS = CostModel()
