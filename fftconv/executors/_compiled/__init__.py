"""Compiled loops (C, built by ``pip install``; optional: the NumPy executors serve without).

Both modules load with ``import fftconv`` (0.3-0.4 ms each a process's first call would
otherwise wait for); a name is None where its module was not built.
"""

from __future__ import annotations

import importlib
from types import ModuleType


def optional_module(name: str) -> ModuleType | None:
    """The compiled module ``name`` (a full dotted name), or None where it was not built or
    does not load (the engine's loops load through this too).

    Examples
    --------
    >>> optional_module("fftconv.executors._compiled._no_such_loop") is None
    True
    """
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


#: The direct sums' loop (``direct_loops.c``).
direct_loops = optional_module(f"{__name__}._direct_loops")
#: The running box sums (``running_sums.c``).
running_sums = optional_module(f"{__name__}._running_sums")
