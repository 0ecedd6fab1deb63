"""The spectral executor: convolution theorem on FFTW, whole-array or overlap-save tiles.

Arrays arrive with the convolved axes last (``batch + conv_shape``); the batch axes of the
two operands broadcast. One tile shape serves a whole call: the kernel spectrum is computed
once per call (with FFTW's ``1/N`` folded in), then every tile is copied into an aligned
buffer, transformed in place, multiplied, transformed back and cropped into ``out``.
A whole-array FFT is the one-tile case with the shortest circular length the mode allows.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import _fftw
from ._geometry import Segment, Window, overlap_save_segments, whole_axis_segments
from ._threads import kernel_fft_threads, shared_pool, split_threads


class NonFiniteInput(Exception):
    """A tile's input held NaN or inf: its spectrum's DC bin (the tile's sum) is not finite."""


@dataclass(frozen=True)
class SpectralLayout:
    """How each convolved axis is cut: FFT length and its segments."""

    fft_shape: tuple[int, ...]
    segments: tuple[tuple[Segment, ...], ...]

    @property
    def tiles(self) -> int:
        return int(np.prod([len(s) for s in self.segments]))

    @property
    def points(self) -> int:
        """Points of one tile's transform."""
        return int(np.prod(self.fft_shape))


def make_layout(
    shape1: Sequence[int],
    shape2: Sequence[int],
    windows: Sequence[Window],
    fft_shape: Sequence[int],
    tiled: Sequence[bool],
) -> SpectralLayout:
    """Segments for every axis: whole-axis where ``tiled`` is false, overlap-save otherwise.

    Examples
    --------
    >>> from fftconv._geometry import output_window
    >>> make_layout((100,), (5,), [output_window(100, 5, "full")], (64,), (True,)).tiles
    2
    """
    segments = tuple(
        overlap_save_segments(n1, n2, w, n) if t else whole_axis_segments(n1, n2, w)
        for n1, n2, w, n, t in zip(shape1, shape2, windows, fft_shape, tiled)
    )
    return SpectralLayout(tuple(int(n) for n in fft_shape), segments)


def kernel_spectrum(
    kernel: np.ndarray, fft_shape: tuple[int, ...], real: bool, dtype: np.dtype, threads: int
) -> np.ndarray:
    """Spectrum of ``kernel`` zero-padded to ``fft_shape``, scaled by ``1/prod(fft_shape)``.

    Examples
    --------
    >>> import numpy as np
    >>> k = kernel_spectrum(np.array([1.0, 2.0]), (4,), True, np.dtype(np.float64), 1)
    >>> np.allclose(k * 4, np.fft.rfft([1.0, 2.0], 4))
    True
    """
    rank = len(fft_shape)
    batch = kernel.shape[: kernel.ndim - rank]
    pair = _fftw.transform_pair(batch, fft_shape, real, dtype, threads)
    pair.begin()
    pair.data[...] = 0
    pair.data[(Ellipsis,) + tuple(slice(0, n) for n in kernel.shape[-rank:])] = kernel
    pair.forward()
    real_type = pair.spectrum.real.dtype.type
    scale = real_type(1) / real_type(int(np.prod(fft_shape)))  # in long double for long double
    return np.multiply(pair.spectrum, scale)


def convolve_spectral(
    x: np.ndarray,
    h: np.ndarray,
    out: np.ndarray,
    layout: SpectralLayout,
    threads: int = 1,
    spectrum: np.ndarray | None = None,
    check_input: bool = False,
) -> np.ndarray:
    """Write the convolution of ``x`` with ``h`` (convolved axes last) into ``out``.

    ``out.dtype`` is the compute dtype (real or complex float). ``spectrum`` may carry a
    precomputed `kernel_spectrum` for ``layout.fft_shape``. With ``check_input``, raises
    `NonFiniteInput` as soon as a tile's DC bin shows a NaN or inf in ``x`` (or a sum that
    overflowed): a check that costs nothing beside a pass over the input.

    Examples
    --------
    >>> import numpy as np
    >>> from fftconv._geometry import output_window
    >>> w = output_window(4, 2, "full")
    >>> lay = make_layout((4,), (2,), [w], (5,), (False,))
    >>> out = np.empty(5)
    >>> convolve_spectral(np.arange(4.0), np.ones(2), out, lay).round(12)
    array([0., 1., 3., 5., 3.])
    """
    real = out.dtype.kind == "f"
    rank = len(layout.fft_shape)
    if spectrum is None:
        spectrum = kernel_spectrum(h, layout.fft_shape, real, out.dtype,
                                   kernel_fft_threads(layout.fft_shape, threads))
    batch = out.shape[: out.ndim - rank]
    tiles = list(itertools.product(*layout.segments))
    workers, inner = split_threads(len(tiles), math.prod(batch) * layout.points, threads)
    if workers == 1:
        pair = _fftw.transform_pair(batch, layout.fft_shape, real, out.dtype, inner)
        pair.begin()
        for tile in tiles:
            _run_tile(pair, x, spectrum, out, tile, check_input)
        return out

    claim = itertools.count()  # tiles are claimed one at a time: a late worker costs nothing
    failed = threading.Event()

    def work() -> None:
        pair = _fftw.transform_pair(batch, layout.fft_shape, real, out.dtype, 1)
        pair.begin()
        try:
            for i in claim:
                if i >= len(tiles) or failed.is_set():
                    return
                _run_tile(pair, x, spectrum, out, tiles[i], check_input)
        except BaseException:
            failed.set()
            raise

    # the calling thread works too: a pool thread slow to wake up (it needs the GIL) then
    # costs nothing, where handing it a fixed share would make the call wait for it
    helpers = [shared_pool(workers - 1).submit(work) for _ in range(workers - 1)]
    try:
        work()
    finally:  # a helper that has not started is cancelled; a running one is waited for
        errors = [None if f.cancel() else f.exception() for f in helpers]
    for error in errors:
        if error is not None:
            raise error
    return out


def _run_tile(
    pair: _fftw.TransformPair,
    x: np.ndarray,
    spectrum: np.ndarray,
    out: np.ndarray,
    tile: tuple[Segment, ...],
    check_input: bool = False,
) -> None:
    data = pair.data
    src = (Ellipsis,) + tuple(slice(s.in_start, s.in_stop) for s in tile)
    dst = (Ellipsis,) + tuple(slice(s.buf_offset, s.buf_offset + s.in_stop - s.in_start) for s in tile)
    covers_all = all(
        s.buf_offset == 0 and s.in_stop - s.in_start == n for s, n in zip(tile, pair.fft_shape)
    )
    if not covers_all:
        _zero_outside(data, dst[1:])
    data[dst] = x[src]
    pair.forward()
    if check_input and not np.isfinite(pair.spectrum[(Ellipsis,) + (0,) * len(tile)]).all():
        raise NonFiniteInput
    np.multiply(pair.spectrum, spectrum, out=pair.spectrum)
    pair.inverse()
    res = (Ellipsis,) + tuple(slice(s.res_offset, s.res_offset + s.count) for s in tile)
    keep = (Ellipsis,) + tuple(slice(s.out_offset, s.out_offset + s.count) for s in tile)
    out[keep] = data[res]


def _zero_outside(data: np.ndarray, region: tuple[slice, ...]) -> None:
    """Zero every sample of the trailing axes of ``data`` outside ``region`` (one slab before
    and one after it per axis), rather than the whole buffer that the region will overwrite."""
    rank = len(region)
    lead = data.ndim - rank
    for i, sl in enumerate(region):
        n = data.shape[lead + i]
        for lo, hi in ((0, sl.start), (sl.stop, n)):
            if lo < hi:
                slab = (slice(None),) * i + (slice(lo, hi),) + (slice(None),) * (rank - i - 1)
                data[(Ellipsis,) + slab] = 0
