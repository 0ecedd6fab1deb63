"""Versions of installed distributions, read without importing them or importlib.metadata:
keys of caches (calibration) need them in the first call of a process, where importing
scipy costs ~8 ms and importlib.metadata ~5-25 ms; and modules already imported, for calls
that use one only when it is (`imported`)."""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
from types import ModuleType


def imported(name: str) -> ModuleType | None:
    """The module ``name`` where the process has imported it, else None; None too while a
    thread (the background's import of scipy's modules for the tiny routes) is still running
    its body: ``sys.modules`` holds it from the start, its attributes come one by one
    (``numpy.ma`` without ``MaskedArray`` had failed a filter called meanwhile).

    Examples
    --------
    >>> import numpy
    >>> imported("numpy") is numpy, imported("a module never imported")
    (True, None)
    """
    module = sys.modules.get(name)
    if module is None or getattr(getattr(module, "__spec__", None), "_initializing", False):
        return None
    return module


@functools.cache
def version(distribution: str, package: str) -> str:
    """The installed version of ``distribution`` (whose top-level import is ``package``):
    the imported module's ``__version__`` if it is imported, else the version in the name of
    its ``.dist-info`` folder beside the package, else importlib.metadata's answer ('unknown'
    if there is none).

    Examples
    --------
    >>> import numpy
    >>> version("numpy", "numpy") == numpy.__version__
    True
    """
    module = sys.modules.get(package)
    if module is not None and isinstance(getattr(module, "__version__", None), str):
        return module.__version__
    spec = importlib.util.find_spec(package)  # finds, does not import
    if spec is not None and spec.origin:
        folder = os.path.dirname(os.path.dirname(spec.origin))
        wanted = distribution.lower().replace("-", "_") + "-"
        for name in _listing(folder):
            if name.lower().startswith(wanted) and name.endswith(".dist-info"):
                return name[len(wanted):-len(".dist-info")]
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


@functools.cache
def _listing(folder: str) -> tuple[str, ...]:
    """The names in ``folder`` (site-packages: listed once for every distribution asked)."""
    try:
        return tuple(os.listdir(folder))
    except OSError:
        return ()
