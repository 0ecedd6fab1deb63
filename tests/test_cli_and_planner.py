"""The planner's contract and the command line (argument handling and output, not timings)."""

import csv
import json

import numpy as np
import pytest
import scipy.signal

import fftconv
from fftconv.cli import bench as _benchmark
from fftconv.cli import main


def test_methods_lists_auto_first():
    assert fftconv.METHODS[0] == "auto"
    assert set(fftconv.METHODS) == {"auto", "direct", "fft", "tiled", "separable"}


def test_plan_is_deterministic_frozen_and_explains_itself():
    a = fftconv.plan((2048, 2048), (11, 11), "same", threads=1)
    b = fftconv.plan((2048, 2048), (11, 11), "same", threads=1)
    assert a == b
    with pytest.raises(AttributeError):
        a.method = "direct"
    assert set(a.estimates) == {"direct", "fft", "tiled"}
    assert a.estimates[a.method] == min(a.estimates.values())
    text = a.explain()
    assert a.method in text and "estimated" in text


def test_plan_accepts_arrays_and_forced_methods(rng):
    x = rng.standard_normal((64, 64)).astype(np.float32)
    p = fftconv.plan(x, np.ones((3, 3), np.float32), "valid", method="fft", threads=1)
    assert p.method == "fft" and p.compute_dtype == np.float32
    assert p.fft_shape == (64, 64)  # 'valid' needs no linear padding
    assert fftconv.plan((10,), (3,), method="direct").fft_shape is None


def test_plan_picks_the_cheap_extremes():
    assert fftconv.plan((64,), (3,), threads=1).method == "direct"
    assert fftconv.plan((4096, 4096), (63, 63), "same", threads=1).method != "direct"


def test_plan_errors():
    with pytest.raises(ValueError, match="mode"):
        fftconv.plan((4, 4), (2, 2), mode="nope")
    with pytest.raises(ValueError, match="dimensions"):
        fftconv.plan((4, 4), (2,))
    with pytest.raises(ValueError, match="method"):
        fftconv.plan((4, 4), (2, 2), method="magic")


def test_choose_conv_method_returns_methods_convolve_accepts(rng):
    a, b = rng.standard_normal((300, 300)), rng.standard_normal((15, 15))
    m = fftconv.choose_conv_method(a, b, "same")
    assert m in fftconv.METHODS[1:]
    np.testing.assert_allclose(fftconv.convolve(a, b, "same", m), scipy.signal.convolve(a, b, "same"),
                               atol=1e-10)
    best, times = fftconv.choose_conv_method(a[:40, :40], b[:3, :3], measure=True)
    assert set(times) == {"direct", "fft", "tiled"} and best == min(times, key=times.get)


def test_cli_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert fftconv.__version__ in capsys.readouterr().out


def test_cli_plan(capsys):
    assert main(["plan", "4096x4096", "31x31", "--mode", "same", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "chosen: tiled" in out
    assert main(["plan", "8,8", "3,3", "--dtype", "not-a-dtype"]) == 2
    assert "not-a-dtype" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["plan", "0x4", "3x3"], ["plan", "4x4"], ["bench", "--threads", "0"],
                                  ["bench", "--rounds", "x"], ["frobnicate"]])
def test_cli_rejects_bad_arguments(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "error" in capsys.readouterr().err


TINY_SUITE = """
description = "tiny"
rounds = 1
[[case]]
image = [40, 40]
kernel = [3, 3]
[[case]]
image = [300]
kernel = [8]
mode = "full"
"""


def test_cli_bench_json_and_csv_have_a_row_per_implementation_per_case(tmp_path, capsys):
    suite = tmp_path / "tiny.toml"
    suite.write_text(TINY_SUITE)
    json_path, csv_path = tmp_path / "r.json", tmp_path / "r.csv"
    png = tmp_path / "speedup.png"
    assert main(["bench", "--suite", str(suite), "--no-progress", "--json", str(json_path),
                 "--csv", str(csv_path), "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = json.loads(json_path.read_text())
    assert report["machine"]["threads"] == 1 and "fftw" in report["machine"]
    cases = _benchmark.load_suite(str(suite)).cases
    assert [c.name for c in cases] == ["40x40 * 3x3 same float64", "300 * 8 full float64"]
    for case in cases:
        names = {r["implementation"] for r in report["rows"] if r["case"] == case.name}
        assert names == set(_benchmark.peers(case)) | set(_benchmark.ours(case, 1))
    assert all(r["max_rel_error"] < 1e-12 for r in report["rows"])
    lines = list(csv.DictReader(csv_path.read_text().splitlines()))
    assert len(lines) == len(report["rows"])
    assert {"case", "implementation", "peer", "median_s", "cpu", "threads"} <= set(lines[0])
    assert "fftconv.convolve" in capsys.readouterr().out


@pytest.mark.parametrize("text, words", [
    ("rounds = 1\n", "no [[case]]"),
    ("[[case]]\nimage = [4]\n", "needs image and kernel"),
    ("[[case]]\nimage = [4]\nkernel = [2]\ncolour = 1\n", "unknown keys"),
    ("[[case]]\nimage = [4]\nkernel = [2]\nmode = 'middle'\n", "bad mode"),
    ("[[case\n", "not valid TOML"),
])
def test_bad_suite_files_are_clear_errors(tmp_path, capsys, text, words):
    suite = tmp_path / "bad.toml"
    suite.write_text(text)
    assert main(["bench", "--suite", str(suite), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert words in err and str(suite) in err


def test_builtin_suites_load():
    for name in _benchmark.BUILTIN_SUITES:
        suite = _benchmark.load_suite(name)
        assert suite.cases and suite.rounds >= 1
    assert main(["bench", "--suite", "nonexistent", "--no-progress"]) == 2


def test_absent_optional_peers_are_skipped_with_a_note(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(_benchmark, "_optional", lambda module: None)
    case = _benchmark.Case((40, 40), (3, 3), "same")
    assert not {"opencv.filter2D", "astropy.convolve_fft"} & set(_benchmark.peers(case))
    suite = tmp_path / "tiny.toml"
    suite.write_text(TINY_SUITE)
    assert main(["bench", "--suite", str(suite), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "cv2 is not installed" in out and "astropy.convolution is not installed" in out


def test_installed_optional_peers_compute_the_same_convolution(rng):
    case = _benchmark.Case((30, 20), (5, 3), "same")
    a, b = _benchmark.make_inputs(case)
    table = _benchmark.peers(case)
    assert {"opencv.filter2D", "astropy.convolve_fft"} <= set(table)  # both in the test extra
    for name in ("opencv.filter2D", "astropy.convolve_fft"):
        np.testing.assert_allclose(table[name](a, b), scipy.signal.convolve(a, b, "same"), atol=1e-12)


def test_plot_without_matplotlib_fails_before_benchmarking(tmp_path, monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib"
                        else real(name, *a))
    assert main(["bench", "--quick", "--plot", str(tmp_path / "p.png"), "--no-progress"]) == 2
    captured = capsys.readouterr()
    assert "needs matplotlib" in captured.err and "fftconv.convolve" not in captured.out
