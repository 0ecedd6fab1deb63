"""Reading and writing the images of ``fftconv filter``: .npy, .tif/.tiff and .png.

.npy and uncompressed TIFF files are memory-mapped both ways, so images bigger than memory
stream through the filter's blocks; PNG (and compressed TIFF) is read whole. TIFF needs
``tifffile`` and PNG needs ``Pillow`` (``pip install "fftconv[images]"``).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

SUFFIXES = (".npy", ".tif", ".tiff", ".png")

#: dtypes a PNG file can hold (grayscale 8/16-bit, RGB/RGBA 8-bit)
_PNG_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16))


def _need(module: str, suffix: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise RuntimeError(
            f"{suffix} files need the {module!r} package: pip install \"fftconv[images]\"") from None


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(
            f"{path}: unsupported file type {suffix or '(none)'!r}; use one of {', '.join(SUFFIXES)}")
    return suffix


def open_image(path: str | Path) -> np.ndarray:
    """The image at ``path``: a read-only memmap for .npy and uncompressed TIFF, else an array.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.npy"; np.save(p, np.eye(3))
    >>> open_image(p).shape
    (3, 3)
    """
    path = Path(path)
    suffix = _suffix(path)
    if not path.exists():
        raise FileNotFoundError(f"input image {path} does not exist")
    if suffix == ".npy":
        from ..kernels import load_npy

        return load_npy(path, "input image", mmap_mode="r")
    if suffix in (".tif", ".tiff"):
        tifffile = _need("tifffile", suffix)
        try:
            return tifffile.memmap(path, mode="r")
        except ValueError:  # compressed or tiled: not mappable
            return tifffile.imread(path)
    image_module = _need("PIL.Image", suffix)
    with image_module.open(path) as image:
        return np.asarray(image)


@contextlib.contextmanager
def create_image(path: str | Path, shape: tuple[int, ...], dtype: np.dtype) -> Iterator[np.ndarray]:
    """A writable array for the result, put on disk as ``path`` when the ``with`` block ends
    without an error.

    The result is written to a temporary file beside ``path`` and renamed onto it only then,
    so an error or an interrupt (Ctrl-C) never leaves a file at ``path`` that looks complete.
    .npy and TIFF outputs are memmaps of that file (written as the filter goes); PNG is kept in
    memory and encoded at the end.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "out.npy"
    >>> with create_image(p, (2, 2), np.dtype(np.float32)) as out:
    ...     out[:] = 1
    >>> np.load(p).sum()
    np.float32(4.0)
    """
    path = Path(path)
    suffix = _suffix(path)
    dtype = np.dtype(dtype)
    if suffix == ".png":
        _check_png(shape, dtype)
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".partial{suffix}", dir=path.parent or ".")
    os.close(fd)
    partial = Path(name)
    umask = os.umask(0)
    os.umask(umask)
    partial.chmod(0o666 & ~umask)  # a new file's usual permissions (mkstemp's are 0600)
    try:
        out = _open_output(partial, suffix, shape, dtype)
        yield out
        if suffix == ".png":
            _need("PIL.Image", suffix).fromarray(out).save(partial, format="PNG")
        else:
            out.flush()
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _check_png(shape: tuple[int, ...], dtype: np.dtype) -> None:
    if dtype not in _PNG_DTYPES or not (len(shape) == 2 or (len(shape) == 3 and shape[2] in (3, 4))):
        raise ValueError(f"PNG holds 8/16-bit grayscale or 8-bit RGB(A) images, not {dtype} of shape "
                         f"{shape}; pass --dtype uint8 or write .npy/.tif")
    if dtype == np.uint16 and len(shape) == 3:
        raise ValueError("PNG colour images are 8-bit here; pass --dtype uint8 or write .npy/.tif")


def _open_output(path: Path, suffix: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """The array the result is written into: a memmap of ``path`` (.npy, TIFF) or memory (PNG)."""
    if suffix == ".npy":
        return np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
    if suffix in (".tif", ".tiff"):
        tifffile = _need("tifffile", suffix)
        big = int(np.prod(shape)) * dtype.itemsize > 2**31
        return tifffile.memmap(path, shape=shape, dtype=dtype, bigtiff=big)
    _need("PIL.Image", suffix)
    return np.empty(shape, dtype)
