"""Which route sums a repeated 1-D real call of a kernel shorter than `LONG_TAPS` taps.

Three routes compete there, each the quickest somewhere between a few hundred and a few
hundred thousand outputs:

- ``numpy.convolve``: the quickest call (~1 us), but its cost an output grows with the taps
  at ~0.15-0.2 ns a tap for kernels of at most `NUMPY_OWN_LOOP_TAPS` taps, and beyond it is a
  BLAS dot an output (6-15 ns each before the taps);
- fftconv's tiny compiled loop (`fftconv.engine.shifted_sums`): ~2 us a call and a
  multiply-add at 0.09 ns (float32) or 0.17 ns (float64);
- the pipeline's compiled direct sum through `fftconv.engine.lane`: ~6.5 us a call, then the
  quickest an output (0.03 / 0.05 ns a multiply-add).

Each route's time is estimated from those figures (`estimated_seconds`) and the least taken.
A threshold on outputs alone had misrouted both ends: on an Intel Xeon (family 6, model 167,
1 thread) 12453 * 6 'full' float32 took 18.5 us in ``numpy.convolve``, 12.0 in the loop and
11.8 in the pipeline; 16000 * 9 33.2, 20.2 and 12.7; but 10000 * 2 float64 6.8 us in
``numpy.convolve`` and 16.4 in the pipeline. The figures were read there. Of the pairs of
routes timed on AMD EPYC (repeated calls, 1 thread; the notes the thresholds carried), it
picks the quicker in each of the eleven that hold its pick: Zen 4, ``numpy.convolve`` against
the pipeline, 80000 * 3 'same' float32 65.5 and 26.2 us, 50000 * 5 float64 42.8 and 35.7,
21398 * 9 'full' float32 31.9 and 17.5, 5000 * 3 float64 3.9 and 9.4, 1000 * 40 float64 18.3
and 12.7, 2462 * 80 float64 48.7 and 28.5; the loop against ``numpy.convolve``, float32
'same', 724 * 22 4.3 and 22.3, 1000 * 33 5.4 and 8.1, 300 * 40 3.5 and 4.0, 476 * 78 'full'
3.8 and 8.3, 605 * 77 'valid' 4.4 and 13.8. Where it picks the loop beside a pair that did not
time it (10000 * 5 float32: ``numpy.convolve`` 9.4, the pipeline 10.7; float64 724 * 22 7.1
and 6.8), the loop was not measured there.

Examples
--------
>>> import numpy as np
>>> quickest(12453 + 5, 6, np.dtype(np.float64), loop_built=True)
'numpy'
>>> quickest(16000 + 8, 9, np.dtype(np.float32), loop_built=True) is None  # the pipeline
True
"""

from __future__ import annotations

import functools

import numpy as np

#: Kernels of at least this many taps are left to `fftconv.engine.tiny`'s long-kernel rules.
LONG_TAPS = 256
#: ``numpy.convolve`` sums kernels of up to this many taps in its own loop; longer ones take a
#: BLAS dot an output (Intel Xeon, float64 'full', 3,000 outputs: 11 taps 7.1 us, 12 taps 26.1).
NUMPY_OWN_LOOP_TAPS = 11
#: The compiled loop's longest kernel: beyond it the pipeline wins everywhere (float32 128
#: taps, 768 outputs: loop 9.8 us, numpy 9.2, pipeline 9.4; 2,000 outputs 23.5, 23.4, 13.4).
LOOP_TAPS = 128

_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
#: Seconds a call costs before its sums, per route.
CALL_SECONDS = {"numpy": 1.0e-6, "loop": 2.0e-6, "pipeline": 6.5e-6}
#: ``numpy.convolve``'s own loop: seconds an output, and more for each tap (Intel Xeon, 'full':
#: float32 16000 * 3 14.6 us, 12453 * 6 17.6, 16000 * 9 31.4; float64 8.2, 12.3, 22.5).
NUMPY_OUTPUT_SECONDS = {_F32: 0.35e-9, _F64: 0.10e-9}
NUMPY_TAP_SECONDS = {_F32: 0.17e-9, _F64: 0.145e-9}
#: ... and its dot an output for longer kernels (float64 22 taps 4,000 outputs 29.8 us, 77 taps
#: 54.9; float32 16 taps 57.8, 77 taps 97.4).
NUMPY_DOT_SECONDS = {_F32: 13e-9, _F64: 6e-9}
NUMPY_DOT_TAP_SECONDS = {_F32: 0.03e-9, _F64: 0.06e-9}
#: The compiled loop's and the pipeline's seconds a multiply-add and an output (float32 22 taps
#: 2,000 outputs: loop 6.1 us, pipeline 8.3; 77 taps 15.1 and 10.6; float64 22 taps 9.9 and 9.9).
MAC_SECONDS = {"loop": {_F32: 0.09e-9, _F64: 0.17e-9}, "pipeline": {_F32: 0.03e-9, _F64: 0.05e-9}}
OUTPUT_SECONDS = {"loop": {_F32: 0.1e-9, _F64: 0.1e-9}, "pipeline": {_F32: 0.15e-9, _F64: 0.3e-9}}


def estimated_seconds(route: str, outputs: int, taps: int, dtype: np.dtype) -> float:
    """Estimated seconds of one call of ``outputs`` outputs of a ``taps``-tap real kernel in
    ``dtype`` (float32 or float64) on ``route``: 'numpy', 'loop' or 'pipeline'.

    Examples
    --------
    >>> import numpy as np
    >>> round(estimated_seconds("numpy", 1000, 3, np.dtype(np.float64)) * 1e6, 2)
    1.53
    >>> estimated_seconds("loop", 1000, 3, np.dtype(np.float64)) > 2e-6
    True
    """
    if route == "numpy":
        if taps <= NUMPY_OWN_LOOP_TAPS:
            per_output = NUMPY_OUTPUT_SECONDS[dtype] + NUMPY_TAP_SECONDS[dtype] * taps
        else:
            per_output = NUMPY_DOT_SECONDS[dtype] + NUMPY_DOT_TAP_SECONDS[dtype] * taps
        return CALL_SECONDS["numpy"] + per_output * outputs
    return (CALL_SECONDS[route] + MAC_SECONDS[route][dtype] * outputs * taps
            + OUTPUT_SECONDS[route][dtype] * outputs)


@functools.lru_cache(maxsize=4096)
def quickest(outputs: int, taps: int, dtype: np.dtype, loop_built: bool) -> str | None:
    """The quickest route for a repeated call: 'numpy' or 'loop' (the tiny routes), or None
    where the pipeline is estimated the quickest. Only for float32 and float64 kernels of
    fewer than `LONG_TAPS` taps (None for anything else). Cached: a tiny call's whole budget
    is a few microseconds, and the pricing costs 0.6 of them.

    Examples
    --------
    >>> import numpy as np
    >>> quickest(724, 22, np.dtype(np.float32), loop_built=True)
    'loop'
    >>> quickest(724, 22, np.dtype(np.float32), loop_built=False) is None  # NumPy's dots: the pipeline
    True
    """
    tiny = quicker_tiny(outputs, taps, dtype, loop_built)
    if tiny is None:
        return None
    pipeline = estimated_seconds("pipeline", outputs, taps, dtype)
    return tiny if estimated_seconds(tiny, outputs, taps, dtype) <= pipeline else None


def quicker_tiny(outputs: int, taps: int, dtype: np.dtype, loop_built: bool) -> str | None:
    """The quicker of the tiny routes, 'numpy' or 'loop' (for a call the pipeline would win
    but that is not worth planning yet); None outside `quickest`'s domain.

    Examples
    --------
    >>> import numpy as np
    >>> quicker_tiny(16008, 9, np.dtype(np.float32), loop_built=True)
    'loop'
    >>> quicker_tiny(100, 300, np.dtype(np.float32), loop_built=True) is None
    True
    """
    if dtype not in NUMPY_OUTPUT_SECONDS or taps >= LONG_TAPS:
        return None
    if not loop_built or taps > LOOP_TAPS:
        return "numpy"
    numpy_seconds = estimated_seconds("numpy", outputs, taps, dtype)
    return "numpy" if numpy_seconds <= estimated_seconds("loop", outputs, taps, dtype) else "loop"
