"""The one run path every facade takes: `plan` a `Problem`, then `execute` its plan.

`plan` applies the planning policy (which executors are candidates: by method, by the
integer-exactness rule, by the executors' own shape and value checks; the ``[planner]
method`` override) and hands the rest to the pure planner. `execute` runs the chosen
executor, repairs non-finite outputs when the executor could not keep them local, and casts
to the result dtype.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Callable, Sequence

import numpy as np

from .. import background, config
from ..backends.base import finality_generation, get_backend
from ..core.dtypes import cast, float_sums_exact
from ..core.geometry import window_reads
from ..core.memory import check_fits
from ..core.problem import Problem, axes_last
from ..executors import registry
from ..executors.base import NonFiniteInput
from ..executors.nonfinite import all_finite, repair, zero_nonfinite
from ..executors.spectral import KEPT_SPECTRUM_BYTES, kept_kernel_seconds
from ..planning import calibrate
from ..planning.plan import MemoryLimitError, Plan, format_seconds
from ..planning.planner import make_plan
from . import lane, trials, verdicts

#: Marks "use the configured memory limit" (None means no limit).
CONFIGURED = object()
#: Plans by what decides them (the geometry and dtype, options, the settings object, the
#: registry's generation, the coefficients' generation, and a small kernel's values, or for a
#: larger one which of the executors that read values accepted it): small calls repeat their
#: signature, choosing candidates would cost them as much as the convolution, and a trial
#: (`fftconv.engine.trials`) lives as long as its signature is remembered.
_memo: dict[tuple, tuple[Plan, config.Config, object]] = {}
#: Signatures remembered before the memo starts afresh (a program cycling through more small
#: signatures than this plans each call again, ~10 us).
MEMO_SIZE = 256
#: Kernels up to this size are remembered by value (the separable executors' rank-1 tests
#: cost a 512x512 * 3x3 call ~15 us otherwise, a 31x31 kernel's 2 x 26 us against 3 us to
#: key it by its bytes; AMD EPYC); larger ones are tested on each call. At most 2 MiB of keys.
MEMO_KERNEL_BYTES = 8192
#: ... unless the signature's last kernel up to this size is the same (`_accepted`): comparing
#: them costs a 71x71 float64 Gaussian's call ~5 us where its rank-1 tests cost ~100 (Intel
#: Xeon: 256² 'fft', 1.18 ms a call, against 0.91 for the transforms and copies alone).
KEPT_KERNEL_BYTES = 256 << 10
#: Signature keys (`_key`) of larger kernels -> a copy of the last one seen and the names of the
#: value-reading executors that accepted it (at most `KEPT_KERNELS`: 16 MiB).
_accepted: dict[tuple, tuple[np.ndarray, frozenset[str]]] = {}
KEPT_KERNELS = 64
#: A call of a signature not seen before is planned from these executors only, which price a
#: problem in closed forms, without searching layouts or reading values: the compiled direct
#: loop, numpy.convolve's and one whole-array FFT (on a transform size's first calls
#: pocketfft, which needs no planning)...
FIRST_SIGHT_EXECUTORS = ("direct.compiled", "direct.numpy", "fft")
#: ... and these direct sums where the compiled loop does not apply (a build without a
#: compiler, a kernel too long for it, a short 1-D one numpy.convolve takes): where it
#: applies they were the cheapest for 1 of 240 mid-size signatures (five seeds of
#: `bench/planner_regret.py`'s grid; 2% faster estimated there), and pricing them took 40%
#: of a first plan's ~220 us (AMD EPYC Zen 3).
FIRST_SIGHT_WITHOUT_COMPILED = ("direct.rows", "direct.windows", "direct.shift_add", "direct.ndimage")
#: ... when the cheapest is estimated under this. Pricing every executor (the tile search, the
#: separable rank test) costs a new signature 0.4-1.7 ms, more than such a call saves by it
#: (AMD EPYC, 1 thread, a fresh process: 256x256 * 5x5 'same' float32 was planned in 1.7 ms
#: and summed in 0.07 ms), and a choice priced for FFTW's measured plans is not the fastest
#: while the transforms run on pocketfft: under 1 ms here, a fresh process' `fftconvolve` of
#: 256x256 * 15x15 float32 chose tiles and took 4.3-4.7 ms (scipy 2.3-2.9), 2.3-4.0 now. The
#: signature's next calls reuse the plan while its transforms are not final (`_first_sight`),
#: or until they have cost what a full plan does (`route_lease`).
FIRST_SIGHT_SECONDS = 20e-3
#: ... pricing an FFT whose transforms are not final yet (`first_fft_seconds`) at this many
#: times its estimate, which assumes FFTW's measured plans: a size's first calls run on
#: pocketfft or ESTIMATE plans, 1.0-1.35x the estimate on 2-D and 3-D first calls once the
#: process' own first-call costs are set aside (AMD EPYC Zen 3, 1 thread: 414x495 * 40x40
#: float32 5.7 ms for 5.45, 1000x1000 * 31x31 35.5 for 29.5, 51x589 * 31x31 2.5 for 1.86).
#: At 4x (measured against an older estimate) the direct sum's 17 ms ran where the FFT's
#: first call takes 7.5.
FIRST_FFT_FACTOR = 1.3
#: ... plus this many of the model's per-point transform cost (`CostModel.fft_point`) for each
#: point of each distinct axis length: pocketfft computes a new length's twiddle factors,
#: which 1-D transforms feel (60,480 float32: 4.9 ms for 1.24 estimated; 7,000 float64 0.67 ms
#: for 0.25; 53-56 ns a point beside a `fft_point` of 1.6 ns).
FIRST_LENGTH_POINTS = 33.0
#: What planning a signature in full costs at most (its tile search, separable rank test and
#: trial): a first plan estimated below it serves the signature's calls until they have cost
#: this much (`route_lease`). Planned in full on its second call, 2409 * 603 'valid' float32
#: took 0.76 ms where its calls take 0.1 (scipy's second call 0.14; AMD EPYC, a fresh process).
FULL_PLAN_SECONDS = 1e-3
#: Keys of signatures whose first call was seen -> the plan it was given that way (None: it was
#: planned in full). Unlike `_memo` it keeps no geometry alive: a key whose geometry was since
#: dropped may match a new signature's, so a plan is reused only for an equal `Spec`.
_sighted: dict[tuple, Plan | None] = {}


def plan(
    problem: Problem,
    method: str = "auto",
    threads: int = 1,
    *,
    methods: Sequence[str] | None = None,
    settings: config.Config | None = None,
    memory_limit: object = CONFIGURED,
    image_known: bool = True,
    kernel_known: bool = True,
    for_call: bool = False,
    quick_first: bool | None = None,
) -> Plan:
    """The `Plan` for ``problem``: ``method`` forces one ('auto': the planner's choice among
    ``methods``, default all); ``memory_limit`` bytes (default: ``[memory] limit``) bound the
    executor's working memory. ``image_known`` and ``kernel_known`` say whether the
    problem's arrays hold the real values or stand in for them (plans made from shapes, or
    before the images are seen): for unknown values the integer-exactness rule assumes the
    largest their dtype holds, and executors that read the kernel's values are left out
    (forcing one is an error). ``for_call``: the plan is about to run, so a signature whose
    executors are too close to call may run the next contender of its trial
    (`fftconv.engine.trials`); otherwise the plan is the best known. ``quick_first``
    (default: ``for_call``): a signature's first plan may come from the short list of
    `FIRST_SIGHT_EXECUTORS` (`Plan.first_sight`; see `_first_sight`).

    Examples
    --------
    >>> import numpy as np
    >>> p = Problem.build(np.ones((4096, 4096)), np.ones((31, 31)), "same")
    >>> plan(p, threads=1).method  # a rank-1 kernel: one 1-D pass along each axis
    'separable'
    >>> plan(p, method="fft", threads=1).executor
    'fft'
    """
    settings = settings or config.get()
    if method == "auto" and settings.method != "auto" and (methods is None or settings.method in methods):
        method = settings.method  # [planner] method forces what 'auto' means
    limit = settings.memory_limit if memory_limit is CONFIGURED else memory_limit
    kind = problem.result_dtype.kind
    if quick_first is None:
        quick_first = for_call
    # the integer-exactness rule reads values, so it is asked only when it could matter: an
    # integer problem whose cheapest plan sums in float64
    exact_only = method == "auto" and kind == "O"
    key = _key(problem, threads, method, methods, limit, exact_only, image_known, kernel_known, settings)
    if quick_first and method == "auto" and kind in "fc" and kernel_known:  # no image values read
        quick = _first_sight(problem, key, threads, methods, limit, settings)
        if quick is not None:
            return quick
    chosen = _choose(problem, method, threads, methods, limit, exact_only, image_known, kernel_known,
                     settings, key)
    if (method == "auto" and kind in "iu" and not registry.get(chosen.executor).exact_integers
            and not float_sums_exact(problem.x, problem.h, problem.rank, not image_known, not kernel_known)):
        chosen = _choose(problem, method, threads, methods, limit, True, image_known, kernel_known, settings)
    trial = chosen.trial
    if trial is None:
        return chosen
    if for_call:
        quick = _sighted.get(key)
        if quick is not None:  # the first call ran this one: its plans and buffers are made
            trial.start_with(quick.executor)
        return trial.next()
    return trial.kept or chosen


def _choose(problem: Problem, method: str, threads: int, methods: Sequence[str] | None, limit: int | None,
            exact_only: bool, image_known: bool, kernel_known: bool, settings: config.Config,
            key: tuple | None = None) -> Plan:
    """The planner's choice among the executors that may run ``problem`` (``exact_only``: only
    those that sum integers exactly), remembered when no executor had to read values. ``key``:
    these arguments' `_key`, when the caller made it already."""
    small_kernel = kernel_known and problem.h.nbytes <= MEMO_KERNEL_BYTES
    if key is None:
        key = _key(problem, threads, method, methods, limit, exact_only, image_known, kernel_known, settings)
    known = _memo.get(key)
    if known is not None:
        return known[0]
    spec = problem.spec(threads, settings.backend)
    candidates, readers, unread = [], [], []
    accepted_before = None if small_kernel or not kernel_known else _accepted_before(key, problem.h)
    for executor in registry.executors():
        if executor.method != method and (methods is not None and executor.method not in methods):
            continue
        if exact_only and not executor.exact_integers:
            continue  # float64 sums would round these integers
        if not executor.applies(spec, forced=executor.method == method):
            continue
        if executor.checks_values:
            if not kernel_known:
                unread.append(executor.method)
                continue
            readers.append(executor.name)
            if not (executor.name in accepted_before if accepted_before is not None
                    else executor.accepts(problem)):
                continue
        candidates.append(executor.name)
    if method in unread and not any(registry.get(name).method == method for name in candidates):
        raise ValueError(f"method={method!r} decides from the kernel's values: plan with the kernel array "
                         "rather than its shape")
    if readers and not small_kernel:  # the kernel's values decided which of those may run
        accepted = tuple(name for name in candidates if name in readers)
        if accepted_before is None and kernel_known and problem.h.nbytes <= KEPT_KERNEL_BYTES:
            if len(_accepted) >= KEPT_KERNELS:
                _accepted.clear()
            _accepted[key] = (problem.h.copy(), frozenset(accepted))
        key += (accepted,)
        known = _memo.get(key)
        if known is not None:
            return known[0]
    costs, source = calibrate.costs_for(settings)
    chosen = make_plan(spec, method, tuple(candidates), costs, limit)
    chosen = _without_first_use(chosen, spec, method, candidates, costs, limit)
    if chosen.costs_source != source:
        chosen = dataclasses.replace(chosen, costs_source=source)
    if method == "auto":
        chosen = _with_trial(chosen, costs, limit, settings)
    if len(_memo) >= MEMO_SIZE:
        _memo.clear()
    _memo[key] = (chosen, settings, problem.geometry)  # held: their ids stay unique
    return chosen


def forget_kernels() -> None:
    """Drop the copies of larger kernels kept to skip their tests (`_accepted`)."""
    _accepted.clear()


def _accepted_before(key: tuple, kernel: np.ndarray) -> frozenset[str] | None:
    """The value-reading executors that accepted this signature's last kernel, if ``kernel``
    equals it (values compared: a kernel changed in place is tested again)."""
    seen = _accepted.get(key)
    if seen is None or seen[0].shape != kernel.shape or not np.array_equal(seen[0], kernel):
        return None
    return seen[1]


def _without_first_use(chosen: Plan, spec, method: str, candidates: Sequence[str], costs,
                       limit: int | None) -> Plan:
    """``chosen``, or the cheapest of the other candidates where ``chosen``'s first run would
    import a module (`Executor.first_use_seconds`: scipy.ndimage, 0.18 s after `import
    fftconv`) that costs more than the difference: a tiny filter's first call in a fresh
    process had taken 0.18 s on scipy.ndimage's loop for a sum of microseconds."""
    first_use = registry.get(chosen.executor).first_use_seconds()
    if first_use <= 0 or method != "auto":
        return chosen
    others = tuple(n for n in candidates if registry.get(n).first_use_seconds() <= 0)
    try:
        other = make_plan(spec, method, others, costs, limit) if others else None
    except MemoryLimitError:
        return chosen
    priced = chosen.candidates[chosen.executor].seconds + first_use
    return other if other is not None and other.candidates[other.executor].seconds < priced else chosen


def _key(problem: Problem, threads: int, method: str, methods: Sequence[str] | None, limit: int | None,
         exact_only: bool, image_known: bool, kernel_known: bool, settings: config.Config) -> tuple:
    """What decides ``problem``'s plan (`_memo`): executors that read values read only the
    kernel, so a small one's values join the key; under a memory limit, whether the image is
    read as it is (`Problem.image_dtype`: an executor's copy of it counts)."""
    small_kernel = kernel_known and problem.h.nbytes <= MEMO_KERNEL_BYTES
    return (id(problem.geometry), problem.result_dtype, threads, method, methods, limit, exact_only,
            image_known, kernel_known, id(settings), registry.generation(), calibrate.generation(),
            problem.h.tobytes() if small_kernel else None, None if limit is None else problem.image_dtype)


def _first_sight(problem: Problem, key: tuple, threads: int, methods: Sequence[str] | None, limit: int | None,
                 settings: config.Config) -> Plan | None:
    """For a signature's first call (``key``: its `_key`), the cheapest plan among
    `FIRST_SIGHT_EXECUTORS` when it is estimated under `FIRST_SIGHT_SECONDS`; for its next
    calls, that plan again while its transforms are not final (pocketfft or ESTIMATE while
    FFTW measures their size in the background: a choice priced for the measured plans would
    not be the fastest; a fresh process' second `fftconvolve` of 256x256 * 15x15 float32 ran
    tiles on pocketfft in 3.9 ms, scipy 2.2); else None (plan in full)."""
    if key in _memo:
        return None
    if key in _sighted:
        earlier = _sighted[key]
        if (earlier is not None and not _transforms_final(earlier)
                and earlier.spec == problem.spec(threads, settings.backend)):
            return earlier
        return None
    if len(_sighted) >= MEMO_SIZE:
        _sighted.clear()
    _sighted[key] = None
    spec = problem.spec(threads, settings.backend)
    short = _short_list(spec, FIRST_SIGHT_EXECUTORS, methods)
    if "direct.compiled" not in short:
        short += _short_list(spec, FIRST_SIGHT_WITHOUT_COMPILED, methods)
    if not short:
        return None
    costs, source = calibrate.costs_for(settings)
    try:
        quick = _without_first_use(make_plan(spec, "auto", tuple(short), costs, limit), spec, "auto", short,
                                   costs, limit)
    except MemoryLimitError:
        return None
    seconds = quick.candidates[quick.executor].seconds
    if quick.backend is not None:
        # the first call transforms its kernel, which the estimates of repeated calls leave out
        seconds += kept_kernel_seconds(spec, quick.fft_shape, quick.compute_dtype, costs)
        if not _transforms_final(quick):
            seconds = first_fft_seconds(seconds, quick.fft_shape, costs)
        direct = [(c.seconds, name) for name, c in quick.candidates.items()
                  if c.fits and registry.get(name).method == "direct" and c.seconds < seconds]
        if direct:
            seconds, name = min(direct)
            quick = make_plan(spec, "auto", (name,), costs, limit)
    if seconds > FIRST_SIGHT_SECONDS:
        return None
    quick = dataclasses.replace(quick, costs_source=source, first_sight=True,
                                reason=f"a new signature's first call (and the next ones while its "
                                       f"transforms are not final): the cheapest of {', '.join(short)}, "
                                       "without pricing the rest")
    _sighted[key] = quick
    return quick


def ran_first(quick: Plan, instead: Plan) -> None:
    """Say that a signature's first call ran ``instead`` of its first-sight plan ``quick``
    (a caller that knows better: `fftconv.engine.blocks` for a filter with holes): its next
    calls reuse ``instead`` while its transforms are not final, and its trial starts with it.

    Examples
    --------
    >>> import numpy as np
    >>> p = Problem.build(np.ones((64, 64)), np.ones((3, 3)), "same")
    >>> ran_first(plan(p, threads=1), plan(p, "direct", threads=1))
    """
    for key, sighted in list(_sighted.items()):
        if sighted is quick:
            _sighted[key] = instead
            return


def _short_list(spec, names: Sequence[str], methods: Sequence[str] | None) -> list[str]:
    """The executors of ``names`` that may run ``spec`` without reading values."""
    short = []
    for name in names:
        executor = registry.get(name)
        if (executor is not None and (methods is None or executor.method in methods)
                and not executor.checks_values and executor.applies(spec)):
            short.append(name)
    return short


def first_fft_seconds(seconds: float, fft_shape: tuple[int, ...], costs) -> float:
    """What an FFT estimated at ``seconds`` for FFTW's measured plans of ``fft_shape`` costs
    while its transform sizes are new (`FIRST_FFT_FACTOR`, `FIRST_LENGTH_POINTS`).

    Examples
    --------
    >>> from fftconv.planning.costs import DEFAULT_COSTS
    >>> first_fft_seconds(1e-3, (7000,), DEFAULT_COSTS) > 1.3e-3
    True
    """
    return FIRST_FFT_FACTOR * seconds + FIRST_LENGTH_POINTS * costs.fft_point * sum(set(fft_shape))


def _with_trial(chosen: Plan, costs, limit: int | None, settings: config.Config) -> Plan:
    """``chosen`` with a `Trial` of the executors estimated within `trials.TRIAL_RATIO` of
    it (`_contenders`), when there are several; or the contender an earlier process' trial of
    the same signature kept (`fftconv.engine.verdicts`), without a trial."""
    best = chosen.candidates[chosen.executor].seconds
    close = sorted((c.seconds, name) for name, c in chosen.candidates.items()
                   if c.fits and c.seconds <= trials.TRIAL_RATIO * best)
    if len(close) < 2:
        return chosen
    names = _contenders([name for _, name in close])
    signature = verdicts.signature(chosen.spec, limit, names)
    verdict = verdicts.recall(settings, signature)
    if verdict is not None and verdict[0] in names:  # the kept contender alone is planned
        kept, medians = verdict
        return _contender(chosen, kept, costs, limit,
                          f"fastest on this signature's calls in an earlier process: {_timed(medians)}")
    contenders = [_contender(chosen, name, costs, limit, "lowest estimated time" if name == chosen.executor
                             else "timed in this signature's trial") for name in names]
    settle = functools.partial(_kept, remember=functools.partial(verdicts.remember, settings, signature))
    trial = trials.Trial(contenders, _runs_final, settle, _first_run_seconds, _runs_advance, _runs_measured)
    contenders[:] = [dataclasses.replace(p, trial=trial) for p in contenders]
    trial.plans = contenders
    return contenders[0]


def _contender(chosen: Plan, name: str, costs, limit: int | None, reason: str) -> Plan:
    """``chosen`` run by executor ``name`` instead (its own layout, dtype and workspace)."""
    alone = make_plan(chosen.spec, "auto", (name,), costs, limit)
    return dataclasses.replace(chosen, method=alone.method, executor=alone.executor, layout=alone.layout,
                               compute_dtype=alone.compute_dtype, backend=alone.backend,
                               workspace=alone.workspace, reason=reason)


def _contenders(close: list[str]) -> list[str]:
    """Up to `trials.CONTENDERS` of ``close`` (executors by estimate, cheapest first): the
    cheapest of each method first, then the next cheapest. Two implementations of one method
    share most of their model's error; a method left out is the trial's blind spot (AMD EPYC,
    2 threads: 32332 * 29 'same' float64 timed the tiles and two direct sums, and kept the
    tiles at 0.38 ms where the whole-array FFT, estimated 1.7x the tiles, took 0.29 ms).
    Executors that only contend (`Executor.trial_only`) take the places left, after the
    others: the first calls run the cheapest of those the planner may choose."""
    firsts: dict[str, str] = {}
    chooseable = [name for name in close if not registry.get(name).trial_only]
    for name in chooseable:
        firsts.setdefault(registry.get(name).method, name)
    picked = list(firsts.values())[: trials.CONTENDERS]
    picked += [name for name in chooseable if name not in picked][: trials.CONTENDERS - len(picked)]
    picked += [name for name in close if name not in picked][: trials.CONTENDERS - len(picked)]
    return sorted(picked, key=lambda name: (registry.get(name).trial_only, close.index(name)))


#: Seconds a run spends per byte of working memory it meets fresh (AMD EPYC, early in a fresh
#: process: ~20 us per 4 KiB page faulted in), and what a contender's first run costs over its
#: estimate besides (its transforms planned, its caches filled: first runs of mid sizes took
#: 1.1-3x their second).
FRESH_SECONDS_PER_BYTE = 5e-9
FIRST_RUN_FACTOR = 2.0


def _first_run_seconds(plan: Plan) -> float:
    """What ``plan``'s first run is expected to cost: a trial explores it once the signature's
    calls have spent that long. `fftconvolve` 3000x2000 * 15x15 'same' (AMD EPYC, a fresh
    process, 1 thread): the whole-array FFT, estimated at 143 ms beside the tiles' 64 ms, with 93
    MiB of working memory, first ran in 1.35 s as the signature's third call (the tiles: 102 ms),
    0.23 s after."""
    estimate = plan.candidates[plan.executor].seconds
    return (FIRST_RUN_FACTOR * estimate + plan.workspace * FRESH_SECONDS_PER_BYTE
            + registry.get(plan.executor).first_use_seconds())


def _runs_final(plan: Plan) -> bool:
    """Whether a run of ``plan`` now times what its later runs will take: no background work
    shares the machine, and its transforms are final."""
    return background.idle() and _transforms_final(plan)


def _ask_backend(plan: Plan, question: str) -> object:
    """The answer of ``plan``'s backend to ``question`` ('final': of every shape it transforms,
    'measuring': of any) about the plan's transforms (of ``fft_shape``, or of the shapes its
    tiles transformed instead: `Plan.transformed`); None where the plan has none or the
    backend cannot tell."""
    if plan.backend is None or plan.fft_shape is None:
        return None
    ask = getattr(get_backend(plan.backend), question, None)
    if ask is None:
        return None
    dtype = plan.compute_dtype  # what the plan's pairs hold (complex for complex transforms)
    answers = [ask(shape, dtype.kind != "c", dtype) for shape in (set(plan.transformed) or {plan.fft_shape})]
    if any(answer is None for answer in answers):
        return None
    return all(answers) if question == "final" else any(answers)


def _transforms_final(plan: Plan) -> bool:
    """Whether ``plan``'s transforms (if any) run now as fast as they will."""
    final = _ask_backend(plan, "final")
    return final is None or bool(final)


def route_lease(plan: Plan) -> lane.Lease | None:
    """How long the lane may serve calls by ``plan``'s route (`lane.remember`; None: not at
    all): a plan made in full, for good; a signature's first plan (`_first_sight`), while its
    transforms are not final (a fresh process' 5000 * 2000 'full' float64 calls ran through the
    pipeline for the ~2 s FFTW took to measure 7000 points: 400 us each, scipy 280 us; AMD
    EPYC, 1 thread), else until the signature's calls have cost what planning it in full does
    (`FULL_PLAN_SECONDS`: a ski rental); the next call plans again.

    Examples
    --------
    >>> import numpy as np
    >>> p = Problem.build(np.ones((64, 64)), np.ones((3, 3)), "same")
    >>> route_lease(plan(p, threads=1)) == lane.FOREVER
    True
    """
    if not plan.first_sight:
        return lane.FOREVER
    if not _transforms_final(plan):
        return lane.Lease(while_generation=finality_generation())
    seconds = plan.candidates[plan.executor].seconds
    calls = math.ceil(FULL_PLAN_SECONDS / max(seconds, 1e-9)) - 1  # the first call counts
    return lane.Lease(calls=calls) if calls >= 1 else None


def _runs_advance(plan: Plan) -> bool:
    """Whether ``plan``'s transforms are not final and only its own runs make them so: nothing
    measures them yet (the backend measures a size from its second call; AMD EPYC, 2 threads:
    the whole-array FFT of 126x52 * 8x8 'valid', run once on pocketfft and then left to wait
    for a measuring nothing had started, sat out 100 calls at 1.4-1.6x its time)."""
    measuring = _ask_backend(plan, "measuring")  # asked first: while it is, that is the answer
    return measuring is not None and not measuring and not _transforms_final(plan)


def _runs_measured(plan: Plan) -> bool:
    """Whether ``plan``'s transforms are being measured now (their runs will change)."""
    return bool(_ask_backend(plan, "measuring"))


def _kept(plan: Plan, fastest: dict[str, float], remember: Callable[[str, dict[str, float]], None]) -> Plan:
    """The plan a trial keeps, ``plan`` (``fastest``: each contender's median seconds);
    ``remember(executor, fastest)`` saves the verdict for later processes."""
    _release_losers(plan)
    remember(plan.executor, fastest)
    return dataclasses.replace(plan, trial=None,
                               reason=f"fastest on this signature's calls: {_timed(fastest)}")


def _timed(medians: dict[str, float]) -> str:
    """Contenders' median seconds, fastest first, for a plan's reason."""
    fastest_first = sorted(medians.items(), key=lambda kv: kv[1])
    return ", ".join(f"{name} {format_seconds(t)}" for name, t in fastest_first)


def _release_losers(kept: Plan) -> None:
    """Hand back the transform buffers of the contenders ``kept``'s trial let go (a backend
    that can: `release`): they had stayed cached for the process, up to the backend's cache
    budget (FFTW's: 1 GiB), for transforms the signature no longer runs."""
    trial = kept.trial
    if trial is None:
        return
    for loser in trial.plans:
        shape = loser.fft_shape
        if loser.executor == kept.executor or shape in (None, kept.fft_shape) or loser.backend is None:
            continue
        release = getattr(get_backend(loser.backend), "release", None)
        if release is not None:
            release([shape])


#: Largest kernel-only data (a kernel spectrum) a route keeps (`route`).
ROUTE_PREPARED_BYTES = KEPT_SPECTRUM_BYTES


def route(problem: Problem, plan: Plan) -> Callable[[np.ndarray], np.ndarray] | None:
    """A call that computes the problem for any image of its shape and dtype
    (`fftconv.engine.lane`), or None. For a problem with nothing to rearrange (every axis
    convolved, no swap, no crop): the executor's own route (`Executor.prepare_call`), else,
    for a direct sum that reads the extension itself (`Executor.reads_boundary`), its prepared
    extended read. For any other plan of a problem without a swap and a floating result: the pipeline
    with the executor's kernel-only work made once (`_prepared_route`: an FFT's kernel
    spectrum up to `ROUTE_PREPARED_BYTES`; a 64x64 float32 `fftconvolve` with a 3x3 kernel
    spent a quarter of its call on it). A trial times its contenders by these routes, as they
    run once kept (timed by their whole call while kept ones skipped the kernel spectrum, FFT
    contenders lost close trials they would have won).

    Examples
    --------
    >>> import numpy as np
    >>> p = Problem.build(np.ones((64, 64)), np.ones((3, 3)), "same")
    >>> r = route(p, plan(p, "direct", threads=1))
    >>> r is None or r(np.ones((64, 64)))[0, :3].tolist() == [4.0, 6.0, 6.0]
    True
    """
    executor = registry.get(plan.executor)
    geo = problem.geometry
    if geo.swap or not all_finite(problem.h):
        return None
    # the route outlives the call: a kernel the caller changes later must not change it
    problem = dataclasses.replace(problem, h=problem.h.copy())
    plain = geo.crop is None and not geo.moved and not problem.batch  # nothing to rearrange
    call = executor.prepare_call(problem, plan) if plain else None
    if call is not None:
        return _cast_route(call, problem.result_dtype, problem.conventions.integers)
    # a spectral executor reads the zero extension as cheaply from the image (its tiles' zeros):
    # its route keeps the kernel spectrum instead
    if not executor.reads_boundary or executor.uses_backend:
        return _prepared_route(problem, plan)
    if not plain:
        return None
    kernel = problem.kernel()
    ranges = [window_reads(n2, w) for n2, w in zip(kernel.shape, problem.windows)]
    runner = executor.prepare_extended(ranges, "constant", 0, np.flip(kernel), plan)
    shape, compute, result = problem.out_shape, plan.compute_dtype, problem.result_dtype
    rule = problem.conventions.integers

    def computed(image: np.ndarray) -> np.ndarray:
        out = np.empty(shape, compute)
        if not runner(image, out):  # values it leaves to the general path (NaN, inf)
            return execute(problem.with_image(image), plan)
        return out if compute == result else cast(out, result, rule)
    return computed


@dataclasses.dataclass(frozen=True)
class Prepared:
    """A problem planned once, with its executor's kernel-only work done once (the kernel
    spectrum, separable factors): call it with each image of the problem's shape and dtype.
    `Convolver` and `fftconv.dask`'s chunk filters are made of these."""

    problem: Problem
    plan: Plan
    prepared: object

    def __call__(self, image: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return execute(self.problem.with_image(image), self.plan, prepared=self.prepared, out=out)


def _cast_route(call: Callable[[np.ndarray], np.ndarray], result: np.dtype, rule: str
                ) -> Callable[[np.ndarray], np.ndarray]:
    """``call`` with its output cast to ``result`` (by the integer ``rule``) where it differs."""
    def computed(image: np.ndarray) -> np.ndarray:
        out = call(image)
        return out if out.dtype == result else cast(out, result, rule)
    return computed


def _prepared_route(problem: Problem, plan: Plan) -> Callable[[np.ndarray], np.ndarray] | None:
    """`route` for an executor that does not read the boundary itself: the pipeline for a new
    image, with the executor's kernel-only work (`prepare`: an FFT's kernel spectrum, the
    separable factors) made once; an FFT's spectrum only where it takes at most
    `ROUTE_PREPARED_BYTES` (sized before it is made: a larger one is neither made nor kept,
    and the call is not worth the lane). Integer results are left out: their plan may have
    read the image's values (the integer-exactness rule). Any other executor took the full
    path at every call, and a trial with one among its contenders could not take the lane
    (2000 * 17 'same' float32: 53 us a call for thousands of calls, where the lane's 13 us).
    The kernel-only work is made in the route's first call, counted with it as one call of
    the engine: counted as two, a signature's first call had read its sizes' wisdom and queued
    their measuring where a first call runs on pocketfft (`backends.fftw`); made at the
    route's second call instead, it cost that call a transform (56x75 * 31x23 float64: ~0.1 of
    its 0.8 ms, scipy's second call 0.36)."""
    if problem.result_dtype.kind not in "fc":
        return None
    fft_shape = plan.fft_shape
    if fft_shape is not None:
        real = plan.compute_dtype.kind != "c"
        points = math.prod(fft_shape[:-1]) * (fft_shape[-1] // 2 + 1 if real else fft_shape[-1])
        kernels = math.prod(problem.h.shape[: problem.h.ndim - problem.rank])
        if points * kernels * plan.compute_dtype.itemsize * (2 if real else 1) > ROUTE_PREPARED_BYTES:
            return None
    made, prepared = False, None

    def computed(image: np.ndarray) -> np.ndarray:
        nonlocal made, prepared
        if not made:  # two threads at once may both make it: the same work
            background.note_call()
            prepared, made = prepare(problem, plan), True
            return execute(problem.with_image(image), plan, prepared=prepared, counted=True)
        return execute(problem.with_image(image), plan, prepared=prepared)
    return computed


def prepare_problem(problem: Problem, method: str = "auto", threads: int = 1, *,
                    methods: Sequence[str] | None = None, memory_limit: object = CONFIGURED) -> Prepared:
    """``problem`` (its image a stand-in: only its shape and dtype count) planned and prepared
    for many images.

    Examples
    --------
    >>> template = np.broadcast_to(np.zeros(()), (8,))
    >>> blur = prepare_problem(Problem.build(template, np.ones(3), "same"), threads=1)
    >>> blur(np.arange(8.0))
    array([ 1.,  3.,  6.,  9., 12., 15., 18., 13.])
    """
    chosen = plan(problem, method, threads, methods=methods, memory_limit=memory_limit, image_known=False)
    return Prepared(problem, chosen, prepare(problem, chosen))


def prepare(problem: Problem, plan: Plan) -> object:
    """The chosen executor's kernel-only work (e.g. the kernel spectrum), for `execute`'s
    ``prepared`` when many images share one kernel."""
    return registry.get(plan.executor).prepare(problem, plan)


def execute(problem: Problem, plan: Plan, *, prepared: object = None, out: np.ndarray | None = None,
            call_started: float | None = None, counted: bool = False, finite: bool = False) -> np.ndarray:
    """Run ``plan`` and return the result in the caller's axis order and the result dtype
    (written into ``out``, an array of that shape and dtype, when given). A plan of a trial
    records its run's time: from ``call_started`` (a ``time.perf_counter()`` reading: the
    caller's whole call, what the contender costs once kept) to the result, or the executor's
    run alone. ``counted``: the caller counted this call of the engine already
    (`background.note_call`: transform sizes count their calls).

    Examples
    --------
    >>> import numpy as np
    >>> p = Problem.build(np.array([1.0, np.nan, 1.0, 1.0]), np.ones(2), "full")
    >>> execute(p, plan(p, "fft"))
    array([ 1., nan, nan,  2.,  1.])
    """
    if not counted:
        background.note_call()
    executor = registry.get(plan.executor)
    compute = plan.compute_dtype
    direct_into_out = out is not None and out.dtype == compute
    outputs = math.prod(problem.out_shape)
    check_fits(outputs * (compute.itemsize + problem.result_dtype.itemsize) + plan.workspace,
               f"convolving {problem.x.shape} with {problem.h.shape}")
    result = out if direct_into_out else np.empty(problem.out_shape, compute)
    target = axes_last(result, problem.conv_axes)
    started = time.perf_counter()
    timed = plan.trial is not None
    try:
        executor.run(problem, plan, target, prepared, check_finite=not finite)
    except NonFiniteInput:  # run again on finite operands; then the outputs they reach
        zeroed = dataclasses.replace(problem, x=_finite(problem.x), h=_finite(problem.h))
        executor.run(zeroed, plan, target, prepared, check_finite=False)
        repair(target, problem.x, problem.h, problem.windows)
        timed = False  # not what the plan's calls take
    ran = time.perf_counter()
    if not direct_into_out:
        converted = cast(result, problem.result_dtype, problem.conventions.integers)
        if out is None:
            result = converted
        else:
            out[...] = converted
            result = out
    if timed:
        plan.trial.record(plan, ran - started if call_started is None else time.perf_counter() - call_started)
    return result


def _finite(a: np.ndarray) -> np.ndarray:
    return a if all_finite(a) else zero_nonfinite(a)
