"""The 'direct.compiled' executor: direct sums in a compiled, vectorised C loop.

The loop (``_compiled/direct_loops.c``, built by ``pip install``) correlates 3-D volumes of
float32, float64 or int64 (integers exactly) and reads the extended input through per-axis
index maps: the zero extension of a 'full' or 'same' window and every boundary mode of
scipy.ndimage are the same loop, with no padded copy of the image (`run_extended`, used by
`fftconv.ndimage`'s blocks and `prepare_extended`, used by the lane). This module turns every
other case into such volumes: a 1-D or 2-D problem is one plane (of one row), axes beyond
three (batch axes included) one call per index, complex numbers two or four real sums of
their parts, other integer and float dtypes a cast to the dtype summed in. With ``threads``
> 1 the output rows are split into bands summed in parallel (the loop releases the GIL).

Non-finite values stay local: the loop skips extended rows that are entirely zero, but
multiplies the zero columns of the extension, so a non-finite kernel value raises
`NonFiniteInput` (the core then repairs the outputs it reaches); non-finite image values
only reach the outputs whose sums include them.

Where the module was not built (no C compiler at install time), the executor does not apply
and `warn_if_missing` says so once; the NumPy direct sums serve instead.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Sequence

import numpy as np

from ..backends.threads import claim_in_turn
from ..core.boundary import index_map
from ..core.geometry import window_reads
from ..core.memory import kept_buffer, l1_bytes, l2_bytes
from ..core.problem import Problem, Spec
from ..planning.costs import CostModel
from ..planning.plan import Plan
from . import _compiled
from .base import Estimate, Executor, NonFiniteInput

#: Longest kernel along its second-to-last axis (the loop keeps that many extended rows, plus
#: a block's, in a ring); the last axis may be any length. ``MAX_TAPS`` in the C source.
MAX_TAPS = 1024
#: What each dtype is summed in (complex numbers: their real and imaginary parts).
#: Unsigned 64-bit integers are summed as signed ones: the same bits, modulo 2**64.
_SUMMED_IN = {"f": np.dtype(np.float32), "d": np.dtype(np.float64), "q": np.dtype(np.int64),
              "l": np.dtype(np.int64), "Q": np.dtype(np.int64), "L": np.dtype(np.int64),
              "F": np.dtype(np.float32), "D": np.dtype(np.float64)}
#: Bytes of output columns the loop sums at once on AVX-512 (``NV`` x ``VBYTES`` in C; 128 on
#: AVX2): the estimate rounds every row up to whole chunks of this size.
CHUNK_BYTES = 256
#: Output rows the loop sums together (``BLOCK_ROWS`` in the C source): a call's rows split
#: for threads go in whole blocks of them.
BLOCK_ROWS = 4
#: A row summed alone (rows left after blocks of four; 1-D) costs this many rows of a block:
#: it reloads each input vector per row (8192 * 511 float64: 36 ps per multiply-add, 2-D 20).
ROW_FACTOR = 1.8
#: Multiply-adds per call (float32's; one of float64 counts `DTYPE_FACTOR` of them) below which
#: splitting it for threads does not pay: the helper thread wakes 20-100 us late, and this is
#: ~0.4 ms of work (512x512 * 3x3 float32, 60 us, ran 2x slower split in two; 320x320 * 11x11
#: float32, 11.6M, 0.25 ms either way; 384x384 * 13x13 float32, 23.4M, 0.36-0.44 against
#: 0.47-0.53 ms; 200x200 * 17x17 float64, 9.8M, 0.29 against 0.36; AMD EPYC Zen 4).
MIN_PARALLEL_MACS = 1 << 24
#: ... and a call split for threads is cut into this many chunks of rows a thread, claimed one
#: at a time: a thread whose core another thread shares (libgomp's and OpenBLAS's spin for
#: milliseconds after their own calls) sums fewer of them, where two fixed halves waited for
#: the slower (2 threads, 599x268 * 20x20 'full' float32: 0.73 ms alone, 1.30-1.34 after a
#: NumPy matrix product, the calling thread's half taking twice its CPU time in wall time).
CHUNKS_PER_THREAD = 4
#: One real sum's cost relative to float32's, by what is summed (SIMD lanes halve for 64 bits;
#: 64-bit integer products are slower still): measured on the reference machine, AVX-512,
#: 1024x1024 * 9x9: float32 9.9 ps per multiply-add, float64 19.9, int64 22.3.
DTYPE_FACTOR = {"f": 1.0, "d": 2.0, "q": 2.25, "l": 2.25}


def splits(macs: int, summed: np.dtype) -> bool:
    """Whether a call of ``macs`` multiply-adds summed in ``summed`` is split for threads
    (`MIN_PARALLEL_MACS`).

    Examples
    --------
    >>> splits(512 * 512 * 9, np.dtype(np.float32)), splits(200 * 200 * 17 * 17, np.dtype(np.float64))
    (False, True)
    """
    return macs * DTYPE_FACTOR[summed.char] >= MIN_PARALLEL_MACS


def loops():
    """The compiled module, or None if it was not built."""
    return _compiled.direct_loops


#: The built-in rate (`CostModel.compiled_mac`) is the AVX-512 variant's; the others sum fewer
#: lanes at once. Measured: AMD EPYC Zen 3 (AVX2) took 6.8x the reference machine's time per
#: float32 multiply-add (a new machine's first calls, planned from the built-in rate before
#: calibration, ran 600x500 * 41x41 on this loop: 0.68 s where the FFT takes 15 ms), 4.4x
#: since it sums in strips (calibrated 3.4e-11 s against 5.6e-11 before); the baseline (SSE2)
#: is taken as half AVX2's width, not measured. `fftconv.planning.calibrate` scales the
#: built-in rate by it while this CPU's own is measured.
VARIANT_FACTOR = {"x86-64-v4 (AVX-512)": 1.0, "x86-64-v3 (AVX2)": 4.4, "x86-64 baseline (SSE2)": 8.8}


@functools.cache
def variant_factor() -> float:
    """`VARIANT_FACTOR` of the variant this CPU runs (1 for a build with one variant)."""
    built = loops()
    return 1.0 if built is None else VARIANT_FACTOR.get(built.variant(), 1.0)


_warned: list[bool] = []


def warn_if_missing() -> None:
    """One warning per process when the compiled loops are missing."""
    if loops() is None and not _warned:
        _warned.append(True)
        warnings.warn(
            "fftconv's compiled direct loops are not built (was a C compiler missing at install "
            "time?): direct sums of small kernels use NumPy, 2-10x slower. Reinstall with gcc or "
            "clang available to build them.", RuntimeWarning, stacklevel=4)


def summed_dtype(dtype: np.dtype) -> np.dtype | None:
    """The real dtype the loop sums ``dtype`` in, or None if it does not serve it.

    Examples
    --------
    >>> summed_dtype(np.dtype(np.complex64)), summed_dtype(np.dtype(np.float16))
    (dtype('float32'), None)
    """
    return _SUMMED_IN.get(np.dtype(dtype).char)


def loop_estimate(out_dims: Sequence[int], kernel_dims: Sequence[int], summed: np.dtype, threads: int,
                  costs: CostModel, parts: int = 1) -> tuple[float, int]:
    """Seconds and workspace bytes of the loop summing an output of ``out_dims`` with a
    kernel of ``kernel_dims`` (the same number of axes, at least three, as the loop sees
    them) in ``summed``; ``parts`` real sums (complex: four).

    Examples
    --------
    >>> from fftconv.planning.costs import DEFAULT_COSTS
    >>> seconds, ring = loop_estimate([1, 512, 512], [1, 3, 3], np.dtype(np.float32), 1, DEFAULT_COSTS)
    >>> 0 < seconds < 1e-3, ring
    (True, 14420)
    """
    # the loop's work as it runs it: whole chunks of columns, rows in blocks of four (the
    # rows left over, and 1-D problems, run one at a time, ROW_FACTOR slower)
    chunk = CHUNK_BYTES // summed.itemsize
    chunks = -(-out_dims[-1] // chunk)
    height = out_dims[-2]
    rows = 4 * (height // 4) + ROW_FACTOR * (height % 4)
    macs = (math.prod(out_dims[:-2]) * rows * chunks * chunk
            * math.prod(kernel_dims) * parts)
    # each output plane sums one plane correlation per kernel plane, over its extended rows
    plane_sums = math.prod(out_dims[:-2]) * math.prod(kernel_dims[:-2]) * parts
    ext_points = plane_sums * (out_dims[-1] + kernel_dims[-1] - 1) * (out_dims[-2] + kernel_dims[-2] - 1)
    lead = max(len(out_dims) - 3, 0)  # axes beyond three: a call per index
    calls = math.prod(out_dims[:lead]) * math.prod(kernel_dims[:lead]) * parts
    # a block of four output rows loads each tap's values once from each of its kh + 3 input
    # rows: a square kernel's loads feed up to four multiply-adds each, a one-row kernel's one
    # (AMD EPYC Zen 4, a 1 x 41 kernel: 1.5-1.7x a square kernel's time per multiply-add); the
    # rows run one at a time are priced by ROW_FACTOR
    loads = (math.prod(out_dims[:-2]) * (height // 4) * (kernel_dims[-2] + 3) * kernel_dims[-1]
             * chunks * chunk * math.prod(kernel_dims[:-2]) * parts)
    # the ring of extended rows a block reads: each block rereads rows the previous ones read,
    # a whole ring earlier, so once the ring outgrows half of L1 (the outputs and taps share it)
    # every value a block reads comes from L2 again. What the taps' work does not hide of that
    # is priced: all of it for a one-column kernel, whose loads are mostly such values (Intel
    # Xeon, 1024² * 41x1: 1.5-2x the time of loads from L1), a kw-th for a kernel kw wide, whose
    # taps reread each from L1 (56x350 * 33x6 float64 'full' took 0.157 ms where pricing every
    # value made 0.243)
    ring = (kernel_dims[-2] + 4) * (chunks * chunk + kernel_dims[-1]) * summed.itemsize
    from_l2 = 0.0
    if kernel_dims[-2] > 1 and ring > l1_bytes() // 2:
        from_l2 = (math.prod(out_dims[:-2]) * (height // 4) * (kernel_dims[-2] + 3)
                   * chunks * (chunk + kernel_dims[-1] - 1) * math.prod(kernel_dims[:-2]) * parts
                   / kernel_dims[-1])
    # the planes it streams (the extended source read, once a kernel plane, and the output
    # written) once the arrays outgrow L2: a small volume's planes are reread from the cache
    # (22x36x92 * 7x7x7 float32 reads 2.8 MB of planes from a 0.4 MB volume)
    out_points = math.prod(out_dims) * parts
    streamed = (ext_points + out_points) * summed.itemsize
    footprint = ((math.prod(o + k - 1 for o, k in zip(out_dims, kernel_dims)) * parts + out_points)
                 * summed.itemsize)
    seconds = ((macs * costs.compiled_mac + loads * costs.compiled_load + from_l2 * costs.compiled_load_l2)
               * DTYPE_FACTOR[summed.char]
               + ext_points * costs.compiled_point + calls * costs.compiled_call
               + streamed * costs.compiled_stream * beyond_cache(footprint))
    if threads > 1 and splits(macs // parts, summed) and max(out_dims[-3], height) >= 2 * threads:
        seconds = costs.parallel_seconds(seconds, threads, 0) + costs.thread_dispatch
    return seconds, ring


def beyond_cache(nbytes: int) -> float:
    """0 for data that fits a core's L2, rising to 1 at four times it (`loop_estimate`'s
    streamed planes).

    Examples
    --------
    >>> beyond_cache(1 << 10), beyond_cache(1 << 40)
    (0.0, 1.0)
    """
    cache = l2_bytes()
    return 0.0 if nbytes <= cache else min(math.log2(nbytes / cache) / 2, 1.0)


class CompiledLoop(Executor):
    """Direct sums in the compiled loop (see the module docstring).

    Examples
    --------
    >>> from fftconv.core.problem import Spec
    >>> CompiledLoop().applies(Spec.of_shapes((512, 512), (3, 3), "same", "float32")) == (loops() is not None)
    True
    """

    name = "direct.compiled"
    method = "direct"
    exact_integers = True
    reads_boundary = True
    requirement = "the compiled loops (built at install), float32/float64/int64/complex data, " \
                  f"one kernel for every batch item, at most {MAX_TAPS} taps on its second-to-last axis " \
                  "(on every axis with batch axes)"

    def applies(self, spec: Spec, forced: bool = False) -> bool:
        if loops() is None:
            warn_if_missing()
            return False
        # with batch axes, a kernel axis may come before one of them where the boundary is read
        # in the source's axis order (`run_extended`): then any of its axes may be the rows'
        along_rows = spec.shape2 if spec.batch else spec.shape2[:-1]
        return (summed_dtype(self.compute_dtype(spec)) is not None and not spec.kernel_batched
                and max(along_rows, default=1) <= MAX_TAPS)

    def estimate(self, spec: Spec, costs: CostModel, memory_limit: int | None) -> Estimate:
        dtype = self.compute_dtype(spec)
        summed = summed_dtype(dtype)
        parts = 4 if dtype.kind == "c" else 1  # complex: four real sums (two for a real operand)
        ndim = max(3, spec.rank + len(spec.batch))  # as the loop sees it: at least three axes
        out_dims = [1, 1, *spec.batch, *(w.length for w in spec.windows)][-ndim:]
        kernel_dims = [1, 1, *([1] * len(spec.batch)), *spec.shape2][-ndim:]
        seconds, workspace = loop_estimate(out_dims, kernel_dims, summed, spec.threads, costs, parts)
        # copies: the image cast to what is summed, or split into its parts (and the result's);
        # none of an image read as it is
        image_points = math.prod(spec.shape1) * spec.batch_points
        if parts > 1 or spec.image_dtype != summed:
            workspace += image_points * summed.itemsize * (2 if parts > 1 else 1)
        if parts > 1:  # the image's parts copied out and the result's two parts copied in
            out_points = spec.out_points * spec.batch_points
            workspace += 2 * out_points * summed.itemsize
            # plain strided copies into kept (warm) buffers: the cached copy rate (512² * 3²
            # complex128: 75 us a part, 0.29 ns a point; copy_point prices transform buffers)
            seconds += 2 * (image_points + out_points) * costs.copy_point_cached * summed.itemsize / 8
        return Estimate(costs.direct_overhead + seconds, workspace)

    def run(self, problem: Problem, plan: Plan, out: np.ndarray, prepared: object = None,
            check_finite: bool = True) -> None:
        kernel = problem.kernel()
        if check_finite and kernel.dtype.kind in "fc" and not np.isfinite(kernel).all():
            raise NonFiniteInput  # it would meet the zero extension (inf * 0)
        batch = problem.x.shape[: problem.x.ndim - problem.rank]
        flipped = np.flip(kernel).reshape((1,) * len(batch) + kernel.shape)  # a correlation kernel
        ranges = [(0, n) for n in batch]  # batch axes: read as they are
        ranges += [window_reads(n2, w) for n2, w in zip(kernel.shape, problem.windows)]
        correlate_extended(problem.x, flipped, ranges, "constant", 0, out, plan.spec.threads)

    def run_extended(self, source: np.ndarray, ranges: Sequence[tuple[int, int]], mode: str, cval: object,
                     kernel: np.ndarray, plan: Plan, out: np.ndarray) -> bool:
        """Correlate the extension of ``source`` over ``ranges`` (extended coordinates per
        axis) by boundary ``mode`` with ``kernel`` (one axis per source axis) into ``out``;
        False, having done nothing, where the zero-extension path must serve instead (a
        non-finite kernel meets the constant as scipy.ndimage computes it there)."""
        if kernel.dtype.kind in "fc" and not np.isfinite(kernel).all():
            return False
        correlate_extended(source, kernel, ranges, mode, cval, out, plan.spec.threads)
        return True

    def prepare_extended(self, ranges: Sequence[tuple[int, int]], mode: str, cval: object, kernel: np.ndarray,
                         plan: Plan) -> Callable[[np.ndarray, np.ndarray], bool]:
        real = plan.compute_dtype.kind != "c" and kernel.ndim <= 3
        if not real or (kernel.dtype.kind in "fc" and not np.isfinite(kernel).all()):
            return super().prepare_extended(ranges, mode, cval, kernel, plan)
        return _Route(ranges, mode, cval, kernel, plan.compute_dtype, plan.spec.threads)


class _Route:
    """One real correlation of up to three axes with everything but the source and the output
    prepared: the kernel in the loop's layout, the index maps, the middle run, the constant.
    A call with a contiguous source of the dtype summed and the shape of the previous call
    goes straight to the loop (the lane's repeated calls: 1.9 of a 64x64 * 3x3 call's 4.4 us
    went to preparing the arguments again)."""

    def __init__(self, ranges, mode: str, cval, kernel: np.ndarray, dtype: np.dtype, threads: int):
        self.summed = summed_dtype(dtype)
        padded = [(0, 1)] * (3 - kernel.ndim) + list(ranges)
        self.kernel = np.ascontiguousarray(kernel.reshape((1,) * (3 - kernel.ndim) + kernel.shape),
                                           dtype=self.summed)
        self.padded, self.mode, self.threads = padded, mode, threads
        self.fill = _fill(cval, self.summed)
        self.shape = None  # the source shape the maps were made for
        self.source_shape = None  # ... as the caller gives it, and the output's (as given, and 3-D)
        self.out_shapes: tuple = ((), ())
        self.one_call: tuple | None = None  # the loop's arguments after the arrays, for one call
        self.loop = loops().correlate

    def _maps(self, shape: tuple[int, ...]) -> None:
        self.maps, self.mid = _reads(self.padded, shape, self.mode)
        self.shape = shape
        outputs = math.prod(b - a - k + 1 for (a, b), k in zip(self.padded, self.kernel.shape))
        split = self.threads > 1 and splits(outputs * self.kernel.size, self.summed)
        self.one_call = None if split else (*self.maps, self.mid, *self.fill, False)

    def __call__(self, source: np.ndarray, out: np.ndarray) -> bool:
        one_call = self.one_call
        if (one_call is not None and source.shape == self.source_shape and out.shape == self.out_shapes[0]
                and source.dtype == self.summed and out.dtype == self.summed
                and source.flags.c_contiguous and out.flags.c_contiguous):
            # the loop reads a 1-D or 2-D array as 3-D itself: no reshape
            self.loop(source, self.kernel, out, *one_call)
            return True
        x = source.astype(self.summed, copy=False)
        if x.strides[-1] != x.itemsize:
            x = np.ascontiguousarray(x)
        x3 = x.reshape((1,) * (3 - x.ndim) + x.shape)
        if x3.shape != self.shape:
            self._maps(x3.shape)
        target = out if out.dtype == self.summed and out.strides[-1] == out.itemsize else \
            np.empty(out.shape, self.summed)
        out3 = target.reshape((1,) * (3 - target.ndim) + target.shape)
        self.source_shape, self.out_shapes = source.shape, (out.shape, out3.shape)
        _call(x3, self.kernel, out3, *self.maps, self.mid, self.fill, False, self.threads)
        if target is not out:
            np.copyto(out, target, casting="unsafe")
        return True


def correlate_extended(x: np.ndarray, k: np.ndarray, ranges: Sequence[tuple[int, int]], mode: str,
                       cval: object, out: np.ndarray, threads: int = 1) -> np.ndarray:
    """``out[i] = sum_j k[j] * ext[i + j]`` over every axis, where ``ext`` is ``x`` extended by
    ``mode`` (`fftconv.core.boundary`) and ``ranges`` gives, per axis, the extended
    coordinates ``[start, stop)`` that ``out``'s sums read (``stop - start`` is the output's
    length plus the kernel's, minus one). ``out``'s dtype (float32, float64, int64, uint64,
    complex64 or complex128) is what the sum is computed in.

    Examples
    --------
    >>> import numpy as np
    >>> out = np.empty(5)
    >>> correlate_extended(np.arange(5.0), np.array([1.0, 2.0, 0.0]), [(-1, 6)], "reflect", 0.0, out)
    array([ 0.,  2.,  5.,  8., 11.])
    """
    summed = summed_dtype(out.dtype)
    if summed is None:
        raise TypeError(f"the compiled loop does not sum in {out.dtype}")
    if x.dtype != summed or (x.ndim and x.strides[-1] != x.itemsize):  # x is copied to be summed
        x, ranges = narrowed_to_reads(x, ranges, mode)
    if out.dtype.kind == "u":  # unsigned 64-bit: summed as signed, the same bits
        correlate_extended(x.astype(np.uint64, copy=False).view(np.int64),
                           k.astype(np.uint64, copy=False).view(np.int64), ranges, mode, cval,
                           out.view(np.int64), threads)
        return out
    if out.dtype.kind != "c":
        target = out if out.strides[-1] == out.itemsize else np.empty(out.shape, summed)
        _sum_terms(target, [(x, k, cval)], ranges, mode, threads)
        if target is not out:
            np.copyto(out, target)
        return out
    # complex: (xr + i xi) * (kr + i ki), the constant's parts extending each of x's parts
    c = complex(np.asarray(cval).item())
    xr, xi = _parts(x, summed, kept=True)
    kr, ki = _parts(k, summed)
    real = [(xr, kr, c.real)] + ([(xi, -ki, c.imag)] if xi is not None and ki is not None else [])
    imag = ([(xr, ki, c.real)] if ki is not None else []) + ([(xi, kr, c.imag)] if xi is not None else [])
    part = _buffer(2, out.shape, summed)
    for terms, view in ((real, out.real), (imag, out.imag)):
        _sum_terms(part, terms, ranges, mode, threads)
        view[...] = part
    return out


def narrowed_to_reads(x: np.ndarray, ranges: Sequence[tuple[int, int]], mode: str
                      ) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """``x`` narrowed to the part of each axis that the extended coordinates ``ranges`` read
    by ``mode``, and the ranges in the narrowed array's coordinates: the same sums, where ``x``
    is to be copied to be summed (a cast, strided rows), so that a block of a large source
    copies its own reads rather than the whole source (a 3000² uint8 image under a 4 MiB
    limit was cast whole to float64 for each of its 64 blocks: 78 MiB at its peak). An axis
    whose extension beyond an edge would read otherwise from the narrowed axis (a periodic
    one, a reflection that reaches the far edge) is kept whole.

    Examples
    --------
    >>> x = np.arange(10.0)
    >>> narrowed_to_reads(x, [(4, 8)], "reflect")
    (array([4., 5., 6., 7.]), [(0, 4)])
    >>> narrowed_to_reads(x, [(-2, 3)], "reflect")[1], narrowed_to_reads(x, [(-2, 3)], "wrap")[1]
    ([(-2, 3)], [(-2, 3)])
    >>> narrowed_to_reads(x, [(-2, 3)], "reflect")[0]
    array([0., 1., 2.])
    """
    if all(start <= 0 and stop >= n for (start, stop), n in zip(ranges, x.shape)):
        return x, list(ranges)  # every axis read whole (a whole image's call): nothing to narrow
    slices, narrowed = [], []
    for (start, stop), n in zip(ranges, x.shape):
        lo, hi = max(start, 0), min(stop, n)
        below = _index_map(start, 0, n, mode) if start < 0 else None
        above = _index_map(n, stop, n, mode) if stop > n else None
        for part in (below, above):
            read = part[part >= 0] if part is not None else part
            if read is not None and read.size:
                lo, hi = min(lo, int(read.min())), max(hi, int(read.max()) + 1)
        exact = hi > lo and (below is None or np.array_equal(_index_map(start - lo, -lo, hi - lo, mode),
                                                              np.where(below >= 0, below - lo, -1)))
        exact = exact and (above is None or np.array_equal(_index_map(n - lo, stop - lo, hi - lo, mode),
                                                            np.where(above >= 0, above - lo, -1)))
        if exact and (lo, hi) != (0, n):
            slices.append(slice(lo, hi))
            narrowed.append((start - lo, stop - lo))
        else:
            slices.append(slice(None))
            narrowed.append((start, stop))
    return x[tuple(slices)], narrowed


#: Bytes of each buffer a complex sum keeps from call to call (the image's two parts, a part
#: of the result): the first touch of fresh ones, their page faults, took a 512² complex128
#: sum of a 3x3 kernel 4.6 ms where its four real sums take 0.8 ms (AMD EPYC).
COMPLEX_KEPT_BYTES = 4 << 20


def _buffer(slot: int, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A kept buffer of the complex sums (`COMPLEX_KEPT_BYTES`), or a fresh one if too large."""
    kept = kept_buffer("complex sums", slot, shape, dtype, COMPLEX_KEPT_BYTES)
    return kept if kept is not None else np.empty(shape, dtype)


def _parts(a: np.ndarray, summed: np.dtype, kept: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Real and imaginary parts as contiguous arrays of ``summed`` (None: a real array has
    none), in kept buffers with ``kept``."""
    if a.dtype.kind != "c":
        return a, None
    parts = []
    for slot, view in enumerate((a.real, a.imag)):
        part = _buffer(slot, a.shape, summed) if kept else np.empty(a.shape, summed)
        np.copyto(part, view, casting="unsafe")
        parts.append(part)
    return parts[0], parts[1]


def _sum_terms(target: np.ndarray, terms, ranges, mode: str, threads: int) -> None:
    """``target`` = the sum of each (image, kernel, constant) term's correlation."""
    if not terms:
        target[...] = 0
    for i, (x, k, cval) in enumerate(terms):
        x = x.astype(target.dtype, copy=False)
        if x.ndim and x.strides[-1] != x.itemsize:
            x = np.ascontiguousarray(x)
        k = np.ascontiguousarray(k, dtype=target.dtype)
        _sum_planes(x, k, ranges, mode, cval, target, threads, accumulate=i > 0)


@functools.lru_cache(maxsize=512)
def _index_map(start: int, stop: int, n: int, mode: str) -> np.ndarray:
    m = index_map(start, stop, n, mode)
    m.flags.writeable = False
    return m


@functools.lru_cache(maxsize=512)
def _edge_map(start: int, stop: int, n: int, mode: str) -> np.ndarray:
    """`index_map` of the last axis as the loop reads it: only the entries outside the
    image's own columns (`_reads`' middle run) are written; the loop reads none inside it,
    which are left unwritten memory. A full map of a long 1-D signal was fresh memory mapped
    page by page: 0.3-0.4 ms of a first call of 65,227 * 226 (its sum 0.55 ms; AMD EPYC Zen 4)."""
    lo, hi = max(start, 0), min(stop, n)
    if hi <= lo:
        return _index_map(start, stop, n, mode)
    m = np.empty(stop - start, np.int64)
    m[: lo - start] = index_map(start, lo, n, mode)
    m[hi - start:] = index_map(hi, stop, n, mode)
    m.flags.writeable = False
    return m


def _reads(ranges, shape: tuple[int, ...], mode: str) -> tuple[list[np.ndarray], tuple[int, int, int]]:
    """What the loop reads of a source of ``shape``: the index map of each axis (the last
    axis' written outside the middle run only: `_edge_map`), and the run of the last axis
    copied as a block (the image's own columns: extended start, source start, length)."""
    maps = [_index_map(start, stop, n, mode) for (start, stop), n in zip(ranges[:-1], shape[:-1])]
    (start, stop), n = ranges[-1], shape[-1]
    maps.append(_edge_map(start, stop, n, mode))
    lo, hi = max(start, 0), min(stop, n)
    return maps, ((lo - start, lo, hi - lo) if hi > lo else (0, 0, 0))


def _fill(cval: object, dtype: np.dtype) -> tuple[float, int]:
    """The constant as the loop takes it: a float, and an integer for integer sums."""
    value = np.asarray(cval).item()
    return (0.0, int(value)) if np.dtype(dtype).kind in "iu" else (float(value), 0)


def _sum_planes(x: np.ndarray, k: np.ndarray, ranges, mode: str, cval, out: np.ndarray, threads: int,
                accumulate: bool) -> None:
    """One real term: 3-D calls of the loop (leading axes beyond three, rare: one call per
    output index and kernel index of them)."""
    while x.ndim < 3:  # one plane, one row
        x, k, out, ranges = x[None], k[None], out[None], [(0, 1), *ranges]
    maps, mid = _reads(ranges, x.shape, mode)
    fill = _fill(cval, out.dtype)
    lead = x.ndim - 3
    if lead == 0:  # the common case: one call
        _call(x, k, out, *maps, mid, fill, accumulate, threads)
        return
    for p in np.ndindex(*out.shape[:lead]):
        written = accumulate
        for c in np.ndindex(*k.shape[:lead]):
            src = [int(maps[a][p[a] + c[a]]) for a in range(lead)]
            if min(src, default=0) < 0:  # planes of the constant
                if cval == 0:
                    continue
                volume, planes = x[(0,) * lead], np.full_like(maps[lead], -1)
            else:
                volume, planes = x[tuple(src)], maps[lead]
            _call(volume, k[c], out[p], planes, maps[-2], maps[-1], mid, fill, written, threads)
            written = True
        if not written:
            out[p] = 0


def _call(x, k, out, planes, rows, cols, mid, fill, accumulate: bool, threads: int) -> None:
    """One 3-D call of the loop, its output cut into chunks that threads claim one at a time
    when threads pay (`CHUNKS_PER_THREAD`): whole planes where there are enough of them, else
    whole blocks of rows (`BLOCK_ROWS`; a row left over is summed alone, `ROW_FACTOR`). Chunks of
    rows re-read the kernel's height less one rows each: 3-D problems split so ran slower on two
    threads than on one (48x48x48 * 7x7x7 float32: 1.02 against 0.87 ms; AMD EPYC Zen 4)."""
    depth, height = out.shape[:2]
    workers = min(threads, max(depth, height)) if splits(out.size * k.size, out.dtype) else 1
    if workers <= 1:
        loops().correlate(x, k, out, planes, rows, cols, mid, *fill, accumulate)
        return
    if depth >= workers * CHUNKS_PER_THREAD:
        chunks, unit, length, overlap = workers * CHUNKS_PER_THREAD, 1, depth, k.shape[0] - 1
    else:
        unit, length, overlap = BLOCK_ROWS, height, k.shape[1] - 1
        chunks = min(-(-height // unit), workers * CHUNKS_PER_THREAD)
    units = -(-length // unit)
    edges = [min(length, unit * (units * c // chunks)) for c in range(chunks + 1)]

    def runner() -> Callable[[int], None]:
        def run(c: int) -> None:
            a, b = edges[c], edges[c + 1]
            if unit == 1:
                part, maps = out[a:b], (planes[a:b + overlap], rows)
            else:
                part, maps = out[:, a:b], (planes, rows[a:b + overlap])
            loops().correlate(x, k, part, *maps, cols, mid, *fill, accumulate)
        return run

    claim_in_turn(chunks, workers, runner)
