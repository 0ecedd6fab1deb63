"""What one dask task runs: the filter of one extended chunk, planned and prepared once per
worker process and chunk shape, on the threads and memory a task may have there.

A `ChunkFilter` enters the graph as one key, so each worker process receives it once and
every task on that worker calls the same object: its plans and kernel-only work (the kernel
spectrum of an FFT plan, a separable kernel's factors, FFTW plans) are made at the first
chunk of each extended shape and reused by the next chunks of that shape. The cache lives
as long as the key does on the worker and is never pickled.

Threads per task follow the worker (no FFTW threads on top of busy dask threads): an
explicit ``threads`` is used as given; otherwise a ``dask.distributed`` worker gives each
task the thread budget its nanny gives BLAS (``OMP_NUM_THREADS``, 1 by default, so a worker
with N threads runs N single-threaded tasks), else its cores divided by its threads; a
thread of dask's local pool uses 1; the synchronous scheduler (main thread) the configured
threads. Memory per task: ``[memory] limit`` when set, else on a worker with a memory limit
that limit times dask's ``distributed.worker.memory.target`` fraction divided by the worker's
threads; the chunk's operands count against it and the planner keeps the executor's
workspace within the rest (`fftconv.engine.blocks`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .. import config
from ..backends.threads import available_cores, resolve_threads
from ..core.dtypes import cast
from ..core.lines import line_shape, long_axis
from ..core.problem import Conventions, Problem
from ..engine import run
from ..engine.blocks import BlockFilter, filter_block, operand_bytes
from ..engine.footprint import Footprint, resum_nonfinite
from ..engine.holes import Holes
from ..planning.plan import MemoryLimitError, format_bytes


def _worker():
    """The ``dask.distributed`` worker running this task, or None."""
    try:
        from distributed import get_worker
    except ImportError:
        return None
    try:
        return get_worker()
    except ValueError:
        return None


def _worker_threads(worker) -> int:
    return max(1, int(getattr(getattr(worker, "state", worker), "nthreads", 1) or 1))


def task_threads(requested: int | None) -> int:
    """The FFT and direct-loop threads one task may use (rules in the module docstring).

    Examples
    --------
    >>> task_threads(1)
    1
    """
    if requested is not None:
        return resolve_threads(requested)
    worker = _worker()
    if worker is not None:
        blas = os.environ.get("OMP_NUM_THREADS", "")
        if blas.isdigit() and int(blas) >= 1:
            return int(blas)
        return max(1, available_cores() // _worker_threads(worker))
    if threading.current_thread() is threading.main_thread():
        return resolve_threads(None)
    return 1


def task_budget() -> int | None:
    """The bytes one task may use (operands and executor workspace), or None for no bound
    (rules in the module docstring).

    Examples
    --------
    >>> task_budget() == config.get().memory_limit  # outside a dask.distributed worker
    True
    """
    limit = config.get().memory_limit
    if limit is not None:
        return limit
    worker = _worker()
    memory = getattr(getattr(worker, "memory_manager", None), "memory_limit", None)
    if not memory:
        return None
    import dask

    target = dask.config.get("distributed.worker.memory.target", 0.6) or 0.6
    return int(memory * float(target) / _worker_threads(worker))


@dataclass(eq=False)
class ChunkFilter:
    """The 'valid' convolution (or correlation) of an extended chunk with ``kernel`` along
    ``axes`` under ``conventions``, by ``method`` ('auto': the planner's choice among
    ``among``, None for all), cast to ``out_dtype`` by the conventions' integer rule.
    ``threads`` None: the worker's share (`task_threads`).

    Examples
    --------
    >>> import numpy as np
    >>> from fftconv.core.problem import SIGNAL
    >>> chunk = ChunkFilter(np.array([1.0, 1.0]), (0,), False, SIGNAL, "auto", None, 1, np.dtype("f8"))
    >>> chunk(np.arange(5.0))
    array([1., 3., 5., 7.])
    """

    kernel: np.ndarray
    axes: tuple[int, ...]
    correlate: bool
    conventions: Conventions
    method: str
    among: tuple[str, ...] | None
    threads: int | None
    out_dtype: np.dtype
    #: For ``nan='interpolate'``/``'fill'`` (`fftconv.engine.blocks.BlockFilter`'s): holes
    #: filled by normalised convolution, or replaced by a value.
    holes: Holes | None = None
    fill: float | None = None
    before: tuple[int, ...] | None = None
    #: scipy.ndimage's footprint where its loop leaves out weights (`fftconv.engine.footprint`),
    #: read from the extended chunk: its non-finite outputs are summed again over the others.
    footprint: Footprint | None = None
    _plans: dict = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __call__(self, extended: np.ndarray) -> np.ndarray:
        threads, budget = task_threads(self.threads), task_budget()
        if self.fill is not None:
            extended = np.where(np.isnan(extended), self.fill, extended)
        if self.holes is not None:  # two planes through the engine's blocks: planned per chunk
            before = tuple(self.before or (0,) * extended.ndim)
            work = BlockFilter(self.kernel, tuple(self.axes), before, "constant", 0.0, self.correlate,
                               self.method, threads, self.holes)
            out_shape = [n - h for n, h in zip(extended.shape, work.halo(extended.ndim))]
            lines = self._lines(extended.shape)
            if lines is not None:  # the chunk seen as the lines along the kernel's axis
                seen, long, axis = lines
                extended, work = extended.reshape(seen), work.along_lines(long, axis, len(seen))
                before = work.before
            shape = [n - h for n, h in zip(extended.shape, work.halo(extended.ndim))]
            filled = np.empty(shape, self.out_dtype)
            # the chunk holds its halo: every read of the block is inside it
            filter_block(extended, work, before, [b + n for b, n in zip(before, shape)], filled,
                         tuple(slice(0, n) for n in shape), self.out_dtype,
                         None if budget is None else budget // 3)
            return filled.reshape(out_shape)
        key = (extended.shape, extended.dtype, threads, budget)
        with self._lock:  # a worker with several threads: one of them plans, the others wait
            found = self._plans.get(key)
            if found is None:
                found = self._plans[key] = self._prepare(extended.shape, extended.dtype, threads, budget)
        result = cast(found(extended), self.out_dtype, self.conventions.integers)
        if self.footprint is not None:  # every read is inside the extended chunk
            resum_nonfinite(extended, result, self.footprint, "constant", 0.0)
        return result

    def _lines(self, shape: Sequence[int]) -> tuple[tuple[int, ...], int, int] | None:
        """An extended chunk's ``shape`` seen as the lines along the kernel's one axis longer
        than 1 (`fftconv.core.lines.line_shape`: the axes before it made one, those after it
        made one), that axis and its place in the view; None where the kernel is longer on
        several axes, the chunk has fewer than three or the view keeps them all (as
        `fftconv.ndimage`'s filters do in memory; a footprint keeps the chunk's own shape)."""
        if self.kernel.ndim != len(shape) or len(shape) < 3 or self.footprint is not None:
            return None
        long = long_axis(self.kernel.shape)
        if long is None:
            return None
        seen, axis = line_shape(shape, long)
        return (seen, long, axis) if len(seen) < len(shape) else None

    def _prepare(self, shape: Sequence[int], dtype: np.dtype, threads: int, budget: int | None
                 ) -> Callable[[np.ndarray], np.ndarray]:
        """The filter of extended chunks of ``shape``: planned and prepared, on the lines of
        the kernel's axis where `_lines` sees them."""
        lines = self._lines(shape)
        if lines is None:
            return self._prepared(shape, self.kernel, self.axes, dtype, threads, budget)
        seen, long, _ = lines
        kernel = self.kernel.reshape(line_shape(self.kernel.shape, long)[0])  # as the chunk: (1.., n, 1..)
        prepared = self._prepared(seen, kernel, tuple(range(len(seen))), dtype, threads, budget)
        out_shape = tuple(n - k + 1 for n, k in zip(shape, self.kernel.shape))
        return lambda extended: prepared(extended.reshape(seen)).reshape(out_shape)

    def _prepared(self, shape: Sequence[int], kernel: np.ndarray, axes: Sequence[int], dtype: np.dtype,
                  threads: int, budget: int | None) -> run.Prepared:
        template = np.broadcast_to(np.zeros((), dtype), tuple(shape))
        problem = Problem.build(template, kernel, "valid", list(axes), correlate=self.correlate,
                                conventions=self.conventions)
        room = None
        if budget is not None:
            halo = [n - m for n, m in zip(shape, problem.out_shape)]
            operands = operand_bytes(problem.out_shape, halo, dtype, self.out_dtype, problem.result_dtype)
            room = budget - operands
            if room < 0:
                raise MemoryLimitError(
                    f"a chunk extended to {tuple(shape)} needs {format_bytes(operands)} for its "
                    f"operands alone, over the task's memory budget of {format_bytes(budget)}; use smaller "
                    "chunks (fftconv.dask.suggest_chunks) or raise [memory] limit")
        return run.prepare_problem(problem, self.method, threads, methods=self.among, memory_limit=room)

    def __getstate__(self) -> dict:  # plans and the lock stay in the process that made them
        return {name: value for name, value in self.__dict__.items() if name not in ("_plans", "_lock")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _plans={}, _lock=threading.Lock())

    def __dask_tokenize__(self) -> object:
        from dask.base import tokenize

        return (type(self).__name__, tokenize(self.kernel), self.axes, self.correlate, self.conventions,
                self.method, self.among, self.threads, str(self.out_dtype), self.holes, self.fill,
                self.before, None if self.footprint is None else tokenize(self.footprint.taps))
