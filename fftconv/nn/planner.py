"""How a layer is computed: the direct path (matrix products over taps, `fftconv.nn.direct`),
Winograd's F(2x2, 3x3) for 3x3 kernels (`fftconv.nn.winograd`) or the spectral path (channel
sums in the frequency domain over overlap-save tiles, `fftconv.nn.spectral`), whichever is
estimated fastest on this machine.

Estimates use the core's cost model for transforms and copies (calibrated on this CPU at
first use, see `fftconv.planning.calibrate`) and BLAS rates measured in this process
(`fftconv.nn.rates`). The spectral path is priced for the whole-array FFT and for a range of
tile lengths; a strided layer's spectral estimate includes every stride-1 output it computes
and then drops.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from .. import config
from ..core.memory import available_bytes
from ..executors.fft_lengths import next_fast_length
from ..planning.calibrate import costs_for
from ..planning.costs import precision
from ..planning.plan import COSTS_SOURCES, MemoryLimitError, format_bytes, format_seconds
from .direct import BLOCK_BYTES
from .rates import blas_rates
from .winograd import BLOCK_POINTS as WINOGRAD_BLOCK_POINTS
from .winograd import applies as winograd_applies
from .winograd import compiled as winograd_compiled

#: Bytes of tile buffers transformed together (several tiles share one batched transform).
BATCH_BYTES = 64 << 20

METHODS = ("auto", "direct", "fft", "winograd")


@dataclass(frozen=True)
class LayerPlan:
    """The plan of one layer call.

    Attributes
    ----------
    method : str
        'direct' (matrix products over taps), 'winograd' (F(2x2, 3x3): 3x3 kernels, stride 1)
        or 'fft' (frequency-domain channel sums).
    fft_shape : tuple of int or None
        FFT lengths of the spatial axes (tile plus kernel span, or the whole padded input).
    tiles : int
        Overlap-save tiles (1: one whole-array FFT; 0 for 'direct').
    tiles_per_batch : int
        Tiles transformed together.
    estimates : dict
        Estimated seconds of each candidate that was priced, by description.
    """

    input_shape: tuple[int, ...]
    weight_shape: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    groups: int
    dtype: np.dtype
    threads: int
    method: str
    fft_shape: tuple[int, ...] | None
    tiles: int
    tiles_per_batch: int
    reason: str
    estimates: dict[str, float] = field(compare=False, hash=False)
    workspace: int = 0
    costs_source: str = "built-in"

    @property
    def output_shape(self) -> tuple[int, ...]:
        """(N, C_out, spatial...) of the result."""
        spatial = tuple(
            (s - d * (k - 1) - 1) // st + 1
            for s, k, d, st in zip(self.input_shape[2:], self.weight_shape[2:], self.dilation, self.stride)
        )
        return (self.input_shape[0], self.weight_shape[0]) + spatial

    def explain(self) -> str:
        """The choice in plain words.

        Examples
        --------
        >>> p = plan_layer((1, 64, 286, 286), (64, 64, 31, 31), threads=1, dtype="float32")
        >>> print(p.explain())  # doctest: +ELLIPSIS
        layer: input (1, 64, 286, 286) (padded), weight (64, 64, 31, 31), ...
        """
        n, c_in = self.input_shape[:2]
        c_out, c_group = self.weight_shape[:2]
        lines = [
            f"layer: input {self.input_shape} (padded), weight {self.weight_shape}, stride {self.stride}, "
            f"dilation {self.dilation}, groups {self.groups}: output {self.output_shape}, computing in "
            f"{self.dtype} on {self.threads} thread(s)"
        ]
        if self.method == "winograd":
            lines.append(
                "chosen: winograd F(2x2, 3x3) — each 4x4 input patch and each kernel transformed "
                "(additions only), 16 matrix products over the channels (2.25x fewer multiply-adds than "
                "the direct path), each product transformed back into 2x2 outputs"
            )
        elif self.method == "direct":
            lines.append(
                "chosen: direct — for each block of output rows the taps' strided views of the input "
                "side by side, then one matrix product per group (BLAS)"
                + (f"; only the strided outputs {self.stride} are computed" if max(self.stride) > 1 else "")
            )
        else:
            shape = "x".join(map(str, self.fft_shape or ()))
            cut = "one whole-array FFT" if self.tiles == 1 else f"{self.tiles} overlap-save tiles"
            lines.append(
                f"chosen: fft — {cut} of {shape}, {self.tiles_per_batch} per batch; each of the "
                f"{n * c_in} input channels and {c_out * c_group} kernels transformed once per tile, "
                f"input channels summed in the frequency domain ("
                + (
                    "an elementwise product per frequency"
                    if c_group == 1
                    else f"one ({n * min(self.tiles, self.tiles_per_batch)}x{c_group})@({c_group}x"
                    f"{c_out // self.groups}) product per group and frequency"
                )
                + f"), {n * c_out} inverse transforms per tile"
                + (
                    f"; every stride-1 output computed, then subsampled by {self.stride}"
                    if max(self.stride) > 1
                    else ""
                )
            )
        lines.append(f"why: {self.reason}; workspace {format_bytes(self.workspace)}")
        lines.append(
            f"cost coefficients: {COSTS_SOURCES.get(self.costs_source, self.costs_source)}, "
            "BLAS rates measured in this process"
        )
        for name, seconds in sorted(self.estimates.items(), key=lambda kv: kv[1]):
            lines.append(f"  {name:>28}: estimated {format_seconds(seconds)}")
        return "\n".join(lines)


def plan_layer(
    input_shape,
    weight_shape,
    stride=None,
    dilation=None,
    groups: int = 1,
    dtype="float32",
    threads: int = 1,
    method: str = "auto",
) -> LayerPlan:
    """The `LayerPlan` of a PyTorch-style layer on an input of ``input_shape`` (N, C_in,
    spatial..., already padded) with a weight of ``weight_shape`` (C_out, C_in / groups,
    kernel...). ``method``: 'auto' (the lowest estimate), 'direct', 'winograd' or 'fft'.

    Examples
    --------
    >>> plan_layer((1, 64, 258, 258), (64, 64, 3, 3), threads=1).method
    'winograd'
    >>> plan_layer((1, 64, 258, 258), (64, 64, 3, 3), stride=(2, 2), threads=1).method
    'direct'
    >>> plan_layer((8, 256, 32767), (256, 1, 16384), groups=256, threads=1).method
    'fft'
    """
    ndim = len(input_shape) - 2
    stride = tuple(stride or (1,) * ndim)
    dilation = tuple(dilation or (1,) * ndim)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    settings = config.get()
    return _plan(
        tuple(input_shape),
        tuple(weight_shape),
        stride,
        dilation,
        int(groups),
        np.dtype(dtype),
        int(threads),
        method,
        settings.memory_limit,
        settings.backend,
        settings.costs_source,
        settings.calibrate,
    )


@functools.lru_cache(maxsize=256)
def _plan(
    input_shape,
    weight_shape,
    stride,
    dilation,
    groups,
    dtype,
    threads,
    method,
    limit,
    backend,
    costs_source,
    calibrate,
) -> LayerPlan:
    """`plan_layer`'s work; the settings it depends on are arguments so that the cache keys on them."""
    costs, source = costs_for(config.get())
    prec = precision(dtype)
    rates = blas_rates("single" if prec == "single" else "double", threads)
    n, c_in = input_shape[:2]
    c_out, c_group = weight_shape[:2]
    kernel = weight_shape[2:]
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    full = [s - k + 1 for s, k in zip(input_shape[2:], spans)]
    out = [(f - 1) // st + 1 for f, st in zip(full, stride)]
    itemsize = dtype.itemsize
    complex_data = dtype.kind == "c"
    budget = limit if limit is not None else (available_bytes() or 1 << 62) // 2

    taps = math.prod(kernel)
    outputs = n * math.prod(out)
    macs = outputs * c_out * c_group * taps * (4 if complex_data else 1)
    columns = n * c_in * taps * math.prod(out)
    # the tap copies are made block by block, each block sized to stay near the cache
    direct = macs * rates.mac + costs.copy_seconds(columns, itemsize, min(columns * itemsize, BLOCK_BYTES))
    estimates = {"direct (matrix products)": direct}
    winograd = winograd_bytes = None
    if winograd_applies(kernel, stride, dilation, complex_data):
        # 16 products of 1/2.25 the direct path's multiply-adds, plus the transforms: compiled,
        # one write and one read of the 16 transformed values per tile and channel; in NumPy,
        # ~56 elementwise passes per tile and channel, each reading two operands and writing one
        patches = n * math.prod(-(-o // 2) for o in out)
        block_bytes = 16 * WINOGRAD_BLOCK_POINTS * (c_in + c_out) * itemsize  # transformed inputs, products
        if winograd_compiled():
            transforms = costs.copy_seconds(patches * 16 * (c_in + c_out), itemsize, block_bytes)
        else:
            transforms = 2 * costs.copy_seconds(patches * (32 * c_in + 24 * c_out), itemsize, block_bytes)
        winograd = macs / 2.25 * rates.mac + transforms
        winograd_bytes = block_bytes * threads
        if winograd_bytes <= budget:
            estimates["winograd F(2x2, 3x3)"] = winograd
        else:
            winograd = None

    best = None
    fft_threads_gain = 1 + (threads - 1) * costs.fft_thread_efficiency
    for fft_shape in _fft_candidates(input_shape[2:], spans, full):
        tile = [min(t - k + 1, f) for t, k, f in zip(fft_shape, spans, full)]
        tiles = math.prod(-(-f // b) for f, b in zip(full, tile))
        points = math.prod(fft_shape)
        freqs = points if complex_data else points // fft_shape[-1] * (fft_shape[-1] // 2 + 1)
        spectrum_bytes = freqs * 2 * itemsize
        kernel_bytes = 2 * c_out * c_group * spectrum_bytes  # the transform and its transposed copy
        per_tile = 3 * n * (c_in + c_out) * spectrum_bytes  # buffers, their transposed copies, products
        # at least one batch per thread: batches run side by side
        per_batch = max(1, min(tiles, BATCH_BYTES // max(1, per_tile), -(-tiles // threads)))
        workspace = kernel_bytes + per_batch * per_tile
        if workspace > budget:
            continue
        transforms = (
            sum(
                costs.fft_seconds(points, itemsize, not complex_data, prec, batch=b, rank=len(fft_shape))
                for b in (tiles * n * c_in, tiles * n * c_out, c_out * c_group)
            )
            / fft_threads_gain
        )
        if c_group == 1:
            mixing = costs.copy_seconds(tiles * n * c_out * freqs * 4, itemsize, workspace)
        else:
            batches = -(-tiles // per_batch)
            mixing = (
                batches * groups * freqs * rates.item
                + tiles * n * freqs * c_out * c_group * rates.complex_mac
            )
        copies = costs.copy_seconds(
            tiles * n * (c_in + c_out) * freqs * 4 + n * c_out * math.prod(full), itemsize, workspace
        )
        seconds = transforms + mixing + copies
        name = "fft " + ("whole " if tiles == 1 else f"{tiles} tiles of ") + "x".join(map(str, fft_shape))
        if best is None or seconds < best[0]:
            best = (seconds, fft_shape, tiles, per_batch, workspace, name)
        estimates[name] = seconds
    if best is not None:  # keep the estimates readable: the best FFT, the whole FFT, the direct path
        keep = {best[5]} | {k for k in estimates if k.startswith(("direct", "winograd", "fft whole"))}
        estimates = {k: v for k, v in estimates.items() if k in keep}
    common = dict(
        input_shape=input_shape,
        weight_shape=weight_shape,
        stride=stride,
        dilation=dilation,
        groups=groups,
        dtype=dtype,
        threads=threads,
        estimates=estimates,
        costs_source=source,
    )
    candidates = {"direct": direct}
    if winograd is not None:
        candidates["winograd"] = winograd
    if best is not None:
        candidates["fft"] = best[0]
    if method != "auto" and method not in candidates:
        why = (
            "a 2-D 3x3 kernel, stride 1, no dilation and real data"
            if method == "winograd"
            else f"workspace within the {format_bytes(budget)} allowed at some tile size; raise "
            "[memory] limit"
        )
        raise (MemoryLimitError if method == "fft" else ValueError)(
            f"method={method!r} does not apply to this layer: it needs {why}"
        )
    chosen = method if method != "auto" else min(candidates, key=candidates.get)
    reason = f"forced (method={method!r})" if method != "auto" else "the lowest estimate"
    if chosen == "fft":
        _, fft_shape, tiles, per_batch, workspace, _ = best
        return LayerPlan(
            method="fft",
            fft_shape=fft_shape,
            tiles=tiles,
            tiles_per_batch=per_batch,
            reason=reason,
            workspace=workspace,
            **common,
        )
    if chosen == "direct":  # blocks of tap copies shrink to fit the budget (down to one output row)
        workspace = min(columns * itemsize, BLOCK_BYTES, max(1, budget // threads)) * threads
    else:
        workspace = winograd_bytes
    return LayerPlan(
        method=chosen,
        fft_shape=None,
        tiles=0,
        tiles_per_batch=0,
        reason=reason,
        workspace=workspace,
        **common,
    )


def _fft_candidates(sizes, spans, full) -> list[tuple[int, ...]]:
    """FFT shapes worth pricing: the whole padded input, and tiles of a few multiples of the
    kernel span along each axis (fast lengths only)."""
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
