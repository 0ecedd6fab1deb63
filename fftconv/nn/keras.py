"""Keras' (and TensorFlow's) convolution layers on NumPy arrays: channels-last inputs,
(kernel..., C_in / groups, C_out) kernels, and TensorFlow's 'same' padding, which puts the
smaller half of the padding before (``before = total // 2``) and makes ``ceil(n / stride)``
outputs.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .engine import check_groups, correlate_layer
from .padding import per_axis, tf_padding

__all__ = ["keras_conv"]


def keras_conv(
    x: ArrayLike,
    kernel: ArrayLike,
    bias: ArrayLike | None = None,
    strides=1,
    padding: str = "valid",
    dilation_rate=1,
    groups: int = 1,
    *,
    method: str = "auto",
    threads: int | None = None,
) -> np.ndarray:
    """What Keras' ``Conv1D``/``Conv2D``/``Conv3D`` compute (``data_format='channels_last'``),
    with ``x`` (batch, spatial..., C_in) and ``kernel`` (k..., C_in / groups, C_out) as in
    ``layer.get_weights()``; the dimensionality follows the kernel.

    ``padding``: 'valid', 'same' (TensorFlow's rule, including strided and dilated layers) or
    'causal' (1-D: the whole span before, so output t sees inputs up to t). Like every
    deep-learning "convolution" this is a cross-correlation: the kernel is not flipped.
    ``method`` and ``threads`` as in `fftconv.nn.conv2d`.

    Examples
    --------
    >>> import numpy as np, fftconv.nn
    >>> x = np.arange(5.0).reshape(1, 5, 1)               # one sequence, one channel
    >>> k = np.array([1.0, 10.0]).reshape(2, 1, 1)        # even kernel: TF pads after
    >>> fftconv.nn.keras_conv(x, k, padding="same")[0, :, 0]
    array([10., 21., 32., 43.,  4.])
    >>> fftconv.nn.keras_conv(x, k, padding="causal")[0, :, 0]
    array([ 0., 10., 21., 32., 43.])
    """
    x = np.asarray(x)
    kernel = np.asarray(kernel)
    ndim = kernel.ndim - 2
    if ndim not in (1, 2, 3):
        raise ValueError(
            f"kernel must be (k..., channels in, channels out) for 1-3 spatial axes, got shape {kernel.shape}"
        )
    if x.ndim != ndim + 2:
        raise ValueError(
            f"x must be (batch, spatial..., channels) with {ndim} spatial axes for a {ndim}-D kernel, "
            f"got shape {x.shape}"
        )
    groups = check_groups(groups)
    if min(kernel.shape) == 0 or min(x.shape[1:]) == 0:
        raise ValueError(f"x {x.shape} and kernel {kernel.shape} must not have empty spatial or channel axes")
    c_in, c_out = x.shape[-1], kernel.shape[-1]
    if kernel.shape[-2] * groups != c_in or c_out % groups:
        raise ValueError(
            f"kernel {kernel.shape} with groups={groups} expects {kernel.shape[-2] * groups} input "
            f"channels and output channels divisible by groups; x has {c_in}"
        )
    if bias is not None:
        bias = np.asarray(bias)
        if bias.shape != (c_out,):
            raise ValueError(f"bias must have shape ({c_out},), got {bias.shape}")
    strides = per_axis(strides, ndim, "strides", 1)
    dilation = per_axis(dilation_rate, ndim, "dilation_rate", 1)
    pads = tf_padding(padding, x.shape[1:-1], kernel.shape[:-2], dilation, strides)
    channels_first = np.moveaxis(x, -1, 1)
    padded = np.pad(channels_first, [(0, 0), (0, 0)] + pads) if any(map(any, pads)) else channels_first
    weight = np.moveaxis(kernel, (-1, -2), (0, 1))  # (C_out, C_in / groups, k...)
    y = correlate_layer(padded, weight, bias, strides, dilation, int(groups), method, threads)
    return np.ascontiguousarray(np.moveaxis(y, 1, -1))
