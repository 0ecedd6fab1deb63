"""What fftconv keeps between calls, and `release_memory` to give it back.

Repeated calls are fast because the first call of a size keeps what it made: FFTW's plans
with their aligned buffers and pocketfft's (`fftconv.backends`), kernel spectra
(`fftconv.executors.kept_spectra`), scratch buffers of a few MiB per thread
(`fftconv.core.memory.kept_buffer`) and the routes of signatures seen repeating
(`fftconv.engine.lane`). They stay until the process ends; a script that filtered large
images of many sizes can hand them back.
"""

from __future__ import annotations

from .backends import fftw
from .core import memory
from .engine import lane, run
from .executors import kept_spectra


def release_memory() -> None:
    """Drop the plans, buffers, kernel spectra, copies of kernels and routes fftconv keeps
    between calls: the next call of each size plans again, at ESTIMATE cost, and measures
    again in the background where it repeats (FFTW's wisdom is kept: remeasuring a size it
    knows is quick). Every thread's scratch buffers are dropped (a thread of fftconv's pool
    in the middle of a call keeps the one it uses until the call ends).

    Examples
    --------
    >>> import numpy as np, fftconv
    >>> _ = fftconv.convolve(np.ones((300, 300)), np.ones((31, 31)))
    >>> fftconv.release_memory()
    >>> fftconv.convolve(np.ones(3), np.ones(2))
    array([1., 2., 2., 1.])
    """
    lane.clear()
    run.forget_kernels()
    kept_spectra.clear()
    fftw.clear_cache()
    memory.release_kept_buffers()
