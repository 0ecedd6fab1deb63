"""Calls too small to plan go straight to scipy's compiled direct loops (`fftconv.engine.tiny`):
the answer must be the one the pipeline's direct path gives, and the hand-over must happen
only when nothing forces a method and the loop computes what fftconv defines."""

import itertools
import json
import math

import numpy as np
import pytest
import scipy.ndimage
import scipy.signal
from conftest import NDIMAGE_MODES, assert_close
from conftest import random_values as values
from test_first_calls import fresh_process_output

import fftconv
import fftconv.ndimage
from fftconv.engine import ndimage_1d_loops, ndimage_nd_loop, run, shifted_sums, short_1d, signal_loops, tiny

MODES_2D = ["full", "same", "valid"]
BOUNDARIES = ["fill", "wrap", "symm"]


@pytest.fixture(autouse=True)
def no_2d_rent(monkeypatch, request):
    """Zero-fill 2-D signal calls and ndimage calls beyond the tiny size go to the pipeline from
    their first call (this module's `planned` stands in for conftest's, which does this for the
    others); the tests of those rents ask for `rented_first_calls`."""
    if "rented_first_calls" not in request.fixturenames:
        monkeypatch.setattr(tiny, "RENT_2D_MACS", 0)
        monkeypatch.setattr(tiny, "RENT_NDIMAGE_MACS", 0)


@pytest.fixture
def planned(monkeypatch):
    """One entry a call of the engine's planner (`fftconv.engine.run.plan`): empty while every
    call took a route that needs no plan."""
    calls = []
    original = run.plan
    monkeypatch.setattr(run, "plan", lambda *args, **kwargs: calls.append(1) or original(*args, **kwargs))
    return calls


class _CountingLoops:
    """`shifted_sums.tiny_sums` whose signal and ndimage sums count as the tiny routes'."""

    def __init__(self, module, calls):
        self._module, self._calls = module, calls

    def __getattr__(self, name):
        real = getattr(self._module, name)
        if name not in ("signal", "ndimage"):
            return real

        def counting(a, b, *args):
            self._calls[name] += 1
            return real(a, b, *args)
        return counting


@pytest.fixture
def counted(monkeypatch):
    """How many times each tiny route's loop (scipy's, or fftconv's compiled tiny loop, which
    the routes call first where it sums a call) was called."""
    calls = {"signal": 0, "ndimage": 0}
    if shifted_sums.tiny_sums is not None:
        monkeypatch.setattr(shifted_sums, "tiny_sums", _CountingLoops(shifted_sums.tiny_sums, calls))

    def wrap(module, name, key):
        original = getattr(module, name)

        def counting(*args, **kwargs):
            calls[key] += 1
            return original(*args, **kwargs)
        monkeypatch.setattr(module, name, counting)
    signal_loops.probe("2d")
    loop = signal_loops.loop("2d")
    if loop is None:  # this scipy's private loop failed the probe: the public functions serve
        wrap(scipy.signal, "convolve2d", "signal")
        wrap(scipy.signal, "correlate2d", "signal")
    else:
        def counting_loop(*args):
            calls["signal"] += 1
            return loop(*args)
        monkeypatch.setitem(signal_loops._probed, "2d", counting_loop)
    ndimage_nd_loop.probe()
    ndimage_loop = ndimage_nd_loop.loop()  # real ones go straight to scipy's compiled loop
    wrap(scipy.ndimage, "correlate", "ndimage")  # what the tiny path hands the others to
    wrap(scipy.ndimage, "convolve", "ndimage")

    def counting_ndimage_loop(*args):
        calls["ndimage"] += 1
        return ndimage_loop(*args)
    monkeypatch.setattr(tiny, "_ndimage", [scipy.ndimage.correlate, scipy.ndimage.convolve])
    monkeypatch.setattr(ndimage_nd_loop, "_probed",
                        [counting_ndimage_loop if ndimage_loop is not None else None])
    return calls


@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64", "complex128", "int64", "int8",
                                   "uint16"])
@pytest.mark.parametrize("name", ["convolve2d", "correlate2d"])
def test_tiny_2d_calls_equal_the_pipelines_direct_sum(rng, counted, dtype, name):
    ours = getattr(fftconv, name)
    for mode, boundary in itertools.product(MODES_2D, BOUNDARIES):
        for s1, s2 in (((4, 4), (2, 2)), ((7, 5), (3, 3)), ((3, 2), (5, 4)), ((16, 16), (3, 3))):
            a, b = values(rng, s1, dtype), values(rng, s2, dtype)
            fill = 0.5 if dtype != "uint16" else 3
            if mode == "valid" and (s1[0] < s2[0] or s1[1] < s2[1]):
                continue
            before = counted["signal"]
            got = ours(a, b, mode, boundary, fill)
            assert counted["signal"] == before + 1, "the tiny call went through the pipeline"
            piped = ours(a, b, mode, boundary, fill, method="direct")
            assert counted["signal"] == before + 1, "a forced method must not take the tiny path"
            assert got.dtype == piped.dtype
            if np.dtype(dtype).kind in "iu":
                np.testing.assert_array_equal(got, piped)
            else:
                assert_close(got, piped, ulps=64)


def test_what_stays_on_the_pipeline(rng, counted):
    a, b = rng.standard_normal((64, 64)), rng.standard_normal((3, 3))
    fftconv.convolve2d(a, b, "same")  # 36,864 multiply-adds: more than the tiny threshold
    fftconv.convolve2d(a[:4, :4], b.astype(np.float32))  # mixed dtypes: scipy's loop would upcast
    fftconv.convolve2d(a[:4, :4].astype(np.float16), b.astype(np.float16))
    fftconv.correlate2d(a[:2, :2], b, "valid")  # scipy swaps (and conjugates complex) here
    with fftconv.config.override(method="fft"):
        fftconv.convolve2d(a[:4, :4], b)
    assert counted["signal"] == 0
    x = rng.standard_normal((5, 5))
    fftconv.ndimage.correlate(x, b, output=np.int32)  # integer outputs snap near-integer sums
    fftconv.ndimage.correlate(x.astype(np.int16), b)
    fftconv.ndimage.correlate(x, b, output=np.complex128)  # scipy refuses a real image into complex
    fftconv.ndimage.correlate(x, b, output=x)  # the image itself
    read_only = np.empty_like(x)
    read_only.flags.writeable = False
    with pytest.raises(ValueError):
        fftconv.ndimage.correlate(x, b, output=read_only)
    fftconv.ndimage.correlate(x, b.astype(complex), output=np.complex128)  # complex weights, real image
    fftconv.ndimage.correlate(x, b[0], axes=1)
    fftconv.ndimage.correlate(x + 1j, b, mode="constant", cval=1j)
    fftconv.ndimage.correlate(x[:2], b, mode="reflect")  # halo wider than the image
    fftconv.ndimage.correlate(x, b, method="direct")
    fftconv.ndimage.correlate(x, b, progress=True)
    fftconv.ndimage.correlate(x.astype(np.float16), b)
    fftconv.ndimage.correlate(rng.standard_normal((64, 64, 64)), b[None])  # 2.4 M multiply-adds
    assert counted["ndimage"] == 0


@pytest.mark.parametrize(("n", "k", "mode", "first", "repeats"), [
    (1590, 719, "valid", True, False),  # 626,968 multiply-adds of a long kernel: the compiled
    # loop, once planned, beats numpy's BLAS dot an output (`tiny.NUMPY_PRODUCT_COST`)
    (2500, 300, "same", True, False),  # 750,000
    (600, 600, "full", True, True),  # 719,400 in the loop, 360,000 products in numpy: numpy's
    (2104, 700, "valid", True, False),  # 983,500: the loop (54 us against numpy's 80, AMD EPYC)
    (20000, 33, "valid", True, False),  # 658,944 of a short kernel: the compiled loop once planned
    (3000, 719, "valid", True, False),  # 1,640,758: over the long kernels' limit once planned
    (60000, 40, "full", True, False),  # 2,401,560: over `FIRST_1D_MACS`, but numpy's sum beats the
    # transforms (`first_1d_route`); the repeat, its rent paid, is planned
    (8000, 17, "same", True, False),  # 136,000 in 8,000 outputs: the pipeline's loop once
    # planned (`fftconv.engine.short_1d`; Intel Xeon, 16 taps, 'full': numpy's 8,000 dot calls
    # 117 us, the tiny loop 17.1, the pipeline 11.4)
    (605, 77, "valid", True, True),  # 40,733 in 529 outputs: the tiny loop
    (21398, 9, "full", True, False),  # 192,654 of a 9-tap kernel in 21,406 outputs: the
    # pipeline's loop once planned (17.5 us against numpy's 31.9, AMD EPYC Zen 4)
    (10000, 5, "same", True, True),  # 50,000 in 10,000 outputs: the tiny loop
])
def test_one_dimensional_calls_handed_to_numpy(rng, monkeypatch, planned, n, k, mode, first, repeats):
    """A 1-D signature's first call takes a tiny route (numpy.convolve or the tiny loop) up to
    `FIRST_1D_MACS` (planning it costs more); its repeats where `fftconv.engine.short_1d` (or,
    for long kernels, the tiny limits) prefers one."""
    monkeypatch.setattr(tiny, "_spent_1d", {})
    monkeypatch.setattr(tiny, "RENT_1D_SECONDS", 1e-9)  # the first call only
    a, b = rng.standard_normal(n).astype(np.float32), rng.standard_normal(k).astype(np.float32)
    want = scipy.signal.convolve(a, b, mode, method="direct")
    assert_close(fftconv.convolve(a, b, mode), want, ulps=1000)
    assert (not planned) == first
    planned.clear()
    assert_close(fftconv.convolve(a * 2, b, mode), 2 * want, ulps=1000)
    assert (not planned) == repeats


@pytest.mark.parametrize("correlate", [False, True])
@pytest.mark.parametrize(("n", "k"), [(724, 22), (600, 20), (300, 41), (1000, 64), (1000, 33),
                                      (476, 78), (605, 77), (400, 100)])
def test_float32_1d_calls_of_mid_kernels_are_summed_by_the_compiled_loop(rng, monkeypatch, n, k, correlate):
    """numpy.convolve sums float32 with a BLAS dot an output (AMD EPYC Zen 4: 724 * 22 'same'
    22 us, the compiled loop 4; 476 * 78 'full' 8.3 and 3.8): the tiny route takes fftconv's
    compiled loop for float32 kernels of 12 to 128 taps; a short kernel's few outputs, and
    kernels it does not take, stay on NumPy."""
    if shifted_sums.tiny_sums is None:
        pytest.skip("the compiled tiny loop was not built")
    name = "correlate" if correlate else "convolve"
    ours, theirs = getattr(fftconv, name), getattr(scipy.signal, name)
    a, b = rng.standard_normal(n).astype(np.float32), rng.standard_normal(k).astype(np.float32)
    modes = ("full", "same", "valid")
    want = [theirs(a, b, mode, method="direct") for mode in modes]  # scipy's own calls use NumPy
    swapped = theirs(b, a, "full", method="direct")
    used = []
    original = getattr(np, name)

    def counted(*args, **kwargs):
        used.append(name)
        return original(*args, **kwargs)
    monkeypatch.setattr(np, name, counted)
    for mode, expected in zip(modes, want):
        assert_close(ours(a, b, mode), expected, ulps=1000)
    assert used == []
    ours(a[:300], b[:5], "same")  # 300 outputs of 5 taps: NumPy's own loop, 1.2 against 2.2 us
    assert used == [name]
    if n > short_1d.LOOP_TAPS:  # a second operand longer than the loop takes: NumPy's
        assert_close(ours(b, a, "full"), swapped, ulps=1000)
        assert used == [name, name]


def test_a_1d_signature_rents_numpy_until_its_calls_cost_what_planning_does(rng, monkeypatch, planned):
    """Only its first call was handed over: 2409 * 603 'valid' float32's second call, planned,
    took 0.76 ms where numpy takes 0.1 (scipy's 0.14)."""
    monkeypatch.setattr(tiny, "_spent_1d", {})
    a, b = rng.standard_normal(3000).astype(np.float32), rng.standard_normal(719).astype(np.float32)
    want = scipy.signal.convolve(a, b, "valid", method="direct")
    calls = 0
    while not planned:
        assert_close(fftconv.convolve(a, b, "valid"), want, ulps=1000)
        calls += 1
        assert calls < 10_000
    spent = sum(tiny._spent_1d.values())
    assert calls >= 2 and spent >= tiny.RENT_1D_SECONDS  # rented, then planned once the rent was paid


def test_tiny_calls_keep_non_finite_values_local(rng):
    a = rng.standard_normal((6, 6))
    a[2, 3] = np.nan
    a[0, 0] = np.inf
    b = rng.standard_normal((3, 3))
    for boundary in BOUNDARIES:
        got = fftconv.convolve2d(a, b, "same", boundary)
        piped = fftconv.convolve2d(a, b, "same", boundary, method="direct")
        np.testing.assert_array_equal(np.isnan(got), np.isnan(piped))
        np.testing.assert_array_equal(np.isinf(got), np.isinf(piped))
        assert np.isfinite(got).sum() > 10
    got = fftconv.ndimage.convolve(a, b, mode="mirror")
    piped = fftconv.ndimage.convolve(a, b, mode="mirror", method="direct")
    np.testing.assert_array_equal(np.isnan(got), np.isnan(piped))


@pytest.mark.parametrize("mode", NDIMAGE_MODES)
@pytest.mark.parametrize("func", ["correlate", "convolve"])
def test_tiny_ndimage_calls_equal_the_pipelines_direct_sum(rng, counted, mode, func):
    ours = getattr(fftconv.ndimage, func)
    cases = [((9,), (3,), "float64", "float64"), ((6, 7), (2, 3), "float32", "float64"),
             ((5, 6), (4, 3), "complex128", "complex128"), ((4, 5), (3, 2), "float64", "complex128"),
             ((4, 4, 5), (2, 3, 3), "complex64", "float32"), ((8, 8), (3, 3), "float64", "int64")]
    for shape, wshape, xdtype, wdtype in cases:
        x, w = values(rng, shape, xdtype), values(rng, wshape, wdtype)
        for origin in itertools.product(*[(-(k // 2), 0, (k - 1) // 2) for k in wshape]):
            before = counted["ndimage"]
            got = ours(x, w, mode=mode, cval=0.5, origin=origin)
            assert counted["ndimage"] == before + 1, "the tiny call went through the pipeline"
            piped = ours(x, w, mode=mode, cval=0.5, origin=origin, method="direct")
            assert counted["ndimage"] == before + 1, "a forced method must not take the tiny path"
            want = getattr(scipy.ndimage, func)(x, w, mode=mode, cval=0.5, origin=origin)
            assert got.dtype == piped.dtype == want.dtype
            # the pipeline sums in the operands' precision, scipy's loop in double
            single = np.result_type(x, w).char in "fF" or got.dtype.char in "fF"
            assert_close(got, piped, dtype=np.float32 if single else None, ulps=64)
            np.testing.assert_array_equal(got, want)


def test_tiny_ndimage_writes_into_a_given_output(rng):
    x, w = rng.standard_normal((6, 6)), rng.standard_normal((3, 3))
    out = np.full((6, 6), np.nan)
    returned = fftconv.ndimage.convolve(x, w, output=out)
    assert returned is out
    assert_close(out, scipy.ndimage.convolve(x, w))


def test_bad_threads_are_refused_before_the_tiny_path():
    with pytest.raises(ValueError, match="threads"):
        fftconv.convolve2d(np.ones((3, 3)), np.ones((2, 2)), threads=0)


def test_scipys_private_2d_loop_is_used_only_if_it_answers_as_the_definitions(monkeypatch, rng):
    """The 2-D loop is probed against the boundaries' definitions, not scipy.signal's public
    functions (whose import it spares); one that reads the boundary codes otherwise, or is
    missing, is refused, and the public functions serve with scipy's answers."""
    monkeypatch.setattr(signal_loops, "_probed", {})
    signal_loops.probe("2d")
    assert signal_loops.loop("2d") is not None
    codes = signal_loops.BOUNDARIES
    monkeypatch.setattr(signal_loops, "_probed", {})  # as if scipy had renumbered its boundary codes
    monkeypatch.setattr(signal_loops, "BOUNDARIES", {**codes, "symm": 8, "wrap": 4})
    signal_loops.probe("2d")
    assert signal_loops.probed("2d") and signal_loops.loop("2d") is None
    a, b = rng.standard_normal((5, 6)), rng.standard_normal((3, 2))
    for boundary in BOUNDARIES:  # the public functions serve (fftconv's loop a zero fill)
        assert_close(fftconv.correlate2d(a, b, "same", boundary),
                     scipy.signal.correlate2d(a, b, "same", boundary), ulps=16)
    monkeypatch.setattr(signal_loops, "_probed", {})
    monkeypatch.setattr(signal_loops, "BOUNDARIES", codes)
    monkeypatch.setattr(signal_loops, "extension", lambda: object())  # no loop in the module
    signal_loops.probe("2d")
    assert signal_loops.probed("2d") and signal_loops.loop("2d") is None
    np.testing.assert_array_equal(fftconv.convolve2d(a, b, "full", "symm"),
                                  scipy.signal.convolve2d(a, b, "full", "symm"))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("func", ["correlate", "convolve"])
def test_tiny_real_ndimage_calls_run_a_compiled_loop_with_scipys_answers(rng, monkeypatch, dtype, func):
    """A tiny real ndimage call goes straight to a compiled loop: fftconv's tiny loop where it
    sums the call (origin 0), else scipy.ndimage's (its wrapper cost more than the loop): its
    public function's answer, to the bit on scipy's loop and within 4 units of rounding on
    fftconv's (another order of the same float64 sums), every mode, odd and even weights,
    integer weights, shifted origins; an origin scipy refuses gets its error."""
    ours, theirs = getattr(fftconv.ndimage, func), getattr(scipy.ndimage, func)
    ours(np.ones(4), np.ones(3))  # the loop's probe, before counting
    looped, compiled = [], {"signal": 0, "ndimage": 0}
    real_run = tiny._run_ndimage_loop
    monkeypatch.setattr(tiny, "_run_ndimage_loop", lambda *args: looped.append(1) or real_run(*args))
    if shifted_sums.tiny_sums is not None:
        monkeypatch.setattr(shifted_sums, "tiny_sums", _CountingLoops(shifted_sums.tiny_sums, compiled))
    shapes = [((9,), (3,)), ((8,), (4,)), ((6, 7), (3, 2)), ((5, 4, 6), (2, 3, 3))]
    for (shape, wshape), mode, origin in itertools.product(shapes, NDIMAGE_MODES, [0, -1, 1]):
        x = values(rng, shape, dtype)
        for w in (values(rng, wshape, "float64"), values(rng, wshape, "int16")):
            try:
                want = theirs(x, w, mode=mode, cval=0.5, origin=origin)
            except ValueError as refused:
                with pytest.raises(ValueError, match="Invalid origin"):
                    ours(x, w, mode=mode, cval=0.5, origin=origin)
                assert "origin" in str(refused)
                continue
            before, summed_before = len(looped), compiled["ndimage"]
            got = ours(x, w, mode=mode, cval=0.5, origin=origin)
            on_scipys = len(looped) == before + 1
            assert on_scipys != (compiled["ndimage"] == summed_before + 1), "one loop, once"
            assert on_scipys == (origin != 0 or shifted_sums.tiny_sums is None)
            assert got.dtype == want.dtype
            if on_scipys:
                assert np.array_equal(got, want), (shape, wshape, mode, origin)
            else:
                assert_close(got, want, ulps=4)


@pytest.mark.parametrize("dtype", ["complex64", "complex128", "float32", "float64"])
def test_tiny_nd_calls_take_scipys_nd_loop(rng, monkeypatch, planned, dtype):
    """A tiny `convolve`/`correlate` of 3 or more dimensions is scipy's N-d direct loop
    (complex: fftconv has no compiled complex loop; real: the pipeline's fixed cost, 28-62 us,
    is more than scipy's whole call, and had made 4x4x4 * 2x2x2 'full' 1.51x scipy's time):
    scipy's direct answer to the bit, no plan; what scipy would swap (a 'full' window's larger
    kernel, a 'valid' one) takes the pipeline."""
    for (s1, s2), mode, name in itertools.product(
            [((4, 4, 4), (2, 2, 2)), ((5, 3, 4), (3, 2, 1)), ((3, 4, 2, 3), (2, 1, 2, 2))], MODES_2D,
            ["convolve", "correlate"]):
        a, b = values(rng, s1, dtype), values(rng, s2, dtype)
        want = getattr(scipy.signal, name)(a, b, mode, method="direct")
        got = getattr(fftconv, name)(a, b, mode)
        assert got.dtype == want.dtype and np.array_equal(got, want), (s1, s2, mode, name)
    assert not planned
    a, b = values(rng, (2, 2, 2), dtype), values(rng, (3, 3, 3), dtype)
    for mode in ("full", "valid"):  # scipy swaps these: the pipeline answers
        want = scipy.signal.convolve(a, b, mode, method="direct")
        assert_close(fftconv.convolve(a, b, mode), want, ulps=64)
    assert len(planned) == 2


def test_scipys_private_nd_loop_is_used_only_if_it_answers_as_the_definitions(monkeypatch, rng):
    monkeypatch.setattr(signal_loops, "_probed", {})
    signal_loops.probe("nd")
    assert signal_loops.loop("nd") is not None
    monkeypatch.setattr(signal_loops, "_probed", {})
    monkeypatch.setattr(signal_loops, "MODES", {"valid": 1, "same": 0, "full": 2})  # as if renumbered
    signal_loops.probe("nd")
    assert signal_loops.probed("nd") and signal_loops.loop("nd") is None
    a, b = values(rng, (4, 3, 5), "complex128"), values(rng, (2, 2, 2), "complex128")
    for mode in MODES_2D:  # the public functions serve, with the same answers
        np.testing.assert_array_equal(fftconv.correlate(a, b, mode),
                                      scipy.signal.correlate(a, b, mode, method="direct"))


def test_scipys_private_ndimage_loop_is_used_only_if_it_answers_as_the_modes_definitions(monkeypatch, rng):
    """The N-d loop is probed against the modes' definitions, not scipy.ndimage's public
    functions (whose import it spares): a loop that reads a mode otherwise, reverses an origin
    or is missing is refused, and the public functions serve with scipy's answers."""
    monkeypatch.setattr(ndimage_nd_loop, "_probed", [])
    ndimage_nd_loop.probe()
    real = ndimage_nd_loop.loop()
    assert real is not None

    def mirror_read_as_reflect(x, w, out, code, cval, origins):
        real(x, w, out, ndimage_1d_loops.MODE_CODES["reflect"] if code == 3 else code, cval, origins)

    def origins_reversed(x, w, out, code, cval, origins):  # where the range is symmetric (the loop
        # reads outside its image for an origin out of it)
        real(x, w, out, code, cval, [-o if n % 2 else o for o, n in zip(origins, w.shape)])

    class Changed:
        def __init__(self, correlate):
            if correlate is not None:
                self.correlate = correlate

    for changed in (mirror_read_as_reflect, origins_reversed, None):
        monkeypatch.setattr(ndimage_nd_loop, "extension", lambda changed=changed: Changed(changed))
        monkeypatch.setattr(ndimage_nd_loop, "_probed", [])
        ndimage_nd_loop.probe()
        assert ndimage_nd_loop.probed() and ndimage_nd_loop.loop() is None
        x, w = rng.standard_normal((6, 7, 3, 2)), rng.standard_normal((3, 2, 1, 2))
        for mode in NDIMAGE_MODES:  # the public functions serve, with the same answers
            np.testing.assert_array_equal(fftconv.ndimage.convolve(x, w, mode=mode, origin=(1, 0, 0, -1)),
                                          scipy.ndimage.convolve(x, w, mode=mode, origin=(1, 0, 0, -1)))
            np.testing.assert_array_equal(fftconv.ndimage.correlate(x, w, mode=mode),
                                          scipy.ndimage.correlate(x, w, mode=mode))
    monkeypatch.undo()


def test_a_tiny_ndimage_call_of_four_dimensions_probes_the_loop_and_imports_nothing(tmp_path):
    """A fresh process' loop of tiny 4-D ``correlate`` calls (fftconv's compiled tiny loop takes
    1 to 3 dimensions): its second such call probes scipy.ndimage's N-d loop, loaded without
    importing scipy.ndimage, and the calls run on it from there, with scipy's answers (before,
    the second call queued scipy.ndimage's import in the background, where it waited ~2 s behind
    the first call's calibration while each call was summed by NumPy's slices at 5x scipy's
    time, Intel Xeon). Nothing is queued for it in the background."""
    script = (
        "import sys, json, numpy as np, fftconv.ndimage\n"
        "from fftconv import background\n"
        "from fftconv.engine import ndimage_nd_loop\n"
        "jobs = []\n"
        "background.submit = lambda key, job, priority=1: jobs.append(key[0]) or True\n"
        "x = np.sin(np.arange(6.0 ** 4)).reshape(6, 6, 6, 6)\n"
        "w = np.cos(np.arange(3.0 ** 4)).reshape(3, 3, 3, 3)\n"
        "got, probed = [], []\n"
        "for origin in (0, 0, 0, (0, 1, -1, 0)):\n"
        "    got.append(fftconv.ndimage.correlate(x, w, mode='mirror', origin=origin).tolist())\n"
        "    got.append(fftconv.ndimage.convolve(x, w[:2], mode='wrap', origin=origin).tolist())\n"
        "    probed.append(ndimage_nd_loop.loop() is not None)\n"
        "print(json.dumps({'got': got, 'probed': probed, 'imported': 'scipy.ndimage' in sys.modules,\n"
        "                  'tiny jobs': [key for key in jobs if key == 'tiny routes']}))\n")
    seen = json.loads(fresh_process_output(script, tmp_path).splitlines()[-1])
    assert seen["probed"] == [True] * 4  # by the first round's second call
    assert not seen["imported"] and seen["tiny jobs"] == []
    x = np.sin(np.arange(6.0 ** 4)).reshape(6, 6, 6, 6)
    w = np.cos(np.arange(3.0 ** 4)).reshape(3, 3, 3, 3)
    for i, origin in enumerate((0, 0, 0, (0, 1, -1, 0))):
        assert_close(np.array(seen["got"][2 * i]),
                     scipy.ndimage.correlate(x, w, mode="mirror", origin=origin), ulps=4)
        assert_close(np.array(seen["got"][2 * i + 1]),
                     scipy.ndimage.convolve(x, w[:2], mode="wrap", origin=origin), ulps=4)


@pytest.mark.parametrize("shape, kernel", [((64, 64), (3, 3)), ((16, 16, 16), (3, 3, 3)), ((4096,), (9,))])
def test_a_repeated_tiny_ndimage_call_takes_fftconvs_loop(rng, counted, monkeypatch, shape, kernel):
    """scipy's loop answers a tiny call's first time (no planning); a repeated signature of at
    least `ROUTED_MACS` multiply-adds runs fftconv's compiled loop (64x64 * 3x3 float32: 11.9
    us against scipy.ndimage's 37.3 us), with the answer it gives."""
    from fftconv.engine import lane
    from fftconv.executors import direct_compiled

    if direct_compiled.loops() is None:
        pytest.skip("the compiled loops are not built")
    lane.clear()
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal(kernel).astype(np.float32)
    want = scipy.ndimage.correlate(x, w, mode="mirror")
    assert math.prod(shape) * math.prod(kernel) >= tiny.ROUTED_MACS
    answers = [fftconv.ndimage.correlate(x + i, w, mode="mirror", threads=1) for i in range(4)]
    assert counted["ndimage"] == 1 + 1  # the oracle's call above, then the first call only
    for i, got in enumerate(answers):
        assert_close(got, scipy.ndimage.correlate(x + i, w, mode="mirror"), ulps=64)
    assert answers[0].dtype == want.dtype == answers[3].dtype


def test_the_tiniest_repeated_ndimage_calls_stay_with_scipy(rng, counted):
    x, w = rng.standard_normal((16, 16)), rng.standard_normal((3, 3))
    assert x.size * w.size < tiny.ROUTED_MACS
    for _ in range(3):
        fftconv.ndimage.correlate(x, w, threads=1)
    assert counted["ndimage"] == 3


def test_a_repeat_that_finds_no_route_goes_back_to_scipys_loop(rng, counted, monkeypatch):
    """A repeat takes the full path once, to plan and remember a route; where it leaves none
    (the chosen executor does not read the boundary itself), scipy's loop serves again: the
    full path each time was 5x slower than scipy's loop on a 512 * 31 float64 call."""
    from fftconv.engine import lane
    from fftconv.ndimage import filters

    lane.clear()
    monkeypatch.setattr(filters, "whole_image_route", lambda *args: None)
    x, w = rng.standard_normal((64, 64)), rng.standard_normal((3, 3))
    for _ in range(4):
        assert_close(fftconv.ndimage.correlate(x, w, threads=1), scipy.ndimage.correlate(x, w), ulps=64)
    assert counted["ndimage"] == 4 + 3  # the oracle's four; fftconv's first, third and fourth


@pytest.mark.parametrize("dtype", ["float32", "float64", "complex128", "int64", "int8"])
def test_tiny_2d_nd_convolve_calls_equal_the_pipelines_direct_sum(rng, counted, dtype):
    """`fftconv.convolve` of 2-D arrays below `ROUTED_MACS` multiply-adds is scipy's 2-D loop
    with zero fill (a 4x4 * 2x2 complex call took 60 us through the lane, scipy's
    `convolve` 39 us, the loop 4.5 us); even kernels' 'same' windows included."""
    for mode in MODES_2D:
        for s1, s2 in (((4, 4), (2, 2)), ((7, 5), (3, 2)), ((3, 2), (5, 4)), ((16, 16), (4, 3))):
            a, b = values(rng, s1, dtype), values(rng, s2, dtype)
            if mode == "valid" and (s1[0] < s2[0] or s1[1] < s2[1]):
                continue
            before = counted["signal"]
            got = fftconv.convolve(a, b, mode)
            assert counted["signal"] == before + 1, "the tiny call went through the pipeline"
            piped = fftconv.convolve(a, b, mode, method="direct")
            assert got.dtype == piped.dtype and got.shape == piped.shape
            if np.dtype(dtype).kind in "iu":
                np.testing.assert_array_equal(got, piped)
            else:
                assert_close(got, piped, ulps=64)
    a, b = values(rng, (64, 64), dtype), values(rng, (3, 3), dtype)
    before = counted["signal"]
    fftconv.convolve(a, b, "same")  # 36,864 multiply-adds: the lane's route outruns scipy's loop
    assert counted["signal"] == before


@pytest.mark.parametrize("name", ["convolve2d", "correlate2d", "convolve", "correlate"])
def test_a_mid_size_2d_signatures_first_calls_rent_the_compiled_loop(rng, monkeypatch, planned, counted,
                                                                    rented_first_calls, name):
    """A zero-fill 2-D call beyond the tiny size, up to `tiny.RENT_2D_MACS` multiply-adds, is
    summed by fftconv's compiled tiny loop on its signature's first calls, until they have
    spent `tiny.RENT_2D_SECONDS` there; then it is planned (a fresh process' 64x64 * 5x5
    `convolve2d` had taken 0.83 ms on its first call and 2.3 on its second, the pipeline's plan
    and trial, where scipy's take 0.2; now 0.07 and 0.05; Intel Xeon). scipy's answers on both
    routes, every mode, even kernels; another boundary rents it too (its 'valid' window of the
    extended image is such a call); a call beyond the rent's size is planned at once."""
    monkeypatch.setattr(tiny, "_spent_2d", {})
    ours, theirs = getattr(fftconv, name), getattr(scipy.signal, name)
    direct = {"method": "direct"} if name in ("convolve", "correlate") else {}
    for (s1, s2), mode in itertools.product((((64, 64), (5, 5)), ((40, 50), (6, 4))), MODES_2D):
        a, b = rng.standard_normal(s1), rng.standard_normal(s2)
        want = theirs(a, b, mode, **direct)
        monkeypatch.setattr(tiny, "RENT_2D_SECONDS", 1.0)
        for _ in range(2):
            summed, before = counted["signal"], len(planned)
            assert_close(ours(a, b, mode), want, ulps=64)
            assert counted["signal"] == summed + 1 and len(planned) == before  # rented, not planned
        monkeypatch.setattr(tiny, "RENT_2D_SECONDS", 0.0)  # the rent spent: planned
        summed, before = counted["signal"], len(planned)
        assert_close(ours(a, b, mode), want, ulps=64)
        assert counted["signal"] == summed
    a, b = rng.standard_normal((64, 64)), rng.standard_normal((5, 5))
    if name.endswith("2d"):
        monkeypatch.setattr(tiny, "RENT_2D_SECONDS", 1.0)
        summed, before = counted["signal"], len(planned)
        assert_close(ours(a, b, "same", "symm"), theirs(a, b, "same", "symm"), ulps=64)
        assert counted["signal"] == summed + 1 and len(planned) == before
    big = rng.standard_normal((256, 256))
    assert big.size * b.size > tiny.RENT_2D_MACS
    summed, before = counted["signal"], len(planned)
    assert_close(ours(big, b, "same"), theirs(big, b, "same", **direct), ulps=64)
    assert counted["signal"] == summed and len(planned) == before + 1


@pytest.mark.parametrize("func", ["correlate", "convolve"])
def test_a_mid_size_ndimage_signatures_first_calls_rent_the_compiled_loop(rng, monkeypatch, planned, counted,
                                                                         rented_first_calls, func):
    """An ndimage call past the tiny size, up to `tiny.RENT_NDIMAGE_MACS` multiply-adds, that
    fftconv's compiled tiny loop sums (1 to 3 dimensions, origin 0) is summed there on its
    signature's first calls, until they have spent `tiny.RENT_NDIMAGE_SECONDS`; then it is
    planned (a fresh process' first 20^3 * 3^3 `ndimage.convolve` had taken 2.8 ms, the
    pipeline's plan, scipy's 0.24; now 0.25; Intel Xeon). scipy's answers on both routes, into
    an output array too; an origin, or a call beyond the rent's size, are planned at once."""
    ours, theirs = getattr(fftconv.ndimage, func), getattr(scipy.ndimage, func)
    for shape, wshape, mode in (((20, 20, 20), (3, 3, 3), "reflect"), ((128, 128), (5, 4), "wrap"),
                                ((5000,), (33,), "mirror")):
        x, w = rng.standard_normal(shape), rng.standard_normal(wshape)
        assert x.size * w.size > tiny.NDIMAGE_MACS  # past the tiny size
        want = theirs(x, w, mode=mode, cval=0.5)
        monkeypatch.setattr(tiny, "RENT_NDIMAGE_SECONDS", 1.0)
        fftconv.engine.lane.clear()
        for output in (None, np.empty(shape)):
            summed, before = counted["ndimage"], len(planned)
            got = ours(x, w, output=output, mode=mode, cval=0.5)
            assert counted["ndimage"] == summed + 1 and len(planned) == before  # rented, not planned
            assert_close(got, want, ulps=4)
            assert output is None or got is output
        in_place = x.copy()  # the signature's route, handed the image as its own output
        assert ours(in_place, w, output=in_place, mode=mode, cval=0.5) is in_place
        assert_close(in_place, want, ulps=4)
        monkeypatch.setattr(tiny, "RENT_NDIMAGE_SECONDS", 0.0)  # the rent spent: planned
        fftconv.engine.lane.clear()
        ours(x, w, mode=mode, cval=0.5)  # (the signature's first call, rented)
        summed, before = counted["ndimage"], len(planned)
        assert_close(ours(x, w, mode=mode, cval=0.5), want, ulps=64)
        assert counted["ndimage"] == summed and len(planned) > before
    x, w = rng.standard_normal((128, 128)), rng.standard_normal((5, 5))
    monkeypatch.setattr(tiny, "RENT_NDIMAGE_SECONDS", 1.0)
    big = rng.standard_normal((256, 256))
    assert big.size * w.size > tiny.RENT_NDIMAGE_MACS
    for call in (lambda: ours(x, w, origin=1), lambda: ours(x, w, origin=np.array([0, 1])),
                 lambda: ours(big, w)):
        before = len(planned)
        call()
        assert len(planned) > before
    assert_close(ours(x, w, origin=1), theirs(x, w, origin=1), ulps=64)
    assert_close(ours(big, w), theirs(big, w), ulps=64)


@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64", "complex128", "int64"])
def test_tiny_correlate_calls_equal_the_pipelines_direct_sum(rng, monkeypatch, planned, counted, dtype):
    """Tiny `fftconv.correlate` calls take numpy.correlate (1-D) or scipy's 2-D loop, which
    conjugate complex kernels as scipy does (an even kernel's 'same' window in 2-D: the loop's
    'full' one, sliced), except a 1-D 'same' window longer than ``in1`` (NumPy keeps the
    longer operand's length)."""
    cases = [((8,), (3,)), ((3,), (8,)), ((8,), (4,)), ((4,), (8,)), ((1,), (4,)),
             ((4, 4), (2, 2)), ((7, 5), (3, 3)), ((3, 2), (5, 4)), ((6, 6), (2, 3))]
    for (s1, s2), mode in itertools.product(cases, MODES_2D):
        if mode == "valid" and len(s1) == 2 and not all(n >= k for n, k in zip(s1, s2)):
            continue  # scipy conjugates a swapped complex correlation: the pipeline answers
        a, b = values(rng, s1, dtype), values(rng, s2, dtype)
        planned.clear()
        before = counted["signal"]
        got = fftconv.correlate(a, b, mode)
        routed = len(s1) == 1 and np.dtype(dtype).kind != "i" and (mode != "same" or s1[0] >= s2[0])
        loop = len(s1) == 2
        assert (not planned) == (routed or loop), (s1, s2, mode)
        assert counted["signal"] == before + loop
        piped = fftconv.correlate(a, b, mode, method="direct")
        assert got.dtype == piped.dtype and got.shape == piped.shape
        if np.dtype(dtype).kind == "i":
            np.testing.assert_array_equal(got, piped)
        else:
            assert_close(got, piped, ulps=64)


@pytest.mark.parametrize(("n", "k", "mode", "dtype"), [
    (5000, 300, "full", np.float64), (300, 5000, "same", np.float32), (300, 5000, "valid", np.float64),
    (4097, 129, "valid", np.float32), (1000, 1200, "same", np.float64)])
def test_a_one_dimensional_fftconvolve_signatures_first_call_needs_no_plan(rng, monkeypatch, planned, n, k,
                                                                              mode, dtype):
    monkeypatch.setattr(tiny, "_fft_1d_spent", {})
    monkeypatch.setattr(tiny, "FFT_1D_ROUTE_SECONDS", 0.0)  # the first call's time spends it all
    a, b = rng.standard_normal(n).astype(dtype), rng.standard_normal(k).astype(dtype)
    want = scipy.signal.fftconvolve(a, b, mode)
    got = fftconv.fftconvolve(a, b, mode)
    assert not planned and got.dtype == want.dtype and got.flags.c_contiguous
    assert_close(got, want, ulps=4 * math.sqrt(n + k) if dtype == np.float64 else 8 * math.sqrt(n + k))
    assert_close(fftconv.fftconvolve(a * 2, b, mode), 2 * want, ulps=8 * math.sqrt(n + k))
    assert planned  # a repeat takes the pipeline


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
@pytest.mark.parametrize("mode", MODES_2D)
@pytest.mark.parametrize(("s1", "s2"), [((9,), (4,)), ((4,), (9,)), ((300,), (31,)), ((16, 16), (3, 3)),
                                        ((3, 5), (6, 7)), ((8, 8, 8), (3, 3, 3))])
def test_small_fftconvolve_calls_need_no_plan_on_any_call(rng, monkeypatch, planned, s1, s2, mode, dtype):
    """Transforms of at most `SMALL_FFT_POINTS` points run NumPy's FFTs on every call, as
    scipy's ``fftconvolve`` centres and swaps its windows."""
    a, b = values(rng, s1, dtype), values(rng, s2, dtype)
    want = scipy.signal.fftconvolve(a, b, mode)
    for _ in range(3):
        got = fftconv.fftconvolve(a, b, mode)
        assert got.dtype == want.dtype
        assert_close(got, want, ulps=64)
    assert not planned
    with fftconv.config.override(method="fft"):  # a forced method takes the pipeline
        assert_close(fftconv.fftconvolve(a, b, mode), want, ulps=64)
    assert planned


def test_small_fftconvolve_leaves_to_the_pipeline_what_it_must_answer(rng, monkeypatch, planned):
    """Non-finite values (kept local), 'valid' operands neither containing the other (scipy's
    error), other axes and larger transforms go through the pipeline."""
    monkeypatch.setattr(tiny, "_fft_1d_spent", {})
    monkeypatch.setattr(tiny, "FFT_1D_ROUTE_SECONDS", 0.0)
    a = rng.standard_normal(40)
    a[20] = np.inf
    got = fftconv.fftconvolve(a, np.ones(3), "same")
    assert np.isinf(got[19:22]).all() and np.isfinite(np.delete(got, [19, 20, 21])).all()
    assert len(planned) == 1
    with pytest.raises(ValueError, match="at least as large as the other in every dimension"):
        fftconv.fftconvolve(np.ones((5, 2)), np.ones((2, 5)), "valid")
    assert fftconv.fftconvolve(np.ones((4, 3)), np.ones((4, 2)), axes=1).shape == (4, 4)
    assert len(planned) == 2  # the 'valid' refusal came before planning
    large = rng.standard_normal(3000), rng.standard_normal(200)
    fftconv.fftconvolve(*large)  # a first call: NumPy's FFTs
    fftconv.fftconvolve(*large)  # 3,200 points on a repeat: the pipeline
    assert len(planned) == 3


def test_a_1d_fftconvolve_signature_rents_numpys_ffts_until_the_pipelines_start(rng, monkeypatch, planned):
    """The repeats of a 1-D signature whose transforms are over `SMALL_FFT_POINTS` stay on
    NumPy's FFTs until they have spent `FFT_1D_ROUTE_SECONDS` there; then the pipeline."""
    from fftconv.engine import lane

    lane.clear()  # an earlier test's pipeline call of this signature left a route: no plan then
    monkeypatch.setattr(tiny, "_fft_1d_spent", {})
    monkeypatch.setattr(tiny, "FFT_1D_ROUTE_SECONDS", 0.003)
    a, b = rng.standard_normal(5000), rng.standard_normal(300)
    want = scipy.signal.fftconvolve(a, b)
    calls = 0
    while not planned and calls < 10_000:
        assert_close(fftconv.fftconvolve(a, b), want, ulps=64)
        calls += 1
    spent = tiny._fft_1d_spent[(5000, 300, "d", "full")]
    assert len(planned) == 1 and calls > 1 and spent >= 0.003  # the pipeline from the call after
    assert_close(fftconv.fftconvolve(a, b), want, ulps=64)


@pytest.mark.parametrize(("n", "k", "mode", "dtype", "correlate"), [
    (20000, 1000, "same", np.float64, False), (27932, 1101, "full", np.float32, False),
    (9125, 2945, "full", np.float64, True), (20000, 1000, "same", np.float32, True),
    (4000, 6000, "valid", np.float64, False), (6000, 2000, "valid", np.float32, True),
    (2048, 2048, "full", np.float64, False)])
def test_a_1d_convolve_signatures_first_calls_take_numpys_transforms_where_quicker(
        rng, monkeypatch, planned, n, k, mode, dtype, correlate):
    """A 1-D real `convolve`/`correlate` signature whose direct sum costs more than three NumPy
    transforms runs them on its first calls, without planning (through the pipeline, fresh
    processes' first calls took 1.3-2x scipy's), and answers as scipy's direct sums do."""
    monkeypatch.setattr(tiny, "_signal_fft_spent", {})
    monkeypatch.setattr(tiny, "_spent_1d", {})
    name = "correlate" if correlate else "convolve"
    a, b = rng.standard_normal(n).astype(dtype), rng.standard_normal(k).astype(dtype)
    want = getattr(scipy.signal, name)(a.astype(np.float64), b.astype(np.float64), mode, method="direct")
    assert tiny.first_1d_route(n, k, mode, np.dtype(dtype), correlate) == "fft"
    got = getattr(fftconv, name)(a, b, mode)
    assert not planned and got.dtype == dtype and got.flags.c_contiguous
    assert ((n,), (k,), np.dtype(dtype).char, mode, correlate) in tiny._signal_fft_spent
    assert_close(got, want.astype(dtype), ulps=4 * math.sqrt(k) if dtype == np.float64 else 16 * math.sqrt(k))


def test_a_1d_correlation_with_the_longer_kernel_valid_is_left_to_the_pipeline(rng, monkeypatch):
    """scipy swaps a 'valid' correlation's operands where ``in2`` is the longer and reverses the
    answer: the FFT route does not take it."""
    monkeypatch.setattr(tiny, "_signal_fft_spent", {})
    a, b = rng.standard_normal(2000), rng.standard_normal(3000)
    assert tiny.first_1d_route(2000, 3000, "valid", np.dtype(np.float64), True) != "fft"
    assert tiny.signal_fft_first(a, b, "valid", "auto", None, None, True) is None
    assert_close(fftconv.correlate(a, b, "valid"), scipy.signal.correlate(a, b, "valid", method="direct"),
                 ulps=400)


def test_the_1d_fft_route_leaves_to_the_pipeline_what_only_it_answers(rng, monkeypatch):
    """Non-finite values (kept local), a forced method, integers, other threads' defaults and
    calls whose numpy sum is the quicker (or both too long) do not take NumPy's transforms."""
    monkeypatch.setattr(tiny, "_signal_fft_spent", {})
    route = tiny.signal_fft_first
    a, b = rng.standard_normal(20000), rng.standard_normal(1000)
    holed = a.copy()
    holed[5000] = np.nan
    assert route(holed, b, "same", "auto", None, None, False) is None
    got = fftconv.convolve(holed, b, "same")
    assert np.isnan(got).sum() == 1000 and np.isfinite(got[:4000]).all()  # only where it reaches
    assert route(a, b, "same", "direct", None, None, False) is None
    assert route(a.astype(int), b.astype(int), "same", "auto", None, None, False) is None
    assert route(a, b, "same", "auto", 0, None, False) is not None  # the only axis, named
    assert route(a, b, "same", "auto", None, 2.5, False) is None
    assert route(a, b[:100], "same", "auto", None, None, False) is None  # numpy's sum is quicker
    assert tiny.first_1d_route(20000, 100, "same", np.dtype(np.float64), False) == "numpy"
    assert tiny.first_1d_route(400_000, 5000, "same", np.dtype(np.float64), False) is None
    # float32 transforms of at most PRECISE_POINTS points: the pipeline makes them in float64
    assert tiny.first_1d_route(2048, 2048, "full", np.dtype(np.float32), False) != "fft"
    with fftconv.config.override(method="fft"):
        assert route(a, b, "same", "auto", None, None, False) is None


def test_a_1d_convolve_signature_rents_numpys_transforms_until_the_pipelines_start(rng, monkeypatch, planned):
    """Its repeats stay on the route until they have spent `SIGNAL_FFT_ROUTE_SECONDS` there;
    then the pipeline, which settles faster than the route (FFTW's measured plans)."""
    from fftconv.engine import lane

    lane.clear()
    monkeypatch.setattr(tiny, "_signal_fft_spent", {})
    monkeypatch.setattr(tiny, "SIGNAL_FFT_ROUTE_SECONDS", 0.003)
    a, b = rng.standard_normal(20000), rng.standard_normal(1000)
    want = scipy.signal.convolve(a, b, "same", method="direct")
    calls = 0
    while not planned and calls < 10_000:
        assert_close(fftconv.convolve(a, b, "same"), want, ulps=400)
        calls += 1
    spent = tiny._signal_fft_spent[((20000,), (1000,), "d", "same", False)]
    assert len(planned) == 1 and calls > 1 and spent >= 0.003


def test_a_1d_signature_whose_numpy_sum_is_quicker_rents_it_beyond_the_first_limit(rng, monkeypatch, planned):
    """Over `FIRST_1D_MACS`, a first call whose ``numpy.convolve`` is estimated quicker than
    the transforms (and than the pipeline's start) is summed by NumPy, unplanned."""
    monkeypatch.setattr(tiny, "_spent_1d", {})
    a, b = rng.standard_normal(20000), rng.standard_normal(128)
    assert 20000 * 128 > tiny.FIRST_1D_MACS
    assert tiny.first_1d_route(20000, 128, "same", np.dtype(np.float64), False) == "numpy"
    assert_close(fftconv.convolve(a, b, "same"), scipy.signal.convolve(a, b, "same", method="direct"))
    assert not planned


@pytest.mark.parametrize(("s1", "s2", "mode", "dtype", "correlate"), [
    ((82, 56), (25, 25), "full", np.float64, False), ((120, 103), (33, 33), "valid", np.float32, True),
    ((85, 241), (33, 34), "same", np.float64, True), ((40, 36, 30), (9, 9, 9), "full", np.float32, False)])
def test_a_nd_signatures_first_call_takes_numpys_transforms_where_clearly_quicker(
        rng, monkeypatch, planned, s1, s2, mode, dtype, correlate):
    """Mid-size 2-D and 3-D first calls whose FFT is quick beside their direct sum run three
    NumPy transforms unplanned (through the pipeline a fresh process' 82x56 * 25x25 'full'
    took 0.96 ms, scipy 0.68-0.83, the route 0.48), and answer as scipy's direct sums do."""
    monkeypatch.setattr(tiny, "_signal_fft_spent", {})
    name = "correlate" if correlate else "convolve"
    a, b = rng.standard_normal(s1).astype(dtype), rng.standard_normal(s2).astype(dtype)
    want = getattr(scipy.signal, name)(a.astype(np.float64), b.astype(np.float64), mode, method="direct")
    assert tiny.first_nd_fft(s1, s2, mode, np.dtype(dtype), correlate) is not None
    got = getattr(fftconv, name)(a, b, mode)
    assert not planned and got.dtype == dtype and got.flags.c_contiguous
    assert (s1, s2, np.dtype(dtype).char, mode, correlate) in tiny._signal_fft_spent
    ulps = (4 if dtype == np.float64 else 16) * math.sqrt(math.prod(s2))
    assert_close(got, want.astype(dtype), ulps=ulps)


def test_a_nd_signature_whose_direct_sum_wins_is_planned_or_routed_once(rng, monkeypatch, planned):
    """A small kernel on a larger image stays on the pipeline (its compiled direct sum's first
    call is quicker than the transforms: 100x120 * 3x3 float32 0.26 against 0.29-0.36 ms); one
    whose first calls the transforms win but whose settled calls the direct sum wins takes the
    route for `ND_DIRECT_ROUTE_SECONDS` only (64x64 * 3x3: 9 us a call once in the lane)."""
    monkeypatch.setattr(tiny, "_signal_fft_spent", {})
    a, b = rng.standard_normal((100, 120)).astype(np.float32), rng.standard_normal((3, 3)).astype(np.float32)
    assert tiny.first_nd_fft(a.shape, b.shape, "same", a.dtype, False) is None
    assert_close(fftconv.convolve(a, b, "same"), scipy.signal.convolve(a, b, "same", method="direct"))
    assert planned
    planned.clear()
    monkeypatch.setattr(tiny, "ND_DIRECT_ROUTE_SECONDS", 1e-9)  # spent by the first call
    a, b = rng.standard_normal((64, 64)), rng.standard_normal((3, 3))
    assert tiny.first_nd_fft(a.shape, b.shape, "same", a.dtype, False) == tiny.ND_DIRECT_ROUTE_SECONDS
    assert tiny.first_nd_fft((82, 56), (25, 25), "full", a.dtype, False) == tiny.ND_FFT_ROUTE_SECONDS
    want = scipy.signal.convolve(a, b, "same", method="direct")
    assert_close(fftconv.convolve(a, b, "same"), want, ulps=64)
    assert not planned
    assert_close(fftconv.convolve(a, b, "same"), want, ulps=64)
    assert planned


def test_the_nd_fft_route_leaves_to_the_pipeline_what_only_it_answers(rng, monkeypatch):
    """scipy's swapped 'valid' correlation, non-finite values, other axes, complex values and a
    forced method do not take the transforms."""
    monkeypatch.setattr(tiny, "_signal_fft_spent", {})
    route = tiny.signal_fft_first
    a, b = rng.standard_normal((82, 56)), rng.standard_normal((25, 25))
    assert route(a[:20, :20], b, "valid", "auto", None, None, True) is None
    assert tiny.first_nd_fft((20, 20), (25, 25), "valid", a.dtype, True) is None
    holed = a.copy()
    holed[40, 30] = np.nan
    assert route(holed, b, "full", "auto", None, None, False) is None
    got = fftconv.convolve(holed, b, "full")
    assert np.isnan(got).sum() == 625  # only where it reaches
    assert route(a, b, "full", "auto", (0, 1), None, False) is None
    assert route(a + 0j, b + 0j, "full", "auto", None, None, False) is None
    assert route(a, b, "full", np.array(["auto"]), None, None, False) is None
    with fftconv.config.override(method="fft"):
        assert route(a, b, "full", "auto", None, None, False) is None
    assert route(a, b, "full", "auto", None, None, False) is not None


def test_the_first_call_route_is_priced_once_a_signature_and_never_for_the_lanes_calls(rng, monkeypatch):
    """Every repeated call had paid the route's checks and pricing (a few microseconds beside
    the lane's 15-50 us calls): a signature the route declines is recorded so, and the facade
    asks the route only where the lane has no route for the call."""
    from fftconv.engine import lane

    monkeypatch.setattr(tiny, "_signal_fft_spent", {})
    priced = []
    original = tiny.first_nd_fft
    monkeypatch.setattr(tiny, "first_nd_fft", lambda *args: priced.append(args) or original(*args))
    lane.clear()
    a, b = rng.standard_normal((100, 120)).astype(np.float32), rng.standard_normal((3, 3)).astype(np.float32)
    for _ in range(5):  # declined: the compiled direct sum
        fftconv.convolve(a, b, "same")
    assert len(priced) == 1
    key = lane.signal_key(a, b, "same", "auto", None, None, False, fftconv.signal.SIGNAL, None)
    assert lane.get(key) is not None
    monkeypatch.setattr(tiny, "signal_fft_first", lambda *args: pytest.fail("asked in the lane"))
    fftconv.convolve(a, b, "same")


def test_a_first_fftconvolve_keeps_non_finite_values_local(rng, monkeypatch):
    monkeypatch.setattr(tiny, "_fft_1d_spent", {})
    a, b = rng.standard_normal(2000), rng.standard_normal(31)
    a[700] = np.nan
    got = fftconv.fftconvolve(a, b, "same")
    assert np.isnan(got).sum() == 31 and np.isnan(got[700 - 15:700 + 16]).all()  # only where it reaches


@pytest.mark.parametrize(("name", "shapes"), [
    *((name, shapes) for name in ("convolve", "correlate", "fftconvolve")
      for shapes in (((5,), (3,)), ((5, 5), (3, 3)))),
    ("convolve2d", ((5, 5), (3, 3))), ("correlate2d", ((5, 5), (3, 3)))])
def test_a_mode_that_is_not_a_string_is_refused_clearly_by_the_tiny_routes_too(name, shapes):
    operands = [np.ones(s) for s in shapes]
    for mode in (np.array(["full", "same"]), np.array("full"), ["full"]):
        with pytest.raises(ValueError, match="[aA]cceptable mode flags"):  # scipy's FFT functions: lower case
            getattr(fftconv, name)(*operands, mode)


@pytest.mark.parametrize("name", ["convolve", "correlate", "fftconvolve"])
def test_axes_the_tiny_routes_cannot_read_get_the_pipelines_clear_error(name):
    """An ``axes`` array is not a 1-D call's only axis to the tiny routes: the pipeline checks
    it (a repeated axis is refused with its message, not an array's truth-value error)."""
    with pytest.raises(ValueError, match="axes must be unique"):
        getattr(fftconv, name)(np.ones(5), np.ones(3), axes=np.array([0, 0]))
    assert getattr(fftconv, name)(np.ones(5), np.ones(3), axes=np.array([0])).shape == (7,)


@pytest.mark.parametrize("dtype", ["float64", "complex128"])
def test_the_size_gate_skips_only_calls_no_tiny_route_takes(rng, dtype):
    """`tiny.signal_call` skips the route checks for 2-D and larger 'same'/'full' calls above
    its multiply-add bound: on either side of it, every route it skips would have declined."""
    bound = max(tiny.ROUTED_MACS, tiny.COMPLEX_ND_MACS)
    shapes = [((30, 30), (3, 3)), ((31, 31), (3, 3)), ((91, 91), (1, 1)), ((2, 2), (64, 65)),
              ((8, 8, 8), (2, 2, 2)), ((8, 8, 9), (2, 2, 2)), ((4, 4, 4), (4, 4, 4))]
    sides = set()
    for (s1, s2), mode, correlate in itertools.product(shapes, ["same", "full"], [False, True]):
        a, b = values(rng, s1, dtype), values(rng, s2, dtype)
        gated = a.size * b.size > bound
        sides.add(gated)
        routes = [tiny.signal_2d_nd(a, b, mode, correlate, "auto", None),
                  tiny.signal_nd(a, b, mode, correlate, "auto", None)]
        if gated:
            assert all(r is None for r in routes), (s1, s2, mode)
            assert tiny.signal_call(a, b, mode, "auto", None, None, correlate) is None
        else:
            want = next((r for r in routes if r is not None), None)
            got = tiny.signal_call(a, b, mode, "auto", None, None, correlate)
            assert (got is None) == (want is None), (s1, s2, mode)
    assert sides == {True, False}  # both sides of the bound were tried


def test_tiny_ndimage_calls_into_float_outputs_take_scipys_loop(rng, counted):
    """An ``output=`` float32/float64 dtype or array of a real image's shape took the full path
    (157 us for a 16x16 * 3x3 filter whose call without it took 9 us)."""
    x, w = rng.standard_normal((16, 16)), rng.standard_normal((3, 3))
    for output in (np.float32, np.dtype(np.float64), np.empty((16, 16), np.float32), np.empty((16, 16))):
        before = counted["ndimage"]
        got = fftconv.ndimage.correlate(x, w, output=output, mode="wrap")
        assert counted["ndimage"] == before + 1
        want = scipy.ndimage.correlate(x, w, output=output if isinstance(output, type | np.dtype) else
                                       np.empty_like(output), mode="wrap")
        assert got.dtype == want.dtype
        assert_close(got, want, ulps=4)
        if isinstance(output, np.ndarray):
            assert got is output


@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64", "complex128", "int16"])
@pytest.mark.parametrize("name", ["convolve2d", "correlate2d"])
def test_tiny_2d_calls_before_scipys_import_equal_scipys(rng, monkeypatch, dtype, name):
    """A fresh process's tiny 2-D calls (scipy's modules not imported by the routes yet) are
    summed by the compiled loop, or planned; either way scipy's answers."""
    monkeypatch.setattr(tiny, "_READY", set())
    monkeypatch.setattr(tiny, "_WANTED", set())
    monkeypatch.setattr(tiny.background, "submit", lambda *args, **kwargs: True)
    ours, theirs = getattr(fftconv, name), getattr(scipy.signal, name)
    for mode in MODES_2D:
        for s1, s2 in (((4, 4), (2, 2)), ((7, 5), (3, 2)), ((16, 16), (3, 3)), ((6, 9), (4, 5))):
            a, b = values(rng, s1, dtype), values(rng, s2, dtype)
            got, want = ours(a, b, mode), theirs(a, b, mode)
            assert got.dtype == want.dtype and got.shape == want.shape
            if np.dtype(dtype).kind == "i":
                np.testing.assert_array_equal(got, want)
            else:
                assert_close(got, want, ulps=64)
            assert_close(ours(a.T, b.T, mode), theirs(a.T, b.T, mode), ulps=64)  # not contiguous


@pytest.mark.parametrize("name", ["convolve2d", "correlate2d"])
def test_a_tiny_2d_call_runs_few_python_functions(rng, monkeypatch, name):
    """A fresh process's first call pays for every function it runs, its code and data out of
    the CPU's caches (AMD EPYC Zen 4, a first 16x16 * 3x3 ``convolve2d``: 27 functions took
    ~90 us with scipy imported after fftconv, scipy's own ~50; 7 take ~45)."""
    import sys

    monkeypatch.setattr(tiny, "_READY", set())
    a, b = rng.standard_normal((16, 16)), rng.standard_normal((3, 3))
    call = getattr(fftconv, name)
    call(a, b, "same")
    seen = []
    sys.setprofile(lambda frame, event, arg: seen.append(frame.f_code.co_name) if event == "call" else None)
    try:
        call(a, b, "same")
    finally:
        sys.setprofile(None)
    assert len(seen) <= 8, seen


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("func", ["correlate", "convolve"])
def test_tiny_ndimage_calls_into_an_output_before_the_loops_probe_take_the_tiny_loop(rng, monkeypatch, dtype,
                                                                                     func):
    """Before scipy.ndimage's N-d loop is probed, a tiny call with an output array or dtype of
    the image's own is summed by fftconv's tiny loop into it, not planned (a fresh process'
    first 16x16 * 3x3 `correlate` with an output array had taken 1.2 ms, scipy's 0.07; now
    0.07): scipy's answers, into the array given (contiguous or strided), of 1 to 4
    dimensions; another output dtype goes to the pipeline until the loop is probed, then to
    the loop."""
    from fftconv.engine import lane

    monkeypatch.setattr(tiny, "_READY", set())
    monkeypatch.setattr(tiny, "_WANTED", set())
    monkeypatch.setattr(ndimage_nd_loop, "_probed", [])
    monkeypatch.setattr(tiny.background, "submit", lambda *args, **kwargs: True)
    planned = []
    real_plan = fftconv.engine.run.plan
    monkeypatch.setattr(fftconv.engine.run, "plan", lambda *a, **k: planned.append(1) or real_plan(*a, **k))
    ours, theirs = getattr(fftconv.ndimage, func), getattr(scipy.ndimage, func)
    shapes = (((9,), (4,)), ((16, 16), (3, 3)), ((6, 7, 5), (3, 2, 3)), ((4, 4, 4, 4), (2, 2, 2, 2)))
    for shape, wshape in shapes:
        x, w = values(rng, shape, dtype), values(rng, wshape, "float64")
        for mode in NDIMAGE_MODES:
            lane.clear()  # no repeated signature's route: the tiny path's own first call
            want = theirs(x, w, mode=mode, cval=0.5)
            out = np.full(shape, np.nan, dtype)
            assert ours(x, w, output=out, mode=mode, cval=0.5) is out
            every_other = (slice(None, None, 2),) * len(shape)
            strided = np.full(tuple(2 * n for n in shape), np.nan, dtype)[every_other]
            assert ours(x, w, output=strided, mode=mode, cval=0.5) is strided
            by_dtype = ours(x, w, output=np.dtype(dtype), mode=mode, cval=0.5)
            for got in (out, strided, by_dtype):
                assert got.dtype == want.dtype
                assert_close(got, want, ulps=4)
    assert planned == []
    assert ndimage_nd_loop.probed()  # by the 4-D calls' second one (the compiled loop takes the others)
    monkeypatch.setattr(ndimage_nd_loop, "_probed", [])
    monkeypatch.setattr(tiny, "_WANTED", set())
    x, w = values(rng, (16, 16), "float32"), values(rng, (3, 3), "float64")
    wider = ours(x, w, output=np.float64)
    assert wider.dtype == np.float64 and planned  # another dtype before the probe: planned
    ndimage_nd_loop.probe()
    planned.clear()
    wider = ours(x, w, output=np.float64)
    assert wider.dtype == np.float64 and not planned  # ... and on the loop after it
    np.testing.assert_array_equal(wider, theirs(x, w, output=np.float64))
