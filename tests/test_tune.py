"""fftconv tune on a tiny grid: it fits positive coefficients, reports, and writes the config."""

import math

import numpy as np
import pytest

import fftconv
from fftconv import config
from fftconv.cli import main
from fftconv.core.problem import Spec
from fftconv.planning import tune as _tune
from fftconv.planning.planner import make_plan
from fftconv.planning.tune import cases


@pytest.fixture
def tiny_grid(monkeypatch):
    monkeypatch.setattr(cases, "fft_cases", lambda quick: [
        ((64, 64), "float64"), ((128, 128), "float64"), ((2048, 2048), "float64"),
        ((64, 64), "float32"), ((64, 64), "complex128"), ((4096,), "float64")])
    monkeypatch.setattr(cases, "spectral_cases", lambda quick: [
        ((128, 128), (5, 5), "same", "fft"), ((256, 256), (3, 3), "same", "tiled"),
        ((512,), (9,), "same", "fft"), ((256, 256), (3, 3), "same", (32, 32))])
    monkeypatch.setattr(cases, "validation_cases", lambda quick: [
        ((128, 128), (3, 3), "same"), ((256, 256), (15, 15), "full")])


def test_tune_fits_positive_coefficients_and_reports(tiny_grid):
    result = _tune.tune(quick=True, progress=False)
    for name, value in _tune.costs_table(result.new).items():
        assert math.isfinite(value), name
        # 0 where a least-squares term found nothing to explain (the config accepts those)
        assert value >= 0 if name in config._ZERO_ALLOWED else value > 0, name
    assert result.new.fft_point_log != result.old.fft_point_log  # something was measured
    assert len(result.regret_new) == 2 and all(r >= 1.0 for r in result.regret_new)
    assert len(result.cases) == 2 and all(" chose " in c and "fastest" in c for c in result.cases)
    text = _tune.report(result)
    assert "fft_point_log" in text and "planner regret after" in text


def test_tune_cli_writes_a_config_that_the_planner_uses(tiny_grid, tmp_path, monkeypatch, capsys):
    path = tmp_path / "fftconv.toml"
    path.write_text('[fftw]\nthreads = 2\n')
    # --force: on a grid this small the validation regret is noise, not a verdict on the fit
    assert main(["tune", "--quick", "--no-progress", "--threads", "2", "--config", str(path), "--force"]) == 0
    assert "wrote [planner.costs]" in capsys.readouterr().out
    written = config.load(path)
    assert written.threads == 2  # other settings survive
    for gain in ("fft_thread_efficiency", "fft_thread_efficiency_1d", "thread_efficiency"):
        assert 0.05 <= getattr(written.costs, gain) <= 1.0  # measured on two threads
    assert written.costs.thread_efficiency_out_of_cache <= written.costs.thread_efficiency
    assert written.costs != fftconv.planning.costs.DEFAULT_COSTS
    monkeypatch.setenv("FFTCONV_CONFIG", str(path))
    assert config.get().costs == written.costs
    a, b = np.ones((64, 64)), np.ones((3, 3))
    spec = Spec.of_shapes((64, 64), (3, 3), threads=fftconv.plan(a, b).threads)
    assert fftconv.plan(a, b).estimates == make_plan(spec, costs=written.costs).estimates


def test_tune_cli_without_write_keeps_the_config(tiny_grid, capsys):
    assert main(["tune", "--quick", "--no-progress"]) == 0
    assert "not written" in capsys.readouterr().out
