"""Trial verdicts: the executor a signature's trial kept is saved per CPU, and a later process
(here: the planner's memory cleared) plans that signature with it at once."""

import json
import os
import warnings

import numpy as np
import pytest
import scipy.signal
from conftest import assert_close

import fftconv
from fftconv import background
from fftconv.engine import lane, run, trials, verdicts


@pytest.fixture
def remembering(monkeypatch, tmp_path, contested):
    """Verdicts on, kept under a scratch cache directory; every signature contested
    (`contested`: each executor's calls 'take' the time the test sets)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with fftconv.config.override(verdicts="auto"):
        yield contested


def _settle(a, b, speeds, fastest):
    """Run the trial of ``convolve(a, b, 'same')`` to its end with the contender at index
    ``fastest`` the fastest; returns the contenders."""
    first = fftconv.plan(a, b, "same", threads=1)
    contenders = [p.executor for p in first.trial.plans]
    speeds.update({name: 1.0 for name in contenders})
    speeds[contenders[fastest]] = 0.001
    for _ in range(3 * (trials.TRIAL_RUNS + 1)):
        fftconv.convolve(a, b, "same", threads=1)
    assert fftconv.plan(a, b, "same", threads=1).trial is None
    assert background.wait(60)
    return contenders


def _new_process():
    run._memo.clear()
    lane.clear()


def test_a_later_process_plans_with_the_kept_executor(rng, remembering):
    a, b = rng.standard_normal((200, 180)), rng.standard_normal((9, 9))
    contenders = _settle(a, b, remembering, fastest=-1)  # the slowest estimate is in fact fastest
    files = list(verdicts.folder().glob("*.json"))
    assert len(files) == 1 and json.loads(files[0].read_text())["kept"] == contenders[-1]
    _new_process()
    plan = fftconv.plan(a, b, "same", threads=1)
    assert plan.trial is None and plan.executor == contenders[-1]
    assert "in an earlier process" in plan.explain()
    assert_close(fftconv.convolve(a, b, "same", threads=1), scipy.signal.fftconvolve(a, b, "same"))
    # another signature has its own trial
    other = fftconv.plan(rng.standard_normal((201, 180)), b, "same", threads=1)
    assert other.trial is not None


def test_verdicts_off_neither_read_nor_written(rng, remembering):
    a, b = rng.standard_normal((200, 180)), rng.standard_normal((9, 9))
    with fftconv.config.override(verdicts="off"):
        _settle(a, b, remembering, fastest=-1)
    assert not verdicts.folder().exists()
    _new_process()
    _settle(a, b, remembering, fastest=-1)  # verdicts on: written
    assert verdicts.folder().exists()
    _new_process()
    with fftconv.config.override(verdicts="off"):
        assert fftconv.plan(a, b, "same", threads=1).trial is not None


def test_a_verdict_for_an_executor_no_longer_contending_is_not_used(rng, remembering):
    a, b = rng.standard_normal((200, 180)), rng.standard_normal((9, 9))
    _settle(a, b, remembering, fastest=-1)
    (path,) = verdicts.folder().glob("*.json")
    document = json.loads(path.read_text())
    document["kept"] = "no.such.executor"
    path.write_text(json.dumps(document))
    _new_process()
    assert fftconv.plan(a, b, "same", threads=1).trial is not None


@pytest.mark.parametrize("text", [
    "{not json",
    json.dumps({"format": verdicts.FORMAT, "key": {}, "kept": "fft", "medians": {}}),  # another signature's
    json.dumps({"format": verdicts.FORMAT, "kept": 3}),
])
def test_an_unusable_verdict_warns_and_the_trial_runs_again(rng, remembering, text):
    a, b = rng.standard_normal((200, 180)), rng.standard_normal((9, 9))
    _settle(a, b, remembering, fastest=-1)
    (path,) = verdicts.folder().glob("*.json")
    path.write_text(text)
    _new_process()
    with pytest.warns(RuntimeWarning, match="ignoring fftconv's trial verdict"):
        plan = fftconv.plan(a, b, "same", threads=1)
    assert plan.trial is not None


def test_an_unwritable_cache_warns_and_the_call_goes_on(rng, remembering, monkeypatch, tmp_path):
    blocker = tmp_path / "blocked"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    a, b = rng.standard_normal((200, 180)), rng.standard_normal((9, 9))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _settle(a, b, remembering, fastest=0)
    assert any("cannot save fftconv's trial verdict" in str(w.message) for w in caught)
    _new_process()
    assert fftconv.plan(a, b, "same", threads=1).trial is not None  # nothing was kept


def test_a_verdict_still_queued_at_exit_is_written(rng, remembering, monkeypatch):
    queued = []
    monkeypatch.setattr(background, "submit", lambda key, job, priority=1: queued.append(job) or True)
    a, b = rng.standard_normal((200, 180)), rng.standard_normal((9, 9))
    first = fftconv.plan(a, b, "same", threads=1)
    remembering.update({p.executor: 1.0 for p in first.trial.plans})
    remembering[first.trial.plans[-1].executor] = 0.001
    for _ in range(3 * (trials.TRIAL_RUNS + 1)):
        fftconv.convolve(a, b, "same", threads=1)
    assert queued and not list(verdicts.folder().glob("*.json"))  # the background has not run it
    verdicts.flush()  # what the process does at exit
    assert len(list(verdicts.folder().glob("*.json"))) == 1
    queued[-1]()  # the background's turn comes after all: nothing left to write
    assert len(list(verdicts.folder().glob("*.json"))) == 1


def test_the_oldest_verdicts_go_beyond_the_most_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(verdicts, "MOST_VERDICTS", 4)
    for n in range(6):
        verdicts._write(tmp_path / f"{n}.json", {"format": verdicts.FORMAT, "n": n})
        os.utime(tmp_path / f"{n}.json", (1000 + n, 1000 + n))  # written in this order
    # the fifth file made five (one over four): the oldest two went; the sixth made four
    assert sorted(p.name for p in tmp_path.glob("*.json")) == ["2.json", "3.json", "4.json", "5.json"]


def test_the_verdict_is_the_machines_and_the_signatures():
    from fftconv.core.problem import Problem

    spec = Problem.build(np.ones(100), np.ones(9), "same").spec(1)
    key = verdicts.signature(spec, None, ["fft", "direct.compiled"])
    assert key["contenders"] == ["direct.compiled", "fft"]
    assert key["machine"] == fftconv.planning.calibrate.machine_key("fftw")["id"]
    assert key != verdicts.signature(spec, 1 << 20, ["fft", "direct.compiled"])
    assert key != verdicts.signature(Problem.build(np.ones(101), np.ones(9), "same").spec(1), None,
                                     ["fft", "direct.compiled"])


def test_the_setting_is_checked():
    with pytest.raises(fftconv.ConfigError, match="verdicts"):
        with fftconv.config.override(verdicts="sometimes"):
            pass
