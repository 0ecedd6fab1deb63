"""Threads: how many a call may use (the ``threads=`` argument, else the configuration
``FFTCONV_THREADS`` / ``[fftw] threads``, else every core this process may run on), how they
split between tiles and FFTW's transforms, and the pool that runs tiles."""

from __future__ import annotations

import contextvars
import functools
import itertools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from .. import config
from ..core.messages import shown

#: Tiles of fewer points (times batch items) run one after another: each tile's Python work
#: holds the GIL, and on small tiles a second thread loses more to waiting than it gains
#: (1-D tiles of 1.5k-4k points ran 1.6-4x slower on 2 threads than on 1).
MIN_PARALLEL_TILE_POINTS = 1 << 13
#: Transforms of fewer points (256x256) run on one FFTW thread: on the reference machine a
#: second one shortened whole 'fft' calls by under 10 % at 96x96 to 128x128 (the transforms
#: are a small part of them) and by 25 % at 180x180; each thread count also needs its own
#: FFTW plans and wisdom.
MIN_THREADED_FFT_POINTS = 1 << 16

class _Task:
    """A pool task that lets go of its function and arguments once it has run or is
    cancelled. The executor's queue and worker hold a task a while after its future is done
    (a cancelled one until a worker takes it out of the queue): holding the call's arrays
    meanwhile kept a call's image-sized buffers alive after it had returned."""

    __slots__ = ("call",)

    def __init__(self, call: Callable[[], object]) -> None:
        self.call: Callable[[], object] | None = call

    def __call__(self) -> object:
        call, self.call = self.call, None
        if call is None:
            return None
        return call()

    def drop(self, _future: object = None) -> None:
        self.call = None


class _SettingsKeepingPool(ThreadPoolExecutor):
    """A pool whose tasks run in a copy of the submitting thread's context: a ``with
    fftconv.config.override(...)`` around a call reaches the helpers working for it (context
    variables are per thread otherwise). A task holds nothing of its call once its future is
    done (`_Task`)."""

    def submit(self, fn, /, *args, **kwargs):
        task = _Task(functools.partial(contextvars.copy_context().run, fn, *args, **kwargs))
        future = super().submit(task)
        future.add_done_callback(task.drop)  # a cancelled task's call is dropped at once
        return future


_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


def available_cores() -> int:
    """Cores this process may run on.

    Examples
    --------
    >>> available_cores() >= 1
    True
    """
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def resolve_threads(threads: object = None, settings: config.Config | None = None) -> int:
    """Validate ``threads`` (a positive int, or None for the default of ``settings``, by
    default the settings in force), at most the cores this process may run on: more threads
    than cores only wait for each other (FFTW made 64 threads' plans of a 2304² transform on
    2 cores 1.5x slower, and a million of them 90x).

    Examples
    --------
    >>> resolve_threads(1)
    1
    >>> resolve_threads(10**6) == available_cores()
    True
    """
    cores = available_cores()
    if threads is None:
        return min((settings or config.get()).threads or cores, cores)
    if isinstance(threads, bool) or not hasattr(threads, "__index__"):
        raise TypeError(f"threads must be a positive integer, got {shown(threads)}")
    value = int(threads)  # type: ignore[call-overload]
    if value < 1:
        raise ValueError(f"threads must be a positive integer, got {value}")
    return min(value, cores)


def shared_pool(workers: int) -> ThreadPoolExecutor:
    """A process-wide pool with at least ``workers`` threads.

    Starting threads costs ~100 us a call, as much as a small tiled convolution; the pool
    lives for the process and grows when a call asks for more workers. Tasks see the settings
    in force where they were submitted.

    Examples
    --------
    >>> shared_pool(2).submit(sum, [1, 2]).result()
    3
    """
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size < workers:
            # the old pool is not shut down: a call on another thread may still be submitting to
            # it; once nobody holds it, its idle threads exit with it
            _pool = _SettingsKeepingPool(workers, thread_name_prefix="fftconv")
            _pool_size = workers
        return _pool


def claim_in_turn(count: int, workers: int, runner: Callable[[], Callable[[int], object]]) -> None:
    """Run items ``0 .. count - 1`` on the calling thread and ``workers - 1`` threads of the
    shared pool, each thread claiming the next item once done with its last: a thread slow to
    wake up (it needs the GIL), or sharing its core with another (libgomp's and OpenBLAS's
    threads spin for milliseconds after their own calls), runs fewer, where fixed shares made
    the call wait for it. ``runner()`` makes, in each thread, that thread's function of an
    item (its own buffers). The first error is raised once every thread has stopped.

    Examples
    --------
    >>> done = []
    >>> claim_in_turn(5, 2, lambda: done.append)
    >>> sorted(done)
    [0, 1, 2, 3, 4]
    """
    claim = itertools.count()
    failed = threading.Event()

    def work() -> None:
        try:
            run = runner()
            for item in claim:
                if item >= count or failed.is_set():
                    return
                run(item)
        except BaseException:
            failed.set()
            raise

    helpers = [shared_pool(workers - 1).submit(work) for _ in range(workers - 1)]
    try:
        work()
    finally:  # a helper that has not started is cancelled; a running one is waited for
        errors = [None if f.cancel() else f.exception() for f in helpers]
    for error in errors:
        if error is not None:
            raise error


def split_threads(tiles: int, points: int, threads: int) -> tuple[int, int]:
    """How ``threads`` serve ``tiles`` transforms of ``points`` points each: ``(workers
    across tiles, threads inside each FFT)``. The executor and the cost model share this rule.

    Examples
    --------
    >>> split_threads(54, 20000, 2), split_threads(1, 4096 * 4096, 2), split_threads(6, 1536, 2)
    ((2, 1), (1, 2), (1, 1))
    """
    if tiles >= 2 * threads and points >= MIN_PARALLEL_TILE_POINTS:
        return threads, 1
    return 1, (threads if points >= MIN_THREADED_FFT_POINTS else 1)


def kernel_fft_threads(fft_shape, threads: int) -> int:
    """Threads for the kernel's one transform at ``fft_shape`` (`split_threads` for one tile).

    Examples
    --------
    >>> kernel_fft_threads((64,), 2), kernel_fft_threads((4096, 4096), 2)
    (1, 2)
    """
    points = 1
    for n in fft_shape:
        points *= int(n)
    return split_threads(1, points, threads)[1]


@functools.lru_cache(maxsize=1)
def _blas_controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()  # finding the BLAS libraries costs ~0.3 ms: once


def blas_threads(threads: int):
    """A context in which BLAS (NumPy's matrix products) uses ``threads`` threads (process-wide
    while it lasts; threadpoolctl).

    Examples
    --------
    >>> with blas_threads(1):
    ...     pass
    """
    return _blas_controller().limit(limits=threads, user_api="blas")
