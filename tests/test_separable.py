"""Separable (rank-1) kernels: detection, the banded-matrix passes, the planner's use of them."""

import numpy as np
import pytest
import scipy.ndimage
import scipy.signal
from conftest import assert_close
from hypothesis import given, settings
from hypothesis import strategies as st

import fftconv
from fftconv.core.geometry import output_window
from fftconv.executors.separable import banded_pass, rank1_factors
from fftconv.kernels import box, gaussian


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
def test_rank1_kernels_are_detected_and_others_are_not(rng, dtype):
    f, g = rng.standard_normal(7), rng.standard_normal(4)
    h = np.outer(f, g).astype(dtype)
    factors = rank1_factors(h, np.dtype(dtype))
    assert factors is not None
    np.testing.assert_allclose(np.outer(*factors), h, rtol=0, atol=1e-5 * np.abs(h).max())
    assert rank1_factors(np.multiply.outer(np.outer(f, g), f[:3]), np.dtype(np.float64)) is not None
    for not_rank1 in (np.eye(3), rng.standard_normal((5, 5)), np.zeros((3, 3)),
                      np.outer(f, g) + 1e-3 * rng.standard_normal((7, 4))):
        assert rank1_factors(not_rank1.astype(dtype), np.dtype(dtype)) is None
    h_inf = np.outer(f, g)
    h_inf[0, 0] = np.inf
    assert rank1_factors(h_inf, np.dtype(np.float64)) is None


def test_rank1_tolerance_follows_the_dtype(rng):
    h = np.outer(rng.standard_normal(9), rng.standard_normal(9))
    noisy = h + 1e-9 * np.abs(h).max() * rng.standard_normal(h.shape)
    assert rank1_factors(noisy, np.dtype(np.float64)) is None  # 1e-9 is far above float64 rounding
    assert rank1_factors(noisy, np.dtype(np.float32)) is not None  # and far below float32's


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("shape, k", [((130, 140), (13, 5)), ((150, 120), (2, 31)),
                                      ((40, 30, 20), (3, 4, 5))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
def test_separable_method_matches_scipy(rng, mode, shape, k, dtype):
    x = rng.standard_normal(shape).astype(dtype)
    factors = [rng.standard_normal(n) for n in k]
    h = factors[0]
    for f in factors[1:]:
        h = np.multiply.outer(h, f)
    h = h.astype(dtype)
    want = scipy.signal.convolve(x.astype(np.complex128 if dtype == np.complex128 else np.float64),
                                 h.astype(np.complex128 if dtype == np.complex128 else np.float64), mode)
    got = fftconv.convolve(x, h, mode, method="separable", threads=1)
    assert got.dtype == np.dtype(dtype)
    assert_close(got, want.astype(dtype), ulps=200 * max(k))
    assert_close(fftconv.correlate(x, h, mode, method="separable", threads=1),
                 scipy.signal.correlate(x, h, mode).astype(dtype), ulps=200 * max(k))


def test_separable_with_batch_axes_and_integers(rng):
    stack = rng.standard_normal((3, 130, 130))
    g = gaussian(2.0, ndim=2)
    got = fftconv.convolve(stack, g[None], "same", method="separable", axes=(1, 2), threads=1)
    want = np.stack([scipy.signal.convolve(img, g, "same") for img in stack])
    assert_close(got, want)
    ints = rng.integers(-100, 100, (140, 130))
    k = np.outer([1, 2, 1], [1, 0, -1, 3])
    np.testing.assert_array_equal(fftconv.convolve(ints, k, method="separable"),
                                  scipy.signal.convolve(ints, k, method="direct"))


def test_non_finite_image_values_stay_local(rng):
    x = rng.standard_normal((150, 150))
    x[40, 70] = np.nan
    x[100, 3] = np.inf
    h = gaussian(1.0)
    got = fftconv.convolve(x, h, "same", method="separable")
    want = fftconv.convolve(x, h, "same", method="direct")
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
    finite = np.isfinite(want)
    assert_close(got[finite], want[finite])


def test_forcing_separable_on_a_general_kernel_says_why(rng):
    with pytest.raises(ValueError, match="outer product"):
        fftconv.convolve(rng.standard_normal((200, 200)), rng.standard_normal((5, 5)), method="separable")
    small = rng.standard_normal((20, 30))  # forced, small images run separable too
    assert_close(fftconv.convolve(small, box(3), "same", method="separable"),
                 scipy.signal.convolve(small, box(3), "same"))
    # same shapes, other values: a remembered separable plan must not be reused blindly
    with pytest.raises(ValueError, match="outer product"):
        fftconv.convolve(small, rng.standard_normal((3, 3)), "same", method="separable")
    blur = fftconv.Convolver(box(3), (20, 30), "same", method="separable")
    assert_close(blur(small), scipy.signal.convolve(small, box(3), "same"))


def test_planner_takes_the_separable_path_only_for_rank1_kernels():
    image = np.zeros((2048, 2048), np.float32)
    blur = gaussian(3.0).astype(np.float32)
    assert fftconv.plan(image, blur, "same", threads=1).method == "separable"
    assert "separable" not in fftconv.plan(image, np.eye(13, dtype=np.float32), "same", threads=1).estimates
    assert "separable" not in fftconv.plan((2048, 2048), (13, 13), "same", threads=1).estimates  # shapes only


def test_ndimage_gaussian_matches_scipy_gaussian_filter(rng):
    x = rng.standard_normal((300, 200)).astype(np.float32)
    want = scipy.ndimage.gaussian_filter(x.astype(np.float64), 2.0, mode="mirror")
    got = fftconv.ndimage.correlate(x, gaussian(2.0).astype(np.float32), mode="mirror", method="separable")
    assert_close(got, want.astype(np.float32), ulps=200)
    assert_close(fftconv.ndimage.convolve(x, box(7), mode="nearest", method="separable"),
                 scipy.ndimage.uniform_filter(x, 7, mode="nearest"), ulps=200)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(1, 9), st.integers(1, 9),
       st.sampled_from(["full", "same", "valid"]), st.integers(0, 2**32 - 1))
def test_banded_pass_equals_the_direct_sum(n0, n1, k0, k1, mode, seed):
    rng = np.random.default_rng(seed)
    if mode == "valid" and (k0 > n0 or k1 > n1):
        return
    x = rng.standard_normal((n0, n1))
    f0, f1 = rng.standard_normal(k0), rng.standard_normal(k1)
    y = banded_pass(x, f0, 0, output_window(n0, k0, mode))
    y = banded_pass(y, f1, 1, output_window(n1, k1, mode))
    want = scipy.signal.convolve(x, np.outer(f0, f1), mode, method="direct")
    assert_close(y, want, ulps=1000)


def test_convolver_reuses_a_separable_plan(rng):
    blur = fftconv.Convolver(gaussian(2.0), (200, 180), mode="same", method="separable", threads=1)
    assert blur.plan.method == "separable"
    for _ in range(2):
        image = rng.standard_normal((200, 180))
        assert_close(blur(image), scipy.signal.convolve(image, gaussian(2.0), "same"))


def _compiled_passes(problem_args, correlate=False, threads=1):
    from fftconv.core.problem import Problem
    from fftconv.engine import run
    from fftconv.planning.costs import DEFAULT_COSTS
    from fftconv.planning.planner import make_plan

    problem = Problem.build(*problem_args, correlate=correlate)
    plan = make_plan(problem.spec(threads), "separable", ("separable.compiled",), DEFAULT_COSTS, None)
    assert plan.executor == "separable.compiled"
    return run.execute(problem, plan)


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("shape, k", [((130, 140), (13, 5)), ((150, 120), (2, 31)), ((40, 30, 20), (3, 4, 5)),
                                      ((70, 80), (1, 9)), ((90, 60), (70, 3))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_passes_match_scipys_direct_sum(rng, mode, shape, k, dtype):
    x = rng.standard_normal(shape).astype(dtype)
    h = rng.standard_normal(k[0])
    for n in k[1:]:
        h = np.multiply.outer(h, rng.standard_normal(n))
    h = h.astype(dtype)
    for correlate, oracle in ((False, scipy.signal.convolve), (True, scipy.signal.correlate)):
        want = oracle(x.astype(np.float64), h.astype(np.float64), mode, method="direct").astype(dtype)
        got = _compiled_passes((x, h, mode), correlate=correlate, threads=2)
        assert got.dtype == np.dtype(dtype)
        assert_close(got, want, ulps=200 * max(k))


@pytest.mark.parametrize("mode", ["reflect", "constant", "nearest", "mirror", "wrap", "grid-wrap",
                                  "grid-constant", "grid-mirror"])
def test_compiled_passes_read_every_boundary_mode_from_the_source(rng, mode, monkeypatch):
    from fftconv.executors import separable_loops

    calls = []
    original = separable_loops.separable_extended
    monkeypatch.setattr(separable_loops, "separable_extended", lambda *a: calls.append(a[3]) or original(*a))
    x = rng.standard_normal((61, 47, 5))
    h = np.multiply.outer(np.outer(rng.standard_normal(7), rng.standard_normal(4)), rng.standard_normal(3))
    for origin in (0, (1, -2, 1)):
        want = scipy.ndimage.correlate(x, h, mode=mode, cval=1.5, origin=origin)
        got = fftconv.ndimage.correlate(x, h, mode=mode, cval=1.5, origin=origin, method="separable")
        assert_close(got, want, ulps=2000)
    f32 = x[..., 0].astype(np.float32)
    g = gaussian(2.5).astype(np.float32)
    assert_close(fftconv.ndimage.convolve(f32, g, mode=mode, cval=-2.0, method="separable"),
                 scipy.ndimage.convolve(f32.astype(np.float64), g, mode=mode, cval=-2.0).astype(np.float32),
                 ulps=200)
    assert calls == [mode] * 3  # every call was the compiled passes, reading the boundary themselves


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 30), st.integers(1, 30), st.integers(1, 12), st.integers(1, 12),
       st.sampled_from(["full", "same", "valid"]), st.integers(0, 2**32 - 1))
def test_compiled_passes_equal_the_direct_sum(n0, n1, k0, k1, mode, seed):
    rng = np.random.default_rng(seed)
    if mode == "valid" and (k0 > n0 or k1 > n1):
        return
    x = rng.standard_normal((n0, n1))
    h = np.outer(rng.standard_normal(k0), rng.standard_normal(k1))
    want = scipy.signal.convolve(x, h, mode, method="direct")
    assert_close(_compiled_passes((x, h, mode)), want, ulps=1000)
