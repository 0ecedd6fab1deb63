"""`Plan`: how one convolution will run, and why; and `MemoryLimitError`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..core.geometry import Window
from ..core.problem import Spec


class MemoryLimitError(MemoryError):
    """The memory limit (``[memory] limit``) is too small for any way of doing the work."""


@dataclass(frozen=True)
class Candidate:
    """One executor's estimate in a plan, as `Plan.explain` shows it."""

    seconds: float
    workspace: int
    fits: bool  # within the memory limit
    trial_only: bool = False  # its executor is timed in trials, never chosen on its estimate


#: How `Plan.explain` names where the cost coefficients came from.
COSTS_SOURCES = {
    "built-in": "built-in (fitted on the reference machine; [planner] calibrate = \"off\")",
    "calibrated": "calibrated on this CPU at first use (fftconv.planning.calibrate)",
    "calibrating": "built-in, while this CPU is calibrated in the background (fftconv.planning.calibrate)",
    "tuned": "[planner.costs] of the configuration (written by fftconv tune, or by hand); first-use "
    "calibration is off while it is set",
}


@dataclass(frozen=True)
class Plan:
    """How one convolution will run, and why.

    Attributes
    ----------
    spec : Spec
        What was planned (shapes, windows, dtypes, threads, backend).
    method : str
        The method chosen (a name in ``fftconv.METHODS``: 'direct', 'fft', 'tiled',
        'separable', or a plug-in's).
    executor : str
        The executor that runs it (e.g. 'direct.rows', one of the direct sums).
    layout : object
        The executor's layout (for 'fft' and 'tiled' an `fftconv.executors.spectral.FFTLayout`),
        None if it has none.
    compute_dtype : numpy.dtype
        dtype the executor computes in.
    backend : str or None
        The FFT backend its transforms run on (None for methods without transforms).
    workspace : int
        Estimated bytes of working memory beyond the operands and the output.
    estimates : dict
        Estimated seconds of every method that applies and fits the memory limit (its
        fastest executor the planner may choose: a trial-only one only where chosen).
    candidates : dict
        Every executor considered, by name: estimated seconds, workspace, whether it fits.
    reason : str
        Why this executor (the lowest estimate, a forced method, the memory limit).
    costs_source : str
        Where the cost coefficients came from: 'built-in', 'calibrated' (measured on this
        CPU on first use), 'calibrating' (built-in while that measurement runs in the
        background) or 'tuned' (``fftconv tune``'s ``[planner.costs]``).
    trial : Trial or None
        While the estimates of several executors are too close to call, the
        `fftconv.engine.trials.Trial` that times them on the signature's repeated calls.
    operation : str
        'convolve', or 'correlate' for a plan of a correlation (which runs as the convolution
        with the kernel reversed and conjugated).
    first_sight : bool
        Whether this is a call's plan for a signature not seen before, chosen from a short list
        without pricing every executor (`fftconv.engine.run.FIRST_SIGHT_EXECUTORS`); the
        signature's next call is planned in full.
    """

    spec: Spec
    method: str
    executor: str
    layout: object
    compute_dtype: np.dtype
    backend: str | None
    workspace: int
    estimates: Mapping[str, float] = field(compare=False, hash=False)
    candidates: Mapping[str, Candidate] = field(compare=False, hash=False, repr=False)
    reason: str = ""
    costs_source: str = field(default="built-in", compare=False)
    trial: object = field(default=None, compare=False, hash=False, repr=False)
    operation: str = field(default="convolve", compare=False)
    first_sight: bool = field(default=False, compare=False)
    #: The FFT shapes the plan's tiles transformed where they differ from ``fft_shape`` (a whole
    #: periodic or zero-bordered image's own layout, `fftconv.executors.spectral.unextended_tiles`):
    #: what the finality of its transforms is asked of. Asked of ``fft_shape`` alone, a
    #: signature on such a layout stayed on its first-call route for good, never in a trial.
    transformed: set = field(default_factory=set, compare=False, hash=False, repr=False)

    @property
    def shape1(self) -> tuple[int, ...]:
        """Image lengths on the convolved axes."""
        return self.spec.shape1

    @property
    def shape2(self) -> tuple[int, ...]:
        """Kernel lengths on the convolved axes."""
        return self.spec.shape2

    @property
    def mode_windows(self) -> tuple[Window, ...]:
        """The part of the full convolution kept on each convolved axis."""
        return self.spec.windows

    @property
    def batch(self) -> tuple[int, ...]:
        """Broadcast shape of the axes that are not convolved."""
        return self.spec.batch

    @property
    def threads(self) -> int:
        """Threads the executor may use."""
        return self.spec.threads

    @property
    def fft_shape(self) -> tuple[int, ...] | None:
        """FFT (tile) lengths of the convolved axes, for methods that transform."""
        return getattr(self.layout, "fft_shape", None)

    @property
    def tiled_axes(self) -> tuple[bool, ...] | None:
        """Which convolved axes are cut into overlap-save tiles."""
        return getattr(self.layout, "tiled_axes", None)

    @property
    def tiles(self) -> int:
        """Number of FFT tiles (1 for a whole-array FFT, 0 for methods without transforms)."""
        return getattr(self.layout, "tiles", 0)

    def explain(self) -> str:
        """A plain-words account of the choice.

        Examples
        --------
        >>> import fftconv
        >>> print(fftconv.plan((512, 512), (3, 3), mode="same").explain())  # doctest: +ELLIPSIS
        convolve (512, 512) with (3, 3), ...
        """
        lines = [
            f"{self.operation} {self.shape1} with {self.shape2}, "
            f"output {tuple(w.length for w in self.mode_windows)}"
            + (f" for each of {int(np.prod(self.batch))} batch items" if self.batch else "")
            + f", computing in {self.compute_dtype} on {self.threads} thread(s)",
            f"chosen: {self.method}" + (f" by {self.executor}" if self.executor != self.method else "")
            + f" ({self.reason})",
        ]
        if self.operation == "correlate":
            lines.insert(1, "run as what it equals: the convolution with the kernel reversed "
                            "(and conjugated)")
        if self.layout is not None:
            lines.append(str(self.layout))
        if self.backend is not None and self.fft_shape is not None:
            lines.append(describe_transforms(self.backend, self.fft_shape, self.compute_dtype))
        lines.append(f"cost coefficients: {COSTS_SOURCES.get(self.costs_source, self.costs_source)}")
        if self.trial is not None:
            lines.append(self.trial.describe())
        for name, c in sorted(self.candidates.items(), key=lambda kv: kv[1].seconds):
            note = "" if c.fits else ", over the memory limit"
            note += ", timed in trials only" if c.trial_only else ""
            lines.append(f"  {name:>16}: estimated {format_seconds(c.seconds)}, "
                         f"workspace {format_bytes(c.workspace)}{note}")
        return "\n".join(lines)


def describe_transforms(backend: str, fft_shape: tuple[int, ...], dtype: np.dtype) -> str:
    """The line of `Plan.explain` on the transforms: the backend, and what it says of
    transforms of ``fft_shape`` now (library, planning effort) if it says anything."""
    from ..backends.base import get_backend

    describe = getattr(get_backend(backend), "describe", None)
    if describe is None:
        return f"transforms on {backend}"
    dtype = np.dtype(dtype)
    said = describe(tuple(fft_shape), dtype.kind != "c", dtype.type(0).real.dtype)
    return f"transforms on {backend}: {said}"


def format_seconds(seconds: float) -> str:
    """``seconds`` in s, ms or us.

    Examples
    --------
    >>> format_seconds(0.0123), format_seconds(4e-6)
    ('12.30 ms', '4 us')
    """
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.0f} us"


def format_bytes(nbytes: float) -> str:
    """``nbytes`` in B, KiB, MiB, GiB, TiB or PiB.

    Examples
    --------
    >>> format_bytes(512), format_bytes(3 << 20)
    ('512 B', '3.0 MiB')
    """
    for unit, size in (("PiB", 1 << 50), ("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20),
                       ("KiB", 1 << 10)):
        if nbytes >= size:
            return f"{nbytes / size:.1f} {unit}"
    return f"{int(nbytes)} B"
