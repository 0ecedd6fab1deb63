"""A repeated 1-D real call of a short kernel: ``numpy.convolve``, the tiny compiled loop or the
pipeline, whichever `fftconv.engine.short_1d` estimates the quickest. The expected routes are
measured ones (Intel Xeon, family 6, model 167, 1 thread, repeated calls): clear wins, or
either of two that tie."""

import hypothesis.strategies as st
import numpy as np
import pytest
import scipy.signal
from conftest import assert_close
from hypothesis import given, settings

import fftconv
from fftconv.engine import run, shifted_sums, short_1d, tiny


@pytest.fixture
def routes(monkeypatch):
    """The routes each call took: 'numpy', 'loop' or 'pipeline'."""
    taken = []
    for name in ("convolve", "correlate"):
        original = getattr(np, name)
        monkeypatch.setattr(np, name,
                            lambda *a, original=original, **k: taken.append("numpy") or original(*a, **k))
    original_sum = shifted_sums.signal_sum
    monkeypatch.setattr(shifted_sums, "signal_sum",
                        lambda *a, **k: taken.append("loop") or original_sum(*a, **k))
    original_plan = run.plan
    monkeypatch.setattr(run, "plan", lambda *a, **k: taken.append("pipeline") or original_plan(*a, **k))
    monkeypatch.setattr(tiny, "_spent_1d", {})
    monkeypatch.setattr(tiny, "RENT_1D_SECONDS", 1e-9)  # the first call only is rented
    return taken


@pytest.mark.parametrize(("n", "k", "dtype", "expected"), [
    (12453, 6, np.float32, {"loop", "pipeline"}),  # numpy 18.5 us, loop 12.0, pipeline 11.8
    (7985, 4, np.float32, {"loop"}),  # 8.9, 6.2, 8.9
    (2993, 8, np.float32, {"loop"}),  # 6.1, 4.2, 7.9
    (16000, 9, np.float32, {"pipeline"}),  # 33.2, 20.2, 12.7
    (19999, 2, np.float64, {"numpy"}),  # 6.8, 13.1, 16.4
    (7985, 4, np.float64, {"numpy"}),  # 6.5, 10.7, 10.1
    (1011, 14, np.float64, {"loop"}),  # 10.8 (a BLAS dot an output), 4.4, 7.4
    (16000, 9, np.float64, {"pipeline"}),  # 25.0, 38.1, 17.7
])
def test_a_repeated_call_takes_the_measured_quickest_route(rng, routes, n, k, dtype, expected):
    if shifted_sums.tiny_sums is None and "loop" in expected:
        pytest.skip("the compiled tiny loop was not built")
    a, b = rng.standard_normal(n).astype(dtype), rng.standard_normal(k).astype(dtype)
    want = scipy.signal.convolve(a, b, "full", method="direct")
    assert_close(fftconv.convolve(a, b, "full"), want, ulps=1000)  # the first call: rented
    routes.clear()
    assert_close(fftconv.convolve(a, b, "full"), want, ulps=1000)
    assert routes[0] in expected


@settings(max_examples=60, deadline=None)
@given(outputs=st.integers(1, 200_000), taps=st.integers(1, short_1d.LONG_TAPS - 1),
       dtype=st.sampled_from([np.float32, np.float64]), loop_built=st.booleans())
def test_the_estimates_grow_with_outputs_and_taps_and_the_pick_is_their_least(outputs, taps, dtype,
                                                                              loop_built):
    dtype = np.dtype(dtype)
    for route in ("numpy", "loop", "pipeline"):
        here = short_1d.estimated_seconds(route, outputs, taps, dtype)
        assert short_1d.estimated_seconds(route, outputs + 1, taps, dtype) > here
        assert short_1d.estimated_seconds(route, outputs, taps + 1, dtype) > here
    choice = short_1d.quickest(outputs, taps, dtype, loop_built)
    candidates = ["numpy", "pipeline"] + (["loop"] if loop_built and taps <= short_1d.LOOP_TAPS else [])
    estimates = {route: short_1d.estimated_seconds(route, outputs, taps, dtype) for route in candidates}
    assert estimates[choice or "pipeline"] == min(estimates.values())


def test_complex_and_long_kernels_are_not_priced_here():
    assert short_1d.quickest(1000, 5, np.dtype(np.complex128), True) is None
    assert short_1d.quicker_tiny(1000, short_1d.LONG_TAPS, np.dtype(np.float64), True) is None
