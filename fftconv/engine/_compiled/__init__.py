"""The engine's loops in C, built by ``pip install`` (optional: NumPy serves without): one-pass
loops over float arrays (``float_passes.c``) and a tiny call's direct sum (``tiny_sums.c``). A
name is None where its module was not built."""

from __future__ import annotations

import importlib
from types import ModuleType


def _load(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ImportError:
        return None


#: ``split``, ``divide`` and ``nan_in_sum`` (see ``float_passes.c``).
float_passes = _load("_float_passes")
#: ``signal`` and ``ndimage`` (see ``tiny_sums.c``).
tiny_sums = _load("_tiny_sums")
