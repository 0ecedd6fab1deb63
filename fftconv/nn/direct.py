"""The direct path of a layer: its multiply-adds as matrix products, block by block.

For a block of output rows, every kernel tap's strided view of the (padded) input is copied
side by side ("im2col"), so the sum over input channels and taps of one group becomes one
matrix product with the group's weights, done by BLAS. Strides and dilations only change
which view each tap copies: a strided layer computes its own outputs and nothing else.
Blocks are sized so the copies stay in the cache-sized working set `BLOCK_BYTES`.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ..backends.threads import blas_threads, shared_pool
from .methods import Layer, LayerCosts, LayerEstimate, LayerMethod

#: Bytes of tap copies per block: large enough for efficient matrix products, small enough to
#: stay near the cache.
BLOCK_BYTES = 8 << 20


def correlate_direct(
    x: np.ndarray,
    w: np.ndarray,
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
    groups: int,
    threads: int,
    block_bytes: int = BLOCK_BYTES,
) -> np.ndarray:
    """PyTorch's convolution (a cross-correlation) of padded ``x`` (N, C_in, spatial...) with
    ``w`` (C_out, C_in / groups, kernel...), 'valid', by matrix products, each thread copying
    taps into ``block_bytes`` at a time (at least one output row).

    Examples
    --------
    >>> x = np.arange(10.0).reshape(1, 2, 5)
    >>> correlate_direct(x, np.ones((1, 2, 2)), (2,), (1,), 1, 1)
    array([[[12., 20.]]])
    """
    n, c_in = x.shape[:2]
    c_out, c_group = w.shape[:2]
    kernel = w.shape[2:]
    out_shape = tuple(
        (s - d * (k - 1) - 1) // st + 1 for s, k, d, st in zip(x.shape[2:], kernel, dilation, stride)
    )
    taps = math.prod(kernel)
    weights = w.reshape(groups, c_out // groups, c_group * taps)  # (group, out, channel * tap)
    y = np.empty((n, c_out) + out_shape, dtype=np.result_type(x, w))
    row_points = n * math.prod(out_shape[1:])
    rows = max(1, min(out_shape[0], block_bytes // max(1, c_in * taps * row_points * y.itemsize)))
    rows = min(rows, -(-out_shape[0] // threads))  # a block for every thread, where there are rows
    blocks = [(r0, min(out_shape[0], r0 + rows)) for r0 in range(0, out_shape[0], rows)]
    # BLAS always runs one thread per product: its results then do not depend on how many
    # threads it is given, nor on other calls changing its process-wide thread count
    if threads > 1 and len(blocks) > 1:  # blocks side by side
        blocks_per_worker = -(-len(blocks) // threads)
        shares = [blocks[i : i + blocks_per_worker] for i in range(0, len(blocks), blocks_per_worker)]
        with blas_threads(1):
            list(
                shared_pool(threads).map(
                    lambda share: _rows(x, weights, y, share, kernel, dilation, stride, groups, rows), shares
                )
            )
    else:
        with blas_threads(1):
            _rows(x, weights, y, blocks, kernel, dilation, stride, groups, rows)
    return y


def _rows(x, weights, y, blocks, kernel, dilation, stride, groups: int, rows: int) -> None:
    """Output row blocks ``[r0, r1)`` of ``y``: tap copies side by side, one product per group."""
    n = x.shape[0]
    c_group = weights.shape[2] // math.prod(kernel)
    out_shape = y.shape[2:]
    cols = np.empty((groups, c_group, math.prod(kernel), n, rows) + out_shape[1:], dtype=y.dtype)
    for r0, r1 in blocks:
        block = cols[:, :, :, :, : r1 - r0]
        for t, tap in enumerate(itertools.product(*(range(k) for k in kernel))):
            view = x[(slice(None), slice(None)) + _tap_slices(tap, dilation, stride, out_shape, r0, r1)]
            # (n, group * channel, rows, ...) -> (group, channel, n, rows, ...)
            block[:, :, t] = np.moveaxis(view.reshape((n, groups, c_group) + view.shape[2:]), 0, 2)
        columns = block.reshape(groups, weights.shape[2], -1)
        if n == 1:  # the rows of each output channel are contiguous: the product writes them in place
            np.matmul(weights, columns, out=y[0, :, r0:r1].reshape(groups, weights.shape[1], -1))
        else:
            products = np.matmul(weights, columns)
            y[:, :, r0:r1] = np.moveaxis(products.reshape((y.shape[1], n, r1 - r0) + out_shape[1:]), 1, 0)


def _tap_slices(tap, dilation, stride, out_shape, r0: int, r1: int) -> tuple[slice, ...]:
    """The input positions one tap reads for output rows ``[r0, r1)`` and every column."""
    slices = []
    for axis, (i, d, s, o) in enumerate(zip(tap, dilation, stride, out_shape)):
        lo, hi = (r0, r1) if axis == 0 else (0, o)
        start = i * d + lo * s
        slices.append(slice(start, start + (hi - lo - 1) * s + 1, s))
    return tuple(slices)


class DirectProducts(LayerMethod):
    """The direct path as a layer method (`fftconv.nn.methods`): any layer.

    Examples
    --------
    >>> from fftconv.nn.methods import Layer
    >>> DIRECT.applies(Layer((1, 2, 5, 5), (3, 2, 3, 3), (2, 2), (1, 1), 1, np.dtype("float32"), 1))
    True
    """

    name = "direct"
    requirement = "nothing: it computes every layer"

    def applies(self, layer: Layer) -> bool:
        return True

    def estimate(self, layer: Layer, priced: LayerCosts) -> LayerEstimate:
        itemsize = layer.dtype.itemsize
        copies = layer.columns * itemsize
        # the tap copies are made block by block, each block sized to stay near the cache
        seconds = layer.macs * priced.rates.mac + priced.costs.copy_seconds(
            layer.columns, itemsize, min(copies, BLOCK_BYTES))
        # blocks of tap copies shrink to fit the budget (down to one output row)
        block = min(copies, BLOCK_BYTES, max(1, priced.budget // layer.threads))
        return LayerEstimate(seconds, block * layer.threads, block, {"direct (matrix products)": seconds})

    def describe(self, layer: Layer, layout: object) -> str:
        strided = max(layer.stride) > 1
        return ("chosen: direct — for each block of output rows the taps' strided views of the input side by "
                "side, then one matrix product per group (BLAS)"
                + (f"; only the strided outputs {layer.stride} are computed" if strided else ""))

    def run(self, x: np.ndarray, w: np.ndarray, layer: Layer, layout: object) -> np.ndarray:
        return correlate_direct(x, w, layer.stride, layer.dilation, layer.groups, layer.threads, int(layout))


DIRECT = DirectProducts()
