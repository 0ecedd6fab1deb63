"""Separable filters of integer images in one compiled pass (`fftconv.engine.integer_passes`):
8- and 16-bit ones summed exactly in integers, 32-bit ones in double; the pass against exact
sums cast as scipy's C cast writes them, and the public filters that take it against
scipy.ndimage's answers."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.ndimage as sn
from hypothesis import given, settings
from hypothesis import strategies as st

import fftconv.ndimage as nd
from fftconv.core.boundary import MODES
from fftconv.engine import integer_passes
from fftconv.engine._compiled import integer_passes as compiled

pytestmark = pytest.mark.skipif(compiled is None, reason="the integer passes' module was not built")

SMALL = ["int8", "uint8", "int16", "uint16"]
WIDE = ["int32", "uint32"]


def c_cast(sums: np.ndarray, out_dtype) -> np.ndarray:
    """int64 ``sums`` as C's conversion of their doubles writes them on x86 (scipy's cast): into
    uint32 through int64, modulo 2^32; into the others through int32, a sum past the int32 range
    becoming INT32_MIN (written modulo 2^bits into 8 and 16 bits)."""
    out_dtype = np.dtype(out_dtype)
    if out_dtype == np.uint32:
        return sums.astype(out_dtype)
    as_int32 = np.where((sums >= -(2**31)) & (sums < 2**31), sums, -(2**31))
    return as_int32.astype(out_dtype)


def exact_pass(x: np.ndarray, weights, axis: int, mode: str, cval: float, origin: int, out_dtype
               ) -> np.ndarray:
    """The pass's exact answer: float64 sums of integers of up to 32 bits with small taps are
    exact (scipy's correlate1d with the taps, or with ones for a box, whose sum is then divided
    toward zero), cast as scipy's C cast writes them (`c_cast`)."""
    taps = np.ones(weights) if isinstance(weights, int) else np.asarray(weights, np.float64)
    sums = sn.correlate1d(x.astype(np.float64), taps, axis, None, mode, cval, origin)
    sums = np.rint(sums).astype(np.int64)
    if isinstance(weights, int):
        sums = np.sign(sums) * (np.abs(sums) // weights)
    return c_cast(sums, out_dtype)


@st.composite
def passes(draw, dtypes=SMALL):
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 9), min_size=ndim, max_size=ndim)))
    axis = draw(st.integers(0, ndim - 1))
    dtype, out_dtype = draw(st.sampled_from(dtypes)), draw(st.sampled_from(dtypes))
    info = np.iinfo(dtype)
    seed = draw(st.integers(0, 2**32 - 1))
    x = np.random.default_rng(seed).integers(int(info.min), int(info.max) + 1, shape).astype(dtype)
    length = draw(st.integers(1, shape[axis]))
    origin = draw(st.integers(-(length // 2), (length - 1) // 2))
    box = draw(st.booleans())
    weights = length if box else draw(st.lists(st.integers(-4, 4), min_size=length, max_size=length))
    mode = draw(st.sampled_from(MODES))
    cval = float(draw(st.integers(-300, 300)))
    return x, weights, axis, mode, cval, origin, out_dtype


def assert_the_exact_pass(case) -> None:
    """The pass of a drawn case (`passes`) serves, equals `exact_pass` and leaves its image as
    it was."""
    x, weights, axis, mode, cval, origin, out_dtype = case
    before = x.copy()
    out = np.empty(x.shape, out_dtype)
    taps = weights if isinstance(weights, int) else np.asarray(weights, np.float64)
    assert integer_passes.filter1d(x, taps, axis, out, mode, cval, origin)
    np.testing.assert_array_equal(out, exact_pass(x, weights, axis, mode, cval, origin, out_dtype))
    np.testing.assert_array_equal(x, before)


@settings(max_examples=300, deadline=None)
@given(passes())
def test_a_pass_is_the_exact_sums_cast_as_numpy_casts_them(case):
    assert_the_exact_pass(case)


@settings(max_examples=300, deadline=None)
@given(passes(SMALL + WIDE))
def test_a_pass_reading_or_writing_32_bit_integers_is_the_exact_sums_cast_as_scipys_c_cast(case):
    """Summed in double (exact for these sums), then cast as scipy's C cast writes a double: a
    32-bit image's sums reach past int32, where the casts part ways (INT32_MIN into int32, 0
    into 8 and 16 bits, modulo 2^32 into uint32). (The drawn boxes, of at most 9 samples, are
    within `WIDE_BOX`.)"""
    assert_the_exact_pass(case)


@pytest.mark.parametrize("out_dtype, want", [("int32", -(2**31)), ("uint32", 2**32 - 2), ("int16", 0),
                                             ("uint8", 0)])
def test_sums_past_int32_are_cast_as_scipys_c_cast(out_dtype, want):
    x = np.full((3, 4), 2**31 - 1, np.int32)
    out = np.empty(x.shape, out_dtype)
    assert integer_passes.filter1d(x, np.array([1.0, 1.0]), 1, out, "nearest", 0.0, 0)
    np.testing.assert_array_equal(out, want)  # 2^32 - 2: past int32
    np.testing.assert_array_equal(out, sn.correlate1d(x, [1.0, 1.0], 1, out_dtype, "nearest"))


@pytest.mark.parametrize("axis", [0, 1])
def test_a_pass_in_place_reads_the_rows_it_overwrites_first(axis):
    x = np.random.default_rng(3).integers(0, 256, (40, 33)).astype(np.uint8)
    want = exact_pass(x, 7, axis, "reflect", 0.0, 1, np.uint8)
    assert integer_passes.filter1d(x, 7, axis, x, "reflect", 0.0, 1)
    np.testing.assert_array_equal(x, want)


def test_a_non_contiguous_image_is_read_as_it_is():
    x = np.random.default_rng(4).integers(-128, 128, (30, 50)).astype(np.int8)[::2, ::3]
    out = np.empty(x.shape, np.int16)
    assert integer_passes.filter1d(x, np.array([1.0, -2.0, 1.0]), 1, out, "mirror", 0.0, 0)
    np.testing.assert_array_equal(out, exact_pass(x, [1, -2, 1], 1, "mirror", 0.0, 0, np.int16))


@pytest.mark.parametrize(
    "weights, out_dtype, cval, mode, why",
    [
        (np.array([0.25, np.nan, 0.25]), np.uint8, 0.0, "reflect", "a NaN tap"),
        (np.array([0.25, 1j, 0.25]), np.uint8, 0.0, "reflect", "a complex tap"),
        (3, np.float32, 0.0, "reflect", "a float output"),
        (3, np.uint8, np.inf, "constant", "an infinite cval"),
        (np.array([40000.0, 40000.0]), np.uint16, 0.0, "reflect", "sums past int32"),
        (3, np.int64, 0.0, "reflect", "a 64-bit output"),
        (50, np.uint8, 0.0, "reflect", "a box longer than the line"),
    ],
)
def test_a_pass_it_does_not_serve_is_left_to_the_caller(weights, out_dtype, cval, mode, why):
    x = np.arange(40, dtype=np.uint16).reshape(4, 10)
    out = np.zeros(x.shape, out_dtype)
    assert not integer_passes.filter1d(x, weights, 1, out, mode, cval, 0), why
    assert not out.any()


def test_a_32_bit_pass_past_what_it_serves_is_left_to_the_caller():
    """A box longer than `WIDE_BOX` (summed tap by tap, where scipy's loop runs a sum), sums a
    double may not hold exactly, and a cval past `WIDE_LARGEST` (where the snap would reach a
    box's mean that is not whole)."""
    x = np.arange(80, dtype=np.int32).reshape(2, 40)
    out = np.zeros(x.shape, np.int32)
    longest = integer_passes.WIDE_BOX
    assert not integer_passes.filter1d(x, longest + 1, 1, out, "reflect", 0.0, 0)
    assert not integer_passes.filter1d(x, np.full(3, 2.0**22), 1, out, "reflect", 0.0, 0)
    assert not integer_passes.filter1d(x, 3, 1, out, "constant", 2.0 * integer_passes.WIDE_LARGEST, 0)
    assert not out.any()
    assert integer_passes.filter1d(x, 3, 1, out, "constant", float(integer_passes.WIDE_LARGEST), 0)
    np.testing.assert_array_equal(out, exact_pass(x, 3, 1, "constant", float(integer_passes.WIDE_LARGEST), 0,
                                                  np.int32))
    assert integer_passes.filter1d(x, longest, 1, out, "reflect", 0.0, 0)
    np.testing.assert_array_equal(out, exact_pass(x, longest, 1, "reflect", 0.0, 0, np.int32))


FILTERS = [
    ("uniform_filter", (5,), {}),
    ("uniform_filter", ((3, 4),), {"origin": (1, -1)}),
    ("uniform_filter1d", (6, 0), {}),
    ("sobel", (), {}),
    ("sobel", (0,), {}),
    ("prewitt", (), {}),
    ("laplace", (), {}),
    ("correlate1d", ([1.0, 3.0, -2.0, 1.0], 1), {}),
    ("convolve1d", ([1.0, 3.0, -2.0], 0), {"origin": 1}),
]


@pytest.mark.parametrize("dtype", SMALL + WIDE)
@pytest.mark.parametrize("name, args, kwargs", FILTERS)
@pytest.mark.parametrize("mode", ["reflect", "mirror", "nearest", "wrap", "constant"])
def test_public_filters_of_integer_images_equal_scipys(dtype, name, args, kwargs, mode):
    info = np.iinfo(dtype)
    x = np.random.default_rng(5).integers(int(info.min), int(info.max) + 1, (37, 52)).astype(dtype)
    before = x.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = getattr(sn, name)(x, *args, mode=mode, cval=-7.0, **kwargs)
    got = getattr(nd, name)(x, *args, mode=mode, cval=-7.0, **kwargs)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("side", [64, 300, 1024])
def test_planned_and_small_calls_alike_equal_scipy(side):
    """Large images take the pass on the planned route (no slabs), small ones on the quick
    path; a volume along every axis."""
    rng = np.random.default_rng(side)
    x = rng.integers(0, 256, (side, side)).astype(np.uint8)
    for _ in range(3):  # first calls, and calls once the route has settled
        np.testing.assert_array_equal(nd.uniform_filter(x, 7), sn.uniform_filter(x, 7))
        np.testing.assert_array_equal(nd.sobel(x, 1), sn.sobel(x, 1))
    volume = rng.integers(-2000, 2000, (12, 17, 9)).astype(np.int16)
    np.testing.assert_array_equal(nd.uniform_filter(volume, 3, mode="wrap"),
                                  sn.uniform_filter(volume, 3, mode="wrap"))


def test_an_output_of_another_integer_dtype_and_the_image_as_output():
    x = np.random.default_rng(6).integers(0, 256, (50, 60)).astype(np.uint8)
    want = sn.sobel(x, 0, output=np.int16)
    np.testing.assert_array_equal(nd.sobel(x, 0, output=np.int16), want)
    y, z = x.copy(), x.copy()
    sn.uniform_filter(y, 5, output=y)
    nd.uniform_filter(z, 5, output=z)
    np.testing.assert_array_equal(z, y)


class _Counting:
    """The compiled module, counting its passes."""

    def __init__(self) -> None:
        self.calls = 0

    def pass1d(self, *args) -> None:
        self.calls += 1
        compiled.pass1d(*args)

    def float_pass1d(self, *args) -> None:
        self.calls += 1
        compiled.float_pass1d(*args)


@pytest.mark.parametrize("dtype", ["uint8", "int32"])
@pytest.mark.parametrize("side", [48, 700])
@pytest.mark.parametrize("name, args", [("uniform_filter", (5,)), ("sobel", ()), ("laplace", ())])
def test_the_filters_take_the_integer_pass_on_every_route(monkeypatch, dtype, side, name, args):
    spy = _Counting()
    monkeypatch.setattr(integer_passes, "integer_passes", spy)
    x = np.random.default_rng(7).integers(0, 256, (side, side)).astype(dtype)
    for call in range(1, 4):
        np.testing.assert_array_equal(getattr(nd, name)(x, *args), getattr(sn, name)(x, *args))
        assert spy.calls == 2 * call  # both passes of each call (each of laplace's terms has one)


@settings(max_examples=200, deadline=None)
@given(passes(), st.floats(0.3, 4.0))
def test_taps_that_are_not_whole_numbers_are_cast_as_scipys_double_sums_are(case, sigma):
    """Double sums, snapped and truncated by fftconv's rule: the answer of scipy's loop summing
    into float64 and `cast_into` casting (the rule's reference path), where no sum's last bits
    decide its snap (sums of random images land far from the snap's edge)."""
    from fftconv.core.dtypes import cast_into

    x, weights, axis, mode, cval, origin, out_dtype = case
    length = weights if isinstance(weights, int) else len(weights)
    taps = np.exp(-0.5 * ((np.arange(length) - length // 2) / sigma) ** 2) * np.linspace(1.0, -0.7, length)
    before = x.copy()
    out = np.empty(x.shape, out_dtype)
    assert integer_passes.filter1d(x, taps, axis, out, mode, cval + 0.25, origin)
    sums = sn.correlate1d(x.astype(np.float64), taps, axis, None, mode, cval + 0.25, origin)
    want = np.empty(x.shape, out_dtype)
    cast_into(want, sums, "truncate")
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(x, before)


def test_double_sums_within_round_off_of_an_integer_snap_to_it():
    """Taps of a tenth sum ten ones to 0.9999999999999999 in double: truncated it would be 0."""
    x = np.ones((3, 10), np.uint8)
    out = np.empty_like(x)
    assert integer_passes.filter1d(x, np.full(10, 0.1), 1, out, "nearest", 0.0, 0)
    assert sum([0.1] * 10) < 1.0  # (summed in order, as the pass sums its taps)
    np.testing.assert_array_equal(out, 1)


@pytest.mark.parametrize("dtype", SMALL + WIDE)
@pytest.mark.parametrize("name, args", [("gaussian_filter", (1.5,)), ("gaussian_filter1d", (2.0, 1)),
                                        ("gaussian_laplace", (1.0,)),
                                        ("gaussian_gradient_magnitude", (1.0,))])
def test_gaussian_filters_of_integer_images_equal_scipys(dtype, name, args):
    info = np.iinfo(dtype)
    x = np.random.default_rng(8).integers(int(info.min), int(info.max) + 1, (45, 38)).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = getattr(sn, name)(x, *args)
        got = getattr(nd, name)(x, *args)
    if dtype in SMALL:
        np.testing.assert_array_equal(got, want)
    else:  # sums of up to 2^31 snap within 64 eps of their scale (~1e-5): a rare one lies that near
        differs = got.astype(np.int64) - want.astype(np.int64)
        assert np.abs(differs).max() <= 1 and np.count_nonzero(differs) <= 2


def test_long_taps_that_are_not_whole_numbers_are_left_to_the_planned_executors(monkeypatch):
    """Past `PLANNED_FLOAT_TAPS` the compiled pass's direct sums lose to the engine's
    executors: a large image's planned passes leave them (its answer is still scipy's)."""
    most = integer_passes.PLANNED_FLOAT_TAPS
    x = np.arange(60, dtype=np.uint8).reshape(2, 30)
    out = np.zeros_like(x)
    assert not integer_passes.filter1d(x, np.full(most + 2, 0.01), 1, out, "reflect", 0.0, 0, most)
    assert not out.any()
    assert integer_passes.filter1d(x, np.ones(most + 2), 1, out, "reflect", 0.0, 0, most)  # whole: any number
    spy = _Counting()
    monkeypatch.setattr(integer_passes, "integer_passes", spy)
    image = np.random.default_rng(9).integers(0, 256, (700, 700)).astype(np.uint8)
    for _ in range(3):
        np.testing.assert_array_equal(nd.gaussian_filter(image, 8.0), sn.gaussian_filter(image, 8.0))
    assert spy.calls == 0
