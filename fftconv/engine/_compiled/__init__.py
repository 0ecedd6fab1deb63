"""The engine's loops in C, built by ``pip install`` (optional: NumPy serves without): one-pass
loops over float arrays (``float_passes.c``), a tiny call's direct sum (``tiny_sums.c``) and an
integer image's 1-D pass (``integer_passes.c``). A name is None where its module was not
built."""

from __future__ import annotations

from ...executors._compiled import optional_module

#: ``split``, ``divide`` and ``nan_in_sum`` (see ``float_passes.c``).
float_passes = optional_module(f"{__name__}._float_passes")
#: ``signal`` and ``ndimage`` (see ``tiny_sums.c``).
tiny_sums = optional_module(f"{__name__}._tiny_sums")
#: ``pass1d`` and ``float_pass1d`` (see ``integer_passes.c``).
integer_passes = optional_module(f"{__name__}._integer_passes")
