"""Trials: a signature whose executors' estimates are too close to call times them on its
repeated calls and keeps the fastest; every call's result is the same answer."""

import dataclasses
import json
import time
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.signal
from conftest import assert_close

import fftconv
from fftconv.engine import lane, run, tiny, trials


def test_the_fastest_contender_is_kept(rng, contested):
    a, b = rng.standard_normal((200, 180)), rng.standard_normal((9, 9))
    want = scipy.signal.fftconvolve(a, b, "same")
    first = fftconv.plan(a, b, "same", threads=1)
    contenders = [p.executor for p in first.trial.plans]
    assert len(contenders) == 3 and contenders[0] == first.executor  # the cheapest estimate runs first
    slowest_estimate = contenders[-1]
    contested.update({name: 1.0 for name in contenders})
    contested[slowest_estimate] = 0.001  # what the model thought slowest is in fact fastest
    assert "timed on this signature's repeated calls" in first.explain()
    ran = []
    for _ in range(3 * (trials.TRIAL_RUNS + 1)):
        ran.append(first.trial.next().executor)
        assert_close(fftconv.convolve(a, b, "same", threads=1), want)
    kept = fftconv.plan(a, b, "same", threads=1)
    assert kept.trial is None and kept.executor == slowest_estimate
    assert "fastest on this signature's calls" in kept.explain()
    assert set(ran) == set(contenders)  # each contender ran
    assert_close(fftconv.convolve(a, b, "same", threads=1), want)


def test_no_trial_where_one_executor_is_clearly_cheapest(rng, monkeypatch):
    monkeypatch.setattr(trials, "TRIAL_RATIO", 1.0)
    run._memo.clear()
    assert fftconv.plan((512, 512), (3, 3), threads=1).trial is None
    run._memo.clear()


def test_contenders_fit_the_memory_limit(rng, contested):
    with fftconv.config.override(memory_limit="300KiB"):
        plan = fftconv.plan((400, 400), (15, 15), "same", threads=1)
        assert plan.trial is not None
        assert all(p.workspace <= 300 * 1024 for p in plan.trial.plans)


def test_a_settled_signature_takes_the_lane(rng, contested):
    a, b = rng.standard_normal((64, 64)), rng.standard_normal((3, 3))
    first = fftconv.plan(a, b, "same", threads=1)
    contested.update({p.executor: 1.0 for p in first.trial.plans})
    contested["direct.compiled"] = 0.001
    for _ in range(3 * (trials.TRIAL_RUNS + 1)):
        fftconv.convolve(a, b, "same", threads=1)
    assert fftconv.plan(a, b, "same", threads=1).executor == "direct.compiled"
    fftconv.convolve(a, b, "same", threads=1)  # a settled direct plan: remembered by the lane
    assert any(key[0] == "signal" and key[1] == (64, 64) for key in lane._routes)


def run_trial(trial, speed, calls: int) -> list[str]:
    """Serve up to ``calls`` calls of ``trial`` (until it keeps one), each of its contender's
    ``speed`` (seconds, or an iterator of them); the contenders run, in order."""
    ran = []
    while trial.kept is None and len(ran) < calls:
        plan = trial.next()
        ran.append(plan.executor)
        seconds = speed[plan.executor]
        trial.record(plan, seconds if isinstance(seconds, float) else next(seconds))
    return ran


def test_a_contender_runs_in_streaks_timed_after_itself():
    """A run after another contender's meets that one's caches and buffers (65227 * 226 'full'
    float32, 2 threads: the tiles 0.37 ms after themselves, 0.48-0.50 ms after the FFT); a kept
    contender always runs after itself."""
    trial = trials.Trial([_Plan("a"), _Plan("b")], lambda plan: True, lambda plan, medians: plan.executor)
    ran = run_trial(trial, {"a": 1.0, "b": 2.0}, 200)
    first = trials.CHEAPEST_FIRST_CALLS
    assert ran[first: first + trials.STREAK] == ["b"] * trials.STREAK
    assert ran[first + trials.STREAK] == "a"
    # a's runs after itself (its first calls, then streaks) are timed; b's first of each streak is not
    streaks_of_b = sum(1 for i, name in enumerate(ran) if name == "b" and (i == 0 or ran[i - 1] != "b"))
    assert len(trial.times["b"]) == ran.count("b") - streaks_of_b
    assert trial.kept == "a"


def test_runs_that_are_not_final_are_not_timed():
    class Plan:
        def __init__(self, executor):
            self.executor = executor

    final = {"a": True, "b": False}
    trial = trials.Trial([Plan("a"), Plan("b")], lambda plan: final[plan.executor],
                         lambda plan, medians: (plan.executor, medians))
    speed = {"a": 2.0, "b": 1.0}  # b faster, but its transforms are still being planned
    ran = run_trial(trial, speed, 40)
    assert "b" in ran and trial.kept is None and not trial.times["b"]
    assert trial.next().executor == "a"  # b sits out while untimeable ...
    final["b"] = True
    assert trial.next().executor == "b"  # ... and is timed once its runs are final
    run_trial(trial, speed, 100)
    assert trial.kept == ("b", {"a": 2.0, "b": 1.0})


class _Plan:
    def __init__(self, executor):
        self.executor = executor


def test_a_contender_is_explored_once_the_calls_have_spent_its_first_run():
    """A ski rental: the whole-array FFT of a large signature (first run 1.35 s beside the
    tiles' 0.1 s calls) is not run by a script that calls three times."""
    first_run = {"tiles": 0.0, "whole": 0.75}
    plans = [_Plan("tiles"), _Plan("whole")]
    trial = trials.Trial(plans, lambda plan: True, lambda plan, medians: plan.executor,
                         lambda plan: first_run[plan.executor])
    ran = []
    for _ in range(12):
        plan = trial.next()
        ran.append(plan.executor)
        trial.record(plan, 0.1 if plan.executor == "tiles" else 0.3)
    explored = ran.index("whole")
    assert explored == 8  # eight calls of 0.1 s spent 0.8 s, over the 0.75 s it would cost
    assert all(name == "tiles" for name in ran[:explored])
    free = trials.Trial(plans, lambda plan: True, lambda plan, medians: plan.executor)
    for _ in range(trials.CHEAPEST_FIRST_CALLS):
        free.record(free.next(), 0.1)
    assert free.next().executor == "whole"  # nothing to pay: explored after the first calls


def test_a_contender_whose_transforms_are_being_measured_is_not_timed_however_often_it_ran():
    """`PATIENCE_RUNS` counts a contender's runs as final where nothing will make them so;
    while its sizes are measured they are not: a whole-array FFT timed on pocketfft from its
    13th run, ~2x its measured time, had lost to the direct sum for good (63x123 * 35x35
    'valid' float64, a fresh process, AMD EPYC Zen 4). Meanwhile the base's timed runs stop
    at what a trial can want (their medians cost its calls more than the runs)."""
    state = {"final": False, "pending": True}
    trial = trials.Trial([_Plan("a"), _Plan("b")],
                         lambda plan: plan.executor == "a" or state["final"],
                         lambda plan, medians: (plan.executor, medians),
                         pending=lambda plan: plan.executor == "b" and state["pending"])
    speed = {"a": 2.0, "b": 1.0}
    ran = run_trial(trial, speed, 30 * trials.PATIENCE_WAITS)
    assert ran.count("b") > trials.PATIENCE_RUNS + 1 and not trial.times["b"] and trial.kept is None
    assert ran.count("b") <= 30 + 2  # one run, then it sits out again
    assert len(trial.times["a"]) == trials.CLOSE_RUNS
    state.update(final=True, pending=False)
    run_trial(trial, speed, 3 * trials.PATIENCE_WAITS)
    assert trial.kept == ("b", {"a": 2.0, "b": 1.0})


def test_an_explored_contender_sits_out_a_bounded_number_of_calls():
    trial = trials.Trial([_Plan("a"), _Plan("b")], lambda plan: plan.executor == "a",
                         lambda plan, medians: plan.executor)
    for _ in range(trials.CHEAPEST_FIRST_CALLS):
        trial.record(trial.next(), 1.0)
    assert trial.next().executor == "b"  # explored
    trial.record(trial.plans[1], 1.0)
    ran = [trial.next().executor for _ in range(trials.PATIENCE_WAITS + 1)]
    assert ran[:-1] == ["a"] * trials.PATIENCE_WAITS and ran[-1] == "b"  # a backend that never says final


def test_the_median_run_decides_not_a_lucky_or_a_disturbed_one():
    class Plan:
        def __init__(self, executor):
            self.executor = executor

    def kept(a_times, b_time):
        trial = trials.Trial([Plan("a"), Plan("b")], lambda plan: True, lambda plan, times: plan.executor)
        run_trial(trial, {"a": iter(a_times), "b": b_time}, 200)
        return trial.kept

    # a's first call is untimed, its second timed (after itself): the unusual run is its first timed one
    lucky = [1.0, 0.5] + [2.0] * 50  # one quiet run, a's usual time 2.0: b at 1.5 is faster
    assert kept(lucky, 1.5) == "b"
    disturbed = [1.0, 9.0] + [1.0] * 50  # one run hit by other work: a at 1.0 is faster
    assert kept(disturbed, 1.5) == "a"


def test_contenders_are_timed_as_they_will_cost_once_kept(rng, monkeypatch):
    """A contender the lane would route is timed by its route's run (a kept one's calls go
    straight there); any other by the whole call (a kept one's calls check, build and plan
    again): a call that spends 20 ms before planning counts for those alone."""
    monkeypatch.setattr(trials, "TRIAL_RATIO", 1e9)
    monkeypatch.setattr(run, "_runs_final", lambda plan: True)
    # explored at once: how a contender is timed is the point, not when (a lane-routed leader's
    # runs of tens of microseconds left the ski rental short of the tiles' first run in CI)
    monkeypatch.setattr(run, "_first_run_seconds", lambda plan: 0.0)
    monkeypatch.setattr(run, "FULL_PLAN_SECONDS", 0.0)  # a signature's second call plans in full
    monkeypatch.setattr(tiny, "first_nd_fft", lambda *args: None)  # NumPy's FFTs would take first calls
    run._memo.clear()
    lane.clear()
    recorded, executed = {}, []
    real_record, real_execute = trials.Trial.record, run.execute

    def record(self, plan, seconds):
        recorded.setdefault(plan.executor, []).append(seconds)
        real_record(self, plan, seconds)

    def execute(problem, plan, **kwargs):
        executed.append(plan.executor)
        return real_execute(problem, plan, **kwargs)

    def slow_build(*args, **kwargs):
        time.sleep(0.02)
        return real_build(*args, **kwargs)

    real_build = fftconv.signal.Problem.build
    monkeypatch.setattr(trials.Trial, "record", record)
    monkeypatch.setattr(run, "execute", execute)
    monkeypatch.setattr(fftconv.signal.Problem, "build", staticmethod(slow_build))
    a, b = rng.standard_normal((64, 64)), rng.standard_normal((5, 5))
    want = scipy.signal.convolve(a, b, "same", method="direct")
    contenders = [p.executor for p in fftconv.plan(a, b, "same", threads=1).trial.plans]
    # the direct sum first, then a spectral executor (the whole-array FFT or the tiles, as the
    # model orders them): both explored in the calls below
    assert contenders[0] == "direct.compiled" and contenders[1] in ("fft", "tiled")
    spectral = contenders[1]
    for _ in range(2 * len(contenders)):
        assert_close(fftconv.convolve(a, b, "same", threads=1), want)
    assert max(recorded["direct.compiled"]) < 0.02  # the route's run alone
    assert max(recorded[spectral][1:]) < 0.02  # its route too, the kernel spectrum made once
    assert "direct.compiled" not in executed  # it ran through its route
    # with no room for a kernel spectrum the spectral executor has no route: timed by the whole call
    monkeypatch.setattr(run, "ROUTE_PREPARED_BYTES", 0)
    run._memo.clear()
    lane.clear()
    recorded.clear()
    for _ in range(2 * len(contenders)):
        assert_close(fftconv.convolve(a, b, "same", threads=1), want)
    assert min(recorded[spectral]) >= 0.02  # the whole call, its 20 ms before planning included
    run._memo.clear()
    lane.clear()


def test_a_trials_first_calls_run_the_cheapest_estimate(rng, contested):
    """A signature's second call is no loop yet: it runs the plan its first call planned (a
    contender's first run would plan its own transforms); contenders run from the call after."""
    a, b = rng.standard_normal((200, 180)), rng.standard_normal((9, 9))
    trial = fftconv.plan(a, b, "same", threads=1).trial
    order = []
    for _ in range(trials.CHEAPEST_FIRST_CALLS + 1):
        before = dict(trial.runs)
        fftconv.convolve(a, b, "same", threads=1)
        order.extend(name for name in trial.runs if trial.runs[name] > before[name])
    first = trials.CHEAPEST_FIRST_CALLS
    assert order[:first] == [trial.plans[0].executor] * first
    assert order[first] == trial.plans[1].executor  # then the next estimate, in a streak


def test_a_trials_first_calls_run_what_the_first_call_ran(rng, monkeypatch):
    """When a signature's first call ran a quick plan, its trial's first calls run that plan
    (made and warm) rather than the cheapest estimate, whose new transform sizes plan at their
    first run: 1000x800 * 21x21 float32, the first call's direct sum 11 ms, then the tiles'
    second call 27 ms (scipy 11-17)."""
    from fftconv.core.problem import Problem

    monkeypatch.setattr(trials, "TRIAL_RATIO", 1e9)
    monkeypatch.setattr(run, "_transforms_final", lambda plan: True)
    monkeypatch.setattr(run, "FIRST_SIGHT_SECONDS", 1.0)
    run._memo.clear()
    run._sighted.clear()
    problem = Problem.build(rng.standard_normal((400, 380)), rng.standard_normal((17, 17)), "same")
    quick = run.plan(problem, threads=1, for_call=True)
    assert quick.first_sight
    ran = [run.plan(problem, threads=1, for_call=True) for _ in range(trials.CHEAPEST_FIRST_CALLS + 1)]
    contenders = [p.executor for p in ran[0].trial.plans]
    assert quick.executor in contenders and contenders[0] != quick.executor  # the case this is about
    assert [p.executor for p in ran[: trials.CHEAPEST_FIRST_CALLS]] == [quick.executor] * 2
    assert all(p.trial is ran[0].trial for p in ran)  # the trial's own plans: their runs are timed


def test_a_signatures_plan_read_without_its_trial_is_not_timed(rng):
    """ndimage's blocks (and `fftconv.plan`) read a signature's plan without running its trial:
    those runs are not the trial's, so they neither decide it nor keep a loop unsettled."""
    x, h = rng.standard_normal((300, 300)), rng.standard_normal((17, 17))
    fftconv.ndimage.convolve(x, h)
    before = trials.unsettled_runs()
    for _ in range(5):
        fftconv.ndimage.convolve(x, h)
    assert trials.unsettled_runs() == before


def test_a_clear_winner_is_kept_after_the_usual_runs_a_near_tie_after_more():
    for other, wanted in ((1.35, trials.TRIAL_RUNS), (1.1, trials.CLOSE_RUNS)):
        trial = trials.Trial([_Plan("a"), _Plan("b")], lambda plan: True, lambda plan, medians: plan.executor)
        run_trial(trial, {"a": 1.0, "b": other}, 500)
        assert trial.kept == "a" and len(trial.times["b"]) == wanted


def test_a_contender_that_cannot_win_leaves_the_trial_early():
    trial = trials.Trial([_Plan("tiles"), _Plan("direct"), _Plan("whole")], lambda plan: True,
                         lambda plan, medians: (plan.executor, sorted(medians)))
    speed = {"tiles": 0.2, "direct": 0.36, "whole": 0.21}
    ran = []
    said = []
    while trial.kept is None and len(ran) < 200:
        plan = trial.next()
        ran.append(plan.executor)
        trial.record(plan, speed[plan.executor])
        said.append(trial.describe())
    assert trial.kept == ("tiles", ["direct", "tiles", "whole"])
    assert ran.count("direct") == 1 + trials.ELIMINATE_AFTER  # one untimed run, then out
    # tiles and whole are a near-tie (0.2 and 0.21 s): each is timed `CLOSE_RUNS` times
    assert speed["whole"] <= trials.CLOSE_RATIO * speed["tiles"]
    streaks = -(-trials.CLOSE_RUNS // (trials.STREAK - 1))  # each streak's first run untimed
    assert ran.count("whole") == streaks + trials.CLOSE_RUNS  # close: timed to the end
    assert len(trial.times["tiles"]) >= trials.CLOSE_RUNS
    assert "direct left it, slower" in said[-2] and "left it" not in said[0]


def test_a_contender_only_its_own_runs_make_final_runs_again_at_once():
    """Its transforms are measured from a size's second call: sitting out until they are
    final, it waited for nothing (100 calls at 1.4-1.6x its time, 126x52 * 8x8 'valid')."""
    final = {"a": True, "b": False}
    trial = trials.Trial([_Plan("a"), _Plan("b")], lambda plan: final[plan.executor],
                         lambda plan, medians: plan.executor, advances=lambda plan: not final[plan.executor])
    for _ in range(trials.CHEAPEST_FIRST_CALLS):
        trial.record(trial.next(), 1.0)
    assert trial.next().executor == "b"  # explored
    trial.record(trial.plans[1], 1.0)
    assert trial.next().executor == "b"  # again: its run starts what makes it final


def test_each_method_has_a_contender_before_a_second_implementation_of_one():
    """32332 * 29 'same' float64, 2 threads: the tiles and two direct sums were timed and the
    whole-array FFT, 1.3x faster than the tiles kept, never was."""
    close = ["tiled", "direct.numpy", "direct.ndimage", "fft"]
    assert run._contenders(close) == ["tiled", "direct.numpy", "fft"]
    assert run._contenders(["direct.numpy", "direct.ndimage"]) == ["direct.numpy", "direct.ndimage"]


def test_a_first_run_that_imports_scipy_ndimage_is_priced_with_the_import(monkeypatch):
    """Exploring scipy.ndimage's loop as a signature's fifth call imported scipy.ndimage there:
    a 0.4 ms call took 180-365 ms."""
    import sys

    from fftconv.executors import direct_ndimage

    executor = direct_ndimage.NdimageLoop()
    monkeypatch.setattr(direct_ndimage, "_loop", ...)
    monkeypatch.delitem(sys.modules, "scipy.ndimage")
    assert executor.first_use_seconds() == direct_ndimage.IMPORT_SECONDS
    p = fftconv.plan(np.ones(32332), np.ones(29), "same", method="direct", threads=1)
    priced = run._first_run_seconds(dataclasses.replace(p, executor="direct.ndimage"))
    assert priced >= direct_ndimage.IMPORT_SECONDS


def test_while_a_contender_waits_for_its_transforms_the_fastest_timed_one_runs():
    """The first contender run used to run whenever the others waited, in streaks, though its
    runs were not timed: 2409 * 603 'valid' float32 in a fresh process ran the tiles 15 calls
    on ESTIMATE plans (240-1,100 us) while FFTW measured their size, the direct sum timed at
    100 us beside them (AMD EPYC)."""
    final = {"tiles": False, "sum": True}  # the tiles' size is being measured
    trial = trials.Trial([_Plan("tiles"), _Plan("sum")], lambda plan: final[plan.executor],
                         lambda plan, medians: plan.executor)
    ran = run_trial(trial, {"tiles": 1.0, "sum": 2.0}, 60)
    first = trials.CHEAPEST_FIRST_CALLS
    assert ran[:first] == ["tiles"] * first
    assert set(ran[first:]) == {"sum"}  # not one untimed run of the tiles while they wait
    final["tiles"] = True
    ran = run_trial(trial, {"tiles": 1.0, "sum": 2.0}, 100)
    assert ran[0] == "tiles" and trial.kept == "tiles"


def test_an_open_trials_calls_take_the_lane(rng, contested, monkeypatch):
    """Through the full path each call of a trial checked, built and planned again: 90 us beside
    a 110 us direct sum (2409 * 603 'valid' float32), for the hundreds of calls FFTW took to
    measure the other contenders' sizes."""
    a, b = rng.standard_normal((64, 64)), rng.standard_normal((5, 5))
    want = scipy.signal.convolve(a, b, "same", method="direct")
    assert_close(fftconv.convolve(a, b, "same", threads=1), want)  # the signature's first plan
    assert_close(fftconv.convolve(a, b, "same", threads=1), want)  # planned in full: the trial opens
    trial = fftconv.plan(a, b, "same", threads=1).trial
    assert trial is not None and trial.kept is None
    runs = sum(trial.runs.values())
    monkeypatch.setattr(run, "plan", lambda *args, **kwargs: pytest.fail("planned again"))
    for _ in range(3 * (trials.STREAK * trials.TRIAL_RUNS)):
        assert_close(fftconv.convolve(a * 2, b, "same", threads=1), want * 2)
    assert sum(trial.runs.values()) > runs and trial.kept is not None
    key = lane.signal_key(a, b, "same", "auto", None, 1, False, fftconv.signal.SIGNAL, None)
    kept_route = trial.routes[key][trial.kept.executor]  # the routes made for this kernel
    assert lane.get(key) is kept_route


def explored(estimates: dict, speed: dict, first_run: float | None = None) -> tuple[object, int]:
    """(the contender kept, how many calls ran the tiles) of a trial of a direct sum and tiles
    priced at ``estimates`` and running at ``speed``; the tiles' first run is priced at
    ``first_run`` (a ski rental: the leader runs, and is timed, until the calls have spent
    that), by default at its estimate, as `fftconv.engine.run` prices it."""
    candidates = {name: SimpleNamespace(seconds=s) for name, s in estimates.items()}
    plans = [SimpleNamespace(executor=name, candidates=candidates) for name in estimates]
    rent = estimates["tiles"] if first_run is None else first_run
    trial = trials.Trial(plans, lambda plan: True, lambda plan, medians: plan.executor,
                         lambda plan: 0.0 if plan.executor == "direct" else rent)
    ran = run_trial(trial, speed, 200)
    return trial.kept, ran.count("tiles")


def test_a_contender_priced_and_timed_far_above_the_leader_leaves_after_one_timed_run():
    """The model priced the tiles at 2.5x the direct sum and their first timed run agrees: they
    leave at once (four calls of a 4096² signature had explored them); either witness alone,
    a price or one run, is not enough."""
    kept, tiles_runs = explored({"direct": 0.04, "tiles": 0.1}, {"direct": 0.04, "tiles": 0.09})
    assert kept == "direct" and tiles_runs == 2  # one untimed run, one timed, out
    # priced close: the usual runs before it leaves
    kept, tiles_runs = explored({"direct": 0.04, "tiles": 0.06}, {"direct": 0.04, "tiles": 0.09})
    assert kept == "direct" and tiles_runs == 1 + trials.ELIMINATE_AFTER
    # timed closer though priced far: out once a timed run agrees on the order (a 40 ms leader)
    kept, tiles_runs = explored({"direct": 0.04, "tiles": 0.1}, {"direct": 0.04, "tiles": 0.07})
    assert kept == "direct" and tiles_runs == 2


def test_a_contender_priced_and_twice_timed_above_the_leader_leaves_after_those_runs():
    """4096² * 11x11 float32 'same' at 1 thread: the tiles, priced at 2.0x the direct sum, ran
    1.35x its time for seven timed runs (plus a streak's untimed ones) of a loop's first
    fourteen calls. Priced over 1.5x and timed twice over 1.2x (once, beside a leader of tens
    of milliseconds), they leave after those runs; a price or a clock that does not agree
    keeps the usual runs. The tiles are explored once the direct sum has two timed runs
    (`LEADER_RUNS`), as in that loop."""
    kept, tiles_runs = explored({"direct": 0.074, "tiles": 0.15}, {"direct": 0.078, "tiles": 0.105}, 0.2)
    assert kept == "direct" and tiles_runs == 2  # before: 1 + 7 timed + streaks; 78 ms: one run enough
    # a leader of a few milliseconds: two timed runs
    kept, tiles_runs = explored({"direct": 0.0074, "tiles": 0.015}, {"direct": 0.0078, "tiles": 0.0105}, 0.2)
    assert kept == "direct" and tiles_runs == 1 + trials.AGREE_AFTER
    # priced within 1.5x: the usual runs (1.35x is short of ELIMINATE_RATIO)
    kept, tiles_runs = explored({"direct": 0.074, "tiles": 0.1}, {"direct": 0.078, "tiles": 0.105}, 0.2)
    assert kept == "direct" and tiles_runs > trials.TRIAL_RUNS
    # timed within 1.2x: a near-tie the clock must settle, whatever the price
    kept, tiles_runs = explored({"direct": 0.074, "tiles": 0.15}, {"direct": 0.078, "tiles": 0.09}, 0.2)
    assert kept == "direct" and tiles_runs > trials.TRIAL_RUNS


def test_a_filter_with_holes_times_each_call_once_and_keeps_the_fastest(rng, contested, monkeypatch):
    """A holes block is planned once and timed whole (read, sums, combination): one run of its
    trial per call, whichever path the contender takes (tiles on the FFTs, bands of direct
    sums), and the trial keeps the fastest."""
    x = rng.standard_normal((200, 180))
    x[rng.random(x.shape) < 0.05] = np.nan
    h = rng.random((9, 9)) + 0.1
    want = fftconv.ndimage.correlate(x, h, nan="interpolate", method="direct")
    seen = []
    patched = trials.Trial.record

    def record(self, plan, seconds):
        seen.append(plan)
        patched(self, plan, seconds)

    monkeypatch.setattr(trials.Trial, "record", record)
    per_call = []
    for _ in range(3 * (trials.CLOSE_RUNS + 2)):
        before = len(seen)
        got = fftconv.ndimage.correlate(x, h, nan="interpolate")
        per_call.append(len(seen) - before)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(np.nan_to_num(got), np.nan_to_num(want),
                                   atol=1e-12 * np.nanmax(np.abs(want)))
        if len(seen) == 1:  # the trial is known: make its last contender the fastest
            contested[seen[0].trial.plans[-1].executor] = 0.001
    trial = seen[0].trial
    assert set(per_call) <= {0, 1} and per_call[-1] == 0  # the first call may run a first-sight plan
    assert trial.kept is not None and trial.kept.executor == trial.plans[-1].executor
    assert len({p.executor for p in seen}) == len(trial.plans) >= 2


def test_a_settled_trial_hands_back_its_losers_transform_buffers(tmp_path):
    """The contenders a trial lets go keep no transform buffers cached: they had stayed for the
    process, up to FFTW's cache budget (1 GiB). In a process of its own: a trial records no
    run while the background thread works, which in the whole suite still held earlier tests'
    sizes (39-41 s of waiting; 3 s alone)."""
    from test_first_calls import fresh_process_output

    script = (
        "import json, numpy as np, scipy.signal, fftconv\n"
        "from fftconv.backends import fftw\n"
        "from fftconv.engine import run\n"
        "rng = np.random.default_rng(20261124)\n"
        "a, b = rng.standard_normal((300, 300)), rng.standard_normal((41, 41))\n"
        "contenders = {p.executor for p in fftconv.plan(a, b, 'same', threads=1).trial.plans}\n"
        "settled, release = [], run._release_losers\n"
        "run._release_losers = lambda kept: (settled.append(kept), release(kept))\n"
        "with fftconv.config.override(threads=1):\n"
        "    for i in range(600):\n"
        "        got = fftconv.convolve(a, b, 'same')\n"
        "        if settled:\n"
        "            break\n"
        "        if i % 50 == 49:\n"
        "            fftconv.background.wait(60)\n"
        "kept = settled[0] if settled else None\n"
        "plans = kept.trial.plans if kept else []\n"
        "losers = [p.fft_shape for p in plans\n"
        "          if p.executor != kept.executor and p.fft_shape not in (None, kept.fft_shape)]\n"
        "cached = [key[0][1] for key, _ in fftw._pairs.items()]\n"
        "error = float(np.abs(got - scipy.signal.convolve(a, b, 'same', 'direct')).max())\n"
        "print(json.dumps({'contenders': sorted(contenders), 'settled': bool(settled), 'losers': losers,\n"
        "                  'cached': cached, 'error': error}))\n"
    )
    seen = json.loads(fresh_process_output(script, tmp_path).splitlines()[-1])
    assert {"fft", "tiled"} <= set(seen["contenders"])
    assert seen["settled"], "the trial did not settle"
    losers, cached = {tuple(s) for s in seen["losers"]}, {tuple(s) for s in seen["cached"]}
    assert losers and not losers & cached, seen
    assert seen["error"] < 1e-10


def test_a_memory_limit_bounds_the_cached_transform_buffers():
    from fftconv.backends import fftw

    def cached(**limit) -> list:
        fftw.clear_cache()
        with fftconv.config.override(planner_effort="estimate", **limit):
            for n in (400, 440, 480, 520, 560):  # 2.5-5 MiB a pair
                fftw.transform_pair((), (n, n), True, np.dtype(np.float64))
        return [pair.nbytes for _, pair in fftw._pairs.items()]

    assert len(cached()) == 5  # no limit: 1 GiB of them stay
    held = cached(memory_limit="8MiB")
    assert len(held) == 1 or sum(held) <= 8 << 20, held
    fftw.clear_cache()


@pytest.mark.parametrize("name", ["fftconvolve", "convolve", "correlate"])
@pytest.mark.parametrize("dtype", [np.complex128, np.float64])
def test_calls_with_new_kernels_during_a_trial_use_their_own_kernel(rng, name, dtype):
    """A trial's plan serves every kernel of its shapes; its contenders' routes hold a kernel's
    spectrum, and had answered later kernels' calls with the first one's (complex 1233 * 1321
    'full': wrong from the fourth call on; scipy.signal's own `TestFFTConvolve` caught it)."""
    ours, theirs = getattr(fftconv, name), getattr(scipy.signal, name)
    for _ in range(10):
        a = rng.random(1233).astype(dtype)
        b = rng.random(1321).astype(dtype)
        if dtype == np.complex128:
            a, b = a + 1j * rng.random(1233), b + 1j * rng.random(1321)
        assert_close(ours(a, b, "full"), theirs(a, b, "full", method="direct") if name != "fftconvolve"
                     else np.convolve(a, b, "full"))


def test_a_run_during_which_a_contender_became_final_is_not_timed():
    """Its transforms' plans were swapped for the measured ones inside that run (47x70x40 *
    5x5x5 'valid' float32, 2 threads: the tiles timed at 5.2-6.3 ms so, 1.1-1.3 ms after)."""
    final = {"a": True, "b": False}
    trial = trials.Trial([_Plan("a"), _Plan("b")], lambda plan: final[plan.executor],
                         lambda plan, medians: plan.executor, advances=lambda plan: not final[plan.executor])
    for _ in range(trials.CHEAPEST_FIRST_CALLS):
        trial.record(trial.next(), 1.0)
    assert trial.next().executor == "b"
    trial.record(trial.plans[1], 1.0)  # untimed: the first of its streak
    assert trial.next().executor == "b"
    final["b"] = True  # ... became final during this run
    trial.record(trial.plans[1], 9.0)
    assert trial.times["b"] == []
    assert trial.next().executor == "b"
    trial.record(trial.plans[1], 1.0)  # begun final: timed
    assert trial.times["b"] == [1.0]


def _interim_trial(final: dict) -> trials.Trial:
    """a final from its first run, b not (its sizes unmeasured, only its runs advance them),
    explored once a's runs have spent 2.5 s (a has two timed runs by then, as a leader needs)."""
    return trials.Trial([_Plan("a"), _Plan("b")], lambda plan: final[plan.executor],
                        lambda plan, medians: plan.executor,
                        first_run=lambda plan: 2.5 if plan.executor == "b" else 0.0,
                        advances=lambda plan: not final[plan.executor])


def test_a_contender_whose_interim_runs_are_far_above_the_leader_leaves_before_it_is_final():
    """Interim transforms (pocketfft, ESTIMATE plans) are at most ~2.8x slower than measured
    ones: a contender whose interim runs each took over `INTERIM_RATIO` of the leader's median
    cannot win once final, and leaves rather than run untimed until its sizes are measured
    (85671 * 98 'same': 16 of a loop's first 23 calls at 3-4.6x the direct sum's time)."""
    trial = _interim_trial({"a": True, "b": False})
    ran = run_trial(trial, {"a": 1.0, "b": trials.INTERIM_RATIO * 1.1}, 40)
    assert trial.out == {"b"} and trial.kept == "a"
    assert ran.count("b") == 1 + trials.INTERIM_RUNS  # its first run (after a's), then its interim runs


def test_a_contender_whose_interim_runs_are_within_reach_waits_to_be_timed():
    """Within `INTERIM_RATIO` the measured transforms may still make it the faster: it stays."""
    final = {"a": True, "b": False}
    trial = _interim_trial(final)
    ran = run_trial(trial, {"a": 1.0, "b": trials.INTERIM_RATIO * 0.9}, 3 + 1 + trials.INTERIM_RUNS + 2)
    assert ran.count("b") > 1 + trials.INTERIM_RUNS and not trial.out and trial.kept is None
    final["b"] = True
    run_trial(trial, {"a": 1.0, "b": 0.5}, 200)  # measured, it is the faster
    assert trial.kept == "b"
