"""The spectral path of a layer: the sum over input channels done in the frequency domain.

Each input channel of each tile and each (output, input) kernel pair is transformed once;
then, per frequency, one small complex matrix product mixes the input channels of a group
into its output channels (all tiles and batch items at once), and each output channel of each
tile is transformed back once. A layer with C_in inputs and C_out outputs thus costs
C_in + C_out transforms per tile instead of the C_in * C_out a channel-by-channel FFT
convolution would. Overlap-save tiles (`LayerPlan.fft_shape`) keep the kernel spectra small
when the image is much larger than the kernel; one tile covering everything is the whole-array
FFT. Strided layers are computed at every position and subsampled (the planner picks this
only where it beats the direct strided sum). Transforms come from the configured FFT backend.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from .. import config
from ..backends.base import get_backend
from ..backends.threads import blas_threads, shared_pool
from ..executors.fft_lengths import next_fast_length
from ..planning.costs import precision
from .methods import Layer, LayerCosts, LayerEstimate, LayerMethod


def dilated_flipped(w: np.ndarray, dilation: tuple[int, ...]) -> np.ndarray:
    """``w`` (out, in, kernel...) with ``dilation - 1`` zeros between taps and its spatial axes
    reversed: correlating with ``w`` is convolving with this.

    Examples
    --------
    >>> dilated_flipped(np.array([[[1.0, 2.0]]]), (2,))
    array([[[2., 0., 1.]]])
    """
    spans = tuple(d * (k - 1) + 1 for k, d in zip(w.shape[2:], dilation))
    out = np.zeros(w.shape[:2] + spans, dtype=w.dtype)
    out[(Ellipsis,) + tuple(slice(None, None, d) for d in dilation)] = w
    return out[(Ellipsis,) + (slice(None, None, -1),) * len(spans)]


def correlate_spectral(
    x: np.ndarray,
    w: np.ndarray,
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
    groups: int,
    fft_shape: tuple[int, ...],
    tiles_per_batch: int,
    threads: int,
) -> np.ndarray:
    """PyTorch's convolution of padded ``x`` (N, C_in, spatial...) with ``w`` (C_out,
    C_in / groups, kernel...), 'valid', by FFTs of ``fft_shape`` (overlap-save tiles; one tile
    when it covers the input), ``tiles_per_batch`` tiles transformed together. Batches of
    tiles run on ``threads`` threads at once (one FFTW and one BLAS thread each); a single
    batch gets all the threads inside its transforms.

    Examples
    --------
    >>> x = np.arange(10.0).reshape(1, 2, 5)
    >>> correlate_spectral(x, np.ones((1, 2, 2)), (2,), (1,), 1, (8,), 1, 1).round(12)
    array([[[12., 20.]]])
    """
    kernel = dilated_flipped(w, dilation)
    spans = kernel.shape[2:]
    full = tuple(s - k + 1 for s, k in zip(x.shape[2:], spans))  # every stride-1 output
    tile = tuple(min(t - k + 1, f) for t, k, f in zip(fft_shape, spans, full))
    dtype = np.result_type(x, w)
    layer = _Layer(
        x,
        groups,
        w.shape[0],
        w.shape[1],
        spans,
        full,
        tile,
        fft_shape,
        dtype,
        get_backend(config.get().backend),
    )
    layer.spectra = layer.kernel_spectra(kernel, threads)
    y = np.empty((x.shape[0], w.shape[0]) + full, dtype=dtype)
    starts = list(itertools.product(*(range(0, f, b) for f, b in zip(full, tile))))
    batches = [starts[i : i + tiles_per_batch] for i in range(0, len(starts), tiles_per_batch)]
    # one BLAS thread per product, always: results independent of BLAS' thread count; a single
    # batch keeps its FFTW threads
    if threads == 1 or len(batches) == 1:
        with blas_threads(1):
            for batch in batches:
                layer.run(batch, y, threads)
    else:
        with blas_threads(1):
            list(shared_pool(threads).map(lambda batch: layer.run(batch, y, 1), batches))
    if any(s > 1 for s in stride):
        y = y[(Ellipsis,) + tuple(slice(None, None, s) for s in stride)]
    return y


@dataclass
class _Layer:
    """One spectral layer call: its geometry, and the kernel spectra once computed."""

    x: np.ndarray
    groups: int
    c_out: int
    c_group: int
    spans: tuple[int, ...]
    full: tuple[int, ...]
    tile: tuple[int, ...]
    fft_shape: tuple[int, ...]
    dtype: np.dtype
    backend: object
    spectra: np.ndarray | None = None

    @property
    def real(self) -> bool:
        return self.dtype.kind != "c"

    def kernel_spectra(self, kernel: np.ndarray, threads: int) -> np.ndarray:
        """The kernels' spectra, scaled for the unnormalised inverse, as contiguous
        (group, frequency, in, out) matrices."""
        pair = self.backend.transform_pair(
            (self.c_out, self.c_group), self.fft_shape, self.real, self.dtype, threads
        )
        pair.begin()
        pair.data[...] = 0
        # scaled here, on the small kernel, rather than on its spectra
        np.multiply(
            kernel,
            1.0 / math.prod(self.fft_shape),
            out=pair.data[(Ellipsis,) + tuple(slice(0, k) for k in self.spans)],
            casting="unsafe",
        )
        pair.forward()
        freqs = math.prod(pair.spectrum.shape[2:])
        spectra = np.empty((self.groups, freqs, self.c_group, self.c_out // self.groups), pair.spectrum.dtype)
        source = pair.spectrum.reshape(self.groups, -1, self.c_group, freqs)

        def copy(f0: int, f1: int) -> None:  # a strided transpose: memory-bound, so split over threads
            spectra[:, f0:f1] = source[..., f0:f1].transpose(0, 3, 2, 1)

        step = -(-freqs // max(1, threads))
        if threads > 1:
            list(shared_pool(threads).map(lambda f0: copy(f0, min(freqs, f0 + step)), range(0, freqs, step)))
        else:
            copy(0, freqs)
        return spectra

    def run(self, batch: list[tuple[int, ...]], y: np.ndarray, threads: int) -> None:
        """The outputs of the tiles starting at ``batch`` into ``y``."""
        n, c_in = self.x.shape[:2]
        groups, c_group, out_group = self.groups, self.c_group, self.c_out // self.groups
        rows = len(batch) * n
        forward = self.backend.transform_pair(
            (len(batch), n, c_in), self.fft_shape, self.real, self.dtype, threads
        )
        forward.begin()
        for i, start in enumerate(batch):
            _fill_tile(forward.data[i], self.x, start, self.fft_shape)
        forward.forward()
        freqs = self.spectra.shape[1]
        # (tile, n, group, in, freq) -> contiguous (group, freq, tile * n, in): BLAS-ready products
        inputs = np.empty((groups, freqs, rows, c_group), forward.spectrum.dtype)
        inputs[...] = forward.spectrum.reshape(rows, groups, c_group, freqs).transpose(1, 3, 0, 2)
        mixed = inputs * self.spectra if c_group == 1 else np.matmul(inputs, self.spectra)
        inverse = self.backend.transform_pair(
            (len(batch), n, self.c_out), self.fft_shape, self.real, self.dtype, threads
        )
        inverse.begin()
        inverse.spectrum.reshape(rows, groups, out_group, freqs)[...] = mixed.transpose(2, 0, 3, 1)
        inverse.inverse()
        for i, start in enumerate(batch):
            stop = [min(s + b, f) for s, b, f in zip(start, self.tile, self.full)]
            target = (slice(None), slice(None)) + tuple(slice(s, e) for s, e in zip(start, stop))
            source = (i, Ellipsis) + tuple(
                slice(k - 1, k - 1 + e - s) for k, s, e in zip(self.spans, start, stop)
            )
            y[target] = inverse.data[source]


def _fill_tile(buffer: np.ndarray, x: np.ndarray, start: tuple[int, ...], fft_shape: tuple[int, ...]) -> None:
    """``buffer`` (n, C_in, fft_shape) = the input region of the tile at output ``start``,
    zero beyond the input."""
    stop = [min(s + t, n) for s, t, n in zip(start, fft_shape, x.shape[2:])]
    inside = tuple(slice(0, e - s) for s, e in zip(start, stop))
    buffer[(Ellipsis,) + inside] = x[(Ellipsis,) + tuple(slice(s, e) for s, e in zip(start, stop))]
    for axis, (s, e, t) in enumerate(zip(start, stop, fft_shape)):
        if e - s < t:  # zero what the input does not reach along this axis
            buffer[(slice(None),) * (2 + axis) + (slice(e - s, t),)] = 0


#: Bytes of tile buffers transformed together (several tiles share one batched transform).
BATCH_BYTES = 64 << 20


@dataclass(frozen=True)
class SpectralLayout:
    """FFT lengths of the spatial axes (tile plus kernel span, or the whole padded input),
    overlap-save tiles (1: one whole-array FFT), and tiles transformed together."""

    fft_shape: tuple[int, ...]
    tiles: int
    tiles_per_batch: int


class SpectralChannelSums(LayerMethod):
    """The spectral path as a layer method (`fftconv.nn.methods`): priced for the whole-array
    FFT and for a range of tile lengths; a strided layer's estimate includes every stride-1
    output it computes and then drops.

    Examples
    --------
    >>> from fftconv.nn.methods import Layer
    >>> SPECTRAL.applies(Layer((1, 2, 6, 6), (3, 2, 3, 3), (1, 1), (1, 1), 1, np.dtype("float16"), 1))
    False
    """

    name = "fft"
    requirement = "an FFT backend for its dtype, and a tile size whose workspace fits [memory] limit"

    def applies(self, layer: Layer) -> bool:
        return get_backend(config.get().backend).supports(layer.dtype)

    def estimate(self, layer: Layer, priced: LayerCosts) -> LayerEstimate | None:
        costs, rates = priced.costs, priced.rates
        n, c_in = layer.input_shape[:2]
        c_out, c_group = layer.weight_shape[:2]
        itemsize, complex_data = layer.dtype.itemsize, layer.complex_data
        prec = precision(layer.dtype)
        threads_gain = 1 + (layer.threads - 1) * costs.fft_thread_efficiency
        best, priced_shapes = None, {}
        for fft_shape in fft_candidates(layer.input_shape[2:], layer.spans, layer.full):
            tile = [min(t - k + 1, f) for t, k, f in zip(fft_shape, layer.spans, layer.full)]
            tiles = math.prod(-(-f // b) for f, b in zip(layer.full, tile))
            points = math.prod(fft_shape)
            freqs = points if complex_data else points // fft_shape[-1] * (fft_shape[-1] // 2 + 1)
            spectrum_bytes = freqs * 2 * itemsize
            kernel_bytes = 2 * c_out * c_group * spectrum_bytes  # the transform and its transposed copy
            per_tile = 3 * n * (c_in + c_out) * spectrum_bytes  # buffers, their transposed copies, products
            # at least one batch per thread: batches run side by side
            per_batch = max(1, min(tiles, BATCH_BYTES // max(1, per_tile), -(-tiles // layer.threads)))
            workspace = kernel_bytes + per_batch * per_tile
            if workspace > priced.budget:
                continue
            transforms = sum(
                costs.fft_seconds(points, itemsize, not complex_data, prec, batch=b, rank=len(fft_shape))
                for b in (tiles * n * c_in, tiles * n * c_out, c_out * c_group)) / threads_gain
            if c_group == 1:
                mixing = costs.copy_seconds(tiles * n * c_out * freqs * 4, itemsize, workspace)
            else:
                mixing = (-(-tiles // per_batch) * layer.groups * freqs * rates.item
                          + tiles * n * freqs * c_out * c_group * rates.complex_mac)
            moved = tiles * n * (c_in + c_out) * freqs * 4 + n * c_out * math.prod(layer.full)
            seconds = transforms + mixing + costs.copy_seconds(moved, itemsize, workspace)
            cut = "whole " if tiles == 1 else f"{tiles} tiles of "
            label = "fft " + cut + "x".join(map(str, fft_shape))
            priced_shapes[label] = seconds
            if best is None or seconds < best.seconds:
                best = LayerEstimate(seconds, workspace, SpectralLayout(fft_shape, tiles, per_batch))
        if best is None:
            return None
        shown = {label: s for label, s in priced_shapes.items()  # readable: the best and the whole FFT
                 if s == best.seconds or label.startswith("fft whole")}
        return LayerEstimate(best.seconds, best.workspace, best.layout, shown)

    def describe(self, layer: Layer, layout: SpectralLayout) -> str:
        n, c_in = layer.input_shape[:2]
        c_out, c_group = layer.weight_shape[:2]
        shape = "x".join(map(str, layout.fft_shape))
        cut = "one whole-array FFT" if layout.tiles == 1 else f"{layout.tiles} overlap-save tiles"
        mixing = ("an elementwise product per frequency" if c_group == 1 else
                  f"one ({n * min(layout.tiles, layout.tiles_per_batch)}x{c_group})@({c_group}x"
                  f"{c_out // layer.groups}) product per group and frequency")
        strided = (f"; every stride-1 output computed, then subsampled by {layer.stride}"
                   if max(layer.stride) > 1 else "")
        return (f"chosen: fft — {cut} of {shape}, {layout.tiles_per_batch} per batch; each of the "
                f"{n * c_in} input channels and {c_out * c_group} kernels transformed once per tile, input "
                f"channels summed in the frequency domain ({mixing}), {n * c_out} inverse transforms per tile"
                + strided)

    def run(self, x: np.ndarray, w: np.ndarray, layer: Layer, layout: SpectralLayout) -> np.ndarray:
        return correlate_spectral(x, w, layer.stride, layer.dilation, layer.groups, layout.fft_shape,
                                  layout.tiles_per_batch, layer.threads)


def fft_candidates(sizes, spans, full) -> list[tuple[int, ...]]:
    """FFT shapes worth pricing: the whole padded input, and tiles of a few multiples of the
    kernel span along each axis (fast lengths only).

    Examples
    --------
    >>> fft_candidates((100,), (5,), (96,))[-1]
    (100,)
    """
    per_axis = []
    for size, span, f in zip(sizes, spans, full):
        whole = next_fast_length(size)
        lengths = {whole}
        for outputs in (8, 16, 32, 64, 128, 256, 512, 1024):
            for factor in (1, 2, 4):
                length = next_fast_length(max(span * factor, span + outputs - 1))
                if length < whole and length - span + 1 < f:
                    lengths.add(length)
        per_axis.append(sorted(lengths))
    shapes = list(itertools.product(*per_axis))
    if len(shapes) > 400:  # 3-D: keep tiles of similar proportions
        shapes = [s for s in shapes if max(s) <= 4 * min(s)] or shapes[:400]
    return shapes


SPECTRAL = SpectralChannelSums()
