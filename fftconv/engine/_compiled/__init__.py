"""The normalised filter's passes in C (``hole_planes.c``, built by ``pip install``; optional:
NumPy serves without). ``hole_planes`` is None where the module was not built."""

from __future__ import annotations

import importlib
from types import ModuleType


def _load() -> ModuleType | None:
    try:
        return importlib.import_module(f"{__name__}._hole_planes")
    except ImportError:
        return None


#: ``split`` and ``divide`` (see ``hole_planes.c``).
hole_planes = _load()
