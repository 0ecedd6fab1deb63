"""scipy.ndimage's separable filters on dask arrays, lazily: ``correlate1d``, ``convolve1d``,
``gaussian_filter(1d)``, ``uniform_filter(1d)``, ``gaussian_laplace``,
``gaussian_gradient_magnitude``, ``laplace``, ``sobel`` and ``prewitt``.

Each filter is the job `fftconv.ndimage.separable` builds for it (the same passes, taps,
dtypes and errors as in memory), evaluated as a graph: every pass is one lazy 1-D correlation
along its axis (`fftconv.dask.ndimage.correlate`'s, summing every weight as scipy's 1-D
filters do, where the N-D correlate leaves zero ones out), so each reads its halo from the
neighbouring chunks of the previous pass with its own boundary mode at the array's edges,
exactly as the in-memory passes do (one halo for all passes at once would be wrong for
'constant': scipy extends each pass's result with ``cval``, not the image). Terms that begin
with the same passes share those layers of the graph, and terms combine in the output's dtype
as scipy combines them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import dask.array as da
import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ...ndimage import separable
from ...ndimage.arguments import NDImageMode
from ...ndimage.box_sums import box_means
from ...ndimage.separable import Job, Pass
from ..chunks import as_dask
from .filters import _filter

__all__ = [
    "convolve1d",
    "correlate1d",
    "gaussian_filter",
    "gaussian_filter1d",
    "gaussian_gradient_magnitude",
    "gaussian_laplace",
    "laplace",
    "prewitt",
    "sobel",
    "uniform_filter",
    "uniform_filter1d",
]


def _lazy(
    builder: Callable[..., Job],
    input: ArrayLike | da.Array,
    output: DTypeLike,
    chunks: object,
    *args: object,
    **kwargs: object,
) -> da.Array:
    """The dask array of the job ``builder(input, *args, output=output, **kwargs)``."""
    if isinstance(output, np.ndarray) or hasattr(output, "__setitem__"):
        raise TypeError(
            "output must be a dtype or None for dask arrays (the result is a lazy dask array); "
            "store it with dask, e.g. result.to_zarr(...)"
        )
    x = as_dask(input, chunks)
    return evaluate(builder(x, *args, output=output, **kwargs))


def evaluate(job: Job) -> da.Array:
    """The lazy result of ``job`` (its source a dask array): each pass a dask layer, shared
    leading passes once, the terms combined as `fftconv.ndimage.separable.run` combines them.

    Examples
    --------
    >>> import dask.array as da
    >>> job = separable.uniform_filter1d_job(da.arange(6.0, chunks=2), 3)
    >>> evaluate(job).compute()
    array([0.33333333, 1.        , 2.        , 3.        , 4.        , 4.66666667])
    """
    x, out_dtype = job.source, job.out_dtype
    if x.size == 0 or (len(job.terms) <= 1 and not any(job.terms)):
        return x.astype(out_dtype)
    layers: dict[tuple[Pass, ...], da.Array] = {}

    def passes_of(term: tuple[Pass, ...]) -> da.Array:
        current = x
        for i, p in enumerate(term):
            prefix = term[: i + 1]
            if prefix not in layers:
                layers[prefix] = _pass_layer(current, p, out_dtype, job)
            current = layers[prefix]
        return current.astype(out_dtype)

    results = [passes_of(term) for term in job.terms]
    if job.combine == "magnitude":
        results = [r * r for r in results]
    total = results[0]
    for r in results[1:]:
        total = total + r  # in the output's dtype, as scipy's output += term
    if job.combine == "magnitude":
        total = da.sqrt(total).astype(out_dtype)
    return total


def _pass_layer(x: da.Array, p: Pass, out_dtype: np.dtype, job: Job) -> da.Array:
    """One pass of ``job`` over ``x``, lazily: a correlation with halos between the chunks,
    or a box far longer than the lines from their prefix sums."""
    if separable.long_box(x, p):
        return _long_box(x, p, out_dtype)
    # every weight summed, as scipy's 1-D filters sum them (the N-D correlate leaves zero ones out)
    return _filter(x, p.weights(np.dtype(x.dtype), out_dtype), out_dtype, p.mode, p.cval, p.origin, (p.axis,),
                   job.method, job.threads, None, False, footprint=False)


def _long_box(x: da.Array, p: Pass, out_dtype: np.dtype) -> da.Array:
    """A box far longer than the lines along ``p.axis`` (`fftconv.ndimage.box_sums`): every
    window holds most of a line, so each chunk takes whole lines along the axis and sums
    them from their prefix sums, with no halo."""

    def block(values: np.ndarray) -> np.ndarray:
        out = np.empty(values.shape, out_dtype)
        if box_means(values, p.axis, p.box, p.origin, p.mode, p.cval, out):
            return out
        return separable.uniform_filter1d(values, p.box, p.axis, out_dtype, p.mode, p.cval, p.origin)

    return x.rechunk({p.axis: -1}).map_blocks(block, dtype=out_dtype)


def correlate1d(
    input: ArrayLike | da.Array,
    weights: ArrayLike,
    axis: int = -1,
    output: DTypeLike = None,
    mode: NDImageMode = "reflect",
    cval: float = 0.0,
    origin: int = 0,
    *,
    method: str = "auto",
    threads: int | None = None,
    chunks: object = None,
) -> da.Array:
    """A 1-D correlation along ``axis`` of a dask array (as ``scipy.ndimage.correlate1d``),
    lazily. ``output`` is a dtype or None; ``method``, ``threads`` and ``chunks`` as in
    `fftconv.dask.ndimage.correlate`.

    Examples
    --------
    >>> import numpy as np, fftconv.dask.ndimage
    >>> fftconv.dask.ndimage.correlate1d(np.array([2, 8, 0, 4, 1, 9, 9, 0]), [1, 3], chunks=3).compute()
    array([ 8, 26,  8, 12,  7, 28, 36,  9])
    """
    return _lazy(
        separable.correlate1d_job,
        input,
        output,
        chunks,
        weights,
        axis,
        mode=mode,
        cval=cval,
        origin=origin,
        method=method,
        threads=threads,
    )


def convolve1d(
    input: ArrayLike | da.Array,
    weights: ArrayLike,
    axis: int = -1,
    output: DTypeLike = None,
    mode: NDImageMode = "reflect",
    cval: float = 0.0,
    origin: int = 0,
    *,
    method: str = "auto",
    threads: int | None = None,
    chunks: object = None,
) -> da.Array:
    """A 1-D convolution along ``axis`` of a dask array (as ``scipy.ndimage.convolve1d``),
    lazily. Parameters as in `correlate1d`.

    Examples
    --------
    >>> import numpy as np, fftconv.dask.ndimage
    >>> fftconv.dask.ndimage.convolve1d(np.array([2, 8, 0, 4, 1, 9, 9, 0]), [1, 3], chunks=3).compute()
    array([14, 24,  4, 13, 12, 36, 27,  0])
    """
    return _lazy(
        separable.convolve1d_job,
        input,
        output,
        chunks,
        weights,
        axis,
        mode=mode,
        cval=cval,
        origin=origin,
        method=method,
        threads=threads,
    )


def gaussian_filter1d(
    input: ArrayLike | da.Array,
    sigma: float,
    axis: int = -1,
    order: int = 0,
    output: DTypeLike = None,
    mode: NDImageMode = "reflect",
    cval: float = 0.0,
    truncate: float = 4.0,
    *,
    radius: int | None = None,
    method: str = "auto",
    threads: int | None = None,
    chunks: object = None,
) -> da.Array:
    """A 1-D Gaussian filter of a dask array (as ``scipy.ndimage.gaussian_filter1d``), lazily.

    Examples
    --------
    >>> import numpy as np, fftconv.dask.ndimage
    >>> fftconv.dask.ndimage.gaussian_filter1d(np.arange(1.0, 6.0), 1, chunks=2).compute()
    array([1.42704095, 2.06782203, 3.        , 3.93217797, 4.57295905])
    """
    return _lazy(
        separable.gaussian_filter1d_job,
        input,
        output,
        chunks,
        sigma,
        axis,
        order,
        mode=mode,
        cval=cval,
        truncate=truncate,
        radius=radius,
        method=method,
        threads=threads,
    )


def gaussian_filter(
    input: ArrayLike | da.Array,
    sigma: float | Sequence[float],
    order: int | Sequence[int] = 0,
    output: DTypeLike = None,
    mode: NDImageMode | Sequence[NDImageMode] = "reflect",
    cval: float = 0.0,
    truncate: float = 4.0,
    *,
    radius: int | Sequence[int] | None = None,
    axes: int | Sequence[int] | None = None,
    method: str = "auto",
    threads: int | None = None,
    chunks: object = None,
) -> da.Array:
    """A multidimensional Gaussian filter of a dask array (as
    ``scipy.ndimage.gaussian_filter``), lazily: one pass per axis, exact across chunks.

    Examples
    --------
    >>> import numpy as np, fftconv.dask.ndimage
    >>> x = np.arange(50, step=2).reshape(5, 5)
    >>> fftconv.dask.ndimage.gaussian_filter(x, sigma=1, chunks=2).compute()
    array([[ 4,  6,  8,  9, 11],
           [10, 12, 14, 15, 17],
           [20, 22, 24, 25, 27],
           [29, 31, 33, 34, 36],
           [35, 37, 39, 40, 42]])
    """
    return _lazy(
        separable.gaussian_filter_job,
        input,
        output,
        chunks,
        sigma,
        order,
        mode=mode,
        cval=cval,
        truncate=truncate,
        radius=radius,
        axes=axes,
        method=method,
        threads=threads,
    )


def uniform_filter1d(
    input: ArrayLike | da.Array,
    size: int,
    axis: int = -1,
    output: DTypeLike = None,
    mode: NDImageMode = "reflect",
    cval: float = 0.0,
    origin: int = 0,
    *,
    method: str = "auto",
    threads: int | None = None,
    chunks: object = None,
) -> da.Array:
    """A 1-D uniform filter of a dask array (as ``scipy.ndimage.uniform_filter1d``), lazily.

    Examples
    --------
    >>> import numpy as np, fftconv.dask.ndimage
    >>> fftconv.dask.ndimage.uniform_filter1d(np.array([2, 8, 0, 4, 1, 9, 9, 0]), 3, chunks=3).compute()
    array([4, 3, 4, 1, 4, 6, 6, 3])
    """
    return _lazy(
        separable.uniform_filter1d_job,
        input,
        output,
        chunks,
        size,
        axis,
        mode=mode,
        cval=cval,
        origin=origin,
        method=method,
        threads=threads,
    )


def uniform_filter(
    input: ArrayLike | da.Array,
    size: int | Sequence[int] = 3,
    output: DTypeLike = None,
    mode: NDImageMode | Sequence[NDImageMode] = "reflect",
    cval: float = 0.0,
    origin: int | Sequence[int] = 0,
    *,
    axes: int | Sequence[int] | None = None,
    method: str = "auto",
    threads: int | None = None,
    chunks: object = None,
) -> da.Array:
    """A multidimensional uniform filter of a dask array (as ``scipy.ndimage.uniform_filter``),
    lazily.

    Examples
    --------
    >>> import numpy as np, fftconv.dask.ndimage
    >>> fftconv.dask.ndimage.uniform_filter(np.arange(9.0).reshape(3, 3), chunks=2).compute()
    array([[1.33333333, 2.        , 2.66666667],
           [3.33333333, 4.        , 4.66666667],
           [5.33333333, 6.        , 6.66666667]])
    """
    return _lazy(
        separable.uniform_filter_job,
        input,
        output,
        chunks,
        size,
        mode=mode,
        cval=cval,
        origin=origin,
        axes=axes,
        method=method,
        threads=threads,
    )


def sobel(
    input: ArrayLike | da.Array,
    axis: int = -1,
    output: DTypeLike = None,
    mode: NDImageMode | Sequence[NDImageMode] = "reflect",
    cval: float = 0.0,
    *,
    method: str = "auto",
    threads: int | None = None,
    chunks: object = None,
) -> da.Array:
    """A Sobel filter of a dask array (as ``scipy.ndimage.sobel``), lazily.

    Examples
    --------
    >>> import numpy as np, fftconv.dask.ndimage
    >>> fftconv.dask.ndimage.sobel(np.eye(3), chunks=2).compute()
    array([[-2., -3., -1.],
           [ 1.,  0., -1.],
           [ 1.,  3.,  2.]])
    """
    return _lazy(
        separable.sobel_job, input, output, chunks, axis, mode=mode, cval=cval, method=method, threads=threads
    )


def prewitt(
    input: ArrayLike | da.Array,
    axis: int = -1,
    output: DTypeLike = None,
    mode: NDImageMode | Sequence[NDImageMode] = "reflect",
    cval: float = 0.0,
    *,
    method: str = "auto",
    threads: int | None = None,
    chunks: object = None,
) -> da.Array:
    """A Prewitt filter of a dask array (as ``scipy.ndimage.prewitt``), lazily.

    Examples
    --------
    >>> import numpy as np, fftconv.dask.ndimage
    >>> fftconv.dask.ndimage.prewitt(np.eye(3), chunks=2).compute()
    array([[-1., -2., -1.],
           [ 0.,  0.,  0.],
           [ 1.,  2.,  1.]])
    """
    return _lazy(
        separable.prewitt_job,
        input,
        output,
        chunks,
        axis,
        mode=mode,
        cval=cval,
        method=method,
        threads=threads,
    )


def laplace(
    input: ArrayLike | da.Array,
    output: DTypeLike = None,
    mode: NDImageMode | Sequence[NDImageMode] = "reflect",
    cval: float = 0.0,
    *,
    axes: int | Sequence[int] | None = None,
    method: str = "auto",
    threads: int | None = None,
    chunks: object = None,
) -> da.Array:
    """The discrete Laplacian of a dask array (as ``scipy.ndimage.laplace``), lazily.

    Examples
    --------
    >>> import numpy as np, fftconv.dask.ndimage
    >>> x = np.array([0.0, 0.0, 1.0, 4.0, 9.0])
    >>> fftconv.dask.ndimage.laplace(x, mode="nearest", chunks=2).compute()
    array([ 0.,  1.,  2.,  2., -5.])
    """
    return _lazy(
        separable.laplace_job,
        input,
        output,
        chunks,
        mode=mode,
        cval=cval,
        axes=axes,
        method=method,
        threads=threads,
    )


def gaussian_laplace(
    input: ArrayLike | da.Array,
    sigma: float | Sequence[float],
    output: DTypeLike = None,
    mode: NDImageMode | Sequence[NDImageMode] = "reflect",
    cval: float = 0.0,
    *,
    axes: int | Sequence[int] | None = None,
    chunks: object = None,
    **kwargs: object,
) -> da.Array:
    """The Laplacian of a Gaussian of a dask array (as ``scipy.ndimage.gaussian_laplace``),
    lazily. ``kwargs``: ``truncate``, ``radius``, ``method``, ``threads``.

    Examples
    --------
    >>> import numpy as np, fftconv.dask.ndimage
    >>> x = np.zeros((5, 5)); x[2, 2] = 1.0
    >>> float(fftconv.dask.ndimage.gaussian_laplace(x, 1.0, chunks=2)[2, 2].compute().round(4))
    -0.3183
    """
    return _lazy(
        separable.gaussian_laplace_job,
        input,
        output,
        chunks,
        sigma,
        mode=mode,
        cval=cval,
        axes=axes,
        **kwargs,
    )


def gaussian_gradient_magnitude(
    input: ArrayLike | da.Array,
    sigma: float | Sequence[float],
    output: DTypeLike = None,
    mode: NDImageMode | Sequence[NDImageMode] = "reflect",
    cval: float = 0.0,
    *,
    axes: int | Sequence[int] | None = None,
    chunks: object = None,
    **kwargs: object,
) -> da.Array:
    """The gradient magnitude of a Gaussian filter of a dask array (as
    ``scipy.ndimage.gaussian_gradient_magnitude``), lazily. ``kwargs`` as in
    `gaussian_laplace`.

    Examples
    --------
    >>> import numpy as np, fftconv.dask.ndimage
    >>> x = np.zeros((5, 5)); x[:, 3:] = 1.0
    >>> fftconv.dask.ndimage.gaussian_gradient_magnitude(x, 1.0, chunks=2)[2].compute().round(3)
    array([0.013, 0.122, 0.364, 0.363, 0.108])
    """
    return _lazy(
        separable.gaussian_gradient_magnitude_job,
        input,
        output,
        chunks,
        sigma,
        mode=mode,
        cval=cval,
        axes=axes,
        **kwargs,
    )
