"""Small separable filters run their 1-D passes on scipy.ndimage's loops.

A pass through the engine costs ~50-200 us of Python before its sums (reading the arguments
as a filter, building the `Problem`, planning, cutting blocks, extending the boundary): a
`gaussian_filter` of a 32x32 image took 180-400 us where scipy's takes 35 us. The passes of
a separable filter are plain 1-D correlations with explicit taps (`separable.Pass`); where
the whole filter sums few multiply-adds, each pass is handed to ``scipy.ndimage.correlate1d``
(or ``uniform_filter1d`` for a box), which sums the same taps over the same extended line
in double precision and rounds once into the pass's output. fftconv's own rules stay in
force because such jobs are only those where the two agree (`runs_on_scipy`): float32 or
float64 images into float32 or float64 outputs, and integers of up to 32 bits in and out
(each pass's double sums cast by fftconv's rule, which snaps them first, into the integers
the next pass reads, as scipy's filters run: `fftconv.engine.ndimage_1d_loops.filter1d`; float16
is filtered by fftconv and refused by scipy, 64-bit integers summed exactly), real taps and
a real ``cval``, no pass
longer than its line (those are folded: `fftconv.core.boundary.fold_taps`), in-memory
arrays, no method forced, no progress bar asked for and a valid ``threads``. Until scipy's
loops are probed (`fftconv.engine.ndimage_1d_loops`: their compiled module loaded by itself,
scipy.ndimage not imported), fftconv's tiny compiled loop (`fftconv.engine.shifted_sums`)
sums such passes where it sums them as scipy's would (`run_term` counts its time), and the
call that finds those sums have cost about the probe probes them, ~1 ms
(`fftconv.engine.tiny.ndimage_loops`); a call the tiny loop cannot sum probes them at once
rather than planning its passes; a mid-size job (`route`: its rent, then its planned passes)
asks for them once its contest showed they may win (`_loops_may_win`), and once its planned
passes won for good, the quick path runs them (`quick_terms`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING

import numpy as np

from .. import config
from ..core.boundary import MODES
from ..core.dtypes import cast_into
from ..core.problem import NDIMAGE
from ..engine import integer_passes, lane, ndimage_1d_loops, shifted_sums, tiny
from ..engine._compiled import float_passes
from ..engine.footprint import TINY_WEIGHT
from ..executors.nonfinite import all_finite
from ..installed import imported

if TYPE_CHECKING:
    from .separable import Job, Pass

#: Jobs summing at most this many multiply-adds in all (a box pass counts two a sample, its
#: running sum's add and subtract) run on scipy's loops. AMD EPYC, 1 thread, 48² to 256²
#: images, seven filters: scipy's loops were the faster below ~65,000 (a 48x48 box of 5:
#: 41 against 73 us), the engine's passes above ~100,000 (a 96x96 Gaussian of sigma 1:
#: 76 against 150 us); `bench/ndimage_filters.py --everyday` times a grid of such calls.
SCIPY_LOOP_MACS = 1 << 16
#: Larger jobs of up to this many samples read by their passes (the image's size times the
#: passes) run on scipy's loops on their signature's first calls, at most
#: `fftconv.engine.lane.RENTED_CALLS` and while those have spent under `RENT_SECONDS` there
#: (`fftconv.engine.lane.renting`); then the engine's passes are planned for it. Planning a
#: job's passes costs its first call ~2 ms (Intel Xeon, 1 thread, fresh processes,
#: scipy.ndimage imported: a 256² `gaussian_filter` of sigma 2 took 2.6 ms where scipy's takes
#: 1.8; a 48² one 1.7 against 0.3), and scipy's loops take 8-14 ns a sample a pass (1024²
#: images, taps 3-25 and boxes alike: a line's copy and extension dominate).
RENT_PASS_SAMPLES = 1 << 18
RENT_SECONDS = 2e-3
#: Less than scipy's 1-D loops take a sample of a pass, and a tap (a box counts two): along
#: rows in the cache they took ~1.2 ns + 0.33 ns a tap (48² to 512² images, 3 to 33 taps:
#: 1.6-2.4, 3.5-4.2, 7.6-8.5 and 11.4-12.3 ns; down columns up to 2x that; Intel Xeon). A
#: mid-size job whose planned passes took less than the sum is not contested on them
#: (`_loops_may_win`).
LOOP_SAMPLE_SECONDS = 1.0e-9
LOOP_TAP_SECONDS = 0.25e-9
#: Whether each mid-size signature's rented route is scipy's loops (else fftconv's tiny loop,
#: before scipy.ndimage is imported): part of its contest's key (`route`).
_rented_on_scipy: dict[Hashable, bool] = {}
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
#: Whether the integer passes sum every pass of a quick call, by its signature
#: (`_on_integer_passes_quick`).
_integer_quick: dict[Hashable, bool] = {}
#: Integer images and outputs scipy's loops serve too (their sums in double, cast by fftconv's
#: rule, `run_term`): those whose values float64 holds exactly.
_INTEGERS = tuple(np.dtype(t) for t in (np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32))


def runs_on_scipy(job: Job) -> bool:
    """Whether ``job``'s passes run on scipy.ndimage's 1-D loops (see the module docstring)
    whatever its signature did before: a small job, once scipy's loops serve.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage
    >>> from fftconv.ndimage.separable import gaussian_filter_job
    >>> runs_on_scipy(gaussian_filter_job(np.zeros((32, 32)), 2.0))
    True
    >>> runs_on_scipy(gaussian_filter_job(np.zeros((32, 32), np.uint8), 2.0))
    True
    >>> runs_on_scipy(gaussian_filter_job(np.zeros((32, 32), np.int64), 2.0))  # summed exactly by fftconv
    False
    """
    return _macs(job) <= SCIPY_LOOP_MACS and _suits(job)


def route(job: Job, planned_runner: Callable[[Job], Callable[..., np.ndarray]] | None = None
          ) -> tuple[bool, Hashable | None]:
    """Whether ``job``'s passes run on scipy.ndimage's loops now, and the signature whose call
    the caller times (`fftconv.engine.lane.timed`), or None. A small job always runs there; a
    larger one of at most `RENT_PASS_SAMPLES` does on its signature's first calls (its rent,
    `fftconv.engine.lane.renting`), then its passes are planned and their next calls timed
    against the rented ones: where they were the slower, the signature's calls go back to
    scipy's loops for good (`fftconv.engine.lane.stays_rented`; a plain call of it then runs
    there with no job built, `quick_terms`).

    Examples
    --------
    >>> import numpy as np, scipy.ndimage
    >>> from fftconv.ndimage.separable import gaussian_filter_job
    >>> route(gaussian_filter_job(np.zeros((32, 32)), 2.0))
    (True, None)
    >>> route(gaussian_filter_job(np.zeros((256, 256)), 2.0))[1] is not None
    True
    >>> route(gaussian_filter_job(np.zeros((2048, 2048)), 2.0))
    (False, None)
    """
    small = _macs(job) <= SCIPY_LOOP_MACS
    if _on_integer_passes(job) and (small or config.get().memory_limit is None):
        return True, None  # one compiled pass each, which neither scipy's loops nor planned passes beat
    read = math.prod(np.shape(job.source)) * sum(len(term) for term in job.terms)
    if not small and (read > RENT_PASS_SAMPLES or config.get().memory_limit is not None):
        return False, None  # (scipy's loops make whole intermediates: a limit is kept by the passes')
    if small:
        return _suits(job), None
    out = job.out_array
    if type(job.source) is np.ndarray and not ndimage_1d_loops.probed() and not _on_tiny_loop(job):
        # its rent would be planned away (a fresh process' first 256² uint8 `gaussian_filter`
        # 4.2 ms, scipy's 1.1; Intel Xeon): the loops' probe, ~1 ms, costs less
        tiny.ndimage_loops(now=True)
    # what the rented route is: before scipy's loops serve, fftconv's tiny loop (run_pass)
    on_scipy = ndimage_1d_loops.serving()
    # (scipy's loops read no setting: the settings' state is not part of the signature)
    signature = ("scipy passes", job.name, job.source.shape, job.source.dtype, tuple(job.terms), job.combine,
                 job.out_dtype, None if out is None else (out.shape, out.dtype), job.threads)
    if len(_rented_on_scipy) >= lane.SIZE and signature not in _rented_on_scipy:
        _rented_on_scipy.clear()
    key = signature + (_rented_on_scipy.setdefault(signature, on_scipy),)
    contested_again = not key[-1] and _loops_may_win(job, key)  # its contest ran on the tiny loop
    if contested_again:
        if on_scipy:  # contested again, on them
            _rented_on_scipy[signature] = True
            key = signature + (True,)
        else:  # its planned passes may lose to them: probed now (their calls pay no rent)
            tiny.ndimage_loops(now=True)
    if lane.stays_rented(key):  # its planned passes were the slower (`fftconv.engine.lane.timed`)
        if on_scipy:  # the quick path runs scipy's loops
            _settle_quick(job)
        return _suits(job, ask=False), None
    # the rent first: once spent, a planned call checks nothing more (a box job's test for
    # non-finite values reads the whole image)
    if lane.renting(key, RENT_SECONDS) and _suits(job, ask=False):
        return True, key
    if lane.timing(key):
        return False, key
    if planned_runner is not None and not contested_again and lane.hand_over(key):
        # the planned passes won for good: the quick path runs them, with no job built (a 96x96
        # `gaussian_filter`'s building, checks and route took ~35 us of its 90; Intel Xeon)
        _settle_quick(job, planned_runner)
    return False, None


def _loops_may_win(job: Job, key: Hashable) -> bool:
    """Whether a contest decided on the tiny loop (``key``'s) may go otherwise on scipy's loops:
    the tiny loop won it (a 256² `laplace` had stayed on scipy's loops, 0.42 ms a call, on the
    tiny loop's verdict, where its planned passes take 0.14), or the planned passes won in more
    time than scipy's loops could take (`LOOP_SAMPLE_SECONDS`, `LOOP_TAP_SECONDS`: a 64x64
    `gaussian_filter` had kept its planned passes, 80 us a call, on rented calls that were its
    first, on the tiny loop, where scipy's loops take 30 us; Intel Xeon). Those with planned
    passes quicker than that (256² ones) are neither contested again nor want the loops' probe
    (the probe, and renting scipy's loops again, had cost a 256² `laplace`'s calls 3-10 0.6 ms
    each, 0.2 before)."""
    if lane.timing(key):
        return False
    if lane.stays_rented(key):
        return True
    planned = lane.planned_seconds(key)
    if planned is None:  # (not decided, or handed over: asked each call, so before the sums)
        return False
    per_sample = sum(LOOP_SAMPLE_SECONDS + LOOP_TAP_SECONDS * (2 if p.box else len(p.taps))
                     for term in job.terms for p in term)
    return planned > per_sample * math.prod(np.shape(job.source))


def _macs(job: Job) -> int:
    """The multiply-adds of ``job``'s passes (a box pass counts two a sample)."""
    source = job.source
    return math.prod(np.shape(source)) * sum(2 if p.box else len(p.taps) for term in job.terms for p in term)


def _suits(job: Job, ask: bool = True) -> bool:
    """Whether scipy's loops sum ``job`` as fftconv does, and are at hand (probed, or the
    public functions of an imported scipy.ndimage), or until they are, fftconv's tiny loop sums
    every pass as they would (`run_pass`). ``ask``: a call that finds them not at hand asks for
    their probe (`fftconv.engine.tiny.ndimage_loops`: once the tiny loop's sums have cost about
    as much, or at once where the tiny loop cannot sum it)."""
    source = job.source
    if not _plain_job(job) or source.dtype not in _FLOATS + _INTEGERS \
            or job.out_dtype not in _FLOATS + _INTEGERS:
        return False
    passes = [p for term in job.terms for p in term]
    if not all(_agrees(p, source.shape[p.axis]) for p in passes):
        return False
    if any(p.box for p in passes) and source.dtype in _FLOATS and not _finite(source):
        # scipy's running sums carry a NaN or inf on along the rest of its line; fftconv's keep
        # it in the boxes that hold it (docs/guides/migrating.md), whatever the image's size
        return False
    at_hand = tiny.ndimage_loops() if ask else ndimage_1d_loops.serving()
    if at_hand or _on_tiny_loop(job):
        return True
    # neither loop sums it yet: the pipeline would plan its passes, which costs a first call
    # more than the loops' probe (~1 ms)
    return ask and tiny.ndimage_loops(now=True)


def _on_integer_passes(job: Job) -> bool:
    """Whether every pass of ``job`` is an integer image's compiled pass (`on_integer_pass`), in
    a plain call: its route (the rent, the contest with its planned passes, which take the same
    compiled pass) is skipped (a fresh process' second 64² uint8 `gaussian_filter` timed the
    contest's planned passes)."""
    source = job.source
    if type(source) is not np.ndarray or source.dtype.kind not in "iu" or not _plain_job(job):
        return False  # (a float call asks nothing more)
    return all(on_integer_pass(source, p, job.out_dtype) for term in job.terms for p in term)


def on_integer_pass(source: object, p: Pass, out_dtype: np.dtype) -> bool:
    """Whether pass ``p`` of ``source`` into ``out_dtype`` takes the compiled integer pass
    (`fftconv.engine.integer_passes`) where the planned passes would otherwise run it: an
    integer image in memory (not a memory map: its passes keep to the filter's blocks), 8 to
    32 bits, into integers, whose sums are whole numbers, or a box's mean, or whose taps are at
    most `integer_passes.PLANNED_FLOAT_TAPS`. One pass that reads and writes the image's
    integers outruns the engine's float passes and their cast (1024² uint8 `sobel`: 0.7 against
    9 ms, Intel Xeon, 1 thread).

    Examples
    --------
    >>> from fftconv.ndimage.separable import Pass
    >>> second_difference = Pass(0, (1.0, -2.0, 1.0), "reflect", 0.0)
    >>> on_integer_pass(np.zeros((8, 8), np.uint8), second_difference, np.dtype(np.uint8))
    True
    >>> on_integer_pass(np.zeros((8, 8)), second_difference, np.dtype(np.float64))
    False
    """
    return (type(source) is np.ndarray and source.dtype.kind in "iu"
            and integer_passes.serves(source, p.box or p.taps, p.axis, out_dtype, p.mode, p.cval, p.origin,
                                      integer_passes.PLANNED_FLOAT_TAPS))


def _plain_job(job: Job) -> bool:
    """Whether ``job`` is a plain call as scipy's loops and the integer passes take it: in-memory
    arrays, no progress bar, no method forced, a valid ``threads``."""
    source, out = job.source, job.out_array
    if type(source) is not np.ndarray or (out is not None and type(out) is not np.ndarray) or job.progress:
        return False
    if job.method != "auto" or config.get().method != "auto":
        return False
    threads = job.threads  # (one the engine refuses: its path, with its message)
    return threads is None or (type(threads) is int and threads > 0)


def _on_tiny_loop(job: Job) -> bool:
    """Whether fftconv's tiny compiled loop sums every pass of ``job`` as scipy's loops would
    (`_meanwhile`), until they are probed."""
    return all(_meanwhile(p, job.source, job.out_dtype) for term in job.terms for p in term)


def _finite(a: np.ndarray) -> bool:
    """Whether every value of a float32 or float64 image is finite: the compiled pass where it
    reads the image (its last axis contiguous), else `all_finite`."""
    if float_passes is not None and (a.ndim == 0 or a.shape[-1] <= 1 or a.strides[-1] == a.itemsize):
        return float_passes.finite(a)
    return all_finite(a)


def _meanwhile(p: Pass, source: np.ndarray, out_dtype: np.dtype) -> bool:
    """Whether fftconv's tiny compiled loop (`shifted_sums.ndimage_sum`) sums pass ``p`` of
    images like ``source`` as scipy's 1-D loop does, before scipy.ndimage is imported: into
    the image's own dtype (integers' sums in float64, cast by fftconv's rule, `run_pass`),
    centred (origin 0), at most `shifted_sums.MOST_TAPS` taps; a zero tap (a derivative's
    centre), which the loop leaves out where scipy's sums a NaN or an infinity times it, only
    in a finite image."""
    if not (shifted_sums.by_loop(source) and source.dtype == out_dtype and source.dtype in _FLOATS + _INTEGERS
            and p.origin == 0 and p.length <= shifted_sums.MOST_TAPS):
        return False
    if p.box or source.dtype in _INTEGERS:
        return True
    return min(map(abs, p.taps)) > TINY_WEIGHT or all_finite(source)


def _agrees(p: Pass, line: int) -> bool:
    """Whether scipy's 1-D loop sums pass ``p`` over lines of ``line`` samples as fftconv does."""
    if p.mode not in MODES or p.length > line or not p.real or not math.isfinite(p.cval):
        return False
    return _origin_fits(p.origin, p.length)


def run_term(source: np.ndarray, passes: tuple[Pass, ...], target: np.ndarray) -> np.ndarray:
    """A term's ``passes`` of ``source`` on scipy.ndimage's 1-D loops, each into ``target``
    in turn (in place after the first, as scipy's own filters run them).

    Examples
    --------
    >>> import numpy as np
    >>> from fftconv.ndimage.separable import uniform_filter_job
    >>> job = uniform_filter_job(np.arange(9.0).reshape(3, 3), 3, mode="nearest")
    >>> run_term(job.source, job.terms[0], np.empty((3, 3)))
    array([[1.33333333, 2.        , 2.66666667],
           [3.33333333, 4.        , 4.66666667],
           [5.33333333, 6.        , 6.66666667]])
    """
    # fftconv's tiny loop (`run_pass`) does not sum in place: its passes alternate between the
    # target and one scratch array, the last into the target (in place, each pass had summed
    # into a new array copied back: 0.2 ms more of a fresh process' first 256² Gaussian, most
    # of it page faults of memory met for the first time); scipy's loops sum in place
    on_tiny_loop = not ndimage_1d_loops.serving()
    alternate = len(passes) > 1 and on_tiny_loop and target.flags.c_contiguous
    scratch = np.empty_like(target) if alternate else target
    current, spent = source, 0.0
    for i, p in enumerate(passes):
        into = target if (len(passes) - 1 - i) % 2 == 0 else scratch
        started = time.perf_counter() if on_tiny_loop else 0.0
        if run_pass(current, p, into):  # (only where scipy's loops do not serve yet)
            spent += time.perf_counter() - started
        current = into
    if spent:  # for want of scipy's loops: toward their probe
        tiny.pay_probe_rent(spent)
    return target


def run_pass(source: np.ndarray, p: Pass, target: np.ndarray) -> bool:
    """Pass ``p`` of ``source`` into ``target`` on scipy.ndimage's loop, or exactly in integers
    where it serves (`fftconv.engine.integer_passes`), or, before scipy's loops are probed, on
    fftconv's tiny loop. Returns whether the tiny loop summed it (for want of scipy's loops).

    Examples
    --------
    >>> import numpy as np
    >>> from fftconv.ndimage.separable import Pass
    >>> out = np.empty(5)
    >>> run_pass(np.arange(5.0), Pass(0, (1.0, 1.0, 0.0), "reflect", 0.0), out)
    False
    >>> out
    array([0., 1., 3., 5., 7.])
    """
    weights = p.box or np.asarray(p.taps, np.float64)
    if source.dtype.kind in "iu" and integer_passes.filter1d(source, weights, p.axis, target, p.mode, p.cval,
                                                              p.origin):
        return False
    if not ndimage_1d_loops.serving():  # not (yet) probed: the tiny loop sums it (`_meanwhile`)
        taps = np.full(p.box, 1.0 / p.box) if p.box else weights
        along = [1] * source.ndim
        along[p.axis] = p.length
        taps = taps.reshape(along)
        if source.dtype.kind in "iu":  # summed in float64 (exact), cast by fftconv's rule as filter1d
            sums = shifted_sums.ndimage_sum(source.astype(np.float64), taps, p.mode, p.cval, False)
            cast_into(target, sums, NDIMAGE.integers)
        elif (target.flags.c_contiguous and target.dtype == source.dtype and target.shape == source.shape
                and not np.may_share_memory(source, target)):
            shifted_sums.ndimage_sum(source, taps, p.mode, p.cval, False, out=target)
        else:
            target[...] = shifted_sums.ndimage_sum(source, taps, p.mode, p.cval, False)
        return True
    ndimage_1d_loops.filter1d(source, weights, p.axis, target, p.mode, p.cval, p.origin)  # type: ignore[arg-type]
    return False


# ---- a 1-D filter's small call, straight to scipy's loop ---------------------------------------


def may_be_quick(input: object, name: str) -> bool:
    """Whether a call of filter ``name`` on ``input`` may take the quick path (`quick_terms`),
    asked before its arguments are read: an array small enough (at most `SCIPY_LOOP_MACS`
    samples: every pass sums at least one tap a sample), or of a shape some call of which went
    back to scipy's loops for good. Reading a larger call's arguments for nothing had cost a
    93x244 float32 `gaussian_filter` along one axis with an output array 6.5 us of its 82.

    Examples
    --------
    >>> may_be_quick(np.zeros((64, 64)), "gaussian_filter"), may_be_quick(np.zeros((512, 512)), "sobel")
    (True, False)
    """
    if type(input) is not np.ndarray:
        return False
    return input.size <= SCIPY_LOOP_MACS or lane.quick_settled((name, input.shape))


def quick_box(input: object, size: object, axis: object, output: object, mode: object, cval: object,
              origin: object, method: object, threads: object, progress: object) -> np.ndarray | None:
    """`fftconv.ndimage.uniform_filter1d` of a small plain call (`quick_terms`) summed at once
    by scipy's probed loop (`fftconv.engine.ndimage_1d_loops`) with no job built: the job's
    building and checks had cost a 48x160 float64 call ~20 us beside the loop's 15 (Intel
    Xeon); None for any other call, which the full path serves (and checks).

    Examples
    --------
    >>> import numpy as np
    >>> from fftconv.engine import ndimage_1d_loops
    >>> ndimage_1d_loops.probe()
    >>> quick_box(np.arange(5.0), 3, -1, None, "nearest", 0.0, 0, "auto", None, False)
    array([0.33333333, 1.        , 2.        , 3.        , 3.66666667])
    """
    at = _axis_of(input, axis) if may_be_quick(input, "uniform_filter1d") else None
    if at is None or type(size) is not int:
        return None
    return quick_terms(input, [[(at, size, origin)]], output, mode, cval, method, threads, progress,
                       "uniform_filter1d")


def quick_taps(input: object, taps: np.ndarray | tuple[float, ...], axis: object, output: object,
               mode: object, cval: object, origin: object, method: object, threads: object, progress: object,
               name: str | None = None) -> np.ndarray | None:
    """A correlation of a small plain call (`quick_terms`) with ``taps`` (1-D float64,
    contiguous, or a tuple of floats) summed at once by scipy's probed loop, as `quick_box`;
    None for any other call. ``name``: the filter's, as its job has it.

    Examples
    --------
    >>> import numpy as np
    >>> from fftconv.engine import ndimage_1d_loops
    >>> ndimage_1d_loops.probe()
    >>> quick_taps(np.arange(4.0), np.array([1.0, 2.0, 1.0]), 0, None, "nearest", 0.0, 0, "auto", None, False)
    array([ 1.,  4.,  8., 11.])
    """
    at = _axis_of(input, axis)
    if at is None:
        return None
    return quick_terms(input, [[(at, taps, origin)]], output, mode, cval, method, threads, progress, name)


def quick_terms(input: object, terms: list, output: object, mode: object, cval: object, method: object,
                threads: object, progress: object, name: str | None = None, combine: str = "one"
                ) -> np.ndarray | None:
    """A separable filter's small plain call summed at once by scipy's probed loops, with no
    job built; None for any other call, which the full path serves (and checks). ``terms``:
    lists of passes ``(axis, box size or taps, origin)`` (axes from 0; taps a tuple of floats,
    or 1-D float64), each term's passes run in turn as scipy's filters run them, the terms
    summed in the output.
    A plain call: a float32 or float64 array, an output as `_quick_out_dtype` takes it, one mode
    scipy's loop takes, a finite real cval, int origins, no method forced, no progress bar, a
    valid ``threads`` (one thread serves); every pass no longer than its line, at most
    `SCIPY_LOOP_MACS` multiply-adds in all, or a mid-size call whose signature went back to
    scipy's loops for good (`route`: ``name`` and ``combine`` as the filter's job has them);
    and for a box a finite image (fftconv keeps a NaN in its boxes, where scipy's running sums
    carry it along the line). An integer image whose every pass the compiled integer passes
    sum (`_on_integer_passes_quick`) is quick at any size.

    Examples
    --------
    >>> import numpy as np
    >>> from fftconv.engine import ndimage_1d_loops
    >>> ndimage_1d_loops.probe()
    >>> laplacian = [[(0, np.array([1.0, -2.0, 1.0]), 0)], [(1, np.array([1.0, -2.0, 1.0]), 0)]]
    >>> quick_terms(np.eye(3), laplacian, None, "nearest", 0.0, "auto", None, False)  # scipy's laplace
    array([[-2.,  2.,  0.],
           [ 2., -4.,  2.],
           [ 0.,  2., -2.]])
    """
    if type(input) is not np.ndarray:
        return None
    shape, macs, boxes = input.shape, 0, False
    for term in terms:
        for axis, weights, origin in term:
            box = type(weights) is int
            length = weights if box else len(weights)
            if type(origin) is not int or not (0 < length <= shape[axis] and _origin_fits(origin, length)):
                return None
            macs += 2 if box else length
            boxes |= box
    mid = input.size * macs > SCIPY_LOOP_MACS  # past the small size: a signature settled on scipy's loops
    integer = input.dtype.kind in "iu"  # (whether the integer passes sum every pass: asked below)
    if mid and not integer and not lane.quick_settled((name, shape)):  # (most calls past the size)
        return None
    if not _plain(input, output, mode, cval, method, threads, progress):
        return None
    out_dtype = _quick_out_dtype(input, output)
    if out_dtype is None:
        return None
    if integer:  # asked only where it decides: a small call on probed loops takes the integer
        # passes anyway; a mid-size one under a memory limit keeps to its route's, as `route` has it
        deciding = config.get().memory_limit is None if mid else not ndimage_1d_loops.ready()
        integer = deciding and _on_integer_passes_quick(input, terms, out_dtype, mode, cval)
    if mid and not integer:
        if not lane.quick_settled((name, shape)):
            return None
        given = output if type(output) is np.ndarray else None

        def key() -> tuple:
            return _quick_key(name, input, terms, out_dtype, given, mode, cval, threads, combine)
        if config.get().memory_limit is not None:
            return None
        settled = lane.quick_route((name, shape), key)
        if settled is lane.NOT_SETTLED:
            return None
        if settled is not None:  # its planned passes, with no job built
            return settled(input, given)
    if boxes and input.dtype in _FLOATS and not _finite(input):  # (a pass over the image: last)
        return None
    if not integer and not ndimage_1d_loops.ready():
        # counted as the small jobs' calls are where the caller imported scipy.ndimage: the
        # loops are probed once a few have passed (a mid-size signature back on scipy's loops
        # asks no small job: its calls had never had them probed; counted before its contest
        # ended, the probes, whose Python holds the GIL, had slowed its timed planned calls to
        # 1-2.6 ms). Where the caller did not import scipy.ndimage, nothing is asked for here:
        # the small job's path asks
        if imported("scipy.ndimage") is not None:
            tiny.ndimage_loops()
        return None
    out = output if type(output) is np.ndarray else np.empty(shape, out_dtype)
    for index, term in enumerate(terms):
        target = out if index == 0 else np.empty_like(out)
        current = input
        if not term:
            target[...] = input
        for axis, weights, origin in term:
            taps = weights if type(weights) is int else np.asarray(weights, np.float64)
            ndimage_1d_loops.filter1d(current, taps, axis, target, mode, cval, origin)  # type: ignore[arg-type]
            current = target
        if index:
            out += target
    return out


def _on_integer_passes_quick(input: np.ndarray, terms: list, out_dtype: np.dtype, mode: str, cval: object
                             ) -> bool:
    """Whether the compiled integer passes sum every pass of a quick call's ``terms``
    (`_on_integer_passes`): the call is quick whatever its size and whether or not scipy's
    loops are probed (its route, were it planned, would take the same passes). Into the
    image's own dtype only: a later pass reads the output's integers."""
    if out_dtype != input.dtype:
        return False
    passes = tuple((axis, weights if type(weights) in (int, tuple) else tuple(weights.tolist()), origin)
                   for term in terms for axis, weights, origin in term)
    key = (input.shape, input.dtype, passes, mode, cval)
    served = _integer_quick.get(key)
    if served is None:  # (asked once a signature: the passes' checks took 4 of a 64² box's 18 us)
        if len(_integer_quick) >= lane.SIZE:
            _integer_quick.clear()
        served = _integer_quick[key] = all(
            integer_passes.serves(input, weights, axis, out_dtype, mode, cval, origin,
                                  integer_passes.PLANNED_FLOAT_TAPS) for axis, weights, origin in passes)
    return served


def plain_taps(weights: object, origin: object, convolution: bool) -> tuple[np.ndarray, int] | None:
    """``weights`` as scipy's correlation loop takes them (1-D float64, contiguous; reversed
    for a convolution, its origin mirrored as scipy mirrors it) and the origin, for real
    weights of at most `QUICK_TAPS` taps and an int origin; None otherwise.

    Examples
    --------
    >>> plain_taps([1, 3], 0, True)
    (array([3., 1.]), -1)
    """
    if type(origin) is not int:
        return None
    w = np.asarray(weights)
    if w.ndim != 1 or not 0 < w.shape[0] <= QUICK_TAPS or w.dtype.kind not in "biuf":
        return None
    if convolution:
        w, origin = w[::-1], -origin - (0 if w.shape[0] & 1 else 1)
    return np.ascontiguousarray(w, np.float64), origin


#: Most taps a quick call's weights may have (`plain_taps`): longer ones are read by the full path.
QUICK_TAPS = 64


def _plain(input: object, output: object, mode: object, cval: object, method: object, threads: object,
           progress: object) -> bool:
    """Whether a call's arguments are plain as `quick_terms` takes them (the passes aside)."""
    if type(input) is not np.ndarray or input.dtype not in _FLOATS + _INTEGERS:
        return False
    if progress is not False or type(mode) is not str or input.size == 0:
        return False
    if threads is not None and not (type(threads) is int and threads > 0):
        return False  # the full path refuses it, with its message
    if type(cval) not in (float, int) or mode not in MODES or not math.isfinite(cval):
        return False
    return method == "auto" and config.forced_method() == "auto"


def _settle_quick(job: Job, planned_runner: Callable[[Job], Callable[..., np.ndarray]] | None = None) -> None:
    """Let the quick path take the calls of ``job``'s signature, which stays on scipy's loops
    or, with ``planned_runner``, on its planned passes, which ``planned_runner(job)`` runs
    (`route`): described as `quick_terms` describes its own (`_quick_key`), where its passes
    share one mode and cval, as a quick call's do, and the call is plain (its method and
    progress bar as a quick call's)."""
    passes = [p for term in job.terms for p in term]
    if not passes or len({(p.mode, p.cval) for p in passes}) != 1:
        return
    plain = job.method == "auto" and not job.progress and type(job.source) is np.ndarray
    if planned_runner is not None and not plain:
        return
    terms = [[(p.axis, p.box or p.taps, p.origin) for p in term] for term in job.terms]
    out = job.out_array
    key = _quick_key(job.name, job.source, terms, job.out_dtype, out if type(out) is np.ndarray else None,
                     passes[0].mode, passes[0].cval, job.threads, job.combine)
    runner = None if planned_runner is None else planned_runner(job)
    lane.settle_quick((job.name, job.source.shape), key, runner)


def _quick_key(name: str | None, input: np.ndarray, terms: list, out_dtype: np.dtype,
               given: np.ndarray | None, mode: object, cval: object, threads: object, combine: str) -> tuple:
    """A call's description for `fftconv.engine.lane.quick_route`: what its job's signature
    holds (`route`), in plain values (a pass's taps as a tuple, a box as its size)."""
    described = tuple(tuple((axis, w if type(w) in (int, tuple) else tuple(w.tolist()), origin)
                            for axis, w, origin in term) for term in terms)
    out = None if given is None else (given.shape, given.dtype)
    return (name, input.shape, input.dtype, described, combine, out_dtype, out, mode, cval, threads)


def _quick_out_dtype(input: np.ndarray, output: object) -> np.dtype | None:
    """The dtype a quick call writes, as scipy's ``output`` makes it: the image's (``output``
    None), or the float32 or float64 dtype given, or that of the output array given (the
    image's shape, float32 or float64, writeable, sharing no memory with the image); None for
    any other output (an integer or complex one, one the image overlaps), which the full path
    serves.

    Examples
    --------
    >>> x = np.zeros((2, 3), np.float32)
    >>> _quick_out_dtype(x, None), _quick_out_dtype(x, np.float64), _quick_out_dtype(x, np.int16)
    (dtype('float32'), dtype('float64'), None)
    >>> _quick_out_dtype(x, np.empty((2, 3))), _quick_out_dtype(x, x)
    (dtype('float64'), None)
    """
    if output is None:
        return input.dtype
    if type(output) is np.ndarray:
        fits = output.shape == input.shape and output.dtype in _FLOATS and output.flags.writeable
        return output.dtype if fits and not np.may_share_memory(output, input) else None
    if isinstance(output, (type, np.dtype, str)) and output in _FLOATS:  # a dtype named as NumPy names it
        return np.dtype(output)
    return None


def _origin_fits(origin: int, length: int) -> bool:
    """Whether scipy's loops take ``origin`` for a pass of ``length`` taps."""
    return -(length // 2) <= origin <= (length - 1) // 2


def _axis_of(input: object, axis: object) -> int | None:
    """``axis`` of an array ``input`` counted from 0, or None (not an int in range; not an array)."""
    if type(input) is not np.ndarray or type(axis) is not int or not -input.ndim <= axis < input.ndim:
        return None
    return axis % input.ndim
