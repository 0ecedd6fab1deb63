"""``convolve`` and ``correlate``: drop-ins for scipy.ndimage's N-D filters on fftconv's engine.

The input is extended by the boundary ``mode`` (block by block, with the widths the kernel's
centre and ``origin`` ask for: `fftconv.engine.blocks`) and then convolved or correlated in
'valid' mode, so every method (direct, whole FFT, tiles, separable) serves every mode; long
kernels become fast.

ndimage conventions kept: the output has the input's shape and, by default, its dtype
(integer outputs are truncated toward zero, as ndimage's C cast does); the kernel's centre is
``n // 2 + origin`` on each axis; ``convolve`` flips the weights and mirrors ``origin`` (one
sample further for even lengths), exactly as scipy does.
"""

from __future__ import annotations

import dataclasses
import math
import operator
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .. import config
from ..backends.threads import resolve_threads
from ..core.boundary import MODES, fold_taps, foldable
from ..core.dtypes import UnsupportedDtypeError, as_operand, cast
from ..core.lines import line_shape, long_axis, moved_back, moved_last, moved_shape
from ..core.memory import check_fits
from ..core.messages import shown
from ..core.problem import NDIMAGE
from ..engine import lane, tiny, tiny_holes
from ..engine.blocks import (
    DEFAULT_STREAM_BUDGET,
    BlockFilter,
    extension_dtype,
    filter_in_blocks,
    whole_image_holes_route,
    whole_image_route,
)
from ..engine.footprint import Footprint, resum_nonfinite, skips_weights, without_skipped
from ..engine.holes import Holes, scale_of
from ..engine.holes import compute_dtype as compute_dtype_of_holes
from ..executors.direct_box import box_value
from ..executors.nonfinite import all_finite
from ..executors.registry import check_method
from ..installed import imported
from .arguments import NDImageMode, check_axes, check_cval_is_a_number, normalize_sequence

__all__ = ["NAN_TREATMENTS", "convolve", "correlate", "filter_holes", "prepare_filter"]


def _per_axis(value, n: int, name: str) -> list[int]:
    """One integer per axis, as scipy.ndimage reads ``origin``."""
    try:
        return [operator.index(v) for v in normalize_sequence(value, n)]
    except TypeError:
        raise TypeError(f"{name} must be integers, got {shown(value)}") from None


def correlate(input: ArrayLike, weights: ArrayLike, output: object = None, mode: NDImageMode = "reflect",
              cval: complex = 0.0, origin: int | Sequence[int] = 0, *,
              axes: int | Sequence[int] | None = None, method: str = "auto", threads: int | None = None,
              progress: bool = False, nan: str = "propagate", mask: ArrayLike | None = None) -> np.ndarray:
    """Multidimensional correlation (drop-in for ``scipy.ndimage.correlate``).

    Parameters
    ----------
    input : array_like
        The image.
    weights : array_like
        The kernel; one axis per filtered axis.
    output : ndarray or dtype, optional
        Where to write the result, or its dtype (default: the input's dtype).
    mode : {'reflect', 'constant', 'nearest', 'mirror', 'wrap', 'grid-mirror', 'grid-constant', 'grid-wrap'}
        How the input extends beyond its edges.
    cval : scalar
        Value outside the input for the constant modes.
    origin : int or sequence of int
        Shift of the kernel's centre (``n // 2 + origin``) per axis.
    axes : int or sequence of int, optional
        Axes to filter (default all).
    method, threads : keyword-only
        As in `fftconv.convolve`.
    progress : bool, keyword-only
        Show a progress bar over the blocks (for long filters of big inputs).
    nan : {'propagate', 'interpolate', 'fill'}, keyword-only
        What NaN pixels (holes) are, as astropy's ``nan_treatment``: 'propagate' (default,
        scipy's behaviour) sums them as values, so they spread over the kernel's footprint;
        'interpolate' gives them weight 0: each output is the kernel-weighted mean of the valid
        pixels in reach times the kernel's sum (normalised convolution; a region without holes
        gets its plain filter; an output with no valid pixel in reach is NaN; the kernel's sum
        must not be zero); 'fill' replaces them by ``cval`` first. Pixels beyond the edges
        count as valid unless the mode makes them NaN (``cval=nan``).
    mask : array_like of bool, keyword-only
        Pixels to treat as holes (True), beside the NaN ones; a masked array's mask counts too.

    Notes
    -----
    The output is computed in blocks whose working memory stays under ``[memory] limit``
    (`fftconv.config`; one block when no limit is set and the input is in memory). Memmaps and
    array-like datasets (h5py, zarr: anything with ``shape``, ``dtype`` and slicing) are read
    block by block, under 256 MiB when no limit is set; pass ``output=`` a memmap or dataset
    to keep the result out of memory too. A limit too small for one block raises
    `fftconv.MemoryLimitError` before any work.

    Examples
    --------
    >>> import numpy as np, fftconv.ndimage
    >>> fftconv.ndimage.correlate(np.arange(5.0), [1.0, 2.0, 0.0])
    array([ 0.,  2.,  5.,  8., 11.])
    >>> fftconv.ndimage.correlate(np.array([1.0, np.nan, 3.0]), [1.0, 1.0, 1.0], nan="interpolate")
    array([3., 6., 9.])
    """
    return _filter(input, weights, output, mode, cval, origin, axes, method, threads, False, progress, nan,
                   mask, footprint=True)


def convolve(input: ArrayLike, weights: ArrayLike, output: object = None, mode: NDImageMode = "reflect",
             cval: complex = 0.0, origin: int | Sequence[int] = 0, *, axes: int | Sequence[int] | None = None,
             method: str = "auto", threads: int | None = None, progress: bool = False, nan: str = "propagate",
             mask: ArrayLike | None = None) -> np.ndarray:
    """Multidimensional convolution (drop-in for ``scipy.ndimage.convolve``).

    Parameters as in `correlate`; the weights are flipped and ``origin`` mirrored as in scipy.

    Examples
    --------
    >>> import numpy as np, fftconv.ndimage
    >>> fftconv.ndimage.convolve(np.arange(5.0), [1.0, 2.0], mode="constant")
    array([ 1.,  4.,  7., 10.,  8.])
    """
    return _filter(input, weights, output, mode, cval, origin, axes, method, threads, True, progress, nan,
                   mask, footprint=True)


def _masked_array(value: object) -> bool:
    """Whether ``value`` is a NumPy masked array, without importing ``numpy.ma`` (NumPy 2 loads
    it lazily, and its import was 8-10 ms of a fresh process' first ndimage call): none can
    exist before it is imported.

    Examples
    --------
    >>> _masked_array(np.ma.masked_invalid([1.0, np.nan])), _masked_array(np.ones(2))
    (True, False)
    """
    ma = imported("numpy.ma")
    return ma is not None and isinstance(value, ma.MaskedArray)


#: What ``nan=`` takes.
NAN_TREATMENTS = ("propagate", "interpolate", "fill")


def filter_holes(input: ArrayLike, weights: ArrayLike, rule: Holes, *, convolution: bool = True,
                 mode: NDImageMode = "reflect", cval: float = 0.0, mask: ArrayLike | None = None,
                 method: str = "auto", threads: int | None = None, output: DTypeLike = None) -> np.ndarray:
    """The normalised filter of ``input``'s holes (NaN or ``mask``) by an explicit ``rule``
    (`fftconv.engine.holes.Holes`: the scale, what an output with no valid pixel in reach
    gets): the building block of ``nan='interpolate'`` and of `fftconv.astropy`, summed in the
    rule's dtype (else the image's float dtype), block by block under ``[memory] limit``, and
    returned in ``output``'s dtype (None: the sums'), each block rounded to it once combined.

    Examples
    --------
    >>> import numpy as np
    >>> from fftconv.engine.holes import Holes
    >>> filter_holes(np.array([1.0, np.nan, np.nan, np.nan, 5.0]), np.ones(3), Holes(empty="zero"),
    ...              mode="constant", cval=np.nan)
    array([1., 1., 0., 5., 5.])
    """
    source = _source(input)
    dtype = np.dtype(rule.dtype) if rule.dtype is not None else compute_dtype_of_holes(np.dtype(source.dtype))
    return _filter(input, weights, dtype if output is None else np.dtype(output), mode, cval, 0, None, method,
                   threads, convolution, False, "interpolate", mask, rule)


def _filter(input, weights, output, mode, cval, origin, axes, method, threads, convolution, progress,
            nan="propagate", mask=None, rule=None, footprint=False):
    """The body of `correlate` and `convolve` (``footprint``: their loop's, which leaves out
    tiny weights: `prepare_filter`), and of the 1-D passes."""
    if nan not in NAN_TREATMENTS:
        raise ValueError(f"nan must be one of {', '.join(map(repr, NAN_TREATMENTS))}, got {shown(nan)}")
    if _masked_array(input):
        masked = np.ma.getmaskarray(input)
        mask = masked if mask is None else masked | (np.asarray(mask) != 0)
        input = np.ma.getdata(input)
    plain = nan == "propagate" and mask is None
    if plain and nonfinite_complex(input, weights, [cval]):
        return _filter_by_parts(input, weights, output, mode, cval, origin, axes, method, threads,
                                convolution, progress, footprint)
    key = None
    into = output if type(output) is np.ndarray else None  # what a remembered route writes into
    if not plain and mask is None:  # holes: a repeated signature's block was planned before
        key = lane.ndimage_key(input, weights, output, mode, cval, origin, axes, method, threads, progress,
                               convolution, kernel_bytes=lane.HOLES_KERNEL_BYTES)
        key = None if key is None else (*key, nan, rule)
        route = lane.get(key)
        if route is not None:
            return route(input, into)
    if plain:
        # a tiny call's first time goes to scipy's loop (planning costs more than its sum); once
        # its signature repeats, fftconv's own loop is remembered for it where it is faster
        routed = tiny.routed_when_repeated(input, weights)
        if routed:
            key = lane.ndimage_key(input, weights, output, mode, cval, origin, axes, method, threads,
                                   progress, convolution)
            route = lane.get(key)
            if route is not None:  # this signature was checked and planned before
                return route(input, into)
        if not (routed and lane.repeated(key)):
            quick = tiny.ndimage_filter(input, weights, output, mode, cval, origin, axes, method, threads,
                                        progress, convolution)
            if quick is not None:
                return quick
            rented = None if key is None else tiny.rented_ndimage_route(
                input, weights, output, mode, cval, origin, axes, method, threads, progress, convolution)
            if rented is not None:  # its first calls on fftconv's tiny loop, then it is planned
                lane.rent(key, rented, tiny.RENT_NDIMAGE_SECONDS)
                route = lane.get(key)
                return (route or rented)(input, into)
        if not routed:
            key = lane.ndimage_key(input, weights, output, mode, cval, origin, axes, method, threads,
                                   progress, convolution)
            route = lane.get(key)
            if route is not None:
                return route(input, into)
    entered = time.perf_counter()
    x = _source(input)
    work, out_dtype, out_array = prepare_filter(x, weights, output, mode, cval, origin, axes, method, threads,
                                                convolution, nan, footprint and mask is None, rule)
    mask = None if mask is None else _mask(mask, x)
    if work.footprint is not None and _overlaps(out_array, x):
        work, x = _footprint_in_place(work, x, isinstance(input, np.memmap))
    ndim = len(x.shape)
    if out_array is None:
        check_fits(math.prod(x.shape) * out_dtype.itemsize, f"filtering {tuple(x.shape)}")
    image, given_output = x, out_array
    seen = seen_as(x, work, out_array)
    if seen is not None and seen.moved is not None and x.nbytes > MOVED_SLABS_ABOVE and not progress:
        lane.unrouted(key)  # (planned per slab, a small part of a call this size)
        return _moved_in_slabs(x, seen, out_dtype, out_array, mask, block_budget(input))
    if seen is not None:  # the image filtered in another shape, where that is quicker
        if seen.moved is not None:
            copies = x.nbytes + math.prod(x.shape) * out_dtype.itemsize  # the image's and the result's
            check_fits(copies, f"filtering {tuple(x.shape)} along its lines")
        work, ndim = seen.work, len(seen.shape)
        x = seen.image(x)
        mask = None if mask is None else seen.image(mask)
        out_array = None if out_array is None else seen.output(out_array)
    kernel = work.kernel
    limit = config.get().memory_limit
    keyed = key is not None and not work.for_finite_image
    if keyed and limit is None and ndim > 0 and math.prod(x.shape) > 0:
        unplanned = work.holes is not None and (seen is None or seen.moved is None)
        if unplanned and lane.renting(key, tiny_holes.RENT_SECONDS):
            # a small signature's first calls are summed without a plan; then it is planned
            route = tiny_holes.unplanned_route(x, work, extension_dtype(np.dtype(x.dtype), work), out_dtype)
            if route is not None:
                route = route if seen is None else _seen_route(route, seen)
                result = route(image, given_output)
                lane.pay(key, time.perf_counter() - entered)
                lane.rent(key, route, tiny_holes.RENT_SECONDS)
                return result
        if work.holes is not None:
            route, lease = whole_image_holes_route(x, work, out_dtype)
        else:
            routed_here = whole_image_route(x, work, out_dtype)
            route, lease = routed_here if routed_here is not None else (None, None)
            if route is not None and work.footprint is not None:
                route = _summing_footprint(route, work)
        if route is not None:
            if seen is not None:
                route = _seen_route(route, seen)
            lane.remember(key, route, lease)
            return route(image, given_output)
    lane.unrouted(key)  # no route to remember: a tiny call of this signature stays with scipy's loop
    target = out_array if out_array is not None else np.empty(x.shape, out_dtype)
    if ndim == 0:  # a number times a number, as scipy computes it
        target[...] = cast(np.asarray(np.asarray(x) * kernel), out_dtype, NDIMAGE.integers)
        return target
    if math.prod(x.shape) > 0:
        filter_in_blocks(x, work, target, out_dtype, block_budget(input), progress, mask)
        if work.footprint is not None:
            resum_nonfinite(x, target, work.footprint, work.mode, work.cval)
    if seen is None or target is out_array:  # (a view of the caller's output was written)
        return target if seen is None else given_output
    return seen.restore(target, image.shape, given_output)


@dataclass(frozen=True)
class SeenAs:
    """An image filtered in another shape than its own (`seen_as`): the filter there, that
    shape, and where the lines are moved last by a copy, their ``(before, length, after)``
    (`fftconv.core.lines.moved_shape`; None: the shape is a view of the image)."""

    work: BlockFilter
    shape: tuple[int, ...]
    moved: tuple[int, int, int] | None = None

    def image(self, x: np.ndarray) -> np.ndarray:
        """``x`` (the image, or its mask) in this shape."""
        return x.reshape(self.shape) if self.moved is None else moved_last(x, self.moved)

    def output(self, out: np.ndarray) -> np.ndarray | None:
        """A view of the output array ``out`` in this shape for the filter to write, or None."""
        if self.moved is not None:
            return None
        try:
            return out.reshape(self.shape, copy=False)
        except ValueError:  # an output no view sees in that shape
            return None

    def restore(self, result: np.ndarray, shape: tuple[int, ...], out: np.ndarray | None) -> np.ndarray:
        """The filter's ``result`` (in this shape) in the image's ``shape``: written into the
        output array ``out`` if given, else as a C-contiguous array (a view of ``result``)."""
        if self.moved is not None:
            return moved_back(result, self.moved, shape, out)
        if out is None:
            return result.reshape(shape)
        out[...] = result.reshape(out.shape)
        return out


#: Bytes of lines moved last at a time (`_moved_in_slabs`) in images of more than
#: `MOVED_SLABS_ABOVE` bytes (below, the slabs' planning cost what they save: 1024x768x4
#: float32, 12 MiB, 5.7 ms moved at once, 5.9 in slabs; 512x512x3 float64 2.3 and 2.7).
MOVED_SLAB_BYTES = 4 << 20
MOVED_SLABS_ABOVE = 16 << 20


def seen_as(x, work: BlockFilter, out_array: np.ndarray | None) -> SeenAs | None:
    """The shape an in-memory image is filtered in where it is quicker than its own, and the
    filter for it (None: its own):

    - a 1-D image with holes as one row, whose holes the rows' one compiled pass fills
      (`BlockFilter.one_row`);
    - an image of three or more axes whose kernel is longer than 1 on one axis alone as the
      lines along that axis (`fftconv.core.lines`): a view where the image and an output
      array given are viewed so without a copy (the executors had summed short rows of the
      volume; Intel Xeon, 1 thread, repeated calls, a 100x128x128 float32 image, 25 float32
      taps along axis 0: 8.4 ms in the volume's shape, 2.4 ms as the columns of a 100x16384
      matrix; with 2 % NaN holes filled, 25.6 and 6.5 ms; 64x64x64x8 along axis 1: 87 and
      2.5 ms), and a copy with the lines moved last where the kernel's axis is a middle one
      whose trailing axes hold few samples (`moved_shape`: an RGB image blurred along its
      rows, 512x512x3 float32, 14.3 -> 2.1 ms; with holes 34 -> 3.4 ms), for an array in
      memory without a ``[memory] limit``, by a kernel other than a box (whose running sums
      read short rows as fast as long ones: 1024x768x4 float32, 9 taps along axis 1, 3.4 ms
      in place, 9.3 moved).

    Examples
    --------
    >>> work, _, _ = prepare_filter(np.zeros((100, 64, 64)), np.ones((25, 1, 1)), None, "reflect", 0.0, 0,
    ...                             None, "auto", 1, False)
    >>> seen = seen_as(np.zeros((100, 64, 64)), work, None)
    >>> seen.shape, seen.work.kernel.shape, seen.moved
    ((100, 4096), (25, 1), None)
    """
    if not isinstance(x, np.ndarray):
        return None
    if x.ndim == 1 and work.holes is not None:
        return SeenAs(work.one_row(), (1, *x.shape))
    long = long_axis(work.kernel.shape) if x.ndim >= 3 and work.footprint is None else None
    if long is None:
        return None
    settings = config.get()
    if "separable" in (work.method, settings.method):  # its passes need a kernel of two axes
        return None
    moved = moved_shape(x.shape, long)
    if moved is not None and type(x) is np.ndarray and settings.memory_limit is None \
            and box_value(work.kernel) is None:  # (a box's running sums read short rows as fast)
        return SeenAs(work.along_lines(long, 1, 2), (moved[0] * moved[2], moved[1]), moved)
    shape, axis = line_shape(x.shape, long)
    if len(shape) == x.ndim:  # lines already (the middle axis of a volume)
        return None
    try:
        for array in (x, out_array):
            if array is not None:
                array.reshape(shape, copy=False)
    except ValueError:  # not contiguous where a view would have to be: filtered in its own shape
        return None
    return SeenAs(work.along_lines(long, axis, len(shape)), shape)


def _moved_in_slabs(x: np.ndarray, seen: SeenAs, out_dtype: np.dtype, output: np.ndarray | None,
                    mask: np.ndarray | None, budget: int | None) -> np.ndarray:
    """The filter of ``x`` (`seen_as`: lines moved last) slab by slab: each slab of about
    `MOVED_SLAB_BYTES` of lines is copied with its lines moved last, filtered and moved back
    into the output, so that the copies stay near the cache, where the whole image moved
    at once read and wrote it three times over from memory (Intel Xeon, 1 thread,
    ``correlate1d`` of 9 taps along the rows of 2048x2048x3 float64: 89 ms moved at once,
    65 in slabs of 4 MiB, scipy.ndimage 69.5; float32 51 and 39, scipy 55; 1024x768x4 float64
    16.2 and 11.1, scipy 13.7)."""
    before, length, after = seen.moved
    rows = max(1, MOVED_SLAB_BYTES // max(1, length * after * x.itemsize))
    check_fits(2 * min(rows, before) * length * after * max(x.itemsize, out_dtype.itemsize),
               f"filtering {tuple(x.shape)} along its lines")
    lines = x.reshape(before, length, after)
    holes = None if mask is None else mask.reshape(before, length, after)
    target = output if output is not None and output.flags.c_contiguous else np.empty(x.shape, out_dtype)
    written = target.reshape(before, length, after)
    buffer = np.empty((min(rows, before) * after, length), out_dtype)
    for lo in range(0, before, rows):
        hi = min(before, lo + rows)
        part = (hi - lo, length, after)
        moved = moved_last(lines[lo:hi], part)
        result = buffer[: moved.shape[0]]
        filter_in_blocks(moved, seen.work, result, out_dtype, budget, False,
                         None if holes is None else moved_last(holes[lo:hi], part))
        written[lo:hi] = result.reshape(hi - lo, after, length).transpose(0, 2, 1)
    if output is not None and target is not output:
        output[...] = target
    return target if output is None else output


def _seen_route(route, seen: SeenAs):
    """``route`` (made for images in ``seen``'s shape) for images of their own shape."""

    def call(image: np.ndarray, output: np.ndarray | None = None) -> np.ndarray:
        view = None if output is None else seen.output(output)
        result = route(seen.image(image), view)
        return output if view is not None else seen.restore(result, image.shape, output)
    return call


def _overlaps(output, x) -> bool:
    return isinstance(output, np.ndarray) and isinstance(x, np.ndarray) and np.may_share_memory(output, x)


def _footprint_in_place(work: BlockFilter, x: np.ndarray, mapped: bool) -> tuple[BlockFilter, np.ndarray]:
    """For an output that is the image: its non-finite outputs are summed again from its values
    after it is written over. An image with no NaN or inf needs none summed (the footprint is
    dropped); one in memory is read from a copy; a memmap (``mapped``) is refused (its copy may
    not fit)."""
    if all_finite(x):
        return dataclasses.replace(work, footprint=None), x
    if mapped:
        raise ValueError("output is the input, which holds NaN or inf, and the weights have zero taps that "
                         "scipy.ndimage leaves out (a NaN reaches only the others' outputs): the filter "
                         "needs the input's values after writing the output; pass a separate output array")
    return work, x.copy()


def _summing_footprint(route, work: BlockFilter):
    """``route`` (`whole_image_route`'s), then the non-finite outputs summed again over the
    footprint of ``work``'s weights, as scipy.ndimage's loop sums them."""

    def call(image: np.ndarray, output: np.ndarray | None = None) -> np.ndarray:
        if _overlaps(output, image):
            image = image.copy()
        result = route(image, output)
        resum_nonfinite(image, result, work.footprint, work.mode, work.cval)
        return result
    return call


def block_budget(input: object) -> int | None:
    """Bytes the blocks of a filter of ``input`` may use: ``[memory] limit``, or for memmaps
    and datasets without one `DEFAULT_STREAM_BUDGET` (None: an in-memory image, one block).

    Examples
    --------
    >>> block_budget(np.zeros(3)) is None
    True
    """
    limit = config.get().memory_limit
    in_memory = isinstance(input, np.ndarray) and not isinstance(input, np.memmap)
    return limit if limit is not None or in_memory else DEFAULT_STREAM_BUDGET


def _mask(mask, x) -> np.ndarray:
    """``mask`` as a boolean array of the image's shape (nonzero: a hole)."""
    m = mask if hasattr(mask, "shape") and not isinstance(mask, np.ndarray) else np.asarray(mask)
    if tuple(m.shape) != tuple(x.shape):
        raise ValueError(f"mask must have the input's shape {tuple(x.shape)}, got {tuple(m.shape)}")
    return m if isinstance(m, np.ndarray) and m.dtype == bool else (np.asarray(m) != 0)


def prepare_filter(x, weights, output, mode, cval, origin, axes, method, threads, convolution: bool,
                   nan: str = "propagate", footprint: bool = False, rule: Holes | None = None
                   ) -> tuple[BlockFilter, np.dtype, object]:
    """scipy.ndimage's checks and readings of a call's arguments, for an image ``x`` (anything
    with ``shape`` and ``dtype``): the `fftconv.engine.blocks.BlockFilter` to run, the output
    dtype, and the output array given (or None). Shared by this module and `fftconv.dask.ndimage`.
    ``footprint``: the weights are the N-D ``correlate``/``convolve``'s, whose loop leaves out
    the tiny ones (`fftconv.engine.footprint`; scipy's 1-D filters sum every weight).
    ``rule``: the holes' rule of a filter with holes (`filter_holes`), else one rescaled by the
    kernel's sum (``nan='interpolate'``, which refuses a kernel summing to zero).

    Examples
    --------
    >>> import numpy as np
    >>> work, dtype, out = prepare_filter(np.ones((5, 5)), np.ones((3, 2)), None, "reflect", 0.0, 0,
    ...                                   None, "auto", 1, False)
    >>> work.before, dtype, out
    ((1, 1), dtype('float64'), None)
    """
    w = as_operand(weights, "weights")
    if w.dtype.kind == "O":  # Python numbers as weights: read as float64 (or refused) as scipy reads them
        w = w.astype(np.float64)
    if np.dtype(x.dtype).kind == "O":
        raise RuntimeError("array type not supported")  # scipy's error: no Python numbers here
    ndim = len(x.shape)
    axes = list(check_axes(axes, ndim)) if ndim else []
    if not isinstance(mode, str) or mode not in MODES:
        raise RuntimeError(f"boundary mode not supported: {shown(mode)}; use one of {', '.join(MODES)}")
    check_method(method)
    nthreads = resolve_threads(threads)
    kernel, before = _kernel_and_halo(w, axes, origin, ndim, convolution)
    _check_cval(cval, x, w)
    out_dtype, out_array = _output(output, x, w)
    if out_dtype.kind in "biu":  # scipy.ndimage sums in double before truncating: so do we
        kernel = kernel.astype(np.float64)
    summed_taps = None
    # (an integer image read with a finite border has no NaN or inf for the footprint to keep)
    nonfinite_possible = np.dtype(x.dtype).kind in "fc" or not bool(np.isfinite(cval))
    if footprint and nan == "propagate" and skips_weights(kernel):
        # scipy's loop never sums these, a NaN weight among them: left out of any image's sums
        kernel = without_skipped(kernel)
        if nonfinite_possible:
            # the correlation the executors sum: a convolution reverses its kernel about `before`, a
            # correlation conjugates complex weights (as numpy.correlate; scipy.ndimage does so too)
            taps = np.flip(kernel, tuple(axes)) if convolution else np.conj(kernel)
            summed_taps = Footprint(taps, tuple(before))
    kernel, before, for_finite_image = _folded(kernel, before, axes, x, mode, cval, convolution)
    holes = fill = None
    if nan != "propagate" and np.dtype(x.dtype).kind == "c":
        raise TypeError(f"nan={shown(nan)} needs a real image: holes are NaN pixels of real data")
    if nan == "interpolate":  # an explicit rule scales as it says (astropy's does not rescale)
        holes = rule if rule is not None else Holes(scale=scale_of(kernel))
    elif nan == "fill":
        fill = cval
    work = BlockFilter(kernel, tuple(sorted(axes)), tuple(before), mode, cval, not convolution, method,
                       nthreads, holes, fill, for_finite_image, summed_taps)
    return work, out_dtype, out_array


def _folded(kernel: np.ndarray, before: list[int], axes: list[int], x, mode: str, cval: object,
            convolution: bool) -> tuple[np.ndarray, list[int], bool]:
    """The kernel folded along each filtered axis where it is longer than the samples the
    mode lets it tell apart (`fftconv.core.boundary.fold_taps`): a Gaussian of sigma 10**5 on
    60 columns sums 120 taps, not 800,001. Taps of both signs are folded only where no
    sample read is NaN or infinite: an integer image, or an in-memory one checked (once, and
    only when such a fold is due: a pass over an image costs less than its filter by a kernel
    longer than its axis). The flag says a fold relied on that check: the kernel is this
    image's only (the lane must not remember it for the next image of the signature)."""
    before = list(before)
    finite = np.dtype(x.dtype).kind in "biu" and bool(np.isfinite(cval))
    checked = finite
    for_finite_image = False
    for a in axes:
        if not foldable(kernel.shape[a], before[a], x.shape[a], mode):
            continue
        taps = np.flip(kernel, a) if convolution else kernel  # folded as the correlation it sums
        if taps.dtype == bool:
            taps = taps.astype(np.int64)
        folded, folded_before = fold_taps(taps, a, before[a], x.shape[a], mode, finite)
        if folded is taps and not checked:  # refused for the signs of its taps: are the samples finite?
            checked = True  # (a memmap or dataset is not read for it)
            finite = type(x) is np.ndarray and bool(np.isfinite(cval)) and all_finite(x)
            folded, folded_before = fold_taps(taps, a, before[a], x.shape[a], mode, finite)
            for_finite_image = for_finite_image or folded is not taps
        if folded is not taps:
            kernel, before[a] = (np.flip(folded, a) if convolution else folded), folded_before
    return kernel, before, for_finite_image


def _kernel_and_halo(w: np.ndarray, axes: list[int], origin, ndim: int, convolution: bool
                     ) -> tuple[np.ndarray, list[int]]:
    """scipy.ndimage's reading of ``weights``, ``axes`` and ``origin``: the kernel with one axis
    per image axis (the weights' axes go to the filtered axes in increasing order, length 1
    elsewhere) and, per image axis, the samples each output's sum reads before it. The
    origins follow ``axes`` in the order given (positionally when every axis is filtered), and
    a convolution mirrors them (one further for even lengths), as scipy does."""
    filtered = [n for n in w.shape if n > 0]
    if len(filtered) != len(axes) or w.size == 0 and not axes:
        raise RuntimeError(f"weights.ndim ({len(filtered)}) must match len(axes) ({len(axes)})")  # scipy's
    if w.size == 0:
        raise RuntimeError("no filter weights given")  # scipy's error
    given = _per_axis(origin, len(axes), "origin")
    if len(axes) < ndim:
        w = np.expand_dims(w, tuple(a for a in range(ndim) if a not in axes))
        origins = [0] * ndim
        for o, a in zip(given, axes):
            origins[a] = o
    else:
        origins = given
    if convolution:
        origins = [-o - (1 - n % 2) for o, n in zip(origins, w.shape)]
    for o, n in zip(origins, w.shape):
        if not -(n // 2) <= o <= (n - 1) // 2:
            raise ValueError("Invalid origin; origin must satisfy -(weights.shape[k] // 2) <= origin[k] <= "
                             "(weights.shape[k]-1) // 2")
    return w, [n // 2 + o if a in axes else 0 for a, (n, o) in enumerate(zip(w.shape, origins))]


def nonfinite_complex(input, weights, cvals) -> bool:
    """Whether a complex image (an array) filtered by real weights holds a NaN or infinity, or
    reads a non-finite ``cval`` beyond its edges: scipy.ndimage filters such an image's real
    and imaginary parts apart, so that a NaN in one part leaves the other finite, where complex
    products carry it into both (NaN x 0 is NaN).

    Examples
    --------
    >>> nonfinite_complex(np.array([1 + 1j, complex(np.nan, 1)]), np.ones(3), [0.0])
    True
    >>> nonfinite_complex(np.array([1 + 1j]), np.ones(3), [0.0])
    False
    """
    if not isinstance(input, np.ndarray) or input.dtype.kind != "c" or np.iscomplexobj(weights):
        return False
    # a finite sum has no NaN or infinity to carry (one that overflows takes the parts' route: the
    # same answer); summing makes no temporary, where isfinite's mask is an image of bools
    with np.errstate(over="ignore", invalid="ignore"):
        return not all(np.isfinite(c) for c in cvals) or not np.isfinite(input.sum())


def _filter_by_parts(input, weights, output, mode, cval, origin, axes, method, threads, convolution, progress,
                     footprint):
    """`_filter` of a complex image's real and imaginary parts apart, each into its part of
    the complex output (`nonfinite_complex`), as scipy.ndimage computes them."""
    out_dtype, out_array = _output(output, input, _REAL)
    target = out_array if out_array is not None else np.empty(input.shape, out_dtype)
    if not isinstance(target, np.ndarray):  # a dataset to write: one complex result, then written
        target[...] = _filter_by_parts(input, weights, None, mode, cval, origin, axes, method, threads,
                                       convolution, progress, footprint).astype(out_dtype, copy=False)
        return target
    for part in (np.real, np.imag):
        _filter(part(input), weights, part(target), mode, part(cval), origin, axes, method, threads,
                convolution, progress, footprint=footprint)
    return target


def _source(input):
    """The input as an array, or as itself when it is an array-like dataset (h5py, zarr, ...)
    that slicing reads from: such sources are filtered block by block, never read whole.
    Python objects are refused, as scipy.ndimage refuses them."""
    if isinstance(input, np.ndarray) or not all(hasattr(input, a) for a in ("shape", "dtype", "__getitem__")):
        x = as_operand(input, "input")
    else:
        x = input
    if np.dtype(x.dtype).kind not in "biufc":
        raise UnsupportedDtypeError(f"array type not supported: input has dtype {x.dtype}, which cannot be "
                                    "filtered; pass booleans, integers, floats or complex numbers")
    return x


#: A stand-in for real weights where an output dtype is decided (`_output`).
_REAL = np.zeros(1)


def _output(output, x, w: np.ndarray, promote: bool = True):
    """(dtype, array to write or None) from ndimage's ``output``: an array, a dataset with
    ``shape``/``dtype``/item assignment (h5py, zarr), a dtype or its name, or None. A complex
    image or kernel makes a complex result, as in scipy.ndimage: a real dtype asked for is
    promoted with a warning (refused, as a real output array always is, where ``promote`` is
    False: scipy's filters that make their output before running their passes)."""
    complex_result = np.dtype(x.dtype).kind == "c" or w.dtype.kind == "c"
    if isinstance(output, np.ndarray) or (
        all(hasattr(output, a) for a in ("shape", "dtype", "__setitem__")) and not isinstance(output, type)
    ):
        if tuple(output.shape) != tuple(x.shape):
            raise RuntimeError("output shape not correct")  # scipy's error
        if complex_result and np.dtype(output.dtype).kind != "c":
            raise RuntimeError("output must have complex dtype")  # scipy's error
        if isinstance(output, np.ndarray) and not output.flags.writeable:
            raise ValueError("output array is read-only.")  # scipy's error, before any work
        return np.dtype(output.dtype), output
    if output is None:  # in native byte order, as scipy's (a big-endian image gives a native result)
        return (np.promote_types(x.dtype, np.complex64) if complex_result
                else np.dtype(x.dtype).newbyteorder("=")), None
    dtype = np.dtype(output)
    if isinstance(output, str):  # scipy refuses a name where it promotes a dtype object
        if promote and complex_result and dtype.kind != "c":
            raise RuntimeError("output must have complex dtype")
        if not issubclass(dtype.type, np.number):
            raise RuntimeError("output must have numeric dtype")
    if complex_result and dtype.kind != "c":
        if not promote:
            raise RuntimeError("output must have complex dtype")
        warnings.warn("promoting specified output dtype to complex", UserWarning, stacklevel=5)
        dtype = np.promote_types(dtype, np.complex64)
    return dtype, None


def _check_cval(cval: object, x, w: np.ndarray) -> None:
    """scipy.ndimage's errors for a ``cval`` that is not a number, or complex with a real
    image."""
    check_cval_is_a_number(cval)
    if np.iscomplexobj(cval) and np.dtype(x.dtype).kind != "c":
        if w.dtype.kind == "c":
            raise ValueError("Cannot provide a complex-valued cval when the input is real.")
        raise TypeError("must be real number, not complex")
