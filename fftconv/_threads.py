"""How many threads a call may use: the ``threads=`` argument, else the configuration
(``FFTCONV_THREADS``, ``[fftw] threads``), else every core this process may run on."""

from __future__ import annotations

import os

from . import config


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
    """Validate ``threads`` (a positive int, or None for the configured default).

    Examples
    --------
    >>> resolve_threads(2)
    2
    """
    if threads is None:
        return config.get().threads or available_cores()
    if isinstance(threads, bool) or not hasattr(threads, "__index__"):
        raise TypeError(f"threads must be a positive integer, got {threads!r}")
    value = int(threads)  # type: ignore[call-overload]
    if value < 1:
        raise ValueError(f"threads must be a positive integer, got {value}")
    return value
