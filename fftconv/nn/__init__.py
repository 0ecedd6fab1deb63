"""Deep-learning convolution layers on NumPy arrays, exactly as PyTorch and Keras compute them,
and fast on the CPU for large kernels and long sequences.

``conv1d``/``conv2d``/``conv3d`` and ``conv_transpose1d``/``conv_transpose2d`` follow
``torch.nn.functional`` (channels first, weights (C_out, C_in / groups, k...), PyTorch's
padding and ``nn.Conv*d``'s ``padding_mode``); ``keras_conv`` follows Keras' ``Conv*D``
(channels last, TensorFlow's 'same' and 'causal' padding). All of them are cross-correlations
(the kernel is not flipped), which is why they differ from ``scipy.signal.convolve2d``: see
docs/convolution-or-correlation.md.

Each call is planned (`plan_conv`, ``LayerPlan.explain()``): small kernels take the direct path
(one BLAS matrix product per block of outputs over every tap and input channel) or, for 3x3
kernels at stride 1, Winograd's F(2x2, 3x3) (2.25x fewer multiply-adds), large ones
the spectral path, where each input channel and each kernel is transformed once and the sum
over input channels is a product per frequency. ``threads`` is how many
threads a layer uses (its blocks, tile batches or phases side by side, one BLAS thread each).
"""

from __future__ import annotations

from ..backends.threads import resolve_threads
from .direct import DIRECT
from .engine import compute_dtype
from .functional import conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d
from .keras import keras_conv
from .methods import (
    Layer,
    LayerCosts,
    LayerEstimate,
    LayerMethod,
    layer_method_names,
    register_layer_method,
    unregister_layer_method,
)
from .padding import per_axis, torch_padding
from .planner import LayerPlan, plan_layer
from .spectral import SPECTRAL
from .winograd import WINOGRAD

for _method in (DIRECT, WINOGRAD, SPECTRAL):  # the built-in layer methods, in this order
    register_layer_method(_method)

__all__ = [
    "Layer",
    "LayerCosts",
    "LayerEstimate",
    "LayerMethod",
    "LayerPlan",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "keras_conv",
    "layer_method_names",
    "plan_conv",
    "register_layer_method",
    "unregister_layer_method",
]


def plan_conv(
    input_shape,
    weight_shape,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
    dtype="float32",
    *,
    method: str = "auto",
    threads: int | None = None,
) -> LayerPlan:
    """The plan `conv1d`/`conv2d`/`conv3d` would follow for these shapes (or arrays: their
    shapes; PyTorch's arguments), without data: print its ``explain()`` to see the choice and
    the estimates.

    Examples
    --------
    >>> import fftconv.nn
    >>> p = fftconv.nn.plan_conv((1, 64, 256, 256), (64, 64, 31, 31), padding="same", threads=1)
    >>> p.method, p.output_shape
    ('fft', (1, 64, 256, 256))
    """
    import numpy as np

    from ..core.problem import check_shape

    # arrays stand for their shapes
    input_shape = check_shape(getattr(input_shape, "shape", input_shape), "input shape")
    weight_shape = check_shape(getattr(weight_shape, "shape", weight_shape), "weight shape")
    ndim = len(weight_shape) - 2
    if ndim < 1 or len(input_shape) != ndim + 2:
        raise ValueError(
            f"input shape {input_shape} must be (N, C_in, spatial...) for weight shape {weight_shape}"
        )
    stride = per_axis(stride, ndim, "stride", 1, single_broadcasts=True)
    dilation = per_axis(dilation, ndim, "dilation", 1, single_broadcasts=True)
    pads = torch_padding(padding, weight_shape[2:], dilation, stride)
    padded = input_shape[:2] + tuple(n + a + b for n, (a, b) in zip(input_shape[2:], pads))
    dtype = compute_dtype(np.empty(0, dtype))
    return plan_layer(padded, weight_shape, stride, dilation, groups, dtype, resolve_threads(threads), method)
