"""The planner: a pure function from shapes, dtypes and mode to a frozen `Plan`.

For every candidate method it estimates seconds with the machine's `CostModel` and keeps
the cheapest (or the one the caller forces). Candidates:

* ``direct``: the sliding sum; cost ~ multiply-adds actually performed;
* ``fft``: one whole-array transform at the shortest fast length the mode allows;
* ``tiled``: overlap-save tiles, the tile shape searched over fast lengths per axis;
* ``separable``: for a rank-1 kernel (an outer product of 1-D kernels, detected from its
  values by the engine), one 1-D pass per axis as banded matrix products.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType

import numpy as np

from ._costs import DEFAULT_COSTS, CostModel
from ._direct_rows import extended_points, rows_apply, rows_per_block
from ._fftlen import fast_lengths_between, next_fast_length
from ._geometry import Window, min_circular_length
from ._separable import block_length
from ._threads import kernel_fft_threads, split_threads

#: Every method name the planner knows, 'auto' first.
METHODS: tuple[str, ...] = ("auto", "direct", "fft", "tiled", "separable")
SPECTRAL_METHODS: tuple[str, ...] = ("fft", "tiled")

class MemoryLimitError(MemoryError):
    """The memory limit (``[memory] limit``) is too small for any way of doing the work."""


#: Tile lengths tried per axis when searching overlap-save layouts.
MAX_CANDIDATES_PER_AXIS = 14


@dataclass(frozen=True)
class Plan:
    """How one convolution will run, and why.

    Attributes
    ----------
    method : str
        ``'direct'``, ``'fft'``, ``'tiled'`` or ``'separable'``.
    fft_shape : tuple of int or None
        FFT (tile) lengths of the convolved axes for spectral methods.
    tiled_axes : tuple of bool or None
        Which convolved axes are cut into overlap-save tiles.
    tiles : int
        Number of tiles (1 for a whole-array FFT, 0 for direct).
    compute_dtype : numpy.dtype
        dtype the executor computes in.
    threads : int
        Threads the executor may use.
    estimates : dict
        Estimated seconds of every candidate method.
    """

    method: str
    shape1: tuple[int, ...]
    shape2: tuple[int, ...]
    mode_windows: tuple[Window, ...]
    batch: tuple[int, ...]
    fft_shape: tuple[int, ...] | None
    tiled_axes: tuple[bool, ...] | None
    tiles: int
    compute_dtype: np.dtype
    threads: int
    estimates: Mapping[str, float] = field(compare=False, hash=False)
    reason: str = ""

    def explain(self) -> str:
        """A plain-words account of the choice.

        Examples
        --------
        >>> import fftconv
        >>> print(fftconv.plan((512, 512), (3, 3), mode="same").explain())  # doctest: +ELLIPSIS
        convolve (512, 512) with (3, 3), ...
        """
        lines = [
            f"convolve {self.shape1} with {self.shape2}, "
            f"output {tuple(w.length for w in self.mode_windows)}"
            + (f" for each of {int(np.prod(self.batch))} batch items" if self.batch else "")
            + f", computing in {self.compute_dtype} on {self.threads} thread(s)",
            f"chosen: {self.method} ({self.reason})",
        ]
        if self.method in SPECTRAL_METHODS:
            lines.append(f"FFT shape {self.fft_shape}, {self.tiles} tile(s)")
        for name, seconds in sorted(self.estimates.items(), key=lambda kv: kv[1]):
            lines.append(f"  {name:>6}: estimated {_format_seconds(seconds)}")
        return "\n".join(lines)


def _format_seconds(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.0f} us"


def _precision(dtype: np.dtype) -> str:
    base = np.dtype(dtype).type(0).real.dtype
    if base == np.float32:
        return "single"
    if base == np.longdouble and np.finfo(np.longdouble).nmant > 52:
        return "long"
    return "double"


def direct_macs(shape1, shape2, windows) -> int:
    """Multiply-adds of the direct sum (products with an existing input sample only).

    Examples
    --------
    >>> from fftconv._geometry import output_window
    >>> direct_macs((4,), (2,), [output_window(4, 2, "full")])
    8
    """
    total = 1
    for n1, n2, w in zip(shape1, shape2, windows):
        per_axis = 0
        for j in range(n2):
            lo = max(0, j - w.start)
            hi = min(w.length, j - w.start + n1)
            per_axis += max(0, hi - lo)
        total *= per_axis
    return total


def _direct_seconds(shape1, shape2, windows, batch_points, dtype, costs: CostModel) -> float:
    """Seconds of the direct executor: np.convolve (1-D), kernel rows over the flattened image
    (real floats, short kernel rows), scipy.ndimage's loop (other real floats) or the blocked
    shift-and-add (integers, complex, long double)."""
    dtype = np.dtype(dtype)
    macs = direct_macs(shape1, shape2, windows) * batch_points
    if len(shape1) == 1 and batch_points == 1 and dtype.kind in "fc":
        factor = 4.0 if dtype.kind == "c" else 1.0
        return costs.call_overhead + macs * costs.direct_mac_1d * factor
    if rows_apply(shape2, (batch_points,), dtype):
        return costs.call_overhead + _rows_seconds(shape2, windows, dtype, costs)
    # scipy.ndimage sums float32 in double, so single precision saves nothing there
    factor = {"single": 1.0, "double": 1.0, "long": 4.0}[_precision(dtype)]
    if dtype.kind == "c":
        factor *= 3.0
    out_points = int(np.prod([w.length for w in windows])) * batch_points
    seconds = costs.call_overhead + (macs * costs.direct_mac + out_points * costs.direct_point) * factor
    if dtype not in (np.float32, np.float64):  # no compiled path: per-tap NumPy calls
        blocks = max(1, out_points * dtype.itemsize >> 18)
        seconds += macs * costs.direct_mac * factor * (costs.direct_generic - 1)
        seconds += 2 * int(np.prod(shape2)) * blocks * costs.direct_call
    return seconds


def rows_work(shape2, windows, dtype) -> tuple[int, int]:
    """Work of `fftconv._direct_rows`: (points its kernel rows' passes run over, kernel rows
    times blocks: the rounds of NumPy calls).

    Examples
    --------
    >>> from fftconv._geometry import output_window
    >>> rows_work((3, 3), [output_window(64, 3, "same")] * 2, "f8")
    (13068, 3)
    """
    kernel_rows = math.prod(shape2[:-1])
    extended = extended_points(shape2, windows)
    row_points = extended // (windows[0].length + shape2[0] - 1)
    blocks = -(-windows[0].length // rows_per_block(row_points, np.dtype(dtype).itemsize))
    return kernel_rows * extended, kernel_rows * blocks


def _rows_seconds(shape2, windows, dtype, costs: CostModel) -> float:
    points, rounds = rows_work(shape2, windows, dtype)
    return points * (costs.row_point + costs.row_tap * shape2[-1]) + rounds * costs.row_call


def operand_bytes(shape1, windows, batch_points: int, dtype) -> int:
    """Bytes of the input and output arrays (what decides whether copies hit the cache)."""
    points = int(np.prod(shape1)) + int(np.prod([w.length for w in windows]))
    return points * batch_points * np.dtype(dtype).itemsize


def _spectral_seconds(
    fft_shape, tiles, batch_points, dtype, real, threads, costs: CostModel, operands: int
) -> float:
    """Estimated seconds of a spectral layout; ``operands`` = `operand_bytes` of the problem."""
    points = int(np.prod(fft_shape))
    itemsize = np.dtype(dtype).itemsize
    precision = _precision(dtype)
    transforms = 2 * costs.fft_seconds(points, itemsize, real, precision, batch_points, len(fft_shape))
    rest = (  # NumPy's part of a tile: always on the thread that runs the tile
        costs.copy_seconds(points * batch_points, itemsize, operands)
        + costs.copy_row * copied_rows(fft_shape) * batch_points
        + costs.tile_overhead
    )
    spectrum_bytes = points * itemsize * (1 if real else 2)  # one transform of one batch item
    workers, inner = split_threads(tiles, points * batch_points, threads)
    if workers > 1:
        work = costs.parallel_tiles((transforms + rest) * tiles, workers, tiles,
                                    spectrum_bytes * batch_points)
    else:  # FFTW's threads inside each transform; a batch of transforms splits like a dimension
        rank = len(fft_shape) + (batch_points > 1)
        work = tiles * (costs.threaded_fft(transforms, inner, rank) + rest)
    kernel = costs.threaded_fft(costs.fft_seconds(points, itemsize, real, precision, 1, len(fft_shape)),
                                kernel_fft_threads(fft_shape, threads), len(fft_shape))
    kernel += costs.copy_seconds(points, itemsize, 0)
    return costs.call_overhead + work + kernel


def copied_rows(fft_shape) -> int:
    """Rows (last-axis runs) a tile's strided copies handle, counted once per strided axis:
    a 3-D tile's copies stride over planes and rows, ~2x a 2-D tile's cost per row.

    Examples
    --------
    >>> copied_rows((64,)), copied_rows((32, 64)), copied_rows((16, 32, 64))
    (1, 32, 1024)
    """
    return math.prod(fft_shape[:-1]) * max(1, len(fft_shape) - 1)


def _separable_seconds(shape1, shape2, windows, batch_points, dtype, threads, costs: CostModel) -> float:
    """Seconds of one banded-matrix pass per axis (see `fftconv._separable`), in axis order:
    each pass's multiply-adds are its outputs times the band width ``b + k - 1``."""
    dtype = np.dtype(dtype)
    per_mac = costs.gemm_mac * (costs.gemm_single if _precision(dtype) == "single" else 1.0)
    per_mac *= costs.gemm_complex if dtype.kind == "c" else 1.0
    shape = list(shape1)
    seconds = costs.call_overhead
    for i, (k, w) in enumerate(zip(shape2, windows)):
        last = i == len(shape) - 1
        b = block_length(last)
        shape[i] = w.length
        points = math.prod(shape) * batch_points
        # each pass streams its input and writes a new array: memory-bound copies, plus the products
        work = points * (b + k - 1) * per_mac + costs.copy_seconds(points, dtype.itemsize,
                                                                   2 * points * dtype.itemsize)
        planes = 1 if last else math.prod(shape[:i]) * batch_points
        products = -(-w.length // b) if last else planes
        # blocks whose band reaches past the edges run one by one on a zero-padded copy
        edges = (2 * -(-(k - 1) // b) + 1) * planes
        seconds += costs.parallel_seconds(work, threads, points * dtype.itemsize)
        seconds += (products + 4 * edges) * costs.direct_call
        seconds += costs.gemm_call
    return seconds


def spectral_workspace(fft_shape, tiles: int, batch_points: int, dtype, real: bool, threads: int) -> int:
    """Bytes of FFT buffers a spectral layout keeps: one per worker thread, one for the kernel.

    Examples
    --------
    >>> spectral_workspace((64, 64), 1, 1, "f8", True, 1)  # two 64 x 66 real buffers
    67584
    """
    shape = list(fft_shape)
    if real:
        shape[-1] = 2 * (shape[-1] // 2 + 1)
    buffer = math.prod(shape) * np.dtype(dtype).itemsize * batch_points
    workers, _ = split_threads(tiles, math.prod(fft_shape) * batch_points, threads)
    return buffer * (workers + 1)


def _tile_candidates(n2: int, window: Window, whole: int, even: bool) -> list[int]:
    lo = max(2 * n2, 16)
    hi = min(whole, max(lo, 4 * window.length))
    lengths = [n for n in fast_lengths_between(lo, hi, even) if n < whole]
    if len(lengths) > MAX_CANDIDATES_PER_AXIS:
        step = len(lengths) / MAX_CANDIDATES_PER_AXIS
        lengths = [lengths[int(i * step)] for i in range(MAX_CANDIDATES_PER_AXIS)]
    return lengths


def _refuse(needs: dict[str, int], limit: int | None, shape1, shape2) -> None:
    smallest = min(needs.values())
    raise MemoryLimitError(
        f"the memory limit of {limit / 2**20:.1f} MiB is too small to convolve {tuple(shape1)} with "
        f"{tuple(shape2)} by {' or '.join(sorted(needs))}: the smallest layout needs "
        f"{smallest / 2**20:.1f} MiB of buffers; raise [memory] limit (or FFTCONV_MEMORY_LIMIT)"
    )


def whole_fft_shape(shape1, shape2, windows, real: bool) -> tuple[int, ...]:
    """Fast FFT lengths for a whole-array transform of every convolved axis.

    Examples
    --------
    >>> from fftconv._geometry import output_window
    >>> whole_fft_shape((4096,), (31,), [output_window(4096, 31, "same")], True)
    (4200,)
    """
    rank = len(shape1)
    return tuple(
        next_fast_length(min_circular_length(n1, n2, w), even=real and i == rank - 1)
        for i, (n1, n2, w) in enumerate(zip(shape1, shape2, windows))
    )


@lru_cache(maxsize=4096)
def make_plan(
    shape1: tuple[int, ...],
    shape2: tuple[int, ...],
    windows: tuple[Window, ...],
    batch: tuple[int, ...],
    compute_dtype: np.dtype,
    threads: int = 1,
    method: str = "auto",
    allowed: tuple[str, ...] = ("direct", "fft", "tiled"),
    costs: CostModel = DEFAULT_COSTS,
    separable: bool = False,
    memory_limit: int | None = None,
) -> Plan:
    """Choose how to convolve arrays with convolved shapes ``shape1`` and ``shape2``.

    ``windows`` are the mode's output windows per convolved axis, ``batch`` the broadcast
    shape of the other axes. ``method`` forces a method; ``allowed`` limits what 'auto' picks;
    ``separable`` says the kernel is rank-1 (the engine checks its values). Layouts whose
    buffers (`spectral_workspace`) exceed ``memory_limit`` bytes are not considered; if no
    method fits, `MemoryLimitError` says what the smallest one needs.

    Examples
    --------
    >>> import numpy as np
    >>> from fftconv._geometry import output_window
    >>> w = tuple(output_window(4096, 31, "same") for _ in range(2))
    >>> make_plan((4096, 4096), (31, 31), w, (), np.dtype(np.float64)).method
    'tiled'
    """
    compute_dtype = np.dtype(compute_dtype)
    real = compute_dtype.kind != "c"
    batch_points = int(np.prod(batch)) if batch else 1
    estimates: dict[str, float] = {}
    layouts: dict[str, tuple[tuple[int, ...], tuple[bool, ...], int]] = {}

    if "direct" in allowed or method == "direct":
        estimates["direct"] = _direct_seconds(shape1, shape2, windows, batch_points, compute_dtype, costs)
    needs: dict[str, int] = {}  # the smallest workspace of every method that did not fit

    def fits(name: str, nbytes: int) -> bool:
        if memory_limit is None or nbytes <= memory_limit:
            return True
        needs[name] = min(nbytes, needs.get(name, nbytes))
        return False

    operands = operand_bytes(shape1, windows, batch_points, compute_dtype)
    if separable and ("separable" in allowed or method == "separable"):
        if fits("separable", operands):  # one intermediate array between the passes
            estimates["separable"] = _separable_seconds(shape1, shape2, windows, batch_points,
                                                        compute_dtype, threads, costs)

    whole = whole_fft_shape(shape1, shape2, windows, real)
    rank = len(shape1)
    if fits("fft", spectral_workspace(whole, 1, batch_points, compute_dtype, real, threads)):
        layouts["fft"] = (whole, (False,) * rank, 1)
        estimates["fft"] = _spectral_seconds(whole, 1, batch_points, compute_dtype, real, threads, costs,
                                             operands)

    per_axis = []
    for i, (n2, w, n_whole) in enumerate(zip(shape2, windows, whole)):
        even = real and i == rank - 1
        options = [(n, True) for n in _tile_candidates(n2, w, n_whole, even)]
        per_axis.append([(n_whole, False)] + options)
    best = None
    for combo in itertools.product(*per_axis):
        if not any(t for _, t in combo):
            continue
        fft_shape = tuple(n for n, _ in combo)
        tiled = tuple(t for _, t in combo)
        tiles = math.prod(
            -(-w.length // (n - n2 + 1)) if t else 1
            for (n, t), n2, w in zip(combo, shape2, windows)
        )
        workspace = spectral_workspace(fft_shape, tiles, batch_points, compute_dtype, real, threads)
        if not fits("tiled", workspace):
            continue
        seconds = _spectral_seconds(fft_shape, tiles, batch_points, compute_dtype, real, threads, costs,
                                    operands)
        if best is None or seconds < best[0]:
            best = (seconds, fft_shape, tiled, tiles)
    if best is not None:
        estimates["tiled"] = best[0]
        layouts["tiled"] = best[1:]

    if method == "auto":
        pool = {m: s for m, s in estimates.items() if m in allowed}
        if not pool:
            _refuse(needs, memory_limit, shape1, shape2)
        chosen = min(pool, key=pool.get)
        reason = "lowest estimated time"
    else:
        chosen = method
        if chosen == "tiled" and "tiled" not in layouts and "tiled" not in needs:
            chosen = "fft"  # nothing to cut: one tile is the whole array
        if chosen not in estimates:
            _refuse({chosen: needs.get(chosen, 0)}, memory_limit, shape1, shape2)
        reason = f"method={method!r} requested"
    fft_shape, tiled_axes, tiles = layouts.get(chosen, (None, None, 0))
    return Plan(
        method=chosen,
        shape1=tuple(shape1),
        shape2=tuple(shape2),
        mode_windows=tuple(windows),
        batch=tuple(batch),
        fft_shape=fft_shape,
        tiled_axes=tiled_axes,
        tiles=tiles,
        compute_dtype=compute_dtype,
        threads=threads,
        estimates=MappingProxyType(estimates),
        reason=reason,
    )
