"""First calls and everyday calls: no MEASURE planning inside a call, no per-call reads of
files or machine facts, planning independent of the array sizes, and FFTW's measured plans
arriving from the background for sizes that repeat."""

import builtins
import dataclasses
import functools
import io
import json
import math
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import scipy.ndimage
import scipy.signal
from conftest import assert_close

import fftconv
from fftconv import background, config
from fftconv.backends import fftw, measuring, pocketfft, wisdom_store
from fftconv.planning import calibrate
from fftconv.timing import settle


@pytest.fixture
def flags_planned(monkeypatch):
    """The FFTW planner flags of every plan made from now on, with the planning thread."""
    made = []

    def recorder(real_make):
        def recording(self, flags):
            made.append((flags, threading.get_ident()))
            return real_make(self, flags)
        return recording

    for name in ("_make_forward", "_make_inverse"):  # each pair's two plans
        monkeypatch.setattr(fftw.TransformPair, name, recorder(getattr(fftw.TransformPair, name)))
    assert background.wait(120)
    fftw.forget_wisdom()
    yield made
    assert background.wait(120)


def measure_flags(made, thread=None):
    return [flags for flags, ident in made
            if "FFTW_MEASURE" in flags and "FFTW_WISDOM_ONLY" not in flags and thread in (None, ident)]


def test_estimate_effort_never_plans_with_measure(rng, flags_planned):
    x, h = rng.standard_normal((700, 500)), rng.standard_normal((21, 21))
    want = scipy.signal.fftconvolve(x, h)
    with config.override(planner_effort="estimate"):
        for method in ("fft", "tiled", "fft", "tiled", "fft"):  # sizes repeat: still ESTIMATE
            assert_close(fftconv.convolve(x, h, method=method, threads=1), want)
    assert background.wait(60)
    assert flags_planned and measure_flags(flags_planned) == []
    assert all(flags == ("FFTW_ESTIMATE",) for flags, _ in flags_planned)


def test_auto_never_measures_inside_a_call_and_upgrades_repeated_sizes(rng, flags_planned):
    x, h = rng.standard_normal((1100, 1000)), rng.standard_normal((31, 31))
    want = scipy.signal.fftconvolve(x, h)
    caller = threading.get_ident()
    assert_close(fftconv.convolve(x, h, method="fft", threads=1), want)  # first call: ESTIMATE
    assert measure_flags(flags_planned) == []
    plan = fftconv.plan(x, h, method="fft", threads=1)
    transforms = next(line for line in plan.explain().splitlines() if line.startswith("transforms"))
    assert "ESTIMATE plans for now; measured in the background once the size repeats" in transforms, \
        transforms
    assert_close(fftconv.convolve(x, h, method="fft", threads=1), want)  # a repeat: measured behind
    assert measure_flags(flags_planned, caller) == []  # never in the caller's thread
    assert background.wait(120)
    assert "MEASURE plans" in fftconv.plan(x, h, method="fft", threads=1).explain()
    assert_close(fftconv.convolve(x, h, method="fft", threads=1), want)
    pair = fftw.transform_pair((), plan.fft_shape, True, np.dtype(np.float64), 1)
    assert isinstance(pair, fftw.TransformPair) and pair.measured  # from the measuring process' wisdom
    assert measure_flags(flags_planned) == []  # nothing measured in this process at all


def test_a_size_measured_before_release_memory_may_be_measured_again():
    """`fftconv.release_memory()` forgets which sizes are measured; the background queue
    refused a size it had measured once, so such a size kept its ESTIMATE plans for good,
    never final (its calls stayed on a first route, its trial never ran)."""
    size = ((), (96, 80), True, np.dtype(np.float64), 1)
    key = ("fftw", size)
    background.submit(key, lambda: None)  # as its measuring was queued and run
    assert background.wait(30)
    fftw._now_final(size, fftw._measured)
    fftconv.release_memory()
    assert size not in fftw._measured
    assert background.submit(key, lambda: None)  # its next repeat may measure it again
    assert background.wait(30)


def test_small_first_transforms_run_on_pocketfft(rng, flags_planned):
    x, h = rng.standard_normal(300), rng.standard_normal(40)
    assert "pocketfft" in fftconv.plan(x, h, method="fft").explain()
    out = fftconv.convolve(x, h, method="fft")
    assert_close(out, np.convolve(x, h))
    planned = [flags for flags, _ in flags_planned if "FFTW_WISDOM_ONLY" not in flags]
    assert planned == []  # wisdom looked up (it knows nothing), no plan made: pocketfft


@pytest.mark.parametrize("dtype, on_pocketfft", [("float32", True), ("float64", False)])
def test_single_precision_nd_first_transforms_run_on_pocketfft_up_to_2m_points(rng, flags_planned, dtype,
                                                                                on_pocketfft):
    """Scaled pocketfft runs single-precision transforms over several axes as fast as FFTW's
    ESTIMATE plans up to ~2 M points; loading pyFFTW and planning made `fftconvolve` 96³ * 15³
    float32's first call 1.05x scipy's. Double precision is 1.5-1.7x faster on FFTW."""
    x, h = rng.standard_normal((90, 90, 90)).astype(dtype), rng.standard_normal((11, 11, 11)).astype(dtype)
    out = fftconv.fftconvolve(x, h, "same")  # 100³ points, 1 M
    assert_close(out, scipy.signal.fftconvolve(x, h, "same"), ulps=4096 if dtype == "float32" else 64)
    planned = [flags for flags, _ in flags_planned if "FFTW_WISDOM_ONLY" not in flags]
    assert (planned == []) == on_pocketfft


@pytest.mark.parametrize("shapes", [((700,), (90,)), ((60, 50), (5, 5))])
def test_a_small_first_call_reads_no_wisdom_and_its_repeat_reads_its_sizes_only(rng, tmp_path, monkeypatch,
                                                                                  shapes):
    """A process' first call must not import the wisdom of every size ever measured (one
    file of it took ~30 ms after a few hundred sizes); a few small transforms wait for their
    size to repeat (`SMALL_REPEATS_BEFORE_LOADING` calls, while pyFFTW is not loaded) before
    even their own size's file is read. (A lane's route that made the kernel spectrum at the
    first call counted the size twice in it: its wisdom was read.)"""
    folder = tmp_path / "wisdom"
    x, h = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    size = ((), fftconv.plan(x, h, method="fft").fft_shape, True, np.dtype(np.float64), 1)
    fftw.forget_wisdom()
    fftw.TransformPair(*size, "measure", None)
    wisdom_store.write(folder, fftw.encode_size(size), fftw.fftw_version(), fftw.export_wisdom_blobs())
    for n in range(20):  # other sizes' files: never read by these calls
        other = ((), (64 + 2 * n,), True, np.dtype(np.float64), 1)
        wisdom_store.write(folder, fftw.encode_size(other), fftw.fftw_version(), ["", "", ""])
    fftw.forget_wisdom()
    read = []
    real_read = wisdom_store.read
    monkeypatch.setattr(wisdom_store, "read",
                        lambda d, s, v: read.append(fftw.decode_size(s)) or real_read(d, s, v))
    # as in a new process, where pyFFTW is not loaded yet (it finds the loaded core again)
    monkeypatch.setattr(fftw, "_pyfftw", functools.cache(fftw._pyfftw.__wrapped__))
    with config.override(wisdom=str(folder), method="fft", threads=1):
        want = scipy.signal.convolve(x, h, method="direct")
        assert_close(fftconv.convolve(x, h), want)
        for _ in range(fftw.SMALL_REPEATS_BEFORE_LOADING - 2):
            assert_close(fftconv.convolve(x, h), want)
        assert read == [] and fftw._pyfftw.cache_info().currsize == 0  # pyFFTW not loaded for them
        assert_close(fftconv.convolve(x, h), want)
        assert read == [size]
        assert "MEASURE plans" in fftconv.plan(x, h).explain()  # from the size's file, not measured again
    assert not background.pending(("fftw", size))


@pytest.fixture
def own_measuring_process(monkeypatch):
    """A measuring-process client of this test's own (the suite's process is left alone)."""
    state = {"process": None, "unavailable": None, "exiting": False, "deaths": []}
    monkeypatch.setattr(measuring, "_state", state)
    yield state
    if state["process"] is not None:
        measuring._close(state["process"])


PLAN_16 = {"op": "plan", "size": [[], [16], True, "<f8", 1]}


def test_a_measuring_process_that_dies_is_started_again_a_few_times(own_measuring_process):
    """Killed (the kernel's OOM killer picks the lowest-priority process first) it must not
    leave the rest of the session without MEASURE plans; killed again and again, it is given
    up on, and explain() says why."""
    for death in range(1, measuring.RESTARTS + 2):
        assert "wisdom" in measuring.ask(PLAN_16)  # (re)started
        own_measuring_process["process"].kill()
        assert measuring.ask(PLAN_16) is None  # found dead
        assert own_measuring_process["deaths"] == [-9] * death
        assert measuring.available() == (death <= measuring.RESTARTS)
    assert measuring.ask(PLAN_16) is None and own_measuring_process["process"] is None  # not started again
    with config.override(planner_effort="auto"):
        described = fftw.FFTW.describe((1134, 1050), True, np.dtype(np.float64))
    assert f"not available (it died {measuring.RESTARTS + 1} times (exit codes [-9, " in described


def test_a_request_that_fails_in_the_measuring_process_leaves_it_running(own_measuring_process):
    assert measuring.ask({"op": "plan", "size": [[], [0], True, "<f8", 1]}) is None  # FFTW refuses
    process = own_measuring_process["process"]
    assert measuring.ask({"op": "no such request"}) is None
    assert "wisdom" in measuring.ask(PLAN_16)
    assert own_measuring_process["process"] is process and own_measuring_process["deaths"] == []


def test_a_size_the_measuring_process_cannot_measure_keeps_estimate_plans(rng, flags_planned, monkeypatch):
    asked = []
    monkeypatch.setattr(measuring, "ask", lambda request: asked.append(request) and None)
    x, h = rng.standard_normal((1000, 900)), rng.standard_normal((31, 31))  # a size no wisdom knows
    want = scipy.signal.fftconvolve(x, h)
    for _ in range(4):
        assert_close(fftconv.convolve(x, h, method="fft", threads=1), want)
        assert background.wait(60)
    assert len(asked) == 1  # asked once, not at every call
    plan = fftconv.plan(x, h, method="fft", threads=1)
    assert "ESTIMATE plans (the measuring process gave no MEASURE plan for this size)" in plan.explain()
    assert fftw.FFTW.final(plan.fft_shape, True, np.dtype(np.float64))  # the lane may keep it
    assert measure_flags(flags_planned) == []


@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64", "complex128", "longdouble"])
def test_the_pocketfft_backend_computes_what_scipy_does(rng, dtype):
    x = rng.standard_normal((40, 30)).astype(dtype)
    h = rng.standard_normal((7, 5)).astype(dtype)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(x.shape).astype(dtype)
    with config.override(backend="pocketfft"):
        for method in ("fft", "tiled"):
            plan = fftconv.plan(x, h, method=method)
            assert plan.backend == "pocketfft" and "pocketfft" in plan.explain()
            got = fftconv.convolve(x, h, method=method)
            want = scipy.signal.convolve(x.astype(np.result_type(x, np.float64)), h, method="direct")
            assert got.dtype == np.result_type(x, h)
            assert_close(got, want.astype(got.dtype), ulps=2000)


def test_planning_time_does_not_grow_with_the_kernel():
    a, b = np.ones(10), np.ones(10**7)
    for first, second in ((a, b), (b, a)):
        fftconv.plan(first, second)  # imports and caches aside
        started = time.perf_counter()
        fftconv.plan(first, second, mode="same")
        assert time.perf_counter() - started < 0.010


@pytest.fixture
def calibrated_machine(tmp_path, monkeypatch):
    """Calibration on, from a cache that already holds this machine's coefficients."""
    monkeypatch.setattr(calibrate, "cache_path", lambda key: tmp_path / "calibration" / f"{key['id']}.json")
    key = calibrate.machine_key(config.get().backend)
    costs = dataclasses.replace(calibrate.DEFAULT_COSTS, compiled_mac=1e-11)
    calibrate._save(calibrate.cache_path(key), key, costs, 0.0, gains_measured=True)
    calibrate.forget()
    with config.override(calibrate="auto"):
        yield
    calibrate.forget()


def test_a_warm_call_reads_no_file(rng, monkeypatch, calibrated_machine):
    x, h = rng.standard_normal((300, 300)), rng.standard_normal((17, 17))
    # the first calls (a signature's quick first plan, its full plan, its trial's contenders,
    # their transform sizes repeating) may read the calibration and the wisdom
    for call in (lambda: fftconv.convolve(x, h, "same"), lambda: fftconv.ndimage.convolve(x, h),
                 lambda: fftconv.convolve(x[:200], h, "full", method="fft")):
        assert settle(call, most=200) < 200
    assert background.wait(120)
    opened = []
    caller = threading.get_ident()

    def counting(real):
        def opener(*args, **kwargs):
            if threading.get_ident() == caller:
                opened.append(args[:1])
            return real(*args, **kwargs)
        return opener

    for module, name in ((builtins, "open"), (io, "open"), (os, "open")):
        monkeypatch.setattr(module, name, counting(getattr(module, name)))
    for _ in range(3):
        fftconv.convolve(x, h, "same")
        fftconv.ndimage.convolve(x, h)
        fftconv.convolve(x[:200], h, "full", method="fft")
        fftconv.plan(x, h, "valid").explain()
    monkeypatch.undo()
    assert opened == []


def test_explain_names_the_effort_of_explicit_settings(rng):
    for effort in ("estimate", "measure", "patient"):
        with config.override(planner_effort=effort):
            assert f"{effort.upper()} plans" in fftconv.plan((1000, 1000), (31, 31), method="fft").explain()


def test_settings_reach_the_threads_working_for_a_call(rng, monkeypatch):
    seen = []
    real = fftw.transform_pair

    def spy(*args, **kwargs):
        seen.append(config.get().planner_effort)
        return real(*args, **kwargs)

    monkeypatch.setattr(fftw, "transform_pair", spy)
    x, h = rng.standard_normal((600, 600)), rng.standard_normal((9, 9))
    with config.override(planner_effort="estimate"):
        fftconv.convolve(x, h, "same", "tiled", threads=2)
    assert len(seen) >= 2 and set(seen) == {"estimate"}


def test_the_pocketfft_pair_protocol():
    pair = pocketfft.transform_pair((2,), (6,), True, np.dtype(np.float32))
    pair.begin()
    pair.data[...] = np.arange(12, dtype=np.float32).reshape(2, 6)
    want = np.fft.rfft(pair.data.astype(np.float64))
    pair.forward()
    np.testing.assert_allclose(pair.spectrum, want, rtol=1e-6, atol=1e-5)
    pair.inverse()  # unnormalised: 6x the input
    np.testing.assert_allclose(pair.data, 6 * np.arange(12).reshape(2, 6), rtol=1e-6)


@pytest.mark.parametrize("fft_shape", [(16384,), (96, 80)])
def test_single_precision_pocketfft_pairs_transform_scaled_in_any_rank(rng, monkeypatch, request, fft_shape):
    """NumPy's unscaled single-precision transforms are 2-4x slower from ~4,096 points, in 1-D
    too: a 70197 * 1390 'full' float32 loop took 6.1 ms a call on them (scipy 2.3)."""
    monkeypatch.setattr(pocketfft, "library", lambda: "numpy.fft")  # as in a process without scipy.fft
    pocketfft.POCKETFFT.clear_cache()
    request.addfinalizer(pocketfft.POCKETFFT.clear_cache)  # no numpy.fft pair outlives the test
    pair = pocketfft.transform_pair((), fft_shape, True, np.dtype(np.float32))
    assert pair.library == "numpy.fft" and pair.rescale == math.prod(fft_shape)
    x = rng.standard_normal(fft_shape).astype(np.float32)
    pair.data[...] = x
    pair.forward()
    np.testing.assert_allclose(pair.spectrum, np.fft.rfftn(x.astype(np.float64)), rtol=1e-4, atol=2e-3)
    pair.inverse()
    np.testing.assert_allclose(pair.data, math.prod(fft_shape) * x, rtol=1e-4, atol=0.5)


def _counting_rank_tests(monkeypatch) -> list:
    from fftconv.executors import separable

    tests = []
    real = separable.rank1_factors

    def counted(*args, **kwargs):
        tests.append(1)
        return real(*args, **kwargs)
    monkeypatch.setattr(separable, "rank1_factors", counted)
    return tests


def test_a_warm_call_does_not_test_a_31x31_kernels_rank_again(rng, monkeypatch):
    a = rng.standard_normal((200, 100)).astype(np.float32)
    b = rng.standard_normal((31, 31)).astype(np.float32)  # 3,844 bytes, not rank 1
    for _ in range(2):  # the first call of a signature is planned from a short list, the second in full
        fftconv.convolve(a, b, "same", threads=1)
    fftconv.convolve(a, b, "same", "fft", threads=1)
    tests = _counting_rank_tests(monkeypatch)
    for _ in range(3):
        fftconv.convolve(a, b, "same", threads=1)
        fftconv.convolve(a, b, "same", "fft", threads=1)
    assert tests == []


def test_a_larger_kernel_is_tested_again_only_when_its_values_change(rng, monkeypatch):
    """A kernel over `run.MEMO_KERNEL_BYTES` is not remembered by value, and calls the lane
    does not route (the transforms') were planned again, testing it for rank 1 each time (~100
    us of a 71x71 Gaussian's 1.2 ms calls at 256²). The signature's last kernel is kept and
    compared: the same one is not tested again, one changed in place is."""
    from fftconv.engine import run
    from fftconv.executors import separable

    a = rng.standard_normal((160, 150))
    g = np.exp(-0.5 * ((np.arange(45) - 22) / 5.0) ** 2)
    b = np.outer(g, g)  # 16,200 bytes, rank 1
    assert run.MEMO_KERNEL_BYTES < b.nbytes <= run.KEPT_KERNEL_BYTES
    assert a.size >= separable.SEPARABLE_MIN_POINTS  # the separable executors are candidates
    for _ in range(3):
        fftconv.convolve(a, b, "same", "fft", threads=1)
    assert "separable" in fftconv.plan(a, b, "same", threads=1).estimates
    tests = _counting_rank_tests(monkeypatch)
    for _ in range(3):
        fftconv.convolve(a, b, "same", "fft", threads=1)
    assert tests == []
    b[0, 0] += 1.0  # in place: no longer rank 1
    assert "separable" not in fftconv.plan(a, b, "same", threads=1).estimates
    assert tests  # tested again
    want = scipy.signal.convolve(a, b, "same", method="direct")
    for method in ("auto",) * 4 + ("fft",):
        assert_close(fftconv.convolve(a, b, "same", method, threads=1), want)
    fftconv.release_memory()
    assert not run._accepted


@pytest.fixture
def searched(monkeypatch):
    """Nothing planned or routed yet; the list records each tile search and rank test."""
    from fftconv.engine import lane, run
    from fftconv.executors import separable, tiled

    run._memo.clear()
    run._sighted.clear()
    lane.clear()
    searched = []
    real_bound, real_accepts = tiled.OverlapSaveTiles.lower_bound, separable.RankOneExecutor.accepts
    monkeypatch.setattr(tiled.OverlapSaveTiles, "lower_bound",
                        lambda *args: searched.append("tiled") or real_bound(*args))
    monkeypatch.setattr(separable.RankOneExecutor, "accepts",
                        lambda *args: searched.append("separable") or real_accepts(*args))
    return searched


def _calls_until_planned_in_full(call, searched: list, most: int = 100) -> int:
    """Calls of ``call`` after the first until one searches tiles (is planned in full)."""
    for calls in range(1, most):
        call()
        if "tiled" in searched:
            return calls
    raise AssertionError(f"not planned in full in {most} calls")


def _budget(plan) -> int:
    """The calls a first plan's route serves after the first call (`run.route_calls`)."""
    from fftconv.engine import run

    return math.ceil(run.FULL_PLAN_SECONDS / plan.candidates[plan.executor].seconds) - 1


def test_a_new_small_signatures_first_call_prices_only_the_short_list(rng, searched, monkeypatch):
    """Its next calls take its route until they have cost what planning in full does (a ski
    rental: planned in full at its second call, 2409 * 603 'valid' float32 took 0.76 ms where
    its calls take 0.1)."""
    from fftconv.engine import lane, run

    a = rng.standard_normal((173, 211)).astype(np.float32)
    b = rng.standard_normal((5, 5)).astype(np.float32)
    want = scipy.signal.convolve(a, b, "same", method="direct")
    assert_close(fftconv.convolve(a, b, "same", threads=1), want)
    assert searched == []  # neither the tile search nor the rank test ran
    first = run._sighted[next(iter(run._sighted))]
    assert first.first_sight and _budget(first) >= 1
    key = lane.signal_key(a, b, "same", "auto", None, 1, False, fftconv.signal.SIGNAL, None)
    assert lane.get(key) is not None
    with monkeypatch.context() as patched:
        patched.setattr(run, "plan", lambda *args, **kwargs: pytest.fail("planned again"))
        for _ in range(_budget(first)):
            assert_close(fftconv.convolve(a, b, "same", threads=1), want)
    assert searched == [] and lane.get(key) is None  # the route served its calls and left
    assert_close(fftconv.convolve(a, b, "same", threads=1), want)
    assert "tiled" in searched and "separable" in searched  # the next call is planned in full


def test_a_first_plan_estimated_over_a_full_plans_cost_is_not_kept(rng, searched, monkeypatch):
    from fftconv.engine import lane, run, tiny

    monkeypatch.setattr(tiny, "first_1d_route", lambda *args: None)  # NumPy would sum its first calls
    a, b = rng.standard_normal(20000), rng.standard_normal(301)  # a direct sum at first sight
    want = scipy.signal.convolve(a, b, method="direct")
    assert_close(fftconv.convolve(a, b, threads=1), want, ulps=2000)
    first = run._sighted[next(iter(run._sighted))]
    monkeypatch.setattr(run, "FULL_PLAN_SECONDS", first.candidates[first.executor].seconds)
    run._sighted.clear()
    lane.clear()
    assert_close(fftconv.convolve(a, b, threads=1), want, ulps=2000)
    key = lane.signal_key(a, b, "full", "auto", None, 1, False, fftconv.signal.SIGNAL, None)
    assert lane.get(key) is None and searched == []
    assert _calls_until_planned_in_full(lambda: fftconv.convolve(a, b, threads=1), searched) == 1


def test_first_sight_plans_say_so_and_large_problems_are_planned_in_full(rng):
    from fftconv.core.problem import Problem
    from fftconv.engine import run

    run._memo.clear()
    run._sighted.clear()
    small = Problem.build(rng.standard_normal((64, 64)), rng.standard_normal((3, 3)), "same")
    quick = run.plan(small, threads=1, for_call=True)
    assert quick.first_sight
    assert set(quick.candidates) <= {*run.FIRST_SIGHT_EXECUTORS, *run.FIRST_SIGHT_WITHOUT_COMPILED}
    assert "first call" in quick.explain()
    assert not run.plan(small, threads=1, for_call=True).first_sight  # its second call: the full plan
    assert not run.plan(Problem.build(rng.standard_normal((96, 96)), rng.standard_normal((3, 3)), "same"),
                        threads=1).first_sight  # plans not made for a call: in full
    large = Problem.build(np.zeros((2048, 2048)), rng.standard_normal((41, 41)), "same")
    full = run.plan(large, threads=1, for_call=True)
    assert not full.first_sight and "tiled" in full.candidates


def test_first_sight_prices_the_other_direct_sums_only_without_the_compiled_loop(rng, monkeypatch):
    from fftconv.core.problem import Problem
    from fftconv.engine import run
    from fftconv.executors import registry

    problem = Problem.build(rng.standard_normal((48, 50)), rng.standard_normal((5, 5)), "same")
    run._memo.clear()
    run._sighted.clear()
    quick = run.plan(problem, threads=1, for_call=True)
    assert quick.first_sight and "direct.compiled" in quick.candidates
    assert not set(quick.candidates) & set(run.FIRST_SIGHT_WITHOUT_COMPILED)
    compiled = type(registry.get("direct.compiled"))
    monkeypatch.setattr(compiled, "applies", lambda self, spec, forced=False: False)
    run._memo.clear()
    run._sighted.clear()
    without = run.plan(problem, threads=1, for_call=True)
    assert without.first_sight and "direct.compiled" not in without.candidates
    assert {"direct.rows", "direct.shift_add"} <= set(without.candidates)
    assert_close(fftconv.convolve(problem.x, problem.h, "same", threads=1),
                 scipy.signal.convolve(problem.x, problem.h, "same", method="direct"))


@pytest.mark.parametrize("final", [False, True])
def test_first_sight_prices_transforms_of_new_sizes_at_their_first_calls_cost(rng, monkeypatch, final):
    from fftconv.core.problem import Problem
    from fftconv.engine import run

    monkeypatch.setattr(run, "_transforms_final", lambda plan: final)
    run._memo.clear()
    run._sighted.clear()
    problem = Problem.build(rng.standard_normal(20000).astype(np.float32),
                            rng.standard_normal(701).astype(np.float32), "same")
    quick = run.plan(problem, threads=1, for_call=True)
    assert quick.first_sight
    costs = run.calibrate.costs_for(config.get())[0]
    fft_plan = run.make_plan(problem.spec(1, config.get().backend), "auto", ("fft",), costs)
    fft = fft_plan.candidates["fft"].seconds
    summed = run.plan(problem, "direct", threads=1)
    direct = summed.candidates[summed.executor].seconds
    assert fft < direct < run.first_fft_seconds(fft, fft_plan.fft_shape, costs)  # the case this test is about
    # measured plans: the FFT's estimate holds; a size's first calls: the direct sum is the cheaper
    assert quick.executor == ("fft" if final else summed.executor)


def test_a_first_sight_fft_serves_the_next_calls_until_its_transforms_are_final(rng, monkeypatch):
    """A signature's second call was planned in full, priced for FFTW's measured plans while its
    transforms still ran on pocketfft: a fresh process' second `fftconvolve` of 256x256 * 15x15
    float32 ran tiles in 3.9 ms (scipy 2.2; the first call's whole FFT takes ~2)."""
    from fftconv.core.problem import Problem
    from fftconv.engine import run

    final = {"now": False}
    monkeypatch.setattr(run, "_transforms_final", lambda plan: final["now"])
    run._memo.clear()
    run._sighted.clear()
    a = rng.standard_normal((256, 256)).astype(np.float32)
    b = rng.standard_normal((15, 15)).astype(np.float32)
    problem = Problem.build(a, b, "full", conventions=fftconv.signal.SIGNAL_FFT)
    first = run.plan(problem, threads=1, methods=fftconv.signal.FFT_METHODS, for_call=True)
    assert first.first_sight and first.executor == "fft"
    again = Problem.build(a, b, "full", conventions=fftconv.signal.SIGNAL_FFT)  # the next call's problem
    assert run.plan(again, threads=1, methods=fftconv.signal.FFT_METHODS, for_call=True) is first
    final["now"] = True  # measured: the next call is planned in full
    assert not run.plan(again, threads=1, methods=fftconv.signal.FFT_METHODS, for_call=True).first_sight
    # a key whose geometry's id now belongs to another problem never hands over another spec's plan
    final["now"] = False
    run._memo.clear()
    run._sighted.clear()
    other = Problem.build(a[:200], b, "full", conventions=fftconv.signal.SIGNAL_FFT)
    stale = run.plan(other, threads=1, methods=fftconv.signal.FFT_METHODS, for_call=True)
    key = run._key(problem, 1, "auto", fftconv.signal.FFT_METHODS, None, False, True, True, config.get())
    run._sighted[key] = stale
    assert run.plan(problem, threads=1, methods=fftconv.signal.FFT_METHODS, for_call=True).spec == first.spec
    want = scipy.signal.fftconvolve(a, b)
    for _ in range(3):
        assert_close(fftconv.fftconvolve(a, b, threads=1), want, ulps=2000)


def test_a_first_sight_fft_takes_the_lane_until_some_transforms_become_final(rng, monkeypatch):
    """While FFTW measured 7000 points in the background (~2 s), a fresh process' 5000 * 2000
    'full' float64 calls ran the whole pipeline each time: 400 us, scipy 280 us."""
    from fftconv.backends import base
    from fftconv.engine import lane, run, tiny

    monkeypatch.setattr(tiny, "first_1d_route", lambda *args: None)  # NumPy's FFTs would take them
    final = {"now": False}
    monkeypatch.setattr(run, "_transforms_final", lambda plan: final["now"])
    run._memo.clear()
    run._sighted.clear()
    lane.clear()
    a, b = rng.standard_normal(5000), rng.standard_normal(2000)  # a 16 KB kernel
    want = scipy.signal.convolve(a, b, method="direct")
    assert_close(fftconv.convolve(a, b, threads=1), want, ulps=2000)
    key = lane.signal_key(a, b, "full", "auto", None, 1, False, fftconv.signal.SIGNAL, None)
    assert lane.get(key) is not None  # the first plan's route serves the next calls
    assert run.plan(run.Problem.build(a, b, "full"), threads=1, for_call=True).first_sight
    for _ in range(3):
        assert_close(fftconv.convolve(a, b, threads=1), want, ulps=2000)
    assert lane.get(key) is not None
    final["now"] = True
    base.plans_became_final()  # as the backend says when a measured plan is made
    assert_close(fftconv.convolve(a, b, threads=1), want, ulps=2000)  # the route's last call
    assert lane.get(key) is None
    assert_close(fftconv.convolve(a, b, threads=1), want, ulps=2000)  # planned in full
    assert not run.plan(run.Problem.build(a, b, "full"), threads=1, for_call=True).first_sight
    assert lane.get(key) is not None


def test_a_new_ndimage_signature_is_planned_from_the_short_list_then_in_full(rng, searched):
    import scipy.ndimage

    import fftconv.ndimage
    from fftconv.engine import lane, run

    x = rng.standard_normal((211, 173)).astype(np.float32)  # 327,000 multiply-adds: past scipy's first calls
    w = rng.standard_normal((3, 3)).astype(np.float32)
    key = lane.ndimage_key(x, w, None, "reflect", 0.0, 0, None, "auto", 1, False, False)
    want = scipy.ndimage.correlate(x, w)
    assert_close(fftconv.ndimage.correlate(x, w, threads=1), want)
    assert searched == []
    first = run._sighted[next(iter(run._sighted))]
    def call():
        assert_close(fftconv.ndimage.correlate(x, w, threads=1), want)

    calls = _calls_until_planned_in_full(call, searched)
    assert calls == _budget(first) + 1  # its route served the calls a full plan costs, then it was planned
    assert lane.get(key) is not None  # the full plan's route, remembered


def test_a_layers_blas_rates_are_measured_once_per_machine_and_never_inside_a_call(tmp_path, monkeypatch):
    """`fftconv.nn` priced its paths with BLAS rates measured inside a machine's first layer
    call (74 of its 82 ms). A machine without them prices with the built-in ones while the
    background measures them, once: they are kept beside the calibration for the next
    processes, and the layer plans priced before are made again."""
    from fftconv.nn import planner, rates

    monkeypatch.setattr(calibrate, "cache_path", lambda key: tmp_path / "calibration" / f"{key['id']}.json")
    monkeypatch.setattr(measuring, "ask", lambda request: None)  # measured in the background thread
    measured = []
    real_measure = rates.measure
    inside = []  # measurements made by the thread that called

    def recording(p, t, clock=time.perf_counter):
        measured.append((p, t))
        inside.append(threading.current_thread() is threading.main_thread())
        return real_measure(p, t)

    monkeypatch.setattr(rates, "measure", recording)
    background.wait(60.0)
    rates.forget()
    try:
        with config.override(calibrate="auto"):
            first = fftconv.nn.plan_conv((2, 3, 32, 32), (4, 3, 3, 3), threads=1, dtype="float32")
            assert not first.rates_measured and "built-in, while" in first.explain()
            assert background.wait(60.0)
            assert measured == [("single", 1)]
            got = rates.blas_rates("single", 1)
            assert got.measured and got != rates.built_in("single", 1)
            again = fftconv.nn.plan_conv((2, 3, 32, 32), (4, 3, 3, 3), threads=1, dtype="float32")
            assert again.rates_measured and "measured on this machine" in again.explain()
            rates.forget()  # as in the next process: read from the cache, not measured
            assert rates.blas_rates("single", 1) == got
            rates.blas_rates("double", 1)
            assert background.wait(60.0)
            rates.forget()
            assert rates.blas_rates("double", 1).measured
        assert measured == [("single", 1), ("double", 1)]
        key = calibrate.machine_key(config.get().backend)
        rates.cache_path(key).write_text("not json")  # unusable: measured again, not an error
        rates.forget()
        with config.override(calibrate="auto"):
            assert not rates.blas_rates("single", 1).measured
            assert background.wait(60.0)
            assert rates.blas_rates("single", 1).measured
        assert measured[2:] == [("single", 1)]
        with config.override(calibrate="off"):  # the built-in ones: nothing read, measured or kept
            rates.forget()
            assert rates.blas_rates("double", 1) == rates.built_in("double", 1)
            assert background.wait(60.0)
        assert measured[3:] == [] and not any(inside)  # never inside a call
        assert json.loads(rates.cache_path(key).read_text())["rates"].keys() == {"single x1"}
    finally:
        rates.forget()
        planner._plan.cache_clear()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_a_forked_child_asks_for_the_blas_rates_again():
    """The parent's background job does not survive a fork: a child whose parent had asked
    for the rates (and priced with the built-in ones meanwhile) asks again."""
    from fftconv.nn import rates

    asked = ("made-up machine", "single", 1)
    rates._asked.add(asked)
    try:
        pid = os.fork()
        if pid == 0:  # the child: exits 0 only if it would ask again
            os._exit(0 if asked not in rates._asked else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert asked in rates._asked  # the parent's own job stays asked for
    finally:
        rates._asked.discard(asked)


def test_the_measuring_process_measures_blas_rates():
    """The background's request for a layer's BLAS rates, as the measuring process answers it."""
    from fftconv import measure_process

    out = io.StringIO()
    measure_process.serve(['{"op": "blas_rates", "precision": "double", "threads": 1}'], out)
    answer = json.loads(out.getvalue())
    assert set(answer["rates"]) == {"mac", "complex_mac", "item"}
    assert 0 < answer["rates"]["mac"] < 1e-6 and answer["rates"]["mac"] <= answer["rates"]["complex_mac"]


def test_the_index_of_sizes_by_shape_stays_bounded_and_keeps_what_is_final(monkeypatch, request):
    """Every counted size is indexed by shape (finality is asked several times a call); a
    process convolving ever new shapes must not grow it without bound, and a size measured
    before the bound was reached must stay final."""
    monkeypatch.setattr(fftw, "COUNTED_SIZES", 50)
    fftw.clear_cache()
    request.addfinalizer(fftw.clear_cache)  # the made-up measured size does not outlive the test
    measured = ((), (4096,), True, np.dtype(np.float64), 1)
    fftw._measured.add(fftw._index(measured))
    for n in range(1000, 1200):
        fftw._count_call(((), (n,), True, np.dtype(np.float64), 1))
    assert sum(len(sizes) for sizes in fftw._sizes_of_shape.values()) <= 51
    assert fftw._final_state(((4096,), True, np.dtype(np.float64))) == "measured"


def test_a_size_that_becomes_final_moves_the_finality_generation_once(monkeypatch, request):
    """The lane keeps a first plan's route while its sizes are not final (`lane.Lease`): every
    way a size becomes final must say so, once."""
    from fftconv.backends import base

    assert background.wait(120)  # no earlier test's measuring ends during this one
    fftw.clear_cache()
    request.addfinalizer(fftw.clear_cache)
    size = ((), (4099,), True, np.dtype(np.float64), 1)
    monkeypatch.setattr(measuring, "ask", lambda request: None)  # the measuring process gives nothing
    before = base.finality_generation()
    fftw._measure_in_background(size, None)
    assert fftw.plan_state((4099,), True, np.float64) == "unmeasurable"
    assert base.finality_generation() == before + 1
    fftw._measure_in_background(size, None)
    assert base.finality_generation() == before + 1
    with config.override(planner_effort="measure"):  # a measured plan made here
        fftw.transform_pair((), (4101,), True, np.dtype(np.float64))
    assert base.finality_generation() == before + 2


def fresh_process_output(script: str, tmp_path) -> str:
    """The stripped stdout of ``python -c script`` in a new process with user directories of
    its own under ``tmp_path`` and calibration off."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "FFTCONV_CALIBRATE": "off"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    return done.stdout.strip()


def test_an_ndimage_call_of_a_plain_array_does_not_import_numpy_ma(tmp_path):
    """NumPy 2 imports ``numpy.ma`` lazily: asking whether the image is a masked array had
    imported it inside a fresh process' first ndimage call (8-10 ms of 11.7: 512² * 5x5
    float32, scipy's first call 7.1 ms)."""
    script = ("import sys, numpy as np, fftconv.ndimage\n"
              "fftconv.ndimage.convolve(np.ones((512, 512), np.float32), np.ones((5, 5), np.float32))\n"
              "print('numpy.ma' in sys.modules)\n")
    assert fresh_process_output(script, tmp_path) == "False"


def test_queueing_background_work_does_not_wait_for_the_worker_to_start():
    """``threading.Thread.start`` waits until the new thread has run, which cost the call that
    queued the first job (a size's second call) 0.2-3 ms on a busy machine: the worker starts
    without it, and still runs the job, under its own name."""
    script = (
        "import threading\n"
        "started = []\n"
        "real = threading.Thread.start\n"
        "threading.Thread.start = lambda self: (started.append(self.name), real(self))[1]\n"
        "from fftconv import background\n"
        "names = []\n"
        "background.submit(('test', 1), lambda: names.append(threading.current_thread().name))\n"
        "assert background.wait(60), 'the job did not run'\n"
        "assert names == ['fftconv-background'], names\n"
        "assert not started, started\n"
        "print('ok')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_a_tiny_first_call_does_not_wait_for_scipys_modules(tmp_path):
    """The tiny routes call scipy's private loops: a fresh process' first tiny call had imported
    scipy.signal (0.73 s after `import fftconv`, AMD EPYC: 4x4 * 2x2 took 0.74 s, scipy's first
    call 0.12 ms) or, on the pipeline's quick plan, scipy.ndimage (0.18 s); later, the second
    such call queued the import in the background, where beside a loop of tiny calls it had not
    finished after 4 s. Now nothing is imported: a call fftconv's compiled loop sums is summed
    there, with the same answers; one it does not (here a 4-D one, summed by shifted slices,
    and a `convolve2d` with a symmetric boundary, planned) probes scipy's loop, loaded without
    its package, from its second such call, in the call, and the loop serves from there."""
    script = (
        "import sys, json, numpy as np, fftconv, fftconv.ndimage\n"
        "from fftconv import background\n"
        "from fftconv.engine import tiny, shifted_sums, ndimage_nd_loop, signal_loops\n"
        "jobs = {}\n"  # as background.submit keeps them: once a key
        "background.submit = lambda key, job, priority=1: jobs.setdefault(key, job) is job\n"
        "a, b = np.arange(16.0).reshape(4, 4), np.array([[1.0, 2.0], [3.0, 5.0]])\n"
        "c, k = np.arange(64.0).reshape(4, 4, 4), np.ones((2, 2, 2))\n"
        "d, m = np.arange(16.0).reshape(2, 2, 2, 2), np.ones((1, 2, 1, 2))\n"
        "calls = [lambda: fftconv.convolve(a, b), lambda: fftconv.convolve2d(a, b),\n"
        "         lambda: fftconv.correlate(c, k), lambda: fftconv.ndimage.correlate(a, b)]\n"
        "got = [f().tolist() for f in calls + calls]\n"
        "probed = lambda: [signal_loops.probed('2d'), signal_loops.probed('nd'), ndimage_nd_loop.probed()]\n"
        "after_loop = probed()\n"
        "got.append(fftconv.correlate(d, m).tolist())\n"
        "after_one = probed()\n"
        "got += [fftconv.correlate(d, m).tolist(), fftconv.convolve2d(a, b, boundary='symm').tolist(),\n"
        "        fftconv.ndimage.correlate(d, m).tolist(), fftconv.ndimage.correlate(d, m).tolist()]\n"
        "after_all = probed()\n"
        "got.append(fftconv.convolve2d(a, b, boundary='symm').tolist())\n"
        "again = [f().tolist() for f in calls]\n"
        "print(json.dumps({'got': got, 'again': again, 'after_loop': after_loop, 'after_one': after_one,\n"
        "                  'after_all': after_all, 'final': probed(),\n"
        "                  'imported': ['scipy.signal' in sys.modules, 'scipy.ndimage' in sys.modules],\n"
        "                  'jobs': sorted(key[1] for key in jobs if key[0] == 'tiny routes')}))\n")
    seen = json.loads(fresh_process_output(script, tmp_path).splitlines()[-1])
    assert seen["imported"] == [False, False] and seen["jobs"] == []
    # fftconv's compiled loop sums the 2-D, 3-D and 1-D calls: no probe for them (without the
    # compiled loop, the 3-D correlate's slices want the N-d loop)
    assert seen["after_loop"][0] is False and seen["after_loop"][2] is False
    assert seen["after_one"] == seen["after_loop"]  # a first 4-D call probes nothing
    assert seen["after_all"] == [False, True, True]  # the second 4-D calls probed their loops
    assert seen["final"] == [True, True, True]  # the second symmetric convolve2d
    a, b = np.arange(16.0).reshape(4, 4), np.array([[1.0, 2.0], [3.0, 5.0]])
    c, k = np.arange(64.0).reshape(4, 4, 4), np.ones((2, 2, 2))
    d, m = np.arange(16.0).reshape(2, 2, 2, 2), np.ones((1, 2, 1, 2))
    want = [scipy.signal.convolve(a, b, method="direct"), scipy.signal.convolve2d(a, b),
            scipy.signal.correlate(c, k, method="direct"), scipy.ndimage.correlate(a, b)]
    symmetric = scipy.signal.convolve2d(a, b, boundary="symm")
    rest = [scipy.signal.correlate(d, m, method="direct")] * 2 + [symmetric]
    rest += [scipy.ndimage.correlate(d, m)] * 2 + [symmetric]
    assert len(seen["got"]) == len(want * 2 + rest)
    for got, expected in zip(seen["got"], want * 2 + rest):
        np.testing.assert_array_equal(np.array(got), expected)
    for got, expected in zip(seen["again"], want):
        np.testing.assert_array_equal(np.array(got), expected)


def test_a_tiny_first_call_does_not_probe_scipys_loops_the_script_imported(tmp_path):
    """A script that imported scipy.signal and scipy.ndimage itself: its first tiny calls had
    probed scipy's private loops on the spot (AMD EPYC: a first 16x16 * 3x3 ``convolve2d``
    1.5-2.4 ms, ``ndimage.correlate`` 4.3-4.9 ms, scipy's own 0.04-0.1 ms). fftconv's compiled
    loop sums them, probing nothing; the 4-D calls, which it does not sum, probe scipy's N-d
    loops from their second call (~1 ms, in the call), and nothing is queued."""
    script = (
        "import json, numpy as np, scipy.signal, scipy.ndimage, fftconv, fftconv.ndimage\n"
        "from fftconv import background\n"
        "from fftconv.engine import tiny, ndimage_nd_loop, signal_loops\n"
        "jobs = {}\n"
        "background.submit = lambda key, job, priority=1: jobs.setdefault(key, job) is job\n"
        "a = np.arange(256.0).reshape(16, 16) % 7\n"
        "b = np.array([[1.0, 2.0, 0.5], [3.0, 5.0, 1.0], [0.0, 1.0, 2.0]])\n"
        "d, m = np.arange(16.0).reshape(2, 2, 2, 2), np.ones((1, 2, 1, 2))\n"
        "probed = lambda: [signal_loops.probed('2d'), signal_loops.probed('nd'), ndimage_nd_loop.probed()]\n"
        "got = [fftconv.convolve2d(a, b, 'same').tolist(), fftconv.ndimage.correlate(a, b).tolist(),\n"
        "       fftconv.convolve(a, b).tolist()]\n"
        "first = probed()\n"
        "got += [fftconv.correlate(d, m).tolist(), fftconv.correlate(d, m).tolist(),\n"
        "        fftconv.ndimage.correlate(d, m).tolist(), fftconv.ndimage.correlate(d, m).tolist()]\n"
        "later = probed()\n"
        "got.append(fftconv.convolve2d(a, b, 'same').tolist())\n"
        "print(json.dumps({'got': got, 'first': first, 'later': later,\n"
        "                  'queued': sorted(key[1] for key in jobs if key[0] == 'tiny routes')}))\n")
    seen = json.loads(fresh_process_output(script, tmp_path).splitlines()[-1])
    assert seen["first"] == [False, False, False]
    assert seen["later"] == [False, True, True]  # by the 4-D calls' second ones
    assert seen["queued"] == []
    a, b = np.arange(256.0).reshape(16, 16) % 7, np.array([[1.0, 2.0, 0.5], [3.0, 5.0, 1.0], [0.0, 1.0, 2.0]])
    d, m = np.arange(16.0).reshape(2, 2, 2, 2), np.ones((1, 2, 1, 2))
    want = [scipy.signal.convolve2d(a, b, "same"), scipy.ndimage.correlate(a, b),
            scipy.signal.convolve(a, b, method="direct")]
    want += [scipy.signal.correlate(d, m, method="direct")] * 2 + [scipy.ndimage.correlate(d, m)] * 2
    want.append(scipy.signal.convolve2d(a, b, "same"))
    assert len(seen["got"]) == len(want)
    for got, expected in zip(seen["got"], want):
        np.testing.assert_array_equal(np.array(got), expected)


@pytest.mark.parametrize("shape, forward_aside", [((fftw.CONCURRENT_PLAN_POINTS * 2,), False),
                                                  ((fftw.CONCURRENT_PLAN_POINTS // 256, 512), False),
                                                  ((fftw.CONCURRENT_FORWARD_POINTS // 512, 512), True)])
def test_a_large_estimate_pair_makes_its_plans_beside_the_callers_work(monkeypatch, flags_planned, shape,
                                                                       forward_aside):
    """Its ESTIMATE plans on a helper thread, while the caller transforms its kernel, fills the
    buffer and runs its forward transforms (1120x1120 float64: 7.4 + 5.4 ms of planning); a
    1-D pair's forward plan in the caller's thread, its kernel transformed with it, and a
    smaller 2-D one's, quicker made there than handed over."""
    monkeypatch.setattr(fftw, "available_cores", lambda: 2)
    n = math.prod(shape)
    pair = fftw.TransformPair((), shape, True, np.dtype(np.float64), 1, "estimate")
    signal = np.random.default_rng(5).standard_normal(shape)
    pair.data[...] = signal
    pair.forward()
    assert np.allclose(pair.spectrum, np.fft.rfftn(signal))
    pair.inverse()
    assert np.allclose(pair.data, n * signal)
    planned_here = [threading.get_ident() == ident for _, ident in flags_planned]
    assert planned_here == [not forward_aside, False]
    small = fftw.TransformPair((), (1024,), True, np.dtype(np.float64), 1, "estimate")
    one_core = fftw.TransformPair((), shape, True, np.dtype(np.float64), 2, "estimate")
    assert small._forward_pending is None and one_core._inverse_pending is None  # both planned here
    assert {ident for _, ident in flags_planned[2:]} == {threading.get_ident()}


def test_a_first_fft_call_tells_the_backend_of_its_transforms_before_its_kernel_spectrum(rng, monkeypatch):
    """So that FFTW plans a large pair meanwhile (1000x1000 * 101x101 'full' float64 in a fresh
    process, 1 thread: 38.7 -> 32.8 ms, scipy 38.1; AMD EPYC Zen 4); a smaller pair is asked
    for when needed (asked for early, loops over new 150-400 * 15x15 shapes ran 4-8 % slower)."""
    from fftconv.executors import spectral

    order = []
    real_ahead, real_transformed = spectral._plan_ahead, spectral._transformed
    monkeypatch.setattr(spectral, "_plan_ahead", lambda *a: order.append("ahead") or real_ahead(*a))
    monkeypatch.setattr(spectral, "_transformed", lambda *a: order.append("spectrum") or real_transformed(*a))
    x, h = rng.standard_normal((300, 280)), rng.standard_normal((21, 21))
    got = fftconv.convolve(x, h, "full", method="fft", threads=1)
    assert "spectrum" in order and order.index("ahead") < order.index("spectrum"), order
    assert_close(got, scipy.signal.fftconvolve(x, h, "full"))

    monkeypatch.setattr(fftw, "available_cores", lambda: 2)
    asked = []
    monkeypatch.setattr(fftw, "transform_pair", lambda *a: asked.append(a[1]))
    backend = fftw.FFTWBackend()
    large = (fftw.CONCURRENT_FORWARD_POINTS // 512, 512)
    for shape, threads in ((large, 1), ((256, 512), 1), ((fftw.CONCURRENT_FORWARD_POINTS,), 1), (large, 2)):
        backend.plan_ahead((), shape, True, np.dtype(np.float64), threads)
    assert asked == [large]  # 2-D, large, and a core left for the helper


def test_an_inverse_plan_that_failed_aside_is_made_by_the_caller_or_its_error_raised(monkeypatch):
    monkeypatch.setattr(fftw, "available_cores", lambda: 2)
    caller = threading.get_ident()
    real = fftw.TransformPair._make_inverse
    failing_everywhere = [False]

    def make_inverse(self, flags):
        if threading.get_ident() != caller or failing_everywhere[0]:
            raise MemoryError("no room for the plan")
        return real(self, flags)

    monkeypatch.setattr(fftw.TransformPair, "_make_inverse", make_inverse)
    n = fftw.CONCURRENT_PLAN_POINTS
    pair = fftw.TransformPair((), (n,), True, np.dtype(np.float64), 1, "estimate")
    pair.data[...] = 1.0
    pair.forward()
    pair.inverse()  # the helper failed: planned here
    assert np.allclose(pair.data, n)
    failing_everywhere[0] = True
    again = fftw.TransformPair((), (2 * n,), True, np.dtype(np.float64), 1, "estimate")
    again.data[...] = 1.0
    again.forward()
    with pytest.raises(MemoryError, match="no room"):
        again.inverse()


def test_complex_transforms_are_final_once_measured(rng):
    from fftconv.engine import run

    x = rng.standard_normal((40, 44)) + 1j * rng.standard_normal((40, 44))
    h = rng.standard_normal((5, 5)) + 1j * rng.standard_normal((5, 5))
    plan = fftconv.plan(x, h, "same", method="fft", threads=1)
    assert plan.compute_dtype.kind == "c"
    for _ in range(3):  # a repeated size is measured in the background
        assert_close(fftconv.convolve(x, h, "same", method="fft", threads=1),
                     scipy.signal.fftconvolve(x, h, "same"))
    assert background.wait(120) and measuring.available()
    assert run._transforms_final(plan)  # asked with the complex dtype its pairs are kept by


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_fork_while_an_inverse_plan_is_made_aside_leaves_the_child_able_to_plan(monkeypatch):
    monkeypatch.setattr(fftw, "available_cores", lambda: 2)
    planning = threading.Event()
    real = fftw.TransformPair._make_inverse

    def slow_inverse(self, flags):
        planning.set()
        time.sleep(0.3)  # the fork comes while the helper is at it, holding the planner's lock
        return real(self, flags)

    monkeypatch.setattr(fftw.TransformPair, "_make_inverse", slow_inverse)
    n = fftw.CONCURRENT_PLAN_POINTS
    pair = fftw.TransformPair((), (n,), True, np.dtype(np.float64), 1, "estimate")
    assert planning.wait(10)
    pid = os.fork()
    if pid == 0:  # the child: no helper thread, a lock of its own
        try:
            pair.data[...] = 1.0
            pair.forward()
            pair.inverse()
            fftw.TransformPair((), (1200,), True, np.dtype(np.float64), 1, "estimate")
            os._exit(0 if np.allclose(pair.data, n) else 3)
        except BaseException:
            os._exit(4)
    deadline = time.monotonic() + 60
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    if done[0] == 0:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    assert done[0] == pid and os.waitstatus_to_exitcode(done[1]) == 0  # not hung, and right
    pair.data[...] = 1.0
    pair.forward()
    pair.inverse()
    assert np.allclose(pair.data, n)
    assert fftw._plan_lock.acquire(blocking=False)  # the parent's lock was released after the fork
    fftw._plan_lock.release()


@pytest.mark.parametrize("started", [False, True])
def test_a_small_size_starts_the_measuring_process_only_once_its_calls_repeat_more(monkeypatch, request,
                                                                                    started):
    """Starting the measuring process cost a small size's second and third calls 0.3-0.6 ms
    each (82x56 * 25x25 'full' float64, 0.75 ms against scipy's 0.23): a size of a few small
    transforms asks for it from its `SMALL_REPEATS_BEFORE_FIRST_MEASURE`-th call; once the
    process runs, every size from its second, as a large one always."""
    fftw.clear_cache()
    request.addfinalizer(fftw.clear_cache)
    monkeypatch.setattr(measuring, "started", lambda: started)
    asked = []
    monkeypatch.setattr(background, "submit", lambda key, job, priority=1: asked.append(key) or True)
    with config.override(planner_effort="auto"):
        small, large = ((), (108, 82), True, np.dtype(np.float64), 1), ((), (726, 534), True,
                                                                         np.dtype(np.float64), 1)
        calls_until = {}
        for size, uses in ((small, 3), (large, 3)):
            for call in range(1, 20):
                background.note_call()  # a size's calls are counted by the engine's calls
                fftw.transform_pair(*size, uses=uses)
                if ("fftw", size) in asked:
                    calls_until[size] = call
                    break
    assert calls_until[large] == fftw.REPEATS_BEFORE_MEASURE
    wanted = fftw.REPEATS_BEFORE_MEASURE if started else fftw.SMALL_REPEATS_BEFORE_FIRST_MEASURE
    assert calls_until[small] == wanted


@pytest.mark.parametrize("mode", ["wrap", "constant"])
def test_a_signature_whose_tiles_transform_another_shape_leaves_its_first_route(rng, mode, monkeypatch):
    """A whole periodic or zero-bordered image is transformed at its own layout, not at the
    plan's FFT shape: the plan's first-call route lasts while the transforms it runs are not
    final, and ends once they are (asked of the plan's shape, it had lasted for good: no full
    plan, no trial; 512² * 25x25 normalised filters stayed on ESTIMATE transforms at 3x the
    separable passes' time)."""
    from fftconv.engine import blocks, lane, run

    run._memo.clear()  # each mode's first call is a first sight
    run._sighted.clear()
    lane.clear()
    planned = []
    plan_block = blocks.BlockFilter.planned

    def recorded(self, *args, **kwargs):
        template, plan = plan_block(self, *args, **kwargs)
        planned.append(plan)
        return template, plan

    monkeypatch.setattr(blocks.BlockFilter, "planned", recorded)
    x, k = rng.standard_normal((512, 512)), rng.random((25, 25))
    want = scipy.ndimage.correlate(x, k, mode=mode)
    with config.override(threads=1):
        assert_close(fftconv.ndimage.correlate(x, k, mode=mode), want)
        first = planned[-1]
        assert first.first_sight and first.fft_shape not in first.transformed and first.transformed
        for _ in range(40):
            fftconv.ndimage.correlate(x, k, mode=mode)
            background.wait(60)  # the transforms' measuring, from their second call
            if not planned[-1].first_sight:
                break
        assert not planned[-1].first_sight
        assert_close(fftconv.ndimage.correlate(x, k, mode=mode), want)
