"""Trials: where the cost model cannot tell the executors apart, a repeated call decides.

The cost model prices every executor from this machine's coefficients, but near the
crossovers between methods its error (10-60 % at mid sizes, fixed costs that a busy
interpreter or another CPU makes larger) is larger than the gap it must judge: on a grid of
everyday sizes it chose up to 2.5x slower than the fastest method, and left the fastest
estimated at 2x another's. So for a signature whose
cheapest executors are estimated within `TRIAL_RATIO` of each other, the calls of that
signature time them: the first calls run the cheapest estimate, or what the signature's first
call ran (`CHEAPEST_FIRST_CALLS`), the
next ones each contender in turn, `STREAK` calls in a row whose first is not timed (a first
run plans, and a run after another contender's meets the caches that one left), a contender clearly
slower than another leaves (`ELIMINATE_RATIO`), and once each left has `TRIAL_RUNS`
timed runs (`CLOSE_RUNS` in a near-tie) the one with the lowest median is kept for every later
call (one estimated and first timed at over twice a leader leaves at once; one estimated at over
1.5x leaves after two timed runs over 1.2x, or after one where the leader's calls take tens of
milliseconds; one whose runs on interim transforms, before FFTW's measured ones, took over 3x a
leader's leaves after two). A run is timed as the
contender will cost once kept (the facade decides what that is: `fftconv.signal` times a contender
the lane would route by its route's run, any other by its whole call). A run is not timed while work of the
background thread shares the machine, nor while a contender's transforms are not yet what
they will be (FFTW still measuring its size), nor where they became so during the run (it
swapped its plans). This is FFTW's own idea (MEASURE) applied one
level up, and like it, it spends a few calls of a signature that repeats, never the first
one.

Examples
--------
>>> from types import SimpleNamespace
>>> trial = Trial([SimpleNamespace(executor="a"), SimpleNamespace(executor="b")], lambda plan: True,
...               lambda plan, medians: plan)
>>> speed = {"a": 2.0, "b": 1.0}
>>> while trial.kept is None:
...     plan = trial.next()
...     trial.record(plan, speed[plan.executor])
>>> trial.kept.executor
'b'
"""

from __future__ import annotations

import statistics
import threading
from collections.abc import Callable

#: Executors estimated within this factor of the cheapest are timed on repeated calls (at most
#: `fftconv.planning.planner.PRUNE_RATIO`, beyond which executors are not even priced).
TRIAL_RATIO = 3.0
#: Most contenders of a trial (`fftconv.engine.run` picks them).
CONTENDERS = 3
#: Timed runs of each contender before the fastest is kept, judged by their median: the time
#: users meet and the benchmarks judge by (the fastest single run, used before, let one lucky
#: run decide; 3 medians were too few, picking 1.3x slower once in twenty on a shared VM).
TRIAL_RUNS = 7
#: ... or this many while the two fastest medians are within `CLOSE_RATIO`: a near-tie's extra
#: runs cost the loop little (the slower is at most that much slower), and seven medians of
#: each flipped between runs at 2 threads (96x16x72 * 11x11x11 'valid' float32: tiles kept at
#: 0.81 ms, the whole-array FFT 0.70; timed alone, either was the faster by 5-20 %).
CLOSE_RUNS = 15
CLOSE_RATIO = 1.2
#: A contender whose fastest timed run is over this factor of another's median, both with at
#: least `ELIMINATE_AFTER` timed runs, leaves the trial: it cannot win, and each of its runs
#: costs the loop (4096² * 31² float32 'same', AMD EPYC: the tiles 0.2 s a call, the direct sum
#: and the whole-array FFT 0.35-0.37 s, each run seven times before). Wide, so that three runs
#: slowed by a burst of other work do not put the fastest out: near-ties keep all their runs
#: (with 1.3, one of two runs of the mid-size grid had a regret of 1.22, maybe from that).
ELIMINATE_RATIO = 1.5
ELIMINATE_AFTER = 3
#: ... and a contender estimated at over this factor of a leader's estimate (one timed at least
#: `LEADER_RUNS` times) leaves after one timed run over this factor of the leader's median: the
#: model and the clock agree (4096² * 11x11 float32 'same', 2 threads, AMD EPYC: the tiles,
#: estimated at 2.3x the direct sum, ran 80-116 ms a call beside its 40 for four calls, and
#: fftconv was 0.81x OpenCV over five calls). Both witnesses, and the leader's median of two
#: runs: a single lucky or disturbed run must not decide alone.
ELIMINATE_AT_ONCE_RATIO = 2.0
LEADER_RUNS = 2
#: ... and one estimated at over `AGREE_ESTIMATE_RATIO` of the leader's estimate leaves once
#: `AGREE_AFTER` timed runs are each over `AGREE_CLOCK_RATIO` of the leader's median: the model
#: and the clock agree on the order, with margins no burst of other work on two runs makes up
#: (4096² * 11x11 float32 'same', 1 thread, AMD EPYC: the tiles, estimated at 2.0x the direct
#: sum, ran 104-114 ms a call beside its 78 for seven of a loop's first fourteen calls, and
#: fftconv was 0.81x OpenCV over the benchmark's calls).
AGREE_ESTIMATE_RATIO = 1.5
AGREE_CLOCK_RATIO = 1.2
AGREE_AFTER = 2
#: ... or after one such run where the leader's median is at least this long: a call of tens
#: of milliseconds varies by a few per cent from run to run (77-80 ms over ten calls of that
#: loop), and a burst that slows one by 20 % lasts as long as the call. Two runs of that
#: contender were still three of the benchmark's five calls, with its untimed first one.
AGREE_ONE_RUN_SECONDS = 0.02
#: ... and a contender whose interim runs (after itself, its transforms not yet final: pocketfft
#: or ESTIMATE plans while FFTW's measured ones are pending) each took over `INTERIM_RATIO` of a
#: leader's median leaves after `INTERIM_RUNS` of them: measured transforms run a pair at most
#: 2.8x faster than interim ones (pocketfft's, 22 shapes of 128² to 1024² and 3-D, AMD EPYC;
#: ESTIMATE plans 1.0-1.9x), so such a contender stays slower than the leader once final. A fresh
#: process' loop of 85671 * 98 'same' float64 calls (Intel Xeon, 1 thread): the tiles and the
#: whole-array FFT ran untimed at 1.2-1.9 ms beside the direct sum's 0.41 for 16 of the loop's
#: first 23 calls, until their sizes' measuring would have let them be timed.
INTERIM_RATIO = 3.0
INTERIM_RUNS = 2
#: A trial's first calls run the cheapest estimate, whose transforms the signature's first
#: call planned, or the contender the first call ran when it ran a quick plan (`start_with`):
#: another contender's first run plans its own and shares the machine with the first
#: transforms' measuring (AMD EPYC, a fresh process, 1 thread: a second call of 1,000,003 *
#: 5,001 'same' took 221 ms on the whole-array FFT, 10 ms on the tiles; of `fftconvolve`
#: 3000x2000 * 15x15 'same' 1,082 and 101 ms; of `convolve` 1000x800 * 21x21 float32, whose
#: first call ran the direct sum in 11 ms, 27 ms on the tiles' new sizes). A signature called
#: once more is not yet a loop: exploring starts with the call after these.
CHEAPEST_FIRST_CALLS = 2
#: Calls a contender runs in a row; the first of each streak is not timed. A run after another
#: contender's meets the caches and buffers that one left (AMD EPYC, 2 threads, 65227 * 226
#: 'full' float32: the tiles 0.37 ms after themselves, 0.48-0.50 ms after the whole-array
#: FFT's 0.51-0.58), and a kept one always runs after itself.
STREAK = 4
#: Runs after which a contender's transforms count as final even if the backend never says so.
PATIENCE_RUNS = 12
#: Calls an explored contender sits out while its runs would not be timed (`Trial.next`): the
#: background measures a 3024x2016 transform for seconds, and a loop of 0.1 s calls meanwhile
#: ran the whole-array FFT untimed at 0.24-0.8 s a call beside the tiles' 0.09 s (AMD EPYC).
PATIENCE_WAITS = 100
#: Runs recorded by trials still undecided, over the process (`unsettled_runs`).
_unsettled_runs = 0


def unsettled_runs() -> int:
    """How many runs trials still undecided have recorded so far in this process: a call that
    leaves it unchanged ran no contender of an open trial (benchmarks call until then to time
    the kept choice).

    Examples
    --------
    >>> unsettled_runs() >= 0
    True
    """
    return _unsettled_runs


def _estimate(plan) -> float | None:
    """The seconds the planner estimated for ``plan``'s executor, where the plan says."""
    candidate = getattr(plan, "candidates", {}).get(plan.executor)
    return getattr(candidate, "seconds", None)


class Trial:
    """The contending plans of one signature (cheapest estimate first) and their timings;
    ``final(plan)`` says whether a run of ``plan`` now is as fast as its runs will be;
    ``settle(plan, times)`` makes the plan kept from the fastest contender (``times``: each
    contender's median run)."""

    def __init__(self, plans: list, final: Callable[[object], bool],
                 settle: Callable[[object, dict[str, float]], object],
                 first_run: Callable[[object], float] | None = None,
                 advances: Callable[[object], bool] | None = None,
                 pending: Callable[[object], bool] | None = None) -> None:
        self.plans = list(plans)
        self.final = final
        #: Whether a run of a plan now, though untimed, is what brings its runs to final (its
        #: transforms are made final by its calls, not by work already under way)
        self.advances = advances or (lambda plan: False)
        #: Whether work under way will make a plan's runs final (FFTW measuring its sizes): its
        #: runs are not timed meanwhile, however many (`PATIENCE_RUNS` is for plans that
        #: nothing makes final)
        self.pending = pending or (lambda plan: False)
        self.settle = settle
        #: What each contender's first run is expected to cost (plans, fresh working memory):
        #: it is explored once the signature's calls have spent that long (`next`).
        self.first_run = {p.executor: first_run(p) if first_run else 0.0 for p in self.plans}
        #: Each contender's estimated seconds (None: unknown), a witness for `_eliminate`.
        self.estimated = {p.executor: _estimate(p) for p in self.plans}
        self.spent = 0.0  # seconds the trial's recorded runs took
        self.runs = {p.executor: 0 for p in self.plans}
        self.waits = {p.executor: 0 for p in self.plans}  # calls a contender sat out (`next`)
        self.out: set[str] = set()  # contenders eliminated (`ELIMINATE_RATIO`)
        self.times: dict[str, list[float]] = {p.executor: [] for p in self.plans}
        #: each contender's runs after itself while its transforms were not final (`INTERIM_RATIO`)
        self.interim: dict[str, list[float]] = {p.executor: [] for p in self.plans}
        self.medians: dict[str, float] = {}  # of each contender's times, kept with them (`record`)
        self.kept = None
        self.served = 0  # calls `next` has answered
        self.streak: tuple[str | None, int] = (None, 0)  # the contender served last, calls in a row
        self.previous: str | None = None  # the contender whose run was recorded last
        self.ended_final: dict[str, bool] = {}  # whether each contender's last run ended final
        self.first: str | None = None  # what the first calls run (`start_with`), else the cheapest
        #: What the caller prepared for the contenders, by what it was prepared for (a call's
        #: signature, its kernel's values included: a trial's plan serves every kernel of its
        #: shapes), then by executor: e.g. lane routes, kept while the trial runs.
        self.routes: dict[object, dict[str, object]] = {}
        self._lock = threading.Lock()

    def next(self):
        """The plan the next call runs: the kept one; else for the trial's first
        `CHEAPEST_FIRST_CALLS` calls the cheapest estimate, then the contender run least so far
        among those explored or affordable: a contender not run yet waits until the trial's
        runs have spent what its first run is expected to cost (a ski rental: exploring at most
        doubles what a signature's calls cost, however few they turn out to be), and one run
        already sits out (up to `PATIENCE_WAITS` calls) while a run would not be timed (its
        transforms still measured in the background): its untimed runs cost what its first did.
        One whose transforms only its own calls make final (``advances``: a size's second call
        starts its measuring) runs again at once: sitting out, it waited for nothing."""
        with self._lock:
            if self.kept is not None:
                return self.kept
            self.served += 1
            if self.served <= CHEAPEST_FIRST_CALLS:  # not a streak: exploring starts after them
                plan = next((p for p in self.plans if p.executor == self.first), self.plans[0])
                self.streak = (plan.executor, STREAK)
                return plan
            alive = self._alive()
            ready = [self._base(alive)]
            for p in alive:
                name = p.executor
                if p is ready[0]:
                    continue
                if not self.runs[name]:
                    if self.spent >= self.first_run[name]:
                        ready.append(p)
                elif self.waits[name] >= PATIENCE_WAITS or self.final(p) or self.advances(p):
                    ready.append(p)
                else:  # explored, but a run now would not be timed: the cheapest estimate runs instead
                    self.waits[name] += 1
            last, count = self.streak
            wanted = self._runs_wanted(alive)
            again = [p for p in ready if p.executor == last and len(self.times[last]) < wanted
                     and self._timed_if_run(p)]
            if again and count < STREAK:
                return self._serve(again[0])
            return self._serve(min(ready, key=lambda p: (len(self.times[p.executor]), self.runs[p.executor])))

    def _base(self, alive: list):
        """What runs while the others wait: the fastest contender timed so far; before any is
        timed, the first run (its plans are made), else the cheapest estimate. The first run
        had been the base even where its runs were not timed (2409 * 603 'valid' float32, a
        fresh process: the tiles ran 15 calls on ESTIMATE plans at 240-1,100 us while FFTW
        measured their size, the direct sum timed at 100 us beside them; AMD EPYC)."""
        timed = [p for p in alive if p.executor in self.medians]
        if timed:
            return min(timed, key=lambda p: self.medians[p.executor])
        return next((p for p in alive if self.runs[p.executor]), alive[0])

    def _runs_wanted(self, alive: list) -> int:
        """Timed runs each contender needs before one is kept: `TRIAL_RUNS`, or `CLOSE_RUNS`
        while the two fastest medians of those timed that often are a near-tie."""
        medians = sorted(self.medians[p.executor] for p in alive if len(self.times[p.executor]) >= TRIAL_RUNS)
        if len(medians) >= 2 and medians[1] <= CLOSE_RATIO * medians[0]:
            return CLOSE_RUNS
        return TRIAL_RUNS

    def _timed_if_run(self, plan) -> bool:
        """Whether a run of ``plan`` now, after itself, would be timed, or brings its runs to
        final (``advances``): a streak of runs that would be neither only costs the loop."""
        return (self._patience_spent(plan, self.runs[plan.executor] >= PATIENCE_RUNS) or self.final(plan)
                or self.advances(plan))

    def _patience_spent(self, plan, enough_runs: bool) -> bool:
        """Whether ``plan``'s runs count as final without the backend saying so: after enough
        runs, where nothing under way will make them final. A whole-array FFT of a new mid size
        had been timed on pocketfft from its 13th run while FFTW measured the size, ~2x its
        time after (63x123 * 35x35 'valid' float64, a fresh process: 180-670 us in the trial,
        100-170 us once measured; the direct sum, 130-145 us, was kept; AMD EPYC Zen 4)."""
        return enough_runs and not self.pending(plan)

    def _serve(self, plan):
        """``plan``, counted in the streak; the caller holds the lock. One served while work
        under way will change its runs (``pending``) sits out again afterwards: its runs are
        not timed meanwhile, and each costs the loop."""
        last, count = self.streak
        self.streak = (plan.executor, count + 1 if plan.executor == last else 1)
        if self.pending(plan) and not self.final(plan):
            self.waits[plan.executor] = 0
        return plan

    def start_with(self, executor: str) -> None:
        """Run ``executor``'s contender (if it is one) on the trial's first calls, before any
        is served: the signature's first call ran it, so its plans and buffers are made."""
        with self._lock:
            if self.served == 0:
                self.first = executor

    def record(self, plan, seconds: float) -> None:
        """One call of ``plan`` took ``seconds``; keep the fastest once every contender is timed.
        Only a trial that hands out its plans (`next`) counts runs: a caller that reads the
        signature's plan without running the trial (``fftconv.plan``, ndimage's blocks) runs its
        cheapest estimate untimed."""
        global _unsettled_runs
        with self._lock:
            if self.kept is not None or self.served == 0:
                return
            _unsettled_runs += 1
            self.spent += seconds
            name = plan.executor
            self.runs[name] += 1
            after_itself, self.previous = self.previous == name, name
            # a contender with all the runs a trial can want (the base, while the others wait
            # for their sizes' measuring) times no more: each median over a growing list cost
            # its calls more than the run (1,460 runs of 63x123 * 35x35 'valid': 200-300 us a
            # call beside the direct sum's 130)
            # final now and at the end of its previous run: a run during which its transforms
            # became final swapped its plans inside it (47x70x40 * 5x5x5 'valid' float32, 2
            # threads: the tiles timed at 5.2-6.3 ms so, 1.1-1.3 ms on the next run)
            final, was_final = self.final(plan), self.ended_final.get(name, False)
            self.ended_final[name] = final
            counts = len(self.times[name]) < CLOSE_RUNS and (
                self._patience_spent(plan, self.runs[name] > PATIENCE_RUNS) or (final and was_final))
            if after_itself and counts:
                self.times[name].append(seconds)
                self.medians[name] = statistics.median(self.times[name])
                self._eliminate()
            elif after_itself and not final and not self.times[name]:
                self.interim[name].append(seconds)
                self._eliminate()
            alive = self._alive()
            # one left: the leader that put the others out, with its timed runs
            wanted = self._runs_wanted(alive)
            if len(alive) == 1 or all(len(self.times[p.executor]) >= wanted for p in alive):
                best = min(alive, key=lambda p: self.medians[p.executor])
                self.kept = self.settle(best, dict(self.medians))

    def _alive(self) -> list:
        """The contenders still in the trial, in the estimates' order."""
        return [p for p in self.plans if p.executor not in self.out]

    def _eliminate(self) -> None:
        """Drop the contenders that cannot win (`ELIMINATE_RATIO`, `ELIMINATE_AT_ONCE_RATIO`,
        `AGREE_ESTIMATE_RATIO`, `INTERIM_RATIO`); the caller holds the lock."""
        leaders = [n for n, t in self.times.items() if len(t) >= LEADER_RUNS and n not in self.out]
        if leaders:
            leader = min(leaders, key=self.medians.__getitem__)
            self.out.update(n for n, t in self.interim.items()
                            if len(t) >= INTERIM_RUNS and n not in self.out and not self.times[n]
                            and min(t) > INTERIM_RATIO * self.medians[leader])
            priced = self.estimated[leader]
            agree_after = 1 if self.medians[leader] >= AGREE_ONE_RUN_SECONDS else AGREE_AFTER
            for ratio, runs, clock in ((ELIMINATE_AT_ONCE_RATIO, 1, ELIMINATE_AT_ONCE_RATIO),
                                       (AGREE_ESTIMATE_RATIO, agree_after, AGREE_CLOCK_RATIO)):
                self.out.update(n for n, t in self.times.items()
                                if len(t) >= runs and n not in self.out and priced and self.estimated[n]
                                and self.estimated[n] > ratio * priced
                                and min(t) > clock * self.medians[leader])
        timed = {n: t for n, t in self.times.items() if len(t) >= ELIMINATE_AFTER and n not in self.out}
        if len(timed) < 2:
            return
        lead = min(self.medians[n] for n in timed)
        self.out.update(n for n, t in timed.items() if min(t) > ELIMINATE_RATIO * lead)

    def describe(self) -> str:
        """Where the trial stands, for ``Plan.explain``."""
        with self._lock:
            names = " and ".join(p.executor for p in self.plans)
            done = sum(len(t) for t in self.times.values())
            need = self._runs_wanted(self._alive()) * len(self.plans)
            out = f"; {', '.join(sorted(self.out))} left it, slower" if self.out else ""
        return (f"estimates within {TRIAL_RATIO:g}x of each other: {names} are timed on this signature's "
                f"repeated calls ({done} of {need} timed runs so far{out}), and the fastest is kept")
