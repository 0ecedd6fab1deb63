"""fftconv on dask arrays: lazy convolutions computed chunk by chunk by fftconv's engine, on
threads, a ``dask.distributed`` ``LocalCluster`` or a cluster by scheduler address alike.

``fftconv.dask.convolve``, ``correlate`` and ``fftconvolve`` (scipy.signal's modes) and
``fftconv.dask.ndimage``'s filters (``convolve``, ``correlate``, ``gaussian_filter``,
``uniform_filter``, ``correlate1d`` ...: every ndimage mode) take dask arrays, or NumPy
arrays that they chunk, and return dask arrays with the right shape, dtype and chunks. Each
output chunk is computed from its input region and exactly the halo the kernel needs, read
from neighbouring chunks however many that takes (``chunks.map_extended``); the kernel goes
into the graph once. Needs the ``dask`` extra: ``pip install "fftconv[dask]"``.
"""

from __future__ import annotations

import dask.array as da
import numpy as np
from numpy.typing import ArrayLike

from .. import signal
from ..backends.threads import resolve_threads
from ..core.dtypes import as_operand, check_dtype, check_numbers, result_dtype
from ..core.geometry import Window, check_mode, output_window, window_reads
from ..core.problem import SIGNAL, SIGNAL_FFT, normalize_axes
from ..executors.registry import check_method
from ..signal import FFT_METHODS, Axes
from . import ndimage  # (reachable after ``import fftconv.dask``, as fftconv.ndimage is)
from .chunks import as_dask, map_extended, suggest_chunks
from .tasks import ChunkFilter

__all__ = ["convolve", "correlate", "fftconvolve", "ndimage", "suggest_chunks"]


def convolve(in1: ArrayLike | da.Array, in2: ArrayLike, mode: str = "full", method: str = "auto",
             axes: Axes = None, *, threads: int | None = None, chunks: object = None) -> da.Array:
    """Convolve a dask array with a kernel (as ``scipy.signal.convolve``), lazily.

    ``in2``, the kernel, is brought into memory (a dask kernel is computed); with ``axes``
    it may have one axis per convolved axis, and the other axes are carried through. Output
    chunks:
    ``in1``'s for 'same', chunks of ``in1``'s largest chunk length otherwise. 'valid' needs
    ``in1`` at least as long as ``in2`` on every axis. ``threads`` is per task (default: the
    share of the worker running it, see `fftconv.dask.tasks`); ``chunks`` chunks a NumPy
    ``in1`` or rechunks a dask one (`suggest_chunks` proposes FFT-friendly ones). Each worker
    plans (and transforms the kernel) once per chunk shape.

    Examples
    --------
    >>> import numpy as np, fftconv.dask
    >>> y = fftconv.dask.convolve(np.arange(6.0), np.array([1.0, 1.0]), chunks=4)
    >>> y.chunks, y.compute()
    (((4, 3),), array([0., 1., 3., 5., 7., 9., 5.]))
    """
    return _convolve(in1, in2, mode, method, axes, threads, chunks, correlate=False)


def correlate(in1: ArrayLike | da.Array, in2: ArrayLike, mode: str = "full", method: str = "auto",
              axes: Axes = None, *, threads: int | None = None, chunks: object = None) -> da.Array:
    """Cross-correlate a dask array with a kernel (as ``scipy.signal.correlate``), lazily.
    Parameters as in `convolve`.

    Examples
    --------
    >>> import numpy as np, fftconv.dask
    >>> fftconv.dask.correlate(np.arange(4.0), np.array([1.0, 2.0]), "valid", chunks=2).compute()
    array([2., 5., 8.])
    """
    return _convolve(in1, in2, mode, method, axes, threads, chunks, correlate=True)


def fftconvolve(in1: ArrayLike | da.Array, in2: ArrayLike, mode: str = "full",
                axes: Axes = None, *, threads: int | None = None, chunks: object = None) -> da.Array:
    """Convolve a dask array with a kernel by FFT (as ``scipy.signal.fftconvolve``), lazily:
    each chunk by a whole FFT or overlap-save tiles, integer inputs giving float64 as in
    scipy. Parameters as in `convolve`.

    Examples
    --------
    >>> import numpy as np, fftconv.dask
    >>> y = fftconv.dask.fftconvolve(np.arange(4), np.array([1, 1]), "same", chunks=2)
    >>> y.dtype, y.compute().round(12)
    (dtype('float64'), array([0., 1., 3., 5.]))
    """
    return _convolve(in1, in2, mode, "auto", axes, threads, chunks, correlate=False, fft=True)


def _convolve(in1, in2, mode, method, axes, threads, chunks, correlate: bool, fft: bool = False) -> da.Array:
    check_mode(mode)
    check_method(method)
    if threads is not None:
        resolve_threads(threads)  # a bad value fails here, not in every task
    x = as_dask(in1, chunks)
    check_dtype(x.dtype, "in1")  # now, not in every task
    h = as_operand(in2.compute() if isinstance(in2, da.Array) else in2, "in2")
    check_numbers(h, "in2")
    if axes is not None and x.ndim:
        h = _kernel_for_axes(h, normalize_axes(axes, x.ndim), x.ndim)
    if x.ndim != h.ndim:
        raise ValueError(f"in1 and in2 should have the same dimensionality; got {x.ndim}-d and {h.ndim}-d")
    if x.size == 0 or h.size == 0:
        raise ValueError(f"in1 and in2 must not be empty; got shapes {x.shape} and {h.shape}")
    if mode == "valid" and any(n1 < n2 for n1, n2 in zip(x.shape, h.shape)):
        raise ValueError(f"'valid' mode on dask arrays needs in1 at least as long as in2 on every axis; got "
                         f"{x.shape} and {h.shape} (pass the larger array first)")
    if x.ndim == 0:  # numbers: nothing to split
        if fft:
            return da.from_array(np.asarray(signal.fftconvolve(np.asarray(x), h, mode, threads=threads)))
        in_memory = signal.correlate if correlate else signal.convolve
        return da.from_array(np.asarray(in_memory(np.asarray(x), h, mode, method, threads=threads)))
    if fft and h.size == 1:  # every axis broadcasts (fftconvolve's unit axes): scipy's product
        return x * h.reshape(())  # (an int16 pair stays int16, as scipy's ``in1 * in2``)
    kernel = np.conj(np.flip(h)) if correlate else h  # numpy's correlation: conjugate, flip, convolve
    windows = [output_window(n1, n2, mode) for n1, n2 in zip(x.shape, h.shape)]
    out_chunks = [c if mode == "same" else da.core.normalize_chunks(max(c), (w.length,))[0]
                  for c, w in zip(x.chunks, windows)]

    def region(lo: list[int], hi: list[int]) -> list[tuple[int, int]]:
        return [window_reads(n2, Window(w.start + a, b - a)) for a, b, w, n2 in zip(lo, hi, windows, h.shape)]

    conventions = SIGNAL_FFT if fft else SIGNAL
    dtype = result_dtype(np.dtype(x.dtype), kernel.dtype, conventions.result)
    compute = ChunkFilter(kernel, tuple(range(x.ndim)), False, conventions, method,
                          FFT_METHODS if fft else None, threads, dtype)
    return map_extended(x, out_chunks, region, "constant", 0, np.dtype(x.dtype), compute, dtype)


def _kernel_for_axes(h: np.ndarray, axes: list[int], ndim: int) -> np.ndarray:
    """The kernel with one axis per image axis, length 1 off ``axes`` (given one axis per
    convolved axis, or all of them): the other axes are then carried through."""
    if h.ndim == len(axes) < ndim:
        shape = [1] * ndim
        for a, n in zip(sorted(axes), h.shape):
            shape[a] = n
        h = h.reshape(shape)
    if h.ndim == ndim and any(h.shape[a] != 1 for a in range(ndim) if a not in axes):
        raise ValueError(f"with axes={tuple(axes)} the kernel must have length 1 on the other axes on dask "
                         f"arrays (got {h.shape}): one kernel for every item")
    return h

