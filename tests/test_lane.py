"""Repeated call signatures go straight to the executor that served them (`fftconv.engine.lane`):
the second call must answer exactly as the first, and anything that changes the answer or
the plan (kernel values, settings, registered executors) must change the signature."""

import dataclasses
import threading

import numpy as np
import pytest
import scipy.ndimage
import scipy.signal
from conftest import assert_close, in_threads

import fftconv
import fftconv.ndimage
from fftconv import config
from fftconv.engine import lane, run
from fftconv.executors import direct_compiled
from fftconv.planning.costs import DEFAULT_COSTS


@pytest.fixture(autouse=True)
def empty_lane():
    lane.clear()
    yield
    lane.clear()


def test_repeated_ndimage_calls_answer_as_the_first(rng):
    cases = [((200, 150), (5, 3), "float32", "reflect"), ((300,), (7,), "float64", "wrap"),
             ((20, 30, 40), (3, 3, 3), "float64", "nearest"), ((100, 100), (3, 3), "uint8", "mirror"),
             ((64, 64), (4, 4), "complex128", "constant")]
    for shape, wshape, dtype, mode in cases:
        x = (rng.standard_normal(shape) * 50).astype(dtype) if dtype != "complex128" else \
            rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
        w = rng.standard_normal(wshape)
        want = scipy.ndimage.correlate(x, w, mode=mode, cval=0.5)
        # a tiny call's first time is scipy's loop; the second plans and remembers fftconv's
        # route, which the third takes: the route answers as the planned call, to the bit
        tiny_first = fftconv.ndimage.correlate(x, w, mode=mode, cval=0.5, origin=-1)
        first = fftconv.ndimage.correlate(x, w, mode=mode, cval=0.5, origin=-1)
        again = fftconv.ndimage.correlate(x, w, mode=mode, cval=0.5, origin=-1)
        np.testing.assert_array_equal(again, first)
        assert again.dtype == first.dtype == tiny_first.dtype == x.dtype
        if x.dtype.kind not in "iu":
            assert_close(tiny_first, first, ulps=1000 if dtype == "float32" else 200)
        want = scipy.ndimage.correlate(x, w, mode=mode, cval=0.5, origin=-1)
        if x.dtype.kind in "iu":  # fftconv snaps sums within rounding of an integer: off by one at most
            assert np.abs(again.astype(int) - want.astype(int)).max() <= 1
        else:
            assert_close(again, want, ulps=1000 if dtype == "float32" else 200)
        other = x[::-1] * 2 if x.dtype.kind != "u" else x[::-1] // 2
        assert_close(fftconv.ndimage.correlate(other, w, mode=mode, cval=0.5, origin=-1),
                     scipy.ndimage.correlate(other, w, mode=mode, cval=0.5, origin=-1),
                     ulps=1000 if dtype == "float32" else 200)


def test_repeated_signal_calls_answer_as_the_first(rng):
    for dtype in ("float32", "float64", "int64", "int16", "complex128"):
        a = (rng.standard_normal((120, 90)) * 30).astype(dtype)
        b = (rng.standard_normal((5, 4)) * 30).astype(dtype)
        for name in ("convolve", "correlate"):
            for mode in ("full", "same", "valid"):
                want = getattr(scipy.signal, name)(a, b, mode, method="direct")
                first = getattr(fftconv, name)(a, b, mode)
                again = getattr(fftconv, name)(a, b, mode)
                # integers exactly; floats to rounding (a repeated call may run a trial's contender)
                assert_close(again, first, ulps=64)
                assert again.dtype == want.dtype
                assert_close(again, want, ulps=64)


def test_repeats_take_the_lane(rng, monkeypatch):
    a, b = rng.standard_normal((256, 256)), rng.standard_normal((3, 3))
    for _ in range(2):  # a signature's first call is planned from a short list, its second in full
        fftconv.correlate(a, b, "same", threads=1)
        fftconv.ndimage.convolve(a, b, threads=1)
    if direct_compiled.loops() is None:
        pytest.skip("the compiled loops are not built")
    monkeypatch.setattr(run, "plan", lambda *args, **kwargs: pytest.fail("planned again"))
    assert_close(fftconv.correlate(a * 3, b, "same", threads=1),
                 scipy.signal.correlate(a * 3, b, "same", method="direct"), ulps=64)
    assert_close(fftconv.ndimage.convolve(a + 1, b, threads=1), scipy.ndimage.convolve(a + 1, b), ulps=64)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "complex64", "float16"])
def test_repeated_1d_direct_calls_take_one_numpy_call(rng, monkeypatch, dtype):
    """A 1-D direct sum's route is ``np.convolve`` alone: through the pipeline a repeated 3293
    * 17 'valid' float32 call took 84 us where the sum takes 50 (scipy's call 91)."""
    a = (rng.standard_normal(3293) * 30).astype(dtype)
    b = (rng.standard_normal(17) * 30).astype(dtype)
    numpy_cheapest = dataclasses.replace(DEFAULT_COSTS, compiled_mac=1e-6, row_tap=1e-6, direct_mac=1e-6)
    with config.override(method="direct", costs=numpy_cheapest):
        assert fftconv.plan(a, b, "same", threads=1).executor == "direct.numpy"
        for mode in ("full", "same", "valid"):
            for name in ("convolve", "correlate"):
                getattr(fftconv, name)(a, b, mode, threads=1)
                getattr(fftconv, name)(a, b, mode, threads=1)  # planned in full: the route remembered
        monkeypatch.setattr(run, "plan", lambda *args, **kwargs: pytest.fail("planned again"))
        monkeypatch.setattr(run, "execute", lambda *args, **kwargs: pytest.fail("ran the pipeline"))
        for mode in ("full", "same", "valid"):
            for name in ("convolve", "correlate"):
                got = getattr(fftconv, name)(a * 2, b, mode, threads=1)
                want = getattr(scipy.signal, name)(a.astype(got.dtype) * 2, b.astype(got.dtype), mode,
                                                   "direct")
                assert got.dtype == want.dtype
                assert_close(got, want, ulps=64)


@pytest.mark.parametrize("method", ["direct", "fft"])
@pytest.mark.parametrize("shape", [(3000,), (60, 50)])
def test_a_route_keeps_the_kernel_it_was_made_with(rng, method, shape):
    """The lane keys a kernel by its bytes: a route that read the caller's array later (an FFT
    route makes its kernel spectrum at its second call) would answer a call with the same bytes
    in another array from whatever the first array holds by then."""
    a, b = rng.standard_normal(shape), rng.standard_normal(tuple(5 for _ in shape))
    # ESTIMATE plans are final at once: the first call leaves the route
    with config.override(method=method, planner_effort="estimate"):
        fftconv.convolve(a, b, "same", threads=1)
        same_values = b.copy()
        b[...] = 0.0  # the first array changed in place
        for _ in range(3):
            assert_close(fftconv.convolve(a, same_values, "same", threads=1),
                         scipy.signal.convolve(a, same_values, "same", "direct"), ulps=64)


def test_what_changes_the_answer_or_the_plan_changes_the_signature(rng, monkeypatch):
    a, b = rng.standard_normal((256, 256)), rng.standard_normal((3, 3))
    fftconv.correlate(a, b, "same", threads=1)
    c = b.copy()
    c[1, 1] += 1.0  # another kernel of the same shape
    assert_close(fftconv.correlate(a, c, "same", threads=1), scipy.signal.correlate(a, c, "same", "direct"),
                 ulps=64)
    seen = []
    real_plan = run.plan
    monkeypatch.setattr(run, "plan", lambda *args, **kwargs: seen.append(1) or real_plan(*args, **kwargs))
    with config.override(method="fft"):
        fftconv.correlate(a, b, "same", threads=1)
    fftconv.correlate(a, b, "same", threads=2)
    fftconv.correlate(a, b, "full", threads=1)
    assert len(seen) == 3


@pytest.mark.parametrize("method", ["direct", "fft"])
def test_a_long_kernel_takes_the_lane_and_a_change_anywhere_in_it_is_seen(rng, monkeypatch, method):
    """Kernels over 4 KiB were never keyed: each 5000 * 2000 'full' call checked, planned and
    transformed its kernel again (234 us; scipy's `fftconvolve` 203). A long kernel's key
    hashes only its ends, so a change in its middle must still make another signature."""
    a, b = rng.standard_normal(5000), rng.standard_normal(2000)
    assert 4096 < b.nbytes <= lane.KERNEL_BYTES
    with config.override(method=method, planner_effort="estimate"):  # final plans: routes kept at once
        for _ in range(2):
            fftconv.convolve(a, b, threads=1)
        real_plan = run.plan
        monkeypatch.setattr(run, "plan", lambda *args, **kwargs: pytest.fail("planned again"))
        assert_close(fftconv.convolve(a * 2, b, threads=1), scipy.signal.convolve(a * 2, b, method="direct"),
                     ulps=2000)
        monkeypatch.setattr(run, "plan", real_plan)
        b[1000] += 1.0  # in place, where the key's hash does not look
        assert_close(fftconv.convolve(a, b, threads=1), scipy.signal.convolve(a, b, method="direct"),
                     ulps=2000)


def test_non_finite_kernels_and_values_keep_their_own_rules(rng):
    a = rng.standard_normal((100, 100))
    a[50, 50] = np.nan
    b = rng.standard_normal((3, 3))
    for _ in range(2):
        got = fftconv.convolve(a, b, "same", threads=1)
        assert np.isnan(got).sum() == 9
    k = b.copy()
    k[0, 0] = np.inf
    for _ in range(2):
        got = fftconv.convolve(rng.standard_normal((100, 100)), k, "same", threads=1)
        assert np.isinf(got).sum() == 100 * 100 - 199 and not np.isnan(got).any()


def test_inputs_are_never_written_and_outputs_never_shared(rng):
    x, w = rng.standard_normal((128, 128)), rng.standard_normal((5, 5))
    keep = x.copy()
    first = fftconv.ndimage.correlate(x, w)
    second = fftconv.ndimage.correlate(x, w)
    np.testing.assert_array_equal(x, keep)
    assert not np.shares_memory(first, second)
    second[...] = 0
    np.testing.assert_array_equal(fftconv.ndimage.correlate(x, w), first)


def test_threads_calling_one_signature_at_once(rng):
    x, w = rng.standard_normal((200, 200)), rng.standard_normal((5, 5))
    want = scipy.ndimage.correlate(x, w)
    results, errors = [], []

    def work():
        try:
            for _ in range(20):
                results.append(fftconv.ndimage.correlate(x, w, threads=1))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 80
    for r in results:
        assert_close(r, want, ulps=64)


def test_calls_the_lane_does_not_key(rng):
    x, w = rng.standard_normal((50, 50)), rng.standard_normal((3, 3))
    assert lane.ndimage_key(x, w, "float32", "reflect", 0.0, 0, None, "auto", None, False, False) is None
    assert lane.ndimage_key(x, w, x.view(np.memmap), "reflect", 0.0, 0, None, "auto", None, False,
                            False) is None
    assert lane.ndimage_key(x, w, None, "reflect", 0.0, 0, None, "auto", None, True, False) is None
    assert lane.ndimage_key(x, w, None, "reflect", 0.0, [0, np.int64(1)], None, "auto", None, False,
                            False) is None
    assert lane.ndimage_key(x.view(np.memmap), w, None, "reflect", 0.0, 0, None, "auto", None, False,
                            False) is None
    too_large = np.ones(lane.KERNEL_BYTES // 8 + 1)
    assert lane.signal_key(x[0], too_large, "same", "auto", None, None, False, None, None) is None
    assert lane.signal_key(x.tolist(), w, "same", "auto", None, None, False, None, None) is None


@pytest.mark.parametrize("shape", [(16, 16), (256, 200)])  # a tiny call (scipy's loop) and a routed one
def test_repeats_into_an_output_array_take_the_lane_and_answer_as_scipy(rng, monkeypatch, shape):
    """An ``output=`` array took the full path at every call: 157 us for a 16x16 * 3x3 image
    whose call without it took 9 us (and 143 against 33 us at 256x256)."""
    monkeypatch.setattr(run, "FULL_PLAN_SECONDS", 0.0)  # a signature's second call plans in full
    x, w = rng.standard_normal(shape).astype(np.float32), rng.standard_normal((3, 3)).astype(np.float32)
    outputs = {"same dtype": np.empty(shape, np.float32), "float64": np.empty(shape, np.float64),
               "strided": np.empty((shape[0], 2 * shape[1]), np.float32)[:, ::2]}
    for name, out in outputs.items():
        for call in range(3):  # a first call, the call that plans in full, the lane's
            image = x * (call + 1)
            want = scipy.ndimage.correlate(image, w, output=np.empty(shape, out.dtype), mode="mirror")
            got = fftconv.ndimage.correlate(image, w, output=out, mode="mirror", threads=1)
            assert got is out, name
            assert_close(out, want, np.float32, ulps=64)  # computed in float32, as without output=
    for _ in range(3):
        fftconv.ndimage.correlate(x, w, output=np.float64, mode="mirror", threads=1)
    if direct_compiled.loops() is None:
        pytest.skip("the compiled loops are not built")
    monkeypatch.setattr(run, "plan", lambda *args, **kwargs: pytest.fail("planned again"))
    for out in outputs.values():
        assert fftconv.ndimage.correlate(x + 1, w, output=out, mode="mirror", threads=1) is out
        assert_close(out, scipy.ndimage.correlate(x + 1, w, output=np.empty(shape, out.dtype), mode="mirror"),
                     np.float32, ulps=64)
    got = fftconv.ndimage.correlate(x, w, output=np.float64, mode="mirror", threads=1)
    assert got.dtype == np.float64
    assert_close(got, scipy.ndimage.correlate(x, w, output=np.float64, mode="mirror"), np.float32, ulps=64)


@pytest.mark.parametrize("progress", [False, True])  # the lane's route; the full path at every call
def test_a_call_into_its_own_input_reads_the_input_as_it_was(rng, progress):
    """The compiled loop read its image's halo from the output it had already written: errors
    up to 14 on a 256x200 image of normal values."""
    w = rng.standard_normal((3, 3))
    for shape in ((16, 16), (256, 200)):
        for _ in range(3):
            x = rng.standard_normal(shape)
            want = scipy.ndimage.correlate(x, w)
            assert fftconv.ndimage.correlate(x, w, output=x, threads=1, progress=progress) is x
            assert_close(x, want, ulps=64)


def test_a_read_only_output_is_refused_at_every_call(rng):
    x, w = rng.standard_normal((256, 200)), rng.standard_normal((3, 3))
    writeable = np.empty_like(x)
    for _ in range(3):
        fftconv.ndimage.correlate(x, w, output=writeable, threads=1)
    read_only = np.empty_like(x)
    read_only.flags.writeable = False
    for _ in range(3):
        with pytest.raises(ValueError, match="read-only"):
            fftconv.ndimage.correlate(x, w, output=read_only, threads=1)


def test_a_kernel_folded_for_a_finite_image_is_not_reused_for_the_next(rng):
    """Taps of both signs are folded (summed) only where the samples read are finite: a
    signature remembered from finite images filtered a later image holding inf with the
    folded kernel (12 infs where the direct sum has 9 NaN and 3 inf)."""
    w = rng.standard_normal(41)  # both signs, longer than the 12 samples 'wrap' tells apart
    x = rng.standard_normal((12, 700))
    for _ in range(3):
        fftconv.ndimage.correlate1d(x, w, axis=0, mode="wrap")
    y = x.copy()
    y[5, 10] = np.inf
    padded = np.pad(y.astype(np.longdouble), ((20, 20), (0, 0)), mode="wrap")
    with np.errstate(invalid="ignore"):
        want = sum(w[t] * padded[t:t + 12] for t in range(41)).astype(np.float64)
    got = fftconv.ndimage.correlate1d(y, w, axis=0, mode="wrap")
    assert np.isnan(want).any()  # inf taken by taps of both signs
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
    assert_close(np.nan_to_num(got, posinf=0, neginf=0), np.nan_to_num(want, posinf=0, neginf=0), ulps=1000)


def test_repeated_fft_calls_keep_their_kernel_spectrum(rng, monkeypatch):
    """An FFT plan's route does the kernel-only work once: a 64x64 float32 `fftconvolve` with
    a 3x3 kernel recomputed its kernel's spectrum (a quarter of the call) at every call."""
    from fftconv.executors import spectral

    x, k = rng.standard_normal((64, 64)).astype(np.float32), rng.standard_normal((3, 3)).astype(np.float32)
    stack, w = rng.standard_normal((5, 64, 40)), rng.standard_normal((1, 1, 7))  # a batch along axis 0
    real_spectrum = spectral.kernel_spectrum
    with config.override(method="fft"):  # no trial between 'fft' and 'tiled' (~140 calls here)
        for _ in range(3):
            fftconv.fftconvolve(x, k, "same")
            fftconv.fftconvolve(stack, w, "same", axes=[1, 2])
        monkeypatch.setattr(spectral, "kernel_spectrum", lambda *args, **kw: pytest.fail("spectrum again"))
        monkeypatch.setattr(run, "plan", lambda *args, **kwargs: pytest.fail("planned again"))
        for scale in (2.0, -0.5):
            assert_close(fftconv.fftconvolve(x * scale, k, "same"),
                         scipy.signal.fftconvolve(x * scale, k, "same"), ulps=64)
            assert_close(fftconv.fftconvolve(stack * scale, w, "same", axes=[1, 2]),
                         scipy.signal.fftconvolve(stack * scale, w, "same", axes=[1, 2]), ulps=64)
        holed = x.copy()
        holed[10, 20] = np.nan
        monkeypatch.setattr(spectral, "kernel_spectrum", real_spectrum)  # a non-finite image: run again
        got = fftconv.fftconvolve(holed, k, "same")
    assert np.isnan(got).sum() == 9  # the direct sum's footprint, as on the full path


def test_large_spectra_and_integer_results_are_not_kept(rng):
    x, k = rng.standard_normal((600, 600)), rng.standard_normal((3, 3))  # a 4.6 MiB spectrum
    problem = fftconv.core.problem.Problem.build(x, k, "same")
    assert run.route(problem, run.plan(problem, "fft", threads=1)) is None
    small = fftconv.core.problem.Problem.build(x[:60, :60], k, "same")
    assert run.route(small, run.plan(small, "fft", threads=1)) is not None
    ones = np.ones((60, 60), np.int64)
    integers = fftconv.core.problem.Problem.build(ones, ones[:3, :3], "same")
    assert run.route(integers, run.plan(integers, "fft", threads=1)) is None  # its plan read the values


@pytest.mark.parametrize("shape, kernel", [((2000,), (17,)), ((120, 90), (5, 4)), ((12, 10, 9), (3, 3, 2))])
def test_every_executor_has_a_route_for_floating_results(rng, shape, kernel):
    """An executor with neither its own route nor a boundary reader took the full path at every
    call, and a trial with it among its contenders could not take the lane: 2000 * 17 'same'
    float32 ran at 53 us a call for thousands of calls, where the lane's route takes 13 us."""
    a, b = rng.standard_normal(shape), rng.standard_normal(kernel)
    problem = run.Problem.build(a, b, "same")
    spec = problem.spec(1, config.get().backend)
    costs = run.calibrate.costs_for(config.get())[0]
    want = scipy.signal.convolve(a * 2, b, "same", method="direct")
    routed = 0
    for executor in fftconv.executors.registry.executors():
        if not executor.applies(spec) or (executor.checks_values and not executor.accepts(problem)):
            continue
        plan = run.make_plan(spec, "auto", (executor.name,), costs)
        route = run.route(problem, plan)
        assert route is not None, executor.name
        for _ in range(2):  # the first call, then with the kernel-only work made
            assert_close(route(a * 2), want, ulps=256)
        routed += 1
    assert routed >= 4


def test_an_fft_route_makes_its_kernel_spectrum_in_its_first_call_counted_as_one(rng, monkeypatch):
    """Made at the route's second call, the spectrum cost that call a transform; made in the
    first call it must count as one call of the engine (a size's second call reads its wisdom
    and queues its measuring: `fftconv.backends.fftw`)."""
    from fftconv import background

    a, b = rng.standard_normal((56, 75)), rng.standard_normal((31, 23))
    problem = run.Problem.build(a, b, "same")
    plan = run.plan(problem, "fft", threads=1)
    made = []
    real_prepare = run.prepare
    monkeypatch.setattr(run, "prepare", lambda *args: made.append(1) or real_prepare(*args))
    route = run.route(problem, plan)
    want = scipy.signal.convolve(a, b, "same", method="direct")
    for _ in range(3):
        before = background.calls()
        assert_close(route(a), want, ulps=4000)
        assert background.calls() == before + 1
        assert len(made) == 1  # made in the first call, kept for the next


def holed(rng, shape, share=0.05):
    x = rng.standard_normal(shape)
    x[rng.random(shape) < share] = np.nan
    return x


@pytest.mark.parametrize("method", ["direct", "separable", "fft"])
def test_repeated_filters_with_holes_take_the_lane_and_fill_each_images_own_holes(rng, monkeypatch, method):
    """A filter with holes whose signature repeats is not planned again (a 32² image had
    planned its block every call: 0.2 ms of 0.28), and each image's holes are its own."""
    from test_holes import assert_close_nan, reference

    w = np.outer([1.0, 2.0, 1.0], [1.0, 3.0, 2.0, 1.0, 1.0])
    out = np.empty((40, 30))

    def both(x, mode):  # two signatures: a new output, and into an array
        options = dict(nan="interpolate", method=method, threads=1, mode=mode)
        got = fftconv.ndimage.correlate(x, w, **options)
        assert fftconv.ndimage.correlate(x, w, output=out, **options) is out
        return got

    for mode in ("reflect", "constant"):
        monkeypatch.undo()
        for _ in range(3):  # first sight, then planned in full
            both(holed(rng, out.shape), mode)
        monkeypatch.setattr(run, "plan", lambda *args, **kwargs: pytest.fail("planned again"))
        for _ in range(2):
            x = holed(rng, out.shape, 0.2)
            x[10:16, 5:12] = np.nan  # outputs with no valid pixel in reach: NaN
            kept = x.copy()
            got = both(x, mode)
            np.testing.assert_array_equal(x, kept)
            assert_close_nan(got, reference(x, w, mode), 1e-12)
            np.testing.assert_array_equal(out, got)
            assert np.isnan(got).any()


def test_a_filter_with_holes_keyed_by_its_rule_and_its_kernels_values(rng):
    """The astropy drop-in's rule (an empty output keeps its own pixel) and ndimage's (NaN)
    are two signatures; a kernel changed in place is another."""
    from test_holes import assert_close_nan, reference

    import fftconv.astropy

    x = holed(rng, (30, 30))
    x[10:20, 10:20] = np.nan
    w = np.ones((3, 3))
    for _ in range(3):
        ours = fftconv.ndimage.convolve(x, w, nan="interpolate", mode="constant", cval=np.nan)
        theirs = fftconv.astropy.convolve(x, w, boundary="fill", fill_value=np.nan, normalize_kernel=False,
                                          preserve_nan=False)
    assert np.isnan(ours[15, 15]) and np.isnan(theirs[15, 15])  # astropy: NaN where its own pixel is
    empty = np.isnan(ours)
    assert_close_nan(ours, reference(x, w, "constant", np.nan), 1e-12)
    w[0, 0] = 5.0
    assert_close_nan(fftconv.ndimage.convolve(x, w, nan="interpolate", mode="constant", cval=np.nan),
                     reference(x, np.flip(w), "constant", np.nan), 1e-12)
    assert empty.any()


def test_a_filter_with_holes_under_a_mask_or_a_memory_limit_takes_the_full_path(rng, monkeypatch):
    x = holed(rng, (60, 40))
    w = np.ones((3, 3))
    mask = rng.random(x.shape) < 0.1
    for _ in range(3):
        fftconv.ndimage.convolve(x, w, nan="interpolate", mask=mask)
        with config.override(memory_limit=40_000):
            fftconv.ndimage.convolve(x, w, nan="interpolate")
    assert not any(key[-2:] == ("interpolate", None) for key in lane._routes)


@pytest.mark.parametrize("method", ["auto", "fft"])
def test_threads_filling_holes_of_one_signature_at_once(rng, method):
    """One route (its blocks' bands or tiles made by whichever call comes first) serves
    threads calling at once, each with its own image and holes."""
    from test_holes import assert_close_nan, reference

    w = np.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0])
    images = [holed(rng, (60, 50), 0.1) for _ in range(4)]
    wants = [reference(x, w, "nearest") for x in images]
    results, errors = [[] for _ in images], []

    def work(i):
        try:
            for _ in range(15):
                results[i].append(fftconv.ndimage.correlate(images[i], w, mode="nearest", nan="interpolate",
                                                            method=method, threads=1))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    in_threads(work)
    assert not errors
    for got, want in zip(results, wants):
        assert len(got) == 15
        for r in got:
            assert_close_nan(r, want, 1e-12)


def test_filters_with_holes_key_kernels_up_to_256_kib_and_keep_eight_of_them(rng, monkeypatch):
    """A filter with holes by a kernel over `KERNEL_BYTES` joins the lane (its call planned its
    block each time: 1.8 -> 0.9 ms a call, 256² * 101x101 PSF); at most `LARGE_KEYS` such
    signatures are kept, the oldest forgotten first; a kernel over `HOLES_KERNEL_BYTES` is not
    keyed."""
    from test_holes import assert_close_nan

    x = holed(rng, (40, 40))
    kernels = [rng.random((91, 91)) + 0.1 for _ in range(lane.LARGE_KEYS + 1)]  # 65 KiB each
    assert all(lane.KERNEL_BYTES < k.nbytes <= lane.HOLES_KERNEL_BYTES for k in kernels)
    for k in kernels:
        for _ in range(3):
            fftconv.ndimage.correlate(x, k, nan="interpolate", mode="wrap", threads=1)
    large = [key for key in lane._routes if lane._large_kernel(key)]
    assert len(large) == lane.LARGE_KEYS == len(lane._large)
    options = dict(nan="interpolate", mode="wrap", threads=1)
    want = fftconv.ndimage.correlate(x, kernels[-1], method="direct", **options)
    monkeypatch.setattr(run, "plan", lambda *args, **kwargs: pytest.fail("planned again"))
    assert_close_nan(fftconv.ndimage.correlate(x, kernels[-1], **options), want, 1e-12)
    with pytest.raises(pytest.fail.Exception, match="planned again"):  # the first one was forgotten
        fftconv.ndimage.correlate(x, kernels[0], **options)
    monkeypatch.undo()
    huge = rng.random((182, 182))  # over 256 KiB
    assert huge.nbytes > lane.HOLES_KERNEL_BYTES
    assert lane.ndimage_key(x, huge, None, "wrap", 0.0, 0, None, "auto", 1, False, False,
                            kernel_bytes=lane.HOLES_KERNEL_BYTES) is None


@pytest.mark.parametrize("method", ["direct", "separable", "fft"])
@pytest.mark.parametrize("rank", [1, 2])
def test_a_route_with_holes_keeps_the_kernel_it_was_made_with(rng, method, rank):
    """As plain routes: a route kept for a filter with holes answers later calls whose kernel
    has its bytes, whatever became of the array it was made from."""
    from test_holes import assert_close_nan, reference

    import fftconv.astropy

    x = holed(rng, (50, 40))
    k = np.outer([1.0, 2.0, 1.0], [1.0, 3.0, 1.0]) if rank == 1 else rng.random((3, 3)) + 0.1
    methods = [method] if method != "separable" or rank == 1 else []
    for m in methods:
        lane.clear()
        kernel = k.copy()
        for _ in range(3):
            fftconv.ndimage.correlate(x, kernel, nan="interpolate", method=m, threads=1)
        same_values = kernel.copy()
        kernel[...] = 0.0  # the first array changed in place
        for _ in range(2):
            got = fftconv.ndimage.correlate(x, same_values, nan="interpolate", method=m, threads=1)
            assert_close_nan(got, reference(x, same_values), 1e-12)
    lane.clear()
    kernel = k.copy()
    for _ in range(3):
        want = fftconv.astropy.convolve(x, kernel)
    same_values = kernel.copy()
    kernel[...] = 1e-3
    assert_close_nan(fftconv.astropy.convolve(x, same_values), want, 1e-12)  # plans may differ by a rounding


def test_a_contest_counts_no_planned_call_made_beside_background_work(monkeypatch):
    """A planned call timed while background work runs (scipy.ndimage's import, whose Python
    holds the GIL; FFTW measuring) says what that work costs it: the contest between a rented
    route and the planned one waits for the quiet."""
    from fftconv import background

    key = ("a contested signature",)
    for seconds in (1e-4, 1e-4):
        lane.timed(key, True, seconds)
    monkeypatch.setattr(background, "idle", lambda: False)
    for _ in range(10):
        lane.timed(key, False, 1e-3)  # slowed by the work beside it
    assert lane.timing(key) and not lane.stays_rented(key)
    monkeypatch.setattr(background, "idle", lambda: True)
    for seconds in (1e-3, 5e-5, 5e-5, 5e-5, 5e-5, 5e-5):  # planned quicker once quiet
        lane.timed(key, False, seconds)
    assert not lane.timing(key) and not lane.stays_rented(key)
