"""The engine behind every facade: normalise, plan, execute, crop and cast.

Correlation enters here, once: ``correlate(x, h)`` is ``convolve(x, flip(conj(h)))`` over the
convolved axes, with the facade's 'same' convention picking the output offset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import config
from ._direct import accumulation_dtype, convolve_direct
from ._geometry import Window, check_mode, output_window, valid_swap_needed
from ._nonfinite import all_finite, repair, zero_nonfinite
from ._planner import METHODS, Plan, make_plan
from ._separable import GEMM_DTYPES, convolve_separable, rank1_factors
from ._spectral import NonFiniteInput, convolve_spectral, make_layout
from ._threads import resolve_threads

#: Largest integer a float64 FFT result can round back exactly (scipy's rule).
EXACT_INTEGER_LIMIT = 2 ** np.finfo(np.float64).nmant - 1

_SUPPORTED_KINDS = "biufc"

#: Images smaller than this (points over the convolved axes) are not checked for a rank-1
#: kernel: their passes cannot repay the check, and small calls keep their memoised plans.
SEPARABLE_MIN_POINTS = 1 << 14


def reverse_and_conj(h: np.ndarray, axes: Sequence[int]) -> np.ndarray:
    """The kernel that turns correlation into convolution: flipped on ``axes``, conjugated.

    Examples
    --------
    >>> import numpy as np
    >>> reverse_and_conj(np.array([1 + 1j, 2, 3]), [0])
    array([3.-0.j, 2.-0.j, 1.-1.j])
    """
    flipped = np.flip(h, axis=tuple(axes)) if len(axes) else h
    return np.conj(flipped) if flipped.dtype.kind == "c" else flipped


def axes_last(a: np.ndarray, axes: Sequence[int]) -> np.ndarray:
    """A view of ``a`` with ``axes`` moved, in order, to the end (``a`` itself if they are).

    Examples
    --------
    >>> import numpy as np
    >>> axes_last(np.zeros((2, 3, 4)), [0]).shape
    (3, 4, 2)
    """
    first = a.ndim - len(axes)
    if list(axes) == list(range(first, a.ndim)):
        return a
    return np.moveaxis(a, axes, range(first, a.ndim))


def check_method(method: object, allowed: Sequence[str] = METHODS) -> str:
    """Return ``method`` if it is known, else raise ``ValueError`` listing the choices.

    Examples
    --------
    >>> check_method("fft")
    'fft'
    """
    if not isinstance(method, str) or method not in allowed:
        raise ValueError(
            f"Acceptable method flags are {', '.join(repr(m) for m in allowed)}; got method={method!r}."
        )
    return method


def normalize_axes(axes: object, ndim: int) -> list[int]:
    """Axes as a list of distinct non-negative ints (all axes when ``axes`` is None).

    Examples
    --------
    >>> normalize_axes(-1, 3), normalize_axes(None, 2)
    ([2], [0, 1])
    """
    if axes is None:
        return list(range(ndim))
    items = [axes] if np.ndim(axes) == 0 else list(np.asarray(axes).ravel())
    if not items:
        raise ValueError("when provided, axes cannot be empty")
    result = []
    for a in items:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"axes must be integers, got {a!r}")
        if not -ndim <= a < ndim:
            raise ValueError(f"axes exceeds dimensionality of input: axis {a} for {ndim}-d arrays")
        result.append(int(a) % ndim)
    if len(set(result)) != len(result):
        raise ValueError(f"all axes must be unique, got {items}")
    return result


def as_operand(a: object, name: str) -> np.ndarray:
    """``np.asarray`` plus a clear error for dtypes convolution cannot handle."""
    arr = np.asarray(a)
    if arr.dtype.kind not in _SUPPORTED_KINDS:
        raise TypeError(
            f"{name} has dtype {arr.dtype}, which cannot be convolved; "
            "pass booleans, integers, floats or complex numbers"
        )
    return arr


@lru_cache(maxsize=256)
def result_dtype(dt1: np.dtype, dt2: np.dtype, rule: str) -> np.dtype:
    """Output dtype: scipy's ``convolve`` keeps ``result_type``; ``fftconvolve`` makes
    integers float64 and float16 float32.

    Examples
    --------
    >>> import numpy as np
    >>> i8 = np.dtype("int8")
    >>> result_dtype(i8, i8, "convolve"), result_dtype(i8, i8, "fft")
    (dtype('int8'), dtype('float64'))
    """
    dt = np.result_type(dt1, dt2)
    if rule == "fft":
        if dt.kind in "biu":
            return np.dtype(np.float64)
        if dt == np.float16:
            return np.dtype(np.float32)
    return dt


def spectral_dtype(result: np.dtype) -> np.dtype:
    """dtype FFTW computes in for a given result dtype.

    Examples
    --------
    >>> import numpy as np
    >>> spectral_dtype(np.dtype(np.float16)), spectral_dtype(np.dtype(np.int64))
    (dtype('float32'), dtype('float64'))
    """
    if result.kind in "biu":
        return np.dtype(np.float64)
    if result == np.float16:
        return np.dtype(np.float32)
    return result


@dataclass(frozen=True)
class Problem:
    """A convolution reduced to arrays with the convolved axes last."""

    x: np.ndarray
    h: np.ndarray
    conv_axes: tuple[int, ...]
    windows: tuple[Window, ...]
    out_shape: tuple[int, ...]  # in the caller's axis order
    result_dtype: np.dtype

    @property
    def rank(self) -> int:
        return len(self.conv_axes)

    @property
    def batch(self) -> tuple[int, ...]:
        """Broadcast shape of the axes that are not convolved (in moved order)."""
        conv = set(self.conv_axes)
        return tuple(n for a, n in enumerate(self.out_shape) if a not in conv)


def _largest_magnitude(a: np.ndarray, from_dtype: bool) -> int:
    if from_dtype and a.dtype.kind in "iu":
        info = np.iinfo(a.dtype)
        return max(abs(int(info.min)), int(info.max))
    if from_dtype and a.dtype.kind == "b":
        return 1
    return max(abs(int(a.max())), abs(int(a.min())))


def _integer_bound_exceeded(x: np.ndarray, h: np.ndarray, rank: int, worst_case_x: bool = False) -> bool:
    if x.dtype.kind not in "iu" and h.dtype.kind not in "iu":
        return False
    largest = [_largest_magnitude(x, worst_case_x), _largest_magnitude(h, False)]
    terms = min(int(np.prod(x.shape[x.ndim - rank:])), int(np.prod(h.shape[h.ndim - rank:])))
    return largest[0] * largest[1] * terms > EXACT_INTEGER_LIMIT


@dataclass(frozen=True)
class Geometry:
    """What `prepare` decides from shapes alone (cached: small calls repeat it often)."""

    flip_axes: tuple[int, ...]
    swap: bool
    conv_axes: tuple[int, ...]
    windows: tuple[Window, ...]
    out_shape: tuple[int, ...]


@lru_cache(maxsize=1024)
def describe(
    s1: tuple[int, ...],
    s2: tuple[int, ...],
    mode: str,
    axes: tuple[int, ...],
    convention: str,
    broadcast_unit_axes: bool,
) -> Geometry:
    """The geometry of a convolution of shapes ``s1`` and ``s2`` over ``axes``.

    Examples
    --------
    >>> describe((5, 6), (7, 2), "valid", (0, 1), "signal", False)
    Traceback (most recent call last):
    ...
    ValueError: For 'valid' mode, one must be at least as large as the other in every dimension; \
got shapes (5, 6) and (7, 2).
    >>> describe((5, 6), (1, 2), "full", (1,), "signal", False).out_shape
    (5, 7)
    """
    ndim = len(s1)
    others = [a for a in range(ndim) if a not in axes]
    if not all(s1[a] == s2[a] or s1[a] == 1 or s2[a] == 1 for a in others):
        raise ValueError(
            f"incompatible shapes for in1 and in2: {s1} and {s2} (axes not convolved "
            "must be equal or 1)"
        )
    flip_axes = axes
    conv = list(axes)
    if broadcast_unit_axes and mode == "valid":
        # scipy.signal.fftconvolve multiplies (broadcasts) along axes of length 1
        conv = [a for a in conv if s1[a] != 1 and s2[a] != 1]
    if broadcast_unit_axes and mode == "same":
        # ... and crops 'same' results to in1's shape on every axis: on an axis where in1
        # has length 1 that is the centre of the broadcast, i.e. a 'same' convolution
        conv = conv + [a for a in others if s1[a] == 1 and s2[a] > 1]
    swap = mode == "valid" and valid_swap_needed(s1, s2, conv)
    if swap:
        s1, s2 = s2, s1
    windows = tuple(output_window(s1[a], s2[a], mode, convention) for a in conv)
    out_shape = list(np.broadcast_shapes(
        tuple(1 if a in conv else s1[a] for a in range(ndim)),
        tuple(1 if a in conv else s2[a] for a in range(ndim)),
    ))
    for a, w in zip(conv, windows):
        out_shape[a] = w.length
    return Geometry(flip_axes, swap, tuple(conv), windows, tuple(out_shape))


def prepare(
    in1: np.ndarray,
    in2: np.ndarray,
    mode: str,
    axes: object,
    *,
    correlate: bool,
    convention: str,
    rule: str,
    broadcast_unit_axes: bool,
) -> Problem:
    """Validate and normalise; ``in1``/``in2`` are non-empty arrays of equal ndim."""
    geo = geometry_of(in1, in2, mode, axes, convention, broadcast_unit_axes)
    return problem_from(geo, in1, in2, correlate=correlate, rule=rule)


def geometry_of(
    in1: np.ndarray, in2: np.ndarray, mode: str, axes: object, convention: str, broadcast_unit_axes: bool
) -> Geometry:
    """`describe` for two arrays and a caller's ``axes`` (None, an int or a sequence)."""
    axes = tuple(range(in1.ndim)) if axes is None else tuple(normalize_axes(axes, in1.ndim))
    return describe(in1.shape, in2.shape, mode, axes, convention, broadcast_unit_axes)


def problem_from(geo: Geometry, in1: np.ndarray, in2: np.ndarray, *, correlate: bool, rule: str) -> Problem:
    """The `Problem` of arrays whose shapes ``geo`` describes."""
    if correlate:
        in2 = reverse_and_conj(in2, geo.flip_axes)
    if geo.swap:
        in1, in2 = in2, in1
    return Problem(
        x=axes_last(in1, geo.conv_axes),
        h=axes_last(in2, geo.conv_axes),
        conv_axes=geo.conv_axes,
        windows=geo.windows,
        out_shape=geo.out_shape,
        result_dtype=result_dtype(in1.dtype, in2.dtype, rule),
    )


def plan_problem(
    problem: Problem, method: str, threads: int, allowed: Sequence[str], *,
    worst_case_image: bool = False,
) -> Plan:
    """Plan a prepared problem; integer inputs too large for exact FFTs go direct.

    With ``worst_case_image`` the exactness bound assumes the largest value the image dtype
    holds (for plans made before the images are seen).
    """
    r = problem.rank
    x, h = problem.x, problem.h
    allowed = tuple(allowed)
    settings = config.get()
    if method == "auto" and settings.method in allowed:
        method = settings.method  # [planner] method forces what 'auto' means
    if (
        method == "auto"
        and "direct" in allowed
        and problem.result_dtype.kind in "iu"
        and _integer_bound_exceeded(x, h, r, worst_case_image)
    ):
        allowed = ("direct",)
    compute = _compute_dtype(problem.result_dtype, direct=method == "direct" or allowed == ("direct",))
    if method == "separable":
        separable = kernel_factors(problem, compute, min_points=0) is not None
        if not separable:
            raise ValueError(_NOT_SEPARABLE)
    else:
        separable = ("separable" in allowed and method == "auto"
                     and kernel_factors(problem, compute) is not None)
    return make_plan(
        tuple(x.shape[x.ndim - r:]),
        tuple(h.shape[h.ndim - r:]),
        problem.windows,
        tuple(problem.batch),
        compute,
        threads,
        method,
        allowed,
        settings.costs,
        separable,
        settings.memory_limit,
    )


_NOT_SEPARABLE = (
    "method='separable' needs a kernel that is an outer product of 1-D kernels (rank 1 within "
    "its dtype's rounding, finite, at least 2-D, no batch axes of its own) and a float or "
    "complex computation; this one is not: use method='auto'"
)


def kernel_factors(problem: Problem, compute: np.dtype, min_points: int = SEPARABLE_MIN_POINTS
                   ) -> tuple[np.ndarray, ...] | None:
    """The 1-D factors of a rank-1 kernel, else None; images under ``min_points`` (over the
    convolved axes) are not checked (what 'auto' does: their passes cannot repay the check)."""
    r = problem.rank
    x, h = problem.x, problem.h
    if (
        r < 2
        or compute not in GEMM_DTYPES
        or any(n != 1 for n in h.shape[: h.ndim - r])
        or int(np.prod(x.shape[x.ndim - r:])) < min_points
    ):
        return None
    return rank1_factors(h.reshape(h.shape[h.ndim - r:]), compute)


def compute_dtype(problem: Problem, plan: Plan) -> np.dtype:
    """dtype the executor of ``plan`` computes in."""
    return _compute_dtype(problem.result_dtype, direct=plan.method == "direct")


def _compute_dtype(result: np.dtype, direct: bool) -> np.dtype:
    return accumulation_dtype(result) if direct else spectral_dtype(result)


def execute(
    problem: Problem,
    plan: Plan,
    threads: int,
    *,
    spectrum: np.ndarray | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Run ``plan`` and return the result in the caller's axis order and dtype.

    ``spectrum`` is a cached `kernel_spectrum` of ``problem.h`` with its non-finite values
    zeroed (see `Convolver`); ``out`` an array of the output shape and dtype to write into.
    """
    r = problem.rank
    compute = compute_dtype(problem, plan)
    direct_into_out = out is not None and out.dtype == compute
    result = out if direct_into_out else np.empty(problem.out_shape, compute)
    target = axes_last(result, problem.conv_axes)
    x, h = problem.x, problem.h
    if plan.method == "direct":
        convolve_direct(x.astype(compute, copy=False), h.astype(compute, copy=False), problem.windows, target)
    elif plan.method == "separable":
        factors = kernel_factors(problem, compute, min_points=0)
        if factors is None:  # a Convolver's or memoised plan met a kernel of other values
            raise ValueError(_NOT_SEPARABLE)
        if all_finite(x):
            convolve_separable(x, factors, problem.windows, target, threads)
        else:  # a band's zeros would spread NaN * 0 across a block: keep non-finite values local
            convolve_separable(zero_nonfinite(x), factors, problem.windows, target, threads)
            repair(target, x, h, problem.windows)
    else:
        layout = make_layout(
            x.shape[x.ndim - r:], h.shape[h.ndim - r:], problem.windows, plan.fft_shape, plan.tiled_axes
        )
        kernel_finite = all_finite(h)
        try:
            if not kernel_finite:
                raise NonFiniteInput
            # optimistic: the tiles' DC bins reveal a non-finite input without a pass over it
            convolve_spectral(x, h, target, layout, threads, spectrum=spectrum, check_input=True)
        except NonFiniteInput:
            hs = h if kernel_finite else zero_nonfinite(h)
            convolve_spectral(zero_nonfinite(x), hs, target, layout, threads, spectrum=spectrum)
            repair(target, x, h, problem.windows)
    if direct_into_out:
        return result
    cast = _cast(result, problem.result_dtype)
    if out is None:
        return cast
    out[...] = cast
    return out


def _cast(result: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if result.dtype == dtype:
        return result
    if dtype.kind == "b":
        if result.dtype.kind == "f":
            result = np.rint(result)
        return result != 0
    with np.errstate(over="ignore", invalid="ignore"):
        if dtype.kind in "iu" and result.dtype.kind == "f":
            # via a 64-bit integer: float -> int8 is undefined out of range, int64 -> int8 wraps
            wide = np.int64 if dtype.kind == "i" else np.uint64
            return np.rint(result, out=result).astype(wide).astype(dtype)
        return result.astype(dtype)


def convolve_nd(
    in1: object,
    in2: object,
    mode: str = "full",
    method: str = "auto",
    axes: object = None,
    *,
    threads: object = None,
    correlate: bool = False,
    convention: str = "signal",
    rule: str = "convolve",
    allowed: Sequence[str] = ("direct", "fft", "tiled", "separable"),
    methods: Sequence[str] = METHODS,
    broadcast_unit_axes: bool = False,
) -> np.ndarray:
    """Convolve (or correlate) ``in1`` with ``in2``: the shared body of the public functions.

    Examples
    --------
    >>> convolve_nd([1, 2, 3], [0, 1, 0.5])
    array([0. , 1. , 2.5, 4. , 1.5])
    """
    a = as_operand(in1, "in1")
    b = as_operand(in2, "in2")
    check_mode(mode)
    check_method(method, methods)
    settings = config.get()
    nthreads = resolve_threads(threads, settings)
    if a.ndim == 0 and b.ndim == 0:
        product = a * (np.conj(b) if correlate and b.dtype.kind == "c" else b)
        return np.asarray(product).astype(result_dtype(a.dtype, b.dtype, rule))
    if a.ndim != b.ndim:
        raise ValueError(
            f"in1 and in2 should have the same dimensionality; got {a.ndim}-d and {b.ndim}-d"
        )
    if a.size == 0 or b.size == 0:
        return np.array([])
    key = None
    maybe_separable = method == "separable" or (
        "separable" in allowed and b.ndim >= 2 and max(a.size, b.size) >= SEPARABLE_MIN_POINTS)
    if (axes is None or isinstance(axes, (int, tuple))) and not maybe_separable:
        key = (a.shape, a.dtype, b.shape, b.dtype, mode, method, axes, nthreads, correlate,
               convention, rule, allowed, broadcast_unit_axes, id(settings))
        known = _call_plans.get(key)
        if known is not None:  # the same call signature as before: skip geometry and planning
            geo, plan, _ = known
            return execute(problem_from(geo, a, b, correlate=correlate, rule=rule), plan, nthreads)
    geo = geometry_of(a, b, mode, axes, convention, broadcast_unit_axes)
    problem = problem_from(geo, a, b, correlate=correlate, rule=rule)
    if problem.rank == 0:
        product = np.multiply(problem.x, problem.h, dtype=np.result_type(problem.x, problem.h))
        return _cast(np.asarray(product), problem.result_dtype)
    plan = plan_problem(problem, method, nthreads, allowed)
    if key is not None and problem.result_dtype.kind not in "iub":  # integer plans read values
        if len(_call_plans) >= 256:
            _call_plans.clear()
        _call_plans[key] = (geo, plan, settings)  # holding settings keeps id(settings) unique
    return execute(problem, plan, nthreads)


#: Plans by call signature (shapes, dtypes, options, settings object), for small calls whose
#: geometry and planning would otherwise cost as much as the convolution itself.
_call_plans: dict[tuple, tuple[Geometry, Plan, object]] = {}
