"""Common kernels, and the ``--kernel`` specs of ``fftconv filter``.

Examples
--------
>>> from fftconv.kernels import from_spec
>>> float(from_spec("box:3", ndim=2).sum().round(12))
1.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .core.messages import shown

__all__ = ["KernelSpec", "box", "from_spec", "gaussian", "gaussian_1d", "load_npy", "parse_spec"]


def gaussian_1d(sigma: float, order: int = 0, radius: int = 4) -> np.ndarray:
    """The samples ``-radius`` to ``radius`` of the ``order``-th derivative of a Gaussian of
    standard deviation ``sigma``, normalised so that the Gaussian's own samples sum to 1:
    scipy.ndimage.gaussian_filter1d convolves with this kernel (correlating with it reversed).

    The derivative of ``exp(-x**2 / (2 sigma**2))`` of order ``n`` is that function times
    ``(-1/sigma)**n He_n(x / sigma)``, where ``He_n`` are the probabilists' Hermite
    polynomials (``He_0 = 1``, ``He_1 = t``, ``He_{n+1} = t He_n - n He_{n-1}``).

    Examples
    --------
    >>> gaussian_1d(1.0, radius=1).round(4).tolist()
    [0.2741, 0.4519, 0.2741]
    >>> gaussian_1d(1.0, order=1, radius=1).round(4).tolist()  # d/dx: positive before the centre
    [0.2741, -0.0, -0.2741]
    """
    if order < 0:
        raise ValueError("order must be non-negative")
    t = np.arange(-radius, radius + 1, dtype=np.float64) / sigma
    phi = np.exp(-0.5 * t * t)
    phi /= phi.sum()
    factor = (-1.0 / sigma) ** order  # (a zero sigma raises ZeroDivisionError here, as in scipy)
    if order == 0:  # (the product below by ones: the same bits, and a fresh process' first
        return phi  # use of those NumPy calls, ~30 us of a 48x48 gaussian_filter's first 330)
    previous, hermite = np.zeros_like(t), np.ones_like(t)
    for n in range(order):
        previous, hermite = hermite, t * hermite - n * previous
    return factor * hermite * phi


def gaussian(sigma: float | Sequence[float], ndim: int = 2, truncate: float = 4.0) -> np.ndarray:
    """A normalised Gaussian of standard deviation ``sigma`` (one number, or one per axis, as
    scipy.ndimage.gaussian_filter takes it), radius ``int(truncate * sigma + 0.5)`` per axis:
    gaussian_filter's kernel as one ``ndim``-dimensional array.

    Examples
    --------
    >>> k = gaussian(1.0, ndim=2)
    >>> k.shape, float(k.sum().round(12))
    ((9, 9), 1.0)
    >>> gaussian((2, 0.5)).shape
    (17, 5)
    """
    sigmas = [sigma] * ndim if np.ndim(sigma) == 0 else list(np.ravel(sigma))
    if len(sigmas) != ndim:
        raise ValueError(f"gaussian sigma needs one number or {ndim} (one per axis), got {shown(sigma)}")
    if not np.isfinite(truncate) or truncate <= 0:
        raise ValueError(f"gaussian truncate must be a positive number, got {shown(truncate)}")
    lines = []
    for s in sigmas:
        if isinstance(s, bool) or not isinstance(s, (int, float, np.integer, np.floating)) or \
                not np.isfinite(s) or s <= 0:
            raise ValueError(f"gaussian sigma must be positive numbers, got {shown(sigma)}")
        radius = int(truncate * float(s) + 0.5)
        x = np.arange(-radius, radius + 1, dtype=np.float64)
        line = np.exp(-0.5 * (x / s) ** 2)
        lines.append(line / line.sum())
    return _outer(lines)


def box(size: int | tuple[int, ...], ndim: int = 2) -> np.ndarray:
    """A normalised box (uniform) kernel of ``size`` per axis (one int for all axes).

    Examples
    --------
    >>> box((1, 3)).tolist()
    [[0.3333333333333333, 0.3333333333333333, 0.3333333333333333]]
    """
    sizes = (size,) * ndim if np.isscalar(size) else tuple(size)
    if len(sizes) != ndim or any(int(s) != s or s < 1 for s in sizes):
        raise ValueError(f"box size must be {ndim} positive integer(s), got {shown(size)}")
    return np.full(tuple(int(s) for s in sizes), 1.0 / float(np.prod(sizes)))


def _outer(lines: list[np.ndarray]) -> np.ndarray:
    out = lines[0]
    for line in lines[1:]:
        out = np.multiply.outer(out, line)
    return out


def load_npy(path: str | Path, what: str, mmap_mode: str | None = None) -> np.ndarray:
    """The array in the .npy file ``path`` (``what`` names it in errors: "input image",
    "kernel file"), never unpickling: a file that is not a .npy file, or that holds Python
    objects, is refused with a clear ``ValueError``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "k.npy"
    >>> _ = p.write_bytes(b"not numpy")
    >>> load_npy(p, "kernel file")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: kernel file ... is not a .npy file (NumPy's format); save arrays with numpy.save
    """
    try:
        array = np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        text = str(exc)
        if "pickle" in text or "Python objects" in text:  # np.load's advice would be to unpickle
            if _holds_objects(path):
                raise ValueError(f"{what} {str(path)!r} holds Python objects, which fftconv does not load; "
                                 "save a numeric array") from None
            raise ValueError(f"{what} {str(path)!r} is not a .npy file (NumPy's format); save arrays with "
                             "numpy.save") from None
        raise ValueError(f"{what} {str(path)!r} cannot be read as a .npy file: {text}") from None
    if not isinstance(array, np.ndarray):  # an .npz archive under a .npy name
        raise ValueError(f"{what} {str(path)!r} is not a .npy file (NumPy's format); save arrays with "
                         "numpy.save")
    return array


def _holds_objects(path: str | Path) -> bool:
    """Whether ``path`` is a .npy file whose header declares Python objects."""
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            fmt = np.lib.format
            read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            return np.dtype(read(f)[2]).hasobject
    except (ValueError, OSError, EOFError):
        return False


@dataclass(frozen=True)
class KernelSpec:
    """A ``--kernel`` spec of ``fftconv filter``, read but not built: ``kind`` 'gaussian'
    (``sigma``, ``truncate``), 'box' (``sizes``: one for every axis, or one per axis) or
    'file' (``path`` of a .npy file)."""

    kind: str
    sigma: float = 0.0
    truncate: float = 4.0
    sizes: tuple[int, ...] = ()
    path: Path | None = None

    def shape(self, ndim: int) -> tuple[int, ...]:
        """The kernel's shape over ``ndim`` axes, without building it.

        Examples
        --------
        >>> parse_spec("gaussian:sigma=2").shape(2)
        (17, 17)
        """
        if self.kind == "gaussian":
            return (2 * int(self.truncate * self.sigma + 0.5) + 1,) * ndim
        if self.kind == "box":
            return self.sizes * ndim if len(self.sizes) == 1 else self.sizes
        return tuple(load_npy(self.path, "kernel file", mmap_mode="r").shape)

    def array(self, ndim: int) -> np.ndarray:
        """The kernel as an ``ndim``-dimensional array.

        Examples
        --------
        >>> parse_spec("box:5x3").array(2).shape
        (5, 3)
        """
        if self.kind == "gaussian":
            return gaussian(self.sigma, ndim, self.truncate)
        if self.kind == "box":
            return box(self.sizes[0] if len(self.sizes) == 1 else self.sizes, ndim)
        kernel = load_npy(self.path, "kernel file")
        if kernel.dtype.kind not in "biufc":
            raise ValueError(f"kernel file {str(self.path)!r} holds {kernel.dtype} values; a kernel needs "
                             "numbers")
        if kernel.ndim != ndim:
            raise ValueError(f"kernel {str(self.path)!r} has {kernel.ndim} dimensions; the image's filtered "
                             f"axes need {ndim}")
        return kernel

    def separable_filter(self, ndim: int, correlate: bool) -> tuple[str, dict] | None:
        """The ``fftconv.ndimage`` filter that convolves (or correlates) with this kernel over
        ``ndim`` axes in 1-D passes, and its arguments: ``gaussian_filter`` for a Gaussian,
        ``uniform_filter`` for a box (running sums; an even box convolves one sample
        later than it correlates, as scipy.ndimage's convolve mirrors the origin); None for
        a kernel file.

        Examples
        --------
        >>> parse_spec("box:4x3").separable_filter(2, correlate=False)
        ('uniform_filter', {'size': (4, 3), 'origin': [-1, 0]})
        """
        if self.kind == "gaussian":
            return "gaussian_filter", {"sigma": self.sigma, "truncate": self.truncate}
        if self.kind == "box":
            sizes = self.shape(ndim)
            if len(sizes) != ndim:
                box(self.sizes, ndim)  # its error
            origins = [0 if correlate or n & 1 else -1 for n in sizes]
            return "uniform_filter", {"size": sizes, "origin": origins}
        return None


def parse_spec(spec: str) -> KernelSpec:
    """Read ``gaussian:sigma=S[,truncate=T]``, ``box:N`` / ``box:NxM`` or a ``.npy`` file's
    path, checking its numbers (a clear error for each mistake).

    Examples
    --------
    >>> parse_spec("gaussian:sigma=1.5,truncate=3")
    KernelSpec(kind='gaussian', sigma=1.5, truncate=3.0, sizes=(), path=None)
    """
    name, _, args = spec.partition(":")
    if name == "gaussian":
        params = {}
        for item in filter(None, args.split(",")):
            key, eq, value = item.partition("=")
            if not eq or key not in ("sigma", "truncate"):
                raise ValueError(f"gaussian takes sigma=S and truncate=T, got {item!r} in {spec!r}")
            try:
                params[key] = float(value)
            except ValueError:
                raise ValueError(f"gaussian {key} must be a number, got {value!r}") from None
        if "sigma" not in params:
            raise ValueError(f"gaussian needs sigma, e.g. gaussian:sigma=8 (got {spec!r})")
        sigma, truncate = params["sigma"], params.get("truncate", 4.0)
        if not np.isfinite(sigma) or sigma <= 0:
            raise ValueError(f"gaussian sigma must be a positive number, got {shown(sigma)}")
        if not np.isfinite(truncate) or truncate <= 0:
            raise ValueError(f"gaussian truncate must be a positive number, got {shown(truncate)}")
        return KernelSpec("gaussian", sigma=sigma, truncate=truncate)
    if name == "box":
        try:
            sizes = tuple(int(p) for p in args.lower().split("x"))
        except ValueError:
            raise ValueError(f"box takes a size like box:15 or box:15x9, got {spec!r}") from None
        if any(n < 1 for n in sizes):
            raise ValueError(f"box sizes must be positive integers, got {spec!r}")
        return KernelSpec("box", sizes=sizes)
    path = Path(spec)
    if path.suffix == ".npy":
        if not path.exists():
            raise ValueError(f"kernel file {spec!r} does not exist")
        return KernelSpec("file", path=path)
    raise ValueError(f"unknown kernel {spec!r}: use gaussian:sigma=S, box:N, box:NxM or a .npy file")


def from_spec(spec: str, ndim: int) -> np.ndarray:
    """Parse ``gaussian:sigma=S[,truncate=T]``, ``box:N`` / ``box:NxM`` or a ``.npy`` file
    (`parse_spec`) and build the kernel over ``ndim`` axes.

    Examples
    --------
    >>> from_spec("gaussian:sigma=2", ndim=2).shape
    (17, 17)
    >>> from_spec("box:5x3", ndim=2).shape
    (5, 3)
    """
    return parse_spec(spec).array(ndim)
