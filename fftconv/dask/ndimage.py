"""``fftconv.ndimage``'s ``convolve`` and ``correlate`` on dask arrays, lazily.

Every mode, ``cval``, ``origin`` and ``axes`` of scipy.ndimage; each output chunk is filtered
by fftconv's engine (the planner picks direct, FFT, tiles or separable passes per chunk) from
its input chunk plus the halo its kernel reads, the boundary rule applied at the array's own
edges: 'wrap' and 'reflect' read across chunks exactly as in memory, and a halo wider than a
chunk reads from as many neighbours as it needs.
"""

from __future__ import annotations

from collections.abc import Sequence

import dask.array as da
import numpy as np
from numpy.typing import ArrayLike

from .. import ndimage
from ..core.problem import NDIMAGE
from ..engine.blocks import extension_dtype
from ..ndimage import prepare_filter
from .chunks import as_dask, map_extended
from .tasks import ChunkFilter

__all__ = ["convolve", "correlate"]


def correlate(input: ArrayLike | da.Array, weights: ArrayLike, output: object = None, mode: str = "reflect",
              cval: float = 0.0, origin: int | Sequence[int] = 0, *, axes: int | Sequence[int] | None = None,
              method: str = "auto", threads: int | None = None, chunks: object = None) -> da.Array:
    """Multidimensional correlation of a dask array (as ``scipy.ndimage.correlate``), lazily.

    ``output`` may be a dtype (or None: the input's); ``chunks`` rechunks a dask input or
    chunks a NumPy one (default: dask's 'auto'; `fftconv.dask.suggest_chunks` proposes
    FFT-friendly ones). ``threads`` is per task; the default, the share of the worker running
    it (`fftconv.dask.tasks`), does not compete with dask's own threads for the cores. Each
    worker plans (and transforms the kernel) once per chunk shape.

    Examples
    --------
    >>> import numpy as np, fftconv.dask.ndimage
    >>> y = fftconv.dask.ndimage.correlate(np.arange(8.0), [1.0, 2.0, 0.0], chunks=3)
    >>> y.chunks, y.compute()
    (((3, 3, 2),), array([ 0.,  2.,  5.,  8., 11., 14., 17., 20.]))
    """
    return _filter(input, weights, output, mode, cval, origin, axes, method, threads, chunks, False)


def convolve(input: ArrayLike | da.Array, weights: ArrayLike, output: object = None, mode: str = "reflect",
             cval: float = 0.0, origin: int | Sequence[int] = 0, *, axes: int | Sequence[int] | None = None,
             method: str = "auto", threads: int | None = None, chunks: object = None) -> da.Array:
    """Multidimensional convolution of a dask array (as ``scipy.ndimage.convolve``), lazily.
    Parameters as in `correlate`.

    Examples
    --------
    >>> import numpy as np, fftconv.dask.ndimage
    >>> fftconv.dask.ndimage.convolve(np.arange(5.0), [1.0, 2.0], mode="constant", chunks=2).compute()
    array([ 1.,  4.,  7., 10.,  8.])
    """
    return _filter(input, weights, output, mode, cval, origin, axes, method, threads, chunks, True)


def _filter(input, weights, output, mode, cval, origin, axes, method, threads, chunks,
            convolution: bool) -> da.Array:
    if isinstance(output, np.ndarray) or hasattr(output, "__setitem__"):
        raise TypeError("output must be a dtype or None for dask arrays (the result is a lazy dask array); "
                        "store it with dask, e.g. result.to_zarr(...)")
    x = as_dask(input, chunks)
    work, out_dtype, _ = prepare_filter(x, weights, output, mode, cval, origin, axes, method, threads,
                                        convolution)
    if x.size == 0:
        return x.astype(out_dtype)
    if x.ndim == 0:  # a number: nothing to split
        in_memory = ndimage.convolve if convolution else ndimage.correlate
        return da.from_array(in_memory(np.asarray(x), weights, output, mode, cval, origin, axes=axes,
                                       method=method, threads=threads))
    halo = work.halo(x.ndim)

    def region(lo: list[int], hi: list[int]) -> list[tuple[int, int]]:
        return [(lo[a] - work.before[a], hi[a] - work.before[a] + halo[a]) if a in work.axes
                else (lo[a], hi[a]) for a in range(x.ndim)]

    compute = ChunkFilter(work.kernel, work.axes, work.correlate, NDIMAGE, work.method, None, threads,
                          out_dtype)
    return map_extended(x, x.chunks, region, mode, cval, extension_dtype(np.dtype(x.dtype), work), compute,
                        out_dtype)
