"""The Winograd path of a layer: 3x3 kernels, stride 1, no dilation (most CNN layers).

Winograd's minimal filtering F(2x2, 3x3) computes each 2x2 block of outputs from the 4x4
input patch under it with 16 multiplications per input/output channel pair instead of 36:
the patches are transformed (``B^T d B``, additions only), the kernels once (``G g G^T``),
the 16 transform positions become 16 matrix products over the channels (BLAS), and
``A^T m A`` (additions only) turns each product back into 2x2 outputs. That is 2.25 times
fewer multiply-adds than the direct path. The transforms run in C (``_compiled/winograd.c``,
built by ``pip install``; NumPy passes where it is not built), block by block on cache-sized
slices (`BLOCK_POINTS` tiles), with the blocks spread over the threads. Rounding stays
within a few units of float32's precision for 3x3 kernels (F(2x2, 3x3) is the numerically
mildest Winograd variant).
"""

from __future__ import annotations

import functools
import importlib
import math

import numpy as np

from ..backends.threads import blas_threads, shared_pool
from .methods import Layer, LayerCosts, LayerEstimate, LayerMethod

#: Tiles (of 2x2 outputs) per block: the block's transformed inputs and products stay near the cache.
BLOCK_POINTS = 1024

_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])


def applies(
    kernel: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...], complex_data: bool
) -> bool:
    """Whether a layer can take this path: 2-D 3x3 kernels, stride 1, no dilation, real data.

    Examples
    --------
    >>> applies((3, 3), (1, 1), (1, 1), False), applies((3, 3), (2, 2), (1, 1), False)
    (True, False)
    """
    return tuple(kernel) == (3, 3) and set(stride) == {1} and set(dilation) == {1} and not complex_data


def correlate_winograd(x: np.ndarray, w: np.ndarray, groups: int, threads: int) -> np.ndarray:
    """PyTorch's convolution of padded ``x`` (N, C_in, H, W) with 3x3 ``w`` (C_out,
    C_in / groups, 3, 3), 'valid', stride 1, by F(2x2, 3x3).

    Examples
    --------
    >>> x = np.arange(32.0).reshape(1, 2, 4, 4)
    >>> correlate_winograd(x, np.ones((1, 2, 3, 3)), 1, 1)
    array([[[[234., 252.],
             [306., 324.]]]])
    """
    n, c_in, h, wd = x.shape
    c_out, c_group = w.shape[:2]
    out_group = c_out // groups
    out_h, out_w = h - 2, wd - 2
    tiles_h, tiles_w = -(-out_h // 2), -(-out_w // 2)
    if 2 * tiles_h + 2 > h or 2 * tiles_w + 2 > wd:  # odd output sizes: one more zero row/column
        x = np.pad(x, [(0, 0), (0, 0), (0, 2 * tiles_h + 2 - h), (0, 2 * tiles_w + 2 - wd)])
    # kernel transform: (4x4 positions, group, out, in)
    u = np.einsum("ai,ocij,bj->aboc", _G, w, _G, optimize=True)
    u = np.ascontiguousarray(u.reshape(16, groups, out_group, c_group).astype(np.result_type(x, w)))
    x = np.ascontiguousarray(x, dtype=u.dtype)
    y = np.empty((n, c_out, 2 * tiles_h, 2 * tiles_w), dtype=u.dtype)
    rows = max(1, min(tiles_h, BLOCK_POINTS // max(1, n * tiles_w), -(-tiles_h // threads)))
    blocks = [(r0, min(tiles_h, r0 + rows)) for r0 in range(0, tiles_h, rows)]
    # one BLAS thread per product, always: results independent of BLAS' thread count
    if threads > 1 and len(blocks) > 1:
        with blas_threads(1):
            list(shared_pool(threads).map(lambda block: _block(x, u, y, groups, *block), blocks))
    else:
        with blas_threads(1):
            for block in blocks:
                _block(x, u, y, groups, *block)
    return y[:, :, :out_h, :out_w]


@functools.cache
def _transforms():
    """The compiled transforms (``_compiled/winograd.c``), or None where they were not built."""
    try:
        return importlib.import_module("fftconv.nn._compiled._winograd")
    except ImportError:
        return None


def compiled() -> bool:
    """Whether the transforms run compiled (else in NumPy passes, about twice as slow).

    Examples
    --------
    >>> isinstance(compiled(), bool)
    True
    """
    return _transforms() is not None


def _block(x: np.ndarray, u: np.ndarray, y: np.ndarray, groups: int, r0: int, r1: int) -> None:
    """Tile rows ``[r0, r1)``: input transform, 16 products, output transform into ``y``."""
    compiled = _transforms()
    if compiled is None:
        _block_numpy(x, u, y, groups, r0, r1)
        return
    n, c_in, h, w = x.shape
    tiles_w = y.shape[3] // 2
    v = np.empty((16, c_in, n, r1 - r0, tiles_w), u.dtype)
    compiled.input_transform(x, v, n, c_in, h, w, r0, r1, tiles_w)
    m = np.matmul(u, v.reshape(16, groups, c_in // groups, -1))  # (position, group, out, points)
    compiled.output_transform(m, y, n, y.shape[1], y.shape[2], y.shape[3], r0, r1, tiles_w)


def _block_numpy(x: np.ndarray, u: np.ndarray, y: np.ndarray, groups: int, r0: int, r1: int) -> None:
    """`_block` in NumPy passes (where the C transforms are not built)."""
    n, c_in = x.shape[:2]
    tiles_w = y.shape[3] // 2
    rows = r1 - r0
    dtype = u.dtype
    # the block's rows and columns split by parity once (contiguous copies), so that the
    # samples at offset (i, j) of every 4x4 patch, d[i][j], are unit-stride slices
    phases = [
        [
            np.ascontiguousarray(x[:, :, 2 * r0 + p : 2 * r1 + 2 : 2, q : 2 * tiles_w + 2 : 2])
            for q in range(2)
        ]
        for p in range(2)
    ]
    d = [
        [phases[i % 2][j % 2][:, :, i // 2 : i // 2 + rows, j // 2 : j // 2 + tiles_w] for j in range(4)]
        for i in range(4)
    ]
    shape = (n, c_in, rows, tiles_w)
    t = np.empty((4, 4) + shape, dtype)
    for j in range(4):  # B^T along the rows
        np.subtract(d[0][j], d[2][j], out=t[0, j])
        np.add(d[1][j], d[2][j], out=t[1, j])
        np.subtract(d[2][j], d[1][j], out=t[2, j])
        np.subtract(d[1][j], d[3][j], out=t[3, j])
    # V: (position, group, channel, n * rows * cols), filled through an (n, c, ...) view
    v = np.empty((16, c_in, n, rows, tiles_w), dtype)
    for a in range(4):  # B along the columns
        out = [v[4 * a + b].transpose(1, 0, 2, 3) for b in range(4)]
        np.subtract(t[a, 0], t[a, 2], out=out[0])
        np.add(t[a, 1], t[a, 2], out=out[1])
        np.subtract(t[a, 2], t[a, 1], out=out[2])
        np.subtract(t[a, 1], t[a, 3], out=out[3])
    c_group = c_in // groups
    m = np.matmul(u, v.reshape(16, groups, c_group, -1))  # (position, group, out, points)
    m = m.reshape(4, 4, u.shape[1] * u.shape[2], n, rows, tiles_w)  # (a, b, out, n, row, col)
    s = np.empty((2, 4) + m.shape[2:], dtype)  # A^T along the rows
    for b in range(4):
        np.add(m[0, b], m[1, b], out=s[0, b])
        s[0, b] += m[2, b]
        np.subtract(m[1, b], m[2, b], out=s[1, b])
        s[1, b] -= m[3, b]
    for p in range(2):  # A along the columns, into the 2x2 outputs of every tile
        top = y[:, :, 2 * r0 + p : 2 * r1 : 2]
        even = top[:, :, :, 0::2].transpose(1, 0, 2, 3)
        odd = top[:, :, :, 1::2].transpose(1, 0, 2, 3)
        np.add(s[p, 0], s[p, 1], out=even)
        even += s[p, 2]
        np.subtract(s[p, 1], s[p, 2], out=odd)
        odd -= s[p, 3]


class WinogradF2x3(LayerMethod):
    """Winograd's F(2x2, 3x3) as a layer method (`fftconv.nn.methods`).

    Examples
    --------
    >>> from fftconv.nn.methods import Layer
    >>> WINOGRAD.applies(Layer((1, 2, 6, 6), (3, 2, 3, 3), (1, 1), (1, 1), 1, np.dtype("float32"), 1))
    True
    """

    name = "winograd"
    requirement = "a 2-D 3x3 kernel, stride 1, no dilation and real data"

    def applies(self, layer: Layer) -> bool:
        return applies(layer.kernel, layer.stride, layer.dilation, layer.complex_data)

    def estimate(self, layer: Layer, priced: LayerCosts) -> LayerEstimate | None:
        # 16 products of 1/2.25 the direct path's multiply-adds, plus the transforms: compiled,
        # one write and one read of the 16 transformed values per tile and channel; in NumPy,
        # ~56 elementwise passes per tile and channel, each reading two operands and writing one
        n, c_in = layer.input_shape[:2]
        c_out, itemsize = layer.weight_shape[0], layer.dtype.itemsize
        patches = n * math.prod(-(-o // 2) for o in layer.out)
        block_bytes = 16 * BLOCK_POINTS * (c_in + c_out) * itemsize  # transformed inputs, products
        if compiled():
            transforms = priced.costs.copy_seconds(patches * 16 * (c_in + c_out), itemsize, block_bytes)
        else:
            passes = patches * (32 * c_in + 24 * c_out)
            transforms = 2 * priced.costs.copy_seconds(passes, itemsize, block_bytes)
        workspace = block_bytes * layer.threads
        if workspace > priced.budget:
            return None
        seconds = layer.macs / 2.25 * priced.rates.mac + transforms
        return LayerEstimate(seconds, workspace, None, {"winograd F(2x2, 3x3)": seconds})

    def describe(self, layer: Layer, layout: object) -> str:
        return ("chosen: winograd F(2x2, 3x3) — each 4x4 input patch and each kernel transformed "
                "(additions only), 16 matrix products over the channels (2.25x fewer multiply-adds than the "
                "direct path), each product transformed back into 2x2 outputs")

    def run(self, x: np.ndarray, w: np.ndarray, layer: Layer, layout: object) -> np.ndarray:
        return correlate_winograd(x, w, layer.groups, layer.threads)


WINOGRAD = WinogradF2x3()
