"""Independent NumPy references for fftconv.nn's tests: PyTorch's convolution as a sum over
taps of per-group channel contractions, its transposed convolution as the scatter that
defines it, and the frameworks' padding rules written out from their documentation."""

import itertools

import numpy as np

NUMPY_PAD = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def conv(x, w, b=None, stride=1, pads=0, dilation=1, groups=1, padding_mode="zeros"):
    """torch.nn.functional.conv{1,2,3}d: ``x`` (N, C, S...), ``w`` (O, C/g, K...), ``pads`` a
    list of (before, after) per axis (or an int for all)."""
    nd = w.ndim - 2
    stride = (stride,) * nd if np.isscalar(stride) else tuple(stride)
    dilation = (dilation,) * nd if np.isscalar(dilation) else tuple(dilation)
    pads = [(pads, pads)] * nd if np.isscalar(pads) else list(pads)
    x = np.pad(
        x.astype(np.complex128 if np.iscomplexobj(x) or np.iscomplexobj(w) else np.float64),
        [(0, 0), (0, 0)] + pads,
        mode=NUMPY_PAD[padding_mode],
    )
    kernel = w.shape[2:]
    out_shape = [(n - d * (k - 1) - 1) // s + 1 for n, k, d, s in zip(x.shape[2:], kernel, dilation, stride)]
    og, cg = w.shape[0] // groups, w.shape[1]
    y = np.zeros((x.shape[0], w.shape[0], *out_shape), dtype=x.dtype)
    for tap in itertools.product(*(range(k) for k in kernel)):
        view = x[
            (slice(None), slice(None))
            + tuple(
                slice(t * d, t * d + (o - 1) * s + 1, s)
                for t, d, o, s in zip(tap, dilation, out_shape, stride)
            )
        ]
        for g in range(groups):
            y[:, g * og : (g + 1) * og] += np.einsum(
                "nc...,oc->no...",
                view[:, g * cg : (g + 1) * cg],
                w[(slice(g * og, (g + 1) * og), slice(None)) + tap],
            )
    if b is not None:
        y += b.reshape((-1,) + (1,) * nd)
    return y


def conv_transpose(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """torch.nn.functional.conv_transpose{1,2}d by its definition: every input sample adds the
    kernel, scaled, into the output at ``stride`` spacing."""
    nd = w.ndim - 2

    def as_tuple(v):
        return (v,) * nd if np.isscalar(v) else tuple(v)

    stride, padding, output_padding, dilation = map(as_tuple, (stride, padding, output_padding, dilation))
    kernel = w.shape[2:]
    cig, og = x.shape[1] // groups, w.shape[1]
    full = [
        (n - 1) * s + d * (k - 1) + 1 + op
        for n, s, d, k, op in zip(x.shape[2:], stride, dilation, kernel, output_padding)
    ]
    y = np.zeros((x.shape[0], og * groups, *full), dtype=np.result_type(x, w, np.float64))
    for pos in itertools.product(*(range(n) for n in x.shape[2:])):
        for tap in itertools.product(*(range(k) for k in kernel)):
            at = tuple(p * s + t * d for p, s, t, d in zip(pos, stride, tap, dilation))
            for g in range(groups):
                contribution = np.einsum(
                    "nc,co->no",
                    x[(slice(None), slice(g * cig, (g + 1) * cig)) + pos],
                    w[(slice(g * cig, (g + 1) * cig), slice(None)) + tap],
                )
                y[(slice(None), slice(g * og, (g + 1) * og)) + at] += contribution
    y = y[(Ellipsis,) + tuple(slice(p, n - p) for p, n in zip(padding, full))]
    if b is not None:
        y += b.reshape((-1,) + (1,) * nd)
    return y


def tf_same(n, k, s, d=1):
    """TensorFlow's 'SAME' (before, after) from its documentation: ceil(n / s) outputs, and
    the smaller half of the total padding before."""
    out = -(-n // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
    return total // 2, total - total // 2
