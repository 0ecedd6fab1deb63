"""One low-priority thread for work that pays back later and must never stall a call.

Two kinds of work are worth doing but not worth making a user's call wait for: FFTW plans
made with MEASURE (seconds for a large transform; `fftconv.backends.fftw` asks for them once
a transform size repeats) and the first-use calibration of this CPU's cost coefficients
(`fftconv.planning.calibrate`). Both are jobs here: run one at a time, in submission order
(a lower ``priority`` number first), on a daemon thread that the operating system schedules
after everything else of the process (``nice 19`` on Linux), so it takes a core that would
otherwise idle and yields whenever the user's work wants it.

Jobs are keyed: a key already queued, running or done is not queued again. A job that
fails warns once and is not retried. `wait` lets benchmarks and tests reach the state a
long-running program reaches by itself; `calls` counts the engine's calls so that a job
timing something can tell whether the foreground was busy meanwhile. Everything here is
reset in a forked child (its thread did not survive the fork).

Examples
--------
>>> results = []
>>> submit(("example", 1), lambda: results.append("done"))
True
>>> wait(600.0), results
(True, ['done'])
"""

from __future__ import annotations

import _thread
import contextlib
import heapq
import itertools
import os
import threading
import time
import warnings
from collections.abc import Callable, Hashable, Iterator

#: Niceness of the worker thread (Linux: per thread): the scheduler's lowest priority.
NICENESS = 19

_lock = threading.Condition()
_queue: list[tuple[int, int, Hashable, Callable[[], object]]] = []
_known: set[Hashable] = set()  # queued, running or done
_running: Hashable | None = None
_started = False  # the worker thread was started (`submit`)
_order = itertools.count()
_calls = 0
_waiting = False  # the running job only waits (`waiting`): it shares the machine with nothing


def submit(key: Hashable, job: Callable[[], object], priority: int = 1) -> bool:
    """Queue ``job`` unless ``key`` was queued before; True if it was queued now.

    Examples
    --------
    >>> submit(("example", 2), lambda: None), submit(("example", 2), lambda: None)
    (True, False)
    """
    global _started
    with _lock:
        if key in _known:
            return False
        _known.add(key)
        heapq.heappush(_queue, (priority, next(_order), key, job))
        if not _started:
            # a raw thread: threading.Thread.start waits until the new thread has run, and the
            # call that queued the job (a size's second call) waited 0.2-3 ms for its first
            # time slice on a busy machine; this returns in ~0.06 ms
            _thread.start_new_thread(_work, ())
            _started = True
        _lock.notify_all()
    return True


def pending(key: Hashable) -> bool:
    """Whether ``key`` is queued or running (not yet done).

    Examples
    --------
    >>> pending(("never", "submitted"))
    False
    """
    with _lock:
        return key == _running or any(entry[2] == key for entry in _queue)


def forget(key: Hashable) -> None:
    """Let ``key`` be submitted again once it is done (its result was dropped).

    Examples
    --------
    >>> forget(("example", 2))
    """
    with _lock:
        if key != _running and not any(entry[2] == key for entry in _queue):
            _known.discard(key)


def wait(timeout: float | None = None) -> bool:
    """Block until no job is queued or running (or ``timeout`` seconds pass); True if idle.

    Examples
    --------
    >>> wait(0.0) in (True, False)
    True
    """
    with _lock:
        return _lock.wait_for(lambda: not _queue and _running is None, timeout)


def idle() -> bool:
    """Whether no job is queued or running (timings taken now share the machine with none).

    Examples
    --------
    >>> idle() in (True, False)
    True
    """
    with _lock:
        return not _queue and (_running is None or _waiting)


@contextlib.contextmanager
def waiting() -> Iterator[None]:
    """Inside a job: while the block runs, the job only waits (for the engine to be idle,
    say) and `idle` says so. A job waiting for half a second of quiet held every trial's
    timing back for that half second at each process start (2 threads, before the CPU's
    thread gains are measured).

    Examples
    --------
    >>> with waiting():
    ...     pass
    """
    global _waiting
    with _lock:
        _waiting = True
    try:
        yield
    finally:
        with _lock:
            _waiting = False


def quiet_for(seconds: float) -> int | None:
    """Inside a job: wait ``seconds`` (only waiting meanwhile: `waiting`), and return the count
    of engine calls (`calls`) if none came meanwhile, else None. Work timed in wall time on
    several threads runs only after such a quiet spell (two threads' wall time means nothing
    while the user's calls share the cores), and counts only if `calls` still gives that count
    once it is done.

    Examples
    --------
    >>> quiet_for(0.0) == calls()
    True
    """
    before = calls()
    with waiting():
        time.sleep(seconds)
    return before if calls() == before else None


def note_call() -> None:
    """Count one call of the engine (cheap: called on every run)."""
    global _calls
    _calls += 1


def calls() -> int:
    """Engine calls counted so far in this process (see `note_call`)."""
    return _calls


def _lower_priority() -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)
    except (AttributeError, OSError):  # not Linux, or not allowed: run at normal priority
        pass


def _work() -> None:
    global _running
    threading.current_thread().name = "fftconv-background"  # as debuggers and profilers show it
    _lower_priority()
    while True:
        with _lock:
            _lock.wait_for(lambda: bool(_queue))
            _, _, key, job = heapq.heappop(_queue)
            _running = key
        try:
            job()
        except Exception as exc:  # a failed refinement must never reach the user's calls
            warnings.warn(f"fftconv's background job {key!r} failed ({type(exc).__name__}: {exc}); "
                          "calls go on without it", RuntimeWarning, stacklevel=1)
        finally:
            with _lock:
                _running = None
                _lock.notify_all()


def _forget_in_child() -> None:
    global _lock, _queue, _known, _running, _started, _waiting
    _lock = threading.Condition()
    _queue, _known, _running, _started, _waiting = [], set(), None, False, False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)
