"""What a new user meets: kernels, lower-rank kernels with axes, dtypes kept, the module
entry point, packaging metadata."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage
import scipy.signal
from conftest import assert_close

import fftconv


def test_kernels_and_ndimage_are_there_after_import():
    assert callable(fftconv.kernels.gaussian) and callable(fftconv.ndimage.convolve)


def test_gaussian_takes_one_sigma_per_axis_as_gaussian_filter_does(rng):
    k = fftconv.kernels.gaussian((2, 0.5))
    assert k.shape == (17, 5)
    x = rng.standard_normal((40, 30))
    want = scipy.ndimage.gaussian_filter(x, (2, 0.5), mode="reflect")
    assert_close(fftconv.ndimage.correlate(x, k, mode="reflect"), want, ulps=100)
    for bad in ((1, 2, 3), (1, -1), "wide"):
        with pytest.raises(ValueError, match="sigma"):
            fftconv.kernels.gaussian(bad)


def test_a_kernel_with_one_axis_per_convolved_axis(rng):
    stack = rng.standard_normal((3, 20, 16))
    k = rng.standard_normal((5, 4))
    want = np.stack([scipy.signal.convolve(image, k, "same") for image in stack])
    assert_close(fftconv.convolve(stack, k, "same", axes=(1, 2)), want)
    assert_close(fftconv.fftconvolve(stack, k, "same", axes=(1, 2)), want)
    with pytest.raises(ValueError, match="one per axis"):
        fftconv.convolve(stack, np.ones(3), axes=(1, 2))


def test_a_convolver_refuses_to_drop_precision(rng):
    conv = fftconv.Convolver(np.ones((3, 3), np.float32), (10, 10), dtype=np.float32)
    with pytest.raises(TypeError, match="losing precision.*dtype=float64"):
        conv(rng.standard_normal((10, 10)))
    assert conv(np.ones((10, 10), np.uint8)).dtype == np.float32  # exact in float32


def test_python_m_fftconv_runs_the_command():
    done = subprocess.run([sys.executable, "-m", "fftconv", "plan", "64x64", "3x3"], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0 and "chosen:" in done.stdout


def test_package_carries_its_license_and_type_marker():
    root = Path(fftconv.__file__).parent
    assert (root / "py.typed").exists()
    assert "BSD 3-Clause" in (root.parent / "LICENSE").read_text()
