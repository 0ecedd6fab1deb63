"""Drop-ins for ``astropy.convolution.convolve`` and ``convolve_fft`` on fftconv's engine.

astropy 8's signatures, defaults, errors, warnings and answers (within rounding): every
boundary each function defines, ``fill_value``, ``nan_treatment`` ('interpolate' fills NaN
and masked pixels by normalised convolution: `fftconv.engine.holes`), ``normalize_kernel``,
``normalization_zero_tol``, ``preserve_nan``, ``mask``, masked arrays, and for
``convolve_fft`` ``min_wt``, ``crop``, ``return_fft``, ``fft_pad``, ``psf_pad``, ``dealias``,
``allow_huge`` and ``complex_dtype``. With astropy installed (``pip install
"fftconv[astropy]"``), astropy's ``Kernel`` objects, ``Quantity`` and ``NDData`` work as in
astropy, and the errors and warnings are astropy's own classes.

Where fftconv does the work differently, the answer stays astropy's within rounding:

* the sums and the NaN weights are one batch of two through fftconv's planner (direct sums,
  FFT, overlap-save tiles or separable passes, threads), in float64, block by block under
  ``[memory] limit``, never complex buffers;
* ``convolve_fft`` transforms real data at fast lengths (and with ``psf_pad`` its padded
  grid is never built: the boundary is read as fftconv's filters read it), so it needs a
  fraction of astropy's memory; its ``fftn``/``ifftn`` are used for ``return_fft`` only;
* ``convolve`` is not limited to one thread, and its direct-sum answer is computed by
  whichever method is fastest (so a hole's weights may be summed by an FFT: a denominator
  within rounding of zero counts as zero).

Examples
--------
>>> import numpy as np
>>> convolve([1.0, np.nan, 3.0], [1.0, 1.0, 1.0])  # the edges average with the fill value 0
array([0.5, 2. , 1.5])
>>> convolve([1.0, np.nan, 3.0], [1.0, 1.0, 1.0], boundary="extend")
array([1., 2., 3.])
>>> convolve_fft([1.0, np.nan, 3.0], [1.0, 1.0, 1.0])
array([0.5, 2. , 1.5])
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import math
import warnings

import numpy as np
import scipy.fft

from . import config
from .engine.footprint import TINY_WEIGHT, skips_weights
from .engine.holes import Holes, sum_is_nan
from .executors.nonfinite import all_finite
from .ndimage import convolve as ndimage_convolve
from .ndimage import filter_holes

__all__ = ["convolve", "convolve_fft"]

#: astropy.convolution.core's: kernels summing to less than its inverse cannot be normalised.
MAX_NORMALIZATION = 100
BOUNDARY_OPTIONS = [None, "fill", "wrap", "extend"]
#: Images of at least this many bytes are filtered in blocks (`_streamed`).
STREAM_BYTES = 64 << 20
#: ... in blocks whose working memory is at most this share of the image's bytes (smaller
#: blocks cost more than they save: on 2048² float64 images, blocks of the image's size ran
#: 1.4-2.6x slower for 3-4x less heap).
STREAM_SHARE = 0.5
#: convolve's boundaries as fftconv's modes (None: any; its edges are zeroed).
_MODES = {None: "constant", "fill": "constant", "extend": "nearest", "wrap": "grid-wrap"}
_HAS_ASTROPY = importlib.util.find_spec("astropy") is not None
#: `convolve`'s treatment of holes: float64 sums; an output with no valid pixel in reach keeps
#: its own pixel (NaN where it is a hole).
_CONVOLVE_RULE = Holes(empty="center", dtype=np.dtype(np.float64))


if _HAS_ASTROPY:
    from astropy.convolution.core import Kernel, Kernel1D, Kernel2D
    from astropy.convolution.utils import KernelSizeError
    from astropy.nddata import NDData, support_nddata
    from astropy.utils.console import human_file_size
    from astropy.utils.exceptions import AstropyUserWarning
else:  # the same behaviour for plain arrays, without astropy's classes

    class Kernel:  # type: ignore[no-redef]
        """Stands in for astropy's Kernel (nothing is one without astropy)."""

    Kernel1D = Kernel2D = Kernel

    class KernelSizeError(Exception):  # type: ignore[no-redef]
        """A kernel's size does not suit the function (astropy's KernelSizeError)."""

    class AstropyUserWarning(UserWarning):  # type: ignore[no-redef]
        """astropy's warning class, without astropy."""

    NDData = None  # type: ignore[assignment,misc]

    def support_nddata(data="array"):  # type: ignore[no-redef]
        return lambda func: func

    def human_file_size(size) -> str:  # type: ignore[no-redef]
        """astropy's rendering of a byte count (e.g. '1.2G')."""
        value = float(getattr(size, "value", size))
        for suffix, power in (("T", 12), ("G", 9), ("M", 6), ("k", 3)):
            if value >= 10**power:
                return f"{value / 10**power:.1f}{suffix}"
        return f"{int(value)}"


def _as_array(value, dtype, mask=None, masked_value=np.nan, copy=True) -> np.ndarray:
    """``value`` (an array, list, Kernel, Quantity or masked array) as a new C-ordered array of
    ``dtype``; masked pixels (of a masked array or ``mask``) set to ``masked_value``. With
    ``copy=False`` (a caller that only reads it), an array already of that dtype is not copied."""
    value = value.array if isinstance(value, Kernel) else value
    if hasattr(value, "unit"):
        value = value.value
    try:
        masked = np.ma.is_masked(value)
        if masked:
            out = np.asanyarray(value, dtype=dtype, order="C").filled(masked_value)
        elif mask is not None:
            out = np.array(value, dtype=dtype, copy=True, order="C", subok=False)
        else:  # one conversion: np.asanyarray's new array had been copied again
            out = np.array(value, dtype=dtype, order="C", copy=True if copy else None)
        if mask is not None:
            out[np.asarray(mask) != 0] = masked_value
    except (TypeError, ValueError) as exc:
        raise TypeError(
            "input should be a Numpy array or something convertible into a float array", exc
        ) from None
    return np.asarray(out)


def _real_part(value):
    """A complex array's real part (a view; of a list or tuple, of its array); anything else as
    it is."""
    if isinstance(value, (list, tuple)):
        try:
            as_array = np.asarray(value)
        except (TypeError, ValueError):  # refused later with astropy's message
            return value
        value = as_array if np.iscomplexobj(as_array) else value
    if isinstance(value, np.ndarray) and np.iscomplexobj(value):
        return np.real(value) if not np.ma.isMaskedArray(value) else np.ma.array(value.real, mask=value.mask)
    return value


def _streamed(nbytes: int):
    """A memory limit for the filters of an image of ``nbytes`` (one in force stays): large
    images go through blocks of half their size, so that their working memory is bounded
    beside the input's copy and the result (the point of this module against astropy's
    padded complex buffers); small ones are one block."""
    if config.get().memory_limit is not None or nbytes < STREAM_BYTES:
        return contextlib.nullcontext()
    return config.override(memory_limit=max(STREAM_BYTES, int(nbytes * STREAM_SHARE)))


def _nddata_aware(func):
    """astropy's ``support_nddata(data="array")`` for a call whose ``array`` is an NDData
    (its data, mask and unit unpacked as astropy does), and ``func`` itself for any other: the
    decorator binds every call's arguments to the signature, ~15 us of a 32² image's 60 (Intel
    Xeon)."""
    unpacking = support_nddata(data="array")(func)

    @functools.wraps(func)
    def call(*args, **kwargs):
        data = args[0] if args else kwargs.get("array")
        if NDData is not None and isinstance(data, NDData):
            return unpacking(*args, **kwargs)
        return func(*args, **kwargs)
    return call


def _refuse_masked_kernel(kernel) -> None:
    if np.ma.is_masked(kernel):
        raise ValueError(
            "The kernel is a masked array with masked values. Use kernel.filled(fill_value) to "
            "fill masked values before passing to convolve."
        )


@_nddata_aware
def convolve(
    array,
    kernel,
    boundary="fill",
    fill_value=0.0,
    nan_treatment="interpolate",
    normalize_kernel=True,
    mask=None,
    preserve_nan=False,
    normalization_zero_tol=1e-8,
):
    """Convolve an array with a kernel (drop-in for ``astropy.convolution.convolve``).

    Parameters as astropy's: ``boundary`` None (outputs whose kernel leaves the array are
    0), 'fill' (``fill_value`` beyond the edges), 'wrap' or 'extend'; ``nan_treatment``
    'interpolate' (NaN and masked pixels get weight 0: each output is the kernel-weighted
    mean of the valid pixels in reach, NaN where there is none) or 'fill' (they become
    ``fill_value``); ``normalize_kernel``, ``mask``, ``preserve_nan``,
    ``normalization_zero_tol``. The kernel must be odd along every axis; 1-3 dimensions.

    Returns
    -------
    numpy.ndarray
        The input's shape; float inputs keep their dtype, others are float64 (a Kernel for
        two Kernels, a Quantity for a Quantity, as astropy returns them).

    Examples
    --------
    >>> convolve([1.0, 0.0, 3.0], [1.0, 1.0, 1.0])
    array([0.33333333, 1.33333333, 1.        ])
    """
    if boundary not in BOUNDARY_OPTIONS:
        raise ValueError(f"Invalid boundary option: must be one of {BOUNDARY_OPTIONS}")
    if nan_treatment not in ("interpolate", "fill"):
        raise ValueError("nan_treatment must be one of 'interpolate','fill'")
    _refuse_masked_kernel(kernel)
    passed_array, passed_kernel = array, kernel
    # read, never written, unless NaNs become fill_value (an image's copy is 6 % of a 1024² call);
    # a float32 image is read as it is where its holes are filled: the sums are float64 anyway
    read_as = np.float32 if nan_treatment == "interpolate" and _dtype_of(array) == np.float32 else float
    data = _as_array(array, read_as, mask, copy=nan_treatment == "fill")
    dtype = getattr(passed_array, "dtype", data.dtype)
    weights = _as_array(kernel, float, masked_value=fill_value, copy=False)  # read, never written
    if any(n % 2 == 0 for n in weights.shape):
        raise KernelSizeError("Kernel size must be odd in all axes.")
    if isinstance(passed_array, Kernel) and isinstance(passed_kernel, Kernel):
        warnings.warn(
            "Both array and kernel are Kernel instances, hardwiring the following parameters: "
            "boundary='fill', fill_value=0, normalize_Kernel=True, nan_treatment='interpolate'",
            AstropyUserWarning,
            stacklevel=3,  # the caller's line, through `_nddata_aware`
        )
        boundary, fill_value, normalize_kernel, nan_treatment = "fill", 0, True, "interpolate"
    _check_dimensions(data, weights, boundary)
    interpolate = nan_treatment == "interpolate" and (
        (boundary == "fill" and np.isnan(fill_value)) or sum_is_nan(data)
    )
    if not interpolate:
        data = data.astype(np.float64, copy=False)  # astropy's plain sums are float64
    kernel_sum = _convolve_normalization(weights, normalize_kernel, interpolate, normalization_zero_tol)
    holes = np.isnan(data) if preserve_nan or nan_treatment == "fill" else None
    if nan_treatment == "fill":
        data[holes] = fill_value
    mode, cval = _MODES[boundary], fill_value if boundary == "fill" else 0.0
    nan_taps = np.isnan(weights)
    spoilt = None
    if nan_taps.any():  # astropy's loop sums them: summed here without them, then set as it sets them
        spoilt = _spoilt_by_nan_taps(data, nan_taps, interpolate, mode, cval)
        weights = np.where(nan_taps, 0.0, weights)
    if interpolate:
        # a float32 image's answer is rounded to float32 block by block (astropy rounds its float64
        # result once, as here), not kept whole in float64 and cast: its first touch and the
        # cast had cost a 1024² image 1-2 ms of a 7-10 ms call. A kernel not normalised keeps the
        # float64 result: its ratios are rescaled below before the rounding (as astropy does,
        # centre values too)
        rounded = np.dtype(dtype) if normalize_kernel and np.dtype(dtype) == np.float32 else None
        with _streamed(data.nbytes):
            result = filter_holes(data, weights, _CONVOLVE_RULE, mode=mode,
                                  cval=cval, output=rounded)
    else:
        with _streamed(data.nbytes):
            result, summed = _convolve_every_tap(data, weights, mode, cval)
        if summed is not None:  # the taps still left out, where they meet infinities
            _left_out_taps_times_infinities(result, data, summed, mode, cval)
    if spoilt is not None:
        result[spoilt] = np.nan
    if boundary is None:  # outputs whose kernel leaves the array are zero
        _zero_edges(result, [n // 2 for n in weights.shape])
    if normalize_kernel:
        if not interpolate:
            result /= kernel_sum
    elif interpolate:
        result *= kernel_sum
    if interpolate and not preserve_nan and sum_is_nan(result):
        warnings.warn(
            "nan_treatment='interpolate', however, NaN values detected post convolution. A "
            "contiguous region of NaN values, larger than the kernel size, are present in the "
            "input array. Increase the kernel size to avoid this.",
            AstropyUserWarning,
            stacklevel=3,  # the caller's line, through `_nddata_aware`
        )
    if preserve_nan:
        result[holes] = np.nan
    return _as_astropy_returns(result, passed_array, passed_kernel, dtype)


def _dtype_of(value) -> np.dtype | None:
    """The dtype of an array (or masked array, Quantity); None for lists, Kernels and others."""
    dtype = getattr(value, "dtype", None)
    return dtype if isinstance(dtype, np.dtype) else None


def _check_dimensions(data: np.ndarray, weights: np.ndarray, boundary) -> None:
    if data.ndim == 0:
        raise ValueError("cannot convolve 0-dimensional arrays")
    if data.ndim > 3:
        raise NotImplementedError("convolve only supports 1, 2, and 3-dimensional arrays at this time")
    if data.ndim != weights.ndim:
        raise ValueError("array and kernel have differing number of dimensions.")
    if data.size == 0:
        raise ValueError("cannot convolve empty array")
    if boundary is None and not all(n > 2 * (k // 2) for n, k in zip(data.shape, weights.shape)):
        raise KernelSizeError(
            "for boundary=None all kernel axes must be smaller than array's - use boundary "
            "in ['fill', 'extend', 'wrap'] instead."
        )


def _spoilt_by_nan_taps(data: np.ndarray, nan_taps: np.ndarray, interpolate: bool, mode: str, cval: float
                        ) -> np.ndarray | slice:
    """The outputs of astropy's `convolve` that a NaN in its kernel makes NaN: its C loop adds
    ``value * tap`` for every pixel in reach (without interpolation: every output), or for every
    pixel that is not a hole (with it: the outputs where a NaN tap meets a pixel or a border
    value that is not NaN). Its kernel's sum is NaN too, which the normalisation then spreads
    as astropy's does (`convolve`)."""
    if not interpolate:
        return slice(None)
    return _reached(~np.isnan(data), nan_taps, mode, not np.isnan(cval))


def _convolve_every_tap(data: np.ndarray, weights: np.ndarray, mode: str, cval: float = 0.0
                        ) -> tuple[np.ndarray, np.ndarray | None]:
    """``fftconv.ndimage.convolve(data, weights, mode, cval)`` with taps of magnitude
    DBL_EPSILON or less summed as astropy's loop and transforms sum them, where fftconv's plain
    filters leave them out (as scipy.ndimage's loop does; the sums with holes keep them): the
    kernel scaled by a power of two (exactly) to bring its largest tap into [1, 2), the sums
    scaled back (a kernel in physical units, every tap near 1e-20, had summed nothing). With the
    kernel summed where it has such taps (None: it has none). Most kernels have none, and most
    of those no negative tap: one reduction (a 121-sample call takes 14 us).

    Examples
    --------
    >>> _convolve_every_tap(np.array([1.0, 2.0, 3.0]), np.array([1e-20, 0.0, 0.0]), "constant")[0]
    array([2.e-20, 3.e-20, 0.e+00])
    """
    if weights.size == 0 or weights.min() > TINY_WEIGHT or not skips_weights(weights):
        return ndimage_convolve(data, weights, mode=mode, cval=cval), None
    shift = _tiny_taps_shift(weights, data)
    summed = np.ldexp(weights, shift)
    result = ndimage_convolve(data, summed, mode=mode, cval=cval)
    if shift:
        result *= 2.0 ** -shift  # exact: a power of two (complex sums too)
    return result, summed


def _tiny_taps_shift(weights: np.ndarray, data: np.ndarray) -> int:
    """The power of two that brings the kernel's largest tap into [1, 2), where some nonzero
    tap has a magnitude of at most DBL_EPSILON (fftconv's filters leave those out: a kernel
    of physical units, all of its taps near 1e-20, summed nothing), and no larger than keeps
    the sums of ``data``'s finite values finite; else 0.

    Examples
    --------
    >>> x = np.ones(3)
    >>> _tiny_taps_shift(np.array([1e-20, 3e-20]), x), _tiny_taps_shift(np.array([0.0, 0.5]), x)
    (65, 0)
    >>> _tiny_taps_shift(np.array([1e-20, 3e-20]), np.array([1e308]))  # room for 2**64 only
    64
    """
    magnitudes = np.abs(weights)
    tiny = magnitudes <= TINY_WEIGHT
    if not tiny.any() or not magnitudes[tiny].any():  # none, or only zeros
        return 0
    largest = float(magnitudes.max())
    if not largest < np.inf:
        return 0
    shift = 1 - int(np.frexp(largest)[1])
    finite = np.abs(data[np.isfinite(data)])
    if finite.size and finite.max() > 0:  # the scaled sums stay under float64's largest value
        room = math.log2(np.finfo(np.float64).max) - math.log2(float(finite.max())) \
            - math.log2(float(magnitudes.sum()))
        shift = min(shift, math.floor(room) - 1)
    return max(shift, 0)


def _left_out_taps_times_infinities(result: np.ndarray, data: np.ndarray, weights: np.ndarray, mode: str,
                                    cval: float) -> None:
    """What astropy's `convolve` loop makes of the taps fftconv's filters leave out, as
    scipy.ndimage's loop does (magnitude at most DBL_EPSILON), where they meet a pixel (or
    border value) that is not finite: it adds ``value * tap`` for every tap, so NaN where a
    zero tap, or any of them, meets NaN or an infinity (a ``Tophat2DKernel``'s corners beside
    an inf pixel), and an infinity of the product's sign where a tiny tap meets one (NaN where
    infinities of both signs meet). ``result`` holds the sums before astropy's normalisation."""
    left_out = np.abs(weights) <= TINY_WEIGHT
    border = not np.isfinite(cval)
    if not left_out.any() or not (border or not all_finite(data)):
        return
    zero, up, down = weights == 0, left_out & (weights > 0), left_out & (weights < 0)
    spoilt = _reached(~np.isfinite(data), zero, mode, border) | _reached(np.isnan(data), up | down, mode,
                                                                         bool(np.isnan(cval)))
    positive, negative = data == np.inf, data == -np.inf
    with np.errstate(invalid="ignore"):  # infinities of both signs: NaN, as astropy's sum
        for pixels, sign, edge in ((positive, 1.0, cval == np.inf), (negative, -1.0, cval == -np.inf)):
            result[_reached(pixels, up, mode, edge)] += sign * np.inf
            result[_reached(pixels, down, mode, edge)] -= sign * np.inf
    result[spoilt] = np.nan


def _reached(pixels: np.ndarray, taps: np.ndarray, mode: str, border: bool) -> np.ndarray:
    """The outputs of `convolve` where one of the kernel's ``taps`` (a boolean mask) meets one
    of the ``pixels`` marked, the image extended by ``mode`` (``border``: whether a constant
    border's value counts as marked)."""
    counts = ndimage_convolve(pixels.astype(np.float64), taps.astype(np.float64), mode=mode,
                              cval=float(border))
    return counts > 0.5


def _convolve_normalization(weights: np.ndarray, normalize_kernel, interpolate: bool, zero_tol: float):
    """The kernel's sum, after `convolve`'s checks that it can be normalised where it must be."""
    kernel_sum = weights.sum()
    if normalize_kernel or interpolate:
        # np.isclose(kernel_sum, 0, atol=zero_tol), as astropy tests, without its ~10 us of array calls
        if kernel_sum < 1.0 / MAX_NORMALIZATION or abs(kernel_sum) <= zero_tol:
            if interpolate:
                raise ValueError(
                    "Setting nan_treatment='interpolate' requires the kernel to be normalized, but "
                    "the input kernel has a sum close to zero. For a zero-sum kernel and data with "
                    "NaNs, set nan_treatment='fill'."
                )
            raise ValueError(
                "The kernel can't be normalized, because its sum is close to zero. The sum of "
                f"the given kernel is < {1.0 / MAX_NORMALIZATION:.2f}. For a zero-sum kernel, set "
                "normalize_kernel=False or pass a custom normalization function to "
                "normalize_kernel."
            )
    return kernel_sum


def _zero_edges(result: np.ndarray, widths: list[int]) -> None:
    for axis, width in enumerate(widths):
        if width:
            index = [slice(None)] * result.ndim
            index[axis] = slice(0, width)
            result[tuple(index)] = 0
            index[axis] = slice(result.shape[axis] - width, None)
            result[tuple(index)] = 0


def _as_astropy_returns(result: np.ndarray, passed_array, passed_kernel, dtype):
    """The result as astropy's convolve returns it: a Quantity, a Kernel, or an array of the
    input's float dtype."""
    unit = getattr(passed_array, "unit", None)
    if unit is not None:
        result = result << unit
    if isinstance(passed_array, Kernel):
        if isinstance(passed_array, Kernel1D):
            made = Kernel1D(array=result)
        elif isinstance(passed_array, Kernel2D):
            made = Kernel2D(array=result)
        else:
            raise TypeError("Only 1D and 2D Kernels are supported.")
        made._is_bool = False
        made._separable = passed_array._separable and (
            not isinstance(passed_kernel, Kernel) or passed_kernel._separable
        )
        return made
    if np.dtype(dtype).kind == "f":
        return result.astype(dtype, copy=False)
    return result


@_nddata_aware
def convolve_fft(
    array,
    kernel,
    boundary="fill",
    fill_value=0.0,
    nan_treatment="interpolate",
    normalize_kernel=True,
    normalization_zero_tol=1e-8,
    preserve_nan=False,
    mask=None,
    crop=True,
    return_fft=False,
    fft_pad=None,
    psf_pad=None,
    min_wt=0.0,
    allow_huge=False,
    fftn=np.fft.fftn,
    ifftn=np.fft.ifftn,
    complex_dtype=complex,
    dealias=False,
):
    """Convolve an array with a centred kernel as by FFTs (drop-in for
    ``astropy.convolution.convolve_fft``).

    Parameters as astropy's. What astropy computes on its padded grid (``psf_pad``,
    ``fft_pad``, ``dealias``, ``boundary='wrap'``: circular convolutions of that grid) is
    computed here on the same grid; with the default ``boundary='fill'`` (``psf_pad``), the
    grid's padding is never built: the image is read as a filter with a constant border
    reads it. NaN and infinite pixels, and masked ones, are holes: ``nan_treatment``
    'interpolate' divides by the kernel-weighted sum of valid weights (an output whose
    weight is below ``min_wt`` is NaN; with ``min_wt=0``, one whose weight is within
    rounding of zero is 0), 'fill' replaces them by ``fill_value``. ``fftn``/``ifftn`` are
    used for ``return_fft`` only; ``complex_dtype`` sets the result's dtype (its real part's)
    where astropy pads both the image and the kernel to its grid (else float64, as astropy's
    answer), and the size checks; the sums are float64 whatever it is.

    Examples
    --------
    >>> convolve_fft([1.0, np.nan, 3.0], [0.0, 1.0, 0.0], min_wt=1e-8)
    array([ 1., nan,  3.])
    """
    _refuse_masked_kernel(kernel)
    if isinstance(kernel, Kernel):
        kernel = kernel.array
        if isinstance(array, Kernel):
            raise TypeError("Can't convolve two kernels with convolve_fft.  Use convolve instead.")
    if nan_treatment not in ("interpolate", "fill"):
        raise ValueError("nan_treatment must be one of 'interpolate','fill'")
    unit = getattr(array, "unit", None)
    real_part = _real_part(array)  # only the real part survives astropy's result
    # read as it is where nothing needs changing (a float64 image whose holes are NaN, no mask):
    # its copy and hole mask took 2.5 of 25 ms on 1024² with the 101x101 PSF (Intel Xeon); a
    # float32 image whose holes are filled too (its sums are float64 all the same: the rule's),
    # where its float64 copy had cost 1024² 2-4 ms of 22 (the copy, and its pages touched anew)
    interpolate = nan_treatment == "interpolate"
    read_as = np.float32 if interpolate and _dtype_of(real_part) == np.float32 else float
    data = _as_array(real_part, read_as, mask, copy=False)
    weights = _as_array(_real_part(kernel), float, masked_value=0)
    if data.ndim != weights.ndim:
        raise ValueError("Image and kernel must have same number of dimensions")
    item = np.dtype(complex_dtype).itemsize
    _check_size(data.shape, item, allow_huge)
    holes = None
    if nan_treatment == "fill" or preserve_nan or np.isinf(data).any():
        if isinstance(real_part, np.ndarray) and np.may_share_memory(data, real_part):
            data = data.copy()
        holes = ~np.isfinite(data)
        data[holes] = fill_value if nan_treatment == "fill" else np.nan
    weights[~np.isfinite(weights)] = 0
    normalized, kernel_scale = _fft_normalization(
        weights, normalize_kernel, nan_treatment, normalization_zero_tol
    )
    fill_value, psf_pad, fft_pad = _fft_boundary(boundary, fill_value, psf_pad, fft_pad, dealias)
    grid = np.array(
        np.maximum(data.shape, weights.shape) if not psf_pad else np.add(data.shape, weights.shape)
    )
    if dealias:
        grid += np.ceil(grid / 2).astype(int)
    if fft_pad:
        grid = np.array([scipy.fft.next_fast_len(int(n)) for n in grid])
    _check_size(tuple(grid), item, allow_huge)
    inside = tuple(slice(c - n // 2, c + (n + 1) // 2) for c, n in zip(grid // 2, data.shape))
    # astropy's sums are in complex_dtype where it pads both the image and the kernel to its
    # grid; an array it leaves as it is (the image or kernel of the grid's own shape) is its
    # float64 copy, whose transform makes the product complex128
    padded = tuple(grid) != tuple(data.shape) and tuple(grid) != tuple(weights.shape)
    spectrum_dtype = np.dtype(complex_dtype) if padded else np.dtype(np.complex128)
    if np.isnan(normalized).any() or (not interpolate and not all_finite(data)):
        # astropy's product of spectra then holds NaN, which it refuses (a kernel of zeros that a
        # normalising callable divides by its zero maximum, holes filled with NaN or an infinity)
        raise ValueError("Encountered NaNs in convolve.  This is disallowed.")
    if return_fft:
        product = _spectrum_product(data, normalized, kernel_scale, grid, inside, fill_value, fftn, unit)
        return product.astype(spectrum_dtype, copy=False)
    real = spectrum_dtype.type(0).real.dtype
    rule = Holes(
        scale=kernel_scale,
        empty="nan" if min_wt > 0 else "zero",
        below=min_wt if min_wt > 0 else 10 * np.finfo(np.float64).eps,
        dtype=np.dtype(np.float64),
    )
    reads_as_filter = crop and all(g >= n + k - 1 for g, n, k in zip(grid, data.shape, weights.shape))
    if reads_as_filter:  # no wrap-around reaches the image: the grid's padding is a constant border
        with _streamed(data.nbytes):
            if interpolate:
                border = fill_value if np.isfinite(fill_value) else np.nan
                result = filter_holes(data, normalized, rule, mode="constant", cval=border)
            else:
                border = fill_value if np.isfinite(fill_value) else 0.0
                result = _convolve_every_tap(data, normalized, "constant", border)[0] * kernel_scale
    else:
        result = _on_grid(data, normalized, kernel_scale, grid, inside, fill_value, interpolate, rule, crop)
    if preserve_nan:
        (result if crop else result[inside])[holes] = np.nan
    result = result.astype(real, copy=False)
    return result if unit is None else result << unit


def _check_size(shape, itemsize: int, allow_huge: bool) -> None:
    nbytes = int(np.prod(shape, dtype=np.int64)) * itemsize
    if nbytes > 1e9 and not allow_huge:
        size = nbytes
        if _HAS_ASTROPY:
            from astropy import units

            size = nbytes * units.byte
        raise ValueError(
            f"Size Error: Arrays will be {human_file_size(size)}.  Use allow_huge=True to override "
            "this exception."
        )


def _fft_normalization(weights: np.ndarray, normalize_kernel, nan_treatment: str, zero_tol: float):
    """The kernel convolved with (normalised where it can be) and the factor that undoes it."""
    if normalize_kernel is True:
        if weights.sum() < 1.0 / MAX_NORMALIZATION:
            raise Exception(  # astropy raises this bare Exception
                "The kernel can't be normalized, because its sum is close to zero. The sum of the given "
                f"kernel is < {1.0 / MAX_NORMALIZATION:.2f}. For a zero-sum kernel, set "
                "normalize_kernel=False or pass a custom normalization function to normalize_kernel."
            )
        return weights / weights.sum(), 1
    if normalize_kernel:
        scale = normalize_kernel(weights)
        return weights / scale, scale
    scale = weights.sum()
    if np.abs(scale) < zero_tol:
        if nan_treatment == "interpolate":
            raise ValueError("Cannot interpolate NaNs with an unnormalizable kernel")
        return weights, 1
    return weights / scale, scale


def _fft_boundary(boundary, fill_value, psf_pad, fft_pad, dealias):
    """astropy's reading of ``boundary``: the fill value and the paddings it implies."""
    if boundary is None:
        warnings.warn(
            "The convolve_fft version of boundary=None is equivalent to the convolve boundary='fill'.  "
            "There is no FFT equivalent to convolve's zero-if-kernel-leaves-boundary",
            AstropyUserWarning,
            stacklevel=4,
        )
        psf_pad = True if psf_pad is None else psf_pad
        fft_pad = True if fft_pad is None else fft_pad
    elif boundary == "fill":
        if psf_pad is False:
            warnings.warn(
                f"psf_pad was set to {psf_pad}, which overrides the boundary='fill' setting.",
                AstropyUserWarning,
                stacklevel=4,
            )
        else:
            psf_pad = True
        fft_pad = True if fft_pad is None else fft_pad
    elif boundary == "wrap":
        if psf_pad:
            raise ValueError("With boundary='wrap', psf_pad cannot be enabled.")
        if fft_pad:
            raise ValueError("With boundary='wrap', fft_pad cannot be enabled.")
        if dealias:
            raise ValueError("With boundary='wrap', dealias cannot be enabled.")
        psf_pad, fft_pad, fill_value = False, False, 0
    elif boundary == "extend":
        raise NotImplementedError("The 'extend' option is not implemented for fft-based convolution")
    return fill_value, psf_pad, fft_pad


def _grid_image(data: np.ndarray, grid, inside, fill_value) -> np.ndarray:
    """The image on astropy's padded grid: ``fill_value`` around it (0 where it is not
    finite), its holes NaN."""
    big = np.full(tuple(grid), fill_value if np.isfinite(fill_value) else 0.0, dtype=np.float64)
    big[inside] = data
    return big


def _on_grid(data, normalized, scale, grid, inside, fill_value, interpolate: bool, rule: Holes, crop: bool):
    """The circular convolutions of astropy's padded grid, as astropy combines them (``data``,
    which may be the caller's array, read only, is the grid itself where the grid adds no
    padding: 'wrap')."""
    big = data if tuple(grid) == data.shape else _grid_image(data, grid, inside, fill_value)
    if not interpolate:
        result = _convolve_every_tap(big, normalized, "grid-wrap")[0] * scale
        return result[inside] if crop else result
    if not np.isfinite(fill_value) and big is not data:  # ``data`` may be the caller's: no padding
        outside = np.ones(tuple(grid), bool)
        outside[inside] = False
        big[outside] = np.nan  # the padding weighs nothing: holes
    result = filter_holes(big, normalized, rule, mode="grid-wrap")
    if crop:
        return result[inside]
    # beyond the image astropy divides by the unsmoothed weight, 1 (a finite fill) or 0, and
    # then applies its rule: NaN below min_wt, else 0 where the weight is 0
    outside = np.ones(tuple(grid), bool)
    outside[inside] = False
    weight = 1.0 if np.isfinite(fill_value) else 0.0
    if rule.empty == "nan" and weight < rule.below:
        result[outside] = np.nan
    elif weight == 0:
        result[outside] = 0.0
    else:
        sums = _convolve_every_tap(np.nan_to_num(big, nan=0.0).astype(np.float64, copy=False), normalized,
                                   "grid-wrap")[0] * scale
        result[outside] = sums[outside]
    return result


def _spectrum_product(data, normalized, scale, grid, inside, fill_value, fftn, unit):
    """``return_fft``: the product of the padded image's and the centred kernel's spectra."""
    big = _grid_image(np.nan_to_num(data, nan=0.0), grid, inside, fill_value).astype(complex)
    kernel = np.zeros(tuple(grid), complex)
    kernel[
        tuple(slice(c - n // 2, c + (n + 1) // 2) for c, n in zip(np.array(grid) // 2, normalized.shape))
    ] = normalized
    product = fftn(big) * fftn(np.fft.ifftshift(kernel)) * scale
    if unit is not None:
        product = product << unit
    return product
