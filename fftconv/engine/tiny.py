"""Calls too small to plan: straight to NumPy's and scipy's compiled direct loops.

Checking arguments, building a `Problem`, planning it and running the plan costs 5-40 us of
Python, more than the compiled direct loops (``numpy.convolve``, ``scipy.signal.convolve2d``,
``scipy.ndimage.correlate``) take for a problem of a few thousand multiply-adds. The
facades first offer each call to this module, which hands it, arguments unchanged, to
that function when all of these hold:

- nothing forces a method (no ``method=``, no ``[planner] method``) and nothing asks for
  what only fftconv does (``progress``, ``axes``, an ``output`` that scipy's loop would not
  fill as fftconv does: `_tiny_output`);
- the operands are plain in-memory arrays of a dtype scipy's loop sums without changing the
  answer fftconv defines (floats and complex in their own precision, integers modulo their
  width; for ndimage a float or complex image, since fftconv's integer outputs snap sums
  that are integers up to rounding);
- the geometry is one where scipy computes what fftconv does (no 'valid' swap, which
  conjugates complex correlations in scipy; no ndimage halo wider than the image, where
  scipy.ndimage reads outside it);
- the direct sum is small: at most `SIGNAL_1D_MACS` / `SIGNAL_2D_MACS` / `NDIMAGE_MACS`
  multiply-adds (2-D ``convolve`` calls: `ROUTED_MACS`, through scipy's 2-D loop with zero
  fill);
- for ndimage calls of `ROUTED_MACS` or more, the signature's first call: a repeat plans
  once and runs fftconv's compiled loop through `fftconv.engine.lane`, faster than scipy's
  from there on (a repeat whose plan leaves no route comes back here).

1-D real calls of kernels up to 128 taps are summed by fftconv's own tiny compiled loop
(`fftconv.engine.shifted_sums`) instead where `fftconv.engine.short_1d` estimates it quicker
than ``numpy.convolve`` (which sums kernels of 12 taps or more with a BLAS dot an output) and
the pipeline.

scipy then validates the remaining arguments with the errors fftconv copies from it. The
thresholds are where the pipeline's fixed cost and the loop's per-multiply-add cost meet
(`bench/tiny_calls.py`; AMD EPYC, 1 thread: a float64 ``convolve2d`` 32x32 * 3x3, 9,216
multiply-adds, takes 17 us in scipy's loop and 26 us through the pipeline; 48x48 * 3x3
36 us and 28 us). Both sides scale with the CPU's speed, so the crossing holds across
machines.

Complex calls of three or more dimensions go to scipy's N-d loop (`signal_nd`): fftconv has
no compiled complex loop. scipy's loops are called without their Python wrappers where a probe
shows them answering as their definitions do (`fftconv.engine.signal_loops`,
`fftconv.engine.ndimage_nd_loop`; their compiled modules are loaded without importing scipy's
packages): those wrappers cost a tiny call more than its sum.

One route is an FFT rather than a loop (`fft_small`): an ``fftconvolve`` call of finite
operands whose transforms are small (every call), or a 1-D real signature's first calls (until
they have spent `FFT_1D_ROUTE_SECONDS`), is three pocketfft calls, since the pipeline's fixed
cost (and a new signature's planning and first transforms) would cost more than scipy's whole
call.
"""

from __future__ import annotations

import functools
import importlib
import math
import operator
import time
from collections.abc import Callable

import numpy as np

from .. import background, config
from ..core.boundary import MODES
from ..executors.fft_lengths import next_fast_length
from ..executors.spectral import PRECISE_POINTS
from ..installed import imported
from . import ndimage_1d_loops, ndimage_nd_loop, shifted_sums, short_1d, signal_loops

#: Most multiply-adds a 1-D `convolve` call hands to ``numpy.convolve`` (0.1-0.3 ns each; the
#: pipeline costs ~12 us: 605 * 77 'valid' float32, 40,733 multiply-adds, took 7.5 us in
#: ``numpy.convolve``, 21.5 us through the pipeline and 18.7 us in ``scipy.signal.convolve``;
#: 21398 * 9 'full' float32, 192,654, 46 us in ``numpy.convolve`` and 66 us in the compiled
#: loop, which runs a 1-D sum one row at a time).
SIGNAL_1D_MACS = 1 << 18
#: ... and up to this many for kernels of at least `LONG_1D_TAPS` taps, where
#: ``numpy.convolve`` sums each output with one BLAS dot at the compiled loop's speed (AMD
#: EPYC, 1 thread: 1590 * 719 'valid' float32, 627,000 multiply-adds, 37-49 us in
#: ``numpy.convolve``, 57-60 us through the pipeline; 1,000 outputs of 719 taps 49 us and
#: 62 us; 3,000 outputs of 301 taps a tie, 65 and 67 us; 3,000 of 719 taps 142 and 108 us).
LONG_1D_MACS = 1 << 20
LONG_1D_TAPS = short_1d.LONG_TAPS  # where `fftconv.engine.short_1d`'s estimates end
#: ... where its products, each costing about this many of the compiled loop's multiply-adds
#: (a BLAS dot an output, beside a loop vectorised across outputs that multiplies the zero
#: extension of 'full' and 'same' windows too), are fewer than the loop's: a real 'valid' call
#: never, a 'full' one whose kernel is long beside the signal. AMD EPYC Zen 3, 1 thread,
#: repeated calls, ``numpy.convolve`` against the compiled loop settled: 'valid' 2104 * 700
#: float32 80 and 54 us, float64 143 and 93; 4000 * 256 'valid' float32 92 and 55; 3000 * 301
#: 'same' float64 124 and 89; 1590 * 719 'valid' float32 45 and 40; but 'full' 1000 * 719
#: float64 102 and 125 us, 1200 * 900 float32 95 and 107, 600 * 1500 float64 116 and 132.
NUMPY_PRODUCT_COST = 1.4
#: Real kernels shorter than `LONG_1D_TAPS` go to ``numpy.convolve``, fftconv's tiny compiled
#: loop or the pipeline by `fftconv.engine.short_1d`'s estimates of each...
#: ... and up to this many while a signature's (lengths, dtype, mode) calls have spent under
#: `RENT_1D_SECONDS` there: planning a new 1-D signature costs 0.4-0.9 ms, what
#: ``numpy.convolve`` takes for ~2 M multiply-adds; later calls are planned and run the
#: fastest method (a loop over signals of changing lengths * 31 taps, float64: 1.05 ms a call
#: through the pipeline, 0.67 ms in scipy.signal.convolve)...
FIRST_1D_MACS = 1 << 21
#: ... a ski rental: the first call only was handed over, and 2409 * 603 'valid' float32's
#: second call, planned, took 0.76 ms where numpy takes 0.1 (scipy's second call 0.14; a fresh
#: process, AMD EPYC).
RENT_1D_SECONDS = 1e-3
#: 1-D signatures seen, before the record starts afresh.
SEEN_1D = 4096
#: Seconds the calls of each 1-D signature seen spent in ``numpy.convolve`` here.
_spent_1d: dict[tuple, float] = {}
#: Largest transform (points, in any rank) of an ``fftconvolve`` call done in three pocketfft
#: calls, without the pipeline, on every call: the pipeline's fixed cost (~40-60 us: the plan's
#: look-up, the kernel's spectrum, the tiles' bookkeeping) is more than NumPy's three
#: transforms then take (AMD EPYC, 1 thread, float64, repeated calls: 64 * 8
#: 34 us against 56 us through the pipeline and 38 us in scipy's; 32x32 * 7x7 102 against 169
#: us; a tie from ~4,000 points, 4096 * 200 139 and 140 us; 16,000 * 300 309 and 172 us).
SMALL_FFT_POINTS = 2048
#: Largest transform of a 1-D real ``fftconvolve`` signature done in three NumPy FFT calls,
#: without the pipeline, on its first call: its planning and first run cost 0.8-1.2 ms where
#: scipy's whole call took 0.7-0.8 ms (5,000 * 300 'full', a fresh process, AMD EPYC); NumPy's
#: transforms take 0.14-0.25 ms...
FIRST_FFT_1D_POINTS = 1 << 16
#: ... and on its repeats, until they have spent this long on that route: the pipeline's start
#: (planning, a trial, FFTW's plans measured in the background) costs a signature's first
#: calls more than the route would (a fresh process, AMD EPYC: 5,000 * 300 calls 2-10 took 6.1-
#: 6.3 ms through the pipeline, 1.5-1.8 ms on the route, scipy 1.5 ms), which the settled
#: pipeline wins back later (1.1x the route's speed there, 2x at 20,000 * 1,000 and beyond). So
#: a signature rents the route up to about the price of that start (a ski rental: at most
#: about twice the cost of the better choice made in hindsight).
FFT_1D_ROUTE_SECONDS = 0.02
#: Seconds each such signature spent on the route (at most `SEEN_1D` signatures).
_fft_1d_spent: dict[tuple, float] = {}
#: A 1-D real ``convolve``/``correlate`` signature over `FIRST_1D_MACS` takes, on its first
#: calls, the cheaper of ``numpy.convolve`` and three NumPy FFT calls (`first_1d_route`) where
#: that is estimated under this many seconds; beyond it the pipeline's start (0.5-0.7 ms of
#: planning and first-time Python on a signature's first call, AMD EPYC Zen 4) is a small part
#: of the call. Through the pipeline, fresh processes' first calls had cost 1.3-2x scipy's
#: (20000 * 128 'same' float32 0.78 ms against 0.38; 20000 * 1000 float64 2.1 against 1.3;
#: 27932 * 1101 'full' float32 1.7 against 1.3).
ROUTE_1D_MOST_SECONDS = 1.5e-3
#: ``numpy.convolve``'s cost: per product summed (a BLAS dot an output; float64 twice
#: float32's), and per output (AMD EPYC Zen 4, fresh processes' first calls, 'same': 20000 *
#: 1000 float32 1.24 ms, float64 2.1; 50000 * 100 float32 0.52, float64 0.77; 5000 * 300
#: float32 0.13)...
NUMPY_PRODUCT_SECONDS = {np.dtype(np.float32): 0.055e-9, np.dtype(np.float64): 0.11e-9}
NUMPY_OUTPUT_SECONDS = 5e-9
#: ... and the three NumPy transforms' on a length's first call (its twiddle factors made):
#: per point and log2 of points, and per call (fresh processes' first calls, float32 scaled
#: as `_fft_convolve` transforms it: 5,300 points 0.32 ms, 21,000 0.63, 51,200 1.22; float64
#: 0.30, 0.91, 1.96). Both sides scale with the CPU's speed, so the choice holds across
#: machines.
FFT_ROUTE_POINT_SECONDS = {np.dtype(np.float32): 1.3e-9, np.dtype(np.float64): 2.4e-9}
FFT_ROUTE_CALL_SECONDS = 0.2e-3
#: Seconds each ``convolve``/``correlate`` signature spent on the FFT route, and its rent: about
#: what the pipeline's start costs a signature's first calls (planning, a trial's exploring,
#: FFTW's measuring started: 27932 * 1101 'full' float32's calls 1-5 took 1.7, 1.0, 1.6, 1.2,
#: 1.0 ms through it, 0.4 once settled, scipy 0.6; AMD EPYC Zen 4).
_signal_fft_spent: dict[tuple, float] = {}
SIGNAL_FFT_ROUTE_SECONDS = 0.005
#: ... and the rent each signature was given (`signal_fft_first`).
_signal_fft_rent: dict[tuple, float] = {}
#: Signatures of two or more dimensions take the transforms on their first calls too
#: (`first_nd_fft`) where they are clearly quicker than the pipeline's first call
#: (`ND_ROUTE_MARGIN`), priced as in a process past its own first calls: the pipeline's
#: first-sight plan, lane route and kernel spectrum cost a new signature ~0.22 ms there beside
#: its run (`PIPELINE_FIRST_SECONDS`), the transforms ~0.1 ms and 0.6 ns per point and log2
#: of points (AMD EPYC Zen 4, a process that had convolved nine other 2-D signatures, the
#: route against the pipeline: 82x56 * 25x25 'full' float64 0.19 against 0.61 ms; 120x103 *
#: 33x33 'valid' float32 0.33 against 0.57; 75x97 * 10x10 float32 0.18 against 0.27; 64x64 *
#: 5x5 0.14 against 0.20; but 100x120 * 3x3 float32 0.29 against 0.26 and 200x150 * 9x9
#: float64 0.41 against 0.32, which stay on the pipeline). In a fresh process both cost more
#: (the route 0.48 against 0.96 ms; 0.68 against 1.02; 0.50 against 0.56; scipy's first calls
#: 0.68-0.83, 0.77-0.85, 0.56-0.66). The route is rented (a ski rental: the pipeline's start
#: is paid once the calls on the route have cost about what it would save them) while a
#: signature has spent under `ND_FFT_ROUTE_SECONDS` on it where the transforms beat the direct
#: sum's run too (the pipeline would settle on transforms as well, on pocketfft until FFTW has
#: measured them: each call on the route costs little more), else under
#: `ND_DIRECT_ROUTE_SECONDS`: the pipeline's settled calls run the compiled direct sum at a
#: fraction of the transforms' time (75x97 * 10x10 float32: 0.04 ms a call against 0.2). Renting
#: the first call only had left the pipeline's start to the second, a fresh process' 0.6-0.8 ms
#: against scipy's 0.2-0.3.
ND_FFT_ROUTE_SECONDS = 2e-3
ND_DIRECT_ROUTE_SECONDS = 0.5e-3
PIPELINE_FIRST_SECONDS = 0.22e-3
FFT_ROUTE_ND_CALL_SECONDS = 0.1e-3
FFT_ROUTE_ND_POINT_SECONDS = 0.6e-9
ND_ROUTE_MARGIN = 1.25
#: ... up to this estimate: beyond, the pipeline's start is a small part of the call.
ND_ROUTE_MOST_SECONDS = 1e-3
#: ... beyond this many points of the full convolution: smaller problems cost the pipeline tens
#: of microseconds, not its mid-size first call's planning and first transforms (and in float32
#: it transforms them in float64, `fftconv.executors.spectral.PRECISE_POINTS`).
ND_FFT_ROUTE_POINTS = PRECISE_POINTS
#: The compiled direct sum's cost a product as the calibrated cost model prices it here
#: (0.029-0.040 ns float32, 0.037-0.057 float64 for 2-D and 3-D kernels of 9 to 1,100 taps).
COMPILED_PRODUCT_SECONDS = {np.dtype(np.float32): 0.03e-9, np.dtype(np.float64): 0.045e-9}
_FLOAT_REALS = frozenset(np.dtype(t) for t in (np.float32, np.float64))
_COMPLEX = frozenset(np.dtype(t) for t in (np.complex64, np.complex128))
_ND_LOOP = _FLOAT_REALS | _COMPLEX
#: Most multiply-adds a complex ``convolve``/``correlate`` call of three or more dimensions
#: hands to scipy's N-d loop (AMD EPYC, 1 thread, complex128: 4x4x4 * 2x2x2 'same', 512, took
#: 32-85 us through the pipeline, 27-55 us in scipy's `convolve`; 8x8x8 * 3x3x3, 13,824, 93-115
#: us and 121-135 us).
COMPLEX_ND_MACS = 4096
#: ... and a real one (scipy's loop takes ~10 ns a multiply-add, fftconv's routes ~30-60 us a
#: tiny 3-D call: 4x4x4 * 2x2x2 'full' float64, 1,000, ran 62 us in fftconv, 46 in scipy's
#: `convolve`, 21 in its loop; 3x5x4 * 2x2x3, 1,728, 53, 56 and 31; 8x8x8 * 3x3x3, 27,000, 18
#: us on fftconv's compiled route and 408 in scipy's loop; AMD EPYC, 1 thread).
REAL_ND_MACS = 2048
#: Most multiply-adds a `convolve2d`/`correlate2d` call hands to scipy's loop (~1.7 ns each).
SIGNAL_2D_MACS = 16_384
#: Most multiply-adds of a zero-fill 2-D signal call summed by fftconv's compiled tiny loop
#: (~0.35 ns each in float64) on its signature's first calls, while they have spent under
#: `RENT_2D_SECONDS` there; then it is planned. The pipeline's first call and its trial cost a
#: fresh process' 64x64 * 5x5 `convolve2d` 0.83 and 2.3 ms, where the loop takes 0.035 and
#: scipy's 0.2 (Intel Xeon, 1 thread); a long loop of its calls then runs the planned route (29
#: us) after ~60 rented ones.
RENT_2D_MACS = 1 << 20
RENT_2D_SECONDS = 2e-3
#: Seconds the calls of each 2-D signature seen spent on that rented route.
_spent_2d: dict[tuple, float] = {}
#: Most multiply-adds an ndimage call hands to scipy.ndimage's loop (~0.4 ns each)...
NDIMAGE_MACS = 1 << 17
#: ... and that a repeated signature's calls of 1 to 3 dimensions sum on fftconv's compiled tiny
#: loop (origin 0, `shifted_sums.MOST_TAPS` taps at most) while they have spent under
#: `RENT_NDIMAGE_SECONDS` there (`rented_ndimage_route`, kept by `fftconv.engine.lane.rent`);
#: then the signature is planned. The pipeline's plan cost a fresh process' first 20^3 * 3^3
#: `ndimage.convolve` 2.8 ms, where scipy's takes 0.24 and the loop 0.2 (Intel Xeon, 1 thread).
RENT_NDIMAGE_MACS = 1 << 20
RENT_NDIMAGE_SECONDS = 2e-3
#: ... the first time: from this many on, a repeated signature runs fftconv's compiled loop
#: through `fftconv.engine.lane` (AMD EPYC, 1 thread: 32x32 * 3x3, 9,216 multiply-adds, 17.6 us
#: against scipy.ndimage's 28.7 us; 64x64 * 3x3 float32 11.9 against 37.3 us; 16³ * 3³ 34
#: against 88 us; below, scipy's loop is the quicker: 16x16 * 3x3 in 24 us).
ROUTED_MACS = 8192

_FLOATS = frozenset(np.dtype(t) for t in (np.float32, np.float64, np.complex64, np.complex128))
_SIGNAL_2D_DTYPES = _FLOATS | frozenset(np.dtype(t) for t in (
    np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64))
_BOUNDARIES = frozenset(("fill", "pad", "wrap", "circular", "symm", "symmetric"))
_NDIMAGE_MODES = frozenset(MODES)


#: scipy modules whose loops the tiny routes call, imported and probed (`_ready`).
_READY: set[str] = set()


def _ready(name: str) -> bool:
    """Whether the tiny routes may call scipy's module ``name`` now: once its import (and
    ``prepare``) have run (`_import_and_prepare`). The routes call scipy's compiled loops,
    loaded without their packages and probed (`_before_probe`); the packages' public functions
    serve complex ndimage calls, and the calls whose loops failed their probes. Until the
    import a tiny call is answered by `fftconv.engine.shifted_sums` or the pipeline
    (`_meanwhile`), and the import runs in the background from the second call that wants it.
    The import had been a tiny call's first time in a fresh process (AMD EPYC, after `import
    fftconv`: scipy.signal 0.73 s, scipy.ndimage 0.18 s, where scipy's own first call takes
    0.1-0.2 ms, its module imported before)."""
    return name in _READY


#: scipy modules (and loops) a tiny call has wanted before they were `_ready` (probed).
_WANTED: set[str] = set()


def _meanwhile(name: str, prepare: Callable[[], object], answer: np.ndarray | None,
               image: np.ndarray) -> np.ndarray | None:
    """``answer`` (`fftconv.engine.shifted_sums`' sum of ``image`` and a kernel, or None: the
    pipeline's) of a tiny call made before scipy's module ``name`` is `_ready`. Where the
    compiled loop summed it (as fast as scipy's loop) no import is wanted for it; otherwise
    the second such call queues the module's import in the background
    (`fftconv.background`), after its sum: a process that makes one tiny call does not spend
    the import's 0.2-0.7 s of a core on it, nor its first call the thread's start (60-90 us
    beside a 4x4 * 2x2 sum's 50)."""
    if answer is not None and shifted_sums.by_loop(image):
        return answer
    _want(name, prepare)
    return answer


#: `_before_probe`'s word that the loop was probed in this call and is to sum it.
_NOW_PROBED = object()


def _before_probe(name: str, probe: Callable[[], None], answer: np.ndarray | None,
                  image: np.ndarray) -> np.ndarray | None | object:
    """``answer`` (`fftconv.engine.shifted_sums`' sum of ``image`` and a kernel, or None: the
    pipeline's) of a tiny call made before scipy's loop ``name`` is probed, where it stands:
    summed by fftconv's compiled loop (as fast as scipy's: no probe is wanted), or the first
    call that wants the loop (a process making one such call pays nothing for it). The second
    runs ``probe`` (~1 ms, in the call: in the background, the packages' imports and probes
    beside a caller's loop of tiny calls had taken seconds, `fftconv.engine.scipy_extensions`)
    and returns its answer, or `_NOW_PROBED` where it has none: the probed loop sums it."""
    if answer is not None and shifted_sums.by_loop(image):
        return answer
    if not _wanted_again(name):
        return answer
    probe()
    return _NOW_PROBED if answer is None else answer


def _want(name: str, prepare: Callable[[], object]) -> None:
    """Record that a call wanted scipy's module ``name`` before it was `_ready`; the second
    such call queues its import and ``prepare`` in the background."""
    if _wanted_again(name):
        background.submit(("tiny routes", name), functools.partial(_import_and_prepare, name, prepare))


def _wanted_again(name: str) -> bool:
    """Record that a call wanted ``name`` (`_WANTED`); whether one had before: the second call
    acts, so that a process making one such call pays nothing for it."""
    if name in _WANTED:
        return True
    _WANTED.add(name)
    return False


def ndimage_loops(now: bool = False) -> bool:
    """Whether scipy.ndimage's 1-D loops sum a separable filter's passes now
    (`ndimage_1d_loops.serving`: probed, or the public functions of a scipy.ndimage the caller
    imported); where they do not, the call is served otherwise and a later such call probes
    them once the tiny loop's calls for want of them have cost about the probe (`_want_probe`;
    `ndimage_1d_loops.probe` loads scipy's compiled module by itself, where scipy.ndimage's
    import took 0.2 s), or ``now`` this one (a call that would otherwise be planned), or, where
    the probe found the private loops changed, queues scipy.ndimage's import in the background.

    Examples
    --------
    >>> from fftconv.engine import ndimage_1d_loops
    >>> ndimage_1d_loops.probe()
    >>> ndimage_loops()
    True
    """
    if ndimage_1d_loops.ready():
        return True
    if imported("scipy.ndimage") is None:
        if ndimage_1d_loops.probed():
            _want("scipy.ndimage", _ndimage_functions)
            return False
        if now:
            ndimage_1d_loops.probe()
        else:
            _want_probe()
        return ndimage_1d_loops.ready()
    # imported by the caller: its public functions serve, and the loops are probed once a few
    # calls have passed (queued in the background by the second call, the probes had cost that
    # call 3 ms, a 256² `gaussian_filter` 4.2 ms where its first took 1.4)
    _calls_before_probes[0] += 1
    passed = _calls_before_probes[0] >= PROBE_AFTER_CALLS
    if passed and not ndimage_1d_loops.probed() and _wanted_again("probe"):
        ndimage_1d_loops.probe()
    return True


def _want_probe() -> None:
    """Record that a call wanted scipy.ndimage's 1-D loops before they were probed; the first
    such call once the calls summed on fftconv's tiny loop meanwhile have taken
    `PROBE_RENT_SECONDS` (`pay_probe_rent`) probes them, in the call (~1-1.3 ms, once a
    process): a ski rental, where the second call had probed them (a fresh process' second
    48x48 `gaussian_filter` 1.1 ms where scipy's takes 0.1; Intel Xeon). In the background the
    probe had taken 3-30 ms beside a caller's loop of small filters, slowing its calls 2-20x
    meanwhile: the thread waits up to 5 ms to take the GIL back after each of its calls of a
    loop, which hand it over (48x48 `gaussian_filter`, Intel Xeon)."""
    if _wanted_again("probe") and _probe_rent[0] >= PROBE_RENT_SECONDS:
        ndimage_1d_loops.probe()


#: Seconds the calls that wanted scipy.ndimage's 1-D loops spent on fftconv's tiny loop ...
_probe_rent = [0.0]
#: ... after which the next such call probes them (about the probe's own time).
PROBE_RENT_SECONDS = 1e-3


def pay_probe_rent(seconds: float) -> None:
    """Count ``seconds`` a separable filter's passes spent on fftconv's tiny loop before
    scipy.ndimage's 1-D loops were probed (`_want_probe`).

    Examples
    --------
    >>> before = _probe_rent[0]
    >>> pay_probe_rent(2e-6)
    >>> round(_probe_rent[0] - before, 9)
    2e-06
    """
    _probe_rent[0] += seconds


#: Calls that found scipy.ndimage imported by the caller before its loops were probed ...
_calls_before_probes = [0]
#: ... of which this many pass before the probes are wanted (`_want_probe`: the next runs them).
PROBE_AFTER_CALLS = 8


def _import_and_prepare(name: str, prepare: Callable[[], object]) -> None:
    importlib.import_module(name)
    prepare()
    _READY.add(name)


def prepare_scipy_routes() -> None:
    """Import and probe now the scipy modules whose loops tiny calls take, rather than in the
    background once tiny calls want them (`_ready`): the routes' steady state, at once (the
    tests' starting point).

    Examples
    --------
    >>> prepare_scipy_routes()
    >>> sorted(_READY)
    ['scipy.ndimage', 'scipy.signal']
    """
    _import_and_prepare("scipy.signal", _probe_signal_loops)
    _import_and_prepare("scipy.ndimage", _ndimage_functions)


def _plain(a: object, dtypes: frozenset) -> bool:
    return type(a) is np.ndarray and a.dtype in dtypes and a.size > 0  # type: ignore[attr-defined]


def _default_threads(threads: object) -> bool:
    return threads is None or (type(threads) is int and threads > 0)


def _unforced(method: object) -> bool:
    return method == "auto" and config.forced_method() == "auto"


def _renting(spent: dict[tuple, float], signature: tuple, budget: float) -> bool:
    """Whether a call of ``signature`` may take a route it rents (``spent``: that route's
    record, `_spent_1d` or `_fft_1d_spent`): its first call always, later ones while they have
    spent under ``budget`` seconds there."""
    paid = spent.get(signature)
    return paid is None or paid < budget


def _pay(spent: dict[tuple, float], signature: tuple, seconds: float) -> None:
    """Record ``seconds`` more spent by ``signature``'s calls in ``spent`` (at most `SEEN_1D`
    signatures: the record starts afresh)."""
    if len(spent) >= SEEN_1D:
        spent.clear()
    spent[signature] = spent.get(signature, 0.0) + seconds


def _only_axis(axes: object) -> bool:
    """Whether ``axes`` names a 1-D call's only axis (or is None); anything else, arrays
    included, is left to the pipeline's checks."""
    return axes is None or (type(axes) in (int, tuple, list) and axes in (0, -1, (0,), (-1,), [0], [-1]))


def signal_call(in1: object, in2: object, mode: object, method: object, axes: object, threads: object,
                correlate: bool) -> np.ndarray | None:
    """The answer of an N-d ``convolve``/``correlate`` call from the first tiny route that
    takes it (`signal_1d`, `signal_2d_nd`, `signal_nd`), else None. Arrays of two or more
    dimensions whose 'same' or 'full' window needs more multiply-adds than any of those routes
    takes skip their checks (3 of a repeated 64x64 * 3x3 call's 9 us). A signature's first
    calls may take NumPy's transforms after (`signal_fft_first`, which the facade asks once
    the lane has no route for the call).

    Examples
    --------
    >>> import numpy as np
    >>> signal_call(np.arange(4.0), np.ones(2), "full", "auto", None, None, False)
    array([0., 1., 3., 5., 3.])
    >>> signal_call(np.ones((600, 600)), np.ones((3, 3)), "same", "auto", None, None, False) is None
    True
    """
    if (type(in1) is np.ndarray and type(in2) is np.ndarray and in1.ndim >= 2 and type(mode) is str
            and mode in _WIDE_MODES
            and in1.size * in2.size > max(ROUTED_MACS, COMPLEX_ND_MACS, RENT_2D_MACS * (in1.ndim == 2))):
        return None  # the window has at least in1's size in outputs, each in2's size in taps
    small = signal_1d(in1, in2, mode, method, axes, threads, correlate=correlate)
    if small is None and axes is None:  # 2-D: scipy's loop where it beats even the lane
        small = signal_2d_nd(in1, in2, mode, correlate, method, threads)
    if small is None and axes is None:  # complex 3-D and more: scipy's N-d loop
        small = signal_nd(in1, in2, mode, correlate, method, threads)
    return small


#: Windows with at least as many outputs as ``in1`` has samples.
_WIDE_MODES = ("same", "full")


def signal_1d(in1: object, in2: object, mode: object, method: object, axes: object,
              threads: object, first_sight: bool = True, correlate: bool = False) -> np.ndarray | None:
    """``numpy.convolve`` (``correlate``: ``numpy.correlate``, which conjugates ``in2`` as
    scipy does) of a 1-D call's own arguments when the call is tiny and the answer is
    fftconv's (both float or complex arrays of one dtype, and a 'same' window only when
    ``in1`` is the longer: NumPy keeps the longer one's length; real kernels that
    `fftconv.engine.short_1d` estimates quicker in `fftconv.engine.shifted_sums`' compiled loop
    are summed there instead); else None. With
    ``first_sight``, a signature whose calls spent under `RENT_1D_SECONDS` here counts as tiny
    up to `FIRST_1D_MACS`, and beyond where `first_1d_route` prefers NumPy's sum (the call's
    time is recorded).

    Examples
    --------
    >>> import numpy as np
    >>> signal_1d(np.arange(4.0), np.ones(2), "same", "auto", None, None)
    array([0., 1., 3., 5.])
    >>> signal_1d(np.ones(2), np.arange(4.0), "same", "auto", None, None) is None
    True
    """
    if type(mode) is not str or not (_plain(in1, _FLOATS) and _plain(in2, _FLOATS)):
        return None  # a mode that is not a string: the pipeline refuses it
    a, b = in1, in2
    if a.ndim != 1 or b.ndim != 1 or a.dtype != b.dtype or not _only_axis(axes):
        return None
    n, k = a.shape[0], b.shape[0]
    if mode not in _SIGNAL_MODES or (mode == "same" and n < k):
        return None
    outputs = _window_length(n, k, mode)
    taps = min(n, k)
    most = LONG_1D_MACS if taps >= LONG_1D_TAPS else SIGNAL_1D_MACS
    loop_built = shifted_sums.by_loop(a)
    route = short_1d.quickest(outputs, taps, a.dtype, loop_built)
    if a.dtype.kind == "f" and taps < LONG_1D_TAPS and route is None:
        most = 0  # the pipeline's compiled loop, once planned
    elif (taps >= LONG_1D_TAPS and a.dtype.kind == "f"
          and NUMPY_PRODUCT_COST * _products(n, k, mode) > outputs * taps):
        most = 0  # the compiled loop, once planned
    rented = None
    if first_sight and most < outputs * taps:
        signature = (n, k, a.dtype.char, mode, correlate)
        if _renting(_spent_1d, signature, RENT_1D_SECONDS):
            if outputs * taps <= FIRST_1D_MACS or first_1d_route(n, k, mode, a.dtype, correlate) == "numpy":
                most, rented = outputs * taps, signature
                route = short_1d.quicker_tiny(outputs, taps, a.dtype, loop_built)
            else:  # for good: its later calls skip the pricing
                _pay(_spent_1d, signature, math.inf)
    if outputs * taps > most or not _default_threads(threads) or not _unforced(method):
        return None
    started = time.perf_counter()
    result = None
    if route == "loop":
        result = shifted_sums.signal_sum(a, b, mode, correlate, short_1d.LOOP_TAPS)  # None: not taken
    if result is None:
        result = np.correlate(a, b, mode) if correlate else np.convolve(a, b, mode)
    if rented is not None:
        _pay(_spent_1d, rented, time.perf_counter() - started)
    return result


def first_1d_route(n: int, k: int, mode: str, dtype: np.dtype, correlate: bool) -> str | None:
    """For a 1-D real signature's first calls: 'numpy' (``numpy.convolve``) or 'fft' (three
    NumPy transforms, `signal_fft_first`), whichever is estimated the quicker, when that is under
    `ROUTE_1D_MOST_SECONDS`; else None (the pipeline). The FFT route takes transforms of at
    most `FIRST_FFT_1D_POINTS` points, float32 ones only for a full convolution beyond
    `fftconv.executors.spectral.PRECISE_POINTS` points (the pipeline transforms those in
    float64), and
    no 'valid' correlation with the longer kernel (scipy swaps it and reverses the answer).

    Examples
    --------
    >>> import numpy as np
    >>> first_1d_route(20000, 200, "same", np.dtype(np.float32), False)
    'numpy'
    >>> first_1d_route(20000, 1000, "same", np.dtype(np.float64), False)
    'fft'
    >>> first_1d_route(10**6, 1000, "same", np.dtype(np.float64), False) is None
    True
    """
    per_product = NUMPY_PRODUCT_SECONDS.get(dtype)
    if per_product is None:
        return None
    numpy_seconds = per_product * _products(n, k, mode) + NUMPY_OUTPUT_SECONDS * _window_length(n, k, mode)
    fft_seconds = math.inf
    points = next_fast_length(n + k - 1)
    single_rounding = dtype.itemsize == 4 and n + k - 1 <= PRECISE_POINTS  # the pipeline: float64 there
    swapped = correlate and mode == "valid" and n < k
    if points <= FIRST_FFT_1D_POINTS and not single_rounding and not swapped:
        fft_seconds = FFT_ROUTE_CALL_SECONDS + FFT_ROUTE_POINT_SECONDS[dtype] * points * math.log2(points)
    if min(numpy_seconds, fft_seconds) > ROUTE_1D_MOST_SECONDS:
        return None
    return "numpy" if numpy_seconds <= fft_seconds else "fft"


def first_nd_fft(shape1: tuple[int, ...], shape2: tuple[int, ...], mode: str, dtype: np.dtype,
                 correlate: bool) -> float | None:
    """For a real signature of two or more dimensions, the seconds its first calls may spend
    on three NumPy transforms (`signal_fft_first`) rather than the pipeline, or None: the route
    where it is estimated at most `ND_ROUTE_MOST_SECONDS` and `ND_ROUTE_MARGIN` times quicker
    than the pipeline's first call with the compiled direct sum (`PIPELINE_FIRST_SECONDS`, and
    `COMPILED_PRODUCT_SECONDS` a product; with an FFT the pipeline's run is the route's, plus
    its start), with a full convolution of more than `ND_FFT_ROUTE_POINTS` points, and no
    'valid' correlation that needs scipy's swap. Rented for `ND_FFT_ROUTE_SECONDS` where the
    transforms are quicker than the direct sum's run too (the pipeline's settled calls would
    run transforms as well), else for `ND_DIRECT_ROUTE_SECONDS` (they would run the direct sum).

    Examples
    --------
    >>> import numpy as np
    >>> first_nd_fft((82, 56), (25, 25), "full", np.dtype(np.float64), False) == ND_FFT_ROUTE_SECONDS
    True
    >>> first_nd_fft((64, 64), (3, 3), "same", np.dtype(np.float64), False) == ND_DIRECT_ROUTE_SECONDS
    True
    >>> first_nd_fft((100, 120), (3, 3), "same", np.dtype(np.float32), False) is None  # the direct sum
    True
    """
    per_product = COMPILED_PRODUCT_SECONDS.get(dtype)
    if per_product is None or (correlate and mode == "valid" and any(n < k for n, k in zip(shape1, shape2))):
        return None
    if math.prod(n + k - 1 for n, k in zip(shape1, shape2)) <= ND_FFT_ROUTE_POINTS:
        return None  # small, or float32 the pipeline would transform in float64 (`PRECISE_POINTS`)
    points = math.prod(next_fast_length(n + k - 1) for n, k in zip(shape1, shape2))
    fft_seconds = FFT_ROUTE_ND_CALL_SECONDS + FFT_ROUTE_ND_POINT_SECONDS * points * math.log2(points)
    outputs = math.prod(_window_length(n, k, mode) for n, k in zip(shape1, shape2))
    direct_run = per_product * outputs * math.prod(shape2)
    pipeline_first = PIPELINE_FIRST_SECONDS + direct_run
    if fft_seconds > ND_ROUTE_MOST_SECONDS or ND_ROUTE_MARGIN * fft_seconds > pipeline_first:
        return None
    return ND_FFT_ROUTE_SECONDS if fft_seconds <= direct_run else ND_DIRECT_ROUTE_SECONDS


def _window_length(n: int, k: int, mode: str) -> int:
    """Outputs of one axis of ``mode``'s window ('valid': the operands swapped where ``k`` is
    the longer, as scipy's convolution swaps them)."""
    return {"full": n + k - 1, "same": n, "valid": abs(n - k) + 1}[mode]


def signal_fft_first(in1: object, in2: object, mode: object, method: object, axes: object, threads: object,
                     correlate: bool) -> np.ndarray | None:
    """A real ``convolve``/``correlate`` call's answer by three NumPy transforms, on a
    signature's first calls (1-D: until they have spent `SIGNAL_FFT_ROUTE_SECONDS` here; more
    dimensions: what `first_nd_fft` allows), where `first_1d_route` / `first_nd_fft` prefer them;
    else None. As `fft_small`: finite operands of one float dtype, every axis convolved, the
    default threads, nothing forcing a method.

    Examples
    --------
    >>> import numpy as np
    >>> a, b = np.random.default_rng(0).standard_normal((2, 20000))
    >>> got = signal_fft_first(a, b[:1000], "same", "auto", None, None, False)
    >>> bool(np.allclose(got, np.convolve(a, b[:1000], "same")))
    True
    """
    if type(mode) is not str or not (_plain(in1, _FLOAT_REALS) and _plain(in2, _FLOAT_REALS)):
        return None
    a, b = in1, in2
    if (a.ndim != b.ndim or a.ndim == 0 or a.dtype != b.dtype or mode not in _SIGNAL_MODES
            or not _default_threads(threads) or type(method) is not str or not _unforced(method)
            or not (axes is None or (a.ndim == 1 and _only_axis(axes)))):
        return None
    signature = (a.shape, b.shape, a.dtype.char, mode, correlate)
    if signature in _signal_fft_spent:
        rent = _signal_fft_rent.get(signature, 0.0)
    elif a.ndim == 1:
        rent = SIGNAL_FFT_ROUTE_SECONDS if first_1d_route(a.shape[0], b.shape[0], mode, a.dtype,
                                                          correlate) == "fft" else None
    else:
        rent = first_nd_fft(a.shape, b.shape, mode, a.dtype, correlate)
    if rent is None:  # declined for good: its later calls skip the pricing
        _pay(_signal_fft_spent, signature, math.inf)
        return None
    if not _renting(_signal_fft_spent, signature, rent):
        return None
    if len(_signal_fft_rent) >= SEEN_1D:
        _signal_fft_rent.clear()
    _signal_fft_rent[signature] = rent
    window = _fft_window(a.shape, b.shape, mode)
    if window is None or not (np.isfinite(a).all() and np.isfinite(b).all()):
        return None  # the pipeline raises scipy's error, or keeps non-finite values local
    started = time.perf_counter()
    sizes = [next_fast_length(n + k - 1) for n, k in zip(a.shape, b.shape)]
    with np.errstate(all="ignore"):
        result = _fft_convolve(a, np.flip(b) if correlate else b, sizes, window)
    _pay(_signal_fft_spent, signature, time.perf_counter() - started)
    return result if np.isfinite(result).all() else None


#: The modes `signal_1d` and `signal_fft_first` answer (any other: the pipeline raises scipy's error).
_SIGNAL_MODES = ("full", "same", "valid")
_SINGLE = frozenset((np.dtype(np.float32), np.dtype(np.complex64)))


def _fft_convolve(a: np.ndarray, b: np.ndarray, sizes: list[int], window: tuple[slice, ...]) -> np.ndarray:
    """``window`` of the full convolution of ``a`` and ``b`` (one dtype, every axis) by
    transforms of ``sizes`` points, in ``a``'s dtype: NumPy's for one axis, for more scipy.fft's
    where the process imported it (it transforms every axis in one compiled call, numpy.fft one
    at a time). Single precision transforms scaled and multiplies the scale back out: NumPy's
    unscaled single-precision transforms run 3-4x slower (27,932 float32 points into 30,000:
    ``rfft`` 514 against 189 us, ``irfft`` 519 against 118; NumPy 2.4.6, AMD EPYC Zen 4;
    `fftconv.backends.pocketfft.SCALED_SINGLE_AXES`).

    Examples
    --------
    >>> import numpy as np
    >>> _fft_convolve(np.arange(4, dtype=np.float32), np.ones(2, np.float32), [8], (slice(0, 5),)).round(5)
    array([0., 1., 3., 5., 3.], dtype=float32)
    """
    fft = np.fft if a.ndim == 1 else imported("scipy.fft") or np.fft
    forward, inverse = (fft.rfftn, fft.irfftn) if a.dtype.kind == "f" else (fft.fftn, fft.ifftn)
    every = tuple(range(a.ndim))
    single = a.dtype in _SINGLE
    norm = "forward" if single else "backward"  # 'forward': the forward transforms scaled by 1/points
    product = forward(a, sizes, axes=every, norm=norm)
    product *= forward(b, sizes, axes=every, norm=norm)
    result = inverse(product, sizes, axes=every)[window].astype(a.dtype)  # NumPy 1.x: double, cast
    if single:
        points = math.prod(sizes)
        result *= float(points) * points  # each forward transform's 1/points
    return result


def _products(n: int, k: int, mode: str) -> int:
    """The products ``numpy.convolve`` sums for a 1-D call of lengths ``n`` and ``k``: those of
    the 'full' convolution inside the mode's window (an output ``j`` samples from the full
    window's edge has ``j + 1`` of them, while ``j`` is under the shorter length).

    Examples
    --------
    >>> _products(10, 3, "full"), _products(10, 3, "same"), _products(10, 3, "valid")
    (30, 28, 24)
    """
    taps = min(n, k)
    if mode == "valid":
        return (abs(n - k) + 1) * taps

    def edge(outputs: int) -> int:  # the products of the full window's first (or last) outputs
        if outputs <= taps:
            return outputs * (outputs + 1) // 2
        return taps * (taps + 1) // 2 + (outputs - taps) * taps

    if mode == "full":
        return n * k
    before = (k - 1) // 2  # 'same' (n >= k): the full window less its first and last outputs
    return n * k - edge(before) - edge(k - 1 - before)


def fft_small(in1: object, in2: object, mode: object, axes: object, threads: object) -> np.ndarray | None:
    """An ``fftconvolve`` call's answer by pocketfft's transforms (NumPy's; for 2-D and more
    scipy.fft's when the process imported it: 1.2-1.5x quicker there), without the pipeline,
    when its transforms are too small to repay FFTW (at most `SMALL_FFT_POINTS` points, every
    call; a 1-D real signature's up to `FIRST_FFT_1D_POINTS` until its calls have spent
    `FFT_1D_ROUTE_SECONDS` there), both operands are finite float or complex arrays of one
    dtype convolved along every axis, and the answer is fftconv's; else None. A result that is
    not finite (a sum that overflowed) is None too: the pipeline keeps such values local.

    Examples
    --------
    >>> import numpy as np
    >>> fft_small(np.arange(4.0), np.ones(2), "full", None, None).round(12)
    array([0., 1., 3., 5., 3.])
    >>> fft_small(np.eye(2), np.ones((2, 2)), "same", None, None).round(12)
    array([[1., 1.],
           [1., 2.]])
    """
    if type(mode) is not str or not (_plain(in1, _FLOATS) and _plain(in2, _FLOATS)):
        return None  # a mode that is not a string: the pipeline refuses it
    a, b = in1, in2
    if a.ndim != b.ndim or a.dtype != b.dtype or not _default_threads(threads) or not _unforced("auto"):
        return None
    if axes is not None and not (a.ndim == 1 and _only_axis(axes)):
        return None  # other axes: the pipeline broadcasts and checks them
    window = _fft_window(a.shape, b.shape, mode)
    if window is None:
        return None  # the pipeline raises scipy's error, or swaps in its own way
    full = [n + k - 1 for n, k in zip(a.shape, b.shape)]
    sizes = [next_fast_length(n) for n in full]
    points = math.prod(sizes)
    rented = None
    if points > SMALL_FFT_POINTS:
        if not (a.ndim == 1 and a.dtype in _FLOAT_REALS and points <= FIRST_FFT_1D_POINTS):
            return None
        rented = (a.shape[0], b.shape[0], a.dtype.char, mode)
        if not _renting(_fft_1d_spent, rented, FFT_1D_ROUTE_SECONDS):
            return None
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return None  # the pipeline keeps non-finite values local
    started = time.perf_counter()
    with np.errstate(all="ignore"):  # an overflow is left to the pipeline, which says so
        result = _fft_convolve(a, b, sizes, window)
    if rented is not None:
        _pay(_fft_1d_spent, rented, time.perf_counter() - started)
    return result if np.isfinite(result).all() else None


def _fft_window(n: tuple[int, ...], k: tuple[int, ...], mode: str) -> tuple[slice, ...] | None:
    """The slices of the full convolution that ``mode`` keeps, as scipy's ``fftconvolve``
    centres them ('same': ``in1``'s shape; 'valid': the operands swapped when ``in2`` is
    the larger in every axis), or None where the pipeline must answer (a bad mode, or 'valid'
    operands neither of which contains the other)."""
    if mode == "full":
        return tuple(slice(0, a + b - 1) for a, b in zip(n, k))
    if mode == "same":
        return tuple(slice((b - 1) // 2, (b - 1) // 2 + a) for a, b in zip(n, k))
    if mode == "valid" and (all(a >= b for a, b in zip(n, k)) or all(a <= b for a, b in zip(n, k))):
        return tuple(slice(min(a, b) - 1, max(a, b)) for a, b in zip(n, k))
    return None


def signal_2d(in1: object, in2: object, mode: object, boundary: object, fillvalue: object,
              correlate: bool, method: object, threads: object, most: int = SIGNAL_2D_MACS
              ) -> np.ndarray | None:
    """scipy.signal's ``convolve2d``/``correlate2d`` of the call's own arguments when the call
    is tiny (at most ``most`` multiply-adds) and the answer is fftconv's (see the module
    docstring); else None.

    Examples
    --------
    >>> import numpy as np
    >>> signal_2d(np.eye(3), np.ones((2, 2)), "same", "wrap", 0, False, "auto", None)
    array([[2., 1., 1.],
           [1., 2., 1.],
           [1., 1., 2.]])
    >>> signal_2d(np.eye(3), np.ones((2, 2)), "same", "wrap", 0, False, "direct", None) is None
    True
    """
    if type(mode) is not str or type(in1) is not np.ndarray or type(in2) is not np.ndarray:
        return None  # a mode that is not a string: the pipeline refuses it
    a, b = in1, in2
    if (a.ndim != 2 or b.ndim != 2 or a.dtype != b.dtype or a.dtype not in _SIGNAL_2D_DTYPES or not a.size
            or not b.size or type(boundary) is not str or boundary not in _BOUNDARIES):
        return None
    (n0, n1), (k0, k1) = a.shape, b.shape
    if mode == "same":
        shape, starts = (n0, n1), [(k0 - 1) // 2, (k1 - 1) // 2]
    elif mode == "full":
        shape, starts = (n0 + k0 - 1, n1 + k1 - 1), [0, 0]
    elif mode == "valid" and n0 >= k0 and n1 >= k1:
        shape, starts = (n0 - k0 + 1, n1 - k1 + 1), [k0 - 1, k1 - 1]
    else:
        return None
    if not _default_threads(threads) or not isinstance(fillvalue, (int, float)) or not _unforced(method):
        return None
    zero_fill = boundary in ("fill", "pad") and fillvalue == 0
    compiled = zero_fill and shifted_sums.tiny_sums is not None and a.dtype in shifted_sums.SIGNAL_DTYPES
    macs, rented = shape[0] * shape[1] * k0 * k1, None
    if macs > most:
        if not compiled or macs > RENT_2D_MACS:
            return None
        rented = (a.shape, b.shape, a.dtype.char, mode, correlate)
        if not _renting(_spent_2d, rented, RENT_2D_SECONDS):
            return None
    if compiled:
        # fftconv's compiled loop, called here: 3-14x scipy's loop's speed (16x16 * 3x3 float64
        # 0.9 against 6.6 us, 32x32 * 5x5 7.6 against 46; Intel Xeon), and a fresh process's
        # first call pays for every function it runs (~60 us through `shifted_sums.signal_sum`)
        started = time.perf_counter() if rented is not None else 0.0
        if correlate and mode == "same":  # correlate2d centres an even kernel's window a sample later
            starts = [k0 // 2, k1 // 2]
        out = np.empty(shape, a.dtype)
        try:
            shifted_sums.tiny_sums.signal(a, b, out, starts, correlate)
        except ValueError:  # NumPy refuses a strided array's C-contiguous buffer
            shifted_sums.tiny_sums.signal(np.ascontiguousarray(a), np.ascontiguousarray(b), out, starts,
                                          correlate)
        if rented is not None:
            _pay(_spent_2d, rented, time.perf_counter() - started)
        return out
    loop = signal_loops.loop("2d")
    if loop is None and not signal_loops.probed("2d"):
        # (`shifted_sums.signal_sum` sums an N-d window: correlate2d's even 'same' one is not)
        summed = zero_fill and not (correlate and mode == "same" and (k0 % 2 == 0 or k1 % 2 == 0))
        answer = _before_probe("scipy.signal 2d", functools.partial(signal_loops.probe, "2d"),
                               shifted_sums.signal_sum(a, b, mode, correlate) if summed else None, a)
        if answer is not _NOW_PROBED:
            return answer
        loop = signal_loops.loop("2d")
    if loop is None:
        public = _signal_function("correlate2d" if correlate else "convolve2d")
        return None if public is None else public(a, b, mode, boundary, fillvalue)
    return signal_loops.run_2d(loop, a, b, mode, boundary, fillvalue, correlate)


def signal_2d_nd(in1: object, in2: object, mode: object, correlate: bool, method: object, threads: object
                 ) -> np.ndarray | None:
    """`signal_2d` for the N-d ``convolve``/``correlate`` on 2-D arrays (zero fill, up to
    `ROUTED_MACS` multiply-adds): ``correlate2d`` centres an even kernel's 'same' window one
    sample off ``correlate``'s, so such a call runs the loop's 'full' window and keeps
    ``correlate``'s slice of it.

    Examples
    --------
    >>> import numpy as np
    >>> signal_2d_nd(np.eye(3), np.array([[1.0, 2.0]]), "same", True, "auto", None)
    array([[2., 1., 0.],
           [0., 2., 1.],
           [0., 0., 2.]])
    """
    if not (correlate and type(mode) is str and mode == "same"
            and any(k % 2 == 0 for k in getattr(in2, "shape", ()))):
        return signal_2d(in1, in2, mode, "fill", 0, correlate, method, threads, ROUTED_MACS)
    full = signal_2d(in1, in2, "full", "fill", 0, True, method, threads, ROUTED_MACS)
    if full is None:
        return None
    start = [(k - 1) // 2 for k in in2.shape]  # type: ignore[attr-defined]
    return np.ascontiguousarray(full[tuple(slice(s, s + n) for s, n in zip(start, in1.shape))])  # type: ignore[attr-defined]


def signal_nd(in1: object, in2: object, mode: object, correlate: bool, method: object, threads: object
              ) -> np.ndarray | None:
    """scipy.signal's N-d direct loop for a tiny call of three or more dimensions (complex: at
    most `COMPLEX_ND_MACS` multiply-adds, fftconv sums complex numbers without a compiled loop,
    scipy's ``convolve``/``correlate`` with theirs; real: at most `REAL_ND_MACS`, where the
    pipeline's fixed cost is more than scipy's whole call), arguments as scipy's
    ``method='direct'`` passes them (no swap: a 'full' window's larger kernel, or 'valid' one,
    go to the pipeline); else None.

    Examples
    --------
    >>> import numpy as np
    >>> signal_nd(np.ones((2, 2, 2), complex), np.ones((1, 1, 2), complex), "full", False, "auto", None)[0, 0]
    array([1.+0.j, 2.+0.j, 1.+0.j])
    """
    if type(mode) is not str or not (_plain(in1, _ND_LOOP) and _plain(in2, _ND_LOOP)):
        return None
    a, b = in1, in2
    if a.ndim < 3 or b.ndim != a.ndim or a.dtype != b.dtype or mode not in signal_loops.MODES:
        return None
    if mode == "valid":
        if not all(map(operator.le, b.shape, a.shape)):
            return None
        outputs = math.prod(n - k + 1 for n, k in zip(a.shape, b.shape))
    else:
        if mode == "full" and b.size > a.size:
            return None
        outputs = a.size if mode == "same" else math.prod(n + k - 1 for n, k in zip(a.shape, b.shape))
    most = COMPLEX_ND_MACS if a.dtype.kind == "c" else REAL_ND_MACS
    if outputs * b.size > most or not _default_threads(threads) or not _unforced(method):
        return None
    loop = signal_loops.loop("nd")
    if loop is None and not signal_loops.probed("nd"):
        answer = _before_probe("scipy.signal nd", functools.partial(signal_loops.probe, "nd"),
                               shifted_sums.signal_sum(a, b, mode, correlate), a)
        if answer is not _NOW_PROBED:
            return answer
        loop = signal_loops.loop("nd")
    if loop is None:
        public = _signal_function("correlate" if correlate else "convolve")
        return None if public is None else public(a, b, mode, method="direct")
    return signal_loops.run_nd(loop, a, b, mode, correlate)


def _signal_function(name: str) -> Callable[..., np.ndarray] | None:
    """scipy.signal's public function ``name``, where scipy's loop failed its probe, once
    scipy.signal is imported: its import is queued in the background by the second call that
    wants it (`_want`); None until then (the pipeline serves)."""
    if not _ready("scipy.signal"):
        _want("scipy.signal", lambda: None)
        return None
    import scipy.signal

    return getattr(scipy.signal, name)


def routed_when_repeated(input: object, weights: object) -> bool:
    """Whether a repeated ndimage call of these arrays is better served by the lane's route
    than by scipy's loop (`ROUTED_MACS`): plain arrays only.

    Examples
    --------
    >>> import numpy as np
    >>> routed_when_repeated(np.ones((64, 64)), np.ones((3, 3)))
    True
    >>> routed_when_repeated(np.ones((8, 8)), np.ones((3, 3)))
    False
    """
    return (type(input) is np.ndarray and type(weights) is np.ndarray
            and input.size * weights.size >= ROUTED_MACS)  # type: ignore[attr-defined]


def ndimage_filter(input: object, weights: object, output: object, mode: object, cval: object,
                   origin: object, axes: object, method: object, threads: object, progress: bool,
                   convolution: bool) -> np.ndarray | None:
    """scipy.ndimage's ``correlate``/``convolve`` of the call's own arguments when the call is
    tiny and the answer is fftconv's (see the module docstring); else None.

    Examples
    --------
    >>> import numpy as np
    >>> ndimage_filter(np.arange(5.0), np.array([1.0, 2.0, 0.0]), None, "reflect", 0.0, 0, None,
    ...                "auto", None, False, False)
    array([ 0.,  2.,  5.,  8., 11.])
    """
    target = _loop_target(input, weights, output, mode, cval, origin, axes, method, threads, progress)
    if target is _NO_LOOP or input.size * weights.size > NDIMAGE_MACS:  # type: ignore[attr-defined]
        return None
    x, w = input, weights
    if x.dtype.kind == "f" and w.dtype.kind in "fiu":
        answer = _real_ndimage(x, w, target, mode, cval, origin, convolution)
        if answer is not _REFUSED:
            return answer
    if not _ready("scipy.ndimage"):  # a complex call, or scipy's loop failed its probe
        answer = _tiny_loop_sum(x, w, target, mode, cval, origin, convolution)
        return _meanwhile("scipy.ndimage", _ndimage_functions, answer, x)
    _ndimage_functions()
    return _ndimage[convolution](x, w, target, mode, cval, origin)


#: `_loop_target`'s answer for a call no compiled loop takes as it is.
_NO_LOOP = object()


def _loop_target(input: object, weights: object, output: object, mode: object, cval: object, origin: object,
                 axes: object, method: object, threads: object, progress: bool) -> np.ndarray | None | object:
    """The array an ndimage call's compiled loop writes (None: a new one, `_tiny_output`) where
    the loops take its arguments as they are: plain arrays (a float or complex image, weights of
    its rank and no longer on any axis), a boundary mode, a number for ``cval``, integer
    origins, nothing forced or asked of fftconv alone; else `_NO_LOOP`."""
    if axes is not None or progress or not _plain(input, _FLOATS) or not _plain(weights, _SIGNAL_2D_DTYPES):
        return _NO_LOOP
    x, w = input, weights
    target = None if output is None else _tiny_output(output, x, w)
    if output is not None and target is None:
        return _NO_LOOP
    if x.ndim == 0 or w.ndim != x.ndim or not all(map(operator.le, w.shape, x.shape)):
        return _NO_LOOP
    if type(mode) is not str or mode not in _NDIMAGE_MODES or not isinstance(cval, (int, float)):
        return _NO_LOOP
    if not (type(origin) is int or (type(origin) in (tuple, list) and len(origin) == x.ndim
                                    and all(type(o) is int for o in origin))):
        return _NO_LOOP
    if not _default_threads(threads) or not _unforced(method):
        return _NO_LOOP
    return target


#: `_real_ndimage`'s answer where scipy's N-d loop failed its probe: the public functions serve.
_REFUSED = object()


def _real_ndimage(x: np.ndarray, w: np.ndarray, target: np.ndarray | None, mode: str, cval: float,
                  origin: object, convolution: bool) -> np.ndarray | None | object:
    """A tiny call of a real image and real weights: fftconv's compiled tiny loop where it sums
    it (1 to 3 dimensions, origin 0, an output of the image's dtype: as fast as scipy's loop or
    up to 2x faster: 64x64 * 3x3 float32 15 against 34 us, Intel Xeon), else scipy.ndimage's
    probed N-d loop (`fftconv.engine.ndimage_nd_loop`: scipy.ndimage is not imported); before
    the probe, the second call that wants it runs it (~1 ms, once a process: a 6^4 * 3^4
    `correlate` is summed by NumPy's slices in 0.76 ms, on scipy's loop in 0.14). None: the
    pipeline's call (an origin scipy refuses, whose error it raises); `_REFUSED` where the loop
    failed its probe."""
    compiled = shifted_sums.by_loop(x)
    answer = _tiny_loop_sum(x, w, target, mode, cval, origin, convolution) if compiled else None
    if answer is not None:
        return answer
    loop = ndimage_nd_loop.loop()
    if loop is None and not ndimage_nd_loop.probed():
        summed = None if compiled else _tiny_loop_sum(x, w, target, mode, cval, origin, convolution)
        answer = _before_probe("scipy.ndimage nd", ndimage_nd_loop.probe, summed, x)
        if answer is not _NOW_PROBED:
            return answer
        loop = ndimage_nd_loop.loop()
    if loop is None:
        return _REFUSED
    return _run_ndimage_loop(loop, x, w, mode, cval, origin, convolution, target)


def _tiny_loop_sum(x: np.ndarray, w: np.ndarray, target: np.ndarray | None, mode: str, cval: float,
                   origin: object, convolution: bool) -> np.ndarray | None:
    """fftconv's tiny loop's sum (`fftconv.engine.shifted_sums.ndimage_sum`) of a call with
    origin 0, into an output of the image's dtype where one was asked for (scipy's loop rounds
    into it once); None for the others, which the pipeline serves (a fresh process' first
    16x16 * 3x3 call with an output array had taken 1.2 ms there, scipy's 0.07; Intel Xeon)."""
    into = target if target is not None and target.dtype == x.dtype else None
    if not _centred(origin) or (target is not None and into is None):
        return None
    answer = shifted_sums.ndimage_sum(x, w, mode, cval, convolution, into if _contiguous(into) else None)
    if answer is not None and into is not None and answer is not into:
        into[...] = answer  # (summed by NumPy's slices, or into a strided output)
        answer = into
    return answer


def rented_ndimage_route(input: object, weights: object, output: object, mode: object, cval: object,
                         origin: object, axes: object, method: object, threads: object, progress: bool,
                         convolution: bool) -> Callable[[np.ndarray, np.ndarray | None], np.ndarray] | None:
    """A route without a plan (``route(image, into)``, as `fftconv.engine.lane` keeps them) for
    an ndimage call past the tiny size that fftconv's compiled tiny loop sums as scipy.ndimage
    would (`RENT_NDIMAGE_MACS`: a float32 or float64 image of 1 to 3 dimensions, real weights of
    at most `shifted_sums.MOST_TAPS` taps, origin 0, an output of the image's dtype, nothing
    forced: `_tiny_loop_sum`'s calls); else None.

    Examples
    --------
    >>> import numpy as np
    >>> route = rented_ndimage_route(np.ones((20, 20, 20)), np.ones((3, 3, 3)), None, "reflect", 0.0,
    ...                              0, None, "auto", None, False, True)
    >>> float(route(np.ones((20, 20, 20)), None)[0, 0, 0])
    27.0
    """
    target = _loop_target(input, weights, output, mode, cval, origin, axes, method, threads, progress)
    if target is _NO_LOOP:
        return None
    x, w = input, weights
    if (x.dtype not in _FLOAT_REALS or w.dtype.kind not in "fiu" or not shifted_sums.by_loop(x)  # type: ignore[attr-defined]
            or w.size > shifted_sums.MOST_TAPS or x.size * w.size > RENT_NDIMAGE_MACS  # type: ignore[attr-defined]
            or not _centred(origin) or (target is not None and target.dtype != x.dtype)):  # type: ignore[union-attr]
        return None
    kernel = np.array(w, np.float64)  # (the caller's weights may change between calls: keyed by value)

    def route(image: np.ndarray, into: np.ndarray | None) -> np.ndarray:
        if into is not None and np.may_share_memory(image, into):  # a later call's image as its output
            into[...] = _tiny_loop_sum(image, kernel, None, mode, cval, 0, convolution)  # type: ignore[arg-type]
            return into
        return _tiny_loop_sum(image, kernel, into, mode, cval, 0, convolution)  # type: ignore[arg-type,return-value]
    return route


def _centred(origin: object) -> bool:
    """Whether an origin `_loop_target` took (an int, or a sequence of ints) is 0 on every axis."""
    return origin == 0 if type(origin) is int else not any(origin)  # type: ignore[call-overload]


def _contiguous(a: np.ndarray | None) -> bool:
    return a is not None and a.flags.c_contiguous


def _ndimage_functions() -> None:
    """scipy.ndimage's ``correlate`` and ``convolve`` into `_ndimage` (read once: an import
    statement costs a tiny call 0.4 us)."""
    if not _ndimage:
        import scipy.ndimage

        _ndimage.extend((scipy.ndimage.correlate, scipy.ndimage.convolve))
    ndimage_nd_loop.probe()
    ndimage_1d_loops.probe()  # the separable filters' passes (`fftconv.ndimage.scipy_passes`)


def _probe_signal_loops() -> None:
    """scipy.signal's 2-D and N-d loops, probed (`fftconv.engine.signal_loops`)."""
    signal_loops.probe("2d")
    signal_loops.probe("nd")


_REAL_OUTPUTS = (np.dtype(np.float32), np.dtype(np.float64))


def _tiny_output(output: object, x: np.ndarray, w: np.ndarray) -> np.ndarray | None:
    """The array a tiny call of image ``x`` and weights ``w`` writes for ``output=`` (a new one
    for a dtype): the image's dtype, or float32/float64 where both are real (scipy's loop sums
    in double and rounds once into it); None where fftconv's answer or checks differ (integer
    outputs are snapped; complex weights or outputs of real images have their own rules) or
    the array does not fit (another shape, read-only, overlapping the image): the full path
    serves those."""
    if w.dtype.kind == "c" and x.dtype.kind != "c":
        return None
    if type(output) is np.ndarray:
        dtype = output.dtype
        if output.shape != x.shape or not output.flags.writeable or np.may_share_memory(x, output):
            return None
    elif type(output) is type or isinstance(output, np.dtype):
        try:
            dtype = np.dtype(output)
        except TypeError:
            return None
    else:
        return None
    if dtype != x.dtype and not (x.dtype.kind == "f" and dtype in _REAL_OUTPUTS):
        return None
    return output if type(output) is np.ndarray else np.empty(x.shape, dtype)


#: scipy.ndimage's ``correlate`` and ``convolve`` (complex calls, or where its loop failed the probe).
_ndimage: list = []


def _run_ndimage_loop(loop, x: np.ndarray, w: np.ndarray, mode: str, cval: float, origin: object,
                      convolution: bool, out: np.ndarray | None = None) -> np.ndarray | None:
    """What scipy.ndimage's ``correlate``/``convolve`` pass their compiled loop for a real
    image and real weights (its Python wrapper costs a tiny call more than the loop: 3.5 of
    6 us on 8 samples), into ``out`` (of the image's shape and dtype) or a new array; None for
    an origin scipy refuses (its public function raises)."""
    weights = w.astype(np.float64) if w.dtype != np.float64 else w
    origins = [origin] * x.ndim if type(origin) is int else list(origin)  # type: ignore[arg-type]
    if convolution:  # scipy's convolve: the weights flipped, the origins mirrored
        weights = weights[(slice(None, None, -1),) * weights.ndim]
        origins = [-o - (1 - n % 2) for o, n in zip(origins, weights.shape)]
    if any(o < -(n // 2) or o > (n - 1) // 2 for o, n in zip(origins, weights.shape)):
        return None
    if not weights.flags.c_contiguous:
        weights = weights.copy()
    if out is None:
        out = np.empty(x.shape, x.dtype)
    loop(x, weights, out, ndimage_1d_loops.MODE_CODES[mode], cval, origins)
    return out
