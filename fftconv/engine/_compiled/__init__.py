"""One-pass loops over float arrays in C (``float_passes.c``, built by ``pip install``;
optional: NumPy serves without). ``float_passes`` is None where the module was not built."""

from __future__ import annotations

import importlib
from types import ModuleType


def _load() -> ModuleType | None:
    try:
        return importlib.import_module(f"{__name__}._float_passes")
    except ImportError:
        return None


#: ``split``, ``divide`` and ``nan_in_sum`` (see ``float_passes.c``).
float_passes = _load()
