"""The compiled parts: the direct-sum loops of ``fftconv.executors.direct_compiled``, the
running sums of ``fftconv.executors.direct_box``, the one-pass float loops of
``fftconv.engine.holes``, the tiny calls' sums of ``fftconv.engine.shifted_sums``, the exact
integer passes of ``fftconv.engine.integer_passes`` and the Winograd transforms of ``fftconv.nn.winograd``.

All optional: where no C compiler is available the build skips them and fftconv runs its
NumPy direct sums (with one warning when a direct sum is first planned), NumPy float passes,
NumPy shifted sums and NumPy Winograd passes instead.
"""

from setuptools import Extension, setup

#: The headers the loops include (the CPU targets, the buffers' element types); listed as
#: dependencies, so that a loop is rebuilt on them and they ship with the sources.
SHARED = {"include_dirs": ["fftconv/_include"],
          "depends": ["fftconv/_include/target_clones.h", "fftconv/_include/buffer_kinds.h",
                      "fftconv/_include/max_abs.h"]}
#: A function called but not defined fails the build (a warning in older compilers: the module
#: built, then failed to load on an undefined symbol, and its tests were skipped).
STRICT = ["-Werror=implicit-function-declaration"]


def compiled(module: str, *flags: str) -> Extension:
    """The optional extension ``module`` (a dotted name; its source is the ``.c`` file of the
    module's name without its leading underscore, beside it), built with ``flags`` besides the
    ones every loop has."""
    package, _, name = module.rpartition(".")
    source = f"{package.replace('.', '/')}/{name.lstrip('_')}.c"
    return Extension(module, [source], extra_compile_args=["-O3", "-fno-wrapv", *flags, *STRICT],
                     optional=True, **SHARED)


setup(
    ext_modules=[
        # -fno-wrapv (every loop): Python builds with -fwrapv, which stops gcc vectorising the
        # index arithmetic
        compiled("fftconv.executors._compiled._direct_loops", "-Wno-psabi"),
        compiled("fftconv.executors._compiled._running_sums"),
        # -fno-trapping-math: without it gcc does not vectorise a NaN test (x != x) in a loop;
        # the values are the same (no FP traps are enabled; 0 / 0 still gives NaN)
        compiled("fftconv.engine._compiled._float_passes", "-fno-trapping-math"),
        # no fused multiply-add: each sum rounds as NumPy's shifted sums round it (the same bits)
        compiled("fftconv.engine._compiled._tiny_sums", "-ffp-contract=off"),
        # (the double sums of taps that are not whole numbers round alike on every CPU target)
        compiled("fftconv.engine._compiled._integer_passes", "-ffp-contract=off", "-fno-trapping-math"),
        compiled("fftconv.nn._compiled._winograd"),
    ]
)
