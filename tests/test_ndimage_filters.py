"""scipy.ndimage's separable filters on fftconv's engine (fftconv.ndimage.separable): scipy's
own tests run against them, and scipy itself as the oracle for every mode, dtype, axis order,
output form and source kind (arrays, memmaps in blocks)."""

import json

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import scipy.ndimage as sn
from conftest import assert_close, run_peer_tests
from hypothesis import given, settings
from hypothesis import strategies as st

import fftconv
import fftconv.ndimage as nd
from fftconv.core.boundary import MODES
from fftconv.engine import run as engine_run
from fftconv.ndimage import scipy_passes, separable

#: scipy's tests that fail by design (docs/guides/migrating.md: where fftconv deliberately differs).
DELIBERATE = {"test_gaussian_filter_float16": "float16 images are filtered (in float32); scipy refuses them"}


def test_scipys_own_filter_tests_pass_with_the_drop_ins(tmp_path):
    deselect = " and ".join(f"not {name}" for name in DELIBERATE)
    run_peer_tests("scipy_ndimage_rebind", ["-k", deselect, "--pyargs", "scipy.ndimage.tests.test_filters"],
                   tmp_path)


def scipy_and_ours(name, *args, **kwargs):
    return getattr(sn, name)(*args, **kwargs), getattr(nd, name)(*args, **kwargs)


@pytest.fixture(params=["engine", "scipy loops"])
def passes_on(request, monkeypatch):
    """Small filters run their passes on scipy.ndimage's 1-D loops (`scipy_passes`); the
    engine's passes are tested on the same small images with that hand-over turned off."""
    monkeypatch.setattr(scipy_passes, "SCIPY_LOOP_MACS", 0 if request.param == "engine" else 1 << 40)
    return request.param


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", ["float32", "float64", "uint8", "int16", "complex128"])
def test_every_filter_equals_scipys_in_every_mode(rng, mode, dtype, passes_on):
    x = (rng.standard_normal((23, 17, 6)) * 40).astype(dtype)
    if dtype == "complex128":
        x = x + 1j * rng.standard_normal(x.shape)
    real = dtype != "complex128"
    calls = [
        ("gaussian_filter", (x, 1.5), {"mode": mode, "cval": 2.0}),
        ("gaussian_filter", (x, [1.0, 0.0, 2.5]), {"order": [1, 0, 2], "mode": mode}),
        ("gaussian_filter1d", (x, 2.0), {"axis": 0, "order": 3, "mode": mode, "truncate": 2.0}),
        ("uniform_filter", (x, [3, 4, 1]), {"mode": mode, "origin": [1, -1, 0], "cval": -1.0}),
        ("uniform_filter1d", (x, 5), {"axis": 1, "mode": mode, "origin": -2}),
        ("correlate1d", (x, [1.0, -2.0, 0.5, 3.0]), {"axis": -1, "mode": mode, "origin": 1}),
        ("convolve1d", (x, [1.0, -2.0, 0.5, 3.0]), {"axis": 0, "mode": mode, "origin": -1}),
        ("sobel", (x,), {"axis": 1, "mode": mode}),
        ("prewitt", (x,), {"axis": 0, "mode": mode}),
        ("laplace", (x,), {"mode": mode}),
        ("gaussian_laplace", (x, 1.2), {"mode": mode}),
    ]
    if real:
        calls.append(("gaussian_gradient_magnitude", (x, [1.0, 2.0, 0.7]), {"mode": mode}))
    for name, args, kwargs in calls:
        want, got = scipy_and_ours(name, *args, **kwargs)
        assert got.dtype == want.dtype, name
        if np.dtype(dtype).kind in "iu":  # truncated after every pass, as scipy's: within one unit
            assert np.abs(got.astype(float) - want).max() <= 1, name
        else:
            assert_close(got, want, ulps=4000 if dtype == "float64" else 64), name


@pytest.mark.parametrize("name, args", [("gaussian_filter", (2.0,)), ("uniform_filter", (5,)), ("sobel", ()),
                                        ("laplace", ()), ("gaussian_laplace", (1.0,)),
                                        ("gaussian_gradient_magnitude", (1.0,))])
def test_outputs_as_scipy_takes_them(rng, name, args):
    x = rng.integers(0, 255, (40, 30)).astype(np.uint8)
    for output in (np.float32, "float64", np.dtype(np.int32)):
        want, got = scipy_and_ours(name, x, *args, output=output)
        assert got.dtype == want.dtype
        assert np.abs(got.astype(float) - want).max() <= 1e-4 * max(1.0, np.abs(want).max())
    target = np.empty(x.shape, np.float64)
    assert getattr(nd, name)(x, *args, output=target) is target
    np.testing.assert_allclose(target, getattr(sn, name)(x, *args, output=np.float64), rtol=1e-12, atol=1e-9)
    in_place = x.astype(np.float64)
    want = getattr(sn, name)(in_place.copy(), *args)
    assert getattr(nd, name)(in_place, *args, output=in_place) is in_place  # the output is the input
    np.testing.assert_allclose(in_place, want, rtol=1e-12, atol=1e-9)


def test_axes_and_per_axis_arguments(rng):
    x = rng.standard_normal((12, 14, 16))
    for axes in [(2, 0), (-1,), None, (1, 2)]:
        for name, args, kwargs in [("gaussian_filter", (1.3,), {"radius": 2}), ("uniform_filter", (3,), {}),
                                   ("laplace", (), {}), ("gaussian_laplace", (1.0,), {}),
                                   ("gaussian_gradient_magnitude", (1.0,), {})]:
            want, got = scipy_and_ours(name, x, *args, axes=axes, **kwargs)
            assert_close(got, want, ulps=4000)
    want, got = scipy_and_ours("gaussian_filter", x, (1.0, 2.0), axes=(2, 0), mode=("wrap", "nearest"),
                               order=(1, 0))
    assert_close(got, want, ulps=4000)


def test_float32_stays_float32_within_its_rounding(rng):
    x = (rng.random((300, 200)) * 1000).astype(np.float32)
    for name, args in [("gaussian_filter", (3.0,)), ("uniform_filter", (11,)),
                       ("gaussian_filter1d", (20.0,))]:
        want, got = scipy_and_ours(name, x, *args)
        assert got.dtype == np.float32
        assert np.abs(got.astype(float) - want).max() <= 1e-6 * np.abs(want).max()
    # the taps' rounding does not scale the image: a normalised blur keeps the total
    assert abs(float(nd.gaussian_filter(x, 1.0).sum(dtype=np.float64)) - float(x.sum(dtype=np.float64))) \
        < 2e-7 * float(x.sum(dtype=np.float64))


def test_memmaps_are_filtered_pass_by_pass_in_blocks(rng, tmp_path):
    source = np.lib.format.open_memmap(tmp_path / "in.npy", "w+", np.float32, (300, 260))
    source[:] = rng.standard_normal(source.shape)
    out = np.lib.format.open_memmap(tmp_path / "out.npy", "w+", np.float32, source.shape)
    with fftconv.config.override(memory_limit="256KiB"):
        nd.gaussian_filter(source, 4.0, output=out, mode="mirror")
        magnitude = nd.gaussian_gradient_magnitude(source, 2.0)
    assert_close(np.asarray(out), sn.gaussian_filter(np.asarray(source), 4.0, mode="mirror"), ulps=64)
    assert_close(magnitude, sn.gaussian_gradient_magnitude(np.asarray(source), 2.0), ulps=256)


def test_terms_share_their_leading_passes(rng, monkeypatch):
    x = rng.standard_normal((40, 11, 12))
    filtered = []  # outputs computed by each pass, whole-image or slab by slab (`_run_in_slabs`)
    run_pass, slab_pass = separable._run_pass, separable.filter_block
    monkeypatch.setattr(separable, "_run_pass",
                        lambda source, p, target, *rest: filtered.append(np.size(target))
                        or run_pass(source, p, target, *rest))
    monkeypatch.setattr(separable, "filter_block",
                        lambda source, work, lo, hi, *rest: filtered.append(np.prod(np.subtract(hi, lo)))
                        or slab_pass(source, work, lo, hi, *rest))
    monkeypatch.setattr(separable, "SLAB_BYTES", 8 * 11 * 12 * 8)  # several slabs of the first term
    got = nd.gaussian_laplace(x, 1.0)
    assert_close(got, sn.gaussian_laplace(x, 1.0), ulps=4000)
    # scipy runs 9 passes: the second and third terms begin with the same smoothing
    assert sum(filtered) == 8 * x.size
    assert len(filtered) > 8  # the first term did run slab by slab
    filtered.clear()
    nd.gaussian_gradient_magnitude(x, [1.0, 2.0, 3.0])
    assert sum(filtered) == 8 * x.size


@pytest.mark.parametrize("mode", MODES)
def test_slabs_read_their_halos_with_the_mode(rng, mode, monkeypatch):
    for name, value in [("SLAB_BYTES", 1), ("SLAB_MIN_ROWS", 3), ("SLAB_HALOS", 0)]:
        monkeypatch.setattr(separable, name, value)  # slabs of 3 rows: many seams, halos beyond a slab
    for shape, sigma in [((83, 17), 1.5), ((45, 9, 7), [3.0, 1.0, 0.7])]:
        x = rng.standard_normal(shape).astype(np.float32)
        assert_close(nd.gaussian_filter(x, sigma, mode=mode, cval=0.5),
                     sn.gaussian_filter(x, sigma, mode=mode, cval=0.5), ulps=64)
        assert_close(nd.uniform_filter(x, 5, mode=mode, cval=-1.0),
                     sn.uniform_filter(x, 5, mode=mode, cval=-1.0), ulps=64)


@pytest.mark.parametrize("layout", ["contiguous", "strided", "fortran"])
def test_volume_passes_along_every_axis_equal_scipys(rng, layout):
    base = rng.standard_normal((9, 14, 11, 6))
    x = {"contiguous": base, "strided": base[:, ::2], "fortran": np.asfortranarray(base)}[layout]
    w = rng.standard_normal(5)
    for axis in range(x.ndim):
        assert_close(nd.correlate1d(x, w, axis, mode="wrap"), sn.correlate1d(x, w, axis, mode="wrap"))
        out = np.zeros((x.shape[0], 2 * x.shape[1], *x.shape[2:]))[:, 1::2]  # a strided output
        nd.uniform_filter1d(x, 4, axis, output=out, mode="mirror")
        assert_close(out, sn.uniform_filter1d(x, 4, axis, mode="mirror"))
    assert_close(nd.gaussian_filter(x, [1.0, 2.0, 0.5, 1.5]), sn.gaussian_filter(x, [1.0, 2.0, 0.5, 1.5]))


def test_wrong_inputs_are_refused_as_scipy_refuses_them(rng):
    x = rng.standard_normal((8, 9))
    cases = [
        ("correlate1d", (x, []), {}),
        ("correlate1d", (x, [[1.0, 2.0]]), {}),
        ("correlate1d", (x, [1.0, 2.0, 3.0]), {"origin": 2}),
        ("correlate1d", (x, [1.0, 2.0]), {"axis": 2}),
        ("uniform_filter1d", (x, 0), {}),
        ("uniform_filter1d", (x, 3), {"origin": 2}),
        ("uniform_filter", (x, [3, 3, 3]), {}),
        ("gaussian_filter", (x, 1.0), {"radius": -1}),
        ("gaussian_filter", (x, 1.0), {"order": -1}),
        ("gaussian_filter", (x, 1.0), {"mode": "nope"}),
        ("gaussian_filter", (x, 1.0), {"axes": (0, 0)}),
        ("gaussian_filter", (x, 1.0), {"axes": (2,)}),
        ("sobel", (x,), {"axis": 5}),
        ("laplace", (x,), {"mode": ["reflect"]}),
        ("gaussian_filter", (x, 1.0), {"output": np.empty((3, 3))}),
        ("gaussian_filter", (x, 1.0), {"cval": 1j, "mode": "constant"}),
    ]
    for name, args, kwargs in cases:
        with pytest.raises(Exception) as theirs:
            getattr(sn, name)(*args, **kwargs)
        with pytest.raises(type(theirs.value)) as mine:
            getattr(nd, name)(*args, **kwargs)
        # scipy's message, which its tests match, and at most what to do after it
        assert str(mine.value).startswith(str(theirs.value)), (name, kwargs, str(mine.value),
                                                              str(theirs.value))


def test_plan_explains_every_pass():
    image = np.zeros((600, 500), np.float32)
    p = nd.plan(nd.gaussian_laplace, image, 2.0, threads=1)
    assert len(p.steps) == 4 and p.combine == "sum"
    text = p.explain()
    assert "gaussian_laplace of (600, 500) float32" in text and text.count("chosen:") == 4
    uniform = nd.plan("uniform_filter", image, 101, threads=1)
    assert [s.plan.executor for s in uniform.steps] == ["direct.box", "direct.box"]
    nd_plan = nd.plan(nd.correlate, image, np.ones((5, 5)), mode="wrap")
    assert "correlation with a (5, 5) kernel" in nd_plan.explain()
    with pytest.raises(ValueError, match="explains"):
        nd.plan(nd.generic_laplace, image, None)


images = hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=12),
                    elements=st.floats(-100, 100, allow_nan=False))


@settings(max_examples=60, deadline=None)
@given(images, st.floats(0.3, 4.0), st.sampled_from(MODES), st.floats(-3, 3))
def test_gaussian_filter_is_linear_and_equals_scipys(image, sigma, mode, factor):
    other = np.roll(image[::-1], 1)
    got = nd.gaussian_filter(image + factor * other, sigma, mode=mode)
    parts = nd.gaussian_filter(image, sigma, mode=mode) + factor * nd.gaussian_filter(other, sigma, mode=mode)
    scale = max(1.0, np.abs(image).max() + abs(factor) * np.abs(other).max())
    np.testing.assert_allclose(got, parts, atol=1e-12 * scale, rtol=0)
    np.testing.assert_allclose(got, sn.gaussian_filter(image + factor * other, sigma, mode=mode),
                               atol=1e-12 * scale, rtol=0)


@settings(max_examples=60, deadline=None)
@given(images, st.integers(1, 9), st.sampled_from(["reflect", "nearest", "mirror", "wrap"]))
def test_passes_equal_the_nd_filter_of_their_outer_product(image, size, mode):
    # away from a constant border, one pass per axis is the N-D correlation with the box
    box = np.full((size,) * image.ndim, 1.0 / size**image.ndim)
    np.testing.assert_allclose(nd.uniform_filter(image, size, mode=mode), nd.correlate(image, box, mode=mode),
                               atol=1e-12 * max(1.0, np.abs(image).max()), rtol=0)


def test_small_filters_run_on_scipys_loops_only_where_they_agree(rng, monkeypatch):
    x = rng.standard_normal((40, 30))
    job = separable.gaussian_filter_job
    assert scipy_passes.runs_on_scipy(job(x, 1.0))
    assert scipy_passes.runs_on_scipy(job(x.astype(np.float32), 1.0, output=np.float64))
    # integers of up to 32 bits: scipy's sums in double, cast by fftconv's rule (`run_term`)
    assert scipy_passes.runs_on_scipy(job(x.astype(np.int16), 1.0))
    assert scipy_passes.runs_on_scipy(job(x, 1.0, output=np.int32))
    refused = {
        "64-bit integers (summed exactly by fftconv)": job(x.astype(np.int64), 1.0),
        "float16 (scipy refuses it)": job(x.astype(np.float16), 1.0),
        "complex image": job(x + 1j, 1.0),
        "a pass longer than its line (folded)": job(x[:5], 3.0),
        "a progress bar": job(x, 1.0, progress=True),
        "a method forced": job(x, 1.0, method="fft"),
        "many multiply-adds": job(rng.standard_normal((400, 400)), 3.0),
        "a memmap-like output": job(x, 1.0, output=np.empty_like(x).view(np.memmap)),
    }
    for why, refused_job in refused.items():
        assert not scipy_passes.runs_on_scipy(refused_job), why
    box = separable.Pass(0, (), "constant", 1j, box=3)
    complex_cval = separable.Job("uniform_filter1d", x, [(box,)], "one", np.dtype(np.complex128), None)
    assert not scipy_passes.runs_on_scipy(complex_cval)
    with fftconv.config.override(method="direct"):
        assert not scipy_passes.runs_on_scipy(job(x, 1.0))
    for threads, error in ((0, ValueError), (-1, ValueError), (2.5, TypeError), ("2", TypeError)):
        with pytest.raises(error, match="threads must be a positive integer"):  # as on the engine's path
            nd.gaussian_filter(x, 1.0, threads=threads)


@pytest.mark.parametrize("dtype", ["uint8", "int16", "int32"])
def test_small_filters_of_integers_on_scipys_loops_answer_as_the_engine(rng, dtype, no_job):
    """Small filters of integer images run on scipy's loops, each pass summed in double and
    cast by fftconv's rule (values within round-off of an integer snap to it, then truncate,
    pass after pass as scipy's filters run), where the engine's planned passes had taken
    4x scipy's time (a 64x64 uint8 `uniform_filter`: 106 us, scipy's 24; Intel Xeon): the
    engine's integers, bit for bit, and scipy's within one."""
    x = (rng.random((40, 30)) * 120).astype(dtype)
    means = np.repeat(np.arange(10, dtype=dtype), 3)[None].repeat(40, 0)  # box means that are integers
    calls = [("uniform_filter", (x, 3), {}), ("uniform_filter", (means, 3), {"axes": 1}),
             ("gaussian_filter", (x, 1.0), {"mode": "wrap"}), ("sobel", (x,), {}), ("laplace", (x,), {}),
             ("uniform_filter1d", (x, 5), {"output": np.float64}), ("gaussian_filter1d", (x, 0.8), {})]
    for name, args, kwargs in calls:
        job = getattr(separable, f"{name}_job")(*args, **kwargs)
        assert scipy_passes.runs_on_scipy(job), name
        got = getattr(nd, name)(*args, **kwargs)
        engine = getattr(nd, name)(*args, method="direct", **kwargs)
        assert got.dtype == engine.dtype, name
        if got.dtype.kind == "f":  # sums kept as floats: the engine's within rounding
            assert_close(got, engine, ulps=64)
        else:
            np.testing.assert_array_equal(got, engine, err_msg=name)
        want = getattr(sn, name)(*args, **kwargs)
        assert np.abs(got.astype(np.float64) - want).max() <= 1, name
    no_job.clear()
    for name, args, kwargs in calls[:5]:  # plain calls into the image's dtype: the quick path, no job
        np.testing.assert_array_equal(getattr(nd, name)(*args, **kwargs),
                                      getattr(nd, name)(*args, method="direct", **kwargs))
    assert no_job == [name for name, _, _ in calls[:5]]  # (only the forced ones built jobs)


def test_a_small_images_passes_take_the_lane_on_repeated_calls(rng, monkeypatch, passes_on):
    """A 48x48 gaussian_filter ran as one slab whose first pass was planned at every call
    (275 us where scipy's takes 40); its passes now take the lane, or scipy's loops."""
    x = rng.standard_normal((48, 48)).astype(np.float32)
    for _ in range(3):
        nd.gaussian_filter(x, 1.0)
        nd.gaussian_laplace(x, 1.0)
    monkeypatch.setattr(engine_run, "plan", lambda *args, **kwargs: pytest.fail("planned again"))
    assert_close(nd.gaussian_filter(x + 1, 1.0), sn.gaussian_filter(x + 1, 1.0), ulps=64)
    assert_close(nd.gaussian_laplace(x + 1, 1.0), sn.gaussian_laplace(x + 1, 1.0), ulps=256)


@pytest.fixture
def pass_routes(monkeypatch) -> list:
    """Which way each job's terms ran: 'scipy' (its loops) or 'engine' (fftconv's passes)."""
    ways: list = []
    on_scipy, engine = scipy_passes.run_term, separable._run_term
    monkeypatch.setattr(scipy_passes, "run_term", lambda *a: ways.append("scipy") or on_scipy(*a))
    monkeypatch.setattr(separable, "_run_term", lambda *a: ways.append("engine") or engine(*a))
    return ways


def test_a_mid_size_filters_first_calls_run_on_scipys_loops_then_it_is_planned(rng, rented_first_calls,
                                                                            pass_routes, monkeypatch):
    """Planning a 256² Gaussian's passes cost its first call 2.6 ms where scipy's whole call
    takes 1.8 (Intel Xeon, fresh processes): its signature's first calls rent scipy's loops
    until they have spent `RENT_SECONDS` there; then the engine's passes serve it."""
    image = rng.standard_normal((256, 256))
    want = sn.gaussian_filter(image, 2.0, mode="nearest")
    monkeypatch.setattr(scipy_passes, "RENT_SECONDS", 1e-9)  # one call spends it
    first = nd.gaussian_filter(image, 2.0, mode="nearest")
    assert pass_routes == ["scipy"]
    np.testing.assert_array_equal(first, want)  # scipy's loops: scipy's bits
    pass_routes.clear()
    assert_close(nd.gaussian_filter(image, 2.0, mode="nearest"), want)
    assert pass_routes == ["engine"]
    monkeypatch.setattr(scipy_passes, "RENT_SECONDS", 1e9)  # and however little they cost,
    small = rng.standard_normal((90, 90))  # a signature rents for its first calls only
    for _ in range(fftconv.engine.lane.RENTED_CALLS + 1):
        nd.gaussian_filter(small, 2.0)
    assert pass_routes[-2:] == ["scipy", "engine"]
    pass_routes.clear()
    large = rng.standard_normal((1024, 1024))  # over RENT_PASS_SAMPLES: planned at once
    assert large.size * 2 > scipy_passes.RENT_PASS_SAMPLES
    assert_close(nd.gaussian_filter(large, 2.0), sn.gaussian_filter(large, 2.0))
    assert pass_routes == ["engine"]


def test_a_small_filters_first_call_does_not_import_scipy_ndimage(tmp_path):
    """Small separable jobs run on scipy.ndimage's loops, which a fresh process' first call
    had imported (150-160 ms of a 48x160 `uniform_filter1d`, Intel Xeon). Until they are
    probed, fftconv's tiny loop sums the passes it sums as scipy's loops do (centred, at most
    64 taps, a zero tap only in a finite image), the others are planned, and the second such
    call queues the probe in the background (held back here)."""
    from test_first_calls import fresh_process_output

    script = (
        "import sys, json, numpy as np, fftconv.ndimage as nd\n"
        "from fftconv import background\n"
        "background.submit = lambda *a, **k: True\n"
        "x = np.arange(48 * 160, dtype=float).reshape(48, 160) % 7\n"
        "holed = x.copy(); holed[20, 30] = np.nan\n"
        "calls = [('uniform_filter1d', x, (11,), {'axis': 1}), ('gaussian_filter', x, (1.5,), {}),\n"
        "         ('sobel', x, (), {}), ('sobel', holed, (), {'axis': 0}), ('laplace', holed, (), {}),\n"
        "         ('uniform_filter', x, (4,), {'origin': 1}),\n"
        "         ('gaussian_filter', x.astype(np.float32), (2.0,), {'output': np.float64})]\n"
        "got = [getattr(nd, name)(image, *args, **kw) for name, image, args, kw in calls]\n"
        "imported = 'scipy.ndimage' in sys.modules\n"
        "import scipy.ndimage\n"
        "errors = []\n"
        "for (name, image, args, kw), g in zip(calls, got):\n"
        "    want = getattr(scipy.ndimage, name)(image, *args, **kw)\n"
        "    same_nan = bool((np.isnan(g) == np.isnan(want)).all())\n"
        "    errors.append(float(np.nanmax(abs(g - want))) if same_nan else 'NaN elsewhere')\n"
        "print(json.dumps({'imported': imported, 'errors': errors}))\n")
    seen = json.loads(fresh_process_output(script, tmp_path).splitlines()[-1])
    assert seen["imported"] is False
    assert all(isinstance(e, float) and e < 1e-12 for e in seen["errors"]), seen["errors"]


def test_separable_filters_calls_never_import_scipy_ndimage(tmp_path):
    """Mid-size separable jobs rent fftconv's tiny loop, then run their planned passes, and
    import nothing (scipy.ndimage's import in the background, whose Python shared the GIL with
    the calls, had slowed a fresh process' 256² `gaussian_filter` calls from 0.25 to 0.3-1.1 ms
    for ~60 calls, Intel Xeon). A small job's call probes scipy's loops once the calls summed
    on the tiny loop have cost about the probe (here the mid-size calls before), which loads
    their compiled module by itself: they serve, scipy.ndimage is still not imported (in a loop
    of 48x48 `gaussian_filter` calls its import in the background had taken 0.7 s, and each
    call 80 us on the tiny loop meanwhile, 20 once scipy's loops served), and the module is not
    left in ``sys.modules``, where scipy.ndimage's later import would take it and bind no
    attribute for it."""
    from test_first_calls import fresh_process_output

    script = (
        "import sys, json, numpy as np, fftconv, fftconv.ndimage as nd\n"
        "from fftconv.engine import ndimage_1d_loops\n"
        "x = np.random.default_rng(0).standard_normal((256, 256))\n"
        "got = [nd.gaussian_filter(x, 2.0) for _ in range(12)] + [nd.laplace(x) for _ in range(12)]\n"
        "fftconv.background.wait(60)\n"
        "mid = 'scipy.ndimage' in sys.modules\n"
        "small = x[:48, :48].copy()\n"
        "got_small = [nd.gaussian_filter(small, 1.0) for _ in range(3)]\n"
        "small_seen = [ndimage_1d_loops.ready(), 'scipy.ndimage' in sys.modules,\n"
        "              ndimage_1d_loops.EXTENSION in sys.modules]\n"
        "served = [nd.gaussian_filter(small, 1.0), nd.uniform_filter(small, 4, mode='wrap')]\n"
        "import scipy.ndimage\n"
        "errors = [float(abs(got[0] - scipy.ndimage.gaussian_filter(x, 2.0)).max()),\n"
        "          float(abs(got[-1] - scipy.ndimage.laplace(x)).max()),\n"
        "          float(abs(got_small[-1] - scipy.ndimage.gaussian_filter(small, 1.0)).max()),\n"
        "          float(abs(served[0] - scipy.ndimage.gaussian_filter(small, 1.0)).max()),\n"
        "          float(abs(served[1] - scipy.ndimage.uniform_filter(small, 4, mode='wrap')).max())]\n"
        "print(json.dumps({'mid': mid, 'small': small_seen, 'errors': errors,\n"
        "                  'attribute': hasattr(scipy.ndimage, '_nd_image')}))\n")
    seen = json.loads(fresh_process_output(script, tmp_path).splitlines()[-1])
    assert seen["mid"] is False
    assert seen["small"] == [True, False, False]
    assert seen["attribute"] is True
    assert max(seen["errors"]) < 1e-12, seen["errors"]


def test_a_fresh_process_small_filters_probe_scipys_loops_once_the_tiny_loop_cost_as_much(tmp_path):
    """A fresh process' loop of small filters runs on fftconv's tiny loop until its calls have
    taken about what probing scipy's loops takes (`tiny.PROBE_RENT_SECONDS`), then probes them:
    its second call is a tiny loop's call (it had probed them: 1.1 ms of a 48x48
    `gaussian_filter` whose scipy call takes 0.1, Intel Xeon), and the probe comes within the
    calls that rent adds up to. scipy's answers on both loops."""
    from test_first_calls import fresh_process_output

    script = (
        "import sys, json, time, numpy as np, fftconv, fftconv.ndimage as nd\n"
        "from fftconv.engine import ndimage_1d_loops, tiny\n"
        "x = np.random.default_rng(0).standard_normal((48, 48))\n"
        "got, probed_after, spent = [], [], []\n"
        "for i in range(400):\n"
        "    started = time.perf_counter()\n"
        "    got.append(nd.gaussian_filter(x, 1.0))\n"
        "    spent.append(time.perf_counter() - started)\n"
        "    probed_after.append(ndimage_1d_loops.probed())\n"
        "import scipy.ndimage\n"
        "want = scipy.ndimage.gaussian_filter(x, 1.0)\n"
        "first = probed_after.index(True) if True in probed_after else None\n"
        "print(json.dumps({'first_probed': first, 'ready': ndimage_1d_loops.ready(),\n"
        "                  'rent': tiny.PROBE_RENT_SECONDS, 'before': sum(spent[1:first or 0]),\n"
        "                  'error': max(float(abs(g - want).max()) for g in got)}))\n")
    seen = json.loads(fresh_process_output(script, tmp_path).splitlines()[-1])
    assert seen["first_probed"] is not None and seen["first_probed"] >= 2  # not by the second call
    assert seen["before"] < 4 * seen["rent"] + 2e-3  # the calls before it cost about the rent
    assert seen["ready"] and seen["error"] < 1e-12


def test_a_fresh_process_first_integer_filters_are_neither_planned_nor_probed(tmp_path):
    """A fresh process' first small and mid-size filter of an 8- or 16-bit image, an origin
    too, is summed by the compiled integer passes (`fftconv.engine.integer_passes`), where it
    had planned its passes (a 256² uint8 `gaussian_filter` 4.2 ms, scipy's 1.1; Intel Xeon): no
    plan, no probe of scipy's loops; a float image's first call the tiny loop does not sum (an
    origin) probes scipy's loops at once rather than planning. scipy's answers."""
    from test_first_calls import fresh_process_output

    script = (
        "import sys, json, numpy as np, fftconv, fftconv.ndimage as nd\n"
        "from fftconv.engine import ndimage_1d_loops, run\n"
        "planned = []\n"
        "real_plan = run.plan\n"
        "run.plan = lambda *a, **k: planned.append(1) or real_plan(*a, **k)\n"
        "rng = np.random.default_rng(0)\n"
        "big = rng.integers(0, 256, (256, 256)).astype(np.uint8)\n"
        "small = rng.integers(-3000, 3000, (64, 64)).astype(np.int16)\n"
        "got = [nd.gaussian_filter(big, 2.0), nd.uniform_filter(small, 5), nd.sobel(big),\n"
        "       nd.uniform_filter1d(small, 4, origin=1)]\n"
        "first = [len(planned), ndimage_1d_loops.probed()]\n"
        "got.append(nd.uniform_filter1d(small.astype(float), 4, origin=1))\n"
        "after_origin = [len(planned), ndimage_1d_loops.ready()]\n"
        "import scipy.ndimage as sn\n"
        "want = [sn.gaussian_filter(big, 2.0), sn.uniform_filter(small, 5), sn.sobel(big),\n"
        "        sn.uniform_filter1d(small, 4, origin=1),\n"
        "        sn.uniform_filter1d(small.astype(float), 4, origin=1)]\n"
        "print(json.dumps({'first': first, 'after_origin': after_origin,\n"
        "                  'dtypes': [str(g.dtype) == str(w.dtype) for g, w in zip(got, want)],\n"
        "                  'differ': [float(abs(g.astype(float) - w.astype(float)).max())\n"
        "                             for g, w in zip(got, want)]}))\n")
    seen = json.loads(fresh_process_output(script, tmp_path).splitlines()[-1])
    assert seen["first"] == [0, False]  # the integer passes: nothing planned, no probe
    assert seen["after_origin"] == [0, True]  # a float image's origin: probed at once, not planned
    assert all(seen["dtypes"])
    assert seen["differ"][:4] == [0, 0, 0, 0]
    assert seen["differ"][4] < 1e-12


@pytest.mark.parametrize("shape", [(48, 160), (300, 400)])
def test_a_box_keeps_a_nan_in_its_reach_on_every_route(shape, rented_first_calls):
    """scipy's running sums carry a NaN along the rest of its line; fftconv's boxes keep it in
    the outputs whose box holds it, on small images (which scipy's loops sum when finite) and
    on every call of a signature, rented or planned."""
    image = np.random.default_rng(0).standard_normal(shape)
    image[5, 10] = np.nan
    for _ in range(fftconv.engine.lane.RENTED_CALLS + 2):
        assert np.isnan(nd.uniform_filter1d(image, 5, axis=1)).sum() == 5
        assert np.isnan(nd.uniform_filter(image, 5)).sum() == 25
    assert np.isnan(sn.uniform_filter1d(image, 5, axis=1)).sum() > 5  # (scipy's)


def test_small_filters_from_several_threads_in_a_fresh_process(tmp_path):
    """Threads that call small filters at once from a process' start share the loops' probe:
    each answers as scipy, the loops serve afterwards, scipy.ndimage is not imported."""
    from test_first_calls import fresh_process_output

    script = (
        "import sys, json, threading, numpy as np, fftconv.ndimage as nd\n"
        "from fftconv.engine import ndimage_1d_loops\n"
        "x = np.random.default_rng(0).standard_normal((4, 40, 40))\n"
        "got = [[None] * 6 for _ in range(4)]\n"
        "def work(i):\n"
        "    for j in range(6):\n"
        "        got[i][j] = nd.gaussian_filter(x[i], 1.0, mode='wrap') if j % 2 else nd.sobel(x[i])\n"
        "threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]\n"
        "for t in threads: t.start()\n"
        "for t in threads: t.join()\n"
        "seen = [ndimage_1d_loops.ready(), 'scipy.ndimage' in sys.modules]\n"
        "import scipy.ndimage\n"
        "def want(i, j):\n"
        "    sn = scipy.ndimage\n"
        "    return sn.gaussian_filter(x[i], 1.0, mode='wrap') if j % 2 else sn.sobel(x[i])\n"
        "errors = [float(abs(got[i][j] - want(i, j)).max()) for i in range(4) for j in range(6)]\n"
        "print(json.dumps({'seen': seen, 'error': max(errors)}))\n")
    seen = json.loads(fresh_process_output(script, tmp_path).splitlines()[-1])
    assert seen["seen"] == [True, False]
    assert seen["error"] < 1e-12


def test_filters_called_while_the_background_imports_scipy_ndimage(tmp_path):
    """The second tiny complex `correlate` of a process without scipy.ndimage queues its import
    in the background (the second small filter did, before scipy's 1-D loops were loaded by
    themselves, and a 4-D real one, before scipy's N-d loop was); filters called meanwhile had
    met ``numpy.ma`` half imported (its name in ``sys.modules``, ``MaskedArray`` not yet
    defined) and raised AttributeError. A module still being imported counts as not imported
    (`fftconv.installed.imported`)."""
    from test_first_calls import fresh_process_output

    script = ("import sys, numpy as np, fftconv, fftconv.ndimage as nd\n"
              "x = np.arange(256 * 256, dtype=float).reshape(256, 256) % 11\n"
              "d, m = (np.arange(16.0) + 1j).reshape(2, 2, 2, 2), np.ones((1, 2, 1, 2))\n"
              "for _ in range(300):\n"
              "    nd.correlate(d, m)\n"
              "    got = nd.uniform_filter(x, 5)\n"
              "    small = nd.gaussian_filter(x[:40, :40], 1.0)\n"
              "fftconv.background.wait(60)\n"
              "assert 'scipy.ndimage' in sys.modules  # the tiny complex calls queued it\n"
              "import scipy.ndimage\n"
              "print(max(float(abs(got - scipy.ndimage.uniform_filter(x, 5)).max()),\n"
              "          float(abs(small - scipy.ndimage.gaussian_filter(x[:40, :40], 1.0)).max())))\n")
    assert float(fresh_process_output(script, tmp_path).splitlines()[-1]) < 1e-12


@pytest.fixture
def no_job(monkeypatch):
    """The names of the jobs run through `separable.run` from now on (the quick 1-D path runs none)."""
    ran: list = []
    real = separable.run
    monkeypatch.setattr(separable, "run", lambda job: ran.append(job.name) or real(job))
    return ran


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_small_1d_filters_go_straight_to_scipys_loop_with_scipys_answer(rng, dtype, no_job):
    """A small plain call of a 1-D filter is summed by scipy's probed loop before any job is
    built (the job's building and checks had cost a 48x160 float64 `uniform_filter1d` ~20 us
    beside the loop's 15): scipy's bits (a Gaussian's taps are fftconv's), every mode, axis
    and origin."""
    from fftconv.engine import ndimage_1d_loops

    assert ndimage_1d_loops.ready()  # probed with the tiny routes' preparation (conftest)
    x = (rng.standard_normal((9, 14)) * 3).astype(dtype)
    taps = rng.standard_normal(4)
    for mode in MODES:
        for axis in (0, 1, -1):
            calls = [
                ("uniform_filter1d", (x, 4), {"axis": axis, "mode": mode, "origin": -2, "cval": 1.5}),
                ("uniform_filter1d", (x, 1), {"axis": axis, "mode": mode}),
                ("correlate1d", (x, taps), {"axis": axis, "mode": mode, "origin": 1, "cval": 2}),
                ("convolve1d", (x, taps[:3]), {"axis": axis, "mode": mode, "origin": -1}),
                ("convolve1d", (x, [1, 0, -1, 2]), {"axis": axis, "mode": mode}),
                ("gaussian_filter1d", (x, 1.3), {"axis": axis, "mode": mode, "order": 1, "truncate": 3.0}),
                ("gaussian_filter1d", (x, 2), {"axis": axis, "mode": mode, "truncate": 1.0}),
            ]
            for name, args, kwargs in calls:
                got = getattr(nd, name)(*args, threads=1 + axis % 2, **kwargs)  # one thread serves
                want = getattr(sn, name)(*args, **kwargs)
                assert got.dtype == want.dtype, (name, mode, axis)
                if name == "gaussian_filter1d":  # fftconv samples the Gaussian itself: its last bits
                    assert_close(got, want, ulps=64)
                else:
                    np.testing.assert_array_equal(got, want, err_msg=f"{name} {mode} {axis}")
    assert no_job == []


def test_a_1d_filter_call_the_quick_path_cannot_answer_as_fftconv_does_runs_the_full_path(rng, no_job):
    """Integer outputs, holes a box would carry along its line, forced methods, 64-bit integer
    or float16 images, passes longer than their line, complex or long weights, and arguments
    scipy refuses all take the job's path (which checks them as scipy does)."""
    x = rng.standard_normal((9, 14))
    holed = x.copy()
    holed[3, 4] = np.nan
    full = [
        ("uniform_filter1d", (x, 3), {"output": np.int32}),
        ("uniform_filter1d", (holed, 3), {}),
        ("uniform_filter1d", (x, 3), {"method": "direct"}),
        ("uniform_filter1d", (x.astype(np.int64), 3), {}),
        ("uniform_filter1d", (x, 20), {"axis": 0}),
        ("correlate1d", (x, [1.0, 2j]), {}),
        ("correlate1d", (x.astype(np.float16), [1.0, 2.0]), {}),
        ("correlate1d", (x, np.ones(70)), {"axis": 0}),
        ("gaussian_filter1d", (x, 3.0), {"axis": 0}),  # 25 taps over 9 samples: folded
    ]
    for name, args, kwargs in full:
        no_job.clear()
        got = getattr(nd, name)(*args, **kwargs)
        assert no_job == [name], name
        if name == "uniform_filter1d" and args[0] is holed:
            assert np.isnan(got).sum() == 3  # in its boxes only (scipy's carries it on)
        elif args[0].dtype != np.float16:
            scipy_kwargs = {k: v for k, v in kwargs.items() if k not in ("method", "threads")}
            assert_close(got, getattr(sn, name)(*args, **scipy_kwargs), ulps=64)
    for name, args, kwargs, error in [
        ("uniform_filter1d", (x, 3), {"origin": 2}, ValueError),
        ("correlate1d", (x, [1.0, 2.0]), {"origin": 1}, ValueError),
        ("correlate1d", (x, [1.0, 2.0]), {"axis": 2}, np.exceptions.AxisError),
        ("gaussian_filter1d", (x, 1.0), {"mode": "wrong"}, RuntimeError),
    ]:
        with pytest.raises(error):
            getattr(sn, name)(*args, **kwargs)
        with pytest.raises(error):
            getattr(nd, name)(*args, **kwargs)
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        nd.gaussian_filter1d(x, 1.0, threads=0)


def test_scipys_private_1d_loops_serve_only_once_a_probe_found_them_answering_as_defined(rng, monkeypatch):
    """scipy's private loops are taken only once a probe found them answering every mode,
    origin, axis and dtype as their definitions do: a scipy whose loop reads a mode, an origin
    or a mode's code otherwise (or lacks them) is refused, and the public functions serve."""
    from types import SimpleNamespace

    from fftconv.engine import ndimage_1d_loops

    real = ndimage_1d_loops.extension()

    def box_wrapping_otherwise(input, size, axis, output, mode, cval, origin):
        real.uniform_filter1d(input, size, axis, output, mode, cval, origin)
        if mode == ndimage_1d_loops.MODE_CODES["wrap"] and size > 1:
            np.moveaxis(output, axis, 0)[0] += 1.0

    def origin_reversed(input, weights, axis, output, mode, cval, origin):
        real.correlate1d(input, weights, axis, output, mode, cval, -origin - (1 - len(weights) % 2))

    changed = [
        SimpleNamespace(correlate1d=real.correlate1d, uniform_filter1d=box_wrapping_otherwise),
        SimpleNamespace(correlate1d=origin_reversed, uniform_filter1d=real.uniform_filter1d),
        SimpleNamespace(correlate1d=real.correlate1d),
    ]
    x = rng.standard_normal((9, 14))
    for module in changed:
        monkeypatch.setattr(ndimage_1d_loops, "extension", lambda module=module: module)
        monkeypatch.setattr(ndimage_1d_loops, "_probed", [])
        assert not ndimage_1d_loops.ready() and not ndimage_1d_loops.probed()
        ndimage_1d_loops.probe()
        assert ndimage_1d_loops.probed() and not ndimage_1d_loops.ready()
        want = sn.uniform_filter1d(x, 5, mode="wrap")
        np.testing.assert_array_equal(nd.uniform_filter1d(x, 5, mode="wrap"), want)
    monkeypatch.setattr(ndimage_1d_loops, "extension", lambda: real)
    swapped = dict(ndimage_1d_loops.MODE_CODES, reflect=3, mirror=2)
    monkeypatch.setattr(ndimage_1d_loops, "MODE_CODES", swapped)
    monkeypatch.setattr(ndimage_1d_loops, "_probed", [])
    ndimage_1d_loops.probe()
    assert not ndimage_1d_loops.ready()
    monkeypatch.undo()
    assert ndimage_1d_loops.ready()  # this scipy's, probed with the tiny routes' preparation (conftest)
    np.testing.assert_array_equal(nd.uniform_filter1d(x, 5, mode="wrap"), want)


def test_the_compiled_finite_test_finds_nan_and_infinities_anywhere():
    from fftconv.engine._compiled import float_passes

    if float_passes is None:
        pytest.skip("float_passes.c not built")
    for dtype in (np.float32, np.float64):
        x = np.zeros((5, 33), dtype)
        assert float_passes.finite(x) and float_passes.finite(x[:, 3:]) and float_passes.finite(x[::2])
        for bad in (np.nan, np.inf, -np.inf):
            for at in ((0, 0), (4, 32), (2, 17)):
                y = x.copy()
                y[at] = bad
                assert not float_passes.finite(y), (bad, at)
                assert scipy_passes._finite(y.T) is False  # the strided layout: NumPy's test
        assert float_passes.finite(np.zeros((0, 3), dtype)) and float_passes.finite(np.array(1.0, dtype))
    with pytest.raises(TypeError):
        float_passes.finite(np.zeros(3, np.int32))


@pytest.mark.parametrize("slower", ["engine", "scipy"])
def test_a_rented_filter_keeps_the_faster_of_scipys_loops_and_its_planned_passes(
        rng, rented_first_calls, pass_routes, monkeypatch, slower):
    """A mid-size job's planned passes are timed against its rented calls on scipy's loops:
    where they were the slower (a 64x64 float32 `gaussian_filter`, 73,728 multiply-adds: 90 us
    against scipy's 49 on an Intel Xeon), the signature's calls go back to scipy's loops, with
    no job built (the quick path)."""
    import time

    from fftconv.engine import lane

    image = rng.standard_normal((64, 64)).astype(np.float32)
    assert scipy_passes._macs(separable.gaussian_filter_job(image, 1.0)) > scipy_passes.SCIPY_LOOP_MACS
    monkeypatch.setattr(scipy_passes, "RENT_SECONDS", 1e9)  # the rent ends with its calls
    module, name = (separable, "_run_term") if slower == "engine" else (scipy_passes, "run_term")
    fast = getattr(module, name)

    def slow(*args):
        time.sleep(0.01)
        return fast(*args)

    monkeypatch.setattr(module, name, slow)
    want = sn.gaussian_filter(image, 1.0)
    planned = lane.PLANNED_CALLS_SKIPPED + lane.PLANNED_CALLS_TIMED
    timed = lane.RENTED_CALLS + planned
    for _ in range(timed + 3):
        assert_close(nd.gaussian_filter(image, 1.0), want, ulps=64)
    assert pass_routes[:timed] == ["scipy"] * lane.RENTED_CALLS + ["engine"] * planned
    # back on scipy's loops: the first call through its job (which settles it), then no job built
    assert pass_routes[timed:] == (["scipy"] if slower == "engine" else ["engine"] * 3)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_small_blurs_and_edges_go_straight_to_scipys_loops_with_scipys_answer(rng, dtype, no_job):
    """`gaussian_filter`, `uniform_filter`, `sobel`, `prewitt` and `laplace` of a small plain
    call run their passes on scipy's loops with no job built (a 48x48 float64 `uniform_filter`
    took 27 us where scipy's takes 18: the job's building and checks); scipy's bits (a
    Gaussian's taps are fftconv's), every mode."""
    x = (rng.standard_normal((11, 13)) * 3).astype(dtype)
    for mode in MODES:
        calls = [
            ("gaussian_filter", (x, 1.2), {"mode": mode, "cval": 0.5, "truncate": 3.0}),
            ("uniform_filter", (x, 4), {"mode": mode, "origin": -1, "cval": 2}),
            ("uniform_filter", (x, 1), {"mode": mode}),
            ("sobel", (x,), {"axis": 0, "mode": mode}),
            ("prewitt", (x,), {"axis": -1, "mode": mode, "cval": 1.5}),
            ("laplace", (x,), {"mode": mode}),
        ]
        for name, args, kwargs in calls:
            got, want = getattr(nd, name)(*args, **kwargs), getattr(sn, name)(*args, **kwargs)
            assert got.dtype == want.dtype and not np.shares_memory(got, x), (name, mode)
            if name == "gaussian_filter":
                assert_close(got, want, ulps=64)
            else:
                np.testing.assert_array_equal(got, want, err_msg=f"{name} {mode}")
    assert no_job == []
    holed = x.copy()
    holed[4, 5] = np.nan
    assert np.isnan(nd.uniform_filter(holed, 3)).sum() == 9  # a NaN in its boxes: the full path
    assert no_job == ["uniform_filter"]
    nd.gaussian_filter(x, 1.0, order=[0, 1])  # orders, per-axis modes, integer outputs: the full path
    nd.uniform_filter(x, 3, mode=["nearest", "wrap"])
    nd.sobel(x, output=np.int16)
    assert no_job[1:] == ["gaussian_filter", "uniform_filter", "sobel"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_small_blurs_with_outputs_axes_and_per_axis_arguments_take_the_quick_path(rng, dtype, no_job):
    """Per-axis sigmas, sizes and origins, ``axes``, and float outputs (an array, or a dtype)
    go straight to scipy's loops too (a 64x64 float64 `uniform_filter` with an output array:
    33.7 -> 22 us where scipy's takes 20; Intel Xeon): scipy's answers, in the array given."""
    x = (rng.standard_normal((11, 13)) * 3).astype(dtype)
    out = np.full(x.shape, np.nan, np.float64 if dtype == "float32" else np.float32)
    calls = [
        ("gaussian_filter", (x, [1.2, 0.0]), {"mode": "nearest"}),
        ("gaussian_filter", (x, 2), {"axes": (-1,), "truncate": 2.0}),
        ("gaussian_filter", (x, [0.7, 1]), {"axes": [1, 0], "output": out}),
        ("gaussian_filter", (x, 1.0), {"axes": ()}),
        ("uniform_filter", (x, [3, 1]), {"origin": [1, 0], "mode": "wrap"}),
        ("uniform_filter", (x, 4), {"axes": 0, "output": "float64"}),
        ("uniform_filter", (x, (2, 5)), {"output": out, "origin": (0, -2)}),
        ("laplace", (x,), {"axes": [-1], "output": out}),
        ("laplace", (x,), {"axes": []}),
        ("sobel", (x, 1), {"output": out}),
        ("prewitt", (x,), {"output": np.float32}),
        ("gaussian_filter1d", (x, 1.2, 0), {"output": out}),
        ("uniform_filter1d", (x, 3), {"output": out, "mode": "mirror"}),
        ("correlate1d", (x, [1, -2, 3]), {"output": out}),
        ("convolve1d", (x, [1.0, 2.0]), {"axis": 0, "output": out}),
    ]
    for name, args, kwargs in calls:
        given = kwargs.get("output")
        theirs = dict(kwargs, output=np.empty_like(given)) if isinstance(given, np.ndarray) else kwargs
        got, want = getattr(nd, name)(*args, **kwargs), getattr(sn, name)(*args, **theirs)
        assert got.dtype == want.dtype, name
        if isinstance(given, np.ndarray):
            assert got is given, name  # written into the array given, as scipy's
        if "gaussian" in name:
            assert_close(got, want, ulps=64)
        else:
            np.testing.assert_array_equal(got, want, err_msg=f"{name} {kwargs}")
    assert no_job == []
    before = x.copy()
    nd.uniform_filter(x, 3, output=x)  # written over its own image: the full path
    assert no_job == ["uniform_filter"]
    np.testing.assert_array_equal(x, sn.uniform_filter(before, 3))


def test_a_mid_size_filter_back_on_scipys_loops_takes_the_quick_path(rng, rented_first_calls, monkeypatch,
                                                                     no_job):
    """Once a mid-size signature's planned passes lost the contest, its calls, an output array
    among them, go to scipy's loops with no job built (a 64x64 float64 `gaussian_filter(x, 1)`,
    whose passes lose there: 52.6 -> 31.2 us, scipy's 42.8; Intel Xeon)."""
    import time

    from fftconv.engine import lane

    image = rng.standard_normal((48, 160))
    out = np.empty_like(image)
    assert scipy_passes._macs(separable.gaussian_filter_job(image, 1.0)) > scipy_passes.SCIPY_LOOP_MACS
    monkeypatch.setattr(scipy_passes, "RENT_SECONDS", 1e9)  # the rent ends with its calls
    fast = separable._run_term

    def slow(*args):
        time.sleep(0.01)
        return fast(*args)

    monkeypatch.setattr(separable, "_run_term", slow)
    want = sn.gaussian_filter(image, 1.0, mode="mirror")
    contest = lane.RENTED_CALLS + lane.PLANNED_CALLS_SKIPPED + lane.PLANNED_CALLS_TIMED
    for _ in range(contest + 1):  # the first call back on scipy's loops settles the quick path
        assert_close(nd.gaussian_filter(image, 1.0, output=out, mode="mirror"), want, ulps=64)
    assert len(no_job) == contest + 1
    out[...] = np.nan
    assert nd.gaussian_filter(image, 1.0, output=out, mode="mirror") is out
    assert_close(out, want, ulps=64)
    assert len(no_job) == contest + 1  # no job built
    nd.gaussian_filter(image, 1.0, mode="nearest")  # another signature: its own contest
    assert len(no_job) == contest + 2


@pytest.mark.parametrize("name, args, shape", [
    ("gaussian_filter", (1.0,), (96, 96)), ("uniform_filter", (5,), (150, 150)), ("laplace", (), (150, 150)),
    ("gaussian_filter1d", (1.5,), (96, 96))])
def test_a_mid_size_filter_whose_planned_passes_won_takes_the_quick_path(rng, rented_first_calls, monkeypatch,
                                                                        no_job, name, args, shape):
    """Once a mid-size signature's planned passes won their contest, its plain calls, an
    output array or dtype among them, run those passes with no job built (a 96x96 float64
    `gaussian_filter`: 86 -> 57 us a call, scipy's 72-76; Intel Xeon), with the job path's
    answers; a call the quick path does not take (an integer output) still builds its job."""
    import time

    from fftconv.engine import lane

    image = rng.standard_normal(shape)
    slow_loops = scipy_passes.run_term

    def slow(*a):
        time.sleep(0.01)
        return slow_loops(*a)

    monkeypatch.setattr(scipy_passes, "run_term", slow)  # scipy's loops lose the contest
    monkeypatch.setattr(scipy_passes, "RENT_SECONDS", 1e9)  # the rent ends with its calls
    call = getattr(nd, name)
    want = getattr(sn, name)(image, *args, mode="mirror")
    contest = lane.RENTED_CALLS + lane.PLANNED_CALLS_SKIPPED + lane.PLANNED_CALLS_TIMED
    for _ in range(contest + 1):  # the first call after the contest settles the quick path
        assert_close(call(image, *args, mode="mirror"), want, ulps=64)
    built = len(no_job)
    assert built == contest + 1
    out = np.full_like(image, np.nan)
    for _ in range(3):
        assert_close(call(image, *args, mode="mirror"), want, ulps=64)
    assert len(no_job) == built  # no job built
    f32 = image.astype(np.float32)
    for _ in range(contest + 2):  # an output array, and a float32 image into float64: their own contests
        assert call(image, *args, mode="mirror", output=out) is out
        assert_close(out, want, ulps=64)
        got = call(f32, *args, mode="mirror", output=np.float64)
        assert got.dtype == np.float64
        assert_close(got, getattr(sn, name)(f32, *args, mode="mirror", output=np.float64), ulps=64)
    built = len(no_job)
    call(image, *args, mode="mirror", output=out)
    call(f32, *args, mode="mirror", output=np.float64)
    assert len(no_job) == built
    assert_close(out, want, ulps=64)
    ints = call(image * 100, *args, mode="mirror", output=np.int32)
    assert len(no_job) == built + 1 and ints.dtype == np.int32


def test_scipys_loops_are_probed_only_after_a_few_calls_where_the_caller_imported_them(monkeypatch):
    """A process that imported scipy.ndimage itself has its public functions serve at once and
    its loops probed once a few calls have passed (queued in the background by the second call,
    the probes had cost that call 3 ms: a 256² `gaussian_filter` 4.2 ms where its first took
    1.4, Intel Xeon, fresh processes). One that did not import it has them probed by the
    first call that wants them once the calls summed on fftconv's tiny loop meanwhile have
    taken about the probe's time (`tiny.PROBE_RENT_SECONDS`; the second call had probed them,
    1.1 ms of a 48x48 `gaussian_filter` whose scipy call takes 0.1), in the call (in the
    background, beside a loop of small filters, it had taken 3-30 ms and slowed those calls
    2-20x), scipy.ndimage never imported for them."""
    from fftconv.engine import ndimage_1d_loops, tiny

    probes: list = []
    real_probe = ndimage_1d_loops.probe
    monkeypatch.setattr(ndimage_1d_loops, "probe", lambda: probes.append(1) or real_probe())
    monkeypatch.setattr(tiny, "_WANTED", set())
    monkeypatch.setattr(tiny, "_calls_before_probes", [0])
    monkeypatch.setattr(ndimage_1d_loops, "_probed", [])
    for _ in range(tiny.PROBE_AFTER_CALLS):
        assert tiny.ndimage_loops()  # the caller's import serves at once
    assert probes == [] and not ndimage_1d_loops.probed()
    assert tiny.ndimage_loops() and probes == [1] and ndimage_1d_loops.ready()
    monkeypatch.setattr(tiny, "_WANTED", set())
    monkeypatch.setattr(ndimage_1d_loops, "_probed", [])
    monkeypatch.setattr(tiny, "imported", lambda name: None)  # a process without scipy.ndimage
    monkeypatch.setattr(ndimage_1d_loops, "imported", lambda name: None)
    monkeypatch.setattr(tiny, "_probe_rent", [0.0])
    assert not tiny.ndimage_loops() and probes == [1]
    tiny.pay_probe_rent(tiny.PROBE_RENT_SECONDS / 2)
    assert not tiny.ndimage_loops() and probes == [1]  # the tiny loop's calls cost less than the probe
    tiny.pay_probe_rent(tiny.PROBE_RENT_SECONDS / 2)
    assert tiny.ndimage_loops() and probes == [1, 1]  # probed once they cost as much: they serve
    assert tiny.ndimage_loops() and probes == [1, 1]


@pytest.mark.parametrize("shape", [(37, 29), (10, 11, 12)], ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_before_scipys_loops_serve_passes_alternate_into_the_output(rng, monkeypatch, shape, dtype):
    """Until scipy's loops serve, fftconv's tiny loop sums each pass of a term into the
    target or one scratch array in turn, the last into the target (each had summed into a new
    array copied back): as scipy's own filters, for one, two and three passes, into a
    contiguous target and a strided one (which takes the copies)."""
    from fftconv.engine import ndimage_1d_loops, shifted_sums

    monkeypatch.setattr(ndimage_1d_loops, "serving", lambda: False)  # as before the probe
    handed_out = []  # per pass: whether it summed straight into the array it was handed
    real_sum = shifted_sums.ndimage_sum
    monkeypatch.setattr(shifted_sums, "ndimage_sum", lambda *args, out=None: handed_out.append(
        out is not None) or real_sum(*args, out=out))
    x = rng.standard_normal(shape).astype(dtype)
    for name, args in (("gaussian_filter", (1.0,)), ("uniform_filter", (3,)), ("gaussian_filter1d", (1.0,))):
        want = getattr(sn, name)(x, *args, mode="mirror")
        job = getattr(separable, f"{name}_job")(x, *args, mode="mirror")
        (passes,) = job.terms
        target = np.full(shape, np.nan, dtype)
        handed_out.clear()
        assert scipy_passes.run_term(job.source, passes, target) is target
        assert_close(target, want, ulps=64)
        assert handed_out == [True] * len(passes)  # no pass summed into a new array copied back
        strided = np.full(tuple(2 * n for n in shape), np.nan, dtype)[(slice(None, None, 2),) * len(shape)]
        scipy_passes.run_term(job.source, passes, strided)
        assert_close(strided, want, ulps=64)


def test_a_contest_won_by_the_tiny_loop_is_held_again_once_scipys_loops_serve(rented_first_calls,
                                                                             monkeypatch):
    """Before scipy's loops serve a mid-size job's rented route is fftconv's tiny loop: a
    contest it won says nothing of scipy's loops, which the rented route becomes afterwards (a
    256² `laplace` had stayed on them at 0.42 ms a call, its planned passes take 0.14)."""
    from fftconv.engine import lane, ndimage_1d_loops

    job = separable.gaussian_filter_job(np.zeros((256, 256)), 2.0)
    monkeypatch.setattr(scipy_passes, "_rented_on_scipy", {})  # a signature not seen before
    real_serving = ndimage_1d_loops.serving
    monkeypatch.setattr(ndimage_1d_loops, "serving", lambda: False)  # as before scipy's loops serve
    rented, before = scipy_passes.route(job)
    assert rented and before is not None
    for seconds in (1e-4, 1e-4):  # the rented calls, then planned ones slower: it stays rented
        lane.timed(before, True, seconds)
    for seconds in (1e-3, 3e-4, 3e-4, 2e-4, 2e-4, 2e-4):
        lane.timed(before, False, seconds)
    assert lane.stays_rented(before)
    assert scipy_passes.route(job)[1] is None
    assert not lane.quick_settled((job.name, job.source.shape))  # the quick path runs scipy's loops
    monkeypatch.setattr(ndimage_1d_loops, "serving", real_serving)  # scipy's loops came in
    rented, after = scipy_passes.route(job)
    assert rented and after is not None and after != before and not lane.stays_rented(after)
    for seconds in (1e-4, 1e-4):  # its contest on scipy's loops, won by them: final, quick path
        lane.timed(after, True, seconds)
    for seconds in (1e-3, 3e-4, 3e-4, 2e-4, 2e-4, 2e-4):
        lane.timed(after, False, seconds)
    assert scipy_passes.route(job) == (True, None) and lane.quick_settled((job.name, job.source.shape))


def test_planned_passes_that_beat_the_tiny_loop_stay_once_scipys_loops_serve(rented_first_calls,
                                                                             monkeypatch):
    """... while a contest the planned passes won is not held again: their calls had gone back
    to renting scipy's loops for a few calls after they came in (256² `gaussian_filter`)."""
    from fftconv.engine import lane, ndimage_1d_loops

    job = separable.gaussian_filter_job(np.zeros((256, 256)), 2.0)
    monkeypatch.setattr(scipy_passes, "_rented_on_scipy", {})
    real_serving = ndimage_1d_loops.serving
    monkeypatch.setattr(ndimage_1d_loops, "serving", lambda: False)
    before = scipy_passes.route(job)[1]
    for seconds in (1e-3, 1e-3, 1e-3):  # the rent spent, then planned calls quicker
        lane.timed(before, True, seconds)
    for seconds in (1e-3, 3e-4, 3e-4, 2e-4, 2e-4, 2e-4):
        lane.timed(before, False, seconds)
    assert not lane.timing(before) and not lane.stays_rented(before)
    assert scipy_passes.route(job) == (False, None)
    monkeypatch.setattr(ndimage_1d_loops, "serving", real_serving)
    assert scipy_passes.route(job) == (False, None)  # still the planned passes, no new rent


def test_planned_passes_slower_than_scipys_loops_could_be_are_contested_on_them(rented_first_calls,
                                                                                monkeypatch):
    """A contest on the tiny loop whose planned passes won in more time than scipy's loops could
    take (`scipy_passes.LOOP_SAMPLE_SECONDS`) asks for the loops and is held again once they
    serve: a 64x64 `gaussian_filter` had kept planned passes of 80 us on rented calls that were
    its first, where scipy's loops take 30 (Intel Xeon); on them it ends on the quick path."""
    from fftconv.engine import lane, ndimage_1d_loops, tiny

    job = separable.gaussian_filter_job(np.zeros((64, 64)), 1.0)
    monkeypatch.setattr(scipy_passes, "_rented_on_scipy", {})
    real_serving = ndimage_1d_loops.serving
    monkeypatch.setattr(ndimage_1d_loops, "serving", lambda: False)
    asked = []
    monkeypatch.setattr(tiny, "ndimage_loops", lambda now=False: asked.append(1) or False)
    rented, before = scipy_passes.route(job)
    assert rented and asked == []
    for seconds in (2e-4, 2e-4, 2e-4):  # the rent, then planned calls of 80 us: they win
        lane.timed(before, True, seconds)
    for seconds in (1e-3, 1e-4, 1e-4, 8e-5, 8e-5, 8e-5):
        lane.timed(before, False, seconds)
    assert lane.planned_seconds(before) == 8e-5 and not lane.stays_rented(before)
    per_sample = 2 * (scipy_passes.LOOP_SAMPLE_SECONDS + 9 * scipy_passes.LOOP_TAP_SECONDS)
    assert 8e-5 > per_sample * 64 * 64  # scipy's loops could take less
    assert scipy_passes.route(job) == (False, None) and asked == [1]  # planned, and asking
    monkeypatch.setattr(ndimage_1d_loops, "serving", real_serving)  # scipy's loops came in
    rented, after = scipy_passes.route(job)
    assert rented and after is not None and after != before
    for seconds in (3e-5, 3e-5):
        lane.timed(after, True, seconds)
    for seconds in (1e-3, 1e-4, 1e-4, 8e-5, 8e-5, 8e-5):
        lane.timed(after, False, seconds)
    assert scipy_passes.route(job) == (True, None) and lane.quick_settled((job.name, job.source.shape))
    monkeypatch.setattr(scipy_passes, "_rented_on_scipy", {})  # a 256² job's planned 0.2 ms stand
    big = separable.gaussian_filter_job(np.zeros((256, 256)), 1.0)
    monkeypatch.setattr(ndimage_1d_loops, "serving", lambda: False)
    key = scipy_passes.route(big)[1]
    for seconds in (1e-3, 1e-3):
        lane.timed(key, True, seconds)
    for seconds in (1e-3, 3e-4, 3e-4, 2e-4, 2e-4, 2e-4):
        lane.timed(key, False, seconds)
    asked.clear()
    assert scipy_passes.route(big) == (False, None) and asked == []
    monkeypatch.setattr(ndimage_1d_loops, "serving", real_serving)
    assert scipy_passes.route(big) == (False, None)


def test_a_mid_size_job_asks_for_scipys_loops_once_its_rented_route_beat_its_passes(rented_first_calls,
                                                                                    monkeypatch):
    """Its rent runs on the tiny loop with no probe asked; once that route beats the planned
    passes, scipy's loops are worth having (a 64x64 `gaussian_filter`: 65-80 us on the tiny loop,
    32-35 on them), so the job's next call probes them (at once: its planned passes pay the
    tiny loop no rent toward the probe)."""
    from fftconv.engine import lane, ndimage_1d_loops, tiny

    job = separable.gaussian_filter_job(np.zeros((256, 256)), 2.0)
    monkeypatch.setattr(scipy_passes, "_rented_on_scipy", {})
    monkeypatch.setattr(ndimage_1d_loops, "serving", lambda: False)
    asked = []
    monkeypatch.setattr(tiny, "ndimage_loops", lambda now=False: asked.append(now) or False)
    rented, key = scipy_passes.route(job)
    assert rented and asked == []  # the rent asks for nothing
    for seconds in (1e-4, 1e-4):
        lane.timed(key, True, seconds)
    for seconds in (1e-3, 3e-4, 3e-4, 2e-4, 2e-4, 2e-4):
        lane.timed(key, False, seconds)
    assert lane.stays_rented(key)
    scipy_passes.route(job)
    assert asked == [True]  # now it does, at once
