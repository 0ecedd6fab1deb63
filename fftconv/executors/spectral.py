"""What the two FFT executors share: the convolution theorem over tiles, and its costs.

Arrays arrive with the convolved axes last (``batch + conv_shape``); the batch axes of the
two operands broadcast. One tile shape serves a whole call: the kernel spectrum is computed
once per call (with the transform's ``1/N`` folded in), then every tile is copied into the
backend's buffer, transformed in place, multiplied, transformed back and cropped into
``out``. A whole-array FFT (`fftconv.executors.fft`) is the one-tile case with the shortest
circular length the mode allows; overlap-save tiles (`fftconv.executors.tiled`) cut the
axes where that is cheaper.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .. import background
from ..backends import get_backend
from ..backends.base import TransformPair
from ..backends.threads import claim_in_turn, kernel_fft_threads, split_threads
from ..core.boundary import fill_extended
from ..core.geometry import (
    Segment,
    Window,
    min_circular_length,
    output_window,
    overlap_save_segments,
    whole_axis_segments,
)
from ..core.problem import Problem, Spec
from ..planning.costs import CostModel, precision
from ..planning.plan import Plan
from . import kept_spectra
from .base import Estimate, Executor, NonFiniteInput
from .fft_lengths import LENGTH_GAIN, LENGTH_SPAN, fast_lengths_between, next_fast_length
from .nonfinite import all_finite, zero_nonfinite
from .periodic import periodic_kernel, periodic_layout
from .zero_border import border_constant, zero_border_layout


@dataclass(frozen=True)
class FFTLayout:
    """How a spectral executor cuts the convolved axes: FFT (tile) lengths, which axes are
    cut into overlap-save tiles, and how many tiles that makes."""

    fft_shape: tuple[int, ...]
    tiled_axes: tuple[bool, ...]
    tiles: int

    def __str__(self) -> str:
        return f"FFT shape {self.fft_shape}, {self.tiles} tile(s)"


@dataclass(frozen=True)
class SpectralLayout:
    """An `FFTLayout` resolved for one problem: each axis' segments."""

    fft_shape: tuple[int, ...]
    segments: tuple[tuple[Segment, ...], ...]

    @property
    def tiles(self) -> int:
        return math.prod(len(s) for s in self.segments)

    @property
    def points(self) -> int:
        """Points of one tile's transform."""
        return math.prod(self.fft_shape)


def make_layout(
    shape1: Sequence[int],
    shape2: Sequence[int],
    windows: Sequence[Window],
    fft_shape: Sequence[int],
    tiled: Sequence[bool],
) -> SpectralLayout:
    """Segments for every axis: whole-axis where ``tiled`` is false, overlap-save otherwise.

    Examples
    --------
    >>> from fftconv.core.geometry import output_window
    >>> make_layout((100,), (5,), [output_window(100, 5, "full")], (64,), (True,)).tiles
    2
    """
    segments = tuple(
        overlap_save_segments(n1, n2, w, n) if t else whole_axis_segments(n1, n2, w)
        for n1, n2, w, n, t in zip(shape1, shape2, windows, fft_shape, tiled)
    )
    return SpectralLayout(tuple(int(n) for n in fft_shape), segments)


def whole_fft_shape(shape1, shape2, windows, real: bool, costs: CostModel | None = None,
                    itemsize: int = 8) -> tuple[int, ...]:
    """Fast FFT lengths for a whole-array transform of every convolved axis (the last one even
    for real data): the shortest, or with ``costs`` the cheapest by their estimate
    (`cheapest_fft_shape`).

    Examples
    --------
    >>> from fftconv.core.geometry import output_window
    >>> from fftconv.planning.costs import DEFAULT_COSTS
    >>> windows = [output_window(1000, 15, "same")] * 2
    >>> [whole_fft_shape((1000, 1000), (15, 15), windows, True, costs) for costs in (None, DEFAULT_COSTS)]
    [(1008, 1008), (1024, 1024)]
    """
    rank = len(shape1)
    shortest = tuple(
        next_fast_length(min_circular_length(n1, n2, w), even=real and i == rank - 1)
        for i, (n1, n2, w) in enumerate(zip(shape1, shape2, windows))
    )
    return shortest if costs is None else cheapest_fft_shape(shortest, real, costs, itemsize)


@functools.lru_cache(maxsize=4096)
def cheapest_fft_shape(shortest: tuple[int, ...], real: bool, costs: CostModel, itemsize: int
                       ) -> tuple[int, ...]:
    """The FFT shape, each length a fast one at least ``shortest``'s and at most
    `LENGTH_SPAN` times it, that ``costs`` estimate cheapest to transform, where that is at
    most `LENGTH_GAIN` of ``shortest``'s estimate; else ``shortest``. FFTW's speed per point
    varies with the factors more than with the length: on AMD EPYC Zen 4 (float64, 2-D, MEASURE
    plans, forward and inverse) 378² takes 0.98 ms and 384² 0.66, 504² 1.58 and 512² 1.19,
    1134² 11.5 and 1152² 8.5. For every square shape of sides 200 to 1,120, the shape this
    chooses took 0.95 (200-560) and 0.98 (640-1,120) of the shortest's time on average, 0.67 at
    best, 1.08 at worst; 1-D lengths 2,000-5,500: 0.93, 0.62 at best, never more. The radix
    weights were fitted on another CPU, hence only the clear gains. Each axis' length is
    chosen with the others fixed (10-25 us a new shape; pricing every combination took up to
    0.8 ms in 3-D, on each first call of a new shape).

    Examples
    --------
    >>> from fftconv.planning.costs import DEFAULT_COSTS
    >>> cheapest_fft_shape((378, 1134), True, DEFAULT_COSTS, 8)
    (384, 1152)
    """
    rank = len(shortest)
    per_log, per_point = costs.fft_point_log, costs.fft_point

    def seconds(shape: tuple[int, ...]) -> float:
        return costs.fft_seconds(math.prod(shape), itemsize, real, "double", 1, rank)

    best, radix = list(shortest), [costs.radix_log2(n) for n in shortest]
    for i, m in enumerate(shortest):
        others = sum(radix) - radix[i]  # the other lengths' product is a common factor here
        options = [(n, costs.radix_log2(n)) for n in fast_lengths_between(m, int(m * LENGTH_SPAN),
                                                                          real and i == rank - 1)]
        best[i], radix[i] = min(options, key=lambda o: o[0] * (per_log * (others + o[1]) + per_point))
    chosen = tuple(best)
    return chosen if seconds(chosen) <= LENGTH_GAIN * seconds(shortest) else shortest


def operand_bytes(shape1, windows, batch_points: int, dtype) -> int:
    """Bytes of the input and output arrays (what decides whether copies hit the cache).

    Examples
    --------
    >>> from fftconv.core.geometry import output_window
    >>> operand_bytes((10,), [output_window(10, 3, "full")], 1, "f8")
    176
    """
    points = math.prod(shape1) + math.prod(w.length for w in windows)
    return points * batch_points * np.dtype(dtype).itemsize


def copied_rows(fft_shape) -> int:
    """Rows (last-axis runs) a tile's strided copies handle, counted once per strided axis:
    a 3-D tile's copies stride over planes and rows, ~2x a 2-D tile's cost per row.

    Examples
    --------
    >>> copied_rows((64,)), copied_rows((32, 64)), copied_rows((16, 32, 64))
    (1, 32, 1024)
    """
    return math.prod(fft_shape[:-1]) * max(1, len(fft_shape) - 1)


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


def spectral_seconds(spec: Spec, fft_shape: tuple[int, ...], tiles: int, dtype: np.dtype, costs: CostModel,
                     operands: int) -> float:
    """Estimated seconds of ``tiles`` tiles of ``fft_shape`` for ``spec``, computing in
    ``dtype`` (``operands``: its `operand_bytes`): every tile's two transforms, copies and
    overhead (split over threads as `split_threads` decides), the kernel's transform, and the
    call overhead."""
    batch_points = spec.batch_points
    points = math.prod(fft_shape)
    itemsize, real, prec = dtype.itemsize, dtype.kind != "c", precision(dtype)
    transforms = 2 * costs.fft_seconds(points, itemsize, real, prec, batch_points, len(fft_shape))
    rest = (  # NumPy's part of a tile: always on the thread that runs the tile
        costs.copy_seconds(points * batch_points, itemsize, operands)
        + costs.copy_row * copied_rows(fft_shape) * batch_points
        + costs.tile_overhead
    )
    spectrum_bytes = points * itemsize * (1 if real else 2)  # one transform of one batch item
    workers, inner = split_threads(tiles, points * batch_points, spec.threads)
    if workers > 1:
        work = costs.parallel_tiles((transforms + rest) * tiles, workers, tiles,
                                    spectrum_bytes * batch_points)
    else:  # the backend's threads inside each transform; a batch of transforms splits like a dimension
        rank = len(fft_shape) + (batch_points > 1)
        work = tiles * (costs.threaded_fft(transforms, inner, rank) + rest)
    return costs.call_overhead + work + kernel_transform_seconds(spec, fft_shape, dtype, costs)


def kernel_transform_seconds(spec: Spec, fft_shape: tuple[int, ...], dtype: np.dtype,
                             costs: CostModel) -> float:
    """Estimated seconds of the kernel's transform at ``fft_shape`` (part of `spectral_seconds`)."""
    points, rank = math.prod(fft_shape), len(fft_shape)
    seconds = costs.fft_seconds(points, dtype.itemsize, dtype.kind != "c", precision(dtype), 1, rank)
    return (costs.threaded_fft(seconds, kernel_fft_threads(fft_shape, spec.threads), rank)
            + costs.copy_seconds(points, dtype.itemsize, 0))


def repeated_call_seconds(spec: Spec, seconds: float, fft_shape: tuple[int, ...], dtype: np.dtype,
                          costs: CostModel) -> float:
    """``seconds`` of a layout (`spectral_seconds`) as the calls that repeat its kernel pay
    them: without the kernel's transform where its spectrum fits those kept
    (`kept_spectra`). The estimate an executor competes with is this one: a plan serves a
    signature's repeated calls. Charged on every call, the kernel's transform had priced the
    whole-array FFT a transform in three too high beside the tiles (whose kernel transform is
    one tile's): at 1 thread it ran at 0.61-0.89 of its estimate on twelve mid sizes, the tiles
    at 0.78-1.22, and the model chose the tiles where the FFT was up to 2.5x faster, for a trial
    to put right (AMD EPYC Zen 4; 0.86-1.12 against 0.94-1.29 once not charged). The tiles'
    layout search keeps charging it: there it stands for what larger tiles keep and a
    changing kernel pays (without it the search took 288x540 tiles of 2.4 MiB where 120x150
    ones of 0.3 MiB ran as fast, 512² * 15² float64)."""
    return seconds - kept_kernel_seconds(spec, fft_shape, dtype, costs)


def kept_kernel_seconds(spec: Spec, fft_shape: tuple[int, ...], dtype: np.dtype, costs: CostModel) -> float:
    """The seconds of the kernel's transform that `repeated_call_seconds` leaves out: all of
    it where its spectrum fits those kept, else none. A signature's first call pays them."""
    spectrum_bytes = math.prod(fft_shape) * dtype.itemsize * (1 if dtype.kind != "c" else 2)
    if kept_spectra.keeps(spectrum_bytes + math.prod(spec.shape2) * dtype.itemsize):
        return kernel_transform_seconds(spec, fft_shape, dtype, costs)
    return 0.0


#: Most points of a float32 or complex64 convolution (its batch included) that its transforms
#: compute in double precision (`SpectralExecutor.compute_dtype`).
PRECISE_POINTS = 4096
_SINGLE_TO_DOUBLE = {np.dtype(np.float32): np.dtype(np.float64),
                     np.dtype(np.complex64): np.dtype(np.complex128)}


class SpectralExecutor(Executor):
    """The run, prepare and estimate of a given layout that the 'fft' and 'tiled' executors
    share; each subclass chooses its layout in `estimate`."""

    uses_backend = True
    reads_boundary = True
    requirement = "an FFT backend that transforms the computation's dtype"

    def compute_dtype(self, spec: Spec) -> np.dtype:
        """The spec's dtype, but float64 (complex128) for a float32 (complex64) convolution of
        at most `PRECISE_POINTS` points, its batch included: there a transform costs its call,
        not its precision, and single precision's rounding (up to 4x pocketfft's: 2e-6 beside
        5e-7 on 100-point cases) failed scipy's own tolerance for ``convolve(method='fft')``."""
        dtype = super().compute_dtype(spec)
        if dtype in _SINGLE_TO_DOUBLE:
            points = spec.batch_points * math.prod(a + b - 1 for a, b in zip(spec.shape1, spec.shape2))
            if points <= PRECISE_POINTS:
                return _SINGLE_TO_DOUBLE[dtype]
        return dtype

    def applies(self, spec: Spec, forced: bool = False) -> bool:
        return get_backend(spec.backend).supports(self.compute_dtype(spec))

    def lower_bound(self, spec: Spec, costs: CostModel) -> float:
        """The call overhead and two transforms of every output at the cheapest cost per
        point any tile could have (16 points an axis, in the cache, every thread busy)."""
        dtype = self.compute_dtype(spec)
        per_point = costs.fft_point + costs.fft_point_log * 4 * spec.rank
        if precision(dtype) == "single":
            per_point *= min(costs.single_factor, 1.0)
        if dtype.kind == "c":
            per_point *= max(costs.complex_factor, 1.0)
        return costs.call_overhead + 2 * spec.out_points * spec.batch_points * per_point / spec.threads

    def layout_estimate(self, spec: Spec, layout: FFTLayout, costs: CostModel) -> Estimate:
        """Seconds and buffer bytes of ``layout`` for ``spec``."""
        dtype = self.compute_dtype(spec)
        workspace = spectral_workspace(layout.fft_shape, layout.tiles, spec.batch_points, dtype,
                                       dtype.kind != "c", spec.threads)
        operands = operand_bytes(spec.shape1, spec.windows, spec.batch_points, dtype)
        seconds = spectral_seconds(spec, layout.fft_shape, layout.tiles, dtype, costs, operands)
        seconds = repeated_call_seconds(spec, seconds, layout.fft_shape, dtype, costs)
        return Estimate(seconds, workspace, layout)

    def whole_layout(self, spec: Spec, costs: CostModel | None = None) -> FFTLayout:
        """One transform of every convolved axis: of the shortest fast lengths, or with
        ``costs`` of the cheapest (`cheapest_fft_shape`)."""
        dtype = self.compute_dtype(spec)
        real = dtype.kind != "c"
        fft_shape = whole_fft_shape(spec.shape1, spec.shape2, spec.windows, real, costs, dtype.itemsize)
        return FFTLayout(fft_shape, (False,) * spec.rank, 1)

    def prepare(self, problem: Problem, plan: Plan) -> np.ndarray:
        """The kernel spectrum at the plan's FFT shape (non-finite values zeroed). Where it is
        made, the backend is told first of the transform pair `run` will use: one that plans
        aside (FFTW's ESTIMATE plans on a helper thread) may make its plans meanwhile (1000x1000 *
        101x101 'full' float64, a fresh process, 1 thread: the 7.4 ms forward plan of 1120x1120
        beside the kernel's 6.5 ms spectrum; AMD EPYC Zen 4)."""
        h = problem.h
        dtype, fft_shape = plan.compute_dtype, plan.layout.fft_shape

        def ahead() -> None:  # the layout `run` makes, only where the spectrum is made
            x, r = problem.x, problem.rank
            layout = make_layout(x.shape[x.ndim - r:], h.shape[h.ndim - r:], problem.windows, fft_shape,
                                 plan.layout.tiled_axes)
            _plan_ahead(layout, x.shape[: x.ndim - r], dtype, plan.threads, plan.backend)

        return kernel_spectrum(h if all_finite(h) else zero_nonfinite(h), fft_shape, dtype.kind != "c", dtype,
                               kernel_fft_threads(fft_shape, plan.threads), plan.backend, before=ahead)

    def run(self, problem: Problem, plan: Plan, out: np.ndarray, prepared: object = None,
            check_finite: bool = True) -> None:
        if check_finite and not all_finite(problem.h):
            raise NonFiniteInput
        r = problem.rank
        x, h = problem.x, problem.h
        layout = make_layout(x.shape[x.ndim - r:], h.shape[h.ndim - r:], problem.windows,
                             plan.layout.fft_shape, plan.layout.tiled_axes)
        # optimistic: the tiles' DC bins reveal a non-finite input without a pass over it
        convolve_spectral(x, h, out, layout, plan.threads, spectrum=prepared, check_input=check_finite,
                          backend=plan.backend)

    def run_extended(self, source: np.ndarray, ranges: Sequence[tuple[int, int]], mode: str, cval: object,
                     kernel: np.ndarray, plan: Plan, out: np.ndarray) -> bool:
        return ExtendedTiles(ranges, mode, cval, kernel, plan)(source, out)

    def prepare_extended(self, ranges: Sequence[tuple[int, int]], mode: str, cval: object, kernel: np.ndarray,
                         plan: Plan) -> Callable[[np.ndarray, np.ndarray], bool]:
        return ExtendedTiles(ranges, mode, cval, kernel, plan)


def extended_layout(ranges: Sequence[tuple[int, int]], kernel: np.ndarray, plan: Plan,
                    batch: tuple[int, ...]) -> SpectralLayout | None:
    """The tiles of the 'valid' correlation of the block whose extended coordinates are
    ``ranges`` with the finite ``kernel``, where ``plan`` was made for exactly that problem
    with batch axes ``batch`` (a reader of the block's tiles serves only it); else None.

    Examples
    --------
    >>> import numpy as np
    >>> from fftconv.core.problem import Problem
    >>> from fftconv.engine import run
    >>> p = run.plan(Problem.build(np.zeros(100), np.ones(5), "valid"), "fft")
    >>> extended_layout([(-2, 98)], np.ones(5), p, ()).tiles, extended_layout([(0, 90)], np.ones(5), p, ())
    (1, None)
    """
    shape = tuple(b - a for a, b in ranges)
    if any(n < k for n, k in zip(shape, kernel.shape)):
        return None
    windows = tuple(output_window(n, k, "valid") for n, k in zip(shape, kernel.shape))
    spec, layout = plan.spec, plan.layout
    if (spec.batch != tuple(batch) or spec.kernel_batched or shape != tuple(spec.shape1)
            or kernel.shape != tuple(spec.shape2) or windows != tuple(spec.windows)
            or not all_finite(kernel)):
        return None
    return make_layout(shape, kernel.shape, windows, layout.fft_shape, layout.tiled_axes)


#: Largest kernel spectrum a prepared call keeps (`ExtendedTiles`, `fftconv.engine.run.route`):
#: the lane holds up to `fftconv.engine.lane.SIZE` of them, so at most 64 MiB; a larger one is
#: made again by each call, as `fftconv.engine.run.execute` makes it.
KEPT_SPECTRUM_BYTES = 1 << 18


class ExtendedTiles:
    """The spectral executors' `Executor.prepare_extended`: the correlation of a boundary-
    extended block with every tile read from the source by the mode straight into the
    transform's buffer (`fill_extended`), never into a copy of the block with its halo first
    (AMD EPYC Zen 3, 2048² * 15x15 float64 on the tiles: 52 -> 44 ms, what the same tiles take
    from `fftconv.correlate`; a 512² block's peak memory 1.5 -> 0.2 images). Serves blocks
    whose every axis is filtered, planned for the extended block's shape ('valid'); any other
    it declines (returns False), as it declines non-finite values (the tiles' DC bins show
    them) for the materialised path."""

    def __init__(self, ranges: Sequence[tuple[int, int]], mode: str, cval: object, kernel: np.ndarray,
                 plan: Plan):
        self.layout = extended_layout(ranges, kernel, plan, ())
        self.serves = self.layout is not None
        self.ranges = [tuple(r) for r in ranges]
        self.starts = [a for a, _ in ranges]
        self.mode, self.cval, self.plan = mode, cval, plan
        self.kernel = np.flip(kernel)  # the convolution kernel
        self.spectrum: np.ndarray | None = None

    def __call__(self, source: np.ndarray, out: np.ndarray) -> bool:
        if not self.serves:
            return False
        background.note_call()  # a call of the engine: transform sizes count their calls
        plan, layout, starts, spectrum = self.plan, self.layout, self.starts, self.spectrum
        real = out.dtype.kind != "c"
        zeros = border_constant(self.mode, self.cval) == "zero"
        unextended = unextended_tiles(self.ranges, source.shape, self.kernel, self.mode, zeros, plan, real,
                                      out.dtype)
        if unextended is not None:
            layout, spectrum, starts = unextended
        if spectrum is None:
            spectrum = kernel_spectrum(self.kernel, layout.fft_shape, real, out.dtype,
                                       kernel_fft_threads(layout.fft_shape, plan.threads), plan.backend)
            if spectrum.nbytes <= KEPT_SPECTRUM_BYTES:
                self.spectrum = spectrum

        def read(tile: tuple[Segment, ...], into: np.ndarray) -> None:
            fill_extended(into, source, [(a + s.in_start, a + s.in_stop) for a, s in zip(starts, tile)],
                          self.mode, self.cval)
        try:
            convolve_spectral(None, self.kernel, out, layout, plan.threads, spectrum=spectrum,
                              check_input=True, backend=plan.backend, read_tile=read)
        except NonFiniteInput:
            return False
        return True


def kernel_spectrum(kernel: np.ndarray, fft_shape: tuple[int, ...], real: bool, dtype: np.dtype, threads: int,
                    backend: str = "fftw", before: Callable[[], object] | None = None) -> np.ndarray:
    """Spectrum of ``kernel`` zero-padded to ``fft_shape``, scaled by ``1/prod(fft_shape)``:
    read-only, made once for the calls that repeat the kernel (`kept_spectra`); ``before`` is
    called first where it is made.

    Examples
    --------
    >>> import numpy as np
    >>> k = kernel_spectrum(np.array([1.0, 2.0]), (4,), True, np.dtype(np.float64), 1)
    >>> np.allclose(k * 4, np.fft.rfft([1.0, 2.0], 4))
    True
    """
    def make() -> np.ndarray:
        if before is not None:
            before()
        return _transformed(kernel, fft_shape, real, dtype, threads, backend)

    return kept_spectra.spectrum_of(
        kernel, ("kernel spectrum", tuple(fft_shape), real, np.dtype(dtype).str, backend), make)


def periodic_spectrum(kernel: np.ndarray, ranges: Sequence[tuple[int, int]], fft_shape: tuple[int, ...],
                      real: bool, dtype: np.dtype, threads: int, backend: str) -> np.ndarray:
    """The spectrum (scaled by ``1/N``, read-only, kept for calls that repeat it) of the
    convolution ``kernel`` (the correlation's taps flipped) folded onto one period of
    ``fft_shape`` and turned so that output ``i`` of the circular convolution is the 'valid'
    output ``i`` of the block extended over ``ranges``.

    Examples
    --------
    >>> x, taps = np.arange(8.0), np.array([1.0, 2.0, 3.0])  # correlation taps, one before each output
    >>> s = periodic_spectrum(np.flip(taps), [(-1, 9)], (8,), True, np.dtype(np.float64), 1, "pocketfft")
    >>> got = np.fft.irfft(np.fft.rfft(x) * s * 8, 8)
    >>> np.allclose(got, [taps @ np.take(x, [i - 1, i, i + 1], mode="wrap") for i in range(8)])
    True
    """
    # the tap at s of a kernel at offset 0 lands k - 1 after the output it belongs to; the
    # output i reads the extended block from i, the image from i - before
    shift = tuple((-start - (k - 1)) % n for (start, _), k, n in zip(ranges, kernel.shape, fft_shape))

    def make() -> np.ndarray:
        return _transformed(periodic_kernel(kernel, shift, fft_shape), tuple(fft_shape), real, dtype, threads,
                            backend)

    return kept_spectra.spectrum_of(
        kernel, ("periodic spectrum", tuple(fft_shape), shift, real, np.dtype(dtype).str, backend), make)


def unextended_tiles(ranges: Sequence[tuple[int, int]], source_shape: Sequence[int], kernel: np.ndarray,
                     mode: str, zero_border: bool, plan: Plan, real: bool, dtype: np.dtype
                     ) -> tuple[SpectralLayout, np.ndarray, list[int]] | None:
    """Where the block extended over ``ranges`` is a whole image whose halo need not be
    transformed: of a periodic ``mode``, the layout at the image's own shape with the
    convolution ``kernel``'s spectrum turned for it (`periodic_layout`, `periodic_spectrum`);
    where ``zero_border`` (the caller knows the halo to be zeros), the layout of the image
    alone, zero-padded, with the kernel's own spectrum (`fftconv.executors.zero_border`). With
    each axis' first source index a tile reads (0: the image itself, no halo); else None. What
    `ExtendedTiles` and `fftconv.engine.hole_tiles.HoleTiles` take in place of their extended
    layout.

    Examples
    --------
    >>> from fftconv.core.problem import Problem
    >>> from fftconv.engine import run
    >>> p = run.plan(Problem.build(np.zeros((80, 80)), np.ones((17, 17)), "valid"), "fft")
    >>> ranges, kernel = [(-8, 72), (-8, 72)], np.ones((17, 17))
    >>> [unextended_tiles(ranges, (64, 64), kernel, mode, zeros, p, True, p.compute_dtype)[0].fft_shape
    ...  for mode, zeros in (("wrap", False), ("constant", True))]
    [(64, 64), (72, 72)]
    """
    threads = plan.threads
    periodic = periodic_layout(ranges, source_shape, kernel.shape, mode, plan)
    if periodic is not None:
        layout = SpectralLayout(*periodic)
        plan.transformed.add(layout.fft_shape)
        spectrum = periodic_spectrum(kernel, ranges, layout.fft_shape, real, dtype,
                                     kernel_fft_threads(layout.fft_shape, threads), plan.backend)
        return layout, spectrum, [0] * len(ranges)
    found = zero_border_layout(ranges, source_shape, kernel.shape, plan) if zero_border else None
    if found is None:
        return None
    layout = SpectralLayout(*found)
    plan.transformed.add(layout.fft_shape)
    spectrum = kernel_spectrum(kernel, layout.fft_shape, real, dtype,
                               kernel_fft_threads(layout.fft_shape, threads), plan.backend)
    return layout, spectrum, [0] * len(ranges)


def _transformed(kernel: np.ndarray, fft_shape: tuple[int, ...], real: bool, dtype: np.dtype, threads: int,
                 backend: str) -> np.ndarray:
    rank = len(fft_shape)
    batch = kernel.shape[: kernel.ndim - rank]
    transforms = get_backend(backend)
    padded = getattr(transforms, "scaled_spectrum", None)  # optional (`fftconv.backends.base.Backend`)
    spectrum = None if padded is None else padded(kernel, tuple(fft_shape), real, np.dtype(dtype), threads)
    if spectrum is not None:
        return spectrum
    pair = transforms.transform_pair(batch, fft_shape, real, dtype, threads)
    pair.begin()
    region = tuple(slice(0, n) for n in kernel.shape[-rank:])
    _zero_outside(pair.data, region)
    pair.data[(Ellipsis,) + region] = kernel
    pair.forward()
    real_type = pair.spectrum.real.dtype.type
    scale = real_type(1) / real_type(math.prod(fft_shape))  # in long double for long double
    return np.multiply(pair.spectrum, scale)


def convolve_spectral(
    x: np.ndarray | None,
    h: np.ndarray,
    out: np.ndarray,
    layout: SpectralLayout,
    threads: int = 1,
    spectrum: np.ndarray | None = None,
    check_input: bool = False,
    backend: str = "fftw",
    read_tile: Callable[[tuple[Segment, ...], np.ndarray], None] | None = None,
    write_tile: Callable[[tuple[Segment, ...], np.ndarray], None] | None = None,
) -> np.ndarray:
    """Write the convolution of ``x`` with ``h`` (convolved axes last) into ``out``.

    ``out.dtype`` is the compute dtype (real or complex float). ``spectrum`` may carry a
    precomputed `kernel_spectrum` for ``layout.fft_shape``. With ``check_input``, raises
    `NonFiniteInput` as soon as a tile's DC bin shows a NaN or inf in ``x`` (or a sum that
    overflowed): a check that costs nothing beside a pass over the input. ``read_tile`` (then
    ``x`` is None) writes a tile's input into the buffer region given, for inputs that are
    not an array (`ExtendedTiles`); ``write_tile`` receives a tile's results (batch axes
    first, a view of the transform's buffer it may overwrite) in place of their copy into
    ``out``, which then only gives the results' batch shape and dtype (its values are not
    written: `fftconv.engine.hole_tiles`).

    Examples
    --------
    >>> import numpy as np
    >>> from fftconv.core.geometry import output_window
    >>> w = output_window(4, 2, "full")
    >>> lay = make_layout((4,), (2,), [w], (5,), (False,))
    >>> out = np.empty(5)
    >>> convolve_spectral(np.arange(4.0), np.ones(2), out, lay).round(12)
    array([0., 1., 3., 5., 3.])
    """
    real = out.dtype.kind == "f"
    rank = len(layout.fft_shape)
    batch = out.shape[: out.ndim - rank]
    if spectrum is None:  # the backend told of the pair first: it may plan it meanwhile (`prepare`)
        ahead = functools.partial(_plan_ahead, layout, batch, out.dtype, threads, backend)
        spectrum = kernel_spectrum(h, layout.fft_shape, real, out.dtype,
                                   kernel_fft_threads(layout.fft_shape, threads), backend, before=ahead)
    if read_tile is None:
        read_tile = _array_tiles(x)
    if write_tile is None:
        write_tile = _array_writer(out)
    tiles = list(itertools.product(*layout.segments))
    pair = _pair_of(layout, batch, out.dtype, threads, backend)
    if pair is not None:
        pair.begin()
        for tile in tiles:
            _run_tile(pair, read_tile, write_tile, spectrum, tile, check_input)
        return out

    workers = split_threads(len(tiles), math.prod(batch) * layout.points, threads)[0]
    transforms = get_backend(backend)

    def runner() -> Callable[[int], None]:
        pair = transforms.transform_pair(batch, layout.fft_shape, real, out.dtype, 1,
                                         uses=-(-len(tiles) // workers))
        pair.begin()
        return lambda i: _run_tile(pair, read_tile, write_tile, spectrum, tiles[i], check_input)

    claim_in_turn(len(tiles), workers, runner)  # a late worker costs nothing
    return out


def _pair_args(layout: SpectralLayout, batch: tuple[int, ...], dtype: np.dtype, threads: int
               ) -> tuple[tuple, dict] | None:
    """The arguments of the transform pair `convolve_spectral` runs ``layout``'s tiles with in
    the calling thread, all of them there; None where the tiles are shared among threads,
    each with a pair of its own."""
    tiles = math.prod(len(segments) for segments in layout.segments)
    workers, inner = split_threads(tiles, math.prod(batch) * layout.points, threads)
    if workers > 1:
        return None
    return (batch, layout.fft_shape, dtype.kind != "c", dtype, inner), {"uses": tiles}


def _pair_of(layout: SpectralLayout, batch: tuple[int, ...], dtype: np.dtype, threads: int,
             backend: str) -> TransformPair | None:
    """`_pair_args`' pair (a backend's pairs are cached: asked again, the same one)."""
    args = _pair_args(layout, batch, dtype, threads)
    return None if args is None else get_backend(backend).transform_pair(*args[0], **args[1])


def _plan_ahead(layout: SpectralLayout, batch: tuple[int, ...], dtype: np.dtype, threads: int,
                backend: str) -> None:
    """Tell the backend, before the kernel's spectrum is made, of `_pair_args`' pair
    (`fftconv.backends.base.Backend.plan_ahead`)."""
    ahead = getattr(get_backend(backend), "plan_ahead", None)
    args = _pair_args(layout, batch, dtype, threads)
    if ahead is not None and args is not None:
        ahead(*args[0], **args[1])


def _array_tiles(x: np.ndarray) -> Callable[[tuple[Segment, ...], np.ndarray], None]:
    """`convolve_spectral`'s ``read_tile`` for an array (convolved axes last)."""
    def read(tile: tuple[Segment, ...], into: np.ndarray) -> None:
        into[...] = x[(Ellipsis,) + tuple(slice(s.in_start, s.in_stop) for s in tile)]
    return read


def _array_writer(out: np.ndarray) -> Callable[[tuple[Segment, ...], np.ndarray], None]:
    """`convolve_spectral`'s ``write_tile`` for an array: each tile's results copied into place."""
    def write(tile: tuple[Segment, ...], results: np.ndarray) -> None:
        out[(Ellipsis,) + tuple(slice(s.out_offset, s.out_offset + s.count) for s in tile)] = results
    return write


def _run_tile(
    pair: TransformPair,
    read_tile: Callable[[tuple[Segment, ...], np.ndarray], None],
    write_tile: Callable[[tuple[Segment, ...], np.ndarray], None],
    spectrum: np.ndarray,
    tile: tuple[Segment, ...],
    check_input: bool = False,
) -> None:
    data = pair.data
    dst = (Ellipsis,) + tuple(slice(s.buf_offset, s.buf_offset + s.in_stop - s.in_start) for s in tile)
    covers_all = all(
        s.buf_offset == 0 and s.in_stop - s.in_start == n for s, n in zip(tile, pair.fft_shape)
    )
    if not covers_all:
        _zero_outside(data, dst[1:])
    read_tile(tile, data[dst])
    if check_input:  # a NaN or inf is found by its spectrum: NumPy's transform must not warn of it
        with np.errstate(invalid="ignore", over="ignore"):
            pair.forward()
        if not np.isfinite(pair.spectrum[(Ellipsis,) + (0,) * len(tile)]).all():
            raise NonFiniteInput
    else:
        pair.forward()
    multiply_spectra(pair.spectrum, spectrum)
    pair.inverse()
    data = pair.data  # a backend may hand its results over in a new buffer
    write_tile(tile, data[(Ellipsis,) + tuple(slice(s.res_offset, s.res_offset + s.count) for s in tile)])


#: A batch's spectra are multiplied by the kernel's in bands of its rows of about this many
#: bytes of the kernel's spectrum, so that each band is read from memory once for the whole
#: batch rather than once a member (Intel Xeon, 2 MiB L2: a batch of two 1024x513 complex128
#: spectra 1.17 -> 0.92 ms, 1120x561 1.39 -> 1.11).
PRODUCT_BAND_BYTES = 1 << 19


def multiply_spectra(spectra: np.ndarray, kernel: np.ndarray) -> None:
    """``spectra *= kernel`` in place, ``kernel`` broadcast over the batch axes ``spectra``
    leads with; a batch of several in bands of rows (`PRODUCT_BAND_BYTES`).

    Examples
    --------
    >>> spectra = np.ones((2, 3, 2), complex)
    >>> multiply_spectra(spectra, np.array([[1j, 2], [3, 4], [5, 6]]))
    >>> spectra[1, 0]
    array([0.+1.j, 2.+0.j])
    """
    batch = spectra.ndim - kernel.ndim
    if batch == 0 or math.prod(spectra.shape[:batch]) == 1 or kernel.ndim == 0 or kernel.shape[0] < 2:
        np.multiply(spectra, kernel, out=spectra)
        return
    rows = max(PRODUCT_BAND_BYTES // max(kernel[0].nbytes, 1), 1)
    for start in range(0, kernel.shape[0], rows):
        band = (Ellipsis, slice(start, start + rows)) + (slice(None),) * (kernel.ndim - 1)
        np.multiply(spectra[band], kernel[band], out=spectra[band])


def _zero_outside(data: np.ndarray, region: tuple[slice, ...]) -> None:
    """Zero every sample of the trailing axes of ``data`` outside ``region`` (one slab before
    and one after it per axis), rather than the whole buffer that the region will overwrite."""
    rank = len(region)
    for i, sl in enumerate(region):
        n = data.shape[data.ndim - rank + i]
        for lo, hi in ((0, sl.start), (sl.stop, n)):
            if lo < hi:
                slab = (slice(None),) * i + (slice(lo, hi),) + (slice(None),) * (rank - i - 1)
                data[(Ellipsis,) + slab] = 0
