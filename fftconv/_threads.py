"""How many threads a call may use: the ``threads=`` argument, else ``FFTCONV_THREADS``,
else every core this process may run on."""

from __future__ import annotations

import os


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


def resolve_threads(threads: object = None) -> int:
    """Validate ``threads`` (a positive int, or None for the default).

    Examples
    --------
    >>> resolve_threads(2)
    2
    """
    source = "threads"
    if threads is None:
        env = os.environ.get("FFTCONV_THREADS")
        if env is None or env.strip() == "":
            return available_cores()
        source = "FFTCONV_THREADS"
        try:
            threads = int(env)
        except ValueError:
            raise ValueError(f"FFTCONV_THREADS must be a positive integer, got {env!r}") from None
    if isinstance(threads, bool) or not isinstance(threads, (int,)) and not hasattr(threads, "__index__"):
        raise TypeError(f"{source} must be a positive integer, got {threads!r}")
    threads = int(threads)
    if threads < 1:
        raise ValueError(f"{source} must be a positive integer, got {threads}")
    return threads
