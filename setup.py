"""The one compiled part: the direct-sum loops of ``fftconv.executors.direct_compiled``.

Optional: where no C compiler is available the build skips it and fftconv runs its NumPy
direct sums instead (with one warning when a direct sum is first planned).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "fftconv.executors._compiled._direct_loops",
            ["fftconv/executors/_compiled/direct_loops.c"],
            # -fno-wrapv: Python builds with -fwrapv, which stops gcc vectorising the index arithmetic
            extra_compile_args=["-O3", "-fno-wrapv", "-Wno-psabi"],
            optional=True,
        )
    ]
)
