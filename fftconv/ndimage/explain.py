"""`plan`: what an ``fftconv.ndimage`` call would do, and why, without running it.

A separable filter is its passes (`fftconv.ndimage.separable.Pass`), each a 1-D filter that
the engine plans like any other; an N-D ``correlate``/``convolve`` is one filter. For each,
`FilterPlan.explain` shows the blocks the image is read in and the plan of the first block:
every executor's estimate, the one chosen and why (`fftconv.Plan.explain`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..core.messages import shown
from ..engine.blocks import BlockPlan, block_plan
from ..executors import registry
from ..executors.periodic import periodic_layout
from ..executors.spectral import SpectralExecutor
from ..executors.zero_border import zero_border_layout
from ..planning.plan import Plan
from . import filters, separable

__all__ = ["FilterPlan", "plan"]


@dataclass(frozen=True)
class Step:
    """One filter of a call: what it is, the blocks it reads the image in and the plan of
    the first block."""

    describe: str
    layout: BlockPlan | None
    plan: Plan | None  # None: a box far longer than the lines, from prefix sums (`box_sums`)


@dataclass(frozen=True)
class FilterPlan:
    """The steps of an ``fftconv.ndimage`` call, in the order they run."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    out_dtype: np.dtype
    combine: str
    steps: tuple[Step, ...]

    def explain(self) -> str:
        """The steps, each with its blocks and its plan's explanation."""
        how = {
            "one": "",
            "sum": ", the terms summed",
            "magnitude": ", the terms squared, summed, square-rooted",
        }
        lines = [
            f"{self.name} of {self.shape} {self.dtype} into {self.out_dtype}: {len(self.steps)} "
            f"filter(s){how.get(self.combine, '')}"
        ]
        for i, step in enumerate(self.steps, 1):
            if step.plan is None or step.layout is None:
                lines.append(f"{i}. {step.describe} (the whole image)")
                lines.append("   a box far longer than the lines: each window's sum from the lines' prefix "
                             "sums, whatever its length (fftconv.ndimage.box_sums; lines holding NaN or "
                             "inf: running sums)")
                continue
            blocks = (
                "one block"
                if step.layout.blocks == 1
                else f"{step.layout.blocks} blocks of {step.layout.block}"
            )
            lines.append(f"{i}. {step.describe} ({blocks})")
            lines += ["   " + line for line in step.plan.explain().splitlines()]
        return "\n".join(lines)


def plan(filter: Callable | str, input: object, *args: object, **kwargs: object) -> FilterPlan:
    """The plan of ``filter(input, *args, **kwargs)`` (one of `fftconv.ndimage`'s filters, or
    its name), without running it: the passes a separable filter makes (the passes that
    terms share counted once) and the plan of each.

    Examples
    --------
    >>> import numpy as np, fftconv.ndimage
    >>> image = np.zeros((1024, 1024), np.float32)
    >>> p = fftconv.ndimage.plan(fftconv.ndimage.uniform_filter, image, 101, threads=1)
    >>> [step.plan.executor for step in p.steps]
    ['direct.box', 'direct.box']
    >>> print(p.explain().splitlines()[0])
    uniform_filter of (1024, 1024) float32 into float32: 2 filter(s)
    """
    name = filter if isinstance(filter, str) else getattr(filter, "__name__", "")
    if name in ("correlate", "convolve"):
        return _nd_plan(name, input, *args, **kwargs)
    builder = getattr(separable, f"{name}_job", None)
    if builder is None or name.startswith("generic"):
        raise ValueError(f"plan explains fftconv.ndimage's filters ({', '.join(sorted(_EXPLAINED))}), "
                         "named or passed first, then the filter's arguments: "
                         f"plan('gaussian_filter', image, 2.0); got {shown(filter)}")
    job = builder(input, *args, **kwargs)
    source = job.source
    steps, seen = [], set()
    for passes in job.terms:
        for i, p in enumerate(passes):
            if passes[: i + 1] in seen:
                continue
            seen.add(passes[: i + 1])
            if separable.long_box(source, p):
                steps.append(Step(f"pass along {p.describe()}", None, None))
                continue
            taps = p.weights(np.dtype(source.dtype) if i == 0 else job.out_dtype, job.out_dtype)
            dtype = np.dtype(source.dtype) if i == 0 else job.out_dtype
            work, _, _ = filters.prepare_filter(
                np.broadcast_to(np.zeros((), dtype), tuple(source.shape)),
                taps,
                job.out_dtype,
                p.mode,
                p.cval,
                p.origin,
                (p.axis,),
                job.method,
                job.threads,
                False,
            )
            template = np.broadcast_to(np.zeros((), dtype), tuple(source.shape))
            shape, lines, _ = _seen(source if i == 0 else template, work, None)
            layout, chosen = block_plan(
                shape, dtype, work if lines is None else lines, job.out_dtype, filters.block_budget(source)
            )
            steps.append(Step(f"pass along {p.describe()}", layout, chosen))
    return FilterPlan(
        name, tuple(source.shape), np.dtype(source.dtype), job.out_dtype, job.combine, tuple(steps)
    )


def _nd_plan(
    name: str,
    input: object,
    weights: object,
    output: object = None,
    mode: str = "reflect",
    cval: object = 0.0,
    origin: object = 0,
    *,
    axes: object = None,
    method: str = "auto",
    threads: int | None = None,
    progress: bool = False,
    nan: str = "propagate",
    mask: object = None,
) -> FilterPlan:
    """`plan` of an N-D ``correlate``/``convolve``."""
    x = filters._source(input)
    work, out_dtype, _ = filters.prepare_filter(
        x, weights, output, mode, cval, origin, axes, method, threads, name == "convolve", nan,
        footprint=mask is None,
    )
    shape, seen, moved = _seen(x, work, None)
    if seen is not None:
        work = seen
    layout, chosen = block_plan(shape, np.dtype(x.dtype), work, out_dtype, filters.block_budget(x))
    given = np.shape(weights)
    folded = f" (folded from {given}: taps the mode makes read one sample are summed)" \
        if work.kernel.size < math.prod(given) else ""
    kind = "convolution" if name == "convolve" else "correlation"
    left_out = "" if work.footprint is None else (
        "; weights within DBL_EPSILON of zero left out as scipy.ndimage leaves them (a NaN or inf "
        "reaches only the others' outputs: those are summed again)")
    copied = ", a copy with the kernel's axis moved last" if moved else ""
    viewed = "" if seen is None else f", the image seen as {shape}{copied} (fftconv.ndimage.filters.seen_as)"
    what = f"{kind} with a {work.kernel.shape} kernel{folded}, mode {mode!r}{left_out}{viewed}"
    spectral = chosen is not None and isinstance(registry.get(chosen.executor), SpectralExecutor)
    if layout.blocks == 1 and spectral:
        whole = work.extended_ranges([0] * len(shape), list(shape))
        periodic = periodic_layout(whole, shape, work.kernel.shape, work.mode, chosen)
        zeros = zero_border_layout(whole, shape, work.kernel.shape, chosen) \
            if periodic is None and work.zero_border else None
        if periodic is not None:
            what += (f"; periodic: transformed at the image's own shape {periodic[0]}, not the "
                     "extended one below (fftconv.executors.periodic)")
        elif zeros is not None:
            what += (f"; a border of zeros: the image alone transformed, zero-padded to {zeros[0]}, not the "
                     "extended one below (fftconv.executors.zero_border)")
    return FilterPlan(
        name, tuple(x.shape), np.dtype(x.dtype), out_dtype, "one", (Step(what, layout, chosen),)
    )


def _seen(x, work, output) -> tuple[tuple[int, ...], object, bool]:
    """The shape the filter ``work`` of ``x`` runs in, its filter there (None: ``work``, in
    ``x``'s own shape) and whether the image is copied to it (`fftconv.ndimage.filters.seen_as`)."""
    seen = filters.seen_as(x, work, output)
    return (tuple(x.shape), None, False) if seen is None else (seen.shape, seen.work, seen.moved is not None)


_EXPLAINED = ["convolve", "correlate"] + [n for n in separable.__all__ if not n.startswith("generic")]
