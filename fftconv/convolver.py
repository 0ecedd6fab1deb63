"""`Convolver`: plan once for one kernel and one image shape, then convolve many images.

The geometry, the plan and the executor's kernel-only work (for FFT methods the kernel
spectrum, for separable kernels their factors) are computed at construction; each call then
costs the copies and the forward and inverse transforms only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .backends.threads import resolve_threads
from .core.dtypes import as_operand, check_numbers
from .core.geometry import check_mode
from .core.problem import Problem, check_shape
from .engine import run
from .executors.registry import check_method
from .planning.plan import Plan

if TYPE_CHECKING:
    from .signal import Mode


class Convolver:
    """Convolve (or correlate) many images of one shape with one kernel.

    Parameters
    ----------
    kernel : array_like
        The kernel; same number of dimensions as the images.
    shape : tuple of int
        Shape of every image.
    mode : {'full', 'same', 'valid'}
        As in `fftconv.convolve` ('valid' needs the image at least as large as the kernel).
    method : str
        As in `fftconv.convolve` (a name in ``fftconv.METHODS``); planned once.
    dtype : dtype, optional
        dtype of the images (default float64, or the kernel's if it is complex/float32).
    correlate : bool
        Correlate instead (the kernel is flipped and conjugated once, here).
    threads : int, optional
        Threads per call (default: the configuration's); at most the cores this process may
        run on.

    Examples
    --------
    >>> import numpy as np, fftconv
    >>> blur = fftconv.Convolver(np.ones((3, 3)) / 9, (64, 64), mode="same")
    >>> images = np.random.default_rng(0).random((4, 64, 64))
    >>> outs = [blur(img) for img in images]
    >>> np.allclose(outs[0], fftconv.convolve(images[0], np.ones((3, 3)) / 9, "same"))
    True
    """

    def __init__(self, kernel: ArrayLike, shape: Sequence[int], mode: Mode = "full", method: str = "auto",
                 dtype: DTypeLike | None = None, correlate: bool = False, threads: int | None = None) -> None:
        h = as_operand(kernel, "kernel")
        check_numbers(h, "kernel")
        self.shape = check_shape(shape, "shape")
        if len(self.shape) != h.ndim:
            raise ValueError(f"kernel has {h.ndim} dimensions but image shape {self.shape} has "
                             f"{len(self.shape)}; they must match")
        if h.size == 0:
            raise ValueError(f"the kernel is empty (shape {h.shape}); it needs at least one value")
        if dtype is None:
            dtype = np.result_type(h.dtype, np.float64) if h.dtype.kind in "biu" else h.dtype
        self.dtype = np.dtype(dtype)
        check_mode(mode)
        check_method(method)
        if mode == "valid" and any(k > n for k, n in zip(h.shape, self.shape)):
            raise ValueError(f"'valid' mode needs images at least as large as the kernel {h.shape}; "
                             f"got image shape {self.shape}")
        self.mode = mode
        self.correlate = bool(correlate)
        self.threads = resolve_threads(threads)
        template = np.broadcast_to(np.zeros((), self.dtype), self.shape)
        self._kernel = h.copy()  # the caller may change theirs later
        self._run = run.prepare_problem(Problem.build(template, self._kernel, mode, correlate=self.correlate),
                                        method, self.threads)
        self.plan: Plan = self._run.plan

    @property
    def out_shape(self) -> tuple[int, ...]:
        """Shape of every result."""
        return self._run.problem.out_shape

    @property
    def out_dtype(self) -> np.dtype:
        """dtype of every result (``np.result_type(images, kernel)``, as `fftconv.convolve`)."""
        return self._run.problem.result_dtype

    def __call__(self, image: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
        """Convolve one image; ``out`` (of `out_shape` and `out_dtype`) receives the result."""
        x = as_operand(image, "image")
        check_numbers(x, "image")
        if x.shape != self.shape:
            raise ValueError(f"image shape {x.shape} differs from the planned shape {self.shape}")
        if not np.can_cast(x.dtype, self.dtype, "safe"):
            raise TypeError(f"image dtype {x.dtype} cannot be cast to the planned dtype {self.dtype} without "
                            f"losing precision; make the Convolver with dtype={x.dtype}")
        if out is not None:
            if not isinstance(out, np.ndarray) or out.shape != self.out_shape or out.dtype != self.out_dtype:
                raise ValueError(f"out must be an array of shape {self.out_shape} and dtype "
                                 f"{self.out_dtype}")
            if np.shares_memory(out, x):
                raise ValueError("out must not overlap the image")
        return self._run(x, out)

    def __repr__(self) -> str:
        return (f"Convolver(kernel shape {self._kernel.shape}, image shape {self.shape}, "
                f"mode={self.mode!r}, method={self.plan.method!r}, dtype={self.dtype})")
