"""Compiled loops (C, built by ``pip install``; optional: the NumPy executors serve without).

Both modules load with ``import fftconv`` (0.3-0.4 ms each a process's first call would
otherwise wait for); a name is None where its module was not built.
"""

from __future__ import annotations

import importlib
from types import ModuleType


def _load(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ImportError:
        return None


#: The direct sums' loop (``direct_loops.c``).
direct_loops = _load("_direct_loops")
#: The running box sums (``running_sums.c``).
running_sums = _load("_running_sums")
