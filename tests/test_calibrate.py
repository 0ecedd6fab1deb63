"""First-use calibration: measured once per machine and library versions, cached like wisdom,
never a failed call, and reported by the plan. The tests run with FFTCONV_CALIBRATE=off;
these turn it on with a stand-in measurement, except the one that times the real one."""

import dataclasses
import json
import time

import pytest

import fftconv
from fftconv import config
from fftconv.cli.main import main
from fftconv.planning import calibrate
from fftconv.planning.costs import DEFAULT_COSTS


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """Calibration on, into a scratch cache, with a stand-in measurement that counts."""
    calls = []

    def fake_measure(base, budget=calibrate.BUDGET_SECONDS):
        calls.append(budget)
        return dataclasses.replace(base, compiled_mac=base.compiled_mac * 0.5, fft_point=base.fft_point * 2)

    monkeypatch.setattr(calibrate, "cache_path", lambda key: tmp_path / "calibration" / f"{key['id']}.json")
    monkeypatch.setattr(calibrate, "measure", fake_measure)
    calibrate.forget()
    with config.override(calibrate="auto"):
        yield tmp_path / "calibration", calls
    calibrate.forget()


def test_measured_once_then_read_from_the_cache(cache):
    folder, calls = cache
    costs, source = calibrate.costs_for(config.get())
    assert source == "calibrated" and len(calls) == 1
    assert costs.compiled_mac == DEFAULT_COSTS.compiled_mac * 0.5
    files = list(folder.glob("*.json"))
    assert len(files) == 1
    data = json.loads(files[0].read_text())
    assert data["key"]["cpu"] and data["costs"]["fft_point"] == DEFAULT_COSTS.fft_point * 2
    calibrate.forget()  # as a new process would
    again, _ = calibrate.costs_for(config.get())
    assert again == costs and len(calls) == 1


def test_another_cpu_or_version_measures_again(cache, monkeypatch):
    folder, calls = cache
    calibrate.costs_for(config.get())
    real_key = calibrate.machine_key

    def other_cpu(backend):
        key = real_key(backend)
        key.update(cpu="Another CPU", id="another")
        return key

    monkeypatch.setattr(calibrate, "machine_key", other_cpu)
    calibrate.forget()
    calibrate.costs_for(config.get())
    assert len(calls) == 2 and len(list(folder.glob("*.json"))) == 2


@pytest.mark.parametrize("content", ["{not json", '{"key": {}, "costs": {}}', "[]",
                                     '{"key": null, "costs": {"fft_point": -1}}'])
def test_a_broken_cache_warns_and_measures_again(cache, content):
    folder, calls = cache
    key = calibrate.machine_key(config.get().backend)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{key['id']}.json").write_text(content)
    with pytest.warns(RuntimeWarning, match="unusable"):
        costs, source = calibrate.costs_for(config.get())
    assert source == "calibrated" and len(calls) == 1
    assert json.loads((folder / f"{key['id']}.json").read_text())["key"] == key  # rewritten


def test_a_cache_that_cannot_be_written_warns_and_still_plans(cache, tmp_path, monkeypatch):
    _, calls = cache
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setattr(calibrate, "cache_path", lambda key: blocker / "calibration" / "x.json")
    with pytest.warns(RuntimeWarning, match="cannot save"):
        plan = fftconv.plan((512, 512), (3, 3), "same", threads=1)
    assert plan.costs_source == "calibrated" and len(calls) == 1


def test_tuned_coefficients_win_and_off_means_built_in(cache):
    _, calls = cache
    tuned = dataclasses.replace(DEFAULT_COSTS, compiled_mac=1e-9)
    with config.override(costs=tuned):
        costs, source = calibrate.costs_for(config.get())
        assert (costs, source) == (tuned, "tuned")
        assert "tuned" in fftconv.plan((64, 64), (3, 3), threads=1).explain()
    with config.override(calibrate="off"):
        assert calibrate.costs_for(config.get()) == (DEFAULT_COSTS, "built-in")
        assert "cost coefficients: built-in" in fftconv.plan((64, 64), (5, 5), threads=1).explain()
    assert calls == []
    assert "calibrated on this CPU" in fftconv.plan((64, 64), (7, 7), threads=1).explain()


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
    costs = calibrate.measure(DEFAULT_COSTS)
    seconds = time.perf_counter() - started
    assert seconds < calibrate.BUDGET_SECONDS + 0.5
    fields = dataclasses.asdict(costs)
    assert all(v > 0 for k, v in fields.items() if k not in ("fft_point", "copy_row", "direct_point"))
    assert costs.fft_point_log != DEFAULT_COSTS.fft_point_log  # measured, not left as built
    assert costs.direct_mac != DEFAULT_COSTS.direct_mac
