"""Common kernels, and the ``--kernel`` specs of ``fftconv filter``.

Examples
--------
>>> from fftconv.kernels import from_spec
>>> float(from_spec("box:3", ndim=2).sum().round(12))
1.0
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["box", "from_spec", "gaussian", "gaussian_1d"]


def gaussian_1d(sigma: float, order: int = 0, radius: int = 4) -> np.ndarray:
    """The samples ``-radius .. radius`` of the ``order``-th derivative of a Gaussian of
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
    previous, hermite = np.zeros_like(t), np.ones_like(t)
    for n in range(order):
        previous, hermite = hermite, t * hermite - n * previous
    return (-1.0 / sigma) ** order * hermite * phi


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
        raise ValueError(f"gaussian sigma needs one number or {ndim} (one per axis), got {sigma!r}")
    if not np.isfinite(truncate) or truncate <= 0:
        raise ValueError(f"gaussian truncate must be a positive number, got {truncate!r}")
    lines = []
    for s in sigmas:
        if isinstance(s, bool) or not isinstance(s, (int, float, np.integer, np.floating)) or \
                not np.isfinite(s) or s <= 0:
            raise ValueError(f"gaussian sigma must be positive numbers, got {sigma!r}")
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
        raise ValueError(f"box size must be {ndim} positive integer(s), got {size!r}")
    return np.full(tuple(int(s) for s in sizes), 1.0 / float(np.prod(sizes)))


def _outer(lines: list[np.ndarray]) -> np.ndarray:
    out = lines[0]
    for line in lines[1:]:
        out = np.multiply.outer(out, line)
    return out


def from_spec(spec: str, ndim: int) -> np.ndarray:
    """Parse ``gaussian:sigma=S[,truncate=T]``, ``box:N`` / ``box:NxM`` or a ``.npy`` file.

    Examples
    --------
    >>> from_spec("gaussian:sigma=2", ndim=2).shape
    (17, 17)
    >>> from_spec("box:5x3", ndim=2).shape
    (5, 3)
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
        return gaussian(params["sigma"], ndim, params.get("truncate", 4.0))
    if name == "box":
        try:
            sizes = tuple(int(p) for p in args.lower().split("x"))
        except ValueError:
            raise ValueError(f"box takes a size like box:15 or box:15x9, got {spec!r}") from None
        return box(sizes[0] if len(sizes) == 1 else sizes, ndim)
    path = Path(spec)
    if path.suffix == ".npy":
        if not path.exists():
            raise ValueError(f"kernel file {spec!r} does not exist")
        kernel = np.load(path, allow_pickle=False)
        if kernel.ndim != ndim:
            raise ValueError(f"kernel {spec!r} has {kernel.ndim} dimensions; the image's filtered axes "
                             f"need {ndim}")
        return kernel
    raise ValueError(f"unknown kernel {spec!r}: use gaussian:sigma=S, box:N, box:NxM or a .npy file")
