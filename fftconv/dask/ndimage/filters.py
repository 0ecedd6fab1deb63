"""``convolve`` and ``correlate`` of dask arrays, lazily.

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

from ... import ndimage
from ...core.messages import shown
from ...core.problem import NDIMAGE
from ...engine.blocks import extension_dtype
from ...engine.footprint import Footprint
from ...ndimage import prepare_filter
from ...ndimage.arguments import NDImageMode
from ..chunks import as_dask, map_extended
from ..tasks import ChunkFilter

__all__ = ["convolve", "correlate"]


def correlate(input: ArrayLike | da.Array, weights: ArrayLike, output: object = None,
              mode: NDImageMode = "reflect", cval: float = 0.0, origin: int | Sequence[int] = 0, *,
              axes: int | Sequence[int] | None = None,
              method: str = "auto", threads: int | None = None, chunks: object = None, nan: str = "propagate",
              mask: ArrayLike | da.Array | None = None) -> da.Array:
    """Multidimensional correlation of a dask array (as ``scipy.ndimage.correlate``), lazily.

    ``output`` may be a dtype (or None: the input's); ``chunks`` rechunks a dask input or
    chunks a NumPy one (default: dask's 'auto'; `fftconv.dask.suggest_chunks` proposes
    FFT-friendly ones). ``threads`` is per task; the default, the share of the worker running
    it (`fftconv.dask.tasks`), does not compete with dask's own threads for the cores. Each
    worker plans (and transforms the kernel) once per chunk shape. ``nan`` and ``mask`` as in
    `fftconv.ndimage.correlate` (holes filled across chunks exactly as in memory: the halos
    carry them).

    Examples
    --------
    >>> import numpy as np, fftconv.dask.ndimage
    >>> y = fftconv.dask.ndimage.correlate(np.arange(8.0), [1.0, 2.0, 0.0], chunks=3)
    >>> y.chunks, y.compute()
    (((3, 3, 2),), array([ 0.,  2.,  5.,  8., 11., 14., 17., 20.]))
    """
    return _filter(input, weights, output, mode, cval, origin, axes, method, threads, chunks, False, nan,
                   mask)


def convolve(input: ArrayLike | da.Array, weights: ArrayLike, output: object = None,
             mode: NDImageMode = "reflect", cval: float = 0.0, origin: int | Sequence[int] = 0, *,
             axes: int | Sequence[int] | None = None,
             method: str = "auto", threads: int | None = None, chunks: object = None, nan: str = "propagate",
             mask: ArrayLike | da.Array | None = None) -> da.Array:
    """Multidimensional convolution of a dask array (as ``scipy.ndimage.convolve``), lazily.
    Parameters as in `correlate`.

    Examples
    --------
    >>> import numpy as np, fftconv.dask.ndimage
    >>> fftconv.dask.ndimage.convolve(np.arange(5.0), [1.0, 2.0], mode="constant", chunks=2).compute()
    array([ 1.,  4.,  7., 10.,  8.])
    """
    return _filter(input, weights, output, mode, cval, origin, axes, method, threads, chunks, True, nan, mask)


def _filter(input, weights, output, mode, cval, origin, axes, method, threads, chunks,
            convolution: bool, nan: str = "propagate", mask=None, footprint: bool = True) -> da.Array:
    """The body of `correlate` and `convolve` (``footprint``: their loop's, which leaves out
    tiny weights, `fftconv.ndimage.filters.prepare_filter`), and of the separable filters'
    passes, which sum every weight as scipy's 1-D filters do (a derivative's zero tap over an
    infinity: NaN)."""
    if isinstance(output, np.ndarray) or hasattr(output, "__setitem__"):
        raise TypeError("output must be a dtype or None for dask arrays (the result is a lazy dask array); "
                        "store it with dask, e.g. result.to_zarr(...)")
    if nan not in ndimage.NAN_TREATMENTS:
        choices = ", ".join(map(repr, ndimage.NAN_TREATMENTS))
        raise ValueError(f"nan must be one of {choices}, got {shown(nan)}")
    x = as_dask(input, chunks)
    work, out_dtype, _ = prepare_filter(x, weights, output, mode, cval, origin, axes, method, threads,
                                        convolution, nan, footprint=footprint and mask is None)
    plain = nan == "propagate" and mask is None
    if x.dtype.kind == "c" and not np.iscomplexobj(weights) and plain and x.size:
        # the parts apart, as scipy.ndimage filters them (a NaN in one leaves the other finite:
        # `fftconv.ndimage.filters.nonfinite_complex`; the chunks' values are not known here)
        parts = [_filter(part(x), weights, None, mode, part(cval), origin, axes, method, threads, None,
                         convolution, footprint=footprint) for part in (np.real, np.imag)]
        return (parts[0] + 1j * parts[1]).astype(out_dtype)
    if mask is not None:  # masked pixels become holes (NaN), lazily, chunk by chunk
        m = as_dask(mask, x.chunks)
        if m.shape != x.shape:
            raise ValueError(f"mask must have the input's shape {x.shape}, got {m.shape}")
        x = da.where(m != 0, np.nan, x.astype(extension_dtype(np.dtype(x.dtype), work)))
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

    axes = work.axes
    if work.holes is None and work.kernel.ndim == x.ndim:  # the kernel has length 1 on the other axes:
        axes = tuple(range(x.ndim))  # filtered over all, no chunk is transposed to put its axes last
    # a chunk's outputs read its extended samples from its first: the footprint starts there
    footprint = None if work.footprint is None else Footprint(work.footprint.taps, (0,) * x.ndim)
    compute = ChunkFilter(work.kernel, axes, work.correlate, NDIMAGE, work.method, None, threads, out_dtype,
                          work.holes, work.fill, work.before, footprint)
    return map_extended(x, x.chunks, region, mode, cval, extension_dtype(np.dtype(x.dtype), work), compute,
                        out_dtype)
