"""Transposed convolutions without the zeros: one ordinary correlation per output phase.

A transposed convolution scatters each input sample, times the kernel, into the output at
``stride`` spacing: output ``o`` sums ``x[i] * w[k]`` over ``i * stride + k * dilation -
padding = o``. Spreading the input with ``stride - 1`` zeros between samples and correlating
would multiply by those zeros ``stride^d - 1`` times out of ``stride^d``. Instead the outputs
are split by phase (``(o + padding) mod stride`` on each axis): the outputs of one phase read
only the taps ``k`` with ``k * dilation`` in that phase, at consecutive input samples, so each
phase is a stride-1 correlation of the input itself with a sub-kernel (every ``stride / g``-th
tap, flipped, at dilation ``dilation / g``, ``g = gcd(stride, dilation)``), planned and run like
any layer (`engine.correlate_layer`), and written into every ``stride``-th output. With
several threads and at least as many phases, the phases run side by side, one thread each.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from ..backends.threads import resolve_threads, shared_pool
from ..core.memory import check_fits
from .engine import compute_dtype, correlate_layer


@dataclass(frozen=True)
class _Phase:
    """One output phase along one axis: its taps, the input window it reads and where its
    outputs go."""

    first_tap: int
    taps: int
    tap_step: int
    dilation: int
    window: tuple[int, int]  # input samples read, first and last (may reach beyond the input)
    first_output: int
    outputs: int


def _phases(k: int, s: int, d: int, p: int, out: int) -> list[_Phase]:
    """The phases of one axis (kernel ``k`` taps, stride ``s``, dilation ``d``, padding ``p``,
    ``out`` outputs) that have outputs and taps (the others' outputs are zero).

    Examples
    --------
    >>> [(f.first_tap, f.taps, f.window, f.first_output, f.outputs) for f in _phases(3, 2, 1, 0, 5)]
    [(0, 2, (-1, 2), 0, 3), (1, 1, (0, 1), 1, 2)]
    """
    g = math.gcd(s, d)
    phases = []
    for r in range(s):
        first = next((t for t in range(min(k, s // g)) if (t * d - r) % s == 0), None)
        if first is None:
            continue
        taps = len(range(first, k, s // g))
        offset = (first * d - r) // s  # input sample of the first tap, behind the output's index
        m_lo, m_hi = -((r - p) // s), (out - 1 + p - r) // s
        if m_hi < m_lo:
            continue
        span = (taps - 1) * (d // g)
        phases.append(
            _Phase(
                first,
                taps,
                s // g,
                d // g,
                (m_lo - offset - span, m_hi - offset),
                s * m_lo + r - p,
                m_hi - m_lo + 1,
            )
        )
    return phases


def conv_transpose(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    stride,
    padding,
    output_padding,
    dilation,
    groups: int,
    method: str,
    threads,
) -> np.ndarray:
    """PyTorch's transposed convolution of ``x`` (N, C_in, spatial...) with ``w`` (C_in,
    C_out / groups, kernel...), arguments already checked, one tuple entry per spatial axis.

    Examples
    --------
    >>> conv_transpose(np.array([[[1.0, 2.0]]]), np.array([[[1.0, 10.0, 100.0]]]), None, (2,), (0,), (0,),
    ...                (1,), 1, "auto", 1)
    array([[[  1.,  10., 102.,  20., 200.]]])
    """
    kernel = w.shape[2:]
    out_shape = tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + op + 1
        for n, k, s, p, op, d in zip(x.shape[2:], kernel, stride, padding, output_padding, dilation)
    )
    dtype = compute_dtype(x, w) if b is None else compute_dtype(x, w, b)
    c_in_group = w.shape[0] // groups
    c_out = w.shape[1] * groups
    check_fits(
        x.shape[0] * c_out * math.prod(out_shape) * dtype.itemsize,
        f"a transposed layer with output {(x.shape[0], c_out) + out_shape}",
    )
    y = np.zeros((x.shape[0], c_out) + out_shape, dtype)
    # (in, out / groups, k...) -> (out, in / groups, k...), group by group
    weight = np.concatenate(
        [np.swapaxes(w[g * c_in_group : (g + 1) * c_in_group], 0, 1) for g in range(groups)]
    )
    axes = [_phases(k, s, d, p, o) for k, s, d, p, o in zip(kernel, stride, dilation, padding, out_shape)]

    def run(combination: tuple[_Phase, ...], phase_threads) -> None:
        taps = tuple(
            slice(f.first_tap, f.first_tap + f.tap_step * (f.taps - 1) + 1, f.tap_step) for f in combination
        )
        sub = weight[(slice(None), slice(None)) + taps][(Ellipsis,) + (slice(None, None, -1),) * len(kernel)]
        window = _window(x, [f.window for f in combination])
        part = correlate_layer(
            window,
            sub,
            None,
            (1,) * len(kernel),
            tuple(f.dilation for f in combination),
            groups,
            method,
            phase_threads,
        )
        y[
            (slice(None), slice(None))
            + tuple(slice(f.first_output, None, s) for f, s in zip(combination, stride))
        ][(Ellipsis,) + tuple(slice(0, f.outputs) for f in combination)] = part

    combinations = list(itertools.product(*axes))
    nthreads = resolve_threads(threads)
    if nthreads > 1 and len(combinations) >= nthreads:  # phases side by side, a thread each
        list(shared_pool(nthreads).map(lambda combination: run(combination, 1), combinations))
    else:
        for combination in combinations:
            run(combination, nthreads)
    if b is not None:
        y += np.asarray(b, dtype).reshape((-1,) + (1,) * len(kernel))
    return y


def _window(x: np.ndarray, windows: list[tuple[int, int]]) -> np.ndarray:
    """``x`` over input samples ``[first, last]`` on each spatial axis, zero outside the input
    (a view when the window lies inside it)."""
    inside = [(max(a, 0), min(b, n - 1)) for (a, b), n in zip(windows, x.shape[2:])]
    if all(lo == a and hi == b for (lo, hi), (a, b) in zip(inside, windows)):
        return x[(Ellipsis,) + tuple(slice(a, b + 1) for a, b in windows)]
    out = np.zeros(x.shape[:2] + tuple(b - a + 1 for a, b in windows), x.dtype)
    if all(lo <= hi for lo, hi in inside):
        out[(Ellipsis,) + tuple(slice(lo - a, hi - a + 1) for (lo, hi), (a, _) in zip(inside, windows))] = x[
            (Ellipsis,) + tuple(slice(lo, hi + 1) for lo, hi in inside)
        ]
    return out
