"""What this machine can hold: a call whose estimated memory exceeds what is available now is
refused before it touches any data, limit or not (a `MemoryLimitError`, which is a
``MemoryError``), rather than thrashing or being killed halfway."""

from __future__ import annotations

import functools
import math
import os
import threading
import weakref

import numpy as np

from ..planning.plan import MemoryLimitError, format_bytes

#: Calls needing less than this share of the physical memory are not checked: reading the
#: available memory costs ~20 us, as much as a small convolution.
UNCHECKED_SHARE = 1 / 8


@functools.cache
def physical_bytes() -> int | None:
    """Physical memory of this machine (None where the system does not say).

    Examples
    --------
    >>> physical_bytes() is None or physical_bytes() > 0
    True
    """
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not a POSIX system
        return None


#: A core's level-2 cache where the system does not say (`core_cache_bytes`): AMD EPYC Zen 4's.
ASSUMED_CORE_CACHE_BYTES = 1 << 20
#: A core's level-1 data cache where the system does not say (`core_l1_bytes`): AMD EPYC Zen 4's.
ASSUMED_L1_BYTES = 32 << 10


def core_cache_bytes(root: str = "/sys/devices/system/cpu/cpu0/cache") -> int | None:
    """Bytes of a core's level-2 cache, as Linux describes it (read once per process; None
    where the system does not say).

    Examples
    --------
    >>> core_cache_bytes() is None or core_cache_bytes() >= 1 << 16
    True
    """
    return _data_cache_bytes(root, 2)


def core_l1_bytes(root: str = "/sys/devices/system/cpu/cpu0/cache") -> int | None:
    """Bytes of a core's level-1 data cache, as Linux describes it (as `core_cache_bytes`).

    Examples
    --------
    >>> core_l1_bytes() is None or core_l1_bytes() >= 1 << 12
    True
    """
    return _data_cache_bytes(root, 1)


def l2_bytes() -> int:
    """A core's level-2 cache: glibc's answer (`library_cache_bytes`), else
    `core_cache_bytes`, else `ASSUMED_CORE_CACHE_BYTES`.

    Examples
    --------
    >>> l2_bytes() >= 1 << 16
    True
    """
    return library_cache_bytes(2) or core_cache_bytes() or ASSUMED_CORE_CACHE_BYTES


def l1_bytes() -> int:
    """A core's level-1 data cache: glibc's answer (`library_cache_bytes`), else
    `core_l1_bytes`, else `ASSUMED_L1_BYTES`.

    Examples
    --------
    >>> l1_bytes() >= 1 << 12
    True
    """
    return library_cache_bytes(1) or core_l1_bytes() or ASSUMED_L1_BYTES


#: glibc's ``sysconf`` names of a core's level-1 data cache and level-2 cache
#: (``_SC_LEVEL1_DCACHE_SIZE``, ``_SC_LEVEL2_CACHE_SIZE`` in its ``bits/confname.h``, numbers its
#: ABI fixes), which CPython's ``os.sysconf_names`` leaves out.
_GLIBC_CACHE_NAMES = {1: 188, 2: 191}


@functools.cache
def library_cache_bytes(level: int) -> int | None:
    """Bytes of a core's level-``level`` data cache (1 or 2) as glibc's ``sysconf`` gives them
    (from CPUID on x86, where Linux's files, `core_cache_bytes`, took ~8 us a read: 0.2-0.37 ms
    of a process's first plan, which asks for both levels; Intel Xeon VM); None where the C
    library is not glibc or does not say (read once per process).

    Examples
    --------
    >>> library_cache_bytes(1) is None or library_cache_bytes(1) >= 1 << 10
    True
    """
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return None
        size = os.sysconf(_GLIBC_CACHE_NAMES[level])
    except (ValueError, OSError, AttributeError):  # not glibc: the name means nothing, or another thing
        return None
    return size if size >= 1 << 10 else None  # (0 or -1 where it does not know)


@functools.cache
def _data_cache_bytes(root: str, level: int) -> int | None:
    def read(index: str, name: str) -> str:
        with open(os.path.join(root, index, name)) as f:
            return f.read().strip()

    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    try:
        for index in sorted(name for name in os.listdir(root) if name.startswith("index")):
            if read(index, "level") == str(level) and read(index, "type") in ("Unified", "Data"):
                size = read(index, "size")
                return int(size[:-1]) * units[size[-1]] if size[-1] in units else int(size)
    except (OSError, ValueError, IndexError):
        pass
    return None


def available_bytes() -> int | None:
    """Memory available to a new allocation now: Linux's ``MemAvailable`` (free memory plus
    the caches it can drop), else the free pages; None where the system does not say.

    Examples
    --------
    >>> available_bytes() is None or available_bytes() > 0
    True
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not a POSIX system
        return None


def check_fits(nbytes: int, what: str, advice: str | None = None) -> None:
    """Raise `MemoryLimitError` if ``nbytes`` (what ``what`` needs) exceed the memory
    available now; ``advice`` (what to do instead) replaces the default, which points inputs
    bigger than memory to memmaps and datasets.

    Examples
    --------
    >>> check_fits(1024, "a tiny call")
    >>> check_fits(1 << 62, "an impossible call")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fftconv.planning.plan.MemoryLimitError: an impossible call needs about 4096.0 PiB of memory...
    """
    total = physical_bytes()
    if total is not None and nbytes < total * UNCHECKED_SHARE:
        return
    available = available_bytes()
    if available is not None and nbytes > available:
        advice = advice or ("for inputs bigger than memory, use fftconv.ndimage with memmaps or datasets "
                            "(it works in blocks under [memory] limit)")
        raise MemoryLimitError(
            f"{what} needs about {format_bytes(nbytes)} of memory, but this machine has "
            f"{format_bytes(available)} available; {advice}"
        )


class _Buffers:
    """One thread's kept buffers, by (owner, slot), where `release_kept_buffers` reaches them
    (weakly: a thread's go with it when it ends)."""

    __slots__ = ("by_slot", "__weakref__")

    def __init__(self) -> None:
        self.by_slot: dict[tuple[str, int], np.ndarray] = {}


_kept = threading.local()
#: Every live thread's `_Buffers`: a thread's go with it when it ends.
_every_thread: weakref.WeakSet[_Buffers] = weakref.WeakSet()
_every_thread_lock = threading.Lock()


def kept_buffer(owner: str, slot: int, shape: tuple[int, ...], dtype: np.dtype, most_bytes: int
                ) -> np.ndarray | None:
    """A C-contiguous array of ``shape`` in this thread's buffer ``slot`` of ``owner``, kept
    from call to call (on AMD EPYC the first touch of a fresh buffer, its page faults, cost as
    much as a pass over a small image), or None for shapes over ``most_bytes``. Each owner's
    buffers are its own: no other caller hands them out while it uses them.

    Examples
    --------
    >>> a = kept_buffer("example", 0, (4, 4), np.dtype(np.float32), 1 << 20)
    >>> a.shape, kept_buffer("example", 1, (1024, 1024), np.dtype(np.float64), 1 << 20)
    ((4, 4), None)
    """
    nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    if nbytes > most_bytes:
        return None
    kept = getattr(_kept, "buffers", None)
    if kept is None:
        kept = _kept.buffers = _Buffers()
        with _every_thread_lock:
            _every_thread.add(kept)
    buffers = kept.by_slot
    buffer = buffers.get((owner, slot))
    if buffer is None or buffer.nbytes < nbytes:
        buffer = buffers[(owner, slot)] = np.empty(max(nbytes, most_bytes // 2), np.uint8)
    return buffer[:nbytes].view(dtype).reshape(shape)


def release_kept_buffers() -> None:
    """Drop every thread's kept buffers (`kept_buffer`; the threads of fftconv's pool keep
    theirs between calls too): they are reused caches of at most a few MiB each, not leaks, so
    a heap that counts leaks is read after this. A thread using one at this moment keeps it
    until it lets go of it.

    Examples
    --------
    >>> _ = kept_buffer("example", 0, (4,), np.dtype(np.float64), 1 << 10)
    >>> release_kept_buffers()
    >>> _kept.buffers.by_slot
    {}
    """
    with _every_thread_lock:
        every = list(_every_thread)
    for kept in every:
        kept.by_slot.clear()
