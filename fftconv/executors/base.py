"""The executor protocol: what every way of computing a convolution answers.

An executor is one module with one object that says, for a normalised `Problem` (its `Spec`
for everything that shapes decide):

* ``applies(spec, forced)``: whether it computes problems of these shapes and dtypes;
* ``accepts(problem)``: whether it computes these values (most executors: always);
* ``estimate(spec, costs, memory_limit)``: its estimated seconds from the machine's
  `CostModel`, its working memory in bytes, and the layout it would use (the fastest that
  fits ``memory_limit``, else its smallest, so the planner can say what would be needed);
* ``prepare(problem, plan)``: work that depends only on the kernel, done once when many
  images share it (`fftconv.Convolver`);
* ``run(problem, plan, out, prepared, check_finite)``: compute into ``out``.

The planner loops over the registered executors (`fftconv.executors.registry`) and keeps the
cheapest; ``tune`` fits coefficients through the same ``estimate``; block sizing under a
memory limit reads the chosen estimate's ``workspace``. Several executors may serve one
``method`` name (the direct sums: np.convolve, kernel rows, scipy.ndimage's loop,
shift-and-add); ``method=`` then picks the cheapest of them.

Non-finite values: an executor that cannot keep a NaN or inf local (an FFT spreads it over a
whole tile) raises `NonFiniteInput` before its result is used; the core then runs it again on
operands with those values zeroed and rewrites the outputs they reach with the direct sum's
value (`fftconv.executors.nonfinite`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

if TYPE_CHECKING:
    from ..core.problem import Problem, Spec
    from ..planning.costs import CostModel
    from ..planning.plan import Plan


class NonFiniteInput(Exception):
    """An operand holds NaN or inf that this executor would spread beyond the outputs it
    reaches; the core reruns on zeroed operands and repairs those outputs."""


@dataclass(frozen=True)
class Estimate:
    """An executor's answer for one spec.

    Attributes
    ----------
    seconds : float
        Estimated wall time.
    workspace : int
        Bytes of working memory beyond the operands and the output array.
    layout : object
        The executor's own description of how it would run (hashable; None if it has no
        choices to make), handed back to it in ``Plan.layout``.
    """

    seconds: float
    workspace: int
    layout: object = None


class Executor:
    """Base class of executors: the protocol with its defaults. Subclasses set the class
    attributes and implement ``estimate`` and ``run`` (and ``applies`` unless they compute every
    problem).

    Examples
    --------
    See ``tests/test_executor_plugin.py``: a plain-Python reference executor registered from
    outside the package, planned, forced with ``method=`` and run.
    """

    #: Unique name, shown by ``Plan.explain()``.
    name: ClassVar[str]
    #: The ``method=`` name that selects this executor (with any others of that name).
    method: ClassVar[str]
    #: Sums integers exactly (in 64-bit integers): the only kind 'auto' uses for integer
    #: results too large for float64 sums.
    exact_integers: ClassVar[bool] = False
    #: ``accepts`` reads values: plans of problems it applies to are not cached by call
    #: signature.
    checks_values: ClassVar[bool] = False
    #: Computes with the FFT backend (the plan then records the backend).
    uses_backend: ClassVar[bool] = False
    #: What the executor needs, for the error when ``method=`` forces it on a problem it
    #: cannot compute.
    requirement: ClassVar[str] = "a problem it applies to"
    #: Implements `run_extended`: reads a boundary-extended input straight from its source, so
    #: `fftconv.ndimage`'s blocks need not copy the image with its halo first.
    reads_boundary: ClassVar[bool] = False
    #: Priced beside the others but chosen by its estimate only where nothing else may run: it
    #: contends in trials, where repeated calls time it (`fftconv.engine.trials`), and a plan
    #: that is not timed (a first call, ``fftconv.plan``, ndimage's blocks) keeps to the others.
    trial_only: ClassVar[bool] = False

    def applies(self, spec: Spec, forced: bool = False) -> bool:
        """Whether it computes problems of these shapes and dtypes (by default: all of them);
        ``forced`` when ``method=`` names it (an executor that declines problems too small to
        repay its value check must take them then)."""
        return True

    def accepts(self, problem: Problem) -> bool:
        """Whether it computes this problem's values (asked only if ``checks_values``). It
        may read the kernel only: plans are remembered by the values of small kernels."""
        return True

    def lower_bound(self, spec: Spec, costs: CostModel) -> float:
        """Seconds no layout of this executor can beat (default 0: unknown). The planner skips
        the `estimate` of an executor whose bound is far above the cheapest estimate so far
        (the tiled executor's search prices hundreds of layouts)."""
        return 0.0

    def estimate(self, spec: Spec, costs: CostModel, memory_limit: int | None) -> Estimate | None:
        """Seconds and workspace of its fastest layout whose workspace fits ``memory_limit``
        bytes (None: no limit), else of its smallest; None if it cannot run ``spec``."""
        raise NotImplementedError

    def prepare(self, problem: Problem, plan: Plan) -> object:
        """Kernel-only work for many images (kernel spectrum, factors); None if none."""
        return None

    def run(self, problem: Problem, plan: Plan, out: np.ndarray, prepared: object = None,
            check_finite: bool = True) -> None:
        """Write the convolution into ``out`` (the batch shape then the windows' lengths, in
        ``plan.compute_dtype``). With ``check_finite``, raise `NonFiniteInput` if the
        operands hold values it would spread; without, they have been zeroed already."""
        raise NotImplementedError

    def run_extended(self, source: np.ndarray, ranges: Sequence[tuple[int, int]], mode: str, cval: object,
                     kernel: np.ndarray, plan: Plan, out: np.ndarray) -> bool:
        """For executors that set ``reads_boundary``: write into ``out`` the correlation of
        ``source`` extended by boundary ``mode`` (and ``cval``), over the extended coordinates
        ``ranges`` per axis, with ``kernel`` (one axis per source axis; not flipped), in
        ``out``'s dtype (the plan's compute dtype); return False for values it leaves to the
        materialised path (``out`` may have been written: that path writes it again)."""
        return False

    def first_use_seconds(self) -> float:
        """What this executor's first run in the process costs beyond its estimate (a module
        it imports then): a trial explores it once the signature's calls have spent that."""
        return 0.0

    def prepare_call(self, problem: Problem, plan: Plan) -> Callable[[np.ndarray], np.ndarray] | None:
        """For calls that repeat (`fftconv.engine.lane`): the convolution of any image of the
        problem's shape and dtype (the caller's ``in1``), in the plan's compute dtype, with
        everything but the image fixed; None (the default) where the executor has no cheaper
        way than `run`. ``problem`` is unbatched, unswapped, uncropped, its kernel finite."""
        return None

    def prepare_extended(self, ranges: Sequence[tuple[int, int]], mode: str, cval: object, kernel: np.ndarray,
                         plan: Plan) -> Callable[[np.ndarray, np.ndarray], bool]:
        """`run_extended` with everything but the source and the output fixed, for calls that
        repeat (`fftconv.engine.lane`); executors may return a faster callable that prepares
        what does not change between the calls (index maps, the kernel's layout). Like
        `run_extended` it returns False for values it leaves to the materialised path."""
        return lambda source, out: self.run_extended(source, ranges, mode, cval, kernel, plan, out)

    def compute_dtype(self, spec: Spec) -> np.dtype:
        """dtype it computes in for ``spec``."""
        return spec.compute_dtype(self.exact_integers)

    def __repr__(self) -> str:
        return f"<executor {self.name!r} (method={self.method!r})>"
