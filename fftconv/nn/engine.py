"""One layer call once the framework's conventions are settled: operands checked and cast to
the compute dtype, the plan made (`fftconv.nn.planner`), the chosen path run, the bias added.
"""

from __future__ import annotations

import math

import numpy as np

from .. import background
from ..backends.threads import resolve_threads
from ..core.memory import check_fits
from ..core.messages import shown
from ..executors.nonfinite import all_finite
from .methods import get_layer_method
from .planner import plan_layer


def check_groups(groups: object, where: str = "") -> int:
    """``groups`` as an int: a TypeError for what is not an int, a ValueError for one below 1
    (as PyTorch: a TypeError, and a RuntimeError for the value).

    Examples
    --------
    >>> check_groups(2)
    2
    """
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)):
        raise TypeError(f"{where}groups must be an int, got {shown(groups)}")
    if groups < 1:
        raise ValueError(f"{where}groups must be a positive integer, got {shown(groups)}")
    return int(groups)


def compute_dtype(*arrays: np.ndarray) -> np.dtype:
    """The dtype a layer computes and returns in: the operands' common float (or complex)
    type; integers and booleans compute in float64, float16 in float32.

    Examples
    --------
    >>> compute_dtype(np.ones(2, np.float32), np.ones(2, np.int64)), compute_dtype(np.ones(2, np.float16))
    (dtype('float64'), dtype('float32'))
    """
    for a in arrays:
        if a.dtype.kind not in "biufc":
            raise TypeError(f"layers take numeric arrays; got dtype {a.dtype}")
    dtype = np.result_type(*arrays, np.float32)
    if dtype.itemsize > (16 if dtype.kind == "c" else 8):
        raise TypeError(
            f"layers compute in float32/float64 (or complex64/complex128); got {dtype}: cast to float64 first"
        )
    return dtype


def correlate_layer(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None,
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
    groups: int,
    method: str,
    threads: object,
) -> np.ndarray:
    """The cross-correlation layer of padded ``x`` (N, C_in, spatial...) and ``w`` (C_out,
    C_in / groups, kernel...) with ``bias`` (C_out,) added, by the planned path (the direct
    one whenever an operand holds NaN or inf).

    Examples
    --------
    >>> correlate_layer(np.ones((1, 2, 4)), np.ones((3, 2, 2)), np.arange(3.0), (1,), (1,), 1, "auto", 1)
    array([[[4., 4., 4.],
            [5., 5., 5.],
            [6., 6., 6.]]])
    """
    spans = tuple(d * (k - 1) + 1 for k, d in zip(w.shape[2:], dilation))
    if any(n < span for n, span in zip(x.shape[2:], spans)):  # every framework's layers land here
        raise ValueError(
            f"padded input size per channel {x.shape[2:]} is smaller than the dilated kernel {spans}: "
            "kernel size can't be greater than the actual input size"
        )
    dtype = compute_dtype(x, w) if bias is None else compute_dtype(x, w, bias)
    x = np.asarray(x, dtype=dtype)
    w = np.asarray(w, dtype=dtype)
    nthreads = resolve_threads(threads)
    background.note_call()
    plan = plan_layer(x.shape, w.shape, stride, dilation, groups, dtype, nthreads, method)
    # before any work: the result and the workspace must fit in memory
    check_fits(
        math.prod(plan.output_shape) * dtype.itemsize + plan.workspace,
        f"a layer with output {plan.output_shape}",
    )
    if plan.method != "direct" and not (all_finite(x) and all_finite(w)):
        # a transform mixes every value of a tile into every output of it: NaN and inf must
        # reach only the outputs whose sums read them, as in PyTorch's direct sums
        plan = plan_layer(x.shape, w.shape, stride, dilation, groups, dtype, nthreads, "direct")
    if x.shape[0] == 0:
        y = np.zeros(plan.output_shape, dtype)
    else:
        y = get_layer_method(plan.method).run(x, w, plan.layer, plan.layout)
    if bias is not None:
        y = y + np.asarray(bias, dtype).reshape((-1,) + (1,) * (x.ndim - 2))
    return np.ascontiguousarray(y)
