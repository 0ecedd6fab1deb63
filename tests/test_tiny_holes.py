"""A small filter with holes is summed without a plan on its signature's first calls, then
planned once its calls have spent what planning costs (`fftconv.engine.tiny_holes`)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_holes import assert_close_nan, reference

import fftconv
import fftconv.astropy
import fftconv.ndimage as nd
from fftconv.engine import run, tiny_holes

pytestmark = pytest.mark.usefixtures("rented_first_calls")


def holed(rng, shape):
    image = rng.standard_normal(shape)
    image[rng.random(shape) < 0.1] = np.nan
    return image


@pytest.fixture
def plans(monkeypatch) -> list:
    """The problems `fftconv.engine.run.plan` was asked to plan."""
    asked: list = []
    planner = run.plan
    monkeypatch.setattr(run, "plan", lambda problem, *a, **k: asked.append(problem) or planner(problem, *a,
                                                                                                **k))
    return asked


def test_a_first_call_plans_nothing_and_gives_the_reference(rng, plans):
    image = holed(rng, (121,))
    kernel = np.exp(-0.5 * (np.arange(13) - 6.0) ** 2 / 1.45**2)
    got = nd.convolve(image, kernel, mode="constant", nan="interpolate")
    assert plans == []
    assert got.dtype == image.dtype
    assert_close_nan(got, reference(image, kernel[::-1], "constant"), 1e-12)


def test_the_signature_is_planned_once_its_calls_have_spent_the_rent(rng, plans, monkeypatch):
    monkeypatch.setattr(tiny_holes, "RENT_SECONDS", 1e-9)  # one call spends it
    image = holed(rng, (30, 40))
    kernel = rng.random((5, 3)) + 0.1
    want = reference(image, kernel, "nearest")
    calls = [nd.correlate(image, kernel, mode="nearest", nan="interpolate") for _ in range(3)]
    assert plans  # the second call planned it ...
    planned = len(plans)
    assert_close_nan(nd.correlate(image, kernel, mode="nearest", nan="interpolate"), want, 1e-12)
    assert len(plans) == planned  # ... and its route is remembered
    for got in calls:
        assert_close_nan(got, want, 1e-12)


def test_a_signature_rents_for_its_first_calls_only(rng, plans, monkeypatch):
    """However little its calls cost, a signature rents for `lane.RENTED_CALLS` calls: a loop
    settles on its planned route, up to 3x quicker than the rented one."""
    monkeypatch.setattr(tiny_holes, "RENT_SECONDS", 1e9)
    image = holed(rng, (40,))
    for _ in range(fftconv.engine.lane.RENTED_CALLS):
        nd.correlate(image, np.ones(3), nan="interpolate")
    assert plans == []
    nd.correlate(image, np.ones(3), nan="interpolate")
    assert plans


def test_a_forced_method_or_a_large_call_is_planned_from_its_first_call(rng, plans):
    image = holed(rng, (20, 20))
    nd.correlate(image, np.ones((3, 3)), nan="interpolate", method="direct")
    assert plans
    plans.clear()
    with fftconv.config.override(method="fft"):
        nd.correlate(image, np.ones((3, 3)), nan="interpolate")
    assert plans
    plans.clear()
    large = holed(rng, (300, 300))  # 90,000 points * 49 taps a plane: over FIRST_CALL_MACS
    assert large.size * 49 > tiny_holes.FIRST_CALL_MACS
    nd.correlate(large, np.ones((7, 7)), nan="interpolate")
    assert plans


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_unplanned_calls_give_the_planned_answer(data):
    """Random small images, kernels, modes, origins, border values, dtypes and outputs: the
    unplanned first call equals the planned path's answer (and so the reference's)."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    ndim = data.draw(st.integers(1, 3))
    shape = tuple(data.draw(st.integers(1, 24 if ndim < 3 else 7)) for _ in range(ndim))
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    image = rng.standard_normal(shape).astype(dtype)
    image[rng.random(shape) < data.draw(st.sampled_from([0.05, 0.5, 1.0]))] = np.nan
    kernel = rng.random(tuple(data.draw(st.integers(1, 6)) for _ in range(ndim))) + 0.1
    modes = ["reflect", "constant", "nearest", "mirror", "wrap", "grid-constant"]
    options = dict(
        mode=data.draw(st.sampled_from(modes)),
        cval=data.draw(st.sampled_from([0.0, 2.5, np.nan])),
        origin=tuple(data.draw(st.integers(-(k // 2), (k - 1) // 2)) for k in kernel.shape),
        nan=data.draw(st.sampled_from(["interpolate", "fill"])),
        output=data.draw(st.sampled_from([None, np.float32, np.float64])),
    )
    name = data.draw(st.sampled_from(["correlate", "convolve"]))
    unplanned = getattr(nd, name)(image, kernel, **options)
    fftconv.engine.lane.clear()
    with pytest.MonkeyPatch.context() as m:
        m.setattr(tiny_holes, "RENT_SECONDS", 0.0)
        planned = getattr(nd, name)(image, kernel, **options)
    assert unplanned.dtype == planned.dtype and unplanned.shape == planned.shape
    tol = 2e-6 if np.float32 in (dtype, options["output"]) else 1e-12
    assert_close_nan(unplanned, planned, tol)


def test_astropys_convolve_on_a_first_call_gives_astropys_answer(rng, plans):
    astropy_convolution = pytest.importorskip("astropy.convolution")
    from astropy.utils.exceptions import AstropyUserWarning
    spectrum = holed(rng, (500,))
    spectrum[200:230] = np.nan  # outputs with no valid pixel in reach keep their own NaN
    kernel = astropy_convolution.Gaussian1DKernel(3)
    for boundary in ("fill", "extend", "wrap", None):
        with pytest.warns(AstropyUserWarning, match="NaN values detected post convolution"):
            got = fftconv.astropy.convolve(spectrum, kernel, boundary=boundary)
        with pytest.warns(AstropyUserWarning, match="NaN values detected post convolution"):
            want = astropy_convolution.convolve(spectrum, kernel, boundary=boundary)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(np.nan_to_num(got), np.nan_to_num(want), rtol=0, atol=1e-12)
    assert plans == []
