"""Geometry is pure arithmetic: check it exhaustively against scipy and against the circle."""

import itertools

import numpy as np
import pytest
import scipy.signal

from fftconv.core.geometry import (
    boundary_pad_widths,
    min_circular_length,
    output_window,
    overlap_save_segments,
    same_start,
    valid_swap_needed,
)
from fftconv.executors.fft_lengths import fast_lengths_between, next_fast_length

SIZES = range(1, 13)


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_output_window_matches_scipy_slices(mode):
    rng = np.random.default_rng(1)
    for n1, n2 in itertools.product(SIZES, SIZES):
        if mode == "valid" and n2 > n1:
            continue
        x, h = rng.random(n1), rng.random(n2)
        full = np.convolve(x, h)
        w = output_window(n1, n2, mode)
        np.testing.assert_allclose(full[w.start:w.stop], scipy.signal.convolve(x, h, mode), atol=1e-12)


def test_same_conventions_match_scipy_correlate_and_correlate2d():
    rng = np.random.default_rng(2)
    for n1, n2 in itertools.product(SIZES, SIZES):
        x, h = rng.random((1, n1)), rng.random((1, n2))
        full = scipy.signal.correlate(x, h)[0]
        s = same_start(n2, "signal")
        np.testing.assert_allclose(full[s:s + n1], scipy.signal.correlate(x, h, "same")[0], atol=1e-12)
        c = same_start(n2, "centered")
        np.testing.assert_allclose(full[c:c + n1], scipy.signal.correlate2d(x, h, "same")[0], atol=1e-12)


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_min_circular_length_is_exact_and_minimal(mode):
    rng = np.random.default_rng(3)
    for n1, n2 in itertools.product(SIZES, SIZES):
        if mode == "valid" and n2 > n1:
            continue
        x, h = rng.random(n1), rng.random(n2)
        w = output_window(n1, n2, mode)
        want = np.convolve(x, h)[w.start:w.stop]
        n = min_circular_length(n1, n2, w)

        def circular(length, x=x, h=h, w=w):
            c = np.fft.irfft(np.fft.rfft(x, length) * np.fft.rfft(h, length), length)
            return c[np.arange(w.start, w.stop) % length]

        np.testing.assert_allclose(circular(n), want, atol=1e-9)
        if n > max(n1, n2, w.stop):
            assert not np.allclose(circular(n - 1), want, atol=1e-9)


def test_overlap_save_segments_tile_the_window_exactly():
    for n1, n2, length in itertools.product(range(1, 20), range(1, 8), range(8, 16)):
        if length < n2:
            continue
        for mode in ("full", "same", "valid"):
            if mode == "valid" and n2 > n1:
                continue
            w = output_window(n1, n2, mode)
            segs = overlap_save_segments(n1, n2, w, length)
            covered = [i for s in segs for i in range(s.out_offset, s.out_offset + s.count)]
            assert covered == list(range(w.length))
            for s in segs:
                assert 0 <= s.in_start <= s.in_stop <= n1
                assert s.buf_offset + (s.in_stop - s.in_start) <= length
                assert s.res_offset + s.count <= length


def test_boundary_pad_widths_give_the_mode_window():
    for n1, n2 in itertools.product(SIZES, SIZES):
        for mode, conv in (("full", "signal"), ("same", "signal"), ("same", "centered")):
            before, after = boundary_pad_widths(n2, mode, conv)
            w = output_window(n1, n2, mode, conv)
            assert n1 + before + after - n2 + 1 == w.length
            assert n2 - 1 - before == w.start


def test_valid_swap_rule_matches_scipy():
    assert not valid_swap_needed((5, 5), (3, 3), (0, 1))
    assert valid_swap_needed((3, 3), (5, 5), (0, 1))
    with pytest.raises(ValueError, match="at least as large"):
        valid_swap_needed((3, 6), (5, 5), (0, 1))


def test_fast_lengths_are_smooth_and_next():
    def smooth(n):  # 2^a 3^b 5^c (b, c <= 4) times at most one 7
        if n % 7 == 0:
            n //= 7
        for p, most in ((2, 99), (3, 4), (5, 4)):
            count = 0
            while n % p == 0:
                n //= p
                count += 1
            if count > most:
                return False
        return n == 1

    for n in range(1, 3000):
        f = next_fast_length(n)
        assert f >= n and smooth(f)
        assert all(not smooth(m) for m in range(n, f))
        e = next_fast_length(n, even=True)
        assert e % 2 == 0 and e >= n and smooth(e)
    assert fast_lengths_between(100, 130) == [100, 105, 108, 112, 120, 125, 126, 128]
    with pytest.raises(ValueError):
        next_fast_length(0)
