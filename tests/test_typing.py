"""Types as a user's type checker sees them: a small user script is clean under
``mypy --strict`` (``METHODS`` is a tuple of str, modes are scipy's ``Literal``s, ``Convolver``
is annotated). mypy cannot see through setuptools' editable-install finder, so the checkout is
given as ``MYPYPATH``, as docs/guides/using-fftconv.md says."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy")  # in the test extra

ROOT = Path(__file__).resolve().parents[1]


def mypy(path: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, MYPYPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent",
                           f"--cache-dir={tmp_path / 'cache'}", str(path)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)


USER_SCRIPT = '''
import numpy as np
import numpy.typing as npt

import fftconv
import fftconv.ndimage

image: npt.NDArray[np.float64] = np.random.default_rng(0).random((64, 64))
kernel = np.ones((5, 5)) / 25
blurred: np.ndarray = fftconv.convolve(image, kernel, mode="same")
smooth: np.ndarray = fftconv.ndimage.gaussian_filter(image, 2.0, mode="nearest")
box: np.ndarray = fftconv.ndimage.uniform_filter(image, 5)
methods: tuple[str, ...] = fftconv.METHODS
plan = fftconv.plan((64, 64), (5, 5), "same")
text: str = plan.explain()
blur = fftconv.Convolver(kernel, (64, 64), mode="same")
again: np.ndarray = blur(image)
print(blurred.shape, smooth.shape, box.shape, methods, text[:10], again.shape)
'''


def test_a_user_script_is_clean_under_mypy_strict(tmp_path):
    script = tmp_path / "user_script.py"
    script.write_text(USER_SCRIPT)
    done = mypy(script, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_catches_a_mode_scipy_does_not_have(tmp_path):
    script = tmp_path / "wrong.py"
    script.write_text("import numpy as np\nimport fftconv\n"
                      "y = fftconv.convolve(np.ones(3), np.ones(2), mode='sme')\n")
    done = mypy(script, tmp_path)
    assert done.returncode == 1 and "sme" in done.stdout
