"""The FFTW backend, and the only module that imports pyFFTW: in-place transform pairs,
their cache, threads, wisdom, and when a transform size is worth planning well.

FFTW facts this module exists to contain:

* planning with MEASURE overwrites the arrays it plans on, so plans are made on our own
  scratch buffers before any data is copied in;
* planning is not thread-safe (a lock serialises it), execution is;
* an ``FFTW`` object computes into its own buffers, overwritten on the next call, so callers
  copy results out of a `TransformPair` before it is used again;
* MEASURE plans run 1.0-1.9x faster than ESTIMATE plans but take 0.1-43 s to make (256²:
  0.4 s, 2048²: 1.9 s, 1-D 4,000,000: 43 s on the reference machine);
* ``import pyfftw`` costs 0.2-0.6 s (its package imports its numpy, scipy and dask
  interfaces); its compiled core, ``pyfftw.pyfftw``, which is all this module uses, loads in
  ~7 ms, so it is loaded alone (`_pyfftw`), under its own name: a later ``import pyfftw``
  finds and uses the very same module;
* pyFFTW's wheels run FFTW's threads on OpenMP, with a libgomp of their own whose idle
  threads spin 300,000 times (7.5 ms of a core here) after each parallel region: a core that
  fftconv's own threads (a direct sum's rows, tiles), BLAS or the measuring process then
  lacked (a 2-thread direct sum after a 2-thread FFT took 1.41 ms where it takes 0.77). That
  libgomp is loaded with a shorter spin (`GOMP_SPINS`) unless the user set
  ``GOMP_SPINCOUNT`` or ``OMP_WAIT_POLICY``;
* wisdom (what MEASURE learnt) is kept one file per transform size in the configured
  directory (`fftconv.backends.wisdom_store`): a size's file is imported when a call first
  asks for that size, and written after the size is measured; a corrupt or foreign file is a
  warning, never an error. Sizes include the thread count (wisdom depends on it).

The effort policy (``[fftw] planner_effort``). 'auto' (the default) never lets a call wait
for MEASURE: a transform size that FFTW's wisdom knows gets its plan at once (milliseconds;
a call of a few small transforms, which would not repay loading pyFFTW, from its size's
8th call while pyFFTW is not loaded yet); any other size runs on pocketfft
(`fftconv.backends.pocketfft`: no planning) until it is asked for by a second call in the
process, when it is measured in the background
(`fftconv.background`, in the measuring process of `fftconv.backends.measuring`); the calls
after that find it in the wisdom, which is saved for the next process. 'estimate',
'measure' and 'patient' plan every new size with FFTW at that effort inside the call, as
asked. docs/architecture.md has the measurements behind this.
"""

from __future__ import annotations

import _thread
import atexit
import contextlib
import functools
import importlib.machinery
import importlib.util
import math
import os
import re
import sys
import threading
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import background, installed
from .. import config as _config
from . import measuring, pocketfft, wisdom_store
from .base import plans_became_final, register_backend
from .cache import PairCache
from .threads import available_cores

#: Real dtypes FFTW computes in, and their complex partners.
COMPLEX_OF = {
    np.dtype(np.float32): np.dtype(np.complex64),
    np.dtype(np.float64): np.dtype(np.complex128),
    np.dtype(np.longdouble): np.dtype(np.clongdouble),
}

#: Under the 'auto' effort, a transform size asked for by this many calls of the engine in a
#: process (`fftconv.background.calls`) is measured in the background: its first call never
#: shares the machine with that work.
REPEATS_BEFORE_MEASURE = 2
#: ... but while the measuring process is not running yet, a size whose calls make only a few
#: small transforms (those pocketfft runs, `ESTIMATE_WORTH`) waits for this many: starting the
#: process (a thread, ``subprocess.Popen``'s Python beside the user's calls) cost such a size's
#: second and third calls 0.3-0.6 ms each, where they take 0.15-0.3 ms and FFTW's measured
#: plans save each a few tens of microseconds (82x56 * 25x25 'full' float64, a fresh process:
#: 0.75 ms for its second call, scipy's 0.23; AMD EPYC Zen 4). A ski rental: the start is paid
#: once the size's calls have cost about as much.
SMALL_REPEATS_BEFORE_FIRST_MEASURE = 8
#: ... and before pyFFTW is loaded, such a size waits for this many calls before its wisdom is
#: looked up: loading pyFFTW's core and FFTW's libraries costs a call ~3-4 ms where the size's
#: measured plans save each call tens of microseconds, so a script run again on a machine that
#: had measured its sizes paid it in its second call (329x70 * 27x37 'valid' float32: 3.7 ms,
#: scipy's 0.47; its calls 0.20 ms on pocketfft, 0.14 on the measured plans; Intel Xeon). The
#: same ski rental as the measuring's start.
SMALL_REPEATS_BEFORE_LOADING = 8
#: Cached buffers beyond this many bytes are released, least recently used first: room for the
#: buffers of about two 8192x8192 float64 transforms, so a large call keeps its pairs cached.
CACHE_BYTES = 1 << 30
#: ... and beyond this many pairs (each holds two FFTW plans outside the Python heap): a
#: process convolving ever new shapes keeps the pairs of its last few hundred.
CACHE_PAIRS = 256
#: Transform sizes whose calls are counted before the count starts afresh.
COUNTED_SIZES = 4096
#: Under 'auto', a size unknown to wisdom is planned with ESTIMATE (0.1-13 ms here) when the
#: call transforms at least this many points with it (batch x FFT points x uses), and runs
#: on pocketfft (no planning; 1.2-2x slower transforms) when it transforms fewer. Measured:
#: one 65,536-point 1-D transform is 3.4 ms on pocketfft, 13 ms with ESTIMATE's planning; one
#: 2048x2048 transform 235 ms against 70 ms.
ESTIMATE_WORTH = 1 << 19
#: ... and this many for single-precision transforms over two or more axes, where pocketfft
#: (scaled: `pocketfft.SCALED_SINGLE_AXES`) runs as fast as FFTW's ESTIMATE plans up to about
#: 2 M points (AMD EPYC Zen 3, three transforms, ESTIMATE's planning included: 1024² float32
#: 15.6 against 16.2 ms, 110³ 25.8 against 25.6 ms; 128³ 39 against 26 ms): loading pyFFTW
#: and planning (~10 ms) made `fftconvolve` 96³ * 15³ float32's first call 1.05x scipy's.
ESTIMATE_WORTH_SINGLE_ND = 1 << 21

#: Transforms of this many points or more get their ESTIMATE plans made on a helper thread
#: while the caller prepares and runs its forward transforms (`TransformPair._plan_aside`):
#: from here a 1-D inverse plan takes 4 ms or more (65,536 points; 1,048,576: 14 ms), a 2-D or
#: 3-D one 0.1-8 ms, starting the thread ~0.1 ms (AMD EPYC Zen 3 and Zen 4).
CONCURRENT_PLAN_POINTS = 1 << 16
#: ... and 2-D or 3-D transforms of this many points or more their forward plan too, while the
#: caller makes the kernel's spectrum (`FFTWBackend.plan_ahead`): below it the plan takes a
#: millisecond or less, and asking for the pair early and waiting for the helper to hand the
#: plan over cost more than the overlap saved (a loop over new 2-D shapes of 150-400 * 15x15
#: float64, each call a first one: 0.85-0.90x scipy's speed so, 0.89-0.94x without; AMD EPYC
#: Zen 4).
CONCURRENT_FORWARD_POINTS = 1 << 20

_EFFORT_FLAG = {"estimate": "FFTW_ESTIMATE", "measure": "FFTW_MEASURE", "patient": "FFTW_PATIENT"}

_plan_lock = threading.RLock()
_core_lock = threading.Lock()

#: Spins of libgomp's busy-wait (``GOMP_SPINCOUNT``) for the copy pyFFTW loads: 0.8 ms of a
#: core where its default 300,000 spin 7.5 ms (AMD EPYC Zen 4). At 2 threads, medians of six
#: fresh processes alternated: a direct sum after an FFT 1.41 -> 1.02 ms, tiles after an FFT
#: 1.02 -> 0.70, a 400x400 NumPy matrix product after an FFT 4.5 -> 2.0; FFTs in a loop
#: unchanged (599x268 * 20x20 'full' float32, 0.87 ms), after 1.5 ms of one thread's work
#: 0.89 -> 0.93, after a 2 ms sleep 0.97 -> 1.00. Fewer spins cost the FFTs more: with 10,000
#: or none, waking the threads between their parallel regions made 1000x1000 * 15x15's FFT up
#: to 2x slower. docs/architecture.md ("Threads that share the cores") has the rest.
GOMP_SPINS = "30000"
#: What the user sets to choose libgomp's wait instead (left as they are).
_WAIT_VARIABLES = ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")


@functools.cache
def _pyfftw():
    """pyFFTW's compiled core ``pyfftw.pyfftw`` (plans, aligned buffers, wisdom), loaded on
    first use without the package's interfaces (see the module docstring); the one module
    the user's own ``import pyfftw`` will then use too."""
    with _core_lock:
        core = sys.modules.get("pyfftw.pyfftw")
        if core is not None:
            return core
        package = importlib.util.find_spec("pyfftw")  # finds, does not import
        spec = None
        if package is not None and package.submodule_search_locations:
            spec = importlib.machinery.PathFinder.find_spec("pyfftw.pyfftw",
                                                            package.submodule_search_locations)
        if spec is None or spec.loader is None:
            with _short_gomp_spin():
                import pyfftw.pyfftw as core  # an unusual install: the whole package

            return core
        with _short_gomp_spin():  # an extension module's libraries load in module_from_spec
            core = importlib.util.module_from_spec(spec)
        sys.modules["pyfftw.pyfftw"] = core
        try:
            spec.loader.exec_module(core)
        except BaseException:
            del sys.modules["pyfftw.pyfftw"]
            raise
        return core


@contextlib.contextmanager
def _short_gomp_spin() -> Iterator[None]:
    """``GOMP_SPINCOUNT`` set to `GOMP_SPINS` while pyFFTW's core loads (and its libgomp
    reads its environment, once), unless the user chose libgomp's wait; the environment as it
    was afterwards."""
    if any(name in os.environ for name in _WAIT_VARIABLES):
        yield
        return
    os.environ["GOMP_SPINCOUNT"] = GOMP_SPINS
    try:
        yield
    finally:
        os.environ.pop("GOMP_SPINCOUNT", None)


def fftw_version() -> str:
    """Version string of the FFTW library pyFFTW was built with.

    Examples
    --------
    >>> fftw_version().startswith("fftw-3")
    True
    """
    info = getattr(_pyfftw(), "_fftw_version_dict", None)
    if info:
        return str(info.get("64", next(iter(info.values())))).replace("\n", "")
    return "fftw-3 (version unknown)"


def pyfftw_version() -> str:
    """Version of pyFFTW (from its installed distribution).

    Examples
    --------
    >>> pyfftw_version().count(".") >= 1
    True
    """
    return installed.version("pyFFTW", "pyfftw")


@dataclass
class TransformPair:
    """An aligned buffer with forward and inverse FFTW plans over its trailing axes.

    ``data`` is what the caller fills (the real view for real transforms); ``spectrum`` is the
    same memory seen as complex. Both plans work in place and unnormalised. ``effort``:
    'estimate', 'measure' or 'patient'; 'wisdom' plans only from wisdom (``LookupError`` when
    it does not know the size).
    """

    batch_shape: tuple[int, ...]
    fft_shape: tuple[int, ...]
    real: bool
    dtype: np.dtype  # the dtype of ``data``
    threads: int
    effort: str = "measure"
    wisdom: Path | None = None
    spectrum: np.ndarray = field(init=False, repr=False)
    data: np.ndarray = field(init=False, repr=False)
    measured: bool = field(init=False, default=False)  # MEASURE-quality plans (or better)
    wisdom_seen: int = field(init=False, default=0)  # how grown the wisdom was when last looked up
    #: while a helper thread makes the plans (`_plan_aside`): for each direction a lock it
    #: holds until that plan is made, and the process it runs in
    _forward_pending: tuple[threading.Lock, int] | None = field(init=False, default=None, repr=False)
    _inverse_pending: tuple[threading.Lock, int] | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        complex_dtype = COMPLEX_OF[self.dtype] if self.real else self.dtype
        last = self.fft_shape[-1] // 2 + 1 if self.real else self.fft_shape[-1]
        shape = self.batch_shape + self.fft_shape[:-1] + (last,)
        self.spectrum = _pyfftw().empty_aligned(shape, complex_dtype)
        if self.real:
            self.data = self.spectrum.view(self.dtype)[..., : self.fft_shape[-1]]
        else:
            self.data = self.spectrum
        if self.effort == "wisdom":
            try:
                self._make(("FFTW_MEASURE", "FFTW_WISDOM_ONLY"))
            except RuntimeError:
                raise LookupError(f"FFTW's wisdom has no plan for {self.fft_shape} ({self.dtype})") from None
            self.measured = True
            return
        if self.effort == "estimate" and self._plan_aside():
            return
        self._make((_EFFORT_FLAG[self.effort],))
        self.measured = self.effort != "estimate"
        if self.measured:
            _now_final(self.size, _measured)
        if self.measured and self.wisdom is not None:
            # all this process knows (a superset of what plans this size): planned here, the
            # size's own wisdom cannot be told apart from what earlier plans learnt
            _save_size(self.wisdom, self.size, export_wisdom_blobs())

    @property
    def size(self) -> tuple:
        """(batch shape, FFT shape, real, dtype, threads): what the pair cache and the
        wisdom store key it by."""
        return self.batch_shape, self.fft_shape, self.real, np.dtype(self.dtype), self.threads

    @property
    def points(self) -> int:
        return math.prod(self.fft_shape)

    @property
    def nbytes(self) -> int:
        return int(self.spectrum.nbytes)

    def _make(self, flags: tuple[str, ...]) -> None:
        self.wisdom_seen = _wisdom_grown[0]
        with _plan_lock:  # MEASURE scribbles on the buffer: it holds no caller data yet
            self._make_forward(flags)
            self._make_inverse(flags)

    def _axes(self) -> tuple[int, ...]:
        return tuple(range(len(self.batch_shape), len(self.batch_shape) + len(self.fft_shape)))

    def _make_forward(self, flags: tuple[str, ...]) -> None:
        self._forward = _pyfftw().FFTW(self.data, self.spectrum, axes=self._axes(), direction="FFTW_FORWARD",
                                       flags=flags, threads=self.threads)

    def _make_inverse(self, flags: tuple[str, ...]) -> None:
        self._inverse = _pyfftw().FFTW(self.spectrum, self.data, axes=self._axes(), direction="FFTW_BACKWARD",
                                       flags=flags + ("FFTW_DESTROY_INPUT",), threads=self.threads)

    def _plan_aside(self) -> bool:
        """Make the ESTIMATE plans on a helper thread, the forward one first, which a core this
        pair's threads leave idle runs while the caller transforms its kernel (the spectral
        executors tell the backend of a pair before they make the kernel's spectrum, by
        pocketfft while a 2-D or 3-D size is new: `FFTWBackend.plan_ahead`), fills the buffer
        and runs its forward transforms. A 1-D
        pair's forward plan is made here, its kernel being transformed with it (made aside, the
        first call of a 2,000,000 x 2,000,000 'full' correlation took 214 ms against 186 in
        medians of 8 fresh processes), and so is a smaller pair's (`CONCURRENT_FORWARD_POINTS`).
        pyFFTW plans without the GIL; ESTIMATE never touches the buffers; FFTW's planner calls
        stay serialised by the lock, and execution may overlap them. A large 1-D transform's
        plans cost more than its transforms: twiddle factors for every stage (1-D 4,032,000
        float64: 90 + 90 ms of planning, 50 ms a transform; 1,048,576: 22 + 14 ms, 9 ms a
        transform; AMD EPYC Zen 3), and a 2-D one's can (1120 x 1120 float64: 7.4 + 5.4 ms, 7-9
        ms a transform; AMD EPYC Zen 4). False (nothing made) for transforms under
        `CONCURRENT_PLAN_POINTS`, or when the pair's threads leave no core for it."""
        if self.points < CONCURRENT_PLAN_POINTS or self.threads >= available_cores():
            return False
        self.wisdom_seen = _wisdom_grown[0]
        flags = (_EFFORT_FLAG["estimate"],)
        process = os.getpid()
        plans = [(self._make_inverse, "_inverse_pending")]
        if len(self.fft_shape) >= 2 and self.points >= CONCURRENT_FORWARD_POINTS:
            plans.insert(0, (self._make_forward, "_forward_pending"))
        else:  # a 1-D kernel is transformed with this very plan; a short plan is made sooner here
            with _plan_lock:
                self._make_forward(flags)
        locks = [threading.Lock() for _ in plans]
        for lock, (_, pending) in zip(locks, plans):
            lock.acquire()
            setattr(self, pending, (lock, process))

        def make_plans() -> None:
            # the lock is held at exit (`_hold_planning_at_exit`) and at a fork (`_before_fork`):
            # no teardown meanwhile, and a child sees each plan made or not begun
            for (make, _), done in zip(plans, locks):
                with _plan_lock:
                    try:
                        make(flags)
                    except BaseException:  # noqa: BLE001 - the caller's thread plans it again
                        pass
                    finally:
                        done.release()

        # a raw thread: threading.Thread.start waits for the new thread's first time slice
        _thread.start_new_thread(make_plans, ())
        return True

    def _await(self, direction: str) -> None:
        """Wait for the helper to make the plan of ``direction`` ('forward', 'inverse'), if it
        is at it; where it failed (or a forked child has no helper), plan it here, where a
        failure is raised."""
        pending = getattr(self, f"_{direction}_pending")
        if pending is None:
            return
        lock, process = pending
        if process == os.getpid():  # a forked child has no helper to wait for
            with lock:  # the helper is done with it
                pass
        setattr(self, f"_{direction}_pending", None)
        if not hasattr(self, f"_{direction}"):
            with _plan_lock:
                getattr(self, f"_make_{direction}")((_EFFORT_FLAG["estimate"],))

    def begin(self) -> None:
        """Called before each use: the plans are made already (the inverse one, perhaps
        still being made, is waited for by `inverse`)."""

    def forward(self) -> None:
        """``spectrum = FFT(data)`` in place."""
        if self._forward_pending is not None:
            self._await("forward")
        self._forward.execute()

    def inverse(self) -> None:
        """``data = unnormalised inverse FFT(spectrum)`` in place (destroys the spectrum)."""
        if self._inverse_pending is not None:
            self._await("inverse")
        self._inverse.execute()


_pairs: PairCache[TransformPair] = PairCache(CACHE_BYTES, CACHE_PAIRS)
#: Transform size -> (calls that asked for it, the number of the last of those calls).
_calls_of: dict[tuple, tuple[int, int]] = {}
#: Sizes the wisdom did not know when last asked, and how often wisdom has grown: a size is
#: looked up again (and an ESTIMATE pair re-planned from it) once the wisdom has grown.
_unknown: set[tuple] = set()
_wisdom_grown = [0]
#: Sizes this process' wisdom knows: measured in the background or here, or imported from
#: their file (their next request plans from wisdom).
_measured: set[tuple] = set()
#: (wisdom directory, size) whose file was looked up, or written, by this process.
_imported: set[tuple] = set()
#: Sizes the measuring process gave no wisdom for (the request failed, or the process died
#: measuring it): they keep their ESTIMATE plans rather than being asked for again.
_unmeasurable: set[tuple] = set()
#: (FFT shape, real, dtype) -> the sizes of that shape (any batch, any threads) counted,
#: measured or found unmeasurable: what `plan_state` looks through (a trial asks it several
#: times a call; scanning every cached pair and counted size took ~7 us).
_sizes_of_shape: dict[tuple, set[tuple]] = {}


def _index(size: tuple) -> tuple:
    """Note ``size`` under its shape in `_sizes_of_shape`; ``size``."""
    _sizes_of_shape.setdefault(size[1:4], set()).add(size)
    return size


def _now_final(size: tuple, state: set[tuple]) -> None:
    """Record ``size`` in ``state`` (`_measured` or `_unmeasurable`): its plans are final from
    now on (`FFTWBackend.final`), which the engine hears of (`plans_became_final`)."""
    if size not in state:
        state.add(_index(size))
        plans_became_final()


def transform_pair(
    batch_shape: tuple[int, ...],
    fft_shape: tuple[int, ...],
    real: bool,
    dtype: np.dtype,
    threads: int = 1,
    uses: int = 1,
) -> TransformPair | pocketfft.PocketPair:
    """A cached transform pair of the calling thread (its buffers are scratch space, so
    threads never share one: concurrent calls from user threads stay correct), for a call
    that will transform ``uses`` times with it: an FFTW `TransformPair`, or under the 'auto'
    effort a pocketfft pair where a few transforms would not repay even an ESTIMATE plan (the
    module docstring has the policy).

    Examples
    --------
    >>> import numpy as np
    >>> pair = transform_pair((), (8,), True, np.dtype(np.float64))
    >>> pair.begin(); pair.data[:] = [1, 0, 0, 0, 0, 0, 0, 0]; pair.forward()
    >>> np.allclose(pair.spectrum, 1)
    True
    """
    settings = _config.get()
    effort, wisdom = settings.planner_effort, settings.wisdom
    # a memory limit bounds what stays cached too: blocks sized under it had left the buffers of
    # every size they met cached, up to CACHE_BYTES
    limit = settings.memory_limit
    _pairs.max_bytes = CACHE_BYTES if limit is None else min(CACHE_BYTES, limit)
    size = (tuple(batch_shape), tuple(fft_shape), bool(real), np.dtype(dtype), threads)
    key = (size, effort, threading.get_ident())
    pair = _pairs.get(key)
    if pair is not None and (pair.measured or effort != "auto"):
        return pair
    if effort != "auto":  # asked for: planned here, at that effort
        if wisdom is not None:
            _import_size(wisdom, size)
        pair = TransformPair(*size, effort, wisdom)
        _pairs.put(key, pair)
        return pair
    count = _count_call(size)
    worth = ESTIMATE_WORTH_SINGLE_ND if len(fft_shape) >= 2 and size[3].char in "fF" else ESTIMATE_WORTH
    small = uses * math.prod(batch_shape) * math.prod(fft_shape) < worth
    # an ESTIMATE pair looks the wisdom up again only once it has grown; a few small
    # transforms do not load pyFFTW for it before their size has repeated a while
    stale = pair is None or pair.wisdom_seen != _wisdom_grown[0]
    deferred = small and count < SMALL_REPEATS_BEFORE_LOADING and not _pyfftw.cache_info().currsize
    if stale and size not in _unknown and not deferred:
        measured = _from_wisdom(size, wisdom)
        if measured is not None:
            _pairs.put(key, measured)
            return measured
    enough = count >= (SMALL_REPEATS_BEFORE_FIRST_MEASURE if small and not measuring.started()
                       else REPEATS_BEFORE_MEASURE)
    # a size whose wisdom is on disk but not looked up yet is not measured again
    if enough and measuring.available() and size not in _unmeasurable and not (
            deferred and size not in _unknown and _has_file(wisdom, size)):
        background.submit(("fftw", size), functools.partial(_measure_in_background, size, wisdom))
    if pair is not None:  # an ESTIMATE pair, still the best known
        pair.wisdom_seen = _wisdom_grown[0]
        return pair
    if small:
        return pocketfft.transform_pair(*size)
    pair = TransformPair(*size, "estimate", None)
    _pairs.put(key, pair)
    return pair


def _from_wisdom(size: tuple, wisdom: Path | None) -> TransformPair | None:
    """The pair for ``size`` planned from wisdom (milliseconds), or None if it is unknown:
    neither this process (which measured it, or imported its file) nor the size's file knows
    it. Only known sizes are tried: a failed attempt costs a buffer and a planner call."""
    on_disk = wisdom is not None and _import_size(wisdom, size)
    if on_disk or size in _measured:
        try:
            return TransformPair(*size, "wisdom", wisdom)
        except LookupError:
            pass
    _unknown.add(size)
    return None


def _has_file(directory: Path | None, size: tuple) -> bool:
    """Whether ``directory`` holds a wisdom file for ``size`` (a ``stat``: pyFFTW is not
    loaded to read it)."""
    return directory is not None and wisdom_store.size_file(directory, encode_size(size)).is_file()


def _import_size(directory: Path, size: tuple) -> bool:
    """Import the wisdom saved for ``size`` in ``directory`` (once per process and size; a
    size without a file costs one failed ``open``); True if some was imported now."""
    with _plan_lock:
        if (directory, size) in _imported:
            return False
        _imported.add((directory, size))
    blobs = wisdom_store.read(directory, encode_size(size), fftw_version)
    if blobs is None:
        return False
    # a size's wisdom is of one precision: FFTW takes ~0.2 ms to import even an empty one
    blobs = [b if _holds_entries(b) else "" for b in blobs]
    if not any(blobs):
        return False
    with _plan_lock:
        imported = _pyfftw().import_wisdom(tuple(b.encode("ascii") for b in blobs))
        if any(imported):
            _now_final(size, _measured)
        _wisdom_changed()
    if not any(imported):
        warnings.warn(f"FFTW rejected the wisdom in {wisdom_store.size_file(directory, encode_size(size))};"
                      " the size will be measured again", RuntimeWarning, stacklevel=4)
    return any(imported)


#: FFTW wisdom with no entry: its header line alone.
_EMPTY_WISDOM = re.compile(r"\(fftw-\S+ fftw\w*_wisdom( #x[0-9a-f]+)*\s*\)")


def _holds_entries(blob: str) -> bool:
    """Whether FFTW wisdom text may hold entries (anything but an empty wisdom's header:
    text that is no wisdom at all is left for FFTW to refuse)."""
    return _EMPTY_WISDOM.fullmatch(blob.strip()) is None


def _save_size(directory: Path, size: tuple, blobs: list[str]) -> None:
    """Save ``blobs`` as the wisdom of ``size`` for later processes."""
    with _plan_lock:
        _imported.add((directory, size))
    wisdom_store.write(directory, encode_size(size), fftw_version(), blobs)


def _count_call(size: tuple) -> int:
    """How many calls of the engine (this one included) asked for ``size``."""
    if len(_calls_of) >= COUNTED_SIZES:
        _calls_of.clear()
        _sizes_of_shape.clear()  # it indexes counted sizes too: bounded with them
        for known in (*_measured, *_unmeasurable):
            _index(known)
    count, last_call = _calls_of.get(_index(size), (0, -1))
    call = background.calls()
    if call != last_call:
        count += 1
        _calls_of[size] = (count, call)
    return count


def _measure_in_background(size: tuple, wisdom: Path | None) -> None:
    """Have the measuring process plan ``size`` with MEASURE, take what it learnt as wisdom
    (and save it for the next process)."""
    learnt = measuring.ask({"op": "plan", "size": encode_size(size)})
    if learnt is None:
        _now_final(size, _unmeasurable)  # ESTIMATE for good
        return
    import_wisdom_blobs(learnt["wisdom"])
    _now_final(size, _measured)
    if wisdom is not None:
        _save_size(wisdom, size, learnt["wisdom"])


def _wisdom_changed() -> None:
    _unknown.clear()
    _wisdom_grown[0] += 1


def encode_size(size: tuple) -> list:
    """A transform size (batch, FFT shape, real, dtype, threads) as JSON can carry it."""
    batch, shape, real, dtype, threads = size
    return [list(batch), list(shape), real, dtype.str, threads]


def decode_size(encoded: list) -> tuple:
    """The inverse of `encode_size`."""
    batch, shape, real, dtype, threads = encoded
    return tuple(batch), tuple(shape), bool(real), np.dtype(dtype), int(threads)


def export_wisdom_blobs() -> list[str]:
    """This process' FFTW wisdom (double, single, long double) as text."""
    with _plan_lock:
        return [w.decode("ascii") for w in _pyfftw().export_wisdom()]


def import_wisdom_blobs(blobs: list[str]) -> None:
    """Add FFTW wisdom (as `export_wisdom_blobs` gives it) to this process'."""
    with _plan_lock:
        _pyfftw().import_wisdom(tuple(str(b).encode("ascii") for b in blobs))
        _wisdom_changed()


def plan_state(fft_shape: tuple[int, ...], real: bool, dtype: np.dtype) -> str:
    """How transforms of ``fft_shape`` run now under the 'auto' effort: 'measured' (an FFTW
    plan from MEASURE or wisdom is made), 'estimate' (an ESTIMATE plan, until the measured one
    is ready), 'unmeasurable' (ESTIMATE plans for good: the measuring process gave none) or
    'first' (nothing yet: ESTIMATE, or pocketfft for a few small transforms); with
    '+measuring' while FFTW measures it in the background.

    Examples
    --------
    >>> import numpy as np
    >>> plan_state((12345, 3), True, np.dtype(np.float64))
    'first'
    """
    shape = (tuple(fft_shape), bool(real), np.dtype(dtype))
    state = _final_state(shape)
    if state is not None:
        return state
    made = any(effort == "auto" and size[1:4] == shape for (size, effort, _), _ in _pairs.items())
    return ("estimate" if made else "first") + ("+measuring" if _measuring(shape) else "")


def _final_state(shape: tuple) -> str | None:
    """'measured' or 'unmeasurable' for a (FFT shape, real, dtype) whose plans are final under
    'auto'; None while they are not."""
    sizes = list(_sizes_of_shape.get(shape, ()))
    if any(size in _measured for size in sizes):
        return "measured"
    if any(size in _unmeasurable for size in sizes):
        return "unmeasurable"
    return None


def _measuring(shape: tuple) -> bool:
    """Whether a size of ``shape`` (FFT shape, real, dtype) is queued or measured now."""
    return any(background.pending(("fftw", size)) for size in list(_sizes_of_shape.get(shape, ())))


def clear_cache() -> None:
    """Release every cached buffer and plan.

    Examples
    --------
    >>> clear_cache()
    """
    _pairs.clear()
    _calls_of.clear()
    _unknown.clear()
    # a size whose measuring is forgotten here may be measured again: the background queue
    # refuses a key it has run, and such a size had stayed on its ESTIMATE plans for good, never
    # final, its calls on a first route and never in a trial (`fftconv.release_memory()`)
    for size in (*_measured, *_unmeasurable):
        background.forget(("fftw", size))
    _measured.clear()
    _unmeasurable.clear()
    _sizes_of_shape.clear()
    pocketfft.POCKETFFT.clear_cache()


def release(fft_shapes: Iterable[tuple[int, ...]]) -> None:
    """Drop the cached pairs (buffers and plans, of every thread) of transforms of these
    shapes: a trial's losing contenders', which its signature will not run again (their
    wisdom stays: another call of a shape plans it again in milliseconds).

    Examples
    --------
    >>> import numpy as np
    >>> _ = transform_pair((), (96,), True, np.dtype(np.float64))
    >>> release([(96,)])
    >>> any(key[0][1] == (96,) for key, _ in _pairs.items())
    False
    """
    shapes = {tuple(shape) for shape in fft_shapes}
    if shapes:
        _pairs.drop_where(lambda key: key[0][1] in shapes)


def forget_wisdom() -> None:
    """Drop FFTW's in-memory wisdom and cached plans (the next plans measure afresh).

    Examples
    --------
    >>> forget_wisdom()
    """
    with _plan_lock:
        _pyfftw().forget_wisdom()
        _imported.clear()
    clear_cache()


def _hold_planning_at_exit() -> None:
    """At interpreter exit, pyFFTW tears FFTW down: wait for a plan being made in this
    process (from wisdom: milliseconds; explicit efforts plan in the caller's thread, which
    has returned) and let no other start."""
    _plan_lock.acquire()


atexit.register(_hold_planning_at_exit)


def _before_fork() -> None:
    """Fork only between plans: FFTW's planner, caught mid-plan by a fork (a helper thread
    making an inverse plan, another user thread), would be left half-done in the child, and
    the lock held by a thread the child does not have."""
    _plan_lock.acquire()


def _after_fork_in_parent() -> None:
    _plan_lock.release()


def _after_fork_in_child() -> None:
    global _plan_lock
    _plan_lock = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                        after_in_child=_after_fork_in_child)


class FFTWBackend:
    """FFTW through pyFFTW, as an FFT backend (`fftconv.backends.base.Backend`).

    Examples
    --------
    >>> import numpy as np
    >>> FFTW.supports(np.dtype(np.float32)), FFTW.supports(np.dtype(np.float16))
    (True, False)
    """

    name = "fftw"

    def supports(self, dtype: np.dtype) -> bool:
        dtype = np.dtype(dtype)
        return dtype.kind in "fc" and np.dtype(dtype.type(0).real.dtype) in COMPLEX_OF

    def transform_pair(self, batch_shape, fft_shape, real, dtype, threads=1, uses=1):
        return transform_pair(batch_shape, fft_shape, real, dtype, threads, uses)

    def clear_cache(self) -> None:
        clear_cache()

    def release(self, fft_shapes: Iterable[tuple[int, ...]]) -> None:
        release(fft_shapes)

    def describe(self, fft_shape: tuple[int, ...], real: bool, dtype: np.dtype) -> str:
        effort = _config.get().planner_effort
        if effort != "auto":
            return f"FFTW, {effort.upper()} plans (planner_effort {effort!r})"
        state = plan_state(fft_shape, real, dtype)
        if state == "measured":
            return "FFTW, MEASURE plans (measured in the background, or from wisdom)"
        if state == "unmeasurable":
            return "FFTW, ESTIMATE plans (the measuring process gave no MEASURE plan for this size)"
        now = "FFTW, ESTIMATE plans for now" if state.startswith("estimate") else (
            f"this size's first call: FFTW's ESTIMATE plans, or {pocketfft.library()} (pocketfft, no "
            "planning) for a few small transforms")
        if state.endswith("+measuring"):
            return f"{now}; MEASURE plans are being made in the background"
        if not measuring.available():
            return f"{now}; FFTW's measuring process is not available ({measuring.unavailable_because()}; " \
                   "planner_effort 'measure' plans inside the calls)"
        return f"{now}; measured in the background once the size repeats"

    def final(self, fft_shape: tuple[int, ...], real: bool, dtype: np.dtype) -> bool:
        """Whether transforms of ``fft_shape`` run now as fast as they will (their measured
        plans are made, or nothing will measure them)."""
        if _config.get().planner_effort != "auto" or not measuring.available():
            return True
        return _final_state((tuple(fft_shape), bool(real), np.dtype(dtype))) is not None

    def scaled_spectrum(self, values: np.ndarray, fft_shape: tuple[int, ...], real: bool, dtype: np.dtype,
                        threads: int = 1) -> np.ndarray | None:
        """A kernel's spectrum by pocketfft without its padding while the size's plans are
        not final (its first calls; 2-D and more, where the padding can be skipped): 2-3.5x
        quicker than an ESTIMATE plan's full transform, its planning included (41² for
        625x540 float64 4.1 against 16.6 ms in a fresh process, 7³ for 135x135x140 16 against
        51, 15² for 3024x2016 53 against 182; AMD EPYC Zen 3). Else None: the pair's plans
        (measured, or asked for) serve."""
        if len(fft_shape) < 2 or self.final(fft_shape, real, dtype):
            return None
        return pocketfft.scaled_spectrum(values, fft_shape, real, dtype, threads)

    def plan_ahead(self, batch_shape: tuple[int, ...], fft_shape: tuple[int, ...], real: bool,
                   dtype: np.dtype, threads: int = 1, uses: int = 1) -> None:
        """Ask for the pair now where its forward ESTIMATE plan would be made on a helper thread
        (`TransformPair._plan_aside`): it is then made while the caller makes its kernel's
        spectrum. Smaller pairs are asked for when they are needed, as before: asked for early,
        loops over new 2-D shapes of 150-400 * 15x15 and 31x31 float64 ran 4-8 % slower."""
        if (len(fft_shape) >= 2 and math.prod(fft_shape) >= CONCURRENT_FORWARD_POINTS
                and threads < available_cores()):
            transform_pair(batch_shape, fft_shape, real, dtype, threads, uses)

    def measuring(self, fft_shape: tuple[int, ...], real: bool, dtype: np.dtype) -> bool:
        """Whether transforms of ``fft_shape`` are being measured in the background now."""
        return _measuring((tuple(fft_shape), bool(real), np.dtype(dtype)))

    def version(self) -> str:
        # from the installed distribution, without loading pyFFTW: calibration keys its cache
        # by this in processes that may never transform
        return f"pyFFTW {pyfftw_version()}"


FFTW = register_backend(FFTWBackend())
