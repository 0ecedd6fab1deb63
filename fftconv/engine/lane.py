"""Calls that repeat a signature go straight to the executor that served it.

A filter of a 512x512 image with a 3x3 kernel takes ~60 us in the compiled direct loop;
checking the arguments, building the `Problem`, planning and cutting blocks took another
~50 us of Python. Most programs call with the same shapes, dtypes, kernel and options again
and again, and every one of those steps gives the same answer each time. So the facades key
each call by everything those steps depend on (the call's signature: shapes, dtypes, the
kernel's values when small, the options, the settings object in force) and remember, for a
signature whose first call was served by an executor that reads the boundary itself
(`Executor.reads_boundary`), the prepared call (`Executor.prepare_extended`) and what to do
with its result. A repeated call then checks nothing again: its arguments were checked when
its signature was first seen, and the prepared call handles any values.

Only plain in-memory arrays with kernels of at most `KERNEL_BYTES` are keyed, with an
``output=`` that is None, a dtype or type, or a plain array (keyed by its shape, dtype and
whether it is writeable; the route writes into it); anything else (memmaps, datasets,
outputs named by a string, progress bars, memory limits that cut blocks) takes the full path
every time.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import numpy as np

from .. import background, config
from ..backends.base import finality_generation
from ..executors import registry
from ..planning import calibrate

#: Largest kernel whose values join a call's key (`KernelValues`). 4 KiB kept 1-D kernels
#: of 512-2,048 float64 taps off the lane: each call of 5000 * 2000 'full' checked, planned
#: and transformed its kernel again, 234 us against scipy's `fftconvolve` 203 (AMD EPYC, 1
#: thread). A key holds a copy of its kernel: at most `SIZE` x 2 x 64 KiB in `_routes` and
#: `_seen`.
KERNEL_BYTES = 1 << 16
#: Signatures remembered before the lane starts afresh.
SIZE = 256
#: Largest kernel of a filter with holes that joins its call's key (`ndimage_key`'s
#: ``kernel_bytes``): such a call plans its block (~0.3-0.7 ms, a quarter of a 256² image's
#: call with a 101x101 PSF), where a key's copy of the kernel costs ~20 us; at most `LARGE_KEYS`
#: signatures with a kernel over `KERNEL_BYTES` are remembered (the oldest forgotten first).
HOLES_KERNEL_BYTES = 1 << 18
LARGE_KEYS = 8

#: Signature -> (prepared call, the settings object whose id the signature holds: kept alive
#: with it, so that id cannot be reused while the call is remembered).
_routes: dict[Hashable, tuple[Callable[..., np.ndarray], config.Config]] = {}
#: Signatures seen before -> whether a repeat should take the full path to find a route (a
#: tiny call's first time is answered without planning; False once the full path left none).
_seen: dict[Hashable, bool] = {}
#: The remembered signatures whose kernel is over `KERNEL_BYTES`, oldest first.
_large: list[Hashable] = []
#: Signatures whose calls took a route without a plan -> [the seconds they spent there, how
#: many] (`renting`).
_rented: dict[Hashable, list] = {}
#: Most calls of a signature that rent a route without a plan: a script's first calls. A
#: rented route (scipy's loops, or the tiny loop) is about as fast as scipy's own call and a
#: planned one up to 3x faster, so a loop settles after these whatever they cost.
RENTED_CALLS = 3
#: Signatures past their rent whose planned calls are timed against their rented ones
#: (`timed`) -> [the rented calls' fastest seconds, the planned calls' seconds].
_contest: dict[Hashable, list] = {}
#: Signatures whose planned calls were slower than their rented ones: their calls stay on the
#: rented route (`stays_rented`).
_stays_rented: set[Hashable] = set()
#: Signatures whose planned calls won their contest -> the fastest timed one's seconds
#: (`planned_seconds`), until they are handed over to a quick path (`hand_over`).
_planned_won: dict[Hashable, float] = {}
#: Settled signatures as a quick path describes its calls, by a coarse part of that -> what runs
#: them: None for the rented route, else the planned route's runner (`settle_quick`).
_settled_quick: dict[Hashable, dict[Hashable, Callable[..., np.ndarray] | None]] = {}
#: `quick_route`'s answer for a call not settled.
NOT_SETTLED = object()
#: Planned calls not timed after the rent: the first plans, and the next may still try the
#: plan's contenders (`fftconv.engine.trials`) ...
PLANNED_CALLS_SKIPPED = 3
#: ... and those timed against the rented ones after them.
PLANNED_CALLS_TIMED = 3
#: A signature stays on its rented route where its fastest timed planned call took over this
#: many times its fastest rented one: a 64x64 float32 `gaussian_filter` just past the small
#: jobs' size ran its planned passes in 90 us, scipy's loops in 49 (Intel Xeon; the size where
#: the planned passes win differs by CPU). With 1.1 and no call skipped, 422x138 float32
#: `uniform_filter` had stayed on scipy's loops where its settled passes are 1.16x faster.
STAY_MARGIN = 1.25


class KernelValues:
    """A kernel's values as part of a key: equal when every byte is, hashed from its length
    and its first and last 64 bytes (hashing all 64 KiB would cost a call ~16 us, copying and
    comparing them ~3 us, AMD EPYC; they are compared only where the cheap hashes match).

    Examples
    --------
    >>> import numpy as np
    >>> a, b = np.zeros(100), np.zeros(100)
    >>> b[50] = 1
    >>> KernelValues(a) == KernelValues(a.copy()), KernelValues(a) == KernelValues(b)
    (True, False)
    """

    __slots__ = ("data", "_hash")

    def __init__(self, kernel: np.ndarray) -> None:
        self.data = kernel.tobytes()
        self._hash = hash((len(self.data), self.data[:64], self.data[-64:]))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return type(other) is KernelValues and self._hash == other._hash and self.data == other.data


def _hashable(value: object) -> Hashable | None:
    """``value`` as part of a key: ints, floats, strings, None and tuples or lists of ints;
    ``...`` where it cannot be keyed (the call then takes the full path)."""
    if value is None or type(value) in (int, float, str, bool):
        return value
    if type(value) in (tuple, list) and all(type(v) is int for v in value):
        return tuple(value)
    return ...  # not keyable: the caller gives up


def ndimage_key(input: object, weights: object, output: object, mode: object, cval: object, origin: object,
                axes: object, method: object, threads: object, progress: bool, convolution: bool,
                kernel_bytes: int = KERNEL_BYTES) -> Hashable | None:
    """The signature of an ``fftconv.ndimage`` call, or None if it is not one the lane keys
    (``kernel_bytes``: its largest kernel).

    Examples
    --------
    >>> import numpy as np
    >>> ndimage_key(np.ones((5, 5)), np.ones((3, 3)), None, "reflect", 0.0, 0, None, "auto", None, False,
    ...             False) is not None
    True
    >>> ndimage_key(np.ones((5, 5)), np.ones((3, 3)), "float32", "reflect", 0.0, 0, None, "auto", None,
    ...             False, False) is None
    True
    """
    if type(input) is not np.ndarray or type(weights) is not np.ndarray or progress:
        return None
    if output is None or type(output) is type or isinstance(output, np.dtype):
        written = output
    elif type(output) is np.ndarray:
        written = ("array", output.shape, output.dtype, output.flags.writeable)
    else:
        return None
    if weights.nbytes > kernel_bytes or type(mode) is not str or type(cval) not in (int, float):
        return None
    parts = (origin if type(origin) is int else _hashable(origin), axes if axes is None else _hashable(axes),
             method if type(method) is str else _hashable(method),
             threads if threads is None or type(threads) is int else _hashable(threads))
    if ... in parts:
        return None
    return ("ndimage", input.shape, input.dtype, weights.shape, weights.dtype, KernelValues(weights), written,
            mode, cval, *parts, convolution, *state())


def signal_key(in1: object, in2: object, mode: object, method: object, axes: object, threads: object,
               correlate: bool, conventions: Hashable, among: Hashable) -> Hashable | None:
    """The signature of an N-d ``fftconv.signal`` call, or None if it is not one the lane keys.

    Examples
    --------
    >>> import numpy as np
    >>> key = signal_key(np.ones((5, 5)), np.ones((3, 3)), "same", "auto", None, None, False, None, None)
    >>> key is not None
    True
    """
    if type(in1) is not np.ndarray or type(in2) is not np.ndarray or in2.nbytes > KERNEL_BYTES:
        return None
    if in1.size == 0 or in2.size == 0 or type(mode) is not str:
        return None
    parts = (_hashable(method), _hashable(axes), _hashable(threads))
    if ... in parts:
        return None
    return ("signal", in1.shape, in1.dtype, in2.shape, in2.dtype, KernelValues(in2), mode, *parts,
            correlate, conventions, among, *state())


def state() -> tuple[int, int, int]:
    """What else decides a plan: the settings object in force, the registered executors and
    the cost coefficients (a calibration finishing in the background changes them)."""
    return id(config.get()), registry.generation(), calibrate.generation()


def repeated(key: Hashable | None) -> bool:
    """Whether a call of signature ``key`` came before (recorded now; None: never) and may
    find a route (`unrouted` says when it cannot)."""
    if key is None:
        return False
    known = _seen.get(key)
    if known is None:
        _note(key, True)
        return False
    return known


def unrouted(key: Hashable | None) -> None:
    """Record that a call of signature ``key`` took the full path and left no route (its
    executor does not read the boundary itself, or blocks were cut)."""
    if key is not None:
        _note(key, False)


def _note(key: Hashable, may_route: bool) -> None:
    if len(_seen) >= SIZE:
        _seen.clear()
    _seen[key] = may_route


def get(key: Hashable | None) -> Callable[..., np.ndarray] | None:
    """The prepared call for ``key``, if one was remembered."""
    known = None if key is None else _routes.get(key)
    return None if known is None else known[0]


@dataclass(frozen=True)
class Lease:
    """How long the lane keeps a route: for ``calls`` calls, and while no transform size's
    plans have become final since the finality generation ``while_generation``
    (`fftconv.backends.base.finality_generation`; None: whatever becomes final). A
    signature's first plan holds while its transforms are not final, or until its calls have
    cost what planning it in full does (`fftconv.engine.run.route_lease`).

    Examples
    --------
    >>> Lease().calls
    inf
    """

    calls: float = math.inf
    while_generation: int | None = None


FOREVER = Lease()


def remember(key: Hashable | None, route: Callable[..., np.ndarray], lease: Lease | None = FOREVER) -> None:
    """Remember ``route`` for calls of signature ``key`` under ``lease`` (None: not at all);
    once it ends, a call takes the full path again."""
    if key is None or lease is None or lease.calls < 1:
        return
    if lease != FOREVER:
        route = _leased(key, route, lease)
    if len(_routes) >= SIZE:
        _routes.clear()
        _large.clear()
    if _large_kernel(key):
        if key in _large:
            _large.remove(key)
        _large.append(key)
        if len(_large) > LARGE_KEYS:
            _routes.pop(_large.pop(0), None)
    _routes[key] = (route, config.get())


def _large_kernel(key: Hashable) -> bool:
    """Whether ``key`` holds a kernel over `KERNEL_BYTES`."""
    return any(type(part) is KernelValues and len(part.data) > KERNEL_BYTES for part in key)


def _leased(key: Hashable, route: Callable[..., np.ndarray], lease: Lease) -> Callable[..., np.ndarray]:
    """``route``, forgotten for ``key`` as it serves the last call of its ``lease``."""
    left = [lease.calls]

    def call(*args, **kwargs) -> np.ndarray:
        left[0] -= 1
        if left[0] <= 0 or (lease.while_generation is not None
                            and finality_generation() != lease.while_generation):
            known = _routes.get(key)
            if known is not None and known[0] is call:
                del _routes[key]
        return route(*args, **kwargs)
    return call


def renting(key: Hashable, budget: float) -> bool:
    """Whether a call of signature ``key`` may take a route without a plan: while that
    signature's calls there have spent under ``budget`` seconds (a ski rental: ``budget``
    about what planning it costs) and are fewer than `RENTED_CALLS` (`pay` records them).

    Examples
    --------
    >>> renting(("a signature never seen",), 1e-3)
    True
    """
    seconds, calls = _rented.get(key, (0.0, 0))
    return seconds < budget and calls < RENTED_CALLS


def pay(key: Hashable, seconds: float) -> None:
    """Record that a call of signature ``key`` spent ``seconds`` on a route without a plan."""
    if len(_rented) >= SIZE and key not in _rented:
        _rented.clear()
    spent = _rented.setdefault(key, [0.0, 0])
    spent[0] += seconds
    spent[1] += 1


def timed(key: Hashable, rented: bool, seconds: float) -> None:
    """Record a call of signature ``key`` that took ``seconds`` on its rented route (``rented``:
    it pays the rent, `pay`, and sets the route's fastest time) or on its planned one: after
    the rent, `PLANNED_CALLS_TIMED` planned calls are timed against the rented ones, once the
    first `PLANNED_CALLS_SKIPPED` have passed (they plan, and may try the plan's contenders),
    counting only calls made while no background work runs (`fftconv.background.idle`);
    where their fastest took over `STAY_MARGIN` times the rented route's, the signature stays
    rented (`stays_rented`).

    Examples
    --------
    >>> from fftconv import background
    >>> background.wait(60)  # (planned calls are timed while no background work runs)
    True
    >>> for seconds in (1e-4, 1e-4):  # two rented calls,
    ...     timed(("an example",), True, seconds)
    >>> for seconds in (1e-3, 3e-4, 3e-4, 2e-4, 2e-4, 2e-4):  # three planned calls skipped
    ...     timed(("an example",), False, seconds)
    >>> stays_rented(("an example",))
    True
    """
    if rented:
        pay(key, seconds)
        if len(_contest) >= SIZE and key not in _contest:
            _contest.clear()
        entry = _contest.setdefault(key, [seconds, []])
        entry[0] = min(entry[0], seconds)
        return
    # a planned call timed beside background work (an import whose Python holds the GIL, FFTW
    # measuring) says what that work costs it: the contest waits, its calls run planned
    entry = _contest.get(key)
    if entry is None or not background.idle():
        return
    entry[1].append(seconds)
    if len(entry[1]) < PLANNED_CALLS_SKIPPED + PLANNED_CALLS_TIMED:
        return
    _contest.pop(key, None)  # (another thread's call may have settled it meanwhile)
    planned = min(entry[1][PLANNED_CALLS_SKIPPED:])
    if planned > STAY_MARGIN * entry[0]:
        if len(_stays_rented) >= SIZE:
            _stays_rented.clear()
        _stays_rented.add(key)
    else:
        if len(_planned_won) >= SIZE:
            _planned_won.clear()
        _planned_won[key] = planned


def planned_seconds(key: Hashable) -> float | None:
    """The fastest timed planned call of signature ``key``, whose planned calls won their
    contest (`timed`); None for any other.

    Examples
    --------
    >>> from fftconv import background
    >>> background.wait(60)  # (planned calls are timed while no background work runs)
    True
    >>> for seconds in (1e-3, 1e-3):  # two rented calls,
    ...     timed(("another example",), True, seconds)
    >>> for seconds in (1e-3, 3e-4, 3e-4, 2e-4, 2e-4, 2.5e-4):  # three planned calls skipped
    ...     timed(("another example",), False, seconds)
    >>> planned_seconds(("another example",))
    0.0002
    """
    return _planned_won.get(key)


def hand_over(key: Hashable) -> bool:
    """Whether signature ``key``'s planned calls won their contest (`planned_seconds`) and
    were not handed over before: True once, for the caller to hand its calls to a quick path
    (`settle_quick`); its `planned_seconds` are then None, as a verdict no longer asked about.

    Examples
    --------
    >>> from fftconv import background
    >>> background.wait(60)  # (planned calls are timed while no background work runs)
    True
    >>> for seconds in (1e-3, 1e-3):
    ...     timed(("handed over",), True, seconds)
    >>> for seconds in (1e-3, 3e-4, 3e-4, 2e-4, 2e-4, 2.5e-4):
    ...     timed(("handed over",), False, seconds)
    >>> hand_over(("handed over",)), hand_over(("handed over",))
    (True, False)
    """
    return _planned_won.pop(key, None) is not None


def timing(key: Hashable) -> bool:
    """Whether signature ``key``'s planned calls are still timed against its rented ones (`timed`)."""
    return key in _contest


def settle_quick(coarse: Hashable, key: Hashable, runner: Callable[..., np.ndarray] | None = None) -> None:
    """Remember that the calls a quick path describes as ``key`` (``coarse``: a part of it
    cheap to make) are of a signature whose contest is over: on its rented route
    (`stays_rented`; ``runner`` None) or on its planned one, which ``runner`` runs, so that they
    may skip building what the signature's own key is made of (`quick_route`)."""
    if len(_settled_quick) >= SIZE and coarse not in _settled_quick:
        _settled_quick.clear()
    _settled_quick.setdefault(coarse, {})[key] = runner


def quick_settled(coarse: Hashable) -> bool:
    """Whether some call of ``coarse`` was settled, on either route (`settle_quick`): the cheap
    test before a quick path describes a call in full (`quick_route`).

    Examples
    --------
    >>> settle_quick(("a filter", (4, 4)), ("a filter", (4, 4), "its passes"))
    >>> quick_settled(("a filter", (4, 4))), quick_settled(("a filter", (5, 5)))
    (True, False)
    """
    return coarse in _settled_quick


def quick_route(coarse: Hashable, key: Callable[[], Hashable]) -> Callable[..., np.ndarray] | None | object:
    """What runs the call described as ``key()`` (`settle_quick`): None for its rented route,
    its planned route's runner, or `NOT_SETTLED`; ``key`` is made only where some call of
    ``coarse`` was settled.

    Examples
    --------
    >>> settle_quick(("a filter", (6, 6)), ("a filter", (6, 6), "its passes"), runner=len)
    >>> quick_route(("a filter", (6, 6)), lambda: ("a filter", (6, 6), "its passes")) is len
    True
    >>> quick_route(("a filter", (7, 7)), lambda: 1 / 0) is NOT_SETTLED  # no key made
    True
    """
    keys = _settled_quick.get(coarse)
    return NOT_SETTLED if keys is None else keys.get(key(), NOT_SETTLED)


def stays_rented(key: Hashable) -> bool:
    """Whether signature ``key``'s planned calls were slower than its rented ones (`timed`)."""
    return key in _stays_rented


def rent(key: Hashable | None, route: Callable[..., np.ndarray], budget: float) -> None:
    """Remember ``route`` (one without a plan) for calls of signature ``key`` while they have
    spent under ``budget`` seconds on it (`renting`); the call that spends the rest forgets it,
    and the next is planned."""
    if key is None or not renting(key, budget):
        return

    def call(*args, **kwargs) -> np.ndarray:
        started = time.perf_counter()
        try:
            return route(*args, **kwargs)
        finally:
            pay(key, time.perf_counter() - started)
            known = _routes.get(key)
            if not renting(key, budget) and known is not None and known[0] is call:
                _routes.pop(key, None)
    remember(key, call)


def clear() -> None:
    """Forget every remembered signature."""
    _routes.clear()
    _seen.clear()
    _large.clear()
    _rented.clear()
    _contest.clear()
    _stays_rented.clear()
    _planned_won.clear()
    _settled_quick.clear()
