"""``torch.nn.functional``'s convolutions on NumPy arrays, with PyTorch's exact semantics.

Inputs are (N, C_in, spatial...) or, unbatched, (C_in, spatial...); weights (C_out,
C_in / groups, kernel...) for convolutions and (C_in, C_out / groups, kernel...) for
transposed ones, as in PyTorch. A PyTorch "convolution" is a cross-correlation: the kernel
is not flipped. ``padding_mode`` is ``torch.nn.Conv*d``'s (the functional API only zero-pads).
Errors are ValueError/TypeError where PyTorch raises RuntimeError.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from ..core.memory import check_fits
from .engine import check_groups, correlate_layer
from .padding import pad_input, per_axis, torch_padding
from .transposed import conv_transpose

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d"]


def conv1d(
    input: ArrayLike,
    weight: ArrayLike,
    bias: ArrayLike | None = None,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
    padding_mode: str = "zeros",
    *,
    method: str = "auto",
    threads: int | None = None,
) -> np.ndarray:
    """1-D convolution layer as ``torch.nn.functional.conv1d`` (with ``nn.Conv1d``'s
    ``padding_mode``): input (N, C_in, L), weight (C_out, C_in / groups, K).

    ``padding``: an int or 1-tuple, 'valid' or 'same' (stride 1; PyTorch puts the extra sample
    of an even kernel after). ``method``: 'auto' (the planner's choice, see `plan_conv`),
    'direct', 'winograd' (3x3 kernels, stride 1) or 'fft'. Long kernels go through the FFT
    with the channel sum in the frequency domain.

    Examples
    --------
    >>> import numpy as np, fftconv.nn
    >>> x = np.arange(5.0).reshape(1, 1, 5)
    >>> fftconv.nn.conv1d(x, np.array([[[1.0, 0.0, -1.0]]]), padding=1)
    array([[[-1., -2., -2., -2.,  3.]]])
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, padding_mode, 1, method, threads)


def conv2d(
    input: ArrayLike,
    weight: ArrayLike,
    bias: ArrayLike | None = None,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
    padding_mode: str = "zeros",
    *,
    method: str = "auto",
    threads: int | None = None,
) -> np.ndarray:
    """2-D convolution layer as ``torch.nn.functional.conv2d`` (with ``nn.Conv2d``'s
    ``padding_mode``): input (N, C_in, H, W), weight (C_out, C_in / groups, kH, kW).
    Parameters as in `conv1d`, per axis.

    Examples
    --------
    >>> import numpy as np, fftconv.nn
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> fftconv.nn.conv2d(x, np.ones((2, 1, 2, 2)), stride=2)
    array([[[[10., 18.],
             [42., 50.]],
    <BLANKLINE>
            [[10., 18.],
             [42., 50.]]]])
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, padding_mode, 2, method, threads)


def conv3d(
    input: ArrayLike,
    weight: ArrayLike,
    bias: ArrayLike | None = None,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
    padding_mode: str = "zeros",
    *,
    method: str = "auto",
    threads: int | None = None,
) -> np.ndarray:
    """3-D convolution layer as ``torch.nn.functional.conv3d`` (with ``nn.Conv3d``'s
    ``padding_mode``): input (N, C_in, D, H, W), weight (C_out, C_in / groups, kD, kH, kW).
    Parameters as in `conv1d`, per axis.

    Examples
    --------
    >>> import numpy as np, fftconv.nn
    >>> fftconv.nn.conv3d(np.ones((1, 2, 3, 3, 3)), np.ones((1, 2, 3, 3, 3)), padding="valid")
    array([[[[[54.]]]]])
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, padding_mode, 3, method, threads)


def conv_transpose1d(
    input: ArrayLike,
    weight: ArrayLike,
    bias: ArrayLike | None = None,
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
    *,
    method: str = "auto",
    threads: int | None = None,
) -> np.ndarray:
    """1-D transposed convolution as ``torch.nn.functional.conv_transpose1d``: input
    (N, C_in, L), weight (C_in, C_out / groups, K); output length
    ``(L - 1) * stride - 2 * padding + dilation * (K - 1) + output_padding + 1``.

    The gradient of `conv1d` with respect to its input: each input sample scatters the kernel
    into the output at ``stride`` spacing. Computed as one stride-1 correlation per output
    phase with a sub-kernel (`fftconv.nn.transposed`), never multiplying spread zeros.

    Examples
    --------
    >>> import numpy as np, fftconv.nn
    >>> fftconv.nn.conv_transpose1d(np.array([[[1.0, 2.0]]]), np.array([[[1.0, 10.0, 100.0]]]), stride=2)
    array([[[  1.,  10., 102.,  20., 200.]]])
    """
    return _conv_transpose(
        input, weight, bias, stride, padding, output_padding, groups, dilation, 1, method, threads
    )


def conv_transpose2d(
    input: ArrayLike,
    weight: ArrayLike,
    bias: ArrayLike | None = None,
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
    *,
    method: str = "auto",
    threads: int | None = None,
) -> np.ndarray:
    """2-D transposed convolution as ``torch.nn.functional.conv_transpose2d``: input
    (N, C_in, H, W), weight (C_in, C_out / groups, kH, kW). Parameters as in
    `conv_transpose1d`, per axis.

    Examples
    --------
    >>> import numpy as np, fftconv.nn
    >>> fftconv.nn.conv_transpose2d(np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2)), stride=2).shape
    (1, 1, 4, 4)
    """
    return _conv_transpose(
        input, weight, bias, stride, padding, output_padding, groups, dilation, 2, method, threads
    )


def _operands(input, weight, bias, groups, ndim: int, name: str, transposed: bool):
    x = np.asarray(input)
    w = np.asarray(weight)
    if w.ndim != ndim + 2:
        raise ValueError(
            f"{name}: weight must be {ndim + 2}-D (out, in / groups, kernel...), got shape {w.shape}"
        )
    if x.ndim not in (ndim + 1, ndim + 2):
        raise ValueError(
            f"{name}: expected {ndim + 1}-D (unbatched) or {ndim + 2}-D (batched) input, got shape {x.shape}"
        )
    groups = check_groups(groups, f"{name}: ")
    unbatched = x.ndim == ndim + 1
    if unbatched:
        x = x[None]
    if min(w.shape) == 0 or min(x.shape[1:]) == 0:
        raise ValueError(
            f"{name}: input {x.shape[1:]} and weight {w.shape} must not have empty channel or spatial axes"
        )
    c_in = x.shape[1]
    if transposed:
        if w.shape[0] != c_in or c_in % groups:
            raise ValueError(
                f"{name}: given groups={groups}, weight of size {w.shape} expects input to have "
                f"{w.shape[0]} channels (divisible by groups), but got {c_in} channels"
            )
        c_out = w.shape[1] * groups
    else:
        if w.shape[0] % groups:
            raise ValueError(f"{name}: out channels {w.shape[0]} must be divisible by groups={groups}")
        if w.shape[1] * groups != c_in:
            raise ValueError(
                f"{name}: given groups={groups}, weight of size {w.shape}, expected input "
                f"{x.shape} to have {w.shape[1] * groups} channels, but got {c_in} channels instead"
            )
        c_out = w.shape[0]
    b = None
    if bias is not None:
        b = np.asarray(bias)
        if b.shape != (c_out,):
            raise ValueError(
                f"{name}: bias must have shape ({c_out},) (one per output channel), got {b.shape}"
            )
    return x, w, b, unbatched


def _conv(input, weight, bias, stride, padding, dilation, groups, padding_mode, ndim, method, threads):
    name = f"conv{ndim}d"
    x, w, b, unbatched = _operands(input, weight, bias, groups, ndim, name, transposed=False)
    stride = per_axis(stride, ndim, "stride", 1, single_broadcasts=True)
    dilation = per_axis(dilation, ndim, "dilation", 1, single_broadcasts=True)
    pads = torch_padding(padding, w.shape[2:], dilation, stride)
    padded = tuple(n + a + b for n, (a, b) in zip(x.shape[2:], pads))
    check_fits(
        math.prod(x.shape[:2]) * math.prod(padded) * x.dtype.itemsize, f"{name}: the padded input {padded}"
    )
    x = pad_input(x, pads, padding_mode)
    y = correlate_layer(x, w, b, stride, dilation, int(groups), method, threads)
    return y[0] if unbatched else y


def _conv_transpose(
    input, weight, bias, stride, padding, output_padding, groups, dilation, ndim, method, threads
):
    name = f"conv_transpose{ndim}d"
    x, w, b, unbatched = _operands(input, weight, bias, groups, ndim, name, transposed=True)
    stride = per_axis(stride, ndim, "stride", 1, single_broadcasts=True)
    dilation = per_axis(dilation, ndim, "dilation", 1, single_broadcasts=True)
    padding = per_axis(padding, ndim, "padding", 0, single_broadcasts=True)
    output_padding = per_axis(output_padding, ndim, "output_padding", 0, single_broadcasts=True)
    if any(op >= max(s, d) for op, s, d in zip(output_padding, stride, dilation)):
        raise ValueError(
            f"{name}: output padding must be smaller than either stride or dilation, got "
            f"output_padding={output_padding}, stride={stride}, dilation={dilation}"
        )
    kernel = w.shape[2:]
    if any(
        (n - 1) * s + d * (k - 1) - 2 * p + op + 1 < 1
        for n, k, s, d, p, op in zip(x.shape[2:], kernel, stride, dilation, padding, output_padding)
    ):
        raise ValueError(
            f"{name}: padding {padding} leaves no output for input {x.shape[2:]} and kernel {kernel}"
        )
    y = conv_transpose(x, w, b, stride, padding, output_padding, dilation, int(groups), method, threads)
    return y[0] if unbatched else y
