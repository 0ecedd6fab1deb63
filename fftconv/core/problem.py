"""The `Problem` value: one convolution, validated and normalised, as every layer below the
facades sees it.

A facade builds it once with `Problem.build` from the caller's arrays, mode, axes and its
library's `Conventions`. Correlation enters here, once, for every facade:
``correlate(x, h)`` is ``convolve(x, flip(h))`` over the convolved axes, with ``h``
conjugated (as numpy.correlate, scipy.signal and scipy.ndimage all do), with the facade's
'same' convention picking the output offset. 'valid' mode swaps the inputs
when the second is the larger, as scipy does. The arrays are then viewed with the convolved
axes last, the layout every executor works in.

`Spec` is what planning sees of a problem: shapes, windows, dtypes, threads and backend,
never the values (so plans of equal specs are equal and can be cached).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import dtypes
from .geometry import SAME_CONVENTIONS, Window, output_window, reach, valid_swap_needed
from .messages import shown


@dataclass(frozen=True)
class Conventions:
    """Where the libraries that the facades mirror define the details differently.

    Attributes
    ----------
    same : {'signal', 'centered'}
        Where the 'same' window starts for even kernels: ``(n - 1) // 2`` (scipy.signal's
        ``convolve``/``correlate``/``convolve2d``) or ``n // 2`` (``correlate2d``,
        scipy.ndimage, deep-learning 'SAME').
    result : {'convolve', 'fft'}
        The output dtype rule (`fftconv.core.dtypes.result_dtype`).
    integers : {'round', 'truncate'}
        How a float result becomes an integer output (`fftconv.core.dtypes.cast`).
    broadcast_unit_axes : bool
        scipy's ``fftconvolve``: an axis of length 1 in either input broadcasts instead of
        being convolved ('valid'), and 'same' crops to ``in1``'s shape on every axis.
    """

    same: str = "signal"
    result: str = "convolve"
    integers: str = "round"
    broadcast_unit_axes: bool = False

    def __post_init__(self) -> None:
        for name, value, choices in (("same", self.same, SAME_CONVENTIONS),
                                     ("result", self.result, dtypes.RESULT_RULES),
                                     ("integers", self.integers, dtypes.INTEGER_RULES)):
            if value not in choices:
                raise ValueError(f"Conventions.{name} must be one of {choices}, got {value!r}")


#: scipy.signal's ``convolve``, ``correlate`` and ``convolve2d``.
SIGNAL = Conventions()
#: scipy.signal's ``fftconvolve`` and ``oaconvolve``.
SIGNAL_FFT = Conventions(result="fft", broadcast_unit_axes=True)
#: scipy.signal's ``correlate2d``.
SIGNAL_CORRELATE2D = Conventions(same="centered")
#: scipy.ndimage's ``convolve`` and ``correlate``.
NDIMAGE = Conventions(same="centered", integers="truncate")


#: No array holds more bytes than this (NumPy's sizes are signed 64-bit byte counts).
MOST_BYTES = 2**63 - 1


def check_shape(shape: object, what: str = "shape", itemsize: int = 8) -> tuple[int, ...]:
    """``shape`` as a tuple of positive lengths, or a clear error: ``TypeError`` for what is
    not a sequence of whole numbers (a string such as '64x64', 3.5, True), ``ValueError``
    for lengths below 1 and for shapes no array of ``itemsize`` bytes could have.

    Examples
    --------
    >>> check_shape([64, 64])
    (64, 64)
    >>> check_shape((3.5, 3))
    Traceback (most recent call last):
    ...
    TypeError: shape must be whole numbers, such as (64, 64); got 3.5 in (3.5, 3)
    """
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__"):
        raise TypeError(f"{what} must be a tuple of lengths such as (64, 64), got {shown(shape)}")
    lengths = tuple(shape)
    for n in lengths:
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"{what} must be whole numbers, such as (64, 64); "
                            f"got {shown(n)} in {shown(shape)}")
    lengths = tuple(int(n) for n in lengths)
    if any(n < 1 for n in lengths):
        raise ValueError(f"{what} {lengths} has a length below 1; lengths must be positive")
    if math.prod(lengths) > MOST_BYTES // itemsize:
        raise ValueError(f"{what} {lengths} has {math.prod(lengths):.3g} elements: no array can be that "
                         f"large (at most {MOST_BYTES // itemsize:.3g} of {itemsize} bytes)")
    return lengths


def normalize_axes(axes: object, ndim: int) -> list[int]:
    """Axes as a list of distinct non-negative ints (all axes when ``axes`` is None).

    Examples
    --------
    >>> normalize_axes(-1, 3), normalize_axes(None, 2)
    ([2], [0, 1])
    """
    if axes is None:
        return list(range(ndim))
    try:
        rank = np.ndim(axes)
    except ValueError:  # ragged nesting
        rank = 2
    if rank > 1:  # scipy's error and words: nested lists are no axes
        raise ValueError(f"axes must be a scalar or iterable of integers, got {shown(axes)}")
    items = [axes] if rank == 0 else list(np.asarray(axes))
    if not items:
        raise ValueError("when provided, axes cannot be empty")
    result = []
    for a in items:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):  # scipy's error and words
            raise ValueError(f"axes must be a scalar or iterable of integers, got {shown(a)}")
        if not -ndim <= a < ndim:
            raise ValueError(f"axes exceeds dimensionality of input: axis {a} for {ndim}-d arrays")
        result.append(int(a) % ndim)
    if len(set(result)) != len(result):
        raise ValueError(f"all axes must be unique, got {[int(a) for a in items]}")
    return result


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


def correlation_kernel(h: np.ndarray, axes: Sequence[int]) -> np.ndarray:
    """The kernel that turns correlation into convolution: flipped on ``axes`` and conjugated
    (a view of ``h`` when it is real).

    Examples
    --------
    >>> import numpy as np
    >>> correlation_kernel(np.array([1 + 1j, 2, 3]), [0])
    array([3.-0.j, 2.-0.j, 1.-1.j])
    """
    flipped = np.flip(h, axis=tuple(axes)) if len(axes) else h
    return np.conj(flipped) if flipped.dtype.kind == "c" else flipped


@dataclass(frozen=True)
class Geometry:
    """What a problem's shapes alone decide (cached: small calls repeat it often)."""

    flip_axes: tuple[int, ...]  # the axes correlation flips (the caller's axes)
    swap: bool  # 'valid' with the second input the larger
    conv_axes: tuple[int, ...]  # the axes actually convolved
    windows: tuple[Window, ...]
    out_shape: tuple[int, ...]  # in the caller's axis order
    shape1: tuple[int, ...]  # image lengths on the convolved axes (after the swap and crop)
    shape2: tuple[int, ...]  # kernel lengths on the convolved axes (after the crop)
    crop: tuple[tuple[slice, ...], tuple[slice, ...]] | None  # the parts of image and kernel
    # the window reaches (`reach`), when that leaves something out
    batch: tuple[int, ...]  # broadcast shape of the other axes
    kernel_batched: bool  # the kernel has a batch axis longer than 1
    moved: bool  # the convolved axes are not already the last ones


@lru_cache(maxsize=1024)
def describe(s1: tuple[int, ...], s2: tuple[int, ...], mode: str, axes: tuple[int, ...],
             same: str = "signal", broadcast_unit_axes: bool = False) -> Geometry:
    """The geometry of a convolution of shapes ``s1`` and ``s2`` over ``axes``, with the
    'same' convention and unit-axis broadcasting of `Conventions`.

    Examples
    --------
    >>> describe((5, 6), (7, 2), "valid", (0, 1))
    Traceback (most recent call last):
    ...
    ValueError: For 'valid' mode, one must be at least as large as the other in every dimension; \
got shapes (5, 6) and (7, 2).
    >>> describe((5, 6), (1, 2), "full", (1,)).out_shape
    (5, 7)
    """
    ndim = len(s1)
    others = [a for a in range(ndim) if a not in axes]
    if not all(s1[a] == s2[a] or s1[a] == 1 or s2[a] == 1 for a in others):
        raise ValueError(
            f"incompatible shapes for in1 and in2: {s1} and {s2} (axes not convolved "
            "must be equal or 1)"
        )
    conv = list(axes)
    if broadcast_unit_axes and mode == "valid":
        conv = [a for a in conv if s1[a] != 1 and s2[a] != 1]
    if broadcast_unit_axes and mode == "same":
        # cropping to in1's shape on an axis where in1 has length 1 keeps the centre of the
        # broadcast: a 'same' convolution of that axis
        conv = conv + [a for a in others if s1[a] == 1 and s2[a] > 1]
    swap = mode == "valid" and valid_swap_needed(s1, s2, conv)
    if swap:
        s1, s2 = s2, s1
    windows = tuple(output_window(s1[a], s2[a], mode, same) for a in conv)
    crop1, crop2 = [slice(None)] * ndim, [slice(None)] * ndim
    reached = [reach(s1[a], s2[a], w) for a, w in zip(conv, windows)]
    for a, (r1, r2, _) in zip(conv, reached):
        crop1[a], crop2[a] = r1, r2
    cropped = any(r1 != slice(0, s1[a]) or r2 != slice(0, s2[a]) for a, (r1, r2, _) in zip(conv, reached))
    out_shape = list(np.broadcast_shapes(
        tuple(1 if a in conv else s1[a] for a in range(ndim)),
        tuple(1 if a in conv else s2[a] for a in range(ndim)),
    ))
    for a, w in zip(conv, windows):
        out_shape[a] = w.length
    others = [a for a in range(ndim) if a not in conv]
    if cropped:
        windows = tuple(w for _, _, w in reached)
    return Geometry(
        flip_axes=tuple(axes), swap=swap, conv_axes=tuple(conv), windows=windows, out_shape=tuple(out_shape),
        shape1=tuple(r1.stop - r1.start for r1, _, _ in reached),
        shape2=tuple(r2.stop - r2.start for _, r2, _ in reached),
        crop=(tuple(crop1), tuple(crop2)) if cropped else None,
        batch=tuple(out_shape[a] for a in others), kernel_batched=any(s2[a] != 1 for a in others),
        moved=conv != list(range(ndim - len(conv), ndim)),
    )


@dataclass(frozen=True)
class Spec:
    """What planning sees of a problem: shapes, windows and dtypes, the threads and the FFT
    backend it may use, never the values. Executors estimate their time and memory from it.

    Attributes
    ----------
    shape1, shape2 : tuple of int
        Lengths of the image and the kernel on the convolved axes.
    windows : tuple of Window
        The part of the full convolution kept on each convolved axis.
    batch : tuple of int
        Broadcast shape of the axes that are not convolved (``()`` when there are none).
    kernel_batched : bool
        The kernel has a batch axis longer than 1 (a different kernel per batch item).
    result_dtype : numpy.dtype
        dtype of the result.
    threads : int
        Threads the work may use.
    backend : str
        Name of the FFT backend (`fftconv.backends`) spectral executors transform with.
    image_dtype : numpy.dtype or None
        The dtype in which the image is read as it is, with no copy: a C-contiguous image's, or
        the compute dtype of a block whose copy in it the caller counts (`Problem.read_as`). An
        executor summing in it counts no copy of the image in its workspace; None: it counts one.
    """

    shape1: tuple[int, ...]
    shape2: tuple[int, ...]
    windows: tuple[Window, ...]
    batch: tuple[int, ...]
    kernel_batched: bool
    result_dtype: np.dtype
    threads: int = 1
    backend: str = "fftw"
    image_dtype: np.dtype | None = None

    @property
    def rank(self) -> int:
        return len(self.shape1)

    @property
    def batch_points(self) -> int:
        return math.prod(self.batch)

    @property
    def out_points(self) -> int:
        """Outputs over the convolved axes, for one batch item."""
        return math.prod(w.length for w in self.windows)

    def compute_dtype(self, exact_integers: bool) -> np.dtype:
        """dtype an executor computes in (`fftconv.core.dtypes.compute_dtype`)."""
        return dtypes.compute_dtype(self.result_dtype, exact_integers)

    @classmethod
    def of_shapes(cls, shape1: Sequence[int], shape2: Sequence[int], mode: str = "full",
                  dtype: object = np.float64, *, threads: int = 1, backend: str = "fftw",
                  same: str = "signal") -> Spec:
        """The spec of an unbatched convolution of two shapes (for estimates and tests).

        Examples
        --------
        >>> Spec.of_shapes((64, 64), (3, 3), "same").windows[0]
        Window(start=1, length=64)
        """
        windows = tuple(output_window(a, b, mode, same) for a, b in zip(shape1, shape2))
        return cls(tuple(shape1), tuple(shape2), windows, (), False, np.dtype(dtype), threads, backend)


@dataclass(frozen=True)
class Problem:
    """A convolution reduced to arrays with the convolved axes last.

    Build it with `build`. ``x`` is the image and ``h`` the kernel (already flipped for a
    correlation, and swapped for 'valid' when the second input is the larger); their batch
    axes (the leading ones) broadcast.
    """

    x: np.ndarray
    h: np.ndarray
    geometry: Geometry
    result_dtype: np.dtype
    conventions: Conventions = SIGNAL
    #: For a block read with its halo (its values, or zeros standing in for them): the dtype
    #: whose copy of them the caller counts (`Spec.image_dtype`); None: ``x``'s own.
    read_as: np.dtype | None = None
    #: What executors derived from these arrays (`derived`); a problem built or replaced anew
    #: starts without.
    _derived: dict = dataclasses.field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def build(cls, in1: np.ndarray, in2: np.ndarray, mode: str, axes: object = None, *,
              correlate: bool = False, conventions: Conventions = SIGNAL) -> Problem:
        """The problem of convolving (or correlating) arrays ``in1`` and ``in2`` of equal
        ndim over ``axes`` (None: all) in ``mode``, under a facade's ``conventions``.

        Examples
        --------
        >>> import numpy as np
        >>> p = Problem.build(np.ones((2, 5)), np.ones((1, 3)), "same", axes=1)
        >>> p.out_shape, p.windows
        ((2, 5), (Window(start=1, length=5),))
        """
        axes = tuple(range(in1.ndim)) if axes is None else tuple(normalize_axes(axes, in1.ndim))
        geo = describe(in1.shape, in2.shape, mode, axes, conventions.same, conventions.broadcast_unit_axes)
        if correlate:
            in2 = correlation_kernel(in2, geo.flip_axes)
        if geo.swap:
            in1, in2 = in2, in1
        if geo.crop is not None:
            in1, in2 = in1[geo.crop[0]], in2[geo.crop[1]]
        if geo.moved:
            in1, in2 = axes_last(in1, geo.conv_axes), axes_last(in2, geo.conv_axes)
        return cls(in1, in2, geo, dtypes.result_dtype(in1.dtype, in2.dtype, conventions.result), conventions)

    def with_image(self, image: np.ndarray) -> Problem:
        """The same problem for another image of this one's shape (in the caller's order)."""
        return dataclasses.replace(self, x=axes_last(image, self.conv_axes))

    @property
    def conv_axes(self) -> tuple[int, ...]:
        """The convolved axes, in the caller's order."""
        return self.geometry.conv_axes

    @property
    def windows(self) -> tuple[Window, ...]:
        """The part of the full convolution kept on each convolved axis."""
        return self.geometry.windows

    @property
    def out_shape(self) -> tuple[int, ...]:
        """Shape of the result, in the caller's axis order."""
        return self.geometry.out_shape

    @property
    def rank(self) -> int:
        return len(self.geometry.conv_axes)

    @property
    def batch(self) -> tuple[int, ...]:
        """Broadcast shape of the axes that are not convolved."""
        return self.geometry.batch

    def spec(self, threads: int = 1, backend: str = "fftw") -> Spec:
        """What planning sees of this problem (`Spec`)."""
        geo = self.geometry
        return Spec(geo.shape1, geo.shape2, geo.windows, geo.batch, geo.kernel_batched, self.result_dtype,
                    threads, backend, self.image_dtype)

    @property
    def image_dtype(self) -> np.dtype | None:
        """`Spec.image_dtype`: ``read_as``, else a C-contiguous image's dtype, else None."""
        if self.read_as is not None:
            return self.read_as
        return self.x.dtype if self.x.flags.c_contiguous else None

    def kernel(self) -> np.ndarray:
        """``h`` without its batch axes, for executors that need one kernel for every item
        (callers check ``Spec.kernel_batched`` first)."""
        return self.h.reshape(self.geometry.shape2)

    def derived(self, key: Hashable, make: Callable[[], object]) -> object:
        """``make()``, made once for this problem under ``key``: what several executors derive
        from the same arrays in one call (the kernel's rank-1 test, ~50 us for a 71x71 Gaussian,
        ran once per separable executor as the planner checked which may run, then again to run).

        Examples
        --------
        >>> p = Problem.build(np.ones(4), np.ones(2), "full")
        >>> p.derived("n", lambda: 1), p.derived("n", lambda: 2)
        (1, 1)
        """
        if key not in self._derived:
            self._derived[key] = make()
        return self._derived[key]


def kernel_on_axes(kernel: np.ndarray, axes: list[int], ndim: int) -> np.ndarray:
    """A kernel with one axis per convolved axis, given ``ndim``-dimensional: length 1 on the
    other axes (so a 2-D kernel convolves a stack of images with ``axes=(1, 2)``).

    Examples
    --------
    >>> kernel_on_axes(np.ones((3, 3)), [1, 2], 3).shape
    (1, 3, 3)
    """
    if kernel.ndim != len(axes):
        raise ValueError(f"in2 has {kernel.ndim} dimensions; it needs {ndim} (as in1), or one per axis "
                         f"in axes={tuple(axes)}")
    shape = [1] * ndim
    for a, n in zip(sorted(axes), kernel.shape):
        shape[a] = n
    return kernel.reshape(shape)


def unit_axes_product(a: np.ndarray, b: np.ndarray, mode: str, axes) -> np.ndarray | None:
    """scipy's ``fftconvolve`` when every axis it would transform has length 1 in one of the
    inputs: the broadcast product in NumPy's dtype ('same': cropped to ``in1``'s shape around
    the centre), else None.

    Examples
    --------
    >>> unit_axes_product(np.ones((1, 3)), np.full((2, 1), 2.0), "full", None)
    array([[2., 2., 2.],
           [2., 2., 2.]])
    """
    if any(a.shape[x] != 1 and b.shape[x] != 1 for x in normalize_axes(axes, a.ndim)):
        return None
    try:
        product = np.multiply(a, b)
    except ValueError:
        raise ValueError(f"incompatible shapes for in1 and in2: {a.shape} and {b.shape}") from None
    if mode != "same":
        return product
    starts = [(p - n) // 2 for p, n in zip(product.shape, a.shape)]
    return product[tuple(slice(s, s + n) for s, n in zip(starts, a.shape))]
