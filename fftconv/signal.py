"""Drop-ins for ``scipy.signal``'s convolution functions, plus `plan`.

Same names, signatures, output shapes, dtypes and errors as scipy; extras are keyword-only.
Each function states its 'same' convention: ``convolve``, ``correlate`` and ``convolve2d``
start the window at ``(n2 - 1) // 2`` like scipy.signal; ``correlate2d`` centres the kernel
at ``n2 // 2`` like scipy (and ndimage, and deep-learning 'SAME').
"""

from __future__ import annotations

import dataclasses
import math
import time
import timeit
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from . import config
from .backends.threads import resolve_threads
from .core.boundary import read_extended
from .core.dtypes import as_operand, check_numbers
from .core.geometry import MODES, boundary_pad_widths, check_mode
from .core.lines import line_shape, long_axis, moved_back, moved_last, moved_shape
from .core.memory import check_fits
from .core.messages import shown
from .core.problem import (
    SIGNAL,
    SIGNAL_CORRELATE2D,
    SIGNAL_FFT,
    Conventions,
    Problem,
    check_shape,
    kernel_on_axes,
    normalize_axes,
    unit_axes_product,
)
from .engine import lane, run, tiny
from .engine.trials import Trial
from .executors.direct_box import box_value
from .executors.registry import check_method, methods
from .planning.plan import Plan

#: What ``axes=`` takes: None (every axis), one axis, or several.
Axes = int | Sequence[int] | None
#: The output sizes of scipy.signal's convolutions (as scipy's type stubs spell them).
Mode = Literal["full", "valid", "same"]
#: How ``convolve2d``/``correlate2d`` extend ``in1`` beyond its edges.
Boundary = Literal["fill", "wrap", "symm", "circular", "symmetric"]

#: The methods ``fftconvolve`` and ``oaconvolve`` choose from: FFTs only, as in scipy.
FFT_METHODS = ("fft", "tiled")

#: scipy.signal's 2-D boundary names (and aliases) as the boundary extender's modes.
_BOUNDARIES = {
    "fill": "constant", "pad": "constant",
    "wrap": "wrap", "circular": "wrap",
    "symm": "reflect", "symmetric": "reflect",
}


def _convolve(in1, in2, mode: str, method: str, axes, threads, *, correlate: bool = False,
              conventions: Conventions = SIGNAL, among: Sequence[str] | None = None) -> np.ndarray:
    """The body of the N-d drop-ins: scipy's argument checks and trivial cases, then the
    core's plan and run."""
    lines = _lines(in1, in2, mode, axes)
    if lines is not None:  # a kernel long on one axis alone: both arrays seen as lines along it
        shape1, shape2, axis, moved = lines
        if moved is not None:
            check_fits(in1.nbytes, f"convolving {in1.shape} with {in2.shape} along its lines")
        seen = in1.reshape(shape1, copy=False) if moved is None else moved_last(in1, moved)
        out = _convolve(seen, in2.reshape(shape2), mode, method, None, threads, correlate=correlate,
                        conventions=conventions, among=among)
        length = out.shape[-1] if moved is not None else out.shape[1 if axis else 0]
        shape = (*in1.shape[:axis], length, *in1.shape[axis + 1:])
        return out.reshape(shape) if moved is None else moved_back(out, moved, shape)
    entered = time.perf_counter()  # a trial times contenders by the whole call (`_run_planned`)
    if among is None and conventions is SIGNAL:  # the tiny routes answer as the N-d functions do
        small = tiny.signal_call(in1, in2, mode, method, axes, threads, correlate)
        if small is not None:
            return small
    elif among is not None and method == "auto":  # fftconvolve: small transforms
        small = tiny.fft_small(in1, in2, mode, axes, threads)
        if small is not None:
            return small
    key = lane.signal_key(in1, in2, mode, method, axes, threads, correlate, conventions, among)
    known = lane.get(key)
    if known is not None:  # this signature was checked and planned before
        return known(in1)
    if among is None and conventions is SIGNAL:  # a signature's first calls: NumPy's transforms
        small = tiny.signal_fft_first(in1, in2, mode, method, axes, threads, correlate)
        if small is not None:
            return small
    a = as_operand(in1, "in1")
    b = as_operand(in2, "in2")
    if among is None:  # sums Python numbers as they are (fftconvolve reads them as floats, as scipy's)
        check_numbers(a, "in1")
        check_numbers(b, "in2")
    check_mode(mode, fft_wording=among is not None)
    check_method(method, methods() if among is None else ("auto", *among))
    settings = config.get()
    nthreads = resolve_threads(threads, settings)
    if a.ndim == 0 and b.ndim == 0:  # scipy: the product, a NumPy scalar
        return (a * (np.conj(b) if correlate and b.dtype.kind == "c" else b))[()]
    if axes is not None and 0 < b.ndim < a.ndim:
        b = kernel_on_axes(b, normalize_axes(axes, a.ndim), a.ndim)
    if a.ndim != b.ndim:
        raise ValueError(
            f"in1 and in2 should have the same dimensionality; got {a.ndim}-d and {b.ndim}-d"
        )
    if a.size == 0 or b.size == 0:
        if conventions.broadcast_unit_axes:
            return np.array([])  # scipy's fftconvolve and oaconvolve
        raise ValueError(f"in1 and in2 must not be empty; got shapes {a.shape} and {b.shape}")
    if conventions.broadcast_unit_axes:
        product = unit_axes_product(a, b, mode, axes)
        if product is not None:
            return product
    problem = Problem.build(a, b, mode, axes, correlate=correlate, conventions=conventions)
    # before planning reads any value: the result alone must fit (execute checks the rest)
    check_fits(math.prod(problem.out_shape) * problem.result_dtype.itemsize,
               f"convolving {a.shape} with {b.shape}")
    plan = run.plan(problem, method, nthreads, methods=among, settings=settings, for_call=True)
    return _run_planned(problem, plan, a, key if a is in1 and b is in2 else None, entered)


def _lines(in1: object, in2: object, mode: str, axes: object, kernel_known: bool = True
           ) -> tuple[tuple[int, ...], tuple[int, ...], int, tuple[int, int, int] | None] | None:
    """For arrays of three or more axes whose second is longer than 1 on one axis alone (a
    ``(25, 1, 1)`` kernel along the first axis of a volume, ``(1, 25, 1)`` along the rows of
    an RGB image): the shapes both are convolved in, seen as the lines along that axis
    (`fftconv.core.lines`), that axis, and where ``in1`` is copied with its lines moved last,
    their ``(before, length, after)`` (`moved_shape`; None: ``in1`` is viewed so); None where
    the call is not that plain (``axes``, a 'valid' call whose kernel is the longer, integer or
    boolean arrays, anything scipy refuses) or where ``in1`` would need a copy to be viewed so.
    A box (``kernel_known``: ``in2`` holds the kernel's values) is not moved: its running sums
    read short rows as fast as long ones.
    The arrays' own shapes had the executors sum the short rows of their last axis (Intel Xeon,
    1 thread, repeated calls: 100x128x128 float32 * 25 taps along axis 0, 'same', 9.3 ms
    against scipy.signal's 14, as the columns of a 100x16384 matrix 2.0 ms; 64x64x64x8 float64
    along axis 0, 'full', 70 ms against scipy's 57, as lines 5.8 ms; 512x512x3 float32 along
    axis 1, 'same', 11.0 ms against scipy's 3.6, moved 2.0 ms).

    Examples
    --------
    >>> _lines(np.zeros((100, 64, 64)), np.ones((25, 1, 1)), "same", None)
    ((100, 4096), (25, 1), 0, None)
    >>> _lines(np.zeros((100, 64, 64)), np.ones((25, 3, 1)), "same", None) is None
    True
    """
    if type(in1) is not np.ndarray or type(in2) is not np.ndarray or in1.ndim < 3:  # (every call asks)
        return None
    plain = axes is None and type(mode) is str and in2.ndim == in1.ndim and in1.size > 0 and in2.size > 0
    if not plain or mode not in MODES or in1.dtype.kind not in "fc" or in2.dtype.kind not in "fc":
        return None
    long = long_axis(in2.shape)
    if long is None:
        return None
    samples = in1.shape[long]  # one: scipy's FFT functions broadcast there
    if samples == 1 or (mode == "valid" and in2.shape[long] > samples):
        return None
    moved = moved_shape(in1.shape, long)
    box = kernel_known and box_value(in2) is not None  # (a box's running sums read short rows as fast)
    if moved is not None and config.get().memory_limit is None and not box:
        return (moved[0] * moved[2], moved[1]), (1, in2.shape[long]), long, moved
    shape1, _ = line_shape(in1.shape, long)
    if len(shape1) == in1.ndim:  # lines already (the middle axis of a volume)
        return None
    try:
        in1.reshape(shape1, copy=False)
    except ValueError:  # not contiguous where a view would have to be
        return None
    return shape1, line_shape(in2.shape, long)[0], long, None


def _run_planned(problem: Problem, plan: Plan, image: np.ndarray, key: object, entered: float) -> np.ndarray:
    """Run ``plan`` on ``image`` (the caller's ``in1``): through the lane's route where its
    executor has one, the call is keyed (``key``) and the route may be kept
    (`run.route_lease`), else through the pipeline. A trial's contender is timed as it will
    cost once kept: a routed one by its route's run (a kept one's calls go straight there),
    any other by the whole call since ``entered`` (a kept one's calls check, build and plan
    again); while every contender has a route, the trial's calls take the lane too
    (`_trial_dispatch`)."""
    trial = plan.trial
    lease = run.route_lease(plan) if key is not None else None
    if lease is not None:
        if trial is None:
            prepared = run.route(problem, plan)
            if prepared is not None:
                lane.remember(key, prepared, lease)
                return prepared(image)
        else:
            # routes hold their kernel's spectrum: made for this signature, whose key holds the
            # kernel's values (the trial's plan serves every kernel of its shapes: routes made
            # for the first kernel had answered later kernels' calls with its spectrum); the
            # last signature's only, so that a loop over new kernels keeps one set
            routes = trial.routes.get(key)
            if routes is None:
                routes = {}
                trial.routes = {key: routes}
            for contender in trial.plans:  # each route made once (None: its calls take the pipeline)
                if contender.executor not in routes:
                    alone = dataclasses.replace(contender, trial=None)
                    routes[contender.executor] = run.route(problem, alone)
            if all(routes[p.executor] is not None for p in trial.plans):
                dispatch = _trial_dispatch(trial, key, routes)
                lane.remember(key, dispatch)
                return dispatch(image, plan)
            if routes[plan.executor] is not None:
                return _timed(trial, plan, image, routes)
    return run.execute(problem, plan, call_started=entered)


def _trial_dispatch(trial: Trial, key: object, routes: dict[str, Callable[[np.ndarray], np.ndarray]]
                    ) -> Callable[..., np.ndarray]:
    """The lane's call for a signature ``key`` whose trial is open (every contender routed in
    ``routes``, made for that signature): each call runs and times the contender the trial
    serves (``plan``: the one already served to this call), and once the trial keeps one, its
    route takes the signature's place in the lane. Through the full path each call of a trial
    had checked, built and planned again: 90 us beside 110 us of direct sum on 2409 * 603
    'valid' float32, for the hundreds of calls FFTW took to measure the other contenders'
    sizes (AMD EPYC)."""

    def call(image: np.ndarray, plan: Plan | None = None) -> np.ndarray:
        plan = trial.next() if plan is None else plan
        if plan is trial.kept:
            prepared = routes[plan.executor]
            lane.remember(key, prepared)
            return prepared(image)
        return _timed(trial, plan, image, routes)
    return call


def _timed(trial: Trial, plan: Plan, image: np.ndarray, routes: dict[str, Callable[[np.ndarray], np.ndarray]]
           ) -> np.ndarray:
    """Run ``plan``'s route (of ``routes``) on ``image`` and record its time in ``trial``."""
    started = time.perf_counter()
    result = routes[plan.executor](image)
    trial.record(plan, time.perf_counter() - started)
    return result


def convolve(in1: ArrayLike, in2: ArrayLike, mode: Mode = "full", method: str = "auto", axes: Axes = None, *,
             threads: int | None = None) -> np.ndarray:
    """Convolve two N-dimensional arrays (drop-in for ``scipy.signal.convolve``).

    Parameters
    ----------
    in1, in2 : array_like
        Inputs with the same number of dimensions. Booleans, integers, floats (float16 to
        long double) and complex numbers are accepted.
    mode : {'full', 'valid', 'same'}
        Output size: the full convolution, the part computed without zero padding (the
        larger input goes first, swapping if needed), or the size of ``in1`` centred on the
        full output (window start ``(len(in2) - 1) // 2`` per axis, as scipy).
    method : {'auto', 'direct', 'fft', 'tiled', 'separable'}
        'auto' lets the planner pick from this machine's costs; 'fft' is one whole-array FFT,
        'tiled' overlap-save FFT tiles, 'direct' the sliding sum (exact for integers),
        'separable' one 1-D pass per axis for a rank-1 kernel (``fftconv.METHODS`` lists
        every name, plug-in executors' included).
    axes : int or sequence of int, optional
        Axes to convolve over (default all); other axes broadcast. ``in2`` may then have one
        axis per convolved axis only (a 2-D kernel for a stack of images with
        ``axes=(1, 2)``), which scipy does not accept.
    threads : int, optional, keyword-only
        Threads to use (default ``FFTCONV_THREADS``, else all cores); at most the cores this
        process may run on.

    Returns
    -------
    numpy.ndarray
        Same dtype as ``np.result_type(in1, in2)``. Integer results are exact: the planner
        only uses an FFT when float64 can represent every partial sum.

    Notes
    -----
    Unlike scipy, a NaN or inf only affects the outputs whose sum includes it, whatever the
    method (scipy's FFT path turns the whole output NaN, and its N-d direct path spreads a
    NaN in ``in2`` everywhere through its zero padding).

    Examples
    --------
    >>> import numpy as np, fftconv
    >>> fftconv.convolve([1, 2, 3], [0, 1, 0.5])
    array([0. , 1. , 2.5, 4. , 1.5])
    >>> fftconv.convolve(np.ones((3, 3), int), np.ones((2, 2), int), mode="valid")
    array([[4, 4],
           [4, 4]])
    """
    return _convolve(in1, in2, mode, method, axes, threads)


def correlate(in1: ArrayLike, in2: ArrayLike, mode: Mode = "full", method: str = "auto", axes: Axes = None, *,
              threads: int | None = None) -> np.ndarray:
    """Cross-correlate two N-dimensional arrays (drop-in for ``scipy.signal.correlate``).

    ``z[k] = sum_l in1[l + k] * conj(in2[l])``, computed as the convolution of ``in1`` with
    ``in2`` flipped on every correlated axis and conjugated. The 'same' window starts at
    ``(len(in2) - 1) // 2`` of the full correlation, as in scipy.signal.correlate (note that
    `correlate2d` and deep-learning 'SAME' padding start at ``len(in2) // 2``).
    Parameters and returns are those of `convolve`.

    Examples
    --------
    >>> import fftconv
    >>> fftconv.correlate([1, 2, 3], [0, 1, 0.5])
    array([0.5, 2. , 3.5, 3. , 0. ])
    """
    return _convolve(in1, in2, mode, method, axes, threads, correlate=True)


def fftconvolve(in1: ArrayLike, in2: ArrayLike, mode: Mode = "full", axes: Axes = None, *,
                threads: int | None = None) -> np.ndarray:
    """Convolve two N-dimensional arrays by FFT (drop-in for ``scipy.signal.fftconvolve``).

    Picks between one whole-array FFT and overlap-save tiles, whichever this machine does
    faster. Output dtype follows scipy: integers and booleans give float64, float16 gives
    float32. Axes of length 1 broadcast, as in scipy.

    Examples
    --------
    >>> import numpy as np, fftconv
    >>> fftconv.fftconvolve(np.ones(4), np.ones(3), mode="same").round(12)
    array([2., 3., 3., 2.])
    """
    return _convolve(in1, in2, mode, "auto", axes, threads, conventions=SIGNAL_FFT, among=FFT_METHODS)


def oaconvolve(in1: ArrayLike, in2: ArrayLike, mode: Mode = "full", axes: Axes = None, *,
               threads: int | None = None) -> np.ndarray:
    """Convolve by overlap-save FFT tiles (drop-in for ``scipy.signal.oaconvolve``).

    The tile shape comes from the cost model; where nothing is gained by cutting, one tile
    covers the whole array. Output dtypes and broadcasting as in `fftconvolve`.

    Examples
    --------
    >>> import numpy as np, fftconv
    >>> fftconv.oaconvolve(np.arange(6.0), [1.0, -1.0]).round(12) + 0.0  # + 0.0: no -0. from rounding
    array([ 0.,  1.,  1.,  1.,  1.,  1., -5.])
    """
    return _convolve(in1, in2, mode, "tiled", axes, threads, conventions=SIGNAL_FFT, among=FFT_METHODS)


def _check_2d(in1, in2, name: str) -> tuple[np.ndarray, np.ndarray]:
    a = as_operand(in1, "in1")
    b = as_operand(in2, "in2")
    check_numbers(a, "in1")
    check_numbers(b, "in2")
    if not a.ndim == b.ndim == 2:
        raise ValueError(f"{name} inputs must both be 2-D arrays")
    return a, b


def _boundary(boundary: object) -> str:
    try:
        return _BOUNDARIES[boundary]  # type: ignore[index]
    except (KeyError, TypeError):
        raise ValueError(
            "Acceptable boundary flags are 'fill', 'circular' (or 'wrap'), and "
            f"'symmetric' (or 'symm'); got boundary={shown(boundary)}."
        ) from None


def _fill_scalar(fillvalue: object, dtype: np.dtype) -> np.ndarray:
    """``fillvalue`` in ``dtype`` (the type both inputs are summed in), converted as scipy's
    2-D loop converts it: a Python number that ``dtype`` cannot hold (a complex one for real
    sums, an integer out of range) and an array that does not cast safely are refused, a NumPy
    scalar is cast as it is.

    Examples
    --------
    >>> _fill_scalar(2.5, np.dtype(np.int16)), _fill_scalar(2.5, np.dtype(np.float32))
    (array(2, dtype=int16), array(2.5, dtype=float32))
    """
    try:
        if isinstance(fillvalue, np.generic):
            value = np.asarray(fillvalue).astype(dtype)
        elif isinstance(fillvalue, np.ndarray):
            if not np.can_cast(fillvalue.dtype, dtype):
                raise TypeError(fillvalue.dtype)
            value = fillvalue.astype(dtype)
        else:
            value = np.asarray(fillvalue, dtype=dtype)
    except (TypeError, ValueError, OverflowError):
        np.asarray(fillvalue, np.complex128)  # what even that refuses raises its own error
        raise ValueError("could not cast `fillvalue` directly to the output type (it was first "
                         "converted to complex).") from None  # scipy's words
    if value.size != 1:
        raise ValueError("`fillvalue` cannot be an empty array." if value.size == 0
                         else "`fillvalue` must be scalar or an array with one element.")
    return value.reshape(())


def _conv2d(in1, in2, mode, boundary, fillvalue, method, threads, correlate: bool, name: str):
    """`convolve2d`/`correlate2d` of calls the tiny route does not answer (each public function
    asks it first itself: a fresh process's first call pays for every function it runs)."""
    a, b = _check_2d(in1, in2, name)
    check_mode(mode)
    extend = _boundary(boundary)
    # the fill in the type both inputs are summed in (not in1's: 2.5 around an integer image
    # convolved with a float kernel stays 2.5)
    fill = _fill_scalar(fillvalue, np.result_type(a, b)) if extend == "constant" else None
    if a.size == 0 or b.size == 0:  # scipy's own shapes of zeros (a 0x5 image: 2x7 in 'full')
        import scipy.signal

        return getattr(scipy.signal, name)(a, b, mode, boundary, fillvalue)
    conventions = SIGNAL_CORRELATE2D if correlate else SIGNAL
    if mode == "valid" or (fill is not None and not fill.any()):
        return _convolve(a, b, mode, method, None, threads, correlate=correlate, conventions=conventions)
    # the boundary's samples around in1, then the 'valid' part of the extended image
    widths = [boundary_pad_widths(n, mode, conventions.same) for n in b.shape]
    ranges = [(-before, n + after) for n, (before, after) in zip(a.shape, widths)]
    dtype = a.dtype if fill is None else fill.dtype
    extended = read_extended(a, ranges, extend, a.dtype.type(0) if fill is None else fill, dtype)
    return _convolve(extended, b, "valid", method, None, threads, correlate=correlate)


def convolve2d(in1: ArrayLike, in2: ArrayLike, mode: Mode = "full", boundary: Boundary = "fill",
               fillvalue: complex = 0, *, method: str = "auto", threads: int | None = None) -> np.ndarray:
    """Convolve two 2-D arrays with a boundary rule (drop-in for ``scipy.signal.convolve2d``).

    Parameters
    ----------
    in1, in2 : array_like
        2-D inputs.
    mode : {'full', 'valid', 'same'}
        As in `convolve` ('same' starts at ``(n2 - 1) // 2``).
    boundary : {'fill', 'wrap', 'symm'}
        How ``in1`` extends beyond its edges: ``fillvalue``, periodic, or mirrored with the
        edge sample repeated ('circular', 'pad' and 'symmetric' are accepted aliases).
    fillvalue : scalar
        Value outside ``in1`` for ``boundary='fill'``.
    method, threads : keyword-only
        As in `convolve`.

    Examples
    --------
    >>> import numpy as np, fftconv
    >>> fftconv.convolve2d(np.eye(3), np.ones((2, 2)), mode="same", boundary="wrap")
    array([[2., 1., 1.],
           [1., 2., 1.],
           [1., 1., 2.]])
    """
    quick = tiny.signal_2d(in1, in2, mode, boundary, fillvalue, False, method, threads)
    if quick is not None:
        return quick
    return _conv2d(in1, in2, mode, boundary, fillvalue, method, threads, False, "convolve2d")


def correlate2d(in1: ArrayLike, in2: ArrayLike, mode: Mode = "full", boundary: Boundary = "fill",
                fillvalue: complex = 0, *, method: str = "auto", threads: int | None = None) -> np.ndarray:
    """Cross-correlate two 2-D arrays (drop-in for ``scipy.signal.correlate2d``).

    'same' puts the kernel's centre at ``n2 // 2`` (for even kernels one sample later than
    `correlate`), which is the convention of scipy.ndimage and of Keras/TF 'SAME' padding.
    Other parameters as in `convolve2d`.

    Notes
    -----
    In 'valid' mode with complex inputs and ``in2`` the larger, scipy returns the complex
    conjugate of the correlation (it swaps the inputs and only flips the result back);
    fftconv returns the correlation itself, equal to ``correlate(in1, in2, 'valid')``.

    Examples
    --------
    >>> import numpy as np, fftconv
    >>> fftconv.correlate2d(np.arange(9.0).reshape(3, 3), [[1.0, -1.0]], mode="valid")
    array([[-1., -1.],
           [-1., -1.],
           [-1., -1.]])
    """
    quick = tiny.signal_2d(in1, in2, mode, boundary, fillvalue, True, method, threads)
    if quick is not None:
        return quick
    return _conv2d(in1, in2, mode, boundary, fillvalue, method, threads, True, "correlate2d")


def choose_conv_method(in1: ArrayLike, in2: ArrayLike, mode: Mode = "full", measure: bool = False, *,
                       threads: int | None = None) -> str | tuple[str, dict[str, float]]:
    """The method `convolve` would use (drop-in for ``scipy.signal.choose_conv_method``).

    Returns one of ``'direct'``, ``'fft'``, ``'tiled'``, ``'separable'`` (all accepted by
    `convolve` and `correlate`). With ``measure=True``, times the methods on these inputs and
    returns ``(fastest, {method: seconds})``; a method estimated at over 10x the best and over
    1 s is left out rather than run.

    Examples
    --------
    >>> import numpy as np, fftconv
    >>> fftconv.choose_conv_method(np.ones(10), np.ones(3))
    'direct'
    """
    a = as_operand(in1, "in1")
    b = as_operand(in2, "in2")
    check_mode(mode)
    if a.size == 0 or b.size == 0:
        raise ValueError(f"in1 and in2 must not be empty; got shapes {a.shape} and {b.shape}")
    if not measure:
        if a.ndim == 0:
            return "direct"
        return plan(a, b, mode, threads=threads).method
    try:
        estimates = plan(a, b, mode, threads=threads).estimates
    except ValueError:  # 0-d or empty: every method is a trivial call; let convolve answer
        estimates = {}
    best_estimate = min(estimates.values(), default=0.0)
    times = {}
    for method in methods()[1:]:
        if estimates and method not in estimates:
            continue  # does not apply (a kernel that is not rank-1, a plug-in's limits)
        if estimates.get(method, 0.0) > max(10 * best_estimate, 1.0):
            continue  # estimated over 10x slower than the best and over 1 s: not worth timing
        timer = timeit.Timer(lambda m=method: convolve(a, b, mode, m, threads=threads))
        number, _ = timer.autorange()
        times[method] = min(timer.repeat(3, number)) / number
    return min(times, key=times.get), times


def plan(in1: ArrayLike | tuple[int, ...], in2: ArrayLike | tuple[int, ...], mode: Mode = "full",
         method: str = "auto", axes: Axes = None, *, threads: int | None = None, dtype: DTypeLike = None,
         correlate: bool = False) -> Plan:
    """The `Plan` fftconv would follow for these inputs, without computing anything.

    ``in1`` and ``in2`` are arrays or shapes (tuples of ints; then ``dtype``, default float64,
    gives the dtype of both).

    Examples
    --------
    >>> import fftconv
    >>> p = fftconv.plan((4096, 4096), (31, 31), mode="same", threads=1)
    >>> p.method, p.fft_shape is not None
    ('tiled', True)
    >>> print(fftconv.plan((64,), (5,), correlate=True, threads=1).explain().splitlines()[0])
    correlate (64,) with (5,), output (68,), computing in float64 on 1 thread(s)
    """
    a, image_known = _as_planning_array(in1, dtype)
    b, kernel_known = _as_planning_array(in2, dtype)
    check_mode(mode)
    check_method(method)
    nthreads = resolve_threads(threads)
    if a.ndim != b.ndim or a.ndim == 0:
        raise ValueError("in1 and in2 need the same, non-zero number of dimensions")
    if a.size == 0 or b.size == 0:
        raise ValueError("cannot plan a convolution of empty arrays")
    lines = _lines(a, b, mode, axes, kernel_known)
    shapes = a.shape, b.shape
    if lines is not None:  # as `convolve` runs it: the arrays seen as lines
        moved = lines[3]
        a = a.reshape(lines[0], copy=False) if moved is None else \
            moved_last(a, moved) if image_known else np.broadcast_to(np.zeros((), a.dtype), lines[0])
        b = b.reshape(lines[1])
    problem = Problem.build(a, b, mode, axes, correlate=correlate)
    chosen = run.plan(problem, method, nthreads, image_known=image_known, kernel_known=kernel_known)
    if lines is not None:
        how = "copied with that axis moved last" if lines[3] is not None else "a view"
        seen = f"{shapes[0]} with {shapes[1]} seen as the lines along axis {lines[2]} ({how})"
        chosen = dataclasses.replace(chosen, reason=f"{chosen.reason}; {seen}")
    return dataclasses.replace(chosen, operation="correlate") if correlate else chosen


def _as_planning_array(value, dtype) -> tuple[np.ndarray, bool]:
    """The array to plan with, and whether it holds values (a shape gives a stand-in of zeros
    that takes no memory)."""
    if isinstance(value, tuple) and all(np.ndim(n) == 0 for n in value):  # a shape
        stand_in = np.zeros((), dtype or np.float64)
        return np.broadcast_to(stand_in, check_shape(value, "shape", stand_in.itemsize)), False
    arr = as_operand(value, "input")
    return (arr if dtype is None else arr.astype(dtype, copy=False)), True
