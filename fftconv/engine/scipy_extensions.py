"""scipy's compiled modules, loaded from their files without importing scipy's packages.

The tiny and small routes call a few of scipy's compiled loops (scipy.ndimage's
``_nd_image``, scipy.signal's ``_sigtools``) without their Python wrappers, once probed
(`fftconv.engine.ndimage_1d_loops`, `fftconv.engine.ndimage_nd_loop`,
`fftconv.engine.signal_loops`). Those modules need NumPy alone, while their packages' imports
take 0.2 s (scipy.ndimage) and 0.7 s (scipy.signal) of Python; run in the background beside a
caller's tight loop of small calls, whose compiled loops hand the GIL over on each call, an
import's every file read handed it back to the caller for its 5 ms switch interval: a
fresh process' loop of 16x16 * 3x3 ``convolve2d(boundary='symm')`` calls had not seen
scipy.signal imported after 4 s (Intel Xeon). Loading one compiled module takes ~0.3-0.5 ms.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import sys
from types import ModuleType


def load(package: str, name: str) -> ModuleType:
    """scipy's compiled module ``package.name``: the package's own where the process imported
    the package, else loaded from its file, the package left unimported.

    Examples
    --------
    >>> callable(load("scipy.ndimage", "_nd_image").correlate1d)
    True
    """
    full_name = f"{package}.{name}"
    if package in sys.modules:
        return importlib.import_module(full_name)
    spec = importlib.util.find_spec("scipy")  # where it is, not imported
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("scipy is not installed")
    subfolder = package.split(".")[1:]
    path = _extension_file(spec.submodule_search_locations, subfolder, name, full_name)
    loader = importlib.machinery.ExtensionFileLoader(full_name, path)
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(full_name, loader))
    loader.exec_module(module)
    # a compiled module of single-phase initialisation registers itself under its name: left
    # there, the package's later import would take it and bind no attribute for it (the
    # package's import, once started, finds and uses it: then it stays)
    if sys.modules.get(full_name) is module and package not in sys.modules:
        sys.modules.pop(full_name, None)  # (another thread's load may have taken it out)
    return module


def _extension_file(folders, subfolder: list[str], name: str, full_name: str) -> str:
    """The compiled module's file in scipy's package ``folders``."""
    for folder in folders:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = os.path.join(folder, *subfolder, name + suffix)
            if os.path.isfile(path):
                return path
    raise ImportError(f"no compiled module {full_name} in {list(folders)}")
