"""One lazy dask array from per-chunk work: each output chunk is computed from its input
region plus exactly the halo it needs, read from the source's chunks that hold it (a halo
wider than a chunk reads several neighbours; nothing is rechunked), with the boundary rule applied
at the array's own edges (`fftconv.core.boundary`). The per-chunk function (with the kernel
in it) enters the graph once, as one key every chunk's task depends on.
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Callable, Sequence

import dask
import dask.array as da
import numpy as np
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from ..core.boundary import assemble, extension_pieces
from ..executors.fft_lengths import next_fast_length


def map_extended(source: da.Array, out_chunks: Sequence[Sequence[int]],
                 region: Callable[[list[int], list[int]], list[tuple[int, int]]], mode: str, cval: object,
                 ext_dtype: np.dtype, compute: Callable[[np.ndarray], np.ndarray], out_dtype: np.dtype
                 ) -> da.Array:
    """The dask array of ``out_chunks`` whose chunk ``[lo, hi)`` (per axis) is
    ``compute(extended)``, ``extended`` being ``source`` extended by ``mode`` over the
    extended coordinates ``region(lo, hi)``, in ``ext_dtype``.

    The graph is written directly: each task depends on the source's chunks its region
    touches (by their keys) and on ``compute``'s one key, so building it costs the same for
    every chunk however deep the source's own graph (slicing a dask array per chunk would
    optimise that graph again for every slice).

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> x = da.from_array(np.arange(6.0), chunks=2)
    >>> y = map_extended(x, ((3, 3),), lambda lo, hi: [(lo[0] - 1, hi[0] + 1)], "reflect", 0.0,
    ...                  np.dtype(np.float64), lambda e: e[:-2] + e[1:-1] + e[2:], np.dtype(np.float64))
    >>> y.compute()
    array([ 1.,  3.,  6.,  9., 12., 14.])
    """
    out_chunks = tuple(tuple(int(n) for n in c) for c in out_chunks)
    out_starts = [np.cumsum((0, *c)).tolist() for c in out_chunks]
    in_starts = [np.cumsum((0, *c)) for c in source.chunks]
    indices = list(itertools.product(*(range(len(c)) for c in out_chunks)))
    regions = []
    for index in indices:
        lo = [out_starts[a][i] for a, i in enumerate(index)]
        hi = [out_starts[a][i + 1] for a, i in enumerate(index)]
        regions.append(tuple(tuple(r) for r in region(lo, hi)))
    name = "fftconv-extended-" + tokenize(source.name, out_chunks, regions, mode, cval, str(ext_dtype),
                                          compute, str(out_dtype))
    work_key = f"{name}-work"
    layer: dict = {work_key: compute}  # one key: the kernel travels once
    for index, ranges in zip(indices, regions):
        shape, pieces = extension_pieces(source.shape, list(ranges), mode)
        keys: dict = {}
        halos: dict = {}
        plan = []
        for dst, src, flips in pieces:
            if src is None:
                plan.append((dst, flips, None, None))
                continue
            reads = []
            for blocks in itertools.product(*(_blocks_of(s, starts) for s, starts in zip(src, in_starts))):
                block = tuple(b for b, _, _ in blocks)
                within = tuple(i for _, i, _ in blocks)
                key = (source.name, *block)
                whole = all(w.start == 0 and w.stop == c[b] for w, c, b in zip(within, source.chunks, block))
                if not whole:  # a halo: its own small task, so that a worker sends the slice, not the chunk
                    halo = (f"{name}-halo", *index, len(keys))
                    key = halos.setdefault((key, tuple((w.start, w.stop) for w in within)), halo)
                    if key == halo:
                        layer[halo] = (operator.getitem, (source.name, *block), within)
                    within = tuple(slice(None) for _ in within)
                reads.append((keys.setdefault(key, len(keys)), within, tuple(r for _, _, r in blocks)))
            plan.append((dst, flips, tuple(s.stop - s.start for s in src), tuple(reads)))
        layer[(name, *index)] = (_chunk, work_key, shape, tuple(plan), cval, ext_dtype, *keys)
    graph = HighLevelGraph.from_collections(name, layer, dependencies=[source])
    return da.Array(graph, name, out_chunks, meta=np.empty((0,) * len(out_chunks), out_dtype))


def _blocks_of(src: slice, starts: np.ndarray) -> list[tuple[int, slice, slice]]:
    """The source chunks that the slice ``src`` of one axis reads: per chunk, its index, the
    slice within it and where that part goes within the slice's own region."""
    first = int(np.searchsorted(starts, src.start, side="right")) - 1
    parts = []
    b = first
    while b < len(starts) - 1 and starts[b] < src.stop:
        begin = int(starts[b])
        lo, hi = max(src.start, begin), min(src.stop, int(starts[b + 1]))
        parts.append((b, slice(lo - begin, hi - begin), slice(lo - src.start, hi - src.start)))
        b += 1
    return parts


def _chunk(compute, shape, plan, cval, ext_dtype, *blocks) -> np.ndarray:
    parts = []
    for dst, flips, region_shape, reads in plan:
        if reads is None:
            parts.append((dst, None, flips))
        elif len(reads) == 1:  # within one chunk: a view of it
            block, within, _ = reads[0]
            parts.append((dst, blocks[block][within], flips))
        else:
            data = np.empty(region_shape, blocks[reads[0][0]].dtype)
            for block, within, place in reads:
                data[place] = blocks[block][within]
            parts.append((dst, data, flips))
    return compute(assemble(shape, parts, cval, ext_dtype))


def as_dask(x: object, chunks: object) -> da.Array:
    """``x`` as a dask array: dask arrays as they are (rechunked only when ``chunks`` is
    given), anything else chunked (``chunks``, default dask's 'auto')."""
    if isinstance(x, da.Array):
        return x if chunks is None else x.rechunk(chunks)
    return da.from_array(np.asarray(x), chunks="auto" if chunks is None else chunks)


def suggest_chunks(shape: Sequence[int], kernel_shape: Sequence[int], dtype: object = np.float64,
                   axes: Sequence[int] | None = None, chunk_bytes: int | None = None) -> tuple[int, ...]:
    """Chunk lengths that suit fftconv for an array of ``shape`` filtered by a kernel of
    ``kernel_shape`` along ``axes`` (default all).

    The filtered axes share ``chunk_bytes`` (default dask's ``array.chunk-size``) evenly,
    axes shorter than their share staying whole; an axis cut into m chunks gets chunks of
    about its length / m, lengthened to where the extended chunk (chunk plus the kernel's
    halo) is a fast FFT length, so no chunk's FFT is padded but the last; chunks are at least
    four halos long where the axis allows, so halo re-reads stay small. The other axes are
    chunked as dask's 'auto' would.

    Examples
    --------
    >>> suggest_chunks((16384, 16384), (31, 31), "float32", chunk_bytes=64 << 20)
    (4170, 4170)
    >>> suggest_chunks((100, 5000), (9, 9))
    (100, 5000)
    """
    shape = tuple(int(n) for n in shape)
    kernel_shape = tuple(int(n) for n in kernel_shape)
    if len(kernel_shape) != len(shape) or any(n < 1 for n in (*shape, *kernel_shape)):
        raise ValueError(f"shape {shape} and kernel shape {kernel_shape} must be positive lengths, one per "
                         "axis")
    filtered = sorted({a % len(shape) for a in axes}) if axes is not None else list(range(len(shape)))
    itemsize = np.dtype(dtype).itemsize
    if chunk_bytes is None:
        chunk_bytes = dask.utils.parse_bytes(dask.config.get("array.chunk-size"))
    chunks: list[object] = ["auto"] * len(shape)
    points = max(1.0, chunk_bytes / itemsize)
    for i, a in enumerate(sorted(filtered, key=lambda a: shape[a])):  # short axes first: they may stay whole
        share = points ** (1 / (len(filtered) - i))
        n, halo = shape[a], kernel_shape[a] - 1
        if n <= max(share, 4 * halo):
            chunks[a] = n
            points = max(1.0, points / n)
        else:
            pieces = math.ceil(n / max(share, 4 * halo) - 1e-9)  # share is a root: round-off
            chunks[a] = min(n, next_fast_length(math.ceil(n / pieces) + halo) - halo)
            points = max(1.0, points / share)
    return tuple(c[0] for c in da.core.normalize_chunks(tuple(chunks), shape, limit=chunk_bytes,
                                                         dtype=np.dtype(dtype)))
