"""Configuration precedence and validation, and FFTW wisdom persistence."""

import json
import os
import sys
import time
import warnings

import numpy as np
import pytest

import fftconv
from fftconv import config
from fftconv.backends import fftw as _fftw
from fftconv.backends import wisdom_store


@pytest.fixture
def config_file(tmp_path, monkeypatch):
    path = tmp_path / "config.toml"
    monkeypatch.setenv("FFTCONV_CONFIG", str(path))

    def write(text):
        path.write_text(text)
        return path

    return write


def test_defaults_work_without_a_file(config_file):
    config_file("")
    c = config.get()
    assert c.planner_effort == "auto" and c.method == "auto" and c.threads is None
    assert c.costs == fftconv.planning.costs.DEFAULT_COSTS


def test_precedence_file_then_environment_then_override_then_argument(config_file, monkeypatch):
    config_file('[fftw]\nthreads = 3\n[planner]\nmethod = "fft"\n[memory]\nlimit = "64MiB"\n')
    c = config.get()
    assert (c.threads, c.method, c.memory_limit) == (3, "fft", 64 * 2**20)
    monkeypatch.setenv("FFTCONV_THREADS", "2")
    assert config.get().threads == 2
    with config.override(threads=1, method="direct"):
        assert config.get().threads == 1
        assert fftconv.plan((300, 300), (9, 9)).method == "direct"
        assert fftconv.plan((300, 300), (9, 9), threads=2).threads == 2
        with config.override(method="tiled"):
            assert config.get().method == "tiled"
        assert config.get().method == "direct"
    assert config.get().threads == 2
    assert fftconv.plan((300, 300), (9, 9)).method == "fft"


def test_forced_method_is_used_by_auto_calls(config_file, rng):
    config_file('[planner]\nmethod = "direct"\n')
    a, b = rng.standard_normal((50, 50)), rng.standard_normal((5, 5))
    assert fftconv.choose_conv_method(a, b) == "direct"
    # fftconvolve only chooses among FFT methods, so a forced 'direct' does not apply there
    np.testing.assert_allclose(fftconv.fftconvolve(a, b), fftconv.convolve(a, b), atol=1e-12)


def test_every_method_name_and_backend_is_accepted_where_methods_are(config_file, monkeypatch, rng):
    path = config_file("")
    for method in fftconv.METHODS:
        path.write_text(f'[planner]\nmethod = "{method}"\nbackend = "fftw"\n')
        assert config.load(path).method == method
    monkeypatch.setenv("FFTCONV_METHOD", "separable")
    assert config.get().method == "separable"
    blur = np.outer(np.hanning(9), np.hanning(9))
    assert fftconv.plan(rng.standard_normal((200, 200)), blur).method == "separable"
    monkeypatch.setenv("FFTCONV_METHOD", "magic")
    with pytest.raises(fftconv.ConfigError, match="FFTCONV_METHOD.*separable"):
        config.get()


def test_costs_from_file_reach_the_planner(config_file):
    """Transforms priced out of reach leave the direct sum, whichever of its executors serves
    (the file's `direct_mac` alone prices only scipy.ndimage's loop: with it this test passed
    after other tests, and failed run alone)."""
    config_file("[planner.costs]\nfft_point = 1e-3\nfft_point_log = 1e-3\n")
    assert config.get().costs.fft_point == 1e-3
    assert fftconv.plan((2048, 2048), (31, 31), "same", threads=1).method == "direct"


@pytest.mark.parametrize("text, words", [
    ("[fftw\nthreads = 2", ["not valid TOML"]),
    ("[gpu]\nthreads = 2\n", ["unknown table [gpu]"]),
    ("[fftw]\nthread = 2\n", ["unknown key 'thread'", "[fftw]"]),
    ("[fftw]\nthreads = 0\n", ["threads", "positive integer"]),
    ("[fftw]\nthreads = \"many\"\n", ["threads", "positive integer"]),
    ("[fftw]\nplanner_effort = \"exhaustive\"\n", ["planner_effort", "estimate"]),
    ("[planner]\nmethod = \"winograd\"\n", ["method", "tiled"]),
    ("[planner.costs]\nfft_speed = 1.0\n", ["fft_speed", "unknown cost coefficient"]),
    ("[planner.costs]\ndirect_mac = -1\n", ["direct_mac", "positive number"]),
    ("[memory]\nlimit = \"lots\"\n", ["limit", "2GiB"]),
    ("fftw = 3\n", ["[fftw] must be a table"]),
])
def test_bad_files_name_the_file_the_key_and_the_problem(config_file, text, words):
    path = config_file(text)
    with pytest.raises(fftconv.ConfigError) as info:
        config.get()
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert str(path) in message
    for word in words:
        assert word in message


def test_bad_environment_and_overrides(config_file, monkeypatch):
    config_file("")
    monkeypatch.setenv("FFTCONV_PLANNER_EFFORT", "hard")
    with pytest.raises(fftconv.ConfigError, match="FFTCONV_PLANNER_EFFORT"):
        config.get()
    monkeypatch.delenv("FFTCONV_PLANNER_EFFORT")
    with pytest.raises(fftconv.ConfigError, match="unknown setting 'colour'"):
        with config.override(colour="blue"):
            pass
    with pytest.raises(fftconv.ConfigError, match="memory_limit"):
        with config.override(memory_limit="a lot"):
            pass


def test_missing_file_named_by_the_environment_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("FFTCONV_CONFIG", str(tmp_path / "absent.toml"))
    with pytest.raises(fftconv.ConfigError, match="does not exist"):
        config.get()


def test_sizes():
    assert config.parse_size("2GiB", "x") == 2 * 2**30
    assert config.parse_size("512 MB", "x") == 512 * 10**6
    assert config.parse_size(4096, "x") == 4096
    for bad in ("", "-1MiB", "3 parsecs", True, 0):
        with pytest.raises(fftconv.ConfigError):
            config.parse_size(bad, "x")


@pytest.fixture
def fresh_fftw():
    # an earlier test's size measured in the background would bring its wisdom in mid-test
    assert fftconv.background.wait(120)
    _fftw.forget_wisdom()
    yield
    _fftw.forget_wisdom()


def test_wisdom_round_trip(tmp_path, fresh_fftw):
    folder = tmp_path / "wisdom"
    with config.override(wisdom=str(folder), planner_effort="measure"):
        fftconv.convolve(np.ones((96, 80)), np.ones((5, 5)), method="fft", threads=1)
    size = ((), (100, 84), True, np.dtype(np.float64), 1)
    saved = json.loads(wisdom_store.size_file(folder, _fftw.encode_size(size)).read_text())
    assert saved["fftw"] == _fftw.fftw_version() and "fftw_wisdom" in saved["wisdom"][0]
    assert saved["size"] == _fftw.encode_size(size)
    _fftw.forget_wisdom()
    with pytest.raises(LookupError):
        _fftw.TransformPair(*size, "wisdom", None)
    assert _fftw._import_size(folder, size) is True
    # with the size's wisdom imported, a measured plan without measuring
    assert _fftw.TransformPair(*size, "wisdom", None).measured


def test_a_size_lookup_imports_that_sizes_wisdom_only(tmp_path, fresh_fftw, monkeypatch):
    folder = tmp_path / "wisdom"
    sizes = [((), (n,), True, np.dtype(np.float64), 1) for n in (96, 100, 120)]
    for size in sizes:  # as the measuring process answers: each size's own wisdom
        _fftw.forget_wisdom()
        _fftw.TransformPair(*size, "measure", None)
        wisdom_store.write(folder, _fftw.encode_size(size), _fftw.fftw_version(), _fftw.export_wisdom_blobs())
    _fftw.forget_wisdom()
    read = []
    real_read = wisdom_store.read
    monkeypatch.setattr(wisdom_store, "read", lambda d, s, v: read.append(s) or real_read(d, s, v))
    with config.override(wisdom=str(folder)):
        pair = _fftw.transform_pair((), (100,), True, np.dtype(np.float64), 1)
        assert isinstance(pair, _fftw.TransformPair) and pair.measured
        assert read == [_fftw.encode_size(sizes[1])]
        with pytest.raises(LookupError):  # another size's wisdom was not imported
            _fftw.TransformPair(*sizes[2], "wisdom", None)
        _fftw.transform_pair((), (100,), True, np.dtype(np.float64), 1)
        assert len(read) == 1  # looked up once per process


def test_a_wisdom_file_of_the_old_single_file_kind_is_a_config_error(tmp_path):
    old = tmp_path / "wisdom.json"
    old.write_text("{}")
    with pytest.raises(fftconv.ConfigError, match="is a file; FFTW wisdom is kept in a directory"):
        config.override(wisdom=str(old)).__enter__()


def _size_file(folder, size):
    return wisdom_store.size_file(folder, _fftw.encode_size(size))


def _wisdom_file(fftw: str, length: int, blob: str) -> str:
    return json.dumps({"format": wisdom_store.FORMAT, "fftw": fftw, "size": [[], [length], True, "<f8", 1],
                       "wisdom": [blob, "", ""]})


@pytest.mark.parametrize("content", ["{not json", json.dumps({"format": "other"}),
                                     _wisdom_file("fftw-0.0", 10, ""),  # another FFTW's
                                     _wisdom_file(_fftw.fftw_version(), 11, ""),  # another size's
                                     _wisdom_file(_fftw.fftw_version(), 10, "(garbage")])
def test_corrupt_or_foreign_wisdom_is_a_warning(tmp_path, fresh_fftw, content):
    folder = tmp_path / "wisdom"
    folder.mkdir()
    size = ((), (10,), True, np.dtype(np.float64), 1)
    _size_file(folder, size).write_text(content)
    with pytest.warns(RuntimeWarning, match="wisdom"):
        assert _fftw._import_size(folder, size) is False
    with config.override(wisdom=str(folder)), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fftconv.convolve(np.arange(10.0), np.ones(3), method="fft")
    np.testing.assert_allclose(out, np.convolve(np.arange(10.0), np.ones(3)), atol=1e-12)


def test_repeated_calls_follow_setting_changes(rng, monkeypatch):
    """Plans are memoised per call signature; a changed setting must still change the plan."""
    from fftconv.engine import run, trials

    monkeypatch.setattr(trials, "TRIAL_RATIO", 1.0)  # no trial: the same plan on every call
    seen = []
    real_plan = run.plan
    monkeypatch.setattr(run, "plan", lambda *args, **kw: seen.append(real_plan(*args, **kw)) or seen[-1])
    a, b = rng.standard_normal((300, 300)), rng.standard_normal((41, 41))  # an FFT's size
    first = fftconv.convolve(a, b, "same", threads=1)
    fftconv.convolve(a, b, "same", threads=1)  # planned again, or served by the lane
    with config.override(method="direct"):
        forced = fftconv.convolve(a, b, "same", threads=1)
    assert seen[0].method != "direct" and seen[-1].method == "direct"
    assert all(plan.method == seen[0].method for plan in seen[:-1])
    np.testing.assert_allclose(forced, first, atol=1e-10)


def test_a_sizes_empty_precisions_are_not_imported(tmp_path, fresh_fftw, monkeypatch):
    """FFTW takes ~0.2 ms to import even an empty wisdom; a size's file holds one precision."""
    folder = tmp_path / "wisdom"
    size = ((), (96,), True, np.dtype(np.float64), 1)
    _fftw.TransformPair(*size, "measure", None)
    blobs = _fftw.export_wisdom_blobs()
    assert "(" in blobs[0].strip()[1:] and blobs[1].strip().count("(") == 1  # double entries, no single
    wisdom_store.write(folder, _fftw.encode_size(size), _fftw.fftw_version(), blobs)
    _fftw.forget_wisdom()
    seen = []
    core = _fftw._pyfftw()
    real_import = core.import_wisdom
    monkeypatch.setattr(core, "import_wisdom", lambda blobs: seen.append(blobs) or real_import(blobs))
    assert _fftw._import_size(folder, size) is True
    assert seen == [(blobs[0].encode("ascii"), b"", b"")]
    assert _fftw.TransformPair(*size, "wisdom", None).measured


@pytest.mark.skipif(sys.platform != "linux", reason="platformdirs reads XDG_CONFIG_HOME on Linux")
def test_the_file_is_found_again_where_its_folder_moves(tmp_path, monkeypatch):
    """The file's path is remembered for the variables it is found from: another
    XDG_CONFIG_HOME finds another file (or none) at the next call."""
    monkeypatch.delenv("FFTCONV_CONFIG", raising=False)
    for name, threads in (("a", 3), ("b", None), ("a", 3)):
        home = tmp_path / name
        (home / "fftconv").mkdir(parents=True, exist_ok=True)
        if threads:
            (home / "fftconv" / "config.toml").write_text(f"[fftw]\nthreads = {threads}\n")
        monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
        assert config.get().threads == threads


def test_the_file_is_read_once_and_again_on_reload(config_file, monkeypatch):
    """A call does not look at the file again (its ``stat`` had cost the first call after a
    second's pause ~70 us); an edit applies after `config.reload`."""
    path = config_file("[fftw]\nthreads = 3\n")
    assert config.get().threads == 3
    path.write_text("[fftw]\nthreads = 2\n")
    time.sleep(1.05)  # the file had been looked at again after a second
    looked = []
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda *a, **k: looked.append(a) or real_stat(*a, **k))
    assert config.get().threads == 3 and looked == []
    assert config.reload().threads == 2 and looked
    assert config.get().threads == 2


def test_the_forced_method_is_the_resolved_setting(config_file, monkeypatch):
    """`config.forced_method` (the tiny calls' only setting) reads fewer places than `get`,
    and answers as it does from each."""
    monkeypatch.delenv("FFTCONV_METHOD", raising=False)
    monkeypatch.setattr(config, "_overridden", [False])  # as in a process that never overrode
    path = config_file('[planner]\nmethod = "direct"\n')
    assert config.get().method == "direct"
    resolved, real_get = [], config.get
    monkeypatch.setattr(config, "get", lambda: resolved.append(1) or real_get())
    assert config.forced_method() == "direct" and not resolved  # the file's method, as it was read
    monkeypatch.setenv("FFTCONV_METHOD", "fft")
    assert config.forced_method() == "fft"
    with config.override(method="tiled"):
        assert config.forced_method() == "tiled"
    monkeypatch.delenv("FFTCONV_METHOD")
    assert config.forced_method() == "direct"
    other = path.with_name("other.toml")
    other.write_text('[planner]\nmethod = "separable"\n')
    monkeypatch.setenv("FFTCONV_CONFIG", str(other))  # the file's path changed: read there
    assert config.forced_method() == "separable"
