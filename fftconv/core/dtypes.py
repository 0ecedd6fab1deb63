"""The dtype policy, in one place: which dtypes are accepted, what a result's dtype is, what
an executor computes in, and how a computed result becomes the caller's dtype.

* **Result dtype.** ``scipy.signal.convolve`` keeps ``np.result_type`` of the inputs;
  ``fftconvolve`` transforms each input on its own, integers and booleans as float64 and
  float16 as float32, so its result is the type of those two (float32 with int8 is float64).
* **Compute dtype.** Executors that sum integers exactly (every direct sum) accumulate them in
  64-bit integers, whose wrap-around equals scipy's modular arithmetic after the cast back;
  the others (FFTs, BLAS passes) compute integers in float64. float16 is computed in float32
  by everyone (neither FFTW nor scipy.ndimage has a half-precision loop).
* **Cast.** scipy.signal rounds a float result to an integer dtype; scipy.ndimage truncates
  (its C cast), after snapping values within round-off of an integer.
"""

from __future__ import annotations

import math
import numbers
from functools import lru_cache

import numpy as np

#: dtype kinds convolution accepts: booleans, integers, floats, complex numbers, and Python
#: objects (Fractions, Decimals: summed exactly by the direct method, as scipy.signal does).
SUPPORTED_KINDS = "biufcO"

#: Result dtype rules of the facades (see the module docstring).
RESULT_RULES = ("convolve", "fft")

#: How an integer result is made from a float one: scipy.signal rounds, scipy.ndimage truncates.
INTEGER_RULES = ("round", "truncate")

#: A truncated value within this many float64 epsilons (times the result's magnitude) of an
#: integer is that integer: an FFT's sums land off exact integers by about eps * log2(N) of
#: the largest value, which truncation would turn into off-by-one; 64 covers every length.
SNAP_EPSILONS = 64


class UnsupportedDtypeError(TypeError, ValueError, RuntimeError):
    """An array whose dtype cannot be convolved (strings, datetimes, records ...). It is a
    ``TypeError``, and also the ``ValueError`` scipy.signal raises for such arrays and the
    ``RuntimeError`` scipy.ndimage raises, so code written for scipy catches it as before.

    Examples
    --------
    >>> issubclass(UnsupportedDtypeError, (TypeError, ValueError, RuntimeError))
    True
    """


def as_operand(a: object, name: str) -> np.ndarray:
    """``np.asarray(a)``, with a clear error for dtypes convolution cannot handle (`check_dtype`).

    Examples
    --------
    >>> as_operand([1, 2], "in1").dtype.kind
    'i'
    >>> as_operand(["a"], "in1")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fftconv.core.dtypes.UnsupportedDtypeError: in1 has dtype <U1, which cannot be convolved; ...
    """
    arr = np.asarray(a)
    check_dtype(arr.dtype, name)
    return arr


def check_numbers(arr: np.ndarray, name: str) -> None:
    """`UnsupportedDtypeError` unless every object of an object array ``arr`` is a number
    (Python's, NumPy's, a Fraction, a Decimal): the convolutions sum them with Python's
    arithmetic, whose error for a string or None ("unsupported operand type(s) for +") had come
    from deep in a sum. Arrays of any other dtype pass.

    Examples
    --------
    >>> check_numbers(np.array([1, 2.5, None], dtype=object), "in2")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fftconv.core.dtypes.UnsupportedDtypeError: in2 holds a NoneType object, which cannot be convolved; ...
    """
    if arr.dtype.kind != "O":
        return
    for value in arr.flat:
        if not isinstance(value, numbers.Number):
            raise UnsupportedDtypeError(
                f"{name} holds a {type(value).__name__} object, which cannot be convolved; pass "
                "numbers (booleans, integers, floats, complex numbers, Fractions, Decimals)"
            )


def check_dtype(dtype: np.dtype, name: str) -> None:
    """`UnsupportedDtypeError` unless arrays of ``dtype`` can be convolved (`SUPPORTED_KINDS`);
    for arrays not in memory yet (a dask array's dtype), as `as_operand` checks arrays.

    Examples
    --------
    >>> check_dtype(np.dtype("f4"), "in1")
    """
    if dtype.kind not in SUPPORTED_KINDS:
        raise UnsupportedDtypeError(
            f"{name} has dtype {dtype}, which cannot be convolved; "
            "pass booleans, integers, floats, complex numbers or Python numbers (object)"
        )


@lru_cache(maxsize=256)
def result_dtype(dt1: np.dtype, dt2: np.dtype, rule: str) -> np.dtype:
    """Output dtype of a convolution of ``dt1`` with ``dt2`` under ``rule`` (`RESULT_RULES`).

    Examples
    --------
    >>> import numpy as np
    >>> i8 = np.dtype("int8")
    >>> result_dtype(i8, i8, "convolve"), result_dtype(i8, i8, "fft")
    (dtype('int8'), dtype('float64'))
    >>> result_dtype(np.dtype("float32"), i8, "fft")  # scipy's fftconvolve: float64
    dtype('float64')
    """
    if rule == "fft":  # each input as scipy's fftconvolve transforms it
        return np.result_type(_transformed(dt1), _transformed(dt2))
    return np.result_type(dt1, dt2)


def _transformed(dt: np.dtype) -> np.dtype:
    """The dtype scipy.fft transforms an input of ``dt`` in: booleans, integers and Python
    numbers in float64, float16 in float32, the others as they are."""
    if dt.kind in "biuO":
        return np.dtype(np.float64)
    return np.dtype(np.float32) if dt == np.float16 else dt


@lru_cache(maxsize=256)
def compute_dtype(result: np.dtype, exact_integers: bool) -> np.dtype:
    """dtype an executor computes a ``result`` in; ``exact_integers`` for executors that sum
    integers exactly (64-bit integers) rather than in float64.

    Examples
    --------
    >>> import numpy as np
    >>> compute_dtype(np.dtype(np.int8), True), compute_dtype(np.dtype(np.int8), False)
    (dtype('int64'), dtype('float64'))
    >>> compute_dtype(np.dtype(np.float16), True)
    dtype('float32')
    """
    if result.kind in "biuO":
        if not exact_integers:
            return np.dtype(np.float64)
        if result.kind == "O":  # Python numbers: summed as themselves
            return result
        return np.dtype(np.uint64 if result.kind == "u" else np.int64)
    if result == np.float16:
        return np.dtype(np.float32)
    return result


def cast(result: np.ndarray, dtype: np.dtype, integers: str = "round") -> np.ndarray:
    """``result`` (an executor's, in its compute dtype) as ``dtype``; ``result`` itself when it
    has that dtype already. Float results become integers by ``integers`` (`INTEGER_RULES`):
    rounded (scipy.signal; booleans are ``rint(x) != 0``) or truncated toward zero like
    scipy.ndimage's C cast (values within round-off of an integer snap to it first).

    Examples
    --------
    >>> import numpy as np
    >>> cast(np.array([2.6, -1.0000000000000002]), np.dtype(np.int16))
    array([ 3, -1], dtype=int16)
    >>> cast(np.array([2.6, -1.0000000000000002]), np.dtype(np.int16), "truncate")
    array([ 2, -1], dtype=int16)
    """
    if result.dtype == dtype:
        return result
    if dtype.kind not in "biu" or result.dtype.kind not in "fc":
        with np.errstate(over="ignore", invalid="ignore"):
            return result.astype(dtype)
    if integers == "truncate":
        if _snapped_in_place(result):
            with np.errstate(invalid="ignore", over="ignore"):
                return _as_c_casts(result, dtype)
        values = result.real
        nearest = np.rint(values)
        scale = max(float(np.max(np.abs(values), initial=0.0)), 1.0)
        close = np.abs(values - nearest) <= SNAP_EPSILONS * np.finfo(np.float64).eps * scale
        with np.errstate(invalid="ignore", over="ignore"):
            return _as_c_casts(np.trunc(np.where(close, nearest, values)), dtype)
    if dtype.kind == "b":
        return np.rint(result) != 0
    with np.errstate(over="ignore", invalid="ignore"):
        # via a 64-bit integer: float -> int8 is undefined out of range, int64 -> int8 wraps
        wide = np.int64 if dtype.kind == "i" else np.uint64
        return np.rint(result, out=result).astype(wide).astype(dtype)


def cast_into(target: np.ndarray, result: np.ndarray, integers: str = "round") -> None:
    """`cast` of ``result`` written into ``target`` (of the dtype cast to), with no array
    between where the snap and truncation run in place (a pass per scipy.ndimage filter pass
    of a 128x128 integer image: the cast's new array and its copy took a third of the pass).

    Examples
    --------
    >>> import numpy as np
    >>> out = np.empty(2, np.int16)
    >>> cast_into(out, np.array([2.9999999999999996, -2.6]), "truncate"); out
    array([ 3, -2], dtype=int16)
    """
    if integers == "truncate" and target.dtype.kind in "biu" and _snapped_in_place(result):
        with np.errstate(invalid="ignore", over="ignore"):
            if target.dtype == np.uint32:
                result = result.astype(np.int64)  # (`_as_c_casts`)
            np.copyto(target, result, casting="unsafe")  # (astype's casting loop)
        return
    target[...] = cast(result, target.dtype, integers)


def _as_c_casts(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Truncated float ``values`` as scipy.ndimage's C cast writes them into ``dtype``: NumPy's
    cast but into uint32, which C converts through a 64-bit integer (modulo 2^32, where NumPy
    gives 0 past the int32 range: a uint32 `sobel`'s second pass sums the first's wrapped
    negative differences, 4294967290 + ..., and scipy's answer wraps them back to 11).

    Examples
    --------
    >>> _as_c_casts(np.array([-6.0, 4294967307.0]), np.dtype(np.uint32))
    array([4294967290,         11], dtype=uint32)
    """
    if dtype == np.uint32:
        return values.astype(np.int64).astype(dtype)
    return values.astype(dtype)


def _snapped_in_place(result: np.ndarray) -> bool:
    """Whether `cast`'s snap and truncation were done in place, by the engine's compiled pass
    (``float_passes.snap_truncate``, one pass where NumPy takes seven: 18.6 of a 1024² uint8
    `uniform_filter`'s 28 ms, Intel Xeon): for a writeable C-contiguous float64 result (an
    executor's, as the rounding rule's cast also overwrites it), where that module was built."""
    if result.dtype != np.float64 or not result.flags.c_contiguous or not result.flags.writeable:
        return False
    from ..engine._compiled import float_passes  # (loaded by ``import fftconv``: no import cycle)

    snap_truncate = getattr(float_passes, "snap_truncate", None)  # (None: not built, or built before it)
    if snap_truncate is None:
        return False
    snap_truncate(result, float(SNAP_EPSILONS))
    return True


#: Largest integer every float64 partial sum holds exactly (scipy's rule for integer FFTs).
EXACT_INTEGER_LIMIT = 2 ** np.finfo(np.float64).nmant - 1


def _largest_magnitude(a: np.ndarray, from_dtype: bool) -> int:
    if from_dtype and a.dtype.kind in "iu":
        info = np.iinfo(a.dtype)
        return max(abs(int(info.min)), int(info.max))
    if from_dtype and a.dtype.kind == "b":
        return 1
    return max(abs(int(a.max())), abs(int(a.min())))


def float_sums_exact(x: np.ndarray, h: np.ndarray, rank: int, worst_case_x: bool = False,
                     worst_case_h: bool = False) -> bool:
    """Whether a float64 computation of the integer convolution of ``x`` with ``h`` (their
    last ``rank`` axes convolved) rounds back exactly: ``max|x| * max|h| * min(size)`` must fit
    float64's mantissa. ``worst_case_x`` (``worst_case_h``) assumes the largest value the
    dtype of ``x`` (``h``) holds, for plans made before the values are seen. True for
    non-integer operands.

    Examples
    --------
    >>> import numpy as np
    >>> float_sums_exact(np.arange(10), np.ones(3, int), 1)
    True
    >>> float_sums_exact(np.full(4, 2**40), np.full(4, 2**20), 1)
    False
    """
    if x.dtype.kind not in "iu" and h.dtype.kind not in "iu":
        return True
    largest = _largest_magnitude(x, worst_case_x) * _largest_magnitude(h, worst_case_h)
    terms = min(math.prod(x.shape[x.ndim - rank:]), math.prod(h.shape[h.ndim - rank:]))
    return largest * terms <= EXACT_INTEGER_LIMIT
