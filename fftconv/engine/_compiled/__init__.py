"""The engine's loops in C, built by ``pip install`` (optional: NumPy serves without): one-pass
loops over float arrays (``float_passes.c``) and a tiny call's direct sum (``tiny_sums.c``). A
name is None where its module was not built."""

from __future__ import annotations

from ...executors._compiled import optional_module

#: ``split``, ``divide`` and ``nan_in_sum`` (see ``float_passes.c``).
float_passes = optional_module(f"{__name__}._float_passes")
#: ``signal`` and ``ndimage`` (see ``tiny_sums.c``).
tiny_sums = optional_module(f"{__name__}._tiny_sums")
