"""Normalised convolution: filtering images with holes (NaN or masked pixels).

A hole has weight 0, every other pixel weight 1. Each output is the kernel-weighted mean of
the valid pixels its kernel reaches: ``conv(x * w, k) / conv(w, k)`` (then times ``scale``,
the kernel's sum where the caller wants a hole-free image to give its plain filter). The two
convolutions are one problem: the valid values and the weights stacked as a batch of two, so
they share one plan, one kernel spectrum and one pass of the direct loop, on every executor
and block by block like any filter (`fftconv.engine.blocks`).

What an output with no valid pixel in reach gets (the denominator within rounding of zero,
or below the rule's ``below``) is the rule's ``empty``: NaN (fftconv's own API), the centre
pixel's own value (astropy's ``convolve``: NaN at a hole), or zero (astropy's
``convolve_fft``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..core.boundary import fill_extended, read_extended
from ..core.dtypes import cast
from ..core.problem import NDIMAGE, Problem
from ..planning.plan import Plan
from . import run
from ._compiled import float_passes

#: Denominators within this many units of rounding of the kernel's absolute sum count as zero
#: (an FFT's sum of zeros is ~1e-16 of it, not 0).
ROUNDING_UNITS = 64
EMPTY_RULES = ("nan", "center", "zero")
#: Methods whose sums carry a transform's rounding (`refine_small_weights`).
SPECTRAL_METHODS = ("fft", "tiled")
#: Outputs whose weight sum is below this fraction of the kernel's absolute sum are summed
#: again directly after a transform (beyond it, the transform's rounding stays under ~1e-13 of
#: the output's scale in float64; at 1e-3 it reached 1.3e-13).
REFINE_BELOW = 1e-2
#: At most this many multiply-adds go to those sums (the smallest weight sums first): only
#: the rims of large holes need them; an image of mostly holes keeps the transform's answer
#: beyond them.
REFINE_MACS = 1 << 27
#: Window elements gathered at once by those sums (2 MiB in float64: 1 << 22 made the
#: gathered windows the call's largest array, 32 MiB, 16 images of 512² float64).
REFINE_CHUNK = 1 << 18
BOOL = np.dtype(bool)
#: What the compiled passes (``_compiled/float_passes.c``) take.
COMPILED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
#: An output is empty where its denominator is at most the limit, at most it in magnitude
#: (kernels with negative taps), or below it (a rule's ``below``): the compiled divide's tests.
EMPTY_AT_MOST, EMPTY_ABS_AT_MOST, EMPTY_BELOW = 0, 1, 2


@dataclass(frozen=True)
class Holes:
    """How a filter treats holes (see the module docstring): ``scale`` multiplies every
    ratio; ``empty`` is what an output with no valid pixel in reach gets; ``below``: outputs
    whose denominator is below it are empty (None: those within rounding of zero);
    ``dtype``: what the sums compute in (None: `compute_dtype` of the image's), whatever the
    image's dtype (astropy's float64 sums of a float32 image, read as it is)."""

    scale: float = 1.0
    empty: str = "nan"
    below: float | None = None
    dtype: np.dtype | None = None

    def __post_init__(self) -> None:
        if self.empty not in EMPTY_RULES:
            raise ValueError(f"empty must be one of {EMPTY_RULES}, got {self.empty!r}")


def compute_dtype(dtype: np.dtype) -> np.dtype:
    """The float dtype a filter with holes computes in: the image's if it is float32 or
    float64, else float64 (holes are NaN: integers have none).

    Examples
    --------
    >>> compute_dtype(np.dtype(np.float32)), compute_dtype(np.dtype(np.int16))
    (dtype('float32'), dtype('float64'))
    """
    dtype = np.dtype(dtype)
    return dtype if dtype in (np.dtype(np.float32), np.dtype(np.float64)) else np.dtype(np.float64)


def weighted_sums(extended: np.ndarray, kernel: np.ndarray, axes, before, correlate: bool, method: str,
                  threads: int, memory_limit: object = run.CONFIGURED,
                  plan: Plan | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The 'valid' filter of the valid values of ``extended`` (NaN: holes) and of their
    weights, computed as one batch of two: ``(numerator, denominator)``. ``plan``: the batch's
    plan, where the caller made it (and times the call for its trial); else one is made here.

    Examples
    --------
    >>> num, den = weighted_sums(np.array([1.0, np.nan, 3.0, 5.0]), np.ones(2), [0], [0], True, "auto", 1)
    >>> num, den
    (array([1., 3., 8.]), array([1., 1., 2.]))
    """
    stacked = np.empty((2,) + extended.shape, compute_dtype(extended.dtype))
    np.copyto(stacked[0], extended, casting="unsafe")
    split_holes(stacked[0], stacked[1])
    problem = Problem.build(stacked, kernel[None], "valid", [a + 1 for a in axes], correlate=correlate,
                            conventions=NDIMAGE)
    if plan is None:
        plan = run.plan(problem, method, threads, memory_limit=memory_limit, for_call=True)
    elif plan.trial is not None:
        plan = dataclasses.replace(plan, trial=None)  # the caller times the whole call
    both = run.execute(problem, plan)
    if plan.method in SPECTRAL_METHODS:
        refine_small_weights(both[0], both[1], stacked, kernel if correlate else np.flip(kernel))
    return both[0], both[1]


def split_holes(values: np.ndarray, weights: np.ndarray) -> bool:
    """In place: ``weights`` (float, or bool) 1 at each valid pixel of ``values`` and 0 at each
    hole (NaN), and the holes of ``values`` zeroed: the two planes the filter sums. Returns
    whether ``values`` are then known finite (the compiled pass tells, in the same pass; else
    False: the sums check for inf themselves).

    Examples
    --------
    >>> values, weights = np.array([1.0, np.nan, 3.0]), np.empty(3)
    >>> split_holes(values, weights); values, weights
    True
    (array([1., 0., 3.]), array([1., 0., 1.]))
    """
    if float_passes is not None and _alike(values, weights):
        return float_passes.split(values, weights)
    holes = np.isnan(values)
    np.logical_not(holes, out=weights)
    np.copyto(values, 0, where=holes)
    return False


def _alike(*arrays: np.ndarray) -> bool:
    """The compiled passes' operands: float32 or float64 arrays of one dtype and shape, each
    with a contiguous last axis (they run along rows)."""
    first = arrays[0]
    return first.dtype in COMPILED_DTYPES and all(
        a.dtype == first.dtype and a.shape == first.shape and _rows_contiguous(a) for a in arrays)


def _rows_contiguous(a: np.ndarray) -> bool:
    return a.ndim == 0 or a.shape[-1] <= 1 or a.strides[-1] == a.itemsize


def any_small(values: np.ndarray, limit: float) -> bool:
    """Whether any magnitude in ``values`` is below ``limit``: one pass, no temporaries (the
    compiled pass), where most tiles of sums have none.

    Examples
    --------
    >>> any_small(np.array([1.0, -0.01]), 0.1), any_small(np.array([1.0, np.nan]), 0.1)
    (True, False)
    """
    if float_passes is not None and _alike(values):
        return float_passes.any_small(values, limit)
    return bool((np.abs(values) < limit).any())


def sum_is_nan(values: np.ndarray) -> bool:
    """Whether the float64 sum of ``values`` is NaN (astropy's test for holes): a NaN, or
    infinities of both signs, or a sum that overflowed both ways. The compiled pass answers
    without summing (it stops at the first NaN) where no sum can overflow.

    Examples
    --------
    >>> sum_is_nan(np.array([1.0, np.nan], np.float32)), sum_is_nan(np.array([np.inf, -np.inf]))
    (True, True)
    """
    if float_passes is not None and values.dtype in COMPILED_DTYPES and values.flags.c_contiguous:
        found = float_passes.nan_in_sum(values)
        if found is not None:
            return found
    return bool(np.isnan(values.sum(dtype=np.float64)))


def read_planes(source, mask, region: list[tuple[int, int]], mode: str, cval: object, values: np.ndarray,
                weights: np.ndarray, less_one: bool = False) -> bool:
    """The values (holes zeroed) and weights of ``source`` extended by ``mode`` over
    ``region`` (its extended coordinates) into ``values`` and ``weights``; pixels that
    ``mask`` (None, or an array-like of the source's shape) marks are holes. Returns whether
    the values are known finite (`split_holes`). With ``less_one``, the weights less one (0 at
    a valid pixel, -1 at a hole: what a border of zeros transforms, `hole_tiles`).

    Examples
    --------
    >>> values, weights = np.empty(4), np.empty(4, bool)
    >>> read_planes(np.array([np.nan, 2.0, 3.0]), np.array([False, False, True]), [(-1, 3)], "nearest", 0.0,
    ...             values, weights)
    False
    >>> values, weights
    (array([0., 0., 2., 0.]), array([False, False,  True, False]))
    """
    inside = _inside(source, region) if mask is None else None
    if inside is not None and _alike(values, weights) and inside.dtype.itemsize <= values.dtype.itemsize \
            and inside.dtype in COMPILED_DTYPES and _rows_contiguous(inside):
        return float_passes.split(values, weights, inside, less_one)  # read and split in one pass
    fill_extended(values, source, region, mode, cval)
    if mask is not None:
        values[read_extended(mask, region, mode, False, BOOL)] = np.nan
    finite = split_holes(values, weights)
    if less_one:
        np.subtract(weights, 1, out=weights)
    return finite


def _inside(source, region: list[tuple[int, int]]) -> np.ndarray | None:
    """The view of the array ``source`` over ``region`` where the region lies inside it (no
    border to read), else None."""
    if float_passes is None or not isinstance(source, np.ndarray):
        return None
    if not all(0 <= a and b <= n for (a, b), n in zip(region, source.shape)):
        return None
    return source[tuple(slice(a, b) for a, b in region)]


def marked(where: np.ndarray) -> tuple[np.ndarray, ...]:
    """``np.nonzero(where)``, found by flat index: NumPy's N-d ``nonzero`` took 590 us on a
    256x1024 bool band where ``flatnonzero`` and ``unravel_index`` take 35.

    Examples
    --------
    >>> marked(np.array([[False, True], [True, False]]))
    (array([0, 1]), array([1, 0]))
    """
    return np.unravel_index(np.flatnonzero(where), where.shape)


def own_pixels(source, mask, index: tuple[np.ndarray, ...], dtype: np.dtype) -> np.ndarray:
    """The source's pixels at ``index`` (one index array per axis) in ``dtype``, NaN where
    ``mask`` marks them: outputs' own pixels, what the 'center' rule gives an empty output.

    Examples
    --------
    >>> own_pixels(np.array([1, 2, 3]), np.array([True, False, False]), (np.array([0, 2]),), np.dtype(float))
    array([nan,  3.])
    """
    pixels = np.asarray(_take(source, index), dtype)
    if mask is not None:
        pixels[np.asarray(_take(mask, index), bool)] = np.nan
    return pixels


def _take(source, index: tuple[np.ndarray, ...]) -> np.ndarray:
    """``source[index]`` for an array, or for a dataset (which takes slices, not index arrays)
    read through the box the points span."""
    if isinstance(source, np.ndarray):
        return source[index]
    if len(index[0]) == 0:
        return np.empty(0, source.dtype)
    box = tuple(slice(int(i.min()), int(i.max()) + 1) for i in index)
    return np.asarray(source[box])[tuple(i - b.start for i, b in zip(index, box))]


def marked_pixels(source, mask, dtype: np.dtype, first: Sequence[int], where: np.ndarray) -> np.ndarray:
    """`own_pixels` of the outputs ``where`` marks in a region (a tile, a band) whose first
    output is the source's index ``first``: a 'center' rule's ``centre``, with
    ``functools.partial`` of all but ``where``.

    Examples
    --------
    >>> marked_pixels(np.arange(6.0), None, np.dtype(float), [2], np.array([False, True, True]))
    array([3., 4.])
    """
    return own_pixels(source, mask, tuple(f + i for f, i in zip(first, marked(where))), dtype)


def refine_small_weights(numerator: np.ndarray, denominator: np.ndarray, stacked: np.ndarray,
                         correlation: np.ndarray) -> int:
    """Recompute by exact direct sums (float64) the outputs whose weight sum is below
    `REFINE_BELOW` of the kernel's absolute sum, smallest first, up to `REFINE_MACS`
    multiply-adds; returns how many. A transform's rounding is a fixed fraction of the
    largest sums: where few valid pixels are in reach it is a large part of the small weight
    sum the result is divided by (1e-11 of the output's scale at 1e-5 of the kernel's weight),
    while a direct sum there is exact to its own rounding.

    Examples
    --------
    >>> stacked = np.array([[3.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]])  # values, weights: 3 holes
    >>> num = np.array([3e-9 + 1e-17, 2e-17, 1e-17])  # as a transform leaves them
    >>> den = np.array([1e-9 + 1e-17, 1e-17, -1e-17])
    >>> refine_small_weights(num, den, stacked, np.array([1e-9, 1.0])), num, den
    (3, array([3.e-09, 0.e+00, 0.e+00]), array([1.e-09, 0.e+00, 0.e+00]))
    """
    limit = refine_limit(correlation)
    if not any_small(denominator, limit):
        return 0
    small = np.flatnonzero(np.abs(denominator) < limit)
    small = smallest_first(small, denominator.ravel()[small], correlation.size)
    if small.size == 0:
        return 0
    chosen = np.unravel_index(small, numerator.shape)
    numerator[chosen], denominator[chosen] = exact_sums(stacked[0], stacked[1], correlation, chosen)
    return int(small.size)


def refine_limit(correlation: np.ndarray) -> float:
    """The weight sum below which a transform's output is summed again (`REFINE_BELOW` of the
    kernel's absolute sum)."""
    return REFINE_BELOW * float(np.abs(correlation).sum())


def smallest_first(points: np.ndarray, denominators: np.ndarray, taps: int) -> np.ndarray:
    """``points`` ordered by their weight sums' magnitude, smallest first, as many as
    `REFINE_MACS` multiply-adds of ``taps`` taps each sum again.

    Examples
    --------
    >>> smallest_first(np.array([7, 8, 9]), np.array([0.5, -0.1, 0.3]), 1)
    array([8, 9, 7])
    """
    order = np.argsort(np.abs(denominators), kind="stable")
    return points[order[: max(REFINE_MACS // taps, 1)]]


def exact_sums(values: np.ndarray, weights: np.ndarray, correlation: np.ndarray,
               positions: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The 'valid' correlations of ``values`` (holes 0) and ``weights`` with ``correlation``
    at the outputs ``positions`` (one index array per axis), each an exact float64 direct sum.

    Examples
    --------
    >>> exact_sums(np.array([1.0, 0.0, 3.0]), np.array([1.0, 0.0, 1.0]), np.ones(2), (np.array([1]),))
    (array([3.]), array([1.]))
    """
    taps = correlation.astype(np.float64).ravel()
    windows_of = [np.lib.stride_tricks.sliding_window_view(a, correlation.shape) for a in (values, weights)]
    count = len(positions[0])
    sums = np.empty((2, count))
    step = max(REFINE_CHUNK // correlation.size, 1)
    for start in range(0, count, step):
        chosen = tuple(p[start:start + step] for p in positions)
        for plane, windows in zip(sums, windows_of):
            gathered = windows[chosen].reshape(len(chosen[0]), -1)
            plane[start:start + step] = gathered.astype(np.float64, copy=False) @ taps
    return sums[0], sums[1]


def combine(numerator: np.ndarray, denominator: np.ndarray,
            centre: np.ndarray | Callable[[np.ndarray], np.ndarray], kernel: np.ndarray,
            rule: Holes, out: np.ndarray | None = None) -> np.ndarray:
    """The outputs from the weighted sums by ``rule``; ``centre``: each output's own pixel
    (for the 'center' rule), or a function giving those of the outputs a boolean array
    marks. Computed into ``out`` (a float array of the sums' shape), else in ``numerator``'s
    memory (a float array).

    Examples
    --------
    >>> combine(np.array([2.0, 0.0]), np.array([2.0, 0.0]), np.array([1.0, np.nan]), np.ones(3), Holes())
    array([ 1., nan])
    """
    return combine_counting(numerator, denominator, centre, kernel, rule, out)[0]


def combine_counting(numerator: np.ndarray, denominator: np.ndarray,
                     centre: np.ndarray | Callable[[np.ndarray], np.ndarray], kernel: np.ndarray,
                     rule: Holes, out: np.ndarray | None = None, offset: float = 0.0, small: float = 0.0
                     ) -> tuple[np.ndarray, int]:
    """`combine` the sums whose denominators lack the constant ``offset`` (added as they are
    read; ``denominator`` is left as it is), and count the outputs whose denominator's
    magnitude is below ``small``: in the division's one pass where it is compiled.

    Examples
    --------
    >>> combine_counting(np.array([2.0, 3.0]), np.array([-1.0, 2.0]), np.zeros(2), np.ones(3), Holes(),
    ...                  offset=2.0, small=2.0)
    (array([2.  , 0.75]), 1)
    """
    result = numerator if out is None else out
    limit, test = empty_test(kernel, denominator.dtype, rule)
    empty, smalls = _divided(numerator, denominator, result, limit, test, offset, small)
    if rule.scale != 1:
        result *= rule.scale
    if empty is not None:
        fill_empty(result, empty, centre, rule)
    return result, smalls


def empty_test(kernel: np.ndarray, dtype: np.dtype, rule: Holes) -> tuple[float, int]:
    """``(limit, test)``: an output whose denominator (in ``dtype``) passes the compiled
    passes' ``test`` against ``limit`` is empty (`EMPTY_AT_MOST`, ...).

    Examples
    --------
    >>> empty_test(np.ones(3), np.dtype(np.float64), Holes(below=0.5))
    (0.5, 2)
    """
    if rule.below is not None:
        return rule.below, EMPTY_BELOW
    tolerance = ROUNDING_UNITS * float(np.finfo(dtype).eps) * float(np.abs(kernel).sum())
    # a kernel of no negative tap sums no negative weight beyond rounding: one test, not two
    return tolerance, EMPTY_AT_MOST if kernel.min() >= 0 else EMPTY_ABS_AT_MOST


def fill_empty(result: np.ndarray, empty: np.ndarray, centre: np.ndarray | Callable[[np.ndarray], np.ndarray],
               rule: Holes) -> None:
    """Give the outputs ``empty`` marks what ``rule`` gives an output with no valid pixel in
    reach (``centre`` as `combine` takes it).

    Examples
    --------
    >>> result = np.array([1.0, 2.0])
    >>> fill_empty(result, np.array([False, True]), np.array([5.0, 6.0]), Holes(empty="center")); result
    array([1., 6.])
    """
    if rule.empty == "nan":
        result[empty] = np.nan
    elif rule.empty == "zero":
        result[empty] = 0
    else:
        result[empty] = centre(empty) if callable(centre) else centre[empty]


def combine_into(output, place: tuple[slice, ...], out_dtype: np.dtype, numerator: np.ndarray,
                 denominator: np.ndarray, centre: np.ndarray | Callable[[np.ndarray], np.ndarray],
                 kernel: np.ndarray, rule: Holes, offset: float = 0.0, small: float = 0.0) -> int:
    """`combine` a block's or a tile's sums into ``output[place]`` (``output``: an array, or
    any array-like a block writes), as ``out_dtype``: computed there where the dtypes match,
    rounded as it is written into another float array, else cast as scipy.ndimage casts (a
    copy made apart). ``offset`` and ``small`` as `combine_counting` takes them; returns its
    count.

    Examples
    --------
    >>> out = np.zeros(3, np.float32)
    >>> combine_into(out, (slice(1, 3),), out.dtype, np.array([2.0, 3.0]), np.array([2.0, 1.0]),
    ...              np.zeros(2), np.ones(3), Holes())
    0
    >>> out
    array([0., 1., 3.], dtype=float32)
    """
    if isinstance(output, np.ndarray) and output.dtype == numerator.dtype:
        return combine_counting(numerator, denominator, centre, kernel, rule, output[place], offset, small)[1]
    combined, smalls = combine_counting(numerator, denominator, centre, kernel, rule, None, offset, small)
    place_into(output, place, out_dtype, combined)
    return smalls


def place_into(output, place: tuple[slice, ...], out_dtype: np.dtype, combined: np.ndarray) -> None:
    """Write ``combined`` (outputs computed apart) into ``output[place]`` as ``out_dtype``:
    rounded as it is written into a float array, else cast as scipy.ndimage casts.

    Examples
    --------
    >>> out = np.zeros(2, np.int16)
    >>> place_into(out, (slice(0, 2),), out.dtype, np.array([1.6, -2.5])); out
    array([ 1, -2], dtype=int16)
    """
    if isinstance(output, np.ndarray) and output.dtype.kind == "f":
        with np.errstate(over="ignore"):
            output[place] = combined
    else:
        output[place] = cast(combined, out_dtype, NDIMAGE.integers)


def _divided(numerator: np.ndarray, denominator: np.ndarray, out: np.ndarray, limit: float,
             test: int, offset: float = 0.0, small: float = 0.0) -> tuple[np.ndarray | None, int]:
    """``out = numerator / (denominator + offset)``; the outputs whose denominator is empty by
    ``test`` (`EMPTY_AT_MOST` ``limit``, ...), or None when none is (the compiled pass counts
    them while dividing: the mask is made only for a block that has some), and how many
    denominators' magnitudes are below ``small``. ``limit``, ``offset`` and ``small`` are taken
    in the denominator's dtype on both paths."""
    kind = denominator.dtype.type
    limit, offset, small = kind(limit), kind(offset), kind(small)
    compiled = float_passes is not None and _alike(numerator, denominator, out)
    if compiled:
        empties, smalls = float_passes.divide(numerator, denominator, out, limit, test, offset, small)
        if not empties:
            return None, smalls
    if offset:
        denominator = denominator + offset
    if not compiled:
        smalls = int(np.count_nonzero(np.abs(denominator) < small)) if small else 0
    if test == EMPTY_AT_MOST:
        empty = denominator <= limit
    elif test == EMPTY_ABS_AT_MOST:
        empty = np.abs(denominator) <= limit
    else:
        empty = denominator < limit
    if not compiled:
        with np.errstate(divide="ignore", invalid="ignore"):
            np.divide(numerator, denominator, out=out)
    return (empty if compiled or empty.any() else None), smalls


def filter_with_holes(extended: np.ndarray, kernel: np.ndarray, axes, before, correlate: bool, method: str,
                      threads: int, rule: Holes, memory_limit: object = run.CONFIGURED,
                      plan: Plan | None = None) -> np.ndarray:
    """The normalised filter of one block extended by its halo (holes are NaN); ``plan`` as
    `weighted_sums` takes it.

    Examples
    --------
    >>> filter_with_holes(np.array([0.0, 1.0, np.nan, 3.0, 0.0]), np.ones(3), [0], [1], True, "auto", 1,
    ...                   Holes(scale=3.0))
    array([1.5, 6. , 4.5])
    """
    numerator, denominator = weighted_sums(extended, kernel, axes, before, correlate, method, threads,
                                           memory_limit, plan)
    shape = numerator.shape
    centre = extended[tuple(slice(b, b + n) for b, n in zip(before, shape))]
    return combine(numerator, denominator, centre, kernel, rule)


def scale_of(kernel: np.ndarray) -> float:
    """The kernel's sum, refused where it is too close to zero to divide by: the factor that
    makes a hole-free region's normalised filter its plain one.

    Examples
    --------
    >>> scale_of(np.array([1.0, 2.0]))
    3.0
    """
    total = float(np.sum(kernel).real)
    if math.isclose(total, 0.0, abs_tol=1e-8 * max(float(np.abs(kernel).sum()), 1e-300)):
        raise ValueError("filling holes (nan='interpolate') needs a kernel whose sum is not zero: each "
                         "output is the kernel-weighted mean of the valid pixels in reach; use nan='fill' "
                         "for zero-sum kernels")
    return total
