"""What a user of the command line meets when something is wrong: one clear line and a
non-zero exit, output paths checked before any work, no file that looks complete after an
interrupt, and a tune fit that chose worse is not written unless forced."""

import os

import numpy as np
import pytest

import fftconv
from fftconv.cli import build_parser, main
from fftconv.planning import tune as tuning
from fftconv.planning.costs import DEFAULT_COSTS


def one_line_error(capsys, *words):
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    for word in words:
        assert word in lines[0]
    return captured


def test_a_memory_limit_that_excludes_the_forced_method_is_one_line(monkeypatch, capsys):
    monkeypatch.setenv("FFTCONV_MEMORY_LIMIT", "8MiB")
    assert main(["plan", "4096x4096", "31x31", "--method", "fft"]) == 2
    one_line_error(capsys, "fftconv plan:", "memory limit of 8.0 MiB", "fft")


def test_bad_settings_are_one_line(monkeypatch, capsys):
    monkeypatch.setenv("FFTCONV_THREADS", "many")
    assert main(["plan", "64x64", "3x3"]) == 2
    one_line_error(capsys, "FFTCONV_THREADS")


def test_bench_output_paths_are_checked_before_the_run(tmp_path, capsys):
    for flag, name in (("--json", "x.json"), ("--csv", "x.csv"), ("--plot", "x.png")):
        assert main(["bench", "--quick", "--no-progress", flag, str(tmp_path / "missing" / name)]) == 2
        captured = one_line_error(capsys, flag, "does not exist")
        assert "fftconv.convolve" not in captured.out  # nothing was timed


def test_help_is_plain_text_and_explains_every_option(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    assert "``" not in capsys.readouterr().out
    with pytest.raises(SystemExit):
        build_parser().parse_args(["plan", "--help"])
    text = capsys.readouterr().out
    for words in ("output size", "dtype of both inputs", "force a method", "threads to plan for"):
        assert words in text


def test_an_interrupted_filter_leaves_no_output_file(tmp_path, rng, monkeypatch, capsys):
    np.save(tmp_path / "in.npy", rng.standard_normal((64, 64)))
    target = tmp_path / "out.npy"

    def interrupted(*args, **kwargs):
        kwargs["output"][:10] = 1.0  # some work was done
        raise KeyboardInterrupt

    monkeypatch.setattr(fftconv.ndimage, "convolve", interrupted)
    monkeypatch.setattr(fftconv.ndimage, "uniform_filter", interrupted)  # a box runs as 1-D passes
    argv = ["filter", str(tmp_path / "in.npy"), str(target), "--kernel", "box:3", "--no-progress"]
    assert main(argv) == 130
    assert "interrupted" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["in.npy"]  # neither the target nor a partial file


def test_a_failed_filter_keeps_an_existing_output_as_it_was(tmp_path, rng, capsys):
    np.save(tmp_path / "in.npy", rng.standard_normal((64, 64)))
    np.save(tmp_path / "out.npy", np.zeros(3))
    assert main(["filter", str(tmp_path / "in.npy"), str(tmp_path / "out.npy"), "--kernel", "box:3",
                 "--memory-limit", "64B", "--no-progress"]) == 2
    one_line_error(capsys, "memory limit")
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), np.zeros(3))
    assert sorted(os.listdir(tmp_path)) == ["in.npy", "out.npy"]


@pytest.mark.parametrize("force", [False, True])
def test_a_fit_that_chose_worse_is_not_written_unless_forced(tmp_path, monkeypatch, capsys, force):
    worse = tuning.TuneResult(DEFAULT_COSTS, DEFAULT_COSTS, {}, [1.0, 1.1], [1.0, 1.6], 1.0)
    assert worse.worse_than_before()
    assert not tuning.TuneResult(DEFAULT_COSTS, DEFAULT_COSTS, {}, [1.2], [1.0], 1.0).worse_than_before()
    monkeypatch.setattr(tuning, "tune", lambda **kwargs: worse)
    target = tmp_path / "c.toml"
    argv = ["tune", "--quick", "--no-progress", "--config", str(target)] + (["--force"] if force else [])
    code = main(argv)
    assert code == (0 if force else 1)
    assert target.exists() == force
    assert ("not written" in capsys.readouterr().out) != force


def test_plan_names_the_methods_the_memory_limit_excluded(monkeypatch, capsys):
    monkeypatch.setenv("FFTCONV_MEMORY_LIMIT", "8MiB")
    assert main(["plan", "4096x4096", "31x31", "--mode", "same", "--threads", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    fft = next(line for line in lines if line.strip().startswith("fft:"))
    assert "over the memory limit" in fft and "workspace 269" in fft  # MiB of buffers
    assert any("chosen: tiled" in line for line in lines)


def test_a_filtered_file_gets_a_new_files_usual_permissions(tmp_path, rng):
    np.save(tmp_path / "in.npy", rng.standard_normal((16, 16)))
    assert main(["filter", str(tmp_path / "in.npy"), str(tmp_path / "out.npy"), "--kernel", "box:3",
                 "--no-progress"]) == 0
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "out.npy").stat().st_mode & 0o777 == 0o666 & ~umask


def test_the_first_call_timer_refuses_a_case_it_cannot_run_and_times_a_json_one(capsys):
    """``python -m fftconv.cli.first_call`` (the fresh-process benchmarks' child): one clear
    line for a case that is neither named nor a JSON case; the stages timed for one that is."""
    from fftconv.cli import first_call

    for bad in (["nonsense", "fftconv"], ["[1, 2]", "scipy"],
                ['["convolve", [8], [3], "same", "f8"]', "numpy"],
                ["convolve 256x256 x 5x5 same f32", "scipy", "--loop", "x"]):
        with pytest.raises(SystemExit) as exited:
            first_call.main(bad)
        assert exited.value.code == 2
        assert "error:" in capsys.readouterr().err
    timed = first_call.main(['["convolve", [64], [3], "same", "float64"]', "scipy", "--loop", "3"])
    assert timed["who"] == "scipy" and 0 < timed["loop_s"] and 0 < timed["first_s"]
    for who in ("scipy", "fftconv"):  # a filter's second shape holds its parameters
        timed = first_call.main(['["ndimage.gaussian_filter", [32, 32], [1.5], "reflect", "float64"]', who])
        assert timed["who"] == who and 0 < timed["second_s"]


def test_the_first_call_timer_runs_scipys_side_without_importing_fftconv(tmp_path):
    """The fresh-process benchmarks run the timer as a script (`first_call.command`): scipy's
    process must meet scipy's calls as a script importing only scipy does (fftconv's import
    adapts the C heap, `fftconv.heap`, which had made scipy's calls up to 2x faster)."""
    import subprocess
    import sys

    from fftconv.cli import first_call

    args = first_call.command('["convolve", [64], [3], "same", "float64"]', "scipy")
    done = subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True, text=True,
                          cwd=tmp_path, check=True)
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line]
    assert "scipy.signal" in imported and not any(name.split(".")[0] == "fftconv" for name in imported)
    assert '"who": "scipy"' in done.stdout
