"""scipy.ndimage's separable linear filters on fftconv's engine: ``correlate1d``,
``convolve1d``, ``gaussian_filter(1d)``, ``uniform_filter(1d)``, ``gaussian_laplace``,
``gaussian_gradient_magnitude``, ``laplace``, ``sobel``, ``prewitt``, ``generic_laplace`` and
``generic_gradient_magnitude``, with scipy.ndimage's signatures, outputs, dtypes and errors.

Each filter is what scipy.ndimage makes of it: a sequence of 1-D passes (`Pass`: an axis,
correlation taps, a boundary mode), or several such sequences combined (the terms of a
Laplacian, the components of a gradient). Every pass is one planned filter along its axis
(`fftconv.ndimage.correlate` with a 1-D kernel): the planner picks running sums for a box
(a uniform filter costs the same for 3 taps as for 101), the compiled direct loop, an FFT
per line or overlap-save tiles, and the pass reads the boundary itself, block by block for
memmaps and datasets. Intermediate results are kept in the output's dtype, as scipy keeps
them (integer outputs truncate after every pass, as scipy's do). Terms that begin with the
same passes compute them once (scipy computes them again for every term).

Float32 images with float32 outputs are filtered in float32 (scipy sums in double): results
stay within float32's rounding of scipy's, and the passes run twice as wide.

`plan` shows the passes of a call and the plan of each, without running it.
"""

from __future__ import annotations

import functools
import math
import numbers
import operator
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..core.memory import check_fits, kept_buffer
from ..engine import integer_passes, lane
from ..engine.blocks import filter_block
from ..kernels import gaussian_1d
from . import scipy_passes
from .arguments import NDImageMode, check_axes, check_cval_is_a_number, normalize_sequence
from .box_sums import box_means, is_long_box
from .filters import _REAL, _filter, _output, _source, block_budget, prepare_filter

__all__ = [
    "convolve1d",
    "correlate1d",
    "gaussian_filter",
    "gaussian_filter1d",
    "gaussian_gradient_magnitude",
    "gaussian_laplace",
    "generic_gradient_magnitude",
    "generic_laplace",
    "laplace",
    "prewitt",
    "sobel",
    "uniform_filter",
    "uniform_filter1d",
]

#: Bytes of a slab's intermediate result when the passes run slab by slab (`_run_in_slabs`):
#: small enough to stay in the cache between the passes ...
SLAB_BYTES = 4 << 20
#: ... but at least this many lines, and this many times the first pass's taps (its halo is
#: read again for every slab).
SLAB_MIN_ROWS = 8
SLAB_HALOS = 4


@dataclass(frozen=True)
class Pass:
    """One 1-D filter of a separable filter: correlate along ``axis`` with ``taps`` (the
    output at ``i`` reads ``i - length // 2 - origin`` onwards), reading beyond the edges
    with ``mode`` and ``cval``. A box (uniform_filter's) is ``box`` taps of ``1 / box`` and
    no ``taps``: a box may be far longer than any line (``size=10**9``), and is never spelt out
    where running sums or prefix sums compute it. ``taps`` are Python numbers (float, or
    complex), as ``tolist`` gives them."""

    axis: int
    taps: tuple[float, ...]
    mode: str
    cval: complex | float
    origin: int = 0
    box: int = 0

    def __post_init__(self) -> None:
        check_cval_is_a_number(self.cval)  # before a pass is hashed (a list would fail there)
        # computed once: terms and their prefixes are hashed ~20 times a call (12 us of a 110x79
        # uniform_filter's 94)
        real = not isinstance(self.cval, complex) and complex not in map(type, self.taps)  # (C's loop)
        object.__setattr__(self, "real", real)
        fields = (self.axis, self.taps, self.mode, self.cval, self.origin, self.box)
        object.__setattr__(self, "_hash", hash(fields))

    #: Whether the taps and ``cval`` are real numbers.
    real: bool = field(init=False, repr=False, compare=False)
    _hash: int = field(init=False, repr=False, compare=False)

    def __hash__(self) -> int:
        return self._hash

    @property
    def length(self) -> int:
        """The number of taps."""
        return self.box or len(self.taps)

    def describe(self) -> str:
        if self.length > 5:
            taps = f"{self.length} taps"
        else:
            taps = ", ".join(f"{t:.4g}" for t in (self.taps or (1.0 / self.box,) * self.box))
        origin = f", origin {self.origin}" if self.origin else ""
        return f"axis {self.axis}: [{taps}], mode {self.mode!r}{origin}"

    def weights(self, source_dtype: np.dtype, out_dtype: np.dtype) -> np.ndarray:
        """The taps as the engine takes them for a ``source_dtype`` image filtered into
        ``out_dtype``: float32 for float32 images and outputs (summed in float32: scipy sums
        in double, the difference is float32's rounding), complex taps as complex128, else
        float64 as scipy.ndimage reads weights.

        Examples
        --------
        >>> Pass(0, (0.25, 0.5, 0.25), "reflect", 0.0).weights(np.dtype("f4"), np.dtype("f4"))
        array([0.25, 0.5 , 0.25], dtype=float32)
        """
        single_precision = np.dtype(source_dtype) == np.float32 and out_dtype == np.float32
        if self.box:  # running sums take 1 / n itself (`direct_box.box_value`)
            return np.full(self.box, 1.0 / self.box, np.float32 if single_precision else np.float64)
        if any(isinstance(t, complex) for t in self.taps):
            return np.asarray(self.taps, np.complex128)
        exact = np.asarray(self.taps, np.float64)
        if not single_precision:
            return exact
        single = exact.astype(np.float32)
        if (single == single[0]).all():  # a box: running sums take 1 / n itself (`direct_box.box_value`)
            return single
        # the rounding of the taps would scale every output alike (a Gaussian's 1 + 3e-8): the
        # largest tap takes it back, so the taps' sum is the exact one's within its last bit
        peak = int(np.argmax(np.abs(exact)))
        single[peak] = np.float32(exact[peak] + (exact.sum() - single.astype(np.float64).sum()))
        return single


@dataclass
class Job:
    """A separable filter, ready to run: the passes of each term, how the terms combine
    ('one', 'sum' or 'magnitude'), the source, the output's dtype and array (None: a new
    one) and the engine's options."""

    name: str
    source: object
    terms: list[tuple[Pass, ...]]
    combine: str
    out_dtype: np.dtype
    out_array: object
    method: str = "auto"
    threads: int | None = None
    progress: bool = False


# ---- scipy.ndimage's readings of its arguments -------------------------------------------------


def _axis(axis: object, ndim: int) -> int:
    """``axis`` checked against ``ndim`` (NumPy's AxisError, as scipy raises)."""
    return int(np.lib.array_utils.normalize_axis_index(operator.index(axis), ndim))


def _prepared(input: object, output: object, promote: bool = True) -> tuple[object, np.dtype, object]:
    """The source (arrays, memmaps and datasets as `fftconv.ndimage.correlate` takes them),
    the output dtype and the output array given (or None); ``promote`` as `filters._output`'s."""
    x = _image(input)
    out_dtype, out_array = _output(output, x, _REAL, promote)
    return x, out_dtype, out_array


def _image(input: object) -> object:
    """The image as the passes read it: `filters._source`'s array or dataset, a memmap kept
    a memmap (its passes stream in blocks and keep their intermediates on disk)."""
    x = _source(input)
    return input if isinstance(input, np.memmap) else x


def _engine(kwargs: dict) -> dict:
    """The engine's keyword-only options taken out of ``kwargs`` (``method``, ``threads``,
    ``progress``), for the filters that pass their other keywords on as scipy's do."""
    return {key: kwargs.pop(key) for key in ("method", "threads", "progress") if key in kwargs}


# ---- the passes of each filter ------------------------------------------------------------------


#: Bytes a pass's tap takes while it is made: the float64 array, its list of Python floats
#: and the tuple a `Pass` keeps (a radius of 10**9 taps would need 80 GB, and the process was
#: killed for it, as scipy's is).
TAP_BYTES = 80


def gaussian_pass(
    axis: int, sigma: float, order: int, mode: str, cval: object, truncate: float, radius: object
) -> Pass:
    """scipy.ndimage.gaussian_filter1d's pass: the derivative of order ``order`` of a Gaussian
    of standard deviation ``sigma`` sampled out to ``radius`` (default ``int(truncate * sigma
    + 0.5)``), correlated reversed.

    Examples
    --------
    >>> gaussian_pass(0, 1.0, 0, "reflect", 0.0, 4.0, 1).describe()
    "axis 0: [0.2741, 0.4519, 0.2741], mode 'reflect'"
    """
    sd = float(sigma)
    width = int(truncate * sd + 0.5) if radius is None else radius
    if not isinstance(width, numbers.Integral) or width < 0:
        raise ValueError("Radius must be a nonnegative integer.")
    order = operator.index(order)
    taps = 2 * int(width) + 1
    check_fits(taps * TAP_BYTES, f"a Gaussian pass of {taps:,} taps (sigma {sd:g}, radius {int(width):,})",
               "use a smaller sigma, truncate or radius")
    return Pass(axis, _gaussian_taps(sd, order, int(width)), mode, cval)


@functools.lru_cache(maxsize=256)
def _gaussian_taps(sigma: float, order: int, radius: int) -> tuple[float, ...]:
    """A Gaussian pass's taps, remembered: sampling them took 13 us of a 48x48 image's 78 us
    `gaussian_filter` (the same sigmas come again and again)."""
    return tuple(gaussian_1d(sigma, order, radius)[::-1].tolist())


def gaussian_filter_passes(
    ndim: int,
    sigma: object,
    order: object = 0,
    mode: NDImageMode | Sequence[NDImageMode] = "reflect",
    cval: object = 0.0,
    truncate: float = 4.0,
    *,
    radius: object = None,
    axes: object = None,
) -> tuple[Pass, ...]:
    """scipy.ndimage.gaussian_filter's passes for an image of ``ndim`` axes (axes whose sigma
    is not above 1e-15 have none).

    Examples
    --------
    >>> [p.axis for p in gaussian_filter_passes(3, [1.0, 0.0, 2.0])]
    [0, 2]
    """
    axes = check_axes(axes, ndim)
    orders = normalize_sequence(order, len(axes))
    sigmas = normalize_sequence(sigma, len(axes))
    modes = normalize_sequence(mode, len(axes))
    radii = normalize_sequence(radius, len(axes))
    return tuple(
        gaussian_pass(a, s, o, m, cval, truncate, r)
        for a, s, o, m, r in zip(axes, sigmas, orders, modes, radii)
        if s > 1e-15
    )


def uniform_pass(axis: int, size: object, mode: str, cval: object, origin: object) -> Pass:
    """scipy.ndimage.uniform_filter1d's pass: ``size`` equal taps summing to 1.

    Examples
    --------
    >>> uniform_pass(1, 4, "nearest", 0.0, -1).describe()
    "axis 1: [0.25, 0.25, 0.25, 0.25], mode 'nearest', origin -1"
    """
    if size < 1:
        raise RuntimeError("incorrect filter size")
    size, origin = int(size), operator.index(origin)
    if not 0 <= size // 2 + origin < size:
        raise ValueError("invalid origin")
    return Pass(axis, (), mode, cval, origin, box=size)


def weights_pass(axis: int, weights: object, mode: str, cval: object, origin: object) -> Pass:
    """scipy.ndimage.correlate1d's pass for ``weights`` (real: read as float64; complex: as
    complex128, conjugated by the correlation as scipy's are), checked as scipy checks them.

    Examples
    --------
    >>> weights_pass(0, [1, 3], "reflect", 0.0, 0).describe()
    "axis 0: [1, 3], mode 'reflect'"
    """
    w = np.asarray(weights)
    w = w.astype(np.complex128 if w.dtype.kind == "c" else np.float64)
    if w.ndim != 1 or w.shape[0] < 1:
        raise RuntimeError("no filter weights given")
    origin = operator.index(origin)
    if origin < -(len(w) // 2) or origin > (len(w) - 1) // 2:
        raise ValueError(
            "Invalid origin; origin must satisfy -(len(weights) // 2) <= origin <= (len(weights)-1) // 2"
        )
    return Pass(axis, tuple(w.tolist()), mode, cval, origin)


def _derivative_passes(
    ndim: int,
    axis: int,
    derivative: tuple[float, ...],
    smoothing: tuple[float, ...],
    modes: list,
    cval: object,
) -> tuple[Pass, ...]:
    """sobel's and prewitt's passes: the derivative along ``axis``, then the smoothing along
    every other axis."""
    passes = [Pass(axis, derivative, modes[axis], cval)]
    passes += [Pass(a, smoothing, modes[a], cval) for a in range(ndim) if a != axis]
    return tuple(passes)


# ---- running the passes ------------------------------------------------------------------------


def _run_pass(source: object, p: Pass, target: object, out_dtype: np.dtype, job: Job) -> object:
    if type(source) is np.ndarray and type(target) is np.ndarray and source.dtype.kind in "iu" \
            and integer_passes.filter1d(source, p.box or p.taps, p.axis, target, p.mode, p.cval, p.origin,
                                        integer_passes.PLANNED_FLOAT_TAPS):
        return target  # (`scipy_passes.on_integer_pass`)
    if long_box(source, p) and _long_box_pass(source, p, target, out_dtype):
        return target
    _filter(  # along the lines of a volume's axis (`fftconv.core.lines.line_shape`)
        source,
        p.weights(np.dtype(source.dtype), out_dtype),
        target,
        p.mode,
        p.cval,
        p.origin,
        (p.axis,),
        job.method,
        job.threads,
        False,
        job.progress,
    )
    return target


def long_box(source: object, p: Pass) -> bool:
    """Whether pass ``p`` is a box far longer than ``source``'s lines, computed from prefix
    sums (`box_sums`) rather than running sums."""
    return bool(p.box) and is_long_box(p.box, source.shape[p.axis])


#: Bytes a long box's prefix sums take per sample of a block (float64 or complex128, a line
#: and its period twice over, the counts of NaN and inf).
LONG_BOX_BYTES_PER_SAMPLE = 64


def _long_box_pass(source: object, p: Pass, target: object, out_dtype: np.dtype) -> bool:
    """Pass ``p``, a long box, into ``target`` by `box_sums.box_means`, over blocks that
    hold whole lines along its axis and fit the filter's block budget (memmaps and datasets
    are read a block at a time). False if `box_means` left it to the running sums."""
    budget = block_budget(source)
    shape = tuple(source.shape)
    if budget is None or source.ndim == 1:
        if isinstance(source, np.ndarray) and isinstance(target, np.ndarray):
            return box_means(source, p.axis, p.box, p.origin, p.mode, p.cval, target)
        budget = budget or math.prod(shape) * LONG_BOX_BYTES_PER_SAMPLE
    across = max((a for a in range(len(shape)) if a != p.axis), key=lambda a: shape[a], default=None)
    if across is None:
        across, step = p.axis, shape[p.axis]
    else:
        per_index = math.prod(shape) // max(shape[across], 1) * LONG_BOX_BYTES_PER_SAMPLE
        step = max(1, budget // max(per_index, 1))
    for lo in range(0, shape[across], step):
        block = tuple(slice(lo, lo + step) if a == across else slice(None) for a in range(len(shape)))
        values = np.asarray(source[block])
        out = np.empty(values.shape, out_dtype)
        if not box_means(values, p.axis, p.box, p.origin, p.mode, p.cval, out):
            return False  # complex data with NaN or inf: running sums for the whole pass
        target[block] = out
    return True


def _scratch_like(job: Job) -> object:
    """An array for an intermediate result: in memory for an in-memory image, else a
    temporary file mapped into memory (the image and its passes need not fit in memory)."""
    shape = tuple(job.source.shape)
    if isinstance(job.source, np.ndarray) and not isinstance(job.source, np.memmap):
        return np.empty(shape, job.out_dtype)
    return np.memmap(tempfile.TemporaryFile(), job.out_dtype, "w+", shape=shape)


def _run_term(
    source: object, passes: tuple[Pass, ...], target: object, job: Job, shared: dict, uses: Counter | None
) -> object:
    """``passes`` applied in turn to ``source``, the last into ``target``. A prefix of passes
    that a later term also begins with (``uses``: how many terms still to run begin with
    each; None: the job's only term) is computed once and kept in ``shared`` until its last
    term has used it."""
    if uses is None:
        start, alone = 0, True
    else:
        start = next((i for i in range(len(passes), 0, -1) if passes[:i] in shared), 0)
        alone = all(uses[passes[: i + 1]] == 1 for i in range(len(passes)))  # no prefix shared
    rows = _slab_rows(source, passes, job.out_dtype) if start == 0 and alone else 0
    if rows:
        _run_in_slabs(source, passes, target, job, rows)
    else:
        _run_whole(source, passes, start, target, job, shared, uses)
    for i in range(len(passes) if uses is not None else 0):
        uses[passes[: i + 1]] -= 1
        if uses[passes[: i + 1]] == 0:
            shared.pop(passes[: i + 1], None)
    return target


def _run_whole(source, passes, start: int, target, job: Job, shared: dict, uses: Counter | None) -> None:
    """The passes from ``start`` on, each over the whole image (`_run_term`)."""
    current = shared[passes[:start]] if start else source
    free: list = []  # intermediates of this term that may be overwritten
    for i in range(start, len(passes)):
        prefix = passes[: i + 1]
        keep = uses is not None and uses[prefix] > 1
        if keep:
            destination = _scratch_like(job)
        elif i == len(passes) - 1:
            destination = target
        else:
            destination = free.pop() if free else _scratch_like(job)
        _run_pass(current, passes[i], destination, job.out_dtype, job)
        if keep:
            shared[prefix] = destination
        if current is not source and not any(current is kept for kept in shared.values()):
            free.append(current)
        current = destination
    if current is not target:  # the whole term is a prefix of a later one
        target[...] = current


def _slab_rows(source: object, passes: tuple[Pass, ...], out_dtype: np.dtype) -> int:
    """The lines of a slab when the passes can run slab by slab along the first axis
    (`_run_in_slabs`), else 0: an image in memory or memory-mapped, the first pass along the
    first axis and no other pass along it, and a slab's buffers (two intermediates and the
    first pass's extended read) within the filter's block budget. An image that would be one
    slab runs pass by pass: each pass then takes the lane (`fftconv.engine.lane`) on repeated
    calls, where a slab's first pass is planned at every call (~100 us: a 48x48
    `gaussian_filter` took 275 us where scipy's takes 40)."""
    if not (isinstance(source, np.ndarray) and source.ndim >= 2 and len(passes) >= 2
            and passes[0].axis == 0 and all(p.axis != 0 for p in passes[1:])) or long_box(source, passes[0]) \
            or scipy_passes.on_integer_pass(source, passes[0], out_dtype):
        return 0
    n, line_bytes = source.shape[0], max(1, math.prod(source.shape[1:]) * out_dtype.itemsize)
    rows = min(n, max(SLAB_MIN_ROWS, SLAB_HALOS * passes[0].length, SLAB_BYTES // line_bytes))
    budget = block_budget(source)
    if budget is not None:
        rows = min(rows, budget // (4 * line_bytes))
        if rows < min(n, SLAB_MIN_ROWS):
            return 0
    return rows if rows < n else 0


def _run_in_slabs(source: np.ndarray, passes: tuple[Pass, ...], target: np.ndarray, job: Job, rows: int
                  ) -> None:
    """The passes slab by slab (``rows`` lines) along the first axis: the first pass reads
    each slab's halo from the image (with its mode), the others run inside the slab, which
    holds whole lines along their axes, and the last writes the slab's part of ``target``.
    The intermediate results are a slab's, reused from slab to slab and warm in the cache,
    not an image's (on AMD EPYC a fresh image-sized intermediate cost as much as a pass: its
    pages), and a memory-mapped image needs no intermediate file."""
    first = passes[0]
    n, rest = source.shape[0], source.shape[1:]
    buffers = [_slab_buffer(i, (rows, *rest), job.out_dtype) for i in range(min(2, len(passes) - 1))]
    try:  # the first pass reads rows of a matrix (a volume's planes as one long row each)
        rows_of = source.reshape((n, math.prod(rest)), copy=False)
    except ValueError:  # not contiguous where it would have to be
        rows_of = source
    taps = first.weights(source.dtype, job.out_dtype)
    work, _, _ = prepare_filter(rows_of, taps, job.out_dtype, first.mode, first.cval, first.origin, (0,),
                                job.method, job.threads, False)
    for r0 in range(0, n, rows):
        r1 = min(n, r0 + rows)
        current = buffers[0][: r1 - r0]
        lo, hi = [r0, *[0] * (rows_of.ndim - 1)], [r1, *rows_of.shape[1:]]
        whole = tuple(slice(0, b - a) for a, b in zip(lo, hi))
        filter_block(rows_of, work, lo, hi, current.reshape((r1 - r0, *rows_of.shape[1:])), whole,
                     job.out_dtype)
        for i, p in enumerate(passes[1:], 1):
            destination = target[r0:r1] if i == len(passes) - 1 else buffers[i % 2][: r1 - r0]
            _run_pass(current, p, destination, job.out_dtype, job)
            current = destination


def _slab_buffer(index: int, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Slab buffer ``index`` (0 or 1) of ``shape``: kept from call to call in this thread up
    to `SLAB_BYTES` (`fftconv.core.memory.kept_buffer`), larger ones made for the call."""
    kept = kept_buffer("ndimage slabs", index, shape, dtype, SLAB_BYTES)
    return kept if kept is not None else np.empty(shape, dtype)


def run(job: Job) -> np.ndarray:
    """Run ``job``: each term's passes in turn (shared prefixes once), combined as scipy
    combines them (a Laplacian's terms summed in the output's dtype, a gradient's squared,
    summed and square-rooted in place), into the output. A small job runs its terms on
    scipy.ndimage's 1-D loops (`scipy_passes`), without shared prefixes or slabs; so does a
    larger one on its signature's first calls, and for good where its planned passes then
    proved the slower (`scipy_passes.route`: the calls it names are timed)."""
    on_scipy, signature = scipy_passes.route(job, _planned_runner)
    if signature is None:
        return _run(job, on_scipy)
    started = time.perf_counter()
    try:
        return _run(job, on_scipy)
    finally:
        lane.timed(signature, on_scipy, time.perf_counter() - started)


def _planned_runner(job: Job) -> Callable[[np.ndarray, np.ndarray | None], np.ndarray]:
    """What runs a call of ``job``'s signature on its planned passes, given its image and
    output array (or None), for the quick path (`scipy_passes.quick_terms`): `_run` of the
    same job with that image and output, none built from the call's arguments."""
    name, terms, combine, out_dtype, method, threads = (job.name, job.terms, job.combine, job.out_dtype,
                                                        job.method, job.threads)

    def runner(image: np.ndarray, out: np.ndarray | None) -> np.ndarray:
        return _run(Job(name, image, terms, combine, out_dtype, out, method, threads), False)

    return runner


def _run(job: Job, on_scipy: bool) -> np.ndarray:
    """`run`, its terms on scipy's loops (``on_scipy``) or the engine's passes."""
    source = job.source
    shape = tuple(source.shape)
    target = job.out_array if job.out_array is not None else np.empty(shape, job.out_dtype)
    terms = job.terms
    if not terms or (len(terms) == 1 and not terms[0] and job.combine != "magnitude"):
        # nothing to filter: a copy, as scipy's output[...] = input (a magnitude of an axis it
        # does not filter still squares and roots it; of no axis, a 0-d image, it is the copy)
        target[...] = np.asarray(source[...] if not isinstance(source, np.ndarray) else source)
        return target
    if (
        job.out_array is not None
        and isinstance(source, np.ndarray)
        and isinstance(target, np.ndarray)
        and np.may_share_memory(source, target)
    ):
        source = source.copy()  # the first pass must not overwrite what later passes read
    # how many terms begin with each prefix (a pass hashes its taps: not counted for scipy's loops,
    # nor for one term, which shares none: 1.4 us and the bookkeeping of ~15 of a 96x96
    # `gaussian_filter`'s 90)
    uses = None if on_scipy or len(terms) == 1 else Counter(term[: i + 1] for term in terms
                                                            for i in range(len(term)))
    shared: dict = {}
    for index, passes in enumerate(terms):
        destination = target if index == 0 else _scratch_like(job)
        if not passes:  # a term of no pass: the image itself
            destination[...] = source
            result = destination
        elif on_scipy:
            result = scipy_passes.run_term(source, passes, destination)
        else:
            result = _run_term(source, passes, destination, job, shared, uses)
        if job.combine == "magnitude":
            np.multiply(result, result, out=result)
        if index > 0:
            target += result
    if job.combine == "magnitude":
        np.sqrt(target, target, casting="unsafe")
    return target


def _quick_weights(input, weights, axis, output, mode, cval, origin, method, threads, progress,
                   convolution: bool) -> np.ndarray | None:
    """`correlate1d`'s (``convolution``: `convolve1d`'s) small plain call summed at once by
    scipy's loop (`scipy_passes.quick_taps`), or None: the full path serves it."""
    name = "convolve1d" if convolution else "correlate1d"
    if not scipy_passes.may_be_quick(input, name):
        return None
    plain = scipy_passes.plain_taps(weights, origin, convolution)
    if plain is None:
        return None
    taps, origin = plain
    return scipy_passes.quick_taps(input, taps, axis, output, mode, cval, origin, method, threads, progress,
                                   name)


def _quick_gaussian_taps(input, sigma, axis, order, truncate, radius) -> tuple[float, ...] | None:
    """`gaussian_filter1d`'s taps (reversed for the correlation; `_gaussian_taps`' remembered
    tuple, an array made only for a call the quick path runs) for a small plain call: a sigma
    above 1e-15 (`gaussian_filter` skips the axes of smaller ones), order and radius ints, no
    longer than the filtered line; None for any other call (the full path checks it)."""
    if type(input) is not np.ndarray or type(axis) is not int or not -input.ndim <= axis < input.ndim:
        return None
    if type(sigma) not in (float, int) or type(truncate) not in (float, int) or type(order) is not int:
        return None
    if not (1e-15 < sigma < math.inf and 0 <= truncate < math.inf and order >= 0):
        return None
    width = int(truncate * sigma + 0.5) if radius is None else radius
    if type(width) is not int or not 0 <= 2 * width < input.shape[axis]:
        return None
    return _gaussian_taps(float(sigma), order, width)


def _quick_axes(input: object, axes: object) -> tuple[int, ...] | None:
    """``axes`` of an array ``input`` as scipy.ndimage's filters read them (None: every axis;
    an int, or a list or tuple of distinct ints, in range, counted from 0), or None where the
    full path must read (and check) them.

    Examples
    --------
    >>> _quick_axes(np.zeros((2, 3, 4)), None), _quick_axes(np.zeros((2, 3, 4)), [-1, 0])
    ((0, 1, 2), (2, 0))
    >>> _quick_axes(np.zeros((2, 3)), (0, 0)) is None  # scipy refuses it: the full path says so
    True
    """
    # read by `check_axes`, as the full path reads them; only None, an int, a list or a tuple
    # (an iterator read here would be spent before the full path reads it)
    if type(input) is not np.ndarray or not (axes is None or type(axes) in (int, list, tuple)):
        return None
    try:
        return check_axes(axes, input.ndim)
    except (TypeError, ValueError):  # the full path raises it, as scipy does
        return None


def _quick_each(value: object, count: int) -> list | None:
    """A per-axis argument for ``count`` axes as scipy's filters spread it (a list or tuple of
    ``count`` values, or one value for all), or None (a sequence of another length, which the
    full path refuses)."""
    if type(value) in (list, tuple):
        return list(value) if len(value) == count else None  # type: ignore[arg-type]
    return [value] * count


def _quick_gaussian_terms(input: object, sigma: object, truncate: object, axes: object) -> list | None:
    """`gaussian_filter`'s passes (order 0, no radius) for `scipy_passes.quick_terms`: one per
    axis of ``axes`` whose sigma is above 1e-15, scipy's order; None where the full path serves."""
    at = _quick_axes(input, axes) if scipy_passes.may_be_quick(input, "gaussian_filter") else None
    sigmas = None if at is None else _quick_each(sigma, len(at))
    if sigmas is None:
        return None
    passes = []
    for axis, s in zip(at, sigmas):  # type: ignore[arg-type]
        if type(s) in (float, int) and s <= 1e-15:
            continue  # scipy skips the axis
        taps = _quick_gaussian_taps(input, s, axis, 0, truncate, None)
        if taps is None:
            return None
        passes.append((axis, taps, 0))
    return [passes]


def _quick_box_terms(input: object, size: object, origin: object, axes: object) -> list | None:
    """`uniform_filter`'s passes for `scipy_passes.quick_terms`: one per axis of ``axes`` whose
    size (an int of at least 1) is above 1, with its origin; None where the full path serves."""
    at = _quick_axes(input, axes) if scipy_passes.may_be_quick(input, "uniform_filter") else None
    sizes = None if at is None else _quick_each(size, len(at))
    origins = None if at is None else _quick_each(origin, len(at))
    if sizes is None or origins is None or not all(type(n) is int and n > 0 for n in sizes):
        return None
    return [[(a, n, o) for a, n, o in zip(at, sizes, origins) if n > 1]]  # type: ignore[arg-type]


def _read_only(*taps: float) -> np.ndarray:
    a = np.array(taps)
    a.flags.writeable = False
    return a


#: The fixed taps of the derivative filters' quick calls (`_quick_edges`, `laplace`).
_DERIVATIVE = _read_only(-1.0, 0.0, 1.0)
_SOBEL_SMOOTHING = _read_only(1.0, 2.0, 1.0)
_PREWITT_SMOOTHING = _read_only(1.0, 1.0, 1.0)
_SECOND_DIFFERENCE = _read_only(1.0, -2.0, 1.0)


def _quick_edges(name: str, input, axis, output, mode, cval, smoothing: np.ndarray, method, threads, progress
                 ) -> np.ndarray | None:
    """`sobel`'s or `prewitt`'s small plain call summed at once by scipy's loops
    (`scipy_passes.quick_terms`): the derivative along ``axis``, then ``smoothing`` along
    every other axis in turn, as scipy runs them; None for any other call."""
    at = scipy_passes._axis_of(input, axis) if scipy_passes.may_be_quick(input, name) else None
    if at is None:
        return None
    others = [(a, smoothing, 0) for a in range(input.ndim) if a != at]
    return scipy_passes.quick_terms(input, [[(at, _DERIVATIVE, 0)] + others], output, mode, cval, method,
                                    threads, progress, name)


# ---- the drop-ins ------------------------------------------------------------------------------


def correlate1d(
    input: object,
    weights: object,
    axis: int = -1,
    output: object = None,
    mode: NDImageMode = "reflect",
    cval: float = 0.0,
    origin: int = 0,
    *,
    method: str = "auto",
    threads: int | None = None,
    progress: bool = False,
) -> np.ndarray:
    """A 1-D correlation along ``axis`` (as ``scipy.ndimage.correlate1d``).

    Parameters are scipy's; ``method``, ``threads`` and ``progress`` as in
    `fftconv.ndimage.correlate`. Complex images and weights work as in scipy (complex weights
    are conjugated).

    Examples
    --------
    >>> import numpy as np, fftconv.ndimage
    >>> fftconv.ndimage.correlate1d([2, 8, 0, 4, 1, 9, 9, 0], weights=[1, 3])
    array([ 8, 26,  8, 12,  7, 28, 36,  9])
    """
    quick = _quick_weights(input, weights, axis, output, mode, cval, origin, method, threads, progress, False)
    if quick is not None:
        return quick
    return run(
        correlate1d_job(
            input,
            weights,
            axis,
            output,
            mode,
            cval,
            origin,
            method=method,
            threads=threads,
            progress=progress,
        )
    )


def convolve1d(
    input: object,
    weights: object,
    axis: int = -1,
    output: object = None,
    mode: NDImageMode = "reflect",
    cval: float = 0.0,
    origin: int = 0,
    *,
    method: str = "auto",
    threads: int | None = None,
    progress: bool = False,
) -> np.ndarray:
    """A 1-D convolution along ``axis`` (as ``scipy.ndimage.convolve1d``). Parameters as in
    `correlate1d`.

    Examples
    --------
    >>> import numpy as np, fftconv.ndimage
    >>> fftconv.ndimage.convolve1d([2, 8, 0, 4, 1, 9, 9, 0], weights=[1, 3])
    array([14, 24,  4, 13, 12, 36, 27,  0])
    """
    quick = _quick_weights(input, weights, axis, output, mode, cval, origin, method, threads, progress, True)
    if quick is not None:
        return quick
    return run(
        convolve1d_job(
            input,
            weights,
            axis,
            output,
            mode,
            cval,
            origin,
            method=method,
            threads=threads,
            progress=progress,
        )
    )


def correlate1d_job(
    input,
    weights,
    axis=-1,
    output=None,
    mode="reflect",
    cval=0.0,
    origin=0,
    *,
    method="auto",
    threads=None,
    progress=False,
    convolution: bool = False,
) -> Job:
    """`correlate1d`'s job (``convolution``: `convolve1d`'s), not run."""
    w = np.asarray(weights)
    if convolution:  # scipy's reading: reversed, origin mirrored (one further for even lengths)
        w = w[::-1]
        origin = -operator.index(origin) - (0 if w.ndim and w.shape[0] & 1 else 1)
        if w.dtype.kind == "c":
            w = w.conj()  # against the conjugation of complex weights by the correlation
    x = _image(input)
    if w.dtype.kind == "c" or np.dtype(x.dtype).kind == "c":  # a complex result, checked first as scipy does
        out_dtype, out_array = _output(output, x, w.astype(np.complex128))
        if np.dtype(x.dtype).kind != "c" and np.iscomplexobj(cval):
            raise ValueError("Cannot provide a complex-valued cval when the input is real.")
    else:
        out_dtype, out_array = _output(output, x, _REAL)
    p = weights_pass(_axis(axis, len(x.shape)), w, mode, cval, origin)
    return Job(
        "convolve1d" if convolution else "correlate1d",
        x,
        [(p,)],
        "one",
        out_dtype,
        out_array,
        method,
        threads,
        progress,
    )


def convolve1d_job(
    input,
    weights,
    axis=-1,
    output=None,
    mode="reflect",
    cval=0.0,
    origin=0,
    *,
    method="auto",
    threads=None,
    progress=False,
) -> Job:
    """`convolve1d`'s job, not run."""
    return correlate1d_job(
        input,
        weights,
        axis,
        output,
        mode,
        cval,
        origin,
        method=method,
        threads=threads,
        progress=progress,
        convolution=True,
    )


def gaussian_filter1d(
    input: object,
    sigma: float,
    axis: int = -1,
    order: int = 0,
    output: object = None,
    mode: NDImageMode = "reflect",
    cval: float = 0.0,
    truncate: float = 4.0,
    *,
    radius: int | None = None,
    method: str = "auto",
    threads: int | None = None,
    progress: bool = False,
) -> np.ndarray:
    """A 1-D Gaussian filter along ``axis``, or its derivative of ``order`` (as
    ``scipy.ndimage.gaussian_filter1d``).

    Examples
    --------
    >>> import fftconv.ndimage
    >>> fftconv.ndimage.gaussian_filter1d([1.0, 2.0, 3.0, 4.0, 5.0], 1)
    array([1.42704095, 2.06782203, 3.        , 3.93217797, 4.57295905])
    """
    quick_maybe = scipy_passes.may_be_quick(input, "gaussian_filter1d")
    taps = _quick_gaussian_taps(input, sigma, axis, order, truncate, radius) if quick_maybe else None
    if taps is not None:
        quick = scipy_passes.quick_taps(input, taps, axis, output, mode, cval, 0, method, threads, progress,
                                        "gaussian_filter1d")
        if quick is not None:
            return quick
    return run(
        gaussian_filter1d_job(
            input,
            sigma,
            axis,
            order,
            output,
            mode,
            cval,
            truncate,
            radius=radius,
            method=method,
            threads=threads,
            progress=progress,
        )
    )


def gaussian_filter1d_job(
    input,
    sigma,
    axis=-1,
    order=0,
    output=None,
    mode="reflect",
    cval=0.0,
    truncate=4.0,
    *,
    radius=None,
    method="auto",
    threads=None,
    progress=False,
) -> Job:
    """`gaussian_filter1d`'s job, not run."""
    x, out_dtype, out_array = _prepared(input, output)
    p = gaussian_pass(_axis(axis, len(x.shape)), sigma, order, mode, cval, truncate, radius)
    return Job("gaussian_filter1d", x, [(p,)], "one", out_dtype, out_array, method, threads, progress)


def gaussian_filter(
    input: object,
    sigma: object,
    order: object = 0,
    output: object = None,
    mode: NDImageMode | Sequence[NDImageMode] = "reflect",
    cval: float = 0.0,
    truncate: float = 4.0,
    *,
    radius: object = None,
    axes: object = None,
    method: str = "auto",
    threads: int | None = None,
    progress: bool = False,
) -> np.ndarray:
    """A multidimensional Gaussian filter (as ``scipy.ndimage.gaussian_filter``): one pass per
    axis (``sigma``, ``order``, ``mode`` and ``radius`` per axis or for all), in the order of
    ``axes``.

    Examples
    --------
    >>> import numpy as np, fftconv.ndimage
    >>> fftconv.ndimage.gaussian_filter(np.arange(50, step=2).reshape(5, 5), sigma=1)
    array([[ 4,  6,  8,  9, 11],
           [10, 12, 14, 15, 17],
           [20, 22, 24, 25, 27],
           [29, 31, 33, 34, 36],
           [35, 37, 39, 40, 42]])
    """
    if type(order) is int and order == 0 and radius is None:
        terms = _quick_gaussian_terms(input, sigma, truncate, axes)
        if terms is not None:
            quick = scipy_passes.quick_terms(input, terms, output, mode, cval, method, threads, progress,
                                             "gaussian_filter")
            if quick is not None:
                return quick
    return run(
        gaussian_filter_job(
            input,
            sigma,
            order,
            output,
            mode,
            cval,
            truncate,
            radius=radius,
            axes=axes,
            method=method,
            threads=threads,
            progress=progress,
        )
    )


def gaussian_filter_job(
    input,
    sigma,
    order=0,
    output=None,
    mode="reflect",
    cval=0.0,
    truncate=4.0,
    *,
    radius=None,
    axes=None,
    method="auto",
    threads=None,
    progress=False,
) -> Job:
    """`gaussian_filter`'s job, not run."""
    x, out_dtype, out_array = _prepared(input, output, promote=False)
    passes = gaussian_filter_passes(
        len(x.shape), sigma, order, mode, cval, truncate, radius=radius, axes=axes
    )
    return Job("gaussian_filter", x, [passes], "one", out_dtype, out_array, method, threads, progress)


def uniform_filter1d(
    input: object,
    size: int,
    axis: int = -1,
    output: object = None,
    mode: NDImageMode = "reflect",
    cval: float = 0.0,
    origin: int = 0,
    *,
    method: str = "auto",
    threads: int | None = None,
    progress: bool = False,
) -> np.ndarray:
    """A 1-D uniform (box) filter of ``size`` along ``axis`` (as
    ``scipy.ndimage.uniform_filter1d``): running sums, whatever the size.

    Examples
    --------
    >>> import fftconv.ndimage
    >>> fftconv.ndimage.uniform_filter1d([2, 8, 0, 4, 1, 9, 9, 0], size=3)
    array([4, 3, 4, 1, 4, 6, 6, 3])
    """
    quick = scipy_passes.quick_box(input, size, axis, output, mode, cval, origin, method, threads, progress)
    if quick is not None:
        return quick
    return run(
        uniform_filter1d_job(
            input, size, axis, output, mode, cval, origin, method=method, threads=threads, progress=progress
        )
    )


def uniform_filter1d_job(
    input,
    size,
    axis=-1,
    output=None,
    mode="reflect",
    cval=0.0,
    origin=0,
    *,
    method="auto",
    threads=None,
    progress=False,
) -> Job:
    """`uniform_filter1d`'s job, not run."""
    x = _image(input)
    axis = _axis(axis, len(x.shape))
    if size < 1:
        raise RuntimeError("incorrect filter size")
    out_dtype, out_array = _output(output, x, _REAL)
    return Job(
        "uniform_filter1d",
        x,
        [(uniform_pass(axis, size, mode, cval, origin),)],
        "one",
        out_dtype,
        out_array,
        method,
        threads,
        progress,
    )


def uniform_filter(
    input: object,
    size: object = 3,
    output: object = None,
    mode: NDImageMode | Sequence[NDImageMode] = "reflect",
    cval: float = 0.0,
    origin: object = 0,
    *,
    axes: object = None,
    method: str = "auto",
    threads: int | None = None,
    progress: bool = False,
) -> np.ndarray:
    """A multidimensional uniform (box) filter (as ``scipy.ndimage.uniform_filter``): one
    running-sum pass per axis whose size is above 1.

    Examples
    --------
    >>> import numpy as np, fftconv.ndimage
    >>> fftconv.ndimage.uniform_filter(np.arange(9.0).reshape(3, 3), size=3)
    array([[1.33333333, 2.        , 2.66666667],
           [3.33333333, 4.        , 4.66666667],
           [5.33333333, 6.        , 6.66666667]])
    """
    terms = _quick_box_terms(input, size, origin, axes)
    if terms is not None:
        quick = scipy_passes.quick_terms(input, terms, output, mode, cval, method, threads, progress,
                                         "uniform_filter")
        if quick is not None:
            return quick
    return run(
        uniform_filter_job(
            input,
            size,
            output,
            mode,
            cval,
            origin,
            axes=axes,
            method=method,
            threads=threads,
            progress=progress,
        )
    )


def uniform_filter_job(
    input,
    size=3,
    output=None,
    mode="reflect",
    cval=0.0,
    origin=0,
    *,
    axes=None,
    method="auto",
    threads=None,
    progress=False,
) -> Job:
    """`uniform_filter`'s job, not run."""
    x, out_dtype, out_array = _prepared(input, output)
    axes = check_axes(axes, len(x.shape))
    sizes = normalize_sequence(size, len(axes))
    origins = normalize_sequence(origin, len(axes))
    modes = normalize_sequence(mode, len(axes))
    passes = tuple(uniform_pass(a, s, m, cval, o) for a, s, o, m in zip(axes, sizes, origins, modes) if s > 1)
    return Job("uniform_filter", x, [passes], "one", out_dtype, out_array, method, threads, progress)


def sobel(
    input: object,
    axis: int = -1,
    output: object = None,
    mode: NDImageMode | Sequence[NDImageMode] = "reflect",
    cval: float = 0.0,
    *,
    method: str = "auto",
    threads: int | None = None,
    progress: bool = False,
) -> np.ndarray:
    """The Sobel derivative along ``axis`` (as ``scipy.ndimage.sobel``): ``[-1, 0, 1]`` along
    it, ``[1, 2, 1]`` along every other axis.

    Examples
    --------
    >>> import numpy as np, fftconv.ndimage
    >>> fftconv.ndimage.sobel(np.array([[0, 0, 1, 1], [0, 0, 1, 1]]), axis=1)
    array([[0, 4, 4, 0],
           [0, 4, 4, 0]])
    """
    quick = _quick_edges("sobel", input, axis, output, mode, cval, _SOBEL_SMOOTHING, method, threads,
                         progress)
    if quick is not None:
        return quick
    return run(sobel_job(input, axis, output, mode, cval, method=method, threads=threads, progress=progress))


def prewitt(
    input: object,
    axis: int = -1,
    output: object = None,
    mode: NDImageMode | Sequence[NDImageMode] = "reflect",
    cval: float = 0.0,
    *,
    method: str = "auto",
    threads: int | None = None,
    progress: bool = False,
) -> np.ndarray:
    """The Prewitt derivative along ``axis`` (as ``scipy.ndimage.prewitt``): ``[-1, 0, 1]``
    along it, ``[1, 1, 1]`` along every other axis.

    Examples
    --------
    >>> import numpy as np, fftconv.ndimage
    >>> fftconv.ndimage.prewitt(np.array([[0, 0, 1, 1], [0, 0, 1, 1]]), axis=1)
    array([[0, 3, 3, 0],
           [0, 3, 3, 0]])
    """
    quick = _quick_edges("prewitt", input, axis, output, mode, cval, _PREWITT_SMOOTHING, method, threads,
                          progress)
    if quick is not None:
        return quick
    return run(
        prewitt_job(input, axis, output, mode, cval, method=method, threads=threads, progress=progress)
    )


def sobel_job(
    input, axis=-1, output=None, mode="reflect", cval=0.0, *, method="auto", threads=None, progress=False
) -> Job:
    """`sobel`'s job, not run."""
    return _edges_job("sobel", input, axis, output, mode, cval, (1.0, 2.0, 1.0), method, threads, progress)


def prewitt_job(
    input, axis=-1, output=None, mode="reflect", cval=0.0, *, method="auto", threads=None, progress=False
) -> Job:
    """`prewitt`'s job, not run."""
    return _edges_job("prewitt", input, axis, output, mode, cval, (1.0, 1.0, 1.0), method, threads, progress)


def _edges_job(name, input, axis, output, mode, cval, smoothing, method, threads, progress) -> Job:
    x = _image(input)
    ndim = len(x.shape)
    axis = _axis(axis, ndim)
    out_dtype, out_array = _output(output, x, _REAL, promote=False)
    modes = normalize_sequence(mode, ndim)
    passes = _derivative_passes(ndim, axis, (-1.0, 0.0, 1.0), smoothing, modes, cval)
    return Job(name, x, [passes], "one", out_dtype, out_array, method, threads, progress)


def laplace(
    input: object,
    output: object = None,
    mode: NDImageMode | Sequence[NDImageMode] = "reflect",
    cval: float = 0.0,
    *,
    axes: object = None,
    method: str = "auto",
    threads: int | None = None,
    progress: bool = False,
) -> np.ndarray:
    """The discrete Laplacian (as ``scipy.ndimage.laplace``): the sum over ``axes`` of
    ``[1, -2, 1]`` along each.

    Examples
    --------
    >>> import numpy as np, fftconv.ndimage
    >>> fftconv.ndimage.laplace(np.array([0.0, 0.0, 1.0, 4.0, 9.0]), mode="nearest")
    array([ 0.,  1.,  2.,  2., -5.])
    """
    at = _quick_axes(input, axes) if scipy_passes.may_be_quick(input, "laplace") else None
    if at is not None:
        terms = [[(a, _SECOND_DIFFERENCE, 0)] for a in at] or [[]]  # no axis: scipy copies the image
        quick = scipy_passes.quick_terms(input, terms, output, mode, cval, method, threads, progress,
                                         "laplace", "sum")
        if quick is not None:
            return quick
    return run(
        laplace_job(input, output, mode, cval, axes=axes, method=method, threads=threads, progress=progress)
    )


def laplace_job(
    input, output=None, mode="reflect", cval=0.0, *, axes=None, method="auto", threads=None, progress=False
) -> Job:
    """`laplace`'s job, not run."""
    x, out_dtype, out_array = _prepared(input, output, promote=False)
    axes = check_axes(axes, len(x.shape))
    modes = normalize_sequence(mode, len(axes)) if axes else []
    terms = [(Pass(a, (1.0, -2.0, 1.0), m, cval),) for a, m in zip(axes, modes)]
    return Job("laplace", x, terms, "sum", out_dtype, out_array, method, threads, progress)


def gaussian_laplace(
    input: object,
    sigma: object,
    output: object = None,
    mode: NDImageMode | Sequence[NDImageMode] = "reflect",
    cval: float = 0.0,
    *,
    axes: object = None,
    **kwargs,
) -> np.ndarray:
    """The Laplacian of a Gaussian (as ``scipy.ndimage.gaussian_laplace``): for each of
    ``axes``, the second derivative along it of the Gaussian filter, summed. ``kwargs`` go to
    `gaussian_filter` (``truncate``, ``radius``, and fftconv's ``method``, ``threads``,
    ``progress``). Terms share their leading passes.

    Examples
    --------
    >>> import numpy as np, fftconv.ndimage
    >>> x = np.zeros((5, 5)); x[2, 2] = 1.0
    >>> float(fftconv.ndimage.gaussian_laplace(x, 1.0)[2, 2].round(4))
    -0.3183
    """
    return run(gaussian_laplace_job(input, sigma, output, mode, cval, axes=axes, **kwargs))


def gaussian_laplace_job(input, sigma, output=None, mode="reflect", cval=0.0, *, axes=None, **kwargs) -> Job:
    """`gaussian_laplace`'s job, not run."""
    engine = _engine(kwargs)
    x, out_dtype, out_array = _prepared(input, output, promote=False)
    ndim = len(x.shape)
    axes = check_axes(axes, ndim)
    sigmas = normalize_sequence(sigma, len(axes))
    if len(axes) < ndim:  # axes not filtered: no smoothing along them
        full = [0] * ndim
        for s, a in zip(sigmas, axes):
            full[a] = s
        sigmas = full
    modes = normalize_sequence(mode, len(axes)) if axes else []
    terms = []
    for a, m in zip(axes, modes):
        order = [0] * ndim
        order[a] = 2
        terms.append(gaussian_filter_passes(ndim, sigmas, order, m, cval, **kwargs))
    return Job("gaussian_laplace", x, terms, "sum", out_dtype, out_array, **engine)


def gaussian_gradient_magnitude(
    input: object,
    sigma: object,
    output: object = None,
    mode: NDImageMode | Sequence[NDImageMode] = "reflect",
    cval: float = 0.0,
    *,
    axes: object = None,
    **kwargs,
) -> np.ndarray:
    """The magnitude of the gradient of a Gaussian filter (as
    ``scipy.ndimage.gaussian_gradient_magnitude``): for each of ``axes``, the first derivative
    along it (the Gaussian along every axis), squared, summed, square-rooted. ``kwargs`` go to
    `gaussian_filter`. Components share their leading passes.

    Examples
    --------
    >>> import numpy as np, fftconv.ndimage
    >>> x = np.zeros((5, 5)); x[:, 3:] = 1.0
    >>> fftconv.ndimage.gaussian_gradient_magnitude(x, 1.0)[2].round(3)
    array([0.013, 0.122, 0.364, 0.363, 0.108])
    """
    return run(gaussian_gradient_magnitude_job(input, sigma, output, mode, cval, axes=axes, **kwargs))


def gaussian_gradient_magnitude_job(
    input, sigma, output=None, mode="reflect", cval=0.0, *, axes=None, **kwargs
) -> Job:
    """`gaussian_gradient_magnitude`'s job, not run."""
    engine = _engine(kwargs)
    x, out_dtype, out_array = _prepared(input, output, promote=False)
    ndim = len(x.shape)
    axes = check_axes(axes, ndim)
    modes = normalize_sequence(mode, len(axes)) if axes else []
    terms = []
    for a, m in zip(axes, modes):
        order = [0] * ndim
        order[a] = 1
        terms.append(gaussian_filter_passes(ndim, sigma, order, m, cval, **kwargs))
    return Job("gaussian_gradient_magnitude", x, terms, "magnitude", out_dtype, out_array, **engine)


def generic_laplace(
    input: object,
    derivative2: Callable,
    output: object = None,
    mode: NDImageMode | Sequence[NDImageMode] = "reflect",
    cval: float = 0.0,
    extra_arguments: Sequence = (),
    extra_keywords: dict | None = None,
    *,
    axes: object = None,
) -> np.ndarray:
    """A Laplacian from a user's second-derivative function (as
    ``scipy.ndimage.generic_laplace``): ``derivative2(input, axis, output, mode, cval,
    *extra_arguments, **extra_keywords)`` per axis, summed in the output's dtype.

    Examples
    --------
    >>> import numpy as np, fftconv.ndimage
    >>> def d2(x, axis, output, mode, cval):
    ...     return fftconv.ndimage.correlate1d(x, [1, -2, 1], axis, output, mode, cval)
    >>> fftconv.ndimage.generic_laplace(np.array([0.0, 1.0, 4.0, 9.0]), d2, mode="nearest")
    array([ 1.,  2.,  2., -5.])
    """
    return _generic(input, derivative2, output, mode, cval, extra_arguments, extra_keywords, axes, False)


def generic_gradient_magnitude(
    input: object,
    derivative: Callable,
    output: object = None,
    mode: NDImageMode | Sequence[NDImageMode] = "reflect",
    cval: float = 0.0,
    extra_arguments: Sequence = (),
    extra_keywords: dict | None = None,
    *,
    axes: object = None,
) -> np.ndarray:
    """A gradient magnitude from a user's first-derivative function (as
    ``scipy.ndimage.generic_gradient_magnitude``): ``derivative(input, axis, output, mode,
    cval, *extra_arguments, **extra_keywords)`` per axis, squared, summed, square-rooted.

    Examples
    --------
    >>> import numpy as np, fftconv.ndimage
    >>> fftconv.ndimage.generic_gradient_magnitude(np.eye(3), fftconv.ndimage.sobel).round(3)
    array([[2.828, 3.162, 1.414],
           [3.162, 0.   , 3.162],
           [1.414, 3.162, 2.828]])
    """
    return _generic(input, derivative, output, mode, cval, extra_arguments, extra_keywords, axes, True)


def _generic(input, derivative, output, mode, cval, extra_arguments, extra_keywords, axes, magnitude: bool):
    """scipy.ndimage's generic_laplace and generic_gradient_magnitude, step by step: the
    user's function decides each term."""
    keywords = {} if extra_keywords is None else extra_keywords
    x = np.asarray(input)
    out_dtype, out_array = _output(output, x, _REAL, promote=False)
    target = out_array if out_array is not None else np.zeros(x.shape, out_dtype)
    axes = check_axes(axes, x.ndim)
    if not axes:
        target[...] = x
        return target
    if isinstance(target, np.ndarray) and np.may_share_memory(x, target):
        x = x.copy()  # the first term is written into the output: later terms read the image as it was
    modes = normalize_sequence(mode, len(axes))
    derivative(x, axes[0], target, modes[0], cval, *extra_arguments, **keywords)
    if magnitude:
        np.multiply(target, target, target)
    for a, m in zip(axes[1:], modes[1:]):
        term = derivative(x, a, target.dtype, m, cval, *extra_arguments, **keywords)
        if magnitude:
            np.multiply(term, term, term)
        target += term
    if magnitude:
        np.sqrt(target, target, casting="unsafe")
    return target
