"""The pocketfft backend: numpy.fft's or scipy.fft's transforms, which need no planning.

FFTW's fast plans cost time to make (MEASURE: 0.1-40 s a size here) and pyFFTW costs
0.2-0.6 s to import; pocketfft costs neither, and transforms 2-D arrays about as fast as
FFTW's quick ESTIMATE plans (1-D ones 2-3x slower than FFTW's measured plans). So it serves
a transform size's first calls while FFTW is planned in the background
(`fftconv.backends.fftw`), and it can be selected outright (``[planner] backend =
"pocketfft"``).

Which library: scipy.fft when the process has already imported it (it vectorises across
rows and takes threads: 2x numpy.fft on single-precision 2-D transforms here), else
numpy.fft, which is imported with NumPy and, from NumPy 2.0, computes single precision in
single precision and writes into our buffers; with an older NumPy, scipy.fft.
"""

from __future__ import annotations

import math
import sys
import threading

import numpy as np
import numpy.fft  # noqa: F401 - imported with fftconv: NumPy defers it, and a first call waited 0.8 ms

from .base import register_backend
from .cache import PairCache

#: NumPy's own FFT computes float32 as float32 and writes into ``out=`` from 2.0 on.
NUMPY_FFT_USABLE = int(np.__version__.split(".")[0]) >= 2
#: NumPy's single-precision transforms of this many axes or more run slower unscaled than
#: scaled (NumPy 2.4.6, AMD EPYC: a 256x256 float32 ``rfftn`` 1.8 ms, with ``norm="forward"``
#: 0.29 ms; 64³ 12.3 against 1.4 ms; 1-D from ~4,096 points, forward and inverse: 16,384 349
#: against 88 us, 72,000 1.12 against 0.59 ms, 262,144 7.4 against 1.9 ms; within 2 us below;
#: float64 alike either way), so those pairs transform scaled and multiply the scale back out
#: (one pass over the result). At 2 axes, a fresh process' loop of 70197 * 1390 'full' float32
#: calls took 6.1 ms each on its first plan's whole-array FFT (scipy 2.3).
SCALED_SINGLE_AXES = 1
#: Buffers kept for reuse (pairs of the calls' threads), least recently used dropped first.
CACHE_BYTES = 1 << 30
CACHE_PAIRS = 256


def library() -> str:
    """'scipy.fft' or 'numpy.fft': what new pairs transform with (see the module docstring).

    Examples
    --------
    >>> library() in ("scipy.fft", "numpy.fft")
    True
    """
    if "scipy.fft" in sys.modules or not NUMPY_FFT_USABLE:
        return "scipy.fft"
    return "numpy.fft"


class PocketPair:
    """A `fftconv.backends.base.TransformPair` on pocketfft: ``data`` and ``spectrum`` are two
    buffers (one for complex data), transformed between with unnormalised transforms. On
    numpy.fft the transforms write into them, one axis at a time (the last from ``data`` into
    ``spectrum``, the others in place) rather than by ``rfftn``/``irfftn``, which allocate an
    array per axis: a forward and inverse pair takes 0.76-0.91x the time warm and 0.77-0.89x in a
    fresh process' first three transforms (NumPy 2.4.6, AMD EPYC Zen 4, 7 fresh processes
    alternated: 140x540 float32 and float64, 300x250, 640x576, 1008², 2048², 112³). scipy.fft's
    new arrays replace them.

    Examples
    --------
    >>> import numpy as np
    >>> pair = PocketPair((), (4,), True, np.dtype(np.float64), 1)
    >>> pair.data[:] = [1, 2, 3, 4]; pair.forward(); pair.spectrum[0]
    np.complex128(10+0j)
    >>> pair.inverse(); pair.data
    array([ 4.,  8., 12., 16.])
    """

    def __init__(self, batch_shape: tuple[int, ...], fft_shape: tuple[int, ...], real: bool, dtype: np.dtype,
                 threads: int) -> None:
        self.fft_shape = tuple(fft_shape)
        self.real = real
        self.threads = threads
        self.axes = tuple(range(len(batch_shape), len(batch_shape) + len(fft_shape)))
        self.library = library()
        self.data = np.empty(tuple(batch_shape) + self.fft_shape, dtype)
        #: the points of one transform, where numpy.fft transforms scaled (`SCALED_SINGLE_AXES`)
        self.rescale = (math.prod(self.fft_shape) if self.library == "numpy.fft" and dtype.char in "fF"
                        and len(self.fft_shape) >= SCALED_SINGLE_AXES else None)
        if real:
            complex_dtype = np.result_type(dtype, np.complex64)
            half = self.fft_shape[:-1] + (self.fft_shape[-1] // 2 + 1,)
            self.spectrum = np.empty(tuple(batch_shape) + half, complex_dtype)
        else:
            self.spectrum = self.data

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes + (self.spectrum.nbytes if self.real else 0))

    def begin(self) -> None:
        """Nothing to do: pocketfft needs no plan."""

    def forward(self) -> None:
        """``spectrum = FFT(data)``."""
        if self.library == "numpy.fft":  # one axis at a time, in place (see the class docstring)
            norm = "backward" if self.rescale is None else "forward"
            first = np.fft.rfft if self.real else np.fft.fft
            first(self.data, axis=self.axes[-1], norm=norm, out=self.spectrum)
            for axis in self.axes[:-1]:
                np.fft.fft(self.spectrum, axis=axis, norm=norm, out=self.spectrum)
            if self.rescale is not None:
                self.spectrum *= self.rescale
            return
        import scipy.fft

        # scipy.fft writes a new array: it becomes the buffer rather than being copied into it
        # (a pass over the spectrum a transform: 5-10% of a 2-D call's time)
        transform = scipy.fft.rfftn if self.real else scipy.fft.fftn
        self.spectrum = transform(self.data, axes=self.axes, workers=self.threads)
        if not self.real:
            self.data = self.spectrum

    def inverse(self) -> None:
        """``data = unnormalised inverse FFT(spectrum)`` (the spectrum may be destroyed)."""
        if self.library == "numpy.fft":  # one axis at a time, in place (see the class docstring)
            norm = "forward" if self.rescale is None else "backward"
            for axis in self.axes[:-1]:
                np.fft.ifft(self.spectrum, axis=axis, norm=norm, out=self.spectrum)
            last = np.fft.irfft if self.real else np.fft.ifft
            last(self.spectrum, n=self.fft_shape[-1], axis=self.axes[-1], norm=norm, out=self.data)
            if self.rescale is not None:
                self.data *= self.rescale
            return
        import scipy.fft

        if self.real:
            self.data = scipy.fft.irfftn(self.spectrum, s=self.fft_shape, axes=self.axes, norm="forward",
                                         overwrite_x=True, workers=self.threads)
        else:
            self.data = self.spectrum = scipy.fft.ifftn(self.spectrum, axes=self.axes, norm="forward",
                                                        overwrite_x=True, workers=self.threads)


_cache: PairCache[PocketPair] = PairCache(CACHE_BYTES, CACHE_PAIRS)


def scaled_spectrum(values: np.ndarray, fft_shape: tuple[int, ...], real: bool, dtype: np.dtype,
                    threads: int = 1) -> np.ndarray:
    """The spectrum of ``values`` (batch axes first) zero-padded to ``fft_shape`` and scaled by
    ``1 / prod(fft_shape)``, computed in ``dtype`` (the real one for real transforms) as
    a new array. numpy.fft pads one axis at a time, after transforming the axes before it, so
    the padding is transformed only along the axes already done: a small kernel's spectrum
    costs a fraction of a full transform (15³ for 112³ float32: 5.5 ms against 9 on a
    `PocketPair`, 19 with FFTW's ESTIMATE plan; 41² for 625x540 float64 3.3 against 8.1 ms;
    AMD EPYC Zen 3). scipy.fft, once imported, is called so too, one axis at a time (the last
    one first): its ``rfftn`` pads first and transforms every axis of the padded array (AMD EPYC
    Zen 4: 15² at 315x270 float64 0.98 -> 0.31 ms, 41² at 640x576 4.5 -> 1.2 ms, 15³ at 112³
    15.9 -> 5.3 ms). On numpy.fft, into one array in place (`_spectrum_in_place`).

    Examples
    --------
    >>> import numpy as np
    >>> scaled_spectrum(np.array([1.0, 1.0]), (4,), True, np.dtype(np.float64)) * 4
    array([2.+0.j, 1.-1.j, 0.+0.j])
    """
    axes = tuple(range(values.ndim - len(fft_shape), values.ndim))
    values = values.astype(dtype, copy=False)
    if library() == "numpy.fft":
        return _spectrum_in_place(values, fft_shape, axes, real)
    import scipy.fft

    first = scipy.fft.rfft if real else scipy.fft.fft
    spectrum = first(values, n=fft_shape[-1], axis=axes[-1], norm="forward", workers=threads)
    for axis, n in zip(reversed(axes[:-1]), reversed(fft_shape[:-1])):
        spectrum = scipy.fft.fft(spectrum, n=n, axis=axis, norm="forward", overwrite_x=True,
                                 workers=threads)
    return spectrum.astype(np.result_type(dtype, np.complex64), copy=False)


def _spectrum_in_place(values: np.ndarray, fft_shape: tuple[int, ...], axes: tuple[int, ...],
                       real: bool) -> np.ndarray:
    """`scaled_spectrum` on numpy.fft, in the one array it returns: the last axis transformed
    into its corner, then each other axis (the last but one first) in place over the slab where
    the axes before it still hold only the kernel. numpy's ``rfftn`` with ``s=`` padded and
    allocated an array per axis: fresh processes, medians of 5, AMD EPYC Zen 4: 15² into 1008²
    float32 4.9 -> 4.2 ms, 31² into 4096² 93 -> 51 ms, 101² into 1200² 8.0 -> 4.6 ms, 15³ into
    112³ 5.8 -> 4.1 ms, 7³ into 135x135x140 float64 13.2 -> 11.3 ms (0.54-0.96x in 12 of 14
    cases, 41² into 640x576 0.95x and 1.08x)."""
    values = values[(Ellipsis, *(slice(0, n) for n in fft_shape))]  # as rfftn: a longer axis is cut
    last = fft_shape[-1] // 2 + 1 if real else fft_shape[-1]
    shape = values.shape[:values.ndim - len(fft_shape)] + tuple(fft_shape[:-1]) + (last,)
    spectrum = np.zeros(shape, np.result_type(values.dtype, np.complex64))
    kernel = tuple(slice(0, values.shape[a]) for a in axes[:-1])
    first = np.fft.rfft if real else np.fft.fft
    first(values, n=fft_shape[-1], axis=axes[-1], norm="forward",
          out=spectrum[(Ellipsis, *kernel, slice(None))])
    for i in reversed(range(len(axes) - 1)):
        slab = spectrum[(Ellipsis, *kernel[:i], *[slice(None)] * (len(axes) - i))]
        np.fft.fft(slab, axis=axes[i], norm="forward", out=slab)
    return spectrum


def transform_pair(batch_shape: tuple[int, ...], fft_shape: tuple[int, ...], real: bool, dtype: np.dtype,
                   threads: int = 1) -> PocketPair:
    """A cached `PocketPair` of the calling thread (its buffers are scratch space: threads
    never share one).

    Examples
    --------
    >>> import numpy as np
    >>> pair = transform_pair((), (8,), True, np.dtype(np.float64))
    >>> pair is transform_pair((), (8,), True, np.dtype(np.float64))
    True
    """
    key = (tuple(batch_shape), tuple(fft_shape), bool(real), np.dtype(dtype), threads, library(),
           threading.get_ident())
    pair = _cache.get(key)
    if pair is None:
        pair = PocketPair(tuple(batch_shape), tuple(fft_shape), bool(real), np.dtype(dtype), threads)
        _cache.put(key, pair)
    return pair


class PocketFFTBackend:
    """pocketfft (numpy.fft or scipy.fft) as an FFT backend (`fftconv.backends.base.Backend`).

    Examples
    --------
    >>> import numpy as np
    >>> POCKETFFT.supports(np.dtype(np.float32)), POCKETFFT.supports(np.dtype(np.int64))
    (True, False)
    """

    name = "pocketfft"

    def supports(self, dtype: np.dtype) -> bool:
        dtype = np.dtype(dtype)
        return dtype.kind in "fc" and dtype.itemsize >= (4 if dtype.kind == "f" else 8)

    def transform_pair(self, batch_shape, fft_shape, real, dtype, threads=1, uses=1) -> PocketPair:
        return transform_pair(batch_shape, fft_shape, real, dtype, threads)

    def scaled_spectrum(self, values, fft_shape, real, dtype, threads=1) -> np.ndarray:
        return scaled_spectrum(values, fft_shape, real, dtype, threads)

    def clear_cache(self) -> None:
        _cache.clear()

    def version(self) -> str:
        return f"pocketfft ({library()}, NumPy {np.__version__})"

    def describe(self, fft_shape: tuple[int, ...], real: bool, dtype: np.dtype) -> str:
        return f"{library()} (pocketfft, no planning)"


POCKETFFT = register_backend(PocketFFTBackend())
