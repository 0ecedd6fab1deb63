"""What a new user meets at the edges (issue: new user, second pass): every wrong input to the
CLI and the shape-taking functions refused with one clear line, never numpy's raw message or
advice to unpickle."""

import pickle

import numpy as np
import pytest

import fftconv
from fftconv.cli import main


@pytest.fixture
def files(tmp_path, monkeypatch, rng):
    monkeypatch.chdir(tmp_path)
    np.save("img.npy", rng.standard_normal((32, 32)))
    np.save("scalar.npy", np.float64(3.0))
    np.save("words.npy", np.array(["a", "b"]))
    np.save("objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (tmp_path / "fake.npy").write_bytes(pickle.dumps({"not": "numpy"}))
    (tmp_path / "text.npy").write_text("1 2 3\n")
    return tmp_path


def one_line_error(capsys, argv, *words):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors: usage, then one line
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "\n".join(err)
    text = err[-1]
    assert "pickle" not in text.lower() or "pickled" not in text.lower()
    for word in words:
        assert word in text, (word, text)
    return text


@pytest.mark.parametrize("argv, words", [
    (["filter", "img.npy", "o.npy", "--kernel", "box:3", "--dtype", "str"], ["--dtype str", "numeric dtype"]),
    (["filter", "img.npy", "o.npy", "--kernel", "box:3", "--dtype", "object"], ["--dtype object"]),
    (["filter", "img.npy", "o.npy", "--kernel", "box:3", "--dtype", "floaty"], ["not a NumPy dtype"]),
    (["filter", "scalar.npy", "o.npy", "--kernel", "box:3"], ["single number", "at least one axis"]),
    (["filter", "words.npy", "o.npy", "--kernel", "box:3"], ["needs numbers"]),
    (["filter", "fake.npy", "o.npy", "--kernel", "box:3"], ["is not a .npy file"]),
    (["filter", "text.npy", "o.npy", "--kernel", "box:3"], ["is not a .npy file"]),
    (["filter", "objects.npy", "o.npy", "--kernel", "box:3"], ["holds Python objects"]),
    (["filter", "img.npy", "o.npy", "--kernel", "fake.npy"], ["kernel file", "is not a .npy file"]),
    (["filter", "img.npy", "o.npy", "--kernel", "objects.npy"], ["kernel file", "holds Python objects"]),
    (["filter", "img.npy", "o.npy", "--kernel", "words.npy"], ["kernel file", "needs numbers"]),
    (["filter", "img.npy", "o.npy", "--kernel", "box:3", "--axes", "a"], ["--axes", "axis numbers"]),
    (["filter", "img.npy", "o.npy", "--kernel", "box:3", "--axes", "0,7"], ["--axes 0,7", "2 axes"]),
    (["filter", "img.npy", "o.npy", "--kernel", "box:3", "--axes", "1,1"], ["at most once"]),
    (["filter", "img.npy", "o.npy", "--kernel", "gaussian:sigma=1e6"], ["8,000,001 taps"]),
    (["filter", "img.npy", "o.npy", "--kernel", "gaussian:sigma=1e5", "--nan", "interpolate"],
     ["800001 x 800001", "needs about"]),
    (["plan", "64x64", "3x3", "--dtype", "str"], ["--dtype str", "cannot be convolved"]),
    (["plan", "64x64", "3x3", "--dtype", "datetime64"], ["cannot be convolved"]),
    (["plan", "100000000000x100000000000", "3x3"], ["no array can be that large"]),
    (["plan", "99999999999999999999999x2", "3x3"], ["no array can be that large"]),
    (["plan", "-64x64", "3x3"], ["-64x64 is not a shape", "positive"]),
    (["plan", "-64", "3"], ["not a shape of positive lengths"]),
    (["plan", "64x64", "fake.npy"], ["is not a .npy file"]),
    (["tune", "--threads", "-1"], ["must be at least 1"]),
    (["tune", "--config", "/nonexistent-dir/x.toml"], ["does not exist"]),
    (["bench", "--threads", "0"], ["must be at least 1"]),
    (["bench", "--suite", "nosuch"], ["no suite 'nosuch'"]),
    (["bench", "--suite", "img.npy"], ["not a suite TOML file"]),
    (["bench", "--quick", "--json", "/nonexistent-dir/x.json"], ["does not exist"]),
    (["bench", "--quick", "--plot", "/nonexistent-dir/p.png"], ["does not exist"]),
    (["filter", "missing.npy", "o.npy", "--kernel", "box:3"], ["does not exist"]),
    (["filter", "img.npy", "/nonexistent-dir/o.npy", "--kernel", "box:3"], ["does not exist"]),
])
def test_the_cli_refuses_bad_input_in_one_line(files, capsys, argv, words):
    one_line_error(capsys, argv, *words)
    assert not (files / "o.npy").exists()


@pytest.mark.parametrize("call, error, words", [
    (lambda: fftconv.plan((64, 64), (3.5, 3)), TypeError, "whole numbers"),
    (lambda: fftconv.plan((64, 64), (True, 3)), TypeError, "whole numbers"),
    (lambda: fftconv.plan((-64, 64), (3, 3)), ValueError, "lengths must be positive"),
    (lambda: fftconv.plan((10**11, 10**11), (3, 3)), ValueError, "no array can be that large"),
    (lambda: fftconv.Convolver(np.ones((3, 3)), "64x64"), TypeError, "tuple of lengths"),
    (lambda: fftconv.Convolver(np.ones((3, 3)), (-5, 10)), ValueError, "lengths must be positive"),
    (lambda: fftconv.Convolver(np.ones((3, 3)), (5.5, 4)), TypeError, "whole numbers"),
    (lambda: fftconv.Convolver(np.ones((0, 3)), (5, 4)), ValueError, "the kernel is empty"),
])
def test_shapes_are_checked_with_a_clear_message(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_memory_limits_are_printed_in_units_that_show_them(tmp_path, rng):
    source = np.lib.format.open_memmap(tmp_path / "in.npy", "w+", np.float64, (64, 64))
    source[:] = rng.standard_normal((64, 64))
    with fftconv.config.override(memory_limit="1KB"), pytest.raises(fftconv.MemoryLimitError) as info:
        fftconv.ndimage.convolve(source, rng.standard_normal((31, 31)))
    assert "0.0 MiB" not in str(info.value) and "1000 B" in str(info.value)


def test_a_progress_bar_is_labelled_by_its_call_and_quiet_off_a_terminal(rng, capsys):
    fftconv.ndimage.convolve(rng.standard_normal((40, 40)), np.ones((3, 3)), progress=True)
    err = capsys.readouterr().err
    assert "fftconv filter" not in err  # not the CLI's label
    assert "\r" not in err  # stderr is not a terminal here: no carriage returns in logs


def test_a_progress_bar_on_a_terminal_names_the_call(rng, monkeypatch):
    from fftconv.engine import blocks

    labels = []
    monkeypatch.setattr(blocks, "_progress_bar", lambda n, shown, label: labels.append(label)
                        or blocks.contextlib.nullcontext(blocks._NoBar()))
    fftconv.ndimage.convolve(rng.standard_normal((40, 40)), np.ones((3, 3)), progress=True)
    assert labels == ["fftconv: (40, 40) * (3, 3)"]


def test_bench_help_says_what_the_plot_shows(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "vs image and kernel size" not in text and "per case" in text and "each peer" in text


def test_costs_set_by_hand_are_not_called_tuned(monkeypatch):
    with fftconv.config.override(costs={"fft_point_log": 8.3e-11}):
        text = fftconv.plan((256, 256), (9, 9)).explain()
    assert "from fftconv tune" not in text and "calibration is off" in text


def test_plan_explains_correlations_ndimage_modes_and_separable_passes(capsys):
    assert main(["plan", "1024x1024", "gaussian:sigma=2", "--mode", "same", "--threads", "1"]) == 0
    assert "passes: axis 0 (17 taps), then axis 1 (17 taps)" in capsys.readouterr().out
    assert main(["plan", "1024x1024", "box:4x5", "--boundary", "wrap", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("uniform_filter of (1024, 1024)") and "origin -1" in out and "mode 'wrap'" in out
    assert main(["plan", "512x512", "7x7", "--boundary", "nearest", "--origin", "1", "--correlate"]) == 0
    out = capsys.readouterr().out
    assert "correlate of (512, 512)" in out and "not a separable one" in out
    assert main(["plan", "64x64", "3x3", "--correlate"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("correlate (64, 64) with (3, 3), output (66, 66)")
    assert lines[1].startswith("run as what it equals: the convolution with the kernel reversed")
    assert main(["plan", "64x64", "3x3"]) == 0
    assert capsys.readouterr().out.startswith("convolve (64, 64) with (3, 3)")


def test_plan_of_a_correlation_says_so():
    import fftconv

    text = fftconv.plan(np.ones((40, 40)), np.ones((3, 3)), correlate=True).explain()
    assert text.startswith("correlate (40, 40)") and "kernel reversed" in text
    assert fftconv.plan(np.ones((40, 40)), np.ones((3, 3))).explain().startswith("convolve (40, 40)")


X4 = np.random.default_rng(0).standard_normal((1, 2, 8, 8))
W4 = np.ones((3, 2, 3, 3))


@pytest.mark.parametrize("call, error, words", [
    (lambda: fftconv.nn.conv2d(np.full((1, 2, 8, 8), "a"), W4), TypeError, "numeric arrays"),
    (lambda: fftconv.nn.conv2d(np.float64(1), W4), ValueError, "expected 3-D (unbatched) or 4-D"),
    (lambda: fftconv.nn.conv2d(np.zeros((1, 2, 0, 8)), W4), ValueError, "must not have empty"),
    (lambda: fftconv.nn.conv2d(X4, W4, stride=0), ValueError, "stride must be at least 1"),
    (lambda: fftconv.nn.conv2d(X4, W4, stride=1.5), TypeError, "stride must be an int"),
    (lambda: fftconv.nn.conv2d(X4, W4, padding="foo"), ValueError, "Invalid padding string"),
    (lambda: fftconv.nn.conv2d(X4, W4, padding=-1), ValueError, "padding must be at least 0"),
    (lambda: fftconv.nn.conv2d(X4, W4, groups=3), ValueError, "expected input"),
    (lambda: fftconv.nn.conv2d(X4, np.ones((3, 2, 9, 9))), ValueError, "kernel size can't be greater"),
    (lambda: fftconv.nn.conv2d(X4, W4, np.ones(5)), ValueError, "bias must have shape"),
    (lambda: fftconv.nn.conv2d(X4, W4, padding=1, padding_mode="foo"), ValueError, "padding_mode must be"),
    (lambda: fftconv.nn.keras_conv(np.ones((1, 5, 1)), np.ones((3, 1, 1)), padding="foo"), ValueError,
     "'causal'"),
    (lambda: fftconv.nn.plan_conv((1, 2, -8, 8), (3, 2, 3, 3)), ValueError, "lengths must be positive"),
    (lambda: fftconv.kernels.gaussian(float("nan")), ValueError, "sigma must be positive"),
    (lambda: fftconv.kernels.box(2.5), ValueError, "positive integer"),
    (lambda: fftconv.config.override(threads=-1).__enter__(), ValueError, "positive integer"),
    (lambda: fftconv.config.override(foo=1).__enter__(), ValueError, "unknown setting 'foo'"),
    (lambda: fftconv.config.override(memory_limit="lots").__enter__(), ValueError, "a size such as"),
    (lambda: fftconv.astropy.convolve(np.float64(1), [1.0]), ValueError, "0-dimensional"),
])
def test_layers_kernels_settings_and_astropy_refuse_bad_input_clearly(call, error, words):
    """(``fftconv.nn`` and ``fftconv.astropy`` are reached from ``import fftconv`` alone.)"""
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)
    assert "Traceback" not in str(info.value)


def test_subpackages_are_reachable_after_import_fftconv_alone():
    import subprocess
    import sys

    code = ("import sys, numpy as np, fftconv\n"
            "assert 'fftconv.nn' not in sys.modules  # not imported until used\n"
            "print(fftconv.nn.conv1d(np.ones((1, 1, 5)), np.ones((1, 1, 2))).shape, "
            "fftconv.astropy.convolve([1.0, 2.0, 3.0], [1.0, 1.0, 1.0]).shape)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["(1,", "1,", "4)", "(3,)"]


def test_threads_beyond_the_cores_are_the_cores(rng, monkeypatch):
    # FFTW made a million threads' plans of a 2304² transform 90x slower than two
    from fftconv.backends import threads

    monkeypatch.setattr(threads, "available_cores", lambda: 3)
    x, k = rng.standard_normal((64, 64)), rng.standard_normal((9, 9))
    assert fftconv.plan(x, k, threads=10**6).threads == 3
    assert fftconv.plan(x, k, threads=2).threads == 2
    assert fftconv.Convolver(k, x.shape, threads=64).threads == 3
    with fftconv.config.override(threads=8):
        assert fftconv.plan(x, k).threads == 3
    np.testing.assert_allclose(fftconv.convolve(x, k, threads=10**6), fftconv.convolve(x, k, threads=1),
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize("call", [
    lambda x: fftconv.convolve(x, x[:3, :3], mode=x),
    lambda x: fftconv.convolve(x, x[:3, :3], method=x),
    lambda x: fftconv.convolve2d(x, x[:3, :3], boundary=x),
    lambda x: fftconv.ndimage.correlate(x, np.ones((3, 3)), mode=x),
    lambda x: fftconv.ndimage.plan(x, np.ones((3, 3))),
])
def test_an_image_passed_where_a_flag_goes_is_named_not_printed(call):
    with pytest.raises((ValueError, RuntimeError)) as info:
        call(np.random.default_rng(0).random((100, 100)))
    assert "an object of type ndarray" in str(info.value) and len(str(info.value)) < 400


def test_non_integer_axes_get_scipys_error():
    import scipy.signal

    for axes in ([0.5], "a", 1.5):
        for ours, theirs in ((fftconv.fftconvolve, scipy.signal.fftconvolve),
                             (fftconv.oaconvolve, scipy.signal.oaconvolve)):
            with pytest.raises(ValueError, match="axes must be a scalar or iterable of integers"):
                theirs(np.ones((4, 4)), np.ones((2, 2)), axes=axes)
            with pytest.raises(ValueError, match="axes must be a scalar or iterable of integers"):
                ours(np.ones((4, 4)), np.ones((2, 2)), axes=axes)


def test_a_gaussian_too_long_for_memory_is_refused_before_it_is_made(monkeypatch):
    # a radius of 10**9 taps needed ~80 GB as Python floats: the process was killed (scipy's too)
    from fftconv.core import memory

    monkeypatch.setattr(memory, "physical_bytes", lambda: 8 << 30)
    monkeypatch.setattr(memory, "available_bytes", lambda: 4 << 30)
    with pytest.raises(MemoryError, match=r"Gaussian pass of 200,000,001 taps .* use a smaller sigma"):
        fftconv.ndimage.gaussian_filter(np.ones((5, 5)), 1.0, radius=10**8)
    with pytest.raises(MemoryError, match="use a smaller sigma, truncate or radius"):
        fftconv.ndimage.gaussian_laplace(np.ones((5, 5)), 1e12)
    assert fftconv.ndimage.gaussian_filter(np.ones((5, 5)), 1e4).shape == (5, 5)  # 80,001 taps fit


def _warns_once_per_place() -> None:
    import warnings
    warnings.warn("shown once from this line, as Python's 'default' filter shows warnings", UserWarning,
                  stacklevel=1)


@pytest.mark.parametrize("call", [
    lambda x, k: fftconv.ndimage.correlate(x, k, mode="constant", cval=1.0),
    lambda x, k: fftconv.ndimage.gaussian_filter(x, 2.0, mode="constant"),
    lambda x, k: fftconv.convolve(x, k, "same"),
    lambda x, k: fftconv.astropy.convolve(x, k, boundary="fill"),
], ids=["ndimage.correlate", "ndimage.gaussian_filter", "convolve", "astropy.convolve"])
def test_a_call_leaves_the_record_of_warnings_shown_alone(rng, monkeypatch, call):
    """A warning shown once from a place is not shown again there after an fftconv call:
    entering ``warnings.catch_warnings`` inside a call reset every module's record, and a
    loop calling astropy's drop-in showed astropy's NaN warning on every call."""
    import warnings

    import fftconv.astropy  # noqa: F401 (the drop-in's module)

    shown = []
    x, k = rng.standard_normal((300, 300)), rng.random((5, 5))  # beyond the tiny calls' path
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        monkeypatch.setattr(warnings, "showwarning", lambda message, *args, **kwargs: shown.append(message))
        _warns_once_per_place()
        call(x, k)
        _warns_once_per_place()
    assert len(shown) == 1, [str(m) for m in shown]
