"""One lazy dask array from per-chunk work: each output chunk is computed from its input
region plus exactly the halo it needs, read from the source array as slices (a halo wider
than a chunk reads several neighbours; nothing is rechunked), with the boundary rule applied
at the array's own edges (`fftconv.core.boundary`). The per-chunk function (with the kernel
in it) enters the graph once, as one key every chunk's task depends on.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import dask
import dask.array as da
import numpy as np

from ..core.boundary import assemble, extension_pieces


def map_extended(source: da.Array, out_chunks: Sequence[Sequence[int]],
                 region: Callable[[list[int], list[int]], list[tuple[int, int]]], mode: str, cval: object,
                 ext_dtype: np.dtype, compute: Callable[[np.ndarray], np.ndarray], out_dtype: np.dtype
                 ) -> da.Array:
    """The dask array of ``out_chunks`` whose chunk ``[lo, hi)`` (per axis) is
    ``compute(extended)``, ``extended`` being ``source`` extended by ``mode`` over the
    extended coordinates ``region(lo, hi)``, in ``ext_dtype``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> x = da.from_array(np.arange(6.0), chunks=2)
    >>> y = map_extended(x, ((3, 3),), lambda lo, hi: [(lo[0] - 1, hi[0] + 1)], "reflect", 0.0,
    ...                  np.dtype(np.float64), lambda e: e[:-2] + e[1:-1] + e[2:], np.dtype(np.float64))
    >>> y.compute()
    array([ 1.,  3.,  6.,  9., 12., 14.])
    """
    starts = [np.cumsum((0, *c)).tolist() for c in out_chunks]
    work = dask.delayed(compute, pure=True)  # one key: the kernel travels once
    blocks = np.empty([len(c) for c in out_chunks], dtype=object)
    for index in itertools.product(*(range(len(c)) for c in out_chunks)):
        lo = [starts[a][i] for a, i in enumerate(index)]
        hi = [starts[a][i + 1] for a, i in enumerate(index)]
        shape, pieces = extension_pieces(source.shape, region(lo, hi), mode)
        reads = [None if src is None else source[src] for _, src, _ in pieces]
        places = [(dst, flips) for dst, _, flips in pieces]
        task = dask.delayed(_chunk, pure=True)(work, shape, places, reads, cval, ext_dtype)
        blocks[index] = da.from_delayed(task, tuple(b - a for a, b in zip(lo, hi)), dtype=out_dtype)
    return da.block(blocks.tolist())


def _chunk(compute, shape, places, reads, cval, ext_dtype) -> np.ndarray:
    extended = assemble(shape, [(dst, data, flips) for (dst, flips), data in zip(places, reads)], cval,
                        ext_dtype)
    return compute(extended)


def as_dask(x: object, chunks: object) -> da.Array:
    """``x`` as a dask array: dask arrays as they are (rechunked only when ``chunks`` is
    given), anything else chunked (``chunks``, default dask's 'auto')."""
    if isinstance(x, da.Array):
        return x if chunks is None else x.rechunk(chunks)
    return da.from_array(np.asarray(x), chunks="auto" if chunks is None else chunks)
