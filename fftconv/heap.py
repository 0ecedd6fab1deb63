"""The C heap as a process that convolves mid-size arrays needs it: glibc's malloc adapted once
at import, as a process that has freed one large block finds it.

glibc serves each allocation of 128 KiB or more (``M_MMAP_THRESHOLD``) with a fresh ``mmap``,
whose pages fault in one at a time on first touch, and hands freed memory at the top of its
heap back to the system beyond twice that (``M_TRIM_THRESHOLD``). Both thresholds rise by
themselves, up to 32 MiB, once the process frees a block mapped that way; until then, every
call that allocates arrays of 128 KiB to a few MiB (its output, its transforms' outputs) pays a
page fault per 4 KiB page, every call. On the shared VMs these figures come from a minor fault
costs ~1.7 us: NumPy's three transforms of a 23,099 * 564 'same' float64 convolution took
0.9 ms a call in a process that had imported only fftconv (263 faults a call) and 0.45 ms
after the thresholds rose (none); ``import scipy.signal`` makes them rise as a side effect, so
a process that imported scipy had run scipy's own calls without the faults (AMD EPYC Zen 4).

`adapt_malloc` frees one block of `ADAPT_BYTES` (never touched: one ``mmap`` and
``munmap``, ~20 us), which moves the thresholds to that size and twice it: arrays up to 8 MiB
(a 1024² float64 image) reuse the heap, and up to 16 MiB of freed memory stays in the process
rather than being returned and faulted in again. Nothing else about allocation changes, and a
threshold set by hand (``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``, which dask's
workers get from their nanny, or ``mallopt``) turns glibc's adaptation, and so this, off.
Other C libraries (macOS, musl) are left as they are.
"""

from __future__ import annotations

import os

import numpy as np

#: The block freed at import: the thresholds glibc adopts (128 KiB by default, at most 32 MiB).
ADAPT_BYTES = 8 << 20


def glibc() -> bool:
    """Whether this process runs on glibc's malloc.

    Examples
    --------
    >>> glibc() in (True, False)
    True
    """
    try:
        return bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (AttributeError, ValueError, OSError):  # not a POSIX system, or no such name
        return False


def adapt_malloc(nbytes: int = ADAPT_BYTES) -> bool:
    """Free one untouched block of ``nbytes`` through NumPy (so through malloc), which moves
    glibc's mapping and trimming thresholds up to it (see the module docstring); True where
    the process runs on glibc.

    Examples
    --------
    >>> adapt_malloc() == glibc()
    True
    """
    if not glibc():
        return False
    block = np.empty(nbytes, np.uint8)
    del block
    return True
