"""The deep-learning frameworks' padding rules, as (before, after) pairs per spatial axis.

PyTorch pads explicitly (an int or one int per axis, the same on both sides), or by name:
'valid' (none) and 'same' (stride 1 only; the total ``dilation * (kernel - 1)`` split with the
smaller half before). TensorFlow/Keras 'same' makes ``ceil(n / stride)`` outputs and puts the
smaller half of the total *before* too (``before = total // 2``), while ``scipy.ndimage`` and
``scipy.signal``'s 'same' centre an even kernel the other way: that one-sample shift is the
seed's Keras-vs-scipy confusion. Keras' 'causal' (1-D) pads only before.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..core.messages import shown

#: PyTorch's ``padding_mode`` names and the ``numpy.pad`` mode that extends an input the same way.
PADDING_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def per_axis(value: object, ndim: int, name: str, minimum: int, single_broadcasts: bool = False
             ) -> tuple[int, ...]:
    """``value`` (an int, or a sequence of ``ndim`` ints; with ``single_broadcasts``, as in
    PyTorch, also a sequence of one int) as one int per spatial axis, each at least
    ``minimum``. Not ints: TypeError; the wrong number of them, or too small: ValueError
    (PyTorch's RuntimeError, Keras' ValueError).

    Examples
    --------
    >>> per_axis(2, 3, "stride", 1), per_axis((1, 2), 2, "dilation", 1), per_axis([2], 2, "stride", 1, True)
    ((2, 2, 2), (1, 2), (2, 2))
    """
    values = (
        (value,) * ndim if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else value
    )
    try:
        result = tuple(int(v) for v in values)  # type: ignore[union-attr]
        exact = all(v == r for v, r in zip(values, result))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        result, exact = (), False
    if not exact or any(isinstance(v, bool) for v in values):  # type: ignore[union-attr]
        raise TypeError(f"{name} must be an int or a tuple of {ndim} ints, got {shown(value)}")
    if len(result) == 1 and single_broadcasts:
        result *= ndim
    if len(result) != ndim:
        raise ValueError(f"{name} must be one int or {ndim} ints (one per spatial axis), got {shown(value)}")
    if any(v < minimum for v in result):
        raise ValueError(f"{name} must be at least {minimum} on every axis, got {shown(value)}")
    return result


def torch_padding(
    padding: object, kernel: Sequence[int], dilation: Sequence[int], stride: Sequence[int]
) -> list[tuple[int, int]]:
    """PyTorch's ``padding`` argument as (before, after) per spatial axis.

    Examples
    --------
    >>> torch_padding("same", (4,), (1,), (1,)), torch_padding(2, (3, 3), (1, 1), (2, 2))
    ([(1, 2)], [(2, 2), (2, 2)])
    """
    ndim = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0)] * ndim
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(
                    "padding='same' is not supported for strided convolutions (as in PyTorch): "
                    "pad explicitly or use fftconv.nn.keras_conv's TensorFlow 'same'"
                )
            totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
            return [(t // 2, t - t // 2) for t in totals]
        raise ValueError(f"Invalid padding string {shown(padding)}, should be one of {{'valid', 'same'}}")
    return [(p, p) for p in per_axis(padding, ndim, "padding", 0, single_broadcasts=True)]


def tf_padding(
    padding: object,
    sizes: Sequence[int],
    kernel: Sequence[int],
    dilation: Sequence[int],
    stride: Sequence[int],
) -> list[tuple[int, int]]:
    """TensorFlow/Keras ``padding`` ('valid', 'same' or 'causal') as (before, after) per axis.

    Examples
    --------
    >>> tf_padding("same", (5, 6), (2, 4), (1, 1), (1, 1))  # totals 1 and 3: the larger half after
    [(0, 1), (1, 2)]
    >>> tf_padding("same", (9,), (4,), (1,), (2,))  # ceil(9 / 2) = 5 outputs need 3 more samples
    [(1, 2)]
    >>> tf_padding("causal", (10,), (3,), (2,), (1,))
    [(4, 0)]
    """
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same", "causal"):
        raise ValueError(f"padding must be 'valid', 'same' or 'causal' (Keras), got {shown(padding)}")
    padding = padding.lower()
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    if padding == "valid":
        return [(0, 0)] * len(sizes)
    if padding == "causal":
        if len(sizes) != 1:
            raise ValueError("padding='causal' is for 1-D convolutions only (as in Keras' Conv1D)")
        return [(spans[0] - 1, 0)]
    pads = []
    for n, span, s in zip(sizes, spans, stride):
        total = max((math.ceil(n / s) - 1) * s + span - n, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def pad_input(x: np.ndarray, pads: Sequence[tuple[int, int]], mode: str) -> np.ndarray:
    """``x`` (batch and channel axes, then the spatial ones) extended by ``pads`` in PyTorch's
    ``padding_mode`` ``mode``; ``x`` itself when nothing is padded.

    Examples
    --------
    >>> pad_input(np.arange(4.0).reshape(1, 1, 4), [(2, 1)], "reflect")
    array([[[2., 1., 0., 1., 2., 3., 2.]]])
    """
    if mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {sorted(PADDING_MODES)}, got {mode!r}")
    if not any(before or after for before, after in pads):
        return x
    sizes = x.shape[-len(pads) :]
    for n, (before, after) in zip(sizes, pads):
        if mode == "reflect" and max(before, after) >= n:
            raise ValueError(
                f"padding_mode='reflect' needs padding smaller than the input on every axis; got "
                f"padding {before, after} for length {n}"
            )
        if mode == "circular" and max(before, after) > n:
            raise ValueError(
                f"padding_mode='circular' needs padding no longer than the input on every axis; got "
                f"padding {before, after} for length {n}"
            )
    return np.pad(x, [(0, 0)] * (x.ndim - len(pads)) + [tuple(p) for p in pads], mode=PADDING_MODES[mode])
