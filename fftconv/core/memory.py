"""What this machine can hold: a call whose estimated memory exceeds what is available now is
refused before it touches any data, limit or not (a `MemoryLimitError`, which is a
``MemoryError``), rather than thrashing or being killed halfway."""

from __future__ import annotations

import functools
import os

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


def check_fits(nbytes: int, what: str) -> None:
    """Raise `MemoryLimitError` if ``nbytes`` (what ``what`` needs) exceed the memory
    available now.

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
        raise MemoryLimitError(
            f"{what} needs about {format_bytes(nbytes)} of memory, but this machine has "
            f"{format_bytes(available)} available; for inputs bigger than memory, use "
            "fftconv.ndimage with memmaps or datasets (it works in blocks under [memory] limit)"
        )
