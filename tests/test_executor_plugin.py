"""A plug-in executor registered from outside the package: the seed's plain-Python loops.

Nothing in fftconv is edited for it: the planner considers it, ``Plan.explain()`` lists it,
``method=`` forces it everywhere (signal, ndimage, Convolver, config, CLI), 'auto' takes it
when it is the cheapest, and block sizing under a memory limit respects its workspace.
"""

import math

import numpy as np
import pytest
import scipy.ndimage
import scipy.signal
from conftest import assert_close
from test_reference_loops import convolve_sum

import fftconv
from fftconv.cli import main
from fftconv.engine.blocks import operand_bytes
from fftconv.executors import Estimate, Executor

#: The toy's working memory per output: large, so that a memory limit visibly cuts blocks.
BYTES_PER_OUTPUT = 4096


class ReferenceLoops(Executor):
    """2-D convolution by the seed's Python loops (full output, then the mode's window)."""

    name = "reference"
    method = "reference"
    exact_integers = True
    requirement = "a 2-D problem without batch axes"

    def __init__(self, seconds_per_tap=1e-6):
        self.seconds_per_tap = seconds_per_tap
        self.blocks_seen = []

    def applies(self, spec, forced=False):
        return spec.rank == 2 and spec.batch_points == 1 and self.compute_dtype(spec).kind in "iuf"

    def estimate(self, spec, costs, memory_limit):
        outputs = spec.out_points
        return Estimate(outputs * math.prod(spec.shape2) * self.seconds_per_tap, outputs * BYTES_PER_OUTPUT)

    def run(self, problem, plan, out, prepared=None, check_finite=True):
        x = problem.x.reshape(problem.x.shape[-2:]).astype(out.dtype)
        h = problem.kernel().astype(out.dtype)
        self.blocks_seen.append((x.shape, plan.workspace))
        full = np.array(convolve_sum(x.tolist(), h.tolist()), dtype=out.dtype)
        w0, w1 = problem.windows
        out.reshape(out.shape[-2:])[...] = full[w0.start:w0.stop, w1.start:w1.stop]


@pytest.fixture
def reference():
    executor = fftconv.executors.register(ReferenceLoops())
    yield executor
    fftconv.executors.unregister("reference")


def test_the_planner_considers_and_explains_it(reference):
    assert fftconv.METHODS[-1] == "reference"
    plan = fftconv.plan((20, 20), (3, 3), "same", threads=1)
    assert "reference" in plan.candidates and plan.estimates["reference"] > 0
    assert "reference" in plan.explain()
    assert plan.method != "reference"  # a Python loop is never the cheapest estimate
    assert "reference" not in fftconv.plan((20,), (3,)).candidates  # 1-D: it does not apply


def test_method_forces_it_in_every_facade(reference, rng):
    x = rng.integers(-9, 9, (9, 7))
    h = rng.integers(-3, 4, (4, 3))
    for mode in ("full", "same", "valid"):
        assert fftconv.plan(x, h, mode, method="reference").executor == "reference"
        np.testing.assert_array_equal(fftconv.convolve(x, h, mode, method="reference"),
                                      scipy.signal.convolve(x, h, mode, method="direct"))
        np.testing.assert_array_equal(fftconv.correlate(x, h, mode, method="reference"),
                                      scipy.signal.correlate(x, h, mode, method="direct"))
        np.testing.assert_array_equal(fftconv.convolve2d(x, h, mode, "symm", method="reference"),
                                      scipy.signal.convolve2d(x, h, mode, "symm"))
    image = rng.standard_normal((12, 10))
    assert_close(fftconv.ndimage.correlate(image, h.astype(float), mode="wrap", method="reference"),
                 scipy.ndimage.correlate(image, h.astype(float), mode="wrap"))
    conv = fftconv.Convolver(h.astype(float), (12, 10), "same", method="reference")
    assert conv.plan.executor == "reference"
    assert_close(conv(image), scipy.signal.convolve(image, h, "same"))
    with fftconv.config.override(method="reference"):
        assert fftconv.plan(x, h).executor == "reference"
    assert len(reference.blocks_seen) == 11  # every call above ran the toy, once
    with pytest.raises(ValueError, match="a 2-D problem without batch axes"):
        fftconv.convolve(np.ones(5), np.ones(2), method="reference")


def test_auto_takes_it_when_it_is_the_cheapest(rng):
    fftconv.executors.register(ReferenceLoops(seconds_per_tap=1e-15))
    try:
        x, h = rng.standard_normal((16, 16)), rng.standard_normal((3, 3))
        assert fftconv.plan(x, h, threads=1).executor == "reference"
        assert_close(fftconv.convolve(x, h, threads=1), scipy.signal.convolve(x, h, method="direct"))
    finally:
        fftconv.executors.unregister("reference")
    assert "reference" not in fftconv.METHODS
    assert fftconv.plan(x, h, threads=1).executor != "reference"  # cached plans were dropped


def test_block_sizing_respects_its_workspace(reference, rng):
    image = rng.standard_normal((60, 40))
    weights = rng.standard_normal((5, 3))
    limit = 1 << 20  # one block would need 60 * 40 * 4 KiB = 9.4 MiB of workspace
    with fftconv.config.override(memory_limit=limit):
        got = fftconv.ndimage.convolve(image, weights, mode="reflect", method="reference")
        assert_close(got, scipy.ndimage.convolve(image, weights, mode="reflect"))
        assert len(reference.blocks_seen) > 1
        f8 = np.dtype(np.float64)
        for (rows, cols), workspace in reference.blocks_seen:
            block = (rows - 4, cols - 2)
            assert workspace == math.prod(block) * BYTES_PER_OUTPUT
            assert operand_bytes(block, (4, 2), f8, f8, f8) + workspace <= limit
    with fftconv.config.override(memory_limit=BYTES_PER_OUTPUT // 2):  # not even one output
        with pytest.raises(fftconv.MemoryLimitError, match="too small"):
            fftconv.ndimage.convolve(image, weights, method="reference")


def test_the_cli_and_config_accept_it(reference, capsys, tmp_path, monkeypatch):
    assert main(["plan", "30x30", "3x3", "--method", "reference"]) == 0
    assert "chosen: reference" in capsys.readouterr().out
    path = tmp_path / "c.toml"
    path.write_text('[planner]\nmethod = "reference"\n')
    assert fftconv.config.load(path).method == "reference"


def test_registration_errors(reference):
    with pytest.raises(ValueError, match="registered already"):
        fftconv.executors.register(ReferenceLoops())
    bad = ReferenceLoops()
    bad.method = "auto"
    bad.name = "other"
    with pytest.raises(ValueError, match="'auto'"):
        fftconv.executors.register(bad)
