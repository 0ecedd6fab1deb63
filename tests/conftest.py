import os
import re
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest

import fftconv
from fftconv.engine import lane, tiny

#: Methods that take any kernel ('separable' needs a rank-1 one: tests/test_separable.py).
GENERAL_METHODS = [m for m in fftconv.METHODS if m != "separable"]

# Hermetic settings: no user config file, wisdom in a scratch directory, not in the user's cache.
_scratch = Path(tempfile.mkdtemp(prefix="fftconv-tests-"))
(_scratch / "config.toml").write_text("")
os.environ["FFTCONV_CONFIG"] = str(_scratch / "config.toml")
os.environ["FFTCONV_WISDOM"] = str(_scratch / "wisdom")
os.environ["FFTCONV_CALIBRATE"] = "off"  # plans from the built-in coefficients, whatever the CPU
os.environ["FFTCONV_VERDICTS"] = "off"  # each test times its trials: no verdict of an earlier run or test
for _var in ("FFTCONV_THREADS", "FFTCONV_PLANNER_EFFORT", "FFTCONV_METHOD", "FFTCONV_BACKEND",
             "FFTCONV_MEMORY_LIMIT"):
    os.environ.pop(_var, None)


@pytest.fixture(autouse=True, scope="session")
def tiny_routes_ready():
    """scipy's loops imported and probed, as a script's tiny routes are once their background
    import has run (`fftconv.engine.tiny._ready`); tests of the time before patch `_ready`."""
    tiny.prepare_scipy_routes()


@pytest.fixture(autouse=True, scope="module")
def no_background_work_left_queued():
    """A test module leaves no job queued in the background thread (the job running is let
    finish): jobs its calls queued (FFTW measurements of their sizes, mostly) had run during
    later modules, and a test that waits for the thread to be idle waited for all of them (the
    `background` doctest, 34 s of the suite). A dropped job's key may be submitted again."""
    yield
    from fftconv import background

    with background._lock:
        for _, _, key, _ in background._queue:
            background._known.discard(key)
        background._queue.clear()


@pytest.fixture(autouse=True)
def no_remembered_routes():
    """Each test starts with no routes remembered by the lane (`fftconv.engine.lane`): a route
    keeps what its signature's first call planned, so a test's patches of the engine's
    internals would not reach a signature an earlier test had called."""
    lane.clear()


@pytest.fixture(autouse=True)
def planned(monkeypatch, request):
    """Calls planned from their signature's first call: no signature rents a route without a
    plan (a small filter with holes' `fftconv.engine.tiny_holes`; a separable filter's passes on
    scipy's loops, `fftconv.ndimage.scipy_passes.route`; a zero-fill 2-D signal call or an
    ndimage call on fftconv's compiled tiny loop beyond the tiny size,
    `fftconv.engine.tiny.RENT_2D_MACS` and `RENT_NDIMAGE_MACS`), so
    that a test comparing fftconv's answer with scipy's exercises the engine's paths, not
    scipy's loops, on small images too.
    Tests of the rentals ask for `rented_first_calls`."""
    if "rented_first_calls" in request.fixturenames:
        return
    from fftconv.engine import tiny_holes
    from fftconv.ndimage import scipy_passes

    monkeypatch.setattr(tiny_holes, "RENT_SECONDS", 0.0)
    monkeypatch.setattr(scipy_passes, "RENT_SECONDS", 0.0)
    monkeypatch.setattr(tiny, "RENT_2D_MACS", 0)
    monkeypatch.setattr(tiny, "RENT_NDIMAGE_MACS", 0)


@pytest.fixture
def rented_first_calls():
    """A signature's first calls rent their routes without a plan, as in a user's process
    (`planned` stands aside)."""


@pytest.fixture
def rng():
    return np.random.default_rng(20261124)


def in_threads(work, count: int = 4) -> None:
    """``work(i)`` for ``i`` in ``range(count)``, each in a thread of its own, all at once."""
    import threading

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def assert_close(actual, expected, dtype=None, ulps=200.0):
    """Same shape and dtype as the oracle; values within ``ulps`` machine epsilons (of the
    compared dtype) times the result's magnitude. Integer and bool results must be equal."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    dtype = np.dtype(dtype or expected.dtype)
    if dtype.kind in "biu":
        np.testing.assert_array_equal(actual, expected)
        return
    if expected.size == 0:
        return
    a = actual.astype(np.clongdouble)
    e = expected.astype(np.clongdouble)
    scale = max(float(np.max(np.abs(e))), 1.0)
    err = float(np.max(np.abs(a - e)))
    limit = ulps * float(np.finfo(dtype).eps) * scale
    assert err <= limit, f"max error {err:g} exceeds {limit:g} ({dtype})"


#: scipy.ndimage's boundary modes.
NDIMAGE_MODES = ["reflect", "constant", "nearest", "mirror", "wrap", "grid-mirror", "grid-constant",
                 "grid-wrap"]


def strided_copy(array: np.ndarray) -> np.ndarray:
    """``array``'s values in a view of every other sample of a larger array's last axis (a
    layout no C-contiguous path can take)."""
    wide = np.zeros(array.shape[:-1] + (2 * array.shape[-1],), array.dtype)
    wide[..., ::2] = array
    return wide[..., ::2]


def random_values(rng, shape, dtype):
    """Standard normal values of ``dtype`` (integers scaled by 100, unsigned ones made
    positive, complex ones with an imaginary part)."""
    data = rng.standard_normal(shape) * (100 if np.dtype(dtype).kind in "iu" else 1)
    if np.dtype(dtype).kind == "c":
        data = data + 1j * rng.standard_normal(shape)
    if np.dtype(dtype).kind == "u":
        data = np.abs(data)
    return data.astype(dtype)


def outcome(call):
    """(result, None) or (None, the exception) of ``call()``, warnings silenced: what the
    bad-input batteries compare with their oracle's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return call(), None
        except Exception as exc:  # noqa: BLE001 (the oracle's exception is what is compared)
            return None, exc


#: The pytest plugins that rebind a peer's names to fftconv's in its own test modules.
PEERS = Path(__file__).parent / "peers"


def run_peer_tests(plugin: str, arguments: list[str], cwd: Path) -> list[str]:
    """Run a peer's own tests (``arguments`` to pytest) in a fresh interpreter with the plugin
    of `PEERS` named ``plugin``, and assert that they pass: exit status 0, some passed, none
    failed or in error. Returns pytest's output lines (its summary last) for the caller's own
    checks."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(PEERS), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", plugin,
                           *arguments], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    lines = done.stdout.strip().splitlines()
    summary = lines[-1] if lines else ""
    assert done.returncode == 0 and re.search(r"\d+ passed", summary), (done.stdout[-3000:],
                                                                          done.stderr[-2000:])
    assert not re.search(r"\d+ (failed|error)", summary), summary
    return lines


@pytest.fixture
def contested(monkeypatch):
    """Every signature contested, and each executor's calls 'taking' a set time (the dict
    yielded: executor -> seconds, 1 s where not set)."""
    from fftconv.engine import run, trials

    monkeypatch.setattr(trials, "TRIAL_RATIO", 1e9)
    monkeypatch.setattr(run, "_runs_final", lambda plan: True)  # FFTW's plans: as they will stay
    monkeypatch.setattr(run, "FULL_PLAN_SECONDS", 0.0)  # a signature's second call plans in full
    # the pipeline from a signature's first call (NumPy's transforms would take first calls)
    monkeypatch.setattr(tiny, "first_nd_fft", lambda *args: None)
    monkeypatch.setattr(tiny, "first_1d_route", lambda *args: None)
    run._memo.clear()
    lane.clear()
    speeds = {}
    real_record = trials.Trial.record

    def record(self, plan, seconds):
        real_record(self, plan, speeds.get(plan.executor, 1.0))

    monkeypatch.setattr(trials.Trial, "record", record)
    yield speeds
    run._memo.clear()
    lane.clear()
