"""``fftconv filter``, the kernel specs and the image files it reads and writes."""

import numpy as np
import pytest
import scipy.ndimage
from conftest import assert_close

from fftconv import kernels
from fftconv.cli import main


def test_gaussian_matches_scipy_gaussian_filter(rng):
    x = rng.standard_normal((64, 80))
    want = scipy.ndimage.gaussian_filter(x, sigma=2.5, mode="reflect", truncate=3.0)
    got = scipy.ndimage.correlate(x, kernels.gaussian(2.5, ndim=2, truncate=3.0), mode="reflect")
    assert_close(got, want, ulps=50)


@pytest.mark.parametrize("spec, message", [
    ("gaussian", "needs sigma"), ("gaussian:sigma=-1", "positive"), ("gaussian:size=3", "sigma=S"),
    ("box:x", "box:15"), ("box:0", "positive"), ("disk:3", "unknown kernel"),
    ("missing.npy", "does not exist"),
])
def test_bad_kernel_specs_say_what_is_wrong(spec, message):
    with pytest.raises(ValueError, match=message):
        kernels.from_spec(spec, ndim=2)


def test_npy_to_npy_matches_scipy_and_streams_under_a_limit(rng, tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # a terminal: the bar is shown
    x = rng.standard_normal((300, 260)).astype(np.float32)
    np.save(tmp_path / "in.npy", x)
    code = main(["filter", str(tmp_path / "in.npy"), str(tmp_path / "out.npy"), "--kernel", "box:9x5",
                 "--mode", "mirror", "--memory-limit", "256KiB", "--threads", "1"])
    assert code == 0
    captured = capsys.readouterr()
    assert "wrote" in captured.out and "block" in captured.err  # the progress bar counted blocks
    want = scipy.ndimage.convolve(x.astype(np.float64), np.full((9, 5), 1 / 45), mode="mirror")
    assert_close(np.load(tmp_path / "out.npy"), want.astype(np.float32), ulps=500)


def test_png_colour_image_filters_each_channel(rng, tmp_path):
    from PIL import Image

    rgb = rng.integers(0, 256, (40, 50, 3)).astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "in.png")
    assert main(["filter", str(tmp_path / "in.png"), str(tmp_path / "out.png"), "--kernel",
                 "gaussian:sigma=1.5", "--correlate", "--no-progress"]) == 0
    got = np.asarray(Image.open(tmp_path / "out.png"))
    want = scipy.ndimage.correlate(rgb, kernels.gaussian(1.5, ndim=2)[..., None], mode="reflect")
    assert got.shape == want.shape and got.dtype == np.uint8
    # truncation to uint8 of sums that land within round-off of an integer may differ by one
    diff = np.abs(got.astype(int) - want.astype(int))
    assert diff.max() <= 1 and (diff == 0).mean() > 0.99


def test_tiff_in_and_out_with_a_kernel_file(rng, tmp_path):
    import tifffile

    x = rng.standard_normal((120, 90)).astype(np.float32)
    tifffile.imwrite(tmp_path / "in.tif", x)
    k = rng.standard_normal((7, 4))
    np.save(tmp_path / "k.npy", k)
    assert main(["filter", str(tmp_path / "in.tif"), str(tmp_path / "out.tif"), "--kernel",
                 str(tmp_path / "k.npy"), "--mode", "wrap", "--dtype", "float64", "--no-progress"]) == 0
    want = scipy.ndimage.convolve(x.astype(np.float64), k, mode="wrap")
    assert_close(tifffile.imread(tmp_path / "out.tif"), want, ulps=5000)


@pytest.mark.parametrize("argv, message", [
    (["missing.npy", "out.npy", "--kernel", "box:3"], "does not exist"),
    (["in.npy", "out.bmp", "--kernel", "box:3"], "unsupported file type"),
    (["in.npy", "in.npy", "--kernel", "box:3"], "different file"),
    (["in.npy", "out.npy", "--kernel", "k31.npy", "--memory-limit", "1KiB"], "too small"),
    (["in.npy", "out.png", "--kernel", "box:3"], "PNG holds"),
    (["in.npy", "out.npy", "--kernel", "box:3", "--memory-limit", "lots"], "memory-limit"),
])
def test_filter_errors_exit_2_with_a_message(rng, tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "in.npy", rng.standard_normal((50, 50)))
    np.save(tmp_path / "k31.npy", rng.standard_normal((31, 31)))
    assert main(["filter", *argv, "--no-progress"]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("spec, correlate", [("gaussian:sigma=3,truncate=3", False), ("box:4x5", False),
                                             ("box:4x5", True), ("box:6", False)])
@pytest.mark.parametrize("dask", [False, True])
def test_gaussian_and_box_specs_run_as_the_separable_filters(rng, tmp_path, capsys, spec, correlate, dask):
    if dask:
        pytest.importorskip("dask")
    x = rng.standard_normal((70, 55)).astype(np.float32)
    np.save(tmp_path / "in.npy", x)
    argv = ["filter", str(tmp_path / "in.npy"), str(tmp_path / "out.npy"), "--kernel", spec, "--mode", "wrap",
            "--no-progress", *(["--correlate"] if correlate else []),
            *(["--dask", "--chunks", "16"] if dask else [])]
    assert main(argv) == 0
    name = "gaussian_filter" if spec.startswith("gaussian") else "uniform_filter"
    assert f"by {name}" in capsys.readouterr().out  # the 1-D passes, not one 2-D kernel
    oracle = scipy.ndimage.correlate if correlate else scipy.ndimage.convolve
    want = oracle(x.astype(np.float64), kernels.from_spec(spec, 2), mode="wrap")
    assert_close(np.load(tmp_path / "out.npy"), want.astype(np.float32), ulps=64)
