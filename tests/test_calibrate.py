"""First-use calibration: measured once per machine and library versions, in the background
(never inside a call), cached like wisdom, never a failed call, and reported by the plan. The
tests run with FFTCONV_CALIBRATE=off; these turn it on with a stand-in measuring process,
except the ones that time the real measurement."""

import dataclasses
import json
import time

import numpy as np
import pytest

import fftconv
from fftconv import background, config
from fftconv.cli.main import main
from fftconv.executors import direct_compiled
from fftconv.executors.direct_compiled import variant_factor
from fftconv.planning import calibrate, measure_cpu
from fftconv.planning.costs import DEFAULT_COSTS


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """Calibration on, into a scratch cache, with a stand-in measuring process that counts."""
    calls = []
    background.wait(60)  # earlier tests' background jobs (measured FFTW plans) must not reach the stand-in

    def fake_ask(request):
        calls.append(request["op"])
        base = calibrate.from_dict(DEFAULT_COSTS, request["costs"])
        if request["op"] == "calibrate":
            base = dataclasses.replace(base, compiled_mac=base.compiled_mac * 0.5,
                                       fft_point=base.fft_point * 2)
        else:
            base = dataclasses.replace(base, thread_efficiency=0.9)
        return {"costs": calibrate.as_dict(base), "wisdom": []}

    monkeypatch.setattr(calibrate, "cache_path", lambda key: tmp_path / "calibration" / f"{key['id']}.json")
    monkeypatch.setattr(calibrate.measuring, "ask", fake_ask)
    monkeypatch.setattr(calibrate, "IDLE_SECONDS", 0.01)
    calibrate.forget()
    with config.override(calibrate="auto"):
        yield tmp_path / "calibration", calls
    calibrate.forget()


def calibrated_costs():
    """What the planner uses once the background calibration is done."""
    assert calibrate.wait(60)
    return calibrate.costs_for(config.get())


def test_the_first_plan_does_not_wait_then_the_calibration_is_used(cache):
    folder, calls = cache
    costs, source = calibrate.costs_for(config.get())
    scaled = dataclasses.replace(DEFAULT_COSTS, compiled_mac=DEFAULT_COSTS.compiled_mac * variant_factor())
    assert (costs, source) == (scaled, "calibrating")
    assert "calibrated in the background" in fftconv.plan((512, 512), (3, 3), threads=1).explain()
    costs, source = calibrated_costs()
    assert source == "calibrated" and calls[0] == "calibrate"
    assert costs.compiled_mac == DEFAULT_COSTS.compiled_mac * 0.5
    files = list(folder.glob("*.json"))
    assert len(files) == 1
    data = json.loads(files[0].read_text())
    assert data["key"]["cpu"] and data["costs"]["fft_point"] == DEFAULT_COSTS.fft_point * 2
    assert "calibrated on this CPU" in fftconv.plan((512, 512), (3, 3), threads=1).explain()


def test_until_measured_the_compiled_loop_is_priced_for_its_variant(cache, monkeypatch):
    """The built-in rate is AVX-512's: an AVX2 machine's first calls planned 600x500 * 41x41 on
    the loop (0.68 s) where the FFT takes 15 ms."""
    monkeypatch.setattr(calibrate.background, "submit", lambda *args, **kwargs: True)  # still measuring
    monkeypatch.setattr(direct_compiled, "variant_factor", lambda: 6.8)
    calibrate._until_measured.cache_clear()  # made once per coefficients: with the real factor before
    try:
        costs, source = calibrate.costs_for(config.get())
        assert source == "calibrating" and costs.compiled_mac == DEFAULT_COSTS.compiled_mac * 6.8
        with config.override(calibrate="off"):  # the built-in coefficients themselves, whatever the CPU
            assert calibrate.costs_for(config.get()) == (DEFAULT_COSTS, "built-in")
    finally:
        calibrate._until_measured.cache_clear()


def test_measured_once_then_read_from_the_cache(cache):
    folder, calls = cache
    calibrate.costs_for(config.get())
    costs, _ = calibrated_costs()
    measured = list(calls)
    calibrate.forget()  # as a new process would
    again, source = calibrate.costs_for(config.get())
    assert source == "calibrated" and again == costs  # read at once, not measured again
    calibrate.wait(60)
    assert calls == measured


def test_thread_gains_wait_for_an_idle_engine(cache, monkeypatch):
    folder, calls = cache
    monkeypatch.setattr(calibrate, "available_cores", lambda: 2)
    busy = {"on": True}
    real_calls = background.calls

    def engine_calls():  # a call in every idle check while "busy"
        if busy["on"]:
            background.note_call()
        return real_calls()

    monkeypatch.setattr(calibrate.background, "calls", engine_calls)
    calibrate.costs_for(config.get())
    costs, _ = calibrated_costs()
    assert "thread_gains" not in calls and costs.thread_efficiency == DEFAULT_COSTS.thread_efficiency
    data = json.loads(next(folder.glob("*.json")).read_text())
    assert data["thread_gains"] is False
    busy["on"] = False  # a later, idle process measures them
    calibrate.forget()
    calibrate.costs_for(config.get())
    costs, _ = calibrated_costs()
    assert calls.count("thread_gains") == 1 and costs.thread_efficiency == 0.9
    assert json.loads(next(folder.glob("*.json")).read_text())["thread_gains"] is True


def test_waiting_for_an_idle_engine_leaves_trials_timing(cache, monkeypatch):
    """The thread gains' wait for quiet shares the machine with nothing: trials time their runs
    meanwhile (they waited half a second at each process start, 2 threads)."""
    monkeypatch.setattr(calibrate, "available_cores", lambda: 2)
    monkeypatch.setattr(calibrate, "IDLE_SECONDS", 1.0)
    calibrate.costs_for(config.get())
    job = ("thread gains", calibrate.machine_key(config.get().backend)["id"])
    deadline = time.monotonic() + 30
    while background._running != job:
        assert time.monotonic() < deadline, "the thread gains never started"
        time.sleep(0.001)
    deadline = time.monotonic() + 0.5  # within its wait
    while not background.idle():
        assert time.monotonic() < deadline and background._running == job, "not idle while only waiting"
        time.sleep(0.001)
    background.note_call()  # busy: the job gives up without measuring
    assert calibrate.wait(60)
    assert "thread_gains" not in cache[1]


def test_another_cpu_or_version_measures_again(cache, monkeypatch):
    folder, calls = cache
    calibrate.costs_for(config.get())
    calibrated_costs()
    real_key = calibrate._machine_key

    def other_cpu(backend):
        key = dict(real_key(backend))
        key.update(cpu="Another CPU", id="another")
        return key

    monkeypatch.setattr(calibrate, "_machine_key", other_cpu)
    calibrate.forget()
    calibrate.costs_for(config.get())
    calibrated_costs()
    assert calls.count("calibrate") == 2 and len(list(folder.glob("*.json"))) == 2


@pytest.mark.parametrize("content", ["{not json", '{"key": {}, "costs": {}}', "[]",
                                     '{"key": null, "costs": {"fft_point": -1}}'])
def test_a_broken_cache_warns_and_measures_again(cache, content):
    folder, calls = cache
    key = calibrate.machine_key(config.get().backend)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{key['id']}.json").write_text(content)
    with pytest.warns(RuntimeWarning, match="unusable"):
        costs, source = calibrate.costs_for(config.get())
    assert source == "calibrating"
    _, source = calibrated_costs()
    assert source == "calibrated" and calls.count("calibrate") == 1
    assert json.loads((folder / f"{key['id']}.json").read_text())["key"] == key  # rewritten


def test_a_cache_that_cannot_be_written_warns_and_still_plans(cache, tmp_path, monkeypatch):
    _, calls = cache
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setattr(calibrate, "cache_path", lambda key: blocker / "calibration" / "x.json")
    fftconv.plan((512, 512), (3, 3), "same", threads=1)
    with pytest.warns(RuntimeWarning, match="cannot save"):
        calibrate.wait(60)
    plan = fftconv.plan((512, 512), (5, 5), "same", threads=1)
    assert plan.costs_source == "calibrated" and calls.count("calibrate") == 1


def test_tuned_coefficients_win_and_off_means_built_in(cache):
    _, calls = cache
    tuned = dataclasses.replace(DEFAULT_COSTS, compiled_mac=1e-9)
    with config.override(costs=tuned):
        costs, source = calibrate.costs_for(config.get())
        assert (costs, source) == (tuned, "tuned")
        assert "[planner.costs] of the configuration" in fftconv.plan((64, 64), (3, 3), threads=1).explain()
    with config.override(calibrate="off"):
        assert calibrate.costs_for(config.get()) == (DEFAULT_COSTS, "built-in")
        assert "cost coefficients: built-in" in fftconv.plan((64, 64), (5, 5), threads=1).explain()
    assert calls == []
    fftconv.plan((64, 64), (7, 7), threads=1)
    calibrate.wait(60)
    assert "calibrated on this CPU" in fftconv.plan((64, 64), (7, 7), threads=1).explain()


def test_plans_made_before_the_calibration_are_not_reused_after_it(cache, monkeypatch):
    first = fftconv.plan((300, 300), (17, 17), "same", threads=1)
    assert first.costs_source == "calibrating"
    calibrate.wait(60)
    again = fftconv.plan((300, 300), (17, 17), "same", threads=1)
    assert again.costs_source == "calibrated"
    assert again.estimates["direct"] != first.estimates["direct"]  # the new coefficients priced it


def test_the_setting_is_checked(tmp_path, monkeypatch):
    path = tmp_path / "c.toml"
    path.write_text('[planner]\ncalibrate = "off"\n')
    assert config.load(path).calibrate == "off"
    path.write_text('[planner]\ncalibrate = "sometimes"\n')
    with pytest.raises(config.ConfigError, match="calibrate.*auto, off"):
        config.load(path)
    monkeypatch.setenv("FFTCONV_CALIBRATE", "auto")
    assert config.get().calibrate == "auto"
    monkeypatch.setenv("FFTCONV_CALIBRATE", "never")
    with pytest.raises(config.ConfigError, match="FFTCONV_CALIBRATE"):
        config.get()


def test_fftconv_plan_says_where_the_coefficients_come_from(capsys):
    assert main(["plan", "512x512", "3x3", "--threads", "1"]) == 0
    assert "cost coefficients: built-in" in capsys.readouterr().out


def test_the_real_measurement_keeps_its_budget():
    started = time.perf_counter()
    costs = measure_cpu.measure(DEFAULT_COSTS)
    seconds = time.perf_counter() - started
    assert seconds < measure_cpu.BUDGET_SECONDS + 1.0
    fields = dataclasses.asdict(costs)
    assert all(v > 0 for k, v in fields.items() if k not in ("fft_point", "copy_row", "direct_point"))
    assert costs.fft_point_log != DEFAULT_COSTS.fft_point_log  # measured, not left as built
    assert costs.direct_mac != DEFAULT_COSTS.direct_mac


def test_each_scale_is_the_least_of_the_passes(monkeypatch):
    """A time is only ever stretched by other work: a disturbed pass must not set a rate."""
    passes = iter([dataclasses.replace(DEFAULT_COSTS, fft_point_log=9e-11),
                   dataclasses.replace(DEFAULT_COSTS, fft_point_log=6e-11),
                   DEFAULT_COSTS])  # a pass cut short
    monkeypatch.setattr(measure_cpu, "_measure_scales", lambda *args: next(passes))
    monkeypatch.setattr(measure_cpu, "_time_direct", lambda *args: None)
    costs = measure_cpu.measure(DEFAULT_COSTS, passes=3)
    assert costs.fft_point_log == 6e-11
    assert costs.copy_point == DEFAULT_COSTS.copy_point  # reached by no pass: as built


def test_the_direct_rates_are_fitted_to_each_cases_fastest_time(monkeypatch):
    """Coefficients fitted together trade off: fitted per pass, each one's least would pair one
    pass's low multiply-add rate with another's low loads. Each case keeps its fastest time and
    the compiled loop's five groups are fitted once, to those: where one pass ran undisturbed,
    the fit gives back the machine's own coefficients."""
    from fftconv.planning.tune import measure as tune_measure

    machine = dataclasses.replace(DEFAULT_COSTS, compiled_mac=2 * DEFAULT_COSTS.compiled_mac,
                                  compiled_load_l2=3 * DEFAULT_COSTS.compiled_load_l2,
                                  compiled_stream=0.5 * DEFAULT_COSTS.compiled_stream)
    rng = np.random.default_rng(1)
    seen = {}

    def timed(name, a, b, mode, budget, costs, clock=None):
        spec = tune_measure.Problem.build(a, b, mode).spec(1, config.get().backend)
        key = (name, a.shape, b.shape)
        seen[key] = seen.get(key, 0) + 1
        stretch = 1.0 if seen[key] == 2 else 1 + rng.random()  # the second pass undisturbed
        m = tune_measure.Measurement(name, spec, 0.0)
        return dataclasses.replace(m, seconds=m.predict(machine) * stretch)
    monkeypatch.setattr(tune_measure, "time_executor", timed)
    monkeypatch.setattr(measure_cpu, "_measure_scales", lambda base, *args: base)
    costs = measure_cpu.measure(DEFAULT_COSTS, budget=60.0, passes=3)
    assert set(seen.values()) == {3}
    for name in ("compiled_mac", "compiled_load", "compiled_load_l2", "compiled_stream", "compiled_point"):
        assert getattr(costs, name) == pytest.approx(getattr(machine, name), rel=1e-6), name


def test_copies_are_timed_half_a_page_apart(monkeypatch):
    """Arrays allocated one after the other lie a page multiple and a small header apart,
    where each store of a copy aliases a queued load (AMD Zen 3: 19x slower)."""
    offsets = []
    real = np.copyto

    def recorded(dst, src, *args, **kwargs):
        offsets.append((dst.ctypes.data - src.ctypes.data) % 4096)
        return real(dst, src, *args, **kwargs)
    monkeypatch.setattr(np, "copyto", recorded)
    assert measure_cpu._copy_seconds(1 << 12) > 0
    assert offsets and set(offsets) == {2048}


def test_the_real_measuring_process_calibrates(tmp_path, monkeypatch):
    """End to end: the child process measures, the coefficients are cached and used."""
    monkeypatch.setattr(calibrate, "cache_path", lambda key: tmp_path / "calibration" / f"{key['id']}.json")
    calibrate.forget()
    try:
        with config.override(calibrate="auto"):
            assert calibrate.costs_for(config.get())[1] == "calibrating"
            costs, source = calibrated_costs()
        assert source == "calibrated" and costs.compiled_mac != DEFAULT_COSTS.compiled_mac
        assert json.loads(next((tmp_path / "calibration").glob("*.json")).read_text())["seconds"] > 0
    finally:
        calibrate.forget()


def test_the_import_reads_a_complete_cache_and_starts_nothing(cache):
    folder, calls = cache
    calibrate.costs_for(config.get())
    costs, _ = calibrated_costs()  # measured, thread gains included
    calibrate.forget()  # a new process: its import reads the cache
    calibrate.preload()
    assert calibrate._in_process  # read at import
    assert calibrate.costs_for(config.get()) == (costs, "calibrated")
    path = next(folder.glob("*.json"))
    data = json.loads(path.read_text())
    data["thread_gains"] = False  # a process that was busy left the thread gains to a later one
    path.write_text(json.dumps(data))
    calibrate.forget()
    measured = list(calls)
    calibrate.preload()
    assert not calibrate._in_process and background.idle()  # the import starts no measurement
    assert calibrate.costs_for(config.get())[1] == "calibrated"  # the first call reads it ...
    assert calibrate.wait(60) and calls == [*measured, "thread_gains"]  # ... and starts that


def test_an_unreadable_cache_folder_does_not_fail_the_import(cache, monkeypatch):
    class Unreadable(type(cache[0])):  # a folder whose entries cannot be looked at or read
        def is_file(self):
            raise PermissionError(13, "Permission denied", str(self))

        def read_text(self, *args, **kwargs):
            raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(calibrate, "cache_path", lambda key: Unreadable(cache[0] / "key.json"))
    calibrate.forget()
    calibrate.preload()  # what `import fftconv` runs: nothing read, nothing raised
    assert not calibrate._in_process
